//! A whole directory tree written so that a reader (a web server serving it) sees the old tree or the new one,
//! never a mix: the new tree is written into a temporary directory beside the target, then swapped with it in one
//! `renameat2(RENAME_EXCHANGE)` (or renamed into place when there is none), and the old tree is removed.

use std::collections::HashSet;
use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use nixos_images_core::ArtifactFile;
use rustix::fs::{RenameFlags, CWD};

use crate::errors::UsageError;

/// Replaces `dir` with a tree of `files`. An existing `dir` must be empty or hold `marker` (it is one of ours), so
/// a mistyped `-o` never replaces someone's directory.
pub fn replace(dir: &Path, files: &[ArtifactFile], marker: &str) -> Result<()> {
    let name = dir.file_name().ok_or_else(|| anyhow!("{} does not name a directory", dir.display()))?;
    let parent = match dir.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let exists = match fs::symlink_metadata(dir) {
        Ok(m) if m.is_dir() => {
            let empty = fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?.next().is_none();
            if !empty && !dir.join(marker).is_file() {
                return Err(UsageError(vec![format!(
                    "{}: exists and is not such a tree (it has no {marker}); refusing to replace it",
                    dir.display()
                )])
                .into());
            }
            true
        }
        Ok(_) => return Err(UsageError(vec![format!("{}: exists and is not a directory", dir.display())]).into()),
        Err(e) if e.kind() == ErrorKind::NotFound => false,
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    };
    let tmp = tempfile::Builder::new()
        .prefix(&format!(".{}.nixos-images.", name.to_string_lossy()))
        .tempdir_in(parent)
        .with_context(|| format!("creating a temporary directory in {}", parent.display()))?;
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755))?;
    let mut made: HashSet<PathBuf> = HashSet::new();
    for f in files {
        let rel = Path::new(&f.path);
        // Core names every file; a path that could leave the tree is a bug, refused all the same.
        if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return Err(anyhow!("refusing to write {:?} outside the tree", f.path));
        }
        let path = tmp.path().join(rel);
        if let Some(d) = path.parent().filter(|d| !made.contains(*d)) {
            fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            for parent in d.ancestors().take_while(|a| *a != tmp.path()) {
                fs::set_permissions(parent, fs::Permissions::from_mode(0o755))?;
                made.insert(parent.to_path_buf());
            }
        }
        fs::write(&path, &f.contents).with_context(|| format!("writing {}", path.display()))?;
        fs::set_permissions(&path, fs::Permissions::from_mode(f.mode))?;
    }
    if !exists {
        fs::rename(tmp.path(), dir).with_context(|| format!("renaming the new tree to {}", dir.display()))?;
        // Renamed away: nothing is left for the guard to remove.
        let _ = tmp.keep();
        return Ok(());
    }
    match rustix::fs::renameat_with(CWD, tmp.path(), CWD, dir, RenameFlags::EXCHANGE) {
        // The temporary directory now holds the old tree, which its guard removes.
        Ok(()) => Ok(()),
        Err(e) => {
            // File systems without RENAME_EXCHANGE: move the old tree aside, then the new one in.
            let old = tempfile::Builder::new().prefix(".old.nixos-images.").tempdir_in(parent)?;
            let aside = old.path().join("tree");
            fs::rename(dir, &aside)
                .with_context(|| format!("moving {} aside (RENAME_EXCHANGE: {e})", dir.display()))?;
            fs::rename(tmp.path(), dir).with_context(|| format!("renaming the new tree to {}", dir.display()))?;
            let _ = tmp.keep();
            Ok(())
        }
    }
}
