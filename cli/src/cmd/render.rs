use std::path::Path;

use anyhow::{Context, Result};
use nixos_images_core::release::{self, ReleaseBoot};
use nixos_images_core::render::{ipxe, kexec_run, ArtifactKind};
use nixos_images_core::{Artifact, BaseUrl, Installer, ValidRequest};

use crate::cli::RenderArgs;
use crate::errors::UsageError;
use crate::{atomic_file, output};

pub fn run(args: &RenderArgs) -> Result<()> {
    // An image's own script (--release-init) is this project's image by definition: its kexec/run arms the
    // installer's rollback watchdog.
    let req = match args.release_boot.release_init {
        Some(_) => args.request.to_valid_request_for(Installer::NixosImages)?,
        None => args.request.to_valid_request()?,
    };
    let kind = args.kind;
    if !kind.applies_to(req.image()) {
        let wanted = if kind == ArtifactKind::Ipxe { "netboot" } else { "kexec or kexec-noninteractive" };
        return Err(UsageError(vec![format!(
            "image: the {} artifact is for image = {wanted}; this request has image = {}",
            kind.as_str(),
            req.image().as_str()
        )])
        .into());
    }
    let overlay_base = match &args.base_url {
        Some(_) if kind != ArtifactKind::Ipxe => {
            return Err(UsageError(vec![format!(
                "--base-url: only the ipxe artifact fetches anything (the overlay), not {}",
                kind.as_str()
            )])
            .into())
        }
        Some(u) => Some(u.parse::<BaseUrl>().map_err(|e| UsageError(vec![format!("--base-url: {e}")]))?),
        None => None,
    };
    let artifact = match (args.release_boot.boot()?, &overlay_base) {
        (Some(_), Some(_)) => {
            return Err(UsageError(vec![
                "--base-url: the image's own netboot.ipxe (--release-init) loads no overlay".into()
            ])
            .into())
        }
        (Some(boot), None) => image_artifact(args, &req, &boot)?,
        (None, Some(base)) => ipxe::render_at(&req, Some(base)),
        (None, None) => kind.render(&req),
    };
    let out = args.output.as_deref();
    if kind != ArtifactKind::Networkd {
        return output::write_artifact(&artifact, out, kind == ArtifactKind::Overlay);
    }
    match out {
        Some(dir) if !output::is_stdout(Some(dir)) => write_units(&artifact, dir),
        _ => {
            // Units are concatenated with a comment naming each file, which keeps the output a valid unit.
            let mut text = String::new();
            if artifact.files.is_empty() {
                text.push_str("# no interfaces in the request: the installer uses DHCP/RA on every ethernet link\n");
            }
            for f in &artifact.files {
                text.push_str(&format!("# file: {}\n{}\n", f.path, String::from_utf8_lossy(&f.contents)));
            }
            output::write_stdout(text.as_bytes(), false)
        }
    }
}

/// `--release-init` and `--release-kernel-param`: render the image's own script, as the Nix modules do at build
/// time, instead of the one a person puts next to a release's files.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Image build (used by the Nix modules)")]
pub struct ReleaseBootArgs {
    /// The image's NixOS init path (/nix/store/...-nixos-system-.../init): kexec-run then has it built in and
    /// needs no kexec/run.release; ipxe renders the image's own netboot.ipxe (kernel and initrd next to it). The
    /// image is this project's (release.installer = "nixos-images")
    #[arg(long, value_name = "PATH")]
    pub release_init: Option<String>,
    /// A kernel parameter of the image (repeatable; with --release-init)
    #[arg(long = "release-kernel-param", value_name = "PARAM", allow_hyphen_values = true, requires = "release_init")]
    pub release_kernel_params: Vec<String>,
}

impl ReleaseBootArgs {
    fn boot(&self) -> Result<Option<ReleaseBoot>> {
        match &self.release_init {
            None => Ok(None),
            Some(init) => {
                ReleaseBoot::new(init, &self.release_kernel_params).map(Some).map_err(|e| UsageError(e).into())
            }
        }
    }
}

/// The image's own artifact (`--release-init`): `kexec/run` with the init path built in, or the image's
/// `netboot.ipxe`, which carries nothing of the request but its arch (anything else is refused, never dropped).
fn image_artifact(args: &RenderArgs, req: &ValidRequest, boot: &ReleaseBoot) -> Result<Artifact> {
    match args.kind {
        ArtifactKind::KexecRun => {
            Ok(Artifact::single("kexec/run", 0o755, kexec_run::script_with_release(req, Some(boot))))
        }
        ArtifactKind::Ipxe => {
            let empty = req.ssh_authorized_keys().is_empty()
                && req.interfaces().is_empty()
                && req.hostname().is_none()
                && req.nameservers().is_empty()
                && req.kernel_params().is_empty();
            if !empty {
                return Err(UsageError(vec![
                    "--release-init: the image's own netboot.ipxe carries no request settings (keys, interfaces, \
                     host name, nameservers, kernel parameters); render them with `render ipxe` without \
                     --release-init, or `render overlay`"
                        .into(),
                ])
                .into());
            }
            let kernel = release::kernel_file(req.arch());
            let text = release::netboot_ipxe(req.arch(), boot, kernel, release::INITRD_FILE);
            Ok(Artifact::single(release::NETBOOT_IPXE_FILE, 0o644, text))
        }
        other => Err(UsageError(vec![format!(
            "--release-init: only kexec-run and ipxe have an image's own version, not {}",
            other.as_str()
        )])
        .into()),
    }
}

fn write_units(artifact: &Artifact, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for f in &artifact.files {
        atomic_file::write_atomic(&dir.join(&f.path), &f.contents, f.mode)?;
    }
    Ok(())
}
