//! The one way both binaries write a file: into a temporary file next to it, then renamed over it, so a reader sees
//! the old file or the whole new one and an error on the way leaves nothing behind.
//!
//! The temporary file is created in the target's own directory (a rename cannot cross file systems) with
//! `O_EXCL | O_NOFOLLOW` (never an existing file, never through a link), gets its mode with `fchmod` (exact, not
//! reduced by the umask), is synced before the rename, and the directory is synced after it. The rename replaces
//! whatever name was there, a symbolic link included, rather than following it. The directory is held as a
//! descriptor, which is what lets the agent write below a target root without walking a path twice.
//!
//! The syncs make the file survive a power cut once the call returns. [`Durability::Unsynced`] skips them, for a
//! large output that running the command again makes again (`customize`, unless `--sync`): readers still see the old
//! file or the whole new one, but a crash in the moments after can leave the new name short, as after `cp`.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{anyhow, Context, Result};
use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;

/// A file being written in pieces; [`AtomicFile::commit`] puts it in place. Dropped without a commit (an error on
/// the way), it removes its temporary file.
pub struct AtomicFile {
    dir: OwnedFd,
    tmp_name: String,
    name: String,
    /// The target as the messages name it.
    shown: PathBuf,
    file: File,
    committed: bool,
}

/// Whether [`AtomicFile::commit_as`] waits until the file and its name are on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Synced before the rename, and the directory after it: the default, and the agent's only kind.
    Synced,
    /// Renamed at once, the disk written back in the kernel's own time (as `cp`, gzip and coreos-installer do).
    Unsynced,
}

/// Temporary names differ within one process by this counter, and between processes by the process id.
static NEXT_TMP: AtomicU32 = AtomicU32::new(0);

impl AtomicFile {
    /// Starts writing `path` (its directory must exist; a symbolic link on the way to it is followed, as the caller
    /// named it).
    pub fn create(path: &Path) -> Result<AtomicFile> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| anyhow!("{} does not name a file", path.display()))?;
        let dir_path = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let dir = rustix::fs::open(dir_path, OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            .map_err(std::io::Error::from)
            .with_context(|| format!("creating a temporary file in {}", dir_path.display()))?;
        AtomicFile::create_in(dir, name, path)
    }

    /// Starts writing the entry `name` of the open directory `dir`; `shown` names the target in messages.
    pub fn create_in(dir: OwnedFd, name: &str, shown: &Path) -> Result<AtomicFile> {
        let (tmp_name, fd) = loop {
            let tmp_name =
                format!(".{name}.nixos-images.{}.{}", std::process::id(), NEXT_TMP.fetch_add(1, Ordering::Relaxed));
            match rustix::fs::openat(
                &dir,
                tmp_name.as_str(),
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::from_raw_mode(0o600),
            ) {
                Ok(fd) => break (tmp_name, fd),
                // Left by a crashed run that had our process id: take the next name.
                Err(Errno::EXIST) => continue,
                Err(e) => {
                    return Err(std::io::Error::from(e))
                        .with_context(|| format!("creating a temporary file next to {}", shown.display()))
                }
            }
        };
        Ok(AtomicFile {
            dir,
            tmp_name,
            name: name.to_string(),
            shown: shown.to_path_buf(),
            file: File::from(fd),
            committed: false,
        })
    }

    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Sets the mode, syncs, and renames the file into place.
    pub fn commit(self, mode: u32) -> Result<()> {
        self.commit_as(mode, Durability::Synced)
    }

    /// Sets the mode, syncs if `durability` says so, and renames the file into place.
    pub fn commit_as(mut self, mode: u32, durability: Durability) -> Result<()> {
        let shown = self.shown.display().to_string();
        rustix::fs::fchmod(&self.file, Mode::from_raw_mode(mode))
            .map_err(std::io::Error::from)
            .with_context(|| format!("setting the mode of {shown}"))?;
        if durability == Durability::Synced {
            self.file.sync_all().with_context(|| format!("writing {shown}"))?;
        }
        rustix::fs::renameat(&self.dir, self.tmp_name.as_str(), &self.dir, self.name.as_str())
            .map_err(std::io::Error::from)
            .with_context(|| format!("writing {shown}"))?;
        self.committed = true;
        if durability == Durability::Synced {
            // The rename is durable once the directory is; some file systems cannot sync a directory, and the file
            // itself is complete either way, so a failure here is not one of the write.
            let _ = rustix::fs::fsync(&self.dir);
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = rustix::fs::unlinkat(&self.dir, self.tmp_name.as_str(), AtFlags::empty());
        }
    }
}

/// Writes `bytes` to `path` atomically with `mode`.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes).with_context(|| format!("writing {}", path.display()))?;
    file.commit(mode)
}

/// Writes `bytes` as the entry `name` of the open directory `dir` atomically with `mode`.
pub fn write_atomic_in(dir: &impl AsFd, name: &str, shown: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = rustix::io::dup(dir).map_err(std::io::Error::from).context("duplicating a descriptor")?;
    let mut file = AtomicFile::create_in(dir, name, shown)?;
    file.write_all(bytes).with_context(|| format!("writing {}", shown.display()))?;
    file.commit(mode)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    }

    #[test]
    fn replaces_the_file_with_the_exact_mode_and_leaves_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        std::fs::write(&path, b"old").unwrap();
        write_atomic(&path, b"new", 0o751).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777, 0o751);
        assert_eq!(entries(dir.path()), ["out"]);
    }

    #[test]
    fn an_abandoned_write_leaves_the_old_file_and_no_temporary_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        std::fs::write(&path, b"old").unwrap();
        let mut file = AtomicFile::create(&path).unwrap();
        file.write_all(b"half").unwrap();
        assert_eq!(entries(dir.path()).len(), 2, "the temporary file is next to the target");
        drop(file);
        assert_eq!(std::fs::read(&path).unwrap(), b"old");
        assert_eq!(entries(dir.path()), ["out"]);
    }

    #[test]
    fn a_symbolic_link_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        std::fs::write(&outside, b"keep").unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::os::unix::fs::symlink(&outside, sub.join("out")).unwrap();
        let fd = rustix::fs::open(&sub, OFlags::DIRECTORY | OFlags::RDONLY, Mode::empty()).unwrap();
        write_atomic_in(&fd, "out", &sub.join("out"), b"new", 0o600).unwrap();
        assert_eq!(std::fs::read(&outside).unwrap(), b"keep");
        assert!(std::fs::symlink_metadata(sub.join("out")).unwrap().is_file());
        assert_eq!(std::fs::read(sub.join("out")).unwrap(), b"new");
    }

    #[test]
    fn a_missing_directory_is_an_error_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = write_atomic(&dir.path().join("missing/out"), b"x", 0o644).unwrap_err();
        assert!(format!("{err:#}").contains("missing"), "{err:#}");
        assert_eq!(entries(dir.path()), Vec::<String>::new());
    }
}
