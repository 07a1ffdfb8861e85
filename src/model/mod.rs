//! The validated model: the scenario compiled into dense integer ids and
//! struct-of-arrays loans, ready for the trial loop. Building it is the last
//! place where input can be wrong; after [`Model::build`] succeeds the
//! simulation meets no error.
//!
//! Loans are sorted by default bucket — (county, class, industry) — then by
//! term (longest first), village and id. A bucket's loans share one default
//! probability in a year without damage, and the loans still scheduled to be
//! alive in year t are a prefix of the bucket. The order depends only on the
//! loans' attributes, never on the order of a tape.
//!
//! [`Model::build`] reads as the recipe; each step lives in a file named after
//! what it builds: `names` (dense ids), `book` (the loan records, read and
//! checked), `layout` (classes, the book order, columns and buckets), `years`
//! (the per-year tables), `accounts` (compensation accounts and village
//! funds), `hazard` and `mechanisms`.

use std::collections::BTreeSet;

mod accounts;
mod book;
pub mod guarantee;
pub mod hazard;
pub mod importance;
mod layout;
pub mod loan_id;
pub mod mechanisms;
mod names;
pub mod portfolio;
pub mod society;
mod years;

use crate::money::{Fen, to_ppm};
use crate::rng::{self, inv_phi};
use crate::scenario::schema::*;
use crate::scenario::validate::{self, Problems};
use crate::scenario::{InputError, Scenario};
use accounts::{Compensation, VillageFunds};
use book::Book;
use guarantee::GuaranteeBook;
use hazard::HazardModel;
use loan_id::LoanId;
use names::Names;
use portfolio::CollateralKind;
use society::{LinkageBook, SocietyBook};

/// Marks a loan whose losses the compensation fund does not cover.
pub const NO_ACCOUNT: u32 = u32::MAX;

#[derive(Clone, Debug)]
pub struct VillageInfo {
    pub id: String,
    pub county: u32,
    pub zone: u16,
}

/// A bank's compensation fund account in one county.
#[derive(Clone, Debug)]
pub struct Account {
    pub bank: u32,
    pub county: u32,
    /// Principal of the loans the account covers.
    pub covered_principal: Fen,
    /// Total deposit over the horizon (all injection batches).
    pub deposit: Fen,
    /// True when the deposit was given explicitly rather than by the ratio.
    pub explicit: bool,
}

/// A default bucket: loans `start..end` share county, class and industry.
#[derive(Clone, Debug)]
pub struct Bucket {
    pub county: u32,
    pub class: u16,
    pub industry: u16,
    pub start: u32,
    /// `ends[t]`: loans `start..ends[t]` are scheduled to be alive in year t (0-based).
    pub ends: Vec<u32>,
}

/// A default class: one (grade, product) pair and its probit threshold.
#[derive(Clone, Debug)]
pub struct Class {
    pub grade: u16,
    pub product: u16,
    pub pd: f64,
    /// `Phi^-1(pd)`; minus infinity when pd = 0.
    pub threshold: f64,
}

/// Loans as dense arrays, indexed by the loan's position in the sorted book.
#[derive(Clone, Debug, Default)]
pub struct Loans {
    pub n: usize,
    pub id: Vec<LoanId>,
    pub village: Vec<u32>,
    pub county: Vec<u32>,
    pub bank: Vec<u32>,
    /// Compensation account, or [`NO_ACCOUNT`].
    pub account: Vec<u32>,
    pub product: Vec<u16>,
    pub industry: Vec<u16>,
    pub grade: Vec<u16>,
    pub class: Vec<u16>,
    pub kind: Vec<BorrowerKind>,
    pub principal: Vec<Fen>,
    pub term: Vec<u8>,
    pub village_covered: Vec<bool>,
    /// Exposure at default in year t: `ead[t * n + i]` (outstanding principal + that year's interest).
    pub ead: Vec<Fen>,
    /// Interest subsidy paid in year t if the loan survives it: `subsidy[t * n + i]`.
    pub subsidy: Vec<Fen>,
    /// The budget's share of the loan's insurance premiums in year t, paid at
    /// the start of each year the loan is alive: `premium[t * n + i]`.
    pub premium: Vec<Fen>,
    pub collateral: Vec<CollateralKind>,
    pub collateral_value: Vec<Fen>,
    /// Agricultural sum insured (zero when not enrolled).
    pub agri_sum_insured: Vec<Fen>,
    pub credit_insured: Vec<bool>,
    pub accident_insured: Vec<bool>,
}

/// What a default of one loan reads about it, in one cache line: the book is
/// stored column by column for the passes that sweep it, but defaults are
/// sparse and each would otherwise miss the cache once per column.
#[derive(Clone, Copy, Debug, Default)]
#[repr(C, align(64))]
pub struct AtDefault {
    pub collateral_value: Fen,
    /// Agricultural sum insured (zero when not enrolled).
    pub agri_sum_insured: Fen,
    pub village: u32,
    /// Compensation account, or [`NO_ACCOUNT`].
    pub account: u32,
    /// The society that lent it, or [`crate::model::society::NO_SOCIETY`].
    pub society: u32,
    pub industry: u16,
    pub term: u8,
    pub collateral: CollateralKind,
    pub village_covered: bool,
    pub accident_insured: bool,
    pub credit_insured: bool,
}

impl AtDefault {
    /// Loan `i`'s record; `lender_of` is empty when the book has no societies.
    fn of(loans: &Loans, lender_of: &[u32], i: usize) -> AtDefault {
        AtDefault {
            collateral_value: loans.collateral_value[i],
            agri_sum_insured: loans.agri_sum_insured[i],
            village: loans.village[i],
            account: loans.account[i],
            society: lender_of.get(i).copied().unwrap_or(crate::model::society::NO_SOCIETY),
            industry: loans.industry[i],
            term: loans.term[i],
            collateral: loans.collateral[i],
            village_covered: loans.village_covered[i],
            accident_insured: loans.accident_insured[i],
            credit_insured: loans.credit_insured[i],
        }
    }
}

/// A loan's figures for one year of its term, as a default in that year reads them.
#[derive(Clone, Copy, Debug, Default)]
pub struct LoanYear {
    pub ead: Fen,
    pub subsidy: Fen,
    pub premium: Fen,
}

/// Stream addresses of the model's components, derived from their ids (see
/// [`crate::rng::name_key`]): a county's factor, an industry's factor, a
/// bucket's and a village's default draws.
#[derive(Clone, Debug, Default)]
pub struct StreamKeys {
    pub county: Vec<u64>,
    pub industry: Vec<u64>,
    pub bucket: Vec<u64>,
    pub village: Vec<u64>,
}

/// Factor-model constants (docs/model.md 3.1, 3.6).
#[derive(Clone, Debug)]
pub struct Economy {
    pub sqrt_rho: f64,
    pub inv_sqrt_1m_rho: f64,
    pub sqrt_w: f64,
    pub sqrt_1m_w: f64,
    pub phi: f64,
    pub sqrt_1m_phi2: f64,
    pub kappa: f64,
}

#[derive(Clone, Debug)]
pub struct Model {
    pub scenario: Scenario,
    pub horizon: usize,
    pub counties: Vec<String>,
    pub county_names: Vec<String>,
    pub zones: Vec<String>,
    pub villages: Vec<VillageInfo>,
    pub banks: Vec<String>,
    pub bank_names: Vec<String>,
    pub industries: Vec<String>,
    pub grades: Vec<String>,
    pub products: Vec<String>,
    pub classes: Vec<Class>,
    pub buckets: Vec<Bucket>,
    /// The buckets with loans alive in year t, and how many: `live_buckets[t]`
    /// holds (bucket, alive), so the bucket pass reads one dense list.
    pub live_buckets: Vec<Vec<(u32, u32)>>,
    /// Bucket of each (county, class, industry): `bucket_of[(county * classes + class) * industries + industry]`.
    pub bucket_of: Vec<u32>,
    pub loans: Loans,
    /// `Loans::ead`, `subsidy` and `premium` again, loan by loan:
    /// `loan_years[i * horizon + t]`. Defaults are sparse, and this way each
    /// reads its years from one or two cache lines instead of nine.
    pub loan_years: Vec<LoanYear>,
    /// What a default reads, loan by loan ([`AtDefault`]).
    pub at_default: Vec<AtDefault>,
    /// Household loans, for personal shocks.
    pub household_loans: Vec<u32>,
    pub accounts: Vec<Account>,
    /// Deposits paid in at the start of year t, per account: `injections[t][a]`.
    pub injections: Vec<Vec<Fen>>,
    pub village_fund_initial: Vec<Fen>,
    /// Principal of each village's loans that its fund covers.
    pub village_covered: Vec<Fen>,
    /// Cumulative share of each account's deposit paid in by the start of year t, ppm.
    pub injected_share_ppm: Vec<u32>,
    pub economy: Economy,
    /// Stress: the county factor fixed in year t (`Some(z)`), from `stress.county_factor`.
    pub fixed_county_factor: Vec<Option<f64>>,
    pub keys: StreamKeys,
    pub hazards: HazardModel,
    pub village_fund_enabled: bool,
    pub comp_enabled: bool,
    pub government_share_ppm: u32,
    pub shortfall_to_bank: bool,
    pub top_up: Option<TopUpRule>,
    /// Loans scheduled alive in year t, and the subsidy they would earn.
    pub scheduled_alive: Vec<u64>,
    pub scheduled_subsidy: Vec<Fen>,
    /// Yearly premium subsidies if no loan defaulted (a cost, not a loss).
    pub premium_subsidy: Vec<Fen>,
    /// Joint-guarantee groups, mutual-aid societies and benefit linkage (docs/model.md 3b).
    pub guarantee: GuaranteeBook,
    pub societies: SocietyBook,
    pub linkage: LinkageBook,
    /// Stream address of each loan's extra-damage draws (guarantors, linked
    /// households, society bank loans); empty when no loan can take such a term.
    pub extra_key: Vec<u64>,
    /// How the scorecard graded each scored cohort.
    pub grade_mix: Vec<portfolio::GradeMix>,
    /// The change of measure trials are drawn under (importance sampling);
    /// `None`, the default, is the scenario's own law. Set only through
    /// [`Model::set_importance`].
    pub importance: Option<importance::Measure>,
    /// The measure's inner twist, where it has one; set with it.
    pub twist: Option<importance::InnerTwist>,
}

#[derive(Clone, Copy, Debug)]
pub struct TopUpRule {
    pub annual_cap: Option<Fen>,
    pub total_cap: Option<Fen>,
}

impl Model {
    /// Validates the scenario and its loans and compiles them. `tapes` are the
    /// loan tapes' (file name, text) in the order the scenario lists them.
    ///
    /// Each step below establishes what the next ones assume. Problems are
    /// collected, not thrown: the build stops where a later step would read
    /// what an earlier one found wrong, so one run reports every problem it
    /// can, in the order the steps meet them.
    pub fn build(scenario: Scenario, origin: &str, tapes: &[(String, String)]) -> Result<Model, InputError> {
        let mut p = Problems::new(origin);
        validate::validate(&scenario, &mut p);
        // Later stages assume a coherent scenario.
        stop(&mut p)?;
        let s = &scenario;
        let horizon = s.simulation.horizon_years as usize;

        // The names as ids, the loan records, and every loan's problems.
        let names = Names::compile(s, &mut p);
        let ids = names.ids();
        let book = Book::read(s, tapes, &names, &ids, &mut p);
        book.check_size(&mut p)?;
        let refs = book.resolve(s, &ids, horizon, &mut p);
        let society_lent = society_lent(s);
        book.check_society_lending(s, &names, &society_lent, &mut p);
        book::check_village_amounts(s, &ids, &mut p);
        stop(&mut p)?;

        // The book laid out for the trial loop.
        let (classes, class_of) = layout::classes(s, &refs);
        let order = layout::book_order(&book.records, &refs, &class_of, &names.villages);
        let (mut loans, comp_covered, terms) =
            layout::columns(s, &book.records, &refs, &class_of, &order, &names.villages, &society_lent);
        let buckets = layout::buckets(&loans, horizon);
        let bucket_of = layout::bucket_index(&buckets, names.counties.len(), classes.len(), names.industries.len());
        let live_buckets = layout::live_buckets(&buckets, horizon);
        let household_loans = layout::household_loans(&loans);

        // What each loan owes, earns and costs in each year of its term, and
        // the mechanisms: neither reads the other, so they are made side by
        // side, and the mechanisms' problems are kept to be reported in turn.
        let (tables, (books, mechanism_problems)) = rayon::join(
            || years::tables(s, &loans, &terms, horizon),
            || {
                let mut q = Problems::new(origin);
                let books = mechanisms::compile(
                    s,
                    &book.records,
                    &order,
                    &loans,
                    &names.villages,
                    &ids.village,
                    &society_lent,
                    &mut q,
                );
                (books, q)
            },
        );
        let years::Tables { ead, subsidy, premium, loan_years, scheduled } = tables;
        (loans.ead, loans.subsidy, loans.premium) = (ead, subsidy, premium);

        // The funds; a deposit that names no account stops the build here.
        let comp = Compensation::open(s, &comp_covered, &mut loans, &ids, horizon, &mut p)?;
        let village_funds = VillageFunds::open(s, &loans, &names.villages);

        // What draws the defaults: hazards and stream keys.
        let hazards =
            HazardModel::build(s, &names.villages, &loans.village, &names.counties, &names.zones, &names.industries);
        let keys = StreamKeys::of(&names, &buckets, &classes);
        p.list.extend(mechanism_problems.list);
        stop(&mut p)?;
        // Last, as it reads each loan's account and lender.
        let at_default = layout::at_default(&loans, &books.societies.lender_of);

        let comp_rules = &s.funds.compensation;
        Ok(Model {
            horizon,
            county_names: display_names(&s.counties),
            bank_names: display_names(&s.banks),
            counties: names.counties,
            zones: names.zones,
            villages: names.villages,
            banks: names.banks,
            industries: names.industries,
            grades: names.grades,
            products: names.products,
            classes,
            buckets,
            live_buckets,
            bucket_of,
            loans,
            loan_years,
            at_default,
            household_loans,
            accounts: comp.accounts,
            injections: comp.injections,
            injected_share_ppm: comp.injected_share_ppm,
            village_fund_initial: village_funds.initial,
            village_covered: village_funds.covered,
            economy: Economy::of(&s.economy),
            fixed_county_factor: fixed_county_factor(s, horizon),
            keys,
            hazards,
            village_fund_enabled: s.funds.village.enabled,
            comp_enabled: comp_rules.enabled,
            government_share_ppm: to_ppm(comp_rules.government_share),
            shortfall_to_bank: comp_rules.shortfall_bearer == ShortfallBearer::Bank,
            top_up: comp_rules.top_up.enabled.then(|| TopUpRule {
                annual_cap: comp_rules.top_up.annual_cap.map(|y| y.fen()),
                total_cap: comp_rules.top_up.total_cap.map(|y| y.fen()),
            }),
            scheduled_alive: scheduled.alive,
            scheduled_subsidy: scheduled.subsidy,
            premium_subsidy: scheduled.premium_subsidy,
            guarantee: books.guarantee,
            societies: books.societies,
            linkage: books.linkage,
            extra_key: books.extra_key,
            grade_mix: book.grade_mix,
            importance: None,
            twist: None,
            scenario,
        })
    }

    /// Loan-years if no loan defaulted: the work of one trial for the throughput figure.
    pub fn scheduled_loan_years(&self) -> u64 {
        self.scheduled_alive.iter().sum()
    }

    pub fn total_principal(&self) -> Fen {
        self.loans.principal.iter().copied().sum()
    }

    /// The bucket of a (county, class, industry).
    #[inline]
    pub fn bucket(&self, county: usize, class: usize, industry: usize) -> usize {
        self.bucket_of[(county * self.classes.len() + class) * self.industries.len() + industry] as usize
    }
}

/// Ends the build with the problems found so far, if any: the steps after
/// it assume there are none.
fn stop(p: &mut Problems) -> Result<(), InputError> {
    if p.list.is_empty() { Ok(()) } else { Err(InputError { problems: std::mem::take(&mut p.list) }) }
}

/// The products that mutual-aid societies lend, by id.
fn society_lent(s: &Scenario) -> BTreeSet<&str> {
    s.products.iter().filter(|x| x.lender == Lender::Society).map(|x| x.id.as_str()).collect()
}

/// Names for reports: the name where the scenario gives one, else the id.
/// Each item's English display name (`label.en` or `name`, else `label.zh`,
/// else its id): what `summary.json` carries for programs; the reports take
/// the name in their own language from [`crate::report::labels`].
fn display_names<T: Labelled>(items: &[T]) -> Vec<String> {
    items.iter().map(|x| x.display().pick(false).unwrap_or(x.id()).to_string()).collect()
}

/// The stressed county factor of each year (`Some(z)` where
/// `stress.county_factor` fixes it), as the quantile's normal deviate.
fn fixed_county_factor(s: &Scenario, horizon: usize) -> Vec<Option<f64>> {
    (1..=horizon as u32)
        .map(|y| {
            s.stress
                .county_factor
                .as_ref()
                .filter(|f| f.years.is_empty() || f.years.contains(&y))
                .map(|f| inv_phi(f.quantile))
        })
        .collect()
}

impl Economy {
    /// The factor model's constants, computed once for every trial.
    fn of(e: &crate::scenario::schema::Economy) -> Economy {
        Economy {
            sqrt_rho: e.rho.sqrt(),
            inv_sqrt_1m_rho: 1.0 / (1.0 - e.rho).sqrt(),
            sqrt_w: e.county_weight.sqrt(),
            sqrt_1m_w: (1.0 - e.county_weight).sqrt(),
            phi: e.persistence,
            sqrt_1m_phi2: (1.0 - e.persistence * e.persistence).sqrt(),
            kappa: e.kappa,
        }
    }
}

impl StreamKeys {
    /// Each component's stream address from its ids, so that adding or
    /// reordering other components moves none of its draws; a bucket's from
    /// its county, grade, product and industry.
    fn of(names: &Names, buckets: &[Bucket], classes: &[Class]) -> StreamKeys {
        StreamKeys {
            county: names.counties.iter().map(|c| rng::name_key(&["county", c])).collect(),
            industry: names.industries.iter().map(|i| rng::name_key(&["industry", i])).collect(),
            bucket: buckets
                .iter()
                .map(|b| {
                    let k = &classes[b.class as usize];
                    rng::name_key(&[
                        "bucket",
                        &names.counties[b.county as usize],
                        &names.grades[k.grade as usize],
                        &names.products[k.product as usize],
                        &names.industries[b.industry as usize],
                    ])
                })
                .collect(),
            village: names.villages.iter().map(|v| rng::name_key(&["village", &v.id])).collect(),
        }
    }
}
