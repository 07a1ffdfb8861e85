//! Sharded runs (an edge of the library): a shard writes its rows of the
//! loss tables and the state the statistics need; `merge` checks that the
//! shards belong together, tile the run and hold what their manifests say,
//! then writes the same files, byte for byte, as one process running every
//! trial.
//!
//! A partial result folder holds `manifest.json` (what it is, and each other
//! file's SHA-256 and rows), `trials.csv` and `years.csv` (its rows, with the
//! header), `state.json` (its [`Collected`]) and `scenario.resolved.yaml` (to
//! rebuild the model); with `--format parquet` or `both`, its rows of the
//! Parquet tables too, which merge checks by writing them again from the
//! CSV rows and the state (the writer's bytes depend on the rows only).

mod verify;

use std::collections::BTreeMap;
use std::fs;
use std::io::{self as stdio, Write};
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::analysis::summary::{Collected, Summary};
use crate::app::columnar::{Format, LossTables};
use crate::app::io::{self, Source};
use crate::app::output::Staged;
use crate::app::runner::{self, Shard};
use crate::model::Model;
use crate::scenario;

/// What a partial result is; merge compares these.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub kind: String,
    pub engine_version: String,
    pub scenario: String,
    /// SHA-256 of the resolved scenario (seed and trial count aside) and of the loan book.
    pub scenario_sha256: String,
    pub seed: u64,
    pub trials_total: u64,
    pub shard_index: u64,
    pub shard_count: u64,
    /// The trials `[start, end)` this shard ran.
    pub trials: [u64; 2],
    /// The partial's other files by name: `trials.csv`, `years.csv`,
    /// `state.json` and `scenario.resolved.yaml`; with Parquet,
    /// `trials.parquet`, `years.parquet` and `accounts.parquet` too.
    pub files: BTreeMap<String, FileRecord>,
    /// The change of measure an importance-sampled shard drew under (absent
    /// on plain runs): merge joins only shards drawn under the same law.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub importance: Option<crate::sim::importance::Measure>,
    /// The `--format` the shard ran with: what `merge` writes unless told
    /// otherwise (absent: CSV).
    #[serde(default, skip_serializing_if = "Format::is_csv")]
    pub format: Format,
}

/// What a manifest records of a file of its partial.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRecord {
    pub sha256: String,
    /// Data rows of a table (its header aside).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
}

/// The kind of a partial result, which names its format: version 2 keeps
/// the villages' needs as counts (`sizing::Ranked`), version 3 records each
/// file's SHA-256 and rows.
const KIND: &str = "riskshare-partial-3";
/// Kinds of earlier formats, which this build recognises but cannot read.
const EARLIER: &[&str] = &["riskshare-partial", "riskshare-partial-2"];

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A writer that hashes what goes through it and counts its lines, for a
/// partial's manifest; or only passes it on (`tally: false`).
pub struct Tally<W: Write> {
    inner: W,
    tally: Option<(Sha256, u64)>,
}

impl<W: Write> Tally<W> {
    pub fn new(inner: W, tally: bool) -> Self {
        Tally { inner, tally: tally.then(|| (Sha256::new(), 0)) }
    }

    fn count(&mut self, bytes: &[u8]) {
        if let Some((h, lines)) = &mut self.tally {
            h.update(bytes);
            *lines += bytes.iter().filter(|&&b| b == b'\n').count() as u64;
        }
    }

    /// Flushes; the record of a table written through it (its first line
    /// the header), if tallied.
    pub fn finish(mut self) -> stdio::Result<Option<FileRecord>> {
        self.inner.flush()?;
        Ok(self.tally.map(|(h, lines)| FileRecord { sha256: hex(&h.finalize()), rows: Some(lines.saturating_sub(1)) }))
    }
}

impl<W: Write> Write for Tally<W> {
    fn write(&mut self, buf: &[u8]) -> stdio::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count(&buf[..n]);
        Ok(n)
    }

    fn write_all(&mut self, buf: &[u8]) -> stdio::Result<()> {
        self.inner.write_all(buf)?;
        self.count(buf);
        Ok(())
    }

    fn flush(&mut self) -> stdio::Result<()> {
        self.inner.flush()
    }
}

/// Identifies a scenario and its loan book, whatever seed or trial count runs it.
pub fn checksum(m: &Model) -> String {
    let mut s = m.scenario.clone();
    s.simulation.seed = 0;
    s.simulation.trials = 0;
    let mut h = Sha256::new();
    h.update(scenario::to_yaml(&s).as_bytes());
    // The book itself: a tape may change under the same path.
    for i in 0..m.loans.n {
        m.loans.id[i].with_str(|id| h.update(id.as_bytes()));
        h.update(m.loans.principal[i].0.to_le_bytes());
        h.update([m.loans.term[i], m.loans.class[i] as u8]);
    }
    hex(&h.finalize())
}

/// Writes a shard's own files into the staging folder; the tables are
/// already there, `tables` their names and records.
#[allow(clippy::too_many_arguments)]
pub fn write_partial(
    m: &Model,
    seed: u64,
    trials_total: u64,
    shard: Shard,
    range: &std::ops::Range<u64>,
    collected: &Collected,
    tables: &[(&str, FileRecord)],
    format: Format,
    staged: &Staged,
) -> anyhow::Result<()> {
    let state = serde_json::to_string(collected)?;
    let resolved = runner::resolved_yaml(m, seed, trials_total);
    let mut files: BTreeMap<String, FileRecord> = tables.iter().map(|(n, r)| (n.to_string(), r.clone())).collect();
    for (name, bytes) in [("state.json", state.as_bytes()), ("scenario.resolved.yaml", resolved.as_bytes())] {
        files.insert(name.into(), FileRecord { sha256: hex(&Sha256::digest(bytes)), rows: None });
    }
    let manifest = Manifest {
        kind: KIND.into(),
        engine_version: crate::ENGINE_VERSION.into(),
        scenario: m.scenario.name.clone(),
        scenario_sha256: checksum(m),
        seed,
        trials_total,
        shard_index: shard.index,
        shard_count: shard.count,
        trials: [range.start, range.end],
        files,
        importance: m.importance.clone(),
        format,
    };
    staged.write("state.json", state.as_bytes())?;
    staged.write("scenario.resolved.yaml", resolved.as_bytes())?;
    staged.write("manifest.json", (serde_json::to_string_pretty(&manifest)? + "\n").as_bytes())?;
    Ok(())
}

fn read_manifest(dir: &Path) -> anyhow::Result<Manifest> {
    let p = dir.join("manifest.json");
    // A shard interrupted while its files moved into place is incomplete.
    if p.exists() {
        crate::app::output::check_complete(dir).map_err(anyhow::Error::msg)?;
    }
    let text = fs::read_to_string(&p)
        .with_context(|| format!("{} is not a riskshare shard: cannot read {}", dir.display(), p.display()))?;
    let not_one = || format!("{}: not a shard manifest", p.display());
    // The kind first: an earlier format's fields differ.
    #[derive(Deserialize)]
    struct Kind {
        kind: String,
    }
    let kind = serde_json::from_str::<Kind>(&text).with_context(not_one)?.kind;
    if EARLIER.contains(&kind.as_str()) {
        bail!(
            "{}: a partial result in an earlier format (kind `{kind}`, this build writes `{KIND}`); \
             run its shard again with this build",
            p.display(),
        );
    }
    if kind != KIND {
        bail!("{}: not a shard manifest (kind `{kind}`)", p.display());
    }
    serde_json::from_str(&text).with_context(not_one)
}

/// What to tell someone who asks for a report on a shard's partial result
/// (a folder with `manifest.json` or `state.json`), or `None` when `dir` is
/// not one: which shard it is and the `merge` that makes a finished run of
/// it, naming the sibling folders that hold the run's other shards when
/// they are all there.
pub fn not_a_run(dir: &Path) -> Option<String> {
    if !dir.join("manifest.json").exists() && !dir.join("state.json").exists() {
        return None;
    }
    let generic = "this is a shard of a sharded run (`run --shard I/N`), not a finished run: merge the shards \
                   first: riskshare merge SHARD_DIR... --out DIR, then riskshare report DIR";
    let Ok(m) = read_manifest(dir) else { return Some(generic.into()) };
    // The run's other shards, when they sit beside this one.
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut shards: BTreeMap<u64, PathBuf> = BTreeMap::new();
    for entry in fs::read_dir(parent).into_iter().flatten().flatten() {
        let path = if dir.parent().is_some_and(|p| !p.as_os_str().is_empty()) {
            entry.path()
        } else {
            PathBuf::from(entry.file_name())
        };
        let Ok(other) = read_manifest(&path) else { continue };
        let same_run = (&other.scenario_sha256, other.seed, other.trials_total, other.shard_count)
            == (&m.scenario_sha256, m.seed, m.trials_total, m.shard_count);
        if same_run {
            shards.entry(other.shard_index).or_insert(path);
        }
    }
    shards.insert(m.shard_index, dir.to_path_buf());
    let folders = if shards.len() as u64 == m.shard_count {
        shards.values().map(|p| p.display().to_string()).collect::<Vec<_>>().join(" ")
    } else {
        format!("<the {} shard folders>", m.shard_count)
    };
    Some(format!(
        "this is shard {}/{} of a sharded run (trials {}..{} of {}), not a finished run: merge the shards first: \
         riskshare merge {folders} --out DIR, then riskshare report DIR",
        m.shard_index, m.shard_count, m.trials[0], m.trials[1], m.trials_total
    ))
}

/// Checks that the partials belong together and cover `[0, trials)` exactly
/// once; returns them in trial order.
pub fn check(parts: &[(PathBuf, Manifest)]) -> anyhow::Result<Vec<(PathBuf, Manifest)>> {
    if parts.is_empty() {
        bail!("no partial results to merge");
    }
    let first = &parts[0].1;
    let mut problems = Vec::new();
    for (dir, m) in &parts[1..] {
        let differs = |what: &str, a: &dyn std::fmt::Display, b: &dyn std::fmt::Display| {
            format!("{} has {what} {b}, but {} has {a}", dir.display(), parts[0].0.display())
        };
        if m.engine_version != first.engine_version {
            problems.push(differs("engine version", &first.engine_version, &m.engine_version));
        }
        if m.scenario_sha256 != first.scenario_sha256 {
            problems.push(format!(
                "{} comes from another scenario or loan book ({} `{}` vs {} `{}`)",
                dir.display(),
                m.scenario,
                &m.scenario_sha256[..12],
                first.scenario,
                &first.scenario_sha256[..12]
            ));
        }
        if m.seed != first.seed {
            problems.push(differs("seed", &first.seed, &m.seed));
        }
        if m.trials_total != first.trials_total {
            problems.push(differs("a run of trials", &first.trials_total, &m.trials_total));
        }
        if m.importance != first.importance {
            let law = |x: &Option<crate::sim::importance::Measure>| match x {
                None => "plain Monte Carlo".to_string(),
                Some(ms) => format!("importance sampling for {} (pilot of {} rounds)", ms.target, ms.pilot_rounds),
            };
            problems.push(format!(
                "{} was drawn under {}, but {} under {}{}",
                dir.display(),
                law(&m.importance),
                parts[0].0.display(),
                law(&first.importance),
                if m.importance.is_some() && first.importance.is_some() { " with another measure" } else { "" }
            ));
        }
    }
    if !problems.is_empty() {
        bail!("the partial results do not belong together:\n  - {}", problems.join("\n  - "));
    }
    let total = first.trials_total;
    for (dir, m) in parts {
        let [s, e] = m.trials;
        if s > e || e > total {
            problems
                .push(format!("{} claims the trials [{s}, {e}), not a range of the run's [0, {total})", dir.display()));
        }
    }
    if !problems.is_empty() {
        bail!("the partial results do not tile the {total} trials:\n  - {}", problems.join("\n  - "));
    }
    let mut sorted: Vec<(PathBuf, Manifest)> = parts.to_vec();
    sorted.sort_by_key(|(_, m)| (m.trials[0], m.trials[1]));
    let mut next = 0u64;
    let mut prev: Option<&PathBuf> = None;
    for (dir, m) in &sorted {
        let [s, e] = m.trials;
        if s > next {
            problems.push(format!("trials [{next}, {s}) are missing (no shard covers them)"));
        } else if s < next {
            problems.push(format!(
                "trials [{s}, {}) are covered twice: by {} and {}",
                e.min(next),
                prev.map(|p| p.display().to_string()).unwrap_or_default(),
                dir.display()
            ));
        }
        next = next.max(e);
        prev = Some(dir);
    }
    if next < total {
        problems.push(format!("trials [{next}, {total}) are missing (no shard covers them)"));
    }
    if !problems.is_empty() {
        bail!("the partial results do not tile the {total} trials:\n  - {}", problems.join("\n  - "));
    }
    Ok(sorted)
}

/// `p` made absolute with symbolic links resolved, whether it exists or
/// not: its longest existing ancestor resolved, the rest appended (a folder
/// that does not exist is no link, so `..` after it is its parent).
fn resolve(p: &Path) -> stdio::Result<PathBuf> {
    let abs = if p.is_absolute() { p.to_path_buf() } else { std::env::current_dir()?.join(p) };
    let parts: Vec<Component> = abs.components().collect();
    for k in (1..=parts.len()).rev() {
        if let Ok(mut r) = fs::canonicalize(parts[..k].iter().collect::<PathBuf>()) {
            for c in &parts[k..] {
                match c {
                    Component::ParentDir => {
                        r.pop();
                    }
                    Component::Normal(n) => r.push(n),
                    _ => {}
                }
            }
            return Ok(r);
        }
    }
    Ok(abs)
}

/// Refuses an output folder that is a partial, lies inside one or holds
/// one: writing it would replace or move a partial as it is read.
fn check_out(out: &Path, dirs: &[PathBuf]) -> anyhow::Result<()> {
    let target = resolve(out).with_context(|| format!("cannot resolve the output folder {}", out.display()))?;
    for d in dirs {
        // A partial that cannot be resolved cannot be read either: refused later.
        let Ok(dir) = fs::canonicalize(d) else { continue };
        let how = if target == dir {
            "is"
        } else if target.starts_with(&dir) {
            "is inside"
        } else if dir.starts_with(&target) {
            "holds"
        } else {
            continue;
        };
        bail!(
            "the output folder {} {how} the partial result {}: merging would overwrite it; \
             choose an --out outside the partials",
            out.display(),
            d.display()
        );
    }
    Ok(())
}

/// Merges partial result folders into `out`: the files a single run writes.
/// Every partial's files are checked against its manifest, the shard's
/// trials and each other (see `verify`) before anything is written.
pub fn merge(
    dirs: &[PathBuf],
    out: &Path,
    force: bool,
    charts: Option<&runner::Charts>,
    lang: crate::report::format::Lang,
    format: Option<Format>,
) -> anyhow::Result<(Summary, Model)> {
    check_out(out, dirs)?;
    let parts: Vec<(PathBuf, Manifest)> =
        dirs.iter().map(|d| read_manifest(d).map(|m| (d.clone(), m))).collect::<anyhow::Result<_>>()?;
    let parts = check(&parts)?;
    let (first_dir, first) = &parts[0];
    let loaded = io::load(Source::File(first_dir.join("scenario.resolved.yaml")), &[])
        .map_err(|e| anyhow::anyhow!("cannot rebuild the scenario from {}: {e}", first_dir.display()))?;
    let mut model = loaded.model;
    // The shards' measure, as they recorded it: merge draws nothing, but the
    // tables' weight column and summary.json's `importance` follow it.
    model.set_importance(first.importance.clone());
    if checksum(&model) != first.scenario_sha256 {
        bail!(
            "{}: the scenario or its loan tapes changed since the shards ran (checksum differs)",
            first_dir.display()
        );
    }
    runner::check_memory(&[&model], first.trials_total, charts.is_some())?;
    let collected = verify::partials(&parts, &model).map_err(|problems| {
        anyhow::anyhow!(
            "the partial results do not hold what their manifests and the shards' trials say:\n  - {}",
            problems.join("\n  - ")
        )
    })?;
    let staged = Staged::new(out, "merge", force)?;
    let format = format.unwrap_or(first.format);
    // Stream the tables: the first partial whole, the others without their
    // header. The charts read them back: written then, even for Parquet only.
    let csv = format.csv() || charts.is_some();
    for table in ["trials.csv", "years.csv"].into_iter().filter(|_| csv) {
        let mut w = std::io::BufWriter::new(fs::File::create(staged.path(table))?);
        for (i, (dir, _)) in parts.iter().enumerate() {
            let p = dir.join(table);
            let mut r =
                std::io::BufReader::new(fs::File::open(&p).with_context(|| format!("cannot read {}", p.display()))?);
            if i > 0 {
                let mut header = String::new();
                std::io::BufRead::read_line(&mut r, &mut header)?;
            }
            std::io::copy(&mut r, &mut w)?;
        }
        std::io::Write::flush(&mut w)?;
    }
    if format.parquet() {
        write_parquet(&parts, &model, first, &collected, &staged)?;
    }
    let results = runner::write_results(&model, first.seed, first.trials_total, &collected, &staged, None, lang)?;
    if let Some(c) = charts {
        runner::draw_results(staged.dir(), &model, &results, c, None).context("cannot draw the charts and report")?;
    }
    if format.parquet() {
        runner::write_size_curve_parquet(&model, first.seed, &results, &staged)?;
    }
    if !format.csv() {
        for table in ["trials.csv", "years.csv"] {
            let p = staged.path(table);
            if p.exists() {
                fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))?;
            }
        }
    }
    staged.commit()?;
    Ok((results.summary, model))
}

/// Writes the merged run's Parquet tables: the trials and accounts from the
/// shards' states, the years from their `years.csv` (all checked), fed in
/// trial order so that the row groups are a single run's.
fn write_parquet(
    parts: &[(PathBuf, Manifest)],
    model: &Model,
    first: &Manifest,
    collected: &Collected,
    staged: &Staged,
) -> anyhow::Result<()> {
    use crate::report::columnar::Table;
    let open = |t: Table| -> anyhow::Result<stdio::BufWriter<fs::File>> {
        let p = staged.path(t.parquet_file());
        let f = fs::File::create(&p).with_context(|| format!("cannot write {}", p.display()))?;
        Ok(stdio::BufWriter::with_capacity(1 << 20, f))
    };
    let outs = [open(Table::Trials)?, open(Table::Years)?, open(Table::Accounts)?];
    let mut t = LossTables::new(model, &first.scenario_sha256, first.seed, outs)?;
    feed_state(&mut t, model, 0, &collected.trials, collected.weights().unwrap_or(&[]), &collected.accounts)?;
    for (dir, _) in parts {
        crate::app::columnar::replay_years(&dir.join("years.csv"), model, &mut t)?;
    }
    for c in t.finish()? {
        let mut out = c.out;
        out.flush()?;
    }
    Ok(())
}

/// Feeds trial and account rows (trials `first..`, with their weights on an
/// importance-sampled run, else none) to `t` a row group at a time, so
/// nothing is held twice.
pub(crate) fn feed_state<W: Write + Send>(
    t: &mut LossTables<W>,
    m: &Model,
    first: u64,
    trials: &[crate::sim::tables::TrialRow],
    weights: &[f64],
    accounts: &[crate::sim::tables::AccountTrial],
) -> anyhow::Result<()> {
    let g = crate::app::columnar::group_trials(m) as usize;
    for (k, rows) in trials.chunks(g).enumerate() {
        let w = if weights.is_empty() { &[][..] } else { &weights[k * g..k * g + rows.len()] };
        t.push_trials(rows, w)?;
    }
    let na = m.accounts.len();
    if na > 0 {
        for (k, rows) in accounts.chunks(g * na).enumerate() {
            t.push_accounts(first + (k * g) as u64, rows)?;
        }
    }
    Ok(())
}
