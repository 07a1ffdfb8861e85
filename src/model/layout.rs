//! The book laid out for the trial loop: default classes, loans as
//! struct-of-arrays in bucket order, the buckets with each year's alive
//! prefix, and the per-loan record a default reads. Part of
//! [`crate::model::Model::build`]; the order is the module doc's of
//! [`crate::model`].

use std::collections::BTreeSet;

use rayon::prelude::*;

use crate::model::book::Refs;
use crate::model::portfolio::LoanRecord;
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
    // where one has no integer (a tape's id), every tie is broken by the ids.
    let by_text = refs.iter().any(|x| x.id_key.is_none());
    let mut keyed: Vec<(u128, u64, u32)> =
        (0..records.len()).map(|i| (key_of(i), refs[i].id_key.unwrap_or(0), i as u32)).collect();
    // Ids are unique (the build has stopped otherwise), so the order is total
    // and sorting on two threads gives the one order there is.
    if by_text {
        keyed.par_sort_unstable_by(|a, b| {
            a.0.cmp(&b.0).then_with(|| records[a.2 as usize].id.cmp(&records[b.2 as usize].id))
        });
    } else {
        keyed.par_sort_unstable_by_key(|&(key, id, _)| (key, id));
    }
    keyed.into_iter().map(|(_, _, i)| i as usize).collect()
}

/// The loans' columns in book order, except the per-year tables and the
/// compensation account, which later steps fill. Also returns, in book
/// order, whether the compensation fund covers each loan: a society's loans
/// never reach a bank's account, and a tape may say per loan.
pub(super) fn columns(
    s: &Scenario,
    records: &[LoanRecord],
    refs: &[Refs],
    class_of: &[usize],
    order: &[usize],
    villages: &[VillageInfo],
    society_lent: &BTreeSet<&str>,
) -> (Loans, Vec<bool>) {
    // Which products each fund covers, by product index.
    let covers = |list: &Vec<String>| -> Vec<bool> {
        s.products.iter().map(|pr| list.is_empty() || list.contains(&pr.id)).collect()
    };
    let (comp_covers, village_covers) = (covers(&s.funds.compensation.covers), covers(&s.funds.village.covers));
    let society_lends: Vec<bool> = s.products.iter().map(|pr| society_lent.contains(pr.id.as_str())).collect();
    let comp = &s.funds.compensation;
    let agri = &s.insurance.agricultural;
    let n = records.len();
    // Each column sized once: grown push by push, a province's columns were
    // copied and faulted in several times over.
    let mut loans = Loans {
        n,
        id: Vec::with_capacity(n),
        village: Vec::with_capacity(n),
        county: Vec::with_capacity(n),
        bank: Vec::with_capacity(n),
        product: Vec::with_capacity(n),
        industry: Vec::with_capacity(n),
        grade: Vec::with_capacity(n),
        class: Vec::with_capacity(n),
        kind: Vec::with_capacity(n),
        principal: Vec::with_capacity(n),
        term: Vec::with_capacity(n),
        village_covered: Vec::with_capacity(n),
        collateral: Vec::with_capacity(n),
        collateral_value: Vec::with_capacity(n),
        agri_sum_insured: Vec::with_capacity(n),
        credit_insured: Vec::with_capacity(n),
        accident_insured: Vec::with_capacity(n),
        ..Default::default()
    };
    let mut comp_covered = Vec::with_capacity(n);
    for &ri in order {
        let (r, x) = (&records[ri], &refs[ri]);
        comp_covered
            .push(comp.enabled && !society_lends[x.product] && r.comp_covered.unwrap_or(comp_covers[x.product]));
        loans.id.push(r.id.clone());
        loans.village.push(x.village as u32);
        loans.county.push(villages[x.village].county);
        loans.bank.push(x.bank as u32);
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
    }
    (loans, comp_covered)
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
