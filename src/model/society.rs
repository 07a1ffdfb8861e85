//! Village mutual-aid societies (互助社, docs/model.md 3b) and benefit linkage
//! (利益联结), compiled from the scenario and the book.
//!
//! A society lends its own capital: the loss its loans leave after
//! collateral, insurance, guarantees and the village fund is `society_loss`,
//! taken from its capital, never from a bank or the compensation fund. A
//! society is impaired once its capital is below `impaired_below` of its
//! start. Its bank loan (joint-guaranteed by member households) carries a
//! damage-like term `sensitivity * (society's bad loans / capital)` from the
//! year after the bad loans appear. "Bad loans" are what the society's
//! borrowers leave after insurance and guarantees, before the village fund
//! repays the society: the signal a bank sees, and one that does not depend on
//! the funds, so the draws stay independent of them (the sweep shares draws).

use crate::money::Fen;

/// Marks a loan not lent by a society.
pub const NO_SOCIETY: u32 = u32::MAX;
/// Marks a society without a bank loan.
pub const NO_LOAN: u32 = u32::MAX;

#[derive(Clone, Debug, Default)]
pub struct SocietyBook {
    /// Per society.
    pub village: Vec<u32>,
    pub capital: Vec<Fen>,
    /// Capital below which the society counts as impaired.
    pub impaired_below: Vec<Fen>,
    /// Its bank loan, or [`NO_LOAN`], and that loan's sensitivity.
    pub bank_loan: Vec<u32>,
    pub sensitivity: Vec<f64>,
    /// Per loan: the society that lent it, or [`NO_SOCIETY`].
    pub lender_of: Vec<u32>,
    /// Whether the budget paid the capital in (fiscal leverage).
    pub from_budget: bool,
}

impl SocietyBook {
    pub fn len(&self) -> usize {
        self.village.len()
    }
    pub fn is_empty(&self) -> bool {
        self.village.is_empty()
    }
    pub fn total_capital(&self) -> Fen {
        self.capital.iter().copied().sum()
    }
    /// Whether any bank loan's default probability follows its society's losses.
    pub fn feeds_back(&self) -> bool {
        self.bank_loan.iter().zip(&self.sensitivity).any(|(&l, &s)| l != NO_LOAN && s > 0.0)
    }
}

/// Benefit linkage: each firm's or cooperative's linked household loans.
#[derive(Clone, Debug, Default)]
pub struct LinkageBook {
    /// Households linked to loan i: `linked[start[i]..start[i + 1]]`.
    pub start: Vec<u32>,
    pub linked: Vec<u32>,
    /// Extra damage a linked household takes after its firm defaults; 0 when off.
    pub damage: f64,
}

impl LinkageBook {
    pub fn is_active(&self) -> bool {
        self.damage > 0.0 && !self.linked.is_empty()
    }
    pub fn of(&self, loan: usize) -> &[u32] {
        if self.start.is_empty() {
            return &[];
        }
        &self.linked[self.start[loan] as usize..self.start[loan + 1] as usize]
    }
}
