//! Every key a scenario file accepts is documented in docs/scenario.md.
//!
//! The keys come from the schema, not from a list kept by hand: the
//! all-mechanisms scenario (and a variant of it for what cannot sit in the
//! same file) is written out as `scenario.resolved.yaml` is, every default
//! filled in, and its key paths are walked. A list is written `[]`
//! (`grades[].pd`); a map whose keys are the user's ids is one key
//! (`portfolio.cohorts[].banks`), or `<id>` when its values have keys of
//! their own (`portfolio.cohorts[].indicators.<id>.alpha`). Which maps are
//! the schema's is the schema's own answer: an unknown key in one of its
//! structs is refused with the list of the keys it expects, which also names
//! the optional keys the fixtures leave out.

use std::collections::{BTreeMap, BTreeSet};

use serde_yaml_ng::Value;

use crate::common::{ALL_MECHANISMS, model_with_tape};

const DOC: &str = include_str!("../../docs/scenario.md");

/// A key no struct of the schema has.
const PROBE: &str = "zz_probe";

/// A step to a value inside the document.
#[derive(Clone)]
enum Step {
    Key(Value),
    Index(usize),
}

fn at<'a>(v: &'a mut Value, loc: &[Step]) -> &'a mut Value {
    loc.iter().fold(v, |v, s| match s {
        Step::Key(k) => v.as_mapping_mut().unwrap().get_mut(k).unwrap(),
        Step::Index(i) => &mut v.as_sequence_mut().unwrap()[*i],
    })
}

/// The keys the struct at `loc` accepts, or `None` when the map there takes
/// any key (a map of the user's ids). Read from the schema's refusal of
/// [`PROBE`]: "unknown field `zz_probe`, expected one of `a`, `b`".
fn struct_keys(doc: &Value, loc: &[Step]) -> Option<BTreeSet<String>> {
    let mut probed = doc.clone();
    at(&mut probed, loc).as_mapping_mut().unwrap().insert(PROBE.into(), Value::Null);
    let e = serde_yaml_ng::from_value::<riskshare::scenario::Scenario>(probed).err()?.to_string();
    let (_, expected) = e.split_once(&format!("unknown field `{PROBE}`"))?;
    Some(expected.split('`').skip(1).step_by(2).map(String::from).collect())
}

/// Key paths found by [`walk`].
#[derive(Default)]
struct Keys {
    /// Paths whose value is a scalar, a list of scalars or a map of ids.
    leaves: BTreeSet<String>,
    /// For each struct's path, the keys it accepts and those the fixtures give.
    structs: BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>,
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn walk(doc: &Value, v: &Value, loc: &mut Vec<Step>, path: &str, keys: &mut Keys) {
    match v {
        Value::Mapping(m) => {
            let Some(accepted) = struct_keys(doc, loc) else {
                // A map of ids: its entries are the user's, not keys, unless
                // their values have keys of their own.
                if m.values().all(|x| !x.is_mapping()) {
                    keys.leaves.insert(path.to_string());
                    return;
                }
                for (k, x) in m {
                    loc.push(Step::Key(k.clone()));
                    walk(doc, x, loc, &format!("{path}.<id>"), keys);
                    loc.pop();
                }
                return;
            };
            let entry = keys.structs.entry(path.to_string()).or_default();
            entry.0.extend(accepted);
            entry.1.extend(m.keys().map(|k| k.as_str().unwrap().to_string()));
            if m.is_empty() {
                keys.leaves.insert(path.to_string());
            }
            for (k, x) in m {
                loc.push(Step::Key(k.clone()));
                walk(doc, x, loc, &join(path, k.as_str().unwrap()), keys);
                loc.pop();
            }
        }
        Value::Sequence(s) if s.iter().any(Value::is_mapping) => {
            for (i, x) in s.iter().enumerate() {
                loc.push(Step::Index(i));
                walk(doc, x, loc, &format!("{path}[]"), keys);
                loc.pop();
            }
        }
        _ => {
            keys.leaves.insert(path.to_string());
        }
    }
}

/// The fixtures: the all-mechanisms scenario, and the same with societies'
/// capital set by `lending_ratio`, which `capital_per_village` excludes.
fn fixtures() -> Vec<Value> {
    let lending_ratio = ALL_MECHANISMS.replacen("  capital_per_village: 150000\n", "  lending_ratio: 0.8\n", 1);
    assert_ne!(lending_ratio, ALL_MECHANISMS, "all-mechanisms.yaml no longer sets societies.capital_per_village");
    [ALL_MECHANISMS, lending_ratio.as_str()]
        .iter()
        .map(|yaml| {
            let m = model_with_tape(yaml);
            let s = &m.scenario.simulation;
            serde_yaml_ng::from_str(&riskshare::app::runner::resolved_yaml(&m, s.seed, s.trials)).unwrap()
        })
        .collect()
}

#[test]
fn every_scenario_key_is_in_docs_scenario_md() {
    let mut keys = Keys::default();
    for doc in fixtures() {
        walk(&doc, &doc, &mut Vec::new(), "", &mut keys);
    }
    assert!(keys.leaves.len() > 150, "only {} keys found: is the walk broken?", keys.leaves.len());
    let unset: Vec<String> = keys
        .structs
        .iter()
        .flat_map(|(path, (accepted, given))| accepted.difference(given).map(|k| join(path, k)))
        .collect();
    let missing: Vec<&String> = keys.leaves.iter().chain(&unset).filter(|k| !DOC.contains(&format!("`{k}`"))).collect();
    assert!(
        missing.is_empty(),
        "{} scenario keys are not in docs/scenario.md (each must appear in full, in backticks, \
         with its type, unit, default and meaning): {missing:#?}",
        missing.len()
    );
    // A key the fixtures leave out may have keys of its own that the walk
    // cannot see, and the golden tables do not exercise it.
    assert!(
        unset.is_empty(),
        "keys the schema accepts but tests/scenarios/all-mechanisms.yaml does not give \
         (give them, so that this test checks them): {unset:#?}"
    );
}
