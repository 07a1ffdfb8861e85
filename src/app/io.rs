//! Reading inputs (an edge of the library): the scenario file or the
//! built-in Wangcang scenario, and the loan tapes it names, relative to the
//! scenario file's folder.

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::model::Model;
use crate::scenario::limits::{self, MAX_SCENARIO_BYTES, MAX_TAPE_BYTES};
use crate::scenario::{self, InputError, Override};

/// Where a scenario came from: a file, the built-in default, or text handed
/// over in memory (the Python package's YAML strings and dicts), which goes
/// through the same parser as a file's and whose tapes and `base:` are found
/// relative to the current folder.
#[derive(Clone, Debug)]
pub enum Source {
    Builtin,
    File(PathBuf),
    /// `name` stands for the file in messages (`<string>`).
    Text {
        name: String,
        text: String,
    },
}

impl Source {
    pub fn name(&self) -> String {
        match self {
            Source::Builtin => "<built-in wangcang.yaml>".to_string(),
            Source::File(p) => p.display().to_string(),
            Source::Text { name, .. } => name.clone(),
        }
    }
}

/// A loaded, validated scenario with its compiled model.
pub struct Loaded {
    pub source: Source,
    pub model: Model,
}

/// Why a file was not read.
enum ReadError {
    Io(std::io::Error),
    /// Larger than the limit: its size, or the limit plus one where the
    /// file grew or its size is not known in advance (a pipe).
    TooBig(u64),
}

/// Reads a UTF-8 file of at most `limit` bytes: the size is checked before
/// reading, and the read stops past the limit whatever the size said.
fn read_capped(path: &Path, limit: u64) -> Result<String, ReadError> {
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let size = file.metadata().map_err(ReadError::Io)?.len();
    if size > limit {
        return Err(ReadError::TooBig(size));
    }
    let mut text = String::new();
    file.take(limit + 1).read_to_string(&mut text).map_err(ReadError::Io)?;
    if text.len() as u64 > limit {
        return Err(ReadError::TooBig(limit + 1));
    }
    Ok(text)
}

/// "is 20.5 MiB" or, where the size was not known before reading, "is over 4 MiB".
fn too_big(size: u64, limit: u64) -> String {
    if size > limit + 1 {
        format!("is {}", limits::show_bytes(size))
    } else {
        format!("is over {}", limits::show_bytes(limit))
    }
}

/// Reads a YAML file of the size a scenario may have (a scenario, a
/// variant's base, a stress overlay). `what` names it in messages.
fn read_yaml_file(path: &Path, what: &str) -> Result<String, InputError> {
    let name = path.display().to_string();
    read_capped(path, MAX_SCENARIO_BYTES).map_err(|e| match e {
        ReadError::Io(e) => InputError::one(&name, "", None, format!("cannot read the {what}: {e}")),
        ReadError::TooBig(n) => InputError::one(
            &name,
            "",
            None,
            format!(
                "the {what} {}; a YAML input may be at most {}",
                too_big(n, MAX_SCENARIO_BYTES),
                limits::show_bytes(MAX_SCENARIO_BYTES)
            ),
        ),
    })
}

/// Reads the scenario text.
pub fn read_scenario_text(source: &Source) -> Result<String, InputError> {
    match source {
        Source::Builtin => Ok(scenario::WANGCANG_YAML.to_string()),
        Source::File(p) => read_yaml_file(p, "scenario file"),
        Source::Text { name, text } => {
            if text.len() as u64 > MAX_SCENARIO_BYTES {
                return Err(InputError::one(
                    name,
                    "",
                    None,
                    format!(
                        "the scenario {}; a YAML input may be at most {}",
                        too_big(text.len() as u64, MAX_SCENARIO_BYTES),
                        limits::show_bytes(MAX_SCENARIO_BYTES)
                    ),
                ));
            }
            Ok(text.clone())
        }
    }
}

/// Reads a stress overlay file (`riskshare stress --overlay FILE`) and
/// checks it against the YAML limits; its keys are the caller's to check.
pub fn read_overlay(path: &Path) -> Result<String, InputError> {
    let text = read_yaml_file(path, "overlay")?;
    scenario::check_file(&text, &path.display().to_string(), "a stress overlay (a `stress:` section)")?;
    Ok(text)
}

/// Parses and validates a scenario and builds its model, reading its tapes.
/// Problems that `--set` overrides caused name the override as their origin,
/// not the file (see [`scenario::blame_set`]).
pub fn load(source: Source, overrides: &[Override]) -> Result<Loaded, InputError> {
    let origin = source.name();
    let text = read_scenario_text(&source)?;
    let dir = match &source {
        Source::File(p) => p.parent().map(Path::to_path_buf).unwrap_or_default(),
        Source::Builtin | Source::Text { .. } => PathBuf::from("."),
    };
    let variant = match scenario::variant_of(&text, &origin)? {
        None => None,
        Some(v) => {
            let base_source =
                if v.base == "builtin:wangcang" { Source::Builtin } else { Source::File(dir.join(&v.base)) };
            let base_text = read_scenario_text(&base_source)?;
            if scenario::variant_of(&base_text, &base_source.name())?.is_some() {
                return Err(InputError::one(
                    &origin,
                    "base",
                    None,
                    "a base may not itself be a variant (one level only)",
                ));
            }
            Some((v, base_text, base_source.name()))
        }
    };
    let parse = |overrides: &[Override]| match &variant {
        None => scenario::parse_traced(&text, &origin, overrides),
        Some((v, base_text, base_name)) => scenario::parse_variant(base_text, base_name, v, &origin, overrides),
    };
    let parsed = parse(overrides)?;
    let (mut scen, set) = (parsed.scenario, parsed.set);
    let named_tapes = scen.portfolio.tapes.clone();
    let tapes = read_tapes(&mut scen.portfolio.tapes, &dir, &origin).map_err(|problems| {
        let mut e = InputError { problems };
        scenario::blame_set(&mut e, &origin, &set, None);
        e
    })?;
    match Model::build(scen, &origin, &tapes) {
        Ok(model) => Ok(Loaded { source, model }),
        Err(mut e) => {
            if !set.is_empty() {
                // What the file alone gives is the file's; the rest the overrides'.
                let alone = parse(&[]).ok().and_then(|p| {
                    let mut s = p.scenario;
                    let tapes = if s.portfolio.tapes == named_tapes {
                        tapes
                    } else {
                        read_tapes(&mut s.portfolio.tapes, &dir, &origin).ok()?
                    };
                    Some(Model::build(s, &origin, &tapes).err().map(|e| e.problems).unwrap_or_default())
                });
                scenario::blame_set(&mut e, &origin, &set, alone.as_deref());
            }
            Err(e)
        }
    }
}

/// Reads the loan tapes a scenario names (relative to `dir`) as (name,
/// text), and records each by its absolute path, so that the resolved
/// scenario in the output folder can be rerun from anywhere.
fn read_tapes(names: &mut [String], dir: &Path, origin: &str) -> Result<Vec<(String, String)>, Vec<scenario::Problem>> {
    let mut tapes = Vec::new();
    let mut problems = Vec::new();
    for (i, t) in names.iter_mut().enumerate() {
        let path = dir.join(&*t);
        match read_capped(&path, MAX_TAPE_BYTES) {
            Ok(text) => {
                let abs = std::fs::canonicalize(&path).unwrap_or(path.clone());
                *t = abs.display().to_string();
                tapes.push((path.display().to_string(), text));
            }
            Err(e) => problems.push(scenario::Problem {
                origin: origin.to_string(),
                path: format!("portfolio.tapes[{i}]"),
                line: None,
                message: match e {
                    ReadError::Io(e) => format!("cannot read the loan tape `{}`: {e}", path.display()),
                    ReadError::TooBig(n) => format!(
                        "the loan tape `{}` {}; a loan tape may be at most {}",
                        path.display(),
                        too_big(n, MAX_TAPE_BYTES),
                        limits::show_bytes(MAX_TAPE_BYTES)
                    ),
                },
            }),
        }
    }
    if problems.is_empty() { Ok(tapes) } else { Err(problems) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file of `len` bytes that takes no room (sparse).
    fn sparse(path: &Path, len: u64) {
        std::fs::File::create(path).unwrap().set_len(len).unwrap();
    }

    #[test]
    fn files_past_their_size_limit_are_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let scen = dir.path().join("big.yaml");
        sparse(&scen, 20 << 20);
        let err = read_scenario_text(&Source::File(scen.clone())).unwrap_err();
        let m = &err.problems[0].message;
        assert!(m.contains("is 20 MiB; a YAML input may be at most 4 MiB"), "{m}");
        sparse(&scen, MAX_SCENARIO_BYTES + 1);
        let err = read_overlay(&scen).unwrap_err();
        assert!(err.problems[0].message.contains("the overlay is over 4 MiB"), "{}", err.problems[0].message);
        // A tape: named by the scenario's key.
        let mini = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/mini.yaml"));
        let text = mini.unwrap().replace("  seed: 3\n", "  seed: 3\n  tapes: [tape.csv]\n");
        std::fs::write(dir.path().join("s.yaml"), text).unwrap();
        sparse(&dir.path().join("tape.csv"), 2 << 30);
        let err = load(Source::File(dir.path().join("s.yaml")), &[]).err().unwrap();
        let p = &err.problems[0];
        assert_eq!(p.path, "portfolio.tapes[0]");
        assert!(p.message.contains("is 2 GiB; a loan tape may be at most 1 GiB"), "{}", p.message);
    }
}
