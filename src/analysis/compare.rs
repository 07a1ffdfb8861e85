//! Policy comparison on common random numbers (docs/model.md 1, the researcher's
//! question). Every scenario runs the same trials with the same seed; since
//! random streams are addressed by component ids (see [`crate::rng`]), trial
//! k of each scenario sees the same economy, disasters, epidemics and shocks
//! wherever the scenarios share them. Differences are therefore paired, trial
//! by trial, and their standard errors are those of the paired differences.

use serde::{Deserialize, Serialize};

use crate::analysis::stats;
use crate::analysis::summary::{CONFIDENCE, Collected};
use crate::model::Model;
use crate::report::csv_table::Table;
use crate::sim::tables::{MONEY, TrialRow};

/// A metric read per trial from the trial table.
pub struct Metric {
    pub name: String,
    /// Money (yuan) or a 0/1 indicator (a probability).
    pub money: bool,
    pub get: Box<dyn Fn(&TrialRow) -> i64 + Sync>,
}

/// The metrics compare reports: every money column, the budget's cost, the
/// bank's total, and the probability that a compensation account runs dry.
pub fn metrics() -> Vec<Metric> {
    let mut v: Vec<Metric> = MONEY
        .iter()
        .map(|c| {
            let get = c.get;
            Metric { name: c.name.to_string(), money: true, get: Box::new(move |r: &TrialRow| get(&r.flows).0) }
        })
        .collect();
    v.push(Metric { name: "fiscal_cost".into(), money: true, get: Box::new(|r| r.flows.fiscal_cost().0) });
    v.push(Metric { name: "bank_total".into(), money: true, get: Box::new(|r| r.flows.bank_total().0) });
    v.push(Metric {
        name: "comp_exhausted".into(),
        money: false,
        get: Box::new(|r| (r.counts.comp_accounts_exhausted > 0) as i64),
    });
    v.push(Metric {
        name: "village_funds_exhausted".into(),
        money: false,
        get: Box::new(|r| r.counts.village_funds_exhausted as i64),
    });
    v
}

/// A difference to the first scenario, with its 95 % interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Diff {
    pub mean: f64,
    pub stderr: f64,
    pub lo: f64,
    pub hi: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetricRow {
    pub metric: String,
    /// Mean in each scenario (yuan, or a probability / count).
    pub mean: Vec<f64>,
    /// 99 % quantile in each scenario.
    pub p99: Vec<f64>,
    /// Paired difference of each scenario to the first (the first's is zero).
    pub diff: Vec<Diff>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    pub scenarios: Vec<String>,
    pub seed: u64,
    pub trials: u64,
    pub engine_version: String,
    pub rows: Vec<MetricRow>,
}

fn scale(x: f64, money: bool) -> f64 {
    if money { (x).round() / 100.0 } else { (x * 1e8).round() / 1e8 }
}

/// Compares collected runs of the same trials; the first is the baseline.
pub fn compare(names: &[String], runs: &[Collected], seed: u64) -> Comparison {
    let n = runs.first().map_or(0, |c| c.n());
    let z = stats::z_for(CONFIDENCE);
    let rows = metrics()
        .into_iter()
        .map(|m| {
            let cols: Vec<Vec<i64>> = runs.iter().map(|c| c.column(&m.get)).collect();
            let mut mean = Vec::new();
            let mut p99 = Vec::new();
            let mut diff = Vec::new();
            for col in &cols {
                let mut mo = stats::Moments::default();
                let mut d = stats::Moments::default();
                for (k, &x) in col.iter().enumerate() {
                    mo.push(x);
                    d.push(x - cols[0][k]);
                }
                let mut sorted = col.clone();
                sorted.sort_unstable();
                mean.push(scale(mo.mean(), m.money));
                p99.push(scale(stats::quantile_sorted(&sorted, 9900) as f64, m.money));
                let (dm, se) = (d.mean(), d.stderr());
                diff.push(Diff {
                    mean: scale(dm, m.money),
                    stderr: scale(se, m.money),
                    lo: scale(dm - z * se, m.money),
                    hi: scale(dm + z * se, m.money),
                });
            }
            MetricRow { metric: m.name, mean, p99, diff }
        })
        .collect();
    Comparison { scenarios: names.to_vec(), seed, trials: n as u64, engine_version: crate::ENGINE_VERSION.into(), rows }
}

/// The comparison as CSV: one row per (metric, scenario).
pub fn to_csv(c: &Comparison) -> String {
    let mut t = Table::new();
    t.row(["metric", "scenario", "mean", "p99", "diff_to_first", "diff_stderr", "diff_lo", "diff_hi"]);
    for r in &c.rows {
        for (i, name) in c.scenarios.iter().enumerate() {
            let d = &r.diff[i];
            let numbers = [r.mean[i], r.p99[i], d.mean, d.stderr, d.lo, d.hi].map(|x| x.to_string());
            t.row([r.metric.as_str(), name.as_str()].into_iter().chain(numbers.iter().map(String::as_str)));
        }
    }
    t.into_string()
}

/// Checks that scenarios can be compared: same horizon.
pub fn check(models: &[Model]) -> Result<(), String> {
    let h = models[0].horizon;
    match models.iter().find(|m| m.horizon != h) {
        Some(m) => Err(format!(
            "scenario `{}` has a horizon of {} years, the first has {h}: compare scenarios over the same horizon",
            m.scenario.name, m.horizon
        )),
        None => Ok(()),
    }
}

/// A grouped bar chart of the expected loss by layer in each scenario, as SVG
/// (drawn by hand: a few rectangles, readable in any browser).
pub fn chart_svg(c: &Comparison) -> String {
    const LAYERS: [(&str, &str); 6] = [
        ("collateral", "Collateral"),
        ("insurance", "Insurance"),
        ("village_fund", "Village fund"),
        ("comp_fund", "Compensation fund"),
        ("shortfall", "Shortfall"),
        ("bank_total", "Bank"),
    ];
    const COLOURS: [&str; 8] = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f"];
    let means: Vec<Vec<f64>> = LAYERS
        .iter()
        .map(|(k, _)| c.rows.iter().find(|r| r.metric == *k).map(|r| r.mean.clone()).unwrap_or_default())
        .collect();
    let top = means.iter().flatten().cloned().fold(0.0f64, f64::max).max(1.0) / 1e4;
    let (left, width, height, base) = (80.0, 900.0, 300.0, 360.0);
    let group_w = width / LAYERS.len() as f64;
    let ns = c.scenarios.len().max(1) as f64;
    let bar_w = (group_w * 0.8) / ns;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n\
         <text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"16\">Expected loss by layer, per scenario (CNY 10k, {} trials, common random numbers)</text>\n",
        left + width + 20.0,
        base + 60.0 + 18.0 * ns,
        (left + width) / 2.0,
        c.trials
    );
    for k in 0..=4 {
        let v = top * k as f64 / 4.0;
        let y = base - height * k as f64 / 4.0;
        s.push_str(&format!(
            "<line x1=\"{left}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{v:.0}</text>\n",
            left + width,
            left - 6.0,
            y + 4.0
        ));
    }
    for (g, (_, label)) in LAYERS.iter().enumerate() {
        let x0 = left + group_w * g as f64 + group_w * 0.1;
        for (i, m) in means[g].iter().enumerate() {
            let h = height * (m / 1e4) / top;
            s.push_str(&format!(
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {:.0} yuan</title></rect>\n",
                x0 + bar_w * i as f64,
                base - h,
                bar_w * 0.92,
                h,
                COLOURS[i % COLOURS.len()],
                c.scenarios[i],
                m
            ));
        }
        s.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{label}</text>\n",
            x0 + group_w * 0.4,
            base + 18.0
        ));
    }
    for (i, name) in c.scenarios.iter().enumerate() {
        let y = base + 44.0 + 18.0 * i as f64;
        s.push_str(&format!(
            "<rect x=\"{left}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{y}\">{}</text>\n",
            y - 10.0,
            COLOURS[i % COLOURS.len()],
            left + 18.0,
            name.replace('&', "&amp;").replace('<', "&lt;")
        ));
    }
    s.push_str("</svg>\n");
    s
}
