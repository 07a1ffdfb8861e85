//! `riskshare sweep`: a grid over scenario keys into sweep.csv, sweep.json,
//! sweep_money.svg (what each cell commits and costs), results.xlsx and, for
//! two keys, sweep_heatmap.svg.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::report::labels::Labels;

use super::io::{self, Source};
use super::output::Staged;
use super::{Progress, Settings, runner};
use crate::analysis::sweep::{self, Axis, Sweep};
use crate::report::format::Lang;
use crate::report::{charts, tables_csv, workbook};
use crate::scenario::Override;

pub struct Job {
    pub scenario: Source,
    /// `--set` overrides applied to every cell.
    pub set: Vec<Override>,
    pub vary: Vec<Axis>,
    /// The folder defaults to `output/<scenario name>-sweep`.
    pub settings: Settings,
    /// Re-run every cell in full even where the fast path applies.
    pub full: bool,
    /// Language of the heat map and the workbook.
    pub lang: Lang,
    /// `sweep.csv`, `sweep.parquet` or both.
    pub format: crate::app::columnar::Format,
}

pub struct Done {
    /// Display names from the (first) scenario, for the printed tables.
    pub labels: crate::report::labels::Labels,
    pub sweep: Sweep,
    pub axes: Vec<Axis>,
    pub out: PathBuf,
    /// Time spent simulating and settling the cells.
    pub elapsed: Duration,
}

pub fn run(job: Job, progress: &dyn Progress) -> anyhow::Result<Done> {
    let Settings { trials, seed, threads, out, force, tail } = job.settings;
    let mut base = io::load(job.scenario.clone(), &job.set)?.model;
    let grid = sweep::cells(&job.vary);
    let jobs: Vec<_> = grid
        .iter()
        .map(|cell| {
            let mut sets = job.set.clone();
            sets.extend(cell.iter().map(|(k, v)| Override { path: k.clone(), value: v.clone() }));
            (job.scenario.clone(), sets)
        })
        .collect();
    let trials = super::trials(trials, base.scenario.simulation.trials)?;
    let seed = seed.unwrap_or(base.scenario.simulation.seed);
    // On the fast path a cell only settles the base's draws: each is reduced
    // as it is built, once its book is found to be the base's. A cell whose
    // book differs (not expected when only funds.* vary) sends the sweep to
    // full re-runs, with the models built again whole.
    let fast_path = !job.full && sweep::fast_path_applies(&job.vary);
    let differs = AtomicBool::new(false);
    let mut models = super::load_models(jobs.clone(), threads, &|m| {
        if !fast_path {
            m
        } else if sweep::same_book(&base, &m) {
            sweep::for_settlement(m)
        } else {
            differs.store(true, Ordering::Relaxed);
            m
        }
    })?;
    runner::check_memory(&models.iter().collect::<Vec<_>>(), trials, false)?;
    let fast = fast_path && !differs.load(Ordering::Relaxed);
    if fast_path && !fast {
        drop(std::mem::take(&mut models));
        models = super::load_models(jobs, threads, &|m| m)?;
    }
    // The fast path draws with the base only; full re-runs draw every cell.
    let mut none: Vec<crate::model::Model> = Vec::new();
    let drawing = if fast { &mut none } else { &mut models };
    super::share_importance(&mut base, drawing, tail.as_ref(), seed, threads)?;
    let out = out.unwrap_or_else(|| runner::default_out(&format!("{}-sweep", base.scenario.name)));
    let staged = Staged::new(&out, "sweep", force)?;
    progress.begin(trials * models.len() as u64);
    let started = Instant::now();
    let advance = |k| progress.advance(k);
    let runs = if fast {
        sweep::run_fast(&base, &models, seed, 0..trials, threads, sweep::Keep::Trials, &advance)
    } else {
        models.iter().map(|m| runner::collect(m, seed, trials, threads, &advance).into_trials()).collect()
    };
    let elapsed = started.elapsed();
    progress.end();
    // A reduced cell keeps its deposits but not its book, which is the base's.
    let principal = |m: &crate::model::Model| if fast { base.total_principal() } else { m.total_principal() };
    let cells =
        grid.iter().zip(&models).zip(&runs).map(|((cell, m), c)| sweep::row(cell, m, principal(m), c)).collect();
    let sweep = Sweep {
        scenario: base.scenario.name.clone(),
        seed,
        trials,
        fast_path: fast,
        engine_version: crate::ENGINE_VERSION.into(),
        cells,
    };
    let axes = job.vary;
    if job.format.csv() {
        staged.write("sweep.csv", tables_csv::sweep(&axes, &sweep.cells).as_bytes())?;
    }
    if job.format.parquet() {
        use crate::report::columnar::{self, Table};
        let batch = columnar::sweep_batch(&axes, &sweep.cells);
        let sha = crate::app::shard::checksum(&base);
        let bytes = crate::app::columnar::table_bytes(&batch, Table::Sweep, &sha, seed)?;
        staged.write(Table::Sweep.parquet_file(), &bytes)?;
    }
    // Through a `Value`, whose maps sort their keys: sweep.json's keys have
    // always been in that order.
    let value = serde_json::to_value(&sweep).context("sweep.json")?;
    let json = serde_json::to_string_pretty(&value).context("sweep.json")? + "\n";
    staged.write("sweep.json", json.as_bytes())?;
    staged.write(
        workbook::FILE,
        &workbook::sweep(&sweep, &axes, &Labels::of(&base.scenario), job.lang).context("results.xlsx")?,
    )?;
    if let Some(svg) = charts::sweep_heatmap_svg(&axes, &sweep.cells, job.lang)? {
        staged.write("sweep_heatmap.svg", charts::svg_file(svg, job.lang).as_bytes())?;
    }
    let names: Vec<String> =
        sweep.cells.iter().map(|c| c.values.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join(" / ")).collect();
    let policies: Vec<_> = sweep.cells.iter().map(|c| &c.policy).collect();
    let keys = axes.iter().map(|a| a.key.as_str()).collect::<Vec<_>>().join(" / ");
    let svg = charts::policy_svg(&names, Some(&keys), &policies, job.lang)?;
    staged.write("sweep_money.svg", charts::svg_file(svg, job.lang).as_bytes())?;
    staged.commit()?;
    Ok(Done { labels: Labels::of(&base.scenario), sweep, axes, out, elapsed })
}
