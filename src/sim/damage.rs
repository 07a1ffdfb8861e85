//! One trial's damage from disasters and epidemics: the compiled
//! [`HazardModel`](crate::model::hazard::HazardModel) drawn year by year
//! (docs/model.md 3.2-3.5).

pub use crate::model::hazard::{FROM_DISASTER, FROM_EPIDEMIC};
use crate::model::hazard::{HazardModel, Ratio, SeverityTilt, VillagePlace};
use crate::rng::{self, Stream};

/// A village's hit by an event that lists its villages (a per-village
/// peril's, a stress overlay's): the ratio, which reaches each industry
/// through its effect's factors.
#[derive(Clone, Copy, Debug)]
struct Hit {
    /// The village's previous hit (hits are prepended, so this year's come first).
    next: u32,
    year: u8,
    effect: u16,
    ratio: f64,
}

/// An event with one ratio for every village it hits (a flood, a drought,
/// an outbreak), kept per hazard region. It lists no villages: whether it
/// hit village v is decided where a loan of v needs its damage, by the
/// uniform keyed by (`key`, v's key) below v's zone's chance, so drawing it
/// costs the same in a region of ten villages or ten thousand.
#[derive(Clone, Copy, Debug)]
struct SharedEvent {
    /// The region's previous event (events are prepended, so this year's come first).
    next: u32,
    year: u8,
    effect: u16,
    ratio: f64,
    key: u64,
}

const NONE: u32 = u32::MAX;

/// One trial's damage, kept as each region's shared events and each
/// village's list of its own hits rather than as a (village, industry) grid:
/// a broad drought costs one entry, and a damage is computed only where a
/// default or a candidate needs it.
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
    shared: Vec<SharedEvent>,
    region_head: Vec<u32>,
    places: Vec<VillagePlace>,
    /// `effect * n_zones + zone`: a shared event's chance to hit a village of the zone.
    hit_threshold: Vec<u64>,
    n_zones: usize,
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
    /// Under importance sampling, per peril then disease: the trial's Beta
    /// draws and the sum of their `ln x` (what the pilot's cross-entropy
    /// update of the severities reads), and the draws' log likelihood ratio.
    pub severity: Vec<(u32, f64)>,
    pub severity_log_ratio: f64,
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
        // Every peril and disease has one chance per zone, in the zones' order.
        let chances: Vec<&[rng::Chance]> =
            h.perils.iter().map(|p| &p.hit_by_zone[..]).chain(h.diseases.iter().map(|d| &d.hit_by_zone[..])).collect();
        let n_zones = chances.first().map_or(0, |c| c.len());
        let hit_threshold = chances.iter().flat_map(|c| c.iter().map(|c| rng::chance_threshold(c.p))).collect();
        DamageState {
            n_ind,
            factor,
            herd,
            cause_of,
            hits: Vec::new(),
            head: vec![NONE; n_villages],
            shared: Vec::new(),
            region_head: vec![NONE; h.regions.len()],
            places: h.places.clone(),
            hit_threshold,
            n_zones,
            year: 0,
            varied_mark: vec![0; n_villages],
            shared_survival: vec![1.0; n_counties * n_ind],
            varied_survival: vec![1.0; n_counties * n_ind],
            county_max: vec![0.0; n_counties],
            events: 0,
            outbreaks: 0,
            severity: vec![(0, 0.0); h.perils.len() + h.diseases.len()],
            severity_log_ratio: 0.0,
            scratch: Vec::new(),
        }
    }

    /// Starts year `t` (0-based): this year's damage is empty, herd losses carry on.
    pub(crate) fn new_year(&mut self, t: usize) {
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
        self.region_head.fill(NONE);
        self.shared.clear();
        self.events = 0;
        self.outbreaks = 0;
        self.severity.fill((0, 0.0));
        self.severity_log_ratio = 0.0;
    }

    fn hit(&mut self, v: u32, effect: usize, ratio: f64) {
        let head = &mut self.head[v as usize];
        self.hits.push(Hit { next: *head, year: self.year, effect: effect as u16, ratio });
        *head = self.hits.len() as u32 - 1;
    }

    fn shared_event(&mut self, region: usize, effect: usize, ratio: f64, key: u64) {
        let head = &mut self.region_head[region];
        self.shared.push(SharedEvent { next: *head, year: self.year, effect: effect as u16, ratio, key });
        *head = self.shared.len() as u32 - 1;
    }

    /// Whether shared event `e` hit the village at `place`.
    #[inline]
    fn shared_hit(&self, e: &SharedEvent, place: VillagePlace) -> bool {
        rng::keyed_below(e.key, place.key, self.hit_threshold[e.effect as usize * self.n_zones + place.zone as usize])
    }

    /// The shared events of village `v`'s region, newest first: this year's
    /// only, or the whole trial's so far. Each still needs its hit test.
    #[inline]
    fn shared_events(&self, v: u32, this_year: bool) -> (impl Iterator<Item = &SharedEvent>, VillagePlace) {
        let place = self.places[v as usize];
        let mut k = self.region_head[place.region as usize];
        let events = std::iter::from_fn(move || {
            let e = self.shared.get(k as usize).filter(|e| !this_year || e.year == self.year)?;
            k = e.next;
            Some(e)
        });
        (events, place)
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

    /// This year's damage D of an industry in a village: `1 - prod(1 - d)` over its hits.
    #[inline]
    pub fn damage(&self, v: u32, industry: usize) -> f64 {
        self.damage_and_cause(v, industry).0
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
        let (events, place) = self.shared_events(v, true);
        for e in events {
            // Without a branch: whether an event hit a village is a coin
            // toss no predictor learns, and the hash costs less than the
            // mispredictions (with a branch, no faster than listing hits).
            let d = (e.ratio * self.factor[e.effect as usize * self.n_ind + industry]).min(1.0);
            let hit = (d > 0.0) & self.shared_hit(e, place);
            s *= 1.0 - f64::from(hit as u8) * d;
            c |= self.cause_of[e.effect as usize] & (hit as u8).wrapping_neg();
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
        let (events, place) = self.shared_events(v, false);
        for e in events {
            let at = e.effect as usize * self.n_ind + industry;
            let d = e.ratio * self.factor[at];
            if self.herd[at] && d > 0.0 && self.shared_hit(e, place) {
                s *= 1.0 - d.min(1.0);
            }
        }
        s
    }
}

fn draw_ratio(g: &mut rng::TrialRng, r: &Ratio) -> f64 {
    match r {
        Ratio::Fixed(x) => *x,
        Ratio::Beta(b) => b.sample(g),
    }
}

/// A damage ratio of hazard `k` (perils, then diseases): from the scenario's
/// law, or under importance sampling from the tilted one, recording the
/// draw for the likelihood ratio and the pilot.
#[inline]
fn draw_severity(g: &mut rng::TrialRng, r: &Ratio, tilt: Option<&SeverityTilt>, k: usize, st: &mut DamageState) -> f64 {
    let Some(tilt) = tilt else { return draw_ratio(g, r) };
    let x = tilt.law.sample(g);
    let ln_x = x.max(f64::MIN_POSITIVE).ln();
    let s = &mut st.severity[k];
    s.0 += 1;
    s.1 += ln_x;
    st.severity_log_ratio += tilt.log_ratio(ln_x);
    x
}

/// The stream of one peril's or disease's events in year `t` and one hazard
/// region: the events' count is its first draw (which [`count_year`] and the
/// importance weights read alone), then each event's ratio and villages.
pub fn event_stream(seed: u64, trial: u64, stream: Stream, key: u64, t: usize, region_key: u64) -> rng::TrialRng {
    rng::stream(seed, trial, stream, key, rng::key(&[t as u64, region_key]))
}

/// Year `t` of a trial after every loan's term: its disasters and outbreaks
/// are counted as [`draw_year`] counts them (a count is the first draw of
/// its stream, so the counts are the same), and nothing else is drawn, as no
/// loan is left to ask for a damage. Under a tilted severity law every draw
/// weighs in the trial's likelihood ratio, so such a year is drawn whole.
pub fn count_year(h: &HazardModel, seed: u64, trial: u64, t: usize, st: &mut DamageState) {
    let tilted = h.perils.iter().map(|p| &p.tilt).chain(h.diseases.iter().map(|d| &d.tilt)).any(Option::is_some);
    if tilted {
        return draw_year(h, seed, trial, t, st);
    }
    st.new_year(t);
    for p in &h.perils {
        for &rk in &h.region_keys {
            st.events += p.count.sample(&mut event_stream(seed, trial, Stream::Peril, p.key, t, rk));
        }
    }
    for dz in &h.diseases {
        for &rk in &h.region_keys {
            st.outbreaks += dz.count.sample(&mut event_stream(seed, trial, Stream::Epidemic, dz.key, t, rk));
        }
    }
    for ev in h.forced.iter().filter(|e| e.year == t) {
        if ev.cause == FROM_EPIDEMIC {
            st.outbreaks += 1;
        } else {
            st.events += 1;
        }
    }
}

/// Draws year `t`'s disasters and outbreaks of one trial into `st`.
pub fn draw_year(h: &HazardModel, seed: u64, trial: u64, t: usize, st: &mut DamageState) {
    st.new_year(t);
    let mut hits = std::mem::take(&mut st.scratch);
    for (k, p) in h.perils.iter().enumerate() {
        for (r, zones) in h.regions.iter().enumerate() {
            let mut g = event_stream(seed, trial, Stream::Peril, p.key, t, h.region_keys[r]);
            let n = p.count.sample(&mut g);
            st.events += n;
            let reaches = n > 0 && h.reaches(r, &p.hit_by_zone);
            for _ in 0..n {
                let d_event = draw_severity(&mut g, &p.damage, p.tilt.as_ref(), k, st);
                if !p.per_village {
                    // One ratio for all: the villages are asked, not listed.
                    st.shared_event(r, k, d_event, rng::Bits::bits(&mut g));
                    if reaches {
                        st.bound(&h.region_counties[r], k, d_event);
                    }
                    continue;
                }
                hits.clear();
                for (z, villages) in zones.iter().enumerate() {
                    rng::bernoulli_select(&mut g, villages, p.hit_by_zone[z], &mut hits);
                }
                for &v in &hits {
                    let d = draw_severity(&mut g, &p.damage, p.tilt.as_ref(), k, st);
                    st.hit(v, k, d);
                    st.mark_varied(v);
                    let c = &mut st.county_max[h.village_county[v as usize] as usize];
                    *c = c.max(d);
                }
                if !hits.is_empty() {
                    st.bound_varied(&h.region_counties[r], k);
                }
            }
        }
    }
    let n_perils = h.perils.len();
    for (k, dz) in h.diseases.iter().enumerate() {
        for r in 0..h.regions.len() {
            let mut g = event_stream(seed, trial, Stream::Epidemic, dz.key, t, h.region_keys[r]);
            let n = dz.count.sample(&mut g);
            st.outbreaks += n;
            let reaches = n > 0 && h.reaches(r, &dz.hit_by_zone);
            for _ in 0..n {
                let m = draw_severity(&mut g, &dz.mortality, dz.tilt.as_ref(), n_perils + k, st);
                st.shared_event(r, n_perils + k, m, rng::Bits::bits(&mut g));
                if reaches {
                    st.bound(&h.region_counties[r], n_perils + k, m);
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
