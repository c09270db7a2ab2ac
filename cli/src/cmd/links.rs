use anyhow::Result;
use nixos_images_core::manifest::AssetKind;
use nixos_images_core::ValidRequest;

use crate::cli::LinksArgs;
use crate::output;

/// Release asset names for the request's arch (the seed's file names).
fn assets(req: &ValidRequest) -> Vec<(String, String)> {
    AssetKind::ALL
        .into_iter()
        .map(|kind| kind.file_name(req.arch()))
        .map(|n| (req.release().asset_url(&n), n))
        .collect()
}

pub fn run(args: &LinksArgs) -> Result<()> {
    let req = args.request.to_valid_request()?;
    let assets = assets(&req);
    let text = if args.json {
        let value = serde_json::json!({
            "channel": req.channel().to_string(),
            "arch": req.arch().as_str(),
            "tag": req.release().tag.as_str(),
            "base_url": req.release().base_url.as_str(),
            "assets": assets.iter().map(|(url, name)| serde_json::json!({ "name": name, "url": url })).collect::<Vec<_>>(),
        });
        serde_json::to_string_pretty(&value)? + "\n"
    } else {
        assets.iter().map(|(url, name)| format!("{name} {url}\n")).collect()
    };
    output::write_stdout(text.as_bytes(), false)
}
