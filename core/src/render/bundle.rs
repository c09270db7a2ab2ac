//! The downloadable bundle: every artifact for the request's image kind plus a README, as a reproducible tar.gz.

use askama::Template;

use crate::render::{cmdline, ipxe, kexec_command, kexec_run, networkd, nix, overlay, ArtifactKind};
use crate::{effects, tarball, Artifact, ArtifactFile, Installer, ValidRequest};

#[derive(Template)]
#[template(path = "bundle-README.md", escape = "none")]
struct Readme<'a> {
    generated_by: String,
    image: &'a str,
    arch: &'a str,
    channel: String,
    summary: String,
    kexec: bool,
    tarball: String,
    tarball_url: String,
    delay: u32,
    overlay: &'a str,
    release_script_url: String,
    installer: &'static str,
    notices: Vec<String>,
    files: Vec<(String, &'static str)>,
}

/// The bundle's top directory (`nixos-images-kexec-x86_64-linux`).
pub fn top_dir(req: &ValidRequest) -> String {
    format!("nixos-images-{}-{}", req.image.as_str(), req.arch.as_str())
}

/// The bundle's files (without the README), each with a one-line description.
pub fn files(req: &ValidRequest) -> Vec<(ArtifactFile, &'static str)> {
    let mut out = Vec::new();
    let mut add = |artifact: Artifact, what: &'static str| {
        for f in artifact.files {
            out.push((f, what));
        }
    };
    if ArtifactKind::KexecRun.applies_to(req.image) {
        add(kexec_run::render(req), "the run script: replaces the release's kexec/run");
    }
    if ArtifactKind::KexecCommand.applies_to(req.image) {
        add(kexec_command::render(req), "the whole install as one paste-able shell command");
    }
    if ArtifactKind::Ipxe.applies_to(req.image) {
        add(ipxe::render(req), "iPXE script: network, overlay, then the release's netboot script");
    }
    add(overlay::render(req), "config overlay (gzip newc cpio) for the installer's initrd");
    add(nix::render(req), "NixOS module with the same settings, for building your own image");
    add(cmdline::render(req), "kernel parameters this request adds");
    let units = networkd::render(req);
    for mut f in units.files {
        f.path = format!("networkd/{}", f.path);
        out.push((f, "systemd-networkd unit"));
    }
    out
}

pub fn render(req: &ValidRequest) -> Artifact {
    let files = files(req);
    let readme = Readme {
        generated_by: super::generated_by(req),
        image: req.image.as_str(),
        arch: req.arch.as_str(),
        channel: req.channel.to_string(),
        summary: kexec_run::summary(req),
        kexec: ArtifactKind::KexecCommand.applies_to(req.image),
        tarball: kexec_command::tarball_name(req),
        tarball_url: req.release.asset_url(&kexec_command::tarball_name(req)),
        delay: req.kexec.delay_seconds,
        overlay: overlay::OVERLAY_FILE_NAME,
        release_script_url: req.release.asset_url(&ipxe::release_script_name(req.arch)),
        installer: match req.release.installer {
            Installer::Upstream => "nix-community's (release.installer = \"upstream\")",
            Installer::NixosImages => "this project's (release.installer = \"nixos-images\")",
        },
        notices: effects::notices(req).iter().map(ToString::to_string).collect(),
        files: files.iter().map(|(f, what)| (f.path.clone(), *what)).collect(),
    };
    // Rendering only fails if a Display impl fails, and ours do not.
    let readme_text = ipxe::squeeze_blank_lines(&readme.render().expect("README template renders"));
    let mut all: Vec<ArtifactFile> = files.into_iter().map(|(f, _)| f).collect();
    all.push(ArtifactFile { path: "README.md".into(), mode: 0o644, contents: readme_text.into_bytes() });
    let name = format!("{}.tar.gz", top_dir(req));
    Artifact::single(name, 0o644, tarball::tar_gz(&top_dir(req), &all))
}
