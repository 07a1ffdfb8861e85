//! Stress tests: a deterministic overlay on the stochastic model, run on the
//! same seed as the baseline so that every difference is the stress's.
//!
//! The presets are written against the scenario they stress:
//! - `flood-year`: in year 1 a flood (the scenario's peril whose id contains
//!   "flood", else its first peril) hits half the villages with a damage
//!   ratio of 0.5;
//! - `epidemic`: in year 1 every disease of the scenario reaches half the
//!   villages and kills 80 % of the herds it strikes;
//! - `recession`: the county factor sits at its 1-in-100 bad level
//!   (quantile 0.01) in every year;
//! - `combined`: all three, and default probabilities times 1.5.

use serde::{Deserialize, Serialize};

use crate::analysis::policy::PolicyFigures;
use crate::analysis::stats;
use crate::analysis::summary::{Collected, Prob};
use crate::model::Model;
use crate::scenario::schema::{FactorStress, Scenario, Stress, StressEvent};

pub const PRESETS: [&str; 4] = ["flood-year", "epidemic", "recession", "combined"];

/// The overlay a preset means for this scenario.
pub fn preset(name: &str, s: &Scenario) -> Result<Stress, String> {
    let flood = || -> Result<StressEvent, String> {
        let p = s
            .hazards
            .perils
            .iter()
            .find(|p| p.id.contains("flood"))
            .or_else(|| s.hazards.perils.first())
            .ok_or("the flood-year preset needs a peril in hazards.perils")?;
        Ok(StressEvent { year: 1, peril: Some(p.id.clone()), disease: None, share_of_villages: 0.5, severity: 0.5 })
    };
    let epidemic = || -> Result<Vec<StressEvent>, String> {
        if s.epidemics.diseases.is_empty() {
            return Err("the epidemic preset needs a disease in epidemics.diseases".into());
        }
        Ok(s.epidemics
            .diseases
            .iter()
            .map(|d| StressEvent {
                year: 1,
                peril: None,
                disease: Some(d.id.clone()),
                share_of_villages: 0.5,
                severity: 0.8,
            })
            .collect())
    };
    let recession = || Some(FactorStress { quantile: 0.01, years: Vec::new() });
    Ok(match name {
        "flood-year" => Stress { events: vec![flood()?], ..Default::default() },
        "epidemic" => Stress { events: epidemic()?, ..Default::default() },
        "recession" => Stress { county_factor: recession(), ..Default::default() },
        "combined" => {
            let mut events = vec![flood()?];
            events.extend(epidemic()?);
            Stress { events, county_factor: recession(), pd_multiplier: Some(1.5) }
        }
        _ => {
            let hint =
                crate::scenario::nearest(name, &PRESETS).map(|n| format!("; did you mean `{n}`?")).unwrap_or_default();
            return Err(format!("unknown preset `{name}`{hint} (presets: {})", PRESETS.join(", ")));
        }
    })
}

/// Mean, 99 % quantile and TVaR 99 % of a column, in yuan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub mean: f64,
    pub p99: f64,
    pub tvar99: f64,
}

fn figures(c: &Collected, mut v: Vec<i64>) -> Figures {
    if let Some(w) = c.weights() {
        let s = crate::analysis::weighted::summarize(&v, w, crate::analysis::summary::CONFIDENCE);
        let i99 = stats::QUANTILE_LEVELS_BP.iter().position(|&b| b == 9900).expect("p99 is a summary level");
        let t99 = stats::TVAR_LEVELS_BP.iter().position(|&b| b == 9900).expect("TVaR 99 is a summary level");
        return Figures {
            mean: s.mean.value.round() / 100.0,
            p99: s.quantiles[i99] as f64 / 100.0,
            tvar99: s.tvar[t99].round() / 100.0,
        };
    }
    let mut m = stats::Moments::default();
    for &x in &v {
        m.push(x);
    }
    v.sort_unstable();
    Figures {
        mean: m.mean().round() / 100.0,
        p99: stats::quantile_sorted(&v, 9900) as f64 / 100.0,
        tvar99: (stats::tvar_sorted(&v, 9900)).round() / 100.0,
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Side {
    pub bank_loss: Figures,
    pub fund_draws: Figures,
    pub shortfall: Figures,
    pub exhausted: Prob,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountImpact {
    pub bank: String,
    /// The bank's display name ("" when the scenario gives none).
    pub bank_name: String,
    pub county: String,
    pub baseline: Side,
    pub stressed: Side,
}

impl AccountImpact {
    /// The bank's name, or its id when the scenario gives none.
    pub fn name(&self) -> &str {
        if self.bank_name.is_empty() { &self.bank } else { &self.bank_name }
    }
}

/// What was applied to the scenario, as the user gave it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Applied {
    /// Where the stress came from: `--preset NAME` or `--overlay FILE`.
    pub overlay: String,
    /// The `--set KEY=VALUE` overrides, applied to both sides.
    pub set: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StressReport {
    pub scenario: String,
    /// The overlay and overrides applied; `stress` is what the overlay holds.
    pub applied: Applied,
    pub stress: Stress,
    pub seed: u64,
    pub trials: u64,
    /// The whole scheme: exposure, banks' total loss, fund draws, fiscal cost.
    pub totals: Vec<(String, Figures, Figures)>,
    pub accounts: Vec<AccountImpact>,
    /// The money each side moves: each bank's deposit, draw and chance of
    /// running dry, the budget committed and the fiscal cost's parts.
    pub baseline_policy: PolicyFigures,
    pub stressed_policy: PolicyFigures,
}

/// Compares a stressed run (model `stressed_model`, trials `stressed`) with
/// its baseline (same seed, same trials).
pub fn report(
    m: &Model,
    stressed_model: &Model,
    stress: &Stress,
    applied: Applied,
    seed: u64,
    base: &Collected,
    stressed: &Collected,
) -> StressReport {
    let side = |c: &Collected, a: usize| {
        let dry = c.account_column(a, |x| x.exhausted_year as i64);
        Side {
            // The bank's share on the account's loans plus any shortfall it bears.
            bank_loss: figures(
                c,
                c.account_column(a, |x| x.bank_loss.0 + if m.shortfall_to_bank { x.shortfall.0 } else { 0 }),
            ),
            fund_draws: figures(c, c.account_column(a, |x| x.draws.0)),
            shortfall: figures(c, c.account_column(a, |x| x.shortfall.0)),
            exhausted: c.prob(|i| dry[i] > 0),
        }
    };
    let totals = [
        ("exposure", (|r| r.flows.exposure.0) as fn(&crate::sim::tables::TrialRow) -> i64),
        ("bank_total", |r| r.flows.bank_total().0),
        ("village_fund", |r| r.flows.village_fund.0),
        ("comp_fund", |r| r.flows.comp_fund.0),
        ("shortfall", |r| r.flows.shortfall.0),
        ("fiscal_cost", |r| r.flows.fiscal_cost().0),
    ]
    .into_iter()
    .map(|(name, f)| (name.to_string(), figures(base, base.column(f)), figures(stressed, stressed.column(f))))
    .collect();
    StressReport {
        scenario: m.scenario.name.clone(),
        applied,
        stress: stress.clone(),
        seed,
        trials: base.n() as u64,
        totals,
        accounts: m
            .accounts
            .iter()
            .enumerate()
            .map(|(a, acc)| AccountImpact {
                bank: m.banks[acc.bank as usize].clone(),
                bank_name: m.bank_names[acc.bank as usize].clone(),
                county: m.counties[acc.county as usize].clone(),
                baseline: side(base, a),
                stressed: side(stressed, a),
            })
            .collect(),
        baseline_policy: PolicyFigures::of(m, base),
        stressed_policy: PolicyFigures::of(stressed_model, stressed),
    }
}
