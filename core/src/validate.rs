//! `Request -> ValidRequest`: parse every field once, collect every error with its field path.

use std::collections::HashMap;
use std::net::IpAddr;

use ipnet::IpNet;

use crate::field::{FieldError, FieldPath, ValidationErrors};
use crate::model::*;
use crate::request::{InterfaceRequest, Request, RouteRequest};
use crate::ssh_key::SshPublicKey;

/// The kernel's `COMMAND_LINE_SIZE` on x86 and arm64; iPXE and kexec silently truncate longer lines.
pub const KERNEL_CMDLINE_LIMIT: usize = 2048;

/// Bytes kept free for what the release adds to the command line: `init=/nix/store/<hash>-nixos-system-.../init`
/// (about 90 bytes), the release's own parameters (about 250 bytes in the seed's images) and `initrd=` names.
pub const RELEASE_CMDLINE_RESERVE: usize = 400;

/// What the request may add to the kernel command line.
pub const REQUEST_CMDLINE_BUDGET: usize = KERNEL_CMDLINE_LIMIT - RELEASE_CMDLINE_RESERVE;

/// The shortest kexec delay a request may ask for. kexec/run returns at once and kexecs in the background after
/// the delay, so that the SSH session that ran it closes first: at 0 the kexec fired about 0.3 s after the script
/// ended, before the session had closed, and nixos-anywhere waited on the vanished peer for ever (1 and 2 s passed
/// over loopback). 3 s leaves a real network room for the close (about one round trip) and a retransmission.
pub const MIN_KEXEC_DELAY_SECONDS: u32 = 3;

/// Why [`MIN_KEXEC_DELAY_SECONDS`] is the floor, in the words validation and the effect table use.
pub const KEXEC_DELAY_FLOOR_REASON: &str = "the kexec waits so that the SSH session that ran kexec/run \
     (nixos-anywhere's too) closes first; with less it can cut the session off and leave the client hanging";

/// The longest kexec delay a request may ask for.
pub const MAX_KEXEC_DELAY_SECONDS: u32 = 3600;

/// The longest wait from a panic to the reboot a request may ask for.
pub const MAX_PANIC_REBOOT_SECONDS: u32 = 3600;

/// The longest rollback timeout a request may ask for: a day (the agent's own limit, in minutes).
pub const MAX_ROLLBACK_MINUTES: u32 = (crate::agent::watchdog::MAX_SECONDS / 60) as u32;

#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn add(&mut self, path: FieldPath, message: impl Into<String>) {
        self.0.push(FieldError::new(path, message));
    }
    /// Records the error of a parse and returns the value, if any.
    fn take<T>(&mut self, path: FieldPath, result: Result<T, String>) -> Option<T> {
        result.map_err(|m| self.add(path, m)).ok()
    }
    /// Parses every entry of a list field, recording each bad entry under `list[i]`.
    fn take_all<T: std::str::FromStr<Err = String>>(&mut self, list: &FieldPath, entries: &[String]) -> Vec<T> {
        self.take_all_with(list, entries, |s| s.parse())
    }
    fn take_all_with<T>(
        &mut self,
        list: &FieldPath,
        entries: &[String],
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Vec<T> {
        entries.iter().enumerate().filter_map(|(i, e)| self.take(list.index(i), parse(e))).collect()
    }
    fn count(&self) -> usize {
        self.0.len()
    }
}

fn field(key: &'static str) -> FieldPath {
    FieldPath::field(key)
}

impl Request {
    /// Validates every field and returns either a request every renderer can use or all the problems at once.
    pub fn validate(&self) -> Result<ValidRequest, ValidationErrors> {
        let mut errs = Errors::default();
        let image = errs.take(field("image"), self.image.parse::<ImageKind>());
        let arch = errs.take(field("arch"), self.arch.parse::<Arch>());
        let channel = errs.take(field("channel"), self.channel.parse::<Channel>());
        let hostname = self.hostname.as_ref().and_then(|h| errs.take(field("hostname"), h.parse::<Hostname>()));
        let keys_path = field("ssh_authorized_keys");
        let ssh_authorized_keys: Vec<SshPublicKey> = errs.take_all(&keys_path, &self.ssh_authorized_keys);
        let mut seen_keys = HashMap::new();
        for (i, k) in ssh_authorized_keys.iter().enumerate() {
            if let Some(first) = seen_keys.insert(k.as_str().to_string(), i) {
                errs.add(keys_path.index(i), format!("the same key line is already at index {first}"));
            }
        }
        let kernel_params: Vec<KernelParam> = errs.take_all(&field("kernel_params"), &self.kernel_params);
        let nameservers = errs.take_all_with(&field("nameservers"), &self.nameservers, parse_ip);
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
                panic_reboot_seconds: Some(self.kexec.panic_reboot_seconds).filter(|s| *s > 0),
                rollback_minutes: Some(self.kexec.rollback_minutes).filter(|m| *m > 0),
                params: kernel_params.iter().map(KernelParam::as_str),
            }
            .line();
            check_cmdline_length(&cmdline, &mut errs);
        }

        if errs.count() > 0 {
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
                .map(|n| FieldError::new(n.path, format!("{} (strict)", n.message)))
                .collect();
            if !ignored.is_empty() {
                return Err(ValidationErrors(ignored));
            }
        }
        Ok(valid)
    }

    fn validate_release(&self, errs: &mut Errors) -> Option<Release> {
        let before = errs.count();
        let at = |key| field("release").key(key);
        let req = &self.release;
        let base_url = match &req.base_url {
            Some(u) => errs.take(at("base_url"), u.parse::<BaseUrl>()),
            None => Some(BaseUrl::default()),
        };
        let tag = match &req.tag {
            Some(t) => errs.take(at("tag"), t.parse::<ReleaseTag>()),
            // A bad channel is reported under `channel`; the release then has no tag to fall back to.
            None => self.channel.parse::<ReleaseTag>().ok(),
        };
        let sha = match &req.kexec_tarball_sha256 {
            Some(s) => errs.take(at("kexec_tarball_sha256"), s.parse::<Sha256>()).map(Some),
            None => Some(None),
        };
        let installer = match &req.installer {
            Some(i) => errs.take(at("installer"), i.parse::<Installer>()),
            None => Some(Installer::default()),
        };
        if errs.count() != before {
            return None;
        }
        Some(Release { base_url: base_url?, tag: tag?, kexec_tarball_sha256: sha?, installer: installer? })
    }

    fn validate_interfaces(&self, errs: &mut Errors) -> Option<Vec<Interface>> {
        let before = errs.count();
        let mut out = Vec::new();
        let mut seen: HashMap<InterfaceMatch, usize> = HashMap::new();
        for (i, iface) in self.interfaces.iter().enumerate() {
            let path = field("interfaces").index(i);
            let Some(parsed) = validate_interface(&path, iface, errs) else {
                continue;
            };
            if let Some(first) = seen.insert(parsed.matches.clone(), i) {
                let key = match parsed.matches {
                    InterfaceMatch::Mac(_) => "match_mac",
                    InterfaceMatch::Name(_) => "match_name",
                };
                errs.add(path.key(key), format!("{} is already matched by interfaces[{first}]", parsed.matches));
            }
            out.push(parsed);
        }
        (errs.count() == before).then_some(out)
    }

    fn validate_kexec(&self, errs: &mut Errors) -> Option<Kexec> {
        let before = errs.count();
        let at = |key| field("kexec").key(key);
        let delay = self.kexec.delay_seconds;
        if delay < MIN_KEXEC_DELAY_SECONDS {
            errs.add(
                at("delay_seconds"),
                format!("must be at least {MIN_KEXEC_DELAY_SECONDS} seconds: {KEXEC_DELAY_FLOOR_REASON}"),
            );
        } else if delay > MAX_KEXEC_DELAY_SECONDS {
            errs.add(at("delay_seconds"), format!("must be at most {MAX_KEXEC_DELAY_SECONDS} seconds"));
        }
        let extra_flags: Vec<KexecFlag> = errs.take_all(&at("extra_flags"), &self.kexec.extra_flags);
        let panic = self.kexec.panic_reboot_seconds;
        if panic > MAX_PANIC_REBOOT_SECONDS {
            errs.add(
                at("panic_reboot_seconds"),
                format!("must be at most {MAX_PANIC_REBOOT_SECONDS} seconds (0: no reboot)"),
            );
        }
        let panic_reboot_seconds = (panic > 0).then_some(panic);
        let rollback = self.kexec.rollback_minutes;
        if rollback > MAX_ROLLBACK_MINUTES {
            errs.add(at("rollback_minutes"), format!("must be at most {MAX_ROLLBACK_MINUTES} minutes (0: off)"));
        }
        let rollback_minutes = (rollback > 0).then_some(rollback);
        (errs.count() == before).then_some(Kexec {
            delay_seconds: self.kexec.delay_seconds,
            extra_flags,
            panic_reboot_seconds,
            rollback_minutes,
        })
    }
}

fn validate_interface(path: &FieldPath, req: &InterfaceRequest, errs: &mut Errors) -> Option<Interface> {
    let before = errs.count();
    let matches = match (&req.match_mac, &req.match_name) {
        (Some(mac), None) => errs.take(path.key("match_mac"), mac.parse::<Mac>()).map(InterfaceMatch::Mac),
        (None, Some(name)) => errs.take(path.key("match_name"), name.parse::<IfName>()).map(InterfaceMatch::Name),
        (Some(_), Some(_)) => {
            errs.add(path.clone(), "set exactly one of match_mac and match_name, not both");
            None
        }
        (None, None) => {
            errs.add(path.clone(), "set match_mac or match_name to say which interface this is");
            None
        }
    };
    let addresses_path = path.key("addresses");
    let addresses: Vec<IpNet> = errs.take_all_with(&addresses_path, &req.addresses, Interface::parse_address);
    for (j, a) in addresses.iter().enumerate() {
        if addresses[..j].iter().any(|b| b.addr() == a.addr()) {
            errs.add(addresses_path.index(j), format!("{} is listed twice", a.addr()));
        }
    }
    if !req.dhcp && req.addresses.is_empty() {
        errs.add(addresses_path, "dhcp is false, so at least one static address is needed");
    }
    let routes_path = path.key("routes");
    let routes: Vec<Route> = req
        .routes
        .iter()
        .enumerate()
        .filter_map(|(j, r)| validate_route(&routes_path.index(j), r, req.dhcp, &addresses, errs))
        .collect();
    let mut defaults = [false, false];
    for (j, r) in routes.iter().enumerate() {
        if let (Destination::Default, Some(g)) = (&r.destination, r.gateway) {
            let slot = &mut defaults[usize::from(g.is_ipv6())];
            if *slot {
                errs.add(
                    routes_path.index(j).key("destination"),
                    format!("a second IPv{} default route on the same interface", if g.is_ipv6() { 6 } else { 4 }),
                );
            }
            *slot = true;
        }
    }
    if errs.count() != before {
        return None;
    }
    Some(Interface { matches: matches?, dhcp: req.dhcp, addresses, routes })
}

fn validate_route(
    path: &FieldPath,
    req: &RouteRequest,
    dhcp: bool,
    addrs: &[IpNet],
    errs: &mut Errors,
) -> Option<Route> {
    let before = errs.count();
    let destination = errs.take(path.key("destination"), req.destination.parse::<Destination>());
    let gateway = req.gateway.as_ref().and_then(|g| errs.take(path.key("gateway"), parse_ip(g)));
    match (&destination, gateway) {
        (Some(Destination::Default), None) if req.gateway.is_none() => {
            errs.add(path.key("gateway"), "a default route needs a gateway");
        }
        (Some(Destination::Net(net)), Some(gw)) if net.addr().is_ipv4() != gw.is_ipv4() => {
            errs.add(
                path.key("gateway"),
                format!("gateway {gw} is not in the same address family as destination {net}"),
            );
        }
        _ => {}
    }
    if let Some(gw) = gateway {
        check_gateway_reachable(&path.key("gateway"), gw, req.on_link, dhcp, addrs, errs);
    }
    if errs.count() != before {
        return None;
    }
    Some(Route { destination: destination?, gateway, on_link: req.on_link })
}

/// A gateway must be inside one of the interface's subnets unless the route says `on_link` (Hetzner/OVH style
/// /32 addressing); otherwise the kernel refuses the route and the machine is unreachable.
fn check_gateway_reachable(
    path: &FieldPath,
    gw: IpAddr,
    on_link: bool,
    dhcp: bool,
    addrs: &[IpNet],
    errs: &mut Errors,
) {
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
            path.clone(),
            format!("{family} gateway {gw} but the interface has no static {family} address (set on_link = true if the gateway is reachable directly)"),
        );
    } else if !same_family.iter().any(|a| a.contains(&gw)) {
        errs.add(
            path.clone(),
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
        let path = field("interfaces").index(i);
        if let InterfaceMatch::Name(_) = iface.matches {
            errs.add(
                path.key("match_name"),
                "netboot without DHCP: iPXE cannot tell which NIC a Linux interface name means; use match_mac",
            );
        }
        if iface.ipv4_addresses().next().is_none() {
            errs.add(
                path.key("addresses"),
                "netboot without DHCP needs an IPv4 address: iPXE downloads the image over IPv4",
            );
        }
    }
}

fn check_cmdline_length(params: &str, errs: &mut Errors) {
    let budget = REQUEST_CMDLINE_BUDGET;
    if params.len() > budget {
        errs.add(
            field("kernel_params"),
            format!(
                "the kernel command line would be too long: these parameters (with the host name and nameservers \
                 that go on it) take {} bytes, at most {budget} are free ({KERNEL_CMDLINE_LIMIT}-byte kernel limit, {RELEASE_CMDLINE_RESERVE} kept for the \
                 release's own parameters); put large data such as keys in the overlay instead",
                params.len()
            ),
        );
    }
}
