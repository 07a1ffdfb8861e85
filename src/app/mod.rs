//! Everything that touches files: reading scenarios and tapes ([`io`]),
//! writing an output folder whole or not at all ([`output`]), running a
//! scenario into its tables and reports ([`runner`]), shards and their
//! merge ([`shard`]), and the commands that run several variants
//! ([`compare`], [`sweep`], [`stress`]) into their output folders. The CLI
//! (`main.rs`) only parses arguments, calls these and prints.

pub mod columnar;
pub mod compare;
pub mod io;
pub mod output;
pub mod runner;
pub mod shard;
pub mod stress;
pub mod sweep;

use std::path::PathBuf;

use crate::limits;
use crate::model::Model;
use crate::scenario::{InputError, Override};
use io::Source;

/// What a long command reports as it goes; the CLI draws it as a progress
/// bar.
pub trait Progress: Sync {
    /// The work ahead, in trials (known once the scenarios are built).
    fn begin(&self, total: u64);
    /// `k` more trials done.
    fn advance(&self, k: u64);
    /// The work is over (before the results are printed).
    fn end(&self);
}

/// What every command that runs trials into a folder is told: trials and
/// seed (the scenario's when not given), threads, the output folder (a
/// default named after the scenario when not given) and whether it may
/// replace an earlier output.
pub struct Settings {
    pub trials: Option<u64>,
    pub seed: Option<u64>,
    pub threads: usize,
    pub out: Option<PathBuf>,
    pub force: bool,
    /// The tail to importance-sample (`--importance auto --tail ...`); `None`: plain runs.
    pub tail: Option<crate::sim::importance::Target>,
}

/// Under `--importance auto`: the pilot chooses the measure on `base` for
/// `tail`, and every model in `others` draws under the same one, so that
/// trial k of each is drawn from one law and the pairs stay pairs (a
/// variant with other counties, industries, hazards or horizon cannot share
/// it and is refused).
pub fn share_importance(
    base: &mut Model,
    others: &mut [Model],
    tail: Option<&crate::sim::importance::Target>,
    seed: u64,
    threads: usize,
) -> Result<(), InputError> {
    let Some(target) = tail else { return Ok(()) };
    let measure = crate::sim::importance::pilot(base, seed, target, threads, &|_| {});
    for m in others.iter_mut() {
        if !measure.tilt.fits(m) {
            return Err(InputError::one(
                "--importance",
                "",
                None,
                format!(
                    "`{}` has other counties, industries, hazards or horizon than `{}`: importance sampling \
                     draws every variant under one measure, so run it on its own",
                    m.scenario.name, base.scenario.name
                ),
            ));
        }
        m.set_importance(Some(measure.clone()));
    }
    Ok(())
}

/// The trials to run: `--trials` if given, else the scenario's, within the
/// bound of one run.
pub fn trials(given: Option<u64>, scenario: u64) -> Result<u64, InputError> {
    let trials = given.unwrap_or(scenario);
    if trials == 0 || trials > limits::MAX_TRIALS {
        return Err(InputError::one(
            "--trials",
            "",
            None,
            format!(
                "expected 1 ..= {} trials, found {} (riskshare's bound for one run, shards together)",
                limits::grouped(limits::MAX_TRIALS),
                limits::grouped(trials)
            ),
        ));
    }
    Ok(trials)
}

/// The worker threads: `--threads` if given, else every core, within
/// riskshare's bound.
pub fn threads(given: Option<usize>) -> Result<usize, InputError> {
    let threads = given.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    if threads == 0 || threads > limits::MAX_THREADS {
        return Err(InputError::one(
            "--threads",
            "",
            None,
            format!("expected 1 ..= {} threads, found {threads}", limits::MAX_THREADS),
        ));
    }
    Ok(threads)
}

/// At most this many models are built together: a province's build holds
/// about 0.2 GB while it runs.
const BUILDS_AT_ONCE: usize = 4;

/// Builds the models of several (scenario, overrides) side by side (a
/// province's takes most of a second), reporting every problem in order.
/// `finish` runs on each model as soon as it is built (a sweep reduces its
/// cells there, so that the full models are never all held at once).
pub fn load_models(
    jobs: Vec<(Source, Vec<Override>)>,
    threads: usize,
    finish: &(dyn Fn(Model) -> Model + Sync),
) -> Result<Vec<Model>, InputError> {
    use rayon::prelude::*;
    let pool = crate::sim::engine::pool(threads.min(BUILDS_AT_ONCE));
    let loaded: Vec<_> = pool.install(|| {
        jobs.into_par_iter()
            .map(|(src, sets)| {
                io::load(src, &sets).map(|mut l| {
                    l.model = finish(l.model);
                    l
                })
            })
            .collect()
    });
    let mut models = Vec::new();
    let mut problems = Vec::new();
    for l in loaded {
        match l {
            Ok(l) => models.push(l.model),
            Err(e) => problems.extend(e.problems),
        }
    }
    if !problems.is_empty() {
        problems.dedup();
        return Err(InputError { problems });
    }
    Ok(models)
}
