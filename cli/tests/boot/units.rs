//! systemd-networkd `.network` units read back into what they mean (the link they match, its static addresses and
//! routes), so units can be compared with a machine's network state rather than as text.

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

/// An address or network with its prefix length, in canonical form (`2001:db8::10/64`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Net(pub IpAddr, pub u8);

impl Net {
    pub fn parse(text: &str) -> Net {
        let (addr, prefix) = text.split_once('/').unwrap_or_else(|| panic!("{text:?} has no prefix length"));
        let addr: IpAddr = addr.parse().unwrap_or_else(|e| panic!("{text:?}: {e}"));
        Net(addr, prefix.parse().unwrap_or_else(|e| panic!("{text:?}: {e}")))
    }

    fn is_default(&self) -> bool {
        self.1 == 0 && self.0.is_unspecified()
    }
}

impl fmt::Display for Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.0, self.1)
    }
}

/// A static route: `default` (of either family) or a network, a gateway, on-link or not.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Route {
    /// `default4`, `default6` or a network.
    pub destination: String,
    pub gateway: Option<IpAddr>,
    pub on_link: bool,
}

impl Route {
    /// `destination` is `default` or a network; `gateway` an address or empty.
    pub fn new(destination: &str, gateway: &str, on_link: bool) -> Route {
        let gateway: Option<IpAddr> = (!gateway.is_empty()).then(|| gateway.parse().unwrap());
        let destination = if destination == "default" {
            match gateway {
                Some(IpAddr::V6(_)) => "default6".to_string(),
                _ => "default4".to_string(),
            }
        } else {
            normalize_destination(&Net::parse(destination))
        };
        Route { destination, gateway, on_link }
    }
}

fn normalize_destination(net: &Net) -> String {
    match (net.is_default(), net.0) {
        (true, IpAddr::V4(_)) => "default4".into(),
        (true, IpAddr::V6(_)) => "default6".into(),
        _ => net.to_string(),
    }
}

/// What a `.network` unit configures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Network {
    pub mac: Option<String>,
    pub name: Option<String>,
    pub dhcp: Option<String>,
    pub addresses: BTreeSet<Net>,
    pub routes: BTreeSet<Route>,
}

pub fn parse(text: &str) -> Network {
    let mut n = Network::default();
    let mut section = String::new();
    let mut route: Option<(Option<Net>, Option<IpAddr>, bool)> = None;
    let finish_route = |route: &mut Option<(Option<Net>, Option<IpAddr>, bool)>, n: &mut Network| {
        if let Some((dest, gateway, on_link)) = route.take() {
            let destination = match (&dest, gateway) {
                (Some(d), _) => normalize_destination(d),
                (None, Some(IpAddr::V6(_))) => "default6".into(),
                (None, _) => "default4".into(),
            };
            n.routes.insert(Route { destination, gateway, on_link });
        }
    };
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            finish_route(&mut route, &mut n);
            section = name.to_string();
            if section == "Route" {
                route = Some((None, None, false));
            }
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        let (key, value) = (key.trim(), value.trim());
        match (section.as_str(), key) {
            ("Match", "MACAddress") => n.mac = Some(value.to_lowercase()),
            ("Match", "Name") => n.name = Some(value.to_string()),
            ("Network", "DHCP") => n.dhcp = Some(value.to_string()),
            ("Network" | "Address", "Address") => {
                n.addresses.insert(Net::parse(value));
            }
            ("Route", "Destination") => {
                if let Some(r) = route.as_mut() {
                    r.0 = Some(Net::parse(value));
                }
            }
            ("Route", "Gateway") => {
                if let Some(r) = route.as_mut() {
                    r.1 = Some(value.parse().unwrap_or_else(|e| panic!("Gateway={value}: {e}")));
                }
            }
            ("Route", "GatewayOnLink") => {
                if let Some(r) = route.as_mut() {
                    r.2 = matches!(value, "yes" | "true" | "1" | "on");
                }
            }
            _ => {}
        }
    }
    finish_route(&mut route, &mut n);
    n
}
