//! Sharded runs merge to the bytes of a single run; partials that do not
//! belong together, or whose files were changed, are refused and nothing is
//! written.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_riskshare");
const TRIALS: &str = "301";
const FILES: [&str; 6] =
    ["trials.csv", "years.csv", "summary.json", "size_curve.csv", "scenario.resolved.yaml", "results.xlsx"];

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

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Edits a partial's manifest.
fn edit_manifest(part: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let p = part.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    edit(&mut m);
    std::fs::write(&p, serde_json::to_string_pretty(&m).unwrap() + "\n").unwrap();
}

/// Records a partial's file, as it now is, in its manifest: what someone
/// covering an edit would do.
fn rehash(part: &Path, file: &str) {
    let sha = sha256(&std::fs::read(part.join(file)).unwrap());
    edit_manifest(part, |m| m["files"][file]["sha256"] = sha.into());
}

/// Rewrites one line (1-based) of a file.
fn edit_line(path: &Path, line: usize, edit: impl FnOnce(&str) -> Option<String>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    match edit(&lines[line - 1]) {
        Some(l) => lines[line - 1] = l,
        None => {
            lines.remove(line - 1);
        }
    }
    std::fs::write(path, lines.join("\n") + "\n").unwrap();
}

/// Replaces the cell of `column` on a line (1-based) of a table.
fn edit_cell(path: &Path, line: usize, column: &str, value: &str) {
    let text = std::fs::read_to_string(path).unwrap();
    let at = text.lines().next().unwrap().split(',').position(|c| c == column).unwrap();
    edit_line(path, line, |l| {
        let mut cells: Vec<&str> = l.split(',').collect();
        assert_ne!(cells[at], value);
        cells[at] = value;
        Some(cells.join(","))
    });
}

fn swap(a: &Path, b: &Path) {
    let (x, y) = (std::fs::read(a).unwrap(), std::fs::read(b).unwrap());
    std::fs::write(a, y).unwrap();
    std::fs::write(b, x).unwrap();
}

/// Three shards of the run in `p0`, `p1`, `p2` (trials 0..100, 100..200, 200..301).
fn shards(d: &Path) {
    let children: Vec<_> = (0..3).map(|i| shard(d, &[], i, 3, &format!("p{i}"))).collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in std::fs::read_dir(from).unwrap() {
        let f = f.unwrap().path();
        std::fs::copy(&f, to.join(f.file_name().unwrap())).unwrap();
    }
}

#[test]
fn merge_refuses_partials_whose_files_were_changed() {
    let dir = setup();
    let d = dir.path();
    shards(d);
    type Tamper = fn(&Path);
    let cases: [(&str, Tamper, &str); 10] = [
        (
            "row deleted",
            |c| edit_line(&c.join("p1/trials.csv"), 5, |_| None),
            "p1/trials.csv: 99 rows, but there must be 100",
        ),
        (
            "money cell edited",
            |c| edit_cell(&c.join("p1/trials.csv"), 7, "comp_fund", "1.23"),
            "p1/trials.csv: line 7 (trial 105): `comp_fund` is 1.23 here",
        ),
        (
            "money cell edited, its manifest hash updated",
            |c| {
                edit_cell(&c.join("p1/trials.csv"), 7, "comp_fund", "1.23");
                rehash(&c.join("p1"), "trials.csv");
            },
            "p1/trials.csv: line 7 (trial 105): `comp_fund` is 1.23 here",
        ),
        (
            "another partial's trials.csv",
            |c| {
                std::fs::copy(c.join("p0/trials.csv"), c.join("p1/trials.csv")).unwrap();
                rehash(&c.join("p1"), "trials.csv");
            },
            "p1/trials.csv: line 2 is trial `0`, expected trial 100",
        ),
        (
            "state.json swapped",
            |c| swap(&c.join("p0/state.json"), &c.join("p1/state.json")),
            "p1/trials.csv: line 2 (trial 100): `trial` is 100 here, but 0 in state.json",
        ),
        (
            "state.json edited, its manifest hash updated",
            |c| {
                let p = c.join("p1/state.json");
                let mut s: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
                let cell = &mut s["trials"][3]["flows"]["exposure"];
                *cell = (cell.as_i64().unwrap() + 100).into();
                std::fs::write(&p, serde_json::to_string(&s).unwrap()).unwrap();
                rehash(&c.join("p1"), "state.json");
            },
            "p1/trials.csv: line 5 (trial 103): `exposure` is",
        ),
        (
            "years.csv cell edited, its manifest hash updated",
            |c| {
                edit_cell(&c.join("p1/years.csv"), 3, "bank_loss", "123456789.00");
                rehash(&c.join("p1"), "years.csv");
            },
            "p1/years.csv: lines 2-4 (trial 100): `bank_loss` adds up to",
        ),
        (
            "years.csv cut mid-row",
            |c| {
                let p = c.join("p2/years.csv");
                let len = std::fs::metadata(&p).unwrap().len();
                std::fs::OpenOptions::new().write(true).open(&p).unwrap().set_len(len - 10).unwrap();
            },
            "p2/years.csv: line 304 has no newline at its end",
        ),
        (
            "manifest hash edited",
            |c| edit_manifest(&c.join("p2"), |m| m["files"]["trials.csv"]["sha256"] = "0".repeat(64).into()),
            "but manifest.json records 0000000000000000000000000000000000000000000000000000000000000000",
        ),
        (
            "manifest row count edited",
            |c| edit_manifest(&c.join("p0"), |m| m["files"]["years.csv"]["rows"] = 299.into()),
            "p0/years.csv: 300 rows, but manifest.json records 299",
        ),
    ];
    for (k, (what, tamper, expect)) in cases.into_iter().enumerate() {
        let case = format!("case{k}");
        for i in 0..3 {
            copy_dir(&d.join(format!("p{i}")), &d.join(&case).join(format!("p{i}")));
        }
        tamper(&d.join(&case));
        let out = format!("{case}/merged");
        let o = riskshare(
            d,
            &["merge", &format!("{case}/p0"), &format!("{case}/p1"), &format!("{case}/p2"), "--out", &out],
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{what}: {err}");
        assert!(err.contains(expect), "{what}: expected `{expect}` in {err}");
        // Nothing written: not the output, nor a staging folder beside it.
        let mut left: Vec<String> =
            std::fs::read_dir(d.join(&case)).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        left.sort();
        assert_eq!(left, ["p0", "p1", "p2"], "{what}: a refused merge wrote output");
    }
    // The partials themselves still merge.
    let o = riskshare(d, &["merge", "p0", "p1", "p2", "--out", "merged", "--no-charts"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn merge_refuses_to_write_into_a_partial() {
    let dir = setup();
    let d = dir.path();
    shards(d);
    std::fs::create_dir(d.join("runs")).unwrap();
    copy_dir(&d.join("p2"), &d.join("runs/p2"));
    let read_all = |p: &Path| -> Vec<(std::ffi::OsString, Vec<u8>)> {
        let mut v: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| (e.file_name(), std::fs::read(e.path()).unwrap()))
            .collect();
        v.sort();
        v
    };
    let before = [read_all(&d.join("p0")), read_all(&d.join("p1")), read_all(&d.join("runs/p2"))];
    for (out, expect) in [
        ("p1", "is the partial result p1"),
        ("./p1/../p1", "is the partial result p1"),
        ("p0/merged", "is inside the partial result p0"),
        ("nowhere/../p1/merged", "is inside the partial result p1"),
        ("runs", "holds the partial result runs/p2"),
    ] {
        let o = riskshare(d, &["merge", "p0", "p1", "runs/p2", "--out", out, "--no-charts"]);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "--out {out}: {err}");
        assert!(err.contains(expect), "--out {out}: expected `{expect}` in {err}");
        assert_eq!(
            before,
            [read_all(&d.join("p0")), read_all(&d.join("p1")), read_all(&d.join("runs/p2"))],
            "--out {out}"
        );
        assert!(!d.join("nowhere").exists(), "--out {out}: a folder was created");
    }
    // Through a symbolic link to a partial.
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("p1", d.join("link")).unwrap();
        let o = riskshare(d, &["merge", "p0", "p1", "runs/p2", "--out", "link", "--no-charts"]);
        assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(before[1], read_all(&d.join("p1")));
    }
}
