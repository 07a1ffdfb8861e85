//! A change of measure (importance sampling, docs/tail.md) as the model
//! carries it: what the engine draws from instead of the scenario's own
//! law, and what the run records of how it was chosen. The pilot that
//! chooses it is [`crate::sim::importance`]; this stage only holds it, so
//! that every command that runs a model (run, size, compare, sweep, stress,
//! shards) runs it under the same law without a second argument.

use serde::{Deserialize, Serialize};

use crate::model::Model;
use crate::model::hazard::SeverityTilt;
use crate::rng;

/// The law trials are drawn from: a mixture of shifts of the systematic
/// innovations (each trial draws one shift, then every innovation from
/// `N(mu, 1)`), and each disaster's and epidemic's rate factor. One shift of
/// all zeros with probability 1 and all factors 1 is the scenario's own law.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Tilt {
    /// The mixture's components; their probabilities add up to 1.
    pub shifts: Vec<Shift>,
    /// What multiplies each peril's Poisson rate (per region and year).
    pub peril_rate: Vec<f64>,
    /// What multiplies each disease's Poisson rate.
    pub disease_rate: Vec<f64>,
    /// What is added to each peril's Beta damage `alpha` (0 for none, and
    /// for a fixed ratio): severities drawn from `Beta(alpha + theta, beta)`.
    #[serde(default)]
    pub peril_severity: Vec<f64>,
    /// The same for each disease's Beta mortality.
    #[serde(default)]
    pub disease_severity: Vec<f64>,
}

/// One component of a [`Tilt`]'s mixture.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Shift {
    /// The chance a trial draws from this component.
    pub prob: f64,
    /// Mean of each county's factor innovation, `[year][county]` (the AR(1)
    /// recursion then carries it, so persistence needs no special case).
    pub county: Vec<f64>,
    /// Mean of each industry's factor, `[year][industry]`.
    pub industry: Vec<f64>,
}

impl Shift {
    /// No shift, with probability `prob`, in `m`'s dimensions.
    pub fn zero(m: &Model, prob: f64) -> Shift {
        Shift {
            prob,
            county: vec![0.0; m.horizon * m.counties.len()],
            industry: vec![0.0; m.horizon * m.industries.len()],
        }
    }
}

impl Tilt {
    /// This tilt with its factor shifts times `factors`, and its hazards'
    /// rate factors raised to `hazards` and severity shifts times `hazards`:
    /// the same direction, a smaller or larger step (1, 1: itself).
    pub fn scaled(&self, factors: f64, hazards: f64) -> Tilt {
        let mut t = self.clone();
        for s in t.shifts.iter_mut() {
            s.county.iter_mut().chain(s.industry.iter_mut()).for_each(|x| *x *= factors);
        }
        t.peril_rate.iter_mut().chain(t.disease_rate.iter_mut()).for_each(|f| *f = f.powf(hazards));
        t.peril_severity.iter_mut().chain(t.disease_severity.iter_mut()).for_each(|x| *x *= hazards);
        t
    }

    /// How far it moves the law, as the run line and the workbook report it:
    /// the largest factor shift (by size, with its sign), the largest
    /// event-rate factor and the largest severity shift.
    pub fn extremes(&self) -> (f64, f64, f64) {
        let mus = self.shifts.iter().flat_map(|s| s.county.iter().chain(&s.industry));
        let shift = mus.fold(0.0f64, |a, &x| if x.abs() > a.abs() { x } else { a });
        let rate = self.peril_rate.iter().chain(&self.disease_rate).fold(1.0f64, |a, &x| a.max(x));
        let theta = self.peril_severity.iter().chain(&self.disease_severity).fold(0.0f64, |a, &x| a.max(x));
        (shift, rate, theta)
    }

    /// Whether this tilt draws from the scenario's own law (every shift
    /// zero, every rate factor 1, no severity shift): what a pilot that
    /// found nothing to tilt toward leaves.
    pub fn is_identity(&self) -> bool {
        self.shifts.iter().all(|s| s.county.iter().chain(&s.industry).all(|&x| x == 0.0))
            && self.peril_rate.iter().chain(&self.disease_rate).all(|&f| f == 1.0)
            && self.peril_severity.iter().chain(&self.disease_severity).all(|&t| t == 0.0)
    }

    /// The scenario's own law, with the model's dimensions.
    pub fn identity(m: &Model) -> Tilt {
        Tilt {
            shifts: vec![Shift::zero(m, 1.0)],
            peril_rate: vec![1.0; m.hazards.perils.len()],
            disease_rate: vec![1.0; m.hazards.diseases.len()],
            peril_severity: vec![0.0; m.hazards.perils.len()],
            disease_severity: vec![0.0; m.hazards.diseases.len()],
        }
    }

    /// Whether this tilt has `m`'s dimensions (a variant with other counties,
    /// industries, hazards or horizon needs a measure of its own).
    pub fn fits(&self, m: &Model) -> bool {
        self.shifts.iter().all(|s| {
            s.county.len() == m.horizon * m.counties.len() && s.industry.len() == m.horizon * m.industries.len()
        }) && self.peril_rate.len() == m.hazards.perils.len()
            && self.disease_rate.len() == m.hazards.diseases.len()
            && self.peril_severity.len() == m.hazards.perils.len()
            && self.disease_severity.len() == m.hazards.diseases.len()
    }
}

/// An importance-sampled run's measure: the tilt and how the pilot chose
/// it. Recorded in `summary.json` (`importance`) and in every shard's
/// manifest, so that merge refuses shards drawn under different laws.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Measure {
    /// The tail it was chosen for, as `--tail` reads it after `auto` is
    /// resolved: `COLUMN:P` or `COLUMN` (the event COLUMN > 0).
    pub target: String,
    /// How the tilt was chosen (`cross-entropy`).
    pub method: String,
    /// The pilot's estimate of the column's level exceeded with probability
    /// P (for an event target, 0: the event is the column above 0).
    pub level: f64,
    /// Trials per pilot round, and the rounds it ran.
    pub pilot_trials: u64,
    pub pilot_rounds: u32,
    /// What the cross-entropy tilt was scaled by (factor shifts, and the
    /// hazards' log rate factors and severity shifts), chosen by the
    /// variance the pilot's last round estimates (1: as fitted).
    #[serde(default = "one")]
    pub factor_scale: f64,
    #[serde(default = "one")]
    pub hazard_scale: f64,
    pub tilt: Tilt,
    /// The exposure (yuan) each trial's inner twist aims at, 0 for none:
    /// the level of an `exposure:P` target ([`InnerTwist`]).
    #[serde(default)]
    pub twist_level: f64,
}

fn one() -> f64 {
    1.0
}

/// Least share of the twist's level a loan's principal must be for the
/// loan to be twisted: one that alone moves the year by half a percent of it.
pub const TWIST_SHARE: f64 = 0.005;
/// Most loans a book may have above that share for the twist to apply. A
/// rule from three books, not a theory (docs/tail.md): the twist raised the
/// variance ratio on the default scenario (111 such loans) and on the
/// example tape (30), and lowered it on the province (355-430, and its 128
/// largest alone).
pub const TWIST_MOST: usize = 150;

/// Glasserman and Li's inner twist, on the loans large enough to move the
/// tail alone (docs/tail.md): drawn one by one, each with its default
/// probability given the factors and damage raised, by an exponential
/// twist in its exposure, as far as the trial needs to reach `level`. The
/// bucket passes skip them. Here what the engine reads of it, computed
/// once when the measure is set.
#[derive(Clone, Debug)]
pub struct InnerTwist {
    /// The exposure aimed at, fen.
    pub level: f64,
    /// The twisted loans, in book order, each with its stream address (from
    /// its id, so its draw does not move when the book around it changes),
    /// and whether each loan is one.
    pub loans: Vec<u32>,
    pub keys: Vec<u64>,
    pub twisted: Vec<bool>,
    /// Per bucket and year (`[bucket * horizon + t]`): the exposure at
    /// default of its loans scheduled alive, the untwisted and the twisted,
    /// from which a trial's expected exposure of a year is estimated.
    pub small: Vec<f64>,
    pub large: Vec<f64>,
}

impl InnerTwist {
    /// The twist of `m` aimed at `level` (fen); `None` when no loan is large
    /// enough to be twisted, or more than [`TWIST_MOST`] are.
    pub fn of(m: &Model, level: f64) -> Option<InnerTwist> {
        if level.is_nan() || level <= 0.0 {
            return None;
        }
        let cut = TWIST_SHARE * level;
        let loans: Vec<u32> =
            (0..m.loans.n as u32).filter(|&i| m.loans.principal[i as usize].0 as f64 >= cut).collect();
        if loans.is_empty() {
            return None;
        }
        if loans.len() > TWIST_MOST {
            return None;
        }
        let mut twisted = vec![false; m.loans.n];
        loans.iter().for_each(|&i| twisted[i as usize] = true);
        let keys = loans.iter().map(|&i| m.loans.id[i as usize].with_str(|id| rng::name_key(&["loan", id]))).collect();
        let h = m.horizon;
        let (mut small, mut large) = (vec![0.0; m.buckets.len() * h], vec![0.0; m.buckets.len() * h]);
        for (b, bk) in m.buckets.iter().enumerate() {
            for t in 0..h {
                let alive = bk.start as usize..bk.ends[t] as usize;
                for (i, &tw) in alive.clone().zip(&twisted[alive]) {
                    let ead = m.loan_years[i * h + t].ead.0 as f64;
                    if tw { large[b * h + t] += ead } else { small[b * h + t] += ead }
                }
            }
        }
        Some(InnerTwist { level, loans, keys, twisted, small, large })
    }
}

impl Model {
    /// Draws this model's trials under `measure` from now on (`None`: the
    /// scenario's own law). The Poisson samplers of disasters and epidemics
    /// take their tilted rates here, once, not per draw.
    pub fn set_importance(&mut self, measure: Option<Measure>) {
        let tilt = measure.as_ref().map(|ms| &ms.tilt);
        for (k, p) in self.hazards.perils.iter_mut().enumerate() {
            let f = tilt.map_or(1.0, |t| t.peril_rate[k]);
            p.count = rng::Poisson::new(p.rate * f);
            p.tilt = tilt.zip(p.shape).map(|(t, shape)| SeverityTilt::new(shape, t.peril_severity[k]));
        }
        for (k, d) in self.hazards.diseases.iter_mut().enumerate() {
            let f = tilt.map_or(1.0, |t| t.disease_rate[k]);
            d.count = rng::Poisson::new(d.rate * f);
            d.tilt = tilt.zip(d.shape).map(|(t, shape)| SeverityTilt::new(shape, t.disease_severity[k]));
        }
        self.twist = measure.as_ref().and_then(|ms| InnerTwist::of(self, ms.twist_level * 100.0));
        self.importance = measure;
    }
}
