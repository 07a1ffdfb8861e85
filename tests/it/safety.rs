//! Safety with the user's files and honesty with bad input (docs/reliability.md):
//! a catalogue of bad inputs run through the binary, each asserting its exit
//! class, a message naming the place, and that nothing was written or
//! removed; mutations of the shipped scenarios and tape that must never
//! panic; and fault tests (interrupts, a killed process, a full disk).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_riskshare");

fn mini() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/scenarios/mini.yaml")).unwrap()
}

fn shipped(file: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios").join(file)).unwrap()
}

fn riskshare(args: &[&str], cwd: &Path) -> Output {
    Command::new(BIN).args(args).current_dir(cwd).output().expect("run riskshare")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

/// Every file under `dir` with its bytes (folders as empty entries ending in `/`).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut m = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(dir).unwrap().to_path_buf();
            if p.is_dir() {
                m.insert(rel.join(""), Vec::new());
                stack.push(p);
            } else {
                m.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    m
}

/// One bad input: the files of its folder, the arguments, the exit code and
/// fragments the message must hold.
struct Case {
    name: &'static str,
    files: Vec<(&'static str, Vec<u8>)>,
    args: Vec<String>,
    code: i32,
    expect: Vec<&'static str>,
}

fn case(name: &'static str, files: Vec<(&'static str, Vec<u8>)>, args: &str, expect: &[&'static str]) -> Case {
    Case { name, files, args: args.split_whitespace().map(String::from).collect(), code: 2, expect: expect.to_vec() }
}

/// The mini scenario with one edit, as `bad.yaml`.
fn edited(from: &str, to: &str) -> Vec<(&'static str, Vec<u8>)> {
    let m = mini();
    assert!(m.contains(from), "mini.yaml lacks `{from}`");
    vec![("bad.yaml", m.replacen(from, to, 1).into_bytes())]
}

fn file(name: &'static str, text: impl Into<Vec<u8>>) -> Vec<(&'static str, Vec<u8>)> {
    vec![(name, text.into())]
}

/// The shipped tape scenario with its tape, the tape edited.
fn tape_edited(edit: impl Fn(&str) -> String) -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("tape.yaml", shipped("tape_example.yaml").into_bytes()),
        ("sample_tape.csv", edit(&shipped("sample_tape.csv")).into_bytes()),
    ]
}

const RUN: &str = "run bad.yaml --trials 10 --no-charts --out out";

fn catalogue() -> Vec<Case> {
    let deep = format!("name: x\nbanks: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
    let laughs = {
        let mut s = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            s.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        s + "name: laughs\n"
    };
    let long_name = format!("name: {}\n", "x".repeat(300));
    vec![
        // The scenario file.
        case("empty file", file("bad.yaml", ""), RUN, &["bad.yaml", "empty"]),
        case("only comments", file("bad.yaml", "# nothing here\n\n"), RUN, &["bad.yaml", "empty"]),
        case("not YAML", file("bad.yaml", "name: [unclosed\nbanks: {\n"), RUN, &["bad.yaml"]),
        case("a list, not a mapping", file("bad.yaml", "- 1\n- 2\n"), RUN, &["bad.yaml"]),
        case("random bytes", file("bad.yaml", vec![0xff, 0xfe, 0x00, 0x81, 0x9f, 0x00]), RUN, &["bad.yaml"]),
        case("misspelt key", edited("seed: 7", "sede: 7"), RUN, &["bad.yaml:4", "did you mean `seed`"]),
        case("wrong type", edited("rho: 0.15", "rho: high"), RUN, &["bad.yaml", "economy.rho"]),
        case("correlation above one", edited("rho: 0.15", "rho: 2"), RUN, &["economy.rho"]),
        case("NaN correlation", edited("rho: 0.15", "rho: .nan"), RUN, &["economy.rho"]),
        case("pd of one", edited("pd: 0.01", "pd: 1"), RUN, &["grades[0].pd"]),
        case(
            "zero trials in the file",
            edited("trials: 200", "trials: 0"),
            "run bad.yaml --no-charts --out out",
            &["simulation.trials"],
        ),
        case(
            "a horizon of 1000 years",
            edited("horizon_years: 3", "horizon_years: 1000"),
            RUN,
            &["simulation.horizon_years"],
        ),
        case("unknown bank", edited("banks: {rcc: 1.0}", "banks: {rc: 1.0}"), RUN, &["did you mean `rcc`"]),
        case(
            "a principal of 9e16 yuan",
            edited("fixed: 30000", "fixed: 90000000000000000"),
            RUN,
            &["principal.fixed", "at most 100,000,000,000 yuan"],
        ),
        case(
            "a principal of 1e18 yuan",
            edited("fixed: 30000", "fixed: 1000000000000000000"),
            RUN,
            &["at most 100,000,000,000 yuan"],
        ),
        case("a book above the bound", edited("fixed: 30000", "fixed: 90000000000"), RUN, &["portfolio", "CNY 100"]),
        case("a negative principal", edited("fixed: 30000", "fixed: -30000"), RUN, &["bad.yaml"]),
        case("a sub-fen amount", edited("fixed: 30000", "fixed: 30000.001"), RUN, &["two decimals"]),
        case(
            "a deposit ratio of 1e-9",
            edited("deposit_ratio: 10", "deposit_ratio: 0.000000001"),
            RUN,
            &["funds.compensation.deposit_ratio"],
        ),
        case("a deposit ratio of zero", edited("deposit_ratio: 10", "deposit_ratio: 0"), RUN, &["deposit_ratio"]),
        case(
            "a cohort of three billion loans",
            edited("count: 2000\n", "count: 3000000000\n"),
            RUN,
            &["at most 10,000,000 loans"],
        ),
        case("a count past 32 bits", edited("count: 200", "count: 99999999999"), RUN, &["count"]),
        case(
            "two billion villages",
            edited("village_counts: {valley: 20", "village_counts: {valley: 2000000000"),
            RUN,
            &["at most 1,000,000 villages"],
        ),
        case("100,000-deep nesting", file("bad.yaml", deep.clone()), RUN, &["bad.yaml"]),
        case("an alias bomb", file("bad.yaml", laughs), RUN, &["bad.yaml"]),
        case("a 300-character name, no other keys", file("bad.yaml", long_name), RUN, &["bad.yaml"]),
        case("a missing scenario file", vec![], "run nosuch.yaml --no-charts --out out", &["nosuch.yaml"]),
        case("a folder as the scenario", vec![("dir/x", b"x".to_vec())], "run dir --no-charts --out out", &["dir"]),
        case(
            "a variant whose base is missing",
            file("bad.yaml", "base: nosuch.yaml\nname: v\n"),
            RUN,
            &["nosuch.yaml"],
        ),
        // --set.
        case(
            "--set out of range",
            file("mini.yaml", mini()),
            "run mini.yaml --set economy.rho=2 --trials 10 --no-charts --out out",
            &["--set", "economy.rho"],
        ),
        case(
            "--set of an unknown key",
            file("mini.yaml", mini()),
            "run mini.yaml --set economy.rh=0.2 --trials 10 --no-charts --out out",
            &["--set", "rh"],
        ),
        case(
            "--set without a value",
            file("mini.yaml", mini()),
            "run mini.yaml --set economy.rho --out out",
            &["KEY=VALUE"],
        ),
        case(
            "--set of an amount past the bound",
            file("mini.yaml", mini()),
            "run mini.yaml --set portfolio.cohorts.1.principal.fixed=1e17 --trials 10 --no-charts --out out",
            &["--set"],
        ),
        // Loan tapes.
        case(
            "a tape column misspelt",
            tape_edited(|t| t.replacen("principal,", "principle,", 1)),
            "run tape.yaml --trials 10 --no-charts --out out",
            &["sample_tape.csv:6", "principle"],
        ),
        case(
            "a tape cell that is no number",
            tape_edited(|t| t.replacen("40000,3,0.0435", "forty,3,0.0435", 1)),
            "run tape.yaml --trials 10 --no-charts --out out",
            &["sample_tape.csv:8", "principal"],
        ),
        case(
            "a tape principal of 9e16",
            tape_edited(|t| t.replacen("40000,3,0.0435", "90000000000000000,3,0.0435", 1)),
            "run tape.yaml --trials 10 --no-charts --out out",
            &["sample_tape.csv:8", "at most 100,000,000,000"],
        ),
        case(
            "an empty tape",
            tape_edited(|_| String::new()),
            "run tape.yaml --trials 10 --no-charts --out out",
            &["sample_tape.csv"],
        ),
        case(
            "a missing tape",
            file("tape.yaml", shipped("tape_example.yaml")),
            "run tape.yaml --trials 10 --no-charts --out out",
            &["sample_tape.csv"],
        ),
        // The command line.
        case("zero trials", vec![], "run --trials 0 --no-charts --out out", &["--trials"]),
        case("a trillion trials", vec![], "run --trials 1000000000000 --no-charts --out out", &["--trials"]),
        case("negative trials", vec![], "run --trials -5 --no-charts --out out", &["-5"]),
        case("zero threads", vec![], "run --threads 0 --no-charts --out out", &["--threads"]),
        case("100,000 threads", vec![], "run --threads 100000 --no-charts --out out", &["--threads"]),
        case("2^64-1 threads", vec![], "run --threads 18446744073709551615 --no-charts --out out", &["--threads"]),
        case("a shard out of range", vec![], "run --shard 3/3 --no-charts --out out", &["--shard"]),
        case("a precision of 2", vec![], "run --precision 2 --no-charts --out out", &["--precision"]),
        case("an unknown metric", vec![], "run --precision 0.1 --metric nosuch --no-charts --out out", &["--metric"]),
        case("a confidence of 1.5", vec![], "size --confidence 1.5 --no-charts --out out", &["--confidence"]),
        case("an unknown preset", vec![], "stress --preset nosuch --out out", &["--preset"]),
        case("a missing overlay", vec![], "stress --overlay nosuch.yaml --out out", &["nosuch.yaml"]),
        case(
            "an overlay of deep nesting",
            file("o.yaml", deep.clone()),
            "stress --overlay o.yaml --out out",
            &["o.yaml"],
        ),
        case(
            "compare with a missing file",
            file("mini.yaml", mini()),
            "compare mini.yaml nosuch.yaml --out out",
            &["nosuch.yaml"],
        ),
        case("sweep of an unknown key", vec![], "sweep --vary funds.nosuch=1,2 --trials 10 --out out", &["nosuch"]),
        // Output paths.
        case("--out names a file", file("out", "mine"), "run --trials 10 --no-charts --out out", &["out", "file"]),
        case(
            "--out names a folder of the user's",
            vec![("out/thesis.docx", b"precious".to_vec()), ("out/sub/data.csv", b"1,2".to_vec())],
            "run --trials 10 --no-charts --out out",
            &["thesis.docx", "did not write"],
        ),
        case(
            "--out . in a folder of the user's",
            file("notes.txt", "mine"),
            "run --trials 10 --no-charts --out .",
            &["notes.txt"],
        ),
        case(
            "--out .. above a folder of the user's",
            vec![("here/x", b"x".to_vec())],
            "run --trials 10 --no-charts --out ..",
            &["did not write"],
        ),
        // Folders to read.
        case("report on a folder of the user's", file("mine/a.txt", "x"), "report mine", &["mine"]),
        case("report on nothing", vec![], "report nosuch", &["nosuch"]),
        case("merge of a folder that is no shard", file("mine/a.txt", "x"), "merge mine --out out", &["mine"]),
    ]
}

#[test]
fn every_bad_input_is_refused_with_its_place_and_nothing_changes() {
    let mut failures = Vec::new();
    let cases = catalogue();
    assert!(cases.len() >= 40, "the catalogue holds {} cases", cases.len());
    for c in &cases {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in &c.files {
            let p = dir.path().join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, bytes).unwrap();
        }
        // `--out ..` is run from a folder inside the case's.
        let cwd = if c.args.iter().any(|a| a == "..") { dir.path().join("here") } else { dir.path().to_path_buf() };
        let before = snapshot(dir.path());
        let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
        let o = riskshare(&args, &cwd);
        let msg = text(&o);
        let after = snapshot(dir.path());
        let mut wrong = Vec::new();
        if o.status.code() != Some(c.code) {
            wrong.push(format!("exit {:?}, expected {}", o.status.code(), c.code));
        }
        if msg.contains("panicked") || msg.contains("RUST_BACKTRACE") {
            wrong.push("a panic".into());
        }
        for e in &c.expect {
            if !msg.contains(e) {
                wrong.push(format!("no `{e}` in the message"));
            }
        }
        if before != after {
            let added: Vec<_> = after.keys().filter(|k| !before.contains_key(*k)).collect();
            let gone: Vec<_> = before.keys().filter(|k| !after.contains_key(*k)).collect();
            wrong.push(format!("the folder changed: added {added:?}, removed or changed {gone:?}"));
        }
        if !wrong.is_empty() {
            failures.push(format!("{}: {}\n    {}", c.name, wrong.join("; "), msg.trim().replace('\n', "\n    ")));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn a_long_scenario_name_gives_a_folder_name_the_file_system_accepts() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("name={}", "长".repeat(200));
    let o = riskshare(&["run", "--set", &name, "--trials", "10", "--no-charts"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let made: Vec<_> = std::fs::read_dir(dir.path().join("output")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(made.len(), 1);
    assert!(made[0].len() <= 64, "{:?}", made[0]);
}

#[test]
fn an_earlier_output_is_replaced_only_with_force_and_the_users_notes_stay() {
    let dir = tempfile::tempdir().unwrap();
    let run = |seed: &str, force: bool| {
        let mut args = vec!["run", "--trials", "20", "--seed", seed, "--no-charts", "--out", "o"];
        if force {
            args.push("--force");
        }
        riskshare(&args, dir.path())
    };
    assert_eq!(run("1", false).status.code(), Some(0));
    std::fs::write(dir.path().join("o/notes.txt"), "mine").unwrap();
    let first = snapshot(dir.path());
    let o = run("2", false);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("--force"));
    assert_eq!(snapshot(dir.path()), first, "a refused run changed the folder");
    let o = run("2", true);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert_eq!(std::fs::read_to_string(dir.path().join("o/notes.txt")).unwrap(), "mine");
    assert_ne!(std::fs::read(dir.path().join("o/trials.csv")).unwrap(), first[Path::new("o/trials.csv")]);
}

/// Starts a long run into `out` (over an earlier output), waits until its
/// staging folder holds a table, and sends `signal`.
fn interrupt(signal: &str) -> (tempfile::TempDir, BTreeMap<PathBuf, Vec<u8>>, Output) {
    let dir = tempfile::tempdir().unwrap();
    let o = riskshare(&["run", "--trials", "30", "--no-charts", "--out", "out"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let before = snapshot(dir.path());
    let child = Command::new(BIN)
        .args(["run", "--trials", "5000000", "--no-charts", "--force", "--out", "out"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    let writing = || {
        std::fs::read_dir(dir.path().join("out")).unwrap().filter_map(|e| e.ok()).any(|e| {
            e.file_name().to_string_lossy().starts_with(".riskshare-staging-")
                && std::fs::metadata(e.path().join("trials.csv")).is_ok_and(|m| m.len() > 100_000)
        })
    };
    while !writing() {
        assert!(started.elapsed().as_secs() < 60, "the run never started writing");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let k = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(k.success());
    let out = child.wait_with_output().unwrap();
    (dir, before, out)
}

#[test]
fn an_interrupted_run_leaves_the_earlier_output_whole_and_no_staging() {
    for signal in ["-INT", "-TERM"] {
        let (dir, before, out) = interrupt(signal);
        assert_eq!(out.status.code(), Some(130), "{signal}: {}", text(&out));
        assert_eq!(snapshot(dir.path()), before, "{signal}: the folder changed");
    }
}

#[test]
fn a_killed_run_leaves_the_earlier_output_whole_and_its_staging_is_swept() {
    let (dir, before, out) = interrupt("-KILL");
    assert_eq!(out.status.code(), None, "killed by a signal");
    let after = snapshot(dir.path());
    let staging: Vec<_> =
        after.keys().filter(|k| k.to_string_lossy().contains(".riskshare-staging-")).cloned().collect();
    assert!(!staging.is_empty(), "SIGKILL cannot be cleaned up after");
    for (k, v) in &before {
        assert_eq!(after.get(k), Some(v), "{k:?} changed");
    }
    // The next command that writes there sweeps the dead process's staging.
    let o = riskshare(&["run", "--trials", "30", "--no-charts", "--force", "--out", "out"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(!snapshot(dir.path()).keys().any(|k| k.to_string_lossy().contains(".riskshare-staging-")));
}

/// A small tmpfs mounted at a fresh folder, where the suite runs as root
/// and may mount; `None` (with the reason printed) elsewhere.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = tempfile::tempdir().unwrap();
        let o = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        match o {
            Ok(o) if o.status.success() => Some(Tmpfs(dir)),
            Ok(o) => {
                eprintln!("skipped: cannot mount a tmpfs ({})", String::from_utf8_lossy(&o.stderr).trim());
                None
            }
            Err(e) => {
                eprintln!("skipped: cannot run mount ({e})");
                None
            }
        }
    }
    fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn a_full_disk_names_the_path_exits_1_and_keeps_the_earlier_output() {
    let Some(disk) = Tmpfs::mount("3m") else { return };
    let d = disk.path();
    let o = riskshare(&["run", "--trials", "50", "--out", "out"], d);
    assert_eq!(o.status.code(), Some(0), "a small run fits: {}", text(&o));
    let before = snapshot(d);
    // A run whose tables do not fit.
    let o = riskshare(&["run", "--trials", "100000", "--no-charts", "--force", "--out", "out"], d);
    let msg = text(&o);
    assert_eq!(o.status.code(), Some(1), "{msg}");
    assert!(msg.contains("out/trials.csv") && msg.contains("No space left"), "{msg}");
    assert_eq!(snapshot(d), before, "the earlier output changed");
    // A new folder on a full disk is not left behind either.
    let o = riskshare(&["run", "--trials", "100000", "--no-charts", "--out", "new"], d);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(!d.join("new").exists());
    // report redraws into staging: on a full disk the charts stay as they were.
    let filler = d.join("filler");
    let free = {
        let o = Command::new("df").args(["--output=avail", "-B1"]).arg(d).output().unwrap();
        String::from_utf8_lossy(&o.stdout).lines().nth(1).unwrap().trim().parse::<u64>().unwrap()
    };
    std::fs::write(&filler, vec![0u8; free.saturating_sub(64 * 1024) as usize]).ok();
    let before = snapshot(&d.join("out"));
    let o = riskshare(&["report", "out"], d);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(snapshot(&d.join("out")), before, "report changed the run folder");
}

mod mutations {
    //! Mutations of the shipped scenarios and tape (truncation, duplicated and
    //! dropped lines, extreme numbers, swapped types, random bytes): loading
    //! ends in a model or in problems, and a model simulates, never a panic.

    use super::*;
    use proptest::prelude::*;
    use riskshare::app::io::{self, Source};

    const EXTREMES: &[&str] = &[
        "0",
        "-1",
        "1e308",
        "-1e308",
        "9e18",
        "18446744073709551616",
        "2147483648",
        "4294967295",
        ".nan",
        ".inf",
        "-.inf",
        "1e-300",
        "\"abc\"",
        "[]",
        "{}",
        "null",
        "~",
        "[1, [2, {a: 3}]]",
        "*nosuch",
        "&a",
    ];

    #[derive(Clone, Debug)]
    enum Edit {
        Truncate(usize),
        DuplicateLine(usize),
        DropLine(usize),
        /// The n-th number token becomes an extreme value.
        Extreme(usize, usize),
        /// The n-th `key: value` gets a value of another type.
        SwapType(usize, usize),
        Bytes(usize, Vec<u8>),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        prop_oneof![
            any::<usize>().prop_map(Edit::Truncate),
            any::<usize>().prop_map(Edit::DuplicateLine),
            any::<usize>().prop_map(Edit::DropLine),
            (any::<usize>(), 0..EXTREMES.len()).prop_map(|(n, e)| Edit::Extreme(n, e)),
            (any::<usize>(), 0..EXTREMES.len()).prop_map(|(n, e)| Edit::SwapType(n, e)),
            (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8)).prop_map(|(n, b)| Edit::Bytes(n, b)),
        ]
    }

    fn apply(text: &[u8], e: &Edit) -> Vec<u8> {
        let s = String::from_utf8_lossy(text).into_owned();
        let lines: Vec<&str> = s.split_inclusive('\n').collect();
        match e {
            Edit::Truncate(n) => text[..n % (text.len() + 1)].to_vec(),
            Edit::DuplicateLine(n) => {
                let i = n % lines.len().max(1);
                let mut v: Vec<&str> = lines.clone();
                if let Some(l) = lines.get(i) {
                    v.insert(i, l);
                }
                v.concat().into_bytes()
            }
            Edit::DropLine(n) => {
                let mut v = lines.clone();
                if !v.is_empty() {
                    v.remove(n % lines.len());
                }
                v.concat().into_bytes()
            }
            Edit::Extreme(n, x) | Edit::SwapType(n, x) => {
                // Spans of number tokens, or of values after `: `.
                let spans: Vec<(usize, usize)> = if matches!(e, Edit::Extreme(..)) {
                    let b = s.as_bytes();
                    let mut v = Vec::new();
                    let mut i = 0;
                    while i < b.len() {
                        if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
                            let start = i;
                            while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'.') {
                                i += 1;
                            }
                            v.push((start, i));
                        }
                        i += 1;
                    }
                    v
                } else {
                    s.match_indices(": ")
                        .map(|(i, _)| {
                            let start = i + 2;
                            let end = s[start..].find([',', '}', '\n']).map_or(s.len(), |k| start + k);
                            (start, end)
                        })
                        .collect()
                };
                if spans.is_empty() {
                    return text.to_vec();
                }
                let (a, b) = spans[n % spans.len()];
                format!("{}{}{}", &s[..a], EXTREMES[*x], &s[b..]).into_bytes()
            }
            Edit::Bytes(n, bytes) => {
                let at = n % (text.len() + 1);
                [&text[..at], &bytes[..], &text[at..]].concat()
            }
        }
    }

    /// The shipped inputs small enough to load hundreds of times.
    fn inputs() -> Vec<(&'static str, Vec<u8>)> {
        ["wangcang.yaml", "tape_example.yaml", "sample_tape.csv", "wangcang-ratio-8.yaml", "wangcang-5221.yaml"]
            .into_iter()
            .map(|f| (f, shipped(f).into_bytes()))
            .chain(std::iter::once(("mini.yaml", mini().into_bytes())))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 160, failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn a_mutated_input_loads_or_is_refused_and_never_panics(
            which in 0usize..6,
            edits in proptest::collection::vec(edit(), 1..4),
        ) {
            let files = inputs();
            let dir = tempfile::tempdir().unwrap();
            for (name, bytes) in &files {
                std::fs::write(dir.path().join(name), bytes).unwrap();
            }
            let (name, original) = &files[which];
            let mutated = edits.iter().fold(original.clone(), |t, e| apply(&t, e));
            std::fs::write(dir.path().join(name), &mutated).unwrap();
            // The tape is loaded through the scenario that names it.
            let scenario = if *name == "sample_tape.csv" { "tape_example.yaml" } else { name };
            let path = dir.path().join(scenario);
            let loaded = std::panic::catch_unwind(|| io::load(Source::File(path.clone()), &[]));
            prop_assert!(loaded.is_ok(), "loading panicked on {edits:?}");
            if let Ok(Ok(l)) = loaded {
                let m = l.model;
                if m.loans.n <= 50_000 {
                    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        riskshare::app::runner::collect(&m, 1, 4, 1, &|_| {})
                    }));
                    prop_assert!(run.is_ok(), "simulating panicked on {edits:?}");
                }
            }
        }
    }
}
