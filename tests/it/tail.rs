//! Importance sampling against an exact law (docs/tail.md, Validation): a
//! homogeneous book whose default count given the three yearly factors is
//! Binomial(n, q), q = 1 - prod(1 - p(X_t)); and, on a shipped scenario, a
//! 1e-2 tail figure against a plain run.

use riskshare::app::io::{self, Source};
use riskshare::model::Model;
use riskshare::scenario;
use riskshare::sim::importance::{self, Target};
use riskshare::sim::tables::Batch;

use crate::common;

const LOANS: usize = 2_000;
const PD: f64 = 0.02;
const RHO: f64 = 0.15;
const YEARS: usize = 3;

/// A tape of `n` identical loans, spread over the homogeneous scenario's villages.
fn tape(n: usize) -> String {
    let mut tape = String::from(
        "id,bank,village,product,borrower,industry,grade,principal,term_years,rate,amortisation,subsidy_rate,\
         collateral,herd_size,collateral_value,agricultural_insured,credit_insured,accident_insured,comp_covered\n",
    );
    for i in 0..n {
        tape.push_str(&format!(
            "L{i:06},RCC,H{:02},loan,household,mixed,B,40000.00,3,0.0435,bullet,0.0435,none,,,0,0,0,1\n",
            i % 20
        ));
    }
    tape
}

/// The homogeneous scenario with `LOANS` identical loans.
fn homogeneous() -> Model {
    let yaml = include_str!("../scenarios/homogeneous.yaml");
    let tape = tape(LOANS);
    let s = scenario::parse(yaml, "homogeneous.yaml", &[]).unwrap_or_else(|e| panic!("{e}"));
    Model::build(s, "homogeneous.yaml", &[("homogeneous.csv".into(), tape)]).unwrap_or_else(|e| panic!("{e}"))
}

/// ln of the binomial pmf.
fn ln_pmf(n: usize, k: usize, q: f64) -> f64 {
    let (n, kf) = (n as f64, k as f64);
    libm::lgamma(n + 1.0) - libm::lgamma(kf + 1.0) - libm::lgamma(n - kf + 1.0) + kf * q.ln() + (n - kf) * (-q).ln_1p()
}

/// P(Binomial(n, q) > x): the first term from lgamma, the others by the
/// pmf's ratio.
fn binom_sf(x: usize, n: usize, q: f64) -> f64 {
    if q <= 0.0 || x >= n {
        return 0.0;
    }
    if q >= 1.0 {
        return 1.0;
    }
    let mut term = ln_pmf(n, x + 1, q).exp();
    let (mut sum, odds) = (0.0, q / (1.0 - q));
    for k in x + 1..=n {
        sum += term;
        term *= (n - k) as f64 / (k + 1) as f64 * odds;
        if term < sum * 1e-17 && k as f64 > n as f64 * q {
            break;
        }
    }
    sum.min(1.0)
}

/// The law of S = sum over the years of Y = -ln(1 - p(X)), as point masses:
/// Y on a fine grid of X, binned with each bin's centre of mass (so the
/// binning error is of second order), convolved over the years.
fn law() -> &'static [(f64, f64)] {
    static LAW: std::sync::OnceLock<Vec<(f64, f64)>> = std::sync::OnceLock::new();
    LAW.get_or_init(|| {
        let phi_inv_pd = riskshare::rng::inv_phi(PD);
        let p = |z: f64| riskshare::rng::phi((phi_inv_pd - RHO.sqrt() * z) / (1.0 - RHO).sqrt());
        let (points, lo, hi) = (400_001, -9.0f64, 9.0f64);
        let dz = (hi - lo) / (points - 1) as f64;
        let ys: Vec<(f64, f64)> = (0..points)
            .map(|i| {
                let z = lo + i as f64 * dz;
                (-(-p(z).min(1.0 - 1e-16)).ln_1p(), (-0.5 * z * z).exp())
            })
            .collect();
        let total: f64 = ys.iter().map(|(_, d)| d).sum();
        let bins = 3_000;
        let top = ys.iter().map(|(y, _)| *y).fold(0.0f64, f64::max) * 1.000_000_1;
        let binned = |pts: &mut dyn Iterator<Item = (f64, f64)>, span: f64, fine: usize| {
            let (mut m, mut y) = (vec![0.0; fine], vec![0.0; fine]);
            for (yy, mm) in pts {
                let b = ((yy / span * fine as f64) as usize).min(fine - 1);
                m[b] += mm;
                y[b] += mm * yy;
            }
            m.iter().zip(&y).filter(|(m, _)| **m > 0.0).map(|(m, y)| (y / m, *m)).collect::<Vec<_>>()
        };
        let one = binned(&mut ys.iter().map(|&(y, d)| (y, d / total)), top, bins);
        let mut law = one.clone();
        for _ in 1..YEARS {
            let one = &one;
            let mut pairs = law.iter().flat_map(|&(ya, ma)| one.iter().map(move |&(yb, mb)| (ya + yb, ma * mb)));
            law = binned(&mut pairs, top * YEARS as f64, 4 * bins * YEARS);
        }
        law
    })
}

/// P(D > x) under the exact mixture law: the binomial tail given
/// q = 1 - exp(-S), over the law of S.
fn exact_sf(x: usize) -> f64 {
    law().iter().map(|&(s, m)| m * binom_sf(x, LOANS, -(-s).exp_m1())).sum()
}

/// The smallest count whose exact exceedance probability is at most `prob`.
fn level(prob: f64) -> (usize, f64) {
    let (mut lo, mut hi) = (0usize, LOANS);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if exact_sf(mid) > prob { lo = mid } else { hi = mid }
    }
    (hi, exact_sf(hi))
}

fn run(m: &Model, seed: u64, trials: u64) -> Batch {
    common::simulate(m, seed, trials, 2)
}

/// (1/N) sum w_i 1[A_i] and its standard error.
fn estimate(b: &Batch, hit: impl Fn(usize) -> bool) -> (f64, f64) {
    let n = b.trials.len();
    let w = |i: usize| b.weights.get(i).copied().unwrap_or(1.0);
    let v: Vec<f64> = (0..n).map(|i| if hit(i) { w(i) } else { 0.0 }).collect();
    let mean = v.iter().sum::<f64>() / n as f64;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (mean, (var / n as f64).sqrt())
}

#[test]
fn the_exact_law_is_a_law() {
    // Its masses add up to 1, and E[q] = 1 - (1 - pd)^3: the years'
    // factors are independent and E[p(X)] = pd.
    let total: f64 = law().iter().map(|(_, m)| m).sum();
    assert!((total - 1.0).abs() < 1e-9, "{total}");
    let mean_q: f64 = law().iter().map(|&(s, m)| m * -(-s).exp_m1()).sum();
    let want = 1.0 - (1.0 - PD).powi(YEARS as i32);
    assert!((mean_q / want - 1.0).abs() < 1e-5, "E[q] {mean_q} against {want}");
    let (a, b) = (exact_sf(100), exact_sf(300));
    assert!(a > b && b > 0.0, "{a} {b}");
}

/// The importance-sampled P(D > x) at about 1e-4 and 1e-6 within 4 standard
/// errors of the exact law, each with a relative error that a plain run of
/// the same size could not reach.
#[test]
fn importance_sampling_matches_the_exact_law_at_1e_4_and_1e_6() {
    let base = homogeneous();
    for (prob, seed) in [(1e-4, 11), (1e-6, 12)] {
        let (x, exact) = level(prob);
        let mut m = base.clone();
        let target = Target::parse(&format!("defaults:{prob:e}")).unwrap();
        let ms = importance::pilot(&mut m, seed, &target, 2, &|_| {});
        let b = run(&m, seed, 4_000);
        assert_eq!(b.weights.len(), b.trials.len(), "a weight per trial");
        let (est, se) = estimate(&b, |i| b.trials[i].counts.defaults as usize > x);
        let z = (est - exact) / se;
        println!("P(D > {x}) = {est:.4e} +- {se:.2e}, exact {exact:.4e}, z {z:.2}; measure {:?}", ms.target);
        assert!(z.abs() < 4.0, "P(D > {x}): {est:e} +- {se:e}, exact {exact:e} (z {z:.2})");
        // A plain run of 4,000 trials has a relative error of 1 / sqrt(4,000 p): 1.6 at 1e-4.
        assert!(se / est < 0.15, "relative error {} at {prob:e}", se / est);
    }
}

/// The pilot and the weights depend on (model, seed, target) only.
#[test]
fn importance_runs_do_not_depend_on_threads() {
    let mut a = homogeneous();
    let target = Target::parse("exposure:1e-3").unwrap();
    let ma = importance::pilot(&mut a, 3, &target, 1, &|_| {});
    let mut b = homogeneous();
    let mb = importance::pilot(&mut b, 3, &target, 2, &|_| {});
    assert_eq!(ma, mb);
    let (ra, rb) = (common::simulate(&a, 3, 600, 1), common::simulate(&b, 3, 600, 2));
    assert_eq!(ra, rb);
    assert!(ra.weights.iter().any(|&w| w != 1.0));
}

/// Plain runs carry no weights.
#[test]
fn plain_runs_have_no_weights() {
    let m = homogeneous();
    assert!(run(&m, 1, 100).weights.is_empty());
}

/// On the Wangcang scenario, the bank's loss exceeded with probability 1e-2
/// (the pilot's level): the importance-sampled probability agrees with a
/// plain run's within their combined intervals.
#[test]
fn a_shipped_scenarios_1e_2_tail_agrees_with_a_plain_run() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/wangcang.yaml");
    let plain = io::load(Source::File(path), &[]).unwrap_or_else(|e| panic!("{e}")).model;
    let mut is = plain.clone();
    let target = Target::parse("bank_loss:1e-2").unwrap();
    let ms = importance::pilot(&mut is, 21, &target, 2, &|_| {});
    let level = ms.level * 100.0; // yuan, as recorded, to fen
    let over = |b: &Batch, i: usize| b.trials[i].flows.bank_loss.0 as f64 > level;
    let bp = run(&plain, 22, 6_000);
    let bi = run(&is, 23, 2_000);
    let (p, sp) = estimate(&bp, |i| over(&bp, i));
    let (q, sq) = estimate(&bi, |i| over(&bi, i));
    let z = (q - p) / (sp * sp + sq * sq).sqrt();
    println!("P(bank_loss > {}): plain {p:.4} +- {sp:.4}, importance {q:.4} +- {sq:.4}, z {z:.2}", ms.level);
    assert!(z.abs() < 4.0, "plain {p} +- {sp}, importance {q} +- {sq}");
    assert!((0.002..0.05).contains(&p), "the pilot's level is not near the 1e-2 tail: plain {p}");
}

/// An exposure tail draws the default scenario's large loans under the
/// inner twist: with the measure for `exposure:1e-4`, the probability of
/// the plain run's 1e-2 level agrees with the plain run's, and the weights
/// average 1.
#[test]
fn the_inner_twist_keeps_an_exposure_tail_where_a_plain_run_puts_it() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/wangcang.yaml");
    let plain = io::load(Source::File(path), &[]).unwrap_or_else(|e| panic!("{e}")).model;
    let mut is = plain.clone();
    importance::pilot(&mut is, 31, &Target::parse("exposure:1e-4").unwrap(), 2, &|_| {});
    let twist = is.twist.as_ref().expect("an exposure tail twists the large loans");
    assert!(!twist.loans.is_empty() && twist.loans.len() <= 150, "{} twisted loans", twist.loans.len());
    let exposure = |b: &Batch, i: usize| b.trials[i].flows.exposure.0;
    let (bp, bi) = (run(&plain, 32, 6_000), run(&is, 33, 3_000));
    let mut sorted: Vec<i64> = (0..bp.trials.len()).map(|i| exposure(&bp, i)).collect();
    sorted.sort_unstable();
    let level = sorted[sorted.len() * 99 / 100];
    let (p, sp) = estimate(&bp, |i| exposure(&bp, i) > level);
    let (q, sq) = estimate(&bi, |i| exposure(&bi, i) > level);
    let z = (q - p) / (sp * sp + sq * sq).sqrt();
    println!("P(exposure > {level} fen): plain {p:.4} +- {sp:.4}, importance {q:.4} +- {sq:.4}, z {z:.2}");
    assert!(z.abs() < 4.0, "plain {p} +- {sp}, importance {q} +- {sq}");
    let (w, sw) = estimate(&bi, |_| true);
    assert!((w - 1.0).abs() < 4.0 * sw, "mean weight {w} +- {sw}");
}

/// A book with no guarantee, linkage or society (the example tape) has its
/// large loans twisted too, and every weight is finite and positive.
#[test]
fn the_inner_twist_runs_on_a_book_without_mechanisms() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/tape_example.yaml");
    let mut m = io::load(Source::File(path), &[]).unwrap_or_else(|e| panic!("{e}")).model;
    assert!(m.extra_key.is_empty(), "the example tape has no mechanisms");
    importance::pilot(&mut m, 41, &Target::parse("exposure:1e-3").unwrap(), 2, &|_| {});
    assert!(m.twist.as_ref().is_some_and(|tw| !tw.loans.is_empty()), "its large loans are twisted");
    let b = run(&m, 42, 2_000);
    assert!(b.weights.iter().all(|w| w.is_finite() && *w > 0.0));
    let (w, sw) = estimate(&b, |_| true);
    assert!((w - 1.0).abs() < 4.0 * sw, "mean weight {w} +- {sw}");
}

/// The command line: an importance-sampled run writes a `weight` column and
/// an `importance` key, a merge of its shards (other thread counts) gives
/// the same bytes, and a plain run has neither.
#[test]
fn importance_runs_shard_and_merge_to_the_same_bytes() {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("h.yaml"), include_str!("../scenarios/homogeneous.yaml")).unwrap();
    std::fs::write(d.join("homogeneous.csv"), tape(500)).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_riskshare")).args(args).current_dir(d).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let is = ["run", "h.yaml", "--trials", "300", "--no-charts", "--importance", "auto", "--tail", "defaults:1e-3"];
    run(&[&is[..], &["--threads", "1", "--out", "whole"]].concat());
    run(&[&is[..], &["--threads", "2", "--shard", "0/2", "--out", "p0"]].concat());
    run(&[&is[..], &["--threads", "1", "--shard", "1/2", "--out", "p1"]].concat());
    run(&["merge", "p0", "p1", "--out", "merged", "--no-charts"]);
    for f in ["trials.csv", "years.csv", "summary.json"] {
        let (a, b) =
            (std::fs::read(d.join("whole").join(f)).unwrap(), std::fs::read(d.join("merged").join(f)).unwrap());
        assert!(a == b, "{f} differs between a run and a merge of its shards");
    }
    let trials = std::fs::read_to_string(d.join("whole/trials.csv")).unwrap();
    assert!(trials.lines().next().unwrap().ends_with(",weight"));
    let w: f64 = trials.lines().nth(1).unwrap().rsplit(',').next().unwrap().parse().unwrap();
    assert!(w > 0.0 && w.is_finite());
    assert!(std::fs::read_to_string(d.join("whole/years.csv")).unwrap().lines().next().unwrap().ends_with(",weight"));
    let summary = std::fs::read_to_string(d.join("whole/summary.json")).unwrap();
    assert!(summary.contains("\"importance\": {") && summary.contains("\"target\": \"defaults:1e-3\""));
    run(&["run", "h.yaml", "--trials", "50", "--no-charts", "--out", "plain"]);
    assert!(!std::fs::read_to_string(d.join("plain/trials.csv")).unwrap().contains("weight"));
    assert!(!std::fs::read_to_string(d.join("plain/summary.json")).unwrap().contains("importance"));
}

/// An event that follows an account running dry (a shortfall) is as rare as
/// that, and its column is 0 in nearly every pilot trial: the pilot scores
/// it by how near an account came to running dry, and tilts. An event in
/// every trial (some village fund runs dry) leaves nothing to tilt toward:
/// the law stays the scenario's, and the run says so.
#[test]
fn event_tails_tilt_toward_accounts_running_dry_or_say_they_cannot() {
    let mini = include_str!("../scenarios/mini.yaml");
    let mut m = common::model(mini);
    let ms = importance::pilot(&mut m, 5, &Target::parse("shortfall").unwrap(), 2, &|_| {});
    assert!(!ms.tilt.is_identity() && ms.pilot_rounds > 1, "{ms:?}");
    let mut m = common::model(mini);
    let ms = importance::pilot(&mut m, 5, &Target::parse("village_funds_exhausted").unwrap(), 2, &|_| {});
    assert!(ms.tilt.is_identity() && ms.pilot_rounds == 1, "{ms:?}");
    // What the run prints of it.
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_riskshare"))
        .args(["run", "--trials", "200", "--no-charts", "--importance", "auto", "--tail", "village_funds_exhausted"])
        .arg("--out")
        .arg(dir.path().join("run"))
        .arg(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/mini.yaml"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("NOTE: the pilot found nothing to tilt toward for --tail village_funds_exhausted"),
        "{stdout}"
    );
}
