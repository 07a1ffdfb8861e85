//! The waterfall on hand-made cases, to the fen, and its properties:
//! conservation, and the monotonicity docs/model.md section 6 asks for.

use proptest::prelude::*;
use riskshare::model::NO_ACCOUNT;
use riskshare::model::guarantee::{GuaranteeBook, NO_GROUP, ONLY_NONE};
use riskshare::money::Fen;
use riskshare::sim::guarantee::Ledger;
use riskshare::sim::waterfall::{Claim, Scratch, guarantee, secure, settle};

fn claim(loan: u32, village: u32, account: u32, exposure: i64) -> Claim {
    Claim { loan, village, account, village_covered: true, exposure: Fen(exposure), ..Default::default() }
}

/// The whole waterfall without guarantee groups: layers 1-3, then the funds.
fn settle_all(claims: &mut [Claim], village: &mut [Fen], accounts: &mut [Fen], gov_ppm: u32, s: &mut Scratch) {
    claims.iter_mut().for_each(secure);
    guarantee(claims, &GuaranteeBook::default(), |_, _| false, &mut Ledger::default());
    settle(claims, village, accounts, gov_ppm, s);
}

/// One peer group of loans `0..capacity.len()` with the given capacities.
fn one_group(capacity: &[i64]) -> GuaranteeBook {
    let n = capacity.len() as u32;
    GuaranteeBook {
        group_of: vec![0; n as usize],
        start: vec![0, n],
        members: (0..n).collect(),
        capacity: capacity.iter().map(|&c| Fen(c)).collect(),
        only: vec![ONLY_NONE],
        uplift: 0.0,
    }
}

fn run(claims: &mut [Claim], village: &mut [Fen], accounts: &mut [Fen], gov_ppm: u32) -> Scratch {
    let mut s = Scratch::default();
    settle_all(claims, village, accounts, gov_ppm, &mut s);
    for c in claims.iter() {
        assert_eq!(c.accounted(), c.exposure, "conservation for loan {}", c.loan);
    }
    s
}

#[test]
fn village_fund_short_pays_pro_rata() {
    // Three defaults in one village owe 100, 200 and 300 yuan; the fund holds 300.
    let mut cs =
        vec![claim(0, 0, NO_ACCOUNT, 10_000), claim(1, 0, NO_ACCOUNT, 20_000), claim(2, 0, NO_ACCOUNT, 30_000)];
    let mut vb = vec![Fen(30_000)];
    let s = run(&mut cs, &mut vb, &mut [], 600_000);
    assert_eq!(cs.iter().map(|c| c.village_fund).collect::<Vec<_>>(), vec![Fen(5_000), Fen(10_000), Fen(15_000)]);
    assert_eq!(cs.iter().map(|c| c.bank_loss).collect::<Vec<_>>(), vec![Fen(5_000), Fen(10_000), Fen(15_000)]);
    assert_eq!(vb[0], Fen(0));
    assert_eq!(s.villages.exhausted, vec![0]);
}

#[test]
fn village_fund_pro_rata_odd_fen_goes_by_loan_not_order() {
    // 100 fen over three equal claims: 34, 33, 33, the extra fen to the smallest loan index.
    let mk = || vec![claim(7, 0, NO_ACCOUNT, 500), claim(3, 0, NO_ACCOUNT, 500), claim(5, 0, NO_ACCOUNT, 500)];
    let mut a = mk();
    run(&mut a, &mut [Fen(100)], &mut [], 600_000);
    let mut b = mk();
    b.reverse();
    run(&mut b, &mut [Fen(100)], &mut [], 600_000);
    let by_loan = |cs: &[Claim]| {
        let mut v: Vec<(u32, Fen)> = cs.iter().map(|c| (c.loan, c.village_fund)).collect();
        v.sort();
        v
    };
    assert_eq!(by_loan(&a), vec![(3, Fen(34)), (5, Fen(33)), (7, Fen(33))]);
    assert_eq!(by_loan(&a), by_loan(&b));
}

#[test]
fn compensation_fund_short_leaves_a_shortfall() {
    // Village fund empty; two covered loans owe 10,000 and 30,000 yuan; 60 % is
    // 6,000 + 18,000 = 24,000 against an account of 12,000: paid half each.
    let mut cs = vec![claim(0, 0, 0, 1_000_000), claim(1, 1, 0, 3_000_000)];
    let mut vb = vec![Fen(0), Fen(0)];
    let mut ab = vec![Fen(1_200_000)];
    let s = run(&mut cs, &mut vb, &mut ab, 600_000);
    assert_eq!((cs[0].comp_fund, cs[0].shortfall, cs[0].bank_loss), (Fen(300_000), Fen(300_000), Fen(400_000)));
    assert_eq!((cs[1].comp_fund, cs[1].shortfall, cs[1].bank_loss), (Fen(900_000), Fen(900_000), Fen(1_200_000)));
    assert_eq!(ab[0], Fen(0));
    assert_eq!(s.accounts.exhausted, vec![0]);
    assert_eq!(s.villages.exhausted, vec![0, 1]);
}

#[test]
fn odd_fen_in_the_six_four_split() {
    // 1.01 yuan left: the government's 60.6 fen rounds to 61, the bank keeps 40.
    let mut cs = vec![claim(0, 0, 0, 101)];
    cs[0].village_covered = false;
    let mut ab = vec![Fen(1_000)];
    run(&mut cs, &mut [Fen(0)], &mut ab, 600_000);
    assert_eq!((cs[0].comp_fund, cs[0].bank_loss), (Fen(61), Fen(40)));
    // 7:3 and an odd 1 fen: 0.7 rounds to the government.
    let mut cs = vec![claim(0, 0, 0, 1)];
    cs[0].village_covered = false;
    run(&mut cs, &mut [Fen(0)], &mut [Fen(10)], 700_000);
    assert_eq!((cs[0].comp_fund, cs[0].bank_loss), (Fen(1), Fen(0)));
}

#[test]
fn uncovered_loans_fall_to_the_bank() {
    let mut cs = vec![claim(0, 0, NO_ACCOUNT, 50_000)];
    cs[0].village_covered = false;
    run(&mut cs, &mut [Fen(1_000_000)], &mut [], 600_000);
    assert_eq!(cs[0].bank_loss, Fen(50_000));
}

#[test]
fn insurance_pays_first_and_the_excess_goes_home() {
    // Exposure 45,000; collateral 5,000; accident benefit 31,000 and credit cover 22,500.
    let mut c = claim(0, 0, 0, 4_500_000);
    c.collateral_value = Fen(500_000);
    c.claims = [Fen(0), Fen(3_100_000), Fen(2_250_000)];
    let mut cs = vec![c];
    run(&mut cs, &mut [Fen(0)], &mut [Fen(0)], 600_000);
    let c = &cs[0];
    assert_eq!(c.insurance_paid, [Fen(0), Fen(3_100_000), Fen(900_000)]);
    assert_eq!(c.insurance_excess, Fen(1_350_000));
    assert_eq!(c.bank_loss, Fen(0));
}

fn arb_claims() -> impl Strategy<Value = Vec<Claim>> {
    prop::collection::vec((0u32..4, 0u32..3, 1i64..5_000_000, 0i64..2_000_000, 0i64..2_000_000, any::<bool>()), 1..30)
        .prop_map(|v| {
            v.into_iter()
                .enumerate()
                .map(|(i, (village, account, exposure, coll, ins, covered))| Claim {
                    loan: i as u32,
                    village,
                    account: if account == 2 { NO_ACCOUNT } else { account },
                    village_covered: covered,
                    exposure: Fen(exposure),
                    collateral_value: Fen(coll),
                    claims: [Fen(ins / 2), Fen(0), Fen(ins / 3)],
                    ..Default::default()
                })
                .collect()
        })
}

fn totals(cs: &[Claim]) -> (Fen, Fen, Fen) {
    (
        cs.iter().map(|c| c.comp_fund).sum(),
        cs.iter().map(|c| c.shortfall).sum(),
        cs.iter().map(|c| c.village_fund).sum(),
    )
}

proptest! {
    #[test]
    fn money_is_conserved(mut cs in arb_claims(), vb in prop::collection::vec(0i64..3_000_000, 4),
                          ab in prop::collection::vec(0i64..3_000_000, 2), gov in 0u32..=1_000_000) {
        let mut vb: Vec<Fen> = vb.into_iter().map(Fen).collect();
        let mut ab: Vec<Fen> = ab.into_iter().map(Fen).collect();
        let before: Fen = vb.iter().copied().sum::<Fen>() + ab.iter().copied().sum::<Fen>();
        let mut s = Scratch::default();
        settle_all(&mut cs, &mut vb, &mut ab, gov, &mut s);
        for c in &cs {
            prop_assert_eq!(c.accounted(), c.exposure);
            prop_assert!(c.collateral.0 >= 0 && c.village_fund.0 >= 0 && c.comp_fund.0 >= 0 && c.shortfall.0 >= 0 && c.bank_loss.0 >= 0);
        }
        // What left the funds is exactly what they paid.
        let after: Fen = vb.iter().copied().sum::<Fen>() + ab.iter().copied().sum::<Fen>();
        let (comp, _, village) = totals(&cs);
        prop_assert_eq!(before - after, comp + village);
    }

    #[test]
    fn a_bigger_fund_never_raises_the_shortfall(cs in arb_claims(), ab in prop::collection::vec(0i64..3_000_000, 2),
                                                extra in 0i64..3_000_000) {
        let vb = vec![Fen(0); 4];
        let mut small = cs.clone();
        let mut big = cs;
        let mut ab_small: Vec<Fen> = ab.iter().map(|&x| Fen(x)).collect();
        let mut ab_big: Vec<Fen> = ab.iter().map(|&x| Fen(x + extra)).collect();
        settle_all(&mut small, &mut vb.clone(), &mut ab_small, 600_000, &mut Scratch::default());
        settle_all(&mut big, &mut vb.clone(), &mut ab_big, 600_000, &mut Scratch::default());
        prop_assert!(totals(&big).1 <= totals(&small).1);
    }

    #[test]
    fn a_bigger_village_fund_never_raises_the_compensation_draw(cs in arb_claims(),
            vb in prop::collection::vec(0i64..3_000_000, 4), extra in 0i64..3_000_000) {
        let ab = vec![Fen(10_000_000_000); 2];
        let mut small = cs.clone();
        let mut big = cs;
        let mut vb_small: Vec<Fen> = vb.iter().map(|&x| Fen(x)).collect();
        let mut vb_big: Vec<Fen> = vb.iter().map(|&x| Fen(x + extra)).collect();
        settle_all(&mut small, &mut vb_small, &mut ab.clone(), 600_000, &mut Scratch::default());
        settle_all(&mut big, &mut vb_big, &mut ab.clone(), 600_000, &mut Scratch::default());
        // Rounding each loan's 6:4 split can move a fen per claim.
        prop_assert!(totals(&big).0 <= totals(&small).0 + Fen(small.len() as i64));
    }
}

#[test]
fn the_guarantee_sits_between_insurance_and_the_village_fund() {
    // 1,000 yuan exposure: 100 collateral, 200 insurance, 300 from the group
    // (loan 1, still repaying, can give 300), 150 of the village fund's 150,
    // and 250 split 6:4.
    let mut c = claim(0, 0, 0, 100_000);
    c.collateral_value = Fen(10_000);
    c.claims = [Fen(20_000), Fen(0), Fen(0)];
    let mut cs = vec![c];
    let (mut vb, mut ab) = (vec![Fen(15_000)], vec![Fen(1_000_000)]);
    let book = one_group(&[0, 30_000]);
    let mut groups = Ledger::new(&book, 2);
    cs.iter_mut().for_each(secure);
    guarantee(&mut cs, &book, |m, _| m == 1, &mut groups);
    settle(&mut cs, &mut vb, &mut ab, 600_000, &mut Scratch::default());
    let c = &cs[0];
    assert_eq!(c.accounted(), c.exposure);
    assert_eq!(groups.paid(), [(1, Fen(30_000))]);
    assert_eq!(
        (c.collateral, c.insurance(), c.guarantee, c.village_fund),
        (Fen(10_000), Fen(20_000), Fen(30_000), Fen(15_000))
    );
    assert_eq!((c.comp_fund, c.bank_loss, c.society_loss), (Fen(15_000), Fen(10_000), Fen(0)));
}

#[test]
fn a_society_loan_leaves_the_rest_to_the_society_never_to_a_bank() {
    // A 10,000-yuan mutual-aid loan (no compensation account): 2,000 from
    // accident insurance, 1,000 from its group (loan 2, still repaying); two
    // such loans in a village whose fund holds 5,000 share it 1:1; the
    // society bears the rest.
    let mut a = claim(0, 0, NO_ACCOUNT, 1_000_000);
    a.claims = [Fen(0), Fen(200_000), Fen(0)];
    a.society = 3;
    let mut b = claim(1, 0, NO_ACCOUNT, 700_000);
    b.society = 3;
    let mut cs = vec![a, b];
    let mut vb = vec![Fen(500_000)];
    let mut book = one_group(&[0, 0, 100_000]);
    book.group_of[1] = NO_GROUP;
    book.members = vec![0, 2];
    book.start = vec![0, 2];
    cs.iter_mut().for_each(secure);
    guarantee(&mut cs, &book, |m, _| m == 2, &mut Ledger::new(&book, 3));
    settle(&mut cs, &mut vb, &mut [], 600_000, &mut Scratch::default());
    assert!(cs.iter().all(|c| c.accounted() == c.exposure));
    assert_eq!(cs.iter().map(|c| c.guarantee).collect::<Vec<_>>(), vec![Fen(100_000), Fen(0)]);
    // Owed to the village fund: 7,000 and 7,000; it pays 2,500 each.
    assert_eq!(cs.iter().map(|c| c.village_fund).collect::<Vec<_>>(), vec![Fen(250_000), Fen(250_000)]);
    assert_eq!(cs.iter().map(|c| c.society_loss).collect::<Vec<_>>(), vec![Fen(450_000), Fen(450_000)]);
    assert!(cs.iter().all(|c| c.bank_loss == Fen(0) && c.comp_fund == Fen(0) && c.shortfall == Fen(0)));
}
