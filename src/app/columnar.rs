//! The Parquet tables (an edge of the library): `report::columnar`'s
//! record batches written with parquet's `ArrowWriter`, streamed as the
//! waves arrive.
//!
//! Byte identity: a row group holds the trials `[k G, (k + 1) G)` of the
//! run, `G` a function of the model only ([`group_trials`]), whatever the
//! waves, threads or shards, and each row group is handed to the writer as
//! one record batch (the writer cuts pages by the batches it is given). So
//! a run, any thread count, and a merge of shards that feeds the same rows
//! write the same bytes. No time, host or thread count is written; the
//! key-value metadata is `report::columnar::schema_metadata`'s, in its order.
//!
//! Memory: at most one row group's rows are held, and the writer's encoded
//! row group, whatever the number of trials.

use std::io::{self, Write};
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::ArrowWriterOptions;
use parquet::basic::Compression;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;
use sha2::{Digest, Sha256};

use crate::model::Model;
use crate::money::Fen;
use crate::report::columnar::{self, Table};
use crate::sim::tables::{AccountTrial, Batch, TrialRow, YearRow};

/// Which files hold the tables: `--format csv|parquet|both`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// The CSVs only: what riskshare always wrote, and the fastest.
    #[default]
    Csv,
    Parquet,
    Both,
}

impl Format {
    pub fn csv(self) -> bool {
        self != Format::Parquet
    }
    pub fn parquet(self) -> bool {
        self != Format::Csv
    }
    pub fn is_csv(&self) -> bool {
        *self == Format::Csv
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "csv" => Ok(Format::Csv),
            "parquet" => Ok(Format::Parquet),
            "both" => Ok(Format::Both),
            _ => Err(format!("expected csv, parquet or both, found `{s}`")),
        }
    }
}

/// Bytes of rows a row group holds at most (its record batch in memory:
/// money is 16 bytes a cell), about.
const GROUP_BYTES: u64 = 64 << 20;
/// Trials a row group holds at most.
const GROUP_TRIALS: u64 = 1 << 16;

/// Sets the trials per row group instead of [`group_trials`]'s choice, so
/// that the tests can cut a few hundred trials into several row groups.
/// Shards and their merge must see the same value.
pub const GROUP_ENV: &str = "RISKSHARE_PARQUET_GROUP_TRIALS";

/// Trials per row group for model `m`: a power of two, from the model's
/// size only (so a run and a merge of shards cut alike).
pub fn group_trials(m: &Model) -> u64 {
    if let Some(g) = std::env::var(GROUP_ENV).ok().and_then(|v| v.parse::<u64>().ok()).filter(|&g| g > 0) {
        return g;
    }
    let (na, h) = (m.accounts.len() as u64, m.horizon as u64);
    let per_trial = 512 + h * (512 + 16 * na) + na * 96;
    let g = (GROUP_BYTES / per_trial).clamp(1, GROUP_TRIALS);
    1 << g.ilog2()
}

/// The writer's settings: no compression (the money columns are mostly
/// dictionary- and run-length-encoded already; docs/outputs.md), row
/// groups cut by us only, our metadata in its order.
fn properties(table: Table, scenario_sha256: &str, seed: u64) -> WriterProperties {
    let kv =
        columnar::schema_metadata(table, scenario_sha256, seed).into_iter().map(|(k, v)| KeyValue::new(k, v)).collect();
    WriterProperties::builder()
        .set_compression(Compression::UNCOMPRESSED)
        .set_max_row_group_row_count(None)
        .set_max_row_group_bytes(None)
        .set_key_value_metadata(Some(kv))
        .build()
}

/// A writer that hashes what goes through it: a shard's manifest records
/// its files' SHA-256, and merge checks a shard's Parquet by hashing what
/// it would write without keeping it.
pub struct Hashed<W: Write> {
    inner: W,
    hash: Sha256,
}

impl<W: Write> Hashed<W> {
    pub fn new(inner: W) -> Self {
        Hashed { inner, hash: Sha256::new() }
    }
}

impl<W: Write> Write for Hashed<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One table's file: rows pending until a row group's trials are complete.
struct TableFile<W: Write + Send> {
    w: ArrowWriter<Hashed<W>>,
    rows: u64,
}

impl<W: Write + Send> TableFile<W> {
    fn new(out: W, schema: SchemaRef, table: Table, scenario_sha256: &str, seed: u64) -> parquet::errors::Result<Self> {
        let options = ArrowWriterOptions::new().with_properties(properties(table, scenario_sha256, seed));
        Ok(TableFile { w: ArrowWriter::try_new_with_options(Hashed::new(out), schema, options)?, rows: 0 })
    }

    fn group(&mut self, b: RecordBatch) -> parquet::errors::Result<()> {
        if b.num_rows() == 0 {
            return Ok(());
        }
        self.rows += b.num_rows() as u64;
        self.w.write(&b)?;
        self.w.flush()
    }

    fn close(self) -> parquet::errors::Result<(W, String, u64)> {
        let rows = self.rows;
        let mut h = self.w.into_inner()?;
        h.flush()?;
        Ok((h.inner, crate::app::shard::hex(&h.hash.finalize()), rows))
    }
}

/// What a closed table file was: its output, SHA-256 and data rows.
pub struct Closed<W> {
    pub table: Table,
    pub out: W,
    pub sha256: String,
    pub rows: u64,
}

/// The three loss tables (`trials`, `years`, `accounts`) as Parquet,
/// written as rows arrive: a run pushes each wave's [`Batch`]; merge pushes
/// each table's rows on their own. Each table's rows must come in trial
/// order, contiguous.
pub struct LossTables<'m, W: Write + Send> {
    m: &'m Model,
    group: u64,
    trials: TableFile<W>,
    years: TableFile<W>,
    accounts: TableFile<W>,
    pending_trials: Vec<TrialRow>,
    /// On an importance-sampled run, each pending trial's and year row's
    /// weight (empty on a plain one).
    pending_trial_weights: Vec<f64>,
    pending_years: Vec<YearRow>,
    pending_year_weights: Vec<f64>,
    pending_balances: Vec<Fen>,
    pending_accounts: Vec<AccountTrial>,
    /// The trial of `pending_accounts[0]`.
    accounts_first: u64,
}

type Error = parquet::errors::ParquetError;

impl<'m, W: Write + Send> LossTables<'m, W> {
    /// `outs`: where `trials`, `years` and `accounts` go.
    pub fn new(m: &'m Model, scenario_sha256: &str, seed: u64, outs: [W; 3]) -> Result<Self, Error> {
        let [t, y, a] = outs;
        Ok(LossTables {
            m,
            group: group_trials(m),
            trials: TableFile::new(
                t,
                columnar::trials_schema(m.importance.is_some()),
                Table::Trials,
                scenario_sha256,
                seed,
            )?,
            years: TableFile::new(y, columnar::years_schema(m), Table::Years, scenario_sha256, seed)?,
            accounts: TableFile::new(a, columnar::accounts_schema(), Table::Accounts, scenario_sha256, seed)?,
            pending_trials: Vec::new(),
            pending_trial_weights: Vec::new(),
            pending_years: Vec::new(),
            pending_year_weights: Vec::new(),
            pending_balances: Vec::new(),
            pending_accounts: Vec::new(),
            accounts_first: 0,
        })
    }

    /// The end of the pending trials `[first, first + n)` to write now: the
    /// last row-group boundary they reach (all of them when `all`), if any.
    fn cut(&self, first: u64, n: u64, all: bool) -> Option<u64> {
        let end = if all { first + n } else { ((first / self.group + 1) * self.group).min(first + n) };
        (n > 0 && (all || end % self.group == 0)).then_some(end)
    }

    /// Writes every complete row group of pending trials, one group at a
    /// time (each its own record batch); with `all`, the rest too.
    fn drain_trials(&mut self, all: bool) -> Result<(), Error> {
        while let Some(first) = self.pending_trials.first().map(|r| r.trial) {
            let Some(end) = self.cut(first, self.pending_trials.len() as u64, all) else { break };
            let k = (end - first) as usize;
            let w = &self.pending_trial_weights[..k.min(self.pending_trial_weights.len())];
            self.trials.group(columnar::trials_batch(&self.pending_trials[..k], w))?;
            self.pending_trials.drain(..k);
            let kw = k.min(self.pending_trial_weights.len());
            self.pending_trial_weights.drain(..kw);
        }
        Ok(())
    }

    fn drain_years(&mut self, all: bool) -> Result<(), Error> {
        let (h, na) = (self.m.horizon, self.m.accounts.len());
        while let Some(first) = self.pending_years.first().map(|r| r.trial) {
            let Some(end) = self.cut(first, (self.pending_years.len() / h) as u64, all) else { break };
            let rows = (end - first) as usize * h;
            let w = &self.pending_year_weights[..rows.min(self.pending_year_weights.len())];
            let b = columnar::years_batch(self.m, &self.pending_years[..rows], &self.pending_balances[..rows * na], w);
            self.years.group(b)?;
            self.pending_years.drain(..rows);
            let rw = rows.min(self.pending_year_weights.len());
            self.pending_year_weights.drain(..rw);
            self.pending_balances.drain(..rows * na);
        }
        Ok(())
    }

    fn drain_accounts(&mut self, all: bool) -> Result<(), Error> {
        let na = self.m.accounts.len();
        if na == 0 {
            return Ok(());
        }
        loop {
            let first = self.accounts_first;
            let Some(end) = self.cut(first, (self.pending_accounts.len() / na) as u64, all) else { break };
            let rows = (end - first) as usize * na;
            self.accounts.group(columnar::accounts_batch(self.m, first, &self.pending_accounts[..rows]))?;
            self.pending_accounts.drain(..rows);
            self.accounts_first = end;
        }
        Ok(())
    }

    /// Trial rows with their weights (one a row on an importance-sampled
    /// run, else none).
    pub fn push_trials(&mut self, rows: &[TrialRow], weights: &[f64]) -> Result<(), Error> {
        self.pending_trials.extend_from_slice(rows);
        self.pending_trial_weights.extend_from_slice(weights);
        self.drain_trials(false)
    }

    /// Year rows of whole trials, with their accounts' balances (as [`Batch`]
    /// holds them) and their trials' weights (as [`push_trials`](Self::push_trials)).
    pub fn push_years(&mut self, rows: &[YearRow], balances: &[Fen], weights: &[f64]) -> Result<(), Error> {
        self.pending_years.extend_from_slice(rows);
        self.pending_balances.extend_from_slice(balances);
        self.pending_year_weights.extend_from_slice(weights);
        self.drain_years(false)
    }

    /// Account rows `[trial][account]` of whole trials, the first of them trial `first`.
    pub fn push_accounts(&mut self, first: u64, rows: &[AccountTrial]) -> Result<(), Error> {
        if self.pending_accounts.is_empty() {
            self.accounts_first = first;
        }
        self.pending_accounts.extend_from_slice(rows);
        self.drain_accounts(false)
    }

    pub fn push(&mut self, b: &Batch) -> Result<(), Error> {
        self.push_trials(&b.trials, &b.weights)?;
        self.push_years(&b.years, &b.year_balances, &columnar::year_weights(b))?;
        self.push_accounts(b.trials.first().map_or(0, |r| r.trial), &b.accounts)
    }

    /// Writes what is pending and closes the files.
    pub fn finish(mut self) -> Result<[Closed<W>; 3], Error> {
        self.drain_trials(true)?;
        self.drain_years(true)?;
        self.drain_accounts(true)?;
        let close = |f: TableFile<W>, table| -> Result<Closed<W>, Error> {
            let (out, sha256, rows) = f.close()?;
            Ok(Closed { table, out, sha256, rows })
        };
        Ok([
            close(self.trials, Table::Trials)?,
            close(self.years, Table::Years)?,
            close(self.accounts, Table::Accounts)?,
        ])
    }
}

/// A whole small table (comparison, sweep, size curve) as a Parquet file's bytes.
pub fn table_bytes(batch: &RecordBatch, table: Table, scenario_sha256: &str, seed: u64) -> Result<Vec<u8>, Error> {
    let mut f = TableFile::new(Vec::new(), Arc::clone(&batch.schema()), table, scenario_sha256, seed)?;
    f.group(batch.clone())?;
    Ok(f.close()?.0)
}

/// Feeds the rows of a `years.csv` (a shard's, checked) to `t`, a few
/// thousand rows at a time.
pub fn replay_years<W: Write + Send>(path: &std::path::Path, m: &Model, t: &mut LossTables<W>) -> anyhow::Result<()> {
    use anyhow::Context;
    use std::io::BufRead;
    let file = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut r = io::BufReader::with_capacity(1 << 20, file);
    let (na, h) = (m.accounts.len(), m.horizon.max(1));
    let chunk = 4096 * h;
    let (mut rows, mut balances) = (Vec::with_capacity(chunk), Vec::with_capacity(chunk * na));
    let mut weights = Vec::new();
    let weighted = m.importance.is_some();
    let mut line = Vec::with_capacity(1024);
    let mut ln = 0u64;
    loop {
        line.clear();
        let end = r.read_until(b'\n', &mut line).with_context(|| format!("cannot read {}", path.display()))? == 0;
        ln += 1;
        if !end && ln > 1 {
            let bad = || format!("{}: line {ln} is not a row of years.csv", path.display());
            let mut body = line.strip_suffix(b"\n").unwrap_or(&line);
            if weighted {
                // An importance-sampled run's rows end in their trial's weight.
                let cut = body.iter().rposition(|&b| b == b',').with_context(bad)?;
                let w = std::str::from_utf8(&body[cut + 1..]).ok().and_then(|x| x.parse::<f64>().ok());
                weights.push(w.filter(|w| w.is_finite() && *w >= 0.0).with_context(bad)?);
                body = &body[..cut];
            }
            let row = crate::report::tables_csv::parse_year_line(body, na, &mut balances).with_context(bad)?;
            rows.push(row);
        }
        if (end && !rows.is_empty()) || rows.len() == chunk {
            t.push_years(&rows, &balances, &weights)?;
            rows.clear();
            balances.clear();
            weights.clear();
        }
        if end {
            return Ok(());
        }
    }
}

/// A file's SHA-256, read in pieces.
pub fn sha256_of(path: &std::path::Path) -> io::Result<String> {
    let mut h = Hashed::new(io::sink());
    io::copy(&mut std::fs::File::open(path)?, &mut h)?;
    Ok(crate::app::shard::hex(&h.hash.finalize()))
}
