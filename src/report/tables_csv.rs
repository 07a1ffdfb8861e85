//! Every CSV riskshare writes. `trials.csv` and `years.csv`: the loss tables,
//! money in yuan with two decimals, column order fixed here (the first
//! columns are those docs/model.md section 5 names, extra columns follow);
//! and the analyses' tables: `comparison.csv`, `sweep.csv`, `size_curve.csv`.

use std::io::{self, Write};

use crate::analysis::compare::Comparison;
use crate::analysis::policy::PolicyFigures;
use crate::analysis::sizing::CurvePoint;
use crate::analysis::sweep::{Axis, CellRow};
use crate::model::Model;
use crate::money::Fen;
use crate::report::csv_table::Table;
use crate::sim::tables::{Batch, Counts, Flows, MONEY, TrialRow, YearRow};

/// Money columns that precede the exhaustion counts (docs/model.md 5's order).
const LEAD: usize = 10;

/// Column names of `trials.csv`.
pub fn trials_columns() -> Vec<String> {
    let mut cols: Vec<String> = vec!["trial".into(), "defaults".into()];
    cols.extend(MONEY[..LEAD].iter().map(|c| c.name.to_string()));
    cols.extend(["village_funds_exhausted", "comp_accounts_exhausted", "societies_impaired"].map(String::from));
    cols.extend(MONEY[LEAD..].iter().map(|c| c.name.to_string()));
    cols.extend(["disaster_events", "epidemic_outbreaks", "shocks", "loan_years"].map(String::from));
    cols
}

/// A header line through the `csv` crate: an account's column holds its
/// bank's and county's ids, which may hold a comma or a quote. The rows
/// hold numbers only and are written by hand, below, for speed.
fn header(w: &mut impl Write, cols: &[String]) -> io::Result<()> {
    let mut t = Table::new();
    t.row(cols);
    w.write_all(&t.into_bytes())
}

/// The last column of both tables on an importance-sampled run: each
/// trial's likelihood ratio (docs/tail.md). Plain runs have none.
pub const WEIGHT: &str = "weight";

/// `trials.csv`'s header; `weighted` on importance-sampled runs.
pub fn trials_header(w: &mut impl Write, weighted: bool) -> io::Result<()> {
    let mut cols = trials_columns();
    if weighted {
        cols.push(WEIGHT.into());
    }
    header(w, &cols)
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

/// Column names of `years.csv`.
pub fn years_columns(m: &Model) -> Vec<String> {
    let mut cols: Vec<String> = vec!["trial".into(), "year".into(), "defaults".into()];
    cols.extend(MONEY[..LEAD].iter().map(|c| c.name.to_string()));
    cols.extend(["village_funds_exhausted", "comp_accounts_exhausted", "societies_impaired"].map(String::from));
    cols.extend(MONEY[LEAD..].iter().map(|c| c.name.to_string()));
    cols.extend(
        ["disaster_events", "epidemic_outbreaks", "shocks", "loan_years", "village_fund_balance"].map(String::from),
    );
    cols.extend(account_columns(m));
    cols
}

/// `years.csv`'s header, with [`WEIGHT`] when `m` draws under a change of measure.
pub fn years_header(w: &mut impl Write, m: &Model) -> io::Result<()> {
    let mut cols = years_columns(m);
    if m.importance.is_some() {
        cols.push(WEIGHT.into());
    }
    header(w, &cols)
}

/// `,` and a trial's likelihood ratio, shortest round trip (`1.25e-3`).
pub fn weight(buf: &mut Vec<u8>, w: f64) {
    use std::io::Write as _;
    let _ = write!(buf, ",{w:e}");
}

/// Whether a column of either table holds money (yuan with two decimals,
/// as [`money`] writes it); the others hold counts.
pub fn is_money(column: &str) -> bool {
    MONEY.iter().any(|c| c.name == column) || column == "village_fund_balance" || column.starts_with("comp_balance_")
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

/// Appends one row of `trials.csv`, its newline included.
pub fn trial_row(buf: &mut Vec<u8>, r: &TrialRow) {
    buf.extend_from_slice(itoa::Buffer::new().format(r.trial).as_bytes());
    count(buf, r.counts.defaults);
    body(buf, &r.flows, &r.counts);
    buf.push(b'\n');
}

/// Appends a batch's rows of both tables.
pub fn write_batch(b: &Batch, trials: &mut impl Write, years: &mut impl Write) -> io::Result<()> {
    let mut buf = Vec::with_capacity(256 * b.trials.len());
    for (k, r) in b.trials.iter().enumerate() {
        trial_row(&mut buf, r);
        if let Some(&w) = b.weights.get(k) {
            buf.pop();
            weight(&mut buf, w);
            buf.push(b'\n');
        }
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
        if let Some(&w) = b.weights.get(k / b.horizon.max(1)) {
            weight(&mut buf, w);
        }
        buf.push(b'\n');
    }
    years.write_all(&buf)
}

/// Reads back a data line of `years.csv` as [`write_batch`] writes it
/// (without its newline), with `accounts` balances: its row and balances,
/// or `None` if a cell is not as the writer writes it.
pub fn parse_year_line(line: &[u8], accounts: usize, balances: &mut Vec<Fen>) -> Option<YearRow> {
    fn n<'a>(it: &mut impl Iterator<Item = &'a [u8]>) -> Option<u64> {
        it.next().and_then(parse_count)
    }
    fn n32<'a>(it: &mut impl Iterator<Item = &'a [u8]>) -> Option<u32> {
        u32::try_from(n(it)?).ok()
    }
    fn m<'a>(it: &mut impl Iterator<Item = &'a [u8]>) -> Option<Fen> {
        it.next().and_then(parse_money).map(Fen)
    }
    let it = &mut line.split(|&b| b == b',');
    let mut r = YearRow { trial: n(it)?, year: n32(it)?, ..Default::default() };
    let c = &mut r.counts;
    c.defaults = n32(it)?;
    for col in &MONEY[..LEAD] {
        *(col.get_mut)(&mut r.flows) = m(it)?;
    }
    for x in [&mut c.village_funds_exhausted, &mut c.comp_accounts_exhausted, &mut c.societies_impaired] {
        *x = n32(it)?;
    }
    for col in &MONEY[LEAD..] {
        *(col.get_mut)(&mut r.flows) = m(it)?;
    }
    for x in [&mut c.disaster_events, &mut c.epidemic_outbreaks, &mut c.shocks] {
        *x = n32(it)?;
    }
    c.loan_years = n(it)?;
    r.village_balance = m(it)?;
    for _ in 0..accounts {
        balances.push(m(it)?);
    }
    it.next().is_none().then_some(r)
}

/// Count columns of `trials.csv` that are not the sums of the trial's rows
/// in `years.csv` (a village fund or an account exhausted in several years,
/// or a society impaired, counts once in the trial). Every other column but
/// `trial` is the sum of its years'.
pub const NOT_SUMMED: [&str; 3] = ["village_funds_exhausted", "comp_accounts_exhausted", "societies_impaired"];

/// Reads a cell as [`count`] writes it: digits, no leading zero.
pub fn parse_count(cell: &[u8]) -> Option<u64> {
    if cell.is_empty() || (cell.len() > 1 && cell[0] == b'0') || !cell.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(cell).ok()?.parse().ok()
}

/// Reads a cell as [`money`] writes it (yuan with two decimals), in fen.
pub fn parse_money(cell: &[u8]) -> Option<i64> {
    let (neg, rest) = match cell.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, cell),
    };
    let (yuan, cents) = rest.split_at_checked(rest.len().checked_sub(3)?)?;
    if cents[0] != b'.' || !cents[1..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let yuan = parse_count(yuan)?;
    let fen =
        i64::try_from(yuan).ok()?.checked_mul(100)?.checked_add(((cents[1] - b'0') * 10 + cents[2] - b'0') as i64)?;
    // `money` writes no `-0.00`.
    if neg && fen == 0 {
        return None;
    }
    Some(if neg { -fen } else { fen })
}

/// One figure of a [`PolicyFigures`] as the CSVs name it: the value's
/// column, its decimals, and its 95 % interval's columns where it has one.
struct PolicyColumn {
    name: String,
    decimals: i32,
    value: Option<f64>,
    interval: Option<(String, String, f64, f64)>,
}

/// The banks of several variants, matched by id, in order of appearance.
fn policy_banks<'a>(ps: impl IntoIterator<Item = &'a PolicyFigures>) -> Vec<String> {
    let mut banks: Vec<String> = Vec::new();
    for p in ps {
        for b in &p.banks {
            if !banks.contains(&b.bank) {
                banks.push(b.bank.clone());
            }
        }
    }
    banks
}

/// The figures of `p` as columns, for the banks `banks` (a bank `p` lacks
/// has empty cells). `deposits_yuan` comes first: the one total of the
/// deposits, read before each bank's.
fn policy_columns(p: &PolicyFigures, banks: &[String]) -> Vec<PolicyColumn> {
    let money = |name: String, v: Option<f64>| PolicyColumn { name, decimals: 2, value: v, interval: None };
    let ranged = |stem: String, v: Option<(f64, f64, f64)>, money: bool| {
        let (unit, decimals) = if money { ("_yuan", 2) } else { ("", 8) };
        let (value, name) =
            if money { (format!("{stem}_mean{unit}"), stem.clone()) } else { (stem.clone(), stem.clone()) };
        PolicyColumn {
            name: value,
            decimals,
            value: v.map(|x| x.0),
            interval: Some((
                format!("{name}_lo{unit}"),
                format!("{name}_hi{unit}"),
                v.map_or(f64::NAN, |x| x.1),
                v.map_or(f64::NAN, |x| x.2),
            )),
        }
    };
    let bank = |id: &str| p.banks.iter().find(|b| b.bank == id);
    let mut cols = vec![money("deposits_yuan".into(), Some(p.deposits))];
    cols.extend(banks.iter().map(|b| money(format!("deposit_{b}_yuan"), bank(b).map(|x| x.deposit))));
    cols.extend(banks.iter().map(|b| money(format!("covered_{b}_yuan"), bank(b).map(|x| x.covered_principal))));
    cols.push(money("village_funds_yuan".into(), Some(p.village_funds)));
    cols.push(money("budget_committed_yuan".into(), Some(p.budget_committed)));
    cols.push(PolicyColumn { name: "fiscal_leverage".into(), decimals: 4, value: p.fiscal_leverage, interval: None });
    cols.push(money("fiscal_cost_mean_yuan".into(), Some(p.fiscal_cost.mean)));
    cols.extend(p.fiscal_cost.parts().iter().map(|(k, v)| money(format!("fiscal_{k}_yuan"), Some(*v))));
    let c = &p.comp_draws;
    cols.push(ranged("comp_draw".into(), Some((c.mean, c.lo, c.hi)), true));
    for b in banks {
        let x = bank(b);
        cols.push(ranged(format!("draw_{b}"), x.map(|x| (x.draws.mean, x.draws.lo, x.draws.hi)), true));
    }
    for b in banks {
        let x = bank(b);
        cols.push(ranged(
            format!("bank_loss_{b}"),
            x.map(|x| (x.bank_loss.mean, x.bank_loss.lo, x.bank_loss.hi)),
            true,
        ));
    }
    for b in banks {
        let x = bank(b);
        cols.push(ranged(format!("p_dry_{b}"), x.map(|x| (x.dry.p, x.dry.lo, x.dry.hi)), false));
    }
    cols
}

/// A figure as the CSVs write it: as `f64`'s shortest form, rounded to its
/// decimals (a difference of two-decimal yuan carries float noise); empty
/// when there is none.
fn figure(x: Option<f64>, decimals: i32) -> String {
    match x {
        Some(x) if x.is_finite() => {
            let k = 10f64.powi(decimals);
            ((x * k).round() / k).to_string()
        }
        _ => String::new(),
    }
}

/// The comparison as CSV: one row per (metric, scenario). The paired metrics
/// first (`diff_*`: the paired difference to the first scenario); then the
/// money each scenario moves (deposits, budget, leverage, fiscal parts, each
/// bank's draw and chance of running dry: names as in sweep.csv), with
/// `diff_to_first` their difference to the first scenario's and `lo`, `hi`
/// the figure's own 95 % interval where it has one.
pub fn comparison(c: &Comparison) -> String {
    let mut t = Table::new();
    t.row(["metric", "scenario", "mean", "p99", "diff_to_first", "diff_stderr", "diff_lo", "diff_hi", "lo", "hi"]);
    for r in &c.rows {
        for (i, name) in c.scenarios.iter().enumerate() {
            let d = &r.diff[i];
            let numbers = [r.mean[i], r.p99[i], d.mean, d.stderr, d.lo, d.hi].map(|x| x.to_string());
            t.row(
                [r.metric.as_str(), name.as_str()]
                    .into_iter()
                    .chain(numbers.iter().map(String::as_str))
                    .chain(["", ""]),
            );
        }
    }
    let banks = policy_banks(&c.policy);
    let cols: Vec<Vec<PolicyColumn>> = c.policy.iter().map(|p| policy_columns(p, &banks)).collect();
    if let Some(first) = cols.first() {
        for (j, col) in first.iter().enumerate() {
            for (name, mine) in c.scenarios.iter().zip(&cols) {
                let x = &mine[j];
                let diff = x.value.zip(col.value).map(|(a, b)| a - b);
                let (lo, hi) = x.interval.as_ref().map_or((None, None), |i| (Some(i.2), Some(i.3)));
                t.row([
                    x.name.clone(),
                    name.clone(),
                    figure(x.value, x.decimals),
                    String::new(),
                    figure(diff, x.decimals),
                    String::new(),
                    String::new(),
                    String::new(),
                    figure(lo, x.decimals),
                    figure(hi, x.decimals),
                ]);
            }
        }
    }
    t.into_string()
}

/// The sweep as CSV: one row per cell, the varied keys' values first, then
/// the losses, then the money the cell moves ([`policy_columns`]).
pub fn sweep(axes: &[Axis], rows: &[CellRow]) -> String {
    let banks = policy_banks(rows.iter().map(|r| &r.policy));
    let mut policy_head: Vec<String> = Vec::new();
    if let Some(r) = rows.first() {
        for c in policy_columns(&r.policy, &banks) {
            policy_head.push(c.name);
            if let Some((lo, hi, _, _)) = c.interval {
                policy_head.extend([lo, hi]);
            }
        }
    }
    let mut t = Table::new();
    t.row(
        axes.iter().map(|a| a.key.clone()).chain(
            [
                "comp_fund_mean",
                "comp_fund_p99",
                "shortfall_mean",
                "shortfall_p99",
                "bank_total_mean",
                "bank_total_p99",
                "village_fund_mean",
                "depletion_prob",
                "depletion_lo",
                "depletion_hi",
            ]
            .map(String::from)
            .into_iter()
            .chain(policy_head),
        ),
    );
    for r in rows {
        let numbers = [
            r.comp_fund_mean,
            r.comp_fund_p99,
            r.shortfall_mean,
            r.shortfall_p99,
            r.bank_total_mean,
            r.bank_total_p99,
            r.village_fund_mean,
            r.depletion.p,
            r.depletion.lo,
            r.depletion.hi,
        ]
        .map(|x| x.to_string());
        let mut policy: Vec<String> = Vec::new();
        for c in policy_columns(&r.policy, &banks) {
            policy.push(figure(c.value, c.decimals));
            if let Some((_, _, lo, hi)) = c.interval {
                policy.extend([figure(Some(lo), c.decimals), figure(Some(hi), c.decimals)]);
            }
        }
        t.row(r.values.iter().map(|(_, v)| v.clone()).chain(numbers).chain(policy));
    }
    t.into_string()
}

/// The sizing curve as CSV: a header of [`CurvePoint`]'s fields, then its rows.
pub fn size_curve(points: &[CurvePoint]) -> String {
    let mut t = Table::new();
    t.row(["account", "ratio", "deposit", "depletion_prob", "lo", "hi"]);
    for p in points {
        t.row([
            p.account.clone(),
            p.ratio.to_string(),
            format!("{:.2}", p.deposit),
            p.depletion_prob.to_string(),
            p.lo.to_string(),
            p.hi.to_string(),
        ]);
    }
    t.into_string()
}

/// Reads [`size_curve`]'s text back (`riskshare report` on a finished run).
pub fn parse_size_curve(text: &str) -> Result<Vec<CurvePoint>, csv::Error> {
    csv::Reader::from_reader(text.as_bytes()).deserialize().collect()
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

    #[test]
    fn cells_read_back_as_written() {
        for v in [0, 5, -5, 99, 100, -100, 101, 123_456, -123_456_789, i64::MAX, i64::MIN + 1] {
            let mut buf = Vec::new();
            money(&mut buf, Fen(v));
            assert_eq!(parse_money(&buf[1..]), Some(v), "{v}");
        }
        for n in [0, 7, 10, u64::MAX] {
            let mut buf = Vec::new();
            count(&mut buf, n);
            assert_eq!(parse_count(&buf[1..]), Some(n), "{n}");
        }
        for bad in ["", "-", "1", "1.5", ".50", "-0.00", "01.00", "1.0x", "1,00", "+1.00", "1.000"] {
            assert_eq!(parse_money(bad.as_bytes()), None, "{bad}");
        }
        for bad in ["", "-1", "01", "1.0", "18446744073709551616", " 1"] {
            assert_eq!(parse_count(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn the_size_curve_reads_back_as_written() {
        use crate::analysis::summary::Prob;
        let p = |account: &str, ratio: f64, deposit: f64, k: u64| {
            let d = Prob::of(k, 700);
            CurvePoint { account: account.into(), ratio, deposit, depletion_prob: d.p, lo: d.lo, hi: d.hi }
        };
        let points = vec![
            p("rcc/a, \"b\"", 2.2909, 61_784_613.21, 699),
            p("rcc/a, \"b\"", 10.0, 0.1, 3),
            p("x/y", 200.0, 0.0, 0),
        ];
        let text = size_curve(&points);
        assert_eq!(parse_size_curve(&text).unwrap(), points);
        assert!(parse_size_curve("account,ratio\nx,1\n").is_err());
    }
}
