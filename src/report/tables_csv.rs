//! `trials.csv` and `years.csv`: the loss tables as CSV, money in yuan with
//! two decimals. Column order is fixed here; the first columns are those
//! MODEL.md section 5 names, extra columns follow.

use std::io::{self, Write};

use crate::model::Model;
use crate::money::Fen;
use crate::tables::{Batch, Counts, Flows, MONEY};

/// Money columns that precede the exhaustion counts (MODEL.md 5's order).
const LEAD: usize = 10;

pub fn trials_header(w: &mut impl Write) -> io::Result<()> {
    let mut cols: Vec<&str> = vec!["trial", "defaults"];
    cols.extend(MONEY[..LEAD].iter().map(|c| c.name));
    cols.extend(["village_funds_exhausted", "comp_accounts_exhausted", "societies_impaired"]);
    cols.extend(MONEY[LEAD..].iter().map(|c| c.name));
    cols.extend(["disaster_events", "epidemic_outbreaks", "shocks", "loan_years"]);
    writeln!(w, "{}", cols.join(","))
}

/// Column names of the compensation accounts' balances in `years.csv`.
pub fn account_columns(m: &Model) -> Vec<String> {
    let one_county = m.accounts.iter().all(|a| a.county == m.accounts[0].county);
    m.accounts
        .iter()
        .map(|a| {
            let b = &m.banks[a.bank as usize];
            if one_county {
                format!("comp_balance_{b}")
            } else {
                format!("comp_balance_{b}_{}", m.counties[a.county as usize])
            }
        })
        .collect()
}

pub fn years_header(w: &mut impl Write, m: &Model) -> io::Result<()> {
    let mut cols: Vec<String> = vec!["trial".into(), "year".into(), "defaults".into()];
    cols.extend(MONEY[..LEAD].iter().map(|c| c.name.to_string()));
    cols.extend(["village_funds_exhausted", "comp_accounts_exhausted", "societies_impaired"].map(String::from));
    cols.extend(MONEY[LEAD..].iter().map(|c| c.name.to_string()));
    cols.extend(
        ["disaster_events", "epidemic_outbreaks", "shocks", "loan_years", "village_fund_balance"].map(String::from),
    );
    cols.extend(account_columns(m));
    writeln!(w, "{}", cols.join(","))
}

fn money(buf: &mut Vec<u8>, f: Fen) {
    use std::io::Write as _;
    let _ = write!(buf, ",{f}");
}

fn body(buf: &mut Vec<u8>, flows: &Flows, c: &Counts) {
    use std::io::Write as _;
    for col in &MONEY[..LEAD] {
        money(buf, (col.get)(flows));
    }
    let _ = write!(buf, ",{},{},{}", c.village_funds_exhausted, c.comp_accounts_exhausted, c.societies_impaired);
    for col in &MONEY[LEAD..] {
        money(buf, (col.get)(flows));
    }
    let _ = write!(buf, ",{},{},{},{}", c.disaster_events, c.epidemic_outbreaks, c.shocks, c.loan_years);
}

/// Appends a batch's rows of both tables.
pub fn write_batch(b: &Batch, trials: &mut impl Write, years: &mut impl Write) -> io::Result<()> {
    use std::io::Write as _;
    let mut buf = Vec::with_capacity(256 * b.trials.len());
    for r in &b.trials {
        let _ = write!(buf, "{},{}", r.trial, r.counts.defaults);
        body(&mut buf, &r.flows, &r.counts);
        buf.push(b'\n');
    }
    trials.write_all(&buf)?;
    buf.clear();
    let na = b.n_accounts;
    for (k, y) in b.years.iter().enumerate() {
        let _ = write!(buf, "{},{},{}", y.trial, y.year, y.counts.defaults);
        body(&mut buf, &y.flows, &y.counts);
        money(&mut buf, y.village_balance);
        for &bal in &b.year_balances[k * na..(k + 1) * na] {
            money(&mut buf, bal);
        }
        buf.push(b'\n');
    }
    years.write_all(&buf)
}
