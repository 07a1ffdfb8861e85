//! Parameter sweeps: a grid over scenario keys, one row of key metrics per
//! cell, all cells on the same seed and trials (common random numbers).
//!
//! **Fast path.** The funds come after the draws: defaults, exposures and
//! claims do not depend on any `funds.*` key. When only such keys vary, each
//! trial is drawn once ([`engine::draw_trial`]) and settled per cell
//! ([`engine::settle_trial`]), the very code a full run uses, so the results
//! are the same to the fen as re-running every cell (a test checks it).
//!
//! **Memory.** A cell's metrics read its trial rows and each bank's tally
//! (exact moments of its draws and losses, and how often it ran dry), so
//! that is all a sweep keeps of a cell ([`Keep::Trials`]); the fast path
//! folds each trial's rows into the cells' collections as soon as it is
//! settled, so memory grows with the trials only through the trial rows
//! (216 B a trial and cell); and each cell's model keeps only what settling
//! reads ([`for_settlement`]): its deposits and funds, not its book, whose
//! principal the cell's row takes from the base.

use std::ops::Range;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::analysis::policy::PolicyFigures;
use crate::analysis::stats;
use crate::analysis::summary::{Collected, Prob};
use crate::model::{Loans, Model};
use crate::money::Fen;
use crate::sim::engine::{self, CHUNK, Workspace};
use crate::sim::tables::Batch;

/// One `--vary KEY=V1,V2,...`.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    pub key: String,
    pub values: Vec<String>,
}

impl std::str::FromStr for Axis {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (k, v) = s.split_once('=').ok_or_else(|| {
            format!("expected KEY=V1,V2,... (e.g. funds.compensation.deposit_ratio=8,10,12), found `{s}`")
        })?;
        let values: Vec<String> = v.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect();
        if k.trim().is_empty() || values.is_empty() {
            return Err(format!("expected KEY=V1,V2,... with at least one value, found `{s}`"));
        }
        Ok(Axis { key: k.trim().to_string(), values })
    }
}

/// The grid's cells: every combination, the last axis varying fastest.
pub fn cells(axes: &[Axis]) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> = vec![Vec::new()];
    for a in axes {
        out = out
            .into_iter()
            .flat_map(|c| {
                a.values.iter().map(move |v| {
                    let mut c = c.clone();
                    c.push((a.key.clone(), v.clone()));
                    c
                })
            })
            .collect();
    }
    out
}

/// Whether only fund and waterfall keys vary, so the draws can be shared.
pub fn fast_path_applies(axes: &[Axis]) -> bool {
    axes.iter().all(|a| a.key.starts_with("funds."))
}

/// Whether two models share their loan book, in the same order.
pub fn same_book(a: &Model, b: &Model) -> bool {
    a.loans.n == b.loans.n
        && a.loans.id == b.loans.id
        && a.horizon == b.horizon
        && a.loans.principal == b.loans.principal
}

/// What a sweep keeps of each cell's trials.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// Every table a run's statistics read (to compare with full runs).
    All,
    /// The trial rows and the banks' tally, which are all [`row`] reads.
    Trials,
}

/// A cell's model reduced to what settling another model's draws reads: its
/// funds, accounts, societies and each loan's account and village cover
/// (`at_default`). The loan book's columns and yearly tables, its buckets,
/// hazards, stream keys, guarantee and linkage books go: about nine-tenths
/// of a province model, 0.13 GB. Such a model can settle in [`run_fast`] but
/// cannot draw (its tables are empty, so a draw would fail at once, not
/// quietly). Apply it after [`same_book`] has compared the book.
pub fn for_settlement(mut m: Model) -> Model {
    m.loans = Loans { n: m.loans.n, ..Default::default() };
    m.loan_years = Vec::new();
    m.buckets = Vec::new();
    m.live_buckets = Vec::new();
    m.bucket_of = Vec::new();
    m.household_loans = Vec::new();
    m.extra_key = Vec::new();
    m.keys = Default::default();
    m.hazards = Default::default();
    m.guarantee = Default::default();
    m.linkage = Default::default();
    m
}

/// Draws each trial once with `base` and settles it under every cell's funds.
pub fn run_fast(
    base: &Model,
    cells: &[Model],
    seed: u64,
    trials: Range<u64>,
    threads: usize,
    keep: Keep,
    progress: &(dyn Fn(u64) + Sync),
) -> Vec<Collected> {
    run_fast_in_chunks(base, cells, seed, trials, threads, keep, progress, CHUNK)
}

#[allow(clippy::too_many_arguments)]
fn run_fast_in_chunks(
    base: &Model,
    cells: &[Model],
    seed: u64,
    trials: Range<u64>,
    threads: usize,
    keep: Keep,
    progress: &(dyn Fn(u64) + Sync),
    chunk: u64,
) -> Vec<Collected> {
    let pool = crate::sim::engine::pool(threads);
    let collection = |m: &Model| match keep {
        Keep::All => Collected::new(m),
        Keep::Trials => Collected::new(m).into_trials(),
    };
    let chunks: Vec<Range<u64>> =
        trials.clone().step_by(chunk as usize).map(|s| s..(s + chunk).min(trials.end)).collect();
    // A trial's rows under each cell go into that cell's collection as soon
    // as it is settled, through one batch per cell that is reused: a chunk
    // holds its cells' collections, never their rows (a province trial
    // leaves about 100 KB of rows a cell).
    let per_chunk: Vec<Vec<Collected>> = pool.install(|| {
        chunks
            .into_par_iter()
            .map_init(
                || (Workspace::new(base), cells.iter().map(|m| Batch::new(m.accounts.len(), m.horizon)).collect()),
                |(ws, rows): &mut (Workspace, Vec<Batch>), r| {
                    let mut out: Vec<Collected> = cells.iter().map(collection).collect();
                    for k in r.clone() {
                        engine::draw_trial(base, seed, k, ws);
                        for ((m, b), c) in cells.iter().zip(rows.iter_mut()).zip(out.iter_mut()) {
                            b.clear();
                            engine::settle_trial(m, k, ws, b);
                            match keep {
                                Keep::All => c.push(b),
                                Keep::Trials => c.push_trials(b),
                            }
                        }
                    }
                    progress((r.end - r.start) * cells.len() as u64);
                    out
                },
            )
            .collect()
    });
    let mut collected: Vec<Collected> = cells.iter().map(collection).collect();
    for chunk in per_chunk {
        for (c, o) in collected.iter_mut().zip(chunk) {
            c.append(o);
        }
    }
    collected
}

/// A sweep's result, as sweep.json holds it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sweep {
    pub scenario: String,
    pub seed: u64,
    pub trials: u64,
    /// Whether the cells settled shared draws rather than re-running in full.
    pub fast_path: bool,
    pub engine_version: String,
    pub cells: Vec<CellRow>,
}

/// The key metrics of one cell.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CellRow {
    pub values: Vec<(String, String)>,
    pub comp_fund_mean: f64,
    pub comp_fund_p99: f64,
    pub shortfall_mean: f64,
    pub shortfall_p99: f64,
    pub bank_total_mean: f64,
    pub bank_total_p99: f64,
    pub village_fund_mean: f64,
    /// Probability that any compensation account runs dry.
    pub depletion: Prob,
    /// The money the cell moves: each bank's deposit, draw and chance of
    /// running dry, the budget committed, the leverage, the fiscal cost's parts.
    pub policy: PolicyFigures,
}

fn mean_p99(c: &Collected, f: impl Fn(&crate::sim::tables::TrialRow) -> i64) -> (f64, f64) {
    let mut v = c.column(f);
    if let Some(w) = c.weights() {
        let curve = crate::analysis::weighted::exceedance_curve(&crate::analysis::weighted::sorted_pairs(&v, w));
        let mean = crate::analysis::weighted::mean(&v, w).value;
        return (mean.round() / 100.0, crate::analysis::weighted::quantile(&curve, v.len(), 9900) as f64 / 100.0);
    }
    let mut m = stats::Moments::default();
    for &x in &v {
        m.push(x);
    }
    v.sort_unstable();
    ((m.mean()).round() / 100.0, stats::quantile_sorted(&v, 9900) as f64 / 100.0)
}

/// The row of a cell: its values, the model it settled with (reduced or
/// whole), the principal of its book (its base's on the fast path, where the
/// cell no longer holds the book) and what it collected.
pub fn row(values: &[(String, String)], m: &Model, principal: Fen, c: &Collected) -> CellRow {
    let (comp_fund_mean, comp_fund_p99) = mean_p99(c, |r| r.flows.comp_fund.0);
    let (shortfall_mean, shortfall_p99) = mean_p99(c, |r| r.flows.shortfall.0);
    let (bank_total_mean, bank_total_p99) = mean_p99(c, |r| r.flows.bank_total().0);
    let (village_fund_mean, _) = mean_p99(c, |r| r.flows.village_fund.0);
    CellRow {
        values: values.to_vec(),
        comp_fund_mean,
        comp_fund_p99,
        shortfall_mean,
        shortfall_p99,
        bank_total_mean,
        bank_total_p99,
        village_fund_mean,
        depletion: c.prob(|i| c.trials[i].counts.comp_accounts_exhausted > 0),
        policy: PolicyFigures::with_principal(m, principal, c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{self, Override};

    fn model(ratio: &str) -> Model {
        let set = [Override { path: "funds.compensation.deposit_ratio".into(), value: ratio.into() }];
        let s = scenario::parse(scenario::WANGCANG_YAML, "wangcang", &set).expect("the built-in scenario parses");
        Model::build(s, "wangcang", &[]).expect("the built-in scenario builds")
    }

    /// Chunks of one trial collect what one chunk does, in trial order.
    #[test]
    fn one_trial_chunks_collect_the_same_as_one_chunk() {
        let base = model("10");
        let cells = [model("6"), model("12")];
        let one = run_fast(&base, &cells, 3, 5..45, 2, Keep::All, &|_| {});
        let short = run_fast_in_chunks(&base, &cells, 3, 5..45, 2, Keep::All, &|_| {}, 1);
        let trials = run_fast_in_chunks(&base, &cells, 3, 5..45, 2, Keep::Trials, &|_| {}, 1);
        for ((a, b), t) in one.iter().zip(&short).zip(&trials) {
            assert_eq!(a.n(), 40);
            assert_eq!((&a.trials, &a.accounts, &a.min_deposits), (&b.trials, &b.accounts, &b.min_deposits));
            assert_eq!(a.trials, t.trials);
            assert!(t.accounts.is_empty() && t.min_deposits.is_empty());
        }
    }
}
