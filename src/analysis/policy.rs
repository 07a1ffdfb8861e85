//! The money a policy moves: what `compare`, `sweep` and `stress` show of
//! each variant beside the loss layers. A deposit ratio changes no loss
//! until a fund runs dry, but it changes each bank's deposit, the budget
//! money committed and the fiscal leverage, and with them the chance that a
//! bank's fund runs dry; a stress changes the fiscal cost's parts in
//! opposite directions (more draws, less interest subsidy on loans that
//! defaulted). [`PolicyFigures`] holds these, computed with the summary's
//! own definitions ([`crate::analysis::summary`]: the deposits, the
//! [`Leverage`], the [`FiscalParts`]), so that a figure reads the same in
//! `summary.json` and in a comparison.

use serde::{Deserialize, Serialize};

use crate::analysis::stats::{self, Moments};
use crate::analysis::summary::{
    self, BankTally, CONFIDENCE, Collected, FiscalParts, Leverage, Prob, deposits, village_funds, yuan,
};
use crate::analysis::weighted::{self, Estimate};
use crate::model::Model;
use crate::money::Fen;

/// A mean over the trials with its 95 % interval (mean ± z × standard
/// error), in yuan.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MeanCi {
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
}

impl MeanCi {
    /// From exact moments of a column in fen. The interval of a column that
    /// is never negative starts at 0 at the lowest.
    pub fn of(m: &Moments) -> MeanCi {
        let (mean, se) = (m.mean(), m.stderr());
        let z = stats::z_for(CONFIDENCE);
        let lo = yuan(mean - z * se);
        MeanCi { mean: yuan(mean), lo: if m.min >= 0 { lo.max(0.0) } else { lo }, hi: yuan(mean + z * se) }
    }

    /// From a weighted mean in fen of a column that is never negative.
    pub fn weighted(e: Estimate) -> MeanCi {
        let (lo, hi) = e.interval(CONFIDENCE);
        MeanCi { mean: yuan(e.value), lo: yuan(lo).max(0.0), hi: yuan(hi) }
    }
}

/// One bank's compensation accounts, all its counties together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BankFigures {
    /// The bank's id, and its display name ("" when the scenario gives none).
    pub bank: String,
    pub bank_name: String,
    /// Principal of the loans its accounts cover (yuan).
    pub covered_principal: f64,
    /// What the budget deposits with it over the horizon (yuan).
    pub deposit: f64,
    /// Expected draw on its accounts over the horizon (yuan).
    pub draws: MeanCi,
    /// Its expected loss on the loans its accounts cover: its split share
    /// plus any shortfall it bears (yuan).
    pub bank_loss: MeanCi,
    /// Probability that at least one of its accounts runs dry.
    pub dry: Prob,
}

impl BankFigures {
    /// The bank's name, or its id when the scenario gives none.
    pub fn name(&self) -> &str {
        if self.bank_name.is_empty() { &self.bank } else { &self.bank_name }
    }
}

/// What a variant commits and what it costs the budget, per bank and in total.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyFigures {
    /// The book's principal (yuan).
    pub loans: f64,
    /// Compensation deposits, every bank (yuan).
    pub deposits: f64,
    /// The village funds' starting money, every village (yuan).
    pub village_funds: f64,
    /// Budget money committed: the leverage's budget (deposits, budget-paid
    /// village funds and society capital, expected interest subsidy, top-ups
    /// and shortfall), yuan.
    pub budget_committed: f64,
    /// Loans per yuan of budget money committed; null when it commits nothing.
    pub fiscal_leverage: Option<f64>,
    pub leverage_parts: Leverage,
    /// The mean fiscal cost and its parts.
    pub fiscal_cost: FiscalParts,
    /// Expected draw on the compensation fund, every account (yuan).
    pub comp_draws: MeanCi,
    /// The banks with a compensation account, in the scenario's order.
    pub banks: Vec<BankFigures>,
}

impl PolicyFigures {
    /// The figures of `m`'s funds over the collected trials. `m` must hold
    /// its book (not a sweep's reduced cell: see [`PolicyFigures::with_principal`]).
    pub fn of(m: &Model, c: &Collected) -> PolicyFigures {
        debug_assert_eq!(m.loans.principal.len(), m.loans.n, "a reduced model has lost its book");
        PolicyFigures::with_principal(m, m.total_principal(), c)
    }

    /// [`PolicyFigures::of`] for a model whose book's principal is
    /// `principal`: a sweep's cell reduced to its funds settles its base's
    /// book ([`crate::analysis::sweep::for_settlement`]).
    pub fn with_principal(m: &Model, principal: Fen, c: &Collected) -> PolicyFigures {
        let leverage = Leverage::of(m, principal, c);
        let n = c.n() as u64;
        let mut comp = Moments::default();
        for r in &c.trials {
            comp.push(r.flows.comp_fund.0);
        }
        let none = BankTally::default();
        let nb = c.banks.len();
        let rows = &c.bank_rows;
        // On a weighted run, a bank's figures from its per-trial rows, in trial order.
        let weighed = |b: usize| {
            let w = c.weights()?;
            (rows.len() == w.len() * nb && b < nb).then(|| {
                let at = |i: usize| rows[i * nb + b];
                (
                    MeanCi::weighted(weighted::estimate(w.len(), |i| w[i] * at(i).draws as f64)),
                    MeanCi::weighted(weighted::estimate(w.len(), |i| w[i] * at(i).loss as f64)),
                    Prob::from(weighted::proportion(w, |i| at(i).dry, CONFIDENCE)),
                )
            })
        };
        let banks = (0..m.banks.len())
            .filter(|&b| m.accounts.iter().any(|a| a.bank as usize == b))
            .map(|b| {
                let mine = || m.accounts.iter().filter(move |a| a.bank as usize == b);
                let t = c.banks.get(b).unwrap_or(&none);
                let (draws, bank_loss, dry) = weighed(b).unwrap_or_else(|| match c.weights() {
                    None => (MeanCi::of(&t.draws), MeanCi::of(&t.loss), Prob::of(t.dry, n)),
                    Some(w) => (
                        MeanCi::default(),
                        MeanCi::default(),
                        Prob::from(weighted::proportion(w, |_| false, CONFIDENCE)),
                    ),
                });
                BankFigures {
                    bank: m.banks[b].clone(),
                    bank_name: m.bank_names[b].clone(),
                    covered_principal: mine().map(|a| a.covered_principal).sum::<Fen>().to_yuan_f64(),
                    deposit: mine().map(|a| a.deposit).sum::<Fen>().to_yuan_f64(),
                    draws,
                    bank_loss,
                    dry,
                }
            })
            .collect();
        PolicyFigures {
            loans: leverage.loans,
            deposits: deposits(m).to_yuan_f64(),
            village_funds: village_funds(m).to_yuan_f64(),
            budget_committed: leverage.budget,
            fiscal_leverage: leverage.ratio(),
            leverage_parts: leverage,
            fiscal_cost: summary::FiscalParts::of(c),
            comp_draws: match c.weights() {
                None => MeanCi::of(&comp),
                Some(w) => MeanCi::weighted(weighted::mean(&c.column(|r| r.flows.comp_fund.0), w)),
            },
            banks,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{self, Override};

    fn model(sets: &[(&str, &str)]) -> Model {
        let o: Vec<Override> = sets.iter().map(|(k, v)| Override { path: (*k).into(), value: (*v).into() }).collect();
        let s = scenario::parse(scenario::WANGCANG_YAML, "wangcang", &o).expect("the built-in scenario parses");
        Model::build(s, "wangcang", &[]).expect("the built-in scenario builds")
    }

    fn collect(m: &Model, keep_all: bool) -> Collected {
        let mut c = Collected::new(m);
        if !keep_all {
            c = c.into_trials();
        }
        let _ = crate::sim::engine::simulate(m, 5, 0..200, 2, &|_| {}, |b| {
            if keep_all {
                c.push(&b)
            } else {
                c.push_trials(&b)
            }
            Ok::<(), std::convert::Infallible>(())
        });
        c
    }

    /// The figures agree with the summary's: deposits, the leverage, the
    /// fiscal parts, and each bank's accounts added up.
    #[test]
    fn figures_are_the_summarys() {
        let m = model(&[]);
        let c = collect(&m, true);
        let s = summary::build(&m, 5, &c);
        let p = PolicyFigures::of(&m, &c);
        assert_eq!(p.deposits, s.fiscal.deposits);
        assert_eq!(p.village_funds, s.fiscal.village_funds);
        assert_eq!(p.leverage_parts, s.fiscal.leverage_parts);
        assert_eq!(p.fiscal_leverage, s.fiscal.leverage);
        assert_eq!(p.budget_committed, s.fiscal.leverage_parts.budget);
        assert_eq!(p.fiscal_cost.mean, s.fiscal.total.mean);
        assert_eq!(p.fiscal_cost.interest_subsidy, s.fiscal.interest_subsidy);
        assert_eq!(p.comp_draws.mean, s.layers["comp_fund"].mean);
        let sum: f64 = p.fiscal_cost.parts().iter().map(|(_, v)| v).sum();
        assert!((sum - p.fiscal_cost.mean).abs() <= 0.03, "parts {sum} against the mean {}", p.fiscal_cost.mean);
        assert_eq!(p.banks.len(), 3);
        for b in &p.banks {
            let accs: Vec<_> = s.adequacy.accounts.iter().filter(|a| a.bank == b.bank).collect();
            assert_eq!(b.deposit, accs.iter().map(|a| a.deposit).sum::<f64>());
            assert_eq!(b.covered_principal, accs.iter().map(|a| a.covered_principal).sum::<f64>());
            // One county: the bank's figures are its one account's.
            assert_eq!(b.draws.mean, accs[0].draws.mean);
            assert_eq!(b.dry, accs[0].exhausted);
            assert!(b.draws.lo <= b.draws.mean && b.draws.mean <= b.draws.hi && b.draws.lo < b.draws.hi);
        }
    }

    /// A collection of trial rows only (a sweep's) gives the same figures.
    #[test]
    fn trial_rows_and_the_tally_suffice() {
        let m = model(&[("funds.compensation.deposit_ratio", "300")]);
        let (all, slim) = (collect(&m, true), collect(&m, false));
        assert!(slim.accounts.is_empty());
        let p = PolicyFigures::of(&m, &all);
        assert_eq!(p, PolicyFigures::of(&m, &slim));
        assert!(p.banks.iter().any(|b| b.dry.k > 0), "at 300:1 some fund should run dry: the test has no power");
    }
}
