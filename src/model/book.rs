//! The loan records: read from the tapes, generated from the cohorts, then
//! checked loan by loan against the scenario's names and products. Every
//! problem a loan has is reported, pointed at the tape row or the cohort that
//! made it. Part of [`crate::model::Model::build`].

use std::collections::BTreeSet;

use crate::limits;
use crate::model::loan_id::CohortRanks;
use crate::model::mechanisms;
use crate::model::names::{Ids, NameMap, Names};
use crate::model::portfolio::{self, CohortRefs, CollateralKind, GradeMix, LoanId, LoanOrigin, LoanRecord};
use crate::money::{Fen, to_ppm};
use crate::scenario::schema::*;
use crate::scenario::validate::Problems;
use crate::scenario::{InputError, Problem};

/// The book as records, in the order they were read: tapes first (in the
/// order the scenario lists them), then cohorts, then the societies' bank
/// loans.
pub(super) struct Book {
    pub records: Vec<LoanRecord>,
    /// The records the cohorts generated, and each one's references as ids.
    pub cohorts: std::ops::Range<usize>,
    pub cohort_refs: Vec<CohortRefs>,
    /// Whether a record not generated has an id that reads as a generated
    /// one: only then can a generated id be another's duplicate.
    pub mixed_ids: bool,
    /// How the scorecard graded each scored cohort.
    pub grade_mix: Vec<GradeMix>,
}

/// A loan record's references as indices (`usize::MAX` where one is unknown,
/// which stops the build before they are used), with what the book's order
/// reads of the record, so that sorting reads no record.
#[derive(Clone, Copy)]
pub(super) struct Refs {
    pub village: usize,
    pub bank: usize,
    pub product: usize,
    pub industry: usize,
    pub grade: usize,
    pub term: u32,
    /// The id as an integer that orders as its text, where it has one
    /// ([`CohortRanks`]).
    pub id_key: Option<u64>,
}

impl Book {
    /// Reads the tapes and generates the cohorts. A society's bank loan is
    /// added last because its guarantors are chosen among the loans before
    /// it. A cohort no village can take is a problem here, since the
    /// generator skips it silently.
    pub fn read(s: &Scenario, tapes: &[(String, String)], names: &Names, ids: &Ids, p: &mut Problems) -> Book {
        let mut records: Vec<LoanRecord> = Vec::new();
        for (name, text) in tapes {
            records.extend(portfolio::parse_tape(text, name, p));
        }
        check_cohorts(s, &names.places, p);
        // A province's records are some 70 MB: taken over when no tape came
        // first, not copied, and with room for the societies' bank loans, so
        // that their pushes do not copy them either.
        let spare = if s.societies.enabled { s.societies.villages.len() } else { 0 };
        let generated = portfolio::generate(s, &names.places, ids, spare);
        let cohorts = records.len()..records.len() + generated.loans.len();
        if records.is_empty() {
            records = generated.loans;
        } else {
            records.extend(generated.loans);
        }
        mechanisms::society_bank_loans(s, &ids.village, &mut records, p);
        if records.is_empty() && p.list.is_empty() {
            p.push("portfolio", "the portfolio has no loans");
        }
        let mixed_ids = records[..cohorts.start]
            .iter()
            .chain(&records[cohorts.end..])
            .any(|r| matches!(r.id, LoanId::Cohort { .. }));
        Book { records, cohorts, cohort_refs: generated.refs, mixed_ids, grade_mix: generated.mixes }
    }

    /// Stops the build on a book beyond riskshare's bounds, before anything
    /// sums it in 64 bits (docs/reliability.md).
    pub fn check_size(&self, p: &mut Problems) -> Result<(), InputError> {
        let records = &self.records;
        let book: i128 = records.iter().map(|r| i128::from(r.principal.0)).sum();
        if records.len() as u64 <= limits::MAX_LOANS && book <= i128::from(limits::MAX_BOOK_FEN) {
            return Ok(());
        }
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
        Err(InputError { problems: std::mem::take(&mut p.list) })
    }

    /// Resolves each loan's references to ids, once for every later step
    /// (each is a string lookup; a province has 300,000 loans), and checks
    /// each loan, every problem reported.
    pub fn resolve(&self, s: &Scenario, ids: &Ids, horizon: usize, p: &mut Problems) -> Vec<Refs> {
        let known = Known::of(ids);
        let max_principal: Vec<Option<Fen>> = s.products.iter().map(|pr| pr.max_principal.map(|m| m.fen())).collect();
        let mut seen_ids: std::collections::HashSet<&LoanId, foldhash::fast::FixedState> =
            std::collections::HashSet::with_capacity_and_hasher(self.records.len(), Default::default());
        let mut refs: Vec<Refs> = Vec::with_capacity(self.records.len());
        let ranks = CohortRanks::new(s.portfolio.cohorts.len());
        for (i, r) in self.records.iter().enumerate() {
            let before = p.list.len();
            // Generated ids are distinct, and only the same text is the same
            // id: a generated one is looked for only among others that read
            // as generated, and a province's 300,000 are not hashed.
            let generated = self.cohorts.contains(&i);
            if (!generated || self.mixed_ids) && !seen_ids.insert(&r.id) {
                p.push(format!("loan {}", r.id), format!("duplicate loan id `{}`", r.id));
            }
            // A generated loan's names were drawn as ids; a tape's are looked up.
            let x = if generated {
                let g = &self.cohort_refs[i - self.cohorts.start];
                let ix = |id: u32| if id == u32::MAX { usize::MAX } else { id as usize };
                Refs {
                    village: ix(g.village),
                    bank: ix(g.bank),
                    product: ix(g.product),
                    industry: ix(g.industry),
                    grade: ix(g.grade),
                    term: r.term_years,
                    id_key: ranks.key(&r.id),
                }
            } else {
                let id = |map: &NameMap<usize>, name: &str| map.get(name).copied().unwrap_or(usize::MAX);
                Refs {
                    village: id(&ids.village, &r.village),
                    bank: id(&ids.bank, &r.bank),
                    product: id(&ids.product, &r.product),
                    industry: id(&ids.industry, &r.industry),
                    grade: id(&ids.grade, &r.grade),
                    term: r.term_years,
                    id_key: ranks.key(&r.id),
                }
            };
            refs.push(x);
            known.check(r, x, p);
            check_terms(s, &max_principal, r, x, horizon, p);
            blame(r, &mut p.list[before..]);
        }
        refs
    }

    /// A product that mutual-aid societies lend can only be lent where a
    /// society is.
    pub fn check_society_lending(&self, s: &Scenario, names: &Names, society_lent: &BTreeSet<&str>, p: &mut Problems) {
        let society_villages = portfolio::society_villages(s, &names.places);
        for r in &self.records {
            if society_lent.contains(&*r.product) && !society_villages.contains(&*r.village) {
                p.push(
                    format!("loan {}: village", r.id),
                    format!(
                        "product `{}` is lent by a mutual-aid society, but village `{}` has none (societies)",
                        r.product, r.village
                    ),
                );
            }
        }
    }
}

/// Checks that each cohort has a village to lend in: one of its counties and
/// zones, and with a society when societies lend its product.
fn check_cohorts(s: &Scenario, places: &[(String, String, String)], p: &mut Problems) {
    for (ci, c) in s.portfolio.cohorts.iter().enumerate() {
        let takes = |co: &String, z: &String| {
            (c.counties.is_empty() || c.counties.contains(co)) && (c.zones.is_empty() || c.zones.contains(z))
        };
        let any = places.iter().any(|(_, co, z)| takes(co, z));
        if !any {
            p.push(format!("portfolio.cohorts[{ci}]"), "no village matches the cohort's counties and zones");
        }
        let society_lent = s.products.iter().any(|x| x.id == c.product && x.lender == Lender::Society);
        if any && society_lent {
            let with_society = portfolio::society_villages(s, places);
            let has = places.iter().any(|(v, co, z)| takes(co, z) && with_society.contains(v.as_str()));
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
}

/// The known names of each kind, ordered, for a problem's nearest-name hint.
struct Known<'a> {
    bank: BTreeSet<&'a str>,
    village: BTreeSet<&'a str>,
    product: BTreeSet<&'a str>,
    industry: BTreeSet<&'a str>,
    grade: BTreeSet<&'a str>,
}

impl<'a> Known<'a> {
    fn of(ids: &Ids<'a>) -> Known<'a> {
        fn known<'a>(m: &NameMap<'a, usize>) -> BTreeSet<&'a str> {
            m.keys().copied().collect()
        }
        Known {
            bank: known(&ids.bank),
            village: known(&ids.village),
            product: known(&ids.product),
            industry: known(&ids.industry),
            grade: known(&ids.grade),
        }
    }

    /// A problem for each of the loan's references that names nothing.
    fn check(&self, r: &LoanRecord, x: Refs, p: &mut Problems) {
        // Each path is formatted only for a reference that fails.
        let mut refer = |key: &str, id: &str, known: &BTreeSet<&str>, hit: bool| {
            if !hit {
                p.reference(&format!("loan {}: {key}", r.id), key, id, known);
            }
        };
        refer("bank", &r.bank, &self.bank, x.bank != usize::MAX);
        refer("village", &r.village, &self.village, x.village != usize::MAX);
        refer("product", &r.product, &self.product, x.product != usize::MAX);
        refer("industry", &r.industry, &self.industry, x.industry != usize::MAX);
        refer("grade", &r.grade, &self.grade, x.grade != usize::MAX);
    }
}

/// The loan's own terms: a positive principal, a term within the horizon, a
/// subsidy within the rate, its product's limits, and collateral within its
/// loan-to-value limit.
fn check_terms(s: &Scenario, max_principal: &[Option<Fen>], r: &LoanRecord, x: Refs, horizon: usize, p: &mut Problems) {
    // Formatted only for a loan with a problem: most have none.
    let at = |key: &str| format!("loan {}: {key}", r.id);
    if r.principal.0 <= 0 {
        p.push(at("principal"), format!("expected a positive principal, found {}", r.principal));
    }
    if r.term_years == 0 || r.term_years as usize > horizon {
        p.push(
            at("term_years"),
            format!("expected a term of 1 ..= {horizon} years (the horizon), found {}", r.term_years),
        );
    }
    if r.subsidy_ppm > r.rate_ppm {
        p.push(at("subsidy_rate"), "the subsidy rate exceeds the interest rate");
    }
    if x.product != usize::MAX {
        let pr = &s.products[x.product];
        if let Some(m) = max_principal[x.product] {
            if r.principal > m {
                p.push(at("principal"), format!("{} exceeds product `{}`'s max_principal {m}", r.principal, pr.id));
            }
        }
        if let Some(m) = pr.max_term_years {
            if r.term_years > m {
                p.push(at("term_years"), format!("{} exceeds product `{}`'s max_term_years {m}", r.term_years, pr.id));
            }
        }
    }
    let cr = &s.collateral;
    let (lim, kind) = match r.collateral {
        CollateralKind::None => (None, ""),
        CollateralKind::LivestockPledge => (Some(cr.livestock_max_ltv), "livestock pledge"),
        CollateralKind::ForestMortgage => (Some(cr.forest_max_ltv), "forest mortgage"),
    };
    if let Some(lim) = lim {
        let max_loan = r.collateral_value.mul_ppm(to_ppm(lim));
        if r.collateral_value.0 <= 0 || r.principal > max_loan {
            p.push(
                at("collateral_value"),
                format!(
                    "a {kind} lends at most {lim} of the collateral's value; principal {} against collateral {} (raise collateral.*_max_ltv explicitly to allow it)",
                    r.principal, r.collateral_value
                ),
            );
        }
        if r.collateral == CollateralKind::LivestockPledge && r.herd_size == 0 {
            p.push(at("herd_size"), "a livestock pledge needs the herd size");
        }
    }
}

/// Points a loan's problems at the tape row or the cohort that made it.
fn blame(r: &LoanRecord, problems: &mut [Problem]) {
    for q in problems {
        match &r.origin {
            LoanOrigin::Tape { file, line } => {
                q.origin = file.to_string();
                q.line = *line;
            }
            LoanOrigin::Cohort(c) => q.path = format!("portfolio.cohorts[{c}] ({})", q.path),
        }
    }
}

/// Each village that `funds.village.amounts` names must exist.
pub(super) fn check_village_amounts(s: &Scenario, ids: &Ids, p: &mut Problems) {
    let amounts = &s.funds.village.amounts;
    if amounts.is_empty() {
        return;
    }
    let known: BTreeSet<&str> = ids.village.keys().copied().collect();
    for v in amounts.keys() {
        p.reference(&format!("funds.village.amounts.{v}"), "village", v, &known);
    }
}
