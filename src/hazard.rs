//! Natural disasters, livestock epidemics and personal shocks (MODEL.md 3.2-3.5).
//!
//! A peril's events are drawn per hazard region (a county, or counties the
//! scenario groups) and year: a Poisson number of events, each hitting every
//! village of the region with its zone's probability and carrying a Beta
//! damage ratio. A borrower in a hit village takes `d * vulnerability`; an
//! epidemic outbreak kills a Beta share of the herds of the species it
//! affects. Several events combine as `D = 1 - prod(1 - d_e)`, per (village,
//! industry). Each peril, disease and shock draws from its own stream keyed
//! by (year, region), so removing one never moves another's draws.

use crate::model::VillageInfo;
use crate::rng::{self, Stream};
use crate::scenario::schema::*;

#[derive(Clone, Debug)]
pub struct PerilModel {
    /// Stream address, from the peril's id.
    pub key: u64,
    pub rate: f64,
    pub hit_by_zone: Vec<f64>,
    pub damage: BetaDist,
    pub per_village: bool,
    pub vulnerability: Vec<f64>,
}

#[derive(Clone, Debug)]
pub struct DiseaseModel {
    pub key: u64,
    pub rate: f64,
    pub hit_by_zone: Vec<f64>,
    pub mortality: BetaDist,
    /// Industries whose species it affects.
    pub affects: Vec<bool>,
}

#[derive(Clone, Debug)]
pub struct ShockModel {
    pub key: u64,
    pub kind: ShockKind,
    pub prob: f64,
    pub default_prob: f64,
}

/// A stress overlay's forced event: the same villages hit in every trial.
#[derive(Clone, Debug)]
pub struct ForcedEvent {
    pub year: usize,
    pub villages: Vec<u32>,
    /// Damage per industry (severity x vulnerability, or mortality for the species struck).
    pub damage: Vec<f64>,
    pub cause: u8,
}

#[derive(Clone, Debug, Default)]
pub struct HazardModel {
    pub forced: Vec<ForcedEvent>,
    /// `regions[r][zone]`: the villages of region r in that zone.
    pub regions: Vec<Vec<Vec<u32>>>,
    /// Stream address of each region, from its id (or its county's, alone).
    pub region_keys: Vec<u64>,
    pub perils: Vec<PerilModel>,
    pub diseases: Vec<DiseaseModel>,
    pub shocks: Vec<ShockModel>,
    pub n_industries: usize,
    /// Industries whose damage is also the share of the herd lost.
    pub livestock: Vec<bool>,
}

impl HazardModel {
    pub fn build(
        s: &Scenario,
        villages: &[VillageInfo],
        counties: &[String],
        zones: &[String],
        industries: &[String],
    ) -> HazardModel {
        // Region of each county: a listed group, else the county alone (after the groups).
        let mut region_of = vec![usize::MAX; counties.len()];
        for (ri, r) in s.hazards.regions.iter().enumerate() {
            for c in &r.counties {
                if let Some(ci) = counties.iter().position(|x| x == c) {
                    region_of[ci] = ri;
                }
            }
        }
        let mut n_regions = s.hazards.regions.len();
        let mut region_keys: Vec<u64> = s.hazards.regions.iter().map(|r| rng::name_key(&["region", &r.id])).collect();
        for (ci, r) in region_of.iter_mut().enumerate() {
            if *r == usize::MAX {
                *r = n_regions;
                n_regions += 1;
                region_keys.push(rng::name_key(&["county-region", &counties[ci]]));
            }
        }
        let mut regions = vec![vec![Vec::new(); zones.len()]; n_regions];
        for (v, vi) in villages.iter().enumerate() {
            regions[region_of[vi.county as usize]][vi.zone as usize].push(v as u32);
        }
        let by_zone = |m: &std::collections::BTreeMap<String, f64>| -> Vec<f64> {
            zones.iter().map(|z| m.get(z).copied().unwrap_or(0.0)).collect()
        };
        let perils = if s.hazards.enabled {
            s.hazards
                .perils
                .iter()
                .map(|p| PerilModel {
                    key: rng::name_key(&["peril", &p.id]),
                    rate: p.rate,
                    hit_by_zone: by_zone(&p.hit),
                    damage: p.damage.clone(),
                    per_village: p.per_village_damage,
                    vulnerability: industries
                        .iter()
                        .map(|i| p.vulnerability.get(i).copied().unwrap_or(p.default_vulnerability))
                        .collect(),
                })
                .collect()
        } else {
            Vec::new()
        };
        let diseases = if s.epidemics.enabled {
            s.epidemics
                .diseases
                .iter()
                .map(|d| DiseaseModel {
                    key: rng::name_key(&["disease", &d.id]),
                    rate: d.rate,
                    hit_by_zone: by_zone(&d.hit),
                    mortality: d.mortality.clone(),
                    affects: s
                        .industries
                        .iter()
                        .map(|i| i.species.as_ref().is_some_and(|sp| d.species.contains(sp)))
                        .collect(),
                })
                .collect()
        } else {
            Vec::new()
        };
        let shocks = s
            .shocks
            .iter()
            .map(|x| ShockModel {
                key: rng::name_key(&["shock", &x.id]),
                kind: x.kind,
                prob: x.prob,
                default_prob: x.default_prob,
            })
            .collect();
        let forced = s
            .stress
            .events
            .iter()
            .map(|ev| {
                let hit: Vec<u32> = (0..villages.len() as u32)
                    .filter(|&v| {
                        // A fixed footprint: the village's id decides, not a draw.
                        let u =
                            rng::name_key(&["stress", &villages[v as usize].id]) as f64 / 18_446_744_073_709_551_616.0;
                        u < ev.share_of_villages
                    })
                    .collect();
                let (damage, cause) = match (&ev.peril, &ev.disease) {
                    (Some(pid), _) => {
                        let p = s.hazards.perils.iter().find(|p| &p.id == pid);
                        let d = industries
                            .iter()
                            .map(|i| {
                                ev.severity
                                    * p.map_or(1.0, |p| {
                                        p.vulnerability.get(i).copied().unwrap_or(p.default_vulnerability)
                                    })
                            })
                            .collect();
                        (d, FROM_DISASTER)
                    }
                    (_, Some(did)) => {
                        let d = s.epidemics.diseases.iter().find(|d| &d.id == did);
                        let dm = s
                            .industries
                            .iter()
                            .map(|i| {
                                let struck =
                                    i.species.as_ref().is_some_and(|sp| d.is_some_and(|d| d.species.contains(sp)));
                                if struck { ev.severity } else { 0.0 }
                            })
                            .collect();
                        (dm, FROM_EPIDEMIC)
                    }
                    _ => (vec![0.0; industries.len()], FROM_DISASTER),
                };
                ForcedEvent { year: ev.year as usize - 1, villages: hit, damage, cause }
            })
            .collect();
        HazardModel {
            forced,
            regions,
            region_keys,
            perils,
            diseases,
            shocks,
            n_industries: industries.len(),
            livestock: s.industries.iter().map(|i| i.kind == IndustryKind::Livestock).collect(),
        }
    }

    pub fn is_active(&self) -> bool {
        !self.perils.is_empty() || !self.diseases.is_empty() || !self.forced.is_empty()
    }
}

/// Bit flags of what lies behind a (village, industry) damage.
pub const FROM_DISASTER: u8 = 1;
pub const FROM_EPIDEMIC: u8 = 2;

/// One trial's damage state: this year's survival `1 - D` per (village,
/// industry) and the herds' cumulative survival, kept sparse so that
/// resetting costs what was touched.
#[derive(Clone, Debug, Default)]
pub struct DamageState {
    n_ind: usize,
    /// `prod(1 - d)` this year, per village * n_ind + industry; 1 when untouched.
    survival: Vec<f64>,
    /// What caused this year's damage.
    cause: Vec<u8>,
    /// Cumulative herd survival over the years, for livestock collateral.
    herd_survival: Vec<f64>,
    /// Villages touched this year, and ever in this trial.
    pub touched: Vec<u32>,
    touched_ever: Vec<u32>,
    is_touched: Vec<bool>,
    is_touched_ever: Vec<bool>,
    pub events: u32,
    pub outbreaks: u32,
    /// Villages hit by the current event (scratch).
    hits: Vec<u32>,
}

impl DamageState {
    pub fn new(n_villages: usize, n_ind: usize) -> Self {
        DamageState {
            n_ind,
            survival: vec![1.0; n_villages * n_ind],
            cause: vec![0; n_villages * n_ind],
            herd_survival: vec![1.0; n_villages * n_ind],
            touched: Vec::new(),
            touched_ever: Vec::new(),
            is_touched: vec![false; n_villages],
            is_touched_ever: vec![false; n_villages],
            events: 0,
            outbreaks: 0,
            hits: Vec::new(),
        }
    }

    /// Clears this year's damage (herd losses carry on).
    pub fn new_year(&mut self) {
        for &v in &self.touched {
            let b = v as usize * self.n_ind;
            self.survival[b..b + self.n_ind].fill(1.0);
            self.cause[b..b + self.n_ind].fill(0);
            self.is_touched[v as usize] = false;
        }
        self.touched.clear();
    }

    /// Clears everything for a new trial.
    pub fn new_trial(&mut self) {
        self.new_year();
        for &v in &self.touched_ever {
            let b = v as usize * self.n_ind;
            self.herd_survival[b..b + self.n_ind].fill(1.0);
            self.is_touched_ever[v as usize] = false;
        }
        self.touched_ever.clear();
        self.events = 0;
        self.outbreaks = 0;
    }

    fn touch(&mut self, v: u32) {
        if !self.is_touched[v as usize] {
            self.is_touched[v as usize] = true;
            self.touched.push(v);
        }
        if !self.is_touched_ever[v as usize] {
            self.is_touched_ever[v as usize] = true;
            self.touched_ever.push(v);
        }
    }

    fn hit(&mut self, v: u32, industry: usize, d: f64, cause: u8, livestock: bool) {
        if d <= 0.0 {
            return;
        }
        let k = v as usize * self.n_ind + industry;
        self.survival[k] *= 1.0 - d.min(1.0);
        self.cause[k] |= cause;
        if livestock {
            self.herd_survival[k] *= 1.0 - d.min(1.0);
        }
    }

    /// This year's damage D of an industry in a village.
    #[inline]
    pub fn damage(&self, v: u32, industry: usize) -> f64 {
        1.0 - self.survival[v as usize * self.n_ind + industry]
    }

    #[inline]
    pub fn cause(&self, v: u32, industry: usize) -> u8 {
        self.cause[v as usize * self.n_ind + industry]
    }

    /// Share of a herd still alive, after every loss so far in the trial.
    #[inline]
    pub fn herd_survival(&self, v: u32, industry: usize) -> f64 {
        self.herd_survival[v as usize * self.n_ind + industry]
    }
}

fn draw_ratio(g: &mut rng::TrialRng, b: &BetaDist) -> f64 {
    match b.fixed {
        Some(x) => x,
        None => rng::beta(g, b.alpha, b.beta),
    }
}

/// Draws year `t`'s disasters and outbreaks of one trial into `st`.
pub fn draw_year(h: &HazardModel, seed: u64, trial: u64, t: usize, st: &mut DamageState) {
    let mut hits = std::mem::take(&mut st.hits);
    for p in &h.perils {
        for (r, zones) in h.regions.iter().enumerate() {
            let mut g = rng::stream(seed, trial, Stream::Peril, p.key, rng::key(&[t as u64, h.region_keys[r]]));
            let n = rng::poisson(&mut g, p.rate);
            st.events += n;
            for _ in 0..n {
                let d_event = draw_ratio(&mut g, &p.damage);
                hits.clear();
                for (z, villages) in zones.iter().enumerate() {
                    rng::bernoulli_indices(&mut g, villages.len(), p.hit_by_zone[z], |i| hits.push(villages[i]));
                }
                for &v in &hits {
                    let d = if p.per_village { draw_ratio(&mut g, &p.damage) } else { d_event };
                    st.touch(v);
                    for (i, &vul) in p.vulnerability.iter().enumerate() {
                        st.hit(v, i, d * vul, FROM_DISASTER, h.livestock[i]);
                    }
                }
            }
        }
    }
    for dz in &h.diseases {
        for (r, zones) in h.regions.iter().enumerate() {
            let mut g = rng::stream(seed, trial, Stream::Epidemic, dz.key, rng::key(&[t as u64, h.region_keys[r]]));
            let n = rng::poisson(&mut g, dz.rate);
            st.outbreaks += n;
            for _ in 0..n {
                let m = draw_ratio(&mut g, &dz.mortality);
                hits.clear();
                for (z, villages) in zones.iter().enumerate() {
                    rng::bernoulli_indices(&mut g, villages.len(), dz.hit_by_zone[z], |i| hits.push(villages[i]));
                }
                for &v in &hits {
                    st.touch(v);
                    for (i, &a) in dz.affects.iter().enumerate() {
                        if a {
                            st.hit(v, i, m, FROM_EPIDEMIC, true);
                        }
                    }
                }
            }
        }
    }
    for ev in h.forced.iter().filter(|e| e.year == t) {
        if ev.cause == FROM_EPIDEMIC {
            st.outbreaks += 1;
        } else {
            st.events += 1;
        }
        for &v in &ev.villages {
            st.touch(v);
            for (i, &d) in ev.damage.iter().enumerate() {
                let livestock = h.livestock[i] || ev.cause == FROM_EPIDEMIC;
                st.hit(v, i, d, ev.cause, livestock);
            }
        }
    }
    st.hits = hits;
}
