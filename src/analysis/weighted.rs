//! Statistics of importance-sampled runs: every trial carries its likelihood
//! ratio `w` (the density of the run's law over the sampling law's at what
//! the trial drew), and each figure weighs it back (docs/tail.md,
//! "Weighted statistics").
//!
//! **One estimator.** Every mean, probability and tail figure is the
//! unbiased importance-sampling estimate `(1/N) sum w_i y_i` over the `N`
//! trials, never the self-normalised `sum w y / sum w`: it is what the tail
//! probabilities need (an unbiased `P(A)` whose variance is that of
//! `w 1[A]`), and using it everywhere keeps figures additive (the fiscal
//! cost's parts still sum to it). With every weight 1 each estimate is the
//! plain one, but plain runs do not come here: [`crate::analysis::stats`]
//! keeps their exact integer statistics, byte for byte.
//!
//! **Intervals.** A mean or probability has the delta-method interval
//! `estimate ± z se`, `se = sd(w y) / sqrt(N)` (the sample standard deviation
//! of the per-trial terms), clamped to [0, 1] for probabilities; a
//! probability whose event no trial met has the Wilson bound of `0` in
//! `ESS` trials ([`Proportion`]). A quantile's interval inverts the pointwise
//! interval of the weighted exceedance curve: the values `x` at which
//! `|S(x) - (1 - a)| <= z se(S(x))` ([`summarize`]). TVaR is the
//! Rockafellar-Uryasev form `VaR + E[w (Y - VaR)+] / (1 - a)`, whose
//! standard error is that of the mean of `w (Y - VaR)+` over `1 - a` (the
//! VaR's own error cancels at first order).
//!
//! **Determinism.** Floating-point sums depend on their order, so every sum
//! here runs over trials in trial order, or over values sorted by (value,
//! weight), never in the order threads finish; what must merge across shards
//! keeps its weights as fixed-point integers ([`fixed`]).

use crate::analysis::stats::{self, Proportion};

/// One in basis points, as in [`crate::analysis::stats`].
const BP: u32 = 10_000;

/// An estimate with its standard error.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub stderr: f64,
}

impl Estimate {
    /// `value ± z stderr` at confidence `conf`.
    pub fn interval(&self, conf: f64) -> (f64, f64) {
        let half = stats::z_for(conf) * self.stderr;
        (self.value - half, self.value + half)
    }
}

/// The mean of `term(i)` over `i < n` with the standard error of that mean
/// (sample variance with divisor `n - 1`), two passes in index order.
pub fn estimate(n: usize, term: impl Fn(usize) -> f64) -> Estimate {
    if n == 0 {
        return Estimate::default();
    }
    let mut sum = 0.0;
    for i in 0..n {
        sum += term(i);
    }
    let mean = sum / n as f64;
    if n < 2 {
        return Estimate { value: mean, stderr: 0.0 };
    }
    let mut ss = 0.0;
    for i in 0..n {
        let d = term(i) - mean;
        ss += d * d;
    }
    Estimate { value: mean, stderr: libm::sqrt(ss / (n - 1) as f64 / n as f64) }
}

/// The weighted mean `(1/N) sum w y` of `values` (any unit) with its standard error.
pub fn mean(values: &[i64], w: &[f64]) -> Estimate {
    debug_assert_eq!(values.len(), w.len());
    estimate(values.len(), |i| w[i] * values[i] as f64)
}

/// The effective sample size `(sum w)^2 / sum w^2` (Kong 1992): the number of
/// plain trials whose mean would be as precise as the weighted mean of a
/// column that does not vary with the weights. `N` when every weight is 1.
pub fn effective_sample_size(w: &[f64]) -> f64 {
    let (s, s2) = w.iter().fold((0.0, 0.0), |(s, s2), &x| (s + x, s2 + x * x));
    if s2 > 0.0 { s * s / s2 } else { 0.0 }
}

/// The weighted probability `(1/N) sum w 1[hit]` with its delta-method
/// interval at `conf`, clamped to [0, 1]. `k` counts the trials that met
/// the event, unweighted. When none did, the interval is `[0, z^2 / (ESS +
/// z^2)]`: the Wilson bound of a plain run of the effective sample size
/// that saw nothing (the sample variance of all zeros says nothing).
pub fn proportion(w: &[f64], hit: impl Fn(usize) -> bool, conf: f64) -> Proportion {
    let n = w.len();
    let k = (0..n).filter(|&i| hit(i)).count() as u64;
    if k == 0 {
        let ess = effective_sample_size(w).round() as u64;
        let hi = stats::wilson(0, ess, conf).hi;
        return Proportion { k, n: n as u64, p: 0.0, lo: 0.0, hi };
    }
    let e = estimate(n, |i| if hit(i) { w[i] } else { 0.0 });
    let (lo, hi) = e.interval(conf);
    Proportion { k, n: n as u64, p: e.value.min(1.0), lo: lo.clamp(0.0, 1.0), hi: hi.clamp(0.0, 1.0) }
}

/// One point of a weighted exceedance curve: `P(X > x)` with its
/// pointwise interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExceedancePoint {
    pub x: i64,
    pub p: f64,
    /// Standard error of `p`.
    pub stderr: f64,
}

/// `(value, weight)` pairs sorted by value, then weight, so that every sum
/// over them has one order whatever order the trials came in.
pub fn sorted_pairs(values: &[i64], w: &[f64]) -> Vec<(i64, f64)> {
    debug_assert_eq!(values.len(), w.len());
    let mut v: Vec<(i64, f64)> = values.iter().copied().zip(w.iter().copied()).collect();
    v.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.total_cmp(&b.1)));
    v
}

/// The weighted exceedance curve of `sorted` (from [`sorted_pairs`]): for
/// each distinct value `x`, ascending, `S(x) = (1/N) sum w 1[X > x]` and its
/// standard error `sd(w 1[X > x]) / sqrt(N)`, the sums taken from the top.
/// With every weight 1 it is [`stats::exceedance_curve`]. The last point's
/// probability is 0.
pub fn exceedance_curve(sorted: &[(i64, f64)]) -> Vec<ExceedancePoint> {
    let n = sorted.len();
    if n == 0 {
        return Vec::new();
    }
    let nf = n as f64;
    let mut out = Vec::new();
    let (mut t, mut q) = (0.0_f64, 0.0_f64);
    let mut end = n;
    while end > 0 {
        let x = sorted[end - 1].0;
        let var = if n > 1 { ((q - t * t / nf) / (nf - 1.0)).max(0.0) } else { 0.0 };
        out.push(ExceedancePoint { x, p: t / nf, stderr: libm::sqrt(var / nf) });
        while end > 0 && sorted[end - 1].0 == x {
            let w = sorted[end - 1].1;
            t += w;
            q += w * w;
            end -= 1;
        }
    }
    out.reverse();
    out
}

/// Everything the reports print of a weighted column: the weighted
/// counterpart of [`stats::ColumnSummary`].
#[derive(Clone, Debug, PartialEq)]
pub struct WeightedSummary {
    pub n: u64,
    pub mean: Estimate,
    /// `sqrt(N / (N - 1) ((1/N) sum w y^2 - mean^2))`, the sample standard
    /// deviation when every weight is 1; 0 where rounding makes it negative.
    pub std: f64,
    /// The smallest and largest value among trials of positive weight.
    pub min: i64,
    pub max: i64,
    /// Weighted quantiles at [`stats::QUANTILE_LEVELS_BP`] ([`quantile`]).
    pub quantiles: [i64; 6],
    /// Their intervals, from the exceedance curve's ([`quantile_ci`]).
    pub quantile_ci: [(i64, i64); 6],
    /// Weighted TVaR at [`stats::TVAR_LEVELS_BP`] and its standard error.
    pub tvar: [f64; 3],
    pub tvar_stderr: [f64; 3],
}

/// Whether `S(x) = tail / N` is at most `1 - a`, `a = level_bp / 10000`,
/// compared as `tail * 10000 <= N (10000 - level_bp)`: exact in integers
/// when every weight is 1, so the quantile is then the plain one.
fn at_most(tail_times_n: f64, n: usize, level_bp: u32) -> bool {
    tail_times_n * f64::from(BP) <= n as f64 * f64::from(BP - level_bp.min(BP))
}

/// The weighted `a`-quantile: the smallest observed `x` with `S(x) <= 1 -
/// a` (the exceedance accumulated from the top). With every weight 1 it is
/// [`stats::quantile_sorted`]'s type-1 quantile. 0 for an empty curve.
pub fn quantile(curve: &[ExceedancePoint], n: usize, level_bp: u32) -> i64 {
    curve.iter().find(|c| at_most(c.p * n as f64, n, level_bp)).map_or(0, |c| c.x)
}

/// The interval of the weighted `a`-quantile at `conf`: the smallest `x`
/// whose upper exceedance bound `S(x) + z se` is at most `1 - a` closes
/// it above, the smallest whose lower bound `S(x) - z se` is closes it
/// below. It always holds [`quantile`].
pub fn quantile_ci(curve: &[ExceedancePoint], n: usize, level_bp: u32, conf: f64) -> (i64, i64) {
    let z = stats::z_for(conf);
    let first = |f: &dyn Fn(&ExceedancePoint) -> f64| {
        curve.iter().find(|c| at_most(f(c) * n as f64, n, level_bp)).map_or(0, |c| c.x)
    };
    (first(&|c| c.p - z * c.stderr), first(&|c| c.p + z * c.stderr))
}

/// Weighted TVaR at `level_bp` (Rockafellar-Uryasev: `VaR + (1/N) sum w (y
/// - VaR)+ / (1 - a)`) and its standard error, from the column in trial
/// order and its quantile `var`. At level 1 it is the maximum.
pub fn tvar(values: &[i64], w: &[f64], var: i64, level_bp: u32) -> Estimate {
    let bp = level_bp.min(BP);
    if bp == BP || values.is_empty() {
        return Estimate { value: values.iter().copied().max().unwrap_or(0) as f64, stderr: 0.0 };
    }
    let tail = f64::from(BP - bp) / f64::from(BP);
    let e = estimate(values.len(), |i| w[i] * (values[i] - var).max(0) as f64);
    Estimate { value: var as f64 + e.value / tail, stderr: e.stderr / tail }
}

/// Summarises a weighted column, `values[i]` weighted by `w[i]`.
pub fn summarize(values: &[i64], w: &[f64], conf: f64) -> WeightedSummary {
    let n = values.len();
    let sorted = sorted_pairs(values, w);
    let curve = exceedance_curve(&sorted);
    let mean = mean(values, w);
    let second = estimate(n, |i| w[i] * (values[i] as f64) * (values[i] as f64)).value;
    let quantiles = stats::QUANTILE_LEVELS_BP.map(|bp| quantile(&curve, n, bp));
    let tvars = stats::TVAR_LEVELS_BP.map(|bp| tvar(values, w, quantile(&curve, n, bp), bp));
    // The range of the values the weighted law gives mass to.
    let mut carried = sorted.iter().filter(|p| p.1 > 0.0);
    WeightedSummary {
        n: n as u64,
        mean,
        std: if n < 2 {
            0.0
        } else {
            libm::sqrt((second - mean.value * mean.value).max(0.0) * n as f64 / (n - 1) as f64)
        },
        min: carried.clone().next().map_or(0, |p| p.0),
        max: carried.next_back().map_or(0, |p| p.0),
        quantiles,
        quantile_ci: stats::QUANTILE_LEVELS_BP.map(|bp| quantile_ci(&curve, n, bp, conf)),
        tvar: tvars.map(|e| e.value),
        tvar_stderr: tvars.map(|e| e.stderr),
    }
}

/// Fixed-point scale of [`fixed`]: 2^52, so a weight keeps about 16
/// significant digits down to 1e-3 and an absolute 2e-16 below.
const FIXED_ONE: f64 = 4_503_599_627_370_496.0;

/// A weight as a fixed-point integer, for sums that must merge across
/// shards in any grouping (integer addition is associative; float is not).
/// Weights are capped at 2^40 (about 1.1e12, far beyond any usable
/// importance weight), so 2^35 trials' sum fits in `u128`.
pub fn fixed(w: f64) -> u128 {
    (w.clamp(0.0, 1_099_511_627_776.0) * FIXED_ONE).round() as u128
}

/// A [`fixed`] sum back as a number.
pub fn unfixed(x: u128) -> f64 {
    x as f64 / FIXED_ONE
}

/// Fixed-point weights ([`fixed`]) summed by value: a weighted histogram of
/// a figure taken many times a trial (each village's need, in ppm of its
/// covered loans). Values in `0..DENSE` (every need up to twice the covered
/// loans) are summed in place in an array indexed by value, so adding costs
/// an addition; the rare others are appended and folded into a sorted list
/// when asked for. Sums are integers, so the result does not depend on the
/// order values came in; it serialises as the map from value to weight,
/// sorted.
#[derive(Clone, Debug, Default)]
pub struct FixedByValue {
    /// The summed weight of each value in `0..DENSE`, up to the largest added.
    dense: Vec<u128>,
    /// Which of those values were added: a weight may be 0 in fixed point,
    /// and the value is still one the run saw.
    seen: Vec<u64>,
    /// Values outside `0..DENSE`, distinct and ascending, with their weights.
    sorted: Vec<(i64, u128)>,
    /// Values outside `0..DENSE` appended since the last fold.
    pending: Vec<(i64, u128)>,
}

impl FixedByValue {
    /// Values below this are summed in place (a need of 2 M ppm is twice the
    /// covered loans); [`Self::MAX_BYTES`] at most, which the memory check counts.
    const DENSE: i64 = 1 << 21;
    /// The most its in-place sums take (with their bits of which were added).
    pub const MAX_BYTES: u64 = Self::DENSE as u64 * (std::mem::size_of::<u128>() as u64) + Self::DENSE as u64 / 8;

    pub fn add(&mut self, value: i64, weight: u128) {
        if (0..Self::DENSE).contains(&value) {
            let x = value as usize;
            if self.dense.len() <= x {
                // Doubling, so a run's growing maximum costs a few copies in all.
                self.dense.resize((x + 1).max(2 * self.dense.len()).min(Self::DENSE as usize), 0);
                self.seen.resize(self.dense.len().div_ceil(64), 0);
            }
            self.dense[x] += weight;
            self.seen[x / 64] |= 1 << (x % 64);
            return;
        }
        self.pending.push((value, weight));
        if self.pending.len() >= self.sorted.len().max(1 << 16) {
            self.fold();
        }
    }

    pub fn is_empty(&self) -> bool {
        self.seen.iter().all(|&w| w == 0) && self.sorted.is_empty() && self.pending.is_empty()
    }

    /// Adds `other`'s weights.
    pub fn merge(&mut self, other: FixedByValue) {
        if self.dense.len() < other.dense.len() {
            self.dense.resize(other.dense.len(), 0);
            self.seen.resize(other.seen.len(), 0);
        }
        for (a, b) in self.dense.iter_mut().zip(&other.dense) {
            *a += b;
        }
        for (a, b) in self.seen.iter_mut().zip(&other.seen) {
            *a |= b;
        }
        self.pending.extend(other.sorted);
        self.pending.extend(other.pending);
        self.fold();
    }

    /// Distinct values ascending with their summed weights.
    pub fn to_values(&self) -> Vec<(i64, u128)> {
        let mut outside = self.sorted.clone();
        fold_into(&mut outside, &mut self.pending.clone());
        let split = outside.partition_point(|&(x, _)| x < 0);
        let mut out = Vec::with_capacity(outside.len() + 1024);
        out.extend_from_slice(&outside[..split]);
        for (k, &word) in self.seen.iter().enumerate() {
            let mut bits = word;
            while bits != 0 {
                let x = k * 64 + bits.trailing_zeros() as usize;
                out.push((x as i64, self.dense[x]));
                bits &= bits - 1;
            }
        }
        out.extend_from_slice(&outside[split..]);
        out
    }

    fn fold(&mut self) {
        fold_into(&mut self.sorted, &mut self.pending);
    }
}

/// Folds `pending` (any order) into `sorted` (distinct values, ascending),
/// summing the weights of equal values; leaves `pending` empty.
fn fold_into(sorted: &mut Vec<(i64, u128)>, pending: &mut Vec<(i64, u128)>) {
    if pending.is_empty() {
        return;
    }
    pending.sort_unstable_by_key(|&(x, _)| x);
    let mut out: Vec<(i64, u128)> = Vec::with_capacity(sorted.len() + pending.len());
    let (mut a, mut b) = (sorted.iter().peekable(), pending.iter().peekable());
    loop {
        let next = match (a.peek(), b.peek()) {
            (Some(&&x), Some(&&y)) => {
                if x.0 <= y.0 {
                    a.next();
                    x
                } else {
                    b.next();
                    y
                }
            }
            (Some(&&x), None) => {
                a.next();
                x
            }
            (None, Some(&&y)) => {
                b.next();
                y
            }
            (None, None) => break,
        };
        match out.last_mut() {
            Some(last) if last.0 == next.0 => last.1 += next.1,
            _ => out.push(next),
        }
    }
    *sorted = out;
    pending.clear();
}

impl serde::Serialize for FixedByValue {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.to_values())
    }
}

impl<'de> serde::Deserialize<'de> for FixedByValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<i64, u128>::deserialize(d)?;
        let mut f = FixedByValue::default();
        for (x, w) in map {
            f.add(x, w);
        }
        Ok(f)
    }
}

impl PartialEq for FixedByValue {
    fn eq(&self, o: &Self) -> bool {
        self.to_values() == o.to_values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::stats::{QUANTILE_LEVELS_BP, TVAR_LEVELS_BP};

    /// Deterministic uniforms in (0, 1) from SplitMix64.
    fn uniforms(seed: u64, n: usize) -> Vec<f64> {
        (0..n as u64)
            .map(|i| {
                ((crate::rng::mix64(seed ^ (i + 1).wrapping_mul(0x9E37_79B9)) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
            })
            .collect()
    }

    fn lcg(n: usize) -> Vec<i64> {
        let mut s: u64 = 0x2545_F491_4F6C_DD1D;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                ((s >> 33) % 1000) as i64
            })
            .collect()
    }

    /// With every weight 1 the weighted figures are the plain ones: the
    /// same quantiles (type 1), mean, TVaR and exceedance curve.
    #[test]
    fn unit_weights_give_the_plain_figures() {
        for n in [1, 7, 100, 2000, 2001] {
            let v = lcg(n);
            let w = vec![1.0; n];
            let s = summarize(&v, &w, 0.95);
            let plain = stats::summarize(v.clone());
            assert_eq!(s.quantiles, plain.quantiles, "n = {n}");
            assert!((s.mean.value - plain.moments.mean()).abs() < 1e-9);
            assert!((s.mean.stderr - plain.moments.stderr()).abs() < 1e-9 * plain.moments.stderr().max(1.0));
            assert!((s.std - plain.moments.std()).abs() < 1e-9 * plain.moments.std().max(1.0));
            assert_eq!((s.min, s.max), (plain.moments.min, plain.moments.max));
            let mut sorted = v.clone();
            sorted.sort_unstable();
            let curve: Vec<(i64, f64)> = exceedance_curve(&sorted_pairs(&v, &w)).iter().map(|c| (c.x, c.p)).collect();
            assert_eq!(curve, stats::exceedance_curve(&sorted));
            // The R-U TVaR is the plain mean of the tail where n (1 - a) is whole.
            if n % 200 == 0 {
                for (i, bp) in TVAR_LEVELS_BP.iter().enumerate() {
                    assert!((s.tvar[i] - stats::tvar_sorted(&sorted, *bp)).abs() < 1e-9, "n = {n}, {bp}");
                }
            }
        }
    }

    #[test]
    fn weighted_quantile_by_hand() {
        // Values 1..=4 with weights 0.5, 0.5, 1, 2 (N = 4): S(1) = 0.875,
        // S(2) = 0.75, S(3) = 0.5, S(4) = 0; every figure is exact in binary.
        let v = [1, 2, 3, 4];
        let w = [0.5, 0.5, 1.0, 2.0];
        let curve = exceedance_curve(&sorted_pairs(&v, &w));
        assert_eq!(curve.iter().map(|c| c.p).collect::<Vec<_>>(), vec![0.875, 0.75, 0.5, 0.0]);
        assert_eq!(quantile(&curve, 4, 5000), 3); // S(3) = 0.5 <= 0.5
        assert_eq!(quantile(&curve, 4, 5001), 4);
        assert_eq!(quantile(&curve, 4, 1250), 1);
        assert_eq!(quantile(&curve, 4, 1251), 2);
        let (lo, hi) = quantile_ci(&curve, 4, 5000, 0.95);
        assert!(lo <= 3 && 3 <= hi);
        // TVaR 50 %: VaR 3, E[w (Y - 3)+] = 2 * 1 / 4 = 0.5, over 0.5: 3 + 1 = 4.
        assert_eq!(tvar(&v, &w, 3, 5000).value, 4.0);
    }

    #[test]
    fn ess_and_fixed_point() {
        assert_eq!(effective_sample_size(&[1.0; 10]), 10.0);
        assert_eq!(effective_sample_size(&[1.0, 0.0, 0.0, 0.0]), 1.0);
        assert!((effective_sample_size(&[2.0, 1.0, 1.0]) - 16.0 / 6.0).abs() < 1e-12);
        assert_eq!(effective_sample_size(&[]), 0.0);
        for w in [0.0, 1.0, 1e-9, 3.25, 1e6] {
            assert!((unfixed(fixed(w)) - w).abs() <= 1e-15 * w.max(1.0), "{w}");
        }
        // Associative: sums in any grouping agree to the bit.
        let ws = uniforms(3, 100);
        let a: u128 = ws.iter().map(|&w| fixed(w * 7.0)).sum();
        let b: u128 = ws[50..].iter().map(|&w| fixed(w * 7.0)).sum::<u128>()
            + ws[..50].iter().map(|&w| fixed(w * 7.0)).sum::<u128>();
        assert_eq!(a, b);
    }

    #[test]
    fn proportion_without_a_hit_is_bounded_by_the_ess() {
        let w = vec![0.5; 400];
        let p = proportion(&w, |_| false, 0.95);
        assert_eq!((p.k, p.p, p.lo), (0, 0.0, 0.0));
        assert_eq!(p.hi, stats::wilson(0, 400, 0.95).hi);
        let q = proportion(&w, |i| i < 40, 0.95);
        assert_eq!(q.k, 40);
        assert!((q.p - 0.05).abs() < 1e-15);
        assert!(q.lo < 0.05 && 0.05 < q.hi && q.lo > 0.0);
    }

    /// The law of the test: `Y ~ Exp(1)` in fen-like units (`1000 Y`),
    /// sampled from `Exp(theta)`, theta = 0.25, so the tail is sampled
    /// often; the likelihood ratio is `e^{-y} / (theta e^{-theta y})`.
    fn shifted_sample(seed: u64, n: usize) -> (Vec<i64>, Vec<f64>) {
        let theta = 0.25;
        let u = uniforms(seed, n);
        let y: Vec<f64> = u.iter().map(|&u| -libm::log(u) / theta).collect();
        let w = y.iter().map(|&y| libm::exp(-y) / (theta * libm::exp(-theta * y))).collect();
        (y.iter().map(|&y| (y * 1000.0).round() as i64).collect(), w)
    }

    /// On a known law sampled under a tilted one, the 95 % intervals of a
    /// mean, a tail probability, a quantile and a TVaR cover the truth at
    /// about 95 %: 200 repetitions, each of 2,000 trials, so a count of
    /// covers is Binomial(200, 0.95), sd 3.1: accept 175..=200 (4 sd below;
    /// the delta method may over-cover slightly).
    #[test]
    fn intervals_cover_at_their_level() {
        let reps = 200;
        let x = 5.0_f64; // P(Y > 5) = e^-5 = 6.7e-3
        let p_true = libm::exp(-x);
        let q99_true = -libm::log(0.01) * 1000.0; // 4605.2
        let tvar99_true = q99_true + 1000.0; // memoryless: VaR + mean
        let (mut mean_in, mut p_in, mut q_in, mut t_in) = (0, 0, 0, 0);
        for r in 0..reps {
            let (v, w) = shifted_sample(1000 + r, 2000);
            let s = summarize(&v, &w, 0.95);
            let (lo, hi) = s.mean.interval(0.95);
            mean_in += (lo <= 1000.0 && 1000.0 <= hi) as u32;
            let pr = proportion(&w, |i| v[i] > 5000, 0.95);
            p_in += (pr.lo <= p_true && p_true <= pr.hi) as u32;
            let i99 = QUANTILE_LEVELS_BP.iter().position(|&b| b == 9900).unwrap();
            let (qlo, qhi) = s.quantile_ci[i99];
            q_in += (qlo as f64 <= q99_true + 0.5 && q99_true - 0.5 <= qhi as f64) as u32;
            let (tlo, thi) = Estimate { value: s.tvar[1], stderr: s.tvar_stderr[1] }.interval(0.95);
            t_in += (tlo <= tvar99_true && tvar99_true <= thi) as u32;
        }
        for (what, k) in [("mean", mean_in), ("P(Y > 5)", p_in), ("q99", q_in), ("TVaR99", t_in)] {
            println!("{what}: {k} of {reps} intervals cover");
            assert!((175..=200).contains(&k), "{what}: {k} of {reps} intervals cover");
        }
    }

    /// Importance sampling pays: at the same trials, the weighted estimate
    /// of a 1e-4 tail has a far smaller standard error than a plain run's
    /// `sqrt(p (1 - p) / N)`, and it lands within 4 of them of the truth.
    #[test]
    fn tail_probability_is_right_and_precise() {
        let (v, w) = shifted_sample(7, 20_000);
        let x = -libm::log(1e-4); // P(Y > x) = 1e-4
        let p = proportion(&w, |i| v[i] as f64 > x * 1000.0, 0.95);
        let se = (p.hi - p.lo) / (2.0 * stats::z_for(0.95));
        assert!((p.p - 1e-4).abs() < 4.0 * se, "{} ± {se}", p.p);
        let plain_se = (1e-4 * (1.0 - 1e-4) / 20_000.0_f64).sqrt();
        assert!(se * 5.0 < plain_se, "se {se} against the plain run's {plain_se}");
    }

    #[test]
    fn fixed_by_value_sums_as_a_map_does_in_any_order() {
        use std::collections::BTreeMap;
        let mut want = BTreeMap::new();
        let mut a = FixedByValue::default();
        let mut b = FixedByValue::default();
        let mut x: u64 = 7;
        for i in 0..300_000u64 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            // Mostly in the dense range, some below it and some past it;
            // weights of 0 included (a value seen with a weight of 0 is kept).
            let v = match i % 100 {
                0 => FixedByValue::DENSE + (x >> 50) as i64,
                1 => i64::MAX - (x >> 60) as i64,
                _ => (x >> 40) as i64 % 5_000 - 100,
            };
            let w = (x >> 7) as u128 % 1_000;
            *want.entry(v).or_insert(0u128) += w;
            if i % 3 == 0 { a.add(v, w) } else { b.add(v, w) }
        }
        a.merge(b);
        let got: Vec<(i64, u128)> = a.to_values();
        assert_eq!(got, want.iter().map(|(&k, &v)| (k, v)).collect::<Vec<_>>());
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(json, serde_json::to_string(&want).unwrap());
        let back: FixedByValue = serde_json::from_str(&json).unwrap();
        assert_eq!(back, a);
    }
}
