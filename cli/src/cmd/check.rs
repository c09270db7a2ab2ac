use anyhow::Result;
use nixos_images_core::render::{cmdline, kexec_run};

use crate::cli::CheckArgs;
use crate::output;

pub fn run(args: &CheckArgs) -> Result<()> {
    let req = args.request.to_valid_request()?;
    let line = cmdline::line(&req);
    let text = format!(
        "ok: {} {} {} ({}); kernel parameters added: {} bytes\n",
        req.image().as_str(),
        req.arch().as_str(),
        req.channel(),
        kexec_run::summary(&req),
        line.len()
    );
    output::write_stdout(text.as_bytes(), false)
}
