//! The book's per-year tables: each loan's exposure at default, interest
//! subsidy and premium subsidy in each year of its term (docs/model.md 3.7,
//! 3.10), year-major for the passes that sweep a year and loan-major for the sparse
//! reads of defaults, and what the book costs if no loan defaulted. Part of
//! [`crate::model::Model::build`].

use crate::model::layout::Terms;
use crate::model::{LoanYear, Loans};
use crate::money::{Fen, to_ppm};
use crate::scenario::schema::*;

/// What the book would cost each year if no loan defaulted: the loans alive,
/// the interest subsidy they would earn, and the budget's premium subsidy.
pub(super) struct Scheduled {
    pub alive: Vec<u64>,
    pub subsidy: Vec<Fen>,
    pub premium_subsidy: Vec<Fen>,
}

/// The per-year tables of a book whose columns are laid out but for them.
pub(super) struct Tables {
    pub ead: Vec<Fen>,
    pub subsidy: Vec<Fen>,
    pub premium: Vec<Fen>,
    pub loan_years: Vec<LoanYear>,
    pub scheduled: Scheduled,
}

/// Every per-year table: they read the columns and the loans' terms but no
/// other step's results, so the build makes them beside the mechanisms.
pub(super) fn tables(s: &Scenario, loans: &Loans, terms: &Terms, horizon: usize) -> Tables {
    let (ead, subsidy) = exposure_and_subsidy(s, loans, terms, horizon);
    let premium = premiums(s, loans, horizon);
    let scheduled = Scheduled::of(&loans.term, &subsidy, &premium, horizon);
    let loan_years = loan_years(&ead, &subsidy, &premium, horizon);
    Tables { ead, subsidy, premium, loan_years, scheduled }
}

/// `Loans::ead` (outstanding principal plus that year's interest) and
/// `Loans::subsidy` (zero when the subsidy is off) for each year of each
/// loan's term; zero after it.
fn exposure_and_subsidy(s: &Scenario, loans: &Loans, terms: &Terms, horizon: usize) -> (Vec<Fen>, Vec<Fen>) {
    let n = loans.n;
    let sub_on = s.subsidy.enabled;
    let mut ead = vec![Fen::ZERO; n * horizon];
    let mut subsidy = vec![Fen::ZERO; n * horizon];
    for pos in 0..n {
        let (principal, term) = (loans.principal[pos], u32::from(loans.term[pos]));
        for t in 0..term as usize {
            let out = outstanding(principal, term, terms.amortisation[pos], t);
            ead[t * n + pos] = out + out.mul_ppm(terms.rate_ppm[pos]);
            if sub_on {
                subsidy[t * n + pos] = out.mul_ppm(terms.subsidy_ppm[pos]);
            }
        }
    }
    (ead, subsidy)
}

/// Outstanding principal at the start of year `t` (0-based).
fn outstanding(principal: Fen, term: u32, am: Amortisation, t: usize) -> Fen {
    match am {
        Amortisation::Bullet => principal,
        Amortisation::EqualPrincipal => {
            // Equal instalments of floor(P / term); the last one takes the remainder.
            let inst = principal.0 / term as i64;
            Fen(principal.0 - inst * t as i64)
        }
    }
}

/// `Loans::premium`: the budget's share of each loan's insurance premiums
/// in each year of its term (a cost, reported beside the losses; it stops
/// when the loan defaults).
fn premiums(s: &Scenario, loans: &Loans, horizon: usize) -> Vec<Fen> {
    let n = loans.n;
    let mut premium = vec![Fen::ZERO; n * horizon];
    if !s.insurance.enabled {
        return premium;
    }
    let ins = &s.insurance;
    let agri = to_ppm(ins.agricultural.premium_rate * ins.agricultural.premium_subsidy);
    let credit = to_ppm(ins.credit.premium_rate * ins.credit.premium_subsidy);
    let acc = ins.accident.premium.fen().mul_ppm(to_ppm(ins.accident.premium_subsidy));
    for j in 0..n {
        let mut yearly = loans.agri_sum_insured[j].mul_ppm(agri);
        if loans.credit_insured[j] {
            yearly += loans.principal[j].mul_ppm(credit);
        }
        if loans.accident_insured[j] {
            yearly += acc;
        }
        for t in 0..(loans.term[j] as usize).min(horizon) {
            premium[t * n + j] = yearly;
        }
    }
    premium
}

/// The year-major tables again, loan by loan (`loan_years[i * horizon + t]`):
/// defaults are sparse, and this way each reads its years from one or two
/// cache lines instead of nine.
fn loan_years(ead: &[Fen], subsidy: &[Fen], premium: &[Fen], horizon: usize) -> Vec<LoanYear> {
    let n = ead.len() / horizon;
    (0..n * horizon)
        .map(|k| {
            let (i, t) = (k / horizon, k % horizon);
            LoanYear { ead: ead[t * n + i], subsidy: subsidy[t * n + i], premium: premium[t * n + i] }
        })
        .collect()
}

impl Scheduled {
    /// Sums the year-major tables, given each loan's term.
    fn of(term: &[u8], subsidy: &[Fen], premium: &[Fen], horizon: usize) -> Scheduled {
        let n = term.len();
        let year_sum = |table: &[Fen], t: usize| table[t * n..(t + 1) * n].iter().copied().sum();
        Scheduled {
            alive: (0..horizon).map(|t| term.iter().filter(|&&x| x as usize > t).count() as u64).collect(),
            subsidy: (0..horizon).map(|t| year_sum(subsidy, t)).collect(),
            premium_subsidy: (0..horizon).map(|t| year_sum(premium, t)).collect(),
        }
    }
}
