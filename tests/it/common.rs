//! Helpers shared by the integration tests.
#![allow(dead_code)]

use riskshare::model::Model;
use riskshare::scenario::{self, Override};
use riskshare::sim::engine;
use riskshare::sim::tables::Batch;

/// Builds a model from scenario text, panicking with the problems if invalid.
pub fn model(yaml: &str) -> Model {
    model_with(yaml, &[])
}

pub fn model_with(yaml: &str, sets: &[&str]) -> Model {
    let o: Vec<Override> = sets.iter().map(|s| s.parse().unwrap()).collect();
    let s = scenario::parse(yaml, "test.yaml", &o).unwrap_or_else(|e| panic!("{e}"));
    Model::build(s, "test.yaml", &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// tests/scenarios/all-mechanisms.yaml: every mechanism on, every key given.
pub const ALL_MECHANISMS: &str = include_str!("../scenarios/all-mechanisms.yaml");

/// Builds a model from scenario text that reads the all-mechanisms loan tape
/// (`portfolio.tapes: [all-mechanisms.csv]`), given here rather than read
/// from disk so that the tests stay hermetic.
pub fn model_with_tape(yaml: &str) -> Model {
    let tape = ("all-mechanisms.csv".to_string(), include_str!("../scenarios/all-mechanisms.csv").to_string());
    let s = scenario::parse(yaml, "all-mechanisms.yaml", &[]).unwrap_or_else(|e| panic!("{e}"));
    Model::build(s, "all-mechanisms.yaml", &[tape]).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs `trials` trials and returns all the tables.
pub fn simulate(m: &Model, seed: u64, trials: u64, threads: usize) -> Batch {
    let mut all = Batch::new(m.accounts.len(), m.horizon);
    engine::simulate(m, seed, 0..trials, threads, &|_| {}, |b| {
        all.append(b);
        Ok::<(), ()>(())
    })
    .unwrap();
    all
}

/// A homogeneous portfolio: `n` identical loans of 10,000 yuan, grade pd,
/// one county, `horizon` years, no hazards and no funds unless `extra` adds them.
pub fn homogeneous(n: u32, pd: f64, rho: f64, horizon: u32, extra: &str) -> String {
    format!(
        "
name: homogeneous
simulation: {{trials: 1000, seed: 11, horizon_years: {horizon}}}
economy: {{rho: {rho}, county_weight: 1.0, persistence: 0.0, kappa: 0.0}}
grades: [{{id: G, pd: {pd}}}]
industries: [{{id: farm}}]
products: [{{id: loan}}]
banks: [{{id: bank}}]
counties: [{{id: c, village_counts: {{plain: 10}}}}]
portfolio:
  cohorts:
    - name: all
      count: {n}
      product: loan
      borrower: enterprise
      banks: {{bank: 1}}
      industries: {{farm: 1}}
      grades: {{G: 1}}
      principal: {{fixed: 10000}}
      rate: 0.0
      term_years: {horizon}
{extra}
"
    )
}

/// Funds switched off, so exposure falls to the bank.
pub const NO_FUNDS: &str = "funds:\n  village: {enabled: false}\n  compensation: {enabled: false}\n";

/// Standard normal CDF and its inverse, for closed forms.
pub fn phi(x: f64) -> f64 {
    riskshare::rng::phi(x)
}
pub fn inv_phi(p: f64) -> f64 {
    riskshare::rng::inv_phi(p)
}
