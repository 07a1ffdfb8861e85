//! Natural disasters, livestock epidemics and personal shocks (docs/model.md 3.2-3.5).
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
    /// Events per region and year.
    pub count: rng::Poisson,
    pub hit_by_zone: Vec<rng::Chance>,
    pub damage: Ratio,
    pub per_village: bool,
    pub vulnerability: Vec<f64>,
}

#[derive(Clone, Debug)]
pub struct DiseaseModel {
    pub key: u64,
    pub rate: f64,
    /// Outbreaks per region and year.
    pub count: rng::Poisson,
    pub hit_by_zone: Vec<rng::Chance>,
    pub mortality: Ratio,
    /// Industries whose species it affects.
    pub affects: Vec<bool>,
}

#[derive(Clone, Debug)]
pub struct ShockModel {
    pub key: u64,
    pub kind: ShockKind,
    pub prob: rng::Chance,
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
    /// The counties of `villages`.
    pub counties: Vec<u32>,
}

#[derive(Clone, Debug, Default)]
pub struct HazardModel {
    pub forced: Vec<ForcedEvent>,
    /// `regions[r][zone]`: the villages of region r in that zone.
    pub regions: Vec<Vec<Vec<u32>>>,
    /// Stream address of each region, from its id (or its county's, alone).
    pub region_keys: Vec<u64>,
    /// The counties of each region, and the county of each village.
    pub region_counties: Vec<Vec<u32>>,
    pub village_county: Vec<u32>,
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
        let by_zone = |m: &std::collections::BTreeMap<String, f64>| -> Vec<rng::Chance> {
            zones.iter().map(|z| rng::Chance::new(m.get(z).copied().unwrap_or(0.0))).collect()
        };
        let perils = if s.hazards.enabled {
            s.hazards
                .perils
                .iter()
                .map(|p| PerilModel {
                    key: rng::name_key(&["peril", &p.id]),
                    rate: p.rate,
                    count: rng::Poisson::new(p.rate),
                    hit_by_zone: by_zone(&p.hit),
                    damage: Ratio::of(&p.damage),
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
                    count: rng::Poisson::new(d.rate),
                    hit_by_zone: by_zone(&d.hit),
                    mortality: Ratio::of(&d.mortality),
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
                prob: rng::Chance::new(x.prob),
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
                let mut counties: Vec<u32> = hit.iter().map(|&v| villages[v as usize].county).collect();
                counties.sort_unstable();
                counties.dedup();
                ForcedEvent { year: ev.year as usize - 1, villages: hit, damage, cause, counties }
            })
            .collect();
        let mut region_counties = vec![Vec::new(); n_regions];
        for (c, &r) in region_of.iter().enumerate() {
            region_counties[r].push(c as u32);
        }
        HazardModel {
            forced,
            regions,
            region_keys,
            region_counties,
            village_county: villages.iter().map(|v| v.county).collect(),
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

/// A village's hit by one event: the event's ratio, which reaches each
/// industry through its effect's factors.
#[derive(Clone, Copy, Debug)]
struct Hit {
    /// The village's previous hit (hits are prepended, so this year's come first).
    next: u32,
    year: u8,
    effect: u16,
    ratio: f64,
}

const NONE: u32 = u32::MAX;

/// One trial's damage, kept as each village's list of hits rather than as a
/// (village, industry) grid: a broad drought then costs one entry per village
/// hit, and a damage is computed only where a default or a candidate needs it.
/// A new trial clears the per-village heads and marks whole (a few bytes a
/// village: less than a branch per hit to list the villages touched).
#[derive(Clone, Debug, Default)]
pub struct DamageState {
    n_ind: usize,
    /// Damage per unit ratio of each effect (peril, disease, forced event), `effect * n_ind + industry`.
    factor: Vec<f64>,
    /// Whether the effect's damage is also a share of the herd lost, per industry.
    herd: Vec<bool>,
    cause_of: Vec<u8>,
    hits: Vec<Hit>,
    head: Vec<u32>,
    year: u8,
    /// Per village, the year (plus one) a peril whose damage differs by
    /// village last hit it.
    varied_mark: Vec<u8>,
    /// Per (county, industry): `prod(1 - d)` over this year's events that
    /// share one damage across villages and reach the county; one minus it
    /// bounds the damage of every village of the county that no varied peril hit.
    shared_survival: Vec<f64>,
    /// Per (county, industry): `prod(1 - d)` over this year's varied events,
    /// each at the largest ratio it drew in the county: with the shared
    /// bound, it bounds the damage of every village of the county.
    varied_survival: Vec<f64>,
    /// Largest ratio of the current varied event per county (scratch).
    county_max: Vec<f64>,
    pub events: u32,
    pub outbreaks: u32,
    /// Villages hit by the current event (scratch).
    scratch: Vec<u32>,
}

impl DamageState {
    pub fn new(h: &HazardModel, n_villages: usize, n_counties: usize) -> Self {
        let n_ind = h.n_industries;
        let mut factor = Vec::new();
        let mut herd = Vec::new();
        let mut cause_of = Vec::new();
        for p in &h.perils {
            factor.extend_from_slice(&p.vulnerability);
            herd.extend_from_slice(&h.livestock);
            cause_of.push(FROM_DISASTER);
        }
        for d in &h.diseases {
            factor.extend(d.affects.iter().map(|&a| if a { 1.0 } else { 0.0 }));
            herd.extend(std::iter::repeat_n(true, n_ind));
            cause_of.push(FROM_EPIDEMIC);
        }
        for ev in &h.forced {
            factor.extend_from_slice(&ev.damage);
            herd.extend(h.livestock.iter().map(|&l| l || ev.cause == FROM_EPIDEMIC));
            cause_of.push(ev.cause);
        }
        DamageState {
            n_ind,
            factor,
            herd,
            cause_of,
            hits: Vec::new(),
            head: vec![NONE; n_villages],
            year: 0,
            varied_mark: vec![0; n_villages],
            shared_survival: vec![1.0; n_counties * n_ind],
            varied_survival: vec![1.0; n_counties * n_ind],
            county_max: vec![0.0; n_counties],
            events: 0,
            outbreaks: 0,
            scratch: Vec::new(),
        }
    }

    /// Starts year `t` (0-based): this year's damage is empty, herd losses carry on.
    fn new_year(&mut self, t: usize) {
        self.year = t as u8;
        self.shared_survival.fill(1.0);
        self.varied_survival.fill(1.0);
    }

    /// Clears everything for a new trial.
    pub fn new_trial(&mut self) {
        // Filled whole: a province trial touches most villages, and a list
        // of them would cost a branch per hit.
        self.head.fill(NONE);
        self.varied_mark.fill(0);
        self.hits.clear();
        self.events = 0;
        self.outbreaks = 0;
    }

    fn hit(&mut self, v: u32, effect: usize, ratio: f64) {
        let head = &mut self.head[v as usize];
        self.hits.push(Hit { next: *head, year: self.year, effect: effect as u16, ratio });
        *head = self.hits.len() as u32 - 1;
    }

    fn mark_varied(&mut self, v: u32) {
        self.varied_mark[v as usize] = self.year + 1;
    }

    /// Widens the shared bound of `counties` by one event of ratio `ratio`.
    fn bound(&mut self, counties: &[u32], effect: usize, ratio: f64) {
        Self::widen(&mut self.shared_survival, &self.factor, self.n_ind, counties, effect, |_| ratio);
    }

    /// Widens the varied bound of `counties` by the current varied event, at
    /// its largest ratio in each county, and clears those ratios.
    fn bound_varied(&mut self, counties: &[u32], effect: usize) {
        let max = &self.county_max;
        Self::widen(&mut self.varied_survival, &self.factor, self.n_ind, counties, effect, |c| max[c]);
        for &c in counties {
            self.county_max[c as usize] = 0.0;
        }
    }

    fn widen(
        survival: &mut [f64],
        factor: &[f64],
        n_ind: usize,
        counties: &[u32],
        effect: usize,
        ratio: impl Fn(usize) -> f64,
    ) {
        let f = &factor[effect * n_ind..(effect + 1) * n_ind];
        for &c in counties {
            let ratio = ratio(c as usize);
            let s = &mut survival[c as usize * n_ind..(c as usize + 1) * n_ind];
            for (s, &f) in s.iter_mut().zip(f) {
                let d = ratio * f;
                if d > 0.0 {
                    *s *= 1.0 - d.min(1.0);
                }
            }
        }
    }

    /// This year's hits of village `v`, newest first.
    #[inline]
    fn this_year(&self, v: u32) -> impl Iterator<Item = &Hit> {
        let mut k = self.head[v as usize];
        std::iter::from_fn(move || {
            let h = self.hits.get(k as usize).filter(|h| h.year == self.year)?;
            k = h.next;
            Some(h)
        })
    }

    /// Where village `v`'s list of hits starts (for loading it ahead of use).
    #[inline]
    pub fn first_hit(&self, v: u32) -> u32 {
        let k = self.head[v as usize];
        self.hits.get(k as usize).map_or(k, |h| h.next)
    }

    /// True when some event hit village `v` this year.
    #[inline]
    pub fn hit_this_year(&self, v: u32) -> bool {
        self.this_year(v).next().is_some()
    }

    /// This year's damage D of an industry in a village: `1 - prod(1 - d)` over its hits.
    #[inline]
    pub fn damage(&self, v: u32, industry: usize) -> f64 {
        let mut s = 1.0;
        for h in self.this_year(v) {
            let d = h.ratio * self.factor[h.effect as usize * self.n_ind + industry];
            if d > 0.0 {
                s *= 1.0 - d.min(1.0);
            }
        }
        1.0 - s
    }

    /// An upper bound of this year's damage of an industry in any village of
    /// a county that no varied peril hit.
    #[inline]
    pub fn shared_bound(&self, county: usize, industry: usize) -> f64 {
        1.0 - self.shared_survival[county * self.n_ind + industry]
    }

    /// An upper bound of this year's damage of an industry in any village of a county.
    #[inline]
    pub fn bound_all(&self, county: usize, industry: usize) -> f64 {
        let k = county * self.n_ind + industry;
        1.0 - self.shared_survival[k] * self.varied_survival[k]
    }

    /// True when a varied peril (one whose damage differs by village) hit village `v` this year.
    #[inline]
    pub fn is_varied(&self, v: u32) -> bool {
        self.varied_mark[v as usize] == self.year + 1
    }

    /// What caused this year's damage of an industry in a village.
    #[inline]
    pub fn cause(&self, v: u32, industry: usize) -> u8 {
        self.damage_and_cause(v, industry).1
    }

    /// [`DamageState::damage`] and [`DamageState::cause`] in one walk of the hits.
    #[inline]
    pub fn damage_and_cause(&self, v: u32, industry: usize) -> (f64, u8) {
        let (mut s, mut c) = (1.0, 0);
        for h in self.this_year(v) {
            let d = h.ratio * self.factor[h.effect as usize * self.n_ind + industry];
            if d > 0.0 {
                s *= 1.0 - d.min(1.0);
                c |= self.cause_of[h.effect as usize];
            }
        }
        (1.0 - s, c)
    }

    /// Share of a herd still alive, after every loss so far in the trial.
    #[inline]
    pub fn herd_survival(&self, v: u32, industry: usize) -> f64 {
        let mut s = 1.0;
        let mut k = self.head[v as usize];
        while let Some(h) = self.hits.get(k as usize) {
            let at = h.effect as usize * self.n_ind + industry;
            let d = h.ratio * self.factor[at];
            if self.herd[at] && d > 0.0 {
                s *= 1.0 - d.min(1.0);
            }
            k = h.next;
        }
        s
    }
}

/// A damage or mortality ratio's distribution: fixed, or Beta with its
/// sampler's constants computed once.
#[derive(Clone, Copy, Debug)]
pub enum Ratio {
    Fixed(f64),
    Beta(rng::Beta),
}

impl Ratio {
    pub fn of(b: &BetaDist) -> Ratio {
        match b.fixed {
            Some(x) => Ratio::Fixed(x),
            None => Ratio::Beta(rng::Beta::new(b.alpha, b.beta)),
        }
    }
}

fn draw_ratio(g: &mut rng::TrialRng, r: &Ratio) -> f64 {
    match r {
        Ratio::Fixed(x) => *x,
        Ratio::Beta(b) => b.sample(g),
    }
}

/// Draws year `t`'s disasters and outbreaks of one trial into `st`.
pub fn draw_year(h: &HazardModel, seed: u64, trial: u64, t: usize, st: &mut DamageState) {
    st.new_year(t);
    let mut hits = std::mem::take(&mut st.scratch);
    for (k, p) in h.perils.iter().enumerate() {
        for (r, zones) in h.regions.iter().enumerate() {
            let mut g = rng::stream(seed, trial, Stream::Peril, p.key, rng::key(&[t as u64, h.region_keys[r]]));
            let n = p.count.sample(&mut g);
            st.events += n;
            for _ in 0..n {
                let d_event = draw_ratio(&mut g, &p.damage);
                hits.clear();
                for (z, villages) in zones.iter().enumerate() {
                    rng::bernoulli_select(&mut g, villages, p.hit_by_zone[z], &mut hits);
                }
                if !p.per_village && !hits.is_empty() {
                    st.bound(&h.region_counties[r], k, d_event);
                }
                for &v in &hits {
                    let d = if p.per_village { draw_ratio(&mut g, &p.damage) } else { d_event };
                    st.hit(v, k, d);
                    if p.per_village {
                        st.mark_varied(v);
                        let c = &mut st.county_max[h.village_county[v as usize] as usize];
                        *c = c.max(d);
                    }
                }
                if p.per_village && !hits.is_empty() {
                    st.bound_varied(&h.region_counties[r], k);
                }
            }
        }
    }
    let n_perils = h.perils.len();
    for (k, dz) in h.diseases.iter().enumerate() {
        for (r, zones) in h.regions.iter().enumerate() {
            let mut g = rng::stream(seed, trial, Stream::Epidemic, dz.key, rng::key(&[t as u64, h.region_keys[r]]));
            let n = dz.count.sample(&mut g);
            st.outbreaks += n;
            for _ in 0..n {
                let m = draw_ratio(&mut g, &dz.mortality);
                hits.clear();
                for (z, villages) in zones.iter().enumerate() {
                    rng::bernoulli_select(&mut g, villages, dz.hit_by_zone[z], &mut hits);
                }
                if !hits.is_empty() {
                    st.bound(&h.region_counties[r], n_perils + k, m);
                }
                for &v in &hits {
                    st.hit(v, n_perils + k, m);
                }
            }
        }
    }
    let first_forced = n_perils + h.diseases.len();
    for (k, ev) in h.forced.iter().enumerate().filter(|(_, e)| e.year == t) {
        if ev.cause == FROM_EPIDEMIC {
            st.outbreaks += 1;
        } else {
            st.events += 1;
        }
        st.bound(&ev.counties, first_forced + k, 1.0);
        for &v in &ev.villages {
            st.hit(v, first_forced + k, 1.0);
        }
    }
    st.scratch = hits;
}
