//! The book laid out for the trial loop: default classes, loans as
//! struct-of-arrays in bucket order, the buckets with each year's alive
//! prefix, and the per-loan record a default reads. Part of
//! [`crate::model::Model::build`]; the order is the module doc's of
//! [`crate::model`].

use std::collections::BTreeSet;

use rayon::prelude::*;

use crate::model::book::Refs;
use crate::model::portfolio::{CollateralKind, LoanId, LoanRecord};
use crate::model::{AtDefault, Bucket, Class, Loans, VillageInfo};
use crate::money::{Fen, to_ppm};
use crate::rng::inv_phi;
use crate::scenario::schema::*;

/// The (grade, product) pairs the book uses, numbered in key order so that
/// ids do not depend on record order, with each record's class. A class's
/// pd is its grade's times its product's multiplier, stressed where the
/// scenario says.
pub(super) fn classes(s: &Scenario, refs: &[Refs]) -> (Vec<Class>, Vec<usize>) {
    // Which pairs are used, in a table of every (grade, product): looked up
    // once per loan, a map of pairs was a few per cent of a province's build.
    let np = s.products.len();
    let mut used = vec![false; s.grades.len() * np];
    for x in refs {
        used[x.grade * np + x.product] = true;
    }
    // Numbered in (grade, product) order.
    let mut class_ix = vec![usize::MAX; used.len()];
    let mut classes = Vec::new();
    for k in (0..used.len()).filter(|&k| used[k]) {
        let (g, pr) = (k / np, k % np);
        class_ix[k] = classes.len();
        let mut pd = s.grades[g].pd * s.products[pr].pd_multiplier;
        if let Some(k) = s.stress.pd_multiplier {
            // A stressed pd stays a probability.
            pd = (pd * k).min(0.999);
        }
        classes.push(Class { grade: g as u16, product: pr as u16, pd, threshold: inv_phi(pd) });
    }
    // Looked up once per loan: the sort below reads it per comparison.
    let class_of = refs.iter().map(|x| class_ix[x.grade * np + x.product]).collect();
    (classes, class_of)
}

/// The book order: `order[pos]` is the record at position `pos`, sorted by
/// bucket (county, class, industry), then term (longest first), village and
/// id, so a bucket's loans alive in year t are a prefix of it and the order
/// never depends on a tape's.
pub(super) fn book_order(
    records: &[LoanRecord],
    refs: &[Refs],
    class_of: &[usize],
    villages: &[VillageInfo],
) -> Vec<usize> {
    // The keys but the id packed in one integer, computed once per loan:
    // looking them up per comparison (string maps of 17,600 villages) made
    // this sort most of a province's build. County, class and industry take
    // 32 bits each, the term (at most 30 years) 8 and the village (at most a
    // million) 24.
    let key_of = |i: usize| {
        let x = &refs[i];
        let county = u128::from(villages[x.village].county);
        county << 96
            | (class_of[i] as u128) << 64
            | (x.industry as u128) << 32
            | u128::from(255 - x.term.min(255)) << 24
            | x.village as u128
    };
    // Generated ids order as integers ([`crate::model::loan_id::CohortRanks`]);
    // where one has no integer (a tape's id), every tie is broken by the ids'
    // text, its first 16 bytes first, as an integer beside the key: a
    // village's loans then compare in the sort's own array, and the ids'
    // text, scattered over the records, is read only for the ids that share
    // those bytes. Ids are unique (the build has stopped otherwise), so the
    // order is total and sorting on two threads gives the one order there is.
    if refs.iter().any(|x| x.id_key.is_none()) {
        let mut keyed: Vec<(u128, u128, u32)> =
            records.par_iter().enumerate().map(|(i, r)| (key_of(i), text_prefix(&r.id), i as u32)).collect();
        keyed.par_sort_unstable_by(|a, b| {
            (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| records[a.2 as usize].id.cmp(&records[b.2 as usize].id))
        });
        keyed.into_iter().map(|(_, _, i)| i as usize).collect()
    } else {
        let mut keyed: Vec<(u128, u64, u32)> =
            (0..records.len()).map(|i| (key_of(i), refs[i].id_key.unwrap_or(0), i as u32)).collect();
        keyed.par_sort_unstable_by_key(|&(key, id, _)| (key, id));
        keyed.into_iter().map(|(_, _, i)| i as usize).collect()
    }
}

/// The first 16 bytes of an id's text as a big-endian integer, zero-padded:
/// two ids whose prefixes differ order as these integers do (a shorter id
/// that begins another is padded with zeros, and no byte of the longer one
/// is below zero).
fn text_prefix(id: &LoanId) -> u128 {
    id.with_str(|s| {
        let mut b = [0u8; 16];
        let n = s.len().min(16);
        b[..n].copy_from_slice(&s.as_bytes()[..n]);
        u128::from_be_bytes(b)
    })
}

/// What the per-year tables read of each loan besides its columns, in book
/// order: read here with the rest of its record, they are then read in
/// order rather than at random.
pub(super) struct Terms {
    pub rate_ppm: Vec<u32>,
    pub subsidy_ppm: Vec<u32>,
    pub amortisation: Vec<Amortisation>,
}

/// The loans' columns in book order, except the per-year tables and the
/// compensation account, which later steps fill. Also returns, in book
/// order, whether the compensation fund covers each loan (a society's loans
/// never reach a bank's account, and a tape may say per loan), and the
/// loans' [`Terms`].
pub(super) fn columns(
    s: &Scenario,
    records: &[LoanRecord],
    refs: &[Refs],
    class_of: &[usize],
    order: &[usize],
    villages: &[VillageInfo],
    society_lent: &BTreeSet<&str>,
) -> (Loans, Vec<bool>, Terms) {
    // Which products each fund covers, by product index.
    let covers = |list: &Vec<String>| -> Vec<bool> {
        s.products.iter().map(|pr| list.is_empty() || list.contains(&pr.id)).collect()
    };
    let (comp_covers, village_covers) = (covers(&s.funds.compensation.covers), covers(&s.funds.village.covers));
    let society_lends: Vec<bool> = s.products.iter().map(|pr| society_lent.contains(pr.id.as_str())).collect();
    let src = Sources {
        s,
        records,
        refs,
        class_of,
        order,
        villages,
        comp_covers: &comp_covers,
        village_covers: &village_covers,
        society_lends: &society_lends,
    };
    let n = records.len();
    // Each column sized once (grown push by push, a province's columns were
    // copied and faulted in several times over), then filled part by part
    // on every thread: each position is written from its record alone, so
    // the columns are the same on any number of threads.
    let filled = |x| {
        let mut v = Vec::with_capacity(n);
        v.par_extend(rayon::iter::repeat_n(x, n));
        v
    };
    let mut loans = Loans {
        n,
        id: Vec::with_capacity(n),
        village: vec![0; n],
        county: vec![0; n],
        bank: vec![0; n],
        product: vec![0; n],
        industry: vec![0; n],
        grade: vec![0; n],
        class: vec![0; n],
        kind: Vec::with_capacity(n),
        principal: filled(Fen::ZERO),
        term: vec![0; n],
        village_covered: vec![false; n],
        collateral: Vec::with_capacity(n),
        collateral_value: filled(Fen::ZERO),
        agri_sum_insured: filled(Fen::ZERO),
        credit_insured: vec![false; n],
        accident_insured: vec![false; n],
        ..Default::default()
    };
    loans.id.par_extend(rayon::iter::repeat_n(LoanId::cohort(0, 0), n));
    loans.kind.par_extend(rayon::iter::repeat_n(BorrowerKind::Household, n));
    loans.collateral.par_extend(rayon::iter::repeat_n(CollateralKind::None, n));
    let mut comp_covered = vec![false; n];
    let mut terms = Terms { rate_ppm: vec![0; n], subsidy_ppm: vec![0; n], amortisation: Vec::with_capacity(n) };
    terms.amortisation.par_extend(rayon::iter::repeat_n(Amortisation::Bullet, n));
    let part = Part {
        comp_covered: &mut comp_covered,
        rate_ppm: &mut terms.rate_ppm,
        subsidy_ppm: &mut terms.subsidy_ppm,
        amortisation: &mut terms.amortisation,
        id: &mut loans.id,
        village: &mut loans.village,
        county: &mut loans.county,
        bank: &mut loans.bank,
        product: &mut loans.product,
        industry: &mut loans.industry,
        grade: &mut loans.grade,
        class: &mut loans.class,
        kind: &mut loans.kind,
        principal: &mut loans.principal,
        term: &mut loans.term,
        village_covered: &mut loans.village_covered,
        collateral: &mut loans.collateral,
        collateral_value: &mut loans.collateral_value,
        agri_sum_insured: &mut loans.agri_sum_insured,
        credit_insured: &mut loans.credit_insured,
        accident_insured: &mut loans.accident_insured,
    };
    src.fill(part, 0);
    (loans, comp_covered, terms)
}

/// What [`columns`] reads.
struct Sources<'a> {
    s: &'a Scenario,
    records: &'a [LoanRecord],
    refs: &'a [Refs],
    class_of: &'a [usize],
    order: &'a [usize],
    villages: &'a [VillageInfo],
    /// By product: whether the compensation fund and the village fund cover
    /// it, and whether societies lend it.
    comp_covers: &'a [bool],
    village_covers: &'a [bool],
    society_lends: &'a [bool],
}

/// Positions `start..start + len` of the columns (and of whether the
/// compensation fund covers each loan), to be filled.
macro_rules! part {
    ($($field:ident: $t:ty),* $(,)?) => {
        struct Part<'a> {
            $($field: &'a mut [$t]),*
        }

        impl<'a> Part<'a> {
            fn len(&self) -> usize {
                self.comp_covered.len()
            }

            fn split_at(self, mid: usize) -> (Part<'a>, Part<'a>) {
                $(let $field = self.$field.split_at_mut(mid);)*
                (Part { $($field: $field.0),* }, Part { $($field: $field.1),* })
            }
        }
    };
}

part!(
    comp_covered: bool,
    rate_ppm: u32,
    subsidy_ppm: u32,
    amortisation: Amortisation,
    id: LoanId,
    village: u32,
    county: u32,
    bank: u32,
    product: u16,
    industry: u16,
    grade: u16,
    class: u16,
    kind: BorrowerKind,
    principal: Fen,
    term: u8,
    village_covered: bool,
    collateral: CollateralKind,
    collateral_value: Fen,
    agri_sum_insured: Fen,
    credit_insured: bool,
    accident_insured: bool,
);

impl Sources<'_> {
    /// Fills `part`, positions `start..` of the book, halving it onto
    /// rayon's threads down to parts of at most 16,384 loans: reading each
    /// loan's record, at random in the book, was a third of a province's
    /// build on one thread.
    fn fill(&self, part: Part, start: usize) {
        const PART: usize = 16_384;
        if part.len() > PART {
            let mid = part.len() / 2;
            let (a, b) = part.split_at(mid);
            rayon::join(|| self.fill(a, start), || self.fill(b, start + mid));
            return;
        }
        let (s, comp, agri) = (self.s, &self.s.funds.compensation, &self.s.insurance.agricultural);
        for k in 0..part.len() {
            let ri = self.order[start + k];
            let (r, x) = (&self.records[ri], &self.refs[ri]);
            part.comp_covered[k] =
                comp.enabled && !self.society_lends[x.product] && r.comp_covered.unwrap_or(self.comp_covers[x.product]);
            part.id[k] = r.id.clone();
            part.village[k] = x.village as u32;
            part.county[k] = self.villages[x.village].county;
            part.bank[k] = x.bank as u32;
            part.product[k] = x.product as u16;
            part.industry[k] = x.industry as u16;
            part.grade[k] = x.grade as u16;
            part.class[k] = self.class_of[ri] as u16;
            part.kind[k] = r.borrower;
            part.principal[k] = r.principal;
            part.term[k] = r.term_years as u8;
            part.village_covered[k] = s.funds.village.enabled && self.village_covers[x.product];
            part.collateral[k] = r.collateral;
            part.collateral_value[k] = r.collateral_value;
            part.agri_sum_insured[k] = if r.agricultural_insured {
                r.sum_insured.unwrap_or_else(|| r.principal.mul_ppm(to_ppm(agri.coverage)))
            } else {
                Fen::ZERO
            };
            part.credit_insured[k] = r.credit_insured;
            part.accident_insured[k] = r.accident_insured && r.borrower == BorrowerKind::Household;
            part.rate_ppm[k] = r.rate_ppm;
            part.subsidy_ppm[k] = r.subsidy_ppm;
            part.amortisation[k] = r.amortisation;
        }
    }
}

/// The default buckets, runs of the book with one (county, class, industry),
/// each with the end of its alive prefix in every year.
pub(super) fn buckets(loans: &Loans, horizon: usize) -> Vec<Bucket> {
    let n = loans.n;
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
    buckets
}

/// [`crate::model::Model::bucket_of`]: the bucket of every (county, class,
/// industry), `u32::MAX` where the book has none.
pub(super) fn bucket_index(buckets: &[Bucket], counties: usize, classes: usize, industries: usize) -> Vec<u32> {
    let (nk, ni) = (classes, industries);
    let mut bucket_of = vec![u32::MAX; counties * nk * ni];
    for (b, bk) in buckets.iter().enumerate() {
        bucket_of[(bk.county as usize * nk + bk.class as usize) * ni + bk.industry as usize] = b as u32;
    }
    bucket_of
}

/// Each year's buckets with loans alive, and how many, so the bucket pass
/// reads one dense list.
pub(super) fn live_buckets(buckets: &[Bucket], horizon: usize) -> Vec<Vec<(u32, u32)>> {
    (0..horizon)
        .map(|t| {
            let alive = |b: &Bucket| b.ends[t] - b.start;
            (0..buckets.len() as u32).map(|b| (b, alive(&buckets[b as usize]))).filter(|&(_, n)| n > 0).collect()
        })
        .collect()
}

/// The household loans, which personal shocks strike.
pub(super) fn household_loans(loans: &Loans) -> Vec<u32> {
    (0..loans.n as u32).filter(|&j| loans.kind[j as usize] == BorrowerKind::Household).collect()
}

/// What a default reads, loan by loan ([`AtDefault`]); `lender_of` is empty
/// when the book has no societies.
pub(super) fn at_default(loans: &Loans, lender_of: &[u32]) -> Vec<AtDefault> {
    (0..loans.n).map(|i| AtDefault::of(loans, lender_of, i)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(s: &str) -> LoanId {
        LoanId::from(s)
    }

    #[test]
    fn a_prefix_orders_ids_as_their_text_or_ties() {
        let ids = [
            "",
            "a",
            "ab",
            "ab\0",
            "ab\0c",
            "b",
            "ZL-MC-001-000000",
            "ZL-MC-001-0000001",
            "ZL-MC-001-000001",
            "6217000012345678901",
            "6217000012345678902",
            "621700001234567",
            "c1-000001",
            "c10-000001",
            "旺苍-001",
        ];
        for a in ids {
            for b in ids {
                let (pa, pb) = (text_prefix(&id(a)), text_prefix(&id(b)));
                if pa != pb {
                    assert_eq!(pa.cmp(&pb), a.cmp(b), "{a:?} against {b:?}");
                } else {
                    // A tie leaves the order to the text: only ids sharing their first 16 bytes, or zero bytes, tie.
                    let (x, y) = (a.as_bytes(), b.as_bytes());
                    assert!(x.len().max(y.len()) > 16 || x.contains(&0) || y.contains(&0) || a == b, "{a:?} {b:?}");
                }
            }
        }
    }

    proptest! {
        #[test]
        fn prefixes_never_contradict_the_text(a in "[a-c0\\-]{0,20}", b in "[a-c0\\-]{0,20}") {
            let (pa, pb) = (text_prefix(&id(&a)), text_prefix(&id(&b)));
            prop_assert!(pa == pb || pa.cmp(&pb) == a.cmp(&b));
        }
    }
}
