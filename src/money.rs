//! Money: integer fen inside the engine, `rust_decimal` yuan at the edges.
//!
//! Every amount that flows through a trial is a [`Fen`] (0.01 yuan, `i64`),
//! so sums are exact and independent of reduction order. Scenario files and
//! reports speak yuan through [`Yuan`], a `Decimal` newtype that refuses
//! amounts finer than a fen. Splits of money (pro rata, 6:4) go through
//! [`allocate_pro_rata`] and [`split_share`], which never lose or invent a fen.

use std::fmt;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An amount of money in fen (1 yuan = 100 fen).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fen(pub i64);

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub fn from_yuan_int(yuan: i64) -> Fen {
        Fen(yuan * 100)
    }

    /// Converts a yuan decimal, or `None` if it is finer than a fen or too large.
    pub fn from_decimal(yuan: Decimal) -> Option<Fen> {
        let fen = yuan.checked_mul(Decimal::ONE_HUNDRED)?;
        if !fen.fract().is_zero() {
            return None;
        }
        fen.to_i64().map(Fen)
    }

    pub fn to_decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }

    pub fn to_yuan_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }

    pub fn min(self, other: Fen) -> Fen {
        Fen(self.0.min(other.0))
    }

    pub fn max(self, other: Fen) -> Fen {
        Fen(self.0.max(other.0))
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self * num / den`, rounded half up, computed in i128 so it cannot overflow
    /// for any realistic portfolio.
    pub fn mul_ratio(self, num: i64, den: i64) -> Fen {
        debug_assert!(den > 0);
        // The same rounding in 64 bits when nothing overflows (the amounts and
        // rates of real books), else in 128: a 128-bit division is a library call.
        let narrow = || -> Option<i64> {
            let (p, d2) = (self.0.checked_mul(num)?, den.checked_mul(2)?);
            if p >= 0 {
                Some(p.checked_mul(2)?.checked_add(den)? / d2)
            } else {
                Some(-(p.checked_mul(-2)?.checked_add(den)? / d2))
            }
        };
        if let Some(q) = narrow() {
            return Fen(q);
        }
        let p = self.0 as i128 * num as i128;
        let d = den as i128;
        let q = if p >= 0 { (2 * p + d) / (2 * d) } else { -((-2 * p + d) / (2 * d)) };
        Fen(q as i64)
    }

    /// `self * rate` for a rate given in parts per million, rounded half up.
    pub fn mul_ppm(self, ppm: u32) -> Fen {
        self.mul_ratio(ppm as i64, PPM)
    }
}

/// Parts per million: the fixed-point unit for rates and shares applied to money.
pub const PPM: i64 = 1_000_000;

/// Converts a fraction in [0, 1] (or a rate) to parts per million, rounded.
pub fn to_ppm(x: f64) -> u32 {
    (x * PPM as f64).round().clamp(0.0, u32::MAX as f64) as u32
}

impl Add for Fen {
    type Output = Fen;
    fn add(self, o: Fen) -> Fen {
        Fen(self.0 + o.0)
    }
}
impl Sub for Fen {
    type Output = Fen;
    fn sub(self, o: Fen) -> Fen {
        Fen(self.0 - o.0)
    }
}
impl Neg for Fen {
    type Output = Fen;
    fn neg(self) -> Fen {
        Fen(-self.0)
    }
}
impl AddAssign for Fen {
    fn add_assign(&mut self, o: Fen) {
        self.0 += o.0;
    }
}
impl SubAssign for Fen {
    fn sub_assign(&mut self, o: Fen) {
        self.0 -= o.0;
    }
}
impl std::iter::Sum for Fen {
    fn sum<I: Iterator<Item = Fen>>(iter: I) -> Fen {
        Fen(iter.map(|f| f.0).sum())
    }
}

/// Formats as yuan with exactly two decimals (`-1234.05`), the form of every
/// money column in the CSV tables.
impl fmt::Display for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let a = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", a / 100, a % 100)
    }
}

/// A yuan amount as written in scenario files and loan tapes: a decimal with
/// at most two places. Deserialises from a YAML number or string; serialises
/// as a plain number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Yuan(pub Decimal);

impl Yuan {
    pub fn fen(self) -> Fen {
        // Construction already rejected sub-fen amounts.
        Fen::from_decimal(self.0).unwrap_or(Fen::ZERO)
    }
    pub fn from_fen(f: Fen) -> Yuan {
        Yuan(f.to_decimal())
    }
    pub fn parse(s: &str) -> Result<Yuan, String> {
        let d: Decimal = s.trim().parse().map_err(|_| format!("expected an amount in yuan, found `{s}`"))?;
        Yuan::checked(d)
    }
    fn checked(d: Decimal) -> Result<Yuan, String> {
        let max = crate::limits::MAX_AMOUNT_YUAN;
        if d.abs() > Decimal::from(max) {
            return Err(format!(
                "expected an amount of at most {} yuan (CNY 100 bn, riskshare's bound on any amount), found {d}",
                crate::limits::grouped(max as u64)
            ));
        }
        match Fen::from_decimal(d) {
            Some(_) => Ok(Yuan(d.normalize())),
            None => Err(format!("expected an amount in yuan with at most two decimals (whole fen), found {d}")),
        }
    }
}

impl fmt::Display for Yuan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Yuan {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.fract().is_zero() {
            if let Some(i) = self.0.to_i64() {
                return s.serialize_i64(i);
            }
        }
        // At most two decimals: the shortest f64 form reads back to the same decimal.
        s.serialize_f64(self.0.to_f64().unwrap_or(0.0))
    }
}

impl<'de> Deserialize<'de> for Yuan {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Yuan, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Yuan;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an amount in yuan (a number with at most two decimals)")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Yuan, E> {
                Yuan::checked(Decimal::from(v)).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Yuan, E> {
                Yuan::checked(Decimal::from(v)).map_err(E::custom)
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Yuan, E> {
                if !v.is_finite() {
                    return Err(E::custom(format!("expected an amount in yuan, found {v}")));
                }
                // The shortest representation is what the user wrote.
                Yuan::parse(&format!("{v}")).map_err(E::custom)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Yuan, E> {
                Yuan::parse(&v.replace(['_', ','], "")).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

/// Splits `total` over claims in proportion to `weights`, to the fen, by the
/// largest-remainder rule: each claim first gets `floor(total * w / W)`, then
/// the fen left over go one each to the claims with the largest remainders,
/// ties broken by the smaller `key` (a loan's stable index), so the result
/// does not depend on the order of the slices. Requires `total <= W` callers'
/// sense of "pro rata of what is owed": each share is at most its weight when
/// `total <= sum(weights)`.
///
/// `out[i]` receives claim `i`'s share; `sum(out) == total` exactly when the
/// weights sum to more than zero.
pub fn allocate_pro_rata(total: Fen, weights: &[Fen], keys: &[u32], out: &mut Vec<Fen>) {
    allocate_pro_rata_in(total, weights, keys, out, &mut Remainders::default());
}

/// The remainders [`allocate_pro_rata_in`] ranks: buffers to reuse, so that
/// the waterfall allocates nothing once warm.
#[derive(Clone, Debug, Default)]
pub struct Remainders {
    /// Each claim's rank key when the amounts fit 64 bits:
    /// `!remainder << 64 | key << 32 | claim`, smallest first.
    narrow: Vec<u128>,
    wide: Vec<(i128, u32, usize)>,
}

/// [`allocate_pro_rata`] with its buffer supplied.
pub fn allocate_pro_rata_in(total: Fen, weights: &[Fen], keys: &[u32], out: &mut Vec<Fen>, rem: &mut Remainders) {
    out.clear();
    // In 64 bits where every product `total * w` fits (a 128-bit division is
    // a library call): one pass finds whether they do.
    let (mut sum, mut overflow, mut w_min, mut w_max) = (0i64, false, 0i64, 0i64);
    for w in weights {
        let (s, o) = sum.overflowing_add(w.0);
        (sum, overflow) = (s, overflow | o);
        (w_min, w_max) = (w_min.min(w.0), w_max.max(w.0));
    }
    if !overflow && w_min >= 0 && weights.len() < 1 << 32 && total.0.checked_mul(w_max).is_some() {
        if sum <= 0 || total.0 <= 0 {
            out.resize(weights.len(), Fen::ZERO);
        } else if weights.len() == 1 {
            // A guarantee group's one defaulter: all of it.
            out.push(total);
        } else {
            pro_rata_narrow(total.0, sum, weights, keys, out, &mut rem.narrow);
        }
        return;
    }
    let w_sum: i128 = weights.iter().map(|w| w.0 as i128).sum();
    if w_sum <= 0 || total.0 <= 0 {
        out.resize(weights.len(), Fen::ZERO);
        return;
    }
    let t = total.0 as i128;
    let mut given: i128 = 0;
    let rem = &mut rem.wide;
    rem.clear();
    for (i, w) in weights.iter().enumerate() {
        let num = t * w.0 as i128;
        let (q, r) = (num / w_sum, num % w_sum);
        out.push(Fen(q as i64));
        given += q;
        rem.push((r, keys[i], i));
    }
    let mut left = t - given;
    if left > 0 {
        // Largest remainder first; equal remainders go to the smaller key.
        rem.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for &(_, _, i) in rem.iter() {
            if left == 0 {
                break;
            }
            out[i].0 += 1;
            left -= 1;
        }
    }
}

/// The 64-bit case of [`allocate_pro_rata_in`]: weights not negative, each
/// `total * w` within `i64`. The `left` fen over the floors go one each to the
/// `left` largest remainders (ties to the smaller key, then the earlier
/// claim); which claims those are needs a selection, not a sort, as each
/// gets the same one fen: a year's thousand claims on one account cost a
/// linear pass instead of ten thousand comparisons.
fn pro_rata_narrow(total: i64, w_sum: i64, weights: &[Fen], keys: &[u32], out: &mut Vec<Fen>, rank: &mut Vec<u128>) {
    let mut given: i64 = 0;
    rank.clear();
    for (i, (w, &key)) in weights.iter().zip(keys).enumerate() {
        let num = total * w.0;
        let (q, r) = (num / w_sum, num % w_sum);
        out.push(Fen(q));
        given += q;
        rank.push(((!(r as u64)) as u128) << 64 | (key as u128) << 32 | i as u128);
    }
    // Below the number of claims: each remainder is under one fen.
    let left = ((total - given) as usize).min(rank.len());
    if left == 0 {
        return;
    }
    if left < rank.len() {
        rank.select_nth_unstable(left - 1);
    }
    for &k in &rank[..left] {
        out[k as u32 as usize].0 += 1;
    }
}

/// Splits `amount` into (share, rest) where `share = amount * ppm / 1e6`
/// rounded half up: the odd fen of a 6:4 split goes to the party whose exact
/// share has the larger fraction, ties to the first party.
pub fn split_share(amount: Fen, ppm: u32) -> (Fen, Fen) {
    let share = amount.mul_ppm(ppm);
    (share, amount - share)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_yuan_with_two_decimals() {
        assert_eq!(Fen(123456).to_string(), "1234.56");
        assert_eq!(Fen(5).to_string(), "0.05");
        assert_eq!(Fen(-105).to_string(), "-1.05");
        assert_eq!(Fen(0).to_string(), "0.00");
    }

    #[test]
    fn yuan_refuses_sub_fen_amounts() {
        assert!(Yuan::parse("10.005").is_err());
        assert_eq!(Yuan::parse("10.05").unwrap().fen(), Fen(1005));
        assert_eq!(Yuan::parse("28610000").unwrap().fen(), Fen(2_861_000_000));
    }

    /// `mul_ratio` and the pro-rata quotients in 128 bits only, as they were
    /// written before the 64-bit fast path.
    fn mul_ratio_wide(x: i64, num: i64, den: i64) -> i64 {
        let (p, d) = (x as i128 * num as i128, den as i128);
        (if p >= 0 { (2 * p + d) / (2 * d) } else { -((-2 * p + d) / (2 * d)) }) as i64
    }

    #[test]
    fn the_64_bit_paths_agree_with_128_bits() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            state = crate::rng::mix64(state.wrapping_add(1));
            state
        };
        let scales = [1_000, 1_000_000_000, 1 << 40, i64::MAX / 3, i64::MAX];
        for k in 0..100_000 {
            let x = (next() % scales[k % 5] as u64) as i64 * if k % 7 == 0 { -1 } else { 1 };
            let num = (next() % scales[(k / 5) % 5] as u64) as i64;
            let den = 1 + (next() % scales[(k / 25) % 5] as u64) as i64;
            assert_eq!(Fen(x).mul_ratio(num, den).0, mul_ratio_wide(x, num, den), "{x} * {num} / {den}");
        }
        for k in 0..2_000 {
            let total = Fen((next() % scales[k % 5] as u64) as i64);
            let weights: Vec<Fen> = (0..1 + k % 9).map(|_| Fen((next() % scales[(k / 5) % 5] as u64) as i64)).collect();
            let keys: Vec<u32> = (0..weights.len() as u32).collect();
            let (mut got, mut rem) = (Vec::new(), Remainders::default());
            allocate_pro_rata_in(total, &weights, &keys, &mut got, &mut rem);
            assert_eq!(got, pro_rata_wide(total, &weights, &keys), "{total:?} {weights:?}");
        }
    }

    /// The pro-rata allocation in 128 bits only, as written before the fast path.
    fn pro_rata_wide(total: Fen, weights: &[Fen], keys: &[u32]) -> Vec<Fen> {
        let w_sum: i128 = weights.iter().map(|w| w.0 as i128).sum();
        if w_sum <= 0 || total.0 <= 0 {
            return vec![Fen::ZERO; weights.len()];
        }
        let t = total.0 as i128;
        let mut out: Vec<Fen> = weights.iter().map(|w| Fen((t * w.0 as i128 / w_sum) as i64)).collect();
        let mut rem: Vec<(i128, u32, usize)> =
            weights.iter().enumerate().map(|(i, w)| (t * w.0 as i128 % w_sum, keys[i], i)).collect();
        let mut left = t - out.iter().map(|q| q.0 as i128).sum::<i128>();
        rem.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for &(_, _, i) in &rem {
            if left == 0 {
                break;
            }
            out[i].0 += 1;
            left -= 1;
        }
        out
    }

    #[test]
    fn pro_rata_selection_equals_the_sorted_ranking() {
        // Many equal remainders (equal and repeated weights) and keys out of
        // order, where the tie rule decides who gets the odd fen.
        let mut state = 7u64;
        let mut next = || {
            state = crate::rng::mix64(state.wrapping_add(1));
            state
        };
        let (mut got, mut rem) = (Vec::new(), Remainders::default());
        for k in 0..3_000 {
            let n = 1 + (next() % [3, 40, 1500][k % 3]) as usize;
            let kinds = 1 + next() % 5;
            let weights: Vec<Fen> = (0..n).map(|_| Fen(100 * (1 + (next() % kinds) as i64))).collect();
            let mut keys: Vec<u32> = (0..n as u32).map(|i| i * 7 + 3).collect();
            for i in (1..n).rev() {
                keys.swap(i, (next() % (i as u64 + 1)) as usize);
            }
            let w_sum: i64 = weights.iter().map(|w| w.0).sum();
            let total = Fen((next() % w_sum as u64) as i64);
            allocate_pro_rata_in(total, &weights, &keys, &mut got, &mut rem);
            assert_eq!(got, pro_rata_wide(total, &weights, &keys), "{total:?} {weights:?} {keys:?}");
            assert_eq!(got.iter().copied().sum::<Fen>(), total);
        }
    }

    #[test]
    fn pro_rata_loses_no_fen_and_ignores_order() {
        let w = [Fen(100), Fen(100), Fen(100)];
        let mut out = Vec::new();
        allocate_pro_rata(Fen(100), &w, &[0, 1, 2], &mut out);
        assert_eq!(out, vec![Fen(34), Fen(33), Fen(33)]);
        // Same claims in another order: the odd fen still goes to key 0.
        allocate_pro_rata(Fen(100), &w, &[2, 0, 1], &mut out);
        assert_eq!(out, vec![Fen(33), Fen(34), Fen(33)]);
    }

    #[test]
    fn pro_rata_largest_remainder() {
        let mut out = Vec::new();
        allocate_pro_rata(Fen(10), &[Fen(1), Fen(2), Fen(3)], &[0, 1, 2], &mut out);
        // exact 1.667, 3.333, 5.0 -> floors 1, 3, 5 and the fen to the 0.667 remainder
        assert_eq!(out, vec![Fen(2), Fen(3), Fen(5)]);
    }

    #[test]
    fn six_four_split_of_an_odd_fen() {
        assert_eq!(split_share(Fen(1), 600_000), (Fen(1), Fen(0)));
        assert_eq!(split_share(Fen(3), 600_000), (Fen(2), Fen(1)));
        assert_eq!(split_share(Fen(5), 600_000), (Fen(3), Fen(2)));
        assert_eq!(split_share(Fen(1001), 600_000), (Fen(601), Fen(400)));
    }
}
