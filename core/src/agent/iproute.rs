//! Reading `ip --json addr` and `ip -4/-6 --json route` dumps into typed links, addresses and routes.
//!
//! The dumps come from whatever machine ran the kexec script, so nothing in them is trusted: every value that reaches
//! a unit is parsed into a typed value here (addresses, MACs, interface names), anything else is dropped with a
//! warning. Works on any `serde_json::Value`, never panics. `ip -details` output is understood too (its `linkinfo`
//! names the kind of a link exactly); without it, the kind is inferred from `master`, `link` and the flags.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

use crate::model::{IfName, Mac};

/// Which address family a route dump holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    fn matches(self, a: IpAddr) -> bool {
        matches!((self, a), (Family::V4, IpAddr::V4(_)) | (Family::V6, IpAddr::V6(_)))
    }

    pub fn default_net(self) -> IpNet {
        match self {
            Family::V4 => "0.0.0.0/0".parse().expect("literal network"),
            Family::V6 => "::/0".parse().expect("literal network"),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::V4 => "IPv4",
            Family::V6 => "IPv6",
        }
    }
}

/// One entry of `ip --json addr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Position in the dump (for messages about links without a usable name).
    pub position: usize,
    /// The interface name, if it is a well-formed Linux name.
    pub name: Option<IfName>,
    /// The link's current MAC, if it has a usable one (not missing, not all zeros, not multicast).
    pub mac: Option<Mac>,
    /// `permaddr`: the burned-in MAC, printed by `ip` when it differs from the current one (bond ports).
    pub perm_mac: Option<Mac>,
    /// `link_type` (`ether`, `loopback`, `none`, ...), printable.
    pub link_type: Option<String>,
    pub loopback: bool,
    /// `master`: the bond, bridge or team this link is a port of.
    pub master: Option<String>,
    /// `link`: the link this one sits on (VLAN, macvlan) or its veth peer.
    pub parent: Option<String>,
    /// `linkinfo.info_kind` (with `ip -details` only): `vlan`, `bond`, `bridge`, `veth`, ...
    pub kind: Option<String>,
    /// The `MASTER` flag (bonds and teams set it; bridges do not).
    pub master_flag: bool,
    /// Addresses that could be read, in dump order.
    pub addrs: Vec<Addr>,
}

impl Link {
    /// How messages name this link: its name, or its position in the dump.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => n.as_str().to_string(),
            None => format!("link #{} of the dump", self.position + 1),
        }
    }

    pub fn static_addrs(&self) -> impl Iterator<Item = &Addr> {
        self.addrs.iter().filter(|a| !a.dynamic)
    }

    fn name_is(&self, name: &str) -> bool {
        self.name.as_ref().is_some_and(|n| n.as_str() == name)
    }
}

/// Address scope, as far as restoring is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    /// `scope link` (fe80::/10, 169.254/16): the kernel makes them again.
    Link,
    /// `scope host` (127/8 and friends): only meaningful on loopback.
    Host,
}

/// One entry of a link's `addr_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    /// The address with its prefix length (`local`/`prefixlen`).
    pub net: IpNet,
    /// `address` when it differs from `local`: the other end of a point-to-point address.
    pub peer: Option<IpNet>,
    pub scope: Scope,
    /// Set by DHCP, SLAAC or with a finite lifetime: not restored as a static address.
    pub dynamic: bool,
    pub noprefixroute: bool,
    /// The larger of the valid and preferred lifetimes, in seconds (0 when not given).
    pub lifetime: u64,
}

/// Where a route sends packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub family: Family,
    /// Position in its dump.
    pub position: usize,
    /// `default` is read as 0.0.0.0/0 or ::/0; a bare address as a host route.
    pub destination: IpNet,
    pub dev: Option<String>,
    /// `gateway`, or `via.host` (an IPv4 route via an IPv6 gateway).
    pub gateway: Option<IpAddr>,
    pub onlink: bool,
    pub metric: Option<u32>,
    pub prefsrc: Option<IpAddr>,
    /// `protocol`, printable (`kernel`, `dhcp`, `ra`, `static`, `boot` when missing, ...).
    pub protocol: String,
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.destination.prefix_len() == 0 {
            f.write_str("default")?;
        } else {
            write!(f, "{}", self.destination)?;
        }
        if let Some(g) = self.gateway {
            write!(f, " via {g}")?;
        }
        if let Some(d) = &self.dev {
            write!(f, " dev {d}")?;
        }
        Ok(())
    }
}

/// The dumps, read: every link and every route that could be understood, plus what could not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dump {
    pub links: Vec<Link>,
    pub routes: Vec<Route>,
    /// Routes that are not restored by design, by protocol (`kernel`, `dhcp`, `ra`): counted for the summary.
    pub dropped_dynamic_routes: usize,
    /// Entries that could not be read, one message each.
    pub warnings: Vec<String>,
}

/// Route protocols whose routes come back by themselves (from an address's prefix, DHCP or RA).
pub const DYNAMIC_ROUTE_PROTOCOLS: &[&str] = &["kernel", "dhcp", "ra"];

/// Reads `ip --json addr` and the two route dumps. `None` for a route dump that is missing.
pub fn read(addrs: &Value, routes_v4: Option<&Value>, routes_v6: Option<&Value>) -> Dump {
    let mut dump = Dump::default();
    match addrs.as_array() {
        Some(entries) => {
            for (position, entry) in entries.iter().enumerate() {
                match read_link(position, entry, &mut dump.warnings) {
                    Some(link) => dump.links.push(link),
                    None => dump
                        .warnings
                        .push(format!("entry #{} of the address dump is not a link object; ignored", position + 1)),
                }
            }
        }
        None => dump.warnings.push(format!(
            "the address dump is {}, not a list of links (`ip --json addr`); no link can be restored",
            describe(addrs)
        )),
    }
    for (family, value) in [(Family::V4, routes_v4), (Family::V6, routes_v6)] {
        let Some(value) = value else { continue };
        match value.as_array() {
            Some(entries) => {
                for (position, entry) in entries.iter().enumerate() {
                    read_route(family, position, entry, &mut dump);
                }
            }
            None => dump.warnings.push(format!(
                "the {} route dump is {}, not a list of routes; no {} route is restored",
                family.name(),
                describe(value),
                family.name()
            )),
        }
    }
    dump
}

fn read_link(position: usize, v: &Value, warnings: &mut Vec<String>) -> Option<Link> {
    let obj = v.as_object()?;
    let name = str_field(v, "ifname").and_then(|n| n.parse::<IfName>().ok());
    let mut link = Link {
        position,
        name,
        mac: str_field(v, "address").and_then(|m| m.parse::<Mac>().ok()),
        perm_mac: str_field(v, "permaddr").and_then(|m| m.parse::<Mac>().ok()),
        link_type: str_field(v, "link_type").map(printable),
        loopback: false,
        master: str_field(v, "master").map(printable),
        parent: str_field(v, "link").map(printable),
        kind: v.get("linkinfo").and_then(|li| str_field(li, "info_kind")).map(printable),
        master_flag: false,
        addrs: vec![],
    };
    let flags: BTreeSet<&str> =
        obj.get("flags").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    link.master_flag = flags.contains("MASTER");
    link.loopback = link.link_type.as_deref() == Some("loopback") || flags.contains("LOOPBACK");
    if str_field(v, "ifname").is_some() && link.name.is_none() {
        warnings.push(format!(
            "{} has the name {:?}, which is not a usable interface name; it is only identified by its MAC",
            link.label(),
            printable(str_field(v, "ifname").unwrap_or_default())
        ));
    }
    let label = link.label();
    if let Some(infos) = obj.get("addr_info") {
        match infos.as_array() {
            Some(infos) => {
                for (i, info) in infos.iter().enumerate() {
                    match read_addr(info) {
                        Ok(Some(a)) => {
                            if !link.addrs.contains(&a) {
                                link.addrs.push(a)
                            }
                        }
                        Ok(None) => {}
                        Err(why) => warnings.push(format!("{label}: address #{} {why}; ignored", i + 1)),
                    }
                }
            }
            None => warnings.push(format!("{label}: addr_info is {}, not a list; no address read", describe(infos))),
        }
    }
    Some(link)
}

/// `Ok(None)` for entries that are not addresses of a restorable family (ip prints none such today).
fn read_addr(v: &Value) -> Result<Option<Addr>, String> {
    if !v.is_object() {
        return Err(format!("is {}, not an object", describe(v)));
    }
    let family = match str_field(v, "family") {
        Some("inet") => Family::V4,
        Some("inet6") => Family::V6,
        Some(_) => return Ok(None),
        None => return Err("has no family".into()),
    };
    let local = str_field(v, "local").ok_or("has no `local` address")?;
    let local: IpAddr = local.parse().map_err(|_| format!("has `local` {:?}, not an address", printable(local)))?;
    if !family.matches(local) {
        return Err(format!("has `local` {local} in the wrong family"));
    }
    let max = if family == Family::V4 { 32 } else { 128 };
    let prefix = v
        .get("prefixlen")
        .and_then(Value::as_u64)
        .filter(|p| *p <= max)
        .ok_or_else(|| format!("of {local} has no valid prefix length"))?;
    // Fits: prefix <= 128.
    let prefix = prefix as u8;
    let net = IpNet::new(local, prefix).map_err(|_| format!("{local}/{prefix} is not an address with a prefix"))?;
    let peer = match str_field(v, "address").map(|p| p.parse::<IpAddr>()) {
        Some(Ok(p)) if p != local && family.matches(p) => {
            Some(IpNet::new(p, prefix).map_err(|_| format!("peer {p}/{prefix} is not an address with a prefix"))?)
        }
        Some(Ok(_)) | None => None,
        Some(Err(_)) => return Err(format!("of {local} has a peer that is not an address")),
    };
    let scope = match v.get("scope").and_then(Value::as_str) {
        Some("link") => Scope::Link,
        Some("host") => Scope::Host,
        _ => Scope::Global,
    };
    let truthy = |k: &str| v.get(k).is_some_and(|x| x.as_bool().unwrap_or(!x.is_null()));
    let lifetime = |k: &str| v.get(k).and_then(Value::as_u64).unwrap_or(0);
    Ok(Some(Addr {
        net,
        peer,
        scope,
        dynamic: truthy("dynamic"),
        noprefixroute: truthy("noprefixroute"),
        lifetime: lifetime("valid_life_time").max(lifetime("preferred_life_time")),
    }))
}

fn read_route(family: Family, position: usize, v: &Value, dump: &mut Dump) {
    let what = format!("{} route #{}", family.name(), position + 1);
    if !v.is_object() {
        dump.warnings.push(format!("{what} is {}, not an object; ignored", describe(v)));
        return;
    }
    let protocol = match v.get("protocol") {
        None => "boot".to_string(),
        Some(Value::String(p)) => printable(p),
        Some(other) => printable(&other.to_string()),
    };
    if DYNAMIC_ROUTE_PROTOCOLS.contains(&protocol.as_str()) {
        dump.dropped_dynamic_routes += 1;
        return;
    }
    let destination = match str_field(v, "dst") {
        Some("default") => family.default_net(),
        Some(d) => match parse_destination(d) {
            Some(net) if family.matches(net.addr()) => net.trunc(),
            _ => {
                dump.warnings.push(format!(
                    "{what} has destination {:?}, not a {} network; ignored",
                    printable(d),
                    family.name()
                ));
                return;
            }
        },
        None => {
            dump.warnings.push(format!("{what} has no destination; ignored"));
            return;
        }
    };
    let mut describe_route = destination.to_string();
    if destination.prefix_len() == 0 {
        describe_route = "default".into();
    }
    if let Some(t) = str_field(v, "type").filter(|t| *t != "unicast") {
        dump.warnings.push(format!(
            "{what} ({describe_route}) is of type {}, which restore-network does not write; not restored",
            printable(t)
        ));
        return;
    }
    if let Some(table) = v.get("table").filter(|t| t.as_str() != Some("main")) {
        dump.warnings.push(format!(
            "{what} ({describe_route}) is in routing table {}, not main; not restored",
            printable(&table.as_str().map_or_else(|| table.to_string(), str::to_string))
        ));
        return;
    }
    if v.get("nexthops").is_some() {
        dump.warnings.push(format!(
            "{what} ({describe_route}) is a multipath route; not restored (write it in the request's interfaces)"
        ));
        return;
    }
    let gateway = if let Some(via) = v.get("via") {
        match str_field(via, "host").and_then(|h| h.parse::<IpAddr>().ok()) {
            Some(g) => Some(g),
            None => {
                dump.warnings.push(format!("{what} ({describe_route}) has an unreadable `via`; not restored"));
                return;
            }
        }
    } else {
        match str_field(v, "gateway").map(str::parse::<IpAddr>) {
            Some(Ok(g)) => Some(g),
            Some(Err(_)) => {
                dump.warnings.push(format!("{what} ({describe_route}) has an unreadable gateway; not restored"));
                return;
            }
            None => None,
        }
    };
    if let (Family::V6, Some(IpAddr::V4(g))) = (family, gateway) {
        dump.warnings.push(format!(
            "{what} ({describe_route}) goes via the IPv4 gateway {g}, which networkd cannot express; not restored"
        ));
        return;
    }
    let flags: BTreeSet<&str> =
        v.get("flags").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).collect();
    dump.routes.push(Route {
        family,
        position,
        destination,
        dev: str_field(v, "dev").map(printable),
        gateway,
        onlink: flags.contains("onlink"),
        metric: v.get("metric").and_then(Value::as_u64).and_then(|m| u32::try_from(m).ok()),
        prefsrc: str_field(v, "prefsrc").and_then(|p| p.parse::<IpAddr>().ok()).filter(|p| family.matches(*p)),
        protocol,
    });
}

/// `192.0.2.0/24`, or a bare address (ip prints host routes without `/32`).
fn parse_destination(s: &str) -> Option<IpNet> {
    if s.contains('/') {
        s.parse().ok()
    } else {
        s.parse::<IpAddr>().ok().map(IpNet::from)
    }
}

fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// What kind of JSON value this is, for messages.
fn describe(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A string from the dump, safe to print on one line: control characters replaced, at most 40 characters.
pub fn printable(s: &str) -> String {
    let mut out: String = s.chars().take(40).map(|c| if c.is_control() { '?' } else { c }).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

/// The link named `name` in the dump, if any.
pub fn find<'a>(links: &'a [Link], name: &str) -> Option<&'a Link> {
    links.iter().find(|l| l.name_is(name))
}

/// What /sys/class/net/NAME tells about a link (the agent's fallback when there is no `ip` with `--json`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SysfsLink {
    pub name: String,
    /// `address`
    pub address: Option<String>,
    /// `bonding_slave/perm_hwaddr` (bond ports)
    pub perm_address: Option<String>,
    /// `type`: the ARPHRD number (1 ethernet, 772 loopback, 65534 none)
    pub arphrd_type: Option<u32>,
    /// Where the `master` link points (its last component)
    pub master: Option<String>,
    /// The `lower_<name>` entry of a stacked link (VLAN)
    pub lower: Option<String>,
    /// `DEVTYPE=` of `uevent` (`vlan`, `bond`, `bridge`, ...)
    pub devtype: Option<String>,
    /// A `bonding/` directory: a bond
    pub bond: bool,
    /// A `bridge/` directory: a bridge
    pub bridge: bool,
}

/// The same [`Link`] that `ip --json addr` would give, as far as sysfs tells (no addresses).
pub fn sysfs_link(position: usize, s: SysfsLink) -> Link {
    let kind = if s.bond {
        Some("bond".to_string())
    } else if s.bridge {
        Some("bridge".to_string())
    } else {
        s.devtype.as_deref().map(printable)
    };
    let link_type = match s.arphrd_type {
        Some(1) => Some("ether".to_string()),
        Some(772) => Some("loopback".to_string()),
        Some(65534) => Some("none".to_string()),
        Some(n) => Some(n.to_string()),
        None => None,
    };
    Link {
        position,
        name: s.name.parse::<IfName>().ok(),
        mac: s.address.as_deref().and_then(|m| m.parse::<Mac>().ok()),
        perm_mac: s.perm_address.as_deref().and_then(|m| m.parse::<Mac>().ok()),
        loopback: s.arphrd_type == Some(772),
        link_type,
        master: s.master.as_deref().map(printable),
        parent: s.lower.as_deref().map(printable),
        kind,
        master_flag: s.bond,
        addrs: vec![],
    }
}
