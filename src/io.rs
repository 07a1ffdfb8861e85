//! Reading inputs (an edge of the library): the scenario file or the
//! built-in Wangcang scenario, and the loan tapes it names, relative to the
//! scenario file's folder.

use std::path::{Path, PathBuf};

use crate::model::Model;
use crate::scenario::{self, InputError, Override, Scenario};

/// Where a scenario came from: a file, or the built-in default.
#[derive(Clone, Debug)]
pub enum Source {
    Builtin,
    File(PathBuf),
}

impl Source {
    pub fn name(&self) -> String {
        match self {
            Source::Builtin => "<built-in wangcang.yaml>".to_string(),
            Source::File(p) => p.display().to_string(),
        }
    }
}

/// A loaded, validated scenario with its compiled model.
pub struct Loaded {
    pub source: Source,
    pub model: Model,
}

/// Reads the scenario text.
pub fn read_scenario_text(source: &Source) -> Result<String, InputError> {
    match source {
        Source::Builtin => Ok(scenario::WANGCANG_YAML.to_string()),
        Source::File(p) => std::fs::read_to_string(p).map_err(|e| {
            InputError::one(&p.display().to_string(), "", None, format!("cannot read the scenario file: {e}"))
        }),
    }
}

/// Parses and validates a scenario and builds its model, reading its tapes.
pub fn load(source: Source, overrides: &[Override]) -> Result<Loaded, InputError> {
    let origin = source.name();
    let text = read_scenario_text(&source)?;
    let mut scen: Scenario = match scenario::variant_of(&text, &origin)? {
        None => scenario::parse(&text, &origin, overrides)?,
        Some(v) => {
            let base_source = if v.base == "builtin:wangcang" {
                Source::Builtin
            } else {
                let dir = match &source {
                    Source::File(p) => p.parent().map(Path::to_path_buf).unwrap_or_default(),
                    Source::Builtin => PathBuf::from("."),
                };
                Source::File(dir.join(&v.base))
            };
            let base_text = read_scenario_text(&base_source)?;
            if scenario::variant_of(&base_text, &base_source.name())?.is_some() {
                return Err(InputError::one(
                    &origin,
                    "base",
                    None,
                    "a base may not itself be a variant (one level only)",
                ));
            }
            scenario::parse_variant(&base_text, &base_source.name(), &v, &origin, overrides)?
        }
    };
    let base = match &source {
        Source::File(p) => p.parent().map(Path::to_path_buf).unwrap_or_default(),
        Source::Builtin => PathBuf::from("."),
    };
    let mut tapes = Vec::new();
    let mut problems = Vec::new();
    for (i, t) in scen.portfolio.tapes.iter_mut().enumerate() {
        let path = base.join(&*t);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                // Record the tape by a path that works from anywhere, so the
                // resolved scenario in the output folder can be rerun.
                let abs = std::fs::canonicalize(&path).unwrap_or(path.clone());
                *t = abs.display().to_string();
                tapes.push((path.display().to_string(), text));
            }
            Err(e) => problems.push(scenario::Problem {
                origin: origin.clone(),
                path: format!("portfolio.tapes[{i}]"),
                line: None,
                message: format!("cannot read the loan tape `{}`: {e}", path.display()),
            }),
        }
    }
    if !problems.is_empty() {
        return Err(InputError { problems });
    }
    let model = Model::build(scen, &origin, &tapes)?;
    Ok(Loaded { source, model })
}
