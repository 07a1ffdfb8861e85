//! `summary.json`: the run's statistics, computed from the trial table alone.
//!
//! # Format
//!
//! Money is in yuan (numbers, two decimals); probabilities are fractions.
//! `layers.<column>` holds, for every money column of `trials.csv` plus the
//! derived `fiscal_cost` and `bank_total`: `mean, std, stderr, p50, p90,
//! p95, p99, p99_5, p99_9, tvar95, tvar99, tvar99_5, max`, and the 95 %
//! order-statistic interval of each quantile (`ci`). `counts.<column>` has the
//! same for the count columns. `adequacy` holds the exhaustion probabilities
//! with Wilson intervals and the per-account figures.
//!
//! The same types are what the reports render: a run hands them over in
//! memory, and `riskshare report` reads them back from `summary.json`, so
//! the file has one schema, this one.

use std::collections::BTreeMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::analysis::stats::{self, ColumnSummary, Moments, QUANTILE_LEVELS_BP, TVAR_LEVELS_BP};
use crate::analysis::weighted;
use crate::model::Model;
use crate::money::Fen;
use crate::sim::tables::{AccountTrial, Batch, Flows, MONEY, TrialRow};

/// Confidence of every interval the reports print.
pub const CONFIDENCE: f64 = 0.95;

/// What a run keeps in memory for its statistics: the trial table, each
/// account's per-trial figures and how often each village fund ran dry.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Collected {
    pub trials: Vec<TrialRow>,
    pub accounts: Vec<AccountTrial>,
    pub village_exhausted_count: Vec<u64>,
    pub n_accounts: usize,
    /// Smallest deposit (fen) that lasts the horizon, `[trial][account]` (see [`crate::analysis::sizing`]).
    pub min_deposits: Vec<i64>,
    /// Village share (ppm of covered loans) a fund needed to last, over the
    /// (village, trial) pairs with a demand, as counts per value.
    pub village_need_ppm: crate::analysis::sizing::Ranked,
    horizon: usize,
    injected_share_ppm: Vec<u32>,
    village_covered: Vec<Fen>,
    /// Each bank's tally over the trials (`[bank]`, the model's bank ids),
    /// kept by [`Collected::push`] and [`Collected::push_trials`] alike, so
    /// that a sweep's cells, which keep no account rows, have it too
    /// ([`crate::analysis::policy`] reads it). It lives in memory only: a
    /// shard's `state.json` does not hold it, and a merge reads none.
    #[serde(skip)]
    pub banks: Vec<BankTally>,
    #[serde(skip)]
    account_bank: Vec<u32>,
    #[serde(skip)]
    shortfall_to_bank: bool,
    /// Each trial's likelihood ratio, in trial order, on importance-sampled
    /// runs; empty on plain runs (every weight 1), which then keep their
    /// statistics and their `state.json` byte for byte.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weights: Vec<f64>,
    /// Weighted runs: each village's weight of the trials in which its fund
    /// ran dry, fixed point ([`weighted::fixed`]), so shards merge exactly.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    village_exhausted_weight: Vec<u128>,
    /// Weighted runs: the village need (ppm) of every (village, trial) pair
    /// with a demand, as the fixed-point weight of the pairs at each value.
    #[serde(default, skip_serializing_if = "weighted::FixedByValue::is_empty")]
    pub village_need_weight: weighted::FixedByValue,
    /// Weighted runs: each trial's figures per bank (`[trial][bank]`), so
    /// that weighted bank figures are summed in trial order whatever the
    /// chunks were ([`crate::analysis::policy`]). In memory only, as `banks`.
    #[serde(skip)]
    pub bank_rows: Vec<BankTrial>,
}

/// One bank's accounts in one trial (weighted runs keep these).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BankTrial {
    pub draws: i64,
    pub loss: i64,
    pub dry: bool,
}

/// One bank's compensation accounts over the trials, summed over its
/// counties trial by trial. Exact integer moments, so tallies of trial
/// ranges merge into that of the whole range in any order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BankTally {
    /// What the bank's accounts paid in a trial (fen).
    pub draws: Moments,
    /// What the bank lost on its accounts' loans in a trial: its split share
    /// plus the shortfall it bears (fen), as [`Flows::bank_total`] counts it.
    pub loss: Moments,
    /// Trials in which at least one of the bank's accounts ran dry.
    pub dry: u64,
}

impl BankTally {
    fn merge(&mut self, o: &BankTally) {
        self.draws.merge(&o.draws);
        self.loss.merge(&o.loss);
        self.dry += o.dry;
    }
}

impl Collected {
    /// Appends another range's collection (the trials that follow this one's):
    /// the result is what one run over both ranges would have collected.
    pub fn append(&mut self, mut o: Collected) {
        let (mine, theirs) = (self.trials.len(), o.trials.len());
        self.trials.append(&mut o.trials);
        self.accounts.append(&mut o.accounts);
        self.min_deposits.append(&mut o.min_deposits);
        self.village_need_ppm.append(o.village_need_ppm);
        for (a, b) in self.village_exhausted_count.iter_mut().zip(&o.village_exhausted_count) {
            *a += b;
        }
        if !o.weights.is_empty() || !self.weights.is_empty() {
            // A plain part among weighted ones weighs 1 a trial.
            self.weights.resize(mine, 1.0);
            self.weights.extend(if o.weights.is_empty() { vec![1.0; theirs] } else { o.weights });
            if self.village_exhausted_weight.len() < o.village_exhausted_weight.len() {
                self.village_exhausted_weight.resize(o.village_exhausted_weight.len(), 0);
            }
            for (a, b) in self.village_exhausted_weight.iter_mut().zip(&o.village_exhausted_weight) {
                *a += b;
            }
            self.village_need_weight.merge(o.village_need_weight);
            self.bank_rows.extend(o.bank_rows);
        }
        if self.banks.is_empty() {
            self.banks = o.banks;
            self.account_bank = o.account_bank;
            self.shortfall_to_bank = o.shortfall_to_bank;
        } else {
            for (a, b) in self.banks.iter_mut().zip(&o.banks) {
                a.merge(b);
            }
        }
    }
}

impl Collected {
    /// Bytes a collection keeps per trial of `m` (its rows grow with the trials).
    pub fn bytes_per_trial(m: &Model) -> u64 {
        let accounts = m.accounts.len() as u64;
        // An importance-sampled run keeps each trial's weight.
        let weight = if m.importance.is_some() { std::mem::size_of::<f64>() as u64 } else { 0 };
        (std::mem::size_of::<TrialRow>() as u64)
            + accounts * (std::mem::size_of::<AccountTrial>() as u64 + std::mem::size_of::<i64>() as u64)
            + weight
    }

    /// Bytes a collection of `m` may keep whatever its trials: the village
    /// needs counted by value (and weighed by value on an importance-sampled
    /// run), each at most its cap, and the per-village weights.
    pub fn fixed_bytes(m: &Model) -> u64 {
        let counted = crate::analysis::sizing::Ranked::MAX_BYTES;
        let weighed = if m.importance.is_some() {
            weighted::FixedByValue::MAX_BYTES + m.villages.len() as u64 * std::mem::size_of::<u128>() as u64
        } else {
            0
        };
        counted + weighed
    }

    pub fn new(m: &Model) -> Self {
        Collected {
            n_accounts: m.accounts.len(),
            village_exhausted_count: vec![0; m.villages.len()],
            horizon: m.horizon,
            injected_share_ppm: m.injected_share_ppm.clone(),
            village_covered: m.village_covered.clone(),
            banks: vec![BankTally::default(); m.banks.len()],
            account_bank: m.accounts.iter().map(|a| a.bank).collect(),
            shortfall_to_bank: m.shortfall_to_bank,
            ..Default::default()
        }
    }
    /// Adds a batch's trials to each bank's tally.
    fn tally(&mut self, b: &Batch) {
        let (na, nb) = (self.account_bank.len(), self.banks.len());
        // Without accounts there is nothing to tally (a bank has figures only
        // through its accounts).
        if na == 0 || b.accounts.len() != b.trials.len() * na {
            return;
        }
        let (mut draws, mut loss, mut dry) = (vec![0i64; nb], vec![0i64; nb], vec![false; nb]);
        for rows in b.accounts.chunks_exact(na) {
            draws.fill(0);
            loss.fill(0);
            dry.fill(false);
            for (x, &bank) in rows.iter().zip(&self.account_bank) {
                let bank = bank as usize;
                draws[bank] += x.draws.0;
                loss[bank] += x.bank_loss.0 + if self.shortfall_to_bank { x.shortfall.0 } else { 0 };
                dry[bank] |= x.exhausted_year > 0;
            }
            for (t, ((d, l), e)) in self.banks.iter_mut().zip(draws.iter().zip(&loss).zip(&dry)) {
                t.draws.push(*d);
                t.loss.push(*l);
                t.dry += *e as u64;
            }
            if !b.weights.is_empty() {
                self.bank_rows.extend((0..nb).map(|i| BankTrial { draws: draws[i], loss: loss[i], dry: dry[i] }));
            }
        }
    }
    /// Keeps a batch's weights (none on plain runs).
    fn push_weights(&mut self, b: &Batch) {
        debug_assert!(b.weights.is_empty() || b.weights.len() == b.trials.len(), "a weight per trial");
        if !b.weights.is_empty() {
            self.weights.resize(self.trials.len(), 1.0);
            self.weights.extend_from_slice(&b.weights);
        }
    }
    /// Visits each trial's slice of a per-trial list (`ends` as in [`Batch`]) with its weight.
    fn each_trial<T>(b: &Batch, list: &[T], ends: &[u32], mut f: impl FnMut(f64, &[T])) {
        let mut start = 0;
        for (k, &end) in ends.iter().enumerate() {
            f(b.weights[k], &list[start..end as usize]);
            start = end as usize;
        }
    }
    pub fn push(&mut self, b: &Batch) {
        self.tally(b);
        self.push_weights(b);
        self.trials.extend_from_slice(&b.trials);
        self.accounts.extend_from_slice(&b.accounts);
        for &v in &b.exhausted_villages {
            self.village_exhausted_count[v as usize] += 1;
        }
        if !b.weights.is_empty() {
            let nv = self.village_exhausted_count.len();
            self.village_exhausted_weight.resize(nv, 0);
            let (ew, covered) = (&mut self.village_exhausted_weight, &self.village_covered);
            Self::each_trial(b, &b.exhausted_villages, &b.exhausted_villages_end, |w, vs| {
                for &v in vs {
                    ew[v as usize] += weighted::fixed(w);
                }
            });
            let need = &mut self.village_need_weight;
            Self::each_trial(b, &b.village_demands, &b.village_demands_end, |w, ds| {
                for &(v, d) in ds {
                    if let Some(x) = village_need(d, covered[v as usize]) {
                        need.add(x, weighted::fixed(w));
                    }
                }
            });
        }
        let (na, h) = (self.n_accounts, self.horizon);
        let mut demands = vec![Fen::ZERO; h];
        for k in 0..b.trials.len() {
            for a in 0..na {
                for (t, d) in demands.iter_mut().enumerate() {
                    *d = b.account_demands[(k * h + t) * na + a];
                }
                self.min_deposits.push(crate::analysis::sizing::min_deposit(&demands, &self.injected_share_ppm));
            }
        }
        for &(v, w) in &b.village_demands {
            if let Some(need) = village_need(w, self.village_covered[v as usize]) {
                self.village_need_ppm.push(need);
            }
        }
    }
    /// What is wrong with a collection read back (a shard's `state.json`) as
    /// one of model `m`'s: lists that do not fit its trials, accounts or
    /// villages, or a model's figures that are not `m`'s. Empty if nothing.
    pub fn problems(&self, m: &Model) -> Vec<String> {
        let mut p = Vec::new();
        let (n, na, nv) = (self.trials.len(), m.accounts.len(), m.villages.len());
        if self.n_accounts != na {
            p.push(format!("n_accounts is {}, but the scenario has {na} compensation accounts", self.n_accounts));
        }
        for (what, len) in [("accounts", self.accounts.len()), ("min_deposits", self.min_deposits.len())] {
            if len != n * na {
                p.push(format!("{what} holds {len} entries, expected {} ({n} trials x {na} accounts)", n * na));
            }
        }
        if self.village_exhausted_count.len() != nv {
            p.push(format!(
                "village_exhausted_count holds {} entries, but the scenario has {nv} villages",
                self.village_exhausted_count.len()
            ));
        } else if let Some(v) = self.village_exhausted_count.iter().position(|&k| k > n as u64) {
            p.push(format!(
                "village_exhausted_count counts village {v} exhausted in {} trials, more than its {n}",
                self.village_exhausted_count[v]
            ));
        }
        if self.horizon != m.horizon
            || self.injected_share_ppm != m.injected_share_ppm
            || self.village_covered != m.village_covered
        {
            p.push("its horizon, injections or villages' covered loans are not the scenario's".into());
        }
        if let Some(e) = self.village_need_ppm.problem() {
            p.push(format!("village_need_ppm: {e}"));
        }
        if !self.weights.is_empty() && self.weights.len() != n {
            p.push(format!("weights holds {} entries, expected one per trial ({n})", self.weights.len()));
        }
        if let Some(i) = self.weights.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
            p.push(format!("weights[{i}] is {}, expected a finite weight of at least 0", self.weights[i]));
        }
        if self.weights.is_empty()
            && (!self.village_exhausted_weight.is_empty() || !self.village_need_weight.is_empty())
        {
            p.push("it holds weighted village figures but no weights".into());
        }
        p
    }
    /// Takes the trial rows of `b` and the banks' tally only (all a sweep's
    /// figures read).
    pub fn push_trials(&mut self, b: &Batch) {
        self.tally(b);
        self.push_weights(b);
        self.trials.extend_from_slice(&b.trials);
    }
    /// Drops all but the trial rows and the banks' tally.
    pub fn into_trials(self) -> Collected {
        Collected {
            trials: self.trials,
            n_accounts: self.n_accounts,
            horizon: self.horizon,
            banks: self.banks,
            account_bank: self.account_bank,
            shortfall_to_bank: self.shortfall_to_bank,
            weights: self.weights,
            bank_rows: self.bank_rows,
            ..Default::default()
        }
    }
    /// The trials' weights on an importance-sampled run; `None` on a plain one.
    pub fn weights(&self) -> Option<&[f64]> {
        (!self.weights.is_empty()).then_some(&self.weights[..])
    }
    /// The probability of an event of trial `i` (`hit(i)`) with its 95 %
    /// interval: Wilson's on plain runs, the weighted one otherwise.
    pub fn prob(&self, hit: impl Fn(usize) -> bool) -> Prob {
        match self.weights() {
            None => Prob::of((0..self.n()).filter(|&i| hit(i)).count() as u64, self.n() as u64),
            Some(w) => Prob::from(weighted::proportion(w, hit, CONFIDENCE)),
        }
    }
    /// The mean of `f(i)` over the trials (weighted on a weighted run), in
    /// `f`'s unit. Plain runs sum exactly in integers.
    pub fn mean_of(&self, f: impl Fn(usize) -> i64) -> f64 {
        let n = self.n();
        match self.weights() {
            None => (0..n).map(|i| i128::from(f(i))).sum::<i128>() as f64 / n.max(1) as f64,
            Some(w) => weighted::estimate(n, |i| w[i] * f(i) as f64).value,
        }
    }
    /// The probability of an event as a bare share: rounded to 1e-8 on
    /// plain runs, as ever, to 6 significant digits on weighted ones.
    pub fn share(&self, hit: impl Fn(usize) -> bool) -> f64 {
        let n = self.n();
        match self.weights() {
            None => ((0..n).filter(|&i| hit(i)).count() as f64 / n.max(1) as f64 * 1e8).round() / 1e8,
            Some(w) => sig6(weighted::estimate(n, |i| if hit(i) { w[i] } else { 0.0 }).value),
        }
    }
    /// A column's statistics in `unit`, weighted on a weighted run.
    pub fn stat(&self, values: Vec<i64>, unit: Unit) -> Stat {
        match self.weights() {
            None => Stat::of_unit(values, unit),
            Some(w) => Stat::of_weighted(&values, w, unit),
        }
    }
    pub fn account_min_deposits(&self, a: usize) -> Vec<i64> {
        self.min_deposits.iter().skip(a).step_by(self.n_accounts.max(1)).copied().collect()
    }
    pub fn n(&self) -> usize {
        self.trials.len()
    }
    pub fn column(&self, f: impl Fn(&TrialRow) -> i64) -> Vec<i64> {
        self.trials.iter().map(f).collect()
    }
    pub fn account_column(&self, a: usize, f: impl Fn(&AccountTrial) -> i64) -> Vec<i64> {
        self.accounts.iter().skip(a).step_by(self.n_accounts.max(1)).map(f).collect()
    }
}

/// The village share (ppm of its covered loans, rounded up) at which a fund
/// meets a demand of `demand` over the horizon; none without covered loans.
fn village_need(demand: Fen, covered: Fen) -> Option<i64> {
    let covered = covered.0 as i128;
    (covered > 0).then(|| {
        let need = ((demand.0 as i128 + 1) * crate::money::PPM as i128 + covered - 1) / covered;
        need.min(i64::MAX as i128) as i64
    })
}

/// Fen (possibly a mean) as yuan, rounded to the fen.
pub(crate) fn yuan(fen: f64) -> f64 {
    (fen).round() / 100.0
}

/// Statistics of one column, in yuan (money) or units (counts).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stat {
    pub mean: f64,
    pub std: f64,
    pub stderr: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub p99_5: f64,
    pub p99_9: f64,
    pub tvar95: f64,
    pub tvar99: f64,
    pub tvar99_5: f64,
    pub max: f64,
    /// Standard errors of the TVaRs, in the same order.
    pub tvar_stderr: [f64; 3],
    /// 95 % order-statistic intervals of p50 .. p99_9.
    pub ci: [[f64; 2]; 6],
}

impl Stat {
    /// The 95 % interval of the 99 % quantile.
    pub fn p99_ci(&self) -> [f64; 2] {
        self.ci[QUANTILE_LEVELS_BP.iter().position(|&bp| bp == 9900).expect("p99 is a summary level")]
    }
}

/// What the integers of a column measure.
#[derive(Clone, Copy, Debug)]
pub enum Unit {
    /// Fen, reported in yuan with two decimals.
    Money,
    /// Counts, reported as they are.
    Count,
    /// Millionths of a share, reported as a fraction.
    Millionths,
}

impl Stat {
    /// Money (`true`) or counts (`false`).
    pub fn of(values: Vec<i64>, money: bool) -> Stat {
        Stat::of_unit(values, if money { Unit::Money } else { Unit::Count })
    }

    pub fn of_unit(values: Vec<i64>, unit: Unit) -> Stat {
        let s: ColumnSummary = stats::summarize(values);
        let m = &s.moments;
        Stat::scaled(
            unit,
            Figures {
                mean: m.mean(),
                std: m.std(),
                stderr: m.stderr(),
                quantiles: s.quantiles,
                tvar: s.tvar,
                max: m.max,
                tvar_stderr: s.tvar_stderr,
                quantile_ci: s.quantile_ci,
            },
        )
    }

    /// The statistics of a weighted column ([`weighted::summarize`]): the
    /// weighted mean and its standard error, quantiles from the weighted
    /// exceedance curve with its inverted intervals, the weighted TVaRs.
    pub fn of_weighted(values: &[i64], w: &[f64], unit: Unit) -> Stat {
        let s = weighted::summarize(values, w, CONFIDENCE);
        Stat::scaled(
            unit,
            Figures {
                mean: s.mean.value,
                std: s.std,
                stderr: s.mean.stderr,
                quantiles: s.quantiles,
                tvar: s.tvar,
                max: s.max,
                tvar_stderr: s.tvar_stderr,
                quantile_ci: s.quantile_ci,
            },
        )
    }

    /// A column's figures in the unit it is reported in, plain or weighted alike.
    fn scaled(unit: Unit, f: Figures) -> Stat {
        let scale = |x: f64| match unit {
            Unit::Money => yuan(x),
            Unit::Count => (x * 1e6).round() / 1e6,
            Unit::Millionths => (x / 1e6 * 1e8).round() / 1e8,
        };
        let q = |i: usize| scale(f.quantiles[i] as f64);
        Stat {
            mean: scale(f.mean),
            std: scale(f.std),
            stderr: scale(f.stderr),
            p50: q(0),
            p90: q(1),
            p95: q(2),
            p99: q(3),
            p99_5: q(4),
            p99_9: q(5),
            tvar95: scale(f.tvar[0]),
            tvar99: scale(f.tvar[1]),
            tvar99_5: scale(f.tvar[2]),
            max: scale(f.max as f64),
            tvar_stderr: f.tvar_stderr.map(scale),
            ci: f.quantile_ci.map(|(lo, hi)| [scale(lo as f64), scale(hi as f64)]),
        }
    }
}

/// A column's figures before scaling: what [`Stat::scaled`] reads of a
/// plain ([`ColumnSummary`]) or a weighted summary.
struct Figures {
    mean: f64,
    std: f64,
    stderr: f64,
    quantiles: [i64; 6],
    tvar: [f64; 3],
    max: i64,
    tvar_stderr: [f64; 3],
    quantile_ci: [(i64, i64); 6],
}

/// `x` to 6 significant digits: weighted runs resolve probabilities far
/// below the 1e-8 that plain runs round to.
pub(crate) fn sig6(x: f64) -> f64 {
    if x == 0.0 || !x.is_finite() {
        return x;
    }
    let scale = libm::pow(10.0, 5.0 - libm::floor(libm::log10(x.abs())));
    (x * scale).round() / scale
}

impl From<stats::Proportion> for Prob {
    /// A weighted probability ([`weighted::proportion`]), to 6 significant digits.
    fn from(w: stats::Proportion) -> Prob {
        Prob { p: sig6(w.p), lo: sig6(w.lo), hi: sig6(w.hi), k: w.k, n: w.n }
    }
}

/// A probability with its Wilson interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prob {
    pub p: f64,
    pub lo: f64,
    pub hi: f64,
    pub k: u64,
    pub n: u64,
}

impl Prob {
    pub fn of(k: u64, n: u64) -> Prob {
        let w = stats::wilson(k, n, CONFIDENCE);
        let r = |x: f64| (x * 1e8).round() / 1e8;
        Prob { p: r(w.p), lo: r(w.lo), hi: r(w.hi), k, n }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PortfolioFacts {
    pub loans: usize,
    pub principal: f64,
    pub comp_covered_principal: f64,
    pub comp_deposits: f64,
    pub village_funds: f64,
    pub villages: usize,
    pub accounts: usize,
    pub loan_years_scheduled: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub bank: String,
    /// The bank's English display name (`label.en` or `name`, else
    /// `label.zh`, else its id); the reports name it in their own language
    /// from the scenario's labels.
    pub bank_name: String,
    pub county: String,
    pub covered_principal: f64,
    pub deposit: f64,
    /// Covered loans per yuan of deposit (10 means 10:1); null for no deposit.
    pub deposit_ratio: Option<f64>,
    pub exhausted: Prob,
    pub draws: Stat,
    pub shortfall: Stat,
    pub bank_loss: Stat,
    /// Probability that the account first runs dry in year 1, 2, ...
    pub exhausted_in_year: Vec<f64>,
}

impl AccountSummary {
    /// The bank's English display name, or its id when the summary has none.
    pub fn name(&self) -> &str {
        if self.bank_name.is_empty() { &self.bank } else { &self.bank_name }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Adequacy {
    /// Probability that any compensation account is exhausted within the horizon.
    pub comp_fund_exhausted_prob: f64,
    pub comp_fund_exhausted: Prob,
    /// Mean share of village funds exhausted within the horizon.
    pub village_funds_exhausted_share: f64,
    /// Probability that at least one village fund is exhausted.
    pub any_village_fund_exhausted: Prob,
    pub accounts: Vec<AccountSummary>,
    pub counties: Vec<CountySummary>,
    pub villages: VillageBreakdown,
    /// Deposits and village share that last the horizon at 90 / 95 / 99 / 99.5 %.
    pub sizing: crate::analysis::sizing::Sizing,
}

/// A county's compensation accounts together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CountySummary {
    pub county: String,
    pub deposit: f64,
    pub covered_principal: f64,
    pub draws: Stat,
    pub shortfall: Stat,
    pub bank_loss: Stat,
    /// Probability that any of the county's accounts is exhausted.
    pub any_account_exhausted: Prob,
    /// Probability that the first exhaustion in the county happens in year 1, 2, ...
    pub first_exhausted_in_year: Vec<f64>,
}

/// How the village funds fare.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VillageBreakdown {
    pub funded_villages: usize,
    /// Distribution over trials of the share of funded villages whose fund ran dry.
    pub exhausted_share: Stat,
    /// The villages most often exhausted: (id, probability).
    pub most_exhausted: Vec<(String, f64)>,
}

/// What the scheme costs the budget over the horizon.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fiscal {
    pub total: Stat,
    /// Means of the parts (yuan).
    pub comp_fund_draws: f64,
    pub shortfall_borne_by_budget: f64,
    pub top_ups: f64,
    pub interest_subsidy: f64,
    pub premium_subsidy: f64,
    /// Budget money committed up front: compensation deposits and village funds.
    pub deposits: f64,
    pub village_funds: f64,
    /// Loans per yuan of budget money committed (docs/model.md 3b): the book's
    /// principal over `leverage_parts.budget`; null when the budget commits nothing.
    pub leverage: Option<f64>,
    pub leverage_parts: Leverage,
}

/// The budget's mean cost over the horizon, in yuan, and its parts, which
/// sum to it (each is rounded to the fen on its own): the parts of
/// [`Flows::fiscal_cost`], the same in [`Fiscal`], in the leverage and
/// wherever a cost is split.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FiscalParts {
    pub mean: f64,
    pub comp_fund_draws: f64,
    pub shortfall_borne_by_budget: f64,
    pub top_ups: f64,
    pub interest_subsidy: f64,
    pub premium_subsidy: f64,
}

impl FiscalParts {
    pub fn of(c: &Collected) -> FiscalParts {
        let mean_of = |f: fn(&Flows) -> Fen| mean_yuan(c, f);
        FiscalParts {
            mean: mean_of(|f| f.fiscal_cost()),
            comp_fund_draws: mean_of(|f| f.comp_fund),
            shortfall_borne_by_budget: mean_of(|f| f.shortfall - f.shortfall_to_bank),
            top_ups: mean_of(|f| f.top_ups),
            interest_subsidy: mean_of(|f| f.interest_subsidy),
            premium_subsidy: mean_of(|f| f.premium_subsidy),
        }
    }

    /// The parts with their column names, in [`Flows::fiscal_cost`]'s order.
    pub fn parts(&self) -> [(&'static str, f64); 5] {
        [
            ("comp_fund_draws", self.comp_fund_draws),
            ("shortfall_borne_by_budget", self.shortfall_borne_by_budget),
            ("top_ups", self.top_ups),
            ("interest_subsidy", self.interest_subsidy),
            ("premium_subsidy", self.premium_subsidy),
        ]
    }
}

/// The parts of the fiscal leverage (yuan; expected values are means over trials).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Leverage {
    /// The book's principal (credit the scheme unlocks).
    pub loans: f64,
    pub deposits: f64,
    /// Village funds paid in by the budget (0 unless `funds.village.from_budget`).
    pub village_funds: f64,
    /// Societies' capital paid in by the budget (0 unless `societies.from_budget`).
    pub society_capital: f64,
    pub interest_subsidy: f64,
    pub top_ups: f64,
    pub shortfall: f64,
    /// The sum of the parts above except `loans`.
    pub budget: f64,
}

/// Insurance claims paid to banks, by product, and what went to households.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InsuranceSummary {
    /// Mean over trials of the claims paid to the bank, by product (yuan).
    pub agricultural: f64,
    pub accident: f64,
    pub credit: f64,
    pub total: f64,
    /// Mean of what claims paid beyond what was owed (to households).
    pub excess_to_households: f64,
    /// Mean premium subsidy paid by the budget.
    pub premium_subsidy: f64,
}

/// Shares of the exposure at default whose default had a disaster, an
/// epidemic or a personal shock behind it (that year, in that village and
/// industry, or to that borrower). They can overlap.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Causes {
    pub disaster: f64,
    pub epidemic: f64,
    pub shock: f64,
    /// Defaults of linked households after their firm's default (benefit linkage).
    pub linkage: f64,
    pub any_cause_upper_bound: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub scenario: String,
    pub description: String,
    pub engine_version: String,
    pub seed: u64,
    pub trials: u64,
    pub horizon_years: u32,
    pub portfolio: PortfolioFacts,
    pub layers: std::collections::BTreeMap<String, Stat>,
    pub counts: std::collections::BTreeMap<String, Stat>,
    pub adequacy: Adequacy,
    pub insurance: InsuranceSummary,
    pub causes: Causes,
    pub fiscal: Fiscal,
    /// Mutual-aid societies (absent when the scenario has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub societies: Option<SocietySummary>,
    /// What an importance-sampled run's weights say (absent on plain runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance: Option<Importance>,
}

/// Below this share of the trials, an effective sample size is degenerate.
pub const ESS_FLOOR: f64 = 0.01;
/// Above this share of the weights' sum, one trial's weight is degenerate.
pub const LARGEST_WEIGHT_CEILING: f64 = 0.10;

/// The weights of an importance-sampled run (docs/tail.md, "Weighted
/// statistics"): how many plain trials they are worth, and whether a few
/// of them carry the estimates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Importance {
    /// `(sum w)^2 / sum w^2`: the plain trials the weighted ones are worth
    /// for a figure that does not vary with the weights.
    pub effective_sample_size: f64,
    /// The effective sample size over the trials.
    pub effective_share: f64,
    /// `(1/N) sum w`, which is 1 in expectation under a correct measure,
    /// with its standard error: a check of the likelihood ratios.
    pub mean_weight: f64,
    pub mean_weight_stderr: f64,
    /// The largest weight over the weights' sum.
    pub largest_weight_share: f64,
    /// Whether the weights degenerate: an effective sample size below
    /// [`ESS_FLOOR`] of the trials, or one weight above
    /// [`LARGEST_WEIGHT_CEILING`] of their sum. Then the intervals of
    /// weighted figures understate their error.
    pub degenerate: bool,
    /// Says why, in English, when `degenerate` (the reports word it in their language).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// The law the trials were drawn from: the target, the pilot and the tilt
    /// ([`crate::model::importance::Measure`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub measure: Option<crate::model::importance::Measure>,
}

impl Importance {
    /// The figures of `w`; `None` when there are no weights (a plain run).
    pub fn of(w: &[f64]) -> Option<Importance> {
        if w.is_empty() {
            return None;
        }
        let n = w.len() as f64;
        let ess = weighted::effective_sample_size(w);
        let mean = weighted::estimate(w.len(), |i| w[i]);
        let sum: f64 = w.iter().sum();
        let largest = w.iter().copied().fold(0.0, f64::max);
        let largest_share = if sum > 0.0 { largest / sum } else { 1.0 };
        let (thin, heavy) = (ess < ESS_FLOOR * n, largest_share > LARGEST_WEIGHT_CEILING);
        let warning = (thin || heavy).then(|| {
            let mut why = Vec::new();
            if thin {
                why.push(format!(
                    "the effective sample size, {ess:.1}, is below {} % of the {n} trials",
                    ESS_FLOOR * 100.0
                ));
            }
            if heavy {
                why.push(format!(
                    "one trial carries {:.1} % of the weights' sum (more than {} %)",
                    largest_share * 100.0,
                    LARGEST_WEIGHT_CEILING * 100.0
                ));
            }
            format!(
                "the importance weights degenerate: {}; the weighted figures and their intervals are not reliable \
                 (run more trials or choose another --tail)",
                why.join("; ")
            )
        });
        Some(Importance {
            effective_sample_size: (ess * 10.0).round() / 10.0,
            effective_share: sig6(ess / n),
            mean_weight: sig6(mean.value),
            mean_weight_stderr: sig6(mean.stderr),
            largest_weight_share: sig6(largest_share),
            degenerate: thin || heavy,
            warning,
            measure: None,
        })
    }
}

/// The societies' capital over the horizon.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SocietySummary {
    pub count: usize,
    /// Capital at the start, all societies (yuan).
    pub capital: f64,
    /// Mean loss borne by the societies' capital per future (yuan).
    pub mean_loss: f64,
    /// Probability that at least one society ends impaired.
    pub any_impaired: Prob,
    /// Mean share of societies impaired at the horizon's end.
    pub impaired_share: f64,
}

/// Builds the summary from the collected tables.
pub fn build(m: &Model, seed: u64, c: &Collected) -> Summary {
    let n = c.n() as u64;
    // The parts sort copies of their columns: they are computed side by side
    // (the same figures in any order).
    let ((layers, counts), ((accounts, (counties, villages)), sizing)) = rayon::join(
        || rayon::join(|| layer_stats(c), || count_stats(c)),
        || {
            rayon::join(
                || {
                    rayon::join(
                        || account_summaries(m, c),
                        || rayon::join(|| county_breakdown(m, c), || village_breakdown(m, c)),
                    )
                },
                || crate::analysis::sizing::size(m, c, &crate::analysis::sizing::LEVELS),
            )
        },
    );
    let mean_of = |f: fn(&Flows) -> Fen| mean_yuan(c, f);
    let leverage = Leverage::of(m, m.total_principal(), c);
    let parts = FiscalParts::of(c);
    let s = &m.scenario;
    Summary {
        scenario: s.name.clone(),
        description: s.description.pick(false).trim().to_string(),
        engine_version: crate::ENGINE_VERSION.to_string(),
        seed,
        trials: n,
        horizon_years: m.horizon as u32,
        portfolio: portfolio_facts(m),
        adequacy: adequacy(m, c, accounts, counties, villages, sizing),
        insurance: InsuranceSummary {
            agricultural: mean_of(|f| f.claims_agricultural),
            accident: mean_of(|f| f.claims_accident),
            credit: mean_of(|f| f.claims_credit),
            total: mean_of(|f| f.insurance),
            excess_to_households: mean_of(|f| f.insurance_excess),
            premium_subsidy: mean_of(|f| f.premium_subsidy),
        },
        causes: causes(c),
        fiscal: Fiscal {
            total: layers["fiscal_cost"].clone(),
            comp_fund_draws: parts.comp_fund_draws,
            shortfall_borne_by_budget: parts.shortfall_borne_by_budget,
            top_ups: parts.top_ups,
            interest_subsidy: parts.interest_subsidy,
            premium_subsidy: parts.premium_subsidy,
            deposits: deposits(m).to_yuan_f64(),
            village_funds: village_funds(m).to_yuan_f64(),
            leverage: leverage.ratio(),
            leverage_parts: leverage,
        },
        societies: societies(m, c),
        importance: c.weights().and_then(Importance::of).map(|i| Importance { measure: m.importance.clone(), ..i }),
        layers,
        counts,
    }
}

/// The compensation deposits of every account (the budget pays them in).
pub(crate) fn deposits(m: &Model) -> Fen {
    m.accounts.iter().map(|a| a.deposit).sum()
}

/// The village funds' starting money, all villages.
pub(crate) fn village_funds(m: &Model) -> Fen {
    m.village_fund_initial.iter().copied().sum()
}

/// A flow's mean over the trials, in yuan.
pub(crate) fn mean_yuan(c: &Collected, f: fn(&Flows) -> Fen) -> f64 {
    if c.weights().is_some() {
        return yuan(c.mean_of(|i| f(&c.trials[i].flows).0));
    }
    yuan(total(c, f).0 as f64 / c.n().max(1) as f64)
}

/// Every money column's statistics, with the budget's cost and the bank's total.
fn layer_stats(c: &Collected) -> BTreeMap<String, Stat> {
    let mut layers: BTreeMap<String, Stat> = MONEY
        .par_iter()
        .map(|col| (col.name.to_string(), c.stat(c.column(|r| (col.get)(&r.flows).0), Unit::Money)))
        .collect();
    let (fiscal, bank) = rayon::join(
        || c.stat(c.column(|r| r.flows.fiscal_cost().0), Unit::Money),
        || c.stat(c.column(|r| r.flows.bank_total().0), Unit::Money),
    );
    layers.insert("fiscal_cost".into(), fiscal);
    layers.insert("bank_total".into(), bank);
    layers
}

/// The count columns' statistics.
fn count_stats(c: &Collected) -> BTreeMap<String, Stat> {
    type Getter = fn(&TrialRow) -> i64;
    let count_cols: [(&str, Getter); 8] = [
        ("defaults", |r| r.counts.defaults as i64),
        ("village_funds_exhausted", |r| r.counts.village_funds_exhausted as i64),
        ("comp_accounts_exhausted", |r| r.counts.comp_accounts_exhausted as i64),
        ("societies_impaired", |r| r.counts.societies_impaired as i64),
        ("disaster_events", |r| r.counts.disaster_events as i64),
        ("epidemic_outbreaks", |r| r.counts.epidemic_outbreaks as i64),
        ("shocks", |r| r.counts.shocks as i64),
        ("loan_years", |r| r.counts.loan_years as i64),
    ];
    count_cols.par_iter().map(|&(name, f)| (name.to_string(), c.stat(c.column(f), Unit::Count))).collect()
}

/// Each compensation account: its deposit, how often and in which year it
/// runs dry, and what it pays.
fn account_summaries(m: &Model, c: &Collected) -> Vec<AccountSummary> {
    m.accounts
        .par_iter()
        .enumerate()
        .map(|(a, acc)| {
            let exhausted = c.account_column(a, |x| x.exhausted_year as i64);
            AccountSummary {
                bank: m.banks[acc.bank as usize].clone(),
                bank_name: m.bank_names[acc.bank as usize].clone(),
                county: m.counties[acc.county as usize].clone(),
                covered_principal: acc.covered_principal.to_yuan_f64(),
                deposit: acc.deposit.to_yuan_f64(),
                deposit_ratio: (acc.deposit.0 > 0)
                    .then(|| (acc.covered_principal.0 as f64 / acc.deposit.0 as f64 * 1e4).round() / 1e4),
                exhausted: c.prob(|i| exhausted[i] > 0),
                draws: c.stat(c.account_column(a, |x| x.draws.0), Unit::Money),
                shortfall: c.stat(c.account_column(a, |x| x.shortfall.0), Unit::Money),
                bank_loss: c.stat(c.account_column(a, |x| x.bank_loss.0), Unit::Money),
                exhausted_in_year: (1..=m.horizon as i64).map(|y| c.share(|i| exhausted[i] == y)).collect(),
            }
        })
        .collect()
}

/// How often the funds run dry, with the breakdowns and the sizing.
fn adequacy(
    m: &Model,
    c: &Collected,
    accounts: Vec<AccountSummary>,
    counties: Vec<CountySummary>,
    villages: VillageBreakdown,
    sizing: crate::analysis::sizing::Sizing,
) -> Adequacy {
    let n = c.n() as u64;
    let nv_funded = m.village_fund_initial.iter().filter(|f| f.0 > 0).count().max(1);
    let village_share = if n == 0 {
        0.0
    } else if c.weights().is_some() {
        sig6(c.mean_of(|i| c.trials[i].counts.village_funds_exhausted as i64) / nv_funded as f64)
    } else {
        let share = c.trials.iter().map(|r| r.counts.village_funds_exhausted as f64).sum::<f64>()
            / (n as f64 * nv_funded as f64);
        (share * 1e8).round() / 1e8
    };
    let comp = c.prob(|i| c.trials[i].counts.comp_accounts_exhausted > 0);
    Adequacy {
        comp_fund_exhausted_prob: comp.p,
        comp_fund_exhausted: comp,
        village_funds_exhausted_share: village_share,
        any_village_fund_exhausted: c.prob(|i| c.trials[i].counts.village_funds_exhausted > 0),
        accounts,
        counties,
        villages,
        sizing,
    }
}

fn portfolio_facts(m: &Model) -> PortfolioFacts {
    PortfolioFacts {
        loans: m.loans.n,
        principal: m.total_principal().to_yuan_f64(),
        comp_covered_principal: m.accounts.iter().map(|a| a.covered_principal).sum::<Fen>().to_yuan_f64(),
        comp_deposits: deposits(m).to_yuan_f64(),
        village_funds: village_funds(m).to_yuan_f64(),
        villages: m.villages.len(),
        accounts: m.accounts.len(),
        loan_years_scheduled: m.scheduled_loan_years(),
    }
}

/// What share of the exposure each cause lies behind.
fn causes(c: &Collected) -> Causes {
    let weighted = |f: fn(&Flows) -> Fen| c.mean_of(|i| f(&c.trials[i].flows).0);
    let exposure = match c.weights() {
        None => total(c, |f| f.exposure).0.max(1) as f64,
        Some(_) => weighted(|f| f.exposure).max(f64::MIN_POSITIVE),
    };
    let share = |f: fn(&Flows) -> Fen| {
        let part = if c.weights().is_some() { weighted(f) } else { total(c, f).0 as f64 };
        (part / exposure * 1e6).round() / 1e6
    };
    Causes {
        disaster: share(|f| f.exposure_disaster),
        epidemic: share(|f| f.exposure_epidemic),
        shock: share(|f| f.exposure_shock),
        linkage: share(|f| f.exposure_linkage),
        any_cause_upper_bound: share(|f| {
            f.exposure_disaster + f.exposure_epidemic + f.exposure_shock + f.exposure_linkage
        })
        .min(1.0),
    }
}

/// The societies' losses and impairments; `None` without societies.
fn societies(m: &Model, c: &Collected) -> Option<SocietySummary> {
    let n = c.n() as u64;
    (!m.societies.is_empty()).then(|| {
        let impaired: u64 = c.trials.iter().map(|r| r.counts.societies_impaired as u64).sum();
        let impaired_share = match c.weights() {
            None => (impaired as f64 / (n.max(1) as f64 * m.societies.len() as f64) * 1e8).round() / 1e8,
            Some(_) => sig6(c.mean_of(|i| c.trials[i].counts.societies_impaired as i64) / m.societies.len() as f64),
        };
        SocietySummary {
            count: m.societies.len(),
            capital: m.societies.total_capital().to_yuan_f64(),
            mean_loss: mean_yuan(c, |f| f.society_loss),
            any_impaired: c.prob(|i| c.trials[i].counts.societies_impaired > 0),
            impaired_share,
        }
    })
}

impl Leverage {
    /// The leverage of `m`'s funds over the trials of `c`, for a book of
    /// `loans` principal: `m.total_principal()`, except for a sweep's cell
    /// reduced to its funds ([`crate::analysis::sweep::for_settlement`]),
    /// which has its base's book but no longer holds it.
    pub(crate) fn of(m: &Model, loans: Fen, c: &Collected) -> Leverage {
        let s = &m.scenario;
        let village_funds = if s.funds.village.from_budget { village_funds(m).to_yuan_f64() } else { 0.0 };
        let society_capital = if m.societies.from_budget { m.societies.total_capital().to_yuan_f64() } else { 0.0 };
        let parts = FiscalParts::of(c);
        let mut l = Leverage {
            loans: loans.to_yuan_f64(),
            deposits: deposits(m).to_yuan_f64(),
            village_funds,
            society_capital,
            interest_subsidy: parts.interest_subsidy,
            top_ups: parts.top_ups,
            shortfall: parts.shortfall_borne_by_budget,
            budget: 0.0,
        };
        let budget = l.deposits + l.village_funds + l.society_capital + l.interest_subsidy + l.top_ups + l.shortfall;
        l.budget = (budget * 100.0).round() / 100.0;
        l
    }

    /// Loans per budget yuan, to 4 decimals; none when the budget commits nothing.
    pub(crate) fn ratio(&self) -> Option<f64> {
        (self.budget > 0.0).then(|| (self.loans / self.budget * 1e4).round() / 1e4)
    }
}

fn county_breakdown(m: &Model, c: &Collected) -> Vec<CountySummary> {
    let n = c.n();
    let na = c.n_accounts;
    (0..m.counties.len())
        .filter(|&ci| m.accounts.iter().any(|a| a.county as usize == ci))
        .map(|ci| {
            let mine: Vec<usize> = (0..na).filter(|&a| m.accounts[a].county as usize == ci).collect();
            let sum_of = |f: fn(&AccountTrial) -> i64| -> Vec<i64> {
                (0..n).map(|k| mine.iter().map(|&a| f(&c.accounts[k * na + a])).sum()).collect()
            };
            let first: Vec<u32> = (0..n)
                .map(|k| {
                    mine.iter().map(|&a| c.accounts[k * na + a].exhausted_year).filter(|&y| y > 0).min().unwrap_or(0)
                })
                .collect();
            CountySummary {
                county: m.counties[ci].clone(),
                deposit: mine.iter().map(|&a| m.accounts[a].deposit).sum::<Fen>().to_yuan_f64(),
                covered_principal: mine.iter().map(|&a| m.accounts[a].covered_principal).sum::<Fen>().to_yuan_f64(),
                draws: c.stat(sum_of(|x| x.draws.0), Unit::Money),
                shortfall: c.stat(sum_of(|x| x.shortfall.0), Unit::Money),
                bank_loss: c.stat(sum_of(|x| x.bank_loss.0), Unit::Money),
                any_account_exhausted: c.prob(|i| first[i] > 0),
                first_exhausted_in_year: (1..=m.horizon as u32).map(|y| c.share(|i| first[i] == y)).collect(),
            }
        })
        .collect()
}

fn village_breakdown(m: &Model, c: &Collected) -> VillageBreakdown {
    let funded = m.village_fund_initial.iter().filter(|f| f.0 > 0).count();
    let n = c.n().max(1) as f64;
    // Share in millionths so the column is an exact integer.
    let shares = c.column(|r| (r.counts.village_funds_exhausted as i64 * 1_000_000) / funded.max(1) as i64);
    let exhausted = c.stat(shares, Unit::Millionths);
    let mut order: Vec<usize> = (0..m.villages.len()).filter(|&v| c.village_exhausted_count[v] > 0).collect();
    if c.weights().is_some() {
        // How often, weighed back: a village's weight of dry trials over N.
        let weight = |v: usize| c.village_exhausted_weight.get(v).copied().unwrap_or(0);
        order.sort_by(|&a, &b| weight(b).cmp(&weight(a)).then(a.cmp(&b)));
        return VillageBreakdown {
            funded_villages: funded,
            exhausted_share: exhausted,
            most_exhausted: order
                .into_iter()
                .take(10)
                .map(|v| (m.villages[v].id.clone(), sig6(weighted::unfixed(weight(v)) / n)))
                .collect(),
        };
    }
    order.sort_by(|&a, &b| c.village_exhausted_count[b].cmp(&c.village_exhausted_count[a]).then(a.cmp(&b)));
    VillageBreakdown {
        funded_villages: funded,
        exhausted_share: exhausted,
        most_exhausted: order
            .into_iter()
            .take(10)
            .map(|v| (m.villages[v].id.clone(), (c.village_exhausted_count[v] as f64 / n * 1e6).round() / 1e6))
            .collect(),
    }
}

/// Sums of a flows column over the collected trials (exact).
pub fn total(c: &Collected, f: impl Fn(&Flows) -> Fen) -> Fen {
    c.trials.iter().map(|r| f(&r.flows)).sum()
}

// Keep the level tables in view: the JSON names p50..p99_9 and tvar95..tvar99_5 follow them.
const _: () = assert!(QUANTILE_LEVELS_BP.len() == 6 && TVAR_LEVELS_BP.len() == 3);

#[cfg(test)]
mod tests {
    use super::*;

    /// The reports read `summary.json` back as [`Summary`]: every figure must
    /// come back as it was, and write the same bytes again.
    #[test]
    fn summary_reads_back_as_written() {
        let s = crate::scenario::parse(crate::scenario::WANGCANG_YAML, "wangcang", &[]).expect("the built-in scenario");
        let m = Model::build(s, "wangcang", &[]).expect("the built-in scenario builds");
        let mut c = Collected::new(&m);
        let _ = crate::sim::engine::simulate(&m, 7, 0..300, 2, &|_| {}, |b| {
            c.push(&b);
            Ok::<(), std::convert::Infallible>(())
        });
        let summary = build(&m, 7, &c);
        let json = serde_json::to_string_pretty(&summary).unwrap();
        let back: Summary = serde_json::from_str(&json).unwrap();
        assert_eq!(back, summary);
        assert_eq!(serde_json::to_string_pretty(&back).unwrap(), json);
        assert!(back.societies.is_some(), "the built-in scenario has societies");
        assert!(back.importance.is_none() && !json.contains("importance"), "a plain run has no weights to describe");
    }

    fn model(sets: &[(&str, &str)]) -> Model {
        let o: Vec<crate::scenario::Override> =
            sets.iter().map(|(k, v)| crate::scenario::Override { path: (*k).into(), value: (*v).into() }).collect();
        let s = crate::scenario::parse(crate::scenario::WANGCANG_YAML, "wangcang", &o).expect("the built-in scenario");
        Model::build(s, "wangcang", &[]).expect("the built-in scenario builds")
    }

    /// Collects trials `r` of `m`, each weighted by `weigh(trial)` (none: plain).
    fn collect(m: &Model, r: std::ops::Range<u64>, weigh: Option<fn(u64) -> f64>) -> Collected {
        let mut c = Collected::new(m);
        let _ = crate::sim::engine::simulate(m, 11, r, 2, &|_| {}, |mut b| {
            if let Some(f) = weigh {
                b.weights = b.trials.iter().map(|t| f(t.trial)).collect();
            }
            c.push(&b);
            Ok::<(), std::convert::Infallible>(())
        });
        c
    }

    /// Weight 2 on the even trials and 0 on the odd ones is, exactly, a
    /// plain run of the even trials: each weighted figure (means, quantiles,
    /// TVaRs, every probability of running dry, the sizing, each bank's
    /// figures) must be that run's. This follows the weights through
    /// `Collected::push` (the village and bank figures kept beside the rows)
    /// to every figure of summary.json.
    #[test]
    fn weights_of_two_and_zero_give_the_even_trials_plain_figures() {
        let m = model(&[("funds.compensation.deposit_ratio", "300")]);
        let n = 400;
        let w = collect(&m, 0..n, Some(|k| if k % 2 == 0 { 2.0 } else { 0.0 }));
        let mut even = Collected::new(&m);
        for k in (0..n).step_by(2) {
            even.append(collect(&m, k..k + 1, None));
        }
        let (sw, se) = (build(&m, 11, &w), build(&m, 11, &even));
        let close = |a: f64, b: f64, what: &str| assert!((a - b).abs() <= 0.011, "{what}: {a} against {b}");
        let same_stat = |a: &Stat, b: &Stat, what: &str| {
            close(a.mean, b.mean, what);
            assert_eq!(
                [a.p50, a.p90, a.p95, a.p99, a.p99_5, a.p99_9],
                [b.p50, b.p90, b.p95, b.p99, b.p99_5, b.p99_9],
                "{what}"
            );
            // 200 trials: n (1 - a) is whole at every TVaR level, where R-U is the tail's mean.
            for (x, y) in [(a.tvar95, b.tvar95), (a.tvar99, b.tvar99), (a.tvar99_5, b.tvar99_5)] {
                close(x, y, what);
            }
            assert_eq!(a.max, b.max, "{what}");
            for (i, ci) in a.ci.iter().enumerate() {
                let q = [a.p50, a.p90, a.p95, a.p99, a.p99_5, a.p99_9][i];
                assert!(ci[0] <= q && q <= ci[1], "{what}: {ci:?} holds {q}");
            }
        };
        for (name, st) in sw.layers.iter().chain(&sw.counts) {
            same_stat(st, se.layers.get(name).or(se.counts.get(name)).unwrap(), name);
        }
        // Weighted probabilities keep 6 significant digits, plain ones 8 decimals.
        let near = |a: f64, b: f64| (a - b).abs() <= 1e-5 * b.abs() + 1e-8;
        let same_p = |a: &Prob, b: &Prob, what: &str| {
            assert!(near(a.p, b.p), "{what}: {} against {}", a.p, b.p);
            assert!(a.lo <= a.p && a.p <= a.hi, "{what}: {a:?}");
        };
        let (aw, ae) = (&sw.adequacy, &se.adequacy);
        assert!(ae.comp_fund_exhausted.k > 0, "at 300:1 some account should run dry: the test has no power");
        same_p(&aw.comp_fund_exhausted, &ae.comp_fund_exhausted, "any account dry");
        same_p(&aw.any_village_fund_exhausted, &ae.any_village_fund_exhausted, "any village fund dry");
        assert!(near(aw.village_funds_exhausted_share, ae.village_funds_exhausted_share));
        for (a, b) in aw.accounts.iter().zip(&ae.accounts) {
            same_p(&a.exhausted, &b.exhausted, &a.bank);
            same_stat(&a.draws, &b.draws, &a.bank);
            for (x, y) in a.exhausted_in_year.iter().zip(&b.exhausted_in_year) {
                assert!(near(*x, *y), "{x} against {y}");
            }
        }
        for (a, b) in aw.counties.iter().zip(&ae.counties) {
            same_p(&a.any_account_exhausted, &b.any_account_exhausted, &a.county);
        }
        let (vw, ve) = (&aw.villages.most_exhausted, &ae.villages.most_exhausted);
        assert!(!ve.is_empty(), "some village fund should run dry: the test has no power");
        for (a, b) in vw.iter().zip(ve) {
            assert!(near(a.1, b.1), "{a:?} against {b:?}");
        }
        for (a, b) in aw.sizing.accounts.iter().zip(&ae.sizing.accounts) {
            same_p(&a.current_depletion, &b.current_depletion, "depletion");
            for (x, y) in a.levels.iter().zip(&b.levels) {
                assert_eq!((x.deposit, x.ratio), (y.deposit, y.ratio));
                assert!(x.deposit_ci[0] <= x.deposit && x.deposit <= x.deposit_ci[1]);
            }
        }
        let (gw, ge) = (&aw.sizing.village, &ae.sizing.village);
        assert_eq!(gw.lasting_at_current, ge.lasting_at_current);
        for (x, y) in gw.levels.iter().zip(&ge.levels) {
            assert_eq!(x.share, y.share, "village share at {}", x.confidence);
        }
        close(sw.fiscal.total.mean, se.fiscal.total.mean, "fiscal cost");
        close(sw.insurance.total, se.insurance.total, "insurance");
        assert!((sw.causes.disaster - se.causes.disaster).abs() < 2e-6);
        let (pw, pe) =
            (crate::analysis::policy::PolicyFigures::of(&m, &w), crate::analysis::policy::PolicyFigures::of(&m, &even));
        for (a, b) in pw.banks.iter().zip(&pe.banks) {
            same_p(&a.dry, &b.dry, &a.bank);
            close(a.draws.mean, b.draws.mean, &a.bank);
            close(a.bank_loss.mean, b.bank_loss.mean, &a.bank);
        }
        close(pw.comp_draws.mean, pe.comp_draws.mean, "comp draws");
        // Half the weight on half the trials: worth 200 plain trials.
        let imp = sw.importance.expect("a weighted run describes its weights");
        assert_eq!((imp.effective_sample_size, imp.effective_share, imp.mean_weight), (200.0, 0.5, 1.0));
        assert!(!imp.degenerate && imp.warning.is_none());
        assert!(se.importance.is_none());
    }

    /// A weighted collection merges from its parts as shards do (also
    /// through `state.json`) into what one run collects, and a plain one
    /// writes no weights.
    #[test]
    fn weighted_collections_merge_and_read_back() {
        let m = model(&[("funds.compensation.deposit_ratio", "300")]);
        let weigh: fn(u64) -> f64 = |k| 0.25 + (k % 7) as f64 * 0.3;
        let whole = collect(&m, 0..240, Some(weigh));
        let mut parts = collect(&m, 0..100, Some(weigh));
        let back: Collected =
            serde_json::from_str(&serde_json::to_string(&collect(&m, 100..240, Some(weigh))).unwrap()).unwrap();
        assert!(back.problems(&m).is_empty(), "{:?}", back.problems(&m));
        parts.append(back);
        assert_eq!(parts.weights, whole.weights);
        assert_eq!(parts.village_exhausted_weight, whole.village_exhausted_weight);
        assert_eq!(parts.village_need_weight, whole.village_need_weight);
        let json = serde_json::to_string(&build(&m, 11, &whole)).unwrap();
        assert_eq!(serde_json::to_string(&build(&m, 11, &parts)).unwrap(), json);
        let plain = serde_json::to_string(&collect(&m, 0..20, None)).unwrap();
        assert!(!plain.contains("weight"), "a plain state names no weights");
        let mut bad = collect(&m, 0..20, Some(weigh));
        bad.weights.pop();
        assert!(bad.problems(&m).iter().any(|p| p.contains("weights holds 19 entries")));
    }

    /// One heavy trial makes the weights degenerate, and the summary says so.
    #[test]
    fn degenerate_weights_are_flagged() {
        let mut w = vec![1e-3; 1000];
        w[17] = 50.0;
        let imp = Importance::of(&w).unwrap();
        assert!(imp.degenerate && imp.largest_weight_share > 0.9, "{imp:?}");
        assert!(imp.warning.unwrap().contains("one trial carries"));
        assert!(!Importance::of(&[1.0; 1000]).unwrap().degenerate);
        assert!(Importance::of(&[]).is_none());
    }
}
