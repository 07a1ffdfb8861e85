//! Writing outputs (an edge of the library), under one contract that cannot
//! lose a user's data (`docs/reliability.md`):
//!
//! 1. riskshare writes into a folder only if it is new, empty, or holds an
//!    earlier riskshare output; a folder holding anything else is refused.
//!    An earlier output is replaced only when the caller says so (`--force`),
//!    and even then only the files that riskshare wrote there are touched:
//!    a file the user added beside them stays.
//! 2. An output is recognised by its marker, [`MARKER`], which lists the files
//!    riskshare wrote (folders written before the marker existed are
//!    recognised when every entry is a name riskshare writes).
//! 3. Files are written into a staging folder *inside* the destination and
//!    moved into place file by file when all are complete, so the final move
//!    never crosses a file system and works on `.`, `..` or a mount point.
//!    The marker says `complete: false` while files move, so an interruption
//!    there leaves a folder that riskshare still recognises and readers
//!    refuse as incomplete.
//! 4. Staging folders are registered while they live: [`remove_all_staging`]
//!    (called by the command on Ctrl-C or SIGTERM) removes them, and the
//!    staging of a process that died without cleaning up (SIGKILL, power
//!    loss) is swept the next time an output is written to the same place.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// The file that marks a folder as riskshare's output and lists its files.
pub const MARKER: &str = ".riskshare-output.json";
/// The marker's format.
const MARKER_FORMAT: &str = "riskshare-output-1";
/// Prefix of the staging folders inside a destination.
const STAGING: &str = ".riskshare-staging-";

/// Names of the files riskshare writes, to recognise an output written
/// before outputs carried a marker.
const KNOWN_FILES: &[&str] = &[
    "trials.csv",
    "years.csv",
    "trials.parquet",
    "years.parquet",
    "accounts.parquet",
    "size_curve.parquet",
    "comparison.parquet",
    "sweep.parquet",
    "summary.json",
    "scenario.resolved.yaml",
    "size.json",
    "size_curve.csv",
    "report.html",
    "manifest.json",
    "state.json",
    "comparison.json",
    "comparison.csv",
    "comparison.svg",
    "sweep.csv",
    "sweep.json",
    "sweep_heatmap.svg",
    "stress.json",
    "results.xlsx",
    "convergence.png",
    "convergence.svg",
    "exceedance.png",
    "exceedance.svg",
    "fund_balance.png",
    "fund_balance.svg",
    "loss_distribution.png",
    "loss_distribution.svg",
    "sizing.png",
    "sizing.svg",
    "waterfall.png",
    "waterfall.svg",
];

/// Why an output could not be written: the destination the user named
/// (exit 2), or the environment (exit 1; the path is named).
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The destination is not one riskshare may write to; the message says what to do.
    #[error("{0}")]
    Refused(String),
    #[error("cannot write {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

impl OutputError {
    fn io(path: &Path, source: io::Error) -> Self {
        OutputError::Io { path: path.to_path_buf(), source }
    }
}

/// The marker's content.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Marker {
    pub format: String,
    /// The command that wrote the output (`run`, `merge`, `compare` ...).
    pub command: String,
    pub engine_version: String,
    /// False while files are being moved into place.
    pub complete: bool,
    /// The files riskshare wrote, by name, sorted.
    pub files: Vec<String>,
}

/// What a destination folder holds.
#[derive(Debug)]
enum Holds {
    Nothing,
    /// An earlier riskshare output; its files.
    Output {
        files: Vec<String>,
        complete: bool,
        command: String,
    },
    /// Entries riskshare did not write (up to a few names, for the message).
    Foreign(Vec<String>),
}

/// A staging folder inside its destination: files written with
/// [`Staged::write`] or into [`Staged::path`] become the destination's on
/// [`Staged::commit`]; dropped before that, it leaves the destination as it was.
pub struct Staged {
    dest: PathBuf,
    dir: PathBuf,
    command: String,
    /// The destination did not exist: remove it again if nothing is committed.
    created: bool,
    /// Keep the destination's other riskshare files (`report` adds charts to a run).
    update: bool,
    committed: bool,
}

/// Staging folders alive in this process, for [`remove_all_staging`].
static LIVE: Mutex<Vec<(PathBuf, Option<PathBuf>)>> = Mutex::new(Vec::new());

fn live() -> std::sync::MutexGuard<'static, Vec<(PathBuf, Option<PathBuf>)>> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// Removes every staging folder of this process (and a destination folder
/// it created, if still empty). Called on Ctrl-C or SIGTERM before exiting;
/// it holds the registry's lock, so a commit in progress finishes first and
/// no commit starts after it.
pub fn remove_all_staging() {
    let mut l = live();
    for (dir, created) in l.drain(..) {
        remove_staging(&dir, created.as_deref());
    }
    // Keep the lock held: the process exits next.
    std::mem::forget(l);
}

fn remove_staging(dir: &Path, created: Option<&Path>) {
    // Worker threads may still be creating files in it: try a few times.
    for _ in 0..5 {
        if fs::remove_dir_all(dir).is_ok() || !dir.exists() {
            break;
        }
    }
    if let Some(d) = created {
        let _ = fs::remove_dir(d); // only if empty
    }
}

impl Staged {
    /// Stages a new output for `dest`, written by `command`. Refuses a
    /// destination holding anything but an earlier riskshare output, and an
    /// earlier output unless `force`.
    pub fn new(dest: &Path, command: &str, force: bool) -> Result<Staged, OutputError> {
        Self::open(dest, command, force, false)
    }

    /// Stages files to add to (or replace in) a complete earlier output
    /// (`report` redrawing a run's charts); the output's other files stay.
    pub fn update(dest: &Path, command: &str) -> Result<Staged, OutputError> {
        Self::open(dest, command, true, true)
    }

    fn open(dest: &Path, command: &str, force: bool, update: bool) -> Result<Staged, OutputError> {
        let shown = dest.display();
        let mut command = command.to_string();
        sweep_stale(dest);
        let created = match fs::metadata(dest) {
            Ok(md) if !md.is_dir() => {
                return Err(OutputError::Refused(format!(
                    "`{shown}` is a file; the output is a folder: choose another --out"
                )));
            }
            Ok(_) => {
                match holds(dest)? {
                    Holds::Foreign(names) => {
                        return Err(OutputError::Refused(format!(
                            "`{shown}` holds files that riskshare did not write ({}): riskshare writes only into \
                             a new or empty folder, or over its own earlier output; choose another --out \
                             (e.g. {})",
                            names.join(", "),
                            dest.join("riskshare-output").display()
                        )));
                    }
                    Holds::Nothing if update => {
                        return Err(OutputError::Refused(format!(
                            "`{shown}` is empty: not a finished riskshare output"
                        )));
                    }
                    Holds::Output { complete: false, .. } if update => {
                        return Err(OutputError::Refused(format!(
                            "`{shown}` is an incomplete riskshare output (it was interrupted while being written): \
                             run it again"
                        )));
                    }
                    // An update keeps the name of the command that wrote the output.
                    Holds::Output { command: c, .. } if update => command = c,
                    Holds::Output { command: c, .. } if !force => {
                        return Err(OutputError::Refused(format!(
                            "`{shown}` holds an earlier riskshare output (of `{c}`): pass --force to replace it, \
                             or choose another --out"
                        )));
                    }
                    _ => {}
                }
                false
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if update {
                    return Err(OutputError::Refused(format!("`{shown}` does not exist")));
                }
                fs::create_dir_all(dest).map_err(|e| OutputError::io(dest, e))?;
                true
            }
            Err(e) => return Err(OutputError::io(dest, e)),
        };
        // Unique per process and moment: container PIDs repeat, and two runs
        // into the same place must not share a staging folder.
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let dir = dest.join(format!("{STAGING}{}-{nanos}", std::process::id()));
        let mut l = live();
        if let Err(e) = fs::create_dir(&dir) {
            if created {
                let _ = fs::remove_dir(dest);
            }
            return Err(OutputError::io(&dir, e));
        }
        l.push((dir.clone(), created.then(|| dest.to_path_buf())));
        Ok(Staged { dest: dest.to_path_buf(), dir, command, created, update, committed: false })
    }

    /// The staging folder itself.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The destination folder.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Path of a file inside the staging folder.
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Writes a whole file into the staging folder; an error names the
    /// file by its final path.
    pub fn write(&self, file: &str, bytes: &[u8]) -> Result<(), OutputError> {
        let res = (|| {
            let mut f = io::BufWriter::new(fs::File::create(self.path(file))?);
            f.write_all(bytes)?;
            f.flush()?;
            Ok(())
        })();
        res.map_err(|e| OutputError::io(&self.dest.join(file), e))
    }

    /// Moves the staged files into the destination, replacing the earlier
    /// output's files of the same names and removing its others (unless
    /// updating). Files riskshare did not write are never touched.
    pub fn commit(mut self) -> Result<PathBuf, OutputError> {
        // Holding the registry's lock: a signal's cleanup waits for the move.
        let l = live();
        let mut new: Vec<String> = Vec::new();
        for e in fs::read_dir(&self.dir).map_err(|e| OutputError::io(&self.dir, e))? {
            let e = e.map_err(|e| OutputError::io(&self.dir, e))?;
            new.push(e.file_name().to_string_lossy().into_owned());
        }
        new.sort();
        let (old, _) = match holds(&self.dest)? {
            Holds::Output { files, complete, .. } => (files, complete),
            Holds::Nothing => (Vec::new(), true),
            Holds::Foreign(names) => {
                return Err(OutputError::Refused(format!(
                    "`{}` was given files riskshare did not write ({}) while it ran; the output was not written",
                    self.dest.display(),
                    names.join(", ")
                )));
            }
        };
        // A user's file that appeared under one of our names is not ours to replace.
        if let Some(clash) = new.iter().find(|n| !old.contains(n) && self.dest.join(n).exists()) {
            return Err(OutputError::Refused(format!(
                "`{}` already holds a `{clash}` that riskshare did not write; the output was not written",
                self.dest.display()
            )));
        }
        let mut all: Vec<String> = old.iter().chain(&new).cloned().collect();
        all.sort();
        all.dedup();
        self.write_marker(&all, false)?;
        if !self.update {
            for f in old.iter().filter(|f| !new.contains(f)) {
                let p = self.dest.join(f);
                match fs::remove_file(&p) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(OutputError::io(&p, e)),
                    _ => {}
                }
            }
        }
        for f in &new {
            let to = self.dest.join(f);
            fs::rename(self.dir.join(f), &to).map_err(|e| OutputError::io(&to, e))?;
        }
        let kept = if self.update { all } else { new };
        self.write_marker(&kept, true)?;
        self.committed = true;
        let _ = fs::remove_dir(&self.dir);
        forget(l, &self.dir);
        Ok(self.dest.clone())
    }

    /// Writes the marker whole, by a rename within the destination.
    fn write_marker(&self, files: &[String], complete: bool) -> Result<(), OutputError> {
        let m = Marker {
            format: MARKER_FORMAT.into(),
            command: self.command.clone(),
            engine_version: crate::ENGINE_VERSION.into(),
            complete,
            files: files.to_vec(),
        };
        let tmp = self.dest.join(format!("{STAGING}{}-marker", std::process::id()));
        let to = self.dest.join(MARKER);
        let text = serde_json::to_string_pretty(&m).unwrap_or_default() + "\n";
        fs::write(&tmp, text).map_err(|e| OutputError::io(&to, e))?;
        fs::rename(&tmp, &to).map_err(|e| OutputError::io(&to, e))
    }
}

fn forget(mut l: std::sync::MutexGuard<'_, Vec<(PathBuf, Option<PathBuf>)>>, dir: &Path) {
    l.retain(|(d, _)| d != dir);
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let mut l = live();
            remove_staging(&self.dir, self.created.then_some(self.dest.as_path()));
            l.retain(|(d, _)| d != &self.dir);
        }
    }
}

/// Reads a folder's marker, if it has one.
pub fn marker(dir: &Path) -> Option<Marker> {
    let text = fs::read_to_string(dir.join(MARKER)).ok()?;
    serde_json::from_str(&text).ok().filter(|m: &Marker| m.format == MARKER_FORMAT)
}

/// Checks that `dir` is a complete riskshare output, for the commands that
/// read one (`report`, `merge`); the message says what is wrong.
pub fn check_complete(dir: &Path) -> Result<(), String> {
    match fs::metadata(dir) {
        Err(e) => return Err(format!("`{}`: {e}", dir.display())),
        Ok(md) if !md.is_dir() => return Err(format!("`{}` is a file, not an output folder", dir.display())),
        Ok(_) => {}
    }
    match holds(dir) {
        Ok(Holds::Output { complete: true, .. }) => Ok(()),
        Ok(Holds::Output { complete: false, .. }) => Err(format!(
            "`{}` is an incomplete riskshare output (interrupted while being written): run it again",
            dir.display()
        )),
        Ok(_) => Err(format!("`{}` is not a riskshare output", dir.display())),
        Err(e) => Err(e.to_string()),
    }
}

/// What `dir` (an existing folder) holds. Staging folders are not counted.
fn holds(dir: &Path) -> Result<Holds, OutputError> {
    if let Some(m) = marker(dir) {
        return Ok(Holds::Output { files: m.files, complete: m.complete, command: m.command });
    }
    let mut names = Vec::new();
    let mut foreign = Vec::new();
    for e in fs::read_dir(dir).map_err(|e| OutputError::io(dir, e))? {
        let e = e.map_err(|e| OutputError::io(dir, e))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(STAGING) {
            continue;
        }
        let is_file = e.file_type().is_ok_and(|t| t.is_file());
        if is_file && KNOWN_FILES.contains(&name.as_str()) {
            names.push(name);
        } else {
            foreign.push(if is_file { name } else { format!("{name}/") });
        }
    }
    if !foreign.is_empty() {
        foreign.sort();
        let more = foreign.len() > 3;
        foreign.truncate(3);
        if more {
            foreign.push("...".into());
        }
        return Ok(Holds::Foreign(foreign));
    }
    if names.is_empty() {
        return Ok(Holds::Nothing);
    }
    names.sort();
    // An output from before the marker: a run's folder holds its summary.
    let command = if names.iter().any(|n| n == "manifest.json") { "run --shard" } else { "riskshare" };
    Ok(Holds::Output { files: names, complete: true, command: command.into() })
}

/// Removes the staging folders in `dest` left by processes that are gone,
/// and those an earlier riskshare left beside it (`.NAME.partial-PID-N`).
fn sweep_stale(dest: &Path) {
    let sweep_in = |dir: &Path, prefix: &str| {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Some(rest) = name.strip_prefix(prefix) else { continue };
            let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
            if pid.is_some_and(|p| p != std::process::id() && is_gone(p, &e.path())) {
                let p = e.path();
                let _ = if p.is_dir() { fs::remove_dir_all(&p) } else { fs::remove_file(&p) };
            }
        }
    };
    sweep_in(dest, STAGING);
    if let (Some(parent), Some(name)) = (dest.parent(), dest.file_name()) {
        let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
        let name = name.to_string_lossy();
        sweep_in(parent, &format!(".{name}.partial-"));
        sweep_in(parent, &format!(".{name}.old-"));
    }
}

/// Whether the process that made `path` is gone: by `/proc` where there is
/// one, else by the path's age (a day).
fn is_gone(pid: u32, path: &Path) -> bool {
    let proc = Path::new("/proc");
    if proc.join("self").exists() {
        return !proc.join(pid.to_string()).exists();
    }
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() > 24 * 3600)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn a_new_folder_is_written_whole_and_marked() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("out");
        let s = Staged::new(&dest, "run", false).unwrap();
        s.write("summary.json", b"{}").unwrap();
        s.commit().unwrap();
        assert_eq!(files(&dest), vec![MARKER.to_string(), "summary.json".into()]);
        let m = marker(&dest).unwrap();
        assert!(m.complete);
        assert_eq!(m.files, vec!["summary.json".to_string()]);
        assert!(check_complete(&dest).is_ok());
    }

    #[test]
    fn a_dropped_output_leaves_nothing() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path().join("out");
        {
            let s = Staged::new(&dest, "run", false).unwrap();
            s.write("summary.json", b"{}").unwrap();
        }
        assert!(!dest.exists(), "the folder it created is removed");
        fs::create_dir(&dest).unwrap();
        fs::write(dest.join("summary.json"), b"old").unwrap();
        {
            let s = Staged::new(&dest, "run", true).unwrap();
            s.write("summary.json", b"new").unwrap();
        }
        assert_eq!(files(&dest), vec!["summary.json".to_string()]);
        assert_eq!(fs::read(dest.join("summary.json")).unwrap(), b"old");
    }

    #[test]
    fn foreign_files_are_refused_and_kept() {
        let t = tempfile::tempdir().unwrap();
        fs::create_dir(t.path().join("sub")).unwrap();
        fs::write(t.path().join("thesis.docx"), b"precious").unwrap();
        let e = Staged::new(t.path(), "run", true).err().unwrap();
        assert!(matches!(e, OutputError::Refused(ref m) if m.contains("thesis.docx") && m.contains("sub/")), "{e}");
        assert_eq!(files(t.path()), vec!["sub".to_string(), "thesis.docx".into()]);
    }

    #[test]
    fn an_earlier_output_needs_force_and_only_its_files_are_replaced() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path();
        let s = Staged::new(dest, "run", false).unwrap();
        s.write("summary.json", b"1").unwrap();
        s.write("report.html", b"1").unwrap();
        s.commit().unwrap();
        // The user adds a note beside the output.
        fs::write(dest.join("notes.txt"), b"mine").unwrap();
        let e = Staged::new(dest, "run", false).err().unwrap();
        assert!(matches!(e, OutputError::Refused(ref m) if m.contains("--force")), "{e}");
        let s = Staged::new(dest, "run", true).unwrap();
        s.write("summary.json", b"2").unwrap();
        s.commit().unwrap();
        assert_eq!(files(dest), vec![MARKER.to_string(), "notes.txt".into(), "summary.json".into()]);
        assert_eq!(fs::read(dest.join("summary.json")).unwrap(), b"2");
        assert_eq!(fs::read(dest.join("notes.txt")).unwrap(), b"mine");
    }

    #[test]
    fn a_user_file_under_an_output_name_is_not_replaced() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path();
        let s = Staged::new(dest, "run", false).unwrap();
        s.write("summary.json", b"1").unwrap();
        s.commit().unwrap();
        fs::write(dest.join("report.html"), b"the user's").unwrap();
        let s = Staged::new(dest, "run", true).unwrap();
        s.write("summary.json", b"2").unwrap();
        s.write("report.html", b"ours").unwrap();
        assert!(matches!(s.commit(), Err(OutputError::Refused(_))));
        assert_eq!(fs::read(dest.join("report.html")).unwrap(), b"the user's");
        assert_eq!(fs::read(dest.join("summary.json")).unwrap(), b"1");
    }

    #[test]
    fn an_update_adds_to_a_complete_output() {
        let t = tempfile::tempdir().unwrap();
        let dest = t.path();
        let s = Staged::new(dest, "run", false).unwrap();
        s.write("summary.json", b"1").unwrap();
        s.commit().unwrap();
        let s = Staged::update(dest, "report").unwrap();
        s.write("report.html", b"r").unwrap();
        s.commit().unwrap();
        assert_eq!(marker(dest).unwrap().files, vec!["report.html".to_string(), "summary.json".into()]);
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(Staged::update(empty.path(), "report"), Err(OutputError::Refused(_))));
    }

    #[test]
    fn stale_staging_of_a_dead_process_is_swept() {
        let t = tempfile::tempdir().unwrap();
        // PIDs above the kernel's maximum (4194304) are never alive.
        let stale = t.path().join(format!("{STAGING}4294967-1"));
        fs::create_dir(&stale).unwrap();
        fs::write(stale.join("trials.csv"), b"x").unwrap();
        let old = t.path().join(".out.partial-4294967-5");
        fs::create_dir(&old).unwrap();
        let s = Staged::new(&t.path().join("out"), "run", false).unwrap();
        drop(s);
        let s = Staged::new(t.path(), "run", false).unwrap();
        s.write("summary.json", b"{}").unwrap();
        s.commit().unwrap();
        assert!(!stale.exists() && !old.exists());
    }

    #[test]
    fn a_legacy_output_is_recognised_by_its_file_names() {
        let t = tempfile::tempdir().unwrap();
        fs::write(t.path().join("summary.json"), b"{}").unwrap();
        fs::write(t.path().join("trials.csv"), b"").unwrap();
        assert!(check_complete(t.path()).is_ok());
        assert!(matches!(Staged::new(t.path(), "run", false), Err(OutputError::Refused(_))));
        let s = Staged::new(t.path(), "run", true).unwrap();
        s.write("summary.json", b"new").unwrap();
        s.commit().unwrap();
        assert_eq!(files(t.path()), vec![MARKER.to_string(), "summary.json".into()]);
    }
}
