//! Randomness is an address.
//!
//! Every draw of a trial comes from a named, portable generator
//! (`rand_xoshiro::Xoshiro256PlusPlus`) seeded from a key `(seed, trial,
//! stream, index...)` through SplitMix64 mixing. Each model component has its
//! own [`Stream`] tag, so switching one driver off, or changing one bucket's
//! default probability, never moves the draws of another; and trial `k`'s
//! results depend on `(seed, k)` alone, whatever the thread count or sharding.
//!
//! The samplers here (uniform, normal by inversion, Poisson, gamma/beta,
//! geometric skip, ziggurat normal and lognormal) are written out rather
//! than taken from `rand_distr`, so that a dependency upgrade cannot silently
//! change results; their first draws are pinned by tests. Transcendental
//! functions come from `libm` (pure Rust) for the same bit-for-bit reason,
//! except in the ziggurat normal, which keeps rand_distr 0.6's draws.

use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

mod ziggurat_tables;
use ziggurat_tables::{ZIG_NORM_F, ZIG_NORM_R, ZIG_NORM_X};

/// The generator every trial uses. Named, not `StdRng`: `StdRng` may change
/// between `rand` releases.
pub type TrialRng = Xoshiro256PlusPlus;

/// The independent random streams of a trial. The discriminant is part of the
/// seed key: never renumber a variant (add new ones at the end).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// County and industry factors (docs/model.md 3.1).
    Economy = 1,
    /// One stream per peril (3.2).
    Peril = 2,
    /// One stream per disease (3.3).
    Epidemic = 3,
    /// One stream per shock type (3.5).
    Shock = 4,
    /// Default draws at the bucket's bound, one stream per (year, bucket) (3.6).
    DefaultBase = 5,
    /// Retired: the varied pass's draws, before the bucket pass took in the
    /// villages a varied peril hit. Kept so that no other stream's number moves.
    DefaultDamage = 6,
    /// Default draws of shocked borrowers, per (year, shock type).
    DefaultShock = 7,
    /// Per-village damage variation, per (peril, year).
    VillageDamage = 8,
    /// Joint-guarantee, linkage and society draws (3b).
    Mechanisms = 9,
    /// Importance sampling: which of the measure's factor shifts a trial draws
    /// from (drawn on importance-sampled runs only, so plain runs do not move).
    Importance = 10,
    /// Importance sampling: the inner twist's default draws of large loans,
    /// per (year, loan) (drawn on importance-sampled runs only).
    Twist = 11,
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's finaliser: a bijective mix with full avalanche.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Folds the parts of a key into one 64-bit seed. Each part is mixed in turn,
/// so `(a, b)` and `(b, a)` give different seeds.
#[inline]
pub fn key(parts: &[u64]) -> u64 {
    let mut h = 0x5249_534B_5348_4152u64; // "RISKSHAR"
    for &p in parts {
        h = mix64(h.wrapping_add(GOLDEN) ^ mix64(p.wrapping_add(GOLDEN)));
    }
    h
}

/// A stable 64-bit address for a name (a county, village, peril ... id), so
/// that a component's draws follow its id, not its position in a list: two
/// scenarios that share a peril or a village share its random draws.
pub fn name_key(parts: &[&str]) -> u64 {
    // FNV-1a over the bytes, each part closed by a 0xff byte, then mixed.
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for p in parts {
        for &b in p.as_bytes().iter().chain(std::iter::once(&0xffu8)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    mix64(h)
}

/// A source of 64 random bits, so the samplers below serve both generators.
pub trait Bits {
    fn bits(&mut self) -> u64;
}

impl Bits for TrialRng {
    #[inline]
    fn bits(&mut self) -> u64 {
        self.next_u64()
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014) as a stream: output j is
/// `mix64(s + j * golden)`. The default draws use it because they need
/// thousands of short streams per trial, one per (year, bucket) and per
/// (year, village), and this one is seeded by one mix instead of the ten of
/// [`key`] and the four of xoshiro's seeding.
#[derive(Clone, Copy, Debug, Default)]
pub struct SplitMix(u64);

impl SplitMix {
    /// The stream of `(base, a)`, where `base` is a key already folded from
    /// the trial's parts (see [`key`]) and `a` a component's address.
    #[inline]
    pub fn new(base: u64, a: u64) -> Self {
        SplitMix(mix64(base ^ a))
    }
}

impl Bits for SplitMix {
    #[inline]
    fn bits(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(GOLDEN);
        mix64(self.0)
    }
}

/// The generator for `(seed, trial, stream, a, b)`.
#[inline]
pub fn stream(seed: u64, trial: u64, s: Stream, a: u64, b: u64) -> TrialRng {
    TrialRng::seed_from_u64(key(&[seed, trial, s as u64, a, b]))
}

/// A uniform in [0, 1) with 53 random bits.
#[inline]
pub fn uniform<R: Bits>(rng: &mut R) -> f64 {
    (rng.bits() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform in [0, 1) addressed directly by its key (one draw, no stream):
/// for sparse draws whose set changes between scenarios.
#[inline]
pub fn keyed_uniform(parts: &[u64]) -> f64 {
    (key(parts) >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// The 53-bit threshold of a chance `p`: `bits >> 11 < threshold` exactly
/// when the uniform `(bits >> 11) 2^-53` lies below `p` (`p * 2^53` is exact,
/// a power of two's multiple, and the bits an integer).
#[inline]
pub fn chance_threshold(p: f64) -> u64 {
    libm::ceil(p.clamp(0.0, 1.0) * (1u64 << 53) as f64) as u64
}

/// Whether the uniform keyed by `(base, a)` (`base` a key already folded, as
/// [`SplitMix::new`]'s) lies below the chance of `threshold`
/// ([`chance_threshold`]): one mix, for a draw asked about out of order.
#[inline]
pub fn keyed_below(base: u64, a: u64, threshold: u64) -> bool {
    mix64(base ^ a) >> 11 < threshold
}

/// A uniform in (0, 1]: safe for `ln`.
#[inline]
pub fn uniform_open0<R: Bits>(rng: &mut R) -> f64 {
    ((rng.bits() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A standard normal by inversion of one uniform (exact to double precision,
/// and monotone in the uniform, which keeps common random numbers aligned).
#[inline]
pub fn normal(rng: &mut TrialRng) -> f64 {
    let u = ((rng.next_u64() >> 11) as f64 + 0.5) * (1.0 / (1u64 << 53) as f64);
    inv_phi(u)
}

/// The standard normal distribution function.
#[inline]
pub fn phi(x: f64) -> f64 {
    0.5 * libm::erfc(-x * std::f64::consts::FRAC_1_SQRT_2)
}

/// The standard normal distribution function on a grid of spacing 1/64 over
/// [-12, 9], with `ln(1 - Phi)`: a sampler skips at the grid's value just
/// above a probability, an upper bound that costs a lookup instead of a
/// normal CDF and a logarithm, then thins each candidate with the exact
/// probability ([`phi`]). Built once from [`phi`], so it is as portable.
pub struct PhiGrid {
    p: Vec<f64>,
    ln_q: Vec<f64>,
}

const GRID_MIN: f64 = -12.0;
const GRID_PER_UNIT: f64 = 64.0;
const GRID_POINTS: usize = 21 * 64 + 1;

/// The shared [`PhiGrid`].
pub fn phi_grid() -> &'static PhiGrid {
    static GRID: std::sync::OnceLock<PhiGrid> = std::sync::OnceLock::new();
    GRID.get_or_init(|| {
        let p: Vec<f64> = (0..GRID_POINTS).map(|k| phi(PhiGrid::x(k))).collect();
        let ln_q = p.iter().map(|&p| if p >= 1.0 { f64::NEG_INFINITY } else { libm::log1p(-p) }).collect();
        PhiGrid { p, ln_q }
    })
}

impl PhiGrid {
    /// The grid point `k`.
    #[inline]
    pub fn x(k: usize) -> f64 {
        GRID_MIN + k as f64 / GRID_PER_UNIT
    }

    /// The first grid point at or above `x` (the last one above 9, the
    /// first one below -12, where Phi is under 2e-33).
    #[inline]
    pub fn above(&self, x: f64) -> usize {
        let k = (x - GRID_MIN) * GRID_PER_UNIT;
        // Also NaN (from a probit of minus infinity plus infinity) lands on point 0.
        if k.is_nan() || k <= 0.0 {
            return 0;
        }
        // Truncation, then one step up if that point lies below x (`ceil`
        // is a library call on the baseline x86-64 target).
        // Clamped as a float, then converted to u32: a few instructions
        // where a saturating conversion to usize takes a dozen.
        let k = k.min((GRID_POINTS - 1) as f64) as u32 as usize;
        if Self::x(k) < x && k + 1 < GRID_POINTS { k + 1 } else { k }
    }

    /// `Phi` at grid point `k`: at least `Phi(x)` for `k = above(x)` when `x <= 9`.
    #[inline]
    pub fn p(&self, k: usize) -> f64 {
        self.p[k]
    }

    /// Whether `u < f(Phi(x))`, for a non-decreasing `f`: decided by the
    /// grid points around x when u lies outside `f` of their values, with the
    /// normal CDF computed only when it falls between (about one time in
    /// 64 / |x|). The answer is the one computing it gives, since [`phi`] is
    /// monotone and the grid holds its values.
    #[inline]
    pub fn below(&self, u: f64, x: f64, f: impl Fn(f64) -> f64) -> bool {
        let k = self.above(x);
        if (Self::x(k) >= x || self.p[k] >= 1.0) && u >= f(self.p[k]) {
            return false;
        }
        if k > 0 && Self::x(k - 1) <= x && u < f(self.p[k - 1]) {
            return true;
        }
        u < f(phi(x))
    }

    /// `ln(1 - Phi)` at grid point `k`.
    #[inline]
    pub fn ln_q(&self, k: usize) -> f64 {
        self.ln_q[k]
    }
}

/// The inverse of the standard normal distribution function, by Wichura's
/// algorithm AS 241 (PPND16, relative accuracy about 1e-16).
// The coefficients are quoted as published, digits beyond f64 included.
#[allow(clippy::excessive_precision)]
pub fn inv_phi(p: f64) -> f64 {
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q
            * (((((((r * 2509.0809287301226727 + 33430.575583588128105) * r + 67265.770927008700853) * r
                + 45921.953931549871457)
                * r
                + 13731.693765509461125)
                * r
                + 1971.5909503065514427)
                * r
                + 133.14166789178437745)
                * r
                + 3.387132872796366608)
            / (((((((r * 5226.495278852545925 + 28729.085735721942674) * r + 39307.89580009271061) * r
                + 21213.794301586595867)
                * r
                + 5394.1960214247511077)
                * r
                + 687.1870074920579083)
                * r
                + 42.313330701600911252)
                * r
                + 1.0);
    }
    let mut r = if q < 0.0 { p } else { 1.0 - p };
    r = libm::sqrt(-libm::log(r));
    let val = if r <= 5.0 {
        r -= 1.6;
        (((((((r * 7.7454501427834140764e-4 + 0.0227238449892691845833) * r + 0.24178072517745061177) * r
            + 1.27045825245236838258)
            * r
            + 3.64784832476320460504)
            * r
            + 5.7694972214606914055)
            * r
            + 4.6303378461565452959)
            * r
            + 1.42343711074968357734)
            / (((((((r * 1.05075007164441684324e-9 + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r
                + 0.14810397642748007459)
                * r
                + 0.68976733498510000455)
                * r
                + 1.6763848301838038494)
                * r
                + 2.05319162663775882187)
                * r
                + 1.0)
    } else {
        r -= 5.0;
        (((((((r * 2.01033439929228813265e-7 + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r
            + 0.026532189526576123093)
            * r
            + 0.29656057182850489123)
            * r
            + 1.7848265399172913358)
            * r
            + 5.4637849111641143699)
            * r
            + 6.6579046435011037772)
            / (((((((r * 2.04426310338993978564e-15 + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r
                + 7.868691311456132591e-4)
                * r
                + 0.0148753612908506148525)
                * r
                + 0.13692988092273580531)
                * r
                + 0.59983220655588793769)
                * r
                + 1.0)
    };
    if q < 0.0 { -val } else { val }
}

/// A Poisson(lambda) count by inversion (sequential search); lambdas above 30
/// are split into equal parts, since a sum of Poissons is Poisson. Consumes
/// one uniform per part, so the number of draws depends on lambda only.
pub fn poisson(rng: &mut TrialRng, lambda: f64) -> u32 {
    Poisson::new(lambda).sample(rng)
}

/// [`poisson`]'s sampler with its exponential computed once (hazards draw an
/// event count per peril, region and year from a fixed rate). Same draws.
#[derive(Clone, Copy, Debug)]
pub struct Poisson {
    parts: u32,
    l: f64,
    e: f64,
}

impl Poisson {
    pub fn new(lambda: f64) -> Poisson {
        if lambda <= 0.0 {
            // No rate: no event, and no draw.
            return Poisson { parts: 0, l: 0.0, e: 1.0 };
        }
        let parts = (lambda / 30.0).ceil().max(1.0) as u32;
        let l = lambda / parts as f64;
        Poisson { parts, l, e: libm::exp(-l) }
    }

    pub fn sample(&self, rng: &mut TrialRng) -> u32 {
        let mut total = 0u32;
        for _ in 0..self.parts {
            let u = uniform(rng);
            let (mut k, mut p) = (0u32, self.e);
            let mut cdf = p;
            while u >= cdf && k < 1000 {
                k += 1;
                p *= self.l / k as f64;
                cdf += p;
            }
            total += k;
        }
        total
    }
}

/// A Gamma(shape, 1) variate by Marsaglia and Tsang (2000), with the
/// `U^(1/a)` boost for shape < 1.
pub fn gamma(rng: &mut TrialRng, shape: f64) -> f64 {
    Gamma::new(shape).sample(rng)
}

/// A Beta(a, b) variate from two gammas (a scorecard's indicators; the
/// hazards' ratios draw through [`Beta`], which picks its method once).
pub fn beta(rng: &mut TrialRng, a: f64, b: f64) -> f64 {
    gamma_ratio(rng, &Gamma::new(a), &Gamma::new(b))
}

/// `X / (X + Y)` for X and Y drawn from `a` and `b`, in that order: a Beta.
fn gamma_ratio(rng: &mut TrialRng, a: &Gamma, b: &Gamma) -> f64 {
    let x = a.sample(rng);
    let y = b.sample(rng);
    if x + y <= 0.0 { 0.0 } else { x / (x + y) }
}

/// [`gamma`]'s sampler with its constants (a square root, two divisions)
/// computed once: hazards draw thousands of ratios per trial from a handful
/// of distributions. Same draws, same values.
#[derive(Clone, Copy, Debug)]
pub struct Gamma {
    d: f64,
    c: f64,
    /// `1 / shape` when shape < 1 (the boost), else 0.
    boost: f64,
}

impl Gamma {
    pub fn new(shape: f64) -> Gamma {
        let (s, boost) = if shape < 1.0 { (shape + 1.0, 1.0 / shape) } else { (shape, 0.0) };
        let d = s - 1.0 / 3.0;
        Gamma { d, c: 1.0 / libm::sqrt(9.0 * d), boost }
    }

    pub fn sample(&self, rng: &mut TrialRng) -> f64 {
        let Gamma { d, c, boost } = *self;
        let g = loop {
            let x = normal(rng);
            let v = 1.0 + c * x;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let u = uniform_open0(rng);
            if u < 1.0 - 0.0331 * x * x * x * x || libm::log(u) < 0.5 * x * x + d * (1.0 - v + libm::log(v)) {
                break d * v;
            }
        };
        if boost > 0.0 { g * libm::pow(uniform_open0(rng), boost) } else { g }
    }
}

/// A Beta(a, b) law with its sampler chosen once. Whole shapes with
/// `a + b - 1 <= ORDER_MAX` (the damage laws scenarios use: Beta(2, 8),
/// Beta(1, 6) ...) draw the a-th smallest of `a + b - 1` uniforms, whose law
/// is Beta(a, b) exactly: a uniform each, where two gammas cost a normal by
/// inversion, a uniform and a squeeze test each (and a logarithm when the
/// squeeze fails). Other shapes draw two gammas.
#[derive(Clone, Copy, Debug)]
pub struct Beta {
    a: Gamma,
    b: Gamma,
    order: Option<Order>,
}

/// The order statistic that draws a Beta: the `k`-th smallest of `n`
/// uniforms, or one minus it (`flip`, Beta(a, b) = 1 - Beta(b, a)) so that
/// `k` is the smaller shape and few of the smallest need keeping.
#[derive(Clone, Copy, Debug)]
struct Order {
    k: usize,
    n: usize,
    flip: bool,
}

/// The most uniforms an order statistic draws: up to here they cost less
/// than two gammas.
const ORDER_MAX: f64 = 16.0;

impl Beta {
    pub fn new(a: f64, b: f64) -> Beta {
        let whole = |x: f64| x >= 1.0 && x.fract() == 0.0;
        let order = (whole(a) && whole(b) && a + b - 1.0 <= ORDER_MAX).then(|| Order {
            k: a.min(b) as usize,
            n: (a + b - 1.0) as usize,
            flip: a > b,
        });
        Beta { a: Gamma::new(a), b: Gamma::new(b), order }
    }

    pub fn sample(&self, rng: &mut TrialRng) -> f64 {
        if let Some(o) = self.order {
            let x = smallest(rng, o.k, o.n);
            return if o.flip { 1.0 - x } else { x };
        }
        gamma_ratio(rng, &self.a, &self.b)
    }
}

/// The `k`-th smallest of `n` uniforms (`1 <= k <= n <= ORDER_MAX`), keeping
/// the `k` smallest so far in order. Each uniform passes down the kept ones
/// by min and max, without a branch: whether a uniform is among the
/// smallest is a coin toss no predictor learns. The min and max are
/// comparisons, not `f64::min` and `f64::max`, whose care for NaN (none can
/// arise here) compiled to a test, a branch and a blend: twelve
/// instructions for the pair where a `minsd` and a `maxsd` do.
#[inline]
fn smallest(rng: &mut TrialRng, k: usize, n: usize) -> f64 {
    let mut low = [1.0f64; ORDER_MAX as usize];
    let low = &mut low[..k];
    for _ in 0..n {
        let mut x = uniform(rng);
        for l in low.iter_mut() {
            let below = x < *l;
            (*l, x) = (if below { x } else { *l }, if below { *l } else { x });
        }
    }
    low[k - 1]
}

/// The exponential ziggurat's tables (Marsaglia and Tsang 2000, 256 layers),
/// built once with `libm`, so as portable as the rest.
struct Ziggurat {
    k: [u32; 256],
    w: [f64; 256],
    f: [f64; 256],
}

const ZIG_R: f64 = 7.697_117_470_131_05;

fn ziggurat() -> &'static Ziggurat {
    static Z: std::sync::OnceLock<Ziggurat> = std::sync::OnceLock::new();
    Z.get_or_init(|| {
        const M: f64 = 4_294_967_296.0;
        let v = 0.003_949_659_822_581_557;
        let (mut de, mut te) = (ZIG_R, ZIG_R);
        let q = v / libm::exp(-de);
        let mut z = Ziggurat { k: [0; 256], w: [0.0; 256], f: [0.0; 256] };
        z.k[0] = ((de / q) * M) as u32;
        z.w[0] = q / M;
        z.w[255] = de / M;
        z.f[0] = 1.0;
        z.f[255] = libm::exp(-de);
        for i in (1..=254).rev() {
            de = -libm::log(v / de + libm::exp(-de));
            z.k[i + 1] = ((de / te) * M) as u32;
            te = de;
            z.f[i] = libm::exp(-de);
            z.w[i] = de / M;
        }
        z
    })
}

/// A standard exponential variate by the ziggurat: one 64-bit draw (layer
/// from the low byte, position from the high 32 bits) in 98.9 % of cases,
/// no logarithm.
#[inline]
pub fn exponential<R: Bits>(rng: &mut R) -> f64 {
    let z = ziggurat();
    let u = rng.bits();
    let (j, i) = ((u >> 32) as u32, (u & 0xff) as usize);
    if j < z.k[i] {
        return j as f64 * z.w[i];
    }
    exponential_slow(rng, z, j, i)
}

#[cold]
fn exponential_slow<R: Bits>(rng: &mut R, z: &Ziggurat, mut j: u32, mut i: usize) -> f64 {
    loop {
        if i == 0 {
            return ZIG_R - libm::log(uniform_open0(rng));
        }
        let x = j as f64 * z.w[i];
        if z.f[i] + uniform(rng) * (z.f[i - 1] - z.f[i]) < libm::exp(-x) {
            return x;
        }
        let u = rng.bits();
        (j, i) = ((u >> 32) as u32, (u & 0xff) as usize);
        if j < z.k[i] {
            return j as f64 * z.w[i];
        }
    }
}

/// A float in `[2^e, 2^(e+1))` with `mantissa` (52 bits) as its fraction,
/// as rand 0.10 converts bits for the ziggurat and `Open01`.
#[inline]
fn float_with_exponent(mantissa: u64, exponent: i32) -> f64 {
    f64::from_bits(mantissa | (((1023 + exponent) as u64) << 52))
}

/// A uniform in (0, 1) from the top 52 bits: rand 0.10's `Open01`, which the
/// normal tail draws. Not [`uniform_open0`]: that one would move the tail.
#[inline]
fn open01<R: Bits>(rng: &mut R) -> f64 {
    float_with_exponent(rng.bits() >> 12, 0) - (1.0 - f64::EPSILON / 2.0)
}

/// A standard normal by the ziggurat (Doornik's ZIGNOR, 256 layers), draw for
/// draw rand_distr 0.6's `StandardNormal`, so that samplers moved off it
/// ([`LogNormal`]) keep the results they gave. One 64-bit draw (layer from
/// the low byte, position from the top 52 bits) in about 99 % of cases.
/// Unlike [`normal`], not monotone in its draws.
///
/// `exp` and `ln` are std's, not `libm`'s: rand_distr calls them through
/// num-traits, whose `std` feature this build enables, and `libm`'s may
/// differ in the last bit.
#[inline]
pub fn ziggurat_normal<R: Bits>(rng: &mut R) -> f64 {
    loop {
        let bits = rng.bits();
        let i = bits as usize & 0xff;
        // [2, 4) - 3: [-1, 1), with the sign the tail needs.
        let u = float_with_exponent(bits >> 12, 1) - 3.0;
        let x = u * ZIG_NORM_X[i];
        if x.abs() < ZIG_NORM_X[i + 1] {
            return x;
        }
        if i == 0 {
            return normal_tail(rng, u);
        }
        if ZIG_NORM_F[i + 1] + (ZIG_NORM_F[i] - ZIG_NORM_F[i + 1]) * uniform(rng) < (-x * x / 2.0).exp() {
            return x;
        }
    }
}

/// The normal beyond the ziggurat's base, by Marsaglia's (1964) method, on
/// the side `u`'s sign gives.
#[cold]
fn normal_tail<R: Bits>(rng: &mut R, u: f64) -> f64 {
    // Chosen to enter the loop (it has no do-while form); both are overwritten.
    let (mut x, mut y) = (1.0f64, 0.0f64);
    while -2.0 * y < x * x {
        x = open01(rng).ln() / ZIG_NORM_R;
        y = open01(rng).ln();
    }
    if u < 0.0 { x - ZIG_NORM_R } else { ZIG_NORM_R - x }
}

/// A spread that is negative, infinite or NaN.
#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
#[error("expected a finite spread >= 0, found {0}")]
pub struct BadSpread(pub f64);

/// A normal `N(mean, std_dev^2)` from [`ziggurat_normal`]: rand_distr 0.6's
/// `Normal`, draw for draw.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Normal {
    mean: f64,
    std_dev: f64,
}

impl Normal {
    /// Refuses a negative or non-finite `std_dev` (rand_distr takes a
    /// negative one, which no scenario means).
    pub fn new(mean: f64, std_dev: f64) -> Result<Normal, BadSpread> {
        if !(std_dev.is_finite() && std_dev >= 0.0) {
            return Err(BadSpread(std_dev));
        }
        Ok(Normal { mean, std_dev })
    }

    #[inline]
    pub fn sample<R: Bits>(&self, rng: &mut R) -> f64 {
        self.mean + self.std_dev * ziggurat_normal(rng)
    }
}

/// A lognormal `exp(N(mu, sigma^2))`: rand_distr 0.6's `LogNormal`, draw for
/// draw, so that the principals it drew before it was ours stay the same.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LogNormal {
    norm: Normal,
}

impl LogNormal {
    /// `mu` and `sigma` are the log's mean and standard deviation.
    pub fn new(mu: f64, sigma: f64) -> Result<LogNormal, BadSpread> {
        Ok(LogNormal { norm: Normal::new(mu, sigma)? })
    }

    #[inline]
    pub fn sample<R: Bits>(&self, rng: &mut R) -> f64 {
        // std's exp, as rand_distr's (see [`ziggurat_normal`]).
        self.norm.sample(rng).exp()
    }
}

/// Geometric skip-ahead for Bernoulli(p) trials over a sequence: returns the
/// number of non-events before the next event (`floor(E / -ln(1 - p))` for a
/// standard exponential E, the same as `floor(ln U / ln(1 - p))`), given
/// `ln(1 - p)` precomputed. Batagelj and Brandes (2005).
#[inline]
pub fn geometric_gap<R: Bits>(rng: &mut R, ln_q: f64) -> u64 {
    let g = exponential(rng) / -ln_q;
    // Through i64, whose saturating conversion is the conversion with two
    // tests (u64's takes a dozen): a gap of 2^63 or more means no event in
    // any sequence here.
    if g >= 9.2e18 { u64::MAX } else { g as i64 as u64 }
}

/// A probability with the `ln(1 - p)` its skips need, computed once: a
/// hazard zone's hit probability or a shock's serves thousands of draws.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Chance {
    pub p: f64,
    ln_q: f64,
}

impl Chance {
    pub fn new(p: f64) -> Chance {
        let ln_q = if p > 0.0 && p < 0.25 { libm::log1p(-p) } else { 0.0 };
        Chance { p, ln_q }
    }
}

impl From<f64> for Chance {
    fn from(p: f64) -> Chance {
        Chance::new(p)
    }
}

/// Calls `hit(i)` for each index in `0..n` selected independently with
/// probability `p`, in increasing order, by geometric skips: cost follows the
/// number of hits, not `n`. From `p = 1/4` on, one uniform per index is
/// cheaper than a logarithm per hit, and is used instead.
#[inline]
pub fn bernoulli_indices<R: Bits>(rng: &mut R, n: usize, p: impl Into<Chance>, mut hit: impl FnMut(usize)) {
    let Chance { p, ln_q } = p.into();
    if p <= 0.0 || n == 0 {
        return;
    }
    if p >= 1.0 {
        (0..n).for_each(hit);
        return;
    }
    if p >= 0.25 {
        for i in 0..n {
            if uniform(rng) < p {
                hit(i);
            }
        }
        return;
    }
    bernoulli_indices_ln(rng, n, ln_q, hit)
}

/// [`bernoulli_indices`] appending `items[i]` to `out` for each index
/// selected: the same draws, with the one-uniform-per-index branch written
/// without a branch per item (a broad drought selects 60-90 % of villages,
/// and the branch would be mispredicted a third of the time), comparing the
/// uniform's 53 bits with `p` scaled to them: `u < p` exactly, without a
/// conversion per item.
pub fn bernoulli_select<R: Bits>(rng: &mut R, items: &[u32], p: impl Into<Chance>, out: &mut Vec<u32>) {
    let chance = p.into();
    let p = chance.p;
    if !(0.25..1.0).contains(&p) || items.is_empty() {
        return bernoulli_indices(rng, items.len(), chance, |i| out.push(items[i]));
    }
    let threshold = chance_threshold(p);
    let start = out.len();
    out.resize(start + items.len(), 0);
    let slots = &mut out[start..];
    let mut n = 0;
    for &item in items {
        slots[n] = item;
        n += (rng.bits() >> 11 < threshold) as usize;
    }
    out.truncate(start + n);
}

/// [`bernoulli_indices`] with `ln(1 - p)` precomputed (for `0 < p < 1`).
#[inline]
pub fn bernoulli_indices_ln<R: Bits>(rng: &mut R, n: usize, ln_q: f64, mut hit: impl FnMut(usize)) {
    let mut i: u64 = 0;
    loop {
        let gap = geometric_gap(rng, ln_q);
        i = i.saturating_add(gap);
        if i >= n as u64 {
            return;
        }
        hit(i as usize);
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_draws_are_pinned() {
        // A dependency bump that changes the generator or the seeding must fail here.
        let mut r = stream(42, 7, Stream::Economy, 0, 0);
        let a = r.next_u64();
        let b = r.next_u64();
        assert_eq!((a, b), (PINNED_A, PINNED_B), "generator output changed: {a:#x} {b:#x}");
    }
    const PINNED_A: u64 = 0xf01f_dd3c_25cd_a8bb;
    const PINNED_B: u64 = 0x91ee_bbaa_35ad_fbbc;

    #[test]
    fn ziggurat_normal_draws_what_rand_distr_draws() {
        use rand_distr::{Distribution, StandardNormal};
        // A million draws reach the tail (layer 0, about one draw in 4000)
        // and the wedges, on both sides.
        for seed in [1, 2, 3] {
            let mut ours = stream(seed, 0, Stream::Economy, 0, 0);
            let mut theirs = ours.clone();
            let mut tail = 0;
            for k in 0..1_000_000 {
                let (a, b): (f64, f64) = (ziggurat_normal(&mut ours), StandardNormal.sample(&mut theirs));
                assert_eq!(a.to_bits(), b.to_bits(), "seed {seed}, draw {k}: {a} vs {b}");
                tail += (a.abs() > ZIG_NORM_R) as u32;
            }
            // Only the tail's method draws beyond the base; about 260 expected.
            assert!(tail > 100, "seed {seed}: {tail} tail draws");
        }
    }

    #[test]
    fn lognormal_draws_what_rand_distr_draws() {
        use rand_distr::Distribution;
        for (mu, sigma) in [(0.0, 1.0), (15.0, 0.6), (-2.0, 0.05), (5.0, 0.0), (1.0, 5.0)] {
            let ln = LogNormal::new(mu, sigma).unwrap();
            let theirs_ln = rand_distr::LogNormal::new(mu, sigma).unwrap();
            for seed in [7, 8, 9] {
                let mut ours = stream(seed, 1, Stream::Economy, 0, 0);
                let mut theirs = ours.clone();
                for k in 0..100_000 {
                    let (a, b) = (ln.sample(&mut ours), theirs_ln.sample(&mut theirs));
                    assert_eq!(a.to_bits(), b.to_bits(), "({mu}, {sigma}) seed {seed}, draw {k}: {a} vs {b}");
                }
            }
        }
    }

    #[test]
    fn lognormal_refuses_a_bad_sigma() {
        for sigma in [-0.1, f64::NAN, f64::INFINITY] {
            assert!(LogNormal::new(0.0, sigma).is_err(), "sigma {sigma}");
        }
        assert!(Normal::new(0.0, 0.0).is_ok());
    }

    #[test]
    fn normal_and_lognormal_first_draws_are_pinned() {
        // Without rand_distr at hand, a change to the ziggurat must still fail here.
        let mut r = stream(42, 7, Stream::Economy, 0, 0);
        let z: Vec<u64> = (0..8).map(|_| ziggurat_normal(&mut r).to_bits()).collect();
        assert_eq!(z, PINNED_NORMAL, "normal draws changed: {z:#x?}");
        // About the built-in scenario's farm principals: a median of 1.5 M yuan, in fen.
        let ln = LogNormal::new(18.8, 0.6).unwrap();
        let mut r = stream(42, 7, Stream::Economy, 0, 0);
        let x: Vec<u64> = (0..8).map(|_| ln.sample(&mut r).to_bits()).collect();
        assert_eq!(x, PINNED_LOGNORMAL, "lognormal draws changed: {x:#x?}");
    }
    const PINNED_NORMAL: [u64; 8] = [
        0x3fef_c1b7_e2e2_d677,
        0x3fc4_2f6c_4dc7_4462,
        0xbfde_927c_e2dc_bbd2,
        0x3fe7_69bd_48a7_a2c9,
        0x3fc8_5602_02e7_a268,
        0xbfef_d2b8_525c_09d9,
        0x3fea_fc09_cb6b_e70c,
        0x3fe4_c708_2415_a3ba,
    ];
    const PINNED_LOGNORMAL: [u64; 8] = [
        0x41af_98c2_65b3_fc49,
        0x41a3_260f_2581_efa4,
        0x419a_2865_ae00_7da8,
        0x41ab_0557_8f98_f62a,
        0x41a3_865e_b9b4_7c57,
        0x4193_2f1c_ee65_8c58,
        0x41ac_e46c_ef19_ddd6,
        0x41a9_b7d0_ee47_004d,
    ];

    #[test]
    fn streams_differ_by_every_part_of_the_key() {
        let base = key(&[1, 2, 3, 4, 5]);
        for k in [[2, 2, 3, 4, 5], [1, 3, 3, 4, 5], [1, 2, 4, 4, 5], [1, 2, 3, 5, 5], [1, 2, 3, 4, 6]] {
            assert_ne!(key(&k), base);
        }
        assert_ne!(key(&[1, 2]), key(&[2, 1]));
    }

    #[test]
    fn inv_phi_inverts_phi() {
        for &p in &[1e-12, 1e-6, 0.001, 0.01, 0.2, 0.5, 0.7, 0.99, 0.999999] {
            let x = inv_phi(p);
            assert!(((phi(x) - p) / p).abs() < 1e-12, "p={p} x={x} phi={}", phi(x));
        }
        assert!((inv_phi(0.975) - 1.959963984540054).abs() < 1e-14);
    }

    #[test]
    fn poisson_mean_and_variance() {
        let mut r = stream(1, 0, Stream::Peril, 0, 0);
        for &lambda in &[0.3, 4.0, 75.0] {
            let n = 40_000;
            let xs: Vec<f64> = (0..n).map(|_| poisson(&mut r, lambda) as f64).collect();
            let m = xs.iter().sum::<f64>() / n as f64;
            let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
            let se = (lambda / n as f64).sqrt();
            assert!((m - lambda).abs() < 5.0 * se, "lambda {lambda}: mean {m}");
            assert!((v / lambda - 1.0).abs() < 0.05, "lambda {lambda}: var {v}");
        }
    }

    #[test]
    fn beta_mean() {
        let mut r = stream(1, 0, Stream::Peril, 1, 0);
        for &(a, b) in &[(2.0, 5.0), (0.5, 0.5), (1.0, 9.0)] {
            let n = 40_000;
            let m = (0..n).map(|_| beta(&mut r, a, b)).sum::<f64>() / n as f64;
            let mean = a / (a + b);
            let sd = (a * b / ((a + b) * (a + b) * (a + b + 1.0))).sqrt();
            assert!((m - mean).abs() < 5.0 * sd / (n as f64).sqrt(), "beta({a},{b}) mean {m}");
        }
    }

    /// Gamma(shape) against its law: mean and variance both `shape`, and,
    /// for Beta(1, b) (a Gamma(1), the exponential, over a sum), the closed
    /// form CDF `1 - (1 - x)^b` at its deciles (Kolmogorov-Smirnov bound).
    #[test]
    fn gamma_and_beta_follow_their_laws() {
        let mut r = stream(2, 0, Stream::Peril, 1, 0);
        for &shape in &[0.5, 1.0, 2.0, 19.0] {
            let n = 100_000;
            let xs: Vec<f64> = (0..n).map(|_| gamma(&mut r, shape)).collect();
            let m = xs.iter().sum::<f64>() / n as f64;
            let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
            // sd of the mean sqrt(shape / n); of the variance about
            // sqrt((mu4 - sigma^4) / n), mu4 = 3 shape^2 + 6 shape.
            assert!((m - shape).abs() < 5.0 * (shape / n as f64).sqrt(), "gamma({shape}) mean {m}");
            let sd_v = ((2.0 * shape * shape + 6.0 * shape) / n as f64).sqrt();
            assert!((v - shape).abs() < 5.0 * sd_v, "gamma({shape}) variance {v}");
        }
        let (n, b) = (100_000, 6.0);
        let mut xs: Vec<f64> = (0..n).map(|_| beta(&mut r, 1.0, b)).collect();
        xs.sort_by(f64::total_cmp);
        for q in 1..10 {
            let x = xs[n * q / 10];
            let cdf: f64 = 1.0 - (1.0 - x).powf(b);
            // 1.63 / sqrt(n) bounds the KS statistic with 99 % probability.
            assert!((cdf - q as f64 / 10.0).abs() < 1.63 / (n as f64).sqrt(), "beta(1, 6) at {x}: {cdf}");
        }
    }

    /// Beta laws drawn as order statistics (whole shapes, flipped or not)
    /// against their closed form: for whole shapes the CDF at x is the chance
    /// that at least `a` of `a + b - 1` uniforms lie below x (a binomial
    /// tail), checked at the deciles with a Kolmogorov-Smirnov bound.
    #[test]
    fn beta_order_statistics_follow_their_laws() {
        let mut r = stream(6, 0, Stream::Peril, 1, 0);
        for &(a, b) in &[(1.0, 6.0), (2.0, 4.0), (2.0, 8.0), (6.0, 1.0), (3.0, 3.0), (5.0, 12.0)] {
            let law = Beta::new(a, b);
            assert!(law.order.is_some(), "Beta({a}, {b}) should draw an order statistic");
            let n = 100_000;
            let mut xs: Vec<f64> = (0..n).map(|_| law.sample(&mut r)).collect();
            xs.sort_by(f64::total_cmp);
            let m = (a + b - 1.0) as i32;
            let cdf = |x: f64| -> f64 {
                (a as i32..=m)
                    .map(|j| {
                        let choose = (1..=j).fold(1.0, |c, i| c * (m - j + i) as f64 / i as f64);
                        choose * x.powi(j) * (1.0 - x).powi(m - j)
                    })
                    .sum()
            };
            for q in 1..10 {
                let x = xs[n * q / 10];
                assert!(
                    (cdf(x) - q as f64 / 10.0).abs() < 1.63 / (n as f64).sqrt(),
                    "Beta({a}, {b}) at {x}: {}",
                    cdf(x)
                );
            }
        }
        assert!(Beta::new(1.5, 10.0).order.is_none() && Beta::new(19.0, 1.0).order.is_none());
    }

    #[test]
    fn exponential_matches_its_distribution() {
        let mut r = SplitMix::new(5, 9);
        let n = 2_000_000;
        let xs: Vec<f64> = (0..n).map(|_| exponential(&mut r)).collect();
        let m = xs.iter().sum::<f64>() / n as f64;
        let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1) as f64;
        assert!((m - 1.0).abs() < 5.0 / (n as f64).sqrt(), "mean {m}");
        assert!((v - 1.0).abs() < 5.0 * (8.0 / n as f64).sqrt(), "variance {v}");
        // Tail probabilities across the layers, the wedges and the base strip (x > 7.7).
        for t in [0.01, 0.1, 0.5, 1.0, 2.0, 4.0, 7.0, 7.7, 9.0] {
            let p = libm::exp(-t);
            let got = xs.iter().filter(|&&x| x > t).count() as f64 / n as f64;
            let se = (p * (1.0 - p) / n as f64).sqrt();
            assert!((got - p).abs() < 5.0 * se + 1e-6, "P(E > {t}) = {got}, expected {p}");
        }
    }

    #[test]
    fn phi_grid_bounds_phi_from_above() {
        let g = phi_grid();
        let mut r = SplitMix::new(1, 2);
        for _ in 0..100_000 {
            let x = -13.0 + 22.0 * uniform(&mut r);
            let k = g.above(x);
            assert!(PhiGrid::x(k) >= x || x > 9.0, "grid point {} below {x}", PhiGrid::x(k));
            assert!(g.p(k) >= phi(x) || x > 9.0, "bound {} below Phi({x}) = {}", g.p(k), phi(x));
            assert!(k == 0 || PhiGrid::x(k - 1) < x, "not the first point above {x}");
        }
    }

    #[test]
    fn bernoulli_indices_rate() {
        let mut r = stream(3, 0, Stream::DefaultBase, 0, 0);
        // Both methods: skips below p = 1/4, one uniform per index above.
        for (n, p) in [(1_000_000usize, 0.03), (100_000, 0.6)] {
            let mut count = 0usize;
            let mut last = None;
            bernoulli_indices(&mut r, n, p, |i| {
                assert!(last.is_none_or(|l| i > l));
                last = Some(i);
                count += 1;
            });
            let sd = (n as f64 * p * (1.0 - p)).sqrt();
            assert!((count as f64 - n as f64 * p).abs() < 5.0 * sd, "p {p}: count {count}");
        }
    }

    /// `bernoulli_select`, both of its ways (skips over hits, one uniform
    /// per item): the count and every item's frequency follow p, items come
    /// in order; and one uniform per item selects exactly what `uniform < p`
    /// selects.
    #[test]
    fn bernoulli_select_follows_p() {
        let items: Vec<u32> = (0..200).map(|i| 3 * i + 1).collect();
        for p in [0.1, 0.6, 0.8, 0.97] {
            let mut r = stream(4, 0, Stream::Peril, 0, 0);
            let (rounds, mut count, mut per_item) = (5_000, 0usize, vec![0u32; items.len()]);
            let mut out = Vec::new();
            for _ in 0..rounds {
                out.clear();
                bernoulli_select(&mut r, &items, p, &mut out);
                assert!(out.windows(2).all(|w| w[0] < w[1]), "p {p}: out of order");
                count += out.len();
                for &x in &out {
                    per_item[(x as usize - 1) / 3] += 1;
                }
            }
            let n = (rounds * items.len()) as f64;
            assert!((count as f64 - n * p).abs() < 5.0 * (n * p * (1.0 - p)).sqrt(), "p {p}: count {count}");
            // Each item alone: a binomial over the rounds, at 5 sd (200 items).
            let sd = (rounds as f64 * p * (1.0 - p)).sqrt();
            for (i, &c) in per_item.iter().enumerate() {
                assert!((c as f64 - rounds as f64 * p).abs() < 5.0 * sd, "p {p}: item {i} chosen {c} times");
            }
        }
        let (mut a, mut b) = (stream(5, 0, Stream::Peril, 0, 0), stream(5, 0, Stream::Peril, 0, 0));
        let mut out = Vec::new();
        bernoulli_select(&mut a, &items, 0.6, &mut out);
        let by_uniform: Vec<u32> = items.iter().copied().filter(|_| uniform(&mut b) < 0.6).collect();
        assert_eq!(out, by_uniform);
    }
}
