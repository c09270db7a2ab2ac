use anyhow::{Context, Result};
use clap::CommandFactory;

use crate::atomic_file;
use crate::cli::{Cli, ManArgs};

/// Writes `nixos-images-gen.1` and `nixos-images-gen-<sub>[-<subsub>].1` for every subcommand.
pub fn run(args: &ManArgs) -> Result<()> {
    std::fs::create_dir_all(&args.output).with_context(|| format!("creating {}", args.output.display()))?;
    write_pages(&Cli::command(), "nixos-images-gen", args)
}

fn write_pages(cmd: &clap::Command, name: &str, args: &ManArgs) -> Result<()> {
    write_page(cmd, name, args)?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("{name}-{}", sub.get_name());
        let leaked: &'static str = Box::leak(name.clone().into_boxed_str());
        write_pages(&sub.clone().name(leaked), &name, args)?;
    }
    Ok(())
}

fn write_page(cmd: &clap::Command, name: &str, args: &ManArgs) -> Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut page).with_context(|| format!("rendering {name}.1"))?;
    atomic_file::write_atomic(&args.output.join(format!("{name}.1")), &page, 0o644)
}
