//! The `riskshare` command: a thin layer over the library. It parses
//! arguments, loads the scenario, runs, prints; exit code 0 on success, 2 on
//! bad input, 1 on an internal failure.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use riskshare::io::{self, Source};
use riskshare::report::text;
use riskshare::runner::{self, RunOptions};
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
The same seed gives the same bytes whatever --threads is.")]
    Run(RunArgs),
    /// Check a scenario and print its portfolio's totals and fund sizes.
    Validate(ScenarioArgs),
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
    /// Number of trials (default: the scenario's simulation.trials).
    #[arg(long)]
    trials: Option<u64>,
    /// Master seed (default: the scenario's simulation.seed).
    #[arg(long)]
    seed: Option<u64>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Output folder (default: output/<scenario name>/).
    #[arg(long)]
    out: Option<PathBuf>,
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
    fn from(e: anyhow::Error) -> Self {
        Failure::Internal(e)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(a) => cmd_run(a),
        Command::Validate(a) => cmd_validate(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Input(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Internal(e)) => {
            eprintln!("internal error: {e:#}");
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
        ProgressStyle::with_template("{spinner} simulating [{bar:40}] {pos}/{len} trials, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb
}

fn cmd_run(a: RunArgs) -> Result<(), Failure> {
    let started = Instant::now();
    let loaded = io::load(source(&a.scenario.scenario), &a.scenario.set)?;
    let m = &loaded.model;
    let trials = a.trials.unwrap_or(m.scenario.simulation.trials);
    if trials == 0 {
        return Err(InputError::one("--trials", "", None, "expected at least one trial").into());
    }
    let seed = a.seed.unwrap_or(m.scenario.simulation.seed);
    let threads = a.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    if threads == 0 {
        return Err(InputError::one("--threads", "", None, "expected at least one thread").into());
    }
    let out = a.out.unwrap_or_else(|| runner::default_out(&m.scenario.name));
    let pb = progress_bar(trials);
    let opts = RunOptions { seed, trials, threads, out };
    let outcome = runner::run(m, &opts, &|k| pb.inc(k))?;
    pb.finish_and_clear();
    print!("{}", text::run_table(&outcome.summary));
    println!(
        "\nthroughput: {} loan-years/s ({} loan-years in {:.2} s of simulation on {} thread(s))",
        text::sci(outcome.loan_years_per_second()),
        text::sci(outcome.loan_years as f64),
        outcome.simulate.as_secs_f64(),
        threads
    );
    println!("wall time {:.2} s; outputs in {}", started.elapsed().as_secs_f64(), outcome.out.display());
    Ok(())
}
