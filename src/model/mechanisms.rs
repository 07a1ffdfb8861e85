//! Compiles the seed's other mechanisms (docs/model.md 3b) from the scenario and
//! the loan records into the model's books: joint-guarantee groups
//! ([`GuaranteeBook`]), mutual-aid societies and benefit linkage
//! ([`SocietyBook`], [`LinkageBook`]). Part of [`crate::model::Model::build`].

use std::collections::{BTreeMap, BTreeSet};

use rayon::prelude::*;

use crate::model::guarantee::{GuaranteeBook, NO_GROUP, ONLY_NONE};
use crate::model::names::NameMap;
use crate::model::portfolio::{CollateralKind, LoanId, LoanOrigin, LoanRecord, Name};
use crate::model::society::{LinkageBook, NO_LOAN, NO_SOCIETY, SocietyBook};
use crate::model::{Loans, VillageInfo};
use crate::money::{Fen, to_ppm};
use crate::rng;
use crate::scenario::schema::*;
use crate::scenario::validate::Problems;

/// Book positions by loan id.
type IdMap<'a> = std::collections::HashMap<&'a LoanId, u32, foldhash::fast::FixedState>;

pub struct Books {
    pub guarantee: GuaranteeBook,
    pub societies: SocietyBook,
    pub linkage: LinkageBook,
    pub extra_key: Vec<u64>,
}

/// Adds each society's bank loan to the records, with its guarantors: the
/// village's household borrowers in no other group, best grade (lowest pd)
/// first, then by id.
pub fn society_bank_loans(
    s: &Scenario,
    village_ix: &NameMap<'_, usize>,
    records: &mut Vec<LoanRecord>,
    p: &mut Problems,
) {
    if !s.societies.enabled {
        return;
    }
    let known: BTreeSet<&str> = village_ix.keys().copied().collect();
    let pd: BTreeMap<&str, f64> = s.grades.iter().map(|g| (g.id.as_str(), g.pd)).collect();
    // The household borrowers of each village with a bank loan, found in one
    // pass over the records rather than one per village.
    let mut slot: NameMap<'_, usize> = NameMap::default();
    for v in s.societies.villages.iter().filter(|v| v.bank_loan.is_some()) {
        let next = slot.len();
        slot.entry(&*v.village).or_insert(next);
    }
    let mut households: Vec<Vec<usize>> = vec![Vec::new(); slot.len()];
    for (k, r) in records.iter().enumerate().filter(|(_, r)| r.borrower == BorrowerKind::Household) {
        if let Some(&w) = slot.get(&*r.village) {
            households[w].push(k);
        }
    }
    for (i, v) in s.societies.villages.iter().enumerate() {
        if !p.reference(&format!("societies.villages[{i}].village"), "village", &v.village, &known) {
            continue;
        }
        let Some(b) = &v.bank_loan else { continue };
        let group = format!("society-{}", v.village);
        let mut candidates: Vec<usize> =
            households[slot[&*v.village]].iter().copied().filter(|&k| records[k].guarantee_group.is_none()).collect();
        candidates.sort_by(|&x, &y| {
            let (rx, ry) = (&records[x], &records[y]);
            let (px, py) = (pd.get(&*rx.grade).unwrap_or(&1.0), pd.get(&*ry.grade).unwrap_or(&1.0));
            px.total_cmp(py).then_with(|| rx.id.cmp(&ry.id))
        });
        if (candidates.len() as u32) < b.guarantors {
            p.push(
                format!("societies.villages[{i}].bank_loan.guarantors"),
                format!(
                    "{} guarantors asked, but village `{}` has only {} household borrowers in no other group",
                    b.guarantors,
                    v.village,
                    candidates.len()
                ),
            );
            continue;
        }
        let name = Name::from(group.as_str());
        for &k in &candidates[..b.guarantors as usize] {
            records[k].guarantee_group = Some(name.clone());
        }
        records.push(LoanRecord {
            id: LoanId::from(group.as_str()),
            bank: b.bank.as_str().into(),
            village: v.village.as_str().into(),
            product: b.product.as_str().into(),
            borrower: BorrowerKind::Cooperative,
            industry: b.industry.as_str().into(),
            grade: b.grade.as_str().into(),
            principal: b.principal.fen(),
            rate_ppm: to_ppm(b.rate),
            term_years: b.term_years,
            amortisation: Amortisation::Bullet,
            subsidy_ppm: to_ppm(b.subsidy_rate),
            collateral: CollateralKind::None,
            herd_size: 0,
            collateral_value: Fen::ZERO,
            agricultural_insured: false,
            sum_insured: None,
            credit_insured: false,
            accident_insured: false,
            comp_covered: None,
            guarantee_group: (b.guarantors > 0).then_some(name),
            linked: Box::default(),
            origin: LoanOrigin::Tape { file: format!("societies.villages[{i}].bank_loan").into(), line: None },
        });
    }
}

/// What the books are compiled from: the scenario and the book laid out,
/// with its records (`order[pos]` is the record at book position `pos`).
struct Sources<'a> {
    s: &'a Scenario,
    records: &'a [LoanRecord],
    order: &'a [usize],
    loans: &'a Loans,
    villages: &'a [VillageInfo],
    village_ix: &'a NameMap<'a, usize>,
    /// Products that mutual-aid societies lend.
    society_lent: &'a BTreeSet<&'a str>,
}

/// Builds the books. `order[pos]` is the record at book position `pos`.
/// Guarantee groups come first, since a society's bank loan changes its
/// group's terms, then societies, then links; problems come in that order.
#[allow(clippy::too_many_arguments)]
pub fn compile(
    s: &Scenario,
    records: &[LoanRecord],
    order: &[usize],
    loans: &Loans,
    villages: &[VillageInfo],
    village_ix: &NameMap<'_, usize>,
    society_lent: &BTreeSet<&str>,
    p: &mut Problems,
) -> Books {
    let src = Sources { s, records, order, loans, villages, village_ix, society_lent };
    let mut guarantee = src.guarantee_groups();
    let pos_of = src.positions();
    let societies = src.societies(&pos_of, &mut guarantee, p);
    let linkage = src.linkage(&pos_of, p);
    let extra = (guarantee.is_active() && guarantee.uplift > 0.0) || linkage.is_active() || societies.feeds_back();
    let extra_key = if extra {
        // Each key writes its loan's id out and hashes it: a stressed
        // province's 300,000 are about 5 % of its build's instructions.
        loans.id.par_iter().map(|id| id.with_str(|id| rng::name_key(&["loan", id]))).collect()
    } else {
        Vec::new()
    };
    Books { guarantee, societies, linkage, extra_key }
}

impl Sources<'_> {
    /// Guarantee groups as CSR, numbered by their first member in book order,
    /// each member's capacity its principal's share; empty when guarantees
    /// are off or no loan is in a group.
    fn guarantee_groups(&self) -> GuaranteeBook {
        let (s, records, n) = (self.s, self.records, self.order.len());
        let mut guarantee = GuaranteeBook { group_of: vec![NO_GROUP; n], ..Default::default() };
        if !(s.guarantee.enabled && records.iter().any(|r| r.guarantee_group.is_some())) {
            return guarantee;
        }
        let mut ids: NameMap<'_, u32> = NameMap::default();
        let mut members: Vec<Vec<u32>> = Vec::new();
        for (pos, &ri) in self.order.iter().enumerate() {
            if let Some(g) = &records[ri].guarantee_group {
                let next = ids.len() as u32;
                let gi = *ids.entry(&**g).or_insert(next);
                if gi == next {
                    members.push(Vec::new());
                }
                members[gi as usize].push(pos as u32);
                guarantee.group_of[pos] = gi;
            }
        }
        guarantee.only = vec![ONLY_NONE; members.len()];
        guarantee.start.push(0);
        for m in &members {
            guarantee.members.extend_from_slice(m);
            guarantee.start.push(guarantee.members.len() as u32);
        }
        let share = to_ppm(s.guarantee.capacity_share);
        guarantee.capacity = (0..n)
            .map(|i| if guarantee.group_of[i] == NO_GROUP { Fen::ZERO } else { self.loans.principal[i].mul_ppm(share) })
            .collect();
        guarantee.uplift = s.guarantee.uplift;
        guarantee
    }

    /// Positions of loans by id, for the society bank loans and the linkage;
    /// empty when neither needs them.
    fn positions(&self) -> IdMap<'_> {
        let records = self.records;
        // Only a society's bank loan and a linked household are looked up by
        // id; a province's map of 300,000 ids is not built for nothing.
        let so = &self.s.societies;
        let needs_ids = (so.enabled && so.villages.iter().any(|v| v.bank_loan.is_some()))
            || records.iter().any(|r| !r.linked.is_empty());
        if !needs_ids {
            return IdMap::default();
        }
        self.loans.id.iter().enumerate().map(|(pos, id)| (id, pos as u32)).collect()
    }

    /// Societies: every village (capital_per_village), every village where
    /// societies lend (lending_ratio), or the ones listed; the lender of each
    /// loan they lend. A society's bank loan is guaranteed by its members;
    /// they do not guarantee one another, and it guarantees none of them.
    fn societies(&self, pos_of: &IdMap<'_>, guarantee: &mut GuaranteeBook, p: &mut Problems) -> SocietyBook {
        let (records, order, villages) = (self.records, self.order, self.villages);
        let mut societies = SocietyBook { lender_of: vec![NO_SOCIETY; order.len()], ..Default::default() };
        let so = &self.s.societies;
        if !so.enabled {
            return societies;
        }
        let listed: BTreeMap<&str, &SocietySpec> = so.villages.iter().map(|v| (&*v.village, v)).collect();
        let mut lent = vec![Fen::ZERO; villages.len()];
        for r in records.iter().filter(|r| self.society_lent.contains(&*r.product)) {
            lent[self.village_ix[&*r.village]] += r.principal;
        }
        let mut society_of_village = vec![NO_SOCIETY; villages.len()];
        for (vi, v) in villages.iter().enumerate() {
            let spec = listed.get(v.id.as_str());
            let by_ratio = so.lending_ratio.map(|r| Fen((lent[vi].0 as f64 / r).ceil() as i64));
            let Some(capital) =
                spec.and_then(|x| x.capital).map(|y| y.fen()).or(so.capital_per_village.map(|y| y.fen())).or(by_ratio)
            else {
                continue;
            };
            if capital <= Fen::ZERO {
                if spec.is_some() {
                    p.push(
                        format!("societies.villages.{}", v.id),
                        "the society has no capital: give `capital` (nothing is lent there to derive it from)",
                    );
                }
                continue;
            }
            if lent[vi] > capital {
                p.push(
                    "societies",
                    format!(
                        "the society in village `{}` lends CNY {} of loans, more than its capital of CNY {}; raise the capital or use societies.lending_ratio",
                        v.id, lent[vi], capital
                    ),
                );
            }
            society_of_village[vi] = societies.village.len() as u32;
            societies.village.push(vi as u32);
            societies.capital.push(capital);
            societies.impaired_below.push(capital.mul_ppm(to_ppm(so.impaired_below)));
            let loan = spec
                .and_then(|x| x.bank_loan.as_ref())
                .and_then(|_| pos_of.get(&LoanId::from(format!("society-{}", v.id))).copied());
            societies.bank_loan.push(loan.unwrap_or(NO_LOAN));
            societies.sensitivity.push(spec.and_then(|x| x.bank_loan.as_ref()).map_or(0.0, |b| b.sensitivity));
        }
        for (pos, &ri) in order.iter().enumerate() {
            if self.society_lent.contains(&*records[ri].product) {
                societies.lender_of[pos] = society_of_village[self.village_ix[&*records[ri].village]];
            }
        }
        societies.from_budget = so.from_budget;
        for &l in societies.bank_loan.iter().filter(|&&l| l != NO_LOAN) {
            if let Some(c) = guarantee.capacity.get_mut(l as usize) {
                *c = Fen::ZERO;
            }
            if let Some(&g) = guarantee.group_of.get(l as usize).filter(|&&g| g != NO_GROUP) {
                guarantee.only[g as usize] = l;
            }
        }
        societies
    }

    /// Benefit linkage: each firm's linked households as CSR. Links are
    /// checked even when linkage is off: only their effect is switched off.
    fn linkage(&self, pos_of: &IdMap<'_>, p: &mut Problems) -> LinkageBook {
        // A problem with a loan, pointed at its tape row or its cohort.
        let complain = |p: &mut Problems, r: &LoanRecord, msg: String| match &r.origin {
            LoanOrigin::Tape { file, line } => {
                p.push_at(file, *line, &format!("loan {}: linked_households", r.id), msg)
            }
            LoanOrigin::Cohort(c) => p.push(format!("portfolio.cohorts[{c}]: loan {}: linked_households", r.id), msg),
        };
        let mut linkage = LinkageBook::default();
        if self.records.iter().any(|r| !r.linked.is_empty()) {
            linkage.start.push(0);
            // Marks the households of the loan at hand, cleared after it.
            let mut seen = vec![false; self.order.len()];
            for &ri in self.order {
                let r = &self.records[ri];
                let from = linkage.linked.len();
                for h in &r.linked {
                    match pos_of.get(h) {
                        Some(&j) if self.loans.kind[j as usize] == BorrowerKind::Household => {
                            if !std::mem::replace(&mut seen[j as usize], true) {
                                linkage.linked.push(j);
                            } else {
                                complain(p, r, format!("household `{h}` is named twice"));
                            }
                        }
                        Some(_) => {
                            complain(p, r, format!("`{h}` is not a household's loan; only households are linked"))
                        }
                        None => complain(p, r, format!("no loan has id `{h}`")),
                    }
                }
                for &j in &linkage.linked[from..] {
                    seen[j as usize] = false;
                }
                if !r.linked.is_empty() && r.borrower == BorrowerKind::Household {
                    complain(p, r, "only firms and cooperatives have linked households".into());
                }
                linkage.start.push(linkage.linked.len() as u32);
            }
        }
        if !self.s.linkage.enabled {
            return LinkageBook::default();
        }
        linkage.damage = self.s.linkage.damage;
        linkage
    }
}
