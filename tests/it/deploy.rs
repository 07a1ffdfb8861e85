//! The container image builds from the files its Dockerfile copies: every
//! file the build reads (the targets Cargo.toml names, the files the source
//! embeds) lies under a path the build stage copies. A `[[bench]]` target
//! whose folder is not copied fails the image's `cargo build` at the
//! manifest, before anything compiles.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The top-level entry of a path inside the repository.
fn top(p: &Path) -> String {
    let mut normal = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                normal.pop();
            }
            Component::Normal(x) => normal.push(x),
            _ => {}
        }
    }
    normal.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned()).unwrap_or_default()
}

/// What the first stage (`FROM ... AS build`) copies from the context.
fn copied(dockerfile: &str) -> BTreeSet<String> {
    let mut stage = 0;
    let mut set = BTreeSet::new();
    for line in dockerfile.lines().map(str::trim) {
        if line.starts_with("FROM ") {
            stage += 1;
        } else if stage == 1 && line.starts_with("COPY ") && !line.contains("--from") {
            let args: Vec<&str> = line.split_whitespace().skip(1).collect();
            set.extend(args[..args.len() - 1].iter().map(|a| top(Path::new(a))));
        }
    }
    set
}

/// Every top-level entry the build reads: the manifest and lock file, each
/// target's source (as Cargo.toml names it or finds it by convention) and
/// each file `include_str!`/`include_bytes!` embeds.
fn read_by_build() -> BTreeSet<String> {
    let manifest = std::fs::read_to_string(root().join("Cargo.toml")).unwrap();
    let mut need: BTreeSet<String> = ["Cargo.toml", "Cargo.lock", "src"].map(String::from).into();
    let mut section = String::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_string();
        } else if let Some(v) = line.strip_prefix("name = ").filter(|_| section == "[[bench]]") {
            need.insert(top(&Path::new("benches").join(format!("{}.rs", v.trim_matches('"')))));
        } else if let Some(v) = line.strip_prefix("path = ").filter(|_| section.starts_with("[[") || section == "[lib]")
        {
            need.insert(top(Path::new(v.trim_matches('"'))));
        }
    }
    let mut stack = vec![root().join("src")];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            for m in ["include_str!(\"", "include_bytes!(\""] {
                for (i, _) in text.match_indices(m) {
                    let rest = &text[i + m.len()..];
                    let rel = &rest[..rest.find('"').unwrap()];
                    let file = p.parent().unwrap().join(rel);
                    need.insert(top(file.strip_prefix(root()).unwrap()));
                }
            }
        }
    }
    need
}

#[test]
fn the_dockerfile_copies_everything_the_build_reads() {
    let dockerfile = std::fs::read_to_string(root().join("deploy/Dockerfile")).unwrap();
    let copied = copied(&dockerfile);
    let need = read_by_build();
    // The set is not trivially small: the bench targets and embedded files are in it.
    for expected in ["benches", "assets", "scenarios"] {
        assert!(need.contains(expected), "the build reads {expected}/, but the scan did not find it: {need:?}");
    }
    let missing: Vec<_> = need.difference(&copied).collect();
    assert!(missing.is_empty(), "deploy/Dockerfile's build stage does not copy {missing:?} (copies {copied:?})");
}
