//! Golden tables: the mini scenario's loss tables, bit for bit. They pin the
//! sampling contract and the waterfall's arithmetic; a change that moves them
//! must be deliberate. Regenerate with
//! `UPDATE_GOLDEN=1 cargo test --release --test it golden::` and review the diff.

use crate::common::*;
use riskshare::report::tables_csv;

#[test]
fn mini_scenario_tables_are_unchanged() {
    let m = model(include_str!("../scenarios/mini.yaml"));
    let b = simulate(&m, 7, 40, 2);
    let (mut trials, mut years) = (Vec::new(), Vec::new());
    tables_csv::trials_header(&mut trials).unwrap();
    tables_csv::years_header(&mut years, &m).unwrap();
    tables_csv::write_batch(&b, &mut trials, &mut years).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for (name, got) in [("mini_trials.csv", trials), ("mini_years.csv", years)] {
        let path = dir.join(name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want =
            std::fs::read(&path).unwrap_or_else(|_| panic!("{} missing: run with UPDATE_GOLDEN=1", path.display()));
        assert!(
            want == got,
            "{name} changed; if deliberate, regenerate with UPDATE_GOLDEN=1 and note it in CHANGELOG.md"
        );
    }
}
