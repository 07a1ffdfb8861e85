//! Disasters, epidemics and shocks against hand computations.

use crate::common::*;

const Z: f64 = 4.5;

fn pois(lambda: f64, k: u32) -> f64 {
    (-lambda + k as f64 * lambda.ln() - libm::lgamma(k as f64 + 1.0)).exp()
}

/// A peril that hits every village with a fixed damage: each loan's default
/// probability is E_N[Phi(Phi^-1(pd) + kappa D(N))] with N ~ Poisson and
/// D(N) = 1 - (1 - d v)^N. The damage pass draws mixed (grade, industry)
/// groups by thinning; the default count must match the sum over loans.
#[test]
fn damage_raises_default_probability_exactly_as_the_formula() {
    let (lambda, d, kappa): (f64, f64, f64) = (0.8, 0.4, 1.5);
    let yaml = format!(
        "
name: damage
simulation: {{horizon_years: 1}}
economy: {{rho: 0.0, kappa: {kappa}}}
grades: [{{id: A, pd: 0.005}}, {{id: B, pd: 0.03}}]
industries: [{{id: tea}}, {{id: pig, kind: livestock, species: pig}}]
products: [{{id: loan}}]
banks: [{{id: bank}}]
counties: [{{id: c, village_counts: {{plain: 30}}}}]
portfolio:
  cohorts:
    - {{name: all, count: 3000, product: loan, borrower: household, banks: {{bank: 1}},
       industries: {{tea: 0.5, pig: 0.5}}, grades: {{A: 0.5, B: 0.5}},
       principal: {{fixed: 10000}}, rate: 0.0, term_years: 1}}
{NO_FUNDS}
hazards:
  perils:
    - {{id: flood, rate: {lambda}, hit: {{plain: 1.0}}, damage: {{fixed: {d}}}, vulnerability: {{tea: 0.5, pig: 1.0}}}}
"
    );
    let m = model(&yaml);
    let mut expected = 0.0;
    for i in 0..m.loans.n {
        let pd = m.classes[m.loans.class[i] as usize].pd;
        let v: f64 = if m.industries[m.loans.industry[i] as usize] == "tea" { 0.5 } else { 1.0 };
        expected += (0..60)
            .map(|k| pois(lambda, k) * phi(inv_phi(pd) + kappa * (1.0 - (1.0 - d * v).powi(k as i32))))
            .sum::<f64>();
    }
    let trials = 4000u64;
    let b = simulate(&m, 17, trials, 2);
    let k: Vec<f64> = b.trials.iter().map(|r| r.counts.defaults as f64).collect();
    let mean = k.iter().sum::<f64>() / trials as f64;
    let sd = (k.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (trials - 1) as f64).sqrt();
    assert!((mean - expected).abs() < Z * sd / (trials as f64).sqrt(), "mean defaults {mean} vs {expected}");
}

/// A shared peril (one damage per event) and a varied one (a Beta damage
/// drawn per village, like hail) together: a village is hit by K1 ~
/// Poisson(lambda1 h1) floods and K2 ~ Poisson(lambda2 h2) hailstorms, and a
/// loan defaults with E[Phi(Phi^-1(pd) + kappa D)], D = 1 - (1 - d1 v1)^K1
/// prod_j (1 - d_j v2). The varied damage lies above the buckets' shared
/// bound: the bucket pass skips at the bound with the county's largest
/// varied ratio and drops candidates above the shared bound outside hit
/// villages, which this pins, with the shared event's keyed hit test and
/// the Beta's order statistic; the expectation over the Beta damages is
/// taken by quadrature. The county's 200 hill villages have no loan: the
/// draws leave them out, and hail hitting them must not move the law.
#[test]
fn varied_damage_raises_default_probability_exactly_as_the_formula() {
    let (l1, h1, d1, l2, h2, kappa): (f64, f64, f64, f64, f64, f64) = (0.7, 0.5, 0.3, 1.2, 0.3, 1.5);
    let (a, b) = (2.0, 4.0);
    let yaml = format!(
        "
name: varied
simulation: {{horizon_years: 1}}
economy: {{rho: 0.0, kappa: {kappa}}}
grades: [{{id: A, pd: 0.005}}, {{id: B, pd: 0.03}}]
industries: [{{id: tea}}, {{id: pig, kind: livestock, species: pig}}]
products: [{{id: loan}}]
banks: [{{id: bank}}]
zones: [{{id: plain}}, {{id: hills}}]
counties: [{{id: c, village_counts: {{plain: 40, hills: 200}}}}]
portfolio:
  cohorts:
    - {{name: all, count: 3000, product: loan, borrower: household, banks: {{bank: 1}}, zones: [plain],
       industries: {{tea: 0.5, pig: 0.5}}, grades: {{A: 0.5, B: 0.5}},
       principal: {{fixed: 10000}}, rate: 0.0, term_years: 1}}
{NO_FUNDS}
hazards:
  perils:
    - {{id: flood, rate: {l1}, hit: {{plain: {h1}}}, damage: {{fixed: {d1}}}, vulnerability: {{tea: 0.5, pig: 1.0}}}}
    - {{id: hail, rate: {l2}, hit: {{plain: {h2}, hills: 0.9}}, damage: {{alpha: {a}, beta: {b}}}, per_village_damage: true,
       vulnerability: {{tea: 1.0, pig: 0.2}}}}
"
    );
    let m = model(&yaml);
    let drawn: Vec<u32> = m.hazards.regions.iter().flatten().flatten().copied().collect();
    assert_eq!(drawn.len(), 40, "the per-village draws cover the plain villages only");
    assert!(drawn.iter().all(|&v| m.villages[v as usize].id.contains("plain")), "{:?}", &m.villages);
    // Beta(2, 4) density on a midpoint grid; products of K2 independent
    // factors by repeated convolution over the grid of survivals.
    const G: usize = 400;
    let beta_pdf = |x: f64| 20.0 * x * (1.0 - x).powi(3);
    let grid: Vec<(f64, f64)> =
        (0..G).map(|k| ((k as f64 + 0.5) / G as f64, beta_pdf((k as f64 + 0.5) / G as f64) / G as f64)).collect();
    let expected_for = |pd: f64, v1: f64, v2: f64| -> f64 {
        // Distribution of prod_j (1 - d_j v2) for K2 = 0..=6, as (value, weight) pairs, binned.
        let mut dist = vec![vec![(1.0, 1.0)]];
        for _ in 1..=6 {
            let prev = dist.last().unwrap();
            let mut bins = vec![(0.0, 0.0); G];
            for &(s, w) in prev {
                for &(d, wd) in &grid {
                    let x = s * (1.0 - d * v2);
                    let k = ((x * G as f64) as usize).min(G - 1);
                    bins[k].0 += x * w * wd;
                    bins[k].1 += w * wd;
                }
            }
            dist.push(bins.into_iter().filter(|b| b.1 > 0.0).map(|(xw, w)| (xw / w, w)).collect());
        }
        let mut e = 0.0;
        for k1 in 0..12 {
            for (k2, d) in dist.iter().enumerate() {
                let weight = pois(l1 * h1, k1) * pois(l2 * h2, k2 as u32);
                let s1 = (1.0 - d1 * v1).powi(k1 as i32);
                e += weight * d.iter().map(|&(s2, w)| w * phi(inv_phi(pd) + kappa * (1.0 - s1 * s2))).sum::<f64>();
            }
        }
        e
    };
    let mut expected = 0.0;
    for i in 0..m.loans.n {
        let pd = m.classes[m.loans.class[i] as usize].pd;
        let tea = m.industries[m.loans.industry[i] as usize] == "tea";
        expected += if tea { expected_for(pd, 0.5, 1.0) } else { expected_for(pd, 1.0, 0.2) };
    }
    let trials = 4000u64;
    let bt = simulate(&m, 23, trials, 2);
    let k: Vec<f64> = bt.trials.iter().map(|r| r.counts.defaults as f64).collect();
    let mean = k.iter().sum::<f64>() / trials as f64;
    let sd = (k.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (trials - 1) as f64).sqrt();
    assert!((mean - expected).abs() < Z * sd / (trials as f64).sqrt(), "mean defaults {mean} vs {expected}");
}

/// Shocks alone: a household defaults with 1 - (1 - pd)(1 - s q).
#[test]
fn shocks_raise_default_probability_as_the_formula() {
    let (pd, s, q) = (0.01, 0.05, 0.4);
    let extra = format!("{NO_FUNDS}shocks: [{{id: ill, kind: illness, prob: {s}, default_prob: {q}}}]\n");
    let yaml = homogeneous(3000, pd, 0.0, 1, &extra).replace("borrower: enterprise", "borrower: household");
    let m = model(&yaml);
    let trials = 3000u64;
    let b = simulate(&m, 21, trials, 2);
    let p = 1.0 - (1.0 - pd) * (1.0 - s * q);
    let n = 3000.0;
    let mean = b.trials.iter().map(|r| r.counts.defaults as f64).sum::<f64>() / trials as f64;
    assert!((mean - n * p).abs() < Z * (n * p * (1.0 - p) / trials as f64).sqrt(), "mean {mean} vs {}", n * p);
    let shocks = b.trials.iter().map(|r| r.counts.shocks as f64).sum::<f64>() / trials as f64;
    assert!((shocks - n * s).abs() < Z * (n * s * (1.0 - s) / trials as f64).sqrt(), "shocks {shocks}");
}

/// One peril that hits every village with a fixed damage of 0.4: with N
/// events in a year, D = 1 - 0.6^N, and each defaulted loan's agricultural
/// claim is 10,000 yuan x (D - 0.1): 3,000.00 yuan for one event, 5,400.00 for
/// two, 6,840.00 for three, 7,704.00 for four. Checked to the fen, year by year.
#[test]
fn agricultural_indemnity_by_hand_to_the_fen() {
    let extra = format!(
        "{NO_FUNDS}hazards:\n  perils:\n    - {{id: flood, rate: 1.5, hit: {{plain: 1.0}}, damage: {{fixed: 0.4}}, vulnerability: {{farm: 1}}}}\n\
         insurance: {{agricultural: {{coverage: 1.0, deductible: 0.1}}}}\n"
    );
    let yaml = homogeneous(500, 0.02, 0.0, 2, &extra)
        .replace("term_years: 2\n", "term_years: 2\n      insurance: {agricultural: 1.0}\n");
    let m = model_with(&yaml, &["economy.kappa=1.0"]);
    let per_default = |n: u32| -> i64 {
        match n {
            0 => 0,
            1 => 300_000,
            2 => 540_000,
            3 => 684_000,
            4 => 770_400,
            _ => (1_000_000.0 * (1.0 - 0.6f64.powi(n as i32) - 0.1)).round() as i64,
        }
    };
    let b = simulate(&m, 5, 400, 2);
    let mut checked = [0u32; 5];
    for y in &b.years {
        let n = y.counts.disaster_events;
        assert_eq!(
            y.flows.claims_agricultural.0,
            y.counts.defaults as i64 * per_default(n),
            "trial {} year {}",
            y.trial,
            y.year
        );
        if n < 5 && y.counts.defaults > 0 {
            checked[n as usize] += 1;
        }
    }
    assert!(checked[1..4].iter().all(|&c| c > 0), "event counts not all seen: {checked:?}");
}

/// A shared event (one ratio for the villages it hits) lists no villages:
/// each village is hit when a uniform keyed by the event and the village
/// lies below its zone's chance. Per zone, the share of villages an event
/// hit is that chance, and two villages are hit independently (their joint
/// share is the product), within 4.5 standard errors.
#[test]
fn a_shared_event_hits_each_village_independently_with_its_zones_chance() {
    use riskshare::sim::damage::{self, DamageState};
    let (p_low, p_high) = (0.3, 0.8);
    let yaml = format!(
        "
name: footprint
simulation: {{horizon_years: 1}}
economy: {{rho: 0.0, kappa: 1.0}}
grades: [{{id: A, pd: 0.01}}]
industries: [{{id: tea}}]
products: [{{id: loan}}]
banks: [{{id: bank}}]
zones: [{{id: low}}, {{id: high}}]
counties: [{{id: c, village_counts: {{low: 60, high: 60}}}}]
portfolio:
  cohorts:
    - {{name: all, count: 100, product: loan, borrower: household, banks: {{bank: 1}},
       industries: {{tea: 1}}, grades: {{A: 1}}, principal: {{fixed: 10000}}, rate: 0.0, term_years: 1}}
{NO_FUNDS}
hazards:
  perils:
    - {{id: flood, rate: 1.0, hit: {{low: {p_low}, high: {p_high}}}, damage: {{fixed: 0.5}}, vulnerability: {{tea: 1.0}}}}
"
    );
    let m = model(&yaml);
    let high = m.zones.iter().position(|z| z == "high").unwrap();
    let zone = |v: usize| (m.hazards.places[v].zone as usize == high) as usize;
    // The first two villages of each zone, whose joint hits test independence.
    let pair = |z: usize| {
        let mut vs = (0..m.villages.len()).filter(move |&v| zone(v) == z);
        [vs.next().unwrap(), vs.next().unwrap()]
    };
    let pairs = [pair(0), pair(1)];
    let mut st = DamageState::new(&m.hazards, m.villages.len(), m.counties.len());
    // Per zone: village-events, hits; events, events hitting both of its pair.
    let (mut seen, mut hit, mut events, mut both) = ([0u64; 2], [0u64; 2], 0u64, [0u64; 2]);
    for trial in 0..20_000 {
        st.new_trial();
        damage::draw_year(&m.hazards, 11, trial, 0, &mut st);
        if st.events != 1 {
            continue; // one event: a village's damage says whether it hit
        }
        let is_hit = |v: usize| st.damage(v as u32, 0) > 0.0;
        events += 1;
        for v in 0..m.villages.len() {
            seen[zone(v)] += 1;
            hit[zone(v)] += is_hit(v) as u64;
        }
        for z in 0..2 {
            both[z] += (is_hit(pairs[z][0]) && is_hit(pairs[z][1])) as u64;
        }
    }
    for (z, p) in [(0, p_low), (1, p_high)] {
        // Hits of one event are independent across villages, so the binomial error holds.
        let (n, share) = (seen[z] as f64, hit[z] as f64 / seen[z] as f64);
        assert!((share - p).abs() < Z * (p * (1.0 - p) / n).sqrt(), "zone {z}: share {share} vs {p}");
        let (q, joint) = (p * p, both[z] as f64 / events as f64);
        assert!((joint - q).abs() < Z * (q * (1.0 - q) / events as f64).sqrt(), "zone {z}: joint {joint} vs {q}");
    }
}

/// Past the longest term no loan is alive, and the engine draws only each
/// year's event counts: they must be the counts the whole draw gives, trial
/// by trial and year by year, and nothing else may happen in those years.
#[test]
fn years_past_every_term_count_the_events_a_whole_draw_gives() {
    use riskshare::sim::damage::{self, DamageState};
    let (horizon, trials, seed) = (6, 300, 5);
    let m = model_with(riskshare::scenario::WANGCANG_YAML, &["simulation.horizon_years=6"]);
    let last_term = (0..m.loans.n).map(|i| m.loans.term[i] as usize).max().unwrap();
    assert!(last_term < horizon, "the test needs years past every term");
    let b = simulate(&m, seed, trials, 2);
    let mut st = DamageState::new(&m.hazards, m.villages.len(), m.counties.len());
    let mut past_term_events = 0;
    for trial in 0..trials {
        st.new_trial();
        for t in 0..horizon {
            let (e0, o0) = (st.events, st.outbreaks);
            damage::draw_year(&m.hazards, seed, trial, t, &mut st);
            let row = b.years.iter().find(|r| r.trial == trial && r.year as usize == t + 1).unwrap();
            let c = row.counts;
            assert_eq!(
                (c.disaster_events, c.epidemic_outbreaks),
                (st.events - e0, st.outbreaks - o0),
                "trial {trial} year {t}"
            );
            if t >= last_term {
                past_term_events += c.disaster_events + c.epidemic_outbreaks;
                assert_eq!((c.loan_years, c.defaults, c.shocks), (0, 0, 0), "trial {trial} year {t}");
                assert_eq!(row.flows.exposure.0, 0, "trial {trial} year {t}");
            }
        }
    }
    // Wangcang's perils and diseases strike most years: the counts compared are not all zero.
    assert!(past_term_events > trials as u32, "{past_term_events} events past the terms");
}
