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

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

pub mod guarantee;
pub mod hazard;
pub mod mechanisms;
pub mod portfolio;
pub mod society;

use crate::limits;
use crate::money::{Fen, to_ppm};
use crate::rng::{self, inv_phi};
use crate::scenario::schema::*;
use crate::scenario::validate::{self, Problems};
use crate::scenario::{InputError, Scenario};
use guarantee::GuaranteeBook;
use hazard::HazardModel;
use portfolio::{CollateralKind, LoanOrigin, LoanRecord};
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
    pub id: Vec<String>,
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
}

#[derive(Clone, Copy, Debug)]
pub struct TopUpRule {
    pub annual_cap: Option<Fen>,
    pub total_cap: Option<Fen>,
}

/// A loan record's references as indices (`usize::MAX` where one is unknown,
/// which stops the build before they are used).
#[derive(Clone, Copy)]
struct Refs {
    village: usize,
    bank: usize,
    product: usize,
    industry: usize,
    grade: usize,
}

fn index_of(ids: &[String]) -> BTreeMap<&str, usize> {
    ids.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect()
}

impl Model {
    /// Validates the scenario and its loans and compiles them. `tapes` are the
    /// loan tapes' (file name, text) in the order the scenario lists them.
    pub fn build(scenario: Scenario, origin: &str, tapes: &[(String, String)]) -> Result<Model, InputError> {
        let mut p = Problems::new(origin);
        validate::validate(&scenario, &mut p);
        if !p.list.is_empty() {
            // Later stages assume a coherent scenario.
            return Err(InputError { problems: p.list });
        }
        let s = &scenario;
        let horizon = s.simulation.horizon_years as usize;

        let zones: Vec<String> = s.zones.iter().map(|z| z.id.clone()).collect();
        let zone_ix = index_of(&zones);
        let counties: Vec<String> = s.counties.iter().map(|c| c.id.clone()).collect();
        let mut villages = Vec::new();
        for (ci, c) in s.counties.iter().enumerate() {
            for v in &c.villages {
                villages.push(VillageInfo {
                    id: v.id.clone(),
                    county: ci as u32,
                    zone: zone_ix[v.zone.as_str()] as u16,
                });
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
        {
            let mut seen = BTreeSet::new();
            for v in &villages {
                if !seen.insert(v.id.as_str()) {
                    p.push("counties", format!("village id `{}` is used twice (listed and generated?)", v.id));
                }
            }
        }
        // Hashed, not ordered: a province looks up 17,600 village ids for each
        // of its 300,000 loans several times, and ordered string keys made
        // that most of its build.
        let village_ix: HashMap<&str, usize> = villages.iter().enumerate().map(|(i, v)| (v.id.as_str(), i)).collect();
        let banks: Vec<String> = s.banks.iter().map(|b| b.id.clone()).collect();
        let bank_ix = index_of(&banks);
        let industries: Vec<String> = s.industries.iter().map(|b| b.id.clone()).collect();
        let ind_ix = index_of(&industries);
        let grades: Vec<String> = s.grades.iter().map(|b| b.id.clone()).collect();
        let grade_ix = index_of(&grades);
        let products: Vec<String> = s.products.iter().map(|b| b.id.clone()).collect();
        let prod_ix = index_of(&products);

        // Loans: tapes first, then cohorts.
        let mut records: Vec<LoanRecord> = Vec::new();
        for (name, text) in tapes {
            records.extend(portfolio::parse_tape(text, name, &mut p));
        }
        let vlist: Vec<(String, String, String)> = villages
            .iter()
            .map(|v| (v.id.clone(), counties[v.county as usize].clone(), zones[v.zone as usize].clone()))
            .collect();
        for (ci, c) in s.portfolio.cohorts.iter().enumerate() {
            let any = vlist.iter().any(|(_, co, z)| {
                (c.counties.is_empty() || c.counties.contains(co)) && (c.zones.is_empty() || c.zones.contains(z))
            });
            if !any {
                p.push(format!("portfolio.cohorts[{ci}]"), "no village matches the cohort's counties and zones");
            }
            let society_lent = s.products.iter().any(|x| x.id == c.product && x.lender == Lender::Society);
            if any && society_lent {
                let with_society = portfolio::society_villages(s, &vlist);
                let has = vlist.iter().any(|(v, co, z)| {
                    (c.counties.is_empty() || c.counties.contains(co))
                        && (c.zones.is_empty() || c.zones.contains(z))
                        && with_society.contains(v.as_str())
                });
                if !has {
                    p.push(
                        format!("portfolio.cohorts[{ci}].product"),
                        format!(
                            "product `{}` is lent by mutual-aid societies, but none of the cohort's villages has one (see `societies`{})",
                            c.product,
                            if s.societies.enabled { "" } else { ", which is disabled" }
                        ),
                    );
                }
            }
        }
        let (generated, grade_mix) = portfolio::generate(s, &vlist);
        records.extend(generated);
        mechanisms::society_bank_loans(s, &village_ix, &mut records, &mut p);
        if records.is_empty() && p.list.is_empty() {
            p.push("portfolio", "the portfolio has no loans");
        }

        // The book's size before anything sums it in 64 bits.
        let book: i128 = records.iter().map(|r| i128::from(r.principal.0)).sum();
        if records.len() as u64 > limits::MAX_LOANS || book > i128::from(limits::MAX_BOOK_FEN) {
            p.push(
                "portfolio",
                format!(
                    "expected a book of at most {} loans and CNY {} in all (riskshare's bounds), found {} loans \
                     and CNY {}",
                    limits::grouped(limits::MAX_LOANS),
                    limits::grouped(limits::MAX_BOOK_FEN as u64 / 100),
                    limits::grouped(records.len() as u64),
                    limits::grouped((book / 100) as u64)
                ),
            );
            return Err(InputError { problems: p.list });
        }

        // Loan-level checks, every one reported.
        fn known<'a>(m: &BTreeMap<&'a str, usize>) -> BTreeSet<&'a str> {
            m.keys().copied().collect()
        }
        let (kb, kp, ki, kg) = (known(&bank_ix), known(&prod_ix), known(&ind_ix), known(&grade_ix));
        let kv: BTreeSet<&str> = village_ix.keys().copied().collect();
        let mut seen_ids = HashSet::with_capacity(records.len());
        let cr = &s.collateral;
        // Each loan's references resolved once, here, for every later step
        // (each is a string lookup; a province has 300,000 loans).
        let mut refs: Vec<Refs> = Vec::with_capacity(records.len());
        for r in &records {
            let at = format!("loan {}", r.id);
            let before = p.list.len();
            if !seen_ids.insert(r.id.as_str()) {
                p.push(&at, format!("duplicate loan id `{}`", r.id));
            }
            // Each path is formatted only for a reference that fails.
            let mut refer = |key: &str, what: &str, id: &str, known: &BTreeSet<&str>, hit: bool| {
                hit || p.reference(&format!("{at}: {key}"), what, id, known)
            };
            let x = Refs {
                village: village_ix.get(r.village.as_str()).copied().unwrap_or(usize::MAX),
                bank: bank_ix.get(r.bank.as_str()).copied().unwrap_or(usize::MAX),
                product: prod_ix.get(r.product.as_str()).copied().unwrap_or(usize::MAX),
                industry: ind_ix.get(r.industry.as_str()).copied().unwrap_or(usize::MAX),
                grade: grade_ix.get(r.grade.as_str()).copied().unwrap_or(usize::MAX),
            };
            refs.push(x);
            refer("bank", "bank", &r.bank, &kb, x.bank != usize::MAX);
            refer("village", "village", &r.village, &kv, x.village != usize::MAX);
            let prod_ok = refer("product", "product", &r.product, &kp, x.product != usize::MAX);
            refer("industry", "industry", &r.industry, &ki, x.industry != usize::MAX);
            refer("grade", "grade", &r.grade, &kg, x.grade != usize::MAX);
            if r.principal.0 <= 0 {
                p.push(format!("{at}: principal"), format!("expected a positive principal, found {}", r.principal));
            }
            if r.term_years == 0 || r.term_years as usize > horizon {
                p.push(
                    format!("{at}: term_years"),
                    format!("expected a term of 1 ..= {horizon} years (the horizon), found {}", r.term_years),
                );
            }
            if r.subsidy_ppm > r.rate_ppm {
                p.push(format!("{at}: subsidy_rate"), "the subsidy rate exceeds the interest rate");
            }
            if prod_ok {
                let pr = &s.products[x.product];
                if let Some(m) = pr.max_principal {
                    if r.principal > m.fen() {
                        p.push(
                            format!("{at}: principal"),
                            format!("{} exceeds product `{}`'s max_principal {m}", r.principal, pr.id),
                        );
                    }
                }
                if let Some(m) = pr.max_term_years {
                    if r.term_years > m {
                        p.push(
                            format!("{at}: term_years"),
                            format!("{} exceeds product `{}`'s max_term_years {m}", r.term_years, pr.id),
                        );
                    }
                }
            }
            let (lim, kind) = match r.collateral {
                CollateralKind::None => (None, ""),
                CollateralKind::LivestockPledge => (Some(cr.livestock_max_ltv), "livestock pledge"),
                CollateralKind::ForestMortgage => (Some(cr.forest_max_ltv), "forest mortgage"),
            };
            if let Some(lim) = lim {
                let max_loan = r.collateral_value.mul_ppm(to_ppm(lim));
                if r.collateral_value.0 <= 0 || r.principal > max_loan {
                    p.push(
                        format!("{at}: collateral_value"),
                        format!(
                            "a {kind} lends at most {lim} of the collateral's value; principal {} against collateral {} (raise collateral.*_max_ltv explicitly to allow it)",
                            r.principal, r.collateral_value
                        ),
                    );
                }
                if r.collateral == CollateralKind::LivestockPledge && r.herd_size == 0 {
                    p.push(format!("{at}: herd_size"), "a livestock pledge needs the herd size");
                }
            }
            // Point each problem at the tape row or the cohort that made the loan.
            for q in &mut p.list[before..] {
                match &r.origin {
                    LoanOrigin::Tape { file, line } => {
                        q.origin = file.clone();
                        q.line = *line;
                    }
                    LoanOrigin::Cohort(c) => q.path = format!("portfolio.cohorts[{c}] ({})", q.path),
                }
            }
        }
        let society_villages = portfolio::society_villages(s, &vlist);
        let society_lent: BTreeSet<&str> =
            s.products.iter().filter(|x| x.lender == Lender::Society).map(|x| x.id.as_str()).collect();
        for r in &records {
            if society_lent.contains(r.product.as_str()) && !society_villages.contains(r.village.as_str()) {
                p.push(
                    format!("loan {}: village", r.id),
                    format!(
                        "product `{}` is lent by a mutual-aid society, but village `{}` has none (societies)",
                        r.product, r.village
                    ),
                );
            }
        }
        for v in s.funds.village.amounts.keys() {
            p.reference(&format!("funds.village.amounts.{v}"), "village", v, &kv);
        }
        if !p.list.is_empty() {
            return Err(InputError { problems: p.list });
        }

        // Classes: the (grade, product) pairs in use.
        let mut class_ix: BTreeMap<(usize, usize), usize> = BTreeMap::new();
        for x in &refs {
            let key = (x.grade, x.product);
            let next = class_ix.len();
            class_ix.entry(key).or_insert(next);
        }
        // Renumber classes in key order so ids do not depend on record order.
        for (i, v) in class_ix.values_mut().enumerate() {
            *v = i;
        }
        let classes: Vec<Class> = class_ix
            .keys()
            .map(|&(g, pr)| {
                let mut pd = s.grades[g].pd * s.products[pr].pd_multiplier;
                if let Some(k) = s.stress.pd_multiplier {
                    // A stressed pd stays a probability.
                    pd = (pd * k).min(0.999);
                }
                Class { grade: g as u16, product: pr as u16, pd, threshold: inv_phi(pd) }
            })
            .collect();

        // Sort the book.
        // Which products each fund covers, by product index.
        let covers = |list: &Vec<String>| -> Vec<bool> {
            s.products.iter().map(|pr| list.is_empty() || list.contains(&pr.id)).collect()
        };
        let (comp_covers, village_covers) = (covers(&s.funds.compensation.covers), covers(&s.funds.village.covers));
        let society_lends: Vec<bool> = s.products.iter().map(|pr| society_lent.contains(pr.id.as_str())).collect();
        // Keys computed once per loan: looking them up per comparison (string
        // maps of 17,600 villages) made this sort most of a province's build.
        let class_of: Vec<usize> = refs.iter().map(|x| class_ix[&(x.grade, x.product)]).collect();
        let key_of = |i: usize| {
            let x = &refs[i];
            (villages[x.village].county, class_of[i], x.industry, std::cmp::Reverse(records[i].term_years), x.village)
        };
        let mut keyed: Vec<_> = (0..records.len()).map(|i| (key_of(i), i)).collect();
        keyed.sort_unstable_by(|(ka, a), (kb, b)| ka.cmp(kb).then_with(|| records[*a].id.cmp(&records[*b].id)));
        let order: Vec<usize> = keyed.into_iter().map(|(_, i)| i).collect();

        let comp = &s.funds.compensation;
        let mut account_ix: BTreeMap<(u32, u32), u32> = BTreeMap::new();
        let n = records.len();
        let mut loans = Loans { n, ..Default::default() };
        let sub_on = s.subsidy.enabled;
        loans.ead = vec![Fen::ZERO; n * horizon];
        loans.subsidy = vec![Fen::ZERO; n * horizon];
        let agri = &s.insurance.agricultural;
        for (pos, &ri) in order.iter().enumerate() {
            let (r, x) = (&records[ri], &refs[ri]);
            let v = x.village;
            let county = villages[v].county;
            let bank = x.bank as u32;
            // A society's loans never reach a bank's compensation account.
            let comp_cov =
                comp.enabled && !society_lends[x.product] && r.comp_covered.unwrap_or(comp_covers[x.product]);
            let account = if comp_cov {
                let next = account_ix.len() as u32;
                *account_ix.entry((bank, county)).or_insert(next)
            } else {
                NO_ACCOUNT
            };
            loans.id.push(r.id.clone());
            loans.village.push(v as u32);
            loans.county.push(county);
            loans.bank.push(bank);
            loans.account.push(account);
            loans.product.push(x.product as u16);
            loans.industry.push(x.industry as u16);
            loans.grade.push(x.grade as u16);
            loans.class.push(class_of[ri] as u16);
            loans.kind.push(r.borrower);
            loans.principal.push(r.principal);
            loans.term.push(r.term_years as u8);
            loans.village_covered.push(s.funds.village.enabled && village_covers[x.product]);
            loans.collateral.push(r.collateral);
            loans.collateral_value.push(r.collateral_value);
            let sum_insured = if r.agricultural_insured {
                r.sum_insured.unwrap_or_else(|| r.principal.mul_ppm(to_ppm(agri.coverage)))
            } else {
                Fen::ZERO
            };
            loans.agri_sum_insured.push(sum_insured);
            loans.credit_insured.push(r.credit_insured);
            loans.accident_insured.push(r.accident_insured && r.borrower == BorrowerKind::Household);
            for t in 0..r.term_years as usize {
                let out = outstanding(r.principal, r.term_years, r.amortisation, t);
                loans.ead[t * n + pos] = out + out.mul_ppm(r.rate_ppm);
                if sub_on {
                    loans.subsidy[t * n + pos] = out.mul_ppm(r.subsidy_ppm);
                }
            }
        }
        // Account ids were handed out in book order; renumber by (bank, county).
        let mut remap = vec![0u32; account_ix.len()];
        for (new, (_, &old)) in account_ix.iter().enumerate() {
            remap[old as usize] = new as u32;
        }
        for a in loans.account.iter_mut().filter(|a| **a != NO_ACCOUNT) {
            *a = remap[*a as usize];
        }
        let mut accounts: Vec<Account> = account_ix
            .keys()
            .map(|&(bank, county)| Account {
                bank,
                county,
                covered_principal: Fen::ZERO,
                deposit: Fen::ZERO,
                explicit: false,
            })
            .collect();
        for i in 0..n {
            if loans.account[i] != NO_ACCOUNT {
                accounts[loans.account[i] as usize].covered_principal += loans.principal[i];
            }
        }
        let county_ix = index_of(&counties);
        for (di, d) in comp.deposits.iter().enumerate() {
            let b = bank_ix[d.bank.as_str()] as u32;
            let matching: Vec<usize> = accounts
                .iter()
                .enumerate()
                .filter(|(_, a)| {
                    a.bank == b && d.county.as_ref().is_none_or(|c| county_ix[c.as_str()] as u32 == a.county)
                })
                .map(|(i, _)| i)
                .collect();
            match matching.len() {
                0 => p.push(
                    format!("funds.compensation.deposits[{di}]"),
                    format!(
                        "bank `{}` has no covered loans{}",
                        d.bank,
                        d.county.as_ref().map(|c| format!(" in county `{c}`")).unwrap_or_default()
                    ),
                ),
                1 => {
                    let a = &mut accounts[matching[0]];
                    if a.explicit {
                        p.push(format!("funds.compensation.deposits[{di}]"), "a second deposit for the same account");
                    }
                    a.deposit = d.amount.fen();
                    a.explicit = true;
                }
                _ => p.push(
                    format!("funds.compensation.deposits[{di}].county"),
                    format!("bank `{}` lends in several counties: name the county", d.bank),
                ),
            }
        }
        if !p.list.is_empty() {
            return Err(InputError { problems: p.list });
        }
        for a in accounts.iter_mut().filter(|a| !a.explicit) {
            a.deposit = Fen((a.covered_principal.0 as f64 / comp.deposit_ratio).round() as i64);
        }
        let funds: i128 = accounts.iter().map(|a| i128::from(a.deposit.0)).sum::<i128>()
            + s.funds.village.amounts.values().map(|y| i128::from(y.fen().0)).sum::<i128>();
        if funds > i128::from(limits::MAX_FUNDS_FEN) {
            p.push(
                "funds",
                format!(
                    "expected funds (compensation deposits and village amounts) of at most CNY {} in all \
                     (riskshare's bound), found CNY {}",
                    limits::grouped(limits::MAX_FUNDS_FEN as u64 / 100),
                    limits::grouped((funds / 100) as u64)
                ),
            );
            return Err(InputError { problems: p.list });
        }
        let injections = injection_schedule(&accounts, &comp.injections, horizon);

        // Buckets.
        let mut buckets: Vec<Bucket> = Vec::new();
        let mut i = 0;
        while i < n {
            let (c, k, ind) = (loans.county[i], loans.class[i], loans.industry[i]);
            let start = i;
            while i < n && loans.county[i] == c && loans.class[i] == k && loans.industry[i] == ind {
                i += 1;
            }
            let ends = (0..horizon)
                .map(|t| (start..i).take_while(|&j| loans.term[j] as usize > t).count() as u32 + start as u32)
                .collect();
            buckets.push(Bucket { county: c, class: k, industry: ind, start: start as u32, ends });
        }

        let (nc, nk, ni) = (counties.len(), classes.len(), industries.len());
        let mut bucket_of = vec![u32::MAX; nc * nk * ni];
        for (b, bk) in buckets.iter().enumerate() {
            bucket_of[(bk.county as usize * nk + bk.class as usize) * ni + bk.industry as usize] = b as u32;
        }

        let nv = villages.len();
        let household_loans: Vec<u32> =
            (0..n as u32).filter(|&j| loans.kind[j as usize] == BorrowerKind::Household).collect();

        // Village funds.
        let vf = &s.funds.village;
        let mut village_fund_initial = vec![Fen::ZERO; nv];
        let mut covered_by_village = vec![Fen::ZERO; nv];
        for j in 0..n {
            if loans.village_covered[j] {
                covered_by_village[loans.village[j] as usize] += loans.principal[j];
            }
        }
        if vf.enabled {
            let share = to_ppm(vf.share);
            for v in 0..nv {
                village_fund_initial[v] = match vf.amounts.get(&villages[v].id) {
                    Some(y) => y.fen(),
                    None => covered_by_village[v].mul_ppm(share),
                };
            }
        }

        let e = &s.economy;
        let economy = Economy {
            sqrt_rho: e.rho.sqrt(),
            inv_sqrt_1m_rho: 1.0 / (1.0 - e.rho).sqrt(),
            sqrt_w: e.county_weight.sqrt(),
            sqrt_1m_w: (1.0 - e.county_weight).sqrt(),
            phi: e.persistence,
            sqrt_1m_phi2: (1.0 - e.persistence * e.persistence).sqrt(),
            kappa: e.kappa,
        };
        let scheduled_alive =
            (0..horizon).map(|t| (0..n).filter(|&j| loans.term[j] as usize > t).count() as u64).collect();
        let scheduled_subsidy = (0..horizon).map(|t| loans.subsidy[t * n..(t + 1) * n].iter().copied().sum()).collect();
        premiums(s, &mut loans, horizon);
        let premium_subsidy = (0..horizon).map(|t| loans.premium[t * n..(t + 1) * n].iter().copied().sum()).collect();
        let loan_years = (0..n * horizon)
            .map(|k| {
                let (i, t) = (k / horizon, k % horizon);
                LoanYear {
                    ead: loans.ead[t * n + i],
                    subsidy: loans.subsidy[t * n + i],
                    premium: loans.premium[t * n + i],
                }
            })
            .collect();
        let hazards = HazardModel::build(s, &villages, &counties, &zones, &industries);
        let keys = StreamKeys {
            county: counties.iter().map(|c| rng::name_key(&["county", c])).collect(),
            industry: industries.iter().map(|i| rng::name_key(&["industry", i])).collect(),
            bucket: buckets
                .iter()
                .map(|b| {
                    let k = &classes[b.class as usize];
                    rng::name_key(&[
                        "bucket",
                        &counties[b.county as usize],
                        &grades[k.grade as usize],
                        &products[k.product as usize],
                        &industries[b.industry as usize],
                    ])
                })
                .collect(),
            village: villages.iter().map(|v| rng::name_key(&["village", &v.id])).collect(),
        };
        let books = mechanisms::compile(s, &records, &order, &loans, &villages, &village_ix, &society_lent, &mut p);
        if !p.list.is_empty() {
            return Err(InputError { problems: p.list });
        }
        let top_up = comp.top_up.enabled.then(|| TopUpRule {
            annual_cap: comp.top_up.annual_cap.map(|y| y.fen()),
            total_cap: comp.top_up.total_cap.map(|y| y.fen()),
        });

        let at_default = (0..n).map(|i| AtDefault::of(&loans, &books.societies.lender_of, i)).collect();
        let live_buckets = (0..horizon)
            .map(|t| {
                let alive = |b: &Bucket| b.ends[t] - b.start;
                (0..buckets.len() as u32).map(|b| (b, alive(&buckets[b as usize]))).filter(|&(_, n)| n > 0).collect()
            })
            .collect();
        Ok(Model {
            horizon,
            county_names: s
                .counties
                .iter()
                .map(|c| if c.name.is_empty() { c.id.clone() } else { c.name.clone() })
                .collect(),
            bank_names: s.banks.iter().map(|b| if b.name.is_empty() { b.id.clone() } else { b.name.clone() }).collect(),
            counties,
            zones,
            villages,
            banks,
            industries,
            grades,
            products,
            classes,
            buckets,
            live_buckets,
            bucket_of,
            loans,
            loan_years,
            at_default,
            household_loans,
            accounts,
            injections,
            village_fund_initial,
            village_covered: covered_by_village,
            injected_share_ppm: {
                let mut cum = 0.0;
                let mut by_year = vec![0.0f64; horizon];
                for i in &comp.injections {
                    by_year[i.year as usize - 1] += i.share;
                }
                by_year
                    .iter()
                    .map(|x| {
                        cum += x;
                        to_ppm(cum.min(1.0))
                    })
                    .collect()
            },
            economy,
            fixed_county_factor: (1..=horizon as u32)
                .map(|y| {
                    s.stress
                        .county_factor
                        .as_ref()
                        .filter(|f| f.years.is_empty() || f.years.contains(&y))
                        .map(|f| inv_phi(f.quantile))
                })
                .collect(),
            keys,
            hazards,
            village_fund_enabled: vf.enabled,
            comp_enabled: comp.enabled,
            government_share_ppm: to_ppm(comp.government_share),
            shortfall_to_bank: comp.shortfall_bearer == ShortfallBearer::Bank,
            top_up,
            scheduled_alive,
            scheduled_subsidy,
            premium_subsidy,
            guarantee: books.guarantee,
            societies: books.societies,
            linkage: books.linkage,
            extra_key: books.extra_key,
            grade_mix,
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

/// Outstanding principal at the start of year `t` (0-based).
fn outstanding(principal: Fen, term: u32, am: Amortisation, t: usize) -> Fen {
    match am {
        Amortisation::Bullet => principal,
        Amortisation::EqualPrincipal => {
            // Equal instalments of floor(P / term); the last one takes the remainder.
            let inst = principal.0 / term as i64;
            Fen(principal.0 - inst * t as i64)
        }
    }
}

/// Splits each account's deposit over the injection years by cumulative
/// rounding, so the batches add up to the deposit exactly.
fn injection_schedule(accounts: &[Account], inj: &[Injection], horizon: usize) -> Vec<Vec<Fen>> {
    let mut share_by_year = vec![0.0f64; horizon];
    for i in inj {
        share_by_year[i.year as usize - 1] += i.share;
    }
    let mut out = vec![vec![Fen::ZERO; accounts.len()]; horizon];
    for (a, acc) in accounts.iter().enumerate() {
        let mut cum = 0.0;
        let mut given = Fen::ZERO;
        let last = share_by_year.iter().rposition(|&s| s > 0.0).unwrap_or(0);
        for (t, &sh) in share_by_year.iter().enumerate() {
            cum += sh;
            let upto = if t >= last { acc.deposit } else { acc.deposit.mul_ppm(to_ppm(cum.min(1.0))) };
            out[t][a] = upto - given;
            given = upto;
            if t >= last {
                break;
            }
        }
    }
    out
}

/// The budget's share of each loan's insurance premiums in each year of its
/// term (a cost, reported beside the losses; it stops when the loan defaults).
fn premiums(s: &Scenario, loans: &mut Loans, horizon: usize) {
    let n = loans.n;
    loans.premium = vec![Fen::ZERO; n * horizon];
    if !s.insurance.enabled {
        return;
    }
    let ins = &s.insurance;
    let agri = to_ppm(ins.agricultural.premium_rate * ins.agricultural.premium_subsidy);
    let credit = to_ppm(ins.credit.premium_rate * ins.credit.premium_subsidy);
    let acc = ins.accident.premium.fen().mul_ppm(to_ppm(ins.accident.premium_subsidy));
    for j in 0..n {
        let mut yearly = loans.agri_sum_insured[j].mul_ppm(agri);
        if loans.credit_insured[j] {
            yearly += loans.principal[j].mul_ppm(credit);
        }
        if loans.accident_insured[j] {
            yearly += acc;
        }
        for t in 0..(loans.term[j] as usize).min(horizon) {
            loans.premium[t * n + j] = yearly;
        }
    }
}
