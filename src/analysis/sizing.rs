//! Fund sizing: how big must each fund be to last the horizon with a given
//! confidence? (The finance bureau's question, docs/model.md 1.)
//!
//! **Compensation accounts.** What an account is asked to pay in year t, `g_t`
//! (the government's share of the losses left after the village fund), does
//! not depend on the account's own balance: defaults, claims and the village
//! fund come before it. An account whose deposit D is paid in with cumulative
//! shares `c_t` is exhausted in year t when `g_t > 0` and `sum_{s<=t} g_s >=
//! D c_t`. So each trial has a smallest deposit that lasts,
//! `D_min = max over t with g_t > 0 of floor(sum_{s<=t} g_s / c_t) + 1 fen`,
//! and the deposit that lasts with confidence a is the a-quantile of `D_min`
//! over trials (with its order-statistic interval). The ratio is covered
//! loans / deposit.
//!
//! **Order of the layers.** The demand `g_t` is computed at the scenario's
//! village fund: a bigger village fund lowers what reaches the compensation
//! fund, so the sizing holds the village fund as the scenario has it. To size
//! both, size the village share first, set it, then size the deposits (or
//! sweep the village share). Year-end top-ups are not part of the sizing: it
//! answers "how much must be deposited up front".
//!
//! **Village funds.** A village fund of size F lasts when the village's total
//! demand W over the horizon is below F. The share of the village's covered
//! loans that lasts in a (village, trial) pair is `(W + 1 fen) / covered`;
//! the share at which funds last in a fraction a of (village, trial) pairs is
//! the a-quantile of that, pooled over villages and trials (pairs without
//! demand need no fund).

use std::collections::BTreeMap;
use std::ops::Bound;

use serde::{Deserialize, Serialize};

use crate::analysis::summary::{CONFIDENCE, Collected, Prob};
use crate::analysis::{stats, weighted};
use crate::model::Model;
use crate::money::{Fen, PPM};

/// Confidence levels the reports size for.
pub const LEVELS: [f64; 4] = [0.90, 0.95, 0.99, 0.995];

/// The smallest deposit that lasts, given one trial's yearly demands on an
/// account and the cumulative shares of the deposit paid in by each year (ppm).
/// `i64::MAX` when a demand falls before any deposit is paid in.
pub fn min_deposit(demands: &[Fen], cum_share_ppm: &[u32]) -> i64 {
    let mut cum: i128 = 0;
    let mut need: i128 = 0;
    for (t, g) in demands.iter().enumerate() {
        cum += g.0 as i128;
        if g.0 > 0 {
            let c = cum_share_ppm[t] as i128;
            if c == 0 {
                return i64::MAX;
            }
            need = need.max(cum * PPM as i128 / c + 1);
        }
    }
    need.min(i64::MAX as i128) as i64
}

fn level_bp(a: f64) -> u32 {
    (a * 10_000.0).round() as u32
}

fn round4(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

/// One confidence level's answer for one account.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DepositLevel {
    pub confidence: f64,
    /// Deposit (yuan) that lasts the horizon with this confidence.
    pub deposit: f64,
    /// 95 % interval of that deposit (order statistics).
    pub deposit_ci: [f64; 2],
    /// Covered loans per yuan of that deposit, e.g. 7.8 for 7.8:1; null when no deposit is needed.
    pub ratio: Option<f64>,
    /// The ratio's interval (from the deposit's; a larger deposit is a smaller ratio).
    pub ratio_ci: [Option<f64>; 2],
    /// Whether today's deposit is at least the one needed.
    pub current_is_enough: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountSizing {
    pub bank: String,
    pub county: String,
    pub covered_principal: f64,
    pub current_deposit: f64,
    pub current_ratio: Option<f64>,
    /// Probability that today's deposit runs dry (from the same trials).
    pub current_depletion: Prob,
    pub levels: Vec<DepositLevel>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VillageLevel {
    pub confidence: f64,
    /// Share of a village's covered loans at which its fund lasts in this
    /// fraction of (village, future) pairs.
    pub share: f64,
    pub share_ci: [f64; 2],
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VillageSizing {
    pub current_share: f64,
    /// Fraction of (village, future) pairs in which the fund lasts at today's share.
    pub lasting_at_current: f64,
    pub levels: Vec<VillageLevel>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Sizing {
    pub method: String,
    pub accounts: Vec<AccountSizing>,
    pub village: VillageSizing,
}

/// The ratio for a deposit in fen, or `None` when no deposit is needed.
fn ratio(covered: Fen, deposit: i64) -> Option<f64> {
    (deposit > 0 && deposit < i64::MAX).then(|| round4(covered.0 as f64 / deposit as f64))
}

fn yuan(fen: i64) -> f64 {
    if fen == i64::MAX { f64::MAX } else { fen as f64 / 100.0 }
}

/// Sizes every account and the village share from the collected tables.
pub fn size(m: &Model, c: &Collected, levels: &[f64]) -> Sizing {
    let n = c.n();
    let accounts = m
        .accounts
        .iter()
        .enumerate()
        .map(|(a, acc)| {
            let by_trial = c.account_min_deposits(a);
            let current = acc.deposit.0;
            let current_depletion = c.prob(|i| by_trial[i] > current);
            // The deposit at a level and its interval: order statistics on
            // plain runs, the weighted curve of smallest deposits otherwise.
            let at: Box<dyn Fn(u32) -> (i64, i64, i64)> = match c.weights() {
                None => {
                    let mut need = by_trial;
                    need.sort_unstable();
                    Box::new(move |bp| {
                        let ci = stats::quantile_ci_sorted(&need, bp, CONFIDENCE);
                        (stats::quantile_sorted(&need, bp), ci.lo, ci.hi)
                    })
                }
                Some(w) => {
                    let curve = weighted::exceedance_curve(&weighted::sorted_pairs(&by_trial, w));
                    let n = w.len();
                    Box::new(move |bp| {
                        let (lo, hi) = weighted::quantile_ci(&curve, n, bp, CONFIDENCE);
                        (weighted::quantile(&curve, n, bp), lo, hi)
                    })
                }
            };
            let levels = levels
                .iter()
                .map(|&lv| {
                    let (d, lo, hi) = at(level_bp(lv));
                    DepositLevel {
                        confidence: lv,
                        deposit: yuan(d),
                        deposit_ci: [yuan(lo), yuan(hi)],
                        ratio: ratio(acc.covered_principal, d),
                        ratio_ci: [ratio(acc.covered_principal, hi), ratio(acc.covered_principal, lo)],
                        current_is_enough: current >= d,
                    }
                })
                .collect();
            AccountSizing {
                bank: m.banks[acc.bank as usize].clone(),
                county: m.counties[acc.county as usize].clone(),
                covered_principal: acc.covered_principal.to_yuan_f64(),
                current_deposit: acc.deposit.to_yuan_f64(),
                current_ratio: ratio(acc.covered_principal, current),
                current_depletion,
                levels,
            }
        })
        .collect();

    // Village funds: pooled over (village, trial) pairs of villages with covered loans.
    let covered_villages = m.village_covered.iter().filter(|f| f.0 > 0).count();
    let pairs = (covered_villages * n) as u64;
    let need = &c.village_need_ppm;
    let zeros = pairs.saturating_sub(need.len());
    let quantile = |bp: u32| -> f64 {
        // Index among all pairs, of which the first `zeros` need nothing.
        if pairs == 0 {
            return 0.0;
        }
        let k = stats::quantile_index(pairs as usize, bp) as u64;
        if k < zeros { 0.0 } else { need.nth(k - zeros) as f64 / PPM as f64 }
    };
    let share_now = m.scenario.funds.village.share;
    if let Some(w) = c.weights() {
        return Sizing {
            method: METHOD.into(),
            accounts,
            village: village_weighted(c, w, covered_villages, levels, share_now),
        };
    }
    let share_now_ppm = (share_now * PPM as f64).round() as i64;
    let lasting = if pairs == 0 {
        1.0
    } else {
        let failing = need.count_above(share_now_ppm) as f64;
        1.0 - failing / pairs as f64
    };
    let z = stats::z_for(CONFIDENCE);
    let village = VillageSizing {
        current_share: share_now,
        lasting_at_current: round4(lasting * 100.0) / 100.0,
        levels: levels
            .iter()
            .map(|&lv| {
                // Rank uncertainty of a pooled quantile; villages in a trial are
                // correlated, so the interval uses the number of trials, not pairs.
                let half = z * (lv * (1.0 - lv) / n.max(1) as f64).sqrt();
                let lo = level_bp((lv - half).max(0.0));
                let hi = level_bp((lv + half).min(1.0));
                VillageLevel {
                    confidence: lv,
                    share: round6(quantile(level_bp(lv))),
                    share_ci: [round6(quantile(lo)), round6(quantile(hi))],
                }
            })
            .collect(),
    };
    Sizing { method: METHOD.into(), accounts, village }
}

const METHOD: &str = "deposit = quantile over trials of the smallest deposit that lasts the horizon \
                      (demands at the scenario's village fund, no top-ups); see src/sizing.rs";

/// The village share on a weighted run: a (village, trial) pair weighs its
/// trial's weight, so `S(x) = sum over pairs needing more than x of w / (V N)`
/// with `V` the villages with covered loans; the share at level `a` is the
/// smallest need (or 0) with `S <= 1 - a`, its interval the shares at `a ±
/// z sqrt(a (1 - a) / ESS)` (the effective trials, as the plain interval
/// uses the trials).
fn village_weighted(c: &Collected, w: &[f64], villages: usize, levels: &[f64], share_now: f64) -> VillageSizing {
    let mass = villages as f64 * w.len() as f64;
    // (need, weight of the pairs needing more), ascending; 0 first.
    let need = c.village_need_weight.to_values();
    let mut above = Vec::with_capacity(need.len() + 1);
    let mut t = 0.0;
    for &(x, wx) in need.iter().rev() {
        above.push((x, t));
        t += weighted::unfixed(wx);
    }
    above.push((0, t));
    above.reverse();
    let share_at = |a: f64| -> f64 {
        if mass == 0.0 {
            return 0.0;
        }
        // `t / mass <= 1 - a`, in basis points as the plain quantile counts.
        let tail = f64::from(10_000 - level_bp(a).min(10_000));
        above.iter().find(|&&(_, t)| t * 10_000.0 <= tail * mass).map_or(0.0, |&(x, _)| x as f64 / PPM as f64)
    };
    let now = (share_now * PPM as f64).round() as i64;
    let failing = weighted::unfixed(need.iter().filter(|&&(x, _)| x > now).map(|&(_, w)| w).sum());
    let lasting = if mass == 0.0 { 1.0 } else { 1.0 - failing / mass };
    let z = stats::z_for(CONFIDENCE);
    let ess = weighted::effective_sample_size(w).max(1.0);
    VillageSizing {
        current_share: share_now,
        lasting_at_current: round4(lasting * 100.0) / 100.0,
        levels: levels
            .iter()
            .map(|&lv| {
                let half = z * (lv * (1.0 - lv) / ess).sqrt();
                VillageLevel {
                    confidence: lv,
                    share: round6(share_at(lv)),
                    share_ci: [round6(share_at((lv - half).max(0.0))), round6(share_at((lv + half).min(1.0)))],
                }
            })
            .collect(),
    }
}

/// Order statistics of a long list of ppm shares, kept as counts: a
/// province run has about 4,800 (village, trial) pairs with a need a trial,
/// tens of millions at 10,000 trials, so a run keeps how many pairs needed
/// each value below a cap (and the rare values outside it, sorted) instead of
/// the list. `nth` gives exactly what indexing the sorted list would, and
/// memory does not grow with the trials.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ranked {
    /// `counts[x]`: how many values equal `x`, for `0 <= x < CAP`.
    counts: Vec<u64>,
    /// The values outside that range (not expected: a need above twice the
    /// covered loans), counted by value all the same.
    outside: BTreeMap<i64, u64>,
    len: u64,
}

impl Ranked {
    const CAP: i64 = 1 << 21;
    /// The most its counts take.
    pub const MAX_BYTES: u64 = Self::CAP as u64 * std::mem::size_of::<u64>() as u64;

    pub fn push(&mut self, x: i64) {
        self.add(x, 1);
    }

    fn add(&mut self, x: i64, n: u64) {
        self.len += n;
        if (0..Self::CAP).contains(&x) {
            if self.counts.len() <= x as usize {
                self.counts.resize(x as usize + 1, 0);
            }
            self.counts[x as usize] += n;
        } else {
            *self.outside.entry(x).or_insert(0) += n;
        }
    }

    /// Adds another list's values (merging the partial results of shards).
    pub fn append(&mut self, o: Ranked) {
        if self.counts.len() < o.counts.len() {
            self.counts.resize(o.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            *a += b;
        }
        self.len += o.len - o.outside.values().sum::<u64>();
        for (x, n) in o.outside {
            self.add(x, n);
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// What is wrong with a list read back (a shard's state): its count
    /// must be that of its values, each kept where `add` keeps it.
    pub fn problem(&self) -> Option<String> {
        if self.counts.len() > Self::CAP as usize {
            return Some(format!("{} counted values, at most {} are", self.counts.len(), Self::CAP));
        }
        if let Some(x) = self.outside.keys().find(|&&x| (0..Self::CAP).contains(&x)) {
            return Some(format!("the value {x} is kept outside the counted range, but lies in it"));
        }
        let total = self.counts.iter().chain(self.outside.values()).try_fold(0u64, |a, &n| a.checked_add(n));
        match total {
            Some(t) if t == self.len => None,
            _ => Some(format!("a count of {} values, but the values counted differ", self.len)),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// How many values exceed `x`.
    pub fn count_above(&self, x: i64) -> u64 {
        let from = x.saturating_add(1).clamp(0, Self::CAP) as usize;
        let outside: u64 = self.outside.range((Bound::Excluded(x), Bound::Unbounded)).map(|(_, n)| n).sum();
        outside + self.counts.iter().skip(from).sum::<u64>()
    }

    /// The k-th smallest value (0-based); `k` must be below the count of values.
    pub fn nth(&self, mut k: u64) -> i64 {
        let below = self.outside.range(..0).map(|(&x, &n)| (x, n));
        let counted = self.counts.iter().enumerate().map(|(x, &n)| (x as i64, n));
        let above = self.outside.range(Self::CAP..).map(|(&x, &n)| (x, n));
        for (x, n) in below.chain(counted).chain(above) {
            if k < n {
                return x;
            }
            k -= n;
        }
        panic!("Ranked::nth: k is not below the count of values")
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// One point of a sizing curve: a row of `size_curve.csv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CurvePoint {
    pub account: String,
    pub ratio: f64,
    pub deposit: f64,
    /// Probability that the account runs dry with this deposit, and its 95 % interval.
    pub depletion_prob: f64,
    pub lo: f64,
    pub hi: f64,
}

/// Depletion probability against the deposit ratio, for each account, on a
/// grid of ratios from 2:1 to 200:1 that includes 10:1.
pub fn curve(m: &Model, c: &Collected) -> Vec<CurvePoint> {
    let mut grid: Vec<f64> = (0..=40).map(|k| 2.0 * 100f64.powf(k as f64 / 40.0)).collect();
    for r in [6.0, 8.0, 10.0, 12.0, 14.0] {
        grid.push(r);
    }
    grid.sort_by(f64::total_cmp);
    grid.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    let mut out = Vec::new();
    for (a, acc) in m.accounts.iter().enumerate() {
        let need = c.account_min_deposits(a);
        let name = format!("{}/{}", m.banks[acc.bank as usize], m.counties[acc.county as usize]);
        for &r in &grid {
            let deposit = (acc.covered_principal.0 as f64 / r).round() as i64;
            let depletion = c.prob(|i| need[i] > deposit);
            out.push(CurvePoint {
                account: name.clone(),
                ratio: round4(r),
                deposit: deposit as f64 / 100.0,
                depletion_prob: depletion.p,
                lo: depletion.lo,
                hi: depletion.hi,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn ranked_matches_a_sorted_copy() {
        let mut v: Vec<i64> = (0..5000u64).map(|i| (crate::rng::mix64(i) % 3_000_000) as i64 - 1000).collect();
        v.extend([7, 7, 7, i64::MAX, 0]);
        // Counted in parts and merged, as shards are: the first part holds
        // no value outside the counted range, so the merge brings them all.
        let (mut r, mut other) = (super::Ranked::default(), super::Ranked::default());
        r.push(5);
        for &x in &v {
            other.push(x);
        }
        r.append(other);
        v.push(5);
        assert_eq!(r.len(), v.len() as u64);
        // As a shard writes it and a merge reads it back.
        let back: super::Ranked = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!(back, r);
        assert_eq!(r.len(), v.len() as u64);
        let mut sorted = v.clone();
        sorted.sort_unstable();
        // Every 7th rank and the last ones: each `nth` walks the counts from the start.
        for (k, &x) in sorted.iter().enumerate().filter(|(k, _)| k % 7 == 0 || k + 8 > sorted.len()) {
            assert_eq!(r.nth(k as u64), x, "k = {k}");
        }
        for x in [i64::MIN, -1001, -1, 0, 6, 7, 8, 2_000_000, 1 << 21, i64::MAX - 1, i64::MAX] {
            assert_eq!(r.count_above(x), v.iter().filter(|&&y| y > x).count() as u64, "above {x}");
        }
    }

    use super::*;

    #[test]
    fn smallest_deposit_with_one_batch() {
        // Demands 100, 0, 50: the deposit must exceed 150.
        assert_eq!(min_deposit(&[Fen(100), Fen(0), Fen(50)], &[1_000_000; 3]), 151);
        assert_eq!(min_deposit(&[Fen(0), Fen(0)], &[1_000_000; 2]), 0);
    }

    #[test]
    fn smallest_deposit_with_batches() {
        // Half paid in year 1, all by year 2; demand 100 in year 1 needs D/2 > 100.
        assert_eq!(min_deposit(&[Fen(100), Fen(0)], &[500_000, 1_000_000]), 201);
        // Demand in year 2 of 150 on top: D > 250.
        assert_eq!(min_deposit(&[Fen(100), Fen(150)], &[500_000, 1_000_000]), 251);
        // A demand before anything is paid in cannot be met.
        assert_eq!(min_deposit(&[Fen(1)], &[0]), i64::MAX);
    }
}
