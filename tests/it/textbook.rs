//! The textbook cases of docs/model.md section 6, with honest tolerances: every
//! bound is a stated number of standard errors (or an order-statistic band),
//! not a loosened constant.

use crate::common::*;

/// Standard errors allowed in a mean comparison.
const Z: f64 = 4.5;

/// rho = 0, no hazards, n identical loans, one year: defaults ~ Binomial(n, pd).
#[test]
fn independent_defaults_are_binomial() {
    let (n, pd, trials) = (400u32, 0.03, 6000u64);
    let m = model(&homogeneous(n, pd, 0.0, 1, NO_FUNDS));
    let b = simulate(&m, 5, trials, 2);
    let k: Vec<f64> = b.trials.iter().map(|r| r.counts.defaults as f64).collect();
    let mean = k.iter().sum::<f64>() / trials as f64;
    let var = k.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (trials - 1) as f64;
    let (mu, sigma2) = (n as f64 * pd, n as f64 * pd * (1.0 - pd));
    assert!((mean - mu).abs() < Z * (sigma2 / trials as f64).sqrt(), "mean {mean} vs {mu}");
    // Var of the sample variance is about 2 sigma^4 / (T - 1) for a near-normal count.
    let se_var = (2.0 * sigma2 * sigma2 / (trials - 1) as f64).sqrt();
    assert!((var - sigma2).abs() < Z * se_var, "variance {var} vs {sigma2}");

    // Chi-square goodness of fit over bins with at least 5 expected counts.
    let pmf = |j: u32| -> f64 {
        let lg = |x: f64| libm::lgamma(x + 1.0);
        (lg(n as f64) - lg(j as f64) - lg((n - j) as f64) + j as f64 * pd.ln() + (n - j) as f64 * (1.0 - pd).ln()).exp()
    };
    let mut observed = vec![0f64; n as usize + 1];
    for &x in &k {
        observed[x as usize] += 1.0;
    }
    let (mut chi2, mut df, mut acc_o, mut acc_e) = (0.0, 0i32, 0.0, 0.0);
    for j in 0..=n {
        acc_o += observed[j as usize];
        acc_e += pmf(j) * trials as f64;
        if acc_e >= 5.0 && (trials as f64 - acc_e) >= 5.0 {
            chi2 += (acc_o - acc_e).powi(2) / acc_e;
            df += 1;
            acc_o = 0.0;
            acc_e = 0.0;
        }
    }
    chi2 += if acc_e > 0.0 { (acc_o - acc_e).powi(2) / acc_e } else { 0.0 };
    df -= 1;
    // Wilson-Hilferty: chi2 / df is about N(1, 2/df); allow 4.5 sigma.
    let z = ((chi2 / df as f64).cbrt() - (1.0 - 2.0 / (9.0 * df as f64))) / (2.0 / (9.0 * df as f64)).sqrt();
    assert!(z < Z, "chi-square {chi2} on {df} df (z = {z})");
}

/// rho > 0, many small identical loans, one year: the loss share's
/// a-quantile tends to the Vasicek value.
#[test]
fn large_portfolio_quantiles_follow_vasicek() {
    let (n, pd, rho, trials) = (20_000u32, 0.02, 0.15, 3000u64);
    let m = model(&homogeneous(n, pd, rho, 1, NO_FUNDS));
    let b = simulate(&m, 9, trials, 2);
    let mut share: Vec<f64> = b.trials.iter().map(|r| r.counts.defaults as f64 / n as f64).collect();
    share.sort_by(f64::total_cmp);
    let vasicek = |a: f64| phi((inv_phi(pd) + rho.sqrt() * inv_phi(a)) / (1.0 - rho).sqrt());
    for a in [0.5, 0.9, 0.99] {
        // The sample quantile's rank is uncertain by sqrt(a (1 - a) / T): map that band
        // through the closed form, and add the finite-n binomial noise of the share.
        let half = Z * (a * (1.0 - a) / trials as f64).sqrt();
        let (lo, hi) = (vasicek((a - half).max(1e-9)), vasicek((a + half).min(1.0 - 1e-9)));
        let grain = Z * (hi * (1.0 - hi) / n as f64).sqrt();
        let q = share[((a * trials as f64).ceil() as usize).saturating_sub(1)];
        assert!(q >= lo - grain && q <= hi + grain, "a = {a}: sample {q}, Vasicek band [{lo}, {hi}] +- {grain}");
    }
    // The mean default rate is pd whatever rho is.
    let mean = share.iter().sum::<f64>() / trials as f64;
    let sd = (share.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (trials - 1) as f64).sqrt();
    assert!((mean - pd).abs() < Z * sd / (trials as f64).sqrt(), "mean share {mean}");
}

/// A peril alone: the yearly event count is Poisson(lambda).
#[test]
fn peril_event_counts_are_poisson() {
    let lambda = 0.7;
    let extra = format!(
        "{NO_FUNDS}hazards:\n  perils:\n    - {{id: flood, rate: {lambda}, hit: {{plain: 0.5}}, damage: {{alpha: 2, beta: 5}}, vulnerability: {{farm: 1}}}}\n"
    );
    let m = model(&homogeneous(10, 0.01, 0.0, 3, &extra));
    let trials = 5000u64;
    let b = simulate(&m, 3, trials, 2);
    let counts: Vec<f64> = b.years.iter().map(|y| y.counts.disaster_events as f64).collect();
    let n = counts.len() as f64;
    let mean = counts.iter().sum::<f64>() / n;
    let var = counts.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
    assert!((mean - lambda).abs() < Z * (lambda / n).sqrt(), "mean {mean}");
    // Var of the sample variance of a Poisson: (lambda + 2 lambda^2) / n roughly.
    assert!((var - lambda).abs() < Z * ((lambda + 2.0 * lambda * lambda) / n).sqrt(), "variance {var}");
    let p0 = counts.iter().filter(|&&x| x == 0.0).count() as f64 / n;
    let e0 = (-lambda).exp();
    assert!((p0 - e0).abs() < Z * (e0 * (1.0 - e0) / n).sqrt(), "P(0) {p0} vs {e0}");
}

/// With no hazards, the damage pass is idle and disasters do not appear.
#[test]
fn no_hazards_means_no_events() {
    let m = model(&homogeneous(100, 0.02, 0.1, 2, NO_FUNDS));
    let b = simulate(&m, 1, 200, 1);
    assert!(b.trials.iter().all(|r| r.counts.disaster_events == 0 && r.flows.exposure_disaster.0 == 0));
}
