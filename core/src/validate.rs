//! `Request -> ValidRequest`: parse every field once, collect every error with its field path.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::model::*;
use crate::request::{InterfaceRequest, Request, RouteRequest};
use crate::ssh_key::{describe_char, parse_authorized_key};

/// The kernel's `COMMAND_LINE_SIZE` on x86 and arm64; iPXE and kexec silently truncate longer lines.
pub const KERNEL_CMDLINE_LIMIT: usize = 2048;

/// Bytes kept free for what the release adds to the command line: `init=/nix/store/<hash>-nixos-system-.../init`
/// (about 90 bytes), the release's own parameters (about 250 bytes in the seed's images) and `initrd=` names.
pub const RELEASE_CMDLINE_RESERVE: usize = 400;

/// What the request may add to the kernel command line.
pub const REQUEST_CMDLINE_BUDGET: usize = KERNEL_CMDLINE_LIMIT - RELEASE_CMDLINE_RESERVE;

/// The longest kexec delay a request may ask for.
pub const MAX_KEXEC_DELAY_SECONDS: u32 = 3600;

/// The current stable NixOS release, named once here: the flake's `nixos-stable` input (flake.nix cannot import
/// it; cli/tests/nix_modules.rs checks that it names this one), the stable channel `build` builds, and the newest
/// release this version knows of. Bump it each May and November.
pub const CURRENT_STABLE: Channel = Channel::Release { year: 26, month: 11 };

/// Newest NixOS release this version knows of; a newer `nixos-YY.MM` is rejected rather than guessed at.
pub const NEWEST_KNOWN_RELEASE: (u8, u8) = match CURRENT_STABLE {
    Channel::Release { year, month } => (year, month),
    Channel::Unstable => panic!("the current stable is a release"),
};

/// Oldest release with the `YY.05`/`YY.11` schedule (before 21.05 releases were in March and September).
pub(crate) const OLDEST_RELEASE: (u8, u8) = (21, 5);

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// `interfaces[0].routes[1].gateway`
    pub path: String,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem found in a request, in field order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl ValidationErrors {
    /// The errors for one field path (for the web form's inline messages).
    pub fn for_field<'a>(&'a self, path: &'a str) -> impl Iterator<Item = &'a FieldError> + 'a {
        self.0.iter().filter(move |e| e.path == path)
    }
}

#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError { path: path.into(), message: message.into() });
    }
    /// Records the error of a parse and returns the value, if any.
    fn take<T>(&mut self, path: impl Into<String>, result: Result<T, String>) -> Option<T> {
        result.map_err(|m| self.add(path, m)).ok()
    }
}

impl Request {
    /// Validates every field and returns either a request every renderer can use or all the problems at once.
    pub fn validate(&self) -> Result<ValidRequest, ValidationErrors> {
        let mut errs = Errors::default();
        let image = errs.take("image", self.image.parse::<ImageKind>());
        let arch = errs.take("arch", self.arch.parse::<Arch>());
        let channel = errs.take("channel", self.channel.parse::<Channel>());
        let hostname = match &self.hostname {
            Some(h) => errs.take("hostname", parse_hostname(h)),
            None => None,
        };
        let ssh_authorized_keys: Vec<_> = self
            .ssh_authorized_keys
            .iter()
            .enumerate()
            .filter_map(|(i, k)| errs.take(format!("ssh_authorized_keys[{i}]"), parse_authorized_key(k)))
            .collect();
        let mut seen_keys = HashMap::new();
        for (i, k) in ssh_authorized_keys.iter().enumerate() {
            if let Some(first) = seen_keys.insert(k.as_str().to_string(), i) {
                errs.add(format!("ssh_authorized_keys[{i}]"), format!("the same key line is already at index {first}"));
            }
        }
        let kernel_params: Vec<_> = self
            .kernel_params
            .iter()
            .enumerate()
            .filter_map(|(i, p)| errs.take(format!("kernel_params[{i}]"), parse_kernel_param(p)))
            .collect();
        let nameservers: Vec<_> = self
            .nameservers
            .iter()
            .enumerate()
            .filter_map(|(i, n)| errs.take(format!("nameservers[{i}]"), parse_ip(n)))
            .collect();
        let release = self.validate_release(&mut errs);
        let interfaces = self.validate_interfaces(&mut errs);
        let kexec = self.validate_kexec(&mut errs);

        if let (Some(image), Some(interfaces)) = (image, &interfaces) {
            check_netboot_network(image, interfaces, &mut errs);
        }
        if let Some(image) = image {
            let cmdline = crate::kernel_cmdline::CmdlineParts {
                image,
                installer: release.as_ref().map(|r| r.installer).unwrap_or_default(),
                hostname: hostname.as_ref().map(Hostname::as_str),
                nameservers: nameservers.iter().map(IpAddr::to_string),
                params: kernel_params.iter().map(KernelParam::as_str),
            }
            .line();
            check_cmdline_length(&cmdline, &mut errs);
        }

        if !errs.0.is_empty() {
            return Err(ValidationErrors(errs.0));
        }
        // Every `None` above recorded an error, so all values are present here.
        let valid = ValidRequest {
            image: image.expect("checked"),
            arch: arch.expect("checked"),
            channel: channel.expect("checked"),
            hostname,
            ssh_authorized_keys,
            kernel_params,
            nameservers,
            release: release.expect("checked"),
            interfaces: interfaces.expect("checked"),
            kexec: kexec.expect("checked"),
        };
        if self.strict {
            // Strict: a field the installer would ignore is an error, not a warning.
            let ignored: Vec<FieldError> = crate::effects::notices(&valid)
                .into_iter()
                .filter(|n| n.severity == crate::effects::Severity::Warning)
                .map(|n| FieldError { path: n.path, message: format!("{} (strict)", n.message) })
                .collect();
            if !ignored.is_empty() {
                return Err(ValidationErrors(ignored));
            }
        }
        Ok(valid)
    }

    fn validate_release(&self, errs: &mut Errors) -> Option<Release> {
        let before = errs.0.len();
        let base_url = match &self.release.base_url {
            Some(u) => errs.take("release.base_url", parse_base_url(u)),
            None => Some(DEFAULT_RELEASE_BASE_URL.to_string()),
        };
        let tag = match &self.release.tag {
            Some(t) => errs.take("release.tag", parse_tag(t)),
            None => Some(self.channel.clone()).filter(|c| parse_tag(c).is_ok()),
        };
        let sha = match &self.release.kexec_tarball_sha256 {
            Some(s) => errs.take("release.kexec_tarball_sha256", parse_sha256(s)).map(Some),
            None => Some(None),
        };
        let installer = match &self.release.installer {
            Some(i) => errs.take("release.installer", i.parse::<Installer>()),
            None => Some(Installer::default()),
        };
        if errs.0.len() != before {
            return None;
        }
        Some(Release { base_url: base_url?, tag: tag?, kexec_tarball_sha256: sha?, installer: installer? })
    }

    fn validate_interfaces(&self, errs: &mut Errors) -> Option<Vec<Interface>> {
        let before = errs.0.len();
        let mut out = Vec::new();
        let mut seen: HashMap<InterfaceMatch, usize> = HashMap::new();
        for (i, iface) in self.interfaces.iter().enumerate() {
            let path = format!("interfaces[{i}]");
            let Some(parsed) = validate_interface(&path, iface, errs) else {
                continue;
            };
            if let Some(first) = seen.insert(parsed.matches.clone(), i) {
                let field = match parsed.matches {
                    InterfaceMatch::Mac(_) => "match_mac",
                    InterfaceMatch::Name(_) => "match_name",
                };
                errs.add(
                    format!("{path}.{field}"),
                    format!("{} is already matched by interfaces[{first}]", parsed.matches),
                );
            }
            out.push(parsed);
        }
        (errs.0.len() == before).then_some(out)
    }

    fn validate_kexec(&self, errs: &mut Errors) -> Option<Kexec> {
        let before = errs.0.len();
        if self.kexec.delay_seconds > MAX_KEXEC_DELAY_SECONDS {
            errs.add("kexec.delay_seconds", format!("must be at most {MAX_KEXEC_DELAY_SECONDS} seconds"));
        }
        let extra_flags: Vec<_> = self
            .kexec
            .extra_flags
            .iter()
            .enumerate()
            .filter_map(|(i, f)| errs.take(format!("kexec.extra_flags[{i}]"), parse_kexec_flag(f)))
            .collect();
        (errs.0.len() == before).then_some(Kexec { delay_seconds: self.kexec.delay_seconds, extra_flags })
    }
}

fn validate_interface(path: &str, req: &InterfaceRequest, errs: &mut Errors) -> Option<Interface> {
    let before = errs.0.len();
    let matches = match (&req.match_mac, &req.match_name) {
        (Some(mac), None) => errs.take(format!("{path}.match_mac"), parse_mac(mac)).map(InterfaceMatch::Mac),
        (None, Some(name)) => errs.take(format!("{path}.match_name"), parse_ifname(name)).map(InterfaceMatch::Name),
        (Some(_), Some(_)) => {
            errs.add(path, "set exactly one of match_mac and match_name, not both");
            None
        }
        (None, None) => {
            errs.add(path, "set match_mac or match_name to say which interface this is");
            None
        }
    };
    let addresses: Vec<IpNet> = req
        .addresses
        .iter()
        .enumerate()
        .filter_map(|(j, a)| errs.take(format!("{path}.addresses[{j}]"), parse_interface_address(a)))
        .collect();
    for (j, a) in addresses.iter().enumerate() {
        if addresses[..j].iter().any(|b| b.addr() == a.addr()) {
            errs.add(format!("{path}.addresses[{j}]"), format!("{} is listed twice", a.addr()));
        }
    }
    if !req.dhcp && req.addresses.is_empty() {
        errs.add(format!("{path}.addresses"), "dhcp is false, so at least one static address is needed");
    }
    let routes: Vec<Route> = req
        .routes
        .iter()
        .enumerate()
        .filter_map(|(j, r)| validate_route(&format!("{path}.routes[{j}]"), r, req.dhcp, &addresses, errs))
        .collect();
    let mut defaults = [false, false];
    for (j, r) in routes.iter().enumerate() {
        if let (Destination::Default, Some(g)) = (&r.destination, r.gateway) {
            let slot = &mut defaults[usize::from(g.is_ipv6())];
            if *slot {
                errs.add(
                    format!("{path}.routes[{j}].destination"),
                    format!("a second IPv{} default route on the same interface", if g.is_ipv6() { 6 } else { 4 }),
                );
            }
            *slot = true;
        }
    }
    if errs.0.len() != before {
        return None;
    }
    Some(Interface { matches: matches?, dhcp: req.dhcp, addresses, routes })
}

fn validate_route(path: &str, req: &RouteRequest, dhcp: bool, addrs: &[IpNet], errs: &mut Errors) -> Option<Route> {
    let before = errs.0.len();
    let destination = if req.destination == "default" {
        Some(Destination::Default)
    } else {
        errs.take(format!("{path}.destination"), parse_network(&req.destination)).map(Destination::Net)
    };
    let gateway = match &req.gateway {
        Some(g) => errs.take(format!("{path}.gateway"), parse_ip(g)),
        None => None,
    };
    match (&destination, gateway) {
        (Some(Destination::Default), None) if req.gateway.is_none() => {
            errs.add(format!("{path}.gateway"), "a default route needs a gateway");
        }
        (Some(Destination::Net(net)), Some(gw)) if net.addr().is_ipv4() != gw.is_ipv4() => {
            errs.add(
                format!("{path}.gateway"),
                format!("gateway {gw} is not in the same address family as destination {net}"),
            );
        }
        _ => {}
    }
    if let Some(gw) = gateway {
        check_gateway_reachable(path, gw, req.on_link, dhcp, addrs, errs);
    }
    if errs.0.len() != before {
        return None;
    }
    Some(Route { destination: destination?, gateway, on_link: req.on_link })
}

/// A gateway must be inside one of the interface's subnets unless the route says `on_link` (Hetzner/OVH style
/// /32 addressing); otherwise the kernel refuses the route and the machine is unreachable.
fn check_gateway_reachable(path: &str, gw: IpAddr, on_link: bool, dhcp: bool, addrs: &[IpNet], errs: &mut Errors) {
    if on_link || gw.is_unspecified() {
        return;
    }
    if let IpAddr::V6(v6) = gw {
        // Link-local gateways (fe80::/10) are always on the link of the interface they are configured on.
        if v6.segments()[0] & 0xffc0 == 0xfe80 {
            return;
        }
    }
    let family = if gw.is_ipv4() { "IPv4" } else { "IPv6" };
    let same_family: Vec<&IpNet> = addrs.iter().filter(|a| a.addr().is_ipv4() == gw.is_ipv4()).collect();
    if same_family.is_empty() {
        if dhcp {
            // DHCP/RA will provide the address and its subnet; networkd resolves the gateway then.
            return;
        }
        errs.add(
            format!("{path}.gateway"),
            format!("{family} gateway {gw} but the interface has no static {family} address (set on_link = true if the gateway is reachable directly)"),
        );
    } else if !same_family.iter().any(|a| a.contains(&gw)) {
        errs.add(
            format!("{path}.gateway"),
            format!("gateway {gw} is outside every {family} subnet of this interface; set on_link = true if the provider routes it directly (as Hetzner and OVH do)"),
        );
    }
}

/// iPXE can only set up IPv4 on a NIC it can identify: a netboot without DHCP needs a MAC match and an IPv4 address.
fn check_netboot_network(image: ImageKind, ifaces: &[Interface], errs: &mut Errors) {
    if image != ImageKind::Netboot {
        return;
    }
    for (i, iface) in ifaces.iter().enumerate() {
        if iface.dhcp {
            continue;
        }
        if let InterfaceMatch::Name(_) = iface.matches {
            errs.add(
                format!("interfaces[{i}].match_name"),
                "netboot without DHCP: iPXE cannot tell which NIC a Linux interface name means; use match_mac",
            );
        }
        if iface.ipv4_addresses().next().is_none() {
            errs.add(
                format!("interfaces[{i}].addresses"),
                "netboot without DHCP needs an IPv4 address: iPXE downloads the image over IPv4",
            );
        }
    }
}

fn check_cmdline_length(params: &str, errs: &mut Errors) {
    let budget = REQUEST_CMDLINE_BUDGET;
    if params.len() > budget {
        errs.add(
            "kernel_params",
            format!(
                "the kernel command line would be too long: these parameters (with the host name and nameservers \
                 that go on it) take {} bytes, at most {budget} are free ({KERNEL_CMDLINE_LIMIT}-byte kernel limit, {RELEASE_CMDLINE_RESERVE} kept for the \
                 release's own parameters); put large data such as keys in the overlay instead",
                params.len()
            ),
        );
    }
}

pub(crate) fn parse_hostname(s: &str) -> Result<Hostname, String> {
    if s.is_empty() {
        return Err("must not be empty (leave it out to keep the installer's default)".into());
    }
    if s.len() > 63 {
        return Err(format!("is {} bytes long; a host name label has at most 63", s.len()));
    }
    if let Some(c) = s.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
        return Err(format!(
            "contains `{}`; a host name has only letters, digits and `-` (RFC 1123; no dots: it is one label)",
            printable_char(c)
        ));
    }
    if s.starts_with('-') || s.ends_with('-') {
        return Err("must not start or end with `-`".into());
    }
    Ok(Hostname(s.to_string()))
}

pub(crate) fn parse_kernel_param(s: &str) -> Result<KernelParam, String> {
    if s.is_empty() {
        return Err("empty parameter".into());
    }
    if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!(
            "contains {}; one entry is one parameter, without blanks or control characters",
            describe_char(c)
        ));
    }
    if s.contains('"') {
        return Err("contains a double quote, which the kernel would read as the start of a quoted value".into());
    }
    if s.contains("${") {
        return Err("contains `${`, which iPXE would expand as a variable".into());
    }
    if s.starts_with("initrd=") || s.starts_with("init=") {
        return Err("init= and initrd= are set by the image itself".into());
    }
    Ok(KernelParam(s.to_string()))
}

pub(crate) fn parse_ip(s: &str) -> Result<IpAddr, String> {
    s.parse::<IpAddr>().map_err(|_| format!("`{}` is not an IPv4 or IPv6 address", printable(s)))
}

pub(crate) fn parse_interface_address(s: &str) -> Result<IpNet, String> {
    if !s.contains('/') {
        return Err(format!(
            "`{}` has no prefix length; write it as CIDR, e.g. 192.0.2.10/24 or 2001:db8::10/64",
            printable(s)
        ));
    }
    let net: IpNet = s.parse().map_err(|_| format!("`{}` is not an address in CIDR notation", printable(s)))?;
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

pub(crate) fn parse_network(s: &str) -> Result<IpNet, String> {
    let net: IpNet = s
        .parse()
        .map_err(|_| format!("`{}` is not `default` or a network in CIDR notation (e.g. 10.0.0.0/8)", printable(s)))?;
    if net != net.trunc() {
        return Err(format!("{s} has host bits set; the network is {}", net.trunc()));
    }
    Ok(net)
}

pub(crate) fn parse_mac(s: &str) -> Result<Mac, String> {
    let bad = || format!("`{}` is not a MAC address (expected six hex pairs separated by `:`)", printable(s));
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

pub(crate) fn parse_ifname(s: &str) -> Result<IfName, String> {
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

pub(crate) fn parse_base_url(s: &str) -> Result<String, String> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
        .ok_or_else(|| "must start with https:// or http://".to_string())?;
    if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("contains {}; percent-encode it", describe_char(c)));
    }
    if let Some(c) = s.chars().find(|c| matches!(c, '"' | '\'' | '`' | '\\' | '<' | '>' | '{' | '}' | '|' | '^')) {
        return Err(format!("contains `{c}`, which is not allowed unencoded in a URL"));
    }
    if s.contains('?') || s.contains('#') {
        return Err("must not have a query or fragment: asset names are appended to it".into());
    }
    let host = rest.split('/').next().unwrap_or_default();
    if host.is_empty() {
        return Err("has no host name".into());
    }
    Ok(s.trim_end_matches('/').to_string())
}

pub(crate) fn parse_tag(s: &str) -> Result<String, String> {
    if s.is_empty() || s.len() > 128 {
        return Err("a release tag has 1 to 128 characters".into());
    }
    if let Some(c) = s.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        return Err(format!("contains `{}`; use letters, digits, `-`, `_` or `.`", printable_char(c)));
    }
    if s.starts_with('.') {
        return Err("must not start with `.`".into());
    }
    Ok(s.to_string())
}

pub(crate) fn parse_sha256(s: &str) -> Result<String, String> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("a SHA-256 is 64 hex digits".into());
    }
    Ok(s.to_ascii_lowercase())
}

pub(crate) fn parse_kexec_flag(s: &str) -> Result<KexecFlag, String> {
    if !s.starts_with('-') {
        return Err(format!("`{}` is not a flag (kexec flags start with `-`)", printable(s)));
    }
    if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("contains {}; put each flag in its own entry", describe_char(c)));
    }
    const OWNED: &[&str] =
        &["--load", "-l", "--exec", "-e", "--initrd", "--command-line", "--append", "--reuse-cmdline"];
    let name = s.split('=').next().unwrap_or(s);
    if OWNED.contains(&name) {
        return Err(format!("{name} is set by the run script itself"));
    }
    Ok(KexecFlag(s.to_string()))
}

/// A value safe to quote back in an error (control characters replaced, long values cut).
fn printable(s: &str) -> String {
    crate::escape::printable(s, 60)
}

fn printable_char(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        describe_char(c)
    } else {
        c.to_string()
    }
}
