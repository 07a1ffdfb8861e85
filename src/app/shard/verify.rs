//! What merge reads of the partials before it writes anything. For each
//! partial:
//!
//! - every file against its manifest: SHA-256, and the tables' rows;
//! - `trials.csv`: the header a run of the scenario writes, then one row per
//!   trial of the shard, in order, each with the header's fields;
//! - `years.csv`: the header, then each trial's rows for years 1 to the
//!   horizon, in order, every cell as the writer writes it, the summed
//!   columns adding up to the trial's row, the last row ending in a newline;
//! - `state.json`: the shard's trial count, lists that fit the scenario, and
//!   its trial rows written again by the `trials.csv` writer equal to
//!   `trials.csv`'s rows, byte for byte;
//! - `scenario.resolved.yaml`: the scenario merge rebuilt, byte for byte.
//!
//! A partial whose manifest was rewritten to match its edited files is still
//! caught unless the tables and the state were changed together and alike.

use std::fs::{self, File};
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::{Manifest, hex};
use crate::analysis::summary::Collected;
use crate::model::Model;
use crate::report::tables_csv::{self, parse_count, parse_money};

/// Problems shown per file for its lines; the others are counted.
const SHOWN: usize = 5;

/// The tables and scenario a run of the model writes, as merge expects them.
struct Layout {
    trials_header: Vec<u8>,
    years_header: Vec<u8>,
    trials_cols: Vec<String>,
    years_cols: Vec<String>,
    trials_money: Vec<bool>,
    /// For each column of `years.csv`: money (yuan, two decimals), or a count.
    years_money: Vec<bool>,
    /// Columns a trial's row sums over its years: (years.csv, trials.csv) indices.
    summed: Vec<(usize, usize)>,
    /// Importance-sampled: both tables end in each trial's weight.
    weighted: bool,
    horizon: u64,
    resolved: String,
}

impl Layout {
    fn new(m: &Model, seed: u64, trials: u64) -> Layout {
        let mut trials_header = Vec::new();
        let mut years_header = Vec::new();
        // Writing into memory cannot fail.
        tables_csv::trials_header(&mut trials_header, m.importance.is_some()).expect("header into memory");
        tables_csv::years_header(&mut years_header, m).expect("header into memory");
        let (mut trials_cols, mut years_cols) = (tables_csv::trials_columns(), tables_csv::years_columns(m));
        let weighted = m.importance.is_some();
        if weighted {
            trials_cols.push(tables_csv::WEIGHT.into());
            years_cols.push(tables_csv::WEIGHT.into());
        }
        let money_of = |cols: &[String]| -> Vec<bool> { cols.iter().map(|c| tables_csv::is_money(c)).collect() };
        let summed = trials_cols
            .iter()
            .enumerate()
            .skip(1)
            .filter(|(_, c)| !tables_csv::NOT_SUMMED.contains(&c.as_str()) && c.as_str() != tables_csv::WEIGHT)
            .filter_map(|(t, c)| Some((years_cols.iter().position(|y| y == c)?, t)))
            .collect();
        Layout {
            trials_money: money_of(&trials_cols),
            years_money: money_of(&years_cols),
            trials_header,
            years_header,
            trials_cols,
            years_cols,
            summed,
            weighted,
            horizon: m.horizon as u64,
            resolved: crate::app::runner::resolved_yaml(m, seed, trials),
        }
    }
}

/// Problems with one file: about the whole file, and about its lines (the
/// first [`SHOWN`] kept, the others counted).
struct FileReport {
    path: PathBuf,
    whole: Vec<String>,
    lines: Vec<String>,
    more: u64,
}

impl FileReport {
    fn new(dir: &Path, file: &str) -> Self {
        FileReport { path: dir.join(file), whole: Vec::new(), lines: Vec::new(), more: 0 }
    }
    fn file(&mut self, what: String) {
        self.whole.push(what);
    }
    fn line(&mut self, what: impl FnOnce() -> String) {
        if self.lines.len() < SHOWN {
            self.lines.push(what());
        } else {
            self.more += 1;
        }
    }
    fn into(self, out: &mut Vec<String>) {
        let p = self.path.display();
        out.extend(self.whole.iter().chain(&self.lines).map(|w| format!("{p}: {w}")));
        if self.more > 0 {
            out.push(format!("{p}: and {} more lines with problems", self.more));
        }
    }
}

/// Checks every partial (in trial order); returns their states appended,
/// or every problem found.
pub(super) fn partials(parts: &[(PathBuf, Manifest)], m: &Model) -> Result<Collected, Vec<String>> {
    let first = &parts[0].1;
    let layout = Layout::new(m, first.seed, first.trials_total);
    let checked: Vec<(Vec<String>, Option<Collected>)> =
        parts.par_iter().map(|(dir, manifest)| partial(dir, manifest, m, &layout)).collect();
    let mut problems = Vec::new();
    let mut all: Option<Collected> = None;
    for (p, state) in checked {
        problems.extend(p);
        match (state, &mut all) {
            (Some(s), None) => all = Some(s),
            (Some(s), Some(a)) => a.append(s),
            (None, _) => {}
        }
    }
    match all {
        Some(all) if problems.is_empty() => Ok(all),
        _ => Err(problems),
    }
}

/// Checks one partial; its problems, and its state if it could be read.
fn partial(dir: &Path, manifest: &Manifest, m: &Model, layout: &Layout) -> (Vec<String>, Option<Collected>) {
    let mut problems = Vec::new();
    let mut rep = FileReport::new(dir, "state.json");
    let state = state(dir, manifest, m, &mut rep);
    rep.into(&mut problems);
    let mut rep = FileReport::new(dir, "trials.csv");
    trials(dir, manifest, layout, state.as_ref(), &mut rep);
    rep.into(&mut problems);
    let mut rep = FileReport::new(dir, "years.csv");
    years(dir, manifest, layout, state.as_ref(), &mut rep);
    rep.into(&mut problems);
    let mut rep = FileReport::new(dir, "scenario.resolved.yaml");
    resolved(dir, manifest, layout, &mut rep);
    rep.into(&mut problems);
    if manifest.files.keys().any(|k| k.ends_with(".parquet")) {
        let sound = problems.is_empty();
        parquet(dir, manifest, m, state.as_ref().filter(|_| sound), &mut problems);
    }
    (problems, state)
}

/// Checks a shard's Parquet tables: each file against its manifest, and,
/// when its CSV rows and state are sound (`state`), the manifest's records
/// against the tables written again from them (into a hash only): the
/// writer's bytes depend on the rows alone.
fn parquet(dir: &Path, manifest: &Manifest, m: &Model, state: Option<&Collected>, problems: &mut Vec<String>) {
    use crate::app::columnar::{LossTables, replay_years, sha256_of};
    use crate::report::columnar::Table;
    let tables = [Table::Trials, Table::Years, Table::Accounts];
    let mut reps: Vec<FileReport> = tables.iter().map(|t| FileReport::new(dir, t.parquet_file())).collect();
    for (t, rep) in tables.iter().zip(&mut reps) {
        match sha256_of(&dir.join(t.parquet_file())) {
            Ok(sha) => against_manifest(rep, manifest, t.parquet_file(), &sha, None),
            Err(e) => rep.file(format!("cannot read it: {e}")),
        }
    }
    if let Some(c) = state {
        let rebuilt = (|| -> anyhow::Result<_> {
            let sinks = [io::sink(), io::sink(), io::sink()];
            let mut t = LossTables::new(m, &manifest.scenario_sha256, manifest.seed, sinks)?;
            super::feed_state(&mut t, m, manifest.trials[0], &c.trials, c.weights().unwrap_or(&[]), &c.accounts)?;
            replay_years(&dir.join("years.csv"), m, &mut t)?;
            Ok(t.finish()?)
        })();
        match rebuilt {
            Err(e) => reps[0].file(format!("cannot write the shard's rows again to check it: {e:#}")),
            Ok(closed) => {
                for (c, rep) in closed.iter().zip(&mut reps) {
                    let Some(r) = manifest.files.get(c.table.parquet_file()) else { continue };
                    if r.sha256 != c.sha256 || r.rows != Some(c.rows) {
                        rep.file(format!(
                            "does not hold the shard's rows: written again from trials.csv, years.csv and \
                             state.json it has {} rows and SHA-256 {}, but manifest.json records {} rows and {}",
                            c.rows,
                            c.sha256,
                            r.rows.map_or("no".into(), |n| n.to_string()),
                            r.sha256
                        ));
                    }
                }
            }
        }
    }
    for rep in reps {
        rep.into(problems);
    }
}

/// Compares a file's SHA-256 and rows with what the manifest records.
fn against_manifest(rep: &mut FileReport, manifest: &Manifest, name: &str, sha256: &str, rows: Option<u64>) {
    let Some(r) = manifest.files.get(name) else {
        rep.file("manifest.json records nothing of this file".into());
        return;
    };
    if r.sha256 != sha256 {
        rep.file(format!("its SHA-256 is {sha256}, but manifest.json records {}", r.sha256));
    }
    if let Some(rows) = rows {
        match r.rows {
            Some(n) if n == rows => {}
            Some(n) => rep.file(format!("{rows} rows, but manifest.json records {n}")),
            None => rep.file("manifest.json records no row count for it".into()),
        }
    }
}

fn state(dir: &Path, manifest: &Manifest, m: &Model, rep: &mut FileReport) -> Option<Collected> {
    let bytes = match fs::read(dir.join("state.json")) {
        Ok(b) => b,
        Err(e) => {
            rep.file(format!("cannot read it: {e}"));
            return None;
        }
    };
    against_manifest(rep, manifest, "state.json", &hex(&Sha256::digest(&bytes)), None);
    let c: Collected = match serde_json::from_slice(&bytes) {
        Ok(c) => c,
        Err(e) => {
            rep.file(format!("not a shard's state: {e}"));
            return None;
        }
    };
    let [start, end] = manifest.trials;
    if c.n() as u64 != end.saturating_sub(start) {
        rep.file(format!("holds {} trials, but the shard ran the trials [{start}, {end})", c.n()));
    }
    for p in c.problems(m) {
        rep.file(p);
    }
    Some(c)
}

/// Reads a file line by line (each with its newline; the last may have
/// none), hashing every byte; its SHA-256 and its line count.
fn lines(path: &Path, mut each: impl FnMut(u64, &[u8])) -> io::Result<(String, u64)> {
    let mut r = BufReader::with_capacity(1 << 20, File::open(path)?);
    let mut h = Sha256::new();
    let mut line = Vec::with_capacity(1024);
    let mut n = 0;
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            return Ok((hex(&h.finalize()), n));
        }
        h.update(&line);
        n += 1;
        each(n, &line);
    }
}

/// Checks a table's header line against the expected one.
fn header(rep: &mut FileReport, line: &[u8], expected: &[u8], cols: &[String]) {
    if line == expected {
        return;
    }
    // Read as CSV: a column named after a bank or county may be quoted.
    let found: Vec<Vec<u8>> = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line)
        .byte_records()
        .next()
        .and_then(Result::ok)
        .map(|r| r.iter().map(<[u8]>::to_vec).collect())
        .unwrap_or_default();
    let at = cols.iter().zip(&found).position(|(c, f)| c.as_bytes() != f.as_slice());
    rep.line(|| match at {
        Some(i) => format!(
            "line 1 (the header): column {} is `{}`, but a run of this scenario writes `{}`",
            i + 1,
            String::from_utf8_lossy(&found[i]),
            cols[i]
        ),
        None => format!(
            "line 1 (the header): {} columns, but a run of this scenario writes {}{}",
            found.len(),
            cols.len(),
            if line.ends_with(b"\n") { "" } else { " (and no newline at its end)" }
        ),
    });
}

/// A line's fields, without its newline, and whether the line is whole:
/// it ends with a newline and has the header's number of fields (a problem
/// is noted if not).
fn fields<'a>(rep: &mut FileReport, ln: u64, line: &'a [u8], want: usize) -> (Vec<&'a [u8]>, bool) {
    let mut out = Vec::with_capacity(want);
    let body = match line.strip_suffix(b"\n") {
        Some(b) => b,
        None => {
            rep.line(|| format!("line {ln} has no newline at its end: the file was cut short"));
            line
        }
    };
    out.extend(body.split(|&b| b == b','));
    if out.len() != want {
        rep.line(|| format!("line {ln} has {} fields, but the header has {want}", out.len()));
        return (out, false);
    }
    let whole = line.ends_with(b"\n");
    (out, whole)
}

/// The name of the first field where two rows differ, and both cells.
fn first_difference<'a>(cols: &'a [String], a: &'a [u8], b: &'a [u8]) -> (&'a str, String, String) {
    let (fa, fb): (Vec<&[u8]>, Vec<&[u8]>) = (a.split(|&c| c == b',').collect(), b.split(|&c| c == b',').collect());
    let s = |x: &[u8]| String::from_utf8_lossy(x).into_owned();
    match fa.iter().zip(&fb).position(|(x, y)| x != y) {
        Some(i) => (cols.get(i).map_or("?", String::as_str), s(fa[i]), s(fb[i])),
        None => ("the row's length", s(a), s(b)),
    }
}

fn trials(dir: &Path, manifest: &Manifest, layout: &Layout, state: Option<&Collected>, rep: &mut FileReport) {
    let [start, end] = manifest.trials;
    let want = layout.trials_cols.len();
    let mut row = Vec::with_capacity(512);
    let read = lines(&dir.join("trials.csv"), |ln, line| {
        if ln == 1 {
            return header(rep, line, &layout.trials_header, &layout.trials_cols);
        }
        let (cells, _) = fields(rep, ln, line, want);
        if cells.len() != want {
            return;
        }
        let i = ln - 2;
        let expected = start + i;
        match parse_count(cells[0]) {
            Some(t) if t == expected && t < end => {}
            _ if expected >= end => {
                return rep.line(|| format!("line {ln} is a row beyond the shard's trials [{start}, {end})"));
            }
            _ => {
                return rep.line(|| {
                    format!(
                        "line {ln} is trial `{}`, expected trial {expected} \
                         (the shard's trials [{start}, {end}), one row each, in order)",
                        String::from_utf8_lossy(cells[0])
                    )
                });
            }
        }
        let Some(r) = state.and_then(|c| c.trials.get(i as usize)) else { return };
        row.clear();
        tables_csv::trial_row(&mut row, r);
        if layout.weighted {
            row.pop();
            tables_csv::weight(&mut row, state.and_then(|c| c.weights.get(i as usize)).copied().unwrap_or(f64::NAN));
            row.push(b'\n');
        }
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        if row.strip_suffix(b"\n") != Some(body) {
            let (col, here, there) = first_difference(&layout.trials_cols, body, &row[..row.len() - 1]);
            rep.line(|| format!("line {ln} (trial {expected}): `{col}` is {here} here, but {there} in state.json"));
        }
    });
    table_end(
        rep,
        manifest,
        "trials.csv",
        read,
        end.saturating_sub(start),
        format!("one for each of the shard's trials [{start}, {end})"),
    );
}

/// Checks a table's row count against the shard's and the manifest's.
fn table_end(
    rep: &mut FileReport,
    manifest: &Manifest,
    name: &str,
    read: io::Result<(String, u64)>,
    want: u64,
    why: String,
) {
    match read {
        Err(e) => rep.file(format!("cannot read it: {e}")),
        Ok((_, 0)) => rep.file("it is empty (no header)".into()),
        Ok((sha, lines)) => {
            let rows = lines - 1;
            if rows != want {
                rep.file(format!("{rows} rows, but there must be {want}: {why}"));
            }
            against_manifest(rep, manifest, name, &sha, Some(rows));
        }
    }
}

/// A sum of cells, written as the cells are.
fn cell(v: i128, money: bool) -> String {
    if money {
        let a = v.unsigned_abs();
        format!("{}{}.{:02}", if v < 0 { "-" } else { "" }, a / 100, a % 100)
    } else {
        v.to_string()
    }
}

fn years(dir: &Path, manifest: &Manifest, layout: &Layout, state: Option<&Collected>, rep: &mut FileReport) {
    let [start, end] = manifest.trials;
    let h = layout.horizon.max(1);
    let want = layout.years_cols.len();
    let mut sums = vec![0i128; layout.summed.len()];
    // Whether the current trial's rows so far were read whole (their sums mean something).
    let mut whole = true;
    let mut row = Vec::with_capacity(512);
    let mut trial_cells: Vec<i128> = Vec::with_capacity(layout.trials_cols.len());
    let mut values: Vec<i128> = Vec::with_capacity(want);
    let read = lines(&dir.join("years.csv"), |ln, line| {
        if ln == 1 {
            return header(rep, line, &layout.years_header, &layout.years_cols);
        }
        let j = ln - 2;
        let (k, year) = (j / h, j % h + 1);
        let trial = start + k;
        if year == 1 {
            sums.fill(0);
            whole = true;
        }
        let (cells, ok) = fields(rep, ln, line, want);
        if cells.len() != want {
            whole = false;
            return;
        }
        whole &= ok;
        if trial >= end {
            whole = false;
            return rep.line(|| format!("line {ln} is a row beyond the shard's trials [{start}, {end})"));
        }
        if parse_count(cells[0]) != Some(trial) || parse_count(cells[1]) != Some(year) {
            whole = false;
            return rep.line(|| {
                format!(
                    "line {ln} is trial `{}` year `{}`, expected trial {trial} year {year} \
                     (each of the shard's trials [{start}, {end}) with its years 1 to {h}, in order)",
                    String::from_utf8_lossy(cells[0]),
                    String::from_utf8_lossy(cells[1])
                )
            });
        }
        values.clear();
        // The weight (importance-sampled runs) is the trial's, checked in trials.csv.
        let numbers = cells.len() - layout.weighted as usize;
        for (i, (c, &money)) in cells[..numbers].iter().zip(&layout.years_money).enumerate().skip(2) {
            let v = if money { parse_money(c).map(i128::from) } else { parse_count(c).map(i128::from) };
            let Some(v) = v else {
                whole = false;
                let what = if money { "an amount in yuan with two decimals" } else { "a count" };
                return rep.line(|| {
                    format!("line {ln}: `{}` is `{}`, not {what}", layout.years_cols[i], String::from_utf8_lossy(c))
                });
            };
            values.push(v);
        }
        for (s, &(y, _)) in sums.iter_mut().zip(&layout.summed) {
            *s += values[y - 2];
        }
        if year != h || !whole {
            return;
        }
        let Some(r) = state.and_then(|c| c.trials.get(k as usize)) else { return };
        row.clear();
        tables_csv::trial_row(&mut row, r);
        trial_cells.clear();
        trial_cells.extend(row[..row.len() - 1].split(|&b| b == b',').zip(&layout.trials_money).map(|(c, &money)| {
            if money { parse_money(c).map_or(0, i128::from) } else { parse_count(c).map_or(0, i128::from) }
        }));
        for (s, &(_, t)) in sums.iter().zip(&layout.summed) {
            if trial_cells.get(t) != Some(s) {
                let money = layout.trials_money[t];
                let theirs = trial_cells.get(t).map_or("nothing".into(), |&v| cell(v, money));
                rep.line(|| {
                    format!(
                        "lines {}-{ln} (trial {trial}): `{}` adds up to {}, but the trial's row \
                         in state.json has {theirs}",
                        ln + 1 - h,
                        layout.trials_cols[t],
                        cell(*s, money)
                    )
                });
                break;
            }
        }
    });
    let n = end.saturating_sub(start);
    table_end(
        rep,
        manifest,
        "years.csv",
        read,
        n.saturating_mul(h),
        format!("{h} years for each of the shard's {n} trials"),
    );
}

fn resolved(dir: &Path, manifest: &Manifest, layout: &Layout, rep: &mut FileReport) {
    let bytes = match fs::read(dir.join("scenario.resolved.yaml")) {
        Ok(b) => b,
        Err(e) => return rep.file(format!("cannot read it: {e}")),
    };
    against_manifest(rep, manifest, "scenario.resolved.yaml", &hex(&Sha256::digest(&bytes)), None);
    if bytes != layout.resolved.as_bytes() {
        let text = String::from_utf8_lossy(&bytes);
        let at = text.lines().zip(layout.resolved.lines()).position(|(a, b)| a != b);
        rep.file(match at {
            Some(i) => format!(
                "line {} is `{}`, but the scenario merge rebuilt resolves to `{}`",
                i + 1,
                text.lines().nth(i).unwrap_or_default(),
                layout.resolved.lines().nth(i).unwrap_or_default()
            ),
            None => "differs in length from the scenario merge rebuilt, resolved".into(),
        });
    }
}
