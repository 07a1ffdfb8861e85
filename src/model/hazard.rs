//! Natural disasters, livestock epidemics and personal shocks (docs/model.md 3.2-3.5).
//!
//! A peril's events are drawn per hazard region (a county, or counties the
//! scenario groups) and year: a Poisson number of events, each hitting every
//! village of the region with its zone's probability and carrying a Beta
//! damage ratio. An event with one ratio for all the villages it hits
//! (every peril but the per-village ones, every outbreak) lists no villages:
//! it hits village v when a uniform keyed by (the event's key, v's key) lies
//! below v's zone's probability, decided where a loan of v needs its damage
//! ([`VillagePlace`], `sim::damage`). A borrower in a hit village takes
//! `d * vulnerability`; an epidemic outbreak kills a Beta share of the herds
//! of the species it affects. Several events combine as `D = 1 - prod(1 - d_e)`, per (village,
//! industry). Each peril, disease and shock draws from its own stream keyed
//! by (year, region), so removing one never moves another's draws.

use crate::model::VillageInfo;
use crate::rng;
use crate::scenario::schema::*;

/// Bit flags of what lies behind a (village, industry) damage.
pub const FROM_DISASTER: u8 = 1;
pub const FROM_EPIDEMIC: u8 = 2;

#[derive(Clone, Debug)]
pub struct PerilModel {
    /// Stream address, from the peril's id.
    pub key: u64,
    pub rate: f64,
    /// Events per region and year.
    pub count: rng::Poisson,
    pub hit_by_zone: Vec<rng::Chance>,
    pub damage: Ratio,
    /// The damage's Beta shape (alpha, beta); `None` for a fixed ratio.
    pub shape: Option<(f64, f64)>,
    /// The law an importance-sampled run draws the damage from instead.
    pub tilt: Option<SeverityTilt>,
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
    /// The mortality's Beta shape (alpha, beta); `None` for a fixed share.
    pub shape: Option<(f64, f64)>,
    /// The law an importance-sampled run draws the mortality from instead.
    pub tilt: Option<SeverityTilt>,
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

/// What a shared event's keyed hit test reads of a village: its key (from
/// its id, so a village's hits follow it from one scenario to another), its
/// hazard region and its zone.
#[derive(Clone, Copy, Debug, Default)]
pub struct VillagePlace {
    pub key: u64,
    pub region: u32,
    pub zone: u32,
}

#[derive(Clone, Debug, Default)]
pub struct HazardModel {
    pub forced: Vec<ForcedEvent>,
    /// `regions[r][zone]`: the villages of region r in that zone that have
    /// a loan, the only ones ever asked for a damage.
    pub regions: Vec<Vec<Vec<u32>>>,
    /// Stream address of each region, from its id (or its county's, alone).
    pub region_keys: Vec<u64>,
    /// The counties of each region, and the county of each village.
    pub region_counties: Vec<Vec<u32>>,
    pub village_county: Vec<u32>,
    /// Each village's key, region and zone.
    pub places: Vec<VillagePlace>,
    pub perils: Vec<PerilModel>,
    pub diseases: Vec<DiseaseModel>,
    pub shocks: Vec<ShockModel>,
    pub n_industries: usize,
    /// Industries whose damage is also the share of the herd lost.
    pub livestock: Vec<bool>,
}

impl HazardModel {
    /// Compiles the hazards against the model's names: hazard regions, then
    /// each peril, disease and shock with its stream key and its sampler's
    /// constants, then a stress overlay's forced events. `loan_village` is
    /// each loan's village.
    pub fn build(
        s: &Scenario,
        villages: &[VillageInfo],
        loan_village: &[u32],
        counties: &[String],
        zones: &[String],
        industries: &[String],
    ) -> HazardModel {
        let mut regions = Regions::of(s, villages, counties, zones.len());
        let mut places: Vec<VillagePlace> = villages
            .iter()
            .map(|v| VillagePlace { key: rng::name_key(&["village", &v.id]), region: 0, zone: v.zone as u32 })
            .collect();
        for (r, by_zone) in regions.villages.iter().enumerate() {
            for &v in by_zone.iter().flatten() {
                places[v as usize].region = r as u32;
            }
        }
        // A peril whose damage differs by village draws a ratio for each
        // village it hits; only a loan asks for a village's damage, so a
        // village without one is left out of the draws (exact: the hits and
        // ratios of the others keep their law), and a book spread thin over
        // a wide geography does not pay for the villages it does not lend in.
        let mut has_loan = vec![false; villages.len()];
        for &v in loan_village {
            has_loan[v as usize] = true;
        }
        for zone in regions.villages.iter_mut().flatten() {
            zone.retain(|&v| has_loan[v as usize]);
        }
        HazardModel {
            places,
            forced: s.stress.events.iter().map(|ev| forced_event(s, ev, villages, industries)).collect(),
            regions: regions.villages,
            region_keys: regions.keys,
            region_counties: regions.counties,
            village_county: villages.iter().map(|v| v.county).collect(),
            perils: perils(s, zones, industries),
            diseases: diseases(s, zones),
            shocks: s
                .shocks
                .iter()
                .map(|x| ShockModel {
                    key: rng::name_key(&["shock", &x.id]),
                    kind: x.kind,
                    prob: rng::Chance::new(x.prob),
                    default_prob: x.default_prob,
                })
                .collect(),
            n_industries: industries.len(),
            livestock: s.industries.iter().map(|i| i.kind == IndustryKind::Livestock).collect(),
        }
    }

    pub fn is_active(&self) -> bool {
        !self.perils.is_empty() || !self.diseases.is_empty() || !self.forced.is_empty()
    }

    /// Whether an event with these chances by zone can hit a village of region
    /// `r` that has a loan (the only villages the zone lists hold).
    pub fn reaches(&self, r: usize, hit_by_zone: &[rng::Chance]) -> bool {
        self.regions[r].iter().zip(hit_by_zone).any(|(villages, c)| !villages.is_empty() && c.p > 0.0)
    }
}

/// The hazard regions: the scenario's groups of counties, then each county
/// in none alone.
struct Regions {
    /// `villages[r][zone]`: the villages of region r in that zone.
    villages: Vec<Vec<Vec<u32>>>,
    keys: Vec<u64>,
    counties: Vec<Vec<u32>>,
}

impl Regions {
    fn of(s: &Scenario, villages: &[VillageInfo], counties: &[String], zones: usize) -> Regions {
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
        let mut keys: Vec<u64> = s.hazards.regions.iter().map(|r| rng::name_key(&["region", &r.id])).collect();
        for (ci, r) in region_of.iter_mut().enumerate() {
            if *r == usize::MAX {
                *r = n_regions;
                n_regions += 1;
                keys.push(rng::name_key(&["county-region", &counties[ci]]));
            }
        }
        let mut by_zone = vec![vec![Vec::new(); zones]; n_regions];
        for (v, vi) in villages.iter().enumerate() {
            by_zone[region_of[vi.county as usize]][vi.zone as usize].push(v as u32);
        }
        let mut region_counties = vec![Vec::new(); n_regions];
        for (c, &r) in region_of.iter().enumerate() {
            region_counties[r].push(c as u32);
        }
        Regions { villages: by_zone, keys, counties: region_counties }
    }
}

/// Each zone's chance of being hit by one event, from a map by zone id.
fn by_zone(zones: &[String], m: &std::collections::BTreeMap<String, f64>) -> Vec<rng::Chance> {
    zones.iter().map(|z| rng::Chance::new(m.get(z).copied().unwrap_or(0.0))).collect()
}

/// The perils, none when hazards are off.
fn perils(s: &Scenario, zones: &[String], industries: &[String]) -> Vec<PerilModel> {
    if !s.hazards.enabled {
        return Vec::new();
    }
    s.hazards
        .perils
        .iter()
        .map(|p| PerilModel {
            key: rng::name_key(&["peril", &p.id]),
            rate: p.rate,
            count: rng::Poisson::new(p.rate),
            hit_by_zone: by_zone(zones, &p.hit),
            damage: Ratio::of(&p.damage),
            shape: shape(&p.damage),
            tilt: None,
            per_village: p.per_village_damage,
            vulnerability: industries
                .iter()
                .map(|i| p.vulnerability.get(i).copied().unwrap_or(p.default_vulnerability))
                .collect(),
        })
        .collect()
}

/// The diseases, none when epidemics are off.
fn diseases(s: &Scenario, zones: &[String]) -> Vec<DiseaseModel> {
    if !s.epidemics.enabled {
        return Vec::new();
    }
    s.epidemics
        .diseases
        .iter()
        .map(|d| DiseaseModel {
            key: rng::name_key(&["disease", &d.id]),
            rate: d.rate,
            count: rng::Poisson::new(d.rate),
            hit_by_zone: by_zone(zones, &d.hit),
            mortality: Ratio::of(&d.mortality),
            shape: shape(&d.mortality),
            tilt: None,
            affects: s.industries.iter().map(|i| i.species.as_ref().is_some_and(|sp| d.species.contains(sp))).collect(),
        })
        .collect()
}

/// A stress overlay's event: a footprint fixed by the villages' ids, and the
/// damage per industry its peril's vulnerabilities (or its disease's
/// species) give the severity.
fn forced_event(s: &Scenario, ev: &StressEvent, villages: &[VillageInfo], industries: &[String]) -> ForcedEvent {
    let hit: Vec<u32> = (0..villages.len() as u32)
        .filter(|&v| {
            // A fixed footprint: the village's id decides, not a draw.
            let u = rng::name_key(&["stress", &villages[v as usize].id]) as f64 / 18_446_744_073_709_551_616.0;
            u < ev.share_of_villages
        })
        .collect();
    let (damage, cause) = match (&ev.peril, &ev.disease) {
        (Some(pid), _) => {
            let p = s.hazards.perils.iter().find(|p| &p.id == pid);
            let d = industries
                .iter()
                .map(|i| {
                    ev.severity * p.map_or(1.0, |p| p.vulnerability.get(i).copied().unwrap_or(p.default_vulnerability))
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
                    let struck = i.species.as_ref().is_some_and(|sp| d.is_some_and(|d| d.species.contains(sp)));
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
}

/// A damage or mortality ratio's distribution: fixed, or Beta with its
/// sampler's constants computed once.
#[derive(Clone, Copy, Debug)]
pub enum Ratio {
    Fixed(f64),
    Beta(rng::Beta),
}

/// A Beta damage ratio's shape, `None` when the ratio is fixed.
fn shape(b: &BetaDist) -> Option<(f64, f64)> {
    b.fixed.is_none().then_some((b.alpha, b.beta))
}

/// A severity drawn under importance sampling from `Beta(alpha + theta,
/// beta)` instead of `Beta(alpha, beta)`: the exponential family's tilt in
/// `ln x`, which moves mass toward severe events. The likelihood ratio of a
/// draw `x` is `B(alpha + theta, beta) / B(alpha, beta) x^-theta`, so a
/// trial's ratio needs only the sum of its draws' `ln x`.
#[derive(Clone, Debug)]
pub struct SeverityTilt {
    pub theta: f64,
    /// The tilted law.
    pub law: rng::Beta,
    /// `ln B(alpha + theta, beta) - ln B(alpha, beta)`.
    pub log_norm: f64,
}

impl SeverityTilt {
    pub fn new((alpha, beta): (f64, f64), theta: f64) -> SeverityTilt {
        let ln_b = |a: f64, b: f64| libm::lgamma(a) + libm::lgamma(b) - libm::lgamma(a + b);
        SeverityTilt {
            theta,
            law: rng::Beta::new(alpha + theta, beta),
            log_norm: if theta == 0.0 { 0.0 } else { ln_b(alpha + theta, beta) - ln_b(alpha, beta) },
        }
    }

    /// The log likelihood ratio of one draw whose `ln x` is `ln_x` (0 when untilted).
    pub fn log_ratio(&self, ln_x: f64) -> f64 {
        if self.theta == 0.0 { 0.0 } else { self.log_norm - self.theta * ln_x }
    }
}

impl Ratio {
    pub fn of(b: &BetaDist) -> Ratio {
        match b.fixed {
            Some(x) => Ratio::Fixed(x),
            None => Ratio::Beta(rng::Beta::new(b.alpha, b.beta)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Drawn from the tilted law and weighed by its ratio, severities have
    /// the scenario's law: the mean weight is 1 and the weighted mean and
    /// tail are Beta(2, 8)'s (mean 0.2; P(X > 0.5) = 0.01953125).
    #[test]
    fn tilted_severities_weigh_back_to_the_scenario_law() {
        // theta under alpha: the ratio's variance is finite.
        let tilt = SeverityTilt::new((2.0, 8.0), 1.0);
        let mut g = rng::stream(1, 2, rng::Stream::Peril, 3, 4);
        let n = 200_000;
        let (mut w1, mut wx, mut wt, mut wx2) = (0.0, 0.0, 0.0, 0.0);
        for _ in 0..n {
            let x = tilt.law.sample(&mut g);
            let w = tilt.log_ratio(x.ln()).exp();
            w1 += w;
            wx += w * x;
            wx2 += (w * x) * (w * x);
            wt += if x > 0.5 { w } else { 0.0 };
        }
        let nf = n as f64;
        let se_mean = ((wx2 / nf - (wx / nf).powi(2)) / nf).sqrt();
        assert!((w1 / nf - 1.0).abs() < 0.01, "mean weight {}", w1 / nf);
        assert!((wx / nf - 0.2).abs() < 5.0 * se_mean, "weighted mean {} (se {se_mean})", wx / nf);
        // The tilt puts far more draws past 0.5: that tail's estimate is tight.
        assert!((wt / nf - 0.019_531_25).abs() < 0.001, "weighted P(X > 0.5) {}", wt / nf);
        // No tilt: the same law, ratio 0.
        assert_eq!(SeverityTilt::new((2.0, 8.0), 0.0).log_ratio(0.3f64.ln()), 0.0);
    }
}
