//! Writing into a target root without ever leaving it.
//!
//! Every path is walked one component at a time from a directory descriptor of the root, with `O_NOFOLLOW`: a
//! symbolic link anywhere below the root (a directory or the file read) is refused, so no link planted in the
//! target can send a write (or a read that is merged into a write) outside it. Files are written by
//! `nixos_images_cli::atomic_file` into the directory walked to, which replaces a link rather than following it. A file
//! whose contents and mode are already right is left alone, so applying twice changes nothing.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use nixos_images_cli::atomic_file::write_atomic_in;
use nixos_images_core::agent::install::relative_components;
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Unchanged,
    Written,
}

/// A directory that writes may not leave.
pub struct Root {
    fd: OwnedFd,
    path: PathBuf,
}

const DIR_FLAGS: OFlags = OFlags::DIRECTORY.union(OFlags::NOFOLLOW).union(OFlags::RDONLY).union(OFlags::CLOEXEC);

impl Root {
    /// Opens the root itself (a symbolic link to it is fine: the caller named it).
    pub fn open(path: &Path) -> Result<Root> {
        let fd = rustix::fs::open(path, OFlags::DIRECTORY | OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())
            .map_err(std::io::Error::from)
            .with_context(|| format!("opening the target root {}", path.display()))?;
        Ok(Root { fd, path: path.to_path_buf() })
    }

    pub fn display(&self, rel: &str) -> String {
        self.path.join(rel).display().to_string()
    }

    /// Opens the directory `rel` (`""` for the root), creating missing components with `mode`. With `chmod`, the
    /// last component gets `mode` even if it existed.
    pub fn dir(&self, rel: &str, mode: u32, chmod: bool) -> Result<OwnedFd> {
        let mut cur = rustix::io::dup(&self.fd).map_err(std::io::Error::from).context("duplicating a descriptor")?;
        if rel.is_empty() {
            return Ok(cur);
        }
        let parts = relative_components(rel).map_err(|e| anyhow!("refusing the path {e}"))?;
        let mut walked = String::new();
        for (i, part) in parts.iter().enumerate() {
            if !walked.is_empty() {
                walked.push('/');
            }
            walked.push_str(part);
            let last = i + 1 == parts.len();
            let next = match rustix::fs::openat(&cur, *part, DIR_FLAGS, Mode::empty()) {
                Ok(fd) => {
                    if last && chmod {
                        set_mode(&fd, mode)
                            .with_context(|| format!("setting the mode of {}", self.display(&walked)))?;
                    }
                    fd
                }
                Err(Errno::NOENT) => {
                    match rustix::fs::mkdirat(&cur, *part, Mode::from_raw_mode(mode)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => {
                            return Err(std::io::Error::from(e))
                                .with_context(|| format!("creating {}", self.display(&walked)))
                        }
                    }
                    let fd = rustix::fs::openat(&cur, *part, DIR_FLAGS, Mode::empty())
                        .map_err(|e| self.refusal(&cur, part, &walked, e))?;
                    // mkdir applies the umask; the mode is part of the contract.
                    set_mode(&fd, mode).with_context(|| format!("setting the mode of {}", self.display(&walked)))?;
                    fd
                }
                Err(e) => return Err(self.refusal(&cur, part, &walked, e)),
            };
            cur = next;
        }
        Ok(cur)
    }

    /// Explains why a component could not be opened: a symbolic link is refused by name.
    fn refusal(&self, dir: &OwnedFd, part: &str, walked: &str, e: Errno) -> anyhow::Error {
        match rustix::fs::statat(dir, part, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if FileType::from_raw_mode(st.st_mode) == FileType::Symlink => anyhow!(
                "refusing to write through {}: it is a symbolic link, which could lead outside {}",
                self.display(walked),
                self.path.display()
            ),
            Ok(st) if FileType::from_raw_mode(st.st_mode) != FileType::Directory => {
                anyhow!("{} is not a directory", self.display(walked))
            }
            _ => anyhow!("opening {}: {}", self.display(walked), std::io::Error::from(e)),
        }
    }

    /// Reads a regular file below the root; `None` when it does not exist. A symbolic link is refused.
    pub fn read(&self, rel: &str) -> Result<Option<Vec<u8>>> {
        let (dir, name) = self.parent(rel, None)?;
        let Some(dir) = dir else { return Ok(None) };
        match rustix::fs::openat(&dir, name, OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty()) {
            Ok(fd) => {
                let mut file = File::from(fd);
                if !file.metadata().with_context(|| format!("reading {}", self.display(rel)))?.is_file() {
                    bail!("{} is not a regular file", self.display(rel));
                }
                let mut buf = vec![];
                file.read_to_end(&mut buf).with_context(|| format!("reading {}", self.display(rel)))?;
                Ok(Some(buf))
            }
            Err(Errno::NOENT) => Ok(None),
            Err(Errno::LOOP) => bail!(
                "refusing to read {}: it is a symbolic link, which could lead outside {}",
                self.display(rel),
                self.path.display()
            ),
            Err(e) => Err(std::io::Error::from(e)).with_context(|| format!("reading {}", self.display(rel))),
        }
    }

    /// Writes `contents` with `mode` to `rel` atomically; parent directories are created with `dir_mode`.
    pub fn write(&self, rel: &str, contents: &[u8], mode: u32, dir_mode: u32) -> Result<Change> {
        let (dir, name) = self.parent(rel, Some(dir_mode))?;
        let Some(dir) = dir else { bail!("{} has no directory", self.display(rel)) };
        // Already right: leave it alone (and its mtime).
        if let Ok(fd) =
            rustix::fs::openat(&dir, name, OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC, Mode::empty())
        {
            let mut file = File::from(fd);
            let meta = file.metadata().with_context(|| format!("reading {}", self.display(rel)))?;
            use std::os::unix::fs::PermissionsExt;
            if meta.is_file() && meta.permissions().mode() & 0o7777 == mode && meta.len() == contents.len() as u64 {
                let mut old = vec![];
                file.read_to_end(&mut old).with_context(|| format!("reading {}", self.display(rel)))?;
                if old == contents {
                    return Ok(Change::Unchanged);
                }
            }
        }
        write_atomic_in(&dir, name, &self.path.join(rel), contents, mode)?;
        Ok(Change::Written)
    }

    /// Checks, without creating anything, that no existing directory on the way to `rel` is a symbolic link.
    pub fn check(&self, rel: &str) -> Result<()> {
        self.parent(rel, None).map(|_| ())
    }

    /// Names of the entries of directory `rel` (none when it does not exist).
    pub fn list(&self, rel: &str) -> Result<Vec<String>> {
        let dir = match self.dir_if_exists(rel)? {
            Some(d) => d,
            None => return Ok(vec![]),
        };
        let mut names = vec![];
        let mut entries = rustix::fs::Dir::read_from(&dir)
            .map_err(std::io::Error::from)
            .with_context(|| format!("listing {}", self.display(rel)))?;
        while let Some(entry) = entries.read() {
            let entry =
                entry.map_err(std::io::Error::from).with_context(|| format!("listing {}", self.display(rel)))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name != "." && name != ".." {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    /// Removes the file `rel` if it exists (never a directory; never follows a link).
    pub fn remove(&self, rel: &str) -> Result<Change> {
        let (dir, name) = self.parent(rel, None)?;
        let Some(dir) = dir else { return Ok(Change::Unchanged) };
        match rustix::fs::unlinkat(&dir, name, AtFlags::empty()) {
            Ok(()) => Ok(Change::Written),
            Err(Errno::NOENT) => Ok(Change::Unchanged),
            Err(e) => Err(std::io::Error::from(e)).with_context(|| format!("removing {}", self.display(rel))),
        }
    }

    fn dir_if_exists(&self, rel: &str) -> Result<Option<OwnedFd>> {
        if rel.is_empty() {
            return self.dir("", 0, false).map(Some);
        }
        let (parent, name) = self.parent(rel, None)?;
        let Some(parent) = parent else { return Ok(None) };
        match rustix::fs::openat(&parent, name, DIR_FLAGS, Mode::empty()) {
            Ok(fd) => Ok(Some(fd)),
            Err(Errno::NOENT) => Ok(None),
            Err(e) => Err(self.refusal(&parent, name, rel, e)),
        }
    }

    /// The directory holding `rel` and the last component. With `create`, missing directories are created with
    /// that mode; without, `None` when one is missing.
    fn parent<'a>(&self, rel: &'a str, create: Option<u32>) -> Result<(Option<OwnedFd>, &'a str)> {
        let parts = relative_components(rel).map_err(|e| anyhow!("refusing the path {e}"))?;
        let name = parts[parts.len() - 1];
        let parent = &rel[..rel.len() - name.len()].trim_end_matches('/');
        match create {
            Some(mode) => Ok((Some(self.dir(parent, mode, false)?), name)),
            None => {
                // Walk without creating: a missing directory means a missing file.
                let mut cur =
                    rustix::io::dup(&self.fd).map_err(std::io::Error::from).context("duplicating a descriptor")?;
                let mut walked = String::new();
                for part in &parts[..parts.len() - 1] {
                    if !walked.is_empty() {
                        walked.push('/');
                    }
                    walked.push_str(part);
                    cur = match rustix::fs::openat(&cur, *part, DIR_FLAGS, Mode::empty()) {
                        Ok(fd) => fd,
                        Err(Errno::NOENT) => return Ok((None, name)),
                        Err(e) => return Err(self.refusal(&cur, part, &walked, e)),
                    };
                }
                Ok((Some(cur), name))
            }
        }
    }
}

fn set_mode(fd: impl std::os::fd::AsFd, mode: u32) -> std::io::Result<()> {
    rustix::fs::fchmod(fd, Mode::from_raw_mode(mode)).map_err(std::io::Error::from)
}

/// Reads a regular file of the overlay (not following symbolic links: the overlay holds none); `None` when missing.
pub fn read_overlay_file(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_file() => std::fs::read(path).map(Some).with_context(|| format!("reading {}", path.display())),
        Ok(_) => bail!("{} is not a regular file; the overlay holds only files and directories", path.display()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// Entries of an overlay directory, sorted; none when it does not exist.
pub fn list_overlay_dir(path: &Path) -> Result<Vec<String>> {
    let entries = match std::fs::read_dir(path) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(vec![]),
        Err(e) => return Err(e).with_context(|| format!("listing {}", path.display())),
    };
    let mut names = vec![];
    for e in entries {
        let e = e.with_context(|| format!("listing {}", path.display()))?;
        names.push(e.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}
