//! `results.xlsx`: every command that writes a folder writes a workbook with
//! the figures of its JSON, as numbers, in sheets named in the chosen
//! language. The workbook is opened as the zip it is (the `zip` crate that
//! rust_xlsxwriter builds anyway) and its XML read as text.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_riskshare");

fn riskshare(args: &[&str], cwd: &Path) -> Output {
    let o = Command::new(BIN).args(args).current_dir(cwd).output().expect("run riskshare");
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    o
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mini =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/mini.yaml")).unwrap();
    std::fs::write(dir.path().join("mini.yaml"), &mini).unwrap();
    // A variant whose village funds are bigger: the comparison has differences.
    let bigger = mini.replace("village: {share: 0.04}", "village: {share: 0.08}");
    assert_ne!(bigger, mini);
    std::fs::write(dir.path().join("bigger.yaml"), bigger).unwrap();
    dir
}

/// A workbook's parts: its sheets' names in order, each sheet's XML, and
/// every other part by name.
struct Xlsx {
    sheets: Vec<(String, String)>,
    parts: Vec<(String, String)>,
}

impl Xlsx {
    fn open(path: &Path) -> Xlsx {
        let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut zip = zip::ZipArchive::new(file).expect("results.xlsx is a zip");
        let mut parts = Vec::new();
        for i in 0..zip.len() {
            let mut f = zip.by_index(i).unwrap();
            let mut text = String::new();
            f.read_to_string(&mut text).unwrap();
            parts.push((f.name().to_string(), text));
        }
        let part = |name: &str| {
            parts.iter().find(|(n, _)| n == name).map(|(_, t)| t.clone()).unwrap_or_else(|| panic!("no {name}"))
        };
        // Sheet k (1-based) of xl/workbook.xml is xl/worksheets/sheetk.xml.
        let names: Vec<String> =
            part("xl/workbook.xml").split("<sheet name=\"").skip(1).map(|s| s[..s.find('"').unwrap()].into()).collect();
        let sheets = names
            .into_iter()
            .enumerate()
            .map(|(k, n)| {
                let xml = part(&format!("xl/worksheets/sheet{}.xml", k + 1));
                (n, xml)
            })
            .collect();
        Xlsx { sheets, parts }
    }

    fn names(&self) -> Vec<&str> {
        self.sheets.iter().map(|(n, _)| n.as_str()).collect()
    }

    fn sheet(&self, name: &str) -> &str {
        self.sheets.iter().find(|(n, _)| n == name).map(|(_, x)| x.as_str()).unwrap_or_else(|| panic!("no {name}"))
    }

    /// The numbers a sheet's cells hold (not its shared strings' indices).
    fn numbers(&self, name: &str) -> Vec<f64> {
        self.sheet(name)
            .split("<c ")
            .skip(1)
            .filter(|c| !c.contains("t=\"s\""))
            .filter_map(|c| c.split_once("<v>").and_then(|(_, v)| v.split_once("</v>")).map(|(v, _)| v))
            .map(|v| v.parse::<f64>().unwrap_or_else(|_| panic!("`{v}` is not a number")))
            .collect()
    }

    fn has_number(&self, name: &str, x: f64) -> bool {
        self.numbers(name).iter().any(|&v| (v - x).abs() < 0.005)
    }

    fn charts(&self) -> usize {
        self.parts.iter().filter(|(n, _)| n.starts_with("xl/charts/chart")).count()
    }
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn num(v: &serde_json::Value, pointer: &str) -> f64 {
    v.pointer(pointer).and_then(|x| x.as_f64()).unwrap_or_else(|| panic!("no number at {pointer}"))
}

const RUN_SHEETS: [&str; 8] =
    ["Summary", "Layers", "Counts", "Accounts", "Counties", "Years", "Sizing", "Sizing curve"];

#[test]
fn a_run_writes_its_figures_as_numbers_with_formats_and_charts() {
    let dir = setup();
    let d = dir.path();
    // Without the charts: the workbook is written all the same.
    riskshare(&["run", "mini.yaml", "--trials", "300", "--no-charts", "--out", "run"], d);
    let s = json(&d.join("run/summary.json"));
    let x = Xlsx::open(&d.join("run/results.xlsx"));
    assert_eq!(x.names(), RUN_SHEETS);
    // The mean exposure in yuan, a number, on the summary and the layers sheets.
    let exposure = num(&s, "/layers/exposure/mean");
    assert!(exposure > 0.0);
    assert!(x.has_number("Summary", exposure), "{exposure} not in {:?}", x.numbers("Summary"));
    assert!(x.has_number("Layers", exposure));
    assert!(x.has_number("Layers", num(&s, "/layers/bank_total/p99")));
    assert!(x.has_number("Summary", num(&s, "/adequacy/comp_fund_exhausted/hi")));
    let deposit = num(&s, "/adequacy/accounts/0/deposit");
    assert!(deposit > 0.0 && x.has_number("Accounts", deposit));
    assert!(x.has_number("Accounts", num(&s, "/adequacy/accounts/0/exhausted/hi")));
    // Every sheet's header row is frozen; money and percentages have their formats.
    for (name, xml) in &x.sheets {
        assert!(xml.contains("ySplit=\"1\"") && xml.contains("state=\"frozen\""), "{name}: no frozen header");
        assert!(xml.contains("<col "), "{name}: no column widths");
    }
    let styles = &x.parts.iter().find(|(n, _)| n == "xl/styles.xml").unwrap().1;
    for format in ["#,##0.00", "0.00%", "#,##0.0&quot;:1&quot;"] {
        assert!(styles.contains(&format!("formatCode=\"{format}\"")), "no number format {format}");
    }
    // The layers' means and the sizing curve, as native charts.
    assert_eq!(x.charts(), 2);

    // In Chinese, the sheets are named in Chinese; `report` writes the
    // workbook again in the language it is given.
    riskshare(&["run", "mini.yaml", "--trials", "300", "--lang", "zh", "--out", "zh"], d);
    let zh = Xlsx::open(&d.join("zh/results.xlsx"));
    assert_eq!(zh.names(), ["摘要", "各层损失", "次数统计", "补偿金账户", "各县", "逐年用尽", "存入测算", "测算曲线"]);
    assert!(zh.has_number("摘要", exposure), "the same seed gives the same figures in either language");
    let o = riskshare(&["report", "zh"], d);
    assert!(String::from_utf8_lossy(&o.stdout).contains("results.xlsx"));
    assert_eq!(Xlsx::open(&d.join("zh/results.xlsx")).names(), RUN_SHEETS);
}

#[test]
fn an_importance_sampled_run_adds_its_weights_sheet() {
    let dir = setup();
    let d = dir.path();
    let args = ["run", "mini.yaml", "--trials", "400", "--no-charts", "--importance", "auto", "--tail"];
    riskshare(&[&args[..], &["exposure:1e-3", "--out", "is"]].concat(), d);
    let s = json(&d.join("is/summary.json"));
    let x = Xlsx::open(&d.join("is/results.xlsx"));
    assert_eq!(x.names(), [&RUN_SHEETS[..], &["Importance"]].concat());
    for key in ["effective_sample_size", "mean_weight", "largest_weight_share"] {
        let v = num(&s, &format!("/importance/{key}"));
        assert!(x.has_number("Importance", v), "{key} {v} not in {:?}", x.numbers("Importance"));
    }
    assert!(x.has_number("Importance", num(&s, "/importance/measure/level")));
    assert!(x.has_number("Importance", num(&s, "/importance/measure/factor_scale")));
    // The weighted chance an account runs dry is on the summary as the number it is.
    let p = num(&s, "/adequacy/comp_fund_exhausted/p");
    assert!(p == 0.0 || x.numbers("Summary").iter().any(|&v| (v / p - 1.0).abs() < 1e-6), "{p}");
}

#[test]
fn a_comparison_writes_its_means_and_paired_differences() {
    let dir = setup();
    let d = dir.path();
    riskshare(&["compare", "mini.yaml", "bigger.yaml", "--trials", "200", "--out", "cmp"], d);
    let c = json(&d.join("cmp/comparison.json"));
    let x = Xlsx::open(&d.join("cmp/results.xlsx"));
    assert_eq!(x.names(), ["Comparison", "Means by layer", "Money"]);
    // The money each scenario moves: what it commits and costs the budget.
    for k in 0..2 {
        assert!(x.has_number("Money", num(&c, &format!("/policy/{k}/budget_committed"))));
        assert!(x.has_number("Money", num(&c, &format!("/policy/{k}/fiscal_cost/interest_subsidy"))));
    }
    let rows = c["rows"].as_array().unwrap();
    let village = rows.iter().find(|r| r["metric"] == "village_fund").expect("a village_fund row");
    let (a, b) = (num(village, "/mean/0"), num(village, "/mean/1"));
    assert!(a != b, "bigger village funds pay more");
    assert!(x.has_number("Comparison", a) && x.has_number("Comparison", b));
    assert!(x.has_number("Comparison", num(village, "/diff/1/mean")));
    assert!(x.has_number("Comparison", num(village, "/diff/1/lo")));
    assert!(x.has_number("Means by layer", b));
    assert_eq!(x.charts(), 1);
}

#[test]
fn a_sweep_writes_its_cells() {
    let dir = setup();
    let d = dir.path();
    let vary = "funds.village.share=0.02,0.04,0.08";
    riskshare(&["sweep", "mini.yaml", "--vary", vary, "--trials", "200", "--lang", "zh", "--out", "sw"], d);
    let s = json(&d.join("sw/sweep.json"));
    let x = Xlsx::open(&d.join("sw/results.xlsx"));
    assert_eq!(x.names(), ["参数扫描", "资金投入与成本"]);
    let cells = s["cells"].as_array().unwrap();
    assert_eq!(cells.len(), 3);
    for cell in cells {
        assert!(x.has_number("参数扫描", num(cell, "/village_fund_mean")));
        assert!(x.has_number("参数扫描", num(cell, "/depletion/hi")));
        assert!(x.has_number("资金投入与成本", num(cell, "/policy/village_funds")));
        assert!(x.has_number("资金投入与成本", num(cell, "/policy/budget_committed")));
    }
    // The varied values are numbers too.
    assert!(x.has_number("参数扫描", 0.08));
    assert_eq!(x.charts(), 1);
}

#[test]
fn a_stress_test_writes_baseline_and_stressed() {
    let dir = setup();
    let d = dir.path();
    riskshare(&["stress", "mini.yaml", "--preset", "flood-year", "--trials", "200", "--out", "st"], d);
    let r = json(&d.join("st/stress.json"));
    let x = Xlsx::open(&d.join("st/results.xlsx"));
    assert_eq!(x.names(), ["Stress", "Money", "Stress by account"]);
    assert!(x.has_number("Money", num(&r, "/baseline_policy/fiscal_cost/mean")));
    assert!(x.has_number("Money", num(&r, "/stressed_policy/fiscal_cost/interest_subsidy")));
    let exposure = r["totals"].as_array().unwrap().iter().find(|t| t[0] == "exposure").expect("an exposure row");
    let (base, stressed) = (num(exposure, "/1/mean"), num(exposure, "/2/mean"));
    assert!(stressed > base, "a flood year adds defaults");
    assert!(x.has_number("Stress", base) && x.has_number("Stress", stressed));
    assert!(x.has_number("Stress by account", num(&r, "/accounts/0/stressed/fund_draws/mean")));
    assert_eq!(x.charts(), 1);
}
