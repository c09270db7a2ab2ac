use std::path::Path;

use anyhow::{Context, Result};
use nixos_images_core::render::ArtifactKind;

use crate::cli::RenderArgs;
use crate::errors::UsageError;
use crate::output;

pub fn run(args: &RenderArgs) -> Result<()> {
    let req = args.request.to_valid_request()?;
    let kind = args.kind;
    if !kind.applies_to(req.image) {
        let wanted = if kind == ArtifactKind::Ipxe { "netboot" } else { "kexec or kexec-noninteractive" };
        return Err(UsageError(vec![format!(
            "image: the {} artifact is for image = {wanted}; this request has image = {}",
            kind.as_str(),
            req.image.as_str()
        )])
        .into());
    }
    let artifact = kind.render(&req);
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

fn write_units(artifact: &nixos_images_core::Artifact, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for f in &artifact.files {
        output::write_atomic(&dir.join(&f.path), &f.contents, f.mode)?;
    }
    Ok(())
}
