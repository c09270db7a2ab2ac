//! `preflight [--json] [--initrd FILE] [--proc DIR] [--sys DIR]`: gathers the facts, core decides.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use nixos_images_core::agent::iproute::{self, SysfsLink};
use nixos_images_core::agent::preflight::{self, Facts, NetworkFacts};
use serde_json::Value;

use crate::PreflightArgs;

/// The `SecureBoot` variable of the EFI global-variable GUID.
const SECURE_BOOT_VAR: &str = "firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e9e5d8f5b1e9";

pub fn run(args: &PreflightArgs) -> Result<i32> {
    let facts = gather(args);
    let report = preflight::evaluate(&facts);
    if args.json {
        let json = serde_json::to_string_pretty(&report).context("writing the report")?;
        println!("{json}");
    }
    // The summary (stderr, so --json output stays clean); its last line is the verdict, which kexec/run shows.
    eprint!("{}", report.summary());
    Ok(if report.ok { 0 } else { 1 })
}

fn gather(args: &PreflightArgs) -> Facts {
    let proc = args.proc.as_path();
    let sys = args.sys.clone().unwrap_or_else(|| PathBuf::from("/sys"));
    let read = |p: PathBuf| fs::read_to_string(p).ok();
    let container = match fs::read(proc.join("1/environ")).ok().and_then(|e| preflight::container_from_environ(&e)) {
        Some(c) => Some(c),
        // OpenVZ/Virtuozzo containers have /proc/vz but not the host's /proc/bc.
        None if proc.join("vz").exists() && !proc.join("bc").exists() => Some("openvz".into()),
        None => None,
    };
    Facts {
        mem_total_kib: read(proc.join("meminfo")).and_then(|m| preflight::mem_total_kib(&m)),
        initrd: args.initrd.as_ref().map(|p| {
            fs::metadata(p).map_err(|e| format!("{}: {e}", p.display())).and_then(|m| {
                if m.is_file() {
                    Ok(m.len())
                } else {
                    Err(format!("{} is not a file", p.display()))
                }
            })
        }),
        kernel_release: read(proc.join("sys/kernel/osrelease")),
        kexec_load_disabled: read(proc.join("sys/kernel/kexec_load_disabled")).map(|s| s.trim() == "1"),
        kexec_load_limit_reboot: read(proc.join("sys/kernel/kexec_load_limit_reboot"))
            .and_then(|s| s.trim().parse().ok()),
        kexec_supported: sys.join("kernel").is_dir().then(|| sys.join("kernel/kexec_loaded").exists()),
        lockdown: read(sys.join("kernel/security/lockdown")),
        efi: sys.join("firmware/efi").is_dir(),
        secure_boot_var: fs::read(sys.join(SECURE_BOOT_VAR)).ok(),
        container,
        network: network(args, &sys),
    }
}

fn network(args: &PreflightArgs, sys: &Path) -> NetworkFacts {
    if args.sys.is_none() {
        if let Some(addrs) = ip_json(&["-details", "-json", "addr"]) {
            return NetworkFacts::Ip {
                addrs,
                routes_v4: ip_json(&["-4", "-json", "route"]),
                routes_v6: ip_json(&["-6", "-json", "route"]),
            };
        }
    }
    match sysfs_links(&sys.join("class/net")) {
        Some(links) => NetworkFacts::Sysfs(links),
        None => NetworkFacts::Unavailable,
    }
}

/// `ip ARGS`, parsed; `None` when there is no `ip` or it has no JSON output (busybox).
fn ip_json(args: &[&str]) -> Option<Value> {
    let out = Command::new("ip").args(args).stdin(Stdio::null()).stderr(Stdio::null()).output().ok()?;
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// The links of /sys/class/net, with what sysfs says about their kind.
fn sysfs_links(dir: &Path) -> Option<Vec<iproute::Link>> {
    let mut names: Vec<String> =
        fs::read_dir(dir).ok()?.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let links = names
        .iter()
        .enumerate()
        .map(|(position, name)| {
            let d = dir.join(name);
            let read = |f: &str| fs::read_to_string(d.join(f)).ok().map(|s| s.trim().to_string());
            let link_name =
                |f: &Path| fs::read_link(f).ok().and_then(|t| t.file_name().map(|n| n.to_string_lossy().into_owned()));
            let lower = fs::read_dir(&d).ok().and_then(|entries| {
                entries
                    .filter_map(|e| e.ok())
                    .find_map(|e| e.file_name().to_string_lossy().strip_prefix("lower_").map(str::to_string))
            });
            let devtype =
                read("uevent").and_then(|u| u.lines().find_map(|l| l.strip_prefix("DEVTYPE=").map(str::to_string)));
            iproute::sysfs_link(
                position,
                SysfsLink {
                    name: name.clone(),
                    address: read("address"),
                    perm_address: read("bonding_slave/perm_hwaddr"),
                    arphrd_type: read("type").and_then(|t| t.parse().ok()),
                    master: link_name(&d.join("master")),
                    lower,
                    devtype,
                    bond: d.join("bonding").is_dir(),
                    bridge: d.join("bridge").is_dir(),
                },
            )
        })
        .collect();
    Some(links)
}
