//! The Parquet tables: read back with the parquet crate's reader they hold
//! the CSVs' values, cell for cell; their bytes do not depend on threads or
//! shards; their metadata names the schema, scenario and seed; a shard's
//! Parquet that does not hold its rows is refused by merge.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, Float64Type, UInt32Type, UInt64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

const BIN: &str = env!("CARGO_BIN_EXE_riskshare");
const TRIALS: &str = "301";
/// Trials per row group in these tests: 301 trials make five groups, and
/// the shards below start inside them.
const GROUP: &str = "64";

fn riskshare(dir: &Path, args: &[&str]) -> Output {
    let o =
        Command::new(BIN).args(args).current_dir(dir).env(riskshare::app::columnar::GROUP_ENV, GROUP).output().unwrap();
    assert!(o.status.success(), "riskshare {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    o
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mini = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/mini.yaml")).unwrap();
    fs::write(dir.path().join("mini.yaml"), mini).unwrap();
    dir
}

fn run(dir: &Path, out: &str, extra: &[&str]) {
    let mut args = vec!["run", "mini.yaml", "--trials", TRIALS, "--no-charts", "--out", out];
    args.extend_from_slice(extra);
    riskshare(dir, &args);
}

/// A Parquet file's row groups' sizes, its key-value metadata and its rows as one batch.
fn read(path: &Path) -> (Vec<i64>, BTreeMap<String, String>, RecordBatch) {
    let b = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(path).unwrap()).unwrap();
    let meta = b.metadata().clone();
    let groups = meta.row_groups().iter().map(|g| g.num_rows()).collect();
    let kv = meta
        .file_metadata()
        .key_value_metadata()
        .into_iter()
        .flatten()
        .filter_map(|kv| Some((kv.key.clone(), kv.value.clone()?)))
        .collect();
    let schema = b.schema().clone();
    let batches: Vec<RecordBatch> = b.build().unwrap().map(Result::unwrap).collect();
    (groups, kv, concat_batches(&schema, &batches))
}

/// The batches as one (a small table, read whole); dictionary columns as
/// plain strings.
fn concat_batches(schema: &arrow_schema::SchemaRef, batches: &[RecordBatch]) -> RecordBatch {
    let mut fields = Vec::new();
    let mut cols: Vec<arrow_array::ArrayRef> = Vec::new();
    for (j, f) in schema.fields().iter().enumerate() {
        let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(j).as_ref()).collect();
        let col = concat(&parts);
        fields.push(arrow_schema::Field::new(f.name(), col.data_type().clone(), f.is_nullable()));
        cols.push(col);
    }
    RecordBatch::try_new(std::sync::Arc::new(arrow_schema::Schema::new(fields)), cols).unwrap()
}

/// Concatenates arrays of the types these tables use.
fn concat(parts: &[&dyn Array]) -> arrow_array::ArrayRef {
    use std::sync::Arc;
    let ty = parts[0].data_type().clone();
    match ty {
        DataType::UInt32 => Arc::new(arrow_array::UInt32Array::from_iter_values(
            parts.iter().flat_map(|p| p.as_primitive::<UInt32Type>().values().to_vec()),
        )),
        DataType::UInt64 => Arc::new(arrow_array::UInt64Array::from_iter_values(
            parts.iter().flat_map(|p| p.as_primitive::<UInt64Type>().values().to_vec()),
        )),
        DataType::Decimal128(p, s) => Arc::new(
            arrow_array::Decimal128Array::from_iter_values(
                parts.iter().flat_map(|x| x.as_primitive::<Decimal128Type>().values().to_vec()),
            )
            .with_precision_and_scale(p, s)
            .unwrap(),
        ),
        DataType::Float64 => Arc::new(arrow_array::Float64Array::from_iter(
            parts.iter().flat_map(|p| p.as_primitive::<Float64Type>().iter().collect::<Vec<_>>()),
        )),
        DataType::Utf8 => Arc::new(arrow_array::StringArray::from_iter(
            parts.iter().flat_map(|p| p.as_string::<i32>().iter().map(|v| v.map(String::from)).collect::<Vec<_>>()),
        )),
        DataType::Dictionary(..) => Arc::new(arrow_array::StringArray::from_iter(parts.iter().flat_map(|p| {
            let d = p.as_any_dictionary();
            let values = d.values().as_string::<i32>().clone();
            d.normalized_keys().into_iter().map(move |k| Some(values.value(k).to_string())).collect::<Vec<_>>()
        }))),
        other => panic!("no concat for {other}"),
    }
}

/// A cell as the CSV writes it: amounts with two decimals, counts as integers.
fn cell(a: &dyn Array, i: usize) -> String {
    match a.data_type() {
        DataType::UInt32 => a.as_primitive::<UInt32Type>().value(i).to_string(),
        DataType::UInt64 => a.as_primitive::<UInt64Type>().value(i).to_string(),
        DataType::Decimal128(18, 2) => a.as_primitive::<Decimal128Type>().value_as_string(i),
        DataType::Utf8 => a.as_string::<i32>().value(i).to_string(),
        DataType::Float64 if a.is_null(i) => String::new(),
        DataType::Float64 => a.as_primitive::<Float64Type>().value(i).to_string(),
        other => panic!("unexpected column type {other}"),
    }
}

/// Checks that a Parquet table holds a CSV's header and cells, one for one.
fn equals_csv(parquet: &Path, csv: &Path) -> RecordBatch {
    let (_, _, t) = read(parquet);
    let mut r = csv::Reader::from_path(csv).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    let names: Vec<String> = t.schema().fields().iter().map(|f| f.name().clone()).collect();
    assert_eq!(names, header, "{}: columns", parquet.display());
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(t.num_rows(), rows.len(), "{}: rows", parquet.display());
    for (i, row) in rows.iter().enumerate() {
        for (j, want) in row.iter().enumerate() {
            let got = cell(t.column(j).as_ref(), i);
            // The analyses' CSVs write f64's shortest form; the same value either way.
            let same =
                got == want || (want.parse::<f64>().ok().zip(got.parse::<f64>().ok()).is_some_and(|(a, b)| a == b));
            assert!(same, "{}: row {i}, `{}` is {got}, but {want} in the CSV", parquet.display(), header[j]);
        }
    }
    t
}

#[test]
fn parquet_tables_hold_the_csv_values_and_do_not_depend_on_threads() {
    let dir = setup();
    let d = dir.path();
    run(d, "t1", &["--format", "both", "--threads", "1"]);
    run(d, "t2", &["--format", "both", "--threads", "2"]);
    run(d, "csv", &["--threads", "2"]);
    run(d, "pq", &["--format", "parquet", "--threads", "2"]);
    for f in ["trials.parquet", "years.parquet", "accounts.parquet", "size_curve.parquet"] {
        assert!(fs::read(d.join("t1").join(f)).unwrap() == fs::read(d.join("t2").join(f)).unwrap(), "{f}");
        assert!(fs::read(d.join("t1").join(f)).unwrap() == fs::read(d.join("pq").join(f)).unwrap(), "{f}");
        assert!(!d.join("csv").join(f).exists(), "a plain run wrote {f}");
    }
    // The CSVs of --format both are the plain run's; --format parquet writes none.
    for f in ["trials.csv", "years.csv", "summary.json"] {
        assert!(fs::read(d.join("t1").join(f)).unwrap() == fs::read(d.join("csv").join(f)).unwrap(), "{f}");
    }
    assert!(!d.join("pq/trials.csv").exists() && !d.join("pq/years.csv").exists());
    let t = equals_csv(&d.join("t1/trials.parquet"), &d.join("t1/trials.csv"));
    assert_eq!(t.schema().field_with_name("exposure").unwrap().data_type(), &DataType::Decimal128(18, 2));
    assert_eq!(t.schema().field_with_name("trial").unwrap().data_type(), &DataType::UInt64);
    assert_eq!(t.schema().field_with_name("defaults").unwrap().data_type(), &DataType::UInt32);
    equals_csv(&d.join("t1/years.parquet"), &d.join("t1/years.csv"));
    equals_csv(&d.join("t1/size_curve.parquet"), &d.join("t1/size_curve.csv"));
    // Row groups of 64 trials, whatever the waves.
    let (groups, _, _) = read(&d.join("t1/trials.parquet"));
    assert_eq!(groups, [64, 64, 64, 64, 45]);
    let (groups, _, _) = read(&d.join("t1/years.parquet"));
    assert_eq!(groups, [192, 192, 192, 192, 135]);
}

#[test]
fn the_accounts_table_holds_the_engines_rows() {
    let dir = setup();
    let d = dir.path();
    run(d, "r", &["--format", "parquet"]);
    let m = riskshare::app::io::load(riskshare::app::io::Source::File(d.join("mini.yaml")), &[]).unwrap().model;
    let b = crate::common::simulate(&m, 7, 301, 2);
    let file = fs::File::open(d.join("r/accounts.parquet")).unwrap();
    let schema = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().schema().clone();
    let dict = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8));
    assert_eq!(schema.field_with_name("bank").unwrap().data_type(), &dict, "read back as written");
    let (groups, _, t) = read(&d.join("r/accounts.parquet"));
    let na = m.accounts.len();
    assert!(na >= 2);
    assert_eq!(groups.iter().sum::<i64>() as usize, 301 * na);
    assert_eq!(groups[0] as usize, 64 * na);
    let col = |n: &str| t.column(t.schema().index_of(n).unwrap()).clone();
    let (trial, bank, county) = (col("trial"), col("bank"), col("county"));
    let draws = col("draws");
    let exhausted = col("exhausted_year");
    for (k, r) in b.accounts.iter().enumerate() {
        let a = &m.accounts[k % na];
        assert_eq!(trial.as_primitive::<UInt64Type>().value(k), (k / na) as u64);
        assert_eq!(cell(bank.as_ref(), k), m.banks[a.bank as usize]);
        assert_eq!(cell(county.as_ref(), k), m.counties[a.county as usize]);
        assert_eq!(draws.as_primitive::<Decimal128Type>().value(k), r.draws.0 as i128, "row {k}");
        assert_eq!(exhausted.as_primitive::<UInt32Type>().value(k), r.exhausted_year, "row {k}");
    }
    // Some account draws something in these trials: the comparison means something.
    assert!(b.accounts.iter().any(|r| r.draws.0 > 0));
}

#[test]
fn every_file_names_its_schema_scenario_and_seed() {
    let dir = setup();
    let d = dir.path();
    run(d, "r", &["--format", "parquet", "--seed", "11"]);
    riskshare(d, &["run", "mini.yaml", "--trials", TRIALS, "--seed", "11", "--shard", "0/2", "--out", "s0"]);
    let manifest: serde_json::Value = serde_json::from_slice(&fs::read(d.join("s0/manifest.json")).unwrap()).unwrap();
    for (file, table) in [
        ("trials.parquet", "trials"),
        ("years.parquet", "years"),
        ("accounts.parquet", "accounts"),
        ("size_curve.parquet", "size_curve"),
    ] {
        let (_, kv, _) = read(&d.join("r").join(file));
        assert_eq!(kv["riskshare.schema_version"], riskshare::report::columnar::SCHEMA_VERSION, "{file}");
        assert_eq!(kv["riskshare.table"], table);
        assert_eq!(kv["riskshare.seed"], "11");
        assert_eq!(kv["riskshare.engine_version"], env!("CARGO_PKG_VERSION"));
        assert_eq!(kv["riskshare.scenario_sha256"], manifest["scenario_sha256"].as_str().unwrap(), "{file}");
        // The Arrow schema rides along, so that readers get the dictionary types back.
        assert!(kv.contains_key("ARROW:schema"));
    }
}

#[test]
fn shards_merge_to_the_single_runs_parquet_bytes() {
    let dir = setup();
    let d = dir.path();
    run(d, "single", &["--format", "both"]);
    for n in [2usize, 3] {
        for i in 0..n {
            let spec = format!("{i}/{n}");
            let out = format!("n{n}-p{i}");
            // 301 / 3 shards start at trials 100 and 200, inside row groups.
            riskshare(
                d,
                &["run", "mini.yaml", "--trials", TRIALS, "--shard", &spec, "--format", "parquet", "--out", &out],
            );
        }
        let mut args = vec!["merge".to_string()];
        args.extend((0..n).map(|i| format!("n{n}-p{i}")));
        args.extend(["--no-charts", "--out"].map(String::from));
        args.push(format!("m{n}"));
        riskshare(d, &args.iter().map(String::as_str).collect::<Vec<_>>());
        for f in ["trials.parquet", "years.parquet", "accounts.parquet", "size_curve.parquet"] {
            let a = fs::read(d.join("single").join(f)).unwrap();
            let b = fs::read(d.join(format!("m{n}")).join(f)).unwrap();
            assert!(a == b, "{f} differs after merging {n} shards");
        }
        // The shards ran with --format parquet: merge writes Parquet only.
        assert!(!d.join(format!("m{n}/trials.csv")).exists());
    }
    // Merge told to write both gives the single run's CSVs too.
    riskshare(d, &["merge", "n2-p0", "n2-p1", "--no-charts", "--format", "both", "--out", "mb"]);
    for f in ["trials.csv", "years.csv", "trials.parquet", "accounts.parquet"] {
        assert!(fs::read(d.join("single").join(f)).unwrap() == fs::read(d.join("mb").join(f)).unwrap(), "{f}");
    }
}

#[test]
fn merge_refuses_a_shards_parquet_that_does_not_hold_its_rows() {
    let dir = setup();
    let d = dir.path();
    for i in 0..2 {
        let spec = format!("{i}/2");
        let out = format!("p{i}");
        riskshare(d, &["run", "mini.yaml", "--trials", TRIALS, "--shard", &spec, "--format", "both", "--out", &out]);
    }
    // A Parquet file from another seed, its manifest record rewritten to match.
    riskshare(
        d,
        &["run", "mini.yaml", "--trials", TRIALS, "--seed", "8", "--shard", "1/2", "--format", "both", "--out", "x"],
    );
    fs::copy(d.join("x/years.parquet"), d.join("p1/years.parquet")).unwrap();
    let path = d.join("p1/manifest.json");
    let mut manifest: serde_json::Value = serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    let other: serde_json::Value = serde_json::from_slice(&fs::read(d.join("x/manifest.json")).unwrap()).unwrap();
    manifest["files"]["years.parquet"] = other["files"]["years.parquet"].clone();
    fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
    let o = Command::new(BIN)
        .args(["merge", "p0", "p1", "--no-charts", "--out", "m"])
        .current_dir(d)
        .env(riskshare::app::columnar::GROUP_ENV, GROUP)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("years.parquet") && err.contains("does not hold the shard's rows"), "{err}");
    assert!(!d.join("m").exists());
    // A file changed under its manifest is caught by its SHA-256.
    fs::write(d.join("p0/trials.parquet"), b"PAR1").unwrap();
    let o = Command::new(BIN).args(["merge", "p0", "p1", "--out", "m"]).current_dir(d).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("trials.parquet: its SHA-256 is"), "{err}");
}

#[test]
fn sweep_and_compare_write_their_tables_as_parquet() {
    let dir = setup();
    let d = dir.path();
    fs::write(d.join("other.yaml"), fs::read_to_string(d.join("mini.yaml")).unwrap().replace("seed: 7", "seed: 9"))
        .unwrap();
    let vary = "funds.compensation.deposit_ratio=8,10";
    riskshare(d, &["sweep", "mini.yaml", "--vary", vary, "--trials", "200", "--format", "both", "--out", "s"]);
    let t = equals_csv(&d.join("s/sweep.parquet"), &d.join("s/sweep.csv"));
    assert_eq!(t.schema().field(0).data_type(), &DataType::Float64, "a numeric key's values are numbers");
    riskshare(d, &["compare", "mini.yaml", "other.yaml", "--trials", "200", "--format", "both", "--out", "c"]);
    let t = equals_csv(&d.join("c/comparison.parquet"), &d.join("c/comparison.csv"));
    assert_eq!(t.schema().field(1).data_type(), &DataType::Utf8);
    riskshare(d, &["compare", "mini.yaml", "other.yaml", "--trials", "200", "--format", "parquet", "--out", "cp"]);
    assert!(d.join("cp/comparison.parquet").exists() && !d.join("cp/comparison.csv").exists());
}

#[test]
fn importance_sampled_tables_carry_their_weights_and_merge_to_the_same_bytes() {
    let dir = setup();
    let d = dir.path();
    let is = ["--importance", "auto", "--tail", "exposure:1e-2"];
    let with = |out: &str, extra: &[&str]| {
        let mut a: Vec<&str> = is.to_vec();
        a.extend_from_slice(extra);
        run(d, out, &a);
    };
    with("w1", &["--format", "both", "--threads", "1"]);
    with("w2", &["--format", "both", "--threads", "2"]);
    for f in ["trials.parquet", "years.parquet", "accounts.parquet"] {
        assert!(fs::read(d.join("w1").join(f)).unwrap() == fs::read(d.join("w2").join(f)).unwrap(), "{f}");
    }
    // The weight is the last column, as in the CSVs, and the same number.
    let t = equals_csv(&d.join("w1/trials.parquet"), &d.join("w1/trials.csv"));
    let last = t.schema().fields().last().unwrap().clone();
    assert_eq!((last.name().as_str(), last.data_type()), ("weight", &DataType::Float64));
    let w = t.column(t.num_columns() - 1).as_primitive::<Float64Type>();
    assert!(w.values().iter().all(|&x| x.is_finite() && x >= 0.0) && w.values().iter().any(|&x| x != 1.0));
    equals_csv(&d.join("w1/years.parquet"), &d.join("w1/years.csv"));
    // Weighted shards, Parquet only, merge to the single run's bytes.
    for i in 0..3 {
        let (spec, out) = (format!("{i}/3"), format!("s{i}"));
        let mut a =
            vec!["run", "mini.yaml", "--trials", TRIALS, "--shard", &spec, "--format", "parquet", "--out", &out];
        a.extend_from_slice(&is);
        riskshare(d, &a);
    }
    riskshare(d, &["merge", "s0", "s1", "s2", "--no-charts", "--format", "both", "--out", "m"]);
    for f in ["trials.parquet", "years.parquet", "accounts.parquet", "trials.csv", "years.csv", "summary.json"] {
        assert!(fs::read(d.join("w1").join(f)).unwrap() == fs::read(d.join("m").join(f)).unwrap(), "{f} after merge");
    }
}
