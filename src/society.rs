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

/// The societies' capital through one trial's settlement.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    capital: Vec<Fen>,
    impaired: u32,
}

impl Ledger {
    pub fn new(book: &SocietyBook) -> Self {
        Ledger { capital: book.capital.clone(), impaired: 0 }
    }
    /// Back to the start of a trial.
    pub fn reset(&mut self, book: &SocietyBook) {
        self.capital.clone_from(&book.capital);
        self.impaired = 0;
    }
    /// Takes a loss off society `k`'s capital; true when this loss is the one
    /// that takes it below its threshold (a society is impaired once).
    pub fn bear(&mut self, book: &SocietyBook, k: usize, loss: Fen) -> bool {
        let sound = self.capital[k] >= book.impaired_below[k];
        self.capital[k] -= loss;
        let now = sound && self.capital[k] < book.impaired_below[k];
        self.impaired += now as u32;
        now
    }
    pub fn capital(&self, k: usize) -> Fen {
        self.capital[k]
    }
    /// Societies impaired so far in the trial.
    pub fn impaired(&self) -> u32 {
        self.impaired
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Two societies of 100,000 and 50,000 yuan, impaired below 90 %.
    fn book() -> SocietyBook {
        SocietyBook {
            village: vec![0, 1],
            capital: vec![Fen(10_000_000), Fen(5_000_000)],
            impaired_below: vec![Fen(9_000_000), Fen(4_500_000)],
            bank_loan: vec![NO_LOAN; 2],
            sensitivity: vec![0.0; 2],
            lender_of: vec![],
            from_budget: true,
        }
    }

    #[test]
    fn capital_falls_by_each_loss_to_the_fen_and_impairs_once() {
        let b = book();
        let mut l = Ledger::new(&b);
        // Down to exactly 90 %: at the threshold, not below it.
        assert!(!l.bear(&b, 0, Fen(1_000_000)));
        assert_eq!((l.capital(0), l.impaired()), (Fen(9_000_000), 0));
        // One fen more impairs it.
        assert!(l.bear(&b, 0, Fen(1)));
        assert_eq!((l.capital(0), l.impaired()), (Fen(8_999_999), 1));
        // Further losses do not count it again; the other society is untouched.
        assert!(!l.bear(&b, 0, Fen(8_999_999)));
        assert_eq!((l.capital(0), l.capital(1), l.impaired()), (Fen(0), Fen(5_000_000), 1));
        assert!(l.bear(&b, 1, Fen(600_000)));
        assert_eq!((l.capital(1), l.impaired()), (Fen(4_400_000), 2));
        l.reset(&b);
        assert_eq!((l.capital(0), l.capital(1), l.impaired()), (Fen(10_000_000), Fen(5_000_000), 0));
    }
}
