//! Semantic checks of a parsed scenario: ranges, shares that sum to one,
//! references between sections. Every problem is collected, so a user fixes
//! a file in one pass. After this (and the portfolio's own checks) the
//! simulation never meets bad input.

use std::collections::{BTreeMap, BTreeSet};

use super::{InputError, Problem, Scenario, nearest};
use crate::money::Yuan;
use crate::scenario::schema::*;

pub use crate::limits::MAX_HORIZON;

/// Longest scenario name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
use crate::limits::{MAX_DEPOSIT_RATIO, MAX_LOANS, MAX_TRIALS, MAX_VILLAGES, MIN_DEPOSIT_RATIO, grouped};

/// A number found in the input as a message shows it: as written for the
/// usual sizes, in exponent form past them (`1e308`, not 309 digits).
fn shown(x: f64) -> String {
    if x != 0.0 && x.is_finite() && !(1e-6..1e15).contains(&x.abs()) { format!("{x:e}") } else { format!("{x}") }
}

/// Collects problems with their key paths.
pub struct Problems {
    origin: String,
    pub list: Vec<Problem>,
}

impl Problems {
    pub fn new(origin: &str) -> Self {
        Problems { origin: origin.to_string(), list: Vec::new() }
    }
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.list.push(Problem { origin: self.origin.clone(), path: path.into(), line: None, message: message.into() });
    }
    pub fn push_at(&mut self, origin: &str, line: Option<usize>, path: &str, message: String) {
        self.list.push(Problem { origin: origin.to_string(), path: path.to_string(), line, message });
    }
    pub fn prob(&mut self, path: &str, x: f64) {
        if !(0.0..=1.0).contains(&x) {
            self.push(path, format!("expected a probability in [0, 1], found {}", shown(x)));
        }
    }
    pub fn range(&mut self, path: &str, x: f64, lo: f64, hi: f64, what: &str) {
        if !(x >= lo && x <= hi) {
            self.push(path, format!("expected {what} in [{lo}, {hi}], found {}", shown(x)));
        }
    }
    pub fn positive(&mut self, path: &str, x: f64) {
        if !(x > 0.0 && x.is_finite()) {
            self.push(path, format!("expected a positive number, found {}", shown(x)));
        }
    }
    pub fn nonneg_yuan(&mut self, path: &str, y: Yuan) {
        if y.0.is_sign_negative() && !y.0.is_zero() {
            self.push(path, format!("expected an amount >= 0 yuan, found {y}"));
        }
    }
    /// Checks that `id` names one of `known`, suggesting the nearest.
    pub fn reference(&mut self, path: &str, what: &str, id: &str, known: &BTreeSet<&str>) -> bool {
        if known.contains(id) {
            return true;
        }
        let cands: Vec<&str> = known.iter().copied().collect();
        let hint = nearest(id, &cands).map(|n| format!("; did you mean `{n}`?")).unwrap_or_default();
        let shown: Vec<&str> = cands.iter().take(12).copied().collect();
        let more = if cands.len() > 12 { ", ..." } else { "" };
        self.push(path, format!("unknown {what} `{id}`{hint} (known: {}{more})", shown.join(", ")));
        false
    }
    /// Checks a map of shares: known keys, each in [0, 1], summing to 1.
    pub fn shares(&mut self, path: &str, what: &str, m: &BTreeMap<String, f64>, known: &BTreeSet<&str>) {
        if m.is_empty() {
            self.push(path, format!("expected at least one {what} with its share"));
            return;
        }
        for (k, v) in m {
            self.reference(&format!("{path}.{k}"), what, k, known);
            self.prob(&format!("{path}.{k}"), *v);
        }
        let sum: f64 = m.values().sum();
        if (sum - 1.0).abs() > 1e-6 {
            self.push(path, format!("expected shares summing to 1, found a sum of {sum}"));
        }
    }
    pub fn into_result(self) -> Result<(), InputError> {
        if self.list.is_empty() { Ok(()) } else { Err(InputError { problems: self.list }) }
    }
}

fn ids<'a, T>(
    items: &'a [T],
    id: impl Fn(&'a T) -> &'a str,
    path: &str,
    what: &str,
    p: &mut Problems,
) -> BTreeSet<&'a str> {
    let mut set = BTreeSet::new();
    for (i, it) in items.iter().enumerate() {
        let s = id(it);
        if s.trim().is_empty() {
            p.push(format!("{path}[{i}].id"), format!("expected a non-empty {what} id"));
        } else if !set.insert(s) {
            p.push(format!("{path}[{i}].id"), format!("duplicate {what} id `{s}`"));
        }
    }
    set
}

/// Checks everything that can be checked without reading the loan tapes,
/// section by section in the order of the file, so problems come in the
/// order a reader meets them.
pub fn validate(s: &Scenario, p: &mut Problems) {
    name_and_simulation(s, p);
    economy(&s.economy, p);
    let known = catalogue(s, p);
    book_size(s, p);
    counties(s, &known, p);
    cohorts(s, &known, p);
    collateral_rules(&s.collateral, p);
    funds(s, &known, p);
    hazards(s, &known, p);
    shocks(s, p);
    insurance(&s.insurance, p);
    stress(s, p);
    mechanisms(s, &known, p);
}

/// The ids each catalogue section defines, for the references that follow.
struct Ids<'a> {
    grades: BTreeSet<&'a str>,
    industries: BTreeSet<&'a str>,
    products: BTreeSet<&'a str>,
    banks: BTreeSet<&'a str>,
    zones: BTreeSet<&'a str>,
    counties: BTreeSet<&'a str>,
}

fn name_and_simulation(s: &Scenario, p: &mut Problems) {
    // The name becomes a folder name and a title: printable, and not a paragraph.
    let name_len = s.name.chars().count();
    if s.name.trim().is_empty() || name_len > MAX_NAME_CHARS {
        p.push("name", format!("expected a name of 1 ..= {MAX_NAME_CHARS} characters, found {name_len}"));
    }
    if s.name.chars().any(char::is_control) {
        p.push("name", "a name may not hold control characters (tabs, line breaks ...)");
    }
    // The scenario's `name` is its folder, not an English title: no clash with `label.en`.
    label(p, "", s.label.as_ref(), "");
    let sim = &s.simulation;
    if sim.trials == 0 || sim.trials > MAX_TRIALS {
        p.push("simulation.trials", format!("expected 1 ..= {} trials, found {}", grouped(MAX_TRIALS), sim.trials));
    }
    if sim.horizon_years == 0 || sim.horizon_years > MAX_HORIZON {
        p.push("simulation.horizon_years", format!("expected 1 ..= {MAX_HORIZON} years, found {}", sim.horizon_years));
    }
}

fn economy(e: &Economy, p: &mut Problems) {
    p.range("economy.rho", e.rho, 0.0, 0.999, "a correlation");
    p.range("economy.county_weight", e.county_weight, 0.0, 1.0, "a weight");
    p.range("economy.persistence", e.persistence, -0.999, 0.999, "an AR(1) correlation");
    p.range("economy.kappa", e.kappa, 0.0, 100.0, "a damage sensitivity");
}

/// Grades, industries, products, banks, zones and counties: unique ids, and
/// what each needs of its own.
fn catalogue<'a>(s: &'a Scenario, p: &mut Problems) -> Ids<'a> {
    let grades = ids(&s.grades, |g| &g.id, "grades", "grade", p);
    if s.grades.is_empty() {
        p.push("grades", "expected at least one credit grade");
    }
    for (i, g) in s.grades.iter().enumerate() {
        if !(0.0..1.0).contains(&g.pd) {
            p.push(format!("grades[{i}].pd"), format!("expected a probability in [0, 1), found {}", shown(g.pd)));
        }
    }
    let industries = ids(&s.industries, |x| &x.id, "industries", "industry", p);
    labels(p, "industries", &s.industries);
    for (i, ind) in s.industries.iter().enumerate() {
        if ind.kind == IndustryKind::Livestock && ind.species.is_none() {
            p.push(format!("industries[{i}].species"), "a livestock industry needs its species (e.g. cattle)");
        }
        if ind.kind != IndustryKind::Livestock && ind.species.is_some() {
            p.push(format!("industries[{i}].species"), "only a livestock industry (kind: livestock) has a species");
        }
    }
    let products = ids(&s.products, |x| &x.id, "products", "product", p);
    labels(p, "products", &s.products);
    for (i, pr) in s.products.iter().enumerate() {
        p.positive(&format!("products[{i}].pd_multiplier"), pr.pd_multiplier);
        for g in &s.grades {
            if g.pd * pr.pd_multiplier >= 1.0 {
                p.push(
                    format!("products[{i}].pd_multiplier"),
                    format!("grade {} pd {} times {} reaches 1", g.id, g.pd, pr.pd_multiplier),
                );
            }
        }
    }
    let banks = ids(&s.banks, |x| &x.id, "banks", "bank", p);
    labels(p, "banks", &s.banks);
    if s.banks.is_empty() {
        p.push("banks", "expected at least one bank");
    }
    let zones = ids(&s.zones, |x| &x.id, "zones", "zone", p);
    labels(p, "zones", &s.zones);
    let counties = ids(&s.counties, |x| &x.id, "counties", "county", p);
    labels(p, "counties", &s.counties);
    if s.counties.is_empty() {
        p.push("counties", "expected at least one county");
    }
    Ids { grades, industries, products, banks, zones, counties }
}

/// Villages and loans are counted before any is generated: a count of
/// billions must not allocate.
fn book_size(s: &Scenario, p: &mut Problems) {
    let villages: u64 = s
        .counties
        .iter()
        .map(|c| c.villages.len() as u64 + c.village_counts.values().map(|&n| u64::from(n)).sum::<u64>())
        .sum();
    if villages > MAX_VILLAGES {
        p.push(
            "counties",
            format!("expected at most {} villages in all, found {}", grouped(MAX_VILLAGES), grouped(villages)),
        );
    }
    let loans: u64 = s.portfolio.cohorts.iter().map(|c| u64::from(c.count)).sum();
    if loans > MAX_LOANS {
        p.push(
            "portfolio.cohorts",
            format!("expected at most {} loans in all cohorts, found {}", grouped(MAX_LOANS), grouped(loans)),
        );
    }
}

fn counties(s: &Scenario, known: &Ids, p: &mut Problems) {
    let zones = &known.zones;
    let mut village_ids = BTreeSet::new();
    for (ci, c) in s.counties.iter().enumerate() {
        if c.villages.is_empty() && c.village_counts.values().all(|&n| n == 0) {
            p.push(format!("counties[{ci}]"), "a county needs villages (`villages` or `village_counts`)");
        }
        for (vi, v) in c.villages.iter().enumerate() {
            if !village_ids.insert(v.id.clone()) {
                p.push(format!("counties[{ci}].villages[{vi}].id"), format!("duplicate village id `{}`", v.id));
            }
            p.reference(&format!("counties[{ci}].villages[{vi}].zone"), "zone", &v.zone, zones);
        }
        for z in c.village_counts.keys() {
            p.reference(&format!("counties[{ci}].village_counts.{z}"), "zone", z, zones);
        }
    }
}

fn cohorts(s: &Scenario, known: &Ids, p: &mut Problems) {
    if s.portfolio.cohorts.is_empty() && s.portfolio.tapes.is_empty() {
        p.push("portfolio", "the portfolio is empty: give `cohorts` or `tapes`");
    }
    for (i, c) in s.portfolio.cohorts.iter().enumerate() {
        cohort(s, known, &format!("portfolio.cohorts[{i}]"), c, p);
    }
}

/// One cohort: references, shares, terms, its principal's law, collateral
/// and insurance take-up.
fn cohort(s: &Scenario, known: &Ids, at: &str, c: &Cohort, p: &mut Problems) {
    let horizon = s.simulation.horizon_years;
    if c.count == 0 {
        p.push(format!("{at}.count"), "expected at least one loan");
    }
    p.reference(&format!("{at}.product"), "product", &c.product, &known.products);
    for (j, co) in c.counties.iter().enumerate() {
        p.reference(&format!("{at}.counties[{j}]"), "county", co, &known.counties);
    }
    for (j, z) in c.zones.iter().enumerate() {
        p.reference(&format!("{at}.zones[{j}]"), "zone", z, &known.zones);
    }
    p.shares(&format!("{at}.banks"), "bank", &c.banks, &known.banks);
    p.shares(&format!("{at}.industries"), "industry", &c.industries, &known.industries);
    let scored = !c.indicators.is_empty();
    if scored {
        if !c.grades.is_empty() {
            p.push(format!("{at}.grades"), "give either `grades` or `indicators` (the scorecard grades), not both");
        }
        match &s.scorecard {
            None => p.push(format!("{at}.indicators"), "indicators need a `scorecard` section to grade them"),
            Some(card) => {
                let known: BTreeSet<&str> = card.indicators.iter().map(|x| x.id.as_str()).collect();
                for (k, b) in &c.indicators {
                    p.reference(&format!("{at}.indicators.{k}"), "scorecard indicator", k, &known);
                    beta_ok(p, &format!("{at}.indicators.{k}"), b);
                }
                for k in &known {
                    if !c.indicators.contains_key(*k) {
                        p.push(format!("{at}.indicators"), format!("indicator `{k}` has no distribution"));
                    }
                }
            }
        }
    } else {
        p.shares(&format!("{at}.grades"), "grade", &c.grades, &known.grades);
    }
    for (key, r) in [("guarantee_groups", &c.guarantee_groups), ("linked_households", &c.linked_households)] {
        if let Some(r) = r {
            if r.max < r.min || (key == "guarantee_groups" && r.min < 2) || r.max > 1_000_000 {
                let lo = if key == "guarantee_groups" { 2 } else { 0 };
                p.push(
                    format!("{at}.{key}"),
                    format!("expected {lo} <= min <= max <= 1000000, found min {} and max {}", r.min, r.max),
                );
            }
        }
    }
    if c.linked_households.is_some() && c.borrower == BorrowerKind::Household {
        p.push(format!("{at}.linked_households"), "only firms and cooperatives have linked households");
    }
    p.range(&format!("{at}.rate"), c.rate, 0.0, 1.0, "an annual rate");
    p.range(
        &format!("{at}.subsidy_rate"),
        c.subsidy_rate,
        0.0,
        c.rate.max(0.0),
        "a subsidy rate no higher than the rate",
    );
    if c.term_years == 0 || c.term_years > horizon {
        p.push(
            format!("{at}.term_years"),
            format!("expected a term of 1 ..= {horizon} years (the horizon), found {}", c.term_years),
        );
    }
    principal(&format!("{at}.principal"), &c.principal, p);
    cohort_collateral(s, at, &c.collateral, p);
    let ins = &c.insurance;
    p.prob(&format!("{at}.insurance.agricultural"), ins.agricultural);
    p.prob(&format!("{at}.insurance.credit"), ins.credit);
    p.prob(&format!("{at}.insurance.accident"), ins.accident);
}

fn principal(pp: &str, d: &PrincipalDist, p: &mut Problems) {
    match d {
        PrincipalDist::Fixed(y) => positive_yuan(p, pp, *y),
        PrincipalDist::Uniform(UniformPrincipal { min, max, step }) => {
            positive_yuan(p, &format!("{pp}.min"), *min);
            positive_yuan(p, &format!("{pp}.step"), *step);
            if max < min {
                p.push(format!("{pp}.max"), format!("expected max >= min ({min}), found {max}"));
            }
        }
        PrincipalDist::Lognormal(LognormalPrincipal { median, sigma, min, max, step }) => {
            positive_yuan(p, &format!("{pp}.median"), *median);
            positive_yuan(p, &format!("{pp}.min"), *min);
            positive_yuan(p, &format!("{pp}.step"), *step);
            p.range(&format!("{pp}.sigma"), *sigma, 0.0, 5.0, "a log-scale spread");
            if max < min {
                p.push(format!("{pp}.max"), format!("expected max >= min ({min}), found {max}"));
            }
        }
    }
}

fn cohort_collateral(s: &Scenario, at: &str, c: &CohortCollateral, p: &mut Problems) {
    match c {
        CohortCollateral::None => {}
        CohortCollateral::LivestockPledge(LivestockPledge { ltv, value_per_head }) => {
            let lim = s.collateral.livestock_max_ltv;
            if !(*ltv > 0.0 && *ltv <= lim) {
                p.push(
                    format!("{at}.collateral.livestock_pledge.ltv"),
                    format!(
                        "expected a loan-to-value in (0, {lim}] (collateral.livestock_max_ltv; the seed allows at most 50 % of the herd's value), found {ltv}"
                    ),
                );
            }
            positive_yuan(p, &format!("{at}.collateral.livestock_pledge.value_per_head"), *value_per_head);
        }
        CohortCollateral::ForestMortgage(ForestMortgage { ltv }) => {
            let lim = s.collateral.forest_max_ltv;
            if !(*ltv > 0.0 && *ltv <= lim) {
                p.push(
                    format!("{at}.collateral.forest_mortgage.ltv"),
                    format!("expected a loan-to-value in (0, {lim}] (collateral.forest_max_ltv), found {ltv}"),
                );
            }
        }
    }
}

fn collateral_rules(cr: &CollateralRules, p: &mut Problems) {
    p.range("collateral.livestock_max_ltv", cr.livestock_max_ltv, 0.0, 1.0, "a loan-to-value");
    p.range("collateral.forest_max_ltv", cr.forest_max_ltv, 0.0, 1.0, "a loan-to-value");
    p.prob("collateral.livestock_haircut", cr.livestock_haircut);
    p.prob("collateral.forest_haircut", cr.forest_haircut);
}

fn funds(s: &Scenario, known: &Ids, p: &mut Problems) {
    let horizon = s.simulation.horizon_years;
    let vf = &s.funds.village;
    p.range("funds.village.share", vf.share, 0.0, 1.0, "a share of the village's loans");
    for (i, pr) in vf.covers.iter().enumerate() {
        p.reference(&format!("funds.village.covers[{i}]"), "product", pr, &known.products);
    }
    for (v, y) in &vf.amounts {
        p.nonneg_yuan(&format!("funds.village.amounts.{v}"), *y);
    }
    let cf = &s.funds.compensation;
    p.range(
        "funds.compensation.deposit_ratio",
        cf.deposit_ratio,
        MIN_DEPOSIT_RATIO,
        MAX_DEPOSIT_RATIO,
        "a ratio of covered loans to fund (10 means 10:1)",
    );
    p.prob("funds.compensation.government_share", cf.government_share);
    for (i, pr) in cf.covers.iter().enumerate() {
        p.reference(&format!("funds.compensation.covers[{i}]"), "product", pr, &known.products);
    }
    for (i, d) in cf.deposits.iter().enumerate() {
        p.reference(&format!("funds.compensation.deposits[{i}].bank"), "bank", &d.bank, &known.banks);
        if let Some(c) = &d.county {
            p.reference(&format!("funds.compensation.deposits[{i}].county"), "county", c, &known.counties);
        }
        p.nonneg_yuan(&format!("funds.compensation.deposits[{i}].amount"), d.amount);
    }
    if cf.injections.is_empty() {
        p.push("funds.compensation.injections", "expected at least one injection batch");
    }
    let mut inj_sum = 0.0;
    for (i, inj) in cf.injections.iter().enumerate() {
        if inj.year == 0 || inj.year > horizon {
            p.push(
                format!("funds.compensation.injections[{i}].year"),
                format!("expected a year in 1 ..= {horizon}, found {}", inj.year),
            );
        }
        if !(inj.share > 0.0 && inj.share <= 1.0) {
            p.push(
                format!("funds.compensation.injections[{i}].share"),
                format!("expected a share in (0, 1], found {}", shown(inj.share)),
            );
        }
        inj_sum += inj.share;
    }
    if !cf.injections.is_empty() && (inj_sum - 1.0).abs() > 1e-6 {
        p.push("funds.compensation.injections", format!("expected shares summing to 1, found {inj_sum}"));
    }
    if let Some(c) = cf.top_up.annual_cap {
        p.nonneg_yuan("funds.compensation.top_up.annual_cap", c);
    }
    if let Some(c) = cf.top_up.total_cap {
        p.nonneg_yuan("funds.compensation.top_up.total_cap", c);
    }
}

fn hazards(s: &Scenario, known: &Ids, p: &mut Problems) {
    let mut in_region = BTreeSet::new();
    let _ = ids(&s.hazards.regions, |r| &r.id, "hazards.regions", "region", p);
    for (i, r) in s.hazards.regions.iter().enumerate() {
        for (j, c) in r.counties.iter().enumerate() {
            let at = format!("hazards.regions[{i}].counties[{j}]");
            if p.reference(&at, "county", c, &known.counties) && !in_region.insert(c.as_str()) {
                p.push(at, format!("county `{c}` is in two hazard regions"));
            }
        }
    }
    let _ = ids(&s.hazards.perils, |x| &x.id, "hazards.perils", "peril", p);
    labels(p, "hazards.perils", &s.hazards.perils);
    for (i, pe) in s.hazards.perils.iter().enumerate() {
        let at = format!("hazards.perils[{i}]");
        p.range(&format!("{at}.rate"), pe.rate, 0.0, 1000.0, "events per year");
        for (z, h) in &pe.hit {
            p.reference(&format!("{at}.hit.{z}"), "zone", z, &known.zones);
            p.prob(&format!("{at}.hit.{z}"), *h);
        }
        beta_ok(p, &format!("{at}.damage"), &pe.damage);
        for (ind, v) in &pe.vulnerability {
            p.reference(&format!("{at}.vulnerability.{ind}"), "industry", ind, &known.industries);
            p.prob(&format!("{at}.vulnerability.{ind}"), *v);
        }
        p.prob(&format!("{at}.default_vulnerability"), pe.default_vulnerability);
    }
    let _ = ids(&s.epidemics.diseases, |x| &x.id, "epidemics.diseases", "disease", p);
    labels(p, "epidemics.diseases", &s.epidemics.diseases);
    let species: BTreeSet<&str> = s.industries.iter().filter_map(|i| i.species.as_deref()).collect();
    for (i, d) in s.epidemics.diseases.iter().enumerate() {
        let at = format!("epidemics.diseases[{i}]");
        p.range(&format!("{at}.rate"), d.rate, 0.0, 1000.0, "outbreaks per year");
        for (z, h) in &d.hit {
            p.reference(&format!("{at}.hit.{z}"), "zone", z, &known.zones);
            p.prob(&format!("{at}.hit.{z}"), *h);
        }
        beta_ok(p, &format!("{at}.mortality"), &d.mortality);
        if d.species.is_empty() {
            p.push(format!("{at}.species"), "expected at least one species");
        }
        for (j, sp) in d.species.iter().enumerate() {
            p.reference(&format!("{at}.species[{j}]"), "species", sp, &species);
        }
    }
}

fn shocks(s: &Scenario, p: &mut Problems) {
    let _ = ids(&s.shocks, |x| &x.id, "shocks", "shock", p);
    labels(p, "shocks", &s.shocks);
    for (i, sh) in s.shocks.iter().enumerate() {
        p.prob(&format!("shocks[{i}].prob"), sh.prob);
        p.prob(&format!("shocks[{i}].default_prob"), sh.default_prob);
    }
}

fn insurance(ins: &Insurance, p: &mut Problems) {
    p.range("insurance.agricultural.coverage", ins.agricultural.coverage, 0.0, 10.0, "a share of the principal");
    p.prob("insurance.agricultural.deductible", ins.agricultural.deductible);
    p.prob("insurance.agricultural.premium_rate", ins.agricultural.premium_rate);
    p.prob("insurance.agricultural.premium_subsidy", ins.agricultural.premium_subsidy);
    p.prob("insurance.credit.share", ins.credit.share);
    p.prob("insurance.credit.premium_rate", ins.credit.premium_rate);
    p.prob("insurance.credit.premium_subsidy", ins.credit.premium_subsidy);
    p.nonneg_yuan("insurance.accident.benefit", ins.accident.benefit);
    p.nonneg_yuan("insurance.accident.illness_benefit", ins.accident.illness_benefit);
    p.nonneg_yuan("insurance.accident.premium", ins.accident.premium);
    p.prob("insurance.accident.premium_subsidy", ins.accident.premium_subsidy);
}

fn stress(s: &Scenario, p: &mut Problems) {
    let horizon = s.simulation.horizon_years;
    let st = &s.stress;
    let perils: BTreeSet<&str> = s.hazards.perils.iter().map(|x| x.id.as_str()).collect();
    let diseases: BTreeSet<&str> = s.epidemics.diseases.iter().map(|x| x.id.as_str()).collect();
    for (i, ev) in st.events.iter().enumerate() {
        let at = format!("stress.events[{i}]");
        if ev.year == 0 || ev.year > horizon {
            p.push(format!("{at}.year"), format!("expected a year in 1 ..= {horizon}, found {}", ev.year));
        }
        match (&ev.peril, &ev.disease) {
            (Some(x), None) => {
                p.reference(&format!("{at}.peril"), "peril", x, &perils);
            }
            (None, Some(x)) => {
                p.reference(&format!("{at}.disease"), "disease", x, &diseases);
            }
            _ => p.push(at.clone(), "give exactly one of `peril` or `disease`"),
        }
        if !(ev.share_of_villages > 0.0 && ev.share_of_villages <= 1.0) {
            p.push(
                format!("{at}.share_of_villages"),
                format!("expected a share in (0, 1], found {}", shown(ev.share_of_villages)),
            );
        }
        p.prob(&format!("{at}.severity"), ev.severity);
    }
    if let Some(f) = &st.county_factor {
        if !(f.quantile > 0.0 && f.quantile < 1.0) {
            p.push(
                "stress.county_factor.quantile",
                format!("expected a quantile in (0, 1), found {}", shown(f.quantile)),
            );
        }
        for (i, y) in f.years.iter().enumerate() {
            if *y == 0 || *y > horizon {
                p.push(
                    format!("stress.county_factor.years[{i}]"),
                    format!("expected a year in 1 ..= {horizon}, found {y}"),
                );
            }
        }
    }
    if let Some(k) = st.pd_multiplier {
        p.positive("stress.pd_multiplier", k);
    }
}

/// The seed's other mechanisms (docs/model.md 3b).
fn mechanisms(s: &Scenario, known: &Ids, p: &mut Problems) {
    p.range("guarantee.capacity_share", s.guarantee.capacity_share, 0.0, 10.0, "a share of the principal");
    p.range("guarantee.uplift", s.guarantee.uplift, 0.0, 100.0, "a damage multiplier");
    p.prob("linkage.damage", s.linkage.damage);
    let so = &s.societies;
    p.prob("societies.impaired_below", so.impaired_below);
    if let Some(c) = so.capital_per_village {
        positive_yuan(p, "societies.capital_per_village", c);
    }
    if let Some(r) = so.lending_ratio {
        if !(r > 0.0 && r <= 1.0) {
            p.push("societies.lending_ratio", format!("expected a share of the capital in (0, 1], found {r}"));
        }
        if so.capital_per_village.is_some() {
            p.push("societies.lending_ratio", "give either capital_per_village or lending_ratio, not both");
        }
    }
    let mut seen = BTreeSet::new();
    for (i, v) in so.villages.iter().enumerate() {
        let at = format!("societies.villages[{i}]");
        if !seen.insert(v.village.as_str()) {
            p.push(format!("{at}.village"), format!("a second society for village `{}`", v.village));
        }
        match v.capital {
            Some(c) => positive_yuan(p, &format!("{at}.capital"), c),
            None if so.capital_per_village.is_none() && so.lending_ratio.is_none() => p.push(
                format!("{at}.capital"),
                "expected the society's capital (or societies.capital_per_village or lending_ratio)",
            ),
            None => {}
        }
        if let Some(b) = &v.bank_loan {
            let at = format!("{at}.bank_loan");
            p.reference(&format!("{at}.bank"), "bank", &b.bank, &known.banks);
            if p.reference(&format!("{at}.product"), "product", &b.product, &known.products)
                && s.products.iter().any(|x| x.id == b.product && x.lender == Lender::Society)
            {
                p.push(format!("{at}.product"), "a society's bank loan needs a product lent by banks");
            }
            p.reference(&format!("{at}.industry"), "industry", &b.industry, &known.industries);
            p.reference(&format!("{at}.grade"), "grade", &b.grade, &known.grades);
            positive_yuan(p, &format!("{at}.principal"), b.principal);
            p.range(&format!("{at}.rate"), b.rate, 0.0, 1.0, "an annual rate");
            p.range(&format!("{at}.subsidy_rate"), b.subsidy_rate, 0.0, b.rate.max(0.0), "a subsidy rate");
            p.range(&format!("{at}.sensitivity"), b.sensitivity, 0.0, 100.0, "a damage multiplier");
            if b.term_years == 0 || b.term_years > s.simulation.horizon_years {
                p.push(format!("{at}.term_years"), format!("expected 1 ..= horizon years, found {}", b.term_years));
            }
        }
    }
    if let Some(card) = &s.scorecard {
        let _ = ids(&card.indicators, |x: &ScoreIndicator| &x.id, "scorecard.indicators", "indicator", p);
        if card.indicators.is_empty() {
            p.push("scorecard.indicators", "expected at least one indicator");
        }
        for (i, x) in card.indicators.iter().enumerate() {
            p.range(&format!("scorecard.indicators[{i}].weight"), x.weight, 0.0, 1e9, "a weight");
        }
        if card.indicators.iter().map(|x| x.weight).sum::<f64>() <= 0.0 {
            p.push("scorecard.indicators", "the weights sum to zero");
        }
        if card.grades.is_empty() {
            p.push("scorecard.grades", "expected at least one grade with its min_score");
        }
        for (i, g) in card.grades.iter().enumerate() {
            p.reference(&format!("scorecard.grades[{i}].grade"), "grade", &g.grade, &known.grades);
            p.range(&format!("scorecard.grades[{i}].min_score"), g.min_score, 0.0, 100.0, "a score");
            if i > 0 && g.min_score >= card.grades[i - 1].min_score {
                p.push(
                    format!("scorecard.grades[{i}].min_score"),
                    "grades go from best to worst: each min_score below the one before",
                );
            }
            if let Some(c) = g.credit_line {
                positive_yuan(p, &format!("scorecard.grades[{i}].credit_line"), c);
            }
        }
    }
}

/// The `label` of each item of the list at `path`.
fn labels<T: Labelled>(p: &mut Problems, path: &str, items: &[T]) {
    for (i, it) in items.iter().enumerate() {
        label(p, &format!("{path}[{i}]"), it.label(), it.name());
    }
}

/// A `label` at `at` ("" for the top level): at least one language, each
/// name printable and of 1 ..= MAX_NAME_CHARS characters, and the English
/// name given once (`label.en` or the older `name`, which is the same thing).
fn label(p: &mut Problems, at: &str, l: Option<&Label>, name: &str) {
    let Some(l) = l else { return };
    let key = |k: &str| if at.is_empty() { k.to_string() } else { format!("{at}.{k}") };
    if l.zh.is_none() && l.en.is_none() {
        p.push(key("label"), "expected `zh` or `en` (or both): the display name in Chinese or English");
    }
    for (lang, text) in [("zh", &l.zh), ("en", &l.en)] {
        let Some(text) = text else { continue };
        let n = text.chars().count();
        if text.trim().is_empty() {
            p.push(key(&format!("label.{lang}")), "expected a display name, found an empty one");
        } else if n > MAX_NAME_CHARS {
            p.push(
                key(&format!("label.{lang}")),
                format!("expected a display name of at most {MAX_NAME_CHARS} characters, found {n}"),
            );
        }
        if text.chars().any(char::is_control) {
            p.push(
                key(&format!("label.{lang}")),
                "a display name may not hold control characters (tabs, line breaks ...)",
            );
        }
    }
    if l.en.is_some() && !name.is_empty() {
        p.push(
            key("label.en"),
            format!(
                "`name` (`{name}`) is already the English display name: give it once, as `label.en` \
                 (and drop `name`) or as `name`"
            ),
        );
    }
}

fn positive_yuan(p: &mut Problems, path: &str, y: Yuan) {
    if y.0 <= rust_decimal::Decimal::ZERO {
        p.push(path, format!("expected a positive amount in yuan, found {y}"));
    }
}

fn beta_ok(p: &mut Problems, path: &str, b: &BetaDist) {
    if let Some(x) = b.fixed {
        p.prob(&format!("{path}.fixed"), x);
        if b.alpha != 0.0 || b.beta != 0.0 {
            p.push(path, "give either `fixed` or `alpha` and `beta`, not both");
        }
        return;
    }
    if !(b.alpha > 0.0 && b.alpha.is_finite()) {
        p.push(format!("{path}.alpha"), format!("expected a positive Beta shape, found {}", shown(b.alpha)));
    }
    if !(b.beta > 0.0 && b.beta.is_finite()) {
        p.push(format!("{path}.beta"), format!("expected a positive Beta shape, found {}", shown(b.beta)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_past_the_usual_sizes_are_shown_with_an_exponent() {
        let cases = [(1e308, "1e308"), (-2.5e20, "-2.5e20"), (1e-7, "1e-7"), (1.5, "1.5"), (0.1, "0.1"), (0.0, "0")];
        for (x, text) in cases {
            assert_eq!(shown(x), text);
        }
        assert_eq!((shown(f64::NAN), shown(f64::INFINITY)), ("NaN".to_string(), "inf".to_string()));
        let set =
            [crate::scenario::Override { path: "funds.compensation.deposit_ratio".into(), value: "1e308".into() }];
        let s = crate::scenario::parse(crate::scenario::WANGCANG_YAML, "w.yaml", &set).unwrap();
        let mut p = Problems::new("w.yaml");
        validate(&s, &mut p);
        assert_eq!(p.list.len(), 1, "{:?}", p.list);
        assert!(p.list[0].message.ends_with("found 1e308"), "{}", p.list[0].message);
    }
}
