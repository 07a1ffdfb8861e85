//! The `riskshare` binary, run as a user would, in temporary folders.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_riskshare");

fn mini() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/mini.yaml")).unwrap()
}

fn riskshare(args: &[&str], cwd: &Path) -> Output {
    Command::new(BIN).args(args).current_dir(cwd).output().expect("run riskshare")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

#[test]
fn same_seed_same_bytes_whatever_the_threads() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mini.yaml"), mini()).unwrap();
    for t in ["1", "2"] {
        let o =
            riskshare(&["run", "mini.yaml", "--trials", "300", "--threads", t, "--out", &format!("t{t}")], dir.path());
        assert!(o.status.success(), "{}", text(&o));
        assert!(text(&o).contains("loan-years/s"));
    }
    for f in ["trials.csv", "years.csv", "summary.json", "scenario.resolved.yaml"] {
        let a = std::fs::read(dir.path().join("t1").join(f)).unwrap();
        let b = std::fs::read(dir.path().join("t2").join(f)).unwrap();
        assert!(a == b, "{f} differs between 1 and 2 threads");
    }
}

#[test]
fn the_resolved_scenario_repeats_the_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mini.yaml"), mini()).unwrap();
    let o = riskshare(&["run", "mini.yaml", "--trials", "120", "--seed", "99", "--out", "a"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let o = riskshare(&["run", "a/scenario.resolved.yaml", "--out", "b"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let read = |d: &str| std::fs::read(dir.path().join(d).join("trials.csv")).unwrap();
    assert_eq!(read("a"), read("b"));
}

#[test]
fn trials_table_conserves_money_in_every_row() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mini.yaml"), mini()).unwrap();
    // The mini scenario, and the built-in one with guarantees and societies.
    for (args, out) in [(vec!["run", "mini.yaml", "--trials", "400"], "o"), (vec!["run", "--trials", "400"], "w")] {
        let o = riskshare(&[&args[..], &["--no-charts", "--out", out]].concat(), dir.path());
        assert!(o.status.success(), "{}", text(&o));
        let mut rdr = csv::Reader::from_path(dir.path().join(out).join("trials.csv")).unwrap();
        let h = rdr.headers().unwrap().clone();
        let col = |name: &str| h.iter().position(|x| x == name).unwrap();
        let fen = |s: &str| -> i64 { s.replace('.', "").parse().unwrap() };
        let parts = [
            "collateral",
            "insurance",
            "guarantee",
            "village_fund",
            "comp_fund",
            "shortfall",
            "bank_loss",
            "society_loss",
        ]
        .map(col);
        let mut rows = 0;
        let mut exposure_total = 0;
        for r in rdr.records() {
            let r = r.unwrap();
            let e = fen(&r[col("exposure")]);
            assert_eq!(e, parts.iter().map(|&i| fen(&r[i])).sum::<i64>(), "{out}: trial {}", &r[0]);
            exposure_total += e;
            rows += 1;
        }
        assert_eq!(rows, 400);
        assert!(exposure_total > 0);
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("w/summary.json")).unwrap()).unwrap();
    // The leverage is the book over the budget's parts, each part as documented.
    let f = &summary["fiscal"];
    let parts = &f["leverage_parts"];
    let get = |v: &serde_json::Value, k: &str| v[k].as_f64().unwrap_or_else(|| panic!("no {k}"));
    let budget: f64 = ["deposits", "village_funds", "society_capital", "interest_subsidy", "top_ups", "shortfall"]
        .iter()
        .map(|k| get(parts, k))
        .sum();
    assert!((budget - get(parts, "budget")).abs() < 0.02, "{budget} vs {}", get(parts, "budget"));
    assert_eq!(get(parts, "loans"), get(&summary["portfolio"], "principal"));
    assert_eq!(get(parts, "deposits"), get(&summary["portfolio"], "comp_deposits"));
    assert_eq!(get(parts, "interest_subsidy"), get(&summary["layers"]["interest_subsidy"], "mean"));
    assert!(get(parts, "society_capital") > 0.0);
    let lev = get(f, "leverage");
    assert!((lev - get(parts, "loans") / budget).abs() < 1e-4, "fiscal.leverage {lev}");
}

/// Writes a variant of the mini scenario, runs it, and checks that it fails
/// with exit 2, writes nothing and names the problem.
fn rejects(edit: impl Fn(&str) -> String, extra_files: &[(&str, &str)], expect: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.yaml");
    let bad = edit(&mini());
    assert_ne!(bad, mini(), "the edit changed nothing");
    std::fs::write(&path, bad).unwrap();
    for (name, content) in extra_files {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let out: PathBuf = dir.path().join("out");
    let o = riskshare(&["run", "bad.yaml", "--trials", "10", "--out", out.to_str().unwrap()], dir.path());
    let msg = text(&o);
    assert_eq!(o.status.code(), Some(2), "{msg}");
    assert!(!out.exists(), "output written despite the error");
    let leftovers: Vec<_> =
        std::fs::read_dir(dir.path()).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
    assert!(leftovers.iter().all(|n| !n.to_string_lossy().contains("partial")), "{leftovers:?}");
    for e in expect {
        assert!(msg.contains(e), "message lacks `{e}`:\n{msg}");
    }
}

#[test]
fn misspelt_key() {
    rejects(|s| s.replace("seed: 7", "sede: 7"), &[], &["bad.yaml:4", "sede", "did you mean `seed`"]);
}

#[test]
fn wrong_type() {
    rejects(|s| s.replace("count: 2000", "count: many"), &[], &["portfolio.cohorts[0].count", "many"]);
}

#[test]
fn probability_above_one() {
    rejects(|s| s.replace("{id: B, pd: 0.04}", "{id: B, pd: 1.5}"), &[], &["grades[1].pd", "1.5"]);
}

#[test]
fn unknown_bank_with_suggestion() {
    rejects(|s| s.replace("{rcc: 0.7, abc: 0.3}", "{rcc: 0.7, abd: 0.3}"), &[], &["banks.abd", "did you mean `abc`"]);
}

#[test]
fn several_problems_are_reported_together() {
    rejects(
        |s| s.replace("{id: B, pd: 0.04}", "{id: B, pd: 1.5}").replace("{rcc: 0.7, abc: 0.3}", "{rcc: 0.7, abd: 0.3}"),
        &[],
        &["grades[1].pd", "banks.abd", "problems"],
    );
}

#[test]
fn a_mistake_on_every_loan_is_listed_three_times_then_counted() {
    // A product's limit below its cohort's term is a problem on each of the
    // cohort's 2,000 loans: three are listed, the rest counted by message.
    let edit = |s: &str| s.replace("max_term_years: 3", "max_term_years: 2");
    rejects(
        edit,
        &[],
        &[
            "2,000 problems in the input",
            "... and 1,997 more, by message:",
            "1,997  3 exceeds product `micro`'s max_term_years 2",
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.yaml"), edit(&mini())).unwrap();
    let o = riskshare(&["validate", "bad.yaml"], dir.path());
    let msg = text(&o);
    assert_eq!(o.status.code(), Some(2), "{msg}");
    let listed = msg.lines().filter(|l| l.starts_with("  - ")).count();
    assert_eq!(listed, 3, "{msg}");
    assert_eq!(msg.lines().count(), 6, "{msg}");
}

#[test]
fn empty_portfolio() {
    rejects(
        |s| {
            let i = s.find("  cohorts:").unwrap();
            let j = s.find("funds:").unwrap();
            format!("{}  cohorts: []\n{}", &s[..i], &s[j..])
        },
        &[],
        &["portfolio", "empty"],
    );
}

#[test]
fn missing_loan_tape() {
    rejects(
        |s| s.replace("  seed: 3\n", "  seed: 3\n  tapes: [nowhere.csv]\n"),
        &[],
        &["portfolio.tapes[0]", "nowhere.csv"],
    );
}

const TAPE_HEAD: &str = "id,bank,village,product,borrower,industry,grade,principal,term_years,rate\n";

#[test]
fn malformed_tape_row() {
    let tape =
        format!("{TAPE_HEAD}T1,rcc,c1-valley-001,micro,household,tea,A,40000,3,0.0435\nT2,rcc,c1-valley-001,micro\n");
    rejects(
        |s| s.replace("  seed: 3\n", "  seed: 3\n  tapes: [tape.csv]\n"),
        &[("tape.csv", &tape)],
        &["tape.csv:3", "malformed"],
    );
}

#[test]
fn negative_principal_on_a_tape() {
    let tape = format!("{TAPE_HEAD}T1,rcc,c1-valley-001,micro,household,tea,A,-40000,3,0.0435\n");
    rejects(
        |s| s.replace("  seed: 3\n", "  seed: 3\n  tapes: [tape.csv]\n"),
        &[("tape.csv", &tape)],
        &["loan T1", "principal", "-40000"],
    );
}

#[test]
fn pledge_above_half_the_herd() {
    rejects(
        |s| s.replace("ltv: 0.5, value_per_head", "ltv: 0.7, value_per_head"),
        &[],
        &["livestock_pledge.ltv", "50 %"],
    );
}

#[test]
fn validate_prints_the_portfolio() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mini.yaml"), mini()).unwrap();
    let o = riskshare(&["validate", "mini.yaml"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    for w in ["2,200 loans", "by bank", "by product", "by industry", "compensation accounts", "village funds"] {
        assert!(t.contains(w), "validate output lacks `{w}`:\n{t}");
    }
}

#[test]
fn default_scenario_runs_without_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let o = riskshare(&["run", "--trials", "50"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(dir.path().join("output/wangcang/summary.json").exists());
}

#[test]
fn precision_runs_are_reproducible_and_stop_when_precise() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mini.yaml"), mini()).unwrap();
    let args = |t: &'static str, out: &'static str| {
        [
            "run",
            "mini.yaml",
            "--trials",
            "100",
            "--precision",
            "0.03",
            "--metric",
            "comp_fund",
            "--threads",
            t,
            "--out",
            out,
            "--no-charts",
        ]
    };
    for (t, out) in [("1", "a"), ("2", "b")] {
        let o = riskshare(&args(t, out), dir.path());
        assert!(o.status.success(), "{}", text(&o));
    }
    let a = std::fs::read(dir.path().join("a/trials.csv")).unwrap();
    assert_eq!(a, std::fs::read(dir.path().join("b/trials.csv")).unwrap());
    let rows = a.iter().filter(|&&c| c == b'\n').count() - 1;
    // 100, 200, 400 ... trials: it doubled at least once, and stopped on a power-of-two multiple.
    assert!(rows > 100 && (rows / 100).is_power_of_two() && rows % 100 == 0, "{rows} trials");
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("a/summary.json")).unwrap()).unwrap();
    let l = &s["layers"]["comp_fund"];
    let rel = l["stderr"].as_f64().unwrap() / l["mean"].as_f64().unwrap();
    assert!(rel <= 0.03, "relative standard error {rel} above the target");
    // The run says what it reached, as a 95 % half-width and a relative standard error.
    let o = riskshare(&args("1", "c"), dir.path());
    let t = text(&o);
    let line = t.lines().find(|l| l.starts_with("precision: ")).unwrap_or_else(|| panic!("no precision line:\n{t}"));
    assert!(line.contains("the mean of comp_fund to within ±") && line.contains("asked at most 3 %"), "{line}");
    let reached: f64 =
        line.split("relative standard error ").nth(1).and_then(|r| r.split(' ').next()).unwrap().parse().unwrap();
    assert!((reached - rel * 100.0).abs() < 0.006, "{line}: the summary says {rel}");
    assert!(!line.contains("--max-trials"), "{line}");
}

#[test]
fn deep_nesting_is_refused_before_parsing() {
    // 100,000 nested brackets: the parser alone would take tens of seconds.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    rejects(|s| s.replacen("\n", &format!("\nextra: {deep}\n"), 1), &[], &["bad.yaml:2", "deeper than 64 levels"]);
    // The same for a stress overlay.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mini.yaml"), mini()).unwrap();
    std::fs::write(dir.path().join("deep.yaml"), format!("stress:\n  pd_multiplier: {deep}\n")).unwrap();
    let o = riskshare(&["stress", "mini.yaml", "--overlay", "deep.yaml", "--trials", "10"], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("deep.yaml:2: nested deeper than 64 levels"), "{}", text(&o));
}

#[test]
fn empty_file() {
    rejects(|_| String::new(), &[], &["bad.yaml", "empty file"]);
    rejects(|_| "# to be written\n\n".into(), &[], &["bad.yaml", "empty file"]);
}

#[test]
fn a_bad_override_is_blamed_on_set() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mini.yaml"), mini()).unwrap();
    for (set, expect) in [
        ("economy.rho=2", "--set economy.rho=2: economy.rho: expected a correlation"),
        ("grades.B.pd=1.5", "--set grades.B.pd=1.5: grades[1].pd: expected a probability"),
        ("simulation.trials=many", "--set simulation.trials=many: simulation.trials: wrong type"),
    ] {
        let o = riskshare(&["run", "mini.yaml", "--set", set, "--trials", "10", "--out", "out"], dir.path());
        let msg = text(&o);
        assert_eq!(o.status.code(), Some(2), "{msg}");
        assert!(msg.contains(expect), "message lacks `{expect}`:\n{msg}");
        assert!(!msg.contains("mini.yaml"), "the file is blamed for --set {set}:\n{msg}");
        assert!(!dir.path().join("out").exists());
    }
}

#[test]
fn tape_header_problem_names_its_line_after_comments() {
    let tape = format!(
        "# Loans at the rural credit cooperative\n# exported 2024-01-31\n\n{}",
        TAPE_HEAD.replace("principal", "principle")
    );
    rejects(
        |s| s.replace("  seed: 3\n", "  seed: 3\n  tapes: [tape.csv]\n"),
        &[("tape.csv", &tape)],
        &["tape.csv:4: principle", "did you mean `principal`"],
    );
}

/// A CSV file's rows, read back with the csv crate: each row must have the
/// header's number of fields.
fn csv_rows(path: &Path) -> (csv::StringRecord, Vec<csv::StringRecord>) {
    let at = path.display();
    let mut rdr = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{at}: {e}"));
    let header = rdr.headers().unwrap_or_else(|e| panic!("{at}: {e}")).clone();
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap_or_else(|e| panic!("{at}: {e}"))).collect();
    assert!(!rows.is_empty(), "{at}: no rows");
    for r in &rows {
        assert_eq!(r.len(), header.len(), "{at}: row {:?} against header {:?}", r, header);
    }
    (header, rows)
}

#[test]
fn names_with_commas_and_quotes_give_well_formed_csv() {
    const NAME: &str = "mini, 8:1 \"x\"";
    const BANK: &str = "r,c \"c\"";
    let dir = tempfile::tempdir().unwrap();
    // A bank whose id holds a comma and a quote too: it names a column of
    // years.csv and an account of size_curve.csv.
    let yaml = mini().replace("rcc", "\"r,c \\\"c\\\"\"");
    std::fs::write(dir.path().join("mini.yaml"), &yaml).unwrap();
    let set = format!("name={NAME}");
    let o =
        riskshare(&["run", "mini.yaml", "--set", &set, "--trials", "150", "--no-charts", "--out", "run"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let run = dir.path().join("run");
    csv_rows(&run.join("trials.csv"));
    let (years, _) = csv_rows(&run.join("years.csv"));
    assert!(years.iter().any(|c| c == format!("comp_balance_{BANK}")), "{years:?}");
    let (_, curve) = csv_rows(&run.join("size_curve.csv"));
    assert!(curve.iter().any(|r| r[0] == format!("{BANK}/c1")));

    // compare reads the name from the files.
    let named = yaml.replacen("name: mini\n", &format!("name: '{NAME}'\n"), 1);
    assert_ne!(named, yaml);
    std::fs::write(dir.path().join("a.yaml"), &named).unwrap();
    std::fs::write(dir.path().join("b.yaml"), &named).unwrap();
    let o = riskshare(&["compare", "a.yaml", "b.yaml", "--trials", "100", "--out", "cmp"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let (header, rows) = csv_rows(&dir.path().join("cmp/comparison.csv"));
    assert_eq!(header.len(), 10);
    assert!(rows.iter().any(|r| r[1] == format!("{NAME} (a.yaml)")));
    assert!(rows.iter().any(|r| r[1] == format!("{NAME} (b.yaml)")));

    let vary = "funds.compensation.deposit_ratio=8,10";
    let o =
        riskshare(&["sweep", "mini.yaml", "--set", &set, "--vary", vary, "--trials", "100", "--out", "sw"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let (_, rows) = csv_rows(&dir.path().join("sw/sweep.csv"));
    assert_eq!(rows.len(), 2);
}

/// A province has hundreds of compensation accounts: the run table names the
/// worst ten and says where the others are; validate groups its counts.
#[test]
fn a_province_prints_its_worst_accounts_and_grouped_counts() {
    let dir = tempfile::tempdir().unwrap();
    let province = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/province.yaml");
    let province = province.to_str().unwrap();
    let o = riskshare(&["run", province, "--trials", "60", "--no-charts", "--out", "p"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    let s: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("p/summary.json")).unwrap()).unwrap();
    let accounts = s["adequacy"]["accounts"].as_array().unwrap();
    assert!(accounts.len() > 10, "{} accounts", accounts.len());
    let lines: Vec<&str> = t.lines().filter(|l| l.contains(" deposit CNY ")).collect();
    assert_eq!(lines.len(), 10, "{t}");
    assert!(t.contains(&format!("the 10 of {} accounts most likely to run dry", accounts.len())), "{t}");
    assert!(t.contains(&format!("... and {} more accounts", accounts.len() - 10)), "{t}");
    // The ten are those most likely to run dry, the larger expected draw first among equals.
    let key = |a: &serde_json::Value| (a["exhausted"]["p"].as_f64().unwrap(), a["draws"]["mean"].as_f64().unwrap());
    let mut keys: Vec<(f64, f64)> = accounts.iter().map(key).collect();
    keys.sort_by(|a, b| b.partial_cmp(a).unwrap());
    let cut = keys[9];
    // Lines name accounts by display names ("rural credit cooperatives ... / county 34").
    let scenario = riskshare::scenario::parse(&std::fs::read_to_string(province).unwrap(), "province", &[]).unwrap();
    let labels = riskshare::report::labels::Labels::of(&scenario);
    let shown = |a: &serde_json::Value| {
        let (bank, county) = (a["bank"].as_str().unwrap(), a["county"].as_str().unwrap());
        labels.account(bank, county, true, riskshare::report::format::Lang::En)
    };
    for line in &lines {
        let name = line.split(" deposit CNY").next().unwrap().trim();
        let a = accounts.iter().find(|a| shown(a) == name);
        assert!(key(a.unwrap_or_else(|| panic!("{name}"))) >= cut, "{line}");
    }
    let o = riskshare(&["validate", province], dir.path());
    let t = text(&o);
    assert!(t.contains(" in 17,600 villages of "), "{t}");
    // Two hundred accounts read as one row a bank.
    assert!(t.contains("compensation accounts by bank (200 in 50 counties)"), "{t}");
    assert_eq!(t.matches(" (50 accounts) ").count(), 4, "{t}");
    assert!(t.contains("village funds: CNY 400,506,160 in 17,600 village(s)"), "{t}");
    // The sizing table likewise names ten accounts and says where the rest are.
    let o = riskshare(&["size", province, "--trials", "40", "--no-charts", "--out", "s"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    assert_eq!(t.matches("today's deposit\n").count(), 10, "{t}");
    assert!(t.contains("the 10 of 200 accounts most likely to run dry (then by the smallest ratio needed)"), "{t}");
    assert!(t.contains("... and 190 more accounts: every account is in size.json and size_curve.csv"), "{t}");
}

/// `report` on a shard's partial result names the merge that makes a run of it.
#[test]
fn report_on_a_shard_says_to_merge_first() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mini.yaml"), mini()).unwrap();
    for (i, out) in [("0/2", "p0"), ("1/2", "p1")] {
        let o = riskshare(&["run", "mini.yaml", "--trials", "40", "--shard", i, "--out", out], dir.path());
        assert!(o.status.success(), "{}", text(&o));
    }
    let o = riskshare(&["report", "p1"], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("this is shard 1/2 of a sharded run") && t.contains("riskshare merge p0 p1 --out DIR"), "{t}");
    assert!(!dir.path().join("p1/report.html").exists());
}

#[test]
fn every_merge_option_says_what_it_does() {
    let o = riskshare(&["merge", "--help"], Path::new("."));
    let t = text(&o);
    let lang = t.lines().find(|l| l.trim_start().starts_with("--lang")).unwrap_or_else(|| panic!("{t}"));
    assert!(lang.contains("Language of the report"), "{lang}");
}

/// Every shipped scenario (variants with their bases, tapes beside them)
/// builds into a model.
#[test]
fn every_shipped_scenario_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "yaml") {
            continue;
        }
        let o = riskshare(&["validate", path.to_str().unwrap()], &dir);
        assert!(o.status.success(), "{}: {}", path.display(), text(&o));
        seen.push(path.file_name().unwrap().to_string_lossy().to_string());
    }
    for f in ["wangcang.yaml", "province.yaml", "province-stressed.yaml", "tape_example.yaml"] {
        assert!(seen.iter().any(|s| s == f), "{f} not among {seen:?}");
    }
}

/// The stressed province is the benchmark where defaults are common: about
/// 2 % of its loan-years default, and every driver and mechanism is reached.
#[test]
fn the_stressed_province_defaults_often_through_every_driver() {
    let dir = tempfile::tempdir().unwrap();
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/province-stressed.yaml");
    let o = riskshare(&["run", file.to_str().unwrap(), "--trials", "20", "--no-charts", "--out", "s"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let mut r = csv::Reader::from_path(dir.path().join("s/trials.csv")).unwrap();
    let head = r.headers().unwrap().clone();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap_or_else(|| panic!("{name}"));
    let rows: Vec<csv::StringRecord> = r.records().map(|x| x.unwrap()).collect();
    let sum = |name: &str| rows.iter().map(|x| x[col(name)].parse::<f64>().unwrap()).sum::<f64>();
    // Per-trial rates spread with a standard deviation of about 0.27 points,
    // so 20 trials' mean is within 0.06 points of 1.95 % at one SE.
    let rate = sum("defaults") / sum("loan_years");
    assert!((0.015..0.025).contains(&rate), "{rate}");
    for driver in
        ["exposure_disaster", "exposure_epidemic", "exposure_shock", "exposure_linkage", "guarantee", "society_loss"]
    {
        assert!(sum(driver) > 0.0, "{driver} never reached");
    }
}
