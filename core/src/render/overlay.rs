//! The config overlay: a gzip'ed newc cpio unpacked over the installer's initrd.
//!
//! **API Boundary:** the layout is a versioned contract (ARCHITECTURE.md, "Overlay layout v1") read by the
//! installer images. The kexec run script writes the same files into the cpio it appends, so both share it.

use crate::cpio::Cpio;
use crate::{Artifact, ArtifactFile, ValidRequest};

/// Version of the overlay layout, written to [`LAYOUT_VERSION_FILE`].
pub const LAYOUT_VERSION: u32 = 1;
/// File name of the overlay next to the iPXE script and inside bundles.
pub const OVERLAY_FILE_NAME: &str = "nixos-images-overlay.cpio.gz";

/// Root authorized keys (the seed's name: its installers already copy it to `/root/.ssh/authorized_keys`).
pub const AUTHORIZED_KEYS: &str = "ssh/authorized_keys";
pub const LAYOUT_VERSION_FILE: &str = "nixos-images/layout-version";
pub const HOSTNAME_FILE: &str = "nixos-images/hostname";
pub const NAMESERVERS_FILE: &str = "nixos-images/nameservers";
pub const NETWORKD_DIR: &str = "nixos-images/networkd";

/// Directory mode for every directory of the overlay.
pub const DIR_MODE: u32 = 0o700;
pub const KEY_MODE: u32 = 0o600;
pub const FILE_MODE: u32 = 0o644;

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
    c.dir("ssh", DIR_MODE).dir(NETWORKD_DIR, DIR_MODE);
    for f in files(req) {
        c.file(&f.path, f.mode, f.contents);
    }
    c
}

pub fn render(req: &ValidRequest) -> Artifact {
    Artifact::single(OVERLAY_FILE_NAME, 0o644, cpio(req).to_gzip())
}
