//! `restore-network`: the machine's `ip --json` state, as systemd-networkd units for the installer.
//!
//! Each ethernet link becomes one unit matched by its MAC (names change across a kexec, MACs do not), with DHCP and
//! router advertisements on, its static addresses, its static routes (routes of protocol `kernel`, `dhcp` and `ra`
//! come back by themselves), `GatewayOnLink=yes` for onlink gateways, IPv4 routes via IPv6 gateways, and the most
//! recent DHCPv4 lease asked for again (`[DHCPv4] RequestAddress=`).
//!
//! What a MAC match cannot express is never written silently wrong; it is skipped or adapted with a warning:
//! - loopback: nothing to restore (a note);
//! - links without a MAC (tun, WireGuard, ...): skipped, with a warning when they carried static configuration;
//! - ports of a bond or bridge: skipped (their master holds the configuration);
//! - bonds and bridges: the installer does not recreate them; their configuration goes to the NIC that carries
//!   their MAC, with a warning naming it (or saying that no port does);
//! - VLANs, macvlans and other links stacked on another one (`link` names a link that does not name them back, as
//!   a veth peer would): skipped with a warning; the installer does not create them, and a VLAN's unit (same MAC as
//!   its parent) would configure the parent;
//! - duplicate MACs among the remaining links: all of them skipped, with a warning;
//! - routes of a link that is not restored, multipath routes, routes of other tables or types: warnings.
//!
//! IPv6 gateways on the link-local network (`fe80::1`) need their device; they are fine here because every unit
//! belongs to one link.
//!
//! Unit names are `01-nixos-images-restore-<mac>.network`: deterministic, and sorting after both the request's
//! `00-00-nixos-images-NNN.network` units and the machine's own networkd units (`networkd/iface/00-<link>.*`),
//! since networkd applies the first unit that matches a link.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::net::{IpAddr, Ipv4Addr};

use serde_json::Value;

use super::iproute::{self, Addr, Dump, Link, Route, Scope};
use crate::model::Mac;

/// The prefix of every unit restore-network writes (stale ones with it are removed from the output directory).
pub const UNIT_PREFIX: &str = "01-nixos-images-restore-";
pub const UNIT_SUFFIX: &str = ".network";

/// The result: units to write, and what could not be restored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restored {
    pub units: Vec<Unit>,
    /// Configuration that is lost or changed: printed on stderr, in the summary and in the unit concerned.
    pub warnings: Vec<String>,
    /// Things skipped on purpose that lose nothing (loopback, unconfigured links without MAC).
    pub notes: Vec<String>,
    /// Routes of protocol kernel/dhcp/ra left out (they come back by themselves).
    pub dropped_dynamic_routes: usize,
}

/// One `.network` unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// `01-nixos-images-restore-525400123456.network`
    pub file_name: String,
    pub contents: String,
    /// The link it was made from, as messages name it.
    pub link: String,
    pub mac: Mac,
    pub addresses: usize,
    pub routes: usize,
    pub request_address: Option<Ipv4Addr>,
}

/// The unit file name for a MAC.
pub fn unit_file_name(mac: Mac) -> String {
    let hex: String = mac.0.iter().map(|b| format!("{b:02x}")).collect();
    format!("{UNIT_PREFIX}{hex}{UNIT_SUFFIX}")
}

/// Whether a file name is one restore-network writes (so it may remove it when it is stale).
pub fn is_unit_file_name(name: &str) -> bool {
    name.strip_prefix(UNIT_PREFIX)
        .and_then(|rest| rest.strip_suffix(UNIT_SUFFIX))
        .is_some_and(|hex| hex.len() == 12 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What happens to one link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Restore { warning: Option<String> },
    Skip { why: String, loses_config: bool },
}

/// The whole job: dumps in, units out. `None` for a route dump that is missing.
pub fn restore(addrs: &Value, routes_v4: Option<&Value>, routes_v6: Option<&Value>) -> Restored {
    restore_dump(iproute::read(addrs, routes_v4, routes_v6))
}

/// Decides what happens to each link of a dump (shared with `preflight`).
pub fn verdicts(dump: &Dump) -> Vec<Verdict> {
    let links = &dump.links;
    let has_routes =
        |l: &Link| l.name.as_ref().is_some_and(|n| dump.routes.iter().any(|r| r.dev.as_deref() == Some(n.as_str())));
    let mut verdicts: Vec<Verdict> = links.iter().map(|l| verdict(l, links, has_routes(l))).collect();

    // Two restored links with one MAC: a MAC match cannot tell them apart.
    let mut by_mac: BTreeMap<Mac, Vec<usize>> = BTreeMap::new();
    for (i, l) in links.iter().enumerate() {
        if let (Verdict::Restore { .. }, Some(mac)) = (&verdicts[i], l.mac) {
            by_mac.entry(mac).or_default().push(i);
        }
    }
    for (mac, idx) in by_mac.into_iter().filter(|(_, idx)| idx.len() > 1) {
        let names: Vec<String> = idx.iter().map(|&i| links[i].label()).collect();
        for &i in &idx {
            verdicts[i] = Verdict::Skip {
                why: format!(
                    "{} share the MAC {mac}, so a unit matching it could configure the wrong one; none of them is \
                     restored",
                    names.join(", ")
                ),
                loses_config: has_config(&links[i], has_routes(&links[i])),
            };
        }
    }
    verdicts
}

fn has_config(l: &Link, has_routes: bool) -> bool {
    has_routes || l.addrs.iter().any(|a| !a.dynamic && a.scope == Scope::Global)
}

fn verdict(l: &Link, links: &[Link], has_routes: bool) -> Verdict {
    let label = l.label();
    let loses_config = has_config(l, has_routes);
    let skip = |why: String| Verdict::Skip { why, loses_config };
    if l.loopback {
        return Verdict::Skip { why: format!("{label} is the loopback link"), loses_config: false };
    }
    let ports: Vec<&Link> = match &l.name {
        Some(n) => links.iter().filter(|p| p.master.as_deref() == Some(n.as_str())).collect(),
        None => vec![],
    };
    let kind = l.kind.as_deref();
    if let Some(master) = &l.master {
        return skip(format!("{label} is a port of {master}, which holds the configuration"));
    }
    let Some(mac) = l.mac else {
        let t = l.link_type.as_deref().unwrap_or("unknown");
        return skip(format!("{label} has no MAC address (link type {t}), so no unit can match it"));
    };
    let parent = l.parent.as_deref().and_then(|p| iproute::find(links, p));
    let stacked_kind = matches!(kind, Some("vlan" | "macvlan" | "macvtap" | "ipvlan" | "ipvtap" | "vxlan"));
    // A veth names its peer, which names it back; a VLAN or macvlan names the link under it, which does not.
    let names_back = |p: &Link| l.name.as_ref().is_some_and(|n| p.parent.as_deref() == Some(n.as_str()));
    if stacked_kind || parent.is_some_and(|p| !names_back(p)) {
        let what = match kind {
            Some(k) => format!("a {k} link"),
            None => "a link stacked on another one (a VLAN?)".into(),
        };
        let on = l.parent.as_deref().map(|p| format!(" on {p}")).unwrap_or_default();
        return skip(format!(
            "{label} is {what}{on}; the installer does not create it, and a unit matching its MAC would configure \
             the link under it instead"
        ));
    }
    let is_master = !ports.is_empty() || l.master_flag || matches!(kind, Some("bond" | "bridge" | "team"));
    if is_master {
        let what = match kind {
            Some(k) => format!("a {k}"),
            None if l.master_flag => "a bond".into(),
            None => "a bridge or bond".into(),
        };
        let port_names: Vec<String> = ports.iter().map(|p| p.label()).collect();
        let carrier = ports.iter().find(|p| p.perm_mac.or(p.mac) == Some(mac));
        let ports_text = if port_names.is_empty() { String::new() } else { format!(" of {}", port_names.join(", ")) };
        let warning = match carrier {
            Some(p) => format!(
                "{label} is {what}{ports_text}; the installer does not recreate it, so its configuration goes to the \
                 NIC with its MAC {mac} ({})",
                p.label()
            ),
            None => format!(
                "{label} is {what}{ports_text}; the installer does not recreate it, and no port has its MAC {mac}, \
                 so its configuration may match no link (the installer then uses DHCP)"
            ),
        };
        return Verdict::Restore { warning: Some(warning) };
    }
    Verdict::Restore { warning: None }
}

fn restore_dump(dump: Dump) -> Restored {
    let verdicts = verdicts(&dump);
    let mut out = Restored {
        warnings: dump.warnings.clone(),
        dropped_dynamic_routes: dump.dropped_dynamic_routes,
        ..Restored::default()
    };
    let mut restored_names: BTreeMap<&str, usize> = BTreeMap::new();
    let mut skipped_names: BTreeMap<&str, &str> = BTreeMap::new();
    for (l, v) in dump.links.iter().zip(&verdicts) {
        match (v, l.mac) {
            (Verdict::Restore { warning }, Some(mac)) => {
                if let Some(w) = warning {
                    out.warnings.push(w.clone());
                }
                if let Some(n) = &l.name {
                    restored_names.insert(n.as_str(), out.units.len());
                }
                // Filled below; a placeholder keeps the index.
                out.units.push(Unit {
                    file_name: unit_file_name(mac),
                    contents: String::new(),
                    link: l.label(),
                    mac,
                    addresses: 0,
                    routes: 0,
                    request_address: None,
                });
            }
            // A restored link always has a MAC (see `verdict`).
            (Verdict::Restore { .. }, None) => {}
            (Verdict::Skip { why, loses_config }, _) => {
                if let Some(n) = &l.name {
                    skipped_names.insert(n.as_str(), why);
                }
                if *loses_config {
                    out.warnings.push(format!("{why}; its static addresses and routes are not restored"));
                } else {
                    out.notes.push(format!("{why}; nothing to restore"));
                }
            }
        }
    }

    let mut routes_of: Vec<Vec<&Route>> = vec![vec![]; out.units.len()];
    for r in &dump.routes {
        let dev = r.dev.as_deref();
        match dev.and_then(|d| restored_names.get(d)) {
            Some(&i) => {
                if !routes_of[i].contains(&r) {
                    routes_of[i].push(r)
                }
            }
            None => match dev {
                None => out.warnings.push(format!("route {r} has no device; not restored")),
                Some(d) => match skipped_names.get(d) {
                    // The link's own warning says why; loopback and port routes are rare and listed too.
                    Some(_) => out.warnings.push(format!("route {r} is not restored: {d} is not restored")),
                    None => out
                        .warnings
                        .push(format!("route {r} is on {d}, which is not in the address dump; not restored")),
                },
            },
        }
    }

    let mut index = 0;
    for (l, v) in dump.links.iter().zip(&verdicts) {
        let (Verdict::Restore { warning }, Some(_)) = (v, l.mac) else { continue };
        let unit = &mut out.units[index];
        write_unit(unit, l, warning.as_deref(), &routes_of[index]);
        index += 1;
    }
    out.units.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    out
}

fn write_unit(unit: &mut Unit, l: &Link, warning: Option<&str>, routes: &[&Route]) {
    let mut u = String::new();
    // Writing into a String cannot fail.
    let _ = writeln!(
        u,
        "# {}: restored by nixos-images-agent restore-network from the machine's `ip --json` state",
        unit.link
    );
    if let Some(w) = warning {
        let _ = writeln!(u, "# warning: {w}");
    }
    let _ = writeln!(u, "[Match]\nMACAddress={}\n", unit.mac);
    u.push_str("[Network]\nDHCP=yes\nIPv6AcceptRA=yes\n");
    let statics: Vec<&Addr> = l.static_addrs().filter(|a| a.scope == Scope::Global).collect();
    for a in statics.iter().filter(|a| a.peer.is_none() && !a.noprefixroute) {
        let _ = writeln!(u, "Address={}", a.net);
    }
    for a in statics.iter().filter(|a| a.peer.is_some() || a.noprefixroute) {
        let _ = writeln!(u, "\n[Address]\nAddress={}", a.net);
        if let Some(p) = a.peer {
            let _ = writeln!(u, "Peer={p}");
        }
        if a.noprefixroute {
            u.push_str("AddPrefixRoute=no\n");
        }
    }
    unit.addresses = statics.len();
    for r in routes {
        let _ = writeln!(u, "\n[Route]\nDestination={}", r.destination);
        if let Some(g) = r.gateway {
            let _ = writeln!(u, "Gateway={g}");
        }
        if r.onlink && r.gateway.is_some() {
            u.push_str("GatewayOnLink=yes\n");
        }
        if let Some(src) = r.prefsrc {
            let _ = writeln!(u, "PreferredSource={src}");
        }
        if let Some(m) = r.metric {
            let _ = writeln!(u, "Metric={m}");
        }
    }
    unit.routes = routes.len();
    // The lease with the longest lifetime left is the most recent one.
    let lease = l
        .addrs
        .iter()
        .filter(|a| a.dynamic && a.scope == Scope::Global)
        .filter_map(|a| match a.net.addr() {
            IpAddr::V4(v4) => Some((a.lifetime, v4)),
            IpAddr::V6(_) => None,
        })
        .fold(None::<(u64, Ipv4Addr)>, |best, cur| match best {
            Some(b) if b.0 >= cur.0 => Some(b),
            _ => Some(cur),
        });
    if let Some((_, addr)) = lease {
        let _ = writeln!(u, "\n[DHCPv4]\nRequestAddress={addr}");
        unit.request_address = Some(addr);
    }
    unit.contents = u;
}

impl Restored {
    /// A few lines for people: one per unit, then the counts.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        for u in &self.units {
            let _ = write!(
                s,
                "{}: {} ({}), {} static address{}, {} route{}",
                u.file_name,
                u.link,
                u.mac,
                u.addresses,
                if u.addresses == 1 { "" } else { "es" },
                u.routes,
                if u.routes == 1 { "" } else { "s" }
            );
            if let Some(a) = u.request_address {
                let _ = write!(s, ", DHCPv4 asks for {a} again");
            }
            s.push('\n');
        }
        let _ = writeln!(
            s,
            "{} unit{}, {} warning{}, {} dynamic route{} left to DHCP/RA/the kernel",
            self.units.len(),
            if self.units.len() == 1 { "" } else { "s" },
            self.warnings.len(),
            if self.warnings.len() == 1 { "" } else { "s" },
            self.dropped_dynamic_routes,
            if self.dropped_dynamic_routes == 1 { "" } else { "s" },
        );
        s
    }
}

/// The sections and keys restore-network may write, per section (systemd.network(5)). All exist in systemd 252
/// except `[DHCPv4] RequestAddress=` (253 and later; older networkds ignore it with a warning, as the seed's units).
pub const NETWORKD_KEYS: &[(&str, &[&str])] = &[
    ("Match", &["MACAddress"]),
    ("Network", &["DHCP", "IPv6AcceptRA", "Address"]),
    ("Address", &["Address", "Peer", "AddPrefixRoute"]),
    ("Route", &["Destination", "Gateway", "GatewayOnLink", "PreferredSource", "Metric"]),
    ("DHCPv4", &["RequestAddress"]),
];

/// Checks a unit's syntax against [`NETWORKD_KEYS`]: comments, blank lines, `[Section]` headers and `Key=value`
/// lines only, known keys in their sections, values that networkd parses (addresses, networks, MACs, yes/no,
/// numbers). Used by the tests; networkd itself ignores what it does not know, which would hide a mistake.
pub fn check_unit_syntax(unit: &str) -> Result<(), String> {
    let mut section: Option<&str> = None;
    let mut sections = BTreeSet::new();
    for (n, line) in unit.lines().enumerate() {
        let n = n + 1;
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if !NETWORKD_KEYS.iter().any(|(s, _)| *s == name) {
                return Err(format!("line {n}: unknown section [{name}]"));
            }
            // [Address] and [Route] repeat; the others appear once.
            if !matches!(name, "Address" | "Route") && !sections.insert(name) {
                return Err(format!("line {n}: section [{name}] twice"));
            }
            section = Some(name);
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {n}: neither a comment, a section nor Key=value: {line:?}"));
        };
        let Some(section) = section else { return Err(format!("line {n}: {key}= outside any section")) };
        let keys = NETWORKD_KEYS.iter().find(|(s, _)| *s == section).map(|(_, k)| *k).unwrap_or_default();
        if !keys.contains(&key) {
            return Err(format!("line {n}: unknown key {key} in [{section}]"));
        }
        let ok = match key {
            "MACAddress" => value.parse::<crate::model::Mac>().is_ok(),
            "DHCP" | "IPv6AcceptRA" | "GatewayOnLink" | "AddPrefixRoute" => matches!(value, "yes" | "no"),
            "Address" | "Peer" | "Destination" => value.parse::<ipnet::IpNet>().is_ok(),
            "Gateway" | "PreferredSource" => value.parse::<IpAddr>().is_ok(),
            "RequestAddress" => value.parse::<Ipv4Addr>().is_ok(),
            "Metric" => value.parse::<u32>().is_ok(),
            _ => false,
        };
        if !ok {
            return Err(format!("line {n}: {key}={value:?} is not a valid value"));
        }
    }
    if !sections.contains("Match") || !sections.contains("Network") {
        return Err("a unit needs [Match] and [Network]".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::{json, Map, Value};

    use super::*;

    /// The request's last possible unit: every restored unit must sort after it.
    const LAST_REQUEST_UNIT: &str = "00-00-nixos-images-999.network";

    fn check_invariants(r: &Restored) {
        let mut names = BTreeSet::new();
        for u in &r.units {
            assert!(u.file_name.as_str() > LAST_REQUEST_UNIT, "{} sorts before the request's units", u.file_name);
            assert!(is_unit_file_name(&u.file_name), "{}", u.file_name);
            assert!(names.insert(u.file_name.clone()), "{} twice", u.file_name);
            if let Err(e) = check_unit_syntax(&u.contents) {
                panic!("{}: {e}\n{}", u.file_name, u.contents);
            }
        }
        for w in r.warnings.iter().chain(&r.notes) {
            assert!(!w.contains('\n'), "a message spans lines: {w:?}");
        }
    }

    /// Strings an `ip --json` dump holds, plus hostile ones.
    fn word() -> impl Strategy<Value = String> {
        prop_oneof![
            prop::sample::select(vec![
                "default",
                "inet",
                "inet6",
                "link",
                "host",
                "global",
                "onlink",
                "kernel",
                "dhcp",
                "ra",
                "static",
                "boot",
                "eth0",
                "br0",
                "lo",
                "loopback",
                "ether",
                "none",
                "vlan",
                "bond",
                "bridge",
                "MASTER",
                "LOOPBACK",
                "52:54:00:12:34:56",
                "52:54:00:12:34:57",
                "00:00:00:00:00:00",
                "192.0.2.10",
                "fe80::1",
                "2001:db8::/64",
                "10.0.0.0/8",
                "198.51.100.7",
                "::/0",
                "0.0.0.0/0",
                "unicast",
                "blackhole",
                "main",
                "eth0\n[Network]\nDNS=1.1.1.1",
                "",
            ])
            .prop_map(str::to_string),
            ".{0,12}",
        ]
    }

    const KEYS: &[&str] = &[
        "ifname",
        "address",
        "permaddr",
        "link_type",
        "master",
        "link",
        "linkinfo",
        "info_kind",
        "flags",
        "addr_info",
        "family",
        "local",
        "prefixlen",
        "scope",
        "dynamic",
        "noprefixroute",
        "valid_life_time",
        "preferred_life_time",
        "dst",
        "gateway",
        "dev",
        "protocol",
        "metric",
        "prefsrc",
        "via",
        "host",
        "type",
        "table",
        "nexthops",
    ];

    fn arbitrary_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            (0u64..200).prop_map(|n| json!(n)),
            any::<f64>().prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            word().prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 96, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((prop::sample::select(KEYS).prop_map(str::to_string), inner), 0..8)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<String, Value>>())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn never_panics_on_any_json(addrs in arbitrary_json(), v4 in arbitrary_json(), v6 in arbitrary_json()) {
            check_invariants(&restore(&addrs, Some(&v4), Some(&v6)));
            check_invariants(&restore(&addrs, None, None));
        }

        #[test]
        fn never_panics_on_lists_of_links(
            links in prop::collection::vec(arbitrary_json(), 0..6),
            routes in prop::collection::vec(arbitrary_json(), 0..6),
        ) {
            let (addrs, routes) = (Value::Array(links), Value::Array(routes));
            check_invariants(&restore(&addrs, Some(&routes), Some(&routes)));
        }
    }

    #[test]
    fn unit_names_are_deterministic_and_recognised() {
        let mac = Mac([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
        assert_eq!(unit_file_name(mac), "01-nixos-images-restore-525400123456.network");
        assert!(is_unit_file_name(&unit_file_name(mac)));
        assert!(!is_unit_file_name("00-00-nixos-images-000.network"));
        assert!(!is_unit_file_name("01-nixos-images-restore-52540012345.network"));
        // After the machine's own networkd units (`00-<link>.network`) too.
        assert!(unit_file_name(mac).as_str() > "00-zzzzzzzzzzzzzzz.network");
    }

    #[test]
    fn the_syntax_check_rejects_what_networkd_would_ignore() {
        let good = "[Match]\nMACAddress=52:54:00:12:34:56\n\n[Network]\nDHCP=yes\n";
        assert_eq!(check_unit_syntax(good), Ok(()));
        for bad in [
            "[Match]\nMACAddress=52:54:00:12:34:56\n\n[Network]\nDHCP=maybe\n",
            "[Match]\nName=eth0\n\n[Network]\nDHCP=yes\n",
            "[Match]\nMACAddress=52:54:00:12:34:56\n\n[Network]\nDNS=1.1.1.1\n",
            "[Match]\nMACAddress=52:54:00:12:34:56\n",
            "[Match]\nMACAddress=52:54:00:12:34:56\n[Network]\nDHCP=yes\n[Route]\nGateway=fe80::1%eth0\n",
            "[Match]\nMACAddress=52:54:00:12:34:56\n[Network]\nDHCP=yes\nnonsense\n",
        ] {
            assert!(check_unit_syntax(bad).is_err(), "accepted:\n{bad}");
        }
    }
}
