//! The scenario file's schema: what a YAML scenario may say, with its
//! defaults. Every struct refuses unknown keys. `docs/scenario.md` documents
//! each key with its unit, default and range; keep the two in step.
//!
//! Conventions: shares, probabilities and rates are fractions (`0.04` is
//! 4 %); money is yuan ([`Yuan`]); years count from 1; weights maps
//! (`banks`, `industries`, `grades`, ...) are shares that sum to 1.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::money::Yuan;

/// A whole scenario file.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name; names the default output folder.
    pub name: String,
    /// The scenario's title in the reports, in Chinese and English; `name`
    /// stays the folder's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
    /// What the scenario is and which question it answers: free text, or
    /// `{zh: ..., en: ...}` for a report in each language.
    #[serde(default)]
    pub description: Description,
    #[serde(default)]
    pub simulation: Simulation,
    #[serde(default)]
    pub economy: Economy,
    pub grades: Vec<Grade>,
    pub industries: Vec<Industry>,
    pub products: Vec<Product>,
    pub banks: Vec<Bank>,
    /// Hazard zones that villages belong to (valley, hillside, mountain ...).
    #[serde(default = "default_zones")]
    pub zones: Vec<Zone>,
    pub counties: Vec<County>,
    pub portfolio: Portfolio,
    #[serde(default)]
    pub collateral: CollateralRules,
    #[serde(default)]
    pub funds: Funds,
    #[serde(default)]
    pub subsidy: Subsidy,
    #[serde(default)]
    pub hazards: Hazards,
    #[serde(default)]
    pub epidemics: Epidemics,
    #[serde(default)]
    pub shocks: Vec<Shock>,
    #[serde(default)]
    pub insurance: Insurance,
    /// Joint-guarantee groups (docs/model.md 3b): the layer's rules; membership
    /// comes from the tape or the cohorts.
    #[serde(default)]
    pub guarantee: Guarantee,
    /// Mutual-aid societies (docs/model.md 3b), one per village given here.
    #[serde(default)]
    pub societies: Societies,
    /// Benefit linkage (docs/model.md 3b): what a linked household takes when its firm defaults.
    #[serde(default)]
    pub linkage: Linkage,
    /// A credit scorecard ("5221"-style) that grades cohorts giving indicator distributions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scorecard: Option<Scorecard>,
    /// A deterministic stress overlay on the stochastic model (`riskshare stress`).
    #[serde(default, skip_serializing_if = "Stress::is_empty")]
    pub stress: Stress,
}

/// Display names of a scenario or of a thing it names (bank, county, zone,
/// product, industry, peril, disease, shock), in Chinese and English. Either
/// or both; reports in one language fall back to the other, then to the id.
/// Ids stay the keys of every reference, CSV column and JSON field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a map of display names such as `{zh: 信用联社, en: rural credit cooperative}`"
)]
pub struct Label {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zh: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

/// Free text in one language (shown in every report) or in both: a plain
/// string reads as the English text, so a scenario written before the
/// Chinese text existed resolves to the same file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Description(pub Label);

impl Description {
    /// The text in Chinese (`zh`) or English, else in the other language.
    pub fn pick(&self, zh: bool) -> &str {
        self.0.pick(zh).unwrap_or("")
    }
}

impl Serialize for Description {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Label { zh: None, en } => s.serialize_str(en.as_deref().unwrap_or("")),
            both => both.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for Description {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Text;
        impl<'de> serde::de::Visitor<'de> for Text {
            type Value = Description;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("free text, or a map of texts such as `{zh: ..., en: ...}`")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Description, E> {
                Ok(Description(Label { zh: None, en: Some(v.to_string()) }))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, m: A) -> Result<Description, A::Error> {
                Label::deserialize(serde::de::value::MapAccessDeserializer::new(m)).map(Description)
            }
        }
        d.deserialize_any(Text)
    }
}

impl Label {
    /// The name in Chinese (`zh`) or English, else in the other language.
    /// The one place that fallback is decided; [`crate::report::labels`] and
    /// the summary's English `bank_name` both read it.
    pub fn pick(&self, zh: bool) -> Option<&str> {
        let (first, then) = if zh { (&self.zh, &self.en) } else { (&self.en, &self.zh) };
        first.as_deref().or(then.as_deref())
    }
}

/// A thing with an id and display names. The older `name` key, which banks,
/// counties, zones, products and industries had before `label`, is their
/// English name: `label.en` and `name` together are refused by validation.
pub trait Labelled {
    fn id(&self) -> &str;
    fn label(&self) -> Option<&Label>;
    /// The `name` key, where the thing has one ("" when absent).
    fn name(&self) -> &str {
        ""
    }
    /// Its display names with `name` as the English one.
    fn display(&self) -> Label {
        let mut l = self.label().cloned().unwrap_or_default();
        if l.en.is_none() && !self.name().is_empty() {
            l.en = Some(self.name().to_string());
        }
        l
    }
}

macro_rules! labelled {
    ($($t:ty),* $(,)?) => {$(
        impl Labelled for $t {
            fn id(&self) -> &str {
                &self.id
            }
            fn label(&self) -> Option<&Label> {
                self.label.as_ref()
            }
        }
    )*};
    (named: $($t:ty),* $(,)?) => {$(
        impl Labelled for $t {
            fn id(&self) -> &str {
                &self.id
            }
            fn label(&self) -> Option<&Label> {
                self.label.as_ref()
            }
            fn name(&self) -> &str {
                &self.name
            }
        }
    )*};
}

labelled!(named: Industry, Product, Bank, Zone, County);
labelled!(Peril, Disease, Shock);

/// A stress overlay: forced events, a fixed county factor, multiplied pds.
#[derive(Clone, Debug, Serialize, Deserialize, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Stress {
    /// Disasters or outbreaks forced in a given year on a given share of villages.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<StressEvent>,
    /// The county factor fixed at a quantile (0.01 is the 1-in-100 bad year).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub county_factor: Option<FactorStress>,
    /// Multiplies every grade's default probability (capped below 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pd_multiplier: Option<f64>,
}

impl Stress {
    pub fn is_empty(&self) -> bool {
        *self == Stress::default()
    }
}

/// A forced event. The villages hit are the same in every trial: those whose
/// id hashes below `share_of_villages`, so the stress is a fixed footprint.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StressEvent {
    /// Year of the event, 1 ..= horizon.
    pub year: u32,
    /// A peril id (its vulnerabilities apply) ...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peril: Option<String>,
    /// ... or a disease id (its species are struck).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disease: Option<String>,
    /// Share of villages hit, (0, 1].
    pub share_of_villages: f64,
    /// Damage ratio (for a peril) or mortality (for a disease), [0, 1].
    pub severity: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FactorStress {
    /// Quantile of the standard normal the county factor is fixed at, (0, 1).
    pub quantile: f64,
    /// Years it applies to; every year if empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub years: Vec<u32>,
}

fn default_zones() -> Vec<Zone> {
    vec![Zone { id: "plain".into(), name: String::new(), label: None }]
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Simulation {
    /// Number of trials (possible futures). 1 ..= 100,000,000.
    pub trials: u64,
    /// Master seed of the random streams.
    pub seed: u64,
    /// Years simulated, 1 ..= 30. Loan terms may not exceed it.
    pub horizon_years: u32,
}

impl Default for Simulation {
    fn default() -> Self {
        Simulation { trials: 10_000, seed: 20_170_801, horizon_years: 3 }
    }
}

/// The Vasicek factor structure (docs/model.md 3.1 and 3.6).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Economy {
    /// Asset correlation rho in [0, 1).
    pub rho: f64,
    /// Weight w of the county factor in a loan's systematic factor, [0, 1].
    pub county_weight: f64,
    /// AR(1) correlation phi of a county's factor from one year to the next, (-1, 1).
    pub persistence: f64,
    /// Sensitivity kappa of the default threshold to the damage D, >= 0.
    pub kappa: f64,
}

impl Default for Economy {
    fn default() -> Self {
        Economy { rho: 0.1, county_weight: 0.5, persistence: 0.0, kappa: 2.0 }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grade {
    pub id: String,
    /// Annual default probability, [0, 1).
    pub pd: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum IndustryKind {
    #[default]
    Crop,
    Livestock,
    Other,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Industry {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Display names; see [`Label`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
    #[serde(default)]
    pub kind: IndustryKind,
    /// For livestock industries: the species, matched by epidemics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub species: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BorrowerKind {
    Household,
    Cooperative,
    Enterprise,
}

impl BorrowerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BorrowerKind::Household => "household",
            BorrowerKind::Cooperative => "cooperative",
            BorrowerKind::Enterprise => "enterprise",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Product {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Display names; see [`Label`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
    /// Multiplies the grade's pd for loans of this product, > 0.
    #[serde(default = "one")]
    pub pd_multiplier: f64,
    /// Largest principal allowed, yuan (validation only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_principal: Option<Yuan>,
    /// Longest term allowed, years (validation only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_term_years: Option<u32>,
    /// Who lends it: a bank (default) or the village's mutual-aid society.
    #[serde(default, skip_serializing_if = "Lender::is_bank")]
    pub lender: Lender,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Lender {
    #[default]
    Bank,
    /// The village's mutual-aid society lends its own capital: losses that
    /// the earlier layers leave fall on that capital, never on a bank or the
    /// compensation fund.
    Society,
}

impl Lender {
    pub fn is_bank(&self) -> bool {
        *self == Lender::Bank
    }
}

fn one() -> f64 {
    1.0
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bank {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Display names; see [`Label`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zone {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Display names; see [`Label`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct County {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Display names; see [`Label`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
    /// Villages listed one by one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub villages: Vec<Village>,
    /// Villages generated by zone: `{valley: 80}` makes `<county>-valley-001` ...
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub village_counts: BTreeMap<String, u32>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Village {
    pub id: String,
    pub zone: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Portfolio {
    /// Seed of the cohort generator (independent of the simulation seed).
    #[serde(default = "one_u64")]
    pub seed: u64,
    /// Loan tape CSV files, relative to the scenario file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tapes: Vec<String>,
    #[serde(default)]
    pub cohorts: Vec<Cohort>,
}

fn one_u64() -> u64 {
    1
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Amortisation {
    /// All principal at the end of the term.
    #[default]
    Bullet,
    /// Equal principal instalments at the end of each year.
    EqualPrincipal,
}

/// A group of similar loans generated deterministically from the portfolio seed.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cohort {
    pub name: String,
    /// Number of loans, >= 1.
    pub count: u32,
    pub product: String,
    pub borrower: BorrowerKind,
    /// Counties whose villages receive the loans (weighted by village), all if empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counties: Vec<String>,
    /// Restrict to villages of these zones, all if empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub zones: Vec<String>,
    /// Shares of loans by lending bank (sum 1).
    pub banks: BTreeMap<String, f64>,
    /// Shares by industry (sum 1).
    pub industries: BTreeMap<String, f64>,
    /// Shares by credit grade (sum 1); leave out when `indicators` grade the cohort.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub grades: BTreeMap<String, f64>,
    /// Distribution of each scorecard indicator over the cohort's households,
    /// a ratio in [0, 1]: grades and credit lines then come from the scorecard.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub indicators: BTreeMap<String, BetaDist>,
    /// Joint-guarantee groups formed within each village, of min..=max loans.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guarantee_groups: Option<CountRange>,
    /// Linked households per loan (firms, cooperatives), drawn from the
    /// household loans of the loan's village first, then of its county.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linked_households: Option<CountRange>,
    pub principal: PrincipalDist,
    /// Annual interest rate, [0, 1].
    pub rate: f64,
    /// Term in years, 1 ..= horizon.
    pub term_years: u32,
    #[serde(default)]
    pub amortisation: Amortisation,
    /// Share of the interest the budget pays (a rate, <= rate), [0, 1].
    #[serde(default)]
    pub subsidy_rate: f64,
    #[serde(default)]
    pub collateral: CohortCollateral,
    /// Share of loans enrolled in each insurance product.
    #[serde(default)]
    pub insurance: Participation,
}

/// How principals are drawn, rounded to `step` yuan. Written as a map with
/// exactly one key: `{fixed: 40000}`, `{uniform: {min, max, step}}` or
/// `{lognormal: {median, sigma, min, max, step}}`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(try_from = "PrincipalSpec", into = "PrincipalSpec")]
pub enum PrincipalDist {
    Fixed(Yuan),
    Uniform(UniformPrincipal),
    Lognormal(LognormalPrincipal),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UniformPrincipal {
    pub min: Yuan,
    pub max: Yuan,
    #[serde(default = "thousand")]
    pub step: Yuan,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LognormalPrincipal {
    pub median: Yuan,
    pub sigma: f64,
    pub min: Yuan,
    pub max: Yuan,
    #[serde(default = "thousand")]
    pub step: Yuan,
}

/// The file form of [`PrincipalDist`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fixed: Option<Yuan>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uniform: Option<UniformPrincipal>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lognormal: Option<LognormalPrincipal>,
}

impl TryFrom<PrincipalSpec> for PrincipalDist {
    type Error = String;
    fn try_from(s: PrincipalSpec) -> Result<Self, String> {
        match (s.fixed, s.uniform, s.lognormal) {
            (Some(y), None, None) => Ok(PrincipalDist::Fixed(y)),
            (None, Some(u), None) => Ok(PrincipalDist::Uniform(u)),
            (None, None, Some(l)) => Ok(PrincipalDist::Lognormal(l)),
            _ => Err("expected exactly one of `fixed`, `uniform` or `lognormal`".into()),
        }
    }
}

impl From<PrincipalDist> for PrincipalSpec {
    fn from(d: PrincipalDist) -> Self {
        match d {
            PrincipalDist::Fixed(y) => PrincipalSpec { fixed: Some(y), ..Default::default() },
            PrincipalDist::Uniform(u) => PrincipalSpec { uniform: Some(u), ..Default::default() },
            PrincipalDist::Lognormal(l) => PrincipalSpec { lognormal: Some(l), ..Default::default() },
        }
    }
}

fn thousand() -> Yuan {
    Yuan(rust_decimal::Decimal::from(1000))
}

/// A cohort's collateral: absent (none), `{livestock_pledge: {ltv, value_per_head}}`
/// or `{forest_mortgage: {ltv}}`.
#[derive(Clone, Debug, Serialize, Deserialize, Default)]
#[serde(try_from = "CollateralSpec", into = "CollateralSpec")]
pub enum CohortCollateral {
    #[default]
    None,
    /// Live herd pledged: herd value = principal / ltv, herd size = value / value_per_head.
    LivestockPledge(LivestockPledge),
    /// Forest rights mortgaged: value = principal / ltv.
    ForestMortgage(ForestMortgage),
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LivestockPledge {
    pub ltv: f64,
    pub value_per_head: Yuan,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForestMortgage {
    pub ltv: f64,
}

/// The file form of [`CohortCollateral`].
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollateralSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    livestock_pledge: Option<LivestockPledge>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    forest_mortgage: Option<ForestMortgage>,
}

impl TryFrom<CollateralSpec> for CohortCollateral {
    type Error = String;
    fn try_from(s: CollateralSpec) -> Result<Self, String> {
        match (s.livestock_pledge, s.forest_mortgage) {
            (None, None) => Ok(CohortCollateral::None),
            (Some(l), None) => Ok(CohortCollateral::LivestockPledge(l)),
            (None, Some(f)) => Ok(CohortCollateral::ForestMortgage(f)),
            _ => Err("expected one of `livestock_pledge` or `forest_mortgage`, not both".into()),
        }
    }
}

impl From<CohortCollateral> for CollateralSpec {
    fn from(c: CohortCollateral) -> Self {
        match c {
            CohortCollateral::None => CollateralSpec::default(),
            CohortCollateral::LivestockPledge(l) => CollateralSpec { livestock_pledge: Some(l), ..Default::default() },
            CohortCollateral::ForestMortgage(f) => CollateralSpec { forest_mortgage: Some(f), ..Default::default() },
        }
    }
}

/// Scenario-wide collateral rules.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CollateralRules {
    /// Largest loan-to-value for livestock pledges (the seed's 50 %).
    pub livestock_max_ltv: f64,
    /// Share of a pledged herd's value lost when it is sold off, [0, 1].
    pub livestock_haircut: f64,
    pub forest_max_ltv: f64,
    pub forest_haircut: f64,
}

impl Default for CollateralRules {
    fn default() -> Self {
        CollateralRules { livestock_max_ltv: 0.5, livestock_haircut: 0.3, forest_max_ltv: 0.6, forest_haircut: 0.4 }
    }
}

/// Enrolment rates of a cohort in each insurance product, [0, 1].
#[derive(Clone, Debug, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Participation {
    pub agricultural: f64,
    pub credit: f64,
    pub accident: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct Funds {
    pub village: VillageFund,
    pub compensation: CompensationFund,
}

/// The village risk mutual fund (docs/model.md 1.2).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VillageFund {
    pub enabled: bool,
    /// Whether the budget paid the funds in (counted in the fiscal leverage).
    pub from_budget: bool,
    /// Fund size as a share of the village's covered loans (the seed's 3-5 %).
    pub share: f64,
    /// Products whose losses the fund pays; every product if empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub covers: Vec<String>,
    /// Explicit fund sizes by village id, yuan (override `share`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub amounts: BTreeMap<String, Yuan>,
}

impl Default for VillageFund {
    fn default() -> Self {
        VillageFund { enabled: true, from_budget: true, share: 0.04, covers: Vec::new(), amounts: BTreeMap::new() }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ShortfallBearer {
    /// The county budget pays what the fund cannot.
    #[default]
    Budget,
    /// The bank bears what the fund cannot pay.
    Bank,
}

/// The county risk compensation fund (docs/model.md 1.3-1.4).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CompensationFund {
    pub enabled: bool,
    /// Yuan of covered loans per yuan of fund (10 means 10:1), > 0.
    pub deposit_ratio: f64,
    /// Explicit deposits per bank account, overriding the ratio.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deposits: Vec<Deposit>,
    /// Batches in which the deposit is paid in: shares by year (sum 1).
    pub injections: Vec<Injection>,
    /// Government share of the loss left after the village fund, [0, 1].
    pub government_share: f64,
    pub shortfall_bearer: ShortfallBearer,
    /// Products the fund covers; every product if empty.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub covers: Vec<String>,
    pub top_up: TopUp,
}

impl Default for CompensationFund {
    fn default() -> Self {
        CompensationFund {
            enabled: true,
            deposit_ratio: 10.0,
            deposits: Vec::new(),
            injections: vec![Injection { year: 1, share: 1.0 }],
            government_share: 0.6,
            shortfall_bearer: ShortfallBearer::Budget,
            covers: Vec::new(),
            top_up: TopUp::default(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deposit {
    pub bank: String,
    /// Needed when the bank lends in more than one county.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub county: Option<String>,
    pub amount: Yuan,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Injection {
    /// Paid in at the start of this year, 1 ..= horizon.
    pub year: u32,
    /// Share of the account's deposit, (0, 1].
    pub share: f64,
}

/// Year-end top-ups of compensation accounts back to what has been deposited so far.
#[derive(Clone, Debug, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct TopUp {
    pub enabled: bool,
    /// Most the budget adds to one account in one year, yuan; unlimited if absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annual_cap: Option<Yuan>,
    /// Most the budget adds to one account over the horizon; unlimited if absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_cap: Option<Yuan>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Subsidy {
    /// Whether the budget pays each loan's `subsidy_rate` on its outstanding principal.
    pub enabled: bool,
}

impl Default for Subsidy {
    fn default() -> Self {
        Subsidy { enabled: true }
    }
}

/// Natural disasters (docs/model.md 3.2).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Hazards {
    pub enabled: bool,
    /// Groups of counties that share events; a county not listed is its own region.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub regions: Vec<HazardRegion>,
    pub perils: Vec<Peril>,
}

impl Default for Hazards {
    fn default() -> Self {
        Hazards { enabled: true, regions: Vec::new(), perils: Vec::new() }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HazardRegion {
    pub id: String,
    pub counties: Vec<String>,
}

/// A ratio in [0, 1]: Beta(alpha, beta), or `fixed` for a known value
/// (textbook checks, stress overlays).
#[derive(Clone, Debug, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct BetaDist {
    #[serde(skip_serializing_if = "is_zero")]
    pub alpha: f64,
    #[serde(skip_serializing_if = "is_zero")]
    pub beta: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fixed: Option<f64>,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

impl BetaDist {
    pub fn mean(&self) -> f64 {
        self.fixed.unwrap_or(self.alpha / (self.alpha + self.beta))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Peril {
    pub id: String,
    /// Display names; see [`Label`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
    /// Expected events per year per hazard region (Poisson lambda), >= 0.
    pub rate: f64,
    /// Probability that an event hits a village, by zone; 0 for zones not listed.
    pub hit: BTreeMap<String, f64>,
    /// Damage ratio of an event.
    pub damage: BetaDist,
    /// Draw the damage once per hit village rather than once per event.
    #[serde(default)]
    pub per_village_damage: bool,
    /// Share of the damage ratio that reaches a borrower, by industry.
    pub vulnerability: BTreeMap<String, f64>,
    /// Vulnerability of industries not listed.
    #[serde(default)]
    pub default_vulnerability: f64,
}

/// Livestock epidemics (docs/model.md 3.3).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Epidemics {
    pub enabled: bool,
    pub diseases: Vec<Disease>,
}

impl Default for Epidemics {
    fn default() -> Self {
        Epidemics { enabled: true, diseases: Vec::new() }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disease {
    pub id: String,
    /// Display names; see [`Label`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
    /// Expected outbreaks per year per hazard region, >= 0.
    pub rate: f64,
    /// Probability that an outbreak reaches a village, by zone.
    pub hit: BTreeMap<String, f64>,
    /// Share of the affected herds that dies.
    pub mortality: BetaDist,
    /// Species affected (matched against `industries[].species`).
    pub species: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShockKind {
    /// Accidental death or disability: triggers the accident benefit.
    Accident,
    /// Serious illness: triggers the illness benefit, if any.
    Illness,
}

/// A personal shock to household borrowers (docs/model.md 3.5).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Shock {
    pub id: String,
    /// Display names; see [`Label`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<Label>,
    pub kind: ShockKind,
    /// Annual probability per household borrower.
    pub prob: f64,
    /// Probability that the shocked borrower defaults that year (q_shock).
    pub default_prob: f64,
}

/// Insurance products (docs/model.md 3.8.2). A product pays only for enrolled loans.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Insurance {
    pub enabled: bool,
    pub agricultural: AgriculturalCover,
    pub credit: CreditCover,
    pub accident: AccidentCover,
}

impl Default for Insurance {
    fn default() -> Self {
        Insurance {
            enabled: true,
            agricultural: AgriculturalCover::default(),
            credit: CreditCover::default(),
            accident: AccidentCover::default(),
        }
    }
}

/// Policy agricultural insurance (crops and livestock): pays
/// `sum_insured * max(D - deductible, 0)`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgriculturalCover {
    /// Sum insured as a share of the principal (when the tape gives none).
    pub coverage: f64,
    /// Damage ratio below which nothing is paid.
    pub deductible: f64,
    /// Premium as a share of the sum insured, per year.
    pub premium_rate: f64,
    /// Share of the premium the budget pays.
    pub premium_subsidy: f64,
}

impl Default for AgriculturalCover {
    fn default() -> Self {
        AgriculturalCover { coverage: 1.0, deductible: 0.1, premium_rate: 0.06, premium_subsidy: 0.75 }
    }
}

/// Poverty micro-credit insurance: pays a share of the exposure at default.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CreditCover {
    pub share: f64,
    /// Premium as a share of the principal, per year.
    pub premium_rate: f64,
    pub premium_subsidy: f64,
}

impl Default for CreditCover {
    fn default() -> Self {
        CreditCover { share: 0.5, premium_rate: 0.01, premium_subsidy: 1.0 }
    }
}

/// Poverty micro accident insurance: a benefit for death or disability
/// (at most CNY 31,000 in the seed) and optionally for serious illness.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccidentCover {
    pub benefit: Yuan,
    pub illness_benefit: Yuan,
    /// Premium per insured person per year, yuan.
    pub premium: Yuan,
    pub premium_subsidy: f64,
}

impl Default for AccidentCover {
    fn default() -> Self {
        AccidentCover {
            benefit: Yuan(rust_decimal::Decimal::from(31_000)),
            illness_benefit: Yuan::default(),
            premium: Yuan(rust_decimal::Decimal::from(20)),
            premium_subsidy: 1.0,
        }
    }
}

/// An integer range `{min, max}`, both inclusive; a fixed count is `{min: n, max: n}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountRange {
    pub min: u32,
    pub max: u32,
}

/// Joint-guarantee groups (联保): when a member defaults, the members still
/// repaying pay what is owed after insurance, each up to its capacity.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Guarantee {
    pub enabled: bool,
    /// A member's guarantee capacity over the horizon, as a share of its own principal.
    pub capacity_share: f64,
    /// Damage-like term a guarantor takes from the year after it pays:
    /// `uplift * (paid so far / own principal)`, capped at 1; 0 turns it off.
    pub uplift: f64,
}

impl Default for Guarantee {
    fn default() -> Self {
        Guarantee { enabled: true, capacity_share: 0.2, uplift: 0.0 }
    }
}

/// Village mutual-aid societies (互助社).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Societies {
    pub enabled: bool,
    /// A society is impaired when its capital falls below this share of its start.
    pub impaired_below: f64,
    /// Capital of a society in every village of the scenario, yuan; leave out
    /// to have societies only in the villages listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capital_per_village: Option<Yuan>,
    /// Or: a society in every village where societies lend, with capital
    /// `lent / lending_ratio` (the share of its capital out on loan), in (0, 1].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lending_ratio: Option<f64>,
    /// Whether the budget paid the capital in (counted in the fiscal leverage).
    pub from_budget: bool,
    /// Societies by village: capital (overriding `capital_per_village`) and bank loan.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub villages: Vec<SocietySpec>,
}

impl Default for Societies {
    fn default() -> Self {
        Societies {
            enabled: true,
            impaired_below: 0.9,
            capital_per_village: None,
            lending_ratio: None,
            from_budget: true,
            villages: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SocietySpec {
    pub village: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capital: Option<Yuan>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_loan: Option<SocietyBankLoan>,
}

/// A bank loan to a society under its members' joint guarantee (the seed's
/// CNY 200 k to each of three pilot societies).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SocietyBankLoan {
    pub bank: String,
    pub product: String,
    pub industry: String,
    pub grade: String,
    pub principal: Yuan,
    pub rate: f64,
    #[serde(default)]
    pub subsidy_rate: f64,
    pub term_years: u32,
    /// The village's household borrowers that guarantee it jointly, best
    /// grades first (the seed: 10-20 households of good credit); 0 for none.
    #[serde(default)]
    pub guarantors: u32,
    /// Damage-like term of the loan: `sensitivity * share of the society's
    /// capital lost` (bad loans after insurance and guarantees), from the next year.
    #[serde(default = "one")]
    pub sensitivity: f64,
}

/// Benefit linkage (利益联结).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Linkage {
    pub enabled: bool,
    /// Extra damage term a linked household takes, from the year after its
    /// firm or cooperative defaults, in [0, 1].
    pub damage: f64,
}

impl Default for Linkage {
    fn default() -> Self {
        Linkage { enabled: true, damage: 0.3 }
    }
}

/// A weighted scorecard: `score = 100 * sum(w * x) / sum(w)` over indicators
/// `x` in [0, 1]; the grade is the first whose `min_score` the score reaches.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Scorecard {
    #[serde(default)]
    pub name: String,
    pub indicators: Vec<ScoreIndicator>,
    /// Grades from best to worst; a score below the last `min_score` gets no credit.
    pub grades: Vec<ScoreGrade>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScoreIndicator {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Weight, >= 0 (only ratios matter).
    pub weight: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ScoreGrade {
    pub grade: String,
    /// Lowest score of the grade, in [0, 100].
    pub min_score: f64,
    /// Credit line: a loan's principal is capped at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credit_line: Option<Yuan>,
}
