//! `nixos-images-agent`: the static helper the nixos-images installers carry in their initrd and system.
//!
//! - `restore-network`: the machine's `ip --json` state (saved by kexec/run) as systemd-networkd units.
//! - `apply-overlay`: installs the overlay (layout v1) into the target root.
//! - `preflight`: what kexec/run checks before it changes anything.
//! - `watchdog`: the installer's rollback watchdog (reboot unless someone logs in over SSH in time).
//!
//! All decisions are made in `nixos_images_core::agent` (pure); this binary reads and writes files. Errors are one
//! line: `nixos-images-agent: error: <what>: <cause>`.

mod apply_overlay;
mod preflight;
mod restore_network;
mod safe_fs;
mod watchdog;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// The nixos-images in-image agent: restores network configuration, applies the config overlay, checks a machine
/// before a kexec, reboots an installer nobody reached.
#[derive(Debug, Parser)]
#[command(name = "nixos-images-agent", version, max_term_width = 100)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    RestoreNetwork(RestoreNetworkArgs),
    ApplyOverlay(ApplyOverlayArgs),
    Preflight(PreflightArgs),
    Watchdog(watchdog::WatchdogArgs),
}

/// Turn `ip --json` dumps into systemd-networkd units (one per link, matched by MAC).
///
/// Writes `01-nixos-images-restore-<mac>.network` files into OUT_DIR (and removes stale ones of that name).
/// Warnings go to stderr, a summary to stdout. A missing or unreadable route dump is a warning; an unreadable
/// address dump is an error.
#[derive(Debug, clap::Args)]
pub struct RestoreNetworkArgs {
    /// `ip --json addr` output (or `ip -details --json addr`).
    pub addrs_json: PathBuf,
    /// `ip -4 --json route` output.
    pub routes_v4_json: PathBuf,
    /// `ip -6 --json route` output.
    pub routes_v6_json: PathBuf,
    /// Where the units go (created if missing).
    pub out_dir: PathBuf,
}

/// Install the config overlay (layout v1) into a target root.
///
/// Root's authorized keys are merged, SSH host keys, machine-id, networkd units, host name and nameservers
/// installed, and the `ip --json` dumps copied to root/network/ for restore-network. Idempotent; refuses unknown
/// layout versions, unsafe names and symbolic links in the target that could lead outside it.
#[derive(Debug, clap::Args)]
pub struct ApplyOverlayArgs {
    /// The target root (e.g. /sysroot or /mnt-root).
    #[arg(long, value_name = "DIR")]
    pub root: PathBuf,
    /// Where the overlay was unpacked (the initrd's root, where the kernel unpacked the cpio).
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub overlay_dir: PathBuf,
}

/// Check whether a kexec can go ahead on this machine (RAM, kernel, lockdown, network).
///
/// Exit code 0 when it can (warnings allowed), 1 when it would fail, with the reason as the last line on stderr.
/// `--json` prints the report (schema `nixos-images-agent/preflight/v1`, see ARCHITECTURE.md) on stdout.
#[derive(Debug, clap::Args)]
pub struct PreflightArgs {
    /// Print the machine-readable report on stdout (the summary still goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// The initrd kexec will load (its size sets how much RAM the installer needs).
    #[arg(long, value_name = "FILE")]
    pub initrd: Option<PathBuf>,
    /// Where procfs is mounted (for tests).
    #[arg(long, value_name = "DIR", default_value = "/proc")]
    pub proc: PathBuf,
    /// Where sysfs is mounted (for tests). When given, the network is read from DIR/class/net, not from `ip`.
    #[arg(long, value_name = "DIR")]
    pub sys: Option<PathBuf>,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::RestoreNetwork(args) => restore_network::run(&args),
        Cmd::ApplyOverlay(args) => apply_overlay::run(&args),
        Cmd::Preflight(args) => preflight::run(&args),
        Cmd::Watchdog(args) => watchdog::run(&args),
    };
    match result {
        Ok(code) => std::process::exit(code),
        Err(err) => {
            // One line: the outermost context, then each cause.
            let chain: Vec<String> = err.chain().map(|c| c.to_string()).collect();
            eprintln!("nixos-images-agent: error: {}", chain.join(": "));
            std::process::exit(1);
        }
    }
}

/// Prints a warning on stderr, on one line.
pub fn warn(message: &str) {
    eprintln!("nixos-images-agent: warning: {}", message.replace('\n', " "));
}
