//! A trial's society capital (互助社, docs/model.md 3b): the
//! [`SocietyBook`]'s capital as the settlement takes losses off it.

use crate::model::society::SocietyBook;
use crate::money::Fen;

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
#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::society::NO_LOAN;

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
