//! Policy comparison on common random numbers (docs/model.md 1, the researcher's
//! question). Every scenario runs the same trials with the same seed; since
//! random streams are addressed by component ids (see [`crate::rng`]), trial
//! k of each scenario sees the same economy, disasters, epidemics and shocks
//! wherever the scenarios share them. Differences are therefore paired, trial
//! by trial, and their standard errors are those of the paired differences.

use serde::{Deserialize, Serialize};

use crate::analysis::policy::PolicyFigures;
use crate::analysis::summary::{CONFIDENCE, Collected};
use crate::analysis::{stats, weighted};
use crate::model::Model;
use crate::sim::tables::{MONEY, TrialRow};

/// A metric read per trial from the trial table.
pub struct Metric {
    pub name: String,
    /// Money (yuan) or a 0/1 indicator (a probability).
    pub money: bool,
    pub get: Box<dyn Fn(&TrialRow) -> i64 + Sync>,
}

/// The metrics compare reports: every money column, the budget's cost, the
/// bank's total, the shortfall the budget bears, and the probability that a
/// compensation account runs dry.
pub fn metrics() -> Vec<Metric> {
    let mut v: Vec<Metric> = MONEY
        .iter()
        .map(|c| {
            let get = c.get;
            Metric { name: c.name.to_string(), money: true, get: Box::new(move |r: &TrialRow| get(&r.flows).0) }
        })
        .collect();
    v.push(Metric { name: "fiscal_cost".into(), money: true, get: Box::new(|r| r.flows.fiscal_cost().0) });
    v.push(Metric { name: "bank_total".into(), money: true, get: Box::new(|r| r.flows.bank_total().0) });
    // The one part of the fiscal cost that is not a column of its own.
    v.push(Metric {
        name: "shortfall_borne_by_budget".into(),
        money: true,
        get: Box::new(|r| (r.flows.shortfall - r.flows.shortfall_to_bank).0),
    });
    v.push(Metric {
        name: "comp_exhausted".into(),
        money: false,
        get: Box::new(|r| (r.counts.comp_accounts_exhausted > 0) as i64),
    });
    v.push(Metric {
        name: "village_funds_exhausted".into(),
        money: false,
        get: Box::new(|r| r.counts.village_funds_exhausted as i64),
    });
    v
}

/// A difference to the first scenario, with its 95 % interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    pub mean: f64,
    pub stderr: f64,
    pub lo: f64,
    pub hi: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub metric: String,
    /// Mean in each scenario (yuan, or a probability / count).
    pub mean: Vec<f64>,
    /// 99 % quantile in each scenario.
    pub p99: Vec<f64>,
    /// Paired difference of each scenario to the first (the first's is zero).
    pub diff: Vec<Diff>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub scenarios: Vec<String>,
    pub seed: u64,
    pub trials: u64,
    pub engine_version: String,
    pub rows: Vec<MetricRow>,
    /// The money each scenario moves (deposits, budget, leverage, each
    /// bank's draw and chance of running dry), in the scenarios' order.
    pub policy: Vec<PolicyFigures>,
}

fn scale(x: f64, money: bool) -> f64 {
    if money { (x).round() / 100.0 } else { (x * 1e8).round() / 1e8 }
}

/// Compares collected runs of the same trials of `models`; the first is the baseline.
pub fn compare(names: &[String], models: &[Model], runs: &[Collected], seed: u64) -> Comparison {
    let n = runs.first().map_or(0, |c| c.n());
    let z = stats::z_for(CONFIDENCE);
    let rows = metrics()
        .into_iter()
        .map(|m| {
            let cols: Vec<Vec<i64>> = runs.iter().map(|c| c.column(&m.get)).collect();
            let mut mean = Vec::new();
            let mut p99 = Vec::new();
            let mut diff = Vec::new();
            if runs.iter().any(|c| c.weights().is_some()) {
                weighted_row(runs, &cols, m.money, &mut mean, &mut p99, &mut diff);
                return MetricRow { metric: m.name, mean, p99, diff };
            }
            for col in &cols {
                let mut mo = stats::Moments::default();
                let mut d = stats::Moments::default();
                for (k, &x) in col.iter().enumerate() {
                    mo.push(x);
                    d.push(x - cols[0][k]);
                }
                let mut sorted = col.clone();
                sorted.sort_unstable();
                mean.push(scale(mo.mean(), m.money));
                p99.push(scale(stats::quantile_sorted(&sorted, 9900) as f64, m.money));
                let (dm, se) = (d.mean(), d.stderr());
                diff.push(Diff {
                    mean: scale(dm, m.money),
                    stderr: scale(se, m.money),
                    lo: scale(dm - z * se, m.money),
                    hi: scale(dm + z * se, m.money),
                });
            }
            MetricRow { metric: m.name, mean, p99, diff }
        })
        .collect();
    let policy = models.iter().zip(runs).map(|(m, c)| PolicyFigures::of(m, c)).collect();
    Comparison {
        scenarios: names.to_vec(),
        seed,
        trials: n as u64,
        engine_version: crate::ENGINE_VERSION.into(),
        rows,
        policy,
    }
}

/// A metric's row on importance-sampled runs. The variants are drawn on
/// the same futures under the same measure, so a paired difference is the
/// mean of `w_j y_j - w_0 y_0` trial by trial (`w (y_j - y_0)` when their
/// weights agree, as they do when the measure is shared), with the
/// delta-method interval of that mean.
fn weighted_row(
    runs: &[Collected],
    cols: &[Vec<i64>],
    money: bool,
    mean: &mut Vec<f64>,
    p99: &mut Vec<f64>,
    diff: &mut Vec<Diff>,
) {
    let ones = vec![1.0; cols[0].len()];
    let w = |j: usize| runs[j].weights().unwrap_or(&ones);
    let (w0, z) = (w(0), stats::z_for(CONFIDENCE));
    for (j, col) in cols.iter().enumerate() {
        let wj = w(j);
        mean.push(scale(weighted::mean(col, wj).value, money));
        let curve = weighted::exceedance_curve(&weighted::sorted_pairs(col, wj));
        p99.push(scale(weighted::quantile(&curve, col.len(), 9900) as f64, money));
        let d = weighted::estimate(col.len(), |k| wj[k] * col[k] as f64 - w0[k] * cols[0][k] as f64);
        diff.push(Diff {
            mean: scale(d.value, money),
            stderr: scale(d.stderr, money),
            lo: scale(d.value - z * d.stderr, money),
            hi: scale(d.value + z * d.stderr, money),
        });
    }
}

/// Checks that scenarios can be compared: same horizon.
pub fn check(models: &[Model]) -> Result<(), String> {
    let h = models[0].horizon;
    match models.iter().find(|m| m.horizon != h) {
        Some(m) => Err(format!(
            "scenario `{}` has a horizon of {} years, the first has {h}: compare scenarios over the same horizon",
            m.scenario.name, m.horizon
        )),
        None => Ok(()),
    }
}
