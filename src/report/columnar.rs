//! The loss tables and the analyses' tables as Arrow record batches: the
//! columns of the CSVs (`report::tables_csv`), same names, same order, same
//! meaning, typed. `app::columnar` writes them as Parquet; the Python
//! package hands them to pyarrow. No I/O here.
//!
//! Types (docs/outputs.md): money is `Decimal128(18, 2)`, yuan with two
//! decimals held exactly (an integer number of fen; Parquet stores it as
//! INT64 with the DECIMAL logical type); counts are the engine's unsigned
//! integers (`UInt32`, `UInt64` for `trial` and `loan_years`); names are
//! strings, dictionary-encoded where they repeat row after row. The
//! analyses' tables (`comparison`, `sweep`, `size_curve`) hold statistics,
//! not amounts: `Float64`, read from the very text their CSV holds, so both
//! files give the same numbers; an empty CSV cell is a null.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, StringBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{
    ArrayRef, Decimal128Array, DictionaryArray, Float64Array, Int32Array, RecordBatch, StringArray, UInt32Array,
    UInt64Array,
};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef};

use crate::analysis::compare::Comparison;
use crate::analysis::sizing::CurvePoint;
use crate::analysis::sweep::{Axis, CellRow};
use crate::model::Model;
use crate::money::Fen;
use crate::report::tables_csv;
use crate::sim::tables::{AccountTrial, Batch, COUNTS, Counts, MONEY, TrialRow, YearRow};

/// The version of the tables' schema: raised when a column is added,
/// removed, renamed or retyped. Written into every file as
/// `riskshare.schema_version`.
pub const SCHEMA_VERSION: &str = "1";

/// Money: yuan with two decimals, exact. 18 digits hold any amount
/// `limits` allows (CNY 100 bn is 13 digits of fen), and Parquet stores a
/// precision up to 18 as a 64-bit integer.
pub const MONEY_TYPE: DataType = DataType::Decimal128(18, 2);

/// The tables riskshare writes in columnar form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table {
    Trials,
    Years,
    Accounts,
    Comparison,
    Sweep,
    SizeCurve,
}

impl Table {
    /// The table's name, as in `riskshare.table` and its file's stem.
    pub fn name(self) -> &'static str {
        match self {
            Table::Trials => "trials",
            Table::Years => "years",
            Table::Accounts => "accounts",
            Table::Comparison => "comparison",
            Table::Sweep => "sweep",
            Table::SizeCurve => "size_curve",
        }
    }

    /// Its Parquet file's name.
    pub fn parquet_file(self) -> &'static str {
        match self {
            Table::Trials => "trials.parquet",
            Table::Years => "years.parquet",
            Table::Accounts => "accounts.parquet",
            Table::Comparison => "comparison.parquet",
            Table::Sweep => "sweep.parquet",
            Table::SizeCurve => "size_curve.parquet",
        }
    }
}

/// The key-value metadata of a table's file, in a fixed order:
/// `riskshare.schema_version`, `riskshare.table`, `riskshare.engine_version`,
/// `riskshare.scenario_sha256` (as shard manifests record it:
/// `app::shard::checksum`; a comparison's scenarios' joined by spaces) and
/// `riskshare.seed`. Nothing that differs between two runs of the same
/// inputs (no time, no thread count, no shard).
pub fn schema_metadata(table: Table, scenario_sha256: &str, seed: u64) -> BTreeMap<String, String> {
    [
        ("riskshare.schema_version", SCHEMA_VERSION.to_string()),
        ("riskshare.table", table.name().to_string()),
        ("riskshare.engine_version", crate::ENGINE_VERSION.to_string()),
        ("riskshare.scenario_sha256", scenario_sha256.to_string()),
        ("riskshare.seed", seed.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// How to read a count from a row's counts.
type CountOf = fn(&Counts) -> u64;

/// A count column's type and how to read it from a row's counts.
fn count_of(name: &str) -> Option<(DataType, CountOf)> {
    let c = COUNTS.iter().find(|c| c.name == name)?;
    // Loan-years are summed over a book's loans; every other count is a u32 in the row.
    Some((if name == "loan_years" { DataType::UInt64 } else { DataType::UInt32 }, c.get))
}

fn money_array(values: impl Iterator<Item = Fen>) -> ArrayRef {
    let a = Decimal128Array::from_iter_values(values.map(|f| f.0 as i128));
    Arc::new(a.with_precision_and_scale(18, 2).expect("18, 2 is a valid decimal type"))
}

fn count_array(ty: &DataType, values: impl Iterator<Item = u64>) -> ArrayRef {
    match ty {
        // Every u32 count was a u32 in the row.
        DataType::UInt32 => Arc::new(UInt32Array::from_iter_values(values.map(|v| v as u32))),
        _ => Arc::new(UInt64Array::from_iter_values(values)),
    }
}

fn field_type(name: &str) -> DataType {
    if name == "trial" {
        DataType::UInt64
    } else if name == "year" {
        DataType::UInt32
    } else if tables_csv::is_money(name) {
        MONEY_TYPE
    } else {
        count_of(name).map(|(t, _)| t).expect("every column of the loss tables is money or a count")
    }
}

/// `cols`' schema, with a last `weight` column (`Float64`, each trial's
/// likelihood ratio) on an importance-sampled run's tables, as in the CSVs.
fn schema_of_weighted(cols: &[String], weighted: bool) -> SchemaRef {
    let mut fields: Vec<Field> = cols.iter().map(|c| Field::new(c, field_type(c), false)).collect();
    if weighted {
        fields.push(Field::new("weight", DataType::Float64, false));
    }
    Arc::new(Schema::new(fields))
}

/// The schema of `trials` (the columns of `trials.csv`; `weighted`: an
/// importance-sampled run's, ending in `weight`).
pub fn trials_schema(weighted: bool) -> SchemaRef {
    schema_of_weighted(&tables_csv::trials_columns(), weighted)
}

/// The schema of `years` (the columns of `years.csv`: one balance per
/// compensation account of `m`, and `weight` when `m` is importance-sampled).
pub fn years_schema(m: &Model) -> SchemaRef {
    schema_of_weighted(&tables_csv::years_columns(m), m.importance.is_some())
}

/// The schema of `accounts`: one row per trial and compensation account.
pub fn accounts_schema() -> SchemaRef {
    let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    let mut fields = vec![
        Field::new("trial", DataType::UInt64, false),
        Field::new("bank", dict.clone(), false),
        Field::new("county", dict, false),
    ];
    fields.extend(ACCOUNT_MONEY.iter().map(|(n, _)| Field::new(*n, MONEY_TYPE, false)));
    fields.push(Field::new("exhausted_year", DataType::UInt32, false));
    Arc::new(Schema::new(fields))
}

/// How to read an amount from an account's row.
type AccountMoney = fn(&AccountTrial) -> Fen;

/// The money columns of `accounts`, in order.
const ACCOUNT_MONEY: [(&str, AccountMoney); 4] = [
    ("draws", |a| a.draws),
    ("shortfall", |a| a.shortfall),
    ("bank_loss", |a| a.bank_loss),
    ("top_ups", |a| a.top_ups),
];

/// A column of `trials` or `years` read from rows that carry flows and counts.
fn flow_column<R>(
    name: &str,
    rows: &[R],
    flows: impl Fn(&R) -> &crate::sim::tables::Flows,
    counts: impl Fn(&R) -> &Counts,
) -> Option<ArrayRef> {
    if let Some(c) = MONEY.iter().find(|c| c.name == name) {
        return Some(money_array(rows.iter().map(|r| (c.get)(flows(r)))));
    }
    let (ty, get) = count_of(name)?;
    Some(count_array(&ty, rows.iter().map(|r| get(counts(r)))))
}

/// `trials` of the given rows (in the order given); `weights`, one a row, on
/// an importance-sampled run, else empty.
pub fn trials_batch(rows: &[TrialRow], weights: &[f64]) -> RecordBatch {
    let weighted = !weights.is_empty();
    assert!(!weighted || weights.len() == rows.len(), "one weight per row");
    let schema = trials_schema(weighted);
    let columns = schema
        .fields()
        .iter()
        .map(|f| match f.name().as_str() {
            "trial" => Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.trial))) as ArrayRef,
            "weight" => Arc::new(Float64Array::from(weights.to_vec())),
            name => flow_column(name, rows, |r| &r.flows, |r| &r.counts).expect("a trials column"),
        })
        .collect();
    RecordBatch::try_new(schema, columns).expect("columns built from the schema")
}

/// `years` of the given rows; `balances` holds each row's compensation
/// account balances (`m.accounts.len()` a row, as [`Batch::year_balances`]),
/// `weights` each row's trial's weight when `m` is importance-sampled.
pub fn years_batch(m: &Model, rows: &[YearRow], balances: &[Fen], weights: &[f64]) -> RecordBatch {
    let schema = years_schema(m);
    let na = m.accounts.len();
    let weighted = m.importance.is_some();
    assert_eq!(balances.len(), rows.len() * na, "one balance per row and account");
    assert_eq!(weights.len(), if weighted { rows.len() } else { 0 }, "one weight per row when weighted");
    let lead = schema.fields().len() - na - usize::from(weighted);
    let mut columns: Vec<ArrayRef> = schema.fields()[..lead]
        .iter()
        .map(|f| match f.name().as_str() {
            "trial" => Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.trial))) as ArrayRef,
            "year" => Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.year))),
            "village_fund_balance" => money_array(rows.iter().map(|r| r.village_balance)),
            name => flow_column(name, rows, |r| &r.flows, |r| &r.counts).expect("a years column"),
        })
        .collect();
    for a in 0..na {
        columns.push(money_array(balances.iter().skip(a).step_by(na).copied()));
    }
    if weighted {
        columns.push(Arc::new(Float64Array::from(weights.to_vec())));
    }
    RecordBatch::try_new(schema, columns).expect("columns built from the schema")
}

/// Each year row's trial's weight, from the weights of a batch's trials
/// (none on a plain run).
pub fn year_weights(b: &Batch) -> Vec<f64> {
    let first = b.trials.first().map_or(0, |r| r.trial);
    if b.weights.is_empty() {
        return Vec::new();
    }
    b.years.iter().map(|y| b.weights[(y.trial - first) as usize]).collect()
}

/// `accounts` of the given rows, `[trial][account]` flattened (as
/// [`Batch::accounts`] and `Collected::accounts` hold them), the first of
/// them trial `first_trial` and the others following.
pub fn accounts_batch(m: &Model, first_trial: u64, rows: &[AccountTrial]) -> RecordBatch {
    let na = m.accounts.len();
    let trials = rows.len().checked_div(na).unwrap_or(0);
    assert_eq!(rows.len(), trials * na, "one row per trial and account");
    let dict = |names: &[String], of: &dyn Fn(&crate::model::Account) -> u32| -> ArrayRef {
        let keys = Int32Array::from_iter_values((0..trials).flat_map(|_| m.accounts.iter().map(|a| of(a) as i32)));
        let values: ArrayRef = Arc::new(StringArray::from_iter_values(names));
        Arc::new(DictionaryArray::<Int32Type>::try_new(keys, values).expect("ids index their names"))
    };
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(UInt64Array::from_iter_values((0..trials as u64).flat_map(|k| (0..na).map(move |_| first_trial + k)))),
        dict(&m.banks, &|a| a.bank),
        dict(&m.counties, &|a| a.county),
    ];
    columns.extend(ACCOUNT_MONEY.iter().map(|(_, get)| money_array(rows.iter().map(get))));
    columns.push(Arc::new(UInt32Array::from_iter_values(rows.iter().map(|r| r.exhausted_year))));
    RecordBatch::try_new(accounts_schema(), columns).expect("columns built from the schema")
}

/// A batch's three loss tables: (`trials`, `years`, `accounts`).
pub fn batch_tables(m: &Model, b: &Batch) -> (RecordBatch, RecordBatch, RecordBatch) {
    let first = b.trials.first().map_or(0, |r| r.trial);
    (
        trials_batch(&b.trials, &b.weights),
        years_batch(m, &b.years, &b.year_balances, &year_weights(b)),
        accounts_batch(m, first, &b.accounts),
    )
}

/// A table of the analyses from its CSV text: the columns named in
/// `strings` (and, when `infer` is set, any column some cell of which is
/// not a number) as strings, the others as `Float64`; an empty cell is a
/// null. Reading the CSV's own text makes both files hold the same numbers.
fn from_csv(text: &str, strings: &[&str], infer: bool) -> Result<RecordBatch, ArrowError> {
    let mut r = csv::ReaderBuilder::new().from_reader(text.as_bytes());
    let bad = |e: csv::Error| ArrowError::CsvError(e.to_string());
    let header: Vec<String> = r.headers().map_err(bad)?.iter().map(String::from).collect();
    let rows: Vec<csv::StringRecord> = r.records().collect::<Result<_, _>>().map_err(bad)?;
    let number = |s: &str| s.parse::<f64>().ok();
    let mut fields = Vec::new();
    let mut columns: Vec<ArrayRef> = Vec::new();
    for (j, name) in header.iter().enumerate() {
        let cells = rows.iter().map(|r| r.get(j).unwrap_or(""));
        let text =
            strings.contains(&name.as_str()) || (infer && cells.clone().any(|c| !c.is_empty() && number(c).is_none()));
        if text {
            let mut b = StringBuilder::new();
            cells.for_each(|c| b.append_value(c));
            columns.push(Arc::new(b.finish()));
            fields.push(Field::new(name, DataType::Utf8, false));
        } else {
            let mut b = Float64Builder::new();
            cells.for_each(|c| b.append_option(number(c)));
            columns.push(Arc::new(b.finish()));
            fields.push(Field::new(name, DataType::Float64, true));
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}

/// `comparison` (the columns of `comparison.csv`): `metric` and `scenario`
/// strings, the figures `Float64`.
pub fn comparison_batch(c: &Comparison) -> RecordBatch {
    from_csv(&tables_csv::comparison(c), &["metric", "scenario"], false).expect("the CSV writer's own table")
}

/// `sweep` (the columns of `sweep.csv`): each varied key's value a number
/// where every cell of its column is one, else a string; the figures `Float64`.
pub fn sweep_batch(axes: &[Axis], rows: &[CellRow]) -> RecordBatch {
    from_csv(&tables_csv::sweep(axes, rows), &[], true).expect("the CSV writer's own table")
}

/// `size_curve` (the columns of `size_curve.csv`): `account` a string, the others `Float64`.
pub fn size_curve_batch(points: &[CurvePoint]) -> RecordBatch {
    from_csv(&tables_csv::size_curve(points), &["account"], false).expect("the CSV writer's own table")
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::Array;

    #[test]
    fn trials_hold_the_csv_columns_typed() {
        let mut r = TrialRow { trial: 41, ..Default::default() };
        r.flows.exposure = Fen(123_456_789);
        r.flows.comp_fund = Fen(-5);
        r.counts.defaults = 7;
        r.counts.loan_years = 1 << 40;
        let b = trials_batch(&[TrialRow::default(), r], &[]);
        let names: Vec<String> = b.schema().fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(names, tables_csv::trials_columns());
        let col = |n: &str| b.column(b.schema().index_of(n).unwrap()).clone();
        let exposure = col("exposure");
        let exposure = exposure.as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert_eq!(exposure.data_type(), &DataType::Decimal128(18, 2));
        assert_eq!(exposure.value_as_string(1), "1234567.89");
        let comp = col("comp_fund");
        assert_eq!(comp.as_any().downcast_ref::<Decimal128Array>().unwrap().value_as_string(1), "-0.05");
        let t = col("trial");
        assert_eq!(t.as_any().downcast_ref::<UInt64Array>().unwrap().values(), &[0, 41]);
        let d = col("defaults");
        assert_eq!(d.as_any().downcast_ref::<UInt32Array>().unwrap().value(1), 7);
        let ly = col("loan_years");
        assert_eq!(ly.as_any().downcast_ref::<UInt64Array>().unwrap().value(1), 1 << 40);
    }

    #[test]
    fn years_and_accounts_hold_a_batch_row_for_row() {
        let s = crate::scenario::parse(crate::scenario::WANGCANG_YAML, "wangcang", &[]).expect("the built-in scenario");
        let m = Model::build(s, "wangcang", &[]).expect("the built-in scenario builds");
        let mut batches = Vec::new();
        let _ = crate::sim::engine::simulate(&m, 7, 10..40, 2, &|_| {}, |b| {
            batches.push(b);
            Ok::<(), std::convert::Infallible>(())
        });
        let b = Batch::concat(m.accounts.len(), m.horizon, batches);
        let (t, y, a) = batch_tables(&m, &b);
        assert_eq!(t.num_rows(), 30);
        let names: Vec<String> = y.schema().fields().iter().map(|f| f.name().clone()).collect();
        assert_eq!(names, tables_csv::years_columns(&m));
        assert_eq!(y.num_rows(), 30 * m.horizon);
        let na = m.accounts.len();
        assert!(na > 1);
        let last = y.column(y.num_columns() - 1).as_any().downcast_ref::<Decimal128Array>().unwrap();
        for (k, row) in b.years.iter().enumerate() {
            assert_eq!(last.value(k), b.year_balances[k * na + na - 1].0 as i128, "row {k} of {}", row.trial);
        }
        assert_eq!(a.num_rows(), 30 * na);
        let trial = a.column(0).as_any().downcast_ref::<UInt64Array>().unwrap();
        assert_eq!((trial.value(0), trial.value(na), trial.value(30 * na - 1)), (10, 11, 39));
        let bank = a.column(1).as_any().downcast_ref::<DictionaryArray<Int32Type>>().unwrap();
        let banks = bank.values().as_any().downcast_ref::<StringArray>().unwrap();
        for (j, acc) in m.accounts.iter().enumerate() {
            assert_eq!(banks.value(bank.keys().value(na + j) as usize), m.banks[acc.bank as usize]);
        }
        let draws = a.column(3).as_any().downcast_ref::<Decimal128Array>().unwrap();
        assert!(b.accounts.iter().zip(draws.values()).all(|(r, v)| r.draws.0 as i128 == *v));
    }

    #[test]
    fn analyses_tables_read_their_csv_text() {
        let p = CurvePoint {
            account: "rcc, \"x\"".into(),
            ratio: 2.5,
            deposit: 61_784_613.21,
            depletion_prob: 0.1,
            lo: 0.05,
            hi: 0.2,
        };
        let b = size_curve_batch(&[p]);
        assert_eq!(b.schema().field(0).data_type(), &DataType::Utf8);
        let acc = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
        assert_eq!(acc.value(0), "rcc, \"x\"");
        let dep = b.column(2).as_any().downcast_ref::<arrow_array::Float64Array>().unwrap();
        assert_eq!(dep.value(0), 61_784_613.21);
        let t = from_csv("k,a,b\nx,1,\ny,2.5,3\n", &[], true).unwrap();
        assert_eq!(t.schema().field(0).data_type(), &DataType::Utf8);
        assert_eq!(t.schema().field(1).data_type(), &DataType::Float64);
        assert!(t.column(2).is_null(0) && !t.column(2).is_null(1));
    }

    #[test]
    fn metadata_names_table_version_scenario_and_seed() {
        let m = schema_metadata(Table::Years, "ab12", 7);
        assert_eq!(m["riskshare.schema_version"], SCHEMA_VERSION);
        assert_eq!(m["riskshare.table"], "years");
        assert_eq!(m["riskshare.scenario_sha256"], "ab12");
        assert_eq!(m["riskshare.seed"], "7");
        assert_eq!(m["riskshare.engine_version"], crate::ENGINE_VERSION);
    }
}
