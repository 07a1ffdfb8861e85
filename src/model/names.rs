//! The scenario's names as dense ids: a thing's id is its position in the
//! scenario's list (villages: listed, then generated, county by county), so
//! ids follow the file and never a hash. Part of [`crate::model::Model::build`].

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::model::VillageInfo;
use crate::scenario::schema::*;
use crate::scenario::validate::Problems;

/// Every name a loan or a fund can refer to, in id order.
pub(super) struct Names {
    pub zones: Vec<String>,
    pub counties: Vec<String>,
    pub villages: Vec<VillageInfo>,
    pub banks: Vec<String>,
    pub industries: Vec<String>,
    pub grades: Vec<String>,
    pub products: Vec<String>,
    /// Every village as `(id, county id, zone id)`, the form the portfolio
    /// generator reads; built once because a province has 17,600 villages.
    pub places: Vec<(String, String, String)>,
}

/// A map from a name to something, hashed with foldhash rather than the
/// standard library's SipHash: a province's build looks up five names for each
/// of its 300,000 loans and an id for each linked household, and SipHash was a
/// tenth of the build. The hash is seeded with a fixed state, and such maps
/// serve lookups only, never iteration into an id or an output, so their
/// order cannot reach a result. The names are the user's own file, not an
/// adversary's, so a keyed hash's flooding resistance buys nothing here.
pub(crate) type NameMap<'a, V> = HashMap<&'a str, V, foldhash::fast::FixedState>;

/// A set of names, hashed as [`NameMap`] is and for the same reason: a
/// stressed province asks it about each of its mutual-aid loans' villages.
pub(crate) type NameSet<'a> = std::collections::HashSet<&'a str, foldhash::fast::FixedState>;

/// Lookups from a name to its id, borrowed from [`Names`]. Hashed, not
/// ordered: each is looked up for each of a province's 300,000 loans. Used
/// for lookups only, never iterated into an id.
pub(super) struct Ids<'a> {
    pub village: NameMap<'a, usize>,
    pub county: NameMap<'a, usize>,
    pub bank: NameMap<'a, usize>,
    pub industry: NameMap<'a, usize>,
    pub grade: NameMap<'a, usize>,
    pub product: NameMap<'a, usize>,
}

impl Names {
    /// Lists the scenario's names and generates the villages that counties
    /// give by count (`{county}-{zone}-{k:03}`). A generated id that collides
    /// with another village's is a problem; building goes on, so that the
    /// loans' problems are reported with it.
    pub fn compile(s: &Scenario, p: &mut Problems) -> Names {
        let zones: Vec<String> = s.zones.iter().map(|z| z.id.clone()).collect();
        let counties: Vec<String> = s.counties.iter().map(|c| c.id.clone()).collect();
        let villages = villages(s, &zones);
        let mut seen = BTreeSet::new();
        for v in &villages {
            if !seen.insert(v.id.as_str()) {
                p.push("counties", format!("village id `{}` is used twice (listed and generated?)", v.id));
            }
        }
        let places = villages
            .iter()
            .map(|v| (v.id.clone(), counties[v.county as usize].clone(), zones[v.zone as usize].clone()))
            .collect();
        Names {
            banks: s.banks.iter().map(|b| b.id.clone()).collect(),
            industries: s.industries.iter().map(|b| b.id.clone()).collect(),
            grades: s.grades.iter().map(|b| b.id.clone()).collect(),
            products: s.products.iter().map(|b| b.id.clone()).collect(),
            zones,
            counties,
            villages,
            places,
        }
    }

    pub fn ids(&self) -> Ids<'_> {
        Ids {
            village: self.villages.iter().enumerate().map(|(i, v)| (v.id.as_str(), i)).collect(),
            county: name_map(&self.counties),
            bank: name_map(&self.banks),
            industry: name_map(&self.industries),
            grade: name_map(&self.grades),
            product: name_map(&self.products),
        }
    }
}

/// Each county's listed villages, then those it gives by count per zone.
fn villages(s: &Scenario, zones: &[String]) -> Vec<VillageInfo> {
    let zone_ix = index_of(zones);
    let mut villages = Vec::new();
    for (ci, c) in s.counties.iter().enumerate() {
        for v in &c.villages {
            villages.push(VillageInfo { id: v.id.clone(), county: ci as u32, zone: zone_ix[v.zone.as_str()] as u16 });
        }
        for (z, &count) in &c.village_counts {
            for k in 1..=count {
                villages.push(VillageInfo {
                    id: format!("{}-{}-{:03}", c.id, z, k),
                    county: ci as u32,
                    zone: zone_ix[z.as_str()] as u16,
                });
            }
        }
    }
    villages
}

fn index_of(ids: &[String]) -> BTreeMap<&str, usize> {
    ids.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect()
}

fn name_map(ids: &[String]) -> NameMap<'_, usize> {
    ids.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect()
}
