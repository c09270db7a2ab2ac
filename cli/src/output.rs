//! Where output goes: standard output, or a file written atomically (`crate::atomic_file`), so a failed run never
//! leaves a half-written file behind.

use std::io::{IsTerminal, Write};
use std::path::Path;

use anyhow::{bail, Context, Result};
use nixos_images_core::Artifact;

use crate::atomic_file::write_atomic;

/// `-o PATH`; `None` or `-` means standard output.
pub fn is_stdout(path: Option<&Path>) -> bool {
    path.is_none_or(|p| p == Path::new("-"))
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
