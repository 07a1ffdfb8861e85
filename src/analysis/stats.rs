//! Statistics over per-trial values: moments, quantiles, tail value at risk,
//! their standard errors and confidence intervals, and exceedance curves.
//!
//! This module owns every number that the reports derive from a column of the
//! trial (or year) loss table (docs/model.md section 5). It does no I/O and holds
//! no state: each function is a pure function of its input.
//!
//! **Invariant: results are exact or deterministic to the bit.** Values are
//! money in fen (or counts) as `i64`. Sums and sums of squares are kept in
//! `i128`, so they do not depend on the order values arrive in, and
//! [`Moments`] from different batches merge to exactly the moments of the
//! whole. Quantile and tail indices are computed from the confidence level in
//! basis points with integer arithmetic, never from `n * 0.99` in floating
//! point (`2000.0 * (1.0 - 0.99)` is `20.000000000000018`, whose ceiling is 21,
//! not 20). Where floating point is unavoidable (means, variances, normal and
//! binomial probabilities) the operations are fixed in order and use the
//! pure-Rust `libm` crate rather than the platform's C library, so the same
//! input gives the same bits on every platform.
//!
//! Functions named `*_sorted` take a slice sorted ascending (checked with a
//! `debug_assert!`); [`summarize`] sorts for you.
//!
//! Exactness range: `sum_sq` is exact while the sum of squares stays below
//! `i128::MAX` (about 1.7e38), e.g. for |x| up to 1.3e15 fen (13 trillion
//! yuan) over 1e8 trials; far beyond any county's loan book.

/// Confidence levels in basis points of 1/10000 (9950 = 99.5 %) to keep index
/// arithmetic exact: the quantiles that the reports print (docs/model.md section 5).
pub const QUANTILE_LEVELS_BP: [u32; 6] = [5000, 9000, 9500, 9900, 9950, 9990];

/// Levels (basis points) at which the reports print tail value at risk.
pub const TVAR_LEVELS_BP: [u32; 3] = [9500, 9900, 9950];

/// One in basis points: level `a = level_bp / BP`.
const BP: u32 = 10_000;

/// Confidence of the order-statistic quantile intervals in [`ColumnSummary`].
const SUMMARY_CI_CONF: f64 = 0.95;

/// Exact mergeable moments: count, sum (`i128`), sum of squares (`i128`), max,
/// min.
///
/// Because every field is an exact integer (or a min/max), pushing values in
/// any order, or merging the moments of any partition of the values, gives
/// the same struct bit for bit; parallel batches can therefore be reduced in
/// any order. `min` and `max` are 0 while `n == 0`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Moments {
    /// Number of values.
    pub n: u64,
    /// Exact sum of the values.
    pub sum: i128,
    /// Exact sum of the squared values.
    pub sum_sq: i128,
    /// Smallest value (0 when `n == 0`).
    pub min: i64,
    /// Largest value (0 when `n == 0`).
    pub max: i64,
}

impl Moments {
    /// Adds one value.
    pub fn push(&mut self, x: i64) {
        if self.n == 0 {
            self.min = x;
            self.max = x;
        } else {
            self.min = self.min.min(x);
            self.max = self.max.max(x);
        }
        let xi = i128::from(x);
        self.n += 1;
        self.sum += xi;
        self.sum_sq += xi * xi;
    }

    /// Adds the values summarised by `other`; equal to pushing them one by one.
    pub fn merge(&mut self, other: &Moments) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = *other;
            return;
        }
        self.n += other.n;
        self.sum += other.sum;
        self.sum_sq += other.sum_sq;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// Arithmetic mean `sum / n` (0 when `n == 0`), from the exact `i128` sum.
    ///
    /// Computed as `q + r / n` with `sum = q n + r`, `0 <= r < n` (Euclidean
    /// division), so that a sum beyond 2^53 loses nothing before the division.
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        exact_ratio(self.sum, i128::from(self.n))
    }

    /// Sample variance with divisor `n - 1` (0 when `n < 2`).
    ///
    /// The textbook identity `(n Σx² - (Σx)²) / (n (n - 1))` is evaluated in
    /// integers, so the cancellation that ruins it in floating point (values of
    /// 1e15 fen differing by a few fen) cannot happen. To keep the product
    /// `n Σx²` inside `i128` for large samples, the sum is first split as
    /// `Σx = q n + r` (Euclidean division) and
    ///
    /// ```text
    /// S = Σ(x - q)² = Σx² - q (Σx + r)        (exact, about (n - 1) s²)
    /// n Σx² - (Σx)² = n S - r²                 (0 <= r < n)
    /// ```
    ///
    /// so only `n S`, of the order of `n² s²`, must fit. If even that would
    /// overflow, `(S - r²/n) / (n - 1)` is evaluated in `f64` instead; there
    /// `S > 1e38 / n` dwarfs `r²/n < n`, so nothing is lost to cancellation.
    pub fn variance(&self) -> f64 {
        if self.n < 2 {
            return 0.0;
        }
        let n = i128::from(self.n);
        let q = self.sum.div_euclid(n);
        let r = self.sum.rem_euclid(n);
        let s = self.sum_sq - q * (self.sum + r);
        let exact = n.checked_mul(s).and_then(|ns| r.checked_mul(r).and_then(|r2| ns.checked_sub(r2)));
        match exact {
            Some(d) => d as f64 / (n * (n - 1)) as f64,
            None => {
                let (nf, rf) = (n as f64, r as f64);
                (s as f64 - rf * rf / nf) / (nf - 1.0)
            }
        }
    }

    /// Sample standard deviation, `sqrt(variance())`.
    pub fn std(&self) -> f64 {
        libm::sqrt(self.variance())
    }

    /// Standard error of the mean, `std / sqrt(n)` (0 when `n == 0`).
    pub fn stderr(&self) -> f64 {
        if self.n == 0 {
            return 0.0;
        }
        self.std() / libm::sqrt(self.n as f64)
    }
}

/// `num / den` as `f64` for `den > 0`, splitting off the integer part first so
/// that a numerator beyond 2^53 keeps its precision.
fn exact_ratio(num: i128, den: i128) -> f64 {
    let q = num.div_euclid(den);
    let r = num.rem_euclid(den);
    q as f64 + r as f64 / den as f64
}

/// Moments of a slice.
fn moments_of(values: &[i64]) -> Moments {
    let mut m = Moments::default();
    for &x in values {
        m.push(x);
    }
    m
}

/// Index used by [`quantile_sorted`]: `ceil(n a) - 1` with `a = level_bp /
/// 10000`, clamped to `[0, n - 1]` (0 when `n == 0`). Levels above 10000 act
/// as 10000. Integer arithmetic only, so `n = 2000` at 99 % gives exactly 1979.
pub fn quantile_index(n: usize, level_bp: u32) -> usize {
    if n == 0 {
        return 0;
    }
    let bp = u128::from(level_bp.min(BP));
    let rank = (n as u128 * bp).div_ceil(u128::from(BP)); // ceil(n a), 1-based
    (rank.max(1) - 1).min(n as u128 - 1) as usize
}

/// Lower empirical quantile (inverse of the empirical CDF; Hyndman & Fan 1996,
/// "Sample quantiles in statistical packages", definition 1):
/// `sorted[ceil(n a) - 1]` with `a = level_bp / 10000`, the index clamped to
/// `[0, n - 1]`. It is the smallest sample value `x` with `F_n(x) >= a`, always
/// an observed value (no interpolation), which is the value-at-risk convention
/// of the loss tables. Returns 0 for an empty slice.
pub fn quantile_sorted(sorted: &[i64], level_bp: u32) -> i64 {
    debug_assert!(sorted.is_sorted(), "quantile_sorted needs sorted input");
    if sorted.is_empty() {
        return 0;
    }
    sorted[quantile_index(sorted.len(), level_bp)]
}

/// Number of values averaged by [`tvar_sorted`]: `m = ceil(n (1 - a))`, at
/// least 1 and at most `n`, in integer arithmetic.
fn tail_len(n: usize, level_bp: u32) -> usize {
    let bp = level_bp.min(BP);
    let m = (n as u128 * u128::from(BP - bp)).div_ceil(u128::from(BP));
    (m as usize).clamp(1, n.max(1))
}

/// [`quantile_sorted`] at each of `levels_bp` (ascending) without sorting:
/// each order statistic is selected in what the previous one left above it,
/// so a few quantiles of a long column cost a few linear passes, not a sort.
/// Reorders `values`; 0 for each level of an empty slice.
pub fn quantiles<const K: usize>(values: &mut [i64], levels_bp: [u32; K]) -> [i64; K] {
    debug_assert!(levels_bp.is_sorted(), "quantiles needs ascending levels");
    let n = values.len();
    // Everything before `from` is at or below the last value selected, which
    // sits at `from - 1`.
    let mut from = 0;
    levels_bp.map(|bp| {
        if n == 0 {
            return 0;
        }
        let k = quantile_index(n, bp);
        if k < from {
            // The last level's index again: its value is in place.
            return values[k];
        }
        let (_, &mut x, _) = values[from..].select_nth_unstable(k - from);
        from = k + 1;
        x
    })
}

/// Tail value at risk: the mean of the `m = ceil(n (1 - a))` largest values
/// (at least 1), i.e. the expected value beyond the `a`-quantile. For
/// `1..=100` at 95 % that is the mean of `96..=100`, 98. Computed from an
/// exact `i128` sum; 0 for an empty slice.
///
/// When `n (1 - a)` is whole this is the sample version of `E[X | X > VaR_a]`
/// (Acerbi & Tasche 2002 show that it converges to expected shortfall); when
/// it is not, the tail is rounded up to whole observations rather than
/// weighting one observation fractionally.
pub fn tvar_sorted(sorted: &[i64], level_bp: u32) -> f64 {
    debug_assert!(sorted.is_sorted(), "tvar_sorted needs sorted input");
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    tvar_of_tail(&sorted[n - tail_len(n, level_bp)..])
}

/// The mean of `tail`, the values [`tvar_sorted`] averages (in any order).
fn tvar_of_tail(tail: &[i64]) -> f64 {
    let sum: i128 = tail.iter().map(|&x| i128::from(x)).sum();
    exact_ratio(sum, tail.len() as i128)
}

/// Standard error of the [`tvar_sorted`] estimate (Manistre & Hancock 2005,
/// "Variance of the CTE estimator", North American Actuarial Journal 9(2)):
///
/// ```text
/// se = sqrt( (Var(tail) + a (mean_tail - VaR)²) / m )
/// ```
///
/// where the tail is the `m` values that [`tvar_sorted`] averages,
/// `Var(tail)` their sample variance (divisor `m - 1`, 0 when `m = 1`),
/// `mean_tail` the TVaR and `VaR` the [`quantile_sorted`] value at the same
/// level. The first term is the sampling noise of the tail mean; the second
/// carries the uncertainty of where the tail starts. The paper's denominator
/// `n (1 - a)` is replaced by `m = ceil(n (1 - a))`, the number of values
/// actually averaged: equal when `n (1 - a)` is whole, and never zero. Returns
/// 0 for an empty slice.
pub fn tvar_stderr_sorted(sorted: &[i64], level_bp: u32) -> f64 {
    debug_assert!(sorted.is_sorted(), "tvar_stderr_sorted needs sorted input");
    let n = sorted.len();
    if n == 0 {
        return 0.0;
    }
    tvar_stderr_of_tail(&sorted[n - tail_len(n, level_bp)..], quantile_sorted(sorted, level_bp), level_bp)
}

/// [`tvar_stderr_sorted`] from its tail (in any order) and the quantile at
/// its level.
fn tvar_stderr_of_tail(tail: &[i64], var: i64, level_bp: u32) -> f64 {
    let m = tail.len();
    let tail = moments_of(tail);
    let a = f64::from(level_bp.min(BP)) / f64::from(BP);
    let gap = tail.mean() - var as f64;
    libm::sqrt((tail.variance() + a * gap * gap) / m as f64)
}

/// Distribution-free confidence interval for a quantile, from two order
/// statistics of the sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuantileCi {
    /// Lower bound, `sorted[lo_index]`.
    pub lo: i64,
    /// Upper bound, `sorted[hi_index]`.
    pub hi: i64,
    /// 0-based index of the lower order statistic.
    pub lo_index: usize,
    /// 0-based index of the upper order statistic.
    pub hi_index: usize,
}

/// Distribution-free confidence interval for the `a`-quantile `ξ` from order
/// statistics (Conover 1999, *Practical Nonparametric Statistics*, section
/// 3.2; David & Nagaraja 2003, *Order Statistics*, section 7.1).
///
/// The number `B` of sample values below `ξ` is Binomial(n, a), so for the
/// 1-based order statistics `X(l) < X(u)`
/// `P(X(l) <= ξ < X(u)) = F(u - 1) - F(l - 1)` with `F` the binomial CDF (for
/// a continuous distribution; with ties the coverage can only grow). Each end
/// may miss with probability at most `t = (1 - conf) / 2`:
///
/// ```text
/// lo_index = l - 1 = max { k : F(k) <= t }            (0-based)
/// hi_index = u - 1 = min { k : P(B > k) <= t }
/// ```
///
/// so the coverage `F(hi_index) - F(lo_index)` is at least `conf`. For the
/// median of `n = 50` at 95 % this gives the textbook order statistics 18 and
/// 33 (coverage 0.967). When the sample is too small for the requested
/// coverage the indices are clamped to `[0, n - 1]`, i.e. to the sample range,
/// and the coverage is then below `conf`.
///
/// The binomial probabilities are exact: each term is evaluated with Loader's
/// saddle-point formula (Loader 2000, "Fast and accurate computation of
/// binomial probabilities", as in R's `dbinom`), which has a relative error
/// near 1e-15 for any `n`, with no `lgamma` cancellation. The terms are summed
/// from the far tails inward over the window where the probability mass lies
/// (pmf above 1e-30 of its mode, about ±12 standard deviations), so the cost is
/// `O(sqrt(n a (1 - a)))`: about 2.4e5 terms for `n = 1e8` at the median.
/// No normal approximation is used at any `n`. `conf` is clamped to
/// `[0, 1 - 2e-15]`. An empty slice gives all zeros.
pub fn quantile_ci_sorted(sorted: &[i64], level_bp: u32, conf: f64) -> QuantileCi {
    debug_assert!(sorted.is_sorted(), "quantile_ci_sorted needs sorted input");
    if sorted.is_empty() {
        return QuantileCi { lo: 0, hi: 0, lo_index: 0, hi_index: 0 };
    }
    let (lo_index, hi_index) = order_stat_ci_indices(sorted.len(), level_bp, conf);
    QuantileCi { lo: sorted[lo_index], hi: sorted[hi_index], lo_index, hi_index }
}

/// Smallest tail probability honoured by [`order_stat_ci_indices`]; well above
/// the mass neglected outside the summation window.
const MIN_TAIL: f64 = 1e-15;

/// Where the binomial summation window ends, relative to the pmf at the mode.
const PMF_CUTOFF: f64 = 1e-30;

/// The 0-based order-statistic indices of [`quantile_ci_sorted`] for a sample
/// of `n >= 1` values. They depend on (n, level, confidence) only, and a
/// summary asks for the same few with every column (a window of some
/// `12 sqrt(n p q)` binomial terms each): each is computed once and kept,
/// up to a few dozen.
fn order_stat_ci_indices(n: usize, level_bp: u32, conf: f64) -> (usize, usize) {
    type Seen = Vec<((usize, u32, u64), (usize, usize))>;
    static SEEN: std::sync::Mutex<Seen> = std::sync::Mutex::new(Vec::new());
    // A poisoned lock only means another thread panicked while holding it:
    // the list is still whole (pushes of plain values).
    let seen = || SEEN.lock().unwrap_or_else(|e| e.into_inner());
    let key = (n, level_bp, conf.to_bits());
    let found = seen().iter().find(|(k, _)| *k == key).map(|&(_, v)| v);
    found.unwrap_or_else(|| {
        let v = order_stat_ci_indices_uncached(n, level_bp, conf);
        let mut s = seen();
        if s.len() < 64 {
            s.push((key, v));
        }
        v
    })
}

fn order_stat_ci_indices_uncached(n: usize, level_bp: u32, conf: f64) -> (usize, usize) {
    if n == 0 {
        return (0, 0);
    }
    let bp = level_bp.min(BP);
    if bp == 0 {
        return (0, 0); // B = 0 surely: the 0-quantile is the minimum
    }
    if bp == BP {
        return (n - 1, n - 1); // B = n surely: the 1-quantile is the maximum
    }
    let conf = if conf.is_nan() { 0.0 } else { conf.clamp(0.0, 1.0) };
    let t = ((1.0 - conf) / 2.0).max(MIN_TAIL);
    let p = f64::from(bp) / f64::from(BP);
    let q = f64::from(BP - bp) / f64::from(BP);

    // Window [k_lo, k_hi] around the mode floor((n + 1) p); the pmf is
    // unimodal, so once it falls below the cutoff it stays below.
    let mode = ((n as u128 + 1) * u128::from(bp) / u128::from(BP)).min(n as u128) as usize;
    let at_mode = binom_pmf(mode, n, p, q);
    let floor = at_mode * PMF_CUTOFF;
    let mut k_lo = mode;
    while k_lo > 0 && binom_pmf(k_lo, n, p, q) >= floor {
        k_lo -= 1;
    }
    let mut k_hi = mode;
    while k_hi < n && binom_pmf(k_hi, n, p, q) >= floor {
        k_hi += 1;
    }
    let pmf: Vec<f64> = (k_lo..=k_hi).map(|k| binom_pmf(k, n, p, q)).collect();

    // Lower end: the largest k with F(k) <= t. The mass below k_lo is
    // negligible (< t), so k_lo - 1 qualifies whenever it exists.
    let mut lo = k_lo.checked_sub(1);
    let mut cum = 0.0;
    for (i, &f) in pmf.iter().enumerate() {
        cum += f;
        if cum > t {
            break;
        }
        lo = Some(k_lo + i);
    }

    // Upper end: the smallest k with P(B > k) <= t, summed from the right so
    // the small upper tail is not computed as 1 - F(k).
    let mut hi = k_hi;
    let mut upper = 0.0;
    for k in (k_lo..k_hi).rev() {
        upper += pmf[k + 1 - k_lo];
        if upper > t {
            break;
        }
        hi = k;
    }

    (lo.unwrap_or(0).min(n - 1), hi.min(n - 1))
}

/// `stirlerr(k) = ln k! - ln(sqrt(2 π k) (k / e)^k)` for `k = 1..=15`, from the
/// table in R's `nmath/stirlerr.c` (Loader 2000), transcribed verbatim.
#[allow(clippy::excessive_precision)]
const STIRLERR_SMALL: [f64; 16] = [
    0.0, // k = 0: never used
    0.0810614667953272582196702,
    0.0413406959554092940938221,
    0.02767792568499833914878929,
    0.02079067210376509311152277,
    0.01664469118982119216319487,
    0.01387612882307074799874573,
    0.01189670994589177009505572,
    0.010411265261972096497478567,
    0.009255462182712732917728637,
    0.008330563433362871256469318,
    0.007573675487951840794972024,
    0.006942840107209529865664152,
    0.006408994188004207068439631,
    0.005951370112758847735624416,
    0.005554733551962801371038690,
];

/// Error of Stirling's formula for `k!`, `k >= 1` (Loader 2000): the table
/// up to 15, then the asymptotic series `1/(12k) - 1/(360k³) + 1/(1260k⁵) - …`
/// cut where its next term is below machine precision.
fn stirlerr(k: usize) -> f64 {
    if k <= 15 {
        return STIRLERR_SMALL[k];
    }
    const S0: f64 = 1.0 / 12.0;
    const S1: f64 = 1.0 / 360.0;
    const S2: f64 = 1.0 / 1260.0;
    const S3: f64 = 1.0 / 1680.0;
    const S4: f64 = 1.0 / 1188.0;
    let x = k as f64;
    let xx = x * x;
    if k > 500 {
        (S0 - S1 / xx) / x
    } else if k > 80 {
        (S0 - (S1 - S2 / xx) / xx) / x
    } else if k > 35 {
        (S0 - (S1 - (S2 - S3 / xx) / xx) / xx) / x
    } else {
        (S0 - (S1 - (S2 - (S3 - S4 / xx) / xx) / xx) / xx) / x
    }
}

/// Deviance term `bd0(x, μ) = x ln(x / μ) + μ - x` (Loader 2000), by its
/// series in `v = (x - μ) / (x + μ)` when `x` is near `μ`, where the direct
/// form cancels.
fn bd0(x: f64, mu: f64) -> f64 {
    if (x - mu).abs() < 0.1 * (x + mu) {
        let mut v = (x - mu) / (x + mu);
        let mut s = (x - mu) * v;
        let mut ej = 2.0 * x * v;
        v *= v;
        for j in 1..1000_u32 {
            ej *= v;
            let next = s + ej / f64::from(2 * j + 1);
            if next == s {
                return next;
            }
            s = next;
        }
        s
    } else {
        x * libm::log(x / mu) + mu - x
    }
}

/// `ln(2 π)`.
const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Binomial(n, p) probability of `k`, `q = 1 - p`, `0 < p < 1` (Loader 2000,
/// the algorithm of R's `dbinom_raw`):
///
/// ```text
/// P(k) = exp(stirlerr(n) - stirlerr(k) - stirlerr(n - k)
///            - bd0(k, n p) - bd0(n - k, n q)) / sqrt(2 π k (n - k) / n)
/// ```
fn binom_pmf(k: usize, n: usize, p: f64, q: f64) -> f64 {
    let nf = n as f64;
    if k == 0 {
        let lc = if p < 0.1 { -bd0(nf, nf * q) - nf * p } else { nf * libm::log(q) };
        return libm::exp(lc);
    }
    if k == n {
        let lc = if q < 0.1 { -bd0(nf, nf * p) - nf * q } else { nf * libm::log(p) };
        return libm::exp(lc);
    }
    let kf = k as f64;
    let rest = (n - k) as f64;
    let lc = stirlerr(n) - stirlerr(k) - stirlerr(n - k) - bd0(kf, nf * p) - bd0(rest, nf * q);
    let lf = LN_2PI + libm::log(kf) + libm::log1p(-kf / nf);
    libm::exp(lc - 0.5 * lf)
}

/// A binomial proportion `k / n` with its Wilson score interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Proportion {
    /// Successes (e.g. trials in which a fund ran dry).
    pub k: u64,
    /// Trials.
    pub n: u64,
    /// Point estimate `k / n` (0 when `n == 0`).
    pub p: f64,
    /// Lower bound of the interval.
    pub lo: f64,
    /// Upper bound of the interval.
    pub hi: f64,
}

/// Wilson score interval for a binomial proportion `k / n` at confidence
/// `conf`, two-sided (Wilson 1927, JASA 22:209; recommended over the Wald
/// interval by Brown, Cai & DasGupta 2001, Statistical Science 16:101):
///
/// ```text
/// centre = (p + z²/(2n)) / (1 + z²/n)
/// half   = z / (1 + z²/n) * sqrt(p (1 - p) / n + z² / (4 n²))
/// ```
///
/// with `z = z_for(conf)`. Unlike the Wald interval it stays inside [0, 1]
/// and does not collapse to a point at `k = 0` (a fund that never ran dry in
/// 10 000 trials gets `[0, 3.8e-4]`, not `[0, 0]`). The bound is set to
/// exactly 0 when `k = 0` and to exactly 1 when `k = n`. `n = 0` gives
/// `p = 0, lo = 0, hi = 1`; `k > n` is a caller bug (checked in debug builds,
/// clamped to `n` otherwise).
pub fn wilson(k: u64, n: u64, conf: f64) -> Proportion {
    debug_assert!(k <= n, "wilson: k = {k} > n = {n}");
    let k = k.min(n);
    if n == 0 {
        return Proportion { k, n, p: 0.0, lo: 0.0, hi: 1.0 };
    }
    let nf = n as f64;
    let p = k as f64 / nf;
    let z = z_for(conf);
    if !z.is_finite() {
        return Proportion { k, n, p, lo: 0.0, hi: 1.0 };
    }
    let z2 = z * z;
    let denom = 1.0 + z2 / nf;
    let centre = (p + z2 / (2.0 * nf)) / denom;
    let var = (k as f64) * ((n - k) as f64) / (nf * nf * nf);
    let half = z / denom * libm::sqrt(var + z2 / (4.0 * nf * nf));
    let lo = if k == 0 { 0.0 } else { (centre - half).max(0.0) };
    let hi = if k == n { 1.0 } else { (centre + half).min(1.0) };
    Proportion { k, n, p, lo, hi }
}

/// Two-sided standard normal quantile for a confidence level:
/// `z = Φ⁻¹((1 + conf) / 2)`, so `z_for(0.95) = 1.959963984540054`.
///
/// Evaluated as `-Φ⁻¹((1 - conf) / 2)`, from the small tail probability, so
/// levels near 1 keep their precision. `conf <= 0` (or NaN) gives 0 and
/// `conf >= 1` gives infinity.
pub fn z_for(conf: f64) -> f64 {
    if conf.is_nan() || conf <= 0.0 {
        return 0.0;
    }
    if conf >= 1.0 {
        return f64::INFINITY;
    }
    -inv_norm_cdf((1.0 - conf) / 2.0)
}

/// The inverse standard normal CDF: the engine's own (Wichura's AS 241), so
/// there is one implementation in the crate.
fn inv_norm_cdf(p: f64) -> f64 {
    crate::rng::inv_phi(p)
}

/// Everything the reports print for one column of per-trial values.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnSummary {
    /// Count, exact sum and sum of squares, min, max.
    pub moments: Moments,
    /// [`quantile_sorted`] at [`QUANTILE_LEVELS_BP`].
    pub quantiles: [i64; 6],
    /// [`tvar_sorted`] at [`TVAR_LEVELS_BP`].
    pub tvar: [f64; 3],
    /// [`tvar_stderr_sorted`] at [`TVAR_LEVELS_BP`].
    pub tvar_stderr: [f64; 3],
    /// 95 % order-statistic intervals ([`quantile_ci_sorted`]) for
    /// `quantiles`, as `(lo, hi)`.
    pub quantile_ci: [(i64, i64); 6],
}

/// The summary of a column (taking ownership, so no copy), as the
/// `*_sorted` functions give it from the sorted column. Empty input gives
/// all zeros. The result does not depend on the order of `values`.
///
/// Only the order statistics it reports are put in place
/// ([`select_ranks`]), and the tails it averages gathered above them: sums
/// are exact integers, so the tails' order does not matter, and a few
/// selections cost less than a sort of the whole column.
pub fn summarize(mut values: Vec<i64>) -> ColumnSummary {
    let n = values.len();
    if n == 0 {
        return ColumnSummary {
            moments: Moments::default(),
            quantiles: [0; 6],
            tvar: [0.0; 3],
            tvar_stderr: [0.0; 3],
            quantile_ci: [(0, 0); 6],
        };
    }
    let ci = QUANTILE_LEVELS_BP.map(|bp| order_stat_ci_indices(n, bp, SUMMARY_CI_CONF));
    let q = QUANTILE_LEVELS_BP.map(|bp| quantile_index(n, bp));
    let var = TVAR_LEVELS_BP.map(|bp| quantile_index(n, bp));
    let tail_from = TVAR_LEVELS_BP.map(|bp| n - tail_len(n, bp));
    let ci_ends = ci.iter().flat_map(|&(lo, hi)| [lo, hi]);
    let mut ranks: Vec<usize> = ci_ends.chain(q).chain(var).chain(tail_from).collect();
    ranks.sort_unstable();
    ranks.dedup();
    select_ranks(&mut values, &ranks);
    let s = values.as_slice();
    ColumnSummary {
        moments: moments_of(s),
        quantiles: q.map(|i| s[i]),
        tvar: tail_from.map(|from| tvar_of_tail(&s[from..])),
        tvar_stderr: std::array::from_fn(|j| tvar_stderr_of_tail(&s[tail_from[j]..], s[var[j]], TVAR_LEVELS_BP[j])),
        quantile_ci: ci.map(|(lo, hi)| (s[lo], s[hi])),
    }
}

/// Reorders `v` so that for each of `ranks` (ascending, distinct, below
/// `v.len()`), `v[r]` is the r-th smallest value, none before it larger and
/// none after it smaller: each is selected within the part the others left
/// it.
fn select_ranks(v: &mut [i64], ranks: &[usize]) {
    // Loss columns are mostly their minimum (no shortfall, no top-up in most
    // futures): gathered first in one pass, those need no selection, which
    // among many equal values costs more than a sort does.
    let Some(&min) = v.iter().min() else { return };
    let mut k = 0;
    for i in 0..v.len() {
        if v[i] == min {
            v.swap(i, k);
            k += 1;
        }
    }
    let first = ranks.partition_point(|&r| r < k);
    select_within(&mut v[k..], &ranks[first..], k);
}

/// [`select_ranks`] in `v`, the part of a column from `offset` on.
fn select_within(v: &mut [i64], ranks: &[usize], offset: usize) {
    if ranks.is_empty() {
        return;
    }
    if v.len() <= 32 {
        v.sort_unstable();
        return;
    }
    let mid = ranks.len() / 2;
    let r = ranks[mid] - offset;
    let (below, _, above) = v.select_nth_unstable(r);
    select_within(below, &ranks[..mid], offset);
    select_within(above, &ranks[mid + 1..], offset + r + 1);
}

/// Exceedance-probability curve: for each distinct value `x` of the sample,
/// ascending, the pair `(x, P(X > x))` with `P(X > x) = (number of values >
/// x) / n`, the empirical survival function at its jump points (the "EP
/// curve" of catastrophe modelling, e.g. Oasis ktools' `leccalc`). The
/// probabilities are non-increasing by construction and the last is 0. Empty
/// input gives an empty curve.
pub fn exceedance_curve(sorted: &[i64]) -> Vec<(i64, f64)> {
    debug_assert!(sorted.is_sorted(), "exceedance_curve needs sorted input");
    let n = sorted.len();
    let mut curve = Vec::new();
    let mut end = 0;
    for run in sorted.chunk_by(|a, b| a == b) {
        end += run.len();
        curve.push((run[0], (n - end) as f64 / n as f64));
    }
    curve
}

/// The running mean of a column after its first `n` values, with its
/// confidence interval `mean ± z s / sqrt(n)` (s the sample standard
/// deviation; the interval is the point itself while n < 2).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RunningMean {
    pub n: u64,
    pub mean: f64,
    pub lo: f64,
    pub hi: f64,
}

/// The running mean of `values` in their order at confidence `conf`, after
/// every `step`-th value and after the last. Each point comes from the exact
/// [`Moments`] of the values so far, so the last is the column's mean.
pub fn running_mean(values: &[i64], conf: f64, step: usize) -> Vec<RunningMean> {
    let z = z_for(conf);
    let step = step.max(1);
    let mut m = Moments::default();
    let mut out = Vec::with_capacity(values.len() / step + 1);
    for (i, &x) in values.iter().enumerate() {
        m.push(x);
        if (i + 1) % step == 0 || i + 1 == values.len() {
            let (mean, half) = (m.mean(), z * m.stderr());
            out.push(RunningMean { n: m.n, mean, lo: mean - half, hi: mean + half });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_mean_by_hand() {
        let r = running_mean(&[100, 300], 0.95, 1);
        assert_eq!(r[0], RunningMean { n: 1, mean: 100.0, lo: 100.0, hi: 100.0 });
        // s = 100 sqrt(2); half-width = z s / sqrt(2) = 100 z.
        assert_eq!(r[1].mean, 200.0);
        assert!((r[1].hi - 200.0 - 100.0 * z_for(0.95)).abs() < 1e-9);
        let v: Vec<i64> = (0..1001).map(|i| (i * 7919) % 1000).collect();
        let thinned = running_mean(&v, 0.95, 100);
        assert_eq!(
            thinned.iter().map(|p| p.n).collect::<Vec<_>>(),
            (1..=10).map(|k| k * 100).chain([1001]).collect::<Vec<_>>()
        );
        assert_eq!(thinned.last().unwrap().mean, moments_of(&v).mean());
    }

    /// Tolerance for quantities computed in a few floating-point operations.
    const TIGHT: f64 = 1e-12;

    fn one_to(n: i64) -> Vec<i64> {
        (1..=n).collect()
    }

    /// A fixed, "random-looking" vector from a 64-bit LCG (Knuth's MMIX
    /// constants), so tests need no RNG crate.
    fn lcg_values(len: usize, modulus: i64, offset: i64) -> Vec<i64> {
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                ((state >> 33) as i64 % modulus) + offset
            })
            .collect()
    }

    #[test]
    fn quantiles_of_one_to_hundred() {
        let v = one_to(100);
        assert_eq!(quantile_sorted(&v, 9900), 99);
        assert_eq!(quantile_sorted(&v, 9990), 100);
        assert_eq!(quantile_sorted(&v, 5000), 50);
        assert_eq!(quantile_sorted(&v, 9000), 90);
        assert_eq!(quantile_sorted(&v, 9950), 100); // ceil(99.5) = 100
        assert_eq!(quantile_sorted(&v, 0), 1);
        assert_eq!(quantile_sorted(&v, 10_000), 100);
        assert_eq!(quantile_sorted(&v, 20_000), 100);
    }

    #[test]
    fn quantile_index_edges() {
        assert_eq!(quantile_index(0, 9900), 0);
        assert_eq!(quantile_index(1, 0), 0);
        assert_eq!(quantile_index(1, 9990), 0);
        assert_eq!(quantile_index(2000, 9900), 1979);
        assert_eq!(quantile_index(10, 9500), 9); // ceil(9.5) - 1
        assert_eq!(quantile_index(usize::MAX, 5000), usize::MAX / 2);
        assert_eq!(quantile_sorted(&[], 9900), 0);
    }

    #[test]
    fn tvar_of_one_to_hundred() {
        let v = one_to(100);
        assert_eq!(tvar_sorted(&v, 9900), 100.0); // m = 1
        assert_eq!(tvar_sorted(&v, 9500), 98.0); // mean(96..=100)
        assert_eq!(tvar_sorted(&v, 9950), 100.0); // m = ceil(0.5) = 1
        assert_eq!(tvar_sorted(&v, 0), 50.5); // whole sample
        assert_eq!(tvar_sorted(&v, 10_000), 100.0); // m at least 1
        assert_eq!(tvar_sorted(&[], 9900), 0.0);
    }

    #[test]
    fn tail_count_is_exact_where_floating_point_is_not() {
        // The trap: in f64, 1 - 0.99 is 0.010000000000000009.
        assert_eq!((2000.0_f64 * (1.0 - 0.99)).ceil(), 21.0);
        assert_eq!(tail_len(2000, 9900), 20);
        assert_eq!(tail_len(2000, 9950), 10);
        assert_eq!(tail_len(1000, 9990), 1);
        assert_eq!(tail_len(1001, 9990), 2);
        // mean(1981..=2000) = 1990.5; with 21 values it would be 1990.
        assert_eq!(tvar_sorted(&one_to(2000), 9900), 1990.5);
    }

    #[test]
    fn tvar_stderr_by_hand() {
        // 1..=100 at 95 %: tail 96..=100 (m = 5), sample variance 2.5,
        // mean 98, VaR = sorted[94] = 95, so
        // se = sqrt((2.5 + 0.95 * 3²) / 5) = sqrt(2.21).
        let v = one_to(100);
        let se = tvar_stderr_sorted(&v, 9500);
        assert!((se - 2.21_f64.sqrt()).abs() < TIGHT, "{se}");
        // 99 %: m = 1 (tail {100}, no variance), VaR = 99, so sqrt(0.99 * 1²).
        assert!((tvar_stderr_sorted(&v, 9900) - 0.99_f64.sqrt()).abs() < TIGHT);
        assert_eq!(tvar_stderr_sorted(&[7], 9900), 0.0);
        assert_eq!(tvar_stderr_sorted(&[], 9900), 0.0);
    }

    #[test]
    fn moments_by_hand() {
        let mut m = Moments::default();
        for x in [2, 4, 4, 4, 5, 5, 7, 9] {
            m.push(x);
        }
        assert_eq!((m.n, m.sum, m.sum_sq, m.min, m.max), (8, 40, 232, 2, 9));
        assert_eq!(m.mean(), 5.0);
        assert!((m.variance() - 32.0 / 7.0).abs() < TIGHT);
        assert!((m.std() - (32.0_f64 / 7.0).sqrt()).abs() < TIGHT);
        assert!((m.stderr() - (32.0_f64 / 7.0 / 8.0).sqrt()).abs() < TIGHT);

        let mut neg = Moments::default();
        neg.push(-5);
        assert_eq!((neg.min, neg.max, neg.mean(), neg.variance()), (-5, -5, -5.0, 0.0));
        neg.push(-2);
        assert_eq!(neg.mean(), -3.5);
        assert_eq!(neg.variance(), 4.5);

        let empty = Moments::default();
        assert_eq!((empty.mean(), empty.variance(), empty.std(), empty.stderr()), (0.0, 0.0, 0.0, 0.0));
    }

    #[test]
    fn moments_merge_at_every_split_point() {
        let v = [17, -3, 0, 42, 42, -100, 7, i64::from(i32::MAX), -1, 5, 5, 13];
        let whole = moments_of(&v);
        for split in 0..=v.len() {
            let mut left = moments_of(&v[..split]);
            left.merge(&moments_of(&v[split..]));
            assert_eq!(left, whole, "split at {split}");
            let mut right = moments_of(&v[split..]);
            right.merge(&moments_of(&v[..split]));
            assert_eq!(right, whole, "reversed split at {split}");
        }
        // Three-way splits too: merging is associative.
        for i in 0..=v.len() {
            for j in i..=v.len() {
                let mut m = moments_of(&v[..i]);
                m.merge(&moments_of(&v[i..j]));
                m.merge(&moments_of(&v[j..]));
                assert_eq!(m, whole, "split at {i}, {j}");
            }
        }
    }

    #[test]
    fn variance_matches_two_pass_formula() {
        let v = lcg_values(1000, 2_000_000_001, -1_000_000_000);
        let m = moments_of(&v);
        let n = v.len() as f64;
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
        let ss: f64 = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum();
        let two_pass = ss / (n - 1.0);
        assert!((m.mean() - mean).abs() <= 1e-9 * mean.abs().max(1.0));
        assert!((m.variance() - two_pass).abs() <= 1e-12 * two_pass, "{} vs {two_pass}", m.variance());
    }

    #[test]
    fn variance_has_no_cancellation() {
        // Values 1e15 + {0, 1, 2}: variance exactly 1, where the naive f64
        // formula n Σx² - (Σx)² loses every digit.
        let base = 1_000_000_000_000_000_i64;
        let m = moments_of(&[base, base + 1, base + 2]);
        assert_eq!(m.variance(), 1.0);
        assert_eq!(m.mean(), (base + 1) as f64);
    }

    #[test]
    fn variance_falls_back_when_n_sum_sq_overflows() {
        // Ten values of ±3e18: Σx² = 9e37 fits in i128 but n Σx² does not.
        let big = 3_000_000_000_000_000_000_i64;
        let v: Vec<i64> = (0..10).map(|i| if i % 2 == 0 { big } else { -big }).collect();
        let m = moments_of(&v);
        assert!(i128::from(m.n).checked_mul(m.sum_sq).is_none());
        let expected = 1e37; // 10 * 9e36 / 9
        assert!((m.variance() - expected).abs() <= 1e-15 * expected);
    }

    #[test]
    fn wilson_known_value() {
        // Brown, Cai & DasGupta style check: 10 / 100 at 95 % -> (0.0552, 0.1744).
        let w = wilson(10, 100, 0.95);
        assert_eq!(w.p, 0.1);
        assert!((w.lo - 0.0552).abs() < 5e-5, "{}", w.lo);
        assert!((w.hi - 0.1744).abs() < 5e-5, "{}", w.hi);
        // Mirror symmetry: swapping successes and failures reflects the interval.
        let m = wilson(90, 100, 0.95);
        assert!((m.lo - (1.0 - w.hi)).abs() < TIGHT);
        assert!((m.hi - (1.0 - w.lo)).abs() < TIGHT);
    }

    #[test]
    fn wilson_edges() {
        let e = wilson(0, 0, 0.95);
        assert_eq!((e.p, e.lo, e.hi), (0.0, 0.0, 1.0));
        let z = wilson(0, 10_000, 0.95);
        assert_eq!((z.p, z.lo), (0.0, 0.0));
        // hi = z² / (n + z²) when k = 0.
        let z2 = 1.959963984540054_f64.powi(2);
        assert!((z.hi - z2 / (10_000.0 + z2)).abs() < TIGHT);
        let all = wilson(7, 7, 0.95);
        assert_eq!((all.p, all.hi), (1.0, 1.0));
        assert!(all.lo > 0.0 && all.lo < 1.0);
    }

    #[test]
    fn z_for_known_values() {
        assert!((z_for(0.95) - 1.959963984540054).abs() < TIGHT);
        assert!((z_for(0.99) - 2.5758293035489004).abs() < TIGHT);
        assert!((z_for(0.90) - 1.6448536269514722).abs() < TIGHT);
        assert!((z_for(0.5) - 0.6744897501960817).abs() < TIGHT);
        assert_eq!(z_for(0.0), 0.0);
        assert_eq!(z_for(f64::NAN), 0.0);
        assert_eq!(z_for(1.0), f64::INFINITY);
    }

    #[test]
    fn inverse_normal_round_trips_through_erfc() {
        // Φ(x) = erfc(-x / √2) / 2; check all three AS 241 regions,
        // including the far tail (r > 5 means p < 1.4e-11).
        for &p in &[1e-300, 1e-20, 1e-12, 1e-6, 0.001, 0.025, 0.07, 0.3, 0.5, 0.8, 0.975, 0.999] {
            let x = inv_norm_cdf(p);
            let back = 0.5 * libm::erfc(-x / std::f64::consts::SQRT_2);
            assert!((back - p).abs() <= 1e-13 * p, "p = {p}: x = {x}, Φ(x) = {back}");
        }
        assert_eq!(inv_norm_cdf(0.5), 0.0);
        // 0.2 and 0.8 are not exact mirrors in binary, so only nearly equal.
        assert!((inv_norm_cdf(0.2) + inv_norm_cdf(0.8)).abs() < TIGHT);
        assert_eq!(inv_norm_cdf(0.25), -inv_norm_cdf(0.75)); // exact mirrors
    }

    /// Binomial pmf by the definition, C(n, k) pᵏ qⁿ⁻ᵏ, with the coefficient
    /// exact in u128; independent of the Loader code. Good for n <= 100.
    fn pmf_by_definition(k: u64, n: u64, p: f64) -> f64 {
        let mut c: u128 = 1;
        for i in 0..k {
            c = c * u128::from(n - i) / u128::from(i + 1);
        }
        c as f64 * p.powi(k as i32) * (1.0 - p).powi((n - k) as i32)
    }

    /// Binomial pmf from lgamma: accurate enough (1e-12) for n up to ~1e4.
    fn pmf_by_lgamma(k: u64, n: u64, p: f64) -> f64 {
        let (k, n) = (k as f64, n as f64);
        libm::exp(
            libm::lgamma(n + 1.0) - libm::lgamma(k + 1.0) - libm::lgamma(n - k + 1.0)
                + k * p.ln()
                + (n - k) * (1.0 - p).ln(),
        )
    }

    /// The CI indices by brute force: cumulate the pmf from the left for the
    /// lower end, from the right for the upper end.
    fn brute_force_ci(n: u64, p: f64, conf: f64, pmf: fn(u64, u64, f64) -> f64) -> (usize, usize) {
        let t = (1.0 - conf) / 2.0;
        let probs: Vec<f64> = (0..=n).map(|k| pmf(k, n, p)).collect();
        let mut lo = 0;
        let mut cum = 0.0;
        for (k, &f) in probs.iter().enumerate() {
            cum += f;
            if cum > t {
                break;
            }
            lo = k;
        }
        let mut hi = n as usize;
        let mut upper = 0.0;
        for k in (0..n as usize).rev() {
            upper += probs[k + 1];
            if upper > t {
                break;
            }
            hi = k;
        }
        (lo, hi.min(n as usize - 1))
    }

    #[test]
    fn binomial_pmf_matches_definition() {
        for n in [1_usize, 2, 7, 15, 16, 36, 50, 81, 100] {
            for bp in [100_u32, 5000, 9000, 9900, 9990] {
                let p = f64::from(bp) / 1e4;
                let q = f64::from(10_000 - bp) / 1e4;
                let mut total = 0.0;
                for k in 0..=n {
                    let ours = binom_pmf(k, n, p, q);
                    let def = pmf_by_definition(k as u64, n as u64, p);
                    total += ours;
                    if def > 1e-290 {
                        assert!((ours - def).abs() <= 1e-12 * def, "n={n} k={k} p={p}: {ours} vs {def}");
                    }
                }
                assert!((total - 1.0).abs() < 1e-13, "n={n} p={p}: total {total}");
            }
        }
    }

    #[test]
    fn median_ci_for_fifty_is_the_textbook_18_and_33() {
        let v = one_to(50);
        let ci = quantile_ci_sorted(&v, 5000, 0.95);
        assert_eq!((ci.lo_index + 1, ci.hi_index + 1), (18, 33));
        assert_eq!((ci.lo, ci.hi), (18, 33));
        // Independently, from the definition of the binomial pmf.
        assert_eq!(brute_force_ci(50, 0.5, 0.95, pmf_by_definition), (17, 32));
        // Coverage F(32) - F(17) = 0.9672 >= 0.95.
        let cover: f64 = (18..=32).map(|k| pmf_by_definition(k, 50, 0.5)).sum();
        assert!((cover - 0.9672).abs() < 1e-4 && cover >= 0.95, "{cover}");
    }

    #[test]
    fn quantile_ci_matches_brute_force() {
        for n in [1_u64, 2, 5, 10, 20, 37, 50, 60, 99, 100] {
            for bp in [5000_u32, 9000, 9500, 9900, 9950, 9990] {
                for conf in [0.5, 0.9, 0.95, 0.99] {
                    let p = f64::from(bp) / 1e4;
                    let ours = order_stat_ci_indices(n as usize, bp, conf);
                    let brute = brute_force_ci(n, p, conf, pmf_by_definition);
                    assert_eq!(ours, brute, "n={n} bp={bp} conf={conf}");
                }
            }
        }
        for n in [200_u64, 1000, 2000, 5000] {
            for bp in QUANTILE_LEVELS_BP {
                let p = f64::from(bp) / 1e4;
                let ours = order_stat_ci_indices(n as usize, bp, 0.95);
                let brute = brute_force_ci(n, p, 0.95, pmf_by_lgamma);
                assert_eq!(ours, brute, "n={n} bp={bp}");
            }
        }
    }

    #[test]
    fn kept_indices_are_the_computed_ones() {
        for n in [7, 100_000, 1_000_000] {
            for bp in QUANTILE_LEVELS_BP {
                let first = order_stat_ci_indices(n, bp, 0.95);
                assert_eq!(first, order_stat_ci_indices_uncached(n, bp, 0.95), "n={n} bp={bp}");
                assert_eq!(order_stat_ci_indices(n, bp, 0.95), first, "n={n} bp={bp}, asked again");
            }
        }
    }

    #[test]
    fn median_ci_for_thousand() {
        // Normal approximation: 500 ± 1.96 * sqrt(250) = 469.0 .. 531.0 (1-based).
        let v = one_to(1000);
        let ci = quantile_ci_sorted(&v, 5000, 0.95);
        assert_eq!((ci.lo_index, ci.hi_index), (468, 531));
        assert_eq!(brute_force_ci(1000, 0.5, 0.95, pmf_by_lgamma), (468, 531));
        let median = quantile_sorted(&v, 5000);
        assert!(ci.lo <= median && median <= ci.hi);
        // Coverage of the exact interval: F(531) - F(468) >= 0.95.
        let cover: f64 = (469..=531).map(|k| pmf_by_lgamma(k, 1000, 0.5)).sum();
        assert!(cover >= 0.95, "{cover}");
    }

    #[test]
    fn quantile_ci_large_n_agrees_with_normal_approximation() {
        // n = 1e8 would need 800 MB of data; the indices need none.
        let n = 100_000_000_usize;
        for (bp, p) in [(5000_u32, 0.5), (9900, 0.99), (9990, 0.999)] {
            let (lo, hi) = order_stat_ci_indices(n, bp, 0.95);
            let nf = n as f64;
            let half = 1.959963984540054 * (nf * p * (1.0 - p)).sqrt();
            // 0-based: lo ≈ n p - half - 1, hi ≈ n p + half; skewness moves
            // the ends by well under 2 at this n.
            assert!((lo as f64 - (nf * p - half - 1.0)).abs() < 2.0, "bp={bp}: lo {lo}");
            assert!((hi as f64 - (nf * p + half)).abs() < 2.0, "bp={bp}: hi {hi}");
        }
    }

    #[test]
    fn quantile_ci_edges() {
        assert_eq!(quantile_ci_sorted(&[], 5000, 0.95), QuantileCi { lo: 0, hi: 0, lo_index: 0, hi_index: 0 });
        // n = 1: the interval is the single value, clamped.
        assert_eq!(quantile_ci_sorted(&[4], 9900, 0.95), QuantileCi { lo: 4, hi: 4, lo_index: 0, hi_index: 0 });
        // Too small a sample for 99.9 %: clamped to the sample range.
        let v = one_to(100);
        let ci = quantile_ci_sorted(&v, 9990, 0.95);
        assert_eq!(ci.hi_index, 99);
        assert_eq!(order_stat_ci_indices(100, 0, 0.95), (0, 0));
        assert_eq!(order_stat_ci_indices(100, 10_000, 0.95), (99, 99));
        // conf = 1 asks for everything.
        assert_eq!(order_stat_ci_indices(20, 5000, 1.0), (0, 19));
    }

    #[test]
    fn exceedance_curve_by_hand() {
        assert_eq!(exceedance_curve(&[1, 2, 2, 3]), vec![(1, 0.75), (2, 0.25), (3, 0.0)]);
        assert_eq!(exceedance_curve(&[5, 5]), vec![(5, 0.0)]);
        assert!(exceedance_curve(&[]).is_empty());
        let mut v = lcg_values(500, 50, 0);
        v.sort_unstable();
        let curve = exceedance_curve(&v);
        assert!(curve.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 >= w[1].1));
    }

    #[test]
    fn quantiles_by_selection_are_the_sorted_ones() {
        const LEVELS: [u32; 6] = [0, 100, 500, 5000, 9500, 10_000];
        for (n, range) in [(0, 1), (1, 5), (7, 3), (100, 2), (2001, 1_000_000), (5000, 4)] {
            let v = lcg_values(n, range, -2);
            let mut sorted = v.clone();
            sorted.sort_unstable();
            let want = LEVELS.map(|bp| quantile_sorted(&sorted, bp));
            assert_eq!(quantiles(&mut v.clone(), LEVELS), want, "n = {n}");
            // Repeated levels give the same value again.
            assert_eq!(quantiles(&mut v.clone(), [5000, 5000, 9500]), [want[3], want[3], want[4]], "n = {n}");
        }
    }

    /// What [`summarize`] reports, from the sorted column.
    fn summarize_by_sort(mut values: Vec<i64>) -> ColumnSummary {
        values.sort_unstable();
        let s = values.as_slice();
        ColumnSummary {
            moments: moments_of(s),
            quantiles: QUANTILE_LEVELS_BP.map(|bp| quantile_sorted(s, bp)),
            tvar: TVAR_LEVELS_BP.map(|bp| tvar_sorted(s, bp)),
            tvar_stderr: TVAR_LEVELS_BP.map(|bp| tvar_stderr_sorted(s, bp)),
            quantile_ci: QUANTILE_LEVELS_BP.map(|bp| {
                let ci = quantile_ci_sorted(s, bp, SUMMARY_CI_CONF);
                (ci.lo, ci.hi)
            }),
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]
        /// Columns of any length, mostly one value or spread wide, with
        /// ties: the selected summary is the sorted one, bit for bit.
        #[test]
        fn summarize_selects_what_a_sort_gives(
            spread in proptest::collection::vec(-3i64..1_000_000, 0..3000),
            zeros in 0u32..100,
            wide in proptest::bool::ANY,
        ) {
            let v: Vec<i64> = spread
                .iter()
                .enumerate()
                .map(|(i, &x)| if (i as u32 * 37) % 100 < zeros { 0 } else if wide { x * 1_000_003 } else { x % 7 })
                .collect();
            proptest::prop_assert_eq!(summarize(v.clone()), summarize_by_sort(v));
        }
    }

    #[test]
    fn summarize_matches_the_sort_on_a_long_column() {
        for (modulus, offset) in [(1_000_000_000, -5), (3, 0), (1, 0)] {
            let v = lcg_values(100_000, modulus, offset);
            assert_eq!(summarize(v.clone()), summarize_by_sort(v), "modulus {modulus}");
        }
    }

    #[test]
    fn summarize_is_order_independent() {
        let v = lcg_values(2000, 1_000_000, -1000);
        let mut reversed = v.clone();
        reversed.reverse();
        let mut sorted = v.clone();
        sorted.sort_unstable();
        let a = summarize(v);
        assert_eq!(a, summarize(reversed));
        assert_eq!(a, summarize(sorted.clone()));
        assert_eq!(a.quantiles[3], sorted[1979]);
        assert_eq!(a.moments, moments_of(&sorted));
        assert_eq!(a.tvar[1], tvar_sorted(&sorted, 9900));
        for (i, &(lo, hi)) in a.quantile_ci.iter().enumerate() {
            assert!(lo <= a.quantiles[i] && a.quantiles[i] <= hi, "level {i}");
        }
    }

    #[test]
    fn summarize_of_one_to_hundred() {
        let mut v = one_to(100);
        v.reverse();
        let s = summarize(v);
        assert_eq!(s.quantiles, [50, 90, 95, 99, 100, 100]);
        assert_eq!(s.tvar, [98.0, 100.0, 100.0]);
        assert_eq!((s.moments.n, s.moments.sum, s.moments.min, s.moments.max), (100, 5050, 1, 100));
    }

    #[test]
    fn summarize_empty_is_all_zeros() {
        let s = summarize(Vec::new());
        assert_eq!(
            s,
            ColumnSummary {
                moments: Moments::default(),
                quantiles: [0; 6],
                tvar: [0.0; 3],
                tvar_stderr: [0.0; 3],
                quantile_ci: [(0, 0); 6],
            }
        );
    }
}
