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

/// `,` and a count. The tables hold millions of cells: written with `itoa`
/// rather than `write!`, whose formatting machinery costs several times more.
fn count(buf: &mut Vec<u8>, n: impl itoa::Integer) {
    buf.push(b',');
    buf.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

/// `,` and an amount in yuan with two decimals, as `Fen`'s `Display` writes it.
fn money(buf: &mut Vec<u8>, f: Fen) {
    buf.push(b',');
    if f.0 < 0 {
        buf.push(b'-');
    }
    let a = f.0.unsigned_abs();
    buf.extend_from_slice(itoa::Buffer::new().format(a / 100).as_bytes());
    let cents = (a % 100) as u8;
    buf.extend_from_slice(&[b'.', b'0' + cents / 10, b'0' + cents % 10]);
}

fn body(buf: &mut Vec<u8>, flows: &Flows, c: &Counts) {
    for col in &MONEY[..LEAD] {
        money(buf, (col.get)(flows));
    }
    for n in [c.village_funds_exhausted, c.comp_accounts_exhausted, c.societies_impaired] {
        count(buf, n);
    }
    for col in &MONEY[LEAD..] {
        money(buf, (col.get)(flows));
    }
    for n in [c.disaster_events, c.epidemic_outbreaks, c.shocks] {
        count(buf, n);
    }
    count(buf, c.loan_years);
}

/// Appends a batch's rows of both tables.
pub fn write_batch(b: &Batch, trials: &mut impl Write, years: &mut impl Write) -> io::Result<()> {
    let mut buf = Vec::with_capacity(256 * b.trials.len());
    for r in &b.trials {
        buf.extend_from_slice(itoa::Buffer::new().format(r.trial).as_bytes());
        count(&mut buf, r.counts.defaults);
        body(&mut buf, &r.flows, &r.counts);
        buf.push(b'\n');
    }
    trials.write_all(&buf)?;
    buf.clear();
    let na = b.n_accounts;
    for (k, y) in b.years.iter().enumerate() {
        buf.extend_from_slice(itoa::Buffer::new().format(y.trial).as_bytes());
        count(&mut buf, y.year);
        count(&mut buf, y.counts.defaults);
        body(&mut buf, &y.flows, &y.counts);
        money(&mut buf, y.village_balance);
        for &bal in &b.year_balances[k * na..(k + 1) * na] {
            money(&mut buf, bal);
        }
        buf.push(b'\n');
    }
    years.write_all(&buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_written_as_display_writes_them() {
        for v in [0, 5, -5, 99, 100, -100, 101, 123_456, -123_456_789, i64::MAX, i64::MIN + 1] {
            let mut buf = Vec::new();
            money(&mut buf, Fen(v));
            assert_eq!(String::from_utf8(buf).unwrap(), format!(",{}", Fen(v)), "{v}");
        }
        let mut buf = Vec::new();
        count(&mut buf, u64::MAX);
        count(&mut buf, 0u32);
        assert_eq!(String::from_utf8(buf).unwrap(), format!(",{},0", u64::MAX));
    }
}
