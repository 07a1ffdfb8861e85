//! Fund sizing against closed forms and against re-runs at the recommended ratio.

use crate::common::*;
use riskshare::analysis::sizing;
use riskshare::analysis::summary::Collected;

const Z: f64 = 4.5;

fn collect(m: &riskshare::model::Model, seed: u64, trials: u64) -> Collected {
    let mut c = Collected::new(m);
    riskshare::sim::engine::simulate(m, seed, 0..trials, 2, &|_| {}, |b| {
        c.push(&b);
        Ok::<(), ()>(())
    })
    .unwrap();
    c
}

const COMP_ONLY: &str =
    "funds:\n  village: {enabled: false}\n  compensation: {government_share: 1.0, deposit_ratio: 10}\n";

/// One year, no village fund, the government bears everything: the deposit
/// that lasts with confidence a covers the a-quantile of the loss, so the
/// ratio is 1 / (Vasicek loss share at a).
#[test]
fn homogeneous_sizing_follows_vasicek() {
    let (n, pd, rho, trials) = (20_000u32, 0.02, 0.15, 3000u64);
    let m = model(&homogeneous(n, pd, rho, 1, COMP_ONLY));
    let c = collect(&m, 13, trials);
    let s = sizing::size(&m, &c, &[0.9, 0.99]);
    let vasicek = |a: f64| phi((inv_phi(pd) + rho.sqrt() * inv_phi(a)) / (1.0 - rho).sqrt());
    for level in &s.accounts[0].levels {
        let a = level.confidence;
        let half = Z * (a * (1.0 - a) / trials as f64).sqrt();
        let (lo, hi) = (vasicek(a - half), vasicek((a + half).min(1.0 - 1e-9)));
        let grain = Z * (hi * (1.0 - hi) / n as f64).sqrt();
        let ratio = level.ratio.unwrap();
        // ratio = covered / deposit, deposit = loss share x covered (+ 1 fen).
        let share = 1.0 / ratio;
        assert!(
            share >= lo - grain && share <= hi + grain,
            "a = {a}: sized share {share}, Vasicek [{lo}, {hi}] +- {grain}"
        );
    }
}

/// Size at 90 % on one seed, re-run at that ratio on another: the deposit
/// runs dry in about 10 % of futures.
#[test]
fn rerun_at_the_recommended_ratio_hits_the_target() {
    let yaml = homogeneous(3000, 0.03, 0.2, 2, COMP_ONLY);
    let trials = 4000u64;
    let m = model(&yaml);
    let s = sizing::size(&m, &collect(&m, 1, trials), &[0.9]);
    let ratio = s.accounts[0].levels[0].ratio.unwrap();
    let m2 = model_with(&yaml, &[&format!("funds.compensation.deposit_ratio={ratio}")]);
    let c2 = collect(&m2, 2, trials);
    let dry = c2.trials.iter().filter(|r| r.counts.comp_accounts_exhausted > 0).count() as f64 / trials as f64;
    // Two independent estimates of a 10 % tail: the sizing's and the re-run's.
    let se = (2.0 * 0.1 * 0.9 / trials as f64).sqrt();
    assert!((dry - 0.1).abs() < Z * se, "depletion at {ratio}:1 was {dry}, target 0.1 (se {se})");
    // On the sizing's own trials the rule is exact at the sized deposit (not
    // at the ratio, rounded to 4 decimals: trials tied at the quantile may
    // need the fen it rounds away): at most 10 % run dry.
    let deposit = s.accounts[0].levels[0].deposit;
    let m3 = model(&yaml.replace(
        "deposit_ratio: 10}",
        &format!("deposit_ratio: 10, deposits: [{{bank: bank, amount: {deposit:.2}}}]}}"),
    ));
    let own = sizing::size(&m3, &collect(&m3, 1, trials), &[0.9]);
    assert!(
        own.accounts[0].current_depletion.p <= 0.1 + 1.0 / trials as f64,
        "{:?}",
        own.accounts[0].current_depletion
    );
}

/// The sizing curve is non-increasing in the ratio's deposit and matches the
/// exhaustion count of a run at 10:1.
#[test]
fn sizing_curve_matches_a_run_at_ten_to_one() {
    let m = model(&homogeneous(2000, 0.05, 0.3, 2, COMP_ONLY));
    let c = collect(&m, 4, 1500);
    let points = sizing::curve(&m, &c);
    for w in points.windows(2) {
        assert!(w[1].ratio > w[0].ratio && w[1].depletion_prob >= w[0].depletion_prob);
    }
    let at10 = points.iter().find(|p| (p.ratio - 10.0).abs() < 1e-9).unwrap();
    let observed = c.trials.iter().filter(|r| r.counts.comp_accounts_exhausted > 0).count() as u64;
    assert_eq!(at10.depletion_prob, riskshare::analysis::summary::Prob::of(observed, 1500).p);
    assert!(observed > 0, "no exhaustion at 10:1: the test has no power");
}
