//! Importance sampling for the rare tail (docs/tail.md): a change of
//! measure chosen for a user's tail (`--tail`), and each trial's likelihood
//! ratio under it.
//!
//! **What changes.** Each systematic innovation (every county's AR(1)
//! innovation and every industry's factor, per year) is drawn from
//! `N(mu, 1)` instead of `N(0, 1)`: the same uniform through the inverse
//! normal, plus `mu`, so a trial keeps its streams and only the law moves.
//! Disasters and epidemics come `Poisson(lambda f)` instead of
//! `Poisson(lambda)` per region and year, and their Beta severities from
//! `Beta(alpha + theta, beta)`. For an `exposure:P` target the loans large
//! enough to move the level alone default with twisted probabilities (the
//! inner twist, [`crate::model::importance::InnerTwist`], drawn by the
//! engine). Given those, everything else (zone hits, the other defaults,
//! the waterfall) keeps its law, so the likelihood ratio of a trial is
//! exactly the product of `exp(-mu eps + mu^2 / 2)` over the innovations,
//! `exp(-N ln f + lambda (f - 1))` over the counts, and the severities' and
//! twisted draws' ratios, summed in log space.
//!
//! **How it is chosen.** A cross-entropy pilot (Rubinstein and Kroese): a
//! few rounds of [`PILOT_TRIALS`] trials under the current tilt, the trials
//! at or above a level kept (the elite), the tilt set to the elite's
//! likelihood-weighted mean innovation and event rate (the cross-entropy
//! optimum within the family), the level raised round by round (at most the
//! top [`ELITE`] of the round) until it is the target's. The fitted step is
//! then sized ([`step_size`]): the last round's trials, weighed again under
//! the tilt scaled down by each of a few shares, estimate the estimator's
//! second moment and a trial's cost, and the least work is kept. The pilot draws from
//! its own seed (`rng::key(&[seed, PILOT_KEY, round])`), trials `0..`
//! [`PILOT_TRIALS`]: it depends on (model, seed, target) only, so every
//! shard and every thread count computes the same measure, and the main
//! run's trials are not among its draws.

use crate::model::Model;
use crate::model::hazard::SeverityTilt;
pub use crate::model::importance::{Measure, Shift, Tilt};
use crate::rng::{self, Stream};
use crate::sim::tables::{Batch, COUNTS, MONEY, TrialRow};
use crate::sim::{damage, engine};

/// Trials per pilot round.
pub const PILOT_TRIALS: u64 = 2_000;
/// Most pilot rounds.
pub const MAX_ROUNDS: u32 = 10;
/// The elite's share of a round while the level climbs.
pub const ELITE: f64 = 0.1;
/// Mixed into the pilot's seed, so its trials are no trial of the run.
const PILOT_KEY: u64 = 0x5049_4c4f_5421; // "PILOT!"
/// Bounds on a rate factor: a round's few events must not send a rate to 0
/// or to where every year is a catastrophe.
const RATE_FACTOR: (f64, f64) = (0.2, 20.0);

/// The columns `--tail` accepts, in `trials.csv` order of kind: counts, then money.
pub fn tail_columns() -> Vec<&'static str> {
    // Loan-years are the book's exposure, not a loss: no tail of them is a question.
    COUNTS.iter().map(|c| c.name).filter(|&n| n != "loan_years").chain(MONEY.iter().map(|c| c.name)).collect()
}

/// The tail a measure is chosen for: the upper tail of a `trials.csv`
/// column at exceedance probability `prob`, or (no `prob`) the event that
/// the column is above 0.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    pub column: String,
    pub prob: Option<f64>,
}

impl Target {
    /// Reads `--tail`: `auto` (any compensation account running dry),
    /// `COLUMN:P` or `COLUMN`. The error names the nearest column for a typo.
    pub fn parse(s: &str) -> Result<Target, String> {
        let s = s.trim();
        if s == "auto" {
            return Ok(Target { column: "comp_accounts_exhausted".into(), prob: None });
        }
        let (col, prob) = match s.split_once(':') {
            Some((c, p)) => (c.trim(), Some(p.trim())),
            None => (s, None),
        };
        let known = tail_columns();
        if !known.contains(&col) {
            let hint =
                crate::scenario::nearest(col, &known).map(|n| format!("; did you mean `{n}`?")).unwrap_or_default();
            return Err(format!(
                "unknown column `{col}`{hint} (expected auto, COLUMN:P or COLUMN, COLUMN one of: {})",
                known.join(", ")
            ));
        }
        let prob = match prob {
            None => None,
            Some(p) => match p.parse::<f64>() {
                Ok(x) if x > 0.0 && x < 0.5 => Some(x),
                _ => {
                    return Err(format!(
                        "`{p}` after `{col}:` is not an exceedance probability in (0, 0.5) (e.g. {col}:1e-4)"
                    ));
                }
            },
        };
        Ok(Target { column: col.to_string(), prob })
    }

    /// How a measure records it: `COLUMN:P` (P as `1e-4`) or `COLUMN`.
    pub fn label(&self) -> String {
        match self.prob {
            Some(p) => format!("{}:{p:e}", self.column),
            None => self.column.clone(),
        }
    }

    /// The column's value in a trial's row.
    pub fn value(&self, r: &TrialRow) -> f64 {
        column_value(&self.column, r)
    }
}

/// Column `name` (one of [`tail_columns`]) of a trial's row; money in fen.
pub fn column_value(name: &str, r: &TrialRow) -> f64 {
    match COUNTS.iter().find(|c| c.name == name) {
        Some(c) => (c.get)(&r.counts) as f64,
        None => MONEY.iter().find(|m| m.name == name).map_or(0.0, |m| (m.get)(&r.flows).0 as f64),
    }
}

/// The log likelihood ratio of trial `trial` under `tilt` (its draws are
/// made again here: a few normals and one Poisson count per peril, region
/// and year, against a trial's thousands of default draws).
pub fn log_weight(m: &Model, tilt: &Tilt, seed: u64, trial: u64) -> f64 {
    draws(m, tilt, seed, trial, None)
}

/// The shift trial `trial` draws its innovations from: one uniform of its
/// own stream ([`Stream::Importance`]) picks a component of the mixture.
pub fn shift_of(tilt: &Tilt, seed: u64, trial: u64) -> &Shift {
    if tilt.shifts.len() == 1 {
        return &tilt.shifts[0];
    }
    let u = rng::keyed_uniform(&[seed, trial, Stream::Importance as u64]);
    let mut cum = 0.0;
    for s in &tilt.shifts {
        cum += s.prob;
        if u < cum {
            return s;
        }
    }
    &tilt.shifts[tilt.shifts.len() - 1]
}

/// What the cross-entropy update reads of a trial: its innovations as drawn
/// (`[year][county]` then `[year][industry]`) and each peril's and disease's
/// events summed over regions and years.
struct TrialDraws<'a> {
    eps: &'a mut [f64],
    counts: &'a mut [f64],
}

/// Draws trial `trial`'s innovations and event counts again as the engine
/// draws them under `tilt` (the model's hazards must carry the tilt's
/// rates: [`Model::set_importance`]); returns the log likelihood ratio and
/// fills `out` when given. The innovations' ratio is that of the standard
/// normal to the mixture, `1 / sum_k p_k exp(mu_k . e - |mu_k|^2 / 2)`,
/// summed in log space.
fn draws(m: &Model, tilt: &Tilt, seed: u64, trial: u64, mut out: Option<TrialDraws>) -> f64 {
    let (nc, ni, h) = (m.counties.len(), m.industries.len(), m.horizon);
    let sh = shift_of(tilt, seed, trial);
    // Per component: ln p_k + mu_k . e - |mu_k|^2 / 2, built innovation by innovation.
    let mut a: Vec<f64> = tilt.shifts.iter().map(|s| s.prob.ln()).collect();
    let mut add = |j: usize, e: f64, county: bool| {
        for (acc, s) in a.iter_mut().zip(&tilt.shifts) {
            let mu = if county { s.county[j] } else { s.industry[j] };
            *acc += mu * (e - 0.5 * mu);
        }
    };
    for c in 0..nc {
        let mut g = rng::stream(seed, trial, Stream::Economy, m.keys.county[c], 0);
        for t in 0..h {
            let e = rng::normal(&mut g) + sh.county[t * nc + c];
            add(t * nc + c, e, true);
            if let Some(o) = out.as_mut() {
                o.eps[t * nc + c] = e;
            }
        }
    }
    for i in 0..ni {
        let mut g = rng::stream(seed, trial, Stream::Economy, m.keys.industry[i], 1);
        for t in 0..h {
            let e = rng::normal(&mut g) + sh.industry[t * ni + i];
            add(t * ni + i, e, false);
            if let Some(o) = out.as_mut() {
                o.eps[h * nc + t * ni + i] = e;
            }
        }
    }
    let top = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut lw = -(top + a.iter().map(|x| (x - top).exp()).sum::<f64>().ln());
    let hz = &m.hazards;
    let regions = hz.regions.len();
    let rates = hz.perils.iter().map(|p| (Stream::Peril, p.key, p.rate, &p.count));
    let rates = rates.chain(hz.diseases.iter().map(|d| (Stream::Epidemic, d.key, d.rate, &d.count)));
    let factors = tilt.peril_rate.iter().chain(&tilt.disease_rate);
    for (k, ((stream, key, rate, count), &f)) in rates.zip(factors).enumerate() {
        if rate <= 0.0 || (f == 1.0 && out.is_none()) {
            continue;
        }
        let mut n = 0u64;
        for t in 0..h {
            for r in 0..regions {
                let mut g = damage::event_stream(seed, trial, stream, key, t, hz.region_keys[r]);
                n += count.sample(&mut g) as u64;
            }
        }
        lw += -(n as f64) * f.ln() + rate * (f - 1.0) * (regions * h) as f64;
        if let Some(o) = out.as_mut() {
            o.counts[k] = n as f64;
        }
    }
    lw
}

/// The columns that are above 0 only where a compensation account ran dry:
/// as events, the pilot scores them by how near an account came to it.
const ACCOUNT_DRY_EVENTS: [&str; 4] = ["comp_accounts_exhausted", "shortfall", "shortfall_to_bank", "top_ups"];

/// The pilot's score of trial `k` of a batch: the target column, or for an
/// event that follows an account running dry ([`ACCOUNT_DRY_EVENTS`]), a
/// continuous stand-in that reaches 1 about where an account runs dry: the
/// largest share of its deposit so far that an account was asked for, over
/// accounts and years. (The column itself is 0 in nearly every trial, and
/// a round whose scores are all equal teaches the pilot nothing.)
fn score(m: &Model, target: &Target, b: &Batch, k: usize) -> f64 {
    if target.prob.is_some() || !ACCOUNT_DRY_EVENTS.contains(&target.column.as_str()) {
        return target.value(&b.trials[k]);
    }
    let (na, h) = (b.n_accounts, b.horizon);
    let mut worst = 0.0f64;
    for a in 0..na {
        let (mut asked, mut paid_in) = (0i64, 0i64);
        for t in 0..h {
            asked += b.account_demands[(k * h + t) * na + a].0;
            paid_in += m.injections[t][a].0;
            if paid_in > 0 {
                worst = worst.max(asked as f64 / paid_in as f64);
            }
        }
    }
    worst
}

/// One pilot trial: its score, whether the target event happened (`COLUMN`
/// targets) and its likelihood ratio.
#[derive(Clone, Copy)]
struct Scored {
    score: f64,
    event: bool,
    weight: f64,
    defaults: f64,
}

/// The share of trials drawn from the scenario's own law (a defensive
/// mixture): it bounds every trial's ratio of the factors by `1 / DEFENSIVE`.
pub const DEFENSIVE: f64 = 0.05;
/// Rounds of expectation-maximisation per pilot round.
const EM_STEPS: usize = 30;

/// The year of each innovation, in [`TrialDraws`]' order.
fn year_of(m: &Model) -> Vec<usize> {
    let (nc, ni, h) = (m.counties.len(), m.industries.len(), m.horizon);
    (0..h).flat_map(|t| std::iter::repeat_n(t, nc)).chain((0..h).flat_map(|t| std::iter::repeat_n(t, ni))).collect()
}

/// Each year's direction in the innovations, unit length within the year:
/// a county's innovation weighs `sqrt(w)` times the county's share of the
/// book's principal, an industry's `sqrt(1 - w)` times its share, as they
/// enter the book's systematic factor. The pilot shifts along these.
fn directions(m: &Model) -> Vec<f64> {
    let (nc, ni, h) = (m.counties.len(), m.industries.len(), m.horizon);
    let (mut by_county, mut by_industry) = (vec![0.0; nc], vec![0.0; ni]);
    for i in 0..m.loans.n {
        let p = m.loans.principal[i].0 as f64;
        by_county[m.loans.county[i] as usize] += p;
        by_industry[m.loans.industry[i] as usize] += p;
    }
    let e = &m.economy;
    let block: Vec<f64> =
        by_county.iter().map(|p| e.sqrt_w * p).chain(by_industry.iter().map(|p| e.sqrt_1m_w * p)).collect();
    let norm = block.iter().map(|x| x * x).sum::<f64>().sqrt();
    let unit = |x: f64| if norm > 0.0 { x / norm } else { 0.0 };
    let county = (0..h).flat_map(|_| by_county.iter().map(|p| unit(e.sqrt_w * p)));
    county.chain((0..h).flat_map(|_| by_industry.iter().map(|p| unit(e.sqrt_1m_w * p)))).collect()
}

/// The cross-entropy optimum among mixtures of unit-variance normals: the
/// elite's (`eps` rows, weights `w`) weighted Gaussian mixture, fitted by
/// expectation-maximisation. A tail is often reached in more than one way
/// (one very bad year, or several bad ones), and one shift between them
/// reaches none well; so the fit starts from one component per year (the
/// elite whose largest innovations fall in that year) and one for all
/// years, and drops components nobody is drawn from. Returns (probability,
/// means).
fn fit_mixture(
    elite: &[usize],
    eps: &[f64],
    dim: usize,
    w: impl Fn(usize) -> f64,
    year: &[usize],
) -> Vec<(f64, Vec<f64>)> {
    let years = year.iter().max().map_or(0, |y| y + 1);
    let row = |i: usize| &eps[i * dim..(i + 1) * dim];
    // Responsibilities: elite x components, starting from hard assignments.
    let k = years + 1;
    let mut resp = vec![0.0; elite.len() * k];
    for (e, &i) in elite.iter().enumerate() {
        let mut by_year = vec![0.0; years];
        for (j, &x) in row(i).iter().enumerate() {
            by_year[year[j]] += x * x;
        }
        let total: f64 = by_year.iter().sum();
        let (t, top) = by_year.iter().enumerate().fold((0, -1.0), |b, (t, &v)| if v > b.1 { (t, v) } else { b });
        // Most of the elite's size in one year: that year's component; else all years'.
        let c = if years > 1 && top > 0.5 * total { t } else { years };
        resp[e * k + c] = 1.0;
    }
    let mut comps: Vec<(f64, Vec<f64>)> = Vec::new();
    for step in 0..=EM_STEPS {
        // M step: each component's weighted mean and share.
        comps.clear();
        let total: f64 = elite.iter().map(|&i| w(i)).sum();
        for c in 0..k {
            let mut mu = vec![0.0; dim];
            let mut mass = 0.0;
            for (e, &i) in elite.iter().enumerate() {
                let r = w(i) * resp[e * k + c];
                if r > 0.0 {
                    mass += r;
                    for (acc, &x) in mu.iter_mut().zip(row(i)) {
                        *acc += r * x;
                    }
                }
            }
            if mass > 0.0 {
                mu.iter_mut().for_each(|x| *x /= mass);
            }
            comps.push((mass / total, mu));
        }
        if step == EM_STEPS {
            break;
        }
        // E step: responsibilities under unit-variance normals.
        for (e, &i) in elite.iter().enumerate() {
            let x = row(i);
            let lp: Vec<f64> = comps
                .iter()
                .map(|(p, mu)| {
                    if *p <= 0.0 {
                        return f64::NEG_INFINITY;
                    }
                    p.ln() - 0.5 * x.iter().zip(mu).map(|(a, b)| (a - b) * (a - b)).sum::<f64>()
                })
                .collect();
            let top = lp.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = lp.iter().map(|l| (l - top).exp()).sum();
            for (r, l) in resp[e * k..(e + 1) * k].iter_mut().zip(&lp) {
                *r = (l - top).exp() / z;
            }
        }
    }
    // Components drawn from less than 1 % of the time cost more ratio than they give.
    comps.retain(|(p, _)| *p >= 0.01);
    let kept: f64 = comps.iter().map(|(p, _)| p).sum();
    comps.iter_mut().for_each(|(p, _)| *p /= kept);
    comps
}

/// Most that a severity tilt adds to a Beta's alpha, as a share of alpha.
/// The ratio `x^-theta` has a finite variance under `Beta(alpha + theta,
/// beta)` only while `theta < alpha` (its square integrates `x^(alpha -
/// theta - 1)` near 0); half of alpha keeps it well inside.
const SEVERITY_MAX: f64 = 0.5;

/// Each pilot trial's Beta damage draws, per hazard (perils, then diseases):
/// their number and the sum of their `ln x`, in `out[trial * hazards + k]`.
/// The hazards are drawn again, as the engine drew them under the model's
/// current measure: a fraction of a trial's cost.
fn severity_draws(m: &Model, seed: u64, threads: usize, out: &mut [(u32, f64)]) {
    use rayon::prelude::*;
    let nh = m.hazards.perils.len() + m.hazards.diseases.len();
    if nh == 0 {
        return;
    }
    engine::pool(threads).install(|| {
        out.par_chunks_mut(nh * 64).enumerate().for_each(|(c, chunk)| {
            let mut st = damage::DamageState::new(&m.hazards, m.villages.len(), m.counties.len());
            for (j, row) in chunk.chunks_mut(nh).enumerate() {
                st.new_trial();
                for t in 0..m.horizon {
                    damage::draw_year(&m.hazards, seed, (c * 64 + j) as u64, t, &mut st);
                }
                row.copy_from_slice(&st.severity);
            }
        })
    });
}

/// The pilot's draws of its last round, per trial: innovations (`dim` a
/// trial, [`TrialDraws`]' order), event counts and Beta draws (`nh` a trial,
/// perils then diseases).
struct Recorded<'a> {
    eps: &'a [f64],
    counts: &'a [f64],
    severity: &'a [(u32, f64)],
    dim: usize,
    nh: usize,
}

/// What a trial's likelihood ratio reads of the scenario's hazards: each
/// peril's and disease's expected events over regions and years, and its
/// Beta shape where the severity is drawn.
struct Laws {
    events: Vec<f64>,
    shapes: Vec<Option<(f64, f64)>>,
}

impl Laws {
    fn of(m: &Model) -> Laws {
        let hz = &m.hazards;
        let cells = (hz.regions.len() * m.horizon) as f64;
        let events = hz.perils.iter().map(|p| p.rate).chain(hz.diseases.iter().map(|d| d.rate));
        Laws {
            events: events.map(|r| r * cells).collect(),
            shapes: hz.perils.iter().map(|p| p.shape).chain(hz.diseases.iter().map(|d| d.shape)).collect(),
        }
    }

    /// Each hazard's `ln B(alpha + theta, beta) - ln B(alpha, beta)` under
    /// `tilt`'s severity shifts (0 where the severity is fixed).
    fn log_norms(&self, tilt: &Tilt) -> Vec<f64> {
        let thetas = tilt.peril_severity.iter().chain(&tilt.disease_severity);
        self.shapes
            .iter()
            .zip(thetas)
            .map(|(sh, &th)| sh.map_or(0.0, |sh| SeverityTilt::new(sh, th).log_norm))
            .collect()
    }
}

/// The log likelihood ratio, scenario law over `tilt`, of recorded trial
/// `i`: the sums [`draws`] and the engine make, from the draws alone, so a
/// trial drawn under one tilt is weighed under another.
fn log_ratio_of(laws: &Laws, tilt: &Tilt, log_norms: &[f64], r: &Recorded, i: usize) -> f64 {
    let e = &r.eps[i * r.dim..(i + 1) * r.dim];
    let a: Vec<f64> = tilt
        .shifts
        .iter()
        .map(|s| {
            let mu = s.county.iter().chain(&s.industry);
            s.prob.ln() + mu.zip(e).map(|(&mu, &x)| mu * (x - 0.5 * mu)).sum::<f64>()
        })
        .collect();
    let top = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut lw = -(top + a.iter().map(|x| (x - top).exp()).sum::<f64>().ln());
    let factors = tilt.peril_rate.iter().chain(&tilt.disease_rate);
    let thetas = tilt.peril_severity.iter().chain(&tilt.disease_severity);
    for (k, (&f, &theta)) in factors.zip(thetas).enumerate() {
        if laws.events[k] > 0.0 {
            lw += -r.counts[i * r.nh + k] * f.ln() + laws.events[k] * (f - 1.0);
        }
        let (draws, sum_ln) = r.severity[i * r.nh + k];
        if theta != 0.0 {
            lw += draws as f64 * log_norms[k] - theta * sum_ln;
        }
    }
    lw
}

/// The steps a sized tilt may take, as shares of the cross-entropy step.
const STEP_SCALES: [f64; 6] = [1.0, 0.9, 0.8, 0.7, 0.6, 0.5];
/// Fewest tail trials in the last round for the variance to size the step.
const MIN_TAIL_TRIALS: usize = 100;

/// Sizes the fitted `tilt`'s step (factor shifts, and hazards' rate and
/// severity tilts), returning the two scales. Cross-entropy matches the
/// tail's mean draws, and a tail reached by several drivers at once is
/// overshot when each is moved to its own mean: trials land past the level,
/// with tiny, scattered weights, and cost more than they need (a trial's
/// cost follows its defaults). The scale pair of [`STEP_SCALES`] with the
/// least work, second moment times cost, is kept (Glynn and Whitt's
/// work-normalised variance, which is what the efficiency divides by):
/// - the second moment `E_q[w_s^2 1{tail}]`, estimated from the last
///   round's trials (weights `w` under the law they were drawn from) as the
///   mean of `w_s w 1{tail}`;
/// - the cost as the scaled law's mean defaults a trial (the round's trials
///   weighed by `w / w_s`) plus `plain_defaults`, a plain trial's: the
///   engine's fixed work a trial is about what a plain trial's defaults
///   cost (docs/tail.md has the measurement).
///
/// (1, 1) when the round has too few tail trials to tell.
fn step_size(
    laws: &Laws,
    tilt: &Tilt,
    round_tilt: &Tilt,
    r: &Recorded,
    scored: &[Scored],
    in_tail: &[bool],
    plain_defaults: f64,
) -> (f64, f64) {
    if (0..scored.len()).filter(|&i| in_tail[i] && scored[i].weight > 0.0).count() < MIN_TAIL_TRIALS {
        return (1.0, 1.0);
    }
    // What of each trial's ratio the recorded draws do not give (the inner
    // twist's draws): a function of the trial's draws, so the same under
    // every scaled tilt.
    let round_norms = laws.log_norms(round_tilt);
    let unrecorded: Vec<f64> = scored
        .iter()
        .enumerate()
        .map(|(i, sc)| sc.weight.ln() - log_ratio_of(laws, round_tilt, &round_norms, r, i))
        .collect();
    let mut best = ((1.0, 1.0), f64::INFINITY);
    for &fs in &STEP_SCALES {
        for &hs in &STEP_SCALES {
            let t = tilt.scaled(fs, hs);
            let log_norms = laws.log_norms(&t);
            // Per trial: `w_s w` to the tail's second moment, and the ratio
            // of the scaled law to the one it came from to the mean defaults.
            let (mut m2, mut num, mut den) = (0.0, 0.0, 0.0);
            for (i, sc) in scored.iter().enumerate() {
                let (lw_s, lw) = (log_ratio_of(laws, &t, &log_norms, r, i) + unrecorded[i], sc.weight.ln());
                if in_tail[i] {
                    m2 += (lw_s + lw).exp();
                }
                let ratio = (lw - lw_s).exp();
                num += ratio * sc.defaults;
                den += ratio;
            }
            let work = m2 * (num / den + plain_defaults);
            // Ties (no hazards: every hazard scale gives the same) keep the larger step.
            if work < best.1 * (1.0 - 1e-12) {
                best = ((fs, hs), work);
            }
        }
    }
    best.0
}

/// The digamma function (recurrence to x >= 10, then the asymptotic series).
fn digamma(mut x: f64) -> f64 {
    let mut r = 0.0;
    while x < 10.0 {
        r -= 1.0 / x;
        x += 1.0;
    }
    let f = 1.0 / (x * x);
    r + x.ln() - 0.5 / x - f * (1.0 / 12.0 - f * (1.0 / 120.0 - f * (1.0 / 252.0 - f * (1.0 / 240.0 - f / 132.0))))
}

/// The `theta` at which `Beta(alpha + theta, beta)` has mean `ln x` equal to
/// `mean_ln` (`E ln X = psi(a) - psi(a + b)`, increasing in `a`), within
/// `[0, SEVERITY_MAX alpha]`: a tail is never reached by milder events.
fn severity_shift((a, b): (f64, f64), mean_ln: f64) -> f64 {
    let g = |th: f64| digamma(a + th) - digamma(a + b + th);
    let most = SEVERITY_MAX * a;
    if !mean_ln.is_finite() || mean_ln <= g(0.0) {
        return 0.0;
    }
    if mean_ln >= g(most) {
        return most;
    }
    let (mut lo, mut hi) = (0.0, most);
    for _ in 0..60 {
        let mid = 0.5 * (lo + hi);
        if g(mid) < mean_ln { lo = mid } else { hi = mid }
    }
    0.5 * (lo + hi)
}

/// Chooses the measure for `target` by the cross-entropy pilot of the
/// module doc, and leaves `m` drawing under it. `progress` is told of
/// each pilot trial. Deterministic: (model, seed, target) only.
pub fn pilot(m: &mut Model, seed: u64, target: &Target, threads: usize, progress: &(dyn Fn(u64) + Sync)) -> Measure {
    let n = PILOT_TRIALS as usize;
    let mut tilt = Tilt::identity(m);
    let (ncy, h) = (m.counties.len() * m.horizon, m.horizon);
    let (years, dirs) = (year_of(m), directions(m));
    let dim = ncy + m.industries.len() * m.horizon;
    let nh = tilt.peril_rate.len() + tilt.disease_rate.len();
    let laws = Laws::of(m);
    let (mut eps, mut counts) = (vec![0.0; n * dim], vec![0.0; n * nh]);
    let mut severity = vec![(0u32, 0.0f64); n * nh];
    let mut scored: Vec<Scored> = Vec::with_capacity(n);
    let (mut level, mut rounds, mut at_target, mut plain_defaults) = (0.0, 0, 0, 0.0);
    // The inner twist aims at an exposure level (yuan, from the pilot's
    // fen): exposure is what the twisted loans' defaults add to directly.
    let twists = target.column == "exposure" && target.prob.is_some();
    let measure = |tilt: &Tilt, level: f64, twist_level: f64, rounds: u32, (fs, hs): (f64, f64)| Measure {
        target: target.label(),
        method: "cross-entropy".into(),
        level,
        pilot_trials: PILOT_TRIALS,
        pilot_rounds: rounds,
        factor_scale: fs,
        hazard_scale: hs,
        tilt: tilt.clone(),
        twist_level: if twists { twist_level / 100.0 } else { 0.0 },
    };
    let mut round_tilt = tilt.clone();
    for round in 0..MAX_ROUNDS {
        m.set_importance(Some(measure(&tilt, level, level, rounds, (1.0, 1.0))));
        // The law this round draws from, by which its trials are weighed.
        round_tilt = tilt.clone();
        let ps = rng::key(&[seed, PILOT_KEY, round as u64]);
        scored.clear();
        let mm: &Model = m;
        let _ = engine::simulate(mm, ps, 0..PILOT_TRIALS, threads, progress, |b| {
            for k in 0..b.len() {
                let r = &b.trials[k];
                scored.push(Scored {
                    score: score(mm, target, &b, k),
                    event: target.value(r) > 0.0,
                    weight: b.weights[k],
                    defaults: r.counts.defaults as f64,
                });
            }
            Ok::<(), std::convert::Infallible>(())
        });
        if round == 0 {
            // The first round draws from the scenario's own law.
            plain_defaults = scored.iter().map(|s| s.defaults).sum::<f64>() / n as f64;
        }
        for i in 0..n {
            let (e, c) = (&mut eps[i * dim..(i + 1) * dim], &mut counts[i * nh..(i + 1) * nh]);
            draws(mm, &tilt, ps, i as u64, Some(TrialDraws { eps: e, counts: c }));
        }
        severity_draws(mm, ps, threads, &mut severity);
        rounds = round + 1;
        // Trials by score, highest first (ties by trial, so the order is fixed).
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| scored[b].score.total_cmp(&scored[a].score).then(a.cmp(&b)));
        let top = scored[order[((ELITE * n as f64) as usize).min(n - 1)]].score;
        // Which trials form the elite, and whether the level is the target's.
        let (keep, reached) = match target.prob {
            Some(p) => {
                // The level exceeded with probability p under the scenario's
                // law, as this round's weighted trials estimate it.
                let mut cum = 0.0;
                let mut x = scored[order[n - 1]].score;
                for &i in &order {
                    cum += scored[i].weight / n as f64;
                    if cum >= p {
                        x = scored[i].score;
                        break;
                    }
                }
                level = x;
                let gamma = x.min(top);
                (scored.iter().map(|s| s.score >= gamma).collect::<Vec<bool>>(), x <= top)
            }
            None => {
                let events = scored.iter().filter(|s| s.event).count();
                if events as f64 >= 0.5 * ELITE * n as f64 {
                    (scored.iter().map(|s| s.event).collect(), true)
                } else {
                    (scored.iter().map(|s| s.score >= top).collect(), false)
                }
            }
        };
        // The cross-entropy update: the elite, with their likelihood ratios.
        let elite: Vec<usize> = (0..n).filter(|&i| keep[i]).collect();
        let wsum: f64 = elite.iter().map(|&i| scored[i].weight).sum();
        // An elite of everything (a score that never varies) or of nothing
        // teaches nothing: keep the tilt.
        if !(wsum > 0.0 && wsum.is_finite()) || elite.len() == n {
            break;
        }
        let mut rate = vec![0.0; nh];
        for &i in &elite {
            for (acc, &x) in rate.iter_mut().zip(&counts[i * nh..(i + 1) * nh]) {
                *acc += scored[i].weight * x;
            }
        }
        // Fitted along each year's direction only: one number per year and
        // component rather than one per county and industry, which a few
        // hundred elite trials could not estimate.
        let mut proj = vec![0.0; n * h];
        for &i in &elite {
            for (j, &x) in eps[i * dim..(i + 1) * dim].iter().enumerate() {
                proj[i * h + years[j]] += dirs[j] * x;
            }
        }
        let by_year: Vec<usize> = (0..h).collect();
        let means = fit_mixture(&elite, &proj, h, |i| scored[i].weight, &by_year);
        tilt.shifts = means
            .into_iter()
            .map(|(p, mu)| {
                let full: Vec<f64> = (0..dim).map(|j| mu[years[j]] * dirs[j]).collect();
                Shift { prob: p * (1.0 - DEFENSIVE), county: full[..ncy].to_vec(), industry: full[ncy..].to_vec() }
            })
            .chain(std::iter::once(Shift::zero(m, DEFENSIVE)))
            .collect();
        // Severities: the elite's weighted mean of ln x per hazard, which the
        // tilted Beta's alpha matches (the cross-entropy optimum in its family).
        let severity_theta: Vec<f64> = laws
            .shapes
            .iter()
            .enumerate()
            .map(|(k, shape)| {
                let Some(shape) = *shape else { return 0.0 };
                let (mut draws, mut sum_ln) = (0.0, 0.0);
                for &i in &elite {
                    let (d, l) = severity[i * nh + k];
                    draws += scored[i].weight * d as f64;
                    sum_ln += scored[i].weight * l;
                }
                if draws > 0.0 { severity_shift(shape, sum_ln / draws) } else { 0.0 }
            })
            .collect();
        tilt.peril_severity = severity_theta[..tilt.peril_rate.len()].to_vec();
        tilt.disease_severity = severity_theta[tilt.peril_rate.len()..].to_vec();
        for (k, v) in rate.iter().enumerate() {
            let f = if laws.events[k] > 0.0 {
                (v / wsum / laws.events[k]).clamp(RATE_FACTOR.0, RATE_FACTOR.1)
            } else {
                1.0
            };
            if k < tilt.peril_rate.len() {
                tilt.peril_rate[k] = f;
            } else {
                tilt.disease_rate[k - tilt.peril_rate.len()] = f;
            }
        }
        if reached {
            at_target += 1;
            // A second round at the target refines the tilt from draws that
            // already reach it.
            if at_target == 2 {
                break;
            }
        }
    }
    // The last round's trials in the target's tail, by which the step is sized.
    let in_tail: Vec<bool> = match target.prob {
        Some(_) => scored.iter().map(|s| s.score >= level).collect(),
        None => scored.iter().map(|s| s.event).collect(),
    };
    let recorded = Recorded { eps: &eps, counts: &counts, severity: &severity, dim, nh };
    let scales = step_size(&laws, &tilt, &round_tilt, &recorded, &scored, &in_tail, plain_defaults);
    let tilt = tilt.scaled(scales.0, scales.1);
    let twist_level = level;
    // Money columns are recorded in yuan, as trials.csv writes them.
    let money = MONEY.iter().any(|c| c.name == target.column);
    let level = if target.prob.is_none() {
        0.0
    } else if money {
        level / 100.0
    } else {
        level
    };
    let chosen = measure(&tilt, level, twist_level, rounds, scales);
    m.set_importance(Some(chosen.clone()));
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_severity_shift_matches_the_mean_log() {
        // E ln X of Beta(a, b) is psi(a) - psi(a + b); psi(1) = -gamma.
        assert!((digamma(1.0) + 0.577_215_664_901_532_9).abs() < 1e-12);
        assert!((digamma(0.5) + 1.963_510_026_021_423_5).abs() < 1e-12);
        let (a, b) = (20.0, 8.0);
        for th in [0.5, 1.0, 3.0, 7.5] {
            let m = digamma(a + th) - digamma(a + b + th);
            assert!((severity_shift((a, b), m) - th).abs() < 1e-9, "{th}");
        }
        // Milder than the scenario's own law: no tilt; beyond the bound: the bound.
        assert_eq!(severity_shift((a, b), -10.0), 0.0);
        assert_eq!(severity_shift((a, b), -1e-6), SEVERITY_MAX * a);
    }

    #[test]
    fn recorded_draws_give_the_engines_weights_under_any_tilt() {
        let s = crate::scenario::parse(crate::scenario::WANGCANG_YAML, "wangcang", &[]).expect("the built-in scenario");
        let mut m = Model::build(s, "wangcang", &[]).expect("the built-in scenario builds");
        // Two shifted components and a defensive one, tilted rates and severities.
        let mut tilt = Tilt::identity(&m);
        let mut bad = Shift::zero(&m, 0.6);
        bad.county.iter_mut().enumerate().for_each(|(j, x)| *x = -1.5 + 0.3 * j as f64);
        bad.industry.iter_mut().enumerate().for_each(|(j, x)| *x = -0.1 * (j % 4) as f64);
        let mut mild = Shift::zero(&m, 0.3);
        mild.county.iter_mut().for_each(|x| *x = -0.7);
        tilt.shifts = vec![bad, mild, Shift::zero(&m, 0.1)];
        tilt.peril_rate.iter_mut().enumerate().for_each(|(k, f)| *f = 1.2 + 0.4 * k as f64);
        tilt.disease_rate.iter_mut().for_each(|f| *f = 0.8);
        let laws = Laws::of(&m);
        let theta = |shape: &Option<(f64, f64)>| shape.map_or(0.0, |(a, _)| 0.4 * a);
        let np = tilt.peril_rate.len();
        tilt.peril_severity = laws.shapes[..np].iter().map(theta).collect();
        tilt.disease_severity = laws.shapes[np..].iter().map(theta).collect();
        assert!(tilt.peril_severity.iter().any(|&t| t > 0.0), "the built-in scenario has Beta damages");
        let measure = Measure {
            target: "exposure:1e-3".into(),
            method: "test".into(),
            level: 0.0,
            pilot_trials: 0,
            pilot_rounds: 0,
            factor_scale: 1.0,
            hazard_scale: 1.0,
            tilt: tilt.clone(),
            twist_level: 0.0,
        };
        m.set_importance(Some(measure));
        let (seed, n) = (11, 128);
        let mut weights = Vec::new();
        let _ = engine::simulate(&m, seed, 0..n as u64, 1, &|_| {}, |b| {
            weights.extend_from_slice(&b.weights);
            Ok::<(), std::convert::Infallible>(())
        });
        let (dim, nh) = (m.horizon * (m.counties.len() + m.industries.len()), laws.events.len());
        let (mut eps, mut counts, mut severity) = (vec![0.0; n * dim], vec![0.0; n * nh], vec![(0, 0.0); n * nh]);
        for i in 0..n {
            let out = TrialDraws { eps: &mut eps[i * dim..(i + 1) * dim], counts: &mut counts[i * nh..(i + 1) * nh] };
            draws(&m, &tilt, seed, i as u64, Some(out));
        }
        severity_draws(&m, seed, 1, &mut severity);
        let r = Recorded { eps: &eps, counts: &counts, severity: &severity, dim, nh };
        let log_norms = |t: &Tilt| laws.log_norms(t);
        let ln = log_norms(&tilt);
        let identity = Tilt::identity(&m);
        for (i, w) in weights.iter().enumerate() {
            let lw = log_ratio_of(&laws, &tilt, &ln, &r, i);
            assert!((lw - w.ln()).abs() < 1e-9, "trial {i}: {lw} against the engine's {}", w.ln());
            // Under the scenario's own law every ratio is 1.
            assert_eq!(log_ratio_of(&laws, &identity, &log_norms(&identity), &r, i), 0.0);
        }
        // The scaled tilt's ratios are those the engine gives when it draws under it:
        // the same draws weigh differently, the law of the weights moves.
        let half = tilt.scaled(0.5, 0.5);
        let lh = log_norms(&half);
        let moved = (0..n).filter(|&i| (log_ratio_of(&laws, &half, &lh, &r, i) - weights[i].ln()).abs() > 1e-6).count();
        assert!(moved > n / 2, "{moved} of {n} ratios moved when the step halved");
    }

    #[test]
    fn targets_parse_and_name_the_nearest_column() {
        assert_eq!(Target::parse("auto").unwrap(), Target { column: "comp_accounts_exhausted".into(), prob: None });
        let t = Target::parse("exposure:1e-4").unwrap();
        assert_eq!((t.column.as_str(), t.prob), ("exposure", Some(1e-4)));
        assert_eq!(t.label(), "exposure:1e-4");
        assert!(Target::parse("exposur:1e-4").unwrap_err().contains("did you mean `exposure`"));
        assert!(Target::parse("bank_loss:2").unwrap_err().contains("exceedance probability"));
        assert!(Target::parse("bank_loss:x").is_err());
        assert_eq!(Target::parse("shortfall").unwrap().prob, None);
    }
}
