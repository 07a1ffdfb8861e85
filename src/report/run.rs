//! What the charts and the report draw: a whole run's results, handed over
//! in memory by the run that computed them, or read back from its output
//! folder (`riskshare report`) as the very types that wrote them
//! ([`Summary`] from `summary.json`, [`Sizing`] from `size.json`,
//! [`Scenario`] from `scenario.resolved.yaml`, [`CurvePoint`]s from
//! `size_curve.csv`). There is no second schema of a file here: a field the
//! writer renames is a compile error in the reader, not a silently missing
//! row.
//!
//! **Architecture Invariant:** nothing here runs the simulation. Every chart
//! and the report are a function of this data, so `riskshare report OUTDIR`
//! redraws a run without simulating it again, and a chart can never disagree
//! with the tables it claims to show.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};

use crate::analysis::sizing::{CurvePoint, Sizing};
use crate::analysis::summary::Summary;
use crate::money::Fen;
use crate::report::charts::{OPTIONAL_LAYERS, WATERFALL};
use crate::report::format::Lang;
use crate::report::labels::{Kind, Labels};
use crate::report::tables_csv::parse_money;
use crate::scenario::{self, Label, Scenario};
use crate::sim::tables::{Flows, MONEY};

/// The trial table, each row's money columns as [`Flows`], so that derived
/// columns (`bank_total`, `fiscal_cost`) use the library's own formulas.
#[derive(Clone, Debug, Default)]
pub struct Trials {
    pub rows: Vec<Flows>,
    /// Each row's importance weight (`trials.csv`'s `weight`); empty on a
    /// plain run, whose rows weigh 1.
    pub weights: Vec<f64>,
}

impl Trials {
    /// Reads `trials.csv`. The waterfall's columns must be present; other money
    /// columns that are missing stay zero.
    pub fn read(path: &Path) -> Result<Trials> {
        let mut rdr = csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
        let header = rdr.headers().with_context(|| format!("{}: no header", path.display()))?.clone();
        for col in WATERFALL.iter().filter(|c| !OPTIONAL_LAYERS.contains(c)) {
            if !header.iter().any(|h| h == *col) {
                bail!("{}: no column `{col}`", path.display());
            }
        }
        // (csv column index, MONEY index) of every money column present.
        let money: Vec<(usize, usize)> = header
            .iter()
            .enumerate()
            .filter_map(|(i, h)| MONEY.iter().position(|c| c.name == h).map(|m| (i, m)))
            .collect();
        let weight = header.iter().position(|h| h == "weight");
        let (mut rows, mut weights) = (Vec::new(), Vec::new());
        for rec in rdr.records() {
            let rec = rec.with_context(|| format!("{}: bad row", path.display()))?;
            let mut f = Flows::default();
            for &(i, m) in &money {
                *(MONEY[m].get_mut)(&mut f) = Fen(money_cell(path, &header, &rec, i)?);
            }
            rows.push(f);
            if let Some(i) = weight {
                let cell = rec.get(i).unwrap_or("");
                let w = cell.parse::<f64>().ok().filter(|w| w.is_finite() && *w >= 0.0).ok_or_else(|| {
                    let line = rec.position().map_or(0, |p| p.line());
                    anyhow!(
                        "{}:{line}: column `weight`: expected a weight of at least 0, found `{cell}`",
                        path.display()
                    )
                })?;
                weights.push(w);
            }
        }
        Ok(Trials { rows, weights })
    }

    pub fn n(&self) -> usize {
        self.rows.len()
    }

    /// The rows' weights on an importance-sampled run; `None` on a plain one.
    pub fn weights(&self) -> Option<&[f64]> {
        (!self.weights.is_empty() && self.weights.len() == self.rows.len()).then_some(&self.weights[..])
    }

    /// A column in fen, by `trials.csv` name or one of the derived
    /// `bank_total` and `fiscal_cost`.
    pub fn column(&self, name: &str) -> Option<Vec<i64>> {
        match name {
            "bank_total" => Some(self.rows.iter().map(|f| f.bank_total().0).collect()),
            "fiscal_cost" => Some(self.rows.iter().map(|f| f.fiscal_cost().0).collect()),
            _ => {
                let c = MONEY.iter().find(|c| c.name == name)?;
                Some(self.rows.iter().map(|f| (c.get)(f).0).collect())
            }
        }
    }
}

/// Cell `i` of a loss table's row in fen, read as the table writer wrote it.
fn money_cell(path: &Path, header: &csv::StringRecord, rec: &csv::StringRecord, i: usize) -> Result<i64> {
    let cell = rec.get(i).unwrap_or("");
    parse_money(cell.as_bytes()).ok_or_else(|| {
        let line = rec.position().map_or(0, |p| p.line());
        anyhow!("{}:{line}: column `{}`: expected yuan with two decimals, found `{cell}`", path.display(), &header[i])
    })
}

/// One bank's compensation balances (all its counties' accounts summed), at
/// the end of each year of each trial.
#[derive(Clone, Debug)]
pub struct YearBalances {
    pub bank: String,
    pub name: String,
    /// Balance at the start of year 1 (the deposit paid in before year 1), fen.
    pub opening: i64,
    /// `by_year[t - 1]` holds every trial's balance at the end of year t, fen.
    pub by_year: Vec<Vec<i64>>,
}

/// What a run that has just written its tables still holds in memory: the
/// charts' share of `trials.csv` and `years.csv`, so that drawing them does
/// not parse the tables back (most of a redraw's time on a large run).
#[derive(Clone, Debug, Default)]
pub struct Tables {
    pub trials: Trials,
    /// `balance_sums[g][t - 1]`: every trial's compensation balance at the
    /// end of year t, summed over the accounts of bank group g (the banks in
    /// order of first appearance among the accounts, as [`YearBalances`]).
    pub balance_sums: Vec<Vec<Vec<i64>>>,
}

/// What a whole run writes besides its loss tables, as it computed it.
#[derive(Clone, Debug)]
pub struct RunResults {
    /// `summary.json`.
    pub summary: Summary,
    /// `size.json`, when the run sized the funds.
    pub sizing: Option<Sizing>,
    /// `size_curve.csv`.
    pub curve: Option<Vec<CurvePoint>>,
}

/// Everything the charts and the report read.
#[derive(Clone, Debug)]
pub struct RunData {
    /// The run's output folder.
    pub dir: PathBuf,
    /// Where the charts and report are written (`dir` unless redrawn into a staging folder).
    pub out: PathBuf,
    pub summary: Summary,
    pub sizing: Option<Sizing>,
    /// The scenario as run; `None` when a folder lacks `scenario.resolved.yaml`.
    pub scenario: Option<Scenario>,
    pub trials: Trials,
    /// Per bank; empty when `years.csv` is absent or there is no compensation account.
    pub balances: Vec<YearBalances>,
    /// Points of every account in the order written (each account's in
    /// increasing ratio); `None` when `size_curve.csv` is absent.
    pub size_curve: Option<Vec<CurvePoint>>,
    /// What the charts work out once for all their drawings.
    pub drawn: crate::report::charts::Drawn,
}

impl RunData {
    /// A run's results as the run holds them, drawn into its folder `dir`.
    /// The tables' share the charts need comes from `tables` when given, else
    /// from `dir`'s `trials.csv` and `years.csv`.
    pub fn of_results(dir: &Path, r: RunResults, scenario: Option<Scenario>, tables: Option<Tables>) -> Result<Self> {
        let opening_share = first_injection_share(scenario.as_ref());
        let s = &r.summary;
        let (trials, balances) = match tables {
            Some(t) => {
                let accounts = vec![""; s.adequacy.accounts.len()];
                let (groups, _) = balance_groups(s, opening_share, &accounts);
                let balances =
                    groups.into_iter().zip(t.balance_sums).map(|(g, by_year)| YearBalances { by_year, ..g }).collect();
                (t.trials, balances)
            }
            None => {
                // The two tables are read side by side: reading them is most of a redraw.
                let years = dir.join("years.csv");
                let (trials, balances) = rayon::join(
                    || Trials::read(&dir.join("trials.csv")),
                    || if years.exists() { read_balances(&years, s, opening_share) } else { Ok(vec![]) },
                );
                (trials?, balances?)
            }
        };
        Ok(RunData {
            dir: dir.to_path_buf(),
            out: dir.to_path_buf(),
            summary: r.summary,
            sizing: r.sizing,
            scenario,
            trials,
            balances,
            size_curve: r.curve,
            drawn: Default::default(),
        })
    }
}

impl RunData {
    /// The display names of the scenario as run; for a folder without
    /// `scenario.resolved.yaml`, the banks' English names `summary.json` keeps.
    pub fn labels(&self) -> Labels {
        let mut labels = self.scenario.as_ref().map(Labels::of).unwrap_or_default();
        for a in &self.summary.adequacy.accounts {
            if labels.get(Kind::Bank, &a.bank, Lang::En).is_none() && !a.bank_name.is_empty() {
                labels.insert(Kind::Bank, &a.bank, Label { zh: None, en: Some(a.bank_name.clone()) });
            }
        }
        labels
    }
}

/// Reads a finished run's output folder: `summary.json` and the loss tables,
/// and `scenario.resolved.yaml`, `size.json` and `size_curve.csv` where
/// present. A file that is there but does not read as its type is an error
/// naming the file, never a part of the report quietly left out.
pub fn load_run(dir: &Path) -> Result<RunData> {
    let summary: Summary = read_json(&dir.join("summary.json"))?;
    let size = dir.join("size.json");
    let sizing = if size.exists() { Some(read_json(&size)?) } else { None };
    let path = dir.join("scenario.resolved.yaml");
    let scenario = if path.exists() {
        let text = read(&path)?;
        Some(scenario::parse(&text, &path.display().to_string(), &[]).map_err(|e| anyhow!("{e}"))?)
    } else {
        None
    };
    let path = dir.join("size_curve.csv");
    let curve = if path.exists() {
        Some(
            crate::report::tables_csv::parse_size_curve(&read(&path)?)
                .with_context(|| format!("{}: unexpected format", path.display()))?,
        )
    } else {
        None
    };
    RunData::of_results(dir, RunResults { summary, sizing, curve }, scenario, None)
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    serde_json::from_str(&read(path)?).with_context(|| format!("{}: unexpected format", path.display()))
}

/// Share of the deposit paid in before year 1's losses (docs/model.md 3.9: the
/// deposit may come in batches by year); 1 when the scenario does not say.
fn first_injection_share(scenario: Option<&Scenario>) -> f64 {
    match scenario.map(|s| &s.funds.compensation.injections) {
        Some(list) if !list.is_empty() => list.iter().filter(|i| i.year <= 1).map(|i| i.share).sum(),
        _ => 1.0,
    }
}

/// Reads the `comp_balance_*` columns of `years.csv`, summed per bank. The
/// columns follow `summary.json`'s account order (both come from the model's
/// account list); when the counts differ each column is its own group.
fn read_balances(path: &Path, s: &Summary, opening_share: f64) -> Result<Vec<YearBalances>> {
    let mut rdr = csv::Reader::from_path(path).with_context(|| format!("cannot read {}", path.display()))?;
    let header = rdr.headers().with_context(|| format!("{}: no header", path.display()))?.clone();
    let year_col =
        header.iter().position(|h| h == "year").ok_or_else(|| anyhow!("{}: no column `year`", path.display()))?;
    let cols: Vec<(usize, &str)> =
        header.iter().enumerate().filter_map(|(i, h)| h.strip_prefix("comp_balance_").map(|b| (i, b))).collect();
    if cols.is_empty() {
        return Ok(vec![]);
    }
    let horizon = s.horizon_years.max(1) as usize;
    let suffixes: Vec<&str> = cols.iter().map(|&(_, b)| b).collect();
    let (mut groups, group_of) = balance_groups(s, opening_share, &suffixes);
    let mut sums = vec![0i64; groups.len()];
    for rec in rdr.records() {
        let rec = rec.with_context(|| format!("{}: bad row", path.display()))?;
        let year: usize = rec
            .get(year_col)
            .and_then(|y| y.parse().ok())
            .filter(|&y| (1..=horizon).contains(&y))
            .ok_or_else(|| anyhow!("{}:{}: bad year", path.display(), rec.position().map_or(0, |p| p.line())))?;
        sums.iter_mut().for_each(|x| *x = 0);
        for (k, &(i, _)) in cols.iter().enumerate() {
            sums[group_of[k]] += money_cell(path, &header, &rec, i)?;
        }
        for (g, &v) in sums.iter().enumerate() {
            groups[g].by_year[year - 1].push(v);
        }
    }
    Ok(groups)
}

/// The bank groups of `years.csv`'s balance columns (named by their
/// suffixes), without their balances, and the group of each column. The
/// columns follow `summary.json`'s account order, and an account's group is
/// its bank, in order of first appearance ([`bank_groups`]); when the counts
/// differ each column is its own group.
fn balance_groups(s: &Summary, opening_share: f64, suffixes: &[&str]) -> (Vec<YearBalances>, Vec<usize>) {
    let horizon = s.horizon_years.max(1) as usize;
    let by_account = suffixes.len() == s.adequacy.accounts.len();
    let group_of = if by_account {
        bank_groups(s.adequacy.accounts.iter().map(|a| a.bank.as_str()))
    } else {
        (0..suffixes.len()).collect()
    };
    let mut groups: Vec<YearBalances> = Vec::new();
    for (k, &g) in group_of.iter().enumerate() {
        let (bank, name, deposit) = if by_account {
            let a = &s.adequacy.accounts[k];
            (a.bank.clone(), a.name().to_string(), a.deposit)
        } else {
            (suffixes[k].to_string(), suffixes[k].to_string(), 0.0)
        };
        if g == groups.len() {
            groups.push(YearBalances { bank, name, opening: 0, by_year: vec![Vec::new(); horizon] });
        }
        groups[g].opening += (deposit * opening_share * 100.0).round() as i64;
    }
    (groups, group_of)
}

/// The group of each account of a list of accounts' banks: banks numbered
/// in order of first appearance.
pub fn bank_groups<'a>(banks: impl Iterator<Item = &'a str>) -> Vec<usize> {
    let mut seen: Vec<&str> = Vec::new();
    banks
        .map(|b| {
            seen.iter().position(|&x| x == b).unwrap_or_else(|| {
                seen.push(b);
                seen.len() - 1
            })
        })
        .collect()
}
