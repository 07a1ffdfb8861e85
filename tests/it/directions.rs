//! Paired runs on the same seed: switching parts off must not move the other
//! parts' draws, and the directions a user relies on must hold.

use crate::common::*;
use riskshare::sim::tables::Batch;

const MINI: &str = include_str!("../scenarios/mini.yaml");

fn run(sets: &[&str], trials: u64) -> Batch {
    simulate(&model_with(MINI, sets), 7, trials, 2)
}

/// Everything off, by switches or by leaving the sections out, gives the
/// same tables to the fen.
#[test]
fn switching_hazards_off_equals_leaving_them_out() {
    let off = run(&["hazards.enabled=false", "epidemics.enabled=false", "shocks=[]"], 300);
    let cut = MINI.find("hazards:").unwrap();
    let m = model(&MINI[..cut]);
    let absent = simulate(&m, 7, 300, 1);
    assert_eq!(off.trials, absent.trials);
    assert_eq!(off.years, absent.years);
    assert!(off.trials.iter().all(|r| r.counts.disaster_events == 0 && r.counts.shocks == 0));
}

/// Removing one driver leaves the others' draws where they were.
#[test]
fn streams_of_one_driver_do_not_move_with_another() {
    let all = run(&[], 400);
    let no_epi = run(&["epidemics.enabled=false"], 400);
    let no_shock = run(&["shocks=[]"], 400);
    for k in 0..all.years.len() {
        assert_eq!(all.years[k].counts.disaster_events, no_epi.years[k].counts.disaster_events);
        assert_eq!(all.years[k].counts.disaster_events, no_shock.years[k].counts.disaster_events);
        assert_eq!(all.years[k].counts.epidemic_outbreaks, no_shock.years[k].counts.epidemic_outbreaks);
    }
    // Shocks are drawn over the same households whatever else happens; only
    // borrowers already defaulted in an earlier year drop out of the count.
    let s_all: u64 = all.trials.iter().map(|r| r.counts.shocks as u64).sum();
    let s_no_epi: u64 = no_epi.trials.iter().map(|r| r.counts.shocks as u64).sum();
    assert!((s_all as f64 - s_no_epi as f64).abs() < 0.05 * s_all as f64);
}

fn paired_mean_diff(a: &Batch, b: &Batch, f: impl Fn(&riskshare::sim::tables::TrialRow) -> i64) -> (f64, f64) {
    let d: Vec<f64> = a.trials.iter().zip(&b.trials).map(|(x, y)| (f(x) - f(y)) as f64).collect();
    let n = d.len() as f64;
    let mean = d.iter().sum::<f64>() / n;
    let sd = (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    (mean, sd / n.sqrt())
}

#[test]
fn a_higher_hazard_rate_never_lowers_expected_exposure() {
    let base = run(&[], 1500);
    let more = run(&["hazards.perils.flood.rate=1.2", "epidemics.diseases.fmd.rate=0.6"], 1500);
    let (diff, se) = paired_mean_diff(&more, &base, |r| r.flows.exposure.0);
    assert!(diff > -4.5 * se, "exposure fell by {diff} fen (se {se})");
    assert!(diff > 0.0, "a tripled flood rate should raise the mean exposure, got {diff}");
}

#[test]
fn removing_insurance_never_lowers_the_bank_loss() {
    let with = run(&[], 600);
    let without = run(&["insurance.enabled=false"], 600);
    // Insurance does not change who defaults, so trials pair exactly.
    for (w, o) in with.trials.iter().zip(&without.trials) {
        assert_eq!(w.counts.defaults, o.counts.defaults);
        assert_eq!(w.flows.exposure, o.flows.exposure);
        // Rounding of pro-rata and 6:4 splits may move a fen per default.
        assert!(o.flows.bank_loss.0 + o.counts.defaults as i64 >= w.flows.bank_loss.0, "trial {}", w.trial);
        assert_eq!(o.flows.insurance.0, 0);
    }
}

#[test]
fn higher_mortality_never_raises_collateral_recovery() {
    // kappa = 0 keeps defaults identical, so only the herds' value differs.
    let low = run(&["economy.kappa=0", "epidemics.diseases.fmd.mortality={fixed: 0.2}"], 600);
    let high = run(&["economy.kappa=0", "epidemics.diseases.fmd.mortality={fixed: 0.6}"], 600);
    let mut strictly = false;
    for (l, h) in low.trials.iter().zip(&high.trials) {
        assert_eq!(l.counts.defaults, h.counts.defaults);
        assert!(h.flows.collateral <= l.flows.collateral, "trial {}", l.trial);
        strictly |= h.flows.collateral < l.flows.collateral;
    }
    assert!(strictly, "mortality never mattered: the test has no power");
}

#[test]
fn a_bigger_deposit_never_raises_the_shortfall() {
    let small = run(&["funds.compensation.deposit_ratio=200", "funds.village.share=0.005"], 500);
    let big = run(&["funds.compensation.deposit_ratio=20", "funds.village.share=0.005"], 500);
    let mut any = false;
    for (s, b) in small.trials.iter().zip(&big.trials) {
        assert!(b.flows.shortfall <= s.flows.shortfall, "trial {}", s.trial);
        any |= s.flows.shortfall.0 > 0;
    }
    assert!(any, "no shortfall at 200:1: the test has no power");
}

#[test]
fn a_higher_village_share_never_raises_the_compensation_draw() {
    let low = run(&["funds.village.share=0.01"], 500);
    let high = run(&["funds.village.share=0.05"], 500);
    for (l, h) in low.trials.iter().zip(&high.trials) {
        // A fen per default of rounding in the 6:4 split.
        assert!(h.flows.comp_fund.0 <= l.flows.comp_fund.0 + l.counts.defaults as i64, "trial {}", l.trial);
    }
}

/// Streams follow ids, not positions: adding a peril (here one that never
/// strikes) in front of the others leaves every table as it was.
#[test]
fn streams_are_addressed_by_id_not_position() {
    let base = run(&[], 200);
    let hail =
        "    - {id: hail, rate: 0.0, hit: {valley: 0.5}, damage: {alpha: 2, beta: 5}, vulnerability: {tea: 1}}\n";
    let with_hail = MINI.replace("  perils:\n", &format!("  perils:\n{hail}"));
    assert_ne!(with_hail, MINI);
    let other = simulate(&model(&with_hail), 7, 200, 2);
    assert_eq!(base.trials, other.trials);
    assert_eq!(base.years, other.years);
}
