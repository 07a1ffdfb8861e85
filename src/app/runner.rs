//! A whole run, from a built model to an output folder (an edge of the
//! library): simulate, stream the loss tables to CSV, summarise, and move the
//! folder into place only when every file is complete.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::analysis::sizing::{self, Sizing};
use crate::analysis::summary::{self, Collected, Summary};
use crate::app::columnar::{Format, LossTables};
use crate::app::output::Staged;
use crate::app::shard::{FileRecord, Tally};
use crate::model::Model;
use crate::report::run::{RunData, RunResults, Tables};
use crate::report::{tables_csv, workbook};
use crate::scenario::{self, InputError};
use crate::sim::engine;

pub struct RunOptions {
    pub seed: u64,
    /// Trials to run (the first round, with `precision`).
    pub trials: u64,
    pub threads: usize,
    pub out: PathBuf,
    /// Keep doubling the trials until the metric is this precise.
    pub precision: Option<Precision>,
    /// Confidence levels for `size.json`; none: no size.json.
    pub size_levels: Option<Vec<f64>>,
    /// Run only this shard of the trials and write a partial result.
    pub shard: Option<Shard>,
    /// Draw the charts and `report.html` into the output (not for shards).
    pub charts: Option<Charts>,
    /// Replace an earlier riskshare output in `out` (never other files).
    pub force: bool,
    /// Language of `results.xlsx` (written with or without the charts).
    pub lang: crate::report::format::Lang,
    /// CSV, Parquet or both for the tables (a shard's partial holds the
    /// CSVs whatever it is: merge reads and checks them).
    pub format: Format,
}

/// How to draw a run's charts and report.
#[derive(Clone, Debug)]
pub struct Charts {
    pub lang: crate::report::charts::Lang,
    /// The command line, printed in the report for reproducibility.
    pub command: String,
}

/// Draws the charts and `report.html` of a whole run of `model` into its
/// (staged) folder `dir`, from the results it holds in memory. The tables'
/// share the charts need comes from `tables` when given, else from the
/// folder's CSVs.
pub fn draw_results(
    dir: &Path,
    model: &Model,
    results: &RunResults,
    c: &Charts,
    tables: Option<Tables>,
) -> anyhow::Result<()> {
    let d = RunData::of_results(dir, results.clone(), Some(model.scenario.clone()), tables)?;
    draw_run(&d, c)
}

/// Draws the charts and `report.html` of a loaded run into `d.out`.
pub fn draw_run(d: &RunData, c: &Charts) -> anyhow::Result<()> {
    let (charts, report) = rayon::join(
        || crate::report::charts::write_charts_of(d, c.lang),
        || crate::report::html::write_report_of(d, c.lang, &c.command),
    );
    charts?;
    report?;
    Ok(())
}

/// `riskshare report`: draws a finished run's charts and `report.html` again
/// from its files, without simulating. A folder that is not a finished run
/// (a shard's partial, one still being written, a damaged one) is the user's
/// input and refused as such.
pub fn redraw(dir: &Path, c: &Charts) -> anyhow::Result<()> {
    let name = dir.display().to_string();
    crate::app::output::check_complete(dir).map_err(|m| InputError::one(&name, "", None, m))?;
    if let Some(hint) = crate::app::shard::not_a_run(dir) {
        return Err(InputError::one(&name, "", None, hint).into());
    }
    if !dir.join("summary.json").exists() {
        return Err(InputError::one(&name, "", None, "not a finished run: no summary.json").into());
    }
    if !dir.join("trials.csv").exists() && dir.join("trials.parquet").exists() {
        let m = "a run written with --format parquet: the report is redrawn from trials.csv and years.csv; \
                 run it again with --format both";
        return Err(InputError::one(&name, "", None, m).into());
    }
    let mut run = crate::report::run::load_run(dir)
        .map_err(|e| InputError::one(&name, "", None, format!("a damaged run folder: {e:#}")))?;
    // Drawn into a staging folder and moved into place whole: a full disk
    // leaves the run's earlier charts as they were.
    let staged = Staged::update(dir, "report")?;
    run.out = staged.dir().to_path_buf();
    draw_run(&run, c)?;
    let labels = run.labels();
    let results = RunResults { summary: run.summary, sizing: run.sizing, curve: run.size_curve };
    write_workbook(&staged, &results, &labels, c.lang)?;
    staged.commit()?;
    Ok(())
}

/// Shard `index` of `count` (0-based): the contiguous trials
/// `[floor(index T / count), floor((index + 1) T / count))` of a T-trial run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    pub fn range(&self, trials: u64) -> std::ops::Range<u64> {
        let at = |i: u64| ((i as u128 * trials as u128) / self.count as u128) as u64;
        at(self.index)..at(self.index + 1)
    }
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("expected I/N with 0 <= I < N (e.g. 0/4), found `{s}`");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count) = (i.trim().parse::<u64>().map_err(|_| bad())?, n.trim().parse::<u64>().map_err(|_| bad())?);
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// A precision-driven run: trials double (n, 2n, 4n, ...) until the relative
/// standard error of `metric` is at most `rel`, or `max_trials` is reached.
/// The stopping rule reads only the trials' results, so the same seed and
/// precision give the same trial count and the same bytes.
#[derive(Clone, Debug)]
pub struct Precision {
    pub rel: f64,
    pub metric: String,
    pub max_trials: u64,
}

/// Metrics a precision-driven run can target: a money column's mean, or
/// `comp_exhausted`, the probability that any compensation account runs dry.
pub fn precision_metrics() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = crate::sim::tables::MONEY.iter().map(|c| c.name).collect();
    v.push("comp_exhausted");
    v.push(TAIL_METRIC);
    v
}

/// The `--metric` of an importance-sampled run's tail figure: the
/// probability of its `--tail` (`COLUMN` above the pilot's level, or above 0).
pub const TAIL_METRIC: &str = "tail";

/// An importance-sampled run's tail figure: `(1/N) sum w_i 1[tail_i]`, with
/// its standard error from the sample variance of `w_i 1[tail_i]`; and what
/// it is the probability of. `None` on plain runs.
pub fn tail_figure(m: &Model, c: &Collected) -> Option<(f64, f64, String)> {
    use crate::sim::importance::{Target, column_value};
    let ms = m.importance.as_ref()?;
    let target = Target::parse(&ms.target).ok()?;
    let money = crate::sim::tables::MONEY.iter().any(|col| col.name == target.column);
    // The level is recorded in the column's unit (yuan for money); rows hold fen.
    let level = if target.prob.is_none() {
        0.0
    } else if money {
        ms.level * 100.0
    } else {
        ms.level
    };
    let n = c.trials.len();
    let w = |i: usize| c.weights.get(i).copied().unwrap_or(1.0);
    let x = |i: usize| if column_value(&target.column, &c.trials[i]) > level { w(i) } else { 0.0 };
    let mean = (0..n).map(x).sum::<f64>() / n.max(1) as f64;
    let var = (0..n).map(|i| (x(i) - mean).powi(2)).sum::<f64>() / (n.max(2) - 1) as f64;
    let what = if target.prob.is_none() {
        format!("{} > 0", target.column)
    } else {
        format!("{} > {}", target.column, ms.level)
    };
    Some((mean, (var / n.max(1) as f64).sqrt(), what))
}

/// The relative standard error a `--precision` run stops on: the tail
/// figure's for [`TAIL_METRIC`], else [`relative_stderr`].
pub fn precision_stderr(m: &Model, c: &Collected, metric: &str) -> f64 {
    if metric != TAIL_METRIC {
        return relative_stderr(c, metric);
    }
    match tail_figure(m, c) {
        Some((p, se, _)) if p > 0.0 && c.trials.len() >= 2 => se / p,
        _ => f64::INFINITY,
    }
}

/// Relative standard error of a metric over the trials so far.
pub fn relative_stderr(c: &Collected, metric: &str) -> f64 {
    let n = c.n() as f64;
    if n < 2.0 {
        return f64::INFINITY;
    }
    if let Some(w) = c.weights() {
        // The weighted estimate's standard error over its value.
        let e = match metric {
            "comp_exhausted" => crate::analysis::weighted::estimate(w.len(), |i| {
                if c.trials[i].counts.comp_accounts_exhausted > 0 { w[i] } else { 0.0 }
            }),
            _ => match crate::sim::tables::MONEY.iter().find(|col| col.name == metric) {
                Some(col) => crate::analysis::weighted::mean(&c.column(|r| (col.get)(&r.flows).0), w),
                None => return f64::INFINITY,
            },
        };
        return if e.value == 0.0 { f64::INFINITY } else { e.stderr / e.value.abs() };
    }
    if metric == "comp_exhausted" {
        let k = c.trials.iter().filter(|r| r.counts.comp_accounts_exhausted > 0).count() as f64;
        let p = k / n;
        return if p == 0.0 { f64::INFINITY } else { (p * (1.0 - p) / n).sqrt() / p };
    }
    let Some(col) = crate::sim::tables::MONEY.iter().find(|c| c.name == metric) else {
        return f64::INFINITY;
    };
    let mut m = crate::analysis::stats::Moments::default();
    for r in &c.trials {
        m.push((col.get)(&r.flows).0);
    }
    if m.mean() == 0.0 { f64::INFINITY } else { m.stderr() / m.mean().abs() }
}

pub struct RunOutcome {
    pub summary: Summary,
    /// What `size.json` holds, when the run sized the funds.
    pub sizing: Option<Sizing>,
    pub collected: Collected,
    pub out: PathBuf,
    /// Time spent simulating trials (the parallel part), excluding writing.
    pub simulate: Duration,
    pub wall: Duration,
    pub loan_years: u64,
}

impl RunOutcome {
    pub fn loan_years_per_second(&self) -> f64 {
        self.loan_years as f64 / self.simulate.as_secs_f64().max(1e-9)
    }
}

/// Runs `opts.trials` trials of `model` and writes `trials.csv`, `years.csv`,
/// `summary.json` and `scenario.resolved.yaml` to `opts.out`.
pub fn run(model: &Model, opts: &RunOptions, progress: &(dyn Fn(u64) + Sync)) -> anyhow::Result<RunOutcome> {
    let start = Instant::now();
    let kept = match opts.shard {
        Some(sh) => sh.range(opts.trials).end - sh.range(opts.trials).start,
        // A precision run is checked for its first round: it may stop there.
        None => opts.trials,
    };
    check_memory(&[model], kept, opts.charts.is_some())?;
    let command = if opts.shard.is_some() { "run --shard" } else { "run" };
    let staged = Staged::new(&opts.out, command, opts.force)?;
    // A shard's manifest records its tables' SHA-256 and rows, tallied as they are written.
    let open = |name: &str| -> anyhow::Result<Tally<BufWriter<File>>> {
        let p = staged.path(name);
        let file = File::create(&p).with_context(|| format!("cannot write {}", opts.out.join(name).display()))?;
        Ok(Tally::new(BufWriter::with_capacity(1 << 20, file), opts.shard.is_some()))
    };
    // A failed write (a full disk) is named by the file's final path.
    let tables_err = || format!("cannot write {} and years.csv", opts.out.join("trials.csv").display());
    let csv = opts.format.csv() || opts.shard.is_some();
    let (mut trials_w, mut years_w) =
        if csv { (Some(open("trials.csv")?), Some(open("years.csv")?)) } else { (None, None) };
    if let (Some(t), Some(y)) = (trials_w.as_mut(), years_w.as_mut()) {
        tables_csv::trials_header(t, model.importance.is_some())?;
        tables_csv::years_header(y, model)?;
    }
    let parquet_err = || format!("cannot write the Parquet tables into {}", opts.out.display());
    let mut parquet = match opts.format.parquet() {
        true => {
            let open = |table: crate::report::columnar::Table| -> anyhow::Result<BufWriter<File>> {
                let name = table.parquet_file();
                let f = File::create(staged.path(name))
                    .with_context(|| format!("cannot write {}", opts.out.join(name).display()))?;
                Ok(BufWriter::with_capacity(1 << 20, f))
            };
            use crate::report::columnar::Table;
            let outs = [open(Table::Trials)?, open(Table::Years)?, open(Table::Accounts)?];
            let sha = crate::app::shard::checksum(model);
            Some(LossTables::new(model, &sha, opts.seed, outs).with_context(parquet_err)?)
        }
        false => None,
    };
    let mut collected = Collected::new(model);
    let mut sim = Duration::ZERO;
    let range = match opts.shard {
        Some(sh) => sh.range(opts.trials),
        None => 0..opts.trials,
    };
    let (mut done, mut target) = (range.start, range.end);
    // What the summary keeps per trial and per (trial, account) is reserved
    // at the start, because growing by doubling can hold twice the need, and
    // briefly three times while copying. (The villages' needs are counts,
    // which do not grow with the trials.)
    let n = (range.end - range.start) as usize;
    collected.trials.reserve_exact(n);
    collected.accounts.reserve_exact(n * model.accounts.len());
    collected.min_deposits.reserve_exact(n * model.accounts.len());
    // What the charts read of the tables, kept as they are written (a whole
    // run's, when it draws them).
    let mut chart_tables = (opts.charts.is_some() && opts.shard.is_none()).then(|| ChartTables::new(model));
    loop {
        // The sink of one wave overlaps the simulation of the next, so the
        // simulation time is the whole call's, less the last wave's sink
        // (which overlaps nothing).
        let started = Instant::now();
        let last_sink = engine::simulate(model, opts.seed, done..target, opts.threads, progress, |batch| {
            if let (Some(t), Some(y)) = (trials_w.as_mut(), years_w.as_mut()) {
                tables_csv::write_batch(&batch, t, y).with_context(tables_err)?;
            }
            if let Some(p) = parquet.as_mut() {
                p.push(&batch).with_context(parquet_err)?;
            }
            collected.push(&batch);
            if let Some(t) = chart_tables.as_mut() {
                t.push(&batch);
            }
            anyhow::Ok(())
        })?;
        sim += started.elapsed().saturating_sub(last_sink);
        done = target;
        match &opts.precision {
            Some(p) if done < p.max_trials && precision_stderr(model, &collected, &p.metric) > p.rel => {
                target = (done * 2).min(p.max_trials);
            }
            _ => break,
        }
    }
    let mut tables: Vec<(&str, Option<FileRecord>)> = Vec::new();
    if let (Some(t), Some(y)) = (trials_w, years_w) {
        tables.push(("trials.csv", t.finish().with_context(tables_err)?));
        tables.push(("years.csv", y.finish().with_context(tables_err)?));
    }
    if let Some(p) = parquet {
        for c in p.finish().with_context(parquet_err)? {
            let mut out = c.out;
            std::io::Write::flush(&mut out).with_context(parquet_err)?;
            let record = FileRecord { sha256: c.sha256, rows: Some(c.rows) };
            tables.push((c.table.parquet_file(), opts.shard.is_some().then_some(record)));
        }
    }
    let total = if opts.shard.is_some() { opts.trials } else { done };
    let (summary, sizing) = match opts.shard {
        Some(sh) => {
            let tables: Vec<(&str, FileRecord)> =
                tables.into_iter().map(|(name, r)| (name, r.expect("a shard's tables are tallied"))).collect();
            crate::app::shard::write_partial(
                model,
                opts.seed,
                total,
                sh,
                &range,
                &collected,
                &tables,
                opts.format,
                &staged,
            )?;
            // A shard's own figures, for its log only: merge writes the real summary.
            (summary::build(model, opts.seed, &collected), None)
        }
        None => {
            let levels = opts.size_levels.as_deref();
            let r = write_results(model, opts.seed, total, &collected, &staged, levels, opts.lang)?;
            if opts.format.parquet() {
                write_size_curve_parquet(model, opts.seed, &r, &staged)?;
            }
            if let Some(c) = &opts.charts {
                let tables = chart_tables.map(|t| t.tables);
                draw_results(staged.dir(), model, &r, c, tables)
                    .with_context(|| format!("cannot draw the charts and report into {}", opts.out.display()))?;
            }
            (r.summary, r.sizing)
        }
    };
    let out = staged.commit()?;
    let loan_years = collected.trials.iter().map(|r| r.counts.loan_years).sum();
    Ok(RunOutcome { summary, sizing, collected, out, simulate: sim, wall: start.elapsed(), loan_years })
}

/// The charts' share of the tables ([`Tables`]), collected batch by batch.
struct ChartTables {
    tables: Tables,
    /// Bank group of each account.
    group_of: Vec<usize>,
    sums: Vec<i64>,
}

impl ChartTables {
    fn new(m: &Model) -> Self {
        let group_of = crate::report::run::bank_groups(m.accounts.iter().map(|a| m.banks[a.bank as usize].as_str()));
        let groups = group_of.iter().max().map_or(0, |g| g + 1);
        let tables = Tables { trials: Default::default(), balance_sums: vec![vec![Vec::new(); m.horizon]; groups] };
        ChartTables { tables, group_of, sums: vec![0; groups] }
    }

    fn push(&mut self, b: &crate::sim::tables::Batch) {
        self.tables.trials.rows.extend(b.trials.iter().map(|r| r.flows));
        self.tables.trials.weights.extend_from_slice(&b.weights);
        let na = b.n_accounts;
        for (k, y) in b.years.iter().enumerate() {
            self.sums.fill(0);
            for (a, bal) in b.year_balances[k * na..(k + 1) * na].iter().enumerate() {
                self.sums[self.group_of[a]] += bal.0;
            }
            for (g, &v) in self.sums.iter().enumerate() {
                self.tables.balance_sums[g][y.year as usize - 1].push(v);
            }
        }
    }
}

/// Refuses, before anything is allocated, a run of `trials` trials of each
/// model whose kept rows would not fit in the memory available.
pub fn check_memory(models: &[&Model], trials: u64, charts: bool) -> Result<(), scenario::InputError> {
    let per_trial: u64 = models
        .iter()
        .map(|m| {
            let chart =
                if charts { (std::mem::size_of::<crate::sim::tables::Flows>() + 8 * m.horizon) as u64 } else { 0 };
            Collected::bytes_per_trial(m) + chart
        })
        .sum();
    let fixed: u64 = models.iter().map(|m| Collected::fixed_bytes(m)).sum();
    crate::limits::check_memory(per_trial, fixed, trials)
        .map_err(|m| scenario::InputError::one("--trials", "", None, m))
}

/// Runs trials `0..trials` and keeps only what the statistics need (no files).
pub fn collect(model: &Model, seed: u64, trials: u64, threads: usize, progress: &(dyn Fn(u64) + Sync)) -> Collected {
    let mut c = Collected::new(model);
    let _ = engine::simulate(model, seed, 0..trials, threads, progress, |b| {
        c.push(&b);
        Ok::<(), std::convert::Infallible>(())
    });
    c
}

/// Writes `summary.json`, `scenario.resolved.yaml`, `size_curve.csv`,
/// `results.xlsx` (and `size.json` when asked) for the collected trials of a
/// whole run: the one ending that a single run and a merge of shards share,
/// so their bytes agree. Returns what it wrote, for the reports to draw from.
pub fn write_results(
    model: &Model,
    seed: u64,
    trials: u64,
    collected: &Collected,
    staged: &Staged,
    size_levels: Option<&[f64]>,
    lang: crate::report::format::Lang,
) -> anyhow::Result<RunResults> {
    let summary = summary::build(model, seed, collected);
    let mut json = serde_json::to_string_pretty(&summary)?;
    json.push('\n');
    staged.write("summary.json", json.as_bytes())?;
    staged.write("scenario.resolved.yaml", resolved_yaml(model, seed, trials).as_bytes())?;
    let curve = sizing::curve(model, collected);
    staged.write("size_curve.csv", crate::report::tables_csv::size_curve(&curve).as_bytes())?;
    let sizing = match size_levels {
        Some(levels) => {
            let size = sizing::size(model, collected, levels);
            let mut json = serde_json::to_string_pretty(&size)?;
            json.push('\n');
            staged.write("size.json", json.as_bytes())?;
            Some(size)
        }
        None => None,
    };
    let results = RunResults { summary, sizing, curve: Some(curve) };
    write_workbook(staged, &results, &crate::report::labels::Labels::of(&model.scenario), lang)?;
    Ok(results)
}

/// Writes `size_curve.parquet` of a whole run's results (`run` and `merge`
/// with Parquet).
pub fn write_size_curve_parquet(model: &Model, seed: u64, r: &RunResults, staged: &Staged) -> anyhow::Result<()> {
    use crate::report::columnar::{self, Table};
    let curve = r.curve.as_deref().unwrap_or_default();
    let bytes = crate::app::columnar::table_bytes(
        &columnar::size_curve_batch(curve),
        Table::SizeCurve,
        &crate::app::shard::checksum(model),
        seed,
    )?;
    staged.write(Table::SizeCurve.parquet_file(), &bytes)?;
    Ok(())
}

/// Writes a whole run's `results.xlsx` from its results.
fn write_workbook(
    staged: &Staged,
    r: &RunResults,
    labels: &crate::report::labels::Labels,
    lang: crate::report::format::Lang,
) -> anyhow::Result<()> {
    let bytes = workbook::run(&r.summary, r.sizing.as_ref(), r.curve.as_deref(), labels, lang)
        .with_context(|| format!("cannot build {}", workbook::FILE))?;
    staged.write(workbook::FILE, &bytes)?;
    Ok(())
}

/// The scenario as run: every default filled in, the seed and trial count
/// that were used, tapes by absolute path. `riskshare run` on it repeats the run.
pub fn resolved_yaml(model: &Model, seed: u64, trials: u64) -> String {
    let mut s = model.scenario.clone();
    s.simulation.seed = seed;
    s.simulation.trials = trials;
    format!(
        "# Resolved by riskshare {}: every key with its value as run.\n# Repeat the run with: riskshare run scenario.resolved.yaml\n{}",
        crate::ENGINE_VERSION,
        scenario::to_yaml(&s)
    )
}

/// The default output folder of a scenario: `output/<name>/`.
pub fn default_out(name: &str) -> PathBuf {
    // At most 64 characters: a long scenario name must still make a folder
    // name every file system accepts.
    let safe: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' })
        .take(64)
        .collect();
    Path::new("output").join(if safe.is_empty() { "run".to_string() } else { safe })
}
