//! Writing outputs (an edge of the library). A run's files are written into a
//! staging folder beside the destination and moved into place only when all
//! of them are complete: an output is there whole or not at all.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A staging folder that becomes `dest` on [`Staged::commit`] and vanishes if dropped first.
pub struct Staged {
    dest: PathBuf,
    dir: PathBuf,
    committed: bool,
}

impl Staged {
    pub fn new(dest: &Path) -> io::Result<Staged> {
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent)?;
        let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "out".into());
        // Unique per process and moment: container PIDs repeat, and two runs of the
        // same shard must not share a staging folder.
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        let dir = parent.join(format!(".{name}.partial-{}-{nanos}", std::process::id()));
        if dir.exists() {
            fs::remove_dir_all(&dir)?;
        }
        fs::create_dir_all(&dir)?;
        Ok(Staged { dest: dest.to_path_buf(), dir, committed: false })
    }

    /// The staging folder itself.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Path of a file inside the staging folder.
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    pub fn write(&self, file: &str, bytes: &[u8]) -> io::Result<()> {
        let mut f = io::BufWriter::new(fs::File::create(self.path(file))?);
        f.write_all(bytes)?;
        f.flush()
    }

    /// Moves the staging folder into place, replacing an earlier output.
    pub fn commit(mut self) -> io::Result<PathBuf> {
        let old = self.dir.with_file_name(format!(
            ".{}.old-{}",
            self.dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            std::process::id()
        ));
        let had_old = self.dest.exists();
        if had_old {
            fs::rename(&self.dest, &old)?;
        }
        if let Err(e) = fs::rename(&self.dir, &self.dest) {
            if had_old {
                let _ = fs::rename(&old, &self.dest);
            }
            return Err(e);
        }
        self.committed = true;
        if had_old {
            let _ = fs::remove_dir_all(&old);
        }
        Ok(self.dest.clone())
    }
}

impl Drop for Staged {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
