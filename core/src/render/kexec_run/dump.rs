//! The request's interfaces as `ip --json` dump entries, which the run script puts in place of the machine's live
//! state for their MACs. Upstream's installer builds its networkd units from the dumps alone: one unit per
//! `addrs.json` entry, matched by its `address` (the MAC), with the static `addr_info` entries as addresses and the
//! routes whose `dev` is the entry's `ifname`.
//!
//! Each entry is named `nixos-images-<index>`, a name no live link has, so its routes attach to it alone. An
//! interface matched by name has its MAC written as `@MAC<index>@`: the script puts in the MAC the name has on
//! the machine.

use std::fmt::Write;

use crate::model::{Destination, InterfaceMatch};
use crate::ValidRequest;

/// The kernel's "forever" lifetime: upstream's restore script requires both lifetimes on every address.
const FOREVER: u32 = u32::MAX;

fn entry_name(index: usize) -> String {
    format!("nixos-images-{index}")
}

/// `index mac name` per interface (`-` for the one it is not matched by), for the script's `while read`.
pub fn interface_lines(req: &ValidRequest) -> String {
    let mut out = String::new();
    for (i, iface) in req.interfaces.iter().enumerate() {
        let _ = match &iface.matches {
            InterfaceMatch::Mac(m) => writeln!(out, "{i} {m} -"),
            InterfaceMatch::Name(n) => writeln!(out, "{i} - {}", n.as_str()),
        };
    }
    out
}

/// One `addrs.json` entry per interface, one a line.
pub fn addr_entries(req: &ValidRequest) -> String {
    let mut out = String::new();
    for (i, iface) in req.interfaces.iter().enumerate() {
        let mac = match &iface.matches {
            InterfaceMatch::Mac(m) => m.to_string(),
            InterfaceMatch::Name(_) => format!("@MAC{i}@"),
        };
        let infos: Vec<String> = iface
            .addresses
            .iter()
            .map(|a| {
                let family = if a.addr().is_ipv4() { "inet" } else { "inet6" };
                format!(
                    r#"{{"family":"{family}","local":"{}","prefixlen":{},"scope":"global","valid_life_time":{FOREVER},"preferred_life_time":{FOREVER}}}"#,
                    a.addr(),
                    a.prefix_len()
                )
            })
            .collect();
        let _ = writeln!(
            out,
            r#"{{"ifname":"{}","address":"{mac}","link_type":"ether","operstate":"UP","addr_info":[{}]}}"#,
            entry_name(i),
            infos.join(",")
        );
    }
    out
}

/// The routes of one family (`ip -4`/`ip -6 --json route` entries), one a line.
pub fn route_entries(req: &ValidRequest, ipv6: bool) -> String {
    let mut out = String::new();
    for (i, iface) in req.interfaces.iter().enumerate() {
        for r in &iface.routes {
            let is_v6 = match (&r.destination, r.gateway) {
                (Destination::Net(n), _) => n.addr().is_ipv6(),
                (Destination::Default, Some(g)) => g.is_ipv6(),
                (Destination::Default, None) => false,
            };
            if is_v6 != ipv6 {
                continue;
            }
            let dst = match &r.destination {
                Destination::Default => "default".to_string(),
                Destination::Net(n) => n.to_string(),
            };
            let gateway = match r.gateway {
                Some(g) => format!(r#","gateway":"{g}""#),
                None => String::new(),
            };
            let scope = if r.gateway.is_none() { r#","scope":"link""# } else { "" };
            let flags = if r.on_link { r#"["onlink"]"# } else { "[]" };
            let _ = writeln!(
                out,
                r#"{{"dst":"{dst}"{gateway},"dev":"{}","protocol":"static"{scope},"flags":{flags}}}"#,
                entry_name(i)
            );
        }
    }
    out
}
