//! The iPXE script for netboot requests.
//!
//! The kernel's `init=` store path is only known to the release that built the initrd, so this script does not
//! boot a kernel itself: it configures the network, registers the overlay as an extra initrd, sets `cmdline` and
//! chains the release's own `netboot-<arch>.ipxe`, whose kernel line ends with `${cmdline}`. Images fetched before
//! a `chain` stay registered, so the release's `boot` hands the overlay to the kernel.

use std::net::{IpAddr, Ipv4Addr};

use askama::Template;

use crate::model::{BaseUrl, InterfaceMatch};
use crate::overlay_layout::OVERLAY_FILE_NAME;
use crate::{Artifact, ValidRequest};

/// The release asset name of the official netboot script for an arch.
pub fn release_script_name(arch: crate::Arch) -> String {
    crate::manifest::AssetKind::NetbootIpxe.file_name(arch)
}

struct Nic {
    index: usize,
    mac: String,
    ip: Option<StaticIp>,
}

struct StaticIp {
    address: Ipv4Addr,
    netmask: Ipv4Addr,
    gateway: Option<Ipv4Addr>,
    dns: Option<Ipv4Addr>,
}

#[derive(Template)]
#[template(path = "netboot.ipxe", escape = "none")]
struct Script {
    generated_by: String,
    release_url: String,
    release_script: String,
    overlay: &'static str,
    /// Where the overlay is fetched from: its name (relative to the script's URL) or under an absolute base.
    overlay_url: String,
    overlay_base: Option<String>,
    cmdline: String,
    nics: Vec<Nic>,
}

pub fn render(req: &ValidRequest) -> Artifact {
    render_at(req, None)
}

/// The script with the overlay fetched from `overlay_base` (absolute) instead of next to the script: a script
/// embedded into an iPXE build has no URL of its own for a relative one to resolve against.
pub fn render_at(req: &ValidRequest, overlay_base: Option<&BaseUrl>) -> Artifact {
    let dns = req.nameservers.iter().find_map(|n| match n {
        IpAddr::V4(v4) => Some(*v4),
        IpAddr::V6(_) => None,
    });
    // iPXE can only act on NICs it can identify (by MAC); interfaces matched by Linux name are for the installer.
    let nics = req
        .interfaces
        .iter()
        .enumerate()
        .filter_map(|(index, iface)| {
            let InterfaceMatch::Mac(mac) = iface.matches else {
                return None;
            };
            let ip = if iface.dhcp {
                None
            } else {
                // Validation guarantees an IPv4 address on every non-DHCP netboot interface.
                iface.ipv4_addresses().next().map(|(address, prefix)| StaticIp {
                    address,
                    netmask: netmask(prefix),
                    gateway: iface.ipv4_default_gateway(),
                    dns,
                })
            };
            Some(Nic { index, mac: mac.to_string(), ip })
        })
        .collect();
    let script = Script {
        generated_by: super::generated_by(req),
        release_url: format!("{}/{}", req.release.base_url, req.release.tag),
        release_script: release_script_name(req.arch),
        overlay: OVERLAY_FILE_NAME,
        overlay_url: match overlay_base {
            Some(base) => format!("{}/{OVERLAY_FILE_NAME}", base.as_str()),
            None => OVERLAY_FILE_NAME.to_string(),
        },
        overlay_base: overlay_base.map(|b| b.as_str().to_string()),
        cmdline: super::cmdline::line(req),
        nics,
    };
    // Rendering a template into a String only fails if a Display impl fails, and ours do not.
    let text = script.render().expect("iPXE template renders");
    Artifact::single("netboot.ipxe", 0o644, squeeze_blank_lines(&text))
}

fn netmask(prefix: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0))
}

/// Template control lines leave runs of blank lines; keep at most one.
pub(crate) fn squeeze_blank_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        if line.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn netmasks() {
        assert_eq!(super::netmask(32).to_string(), "255.255.255.255");
        assert_eq!(super::netmask(24).to_string(), "255.255.255.0");
        assert_eq!(super::netmask(0).to_string(), "0.0.0.0");
    }
}
