//! Sharded runs merge to the bytes of a single run; partials that do not
//! belong together are refused and nothing is written.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_riskshare");
const TRIALS: &str = "301";
const FILES: [&str; 5] = ["trials.csv", "years.csv", "summary.json", "size_curve.csv", "scenario.resolved.yaml"];

fn riskshare(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN).args(args).current_dir(dir).output().unwrap()
}

fn shard(dir: &Path, extra: &[&str], i: usize, n: usize, out: &str) -> std::process::Child {
    let spec = format!("{i}/{n}");
    let mut args = vec!["run", "mini.yaml", "--trials", TRIALS, "--threads", "1", "--shard", &spec, "--out", out];
    args.extend_from_slice(extra);
    Command::new(BIN).args(&args).current_dir(dir).stdout(std::process::Stdio::null()).spawn().unwrap()
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mini =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/mini.yaml")).unwrap();
    std::fs::write(dir.path().join("mini.yaml"), &mini).unwrap();
    std::fs::write(dir.path().join("other.yaml"), mini.replace("count: 200", "count: 201")).unwrap();
    let o = riskshare(dir.path(), &["run", "mini.yaml", "--trials", TRIALS, "--out", "single"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    dir
}

#[test]
fn shards_merge_to_the_single_run_bytes() {
    let dir = setup();
    let d = dir.path();
    for n in [1usize, 2, 3, 7] {
        // Run the shards as separate processes, all at once.
        let children: Vec<_> = (0..n).map(|i| shard(d, &[], i, n, &format!("n{n}-p{i}"))).collect();
        for mut c in children {
            assert!(c.wait().unwrap().success());
        }
        let mut args = vec!["merge".to_string()];
        // Hand them over out of order: merge sorts by trial range.
        args.extend((0..n).rev().map(|i| format!("n{n}-p{i}")));
        args.extend(["--out".to_string(), format!("merged{n}")]);
        let o = Command::new(BIN).args(&args).current_dir(d).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        for f in FILES {
            let a = std::fs::read(d.join("single").join(f)).unwrap();
            let b = std::fs::read(d.join(format!("merged{n}")).join(f)).unwrap();
            assert!(a == b, "{f} differs after merging {n} shards");
        }
    }
}

#[test]
fn merge_refuses_partials_that_do_not_belong_together() {
    let dir = setup();
    let d = dir.path();
    for (i, extra, out) in [
        (0, vec![], "p0"),
        (1, vec![], "p1"),
        (2, vec![], "p2"),
        (1, vec!["--seed", "5"], "seed5"),
        (1, vec!["--set", "economy.rho=0.3"], "rho"),
    ] {
        assert!(shard(d, &extra, i, 3, out).wait().unwrap().success());
    }
    let o = riskshare(d, &["run", "other.yaml", "--trials", TRIALS, "--shard", "1/3", "--out", "other"]);
    assert!(o.status.success());
    // A partial in the format before the villages' needs became counts.
    std::fs::create_dir(d.join("old")).unwrap();
    for f in std::fs::read_dir(d.join("p1")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, d.join("old").join(f.file_name().unwrap())).unwrap();
    }
    let manifest = std::fs::read_to_string(d.join("old/manifest.json")).unwrap();
    assert!(manifest.contains("\"riskshare-partial-3\""), "{manifest}");
    std::fs::write(d.join("old/manifest.json"), manifest.replace("riskshare-partial-3", "riskshare-partial")).unwrap();
    // The format before the manifest recorded the files (a manifest of its fields only).
    std::fs::create_dir(d.join("old2")).unwrap();
    for f in std::fs::read_dir(d.join("p1")).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, d.join("old2").join(f.file_name().unwrap())).unwrap();
    }
    let mut m: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    m["kind"] = "riskshare-partial-2".into();
    m.as_object_mut().unwrap().remove("files");
    std::fs::write(d.join("old2/manifest.json"), serde_json::to_string_pretty(&m).unwrap()).unwrap();
    for (parts, expect) in [
        (vec!["p0", "p2"], "missing"),
        (vec!["p0", "p1", "p1", "p2"], "covered twice"),
        (vec!["p0", "seed5", "p2"], "seed"),
        (vec!["p0", "rho", "p2"], "another scenario"),
        (vec!["p0", "other", "p2"], "another scenario"),
        (vec!["p0", "single", "p2"], "not a riskshare shard"),
        (vec!["p0", "old", "p2"], "an earlier format"),
        (vec!["p0", "old2", "p2"], "an earlier format"),
    ] {
        let mut args = vec!["merge"];
        args.extend(&parts);
        args.extend(["--out", "bad"]);
        let o = riskshare(d, &args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{parts:?}: {err}");
        assert!(err.contains(expect), "{parts:?}: expected `{expect}` in {err}");
        assert!(!d.join("bad").exists(), "{parts:?}: a failed merge wrote output");
    }
}
