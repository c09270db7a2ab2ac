//! The copy-paste install command: download the right tarball, verify it when the SHA-256 is known, unpack it to
//! /root, put the request's `kexec/run` in place (keeping the release's as `run.release`) and run it.

use askama::Template;

use crate::escape::ShellWord;
use crate::manifest::AssetKind;
use crate::render::kexec_run::{self, RELEASE_RUN_NAME};
use crate::{Artifact, Installer, ValidRequest};

/// The heredoc delimiter. The script never contains this line: it is not valid shell and no request value can
/// span a whole line (validation forbids newlines).
const DELIMITER: &str = "NIXOS_IMAGES_KEXEC_RUN_END";

#[derive(Template)]
#[template(path = "kexec-command.sh", escape = "none")]
struct Command {
    generated_by: String,
    summary: String,
    url: String,
    https: bool,
    tarball: String,
    sha256: Option<String>,
    repinned: &'static str,
    release_run: &'static str,
    delimiter: &'static str,
    script: String,
}

/// The release asset name of the kexec tarball for the request's image kind and arch.
pub fn tarball_name(req: &ValidRequest) -> String {
    AssetKind::kexec_tarball(req.image).file_name(req.arch)
}

pub fn render(req: &ValidRequest) -> Artifact {
    let url = req.release.asset_url(&tarball_name(req));
    let cmd = Command {
        generated_by: super::generated_by(req),
        summary: kexec_run::summary(req),
        https: url.starts_with("https://"),
        url: ShellWord(&url).to_string(),
        tarball: tarball_name(req),
        sha256: req.release.kexec_tarball_sha256.as_ref().map(ToString::to_string),
        repinned: match req.release.installer {
            Installer::Upstream => "nix-community re-uploads its assets weekly under the same tag",
            Installer::NixosImages => "a new build was published under the same tag",
        },
        release_run: RELEASE_RUN_NAME,
        delimiter: DELIMITER,
        script: kexec_run::script(req),
    };
    // Rendering only fails if a Display impl fails, and ours do not.
    Artifact::single("install-kexec.sh", 0o755, cmd.render().expect("kexec command template renders") + "\n")
}
