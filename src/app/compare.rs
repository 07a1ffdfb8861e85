//! `riskshare compare`: several scenarios on the same seed and trials, into
//! comparison.json, comparison.csv, comparison.svg (the losses),
//! comparison_money.svg (what each commits and costs) and results.xlsx.

use std::path::PathBuf;

use anyhow::Context;

use crate::report::labels::Labels;

use super::io::Source;
use super::output::Staged;
use super::{Progress, Settings, runner};
use crate::analysis::compare::{self, Comparison};
use crate::report::format::Lang;
use crate::report::{charts, tables_csv, workbook};
use crate::scenario::InputError;

pub struct Job {
    /// The scenarios (files, or text from the Python package); the first is
    /// the baseline.
    pub scenarios: Vec<Source>,
    /// Trials and seed default to the first scenario's; the folder to
    /// `output/compare`.
    pub settings: Settings,
    /// Language of the chart and the workbook.
    pub lang: Lang,
    /// `comparison.csv`, `comparison.parquet` or both.
    pub format: crate::app::columnar::Format,
}

/// What a comparison wrote and where.
pub struct Done {
    /// Display names from the (first) scenario, for the printed tables.
    pub labels: crate::report::labels::Labels,
    pub comparison: Comparison,
    pub out: PathBuf,
}

/// The files a comparison writes.
pub const FILES: [&str; 5] =
    ["comparison.json", "comparison.csv", "comparison.svg", "comparison_money.svg", workbook::FILE];

pub fn run(job: Job, progress: &dyn Progress) -> anyhow::Result<Done> {
    let Settings { trials, seed, threads, out, force, tail } = job.settings;
    let sources = job.scenarios.iter().map(|s| (s.clone(), Vec::new())).collect();
    let mut models = super::load_models(sources, threads, &|m| m)?;
    compare::check(&models).map_err(|m| InputError::one("compare", "", None, m))?;
    let trials = super::trials(trials, models[0].scenario.simulation.trials)?;
    runner::check_memory(&models.iter().collect::<Vec<_>>(), trials, false)?;
    let seed = seed.unwrap_or(models[0].scenario.simulation.seed);
    if let Some((first, rest)) = models.split_first_mut() {
        super::share_importance(first, rest, tail.as_ref(), seed, threads)?;
    }
    let out = out.unwrap_or_else(|| PathBuf::from("output/compare"));
    // Checked before simulating: a refused folder costs nothing.
    let staged = Staged::new(&out, "compare", force)?;
    progress.begin(trials * models.len() as u64);
    let runs: Vec<_> =
        models.iter().map(|m| runner::collect(m, seed, trials, threads, &|k| progress.advance(k))).collect();
    progress.end();
    // A scenario is named by its name and file: two variants often share a name.
    let names: Vec<String> = job
        .scenarios
        .iter()
        .zip(&models)
        .map(|(s, m)| {
            let file = match s {
                Source::File(p) => p.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
                other => other.name(),
            };
            format!("{} ({file})", m.scenario.name)
        })
        .collect();
    let comparison = compare::compare(&names, &models, &runs, seed);
    let json = serde_json::to_string_pretty(&comparison).context("comparison.json")? + "\n";
    staged.write(FILES[0], json.as_bytes())?;
    if job.format.csv() {
        staged.write(FILES[1], tables_csv::comparison(&comparison).as_bytes())?;
    }
    if job.format.parquet() {
        use crate::report::columnar::{self, Table};
        // Every scenario's checksum, in the comparison's order.
        let sha: Vec<String> = models.iter().map(crate::app::shard::checksum).collect();
        let batch = columnar::comparison_batch(&comparison);
        let bytes = crate::app::columnar::table_bytes(&batch, Table::Comparison, &sha.join(" "), seed)?;
        staged.write(Table::Comparison.parquet_file(), &bytes)?;
    }
    staged.write(FILES[2], charts::svg_file(charts::comparison_svg(&comparison, job.lang)?, job.lang).as_bytes())?;
    // The chart names a scenario by its number and name; the legend of comparison.svg gives its file.
    let short: Vec<String> =
        models.iter().enumerate().map(|(i, m)| format!("[{}] {}", i + 1, m.scenario.name)).collect();
    let policies: Vec<_> = comparison.policy.iter().collect();
    staged.write(
        FILES[3],
        charts::svg_file(charts::policy_svg(&short, None, &policies, job.lang)?, job.lang).as_bytes(),
    )?;
    staged.write(
        FILES[4],
        &workbook::comparison(&comparison, &Labels::of(&models[0].scenario), job.lang).context("results.xlsx")?,
    )?;
    staged.commit()?;
    Ok(Done { labels: Labels::of(&models[0].scenario), comparison, out })
}
