//! `riskshare stress`: the baseline and a stressed copy of it (a preset or an
//! overlay file's `stress:` section) on the same seed, into stress.json,
//! report.html and results.xlsx.

use std::path::PathBuf;

use anyhow::Context;

use crate::report::labels::Labels;

use super::io::{self, Source};
use super::output::Staged;
use super::{Progress, Settings, runner};
use crate::analysis::stress::{self, StressReport};
use crate::report::format::Lang;
use crate::report::workbook;
use crate::scenario::{InputError, Override, Stress};

/// Where the stress comes from.
pub enum Overlay {
    /// A named preset (flood-year, epidemic, recession, combined).
    Preset(String),
    /// A YAML file holding a `stress:` section.
    File(PathBuf),
}

impl Overlay {
    /// How problems name it: as the user typed it.
    fn origin(&self) -> String {
        match self {
            Overlay::Preset(p) => format!("--preset {p}"),
            Overlay::File(f) => f.display().to_string(),
        }
    }
}

pub struct Job {
    pub scenario: Source,
    pub set: Vec<Override>,
    pub overlay: Overlay,
    /// The folder defaults to `output/<scenario name>-stress`.
    pub settings: Settings,
    /// Language of report.html and the workbook.
    pub lang: Lang,
    /// The command line, printed in report.html for reproducibility.
    pub command: String,
}

/// The files a stress test writes.
pub const FILES: [&str; 3] = ["stress.json", "report.html", workbook::FILE];

pub struct Done {
    /// Display names from the (first) scenario, for the printed tables.
    pub labels: crate::report::labels::Labels,
    pub report: StressReport,
    pub out: PathBuf,
}

/// Reads an overlay file: size and YAML limits checked as for a scenario,
/// unknown keys refused.
fn read_overlay(path: &std::path::Path) -> Result<Stress, InputError> {
    let name = path.display().to_string();
    let text = io::read_overlay(path)?;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        stress: Stress,
    }
    let de = serde_yaml_ng::Deserializer::from_str(&text);
    let file: File = serde_path_to_error::deserialize(de).map_err(|e| {
        InputError::one(&name, &e.path().to_string(), e.inner().location().map(|l| l.line()), e.inner().to_string())
    })?;
    Ok(file.stress)
}

pub fn run(job: Job, progress: &dyn Progress) -> anyhow::Result<Done> {
    let Settings { trials, seed, threads, out, force, tail } = job.settings;
    let mut base = io::load(job.scenario.clone(), &job.set)?.model;
    let stress = match &job.overlay {
        Overlay::Preset(p) => {
            stress::preset(p, &base.scenario).map_err(|m| InputError::one("--preset", "", None, m))?
        }
        Overlay::File(f) => read_overlay(f)?,
    };
    // The stressed scenario is the base with its `stress:` section set, so it
    // goes through the same validation as any scenario.
    let stress_yaml = serde_yaml_ng::to_string(&stress).context("the stress overlay as YAML")?;
    let mut sets = job.set.clone();
    sets.push(Override { path: "stress".into(), value: stress_yaml });
    // The overlay's problems are the overlay's (or the preset's), not a `--set` the user never typed.
    let origin = job.overlay.origin();
    let mut stressed = io::load(job.scenario, &sets)
        .map_err(|mut e| {
            for p in e.problems.iter_mut().filter(|p| p.origin.starts_with("--set stress=")) {
                p.origin = origin.clone();
            }
            e
        })?
        .model;
    let trials = super::trials(trials, base.scenario.simulation.trials)?;
    runner::check_memory(&[&base, &stressed], trials, false)?;
    let seed = seed.unwrap_or(base.scenario.simulation.seed);
    // The stressed run draws under the baseline's measure: the pairs stay pairs.
    super::share_importance(&mut base, std::slice::from_mut(&mut stressed), tail.as_ref(), seed, threads)?;
    let out = out.unwrap_or_else(|| runner::default_out(&format!("{}-stress", base.scenario.name)));
    let staged = Staged::new(&out, "stress", force)?;
    progress.begin(2 * trials);
    let cb = runner::collect(&base, seed, trials, threads, &|k| progress.advance(k));
    let cs = runner::collect(&stressed, seed, trials, threads, &|k| progress.advance(k));
    progress.end();
    let applied = stress::Applied {
        overlay: match &job.overlay {
            Overlay::Preset(p) => format!("--preset {p}"),
            Overlay::File(f) => format!("--overlay {}", f.display()),
        },
        set: job.set.iter().map(|o| format!("{}={}", o.path, o.value)).collect(),
    };
    let report = stress::report(&base, &stressed, &stress, applied, seed, &cb, &cs);
    let json = serde_json::to_string_pretty(&report).context("stress.json")? + "\n";
    staged.write(FILES[0], json.as_bytes())?;
    let labels = Labels::of(&base.scenario);
    let html = crate::report::stress_html::render(&report, &labels, job.lang, &job.command)?;
    staged.write(FILES[1], html.as_bytes())?;
    staged.write(FILES[2], &workbook::stress(&report, &labels, job.lang).context("results.xlsx")?)?;
    staged.commit()?;
    Ok(Done { labels, report, out })
}
