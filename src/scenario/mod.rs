//! Scenario files: parsing YAML into the [`schema`], command-line overrides
//! (`--set key.path=value`), and the problems a bad file gives.
//!
//! This module turns text into a [`Scenario`]; it reads no files itself (the
//! caller passes the text and a name for it), so that the whole path from a
//! scenario to a report can be tested without a disk.

pub mod limits;
pub mod schema;
pub mod validate;

use std::fmt;

pub use schema::*;
use serde_yaml_ng::Value;

/// The default scenario (Wangcang County), compiled into the binary.
pub const WANGCANG_YAML: &str = include_str!("../../scenarios/wangcang.yaml");

/// One thing wrong with the input, where it is and what was expected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file (scenario or loan tape) or `--set`.
    pub origin: String,
    /// Dotted key path (`portfolio.cohorts[0].banks`) or a CSV column.
    pub path: String,
    /// 1-based line, where the parser gives one.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.origin)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Every problem found in an input, reported together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        if n == 1 {
            return write!(f, "{}", self.problems[0]);
        }
        writeln!(f, "{n} problems in the input:")?;
        for (i, p) in self.problems.iter().enumerate() {
            if i + 1 < n {
                writeln!(f, "  - {p}")?;
            } else {
                write!(f, "  - {p}")?;
            }
        }
        Ok(())
    }
}

impl std::error::Error for InputError {}

impl InputError {
    pub fn one(origin: &str, path: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        InputError {
            problems: vec![Problem {
                origin: origin.to_string(),
                path: path.to_string(),
                line,
                message: message.into(),
            }],
        }
    }
}

/// A `--set key.path=value` override.
#[derive(Clone, Debug, PartialEq)]
pub struct Override {
    pub path: String,
    pub value: String,
}

impl std::str::FromStr for Override {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok(Override { path: k.trim().to_string(), value: v.to_string() }),
            _ => Err(format!(
                "expected KEY=VALUE with a dotted key path (e.g. funds.compensation.deposit_ratio=8), found `{s}`"
            )),
        }
    }
}

/// What a scenario file should hold, for the message on an empty one.
const A_SCENARIO: &str = "a scenario (a YAML map with at least `name`; see docs/scenario.md)";

/// Checks a whole file's text against the [`limits`] before it is parsed,
/// and refuses an empty one (nothing but blanks and comments) as such.
/// `expected` says what the file should hold.
pub fn check_file(text: &str, origin: &str, expected: &str) -> Result<(), InputError> {
    let shape = limits::check(text).map_err(|r| InputError::one(origin, "", r.line, r.message))?;
    if !shape.content {
        return Err(InputError::one(
            origin,
            "",
            None,
            format!("empty file: no YAML in it, only blanks or comments; expected {expected}"),
        ));
    }
    Ok(())
}

/// Parses scenario text, applies the overrides, and checks the schema (types
/// and unknown keys). Semantic checks are [`validate::validate`]'s.
pub fn parse(text: &str, origin: &str, overrides: &[Override]) -> Result<Scenario, InputError> {
    check_file(text, origin, A_SCENARIO)?;
    if overrides.is_empty() {
        // Straight from the text, so that errors carry line numbers.
        let de = serde_yaml_ng::Deserializer::from_str(text);
        return serde_path_to_error::deserialize(de).map_err(|e| file_error(text, origin, e));
    }
    let mut value: Value = serde_yaml_ng::from_str(text)
        .map_err(|e| InputError::one(origin, "", e.location().map(|l| l.line()), format!("not valid YAML: {e}")))?;
    // Check the file alone first, so its own mistakes keep their line numbers.
    let de = serde_yaml_ng::Deserializer::from_str(text);
    serde_path_to_error::deserialize::<_, Scenario>(de).map_err(|e| file_error(text, origin, e))?;
    for o in overrides {
        apply_override(&mut value, o).map_err(|m| InputError::one("--set", &o.path, None, m))?;
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut err = schema_error("--set", e);
        for p in &mut err.problems {
            p.message.push_str(" (after the --set overrides)");
        }
        err
    })
}

/// A variant file: `base:` names the scenario it starts from (a path relative
/// to the variant, or `builtin:wangcang`), its other top-level keys replace
/// the base's, and `set:` maps dotted key paths to new values, like `--set`.
pub struct Variant {
    pub base: String,
    /// The variant's own text with `base` and `set` removed, as top-level keys.
    pub keys: serde_yaml_ng::Mapping,
    pub set: Vec<(String, Value)>,
}

/// Reads a file's `base`/`set` keys if it is a variant.
pub fn variant_of(text: &str, origin: &str) -> Result<Option<Variant>, InputError> {
    check_file(text, origin, A_SCENARIO)?;
    let value: Value = serde_yaml_ng::from_str(text)
        .map_err(|e| InputError::one(origin, "", e.location().map(|l| l.line()), format!("not valid YAML: {e}")))?;
    let Value::Mapping(mut map) = value else { return Ok(None) };
    let Some(base) = map.remove("base") else { return Ok(None) };
    let Some(base) = base.as_str().map(String::from) else {
        return Err(InputError::one(origin, "base", None, "expected the path of the base scenario"));
    };
    let mut set = Vec::new();
    if let Some(s) = map.remove("set") {
        let Value::Mapping(m) = s else {
            return Err(InputError::one(origin, "set", None, "expected a map of dotted key paths to values"));
        };
        for (k, v) in m {
            let Some(k) = k.as_str() else {
                return Err(InputError::one(origin, "set", None, "expected dotted key paths as keys"));
            };
            set.push((k.to_string(), v));
        }
    }
    Ok(Some(Variant { base, keys: map, set }))
}

/// Applies a variant to its base's text and parses the result.
pub fn parse_variant(
    base_text: &str,
    base_origin: &str,
    v: &Variant,
    origin: &str,
    overrides: &[Override],
) -> Result<Scenario, InputError> {
    // The base must be valid alone, so its own errors keep their lines.
    parse(base_text, base_origin, &[])?;
    let mut value: Value = serde_yaml_ng::from_str(base_text).map_err(|e| {
        InputError::one(base_origin, "", e.location().map(|l| l.line()), format!("not valid YAML: {e}"))
    })?;
    if let Value::Mapping(m) = &mut value {
        for (k, x) in &v.keys {
            m.insert(k.clone(), x.clone());
        }
    }
    for (path, x) in &v.set {
        let text = serde_yaml_ng::to_string(x).unwrap_or_default();
        apply_override(&mut value, &Override { path: path.clone(), value: text })
            .map_err(|m| InputError::one(origin, &format!("set.{path}"), None, m))?;
    }
    for o in overrides {
        apply_override(&mut value, o).map_err(|m| InputError::one("--set", &o.path, None, m))?;
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let mut err = schema_error(origin, e);
        for p in &mut err.problems {
            p.message.push_str(" (in the variant applied to its base)");
        }
        err
    })
}

/// Serialises a scenario back to YAML, every default filled in.
pub fn to_yaml(s: &Scenario) -> String {
    serde_yaml_ng::to_string(s).unwrap_or_else(|e| format!("# could not serialise: {e}\n"))
}

/// [`schema_error`] for a whole file: a stress overlay given where a scenario
/// is expected (`riskshare validate scenarios/stress/...`) is told so, rather
/// than only that the scenario's `name` is missing.
fn file_error(text: &str, origin: &str, e: serde_path_to_error::Error<serde_yaml_ng::Error>) -> InputError {
    let mut err = schema_error(origin, e);
    let overlay = matches!(serde_yaml_ng::from_str::<Value>(text),
        Ok(Value::Mapping(m)) if !m.is_empty() && m.keys().all(|k| k.as_str() == Some("stress")));
    if overlay {
        for p in &mut err.problems {
            p.message.push_str(&format!(
                "; this file holds only a `stress` section: it is a stress overlay, not a scenario \
                 (apply it with `riskshare stress SCENARIO --overlay {origin}`)"
            ));
        }
    }
    err
}

fn schema_error(origin: &str, e: serde_path_to_error::Error<serde_yaml_ng::Error>) -> InputError {
    let path = e.path().to_string();
    let inner = e.inner();
    let line = inner.location().map(|l| l.line());
    let raw = inner.to_string();
    // serde_yaml_ng appends " at line L column C"; we print the line ourselves.
    let msg = match raw.find(" at line ") {
        Some(i) => raw[..i].to_string(),
        None => raw,
    };
    let path = if path == "." { String::new() } else { path };
    // serde_yaml_ng puts the (parent) path in front of some messages; we print it ourselves.
    let msg = match msg.split_once(": ") {
        Some((head, rest)) if !head.contains(' ') && path.starts_with(head) => rest.to_string(),
        _ => msg,
    };
    InputError::one(origin, &path, line, explain(&msg))
}

/// Rewrites serde's messages into what a user needs: for an unknown key, the
/// nearest known one.
fn explain(msg: &str) -> String {
    let unknown = ["unknown field `", "unknown variant `"];
    for prefix in unknown {
        if let Some(rest) = msg.strip_prefix(prefix) {
            let Some(end) = rest.find('`') else { break };
            let found = &rest[..end];
            let expected: Vec<&str> =
                rest[end + 1..].split('`').enumerate().filter(|(i, _)| i % 2 == 1).map(|(_, s)| s).collect();
            let what = if prefix.contains("field") { "key" } else { "value" };
            let mut out = format!("unknown {what} `{found}`");
            if let Some(near) = nearest(found, &expected) {
                out.push_str(&format!("; did you mean `{near}`?"));
            }
            if !expected.is_empty() {
                out.push_str(&format!(" (expected one of: {})", expected.join(", ")));
            }
            return out;
        }
    }
    msg.replace("invalid type: ", "wrong type: found ")
}

/// The candidate closest to `word`, if it is close enough to be a typo.
pub fn nearest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min()
        .map(|(_, c)| c)
}

/// Walks a dotted path into the YAML tree and sets the value there. A path
/// segment that is a number indexes a list; any other segment on a list
/// selects the element whose `id` (or, for cohorts, `name`) is that segment
/// (`hazards.perils.flood.rate`).
fn apply_override(root: &mut Value, o: &Override) -> Result<(), String> {
    limits::check(&o.value).map_err(|r| format!("the value is refused: {}", r.message))?;
    let parsed: Value =
        serde_yaml_ng::from_str(&o.value).map_err(|e| format!("the value `{}` is not valid YAML: {e}", o.value))?;
    let segs: Vec<&str> = o.path.split('.').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err("empty segment in the key path".into());
    }
    let mut cur = root;
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        cur = match cur {
            Value::Mapping(m) => {
                let k = Value::String((*seg).to_string());
                if last {
                    m.insert(k, parsed);
                    return Ok(());
                }
                m.entry(k).or_insert_with(|| Value::Mapping(Default::default()))
            }
            Value::Sequence(items) => {
                let idx = match seg.parse::<usize>() {
                    Ok(n) if n < items.len() => n,
                    Ok(n) => return Err(format!("index {n} is past the end of a list of {}", items.len())),
                    Err(_) => {
                        let ids: Vec<String> = items
                            .iter()
                            .filter_map(|it| {
                                ["id", "name", "grade", "village"]
                                    .iter()
                                    .find_map(|k| it.get(*k))
                                    .and_then(|v| v.as_str())
                                    .map(String::from)
                            })
                            .collect();
                        match ids.iter().position(|id| id == seg) {
                            Some(n) => n,
                            None => {
                                let refs: Vec<&str> = ids.iter().map(|s| s.as_str()).collect();
                                let hint =
                                    nearest(seg, &refs).map(|n| format!("; did you mean `{n}`?")).unwrap_or_default();
                                return Err(format!(
                                    "no list element with id, name, grade or village `{seg}`{hint} (known: {}; or give an index)",
                                    ids.join(", ")
                                ));
                            }
                        }
                    }
                };
                if last {
                    items[idx] = parsed;
                    return Ok(());
                }
                &mut items[idx]
            }
            Value::Null => {
                *cur = Value::Mapping(Default::default());
                let Value::Mapping(m) = cur else { unreachable!() };
                let k = Value::String((*seg).to_string());
                if last {
                    m.insert(k, parsed);
                    return Ok(());
                }
                m.entry(k).or_insert_with(|| Value::Mapping(Default::default()))
            }
            _ => {
                return Err(format!(
                    "`{}` is a plain value, not a section: cannot set `{}` inside it",
                    segs[..i].join("."),
                    seg
                ));
            }
        };
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = "
name: mini
simulation:
  trials: 10
  seed: 3
grades: [{id: A, pd: 0.01}]
industries: [{id: tea}]
products: [{id: micro}]
banks: [{id: rcc}]
counties: [{id: c, village_counts: {plain: 2}}]
portfolio:
  cohorts: []
";

    #[test]
    fn misspelt_key_names_it_with_line_and_suggestion() {
        let text = MINI.replace("  seed: 3", "  sede: 3");
        let err = parse(&text, "mini.yaml", &[]).unwrap_err();
        let p = &err.problems[0];
        assert_eq!(p.line, Some(5));
        assert!(p.message.contains("`sede`"), "{}", p.message);
        assert!(p.message.contains("did you mean `seed`"), "{}", p.message);
        assert!(p.path.starts_with("simulation"), "{}", p.path);
    }

    #[test]
    fn a_stress_overlay_read_as_a_scenario_is_named_as_one() {
        let text = "stress:\n  county_factor: {quantile: 0.05}\n  pd_multiplier: 1.33\n";
        let err = parse(text, "lost.yaml", &[]).unwrap_err();
        let m = &err.problems[0].message;
        assert!(m.contains("missing field `name`"), "{m}");
        assert!(m.contains("stress overlay") && m.contains("--overlay lost.yaml"), "{m}");
        // A scenario missing its name is not taken for an overlay.
        let err = parse(&MINI.replace("name: mini\n", ""), "mini.yaml", &[]).unwrap_err();
        assert!(!err.problems[0].message.contains("overlay"), "{}", err.problems[0].message);
    }

    #[test]
    fn wrong_type_is_reported_with_path() {
        let text = MINI.replace("trials: 10", "trials: many");
        let err = parse(&text, "mini.yaml", &[]).unwrap_err();
        assert_eq!(err.problems[0].path, "simulation.trials");
        assert_eq!(err.problems[0].line, Some(4));
    }

    #[test]
    fn empty_files_are_named_as_such() {
        for text in ["", " \n\n", "# nothing yet\n\n"] {
            for err in [parse(text, "e.yaml", &[]).unwrap_err(), variant_of(text, "e.yaml").err().unwrap()] {
                let p = &err.problems[0];
                assert_eq!(p.origin, "e.yaml");
                assert!(p.message.starts_with("empty file"), "{}", p.message);
            }
        }
    }

    #[test]
    fn texts_past_the_limits_are_refused_before_parsing() {
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        let err = parse(&format!("name: x\nbanks: {deep}\n"), "deep.yaml", &[]).unwrap_err();
        let p = &err.problems[0];
        assert_eq!((p.origin.as_str(), p.line), ("deep.yaml", Some(2)));
        assert!(p.message.contains("deeper than 64 levels"), "{}", p.message);
        // The same for a `--set` value, named by its key.
        let o = Override { path: "banks".into(), value: deep };
        let err = parse(MINI, "mini.yaml", &[o]).unwrap_err();
        let p = &err.problems[0];
        assert_eq!((p.origin.as_str(), p.path.as_str()), ("--set", "banks"));
        assert!(p.message.contains("deeper than 64 levels"), "{}", p.message);
    }

    #[test]
    fn overrides_reach_lists_by_id_and_create_sections() {
        let o = |s: &str| s.parse::<Override>().unwrap();
        let s = parse(
            MINI,
            "mini.yaml",
            &[o("grades.A.pd=0.02"), o("funds.compensation.deposit_ratio=8"), o("simulation.trials=5")],
        )
        .unwrap();
        assert_eq!(s.grades[0].pd, 0.02);
        assert_eq!(s.funds.compensation.deposit_ratio, 8.0);
        assert_eq!(s.simulation.trials, 5);
        let err = parse(MINI, "mini.yaml", &[o("funds.compensation.deposit_rato=8")]).unwrap_err();
        assert!(err.problems[0].message.contains("did you mean `deposit_ratio`"));
    }
}
