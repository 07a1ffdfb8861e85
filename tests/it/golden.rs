//! Golden tables: two scenarios' loss tables, bit for bit. They pin the
//! sampling contract and the waterfall's arithmetic; a change that moves them
//! must be deliberate. Regenerate with
//! `UPDATE_GOLDEN=1 cargo test --release --test it golden::` and review the diff.
//!
//! `mini` is the four layers with hazards and shocks; `all-mechanisms` has
//! every mechanism of the schema on (tape, guarantees, societies, linkage,
//! scorecard, a shortfall borne by the bank, capped top-ups, a stress
//! overlay), so that a change to any of them shows in its tables.

use crate::common::*;
use riskshare::model::Model;
use riskshare::report::tables_csv;

/// Simulates `trials` trials of `m` from `seed`, and checks its tables
/// against `tests/golden/<stem>_trials.csv` and `<stem>_years.csv` (or
/// writes them, with `UPDATE_GOLDEN` set). Returns the tables' text.
fn golden(stem: &str, m: &Model, seed: u64, trials: u64) -> [String; 2] {
    let b = simulate(m, seed, trials, 2);
    let (mut t, mut y) = (Vec::new(), Vec::new());
    tables_csv::trials_header(&mut t, false).unwrap();
    tables_csv::years_header(&mut y, m).unwrap();
    tables_csv::write_batch(&b, &mut t, &mut y).unwrap();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    for (table, got) in [("trials", &t), ("years", &y)] {
        let name = format!("{stem}_{table}.csv");
        let path = dir.join(&name);
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&path, got).unwrap();
            continue;
        }
        let want =
            std::fs::read(&path).unwrap_or_else(|_| panic!("{} missing: run with UPDATE_GOLDEN=1", path.display()));
        assert!(
            &want == got,
            "{name} changed; if deliberate, regenerate with UPDATE_GOLDEN=1 and note it in CHANGELOG.md"
        );
    }
    [t, y].map(|x| String::from_utf8(x).unwrap())
}

#[test]
fn mini_scenario_tables_are_unchanged() {
    golden("mini", &model(include_str!("../scenarios/mini.yaml")), 7, 40);
}

/// The columns that only the mechanisms beyond the four layers move: a
/// golden file where they are all zero would pin nothing of them.
const MECHANISM_COLUMNS: [&str; 7] = [
    "guarantee",
    "society_loss",
    "societies_impaired",
    "exposure_linkage",
    "shortfall",
    "shortfall_to_bank",
    "top_ups",
];

#[test]
fn all_mechanisms_scenario_tables_are_unchanged() {
    let m = model_with_tape(ALL_MECHANISMS);
    // The scenario's own seed and trials, so that `riskshare run` on the
    // file writes these very tables.
    let sim = &m.scenario.simulation;
    let tables = golden("all-mechanisms", &m, sim.seed, sim.trials);
    for (table, text) in ["trials.csv", "years.csv"].iter().zip(&tables) {
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let mut moved = vec![false; header.len()];
        for line in lines {
            for (k, cell) in line.split(',').enumerate() {
                moved[k] |= cell.bytes().any(|c| (b'1'..=b'9').contains(&c));
            }
        }
        for c in MECHANISM_COLUMNS {
            assert!(header.contains(&c), "{table} has no column `{c}`");
        }
        // Every mechanism is on, so every column, not only those, moves.
        let still: Vec<&str> = header.iter().zip(&moved).filter(|(_, m)| !**m).map(|(c, _)| *c).collect();
        assert!(still.is_empty(), "{table}: columns zero in every row: {still:?}; retune all-mechanisms.yaml");
    }
}
