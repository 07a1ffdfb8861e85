//! Sharded runs (an edge of the library): a shard writes its rows of the
//! loss tables and the state the statistics need; `merge` checks that the
//! shards belong together and tile the run, then writes the same files, byte
//! for byte, as one process running every trial.
//!
//! A partial result folder holds `manifest.json` (what it is), `trials.csv`
//! and `years.csv` (its rows, with the header), `state.json` (its
//! [`Collected`]) and `scenario.resolved.yaml` (to rebuild the model).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::io::{self, Source};
use crate::model::Model;
use crate::output::Staged;
use crate::report::summary::{Collected, Summary};
use crate::runner::{self, Shard};
use crate::scenario;

/// What a partial result is; merge compares these.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// The kind of a partial result, which names its format: version 2 keeps
/// the villages' needs as counts (`sizing::Ranked`).
const KIND: &str = "riskshare-partial-2";
/// Kinds of earlier formats, which this build recognises but cannot read.
const EARLIER: &[&str] = &["riskshare-partial"];

/// Identifies a scenario and its loan book, whatever seed or trial count runs it.
pub fn checksum(m: &Model) -> String {
    let mut s = m.scenario.clone();
    s.simulation.seed = 0;
    s.simulation.trials = 0;
    let mut h = Sha256::new();
    h.update(scenario::to_yaml(&s).as_bytes());
    // The book itself: a tape may change under the same path.
    for i in 0..m.loans.n {
        h.update(m.loans.id[i].as_bytes());
        h.update(m.loans.principal[i].0.to_le_bytes());
        h.update([m.loans.term[i], m.loans.class[i] as u8]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Writes a shard's own files into the staging folder (the tables are already there).
pub fn write_partial(
    m: &Model,
    seed: u64,
    trials_total: u64,
    shard: Shard,
    range: &std::ops::Range<u64>,
    collected: &Collected,
    staged: &Staged,
) -> anyhow::Result<()> {
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
    };
    staged.write("manifest.json", (serde_json::to_string_pretty(&manifest)? + "\n").as_bytes())?;
    staged.write("state.json", serde_json::to_string(collected)?.as_bytes())?;
    staged.write("scenario.resolved.yaml", runner::resolved_yaml(m, seed, trials_total).as_bytes())?;
    Ok(())
}

fn read_manifest(dir: &Path) -> anyhow::Result<Manifest> {
    let p = dir.join("manifest.json");
    let text = fs::read_to_string(&p)
        .with_context(|| format!("{} is not a riskshare shard: cannot read {}", dir.display(), p.display()))?;
    let m: Manifest = serde_json::from_str(&text).with_context(|| format!("{}: not a shard manifest", p.display()))?;
    if EARLIER.contains(&m.kind.as_str()) {
        bail!(
            "{}: a partial result in an earlier format (kind `{}`, this build writes `{KIND}`); \
             run its shard again with this build",
            p.display(),
            m.kind
        );
    }
    if m.kind != KIND {
        bail!("{}: not a shard manifest (kind `{}`)", p.display(), m.kind);
    }
    Ok(m)
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
    }
    if !problems.is_empty() {
        bail!("the partial results do not belong together:\n  - {}", problems.join("\n  - "));
    }
    let mut sorted: Vec<(PathBuf, Manifest)> = parts.to_vec();
    sorted.sort_by_key(|(_, m)| (m.trials[0], m.trials[1]));
    let total = first.trials_total;
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

/// Merges partial result folders into `out`: the files a single run writes.
pub fn merge(
    dirs: &[PathBuf],
    out: &Path,
    force: bool,
    charts: Option<&runner::Charts>,
) -> anyhow::Result<(Summary, Model)> {
    let parts: Vec<(PathBuf, Manifest)> =
        dirs.iter().map(|d| read_manifest(d).map(|m| (d.clone(), m))).collect::<anyhow::Result<_>>()?;
    let parts = check(&parts)?;
    let (first_dir, first) = &parts[0];
    let loaded = io::load(Source::File(first_dir.join("scenario.resolved.yaml")), &[])
        .map_err(|e| anyhow::anyhow!("cannot rebuild the scenario from {}: {e}", first_dir.display()))?;
    let model = loaded.model;
    if checksum(&model) != first.scenario_sha256 {
        bail!(
            "{}: the scenario or its loan tapes changed since the shards ran (checksum differs)",
            first_dir.display()
        );
    }
    let staged = Staged::new(out, "merge", force)?;
    // Stream the tables: the first partial whole, the others without their header.
    for table in ["trials.csv", "years.csv"] {
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
    let mut collected: Option<Collected> = None;
    for (dir, _) in &parts {
        let p = dir.join("state.json");
        let c: Collected =
            serde_json::from_slice(&fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?)
                .with_context(|| format!("{}: not a shard state", p.display()))?;
        match &mut collected {
            None => collected = Some(c),
            Some(all) => all.append(c),
        }
    }
    let collected = collected.unwrap_or_else(|| Collected::new(&model));
    let summary = runner::write_results(&model, first.seed, first.trials_total, &collected, &staged, None)?;
    if let Some(c) = charts {
        runner::draw(staged.dir(), staged.dir(), c).context("cannot draw the charts and report")?;
    }
    staged.commit()?;
    Ok((summary, model))
}
