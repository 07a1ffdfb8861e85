//! The seed's other mechanisms (docs/model.md 3b): joint guarantees,
//! mutual-aid societies, benefit linkage and scorecards, end to end.

use crate::common::{model, simulate};
use riskshare::sim::tables::{Batch, TrialRow};

const MINI: &str = include_str!("../scenarios/mini.yaml");
const HOUSEHOLD_LINE: &str = "      insurance: {agricultural: 0.5, credit: 0.3, accident: 0.9}\n";

/// Mini with `cohort_keys` added to its household cohort, `cohorts` appended
/// after its own (so their streams do not move) and `top` appended.
fn mini(cohort_keys: &str, cohorts: &str, top: &str) -> String {
    let s = MINI.replacen(HOUSEHOLD_LINE, &format!("{HOUSEHOLD_LINE}{cohort_keys}"), 1);
    let s = s.replacen("funds:\n", &format!("{cohorts}funds:\n"), 1);
    format!("{s}\n{top}")
}

fn run(yaml: &str, trials: u64) -> Batch {
    simulate(&model(yaml), 11, trials, 2)
}

fn assert_conserved(b: &Batch) {
    for r in &b.trials {
        assert_eq!(r.flows.exposure, r.flows.accounted(), "trial {}", r.trial);
    }
    for y in &b.years {
        assert_eq!(y.flows.exposure, y.flows.accounted(), "trial {} year {}", y.trial, y.year);
    }
}

fn total(rows: &[TrialRow], f: impl Fn(&TrialRow) -> i64) -> i64 {
    rows.iter().map(f).sum()
}

#[test]
fn mechanisms_off_give_the_previous_results_to_the_fen() {
    let groups = "      guarantee_groups: {min: 10, max: 20}\n";
    // (book without the mechanism, the same book with it switched off).
    let cases = [
        (mini("", "", ""), mini(groups, "", "guarantee: {enabled: false}")),
        (mini("", "", ""), mini(groups, "", "guarantee: {capacity_share: 0.0}")),
        (mini("", &firms(0), ""), mini("", &firms(40), "linkage: {enabled: false}")),
        (mini("", &firms(0), ""), mini("", &firms(40), "linkage: {damage: 0.0}")),
    ];
    for (k, (without, off)) in cases.iter().enumerate() {
        let (a, b) = (run(without, 150), run(off, 150));
        assert!(a.trials == b.trials && a.years == b.years, "case {k}: results differ");
    }
    // And the plain mini scenario is the golden one (tests/it/golden.rs pins it).
    assert!(run(MINI, 150).trials == run(&mini("", "", ""), 150).trials);
}

#[test]
fn guarantees_pay_and_money_is_conserved() {
    let b = run(
        &mini("      guarantee_groups: {min: 10, max: 20}\n", "", "guarantee: {capacity_share: 0.3, uplift: 1.0}"),
        150,
    );
    assert_conserved(&b);
    assert!(total(&b.trials, |r| r.flows.guarantee.0) > 0, "no guarantee was ever paid");
}

#[test]
fn a_larger_guarantee_share_never_raises_the_village_fund_draw() {
    let groups = "      guarantee_groups: {min: 10, max: 20}\n";
    let small = run(&mini(groups, "", "guarantee: {capacity_share: 0.05}"), 200);
    let large = run(&mini(groups, "", "guarantee: {capacity_share: 0.5}"), 200);
    for (s, l) in small.trials.iter().zip(&large.trials) {
        // Same defaults (no uplift), so the same exposure; a pro-rata split may move a fen per claim.
        assert_eq!(s.flows.exposure, l.flows.exposure);
        let slack = s.counts.defaults as i64;
        assert!(l.flows.village_fund.0 <= s.flows.village_fund.0 + slack, "trial {}", s.trial);
        assert!(l.flows.guarantee.0 + slack >= s.flows.guarantee.0, "trial {}", s.trial);
    }
    let (gs, gl) = (total(&small.trials, |r| r.flows.guarantee.0), total(&large.trials, |r| r.flows.guarantee.0));
    assert!(gl > gs, "a larger capacity should pay more in all: {gl} vs {gs}");
}

/// Five firms of grade B, each linked to `n` households.
fn firms(n: u32) -> String {
    format!(
        "    - name: firms
      count: 5
      product: micro
      borrower: enterprise
      banks: {{abc: 1.0}}
      industries: {{tea: 1.0}}
      grades: {{B: 1.0}}
      principal: {{fixed: 50000}}
      rate: 0.05
      term_years: 3
      linked_households: {{min: {n}, max: {n}}}
"
    )
}

#[test]
fn more_linked_households_never_lower_the_exposure() {
    let top = "linkage: {damage: 0.6}";
    let none = run(&mini("", &firms(0), top), 200);
    let some = run(&mini("", &firms(40), top), 200);
    let many = run(&mini("", &firms(200), top), 200);
    for ((a, b), c) in none.trials.iter().zip(&some.trials).zip(&many.trials) {
        // Linkage only adds defaults (or brings them forward, when the
        // outstanding is no smaller), so every future's exposure can only grow.
        assert!(a.flows.exposure <= b.flows.exposure && b.flows.exposure <= c.flows.exposure, "trial {}", a.trial);
    }
    let e = |b: &Batch| total(&b.trials, |r| r.flows.exposure.0);
    assert!(e(&many) > e(&none), "linkage added no exposure");
    assert_eq!(total(&none.trials, |r| r.flows.exposure_linkage.0), 0);
    assert!(total(&many.trials, |r| r.flows.exposure_linkage.0) > 0);
    assert_conserved(&many);
}

/// Mutual-aid loans lent by every village's society.
fn society(top_extra: &str) -> String {
    let product = "  - {id: aid, lender: society, pd_multiplier: 2.0}\n";
    let cohort = "    - name: aid
      count: 600
      product: aid
      borrower: household
      banks: {rcc: 1.0}
      industries: {tea: 0.5, cattle: 0.5}
      grades: {B: 1.0}
      principal: {fixed: 10000}
      rate: 0.06
      term_years: 1
";
    let s = mini("", cohort, &format!("societies: {{capital_per_village: 400000, {top_extra}}}"));
    s.replacen("banks: [{id: rcc}", &format!("{}banks: [{{id: rcc}}", product), 1)
        .replacen(
            "  - {id: pledge, pd_multiplier: 1.2}\n",
            &format!("  - {{id: pledge, pd_multiplier: 1.2}}\n{product}"),
            1,
        )
        .replacen(&format!("{product}banks"), "banks", 1)
}

#[test]
fn societies_bear_their_loans_losses_and_count_as_impaired() {
    let b = run(&society("impaired_below: 1.0"), 200);
    assert_conserved(&b);
    let mut lossy = 0;
    for r in &b.trials {
        // A threshold at the full capital: any loss impairs the society.
        assert_eq!(r.flows.society_loss.0 > 0, r.counts.societies_impaired > 0, "trial {}", r.trial);
        assert!(r.counts.societies_impaired <= 40);
        lossy += (r.flows.society_loss.0 > 0) as u32;
    }
    assert!(lossy > 0, "no society ever lost capital");
    let none = run(&society("impaired_below: 0.0"), 200);
    assert!(none.trials.iter().all(|r| r.counts.societies_impaired == 0));
    // The same futures: only the threshold differs.
    assert_eq!(
        b.trials.iter().map(|r| r.flows).collect::<Vec<_>>(),
        none.trials.iter().map(|r| r.flows).collect::<Vec<_>>()
    );
}

#[test]
fn a_society_loan_never_reaches_a_bank_or_the_compensation_fund() {
    // With the village fund off, an aid loan's loss after insurance is all the society's.
    let yaml = society("impaired_below: 0.9").replacen("  village: {share: 0.04}", "  village: {enabled: false}", 1);
    let with = run(&yaml, 150);
    let m = model(&yaml);
    let aid = m.products.iter().position(|p| p == "aid").unwrap() as u16;
    assert!(
        (0..m.loans.n)
            .filter(|&i| m.loans.product[i] == aid)
            .all(|i| m.loans.account[i] == riskshare::model::NO_ACCOUNT)
    );
    assert!(total(&with.trials, |r| r.flows.society_loss.0) > 0);
    assert_conserved(&with);
}

/// A scorecard of two indicators graded AAA >= 80, A >= 50, B >= 20.
fn scored(w_high: f64, w_low: f64, dists: &str) -> String {
    let card = format!(
        "scorecard:
  name: test card
  indicators: [{{id: high, weight: {w_high}}}, {{id: low, weight: {w_low}}}]
  grades:
    - {{grade: AAA, min_score: 80, credit_line: 20000}}
    - {{grade: A, min_score: 50}}
    - {{grade: B, min_score: 20}}
grades_extra: x
"
    );
    let s = MINI.replacen(
        "grades: [{id: A, pd: 0.01}, {id: B, pd: 0.04}]",
        "grades: [{id: AAA, pd: 0.003}, {id: A, pd: 0.01}, {id: B, pd: 0.04}]",
        1,
    );
    let s = s.replacen("      grades: {A: 0.7, B: 0.3}\n", &format!("      indicators: {dists}\n"), 1);
    let s = s.replacen("      count: 2000\n", "      count: 20000\n", 1);
    format!("{s}\n{}", card.replace("grades_extra: x\n", ""))
}

fn mix(yaml: &str) -> Vec<(String, f64)> {
    let m = model(yaml);
    let g = &m.grade_mix[0];
    let mut v: Vec<(String, f64)> = g.granted.iter().map(|(k, n, _)| (k.clone(), *n as f64 / g.rated as f64)).collect();
    let granted: u32 = g.granted.iter().map(|x| x.1).sum();
    v.push(("refused".into(), (g.rated - granted) as f64 / g.rated as f64));
    v
}

#[test]
fn the_grade_mix_follows_the_indicators_and_cut_offs() {
    // One uniform indicator (the other weighs nothing): score = 100 x, so the
    // shares are the cut-offs' gaps: 0.2, 0.3, 0.3 and 0.2 refused.
    let got = mix(&scored(1.0, 0.0, "{high: {alpha: 1, beta: 1}, low: {alpha: 1, beta: 1}}"));
    let want = [0.2, 0.3, 0.3, 0.2];
    for ((name, p), q) in got.iter().zip(want) {
        let se = (q * (1.0 - q) / 20_000.0f64).sqrt();
        assert!((p - q).abs() < 4.5 * se, "{name}: {p} vs {q}");
    }
    // Two uniform indicators, equal weights: score = 50 (x + y), a triangular
    // law: P(score >= 80) = 0.08, P(>= 50) = 0.5, P(>= 20) = 0.92.
    let got = mix(&scored(1.0, 1.0, "{high: {alpha: 1, beta: 1}, low: {alpha: 1, beta: 1}}"));
    for ((name, p), q) in got.iter().zip([0.08, 0.42, 0.42, 0.08]) {
        let se = (q * (1.0 - q) / 20_000.0f64).sqrt();
        assert!((p - q).abs() < 4.5 * se, "{name}: {p} vs {q}");
    }
}

#[test]
fn weighting_the_stronger_indicator_raises_the_grades() {
    let dists = "{high: {alpha: 8, beta: 2}, low: {alpha: 2, beta: 8}}";
    let low_weighted = mix(&scored(1.0, 3.0, dists));
    let high_weighted = mix(&scored(3.0, 1.0, dists));
    let aaa = |v: &[(String, f64)]| v[0].1;
    let refused = |v: &[(String, f64)]| v[3].1;
    assert!(aaa(&high_weighted) > aaa(&low_weighted));
    assert!(refused(&high_weighted) < refused(&low_weighted));
    // Credit lines cap the principal of AAA loans.
    let m = model(&scored(3.0, 1.0, dists));
    let aaa_grade = m.grades.iter().position(|g| g == "AAA").unwrap() as u16;
    assert!((0..m.loans.n).filter(|&i| m.loans.grade[i] == aaa_grade).all(|i| m.loans.principal[i].0 <= 2_000_000));
}

/// Mini with its cohorts replaced by a loan tape.
fn taped(tape: &str) -> Result<riskshare::model::Model, riskshare::scenario::InputError> {
    let a = MINI.find("portfolio:\n").unwrap();
    let b = MINI.find("funds:\n").unwrap();
    let yaml = format!("{}portfolio: {{tapes: [book.csv]}}\n{}", &MINI[..a], &MINI[b..]);
    let s = riskshare::scenario::parse(&yaml, "tape.yaml", &[]).unwrap();
    riskshare::model::Model::build(s, "tape.yaml", &[("book.csv".into(), tape.into())])
}

const TAPE: &str =
    "id,bank,village,product,borrower,industry,grade,principal,term_years,guarantee_group,linked_households
h1,rcc,c1-valley-001,micro,household,tea,A,40000,3,g1,
h2,rcc,c1-valley-001,micro,household,tea,A,20000,3,g1,
h3,rcc,c1-valley-001,micro,household,tea,B,40000,3,g1,
h4,abc,c1-valley-002,micro,household,cattle,A,30000,3,g2,
h5,abc,c1-valley-002,micro,household,cattle,A,30000,3,g2,
f1,abc,c1-valley-002,micro,enterprise,cattle,A,50000,3,,h1;h4;h5
";

#[test]
fn a_tape_names_groups_and_linked_households() {
    let m = taped(TAPE).unwrap_or_else(|e| panic!("{e}"));
    let id = |s: &str| m.loans.id.iter().position(|x| x == s).unwrap();
    assert_eq!(m.guarantee.groups(), 2);
    let g1 = m.guarantee.group_of[id("h1")];
    assert_eq!(m.guarantee.members_of(g1).len(), 3);
    assert_eq!(m.guarantee.group_of[id("h4")], m.guarantee.group_of[id("h5")]);
    // Capacity: the default 20 % of each member's principal.
    assert_eq!(m.guarantee.capacity[id("h2")].0, 400_000);
    let mut linked: Vec<String> = m.linkage.of(id("f1")).iter().map(|&j| m.loans.id[j as usize].to_string()).collect();
    linked.sort();
    assert_eq!(linked, ["h1", "h4", "h5"]);
}

#[test]
fn bad_links_are_named_with_their_file_and_line() {
    let bad = TAPE.replace("h1;h4;h5", "h1;h9;f1");
    let e = taped(&bad).expect_err("the tape should be refused").to_string();
    assert!(e.contains("book.csv:7"), "{e}");
    assert!(e.contains("no loan has id `h9`"), "{e}");
    assert!(e.contains("`f1` is not a household's loan"), "{e}");
}

/// 4,000 households (pd 2 %) all linked to one firm that defaults in year 1
/// (pd 99.99 %), no factor, no hazards: in year 2 every household still
/// alive carries the linkage damage alone.
fn linked_book(damage: f64) -> String {
    format!(
        "
name: linked
simulation: {{trials: 300, seed: 5, horizon_years: 2}}
economy: {{rho: 0.0, county_weight: 1.0, persistence: 0.0, kappa: 2.0}}
grades: [{{id: H, pd: 0.02}}, {{id: F, pd: 0.9999}}]
industries: [{{id: farm}}]
products: [{{id: loan}}]
banks: [{{id: bank}}]
counties: [{{id: c, village_counts: {{plain: 20}}}}]
portfolio:
  cohorts:
    - {{name: households, count: 4000, product: loan, borrower: household, banks: {{bank: 1}},
       industries: {{farm: 1}}, grades: {{H: 1}}, principal: {{fixed: 10000}}, rate: 0.0, term_years: 2}}
    - {{name: firm, count: 1, product: loan, borrower: enterprise, banks: {{bank: 1}},
       industries: {{farm: 1}}, grades: {{F: 1}}, principal: {{fixed: 100000}}, rate: 0.0, term_years: 2,
       linked_households: {{min: 4000, max: 4000}}}}
linkage: {{damage: {damage}}}
funds: {{village: {{enabled: false}}, compensation: {{enabled: false}}}}
"
    )
}

#[test]
fn a_linked_household_defaults_with_the_probability_of_its_extra_damage() {
    for damage in [0.3, 0.8] {
        let b = run(&linked_book(damage), 300);
        let (mut defaults, mut alive) = (0u64, 0u64);
        for y in b.years.iter().filter(|y| y.year == 2) {
            // The firm is alive in year 2 only if it survived year 1 (1 in 10,000).
            let firm_alive = b.years.iter().any(|z| z.trial == y.trial && z.year == 1 && z.counts.defaults == 0);
            alive += y.counts.loan_years - firm_alive as u64;
            defaults += y.counts.defaults as u64;
        }
        let got = defaults as f64 / alive as f64;
        // p(D) = Phi(Phi^-1(pd) + kappa D) when rho = 0.
        let want = crate::common::phi(crate::common::inv_phi(0.02) + 2.0 * damage);
        let se = (want * (1.0 - want) / alive as f64).sqrt();
        assert!((got - want).abs() < 4.5 * se, "damage {damage}: {got} vs {want} (se {se})");
    }
}

#[test]
fn guarantor_uplift_and_society_sensitivity_only_add_exposure() {
    let groups = "      guarantee_groups: {min: 10, max: 20}\n";
    let off = run(&mini(groups, "", "guarantee: {uplift: 0.0, capacity_share: 0.5}"), 200);
    let on = run(&mini(groups, "", "guarantee: {uplift: 3.0, capacity_share: 0.5}"), 200);
    for (a, b) in off.trials.iter().zip(&on.trials) {
        assert!(a.flows.exposure <= b.flows.exposure, "trial {}", a.trial);
    }
    let e = |b: &Batch| total(&b.trials, |r| r.flows.exposure.0);
    assert!(e(&on) > e(&off), "the uplift added no default");

    // A society bank loan whose default probability follows its society's bad loans.
    let with_loan = |sensitivity: f64| {
        society("impaired_below: 0.9").replacen(
            "societies: {capital_per_village: 400000, impaired_below: 0.9}",
            &format!(
                "societies:
  capital_per_village: 400000
  villages:
    - village: c1-valley-001
      bank_loan: {{bank: rcc, product: micro, industry: tea, grade: B, principal: 50000, rate: 0.05,
                  term_years: 3, guarantors: 5, sensitivity: {sensitivity}}}"
            ),
            1,
        )
    };
    let (calm, touchy) = (run(&with_loan(0.0), 300), run(&with_loan(50.0), 300));
    for (a, b) in calm.trials.iter().zip(&touchy.trials) {
        assert!(a.flows.exposure <= b.flows.exposure, "trial {}", a.trial);
    }
    assert!(e(&touchy) > e(&calm), "the society's losses never moved its bank loan");
}

#[test]
fn results_do_not_depend_on_threads_with_every_mechanism_on() {
    let yaml = mini("      guarantee_groups: {min: 10, max: 20}\n", &firms(30), "guarantee: {uplift: 1.0}");
    let m = model(&yaml);
    let (a, b) = (simulate(&m, 3, 120, 1), simulate(&m, 3, 120, 2));
    assert!(a == b, "one thread and two differ");
}

#[test]
fn a_score_on_a_cut_off_reaches_it() {
    // Every indicator 0.5: score 50 exactly, on A's cut-off.
    let yaml =
        scored(1.0, 3.0, "{high: {fixed: 0.5}, low: {fixed: 0.5}}").replacen("min_score: 50", "min_score: 50.0", 1);
    let got = mix(&yaml);
    assert_eq!(got[1], ("A".to_string(), 1.0), "{got:?}");
}

#[test]
fn bad_society_settings_are_refused_with_a_reason() {
    let e = |yaml: &str| {
        let s = riskshare::scenario::parse(yaml, "s.yaml", &[]).unwrap();
        riskshare::model::Model::build(s, "s.yaml", &[]).expect_err("should be refused").to_string()
    };
    // Capital too small for what the society lends.
    let msg =
        e(&society("impaired_below: 0.9").replacen("capital_per_village: 400000", "capital_per_village: 5000", 1));
    assert!(msg.contains("more than its capital"), "{msg}");
    // Society-lent loans where there is no society.
    let msg = e(&society("impaired_below: 0.9").replacen("societies: {", "societies: {enabled: false, ", 1));
    assert!(msg.contains("lent by mutual-aid societies") && msg.contains("disabled"), "{msg}");
}
