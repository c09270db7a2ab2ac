//! `fleet render|check|diff`: an inventory of machines in, one static netboot tree out (core's `fleet`).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use nixos_images_core::fleet::diff::diff;
use nixos_images_core::fleet::tree;
use nixos_images_core::fleet::{Inventory, ValidInventory};
use nixos_images_core::{BaseUrl, Request};

use crate::errors::UsageError;
use crate::tree_dir;

#[derive(Debug, Args)]
pub struct FleetArgs {
    #[command(subcommand)]
    pub cmd: FleetCmd,
}

#[derive(Debug, Subcommand)]
pub enum FleetCmd {
    /// Write the static tree for an inventory: boot.ipxe, one script and overlay per host, index.html, and with
    /// --base-url the dnsmasq and Kea snippets
    ///
    /// The tree is written beside DIR and renamed into place, so a web server serving DIR sees the old tree or
    /// the new one, never half of one. An existing DIR must be such a tree (it has boot.ipxe) or empty.
    Render {
        /// The inventory (TOML, or JSON)
        #[arg(long, short = 'i', value_name = "FILE")]
        inventory: PathBuf,
        /// Where the tree goes
        #[arg(long, short = 'o', value_name = "DIR")]
        output: PathBuf,
        /// Where the tree is served (http:// or https://): every URL becomes absolute, as a script embedded into
        /// iPXE needs, and the DHCP snippets are written (they need the entry point's URL)
        #[arg(long, value_name = "URL")]
        base_url: Option<String>,
    },
    /// Check an inventory: a summary on success; every error at once (exit 2) otherwise
    Check {
        /// The inventory (TOML, or JSON)
        #[arg(long, short = 'i', value_name = "FILE")]
        inventory: PathBuf,
    },
    /// Which hosts two inventories boot differently, one line each (`added`, `removed`, `changed NAME (what)`);
    /// exit 0 when none does, 1 when some do, 2 on a bad inventory (as diff does)
    Diff {
        /// The inventory as it was
        old: PathBuf,
        /// The inventory as it is
        new: PathBuf,
    },
}

pub fn run(args: &FleetArgs) -> Result<()> {
    match &args.cmd {
        FleetCmd::Render { inventory, output, base_url } => render(inventory, output, base_url.as_deref()),
        FleetCmd::Check { inventory } => check(inventory),
        FleetCmd::Diff { old, new } => diff_files(old, new),
    }
}

/// Reads and validates an inventory; problems are usage errors, one line each (`prefix` names the file when a
/// command reads two).
fn load(path: &Path, prefix: &str) -> Result<(Inventory, ValidInventory)> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let inv =
        Inventory::parse(&text, Request::detect_format(&text)).map_err(|e| UsageError(vec![format!("{prefix}{e}")]))?;
    let valid = inv.validate().map_err(|errs| UsageError(errs.0.iter().map(|e| format!("{prefix}{e}")).collect()))?;
    for notice in valid.notices(&inv) {
        eprintln!("{prefix}{notice}");
    }
    Ok((inv, valid))
}

fn render(inventory: &Path, output: &Path, base_url: Option<&str>) -> Result<()> {
    let base = match base_url {
        Some(u) => Some(u.parse::<BaseUrl>().map_err(|e| UsageError(vec![format!("--base-url: {e}")]))?),
        None => None,
    };
    let (_, valid) = load(inventory, "")?;
    let files = tree::render(&valid, base.as_ref());
    tree_dir::replace(output, &files, tree::BOOT_SCRIPT)?;
    let macs: usize = valid.hosts().iter().map(|h| h.macs().len()).sum();
    println!(
        "{}: {} files for {} hosts ({macs} MACs) and the default installer{}",
        output.display(),
        files.len(),
        valid.hosts().len(),
        if base.is_some() { "" } else { "; no DHCP snippets without --base-url (they need the entry point's URL)" }
    );
    Ok(())
}

fn check(inventory: &Path) -> Result<()> {
    let (_, valid) = load(inventory, "")?;
    let macs: usize = valid.hosts().iter().map(|h| h.macs().len()).sum();
    let fixed = valid.hosts().iter().filter(|h| h.request().interfaces().iter().any(|i| !i.addresses.is_empty()));
    let d = valid.default_request();
    println!(
        "ok: {} hosts ({macs} MACs, {} with static addresses); netboot {} {} from {}",
        valid.hosts().len(),
        fixed.count(),
        d.arch().as_str(),
        d.channel(),
        d.release().installer.as_str()
    );
    Ok(())
}

fn diff_files(old: &Path, new: &Path) -> Result<()> {
    let (_, a) = load(old, &format!("{}: ", old.display()))?;
    let (_, b) = load(new, &format!("{}: ", new.display()))?;
    let changes = diff(&a, &b);
    for c in &changes {
        println!("{c}");
    }
    if !changes.is_empty() {
        // As diff(1): 1 means "they differ", not a failure.
        std::process::exit(1);
    }
    Ok(())
}
