//! A machine's static network: which interface, its addresses and its routes.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use ipnet::IpNet;

use super::printable_char;
use crate::escape::printable;

/// A MAC address, stored as six bytes and written lower-case with colons (as iPXE and networkd print it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

/// A real interface's MAC: six hex pairs, not all zero, not multicast. Upper or lower case.
impl FromStr for Mac {
    type Err = String;
    fn from_str(s: &str) -> Result<Mac, String> {
        let bad = || format!("`{}` is not a MAC address (expected six hex pairs separated by `:`)", printable(s, 60));
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 6 {
            return Err(bad());
        }
        let mut mac = [0u8; 6];
        for (b, p) in mac.iter_mut().zip(&parts) {
            if p.len() != 2 {
                return Err(bad());
            }
            *b = u8::from_str_radix(p, 16).map_err(|_| bad())?;
        }
        if mac == [0; 6] {
            return Err("00:00:00:00:00:00 is not a real interface's MAC".into());
        }
        if mac[0] & 1 == 1 {
            return Err(format!("{s} is a multicast address, not an interface's MAC"));
        }
        Ok(Mac(mac))
    }
}

/// A Linux interface name (at most 15 bytes of `[A-Za-z0-9_.-]`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IfName(String);
text_type!(IfName);

impl FromStr for IfName {
    type Err = String;
    fn from_str(s: &str) -> Result<IfName, String> {
        if s.is_empty() || s.len() > 15 {
            return Err("an interface name has 1 to 15 characters".into());
        }
        if s == "." || s == ".." {
            return Err("is not a valid interface name".into());
        }
        if let Some(c) = s.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
            return Err(format!("contains `{}`; use letters, digits, `-`, `_` or `.`", printable_char(c)));
        }
        Ok(IfName(s.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InterfaceMatch {
    Mac(Mac),
    Name(IfName),
}

impl fmt::Display for InterfaceMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterfaceMatch::Mac(m) => write!(f, "MAC {m}"),
            InterfaceMatch::Name(n) => write!(f, "name {}", n.as_str()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub matches: InterfaceMatch,
    pub dhcp: bool,
    /// Interface addresses with their prefix length (host bits are the address).
    pub addresses: Vec<IpNet>,
    pub routes: Vec<Route>,
}

impl Interface {
    pub fn ipv4_addresses(&self) -> impl Iterator<Item = (Ipv4Addr, u8)> + '_ {
        self.addresses.iter().filter_map(|a| match a {
            IpNet::V4(n) => Some((n.addr(), n.prefix_len())),
            IpNet::V6(_) => None,
        })
    }
    /// The IPv4 default gateway, if a route sets one.
    pub fn ipv4_default_gateway(&self) -> Option<Ipv4Addr> {
        self.routes.iter().find_map(|r| match (&r.destination, r.gateway) {
            (Destination::Default, Some(IpAddr::V4(g))) => Some(g),
            _ => None,
        })
    }

    /// An interface address in CIDR notation: a host address (not the network or broadcast address of a subnet
    /// of /30 or wider), not unspecified, multicast or loopback.
    pub fn parse_address(s: &str) -> Result<IpNet, String> {
        if !s.contains('/') {
            return Err(format!(
                "`{}` has no prefix length; write it as CIDR, e.g. 192.0.2.10/24 or 2001:db8::10/64",
                printable(s, 60)
            ));
        }
        let net: IpNet = s.parse().map_err(|_| format!("`{}` is not an address in CIDR notation", printable(s, 60)))?;
        if net.addr().is_unspecified() || net.addr().is_multicast() || net.addr().is_loopback() {
            return Err(format!("{} cannot be an interface address", net.addr()));
        }
        if let IpNet::V4(v4) = net {
            if v4.prefix_len() < 31 && (v4.addr() == v4.network() || v4.addr() == v4.broadcast()) {
                return Err(format!(
                    "{} is the {} address of {}; use a host address",
                    v4.addr(),
                    if v4.addr() == v4.network() { "network" } else { "broadcast" },
                    v4.trunc()
                ));
            }
        }
        Ok(net)
    }
}

/// An IPv4 or IPv6 address (a gateway, a nameserver).
pub fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.parse::<IpAddr>().map_err(|_| format!("`{}` is not an IPv4 or IPv6 address", printable(s, 60)))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// The default route of the gateway's address family.
    Default,
    /// A network with its host bits clear.
    Net(IpNet),
}

/// `default`, or a network in CIDR notation with its host bits clear.
impl FromStr for Destination {
    type Err = String;
    fn from_str(s: &str) -> Result<Destination, String> {
        if s == "default" {
            return Ok(Destination::Default);
        }
        let net: IpNet = s.parse().map_err(|_| {
            format!("`{}` is not `default` or a network in CIDR notation (e.g. 10.0.0.0/8)", printable(s, 60))
        })?;
        if net != net.trunc() {
            return Err(format!("{s} has host bits set; the network is {}", net.trunc()));
        }
        Ok(Destination::Net(net))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub destination: Destination,
    pub gateway: Option<IpAddr>,
    pub on_link: bool,
}

impl Route {
    /// `0.0.0.0/0`, `::/0` or the network, for formats that need an explicit destination.
    pub fn destination_cidr(&self) -> String {
        match (&self.destination, self.gateway) {
            (Destination::Net(n), _) => n.to_string(),
            (Destination::Default, Some(IpAddr::V6(_))) => "::/0".into(),
            (Destination::Default, _) => "0.0.0.0/0".into(),
        }
    }
}
