//! Scenario files: parsing YAML into the [`schema`], command-line overrides
//! (`--set key.path=value`), and the problems a bad file gives.
//!
//! This module turns text into a [`Scenario`]; it reads no files itself (the
//! caller passes the text and a name for it), so that the whole path from a
//! scenario to a report can be tested without a disk.

pub mod limits;
pub mod schema;
pub mod validate;

use std::collections::HashMap;
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
        writeln!(f, "{} problems in the input:", crate::limits::grouped(n as u64))?;
        // A tape or a cohort with one mistake repeats it on every loan: a
        // screen of the same line would hide whatever else is wrong. So at
        // most SHOWN are listed, at most SAME_MESSAGE of one message, and
        // the rest are counted by message.
        let mut listed_of: HashMap<&str, usize> = HashMap::new();
        let (mut listed, mut rest) = (Vec::new(), Vec::new());
        for p in &self.problems {
            let same = listed_of.entry(&p.message).or_insert(0);
            if listed.len() < InputError::SHOWN && *same < InputError::SAME_MESSAGE {
                *same += 1;
                listed.push(p);
            } else {
                rest.push(p);
            }
        }
        let lines: Vec<String> = listed.iter().map(|p| format!("  - {p}")).chain(rest_by_message(&rest)).collect();
        write!(f, "{}", lines.join("\n"))
    }
}

/// The problems not listed, counted by message, the most frequent first
/// (among equals, the one met first); none when every problem was listed.
fn rest_by_message(rest: &[&Problem]) -> Vec<String> {
    const KINDS: usize = 5;
    if rest.is_empty() {
        return Vec::new();
    }
    let mut count: HashMap<&str, (usize, usize)> = HashMap::new();
    for (i, p) in rest.iter().enumerate() {
        count.entry(&p.message).or_insert((0, i)).0 += 1;
    }
    let mut kinds: Vec<(&str, usize, usize)> = count.into_iter().map(|(m, (c, first))| (m, c, first)).collect();
    kinds.sort_unstable_by_key(|&(_, c, first)| (std::cmp::Reverse(c), first));
    let g = |n: usize| crate::limits::grouped(n as u64);
    let mut out = vec![format!("  ... and {} more, by message:", g(rest.len()))];
    out.extend(kinds.iter().take(KINDS).map(|&(m, c, _)| format!("      {:>9}  {m}", g(c))));
    if kinds.len() > KINDS {
        let others: usize = kinds[KINDS..].iter().map(|k| k.1).sum();
        out.push(format!("      {:>9}  with {} other messages", g(others), g(kinds.len() - KINDS)));
    }
    out
}

impl std::error::Error for InputError {}

impl InputError {
    /// At most this many problems are listed one by one ...
    pub const SHOWN: usize = 20;
    /// ... and at most this many of one message; the rest are counted by message.
    pub const SAME_MESSAGE: usize = 3;

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

/// Where a `--set` override landed: the key path it set, as problems name
/// it (`grades[0].pd` for `--set grades.A.pd=...`), and the override as
/// typed, to be named as the origin of the problems it caused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetAt {
    pub path: String,
    pub label: String,
}

/// A parsed scenario and where its `--set` overrides landed.
pub struct Parsed {
    pub scenario: Scenario,
    pub set: Vec<SetAt>,
}

/// Parses scenario text, applies the overrides, and checks the schema (types
/// and unknown keys). Semantic checks are [`validate::validate`]'s.
pub fn parse(text: &str, origin: &str, overrides: &[Override]) -> Result<Scenario, InputError> {
    parse_traced(text, origin, overrides).map(|p| p.scenario)
}

/// [`parse`], also telling where each override landed (for [`blame_set`]).
pub fn parse_traced(text: &str, origin: &str, overrides: &[Override]) -> Result<Parsed, InputError> {
    check_file(text, origin, A_SCENARIO)?;
    if overrides.is_empty() {
        // Straight from the text, so that errors carry line numbers.
        let de = serde_yaml_ng::Deserializer::from_str(text);
        let scenario = serde_path_to_error::deserialize(de).map_err(|e| file_error(text, origin, e))?;
        return Ok(Parsed { scenario, set: Vec::new() });
    }
    let mut value: Value = serde_yaml_ng::from_str(text)
        .map_err(|e| InputError::one(origin, "", e.location().map(|l| l.line()), format!("not valid YAML: {e}")))?;
    // Check the file alone first, so its own mistakes keep their line numbers.
    let de = serde_yaml_ng::Deserializer::from_str(text);
    serde_path_to_error::deserialize::<_, Scenario>(de).map_err(|e| file_error(text, origin, e))?;
    let set = apply_overrides(&mut value, overrides)?;
    let scenario =
        serde_path_to_error::deserialize(value).map_err(|e| after_set_error(schema_error("--set", e), &set))?;
    Ok(Parsed { scenario, set })
}

/// Applies `--set` overrides in order; problems name the override.
fn apply_overrides(value: &mut Value, overrides: &[Override]) -> Result<Vec<SetAt>, InputError> {
    overrides
        .iter()
        .map(|o| {
            let path = apply_override(value, o).map_err(|m| InputError::one("--set", &o.path, None, m))?;
            Ok(SetAt { path, label: set_label(o) })
        })
        .collect()
}

/// `--set KEY=VALUE` as typed, a long or many-line value shortened.
fn set_label(o: &Override) -> String {
    let value = o.value.trim_end();
    let first = value.lines().next().unwrap_or("");
    let value = if first.chars().count() > 40 || first.len() < value.len() {
        format!("{}...", first.chars().take(40).collect::<String>())
    } else {
        value.to_string()
    };
    format!("--set {}={value}", o.path)
}

/// Whether key path `path` is `prefix` or lies under it (`grades[0].pd`
/// under `grades[0]` and `grades`; `portfolio.cohorts[0] (banks)` under
/// `portfolio.cohorts[0]`).
fn lies_under(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[', ' ', ':']))
}

/// The override (the last, if several) that set `path` or a section holding it.
fn set_at<'a>(path: &str, set: &'a [SetAt]) -> Option<&'a SetAt> {
    set.iter().rev().find(|s| lies_under(path, &s.path))
}

/// Makes a problem the overrides': the one that set its key (or a section
/// holding it), else the only one, else all of them.
fn blame_on_set(p: &mut Problem, set: &[SetAt]) {
    p.line = None;
    match (set_at(&p.path, set), set) {
        (Some(s), _) | (None, [s]) => p.origin = s.label.clone(),
        (None, _) => {
            p.origin = "--set".into();
            p.message.push_str(" (after the --set overrides)");
        }
    }
}

/// A schema error found after the overrides (the file alone parsed): every
/// problem is the overrides'.
fn after_set_error(mut err: InputError, set: &[SetAt]) -> InputError {
    for p in &mut err.problems {
        blame_on_set(p, set);
    }
    err
}

/// Points the problems found in a scenario read from `origin` with `--set`
/// overrides at the overrides that caused them. A problem at a key path an
/// override set, or under it, is that override's: its origin becomes
/// `--set KEY=VALUE`. Given `alone`, the problems the file has without the
/// overrides, any other problem the file does not have alone is the
/// overrides' too (a product's limit that a grade set by `--set` now
/// breaks, say); without it, such problems stay the file's.
pub fn blame_set(err: &mut InputError, origin: &str, set: &[SetAt], alone: Option<&[Problem]>) {
    if set.is_empty() {
        return;
    }
    for p in err.problems.iter_mut().filter(|p| p.origin == origin) {
        let caused = set_at(&p.path, set).is_some() || alone.is_some_and(|a| !a.contains(p));
        if caused {
            blame_on_set(p, set);
        }
    }
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

/// Applies a variant to its base's text and parses the result; the
/// overrides are applied last, and reported as [`parse_traced`] does.
pub fn parse_variant(
    base_text: &str,
    base_origin: &str,
    v: &Variant,
    origin: &str,
    overrides: &[Override],
) -> Result<Parsed, InputError> {
    // The base must be valid alone, so its own errors keep their lines.
    parse(base_text, base_origin, &[])?;
    let mut value: Value = serde_yaml_ng::from_str(base_text).map_err(|e| {
        InputError::one(base_origin, "", e.location().map(|l| l.line()), format!("not valid YAML: {e}"))
    })?;
    if let Value::Mapping(m) = &mut value {
        // A variant that renames the scenario and gives no title of its own
        // loses the base's: that title names the base, not the variant.
        if v.keys.contains_key("name") && !v.keys.contains_key("label") {
            m.remove("label");
        }
        for (k, x) in &v.keys {
            m.insert(k.clone(), x.clone());
        }
    }
    for (path, x) in &v.set {
        let text = serde_yaml_ng::to_string(x).unwrap_or_default();
        apply_override(&mut value, &Override { path: path.clone(), value: text })
            .map_err(|m| InputError::one(origin, &format!("set.{path}"), None, m))?;
    }
    let set = apply_overrides(&mut value, overrides)?;
    let scenario = serde_path_to_error::deserialize(value).map_err(|e| {
        let mut err = schema_error(origin, e);
        for p in &mut err.problems {
            match set_at(&p.path, &set) {
                Some(s) => p.origin = s.label.clone(),
                None => p.message.push_str(" (in the variant applied to its base)"),
            }
        }
        err
    })?;
    Ok(Parsed { scenario, set })
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
/// (`hazards.perils.flood.rate`). Returns the path it set as problems name
/// it, lists by index (`grades[0].pd`).
fn apply_override(root: &mut Value, o: &Override) -> Result<String, String> {
    limits::check(&o.value).map_err(|r| format!("the value is refused: {}", r.message))?;
    let parsed: Value =
        serde_yaml_ng::from_str(&o.value).map_err(|e| format!("the value `{}` is not valid YAML: {e}", o.value))?;
    let segs: Vec<&str> = o.path.split('.').collect();
    if segs.iter().any(|s| s.is_empty()) {
        return Err("empty segment in the key path".into());
    }
    let mut at = String::new();
    let mut cur = root;
    for (i, seg) in segs.iter().enumerate() {
        let last = i + 1 == segs.len();
        if !matches!(cur, Value::Sequence(_)) {
            if !at.is_empty() {
                at.push('.');
            }
            at.push_str(seg);
        }
        cur = match cur {
            Value::Mapping(m) => {
                let k = Value::String((*seg).to_string());
                if last {
                    m.insert(k, parsed);
                    return Ok(at);
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
                at.push_str(&format!("[{idx}]"));
                if last {
                    items[idx] = parsed;
                    return Ok(at);
                }
                &mut items[idx]
            }
            Value::Null => {
                *cur = Value::Mapping(Default::default());
                let Value::Mapping(m) = cur else { unreachable!() };
                let k = Value::String((*seg).to_string());
                if last {
                    m.insert(k, parsed);
                    return Ok(at);
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
    Ok(at)
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
    fn past_twenty_problems_the_rest_are_counted_by_message() {
        let p =
            |i: usize, m: String| Problem { origin: "t.csv".into(), path: String::new(), line: Some(i), message: m };
        // 20 listed, then 40 of message `a`, 30 of `b`, and one each of 7 others.
        let mut problems: Vec<Problem> = (0..20).map(|i| p(i, format!("first {i}"))).collect();
        problems.extend((0..30).map(|i| p(100 + i, "b".into())));
        problems.extend((0..40).map(|i| p(200 + i, "a".into())));
        problems.extend((0..7).map(|i| p(300 + i, format!("other {i}"))));
        let text = InputError { problems }.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "97 problems in the input:");
        assert_eq!(lines[1], "  - t.csv:0: first 0");
        assert_eq!(lines[20], "  - t.csv:19: first 19");
        assert_eq!(lines[21], "  ... and 77 more, by message:");
        assert_eq!(lines[22], "             40  a");
        assert_eq!(lines[23], "             30  b");
        // Among equal counts, the message met first.
        assert_eq!(lines[24], "              1  other 0");
        assert_eq!(lines[26], "              1  other 2");
        assert_eq!(lines[27], "              4  with 4 other messages");
        assert_eq!(lines.len(), 28);
        // Of one message, three are listed and the rest counted.
        let same: Vec<Problem> = (0..5).map(|i| p(i, "x".into())).chain((5..7).map(|i| p(i, "y".into()))).collect();
        let text = InputError { problems: same }.to_string();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1..4], ["  - t.csv:0: x", "  - t.csv:1: x", "  - t.csv:2: x"]);
        assert_eq!(lines[4..6], ["  - t.csv:5: y", "  - t.csv:6: y"]);
        assert_eq!(lines[6..], ["  ... and 2 more, by message:", "              2  x"]);
        // Twenty distinct ones are all listed, as before.
        let few = InputError { problems: (0..20).map(|i| p(i, format!("x{i}"))).collect() }.to_string();
        assert_eq!(few.lines().count(), 21);
        assert!(!few.contains("more") && !few.ends_with('\n'));
    }

    #[test]
    fn a_description_is_text_or_one_per_language() {
        let plain = parse(&MINI.replace("name: mini\n", "name: mini\ndescription: A book.\n"), "m", &[]).unwrap();
        assert_eq!((plain.description.pick(true), plain.description.pick(false)), ("A book.", "A book."));
        // A plain text writes back as plain text: resolved files keep their bytes.
        assert!(serde_yaml_ng::to_string(&plain).unwrap().contains("description: A book.\n"));
        let both = MINI.replace("name: mini\n", "name: mini\ndescription: {zh: 一本账, en: A book.}\n");
        let both = parse(&both, "m", &[]).unwrap();
        assert_eq!((both.description.pick(true), both.description.pick(false)), ("一本账", "A book."));
        let back = parse(&serde_yaml_ng::to_string(&both).unwrap(), "m", &[]).unwrap();
        assert_eq!(back.description, both.description);
        let bad = MINI.replace("name: mini\n", "name: mini\ndescription: {fr: Un livre.}\n");
        let err = parse(&bad, "m.yaml", &[]).unwrap_err();
        assert!(err.problems[0].path.starts_with("description"), "{:?}", err.problems[0]);
        assert!(err.problems[0].message.contains("`fr`"), "{}", err.problems[0].message);
    }

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
    fn overrides_say_where_they_landed() {
        let o = |s: &str| s.parse::<Override>().unwrap();
        let parsed = parse_traced(
            MINI,
            "mini.yaml",
            &[o("grades.A.pd=0.02"), o("funds.compensation.deposit_ratio=8"), o("portfolio.cohorts=[]")],
        )
        .unwrap();
        let paths: Vec<&str> = parsed.set.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(paths, ["grades[0].pd", "funds.compensation.deposit_ratio", "portfolio.cohorts"]);
        assert_eq!(parsed.set[0].label, "--set grades.A.pd=0.02");
        // A schema error after the overrides is the override's.
        let err = parse(MINI, "mini.yaml", &[o("simulation.trials=many")]).unwrap_err();
        let p = &err.problems[0];
        assert_eq!((p.origin.as_str(), p.path.as_str()), ("--set simulation.trials=many", "simulation.trials"));
        // A long value is shortened in the label.
        assert_eq!(set_label(&o(&format!("a={}", "x".repeat(50)))), format!("--set a={}...", "x".repeat(40)));
        assert_eq!(set_label(&o("stress=pd_multiplier: 2\n")), "--set stress=pd_multiplier: 2");
        assert_eq!(set_label(&o("stress=a: 1\nb: 2\n")), "--set stress=a: 1...");
    }

    #[test]
    fn problems_the_overrides_caused_are_blamed_on_them() {
        let set = [SetAt { path: "grades[1].pd".into(), label: "--set grades.B.pd=1.5".into() }];
        let problem = |origin: &str, path: &str| Problem {
            origin: origin.into(),
            path: path.into(),
            line: Some(3),
            message: "bad".into(),
        };
        let found = || InputError {
            problems: vec![
                problem("s.yaml", "grades[1].pd"),
                problem("s.yaml", "products[0].pd_multiplier"),
                problem("s.yaml", "economy.rho"),
                problem("tape.csv", "grades[1].pd"),
            ],
        };
        // Without the file's own problems, only those under the key set.
        let mut err = found();
        blame_set(&mut err, "s.yaml", &set, None);
        let origins: Vec<&str> = err.problems.iter().map(|p| p.origin.as_str()).collect();
        assert_eq!(origins, ["--set grades.B.pd=1.5", "s.yaml", "s.yaml", "tape.csv"]);
        assert_eq!(err.problems[0].line, None);
        // With them: what the file has alone stays the file's.
        let mut err = found();
        blame_set(&mut err, "s.yaml", &set, Some(&[problem("s.yaml", "economy.rho")]));
        let origins: Vec<&str> = err.problems.iter().map(|p| p.origin.as_str()).collect();
        assert_eq!(origins, ["--set grades.B.pd=1.5", "--set grades.B.pd=1.5", "s.yaml", "tape.csv"]);
        // Several overrides, none at the key: all of them.
        let two = [set[0].clone(), SetAt { path: "economy.rho".into(), label: "--set economy.rho=2".into() }];
        let mut err = found();
        blame_set(&mut err, "s.yaml", &two, Some(&[]));
        let p = &err.problems[1];
        assert_eq!((p.origin.as_str(), p.message.as_str()), ("--set", "bad (after the --set overrides)"));
        assert_eq!(err.problems[2].origin, "--set economy.rho=2");
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
