//! The config overlay: a gzip'ed newc cpio unpacked over the installer's initrd.
//!
//! **API Boundary:** the layout is a versioned contract (ARCHITECTURE.md, "Overlay layout v1") read by the
//! installer images. The kexec run script writes the same files into the cpio it appends, so both share it.

use crate::cpio::Cpio;
use crate::{Artifact, ArtifactFile, ValidRequest};

pub use crate::overlay_layout::{
    AUTHORIZED_KEYS, DIR_MODE, FILE_MODE, HOSTNAME_FILE, KEY_MODE, LAYOUT_VERSION, LAYOUT_VERSION_FILE,
    NAMESERVERS_FILE, NETWORKD_DIR, OVERLAY_FILE_NAME,
};

/// The overlay's files, in archive order, without directories. The authorized keys come first.
pub fn files(req: &ValidRequest) -> Vec<ArtifactFile> {
    let mut files = Vec::new();
    if !req.ssh_authorized_keys.is_empty() {
        let keys: String = req.ssh_authorized_keys.iter().map(|k| format!("{k}\n")).collect();
        files.push(ArtifactFile { path: AUTHORIZED_KEYS.into(), mode: KEY_MODE, contents: keys.into_bytes() });
    }
    files.push(ArtifactFile {
        path: LAYOUT_VERSION_FILE.into(),
        mode: FILE_MODE,
        contents: format!("{LAYOUT_VERSION}\n").into_bytes(),
    });
    if let Some(h) = &req.hostname {
        files.push(ArtifactFile {
            path: HOSTNAME_FILE.into(),
            mode: FILE_MODE,
            contents: format!("{}\n", h.as_str()).into_bytes(),
        });
    }
    if !req.nameservers.is_empty() {
        let ns: String = req.nameservers.iter().map(|n| format!("{n}\n")).collect();
        files.push(ArtifactFile { path: NAMESERVERS_FILE.into(), mode: FILE_MODE, contents: ns.into_bytes() });
    }
    for unit in super::networkd::render(req).files {
        files.push(ArtifactFile { path: format!("{NETWORKD_DIR}/{}", unit.path), ..unit });
    }
    files
}

/// The overlay as a cpio archive (directories 0700, keys 0600).
pub fn cpio(req: &ValidRequest) -> Cpio {
    let mut c = Cpio::new();
    c.dir(crate::overlay_layout::SSH_DIR, DIR_MODE).dir(NETWORKD_DIR, DIR_MODE);
    for f in files(req) {
        c.file(&f.path, f.mode, f.contents);
    }
    c
}

pub fn render(req: &ValidRequest) -> Artifact {
    Artifact::single(OVERLAY_FILE_NAME, 0o644, cpio(req).to_gzip())
}
