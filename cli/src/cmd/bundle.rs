use anyhow::Result;
use nixos_images_core::render::bundle;

use crate::cli::BundleArgs;
use crate::output;

pub fn run(args: &BundleArgs) -> Result<()> {
    let req = args.request.to_valid_request()?;
    output::write_artifact(&bundle::render(&req), args.output.as_deref(), true)
}
