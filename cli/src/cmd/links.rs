use anyhow::Result;
use nixos_images_core::render::{ipxe, kexec_command};
use nixos_images_core::{ImageKind, ValidRequest};

use crate::cli::LinksArgs;
use crate::output;

/// Release asset names for the request's arch (the seed's file names).
fn assets(req: &ValidRequest) -> Vec<(String, String)> {
    let mut names = Vec::new();
    for image in [ImageKind::Kexec, ImageKind::KexecNoninteractive] {
        let r = ValidRequest { image, ..req.clone() };
        names.push(kexec_command::tarball_name(&r));
    }
    names.push(req.arch.kernel_asset());
    names.push(format!("initrd-{}", req.arch.as_str()));
    names.push(ipxe::release_script_name(req.arch));
    names.into_iter().map(|n| (req.release.asset_url(&n), n)).collect()
}

pub fn run(args: &LinksArgs) -> Result<()> {
    let req = args.request.to_valid_request()?;
    let assets = assets(&req);
    let text = if args.json {
        let value = serde_json::json!({
            "channel": req.channel.to_string(),
            "arch": req.arch.as_str(),
            "tag": req.release.tag,
            "base_url": req.release.base_url,
            "assets": assets.iter().map(|(url, name)| serde_json::json!({ "name": name, "url": url })).collect::<Vec<_>>(),
        });
        serde_json::to_string_pretty(&value)? + "\n"
    } else {
        assets.iter().map(|(url, name)| format!("{name} {url}\n")).collect()
    };
    output::write_stdout(text.as_bytes(), false)
}
