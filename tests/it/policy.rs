//! Comparison on common random numbers and the sweep's fast path.

use crate::common::*;
use riskshare::analysis::compare;
use riskshare::analysis::policy::PolicyFigures;
use riskshare::analysis::sweep::{self, Axis};
use riskshare::app::runner;

const MINI: &str = include_str!("../scenarios/mini.yaml");

/// The sweep's fast path (draws shared, funds re-run per cell) gives the
/// same tables, to the fen, as full re-runs of every cell.
#[test]
fn sweep_fast_path_equals_full_reruns() {
    let axes: Vec<Axis> = [
        "funds.compensation.deposit_ratio=3,10,40",
        "funds.village.share=0,0.05",
        "funds.compensation.government_share=0.6,0.7",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    assert!(sweep::fast_path_applies(&axes));
    let base = model(MINI);
    let grid = sweep::cells(&axes);
    let models: Vec<_> = grid
        .iter()
        .map(|cell| {
            let sets: Vec<String> = cell.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let refs: Vec<&str> = sets.iter().map(|s| s.as_str()).collect();
            model_with(MINI, &refs)
        })
        .collect();
    let fast = sweep::run_fast(&base, &models, 7, 0..300, 2, sweep::Keep::All, &|_| {});
    // Cells reduced to what settling reads, as the command runs them.
    let reduced: Vec<_> = models.iter().cloned().map(sweep::for_settlement).collect();
    let slim = sweep::run_fast(&base, &reduced, 7, 0..300, 2, sweep::Keep::All, &|_| {});
    for (f, r) in fast.iter().zip(&slim) {
        assert_eq!((&f.trials, &f.accounts, &f.min_deposits), (&r.trials, &r.accounts, &r.min_deposits));
    }
    // What the command keeps: trial rows and each bank's tally.
    let kept = sweep::run_fast(&base, &reduced, 7, 0..300, 2, sweep::Keep::Trials, &|_| {});
    let mut moved = false;
    let mut dry = false;
    for (((m, f), r), (k, cell)) in models.iter().zip(&fast).zip(&reduced).zip(kept.iter().zip(&grid)) {
        let full = runner::collect(m, 7, 300, 1, &|_| {});
        assert_eq!(full.trials, f.trials, "cell {}", m.scenario.funds.compensation.deposit_ratio);
        assert_eq!(full.accounts, f.accounts);
        assert_eq!(full.min_deposits, f.min_deposits);
        // The money the cell moves, to the fen: from the reduced cell and
        // its kept rows as from the full re-run.
        let whole = sweep::row(cell, m, m.total_principal(), &full);
        let row = sweep::row(cell, r, base.total_principal(), k);
        assert_eq!(row, whole, "cell {cell:?}");
        assert_eq!(row.policy, PolicyFigures::of(m, &full));
        assert!(row.policy.loans > 0.0 && row.policy.deposits > 0.0);
        moved |= f.trials != fast[0].trials;
        dry |= row.policy.banks.iter().any(|b| b.dry.k > 0);
    }
    assert!(moved, "no cell differed from the first: the grid has no power");
    assert!(dry, "no fund ran dry in any cell: the banks' tally is not tested");
}

/// Common random numbers: the standard error of a paired difference between
/// two deposit ratios is far below that of the same difference measured on
/// independent seeds.
#[test]
fn paired_differences_are_far_more_precise_than_independent_ones() {
    let a = model_with(MINI, &["funds.village.share=0.01"]);
    let b = model_with(MINI, &["funds.village.share=0.01", "funds.compensation.government_share=0.7"]);
    let trials = 800;
    let ca = runner::collect(&a, 7, trials, 2, &|_| {});
    let cb = runner::collect(&b, 7, trials, 2, &|_| {});
    let cb_other = runner::collect(&b, 8, trials, 2, &|_| {});
    let paired = compare::compare(&["a".into(), "b".into()], &[a.clone(), b.clone()], &[ca.clone(), cb], 7);
    let row = paired.rows.iter().find(|r| r.metric == "comp_fund").unwrap();
    let se_paired = row.diff[1].stderr;
    // Independent seeds: the variance of a difference is the sum of the variances.
    let sd = |c: &riskshare::analysis::summary::Collected| {
        let mut m = riskshare::analysis::stats::Moments::default();
        for r in &c.trials {
            m.push(r.flows.comp_fund.0);
        }
        m.std() / 100.0
    };
    let se_indep = ((sd(&ca).powi(2) + sd(&cb_other).powi(2)) / trials as f64).sqrt();
    let ratio = se_indep / se_paired;
    println!(
        "standard error of the difference: paired {se_paired:.2}, independent {se_indep:.2} yuan (ratio {ratio:.1})"
    );
    assert!(row.diff[1].mean > 0.0, "a 70 % government share should draw more from the fund");
    assert!(ratio > 5.0, "common random numbers gained only {ratio:.1}x");
}

/// Every stress preset raises the banks' mean loss against the baseline on the same seed.
#[test]
fn stress_presets_raise_the_bank_loss() {
    let base = model(MINI);
    let trials = 400;
    let cb = runner::collect(&base, 7, trials, 2, &|_| {});
    let mean =
        |c: &riskshare::analysis::summary::Collected| c.trials.iter().map(|r| r.flows.bank_total().0).sum::<i64>();
    for name in riskshare::analysis::stress::PRESETS {
        let stress = riskshare::analysis::stress::preset(name, &base.scenario).unwrap();
        let yaml = serde_yaml_ng::to_string(&stress).unwrap();
        let stressed = model_with(MINI, &[&format!("stress={yaml}")]);
        let cs = runner::collect(&stressed, 7, trials, 2, &|_| {});
        let applied = riskshare::analysis::stress::Applied { overlay: format!("--preset {name}"), set: Vec::new() };
        let rep = riskshare::analysis::stress::report(&base, &stressed, &stress, applied, 7, &cb, &cs);
        assert!(mean(&cs) > mean(&cb), "{name}: bank loss {} not above the baseline {}", mean(&cs), mean(&cb));
        assert_eq!(rep.accounts.len(), base.accounts.len());
    }
    assert!(
        riskshare::analysis::stress::preset("flod-year", &base.scenario)
            .unwrap_err()
            .contains("did you mean `flood-year`")
    );
}
