//! Joint-guarantee groups (联保, docs/model.md 3b), compiled: who is in which
//! group and what each member can pay. The call itself is settled per trial
//! by the simulation (`sim::guarantee`).

use crate::money::Fen;

/// Marks a loan in no group.
pub const NO_GROUP: u32 = u32::MAX;

/// The book's groups, compiled.
#[derive(Clone, Debug, Default)]
pub struct GuaranteeBook {
    /// Group of each loan, or [`NO_GROUP`]; all [`NO_GROUP`] when the layer is off.
    pub group_of: Vec<u32>,
    /// Members of group g: `members[start[g]..start[g + 1]]`, ascending.
    pub start: Vec<u32>,
    pub members: Vec<u32>,
    /// Each loan's capacity over the horizon (zero outside groups).
    pub capacity: Vec<Fen>,
    /// Per group: the one loan the group guarantees (a society's bank loan,
    /// guaranteed by its members), or [`ONLY_NONE`] when members guarantee each other.
    pub only: Vec<u32>,
    /// Damage-like term per unit of (paid / own principal); 0 when off.
    pub uplift: f64,
}

/// Marks a group whose members guarantee each other.
pub const ONLY_NONE: u32 = u32::MAX;

impl GuaranteeBook {
    pub fn is_active(&self) -> bool {
        self.start.len() > 1
    }
    pub fn groups(&self) -> usize {
        self.start.len().saturating_sub(1)
    }
    pub fn members_of(&self, g: u32) -> &[u32] {
        &self.members[self.start[g as usize] as usize..self.start[g as usize + 1] as usize]
    }
}
