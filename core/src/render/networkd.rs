//! systemd-networkd `.network` units, one per configured interface.
//!
//! Names start with `00-00-` so they sort before the units the installer's restore-network service writes
//! (`00-<ifname>.network`): networkd applies the first file that matches a link.

use std::fmt::Write;

use crate::model::{Destination, Interface, InterfaceMatch};
use crate::{Artifact, ArtifactFile, ValidRequest};

/// The unit name (without `.network`) for the interface at `index`.
pub fn unit_name(index: usize) -> String {
    format!("00-00-nixos-images-{index:03}")
}

pub fn render(req: &ValidRequest) -> Artifact {
    let files = req
        .interfaces
        .iter()
        .enumerate()
        .map(|(i, iface)| ArtifactFile {
            path: format!("{}.network", unit_name(i)),
            mode: 0o644,
            contents: unit(req, i, iface).into_bytes(),
        })
        .collect();
    Artifact { files }
}

fn unit(req: &ValidRequest, index: usize, iface: &Interface) -> String {
    let mut u = String::new();
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    // Writing into a String cannot fail.
    let _ = writeln!(u, "# interfaces[{index}], {}", super::generated_by(req));
    u.push_str("[Match]\n");
    let _ = match &iface.matches {
        InterfaceMatch::Mac(m) => writeln!(u, "MACAddress={m}"),
        InterfaceMatch::Name(n) => writeln!(u, "Name={}", n.as_str()),
    };
    u.push_str("\n[Network]\n");
    let _ = writeln!(u, "DHCP={}", yes_no(iface.dhcp));
    let _ = writeln!(u, "IPv6AcceptRA={}", yes_no(iface.dhcp));
    for a in &iface.addresses {
        let _ = writeln!(u, "Address={a}");
    }
    for n in &req.nameservers {
        let _ = writeln!(u, "DNS={n}");
    }
    for r in &iface.routes {
        u.push_str("\n[Route]\n");
        if let Destination::Net(net) = &r.destination {
            let _ = writeln!(u, "Destination={net}");
        }
        if let Some(g) = r.gateway {
            let _ = writeln!(u, "Gateway={g}");
        }
        if r.on_link {
            u.push_str("GatewayOnLink=yes\n");
        }
    }
    u
}
