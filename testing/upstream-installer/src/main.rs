//! `upstream-installer`: the stand-in's steps as a program, for the boot tests' upstream-shaped stage 2.
//!
//! - `copy-state FROM SYSROOT`: what upstream's initrd service copies ([`upstream_installer::copy_state`]);
//! - `restore-network ADDRS ROUTES_V4 ROUTES_V6 DIR`: the units its restore script writes;
//! - `apply-network DIR`: what networkd would do with those units on this machine, through `ip` (addresses and
//!   routes of the link whose MAC a unit matches, the first such unit per link); the guests have no networkd.

use std::fs;
use std::path::Path;
use std::process::{exit, Command};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["copy-state", from, sysroot] => {
            upstream_installer::copy_state(Path::new(from), Path::new(sysroot)).map_err(|e| format!("copy-state: {e}"))
        }
        ["restore-network", addrs, v4, v6, dir] => restore(addrs, v4, v6, dir),
        ["apply-network", dir] => apply(dir),
        _ => Err(
            "usage: upstream-installer copy-state FROM SYSROOT | restore-network ADDRS V4 V6 DIR | apply-network DIR"
                .to_string(),
        ),
    };
    if let Err(e) = result {
        eprintln!("upstream-installer: {e}");
        exit(1);
    }
}

fn read(path: &str) -> Result<String, String> {
    fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))
}

fn restore(addrs: &str, v4: &str, v6: &str, dir: &str) -> Result<(), String> {
    let units = upstream_installer::restore_network(&read(addrs)?, &read(v4)?, &read(v6)?)?;
    fs::create_dir_all(dir).map_err(|e| format!("{dir}: {e}"))?;
    for (name, unit) in units {
        fs::write(Path::new(dir).join(&name), unit).map_err(|e| format!("{name}: {e}"))?;
    }
    Ok(())
}

/// The link whose MAC is `mac`, by its name in /sys/class/net.
fn link_with_mac(mac: &str) -> Option<String> {
    fs::read_dir("/sys/class/net").ok()?.flatten().find_map(|e| {
        let address = fs::read_to_string(e.path().join("address")).ok()?;
        address.trim().eq_ignore_ascii_case(mac).then(|| e.file_name().to_string_lossy().into_owned())
    })
}

fn ip(args: &[&str]) -> Result<(), String> {
    let status = Command::new("ip").args(args).status().map_err(|e| format!("ip: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("ip {} failed ({status})", args.join(" ")))
    }
}

fn apply(dir: &str) -> Result<(), String> {
    let mut names: Vec<_> = fs::read_dir(dir).map_err(|e| format!("{dir}: {e}"))?.flatten().map(|e| e.path()).collect();
    names.sort();
    // As networkd does, the first unit (in name order) that matches a link configures it; later ones are skipped.
    let mut configured: Vec<String> = vec![];
    for path in names {
        let unit = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let Some(mac) = unit.lines().find_map(|l| l.strip_prefix("MACAddress=")) else { continue };
        let Some(link) = link_with_mac(mac) else { continue };
        if configured.contains(&link) {
            continue;
        }
        configured.push(link.clone());
        ip(&["link", "set", &link, "up"])?;
        // Sections in order: [Network] addresses, then each [Route] (Destination, Gateway, GatewayOnLink).
        let mut routes: Vec<(Option<String>, Option<String>, bool)> = vec![];
        let mut section = "";
        for line in unit.lines() {
            if line.starts_with('[') {
                section = line;
                if section == "[Route]" {
                    routes.push((None, None, false));
                }
                continue;
            }
            match (section, line.split_once('=')) {
                ("[Network]", Some(("Address", a))) => {
                    let mut args = vec!["addr", "add", a, "dev", link.as_str()];
                    if a.contains(':') {
                        // No duplicate address detection: the address is usable at once, as on a real link.
                        args.push("nodad");
                    }
                    ip(&args)?;
                }
                ("[Route]", Some((key, value))) => {
                    let r = routes.last_mut().expect("in a [Route] section");
                    match key {
                        "Destination" => r.0 = Some(value.to_string()),
                        "Gateway" => r.1 = Some(value.to_string()),
                        "GatewayOnLink" => r.2 = value == "yes",
                        _ => {}
                    }
                }
                _ => {}
            }
        }
        for (destination, gateway, on_link) in routes {
            let Some(gateway) = gateway else { continue };
            let v6 = destination.as_deref().map_or(gateway.contains(':'), |d| d.contains(':'));
            let destination = destination.unwrap_or_else(|| "default".into());
            let mut args = vec![if v6 { "-6" } else { "-4" }, "route", "add", destination.as_str(), "via"];
            if !v6 && gateway.contains(':') {
                args.push("inet6");
            }
            args.extend([gateway.as_str(), "dev", link.as_str()]);
            if on_link {
                args.push("onlink");
            }
            ip(&args)?;
        }
    }
    Ok(())
}
