//! Where output goes: standard output, or a file written atomically (temporary file in the same directory, then
//! rename), so a failed run never leaves a half-written file behind.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nixos_images_core::Artifact;

/// `-o PATH`; `None` or `-` means standard output.
pub fn is_stdout(path: Option<&Path>) -> bool {
    path.is_none_or(|p| p == Path::new("-"))
}

/// Writes bytes to `path` atomically, with the given Unix mode.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut file = AtomicFile::create(path)?;
    file.write_all(bytes).with_context(|| format!("writing {}", path.display()))?;
    file.commit(mode)
}

/// A file written in pieces through a temporary file in the target's directory and renamed into place by
/// [`AtomicFile::commit`]. Dropped without a commit (an error on the way), it leaves nothing behind.
pub struct AtomicFile {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl AtomicFile {
    pub fn create(path: &Path) -> Result<AtomicFile> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".nixos-images-gen.")
            .tempfile_in(&dir)
            .with_context(|| format!("creating a temporary file in {}", dir.display()))?;
        Ok(AtomicFile { tmp, path: path.to_path_buf() })
    }

    pub fn file(&mut self) -> &mut std::fs::File {
        self.tmp.as_file_mut()
    }

    /// Sets the mode, syncs and renames the file into place.
    pub fn commit(self, mode: u32) -> Result<()> {
        let path = &self.path;
        set_mode(self.tmp.as_file(), mode).with_context(|| format!("setting the mode of {}", path.display()))?;
        self.tmp.as_file().sync_all().with_context(|| format!("writing {}", path.display()))?;
        self.tmp.persist(path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.tmp.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.tmp.flush()
    }
}

#[cfg(unix)]
fn set_mode(file: &std::fs::File, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode(_: &std::fs::File, _: u32) -> std::io::Result<()> {
    Ok(())
}

/// Writes a single-file artifact to `-o` or standard output. Binary output is not sent to a terminal.
pub fn write_artifact(artifact: &Artifact, out: Option<&Path>, binary: bool) -> Result<()> {
    let contents: Vec<u8> = artifact.files.iter().flat_map(|f| f.contents.iter().copied()).collect();
    match out {
        Some(path) if !is_stdout(Some(path)) => {
            let mode = artifact.files.first().map_or(0o644, |f| f.mode);
            write_atomic(path, &contents, mode)
        }
        _ => write_stdout(&contents, binary),
    }
}

pub fn write_stdout(bytes: &[u8], binary: bool) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    if binary && stdout.is_terminal() {
        bail!("refusing to write binary data to a terminal; use -o FILE or redirect the output");
    }
    stdout.write_all(bytes).context("writing to standard output")?;
    stdout.flush().context("writing to standard output")
}
