//! The `riskshare` command: a thin layer over the library. It parses
//! arguments, loads the scenario, runs, prints; exit code 0 on success, 2 on
//! bad input, 1 on an internal failure.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use riskshare::app::io::{self, Source};
use riskshare::app::output::OutputError;
use riskshare::app::runner::{self, RunOptions};
use riskshare::app::{self, Progress};
use riskshare::limits;
use riskshare::model::importance::TWIST_SHARE;
use riskshare::report::labels::Labels;
use riskshare::report::text;
use riskshare::scenario::{InputError, Override};

const ABOUT: &str = "Monte Carlo risk engine for county loan risk-sharing schemes.

riskshare simulates thousands of possible futures of a loan book (defaults,
natural disasters, livestock epidemics, personal shocks) and routes every
loss through the scheme's layers: collateral, insurance, the village risk
mutual fund, the county compensation fund deposited at each bank (10:1), and
the 60:40 government:bank split. It reports what each layer pays and how
likely each fund is to run dry.";

const AFTER: &str = "Examples:
  riskshare run                              the built-in Wangcang scenario
  riskshare run scenarios/wangcang.yaml --trials 50000 --out output/wc
  riskshare run --set funds.compensation.deposit_ratio=8 --set economy.rho=0.2
  riskshare validate scenarios/wangcang.yaml  check a file, print its portfolio

Scenario keys are documented in docs/scenario.md.";

#[derive(Parser)]
#[command(name = "riskshare", version, about = ABOUT, long_about = ABOUT, after_help = AFTER)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario and write the loss tables and summary.
    #[command(after_help = "Writes to --out (default output/<scenario name>/): trials.csv (one row per trial),\n\
years.csv (one row per trial and year, with fund balances), summary.json (statistics)\n\
and scenario.resolved.yaml (the scenario with every default, to repeat the run).\n\
--format parquet (or both) writes the tables as Parquet, with accounts.parquet besides\n\
(docs/outputs.md); CSV stays the default: the files earlier runs wrote, and the fastest.\n\
The same seed gives the same bytes whatever --threads is.")]
    Run(RunArgs),
    /// Check a scenario and print its portfolio's totals and fund sizes.
    Validate(ScenarioArgs),
    /// Size the funds: the deposit ratio (and village share) that lasts the horizon.
    #[command(after_help = "For each bank's compensation account: the smallest deposit that lasts the horizon\n\
with each confidence, as a loans:fund ratio (e.g. 7.8:1) and in yuan, with a 95 % interval,\n\
and whether today's deposit is enough. Likewise the village fund share. Writes the run's\n\
usual outputs plus size.json and size_curve.csv (ratio against depletion probability).\n\n\
Sizing holds the village fund at the scenario's share (it pays before the compensation\n\
fund); size the village share first if both change. Top-ups are not counted.\n\n\
Examples:\n  riskshare size --confidence 0.99\n  riskshare size scenarios/wangcang.yaml --precision 0.05 --metric comp_fund")]
    Size(SizeArgs),
    /// Compare policy variants on the same random futures (common random numbers).
    #[command(after_help = "Runs every scenario with the same seed and trials. Random draws are addressed by\n\
component ids, so trial k of each scenario sees the same economy, disasters, epidemics\n\
and shocks wherever the scenarios share them; differences to the first scenario are\n\
paired trial by trial, with 95 % intervals; then what each scenario commits and costs\n\
(deposits per bank, budget, leverage, the fiscal cost's parts, each bank's chance of running\n\
dry). Writes comparison.json, comparison.csv, the bar charts comparison.svg and\n\
comparison_money.svg, and results.xlsx (the tables as an Excel workbook).\n\n\
Example:\n  riskshare compare scenarios/wangcang.yaml scenarios/wangcang-ratio-8.yaml --trials 20000")]
    Compare(CompareArgs),
    /// Run a grid over scenario keys: one row of key metrics per cell.
    #[command(after_help = "Every cell runs the same seed and trials. When only funds.* keys vary (deposit\n\
ratio, village share, government share, shortfall bearer, top-ups ...), each trial is\n\
drawn once and only the funds and waterfall are re-run per cell, with the same results\n\
as full re-runs. Each cell also shows the money it moves: deposits per bank, budget,\n\
leverage, the fiscal cost's parts, each bank's chance of running dry. Writes sweep.csv,\n\
sweep.json, sweep_money.svg, results.xlsx and, for two keys, sweep_heatmap.svg.\n\n\
Example:\n  riskshare sweep --vary funds.compensation.deposit_ratio=6,8,10,12,14 --vary funds.village.share=0.03,0.05")]
    Sweep(SweepArgs),
    /// Stress test: a deterministic overlay (a flood year, an epidemic, a recession ...)
    /// against the baseline on the same seed.
    #[command(after_help = "Presets: flood-year (year 1, a flood on half the villages, damage 0.5), epidemic\n\
(year 1, every disease on half the villages, 80 % mortality), recession (the county\n\
factor at its 1-in-100 level every year), combined (all three, pds x 1.5).\n\
Give one of --preset and --overlay; an overlay file holds a `stress:` section (see\n\
docs/scenario.md). Writes stress.json, report.html (baseline and stressed side by side,\n\
the fiscal cost part by part, each bank; --lang zh for Chinese) and results.xlsx.\n\n\
Example:\n  riskshare stress --preset flood-year --trials 20000")]
    Stress(StressArgs),
    /// Redraw the charts and report.html of a finished run, without simulating.
    Report(ReportArgs),
    /// Merge the partial results of sharded runs (`run --shard I/N`) into one output.
    #[command(after_help = "Checks that the partials come from the same scenario, seed, trial count and\n\
engine version, and that their trial ranges tile the run without gap or overlap; then\n\
writes trials.csv, years.csv and summary.json byte-identical to a single run.\n\n\
Example:\n  for i in 0 1 2; do riskshare run --trials 30000 --shard $i/3 --out part$i & done; wait\n  riskshare merge part0 part1 part2 --out merged")]
    Merge(MergeArgs),
}

/// Trials, seed and threads of the commands that run several scenarios.
#[derive(Args)]
struct TrialArgs {
    /// Trials (default: the (first) scenario's simulation.trials).
    #[arg(long)]
    trials: Option<u64>,
    /// Seed (default: the (first) scenario's simulation.seed); the same for every run.
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Importance sampling for the rare tail (docs/tail.md): `auto` draws the trials
    /// under a change of measure a short pilot chooses for --tail, and writes each
    /// trial's likelihood ratio as the last column of trials.csv and years.csv
    /// (`weight`); `off` is plain Monte Carlo.
    #[arg(long, value_enum, default_value = "off")]
    importance: Importance,
    /// The tail --importance auto aims at: `auto` (any compensation account running
    /// dry; the default), `COLUMN:P` (a trials.csv column's level exceeded with
    /// probability P, e.g. exposure:1e-4, bank_loss:1e-3) or `COLUMN` (the event
    /// COLUMN > 0, e.g. comp_accounts_exhausted).
    #[arg(long, value_name = "auto|COLUMN:P|COLUMN")]
    tail: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Importance {
    Auto,
    Off,
}

/// The tail an importance-sampled run aims at, or `None` for a plain run.
fn tail_of(t: &TrialArgs) -> Result<Option<riskshare::sim::importance::Target>, Failure> {
    use riskshare::sim::importance::Target;
    match (t.importance, &t.tail) {
        (Importance::Off, None) => Ok(None),
        (Importance::Off, Some(tail)) => Err(InputError::one(
            "--tail",
            "",
            None,
            format!("--tail {tail} aims importance sampling, which is off: add --importance auto"),
        )
        .into()),
        (Importance::Auto, tail) => Target::parse(tail.as_deref().unwrap_or("auto"))
            .map(Some)
            .map_err(|m| InputError::one("--tail", "", None, m).into()),
    }
}

#[derive(Args)]
struct CompareArgs {
    /// Scenario files; the first is the baseline.
    #[arg(required = true, num_args = 2..)]
    scenarios: Vec<PathBuf>,
    #[command(flatten)]
    common: TrialArgs,
    /// Output folder (default: output/compare/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace an earlier riskshare output in the output folder (files riskshare did not
    /// write are never replaced or removed).
    #[arg(long)]
    force: bool,
    /// Language of the printed table, the charts and results.xlsx: en or zh.
    #[arg(long, default_value = "en")]
    lang: riskshare::report::charts::Lang,
    /// The comparison table as csv, parquet or both (docs/outputs.md). Default csv: the files every
    /// earlier run wrote, and the fastest; Parquet (typed, exact money) on request.
    #[arg(long, default_value = "csv", value_name = "csv|parquet|both")]
    format: riskshare::app::columnar::Format,
}

#[derive(Args)]
struct MergeArgs {
    /// Partial result folders written by `riskshare run --shard I/N`.
    #[arg(required = true)]
    partials: Vec<PathBuf>,
    /// Output folder (not one of the partials).
    #[arg(long)]
    out: PathBuf,
    /// Replace an earlier riskshare output in the output folder (files riskshare did not
    /// write are never replaced or removed).
    #[arg(long)]
    force: bool,
    /// Skip the charts and report.html (results.xlsx is written all the same).
    #[arg(long)]
    no_charts: bool,
    /// Language of the report, the SVG charts and results.xlsx: en or zh.
    #[arg(long, default_value = "en")]
    lang: riskshare::report::charts::Lang,
    /// The tables as csv, parquet or both (docs/outputs.md). Default: the format the shards
    /// ran with (csv unless they were given --format).
    #[arg(long, value_name = "csv|parquet|both")]
    format: Option<riskshare::app::columnar::Format>,
}

#[derive(Args)]
struct SweepArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// A key and its values, e.g. funds.compensation.deposit_ratio=8,10,12 (repeatable).
    #[arg(long, required = true, value_name = "KEY=V1,V2,...")]
    vary: Vec<riskshare::analysis::sweep::Axis>,
    #[command(flatten)]
    common: TrialArgs,
    /// Output folder (default: output/<scenario name>-sweep/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace an earlier riskshare output in the output folder (files riskshare did not
    /// write are never replaced or removed).
    #[arg(long)]
    force: bool,
    /// Re-run every cell in full even when the fast path applies.
    #[arg(long)]
    full: bool,
    /// Language of the printed tables, the charts and results.xlsx: en or zh.
    #[arg(long, default_value = "en")]
    lang: riskshare::report::charts::Lang,
    /// The sweep table as csv, parquet or both (docs/outputs.md). Default csv: the files every
    /// earlier run wrote, and the fastest; Parquet (typed, exact money) on request.
    #[arg(long, default_value = "csv", value_name = "csv|parquet|both")]
    format: riskshare::app::columnar::Format,
}

#[derive(Args)]
struct StressArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    /// flood-year, epidemic, recession or combined (or give --overlay).
    #[arg(long, conflicts_with = "overlay")]
    preset: Option<String>,
    /// A YAML file with a `stress:` section.
    #[arg(long)]
    overlay: Option<PathBuf>,
    #[command(flatten)]
    common: TrialArgs,
    /// Output folder (default: output/<scenario name>-stress/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace an earlier riskshare output in the output folder (files riskshare did not
    /// write are never replaced or removed).
    #[arg(long)]
    force: bool,
    /// Language of the printed table, report.html and results.xlsx: en or zh.
    #[arg(long, default_value = "en")]
    lang: riskshare::report::charts::Lang,
}

#[derive(Args)]
struct ReportArgs {
    /// A finished run's output folder.
    dir: PathBuf,
    /// Language of the report, the SVG charts and results.xlsx: en or zh.
    #[arg(long, default_value = "en")]
    lang: riskshare::report::charts::Lang,
}

#[derive(Args)]
struct SizeArgs {
    #[command(flatten)]
    run: RunArgs,
    /// Confidence levels to size for (repeatable; default 0.90 0.95 0.99 0.995).
    #[arg(long = "confidence", value_name = "LEVEL")]
    confidence: Vec<f64>,
    /// What to size: comp (the compensation deposits), village (the village share) or both.
    #[arg(long, value_enum, default_value = "both")]
    target: Target,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Target {
    Comp,
    Village,
    Both,
}

#[derive(Args)]
struct ScenarioArgs {
    /// Scenario file (YAML); the built-in Wangcang scenario if omitted.
    scenario: Option<PathBuf>,
    /// Override a scenario key by its dotted path, e.g. `economy.rho=0.2` or
    /// `hazards.perils.flood.rate=0.5` (list elements by id or index). Repeatable.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<Override>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    scenario: ScenarioArgs,
    #[command(flatten)]
    common: TrialArgs,
    /// Output folder (default: output/<scenario name>/). It must be new, empty, or an
    /// earlier riskshare output (replaced only with --force).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace an earlier riskshare output in the output folder (files riskshare did not
    /// write are never replaced or removed).
    #[arg(long)]
    force: bool,
    /// Keep doubling the trials until the metric's relative standard error is at most REL
    /// (e.g. 0.02); reproducible: the same seed and precision give the same trials.
    #[arg(long, value_name = "REL")]
    precision: Option<f64>,
    /// The metric --precision targets: a money column's mean (comp_fund, bank_loss, ...),
    /// comp_exhausted (the probability that any compensation account runs dry) or, with
    /// --importance auto, tail (the probability of --tail: its column above the pilot's
    /// level, e.g. `--precision 0.1 --metric tail`).
    #[arg(long, default_value = "comp_fund", requires = "precision")]
    metric: String,
    /// Most trials a --precision run may use.
    #[arg(long, default_value_t = 10_000_000, requires = "precision")]
    max_trials: u64,
    /// Skip the charts (PNG and SVG) and report.html (results.xlsx is written all the same).
    #[arg(long)]
    no_charts: bool,
    /// Language of the report, the SVG charts and results.xlsx: en or zh.
    #[arg(long, default_value = "en")]
    lang: riskshare::report::charts::Lang,
    /// Run only shard I of N (0-based) of the trials and write a partial result
    /// for `riskshare merge`. Results do not depend on how a run is sharded.
    #[arg(long, value_name = "I/N", conflicts_with = "precision")]
    shard: Option<runner::Shard>,
    /// The tables: trials, years (and accounts, size_curve) as csv, parquet or both (docs/outputs.md). Default csv: the files every
    /// earlier run wrote, and the fastest; Parquet (typed, exact money) on request.
    #[arg(long, default_value = "csv", value_name = "csv|parquet|both")]
    format: riskshare::app::columnar::Format,
}

/// How a command failed: bad input (exit 2) or an internal failure (exit 1).
enum Failure {
    Input(InputError),
    Internal(anyhow::Error),
}

impl From<InputError> for Failure {
    fn from(e: InputError) -> Self {
        Failure::Input(e)
    }
}
impl From<anyhow::Error> for Failure {
    /// An output folder riskshare may not write to is the user's input, wherever it was found.
    fn from(e: anyhow::Error) -> Self {
        if let Some(i) = e.chain().find_map(|c| c.downcast_ref::<InputError>()) {
            return Failure::Input(i.clone());
        }
        match e.chain().find_map(|c| match c.downcast_ref::<OutputError>() {
            Some(OutputError::Refused(m)) => Some(m.clone()),
            _ => None,
        }) {
            Some(m) => Failure::Input(InputError::one("--out", "", None, m)),
            None => Failure::Internal(e),
        }
    }
}
impl From<OutputError> for Failure {
    fn from(e: OutputError) -> Self {
        Failure::from(anyhow::Error::from(e))
    }
}

fn main() -> ExitCode {
    // Ctrl-C or SIGTERM: remove the staging folders (a commit in progress
    // finishes first), so an interrupted command leaves nothing behind.
    let _ = ctrlc::set_handler(|| {
        riskshare::app::output::remove_all_staging();
        eprintln!("\ninterrupted: no partial output is left behind");
        std::process::exit(130);
    });
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(a) => cmd_run(a),
        Command::Validate(a) => cmd_validate(a),
        Command::Size(a) => cmd_size(a),
        Command::Merge(a) => cmd_merge(a),
        Command::Compare(a) => cmd_compare(a),
        Command::Report(a) => cmd_report(a),
        Command::Sweep(a) => cmd_sweep(a),
        Command::Stress(a) => cmd_stress(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Internal(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// Prints to stdout; a closed pipe (`riskshare validate | head`) is not an error.
fn out(text: &str) {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

fn source(p: &Option<PathBuf>) -> Source {
    match p {
        Some(p) => Source::File(p.clone()),
        None => Source::Builtin,
    }
}

fn cmd_validate(a: ScenarioArgs) -> Result<(), Failure> {
    let loaded = io::load(source(&a.scenario), &a.set)?;
    let m = &loaded.model;
    out(&format!("{}: valid ({})\n", m.scenario.name, loaded.source.name()));
    out(&text::portfolio(m));
    Ok(())
}

fn progress_bar(total: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
    }
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    pb.set_style(
        ProgressStyle::with_template("{spinner} simulating [{bar:40}] {pos}/{len} trials, {rate} trials/s, eta {eta}")
            .map(|style| {
                // indicatif's own {per_sec} prints four decimals ("17,925.9468/s").
                style.with_key("rate", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = w.write_str(&riskshare::report::format::group(state.per_sec(), 0));
                })
            })
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb
}

fn cmd_run(a: RunArgs) -> Result<(), Failure> {
    run_and_print(a, None).map(|_| ())
}

fn cmd_size(a: SizeArgs) -> Result<(), Failure> {
    let levels =
        if a.confidence.is_empty() { riskshare::analysis::sizing::LEVELS.to_vec() } else { a.confidence.clone() };
    if let Some(bad) = levels.iter().find(|c| !(**c > 0.0 && **c < 1.0)) {
        return Err(
            InputError::one("--confidence", "", None, format!("expected a level in (0, 1), found {bad}")).into()
        );
    }
    let lang = a.run.lang;
    let outcome = run_and_print(a.run, Some(levels))?;
    if let Some(sizing) = &outcome.0.sizing {
        let labels = Labels::of(&outcome.1.scenario);
        let (comp, village) = (a.target != Target::Village, a.target != Target::Comp);
        out(&format!("\n{}", text::sizing_table(sizing, &labels, lang, comp, village)));
    }
    out(&format!("size.json and size_curve.csv in {}\n", outcome.0.out.display()));
    Ok(())
}

fn threads_of(t: Option<usize>) -> Result<usize, Failure> {
    Ok(app::threads(t)?)
}

/// The CLI's progress bar as the library's [`Progress`].
struct Bar(ProgressBar);

impl Progress for Bar {
    fn begin(&self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&self, k: u64) {
        self.0.inc(k);
    }
    fn end(&self) {
        self.0.finish_and_clear();
    }
}

fn cmd_compare(a: CompareArgs) -> Result<(), Failure> {
    let job = app::compare::Job {
        scenarios: a.scenarios.into_iter().map(Source::File).collect(),
        settings: settings(a.common, a.out, a.force)?,
        lang: a.lang,
        format: a.format,
    };
    let done = app::compare::run(job, &Bar(progress_bar(0)))?;
    out(&text::comparison_table(&done.comparison, &done.labels, a.lang));
    out(&format!("{} in {}\n", and_list(&app::compare::FILES), done.out.display()));
    Ok(())
}

fn cmd_sweep(a: SweepArgs) -> Result<(), Failure> {
    let job = app::sweep::Job {
        scenario: source(&a.scenario.scenario),
        set: a.scenario.set,
        vary: a.vary,
        settings: settings(a.common, a.out, a.force)?,
        full: a.full,
        lang: a.lang,
        format: a.format,
    };
    let done = app::sweep::run(job, &Bar(progress_bar(0)))?;
    out(&text::sweep_table(&done.axes, &done.sweep.cells, &done.labels, a.lang));
    out(&format!(
        "{} cells x {} trials in {:.2} s ({}); sweep.csv, sweep.json, results.xlsx and charts in {}\n",
        done.sweep.cells.len(),
        riskshare::report::format::group(done.sweep.trials as f64, 0),
        done.elapsed.as_secs_f64(),
        if done.sweep.fast_path { "fast path: draws shared, funds re-run per cell" } else { "full re-runs" },
        done.out.display()
    ));
    Ok(())
}

fn cmd_stress(a: StressArgs) -> Result<(), Failure> {
    let overlay = match (a.preset, a.overlay) {
        (Some(p), _) => app::stress::Overlay::Preset(p),
        (None, Some(f)) => app::stress::Overlay::File(f),
        (None, None) => {
            let presets = riskshare::analysis::stress::PRESETS.join(", ");
            return Err(InputError::one(
                "stress",
                "",
                None,
                format!(
                    "give --preset NAME ({presets}) or --overlay FILE (a YAML file with a `stress:` section): \
                     one of the two is needed"
                ),
            )
            .into());
        }
    };
    let job = app::stress::Job {
        scenario: source(&a.scenario.scenario),
        set: a.scenario.set,
        overlay,
        settings: settings(a.common, a.out, a.force)?,
        lang: a.lang,
        command: command_line(),
    };
    let done = app::stress::run(job, &Bar(progress_bar(0)))?;
    out(&text::stress_table(&done.report, &done.labels, a.lang));
    out(&format!("{} in {}\n", and_list(&app::stress::FILES), done.out.display()));
    out(&format!("report: {}\n", done.out.join("report.html").display()));
    Ok(())
}

fn settings(t: TrialArgs, out: Option<PathBuf>, force: bool) -> Result<app::Settings, Failure> {
    let tail = tail_of(&t)?;
    Ok(app::Settings { trials: t.trials, seed: t.seed, threads: threads_of(t.threads)?, out, force, tail })
}

/// "a, b and c".
fn and_list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// The command line as typed, for the report's reproducibility line.
fn command_line() -> String {
    let mut args: Vec<String> = std::env::args().collect();
    if let Some(first) = args.first_mut() {
        *first = "riskshare".into();
    }
    args.join(" ")
}

fn cmd_report(a: ReportArgs) -> Result<(), Failure> {
    runner::redraw(&a.dir, &runner::Charts { lang: a.lang, command: command_line() })?;
    out(&format!("charts, report.html and results.xlsx redrawn in {}\n", a.dir.display()));
    Ok(())
}

fn cmd_merge(a: MergeArgs) -> Result<(), Failure> {
    let charts = (!a.no_charts).then(|| runner::Charts { lang: a.lang, command: command_line() });
    let (summary, m) = riskshare::app::shard::merge(&a.partials, &a.out, a.force, charts.as_ref(), a.lang, a.format)
        .map_err(|e| {
            // Partials that do not fit together are the user's input, not our failure;
            // a full disk is not.
            if e.chain().any(|c| matches!(c.downcast_ref::<OutputError>(), Some(OutputError::Io { .. }))) {
                Failure::Internal(e)
            } else {
                Failure::Input(InputError::one("merge", "", None, format!("{e:#}")))
            }
        })?;
    out(&text::run_table(&summary, &Labels::of(&m.scenario), a.lang));
    out(&format!("merged {} partial results into {}\n", a.partials.len(), a.out.display()));
    Ok(())
}

/// What a `--precision` run reached: the relative standard error of its
/// metric, the 95 % interval's half-width it means, and whether it met the
/// target or stopped at --max-trials.
fn precision_line(p: &runner::Precision, reached: f64, trials: u64) -> String {
    use riskshare::report::format::{group, pct};
    let what = if p.metric == "comp_exhausted" {
        "the probability that a compensation account runs dry".to_string()
    } else if p.metric == runner::TAIL_METRIC {
        "the tail's probability".to_string()
    } else {
        format!("the mean of {}", p.metric)
    };
    let trials = group(trials as f64, 0);
    if !reached.is_finite() {
        return format!(
            "precision: {what} is 0 in all {trials} trials, so it has no relative error; stopped at --max-trials\n"
        );
    }
    let half = riskshare::analysis::stats::z_for(riskshare::analysis::summary::CONFIDENCE) * reached;
    format!(
        "precision: {what} to within ±{} (95 %; relative standard error {}) after {trials} trials; {}\n",
        pct(half),
        pct(reached),
        if reached > p.rel {
            format!("asked at most {}, stopped at --max-trials", pct(p.rel))
        } else {
            format!("asked at most {}", pct(p.rel))
        }
    )
}

/// What the pilot chose: the tail, its level, the largest factor shift, rate
/// factor and severity shift, the step kept, and the loans the inner twist draws.
fn importance_line(ms: &riskshare::sim::importance::Measure, twisted: usize, secs: f64) -> String {
    let t = &ms.tilt;
    let (shift, rate, theta) = t.extremes();
    let level = if ms.target.contains(':') { format!(" (level {})", text::sci(ms.level)) } else { String::new() };
    let twist = if twisted > 0 {
        format!(
            "; inner twist on the {twisted} loans of CNY {} or more",
            riskshare::report::format::group(TWIST_SHARE * ms.twist_level, 0)
        )
    } else {
        String::new()
    };
    format!(
        "importance sampling: {} {}{level}; pilot of {} x {} trials in {secs:.2} s; {} factor shifts (the largest {shift:+.3}), \
         largest event-rate factor {rate:.3}, largest severity shift {theta:.3}; step x{:.1} (factors), x{:.1} (hazards){twist}\n",
        ms.method,
        ms.target,
        ms.pilot_rounds,
        riskshare::report::format::group(ms.pilot_trials as f64, 0),
        t.shifts.len(),
        ms.factor_scale,
        ms.hazard_scale,
    )
}

/// Loads, runs and prints the run table; returns the outcome and the model.
fn run_and_print(
    a: RunArgs,
    size_levels: Option<Vec<f64>>,
) -> Result<(runner::RunOutcome, riskshare::model::Model), Failure> {
    let started = Instant::now();
    let loaded = io::load(source(&a.scenario.scenario), &a.scenario.set)?;
    let mut m = loaded.model;
    let trials = app::trials(a.common.trials, m.scenario.simulation.trials)?;
    let seed = a.common.seed.unwrap_or(m.scenario.simulation.seed);
    let threads = threads_of(a.common.threads)?;
    let tail = tail_of(&a.common)?;
    let precision = match a.precision {
        None => None,
        Some(rel) => {
            if !(rel > 0.0 && rel < 1.0) {
                return Err(InputError::one(
                    "--precision",
                    "",
                    None,
                    format!("expected a relative error in (0, 1), found {rel}"),
                )
                .into());
            }
            let known = runner::precision_metrics();
            if !known.contains(&a.metric.as_str()) {
                let hint = riskshare::scenario::nearest(&a.metric, &known)
                    .map(|n| format!("; did you mean `{n}`?"))
                    .unwrap_or_default();
                return Err(InputError::one(
                    "--metric",
                    "",
                    None,
                    format!("unknown metric `{}`{hint} (known: {})", a.metric, known.join(", ")),
                )
                .into());
            }
            let max_trials = app::trials(Some(a.max_trials), 0).map_err(|_| {
                InputError::one(
                    "--max-trials",
                    "",
                    None,
                    format!("expected 1 ..= {} trials, found {}", limits::grouped(limits::MAX_TRIALS), a.max_trials),
                )
            })?;
            if a.metric == runner::TAIL_METRIC && tail.is_none() {
                return Err(InputError::one(
                    "--metric",
                    "",
                    None,
                    "`tail` is the tail figure of an importance-sampled run: add --importance auto (and --tail)",
                )
                .into());
            }
            Some(runner::Precision { rel, metric: a.metric.clone(), max_trials: max_trials.max(trials) })
        }
    };
    let out_dir = a.out.unwrap_or_else(|| runner::default_out(&m.scenario.name));
    if let Some(target) = &tail {
        // A run too large for memory is refused before the pilot spends its
        // seconds; the run checks again once the measure (and its weights) is set.
        let kept = a.shard.map_or(trials, |sh| sh.range(trials).end - sh.range(trials).start);
        runner::check_memory(&[&m], kept, !a.no_charts && a.shard.is_none())?;
        let pilot_started = Instant::now();
        let pb = progress_bar(0);
        let measure = riskshare::sim::importance::pilot(&mut m, seed, target, threads, &|k| pb.inc(k));
        pb.finish_and_clear();
        out(&importance_line(
            &measure,
            m.twist.as_ref().map_or(0, |tw| tw.loans.len()),
            pilot_started.elapsed().as_secs_f64(),
        ));
    }
    let pb = progress_bar(if precision.is_some() { a.max_trials.max(trials) } else { trials });
    let shard = a.shard;
    let charts = (!a.no_charts && shard.is_none()).then(|| runner::Charts { lang: a.lang, command: command_line() });
    let opts = RunOptions {
        seed,
        trials,
        threads,
        out: out_dir,
        precision,
        size_levels,
        shard,
        charts,
        force: a.force,
        lang: a.lang,
        format: a.format,
    };
    let outcome = runner::run(&m, &opts, &|k| pb.inc(k))?;
    pb.finish_and_clear();
    match shard {
        Some(sh) => {
            let r = sh.range(trials);
            out(&format!(
                "shard {}/{}: trials {}..{} of {} written as a partial result (merge with `riskshare merge`)\n",
                sh.index, sh.count, r.start, r.end, trials
            ));
        }
        None => out(&text::run_table(&outcome.summary, &Labels::of(&m.scenario), a.lang)),
    }
    out(&format!(
        "\nthroughput: {} loan-years/s ({} loan-years in {:.2} s of simulation on {} thread(s))\n",
        text::sci(outcome.loan_years_per_second()),
        text::sci(outcome.loan_years as f64),
        outcome.simulate.as_secs_f64(),
        threads
    ));
    if let Some(p) = &opts.precision {
        // What the doubling reached, so a run that hit --max-trials says so.
        out(&precision_line(p, runner::precision_stderr(&m, &outcome.collected, &p.metric), outcome.summary.trials));
        if let Some((prob, se, what)) = runner::tail_figure(&m, &outcome.collected).filter(|_| p.metric == "tail") {
            out(&format!("tail: P({what}) = {} ± {} (95 %)\n", text::sci(prob), text::sci(1.96 * se)));
        }
    }
    out(&format!("wall time {:.2} s; outputs in {}\n", started.elapsed().as_secs_f64(), outcome.out.display()));
    if opts.charts.is_some() {
        out(&format!("report: {}\n", outcome.out.join("report.html").display()));
    }
    Ok((outcome, m))
}
