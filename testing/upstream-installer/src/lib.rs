//! A stand-in for nix-community's kexec installer (the "upstream" installer family), for the tests: it reads
//! exactly what that image reads of the cpio the run script appends, and makes the networkd units its restore
//! script would make. Written from the documented behaviour (ARCHITECTURE.md, "Overlay layout v1"),
//! not from its code, so a test that passes here fails when our run script relies on anything more.
//!
//! - [`copy_state`]: the initrd service. `ssh/authorized_keys` to `root/.ssh/`; `ssh/ssh_host_*` to `etc/ssh/`
//!   (with none, the service fails and copies nothing more); the top-level `*.json` to `root/network/`;
//!   `machine-id` to `etc/machine-id`. Nothing else (`nixos-images/`, `iproute2/`, `networkd/`) is read.
//! - [`restore_network`]: the restore script. One `00-<ifname>.network` per `addrs.json` entry that has a MAC and
//!   is not loopback, matched by MAC, always with `DHCP=yes` and `IPv6AcceptRA=yes`; static addresses (scope
//!   link skipped; family, local, prefix length and both lifetimes required); the most recent dynamic IPv4
//!   address as `[DHCPv4] RequestAddress=`; the routes whose `dev` is the entry's `ifname` (protocol dhcp,
//!   kernel and ra dropped; `dst` required, `default` allowed; `gateway`, `via` inet6 and flag `onlink`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::io;
use std::path::Path;

use serde_json::Value;

/// Copies what upstream's initrd service copies from the unpacked initrd (`from`) into the new root (`sysroot`).
/// Fails, like the service under `set -e`, when there is no host key: then nothing after the host keys is copied.
pub fn copy_state(from: &Path, sysroot: &Path) -> io::Result<()> {
    for dir in ["root/.ssh", "etc/ssh", "root/network"] {
        fs::create_dir_all(sysroot.join(dir))?;
    }
    let keys = from.join("ssh/authorized_keys");
    if keys.is_file() {
        fs::copy(&keys, sysroot.join("root/.ssh/authorized_keys"))?;
    }
    let mut host_keys = 0;
    for entry in read_dir_sorted(&from.join("ssh"))? {
        let name = entry.to_string_lossy().into_owned();
        if name.starts_with("ssh_host_") {
            fs::copy(from.join("ssh").join(&entry), sysroot.join("etc/ssh").join(&entry))?;
            host_keys += 1;
        }
    }
    if host_keys == 0 {
        return Err(io::Error::new(io::ErrorKind::NotFound, "install: cannot stat 'ssh/ssh_host_*'"));
    }
    for entry in read_dir_sorted(from)? {
        let path = from.join(&entry);
        if path.is_file() && entry.to_string_lossy().ends_with(".json") {
            fs::copy(&path, sysroot.join("root/network").join(&entry))?;
        }
    }
    if from.join("machine-id").is_file() {
        fs::copy(from.join("machine-id"), sysroot.join("etc/machine-id"))?;
    }
    Ok(())
}

fn read_dir_sorted(dir: &Path) -> io::Result<Vec<std::ffi::OsString>> {
    if !dir.is_dir() {
        return Ok(vec![]);
    }
    let mut names: Vec<_> = fs::read_dir(dir)?.map(|e| e.map(|e| e.file_name())).collect::<io::Result<_>>()?;
    names.sort();
    Ok(names)
}

struct Addr {
    text: String,
    ipv4: bool,
    lifetime: u64,
}

/// The units upstream's restore script writes for these dumps: file name to contents. Malformed JSON is an error
/// (the script would crash), missing optional parts are skipped as it skips them.
pub fn restore_network(addrs: &str, routes_v4: &str, routes_v6: &str) -> Result<BTreeMap<String, String>, String> {
    let parse = |what: &str, text: &str| -> Result<Vec<Value>, String> {
        match serde_json::from_str(text).map_err(|e| format!("{what}: {e}"))? {
            Value::Array(a) => Ok(a),
            _ => Err(format!("{what}: not a JSON array")),
        }
    };
    let links = parse("addrs.json", addrs)?;
    let mut routes = parse("routes-v4.json", routes_v4)?;
    routes.extend(parse("routes-v6.json", routes_v6)?);
    routes.retain(|r| !matches!(r.get("protocol").and_then(Value::as_str), Some("dhcp" | "kernel" | "ra")));

    let mut units = BTreeMap::new();
    for link in &links {
        if link.get("link_type").and_then(Value::as_str) == Some("loopback") {
            continue;
        }
        let Some(mac) = link.get("address").and_then(Value::as_str).filter(|m| !m.is_empty()) else {
            continue;
        };
        let ifname = link.get("ifname").and_then(Value::as_str);
        let name = ifname.map(str::to_string).unwrap_or_else(|| mac.replace(':', "-"));
        let (mut statics, mut dynamics) = (Vec::new(), Vec::new());
        for info in link.get("addr_info").and_then(Value::as_array).into_iter().flatten() {
            if info.get("scope").and_then(Value::as_str) == Some("link") {
                continue;
            }
            let (Some(preferred), Some(valid), Some(prefix), Some(local)) = (
                info.get("preferred_life_time").and_then(Value::as_u64),
                info.get("valid_life_time").and_then(Value::as_u64),
                info.get("prefixlen").and_then(Value::as_u64),
                info.get("local").and_then(Value::as_str),
            ) else {
                continue;
            };
            let family = info.get("family").and_then(Value::as_str);
            if !matches!(family, Some("inet" | "inet6")) {
                continue;
            }
            let addr = Addr {
                text: format!("{local}/{prefix}"),
                ipv4: family == Some("inet"),
                lifetime: preferred.max(valid),
            };
            if info.get("dynamic").and_then(Value::as_bool).unwrap_or(false) {
                dynamics.push(addr);
            } else {
                statics.push(addr);
            }
        }
        let mut u = format!("[Match]\nMACAddress={mac}\n\n[Network]\nDHCP=yes\nIPv6AcceptRA=yes\n");
        for a in &statics {
            let _ = writeln!(u, "Address={}", a.text);
        }
        for r in routes.iter().filter(|r| ifname.is_some() && r.get("dev").and_then(Value::as_str) == ifname) {
            let Some(dst) = r.get("dst").and_then(Value::as_str) else { continue };
            u.push_str("\n[Route]\n");
            if dst != "default" {
                let _ = writeln!(u, "Destination={dst}");
            }
            let mut gateway = r.get("gateway").and_then(Value::as_str).map(str::to_string);
            if let Some(via) = r.get("via").filter(|v| v.get("family").and_then(Value::as_str) == Some("inet6")) {
                gateway = via.get("host").and_then(Value::as_str).map(str::to_string);
                if dst == "default" {
                    u.push_str("Destination=0.0.0.0/0\n");
                }
            }
            if let Some(g) = gateway {
                let _ = writeln!(u, "Gateway={g}");
            }
            let onlink = r.get("flags").and_then(Value::as_array).is_some_and(|f| f.iter().any(|x| x == "onlink"));
            if onlink {
                u.push_str("GatewayOnLink=yes\n");
            }
        }
        let lease = dynamics.iter().filter(|a| a.ipv4).max_by_key(|a| a.lifetime);
        if let Some(lease) = lease {
            let address = lease.text.split('/').next().unwrap_or_default();
            let _ = writeln!(u, "\n[DHCPv4]\nRequestAddress={address}");
        }
        units.insert(format!("00-{name}.network"), u);
    }
    Ok(units)
}

/// The host name systemd takes from the kernel command line (`systemd.hostname=`, the last one wins).
pub fn hostname_from_cmdline(cmdline: &str) -> Option<&str> {
    cmdline.split_whitespace().filter_map(|w| w.strip_prefix("systemd.hostname=")).next_back()
}

/// The nameservers systemd-resolved takes from the kernel command line (`nameserver=`).
pub fn nameservers_from_cmdline(cmdline: &str) -> Vec<&str> {
    cmdline.split_whitespace().filter_map(|w| w.strip_prefix("nameserver=")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_follow_the_documented_rules() {
        let addrs = r#"[{"ifname":"lo","link_type":"loopback","address":"00:00:00:00:00:00","addr_info":[]},
            {"ifname":"tun0","addr_info":[{"family":"inet","local":"10.9.0.1","prefixlen":32,"valid_life_time":1,"preferred_life_time":1}]},
            {"ifname":"eth0","address":"52:54:00:00:00:01","addr_info":[
              {"family":"inet","local":"192.0.2.10","prefixlen":24,"valid_life_time":4294967295,"preferred_life_time":4294967295},
              {"family":"inet6","local":"fe80::1","prefixlen":64,"scope":"link","valid_life_time":4294967295,"preferred_life_time":4294967295},
              {"family":"inet","local":"192.0.2.77","prefixlen":24,"dynamic":true,"valid_life_time":3600,"preferred_life_time":3600},
              {"family":"inet","local":"192.0.2.78","prefixlen":24,"dynamic":true,"valid_life_time":60,"preferred_life_time":60},
              {"family":"inet","local":"192.0.2.99","prefixlen":24}]}]"#;
        let v4 = r#"[{"dst":"default","gateway":"172.31.1.1","dev":"eth0","flags":["onlink"]},
            {"dst":"192.0.2.0/24","dev":"eth0","protocol":"kernel"},
            {"dst":"198.51.100.0/24","via":{"family":"inet6","host":"fe80::1"},"dev":"eth0","flags":[]},
            {"dst":"203.0.113.0/24","gateway":"192.0.2.1","dev":"eth1","flags":[]}]"#;
        let units = restore_network(addrs, v4, "[]").unwrap();
        assert_eq!(units.keys().collect::<Vec<_>>(), ["00-eth0.network"]);
        assert_eq!(
            units["00-eth0.network"],
            "[Match]\nMACAddress=52:54:00:00:00:01\n\n[Network]\nDHCP=yes\nIPv6AcceptRA=yes\nAddress=192.0.2.10/24\n\n\
             [Route]\nGateway=172.31.1.1\nGatewayOnLink=yes\n\n[Route]\nDestination=198.51.100.0/24\nGateway=fe80::1\n\n\
             [DHCPv4]\nRequestAddress=192.0.2.77\n"
        );
        assert!(restore_network("{}", "[]", "[]").is_err());
    }

    #[test]
    fn copy_state_stops_without_host_keys() {
        let tmp = std::env::temp_dir().join(format!("upstream-installer-test-{}", std::process::id()));
        let (from, root) = (tmp.join("initrd"), tmp.join("sysroot"));
        fs::create_dir_all(from.join("ssh")).unwrap();
        fs::create_dir_all(from.join("nixos-images")).unwrap();
        fs::write(from.join("ssh/authorized_keys"), "ssh-ed25519 AAAA a@b\n").unwrap();
        fs::write(from.join("addrs.json"), "[]").unwrap();
        fs::write(from.join("nixos-images/hostname"), "web1\n").unwrap();
        assert!(copy_state(&from, &root).is_err());
        assert!(!root.join("root/network/addrs.json").exists());
        fs::write(from.join("ssh/ssh_host_ed25519_key"), "key").unwrap();
        copy_state(&from, &root).unwrap();
        assert!(root.join("root/network/addrs.json").exists() && root.join("etc/ssh/ssh_host_ed25519_key").exists());
        assert!(!root.join("etc/hostname").exists());
        fs::remove_dir_all(&tmp).unwrap();
    }

    #[test]
    fn command_line() {
        let c = "init=/nix/store/x/init systemd.hostname=a nameserver=192.0.2.1 systemd.hostname=web1 nameserver=::1";
        assert_eq!(hostname_from_cmdline(c), Some("web1"));
        assert_eq!(nameservers_from_cmdline(c), ["192.0.2.1", "::1"]);
    }
}
