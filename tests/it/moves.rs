//! The money a policy moves, as `sweep`, `compare` and `stress` show it:
//! each bank's deposit, the budget committed, the fiscal leverage, the
//! chance each bank's fund runs dry and the fiscal cost's parts, through the
//! binary as a user runs it.

use std::path::Path;
use std::process::{Command, Output};

use riskshare::analysis::compare::Comparison;
use riskshare::analysis::policy::PolicyFigures;
use riskshare::analysis::stress::StressReport;
use riskshare::analysis::sweep::Sweep;

const BIN: &str = env!("CARGO_BIN_EXE_riskshare");

fn riskshare(args: &[&str], cwd: &Path) -> Output {
    Command::new(BIN).args(args).current_dir(cwd).output().expect("run riskshare")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

fn read<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(name).display().to_string()
}

/// The fiscal cost's parts add up to its mean (each is rounded to the fen).
fn parts_add_up(p: &PolicyFigures) {
    let f = &p.fiscal_cost;
    let sum: f64 = f.parts().iter().map(|(_, v)| v).sum();
    assert!((sum - f.mean).abs() <= 0.03, "fiscal parts {sum} against the mean {}", f.mean);
}

/// A bank's deposit and the trials in which its fund ran dry.
type DepositDry = (f64, u64);

/// Each bank's figure in `a` and `b`, matched by bank.
fn per_bank<'a>(a: &'a PolicyFigures, b: &'a PolicyFigures) -> Vec<(&'a str, DepositDry, DepositDry)> {
    assert_eq!(a.banks.len(), b.banks.len());
    a.banks
        .iter()
        .map(|x| {
            let y = b.banks.iter().find(|y| y.bank == x.bank).expect("the same banks");
            (x.bank.as_str(), (x.deposit, x.dry.k), (y.deposit, y.dry.k))
        })
        .collect()
}

/// A higher deposit ratio (more loans per yuan of fund) is a smaller
/// deposit: each bank's deposit, the deposits and the budget fall, the
/// leverage rises, and each bank's fund runs dry no less often. At 800:1
/// every fund runs dry more often than at 6:1, so the last check has power.
#[test]
fn a_deposit_ratio_sweep_shows_the_money_that_moves() {
    let dir = tempfile::tempdir().unwrap();
    let vary = "funds.compensation.deposit_ratio=6,10,14,200,800";
    let o = riskshare(&["sweep", "--vary", vary, "--trials", "300", "--out", "sw"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let sw: Sweep = read(&dir.path().join("sw/sweep.json"));
    assert!(sw.fast_path);
    let cells: Vec<&PolicyFigures> = sw.cells.iter().map(|c| &c.policy).collect();
    assert_eq!(cells.len(), 5);
    for p in &cells {
        parts_add_up(p);
        assert_eq!(p.banks.len(), 3, "the built-in scenario's three banks");
        assert!(p.loans > 0.0, "the reduced cells take the base's book");
    }
    for w in cells.windows(2) {
        let (a, b) = (w[0], w[1]);
        assert!(b.deposits < a.deposits, "deposits {} then {}", a.deposits, b.deposits);
        assert!(b.budget_committed < a.budget_committed);
        assert!(b.fiscal_leverage.unwrap() > a.fiscal_leverage.unwrap());
        assert_eq!(a.village_funds, b.village_funds);
        for (bank, (da, ka), (db, kb)) in per_bank(a, b) {
            assert!(db < da, "{bank}: deposit {da} then {db}");
            assert!(kb >= ka, "{bank}: ran dry in {ka} then {kb} trials");
        }
    }
    for (bank, (_, k6), (_, k800)) in per_bank(cells[0], cells[4]) {
        assert!(k800 > k6, "{bank}: as often dry at 800:1 ({k800}) as at 6:1 ({k6})");
    }
    // The table shows the deposits, which differ by cell.
    let out = String::from_utf8_lossy(&o.stdout);
    for p in &cells {
        assert!(out.contains(&riskshare::report::format::group(p.deposits, 0)), "{out}");
    }
    assert!(out.contains("budget committed") && out.contains("runs dry"), "{out}");
    let svg = std::fs::read_to_string(dir.path().join("sw/sweep_money.svg")).unwrap();
    assert!(svg.contains("compensation deposits") && svg.contains("funds.compensation.deposit_ratio"));

    // sweep.csv: the first deposit column (not the ratio) is the total, and differs by cell.
    let mut rdr = csv::Reader::from_path(dir.path().join("sw/sweep.csv")).unwrap();
    let header = rdr.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    let first = header.iter().position(|c| c.contains("deposit") && !c.contains("ratio")).unwrap();
    assert_eq!(&header[first], "deposits_yuan");
    let col = |name: &str| header.iter().position(|c| c == name).unwrap_or_else(|| panic!("no column {name}"));
    for name in
        ["budget_committed_yuan", "fiscal_leverage", "fiscal_cost_mean_yuan", "comp_draw_mean_yuan", "p_dry_rcc_hi"]
    {
        col(name);
    }
    let close = |cell: &str, x: f64| (cell.parse::<f64>().unwrap() - x).abs() <= 1e-9 * x.abs().max(1.0);
    for (r, p) in rows.iter().zip(&cells) {
        assert!(close(&r[first], p.deposits));
        assert!(close(&r[col("deposit_rcc_yuan")], p.banks[0].deposit));
        assert!(close(&r[col("p_dry_guishang")], p.banks[2].dry.p));
    }
    assert_eq!(rows.iter().map(|r| &r[first]).collect::<std::collections::BTreeSet<_>>().len(), 5);
}

/// compare of the ratio-8 and ratio-12 variants: the losses are the same
/// (no fund runs dry at either), the money committed is not.
#[test]
fn comparing_two_deposit_ratios_shows_deposits_budget_and_leverage() {
    let dir = tempfile::tempdir().unwrap();
    let (r8, r12) = (scenario("wangcang-ratio-8.yaml"), scenario("wangcang-ratio-12.yaml"));
    let o = riskshare(&["compare", &r8, &r12, "--trials", "300", "--out", "cmp"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let c: Comparison = read(&dir.path().join("cmp/comparison.json"));
    let (a, b) = (&c.policy[0], &c.policy[1]);
    parts_add_up(a);
    parts_add_up(b);
    assert!((a.deposits / b.deposits - 1.5).abs() < 1e-6, "8:1 deposits 12/8 of 12:1's");
    assert!(a.budget_committed > b.budget_committed);
    assert!(a.fiscal_leverage.unwrap() < b.fiscal_leverage.unwrap());
    for (bank, (d8, k8), (d12, k12)) in per_bank(a, b) {
        assert!(d8 > d12, "{bank}");
        assert!(k8 <= k12, "{bank}");
    }
    // The paired rows stay.
    let fiscal = c.rows.iter().find(|r| r.metric == "fiscal_cost").unwrap();
    assert_eq!(fiscal.diff.len(), 2);
    let out = String::from_utf8_lossy(&o.stdout);
    for x in [a.deposits, b.deposits, a.budget_committed, b.budget_committed] {
        assert!(out.contains(&riskshare::report::format::group(x, 0)), "{out}");
    }
    let csv = std::fs::read_to_string(dir.path().join("cmp/comparison.csv")).unwrap();
    let deposits: Vec<&str> = csv.lines().filter(|l| l.starts_with("deposits_yuan,")).collect();
    assert_eq!(deposits.len(), 2, "{csv}");
    assert_ne!(deposits[0].split(',').nth(2), deposits[1].split(',').nth(2));
    let svg = std::fs::read_to_string(dir.path().join("cmp/comparison_money.svg")).unwrap();
    assert!(svg.contains("[2] wangcang-ratio-12") && svg.contains("budget money committed"));

    // In Chinese too.
    let o = riskshare(&["compare", &r8, &r12, "--trials", "100", "--lang", "zh", "--out", "zh"], dir.path());
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("风险补偿金存入"));
}

/// stress: the fiscal cost split into parts that add up, what was applied
/// in stress.json, on stdout and in report.html, in both languages.
#[test]
fn stress_reports_what_it_applied_and_the_fiscal_parts() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["stress", "--preset", "flood-year", "--set", "economy.rho=0.2", "--trials", "200"];
    let o = riskshare(&[&args[..], &["--out", "st"]].concat(), dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let r: StressReport = read(&dir.path().join("st/stress.json"));
    assert_eq!(r.applied.overlay, "--preset flood-year");
    assert_eq!(r.applied.set, ["economy.rho=0.2"]);
    parts_add_up(&r.baseline_policy);
    parts_add_up(&r.stressed_policy);
    // A flood draws more from the funds.
    assert!(r.stressed_policy.fiscal_cost.comp_fund_draws > r.baseline_policy.fiscal_cost.comp_fund_draws);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("economy.rho=0.2") && out.contains("--preset flood-year"), "{out}");
    assert!(out.contains("Exposure at default") && !out.contains("bank_total"), "human labels: {out}");
    assert!(out.contains("interest subsidy"), "{out}");
    let page = std::fs::read_to_string(dir.path().join("st/report.html")).unwrap();
    assert!(page.contains("economy.rho=0.2") && page.contains("--preset flood-year"));
    assert!(page.contains("<svg") && page.contains("fiscal cost"));

    let o = riskshare(&[&args[..], &["--lang", "zh", "--out", "zh"]].concat(), dir.path());
    assert!(o.status.success(), "{}", text(&o));
    let page = std::fs::read_to_string(dir.path().join("zh/report.html")).unwrap();
    assert!(page.contains("lang=\"zh-CN\"") && page.contains("economy.rho=0.2") && page.contains("财政成本"));
}

/// stress with neither --preset nor --overlay says that one of the two is needed.
#[test]
fn stress_without_a_stress_asks_for_a_preset_or_an_overlay() {
    let dir = tempfile::tempdir().unwrap();
    let o = riskshare(&["stress", "--trials", "10", "--out", "st"], dir.path());
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--preset") && err.contains("--overlay") && err.contains("one of the two"), "{err}");
    assert!(!dir.path().join("st").exists());
}
