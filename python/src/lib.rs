//! `riskshare._native`: the Python package's native module. It calls the
//! library and app functions the CLI calls (`app::io::load`,
//! `engine::simulate`, `summary::build`, `importance::pilot`,
//! `app::runner::run`, `app::compare::run`, `app::sweep::run`,
//! `app::stress::run`) and hands their results to Python: tables as Arrow
//! record batches from `report::columnar`, passed to pyarrow through the
//! Arrow C data interface without a copy; the summary and the analyses'
//! results as the JSON text their files hold. The
//! user-facing API (argument forms, tqdm, docstrings) is the Python package
//! around it, `riskshare/__init__.py`.
//!
//! Simulating releases the GIL (`Python::detach`); a progress callback
//! takes it back at most ten times a second.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_pyarrow::{IntoPyArrow, Table};
use arrow_schema::SchemaRef;
use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyList;

use riskshare::analysis::sizing;
use riskshare::analysis::summary::{self, Collected};
use riskshare::analysis::sweep::Axis;
use riskshare::app::columnar::Format;
use riskshare::app::io::{self, Source};
use riskshare::app::output::OutputError;
use riskshare::app::{self, runner};
use riskshare::model::Model;
use riskshare::report::columnar;
use riskshare::report::format::Lang;
use riskshare::scenario::{InputError, Override};
use riskshare::sim::{engine, importance};

create_exception!(
    riskshare,
    ScenarioError,
    PyValueError,
    "Bad input: the scenario, an override or an argument. `.problems` lists each problem \
     (file, key, line, message); str() names them as the CLI prints them."
);

/// One problem with the input, as the CLI reports it.
#[pyclass(frozen, get_all, module = "riskshare")]
struct Problem {
    /// The scenario file (`<string>` or `<dict>` for one given in memory), a
    /// loan tape, `--set KEY=VALUE` or the argument (`--trials`).
    file: String,
    /// The dotted key path (`portfolio.cohorts[0].banks`); empty where the
    /// problem is the whole file's.
    key: String,
    /// The 1-based line in the file, where the parser knows it.
    line: Option<usize>,
    message: String,
}

#[pymethods]
impl Problem {
    fn __str__(&self) -> String {
        self.as_problem().to_string()
    }
    fn __repr__(&self) -> String {
        format!(
            "Problem(file={:?}, key={:?}, line={}, message={:?})",
            self.file,
            self.key,
            self.line.map_or("None".to_string(), |l| l.to_string()),
            self.message
        )
    }
}

impl Problem {
    fn as_problem(&self) -> riskshare::scenario::Problem {
        riskshare::scenario::Problem {
            origin: self.file.clone(),
            path: self.key.clone(),
            line: self.line,
            message: self.message.clone(),
        }
    }
}

/// `ScenarioError` carrying the problems, its message the CLI's.
fn input_error(py: Python<'_>, e: &InputError) -> PyErr {
    let err = ScenarioError::new_err(e.to_string());
    let problems: Vec<Problem> = e
        .problems
        .iter()
        .map(|p| Problem { file: p.origin.clone(), key: p.path.clone(), line: p.line, message: p.message.clone() })
        .collect();
    match PyList::new(py, problems).and_then(|list| err.value(py).setattr("problems", list)) {
        Ok(()) => err,
        Err(e) => e,
    }
}

/// A command's failure as the CLI classes it: the user's input (an
/// `InputError` anywhere in the chain, or an output folder riskshare may
/// not use) raises `ScenarioError`, anything else `RuntimeError`.
fn failure(py: Python<'_>, e: anyhow::Error) -> PyErr {
    if let Some(i) = e.chain().find_map(|c| c.downcast_ref::<InputError>()) {
        return input_error(py, i);
    }
    if let Some(m) = e.chain().find_map(|c| match c.downcast_ref::<OutputError>() {
        Some(OutputError::Refused(m)) => Some(m.clone()),
        _ => None,
    }) {
        return input_error(py, &InputError::one("out", "", None, m));
    }
    PyRuntimeError::new_err(format!("{e:#}"))
}

/// A scenario as the Python package hands it over: `("builtin", "", "")`,
/// `("file", path, "")` or `("text", name, yaml)`.
fn source((kind, a, b): (String, String, String)) -> PyResult<Source> {
    match kind.as_str() {
        "builtin" => Ok(Source::Builtin),
        "file" => Ok(Source::File(PathBuf::from(a))),
        "text" => Ok(Source::Text { name: a, text: b }),
        other => Err(PyValueError::new_err(format!("unknown scenario source `{other}`"))),
    }
}

/// `--set` overrides as typed (`KEY=VALUE`).
fn overrides(set: Vec<String>) -> Result<Vec<Override>, InputError> {
    set.iter().map(|s| s.parse().map_err(|m: String| InputError::one("--set", "", None, m))).collect()
}

fn lang(s: &str) -> Result<Lang, InputError> {
    s.parse().map_err(|m: String| InputError::one("lang", "", None, m))
}

/// The tables' files: `csv`, `parquet` or `both`, as `--format`.
fn format(s: &str) -> Result<Format, InputError> {
    s.parse().map_err(|m: String| InputError::one("format", "", None, m))
}

/// `tail` as `--importance auto --tail` reads it; `None` is a plain run.
fn target(tail: Option<String>) -> Result<Option<importance::Target>, InputError> {
    tail.map(|t| importance::Target::parse(&t).map_err(|e| InputError::one("tail", "", None, e))).transpose()
}

/// Progress reported to a Python callable `(done, total)`, from whichever
/// thread advances it: at most every 100 ms, and always at the beginning and
/// the end. The callable's first exception is kept and raised after the run.
struct Reporter {
    callback: Option<Py<PyAny>>,
    total: AtomicU64,
    done: AtomicU64,
    last: Mutex<Option<Instant>>,
    error: Mutex<Option<PyErr>>,
}

impl Reporter {
    fn new(callback: Option<Py<PyAny>>) -> Self {
        Reporter {
            callback,
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            last: Mutex::new(None),
            error: Mutex::new(None),
        }
    }

    fn report(&self, always: bool) {
        let Some(cb) = &self.callback else { return };
        // A thread that finds another reporting skips its turn.
        let Ok(mut last) =
            (if always { self.last.lock().map_err(|_| ()) } else { self.last.try_lock().map_err(|_| ()) })
        else {
            return;
        };
        if !always && last.is_some_and(|t| t.elapsed() < Duration::from_millis(100)) {
            return;
        }
        *last = Some(Instant::now());
        let (done, total) = (self.done.load(Ordering::Relaxed), self.total.load(Ordering::Relaxed));
        Python::attach(|py| {
            if let Err(e) = cb.call1(py, (done, total))
                && let Ok(mut slot) = self.error.lock()
                && slot.is_none()
            {
                *slot = Some(e);
            }
        });
    }

    /// The callable's exception, if it raised one.
    fn raised(&self) -> PyResult<()> {
        match self.error.lock().ok().and_then(|mut e| e.take()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl app::Progress for Reporter {
    fn begin(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
        self.report(true);
    }
    fn advance(&self, k: u64) {
        self.done.fetch_add(k, Ordering::Relaxed);
        self.report(false);
    }
    fn end(&self) {
        self.report(true);
    }
}

/// The loss tables' record batches, as the run produced them.
struct Tables {
    trials: Vec<RecordBatch>,
    years: Vec<RecordBatch>,
    accounts: Vec<RecordBatch>,
}

/// A finished run held in memory: the model (for `write`), the summary as
/// `summary.json` holds it, and the loss tables.
#[pyclass(frozen, module = "riskshare._native")]
struct Run {
    model: Arc<Model>,
    #[pyo3(get)]
    seed: u64,
    #[pyo3(get)]
    trials: u64,
    #[pyo3(get)]
    threads: usize,
    #[pyo3(get)]
    summary_json: String,
    #[pyo3(get)]
    resolved_yaml: String,
    tables: Tables,
    schemas: [SchemaRef; 3],
}

fn table(py: Python<'_>, batches: &[RecordBatch], schema: &SchemaRef) -> PyResult<Py<PyAny>> {
    let t = Table::try_new(batches.to_vec(), schema.clone()).map_err(|e| PyRuntimeError::new_err(e.to_string()))?;
    Ok(t.into_pyarrow(py)?.unbind())
}

#[pymethods]
impl Run {
    /// `trials` as a pyarrow Table (the columns of trials.csv).
    fn trials_table(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        table(py, &self.tables.trials, &self.schemas[0])
    }
    /// `years` as a pyarrow Table (the columns of years.csv).
    fn years_table(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        table(py, &self.tables.years, &self.schemas[1])
    }
    /// `accounts` as a pyarrow Table (each compensation account in each trial).
    fn accounts_table(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        table(py, &self.tables.accounts, &self.schemas[2])
    }
    /// Writes the CLI's output folder for this run through `app::runner::run`
    /// (which simulates the same trials again: results depend on the model,
    /// the seed and the trial only, so the files hold these tables).
    #[pyo3(signature = (out, force, charts, lang, format="csv", progress=None))]
    #[allow(clippy::too_many_arguments)]
    fn write(
        &self,
        py: Python<'_>,
        out: PathBuf,
        force: bool,
        charts: bool,
        lang: &str,
        format: &str,
        progress: Option<Py<PyAny>>,
    ) -> PyResult<String> {
        let lang = self::lang(lang).map_err(|e| input_error(py, &e))?;
        let format = self::format(format).map_err(|e| input_error(py, &e))?;
        let opts = runner::RunOptions {
            seed: self.seed,
            trials: self.trials,
            threads: self.threads,
            out,
            precision: None,
            size_levels: None,
            shard: None,
            charts: charts.then(|| runner::Charts { lang, command: "riskshare.run(...).write(...)".into() }),
            force,
            lang,
            format,
        };
        let reporter = Reporter::new(progress);
        let model = &*self.model;
        let outcome = py.detach(|| {
            app::Progress::begin(&reporter, opts.trials);
            let r = runner::run(model, &opts, &|k| app::Progress::advance(&reporter, k));
            app::Progress::end(&reporter);
            r
        });
        reporter.raised()?;
        let outcome = outcome.map_err(|e| failure(py, e))?;
        Ok(outcome.out.display().to_string())
    }
}

/// Loads, validates and builds a scenario's model, as the CLI does.
fn load(py: Python<'_>, src: Source, set: Vec<String>) -> PyResult<Model> {
    let set = overrides(set).map_err(|e| input_error(py, &e))?;
    py.detach(|| io::load(src, &set)).map(|l| l.model).map_err(|e| input_error(py, &e))
}

/// Trials, seed and threads as the CLI resolves them: the scenario's where
/// not given, within riskshare's bounds.
fn resolve(
    m: &Model,
    trials: Option<u64>,
    seed: Option<u64>,
    threads: Option<usize>,
) -> Result<(u64, u64, usize), InputError> {
    Ok((
        app::trials(trials, m.scenario.simulation.trials)?,
        seed.unwrap_or(m.scenario.simulation.seed),
        app::threads(threads)?,
    ))
}

/// Runs a scenario in memory: `riskshare run`'s simulation and summary,
/// with the loss tables kept as Arrow record batches rather than written.
#[pyfunction]
#[pyo3(signature = (scenario, set, trials=None, seed=None, threads=None, progress=None, tail=None))]
#[allow(clippy::too_many_arguments)]
fn run(
    py: Python<'_>,
    scenario: (String, String, String),
    set: Vec<String>,
    trials: Option<u64>,
    seed: Option<u64>,
    threads: Option<usize>,
    progress: Option<Py<PyAny>>,
    tail: Option<String>,
) -> PyResult<Run> {
    let mut model = load(py, source(scenario)?, set)?;
    let (trials, seed, threads) = resolve(&model, trials, seed, threads).map_err(|e| input_error(py, &e))?;
    runner::check_memory(&[&model], trials, false).map_err(|e| input_error(py, &e))?;
    let target = self::target(tail).map_err(|e| input_error(py, &e))?;
    if let Some(target) = &target {
        // The CLI's `--importance auto --tail`: the pilot chooses the measure first.
        py.detach(|| importance::pilot(&mut model, seed, target, threads, &|_| {}));
    }
    let reporter = Reporter::new(progress);
    let (tables, summary_json) = py.detach(|| {
        let mut collected = Collected::new(&model);
        let mut tables = Tables { trials: Vec::new(), years: Vec::new(), accounts: Vec::new() };
        app::Progress::begin(&reporter, trials);
        let _ =
            engine::simulate(&model, seed, 0..trials, threads, &|k| app::Progress::advance(&reporter, k), |batch| {
                collected.push(&batch);
                let (t, y, a) = columnar::batch_tables(&model, &batch);
                tables.trials.push(t);
                tables.years.push(y);
                tables.accounts.push(a);
                Ok::<(), std::convert::Infallible>(())
            });
        app::Progress::end(&reporter);
        // As `runner::write_results` writes summary.json.
        let summary = summary::build(&model, seed, &collected);
        (tables, summary)
    });
    reporter.raised()?;
    let summary_json = to_json(&summary_json)?;
    let resolved_yaml = runner::resolved_yaml(&model, seed, trials);
    let schemas = [
        columnar::trials_schema(model.importance.is_some()),
        columnar::years_schema(&model),
        columnar::accounts_schema(),
    ];
    Ok(Run { model: Arc::new(model), seed, trials, threads, summary_json, resolved_yaml, tables, schemas })
}

/// `riskshare validate`: what it prints of a valid scenario.
#[pyfunction]
#[pyo3(signature = (scenario, set))]
fn validate(py: Python<'_>, scenario: (String, String, String), set: Vec<String>) -> PyResult<String> {
    let src = source(scenario)?;
    let name = src.name();
    let m = load(py, src, set)?;
    Ok(format!("{}: valid ({name})\n{}", m.scenario.name, riskshare::report::text::portfolio(&m)))
}

/// `riskshare size`: a run that also sizes the funds, written to `out`.
/// Returns (summary.json, size.json, the size curve).
#[pyfunction]
#[pyo3(signature = (scenario, set, out, confidence, trials=None, seed=None, threads=None, force=false, charts=false, lang="en", format="csv", progress=None, tail=None))]
#[allow(clippy::too_many_arguments)]
fn size(
    py: Python<'_>,
    scenario: (String, String, String),
    set: Vec<String>,
    out: PathBuf,
    confidence: Option<Vec<f64>>,
    trials: Option<u64>,
    seed: Option<u64>,
    threads: Option<usize>,
    force: bool,
    charts: bool,
    lang: &str,
    format: &str,
    progress: Option<Py<PyAny>>,
    tail: Option<String>,
) -> PyResult<(String, String, Py<PyAny>, String)> {
    let levels = confidence.unwrap_or_else(|| sizing::LEVELS.to_vec());
    if let Some(bad) = levels.iter().find(|c| !(**c > 0.0 && **c < 1.0)) {
        let e = InputError::one("--confidence", "", None, format!("expected a level in (0, 1), found {bad}"));
        return Err(input_error(py, &e));
    }
    let lang = self::lang(lang).map_err(|e| input_error(py, &e))?;
    let format = self::format(format).map_err(|e| input_error(py, &e))?;
    let target = self::target(tail).map_err(|e| input_error(py, &e))?;
    let mut model = load(py, source(scenario)?, set)?;
    let (trials, seed, threads) = resolve(&model, trials, seed, threads).map_err(|e| input_error(py, &e))?;
    if let Some(target) = &target {
        // As the CLI's `size --importance auto`: a run too large for memory is
        // refused before the pilot spends its seconds, then the pilot chooses the measure.
        runner::check_memory(&[&model], trials, charts).map_err(|e| input_error(py, &e))?;
        py.detach(|| importance::pilot(&mut model, seed, target, threads, &|_| {}));
    }
    let opts = runner::RunOptions {
        seed,
        trials,
        threads,
        out,
        precision: None,
        size_levels: Some(levels),
        shard: None,
        charts: charts.then(|| runner::Charts { lang, command: "riskshare.size(...)".into() }),
        force,
        lang,
        format,
    };
    let reporter = Reporter::new(progress);
    let outcome = py.detach(|| {
        app::Progress::begin(&reporter, trials);
        let r = runner::run(&model, &opts, &|k| app::Progress::advance(&reporter, k));
        app::Progress::end(&reporter);
        r
    });
    reporter.raised()?;
    let outcome = outcome.map_err(|e| failure(py, e))?;
    let summary = to_json(&outcome.summary)?;
    let sized = to_json(&outcome.sizing)?;
    // As runner::write_results computes size_curve.csv.
    let curve = sizing::curve(&model, &outcome.collected);
    let curve = one_table(py, columnar::size_curve_batch(&curve))?;
    Ok((summary, sized, curve, outcome.out.display().to_string()))
}

/// A result as the app writes its JSON files: pretty, with a closing newline.
fn to_json<T: serde::Serialize>(v: &T) -> PyResult<String> {
    serde_json::to_string_pretty(v).map(|j| j + "\n").map_err(|e| PyRuntimeError::new_err(e.to_string()))
}

fn one_table(py: Python<'_>, batch: RecordBatch) -> PyResult<Py<PyAny>> {
    let schema = batch.schema();
    table(py, &[batch], &schema)
}

/// `riskshare compare`: the scenarios on the same seed and trials, written to
/// `out`. Returns (comparison.json, the comparison table, the folder).
#[pyfunction]
#[pyo3(signature = (scenarios, out, trials=None, seed=None, threads=None, force=false, lang="en", format="csv", progress=None, tail=None))]
#[allow(clippy::too_many_arguments)]
fn compare(
    py: Python<'_>,
    scenarios: Vec<(String, String, String)>,
    out: PathBuf,
    trials: Option<u64>,
    seed: Option<u64>,
    threads: Option<usize>,
    force: bool,
    lang: &str,
    format: &str,
    progress: Option<Py<PyAny>>,
    tail: Option<String>,
) -> PyResult<(String, Py<PyAny>, String)> {
    let format = self::format(format).map_err(|e| input_error(py, &e))?;
    let tail = target(tail).map_err(|e| input_error(py, &e))?;
    let scenarios = scenarios.into_iter().map(source).collect::<PyResult<Vec<_>>>()?;
    let lang = self::lang(lang).map_err(|e| input_error(py, &e))?;
    let threads = app::threads(threads).map_err(|e| input_error(py, &e))?;
    let settings = app::Settings { trials, seed, threads, out: Some(out), force, tail };
    let job = app::compare::Job { scenarios, settings, lang, format };
    let reporter = Reporter::new(progress);
    let done = py.detach(|| app::compare::run(job, &reporter));
    reporter.raised()?;
    let done = done.map_err(|e| failure(py, e))?;
    let json = to_json(&done.comparison)?;
    let table = one_table(py, columnar::comparison_batch(&done.comparison))?;
    Ok((json, table, done.out.display().to_string()))
}

/// `riskshare sweep`: a grid over scenario keys, written to `out`. Returns
/// (sweep.json, the sweep table, the folder).
#[pyfunction]
#[pyo3(signature = (scenario, set, vary, out, trials=None, seed=None, threads=None, force=false, full=false, lang="en", format="csv", progress=None, tail=None))]
#[allow(clippy::too_many_arguments)]
fn sweep(
    py: Python<'_>,
    scenario: (String, String, String),
    set: Vec<String>,
    vary: Vec<String>,
    out: PathBuf,
    trials: Option<u64>,
    seed: Option<u64>,
    threads: Option<usize>,
    force: bool,
    full: bool,
    lang: &str,
    format: &str,
    progress: Option<Py<PyAny>>,
    tail: Option<String>,
) -> PyResult<(String, Py<PyAny>, String)> {
    let format = self::format(format).map_err(|e| input_error(py, &e))?;
    let tail = target(tail).map_err(|e| input_error(py, &e))?;
    if vary.is_empty() {
        let e = InputError::one("--vary", "", None, "give at least one key and its values (KEY=V1,V2,...)");
        return Err(input_error(py, &e));
    }
    let vary = vary
        .iter()
        .map(|v| v.parse::<Axis>().map_err(|m| InputError::one("--vary", "", None, m)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| input_error(py, &e))?;
    let set = overrides(set).map_err(|e| input_error(py, &e))?;
    let lang = self::lang(lang).map_err(|e| input_error(py, &e))?;
    let threads = app::threads(threads).map_err(|e| input_error(py, &e))?;
    let job = app::sweep::Job {
        scenario: source(scenario)?,
        set,
        vary,
        settings: app::Settings { trials, seed, threads, out: Some(out), force, tail },
        full,
        lang,
        format,
    };
    let reporter = Reporter::new(progress);
    let done = py.detach(|| app::sweep::run(job, &reporter));
    reporter.raised()?;
    let done = done.map_err(|e| failure(py, e))?;
    // As app::sweep writes sweep.json: through a `Value`, whose maps sort their keys.
    let json = to_json(&serde_json::to_value(&done.sweep).map_err(|e| PyRuntimeError::new_err(e.to_string()))?)?;
    let table = one_table(py, columnar::sweep_batch(&done.axes, &done.sweep.cells))?;
    Ok((json, table, done.out.display().to_string()))
}

/// `riskshare stress`: the scenario and a stressed copy of it (a preset or
/// an overlay file's `stress:` section) on the same seed and trials, written
/// to `out`. Returns (stress.json, the whole scheme's figures, the folder).
#[pyfunction]
#[pyo3(signature = (scenario, set, out, preset=None, overlay=None, trials=None, seed=None, threads=None, force=false, lang="en", progress=None, tail=None))]
#[allow(clippy::too_many_arguments)]
fn stress(
    py: Python<'_>,
    scenario: (String, String, String),
    set: Vec<String>,
    out: PathBuf,
    preset: Option<String>,
    overlay: Option<PathBuf>,
    trials: Option<u64>,
    seed: Option<u64>,
    threads: Option<usize>,
    force: bool,
    lang: &str,
    progress: Option<Py<PyAny>>,
    tail: Option<String>,
) -> PyResult<(String, Py<PyAny>, String)> {
    let overlay = match (preset, overlay) {
        (Some(p), None) => app::stress::Overlay::Preset(p),
        (None, Some(f)) => app::stress::Overlay::File(f),
        (p, f) => {
            let presets = riskshare::analysis::stress::PRESETS.join(", ");
            let which = if p.is_some() && f.is_some() { "not both" } else { "one of the two is needed" };
            let e = InputError::one(
                "stress",
                "",
                None,
                format!("give preset=NAME ({presets}) or overlay=FILE (a YAML file with a `stress:` section): {which}"),
            );
            return Err(input_error(py, &e));
        }
    };
    let tail = target(tail).map_err(|e| input_error(py, &e))?;
    let set = overrides(set).map_err(|e| input_error(py, &e))?;
    let lang = self::lang(lang).map_err(|e| input_error(py, &e))?;
    let threads = app::threads(threads).map_err(|e| input_error(py, &e))?;
    let job = app::stress::Job {
        scenario: source(scenario)?,
        set,
        overlay,
        settings: app::Settings { trials, seed, threads, out: Some(out), force, tail },
        lang,
        command: "riskshare.stress(...)".into(),
    };
    let reporter = Reporter::new(progress);
    let done = py.detach(|| app::stress::run(job, &reporter));
    reporter.raised()?;
    let done = done.map_err(|e| failure(py, e))?;
    let json = to_json(&done.report)?;
    let table = one_table(py, stress_totals(&done.report).map_err(|e| PyRuntimeError::new_err(e.to_string()))?)?;
    Ok((json, table, done.out.display().to_string()))
}

/// The whole scheme under the stress, one row per total of stress.json
/// (`metric`, the trials.csv column), then the baseline's and the stressed
/// run's mean, 99 % quantile and TVaR 99 % in yuan.
fn stress_totals(r: &riskshare::analysis::stress::StressReport) -> Result<RecordBatch, arrow_schema::ArrowError> {
    use arrow_array::{ArrayRef, Float64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use riskshare::analysis::stress::Figures;
    let metric: ArrayRef = Arc::new(StringArray::from_iter_values(r.totals.iter().map(|t| t.0.as_str())));
    let mut fields = vec![Field::new("metric", DataType::Utf8, false)];
    let mut columns = vec![metric];
    for (side, stressed) in [("baseline", false), ("stressed", true)] {
        for figure in ["mean", "p99", "tvar99"] {
            let value = |t: &(String, Figures, Figures)| {
                let f = if stressed { &t.2 } else { &t.1 };
                match figure {
                    "mean" => f.mean,
                    "p99" => f.p99,
                    _ => f.tvar99,
                }
            };
            fields.push(Field::new(format!("{side}_{figure}"), DataType::Float64, false));
            columns.push(Arc::new(Float64Array::from_iter_values(r.totals.iter().map(value))));
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("ScenarioError", m.py().get_type::<ScenarioError>())?;
    m.add("ENGINE_VERSION", riskshare::ENGINE_VERSION)?;
    m.add_class::<Problem>()?;
    m.add_class::<Run>()?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(validate, m)?)?;
    m.add_function(wrap_pyfunction!(size, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(stress, m)?)?;
    Ok(())
}
