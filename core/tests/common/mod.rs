//! Request strategies shared by the property tests (`mod common;`): [`valid_request`] builds requests by the
//! rules (so the "accepted requests render" property is exercised on most cases), [`hostile_request`] mixes
//! plausible values with arbitrary text in every field, and [`request`] mixes both with valid requests that have
//! one field broken.

#![allow(dead_code)] // each test binary uses part of this module

use std::net::IpAddr;

use base64::Engine;
use nixos_images_core::request::{InterfaceRequest, KexecRequest, ReleaseRequest, RouteRequest};
use nixos_images_core::validate::{
    MAX_KEXEC_DELAY_SECONDS, MAX_PANIC_REBOOT_SECONDS, MAX_ROLLBACK_MINUTES, MIN_KEXEC_DELAY_SECONDS,
};
use nixos_images_core::Request;
use proptest::prelude::*;
use proptest::sample::select;

/// Requests of every kind: most valid by construction, some with one field broken, some hostile throughout.
pub fn request() -> impl Strategy<Value = Request> {
    prop_oneof![
        6 => valid_request(),
        2 => (valid_request(), 0..BROKEN_FIELDS, any::<String>()).prop_map(|(req, field, text)| broken(req, field, text)),
        2 => hostile_request(),
    ]
}

const BROKEN_FIELDS: usize = 8;

/// The request with one field replaced by arbitrary text (which may happen to be valid).
fn broken(mut req: Request, field: usize, text: String) -> Request {
    match field {
        0 => req.image = text,
        1 => req.arch = text,
        2 => req.channel = text,
        3 => req.hostname = Some(text),
        4 => req.ssh_authorized_keys.push(text),
        5 => req.kernel_params.push(text),
        6 => req.nameservers.push(text),
        _ => match req.interfaces.first_mut() {
            Some(iface) => iface.addresses.push(text),
            None => req.release.tag = Some(text),
        },
    }
    req
}

/// An `authorized_keys` line for an ed25519 key made of these bytes (a well-formed blob of the right type).
fn ed25519_line(key: [u8; 32], index: usize, options: Option<&str>) -> String {
    let mut blob = Vec::new();
    for part in [&b"ssh-ed25519"[..], &key[..]] {
        blob.extend_from_slice(&(part.len() as u32).to_be_bytes());
        blob.extend_from_slice(part);
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(blob);
    let prefix = options.map(|o| format!("{o} ")).unwrap_or_default();
    format!("{prefix}ssh-ed25519 {b64} user{index}@example")
}

fn kernel_param() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_.]{0,10}(=[a-zA-Z0-9,.:]{1,10})?"
        .prop_filter("init= and initrd= belong to the image", |p| !p.starts_with("init=") && !p.starts_with("initrd="))
}

/// One interface's shape; [`interface_for`] turns it into a valid one for its index and image kind.
#[derive(Debug, Clone)]
struct InterfaceShape {
    by_mac: bool,
    dhcp: bool,
    v4: Option<(u8, u8)>,
    v6: Option<u16>,
    v4_default: bool,
    v6_default: bool,
    network_route: bool,
    on_link: bool,
}

fn interface_shape() -> impl Strategy<Value = InterfaceShape> {
    (
        any::<bool>(),
        any::<bool>(),
        proptest::option::of((2u8..250, select(&[8u8, 16, 24, 32][..]))),
        proptest::option::of(1u16..0xffff),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(by_mac, dhcp, v4, v6, v4_default, v6_default, network_route, on_link)| InterfaceShape {
            by_mac,
            dhcp,
            v4,
            v6,
            v4_default,
            v6_default,
            network_route,
            on_link,
        })
}

/// A valid interface: its match unique by index; without DHCP at least one address (and, for netboot, a MAC and
/// an IPv4 address); gateways inside the subnet unless on-link; at most one default route per family.
fn interface_for(i: usize, mut shape: InterfaceShape, netboot: bool) -> InterfaceRequest {
    if !shape.dhcp && netboot {
        shape.by_mac = true;
        shape.v4 = shape.v4.or(Some((10, 24)));
    }
    if !shape.dhcp && shape.v4.is_none() && shape.v6.is_none() {
        shape.v6 = Some(0x10);
    }
    let mut addresses = Vec::new();
    let mut routes = Vec::new();
    // Hosts are 2..250, so never the gateways (.1, .254), the network or the broadcast address.
    let (v4_host, v4_prefix) = shape.v4.unwrap_or((10, 24));
    if shape.v4.is_some() {
        addresses.push(format!("10.{i}.0.{v4_host}/{v4_prefix}"));
    }
    if let Some(host) = shape.v6 {
        addresses.push(format!("2001:db8:{i:x}::{host:x}/64"));
    }
    // A gateway outside every static subnet is only reachable on-link (or once DHCP gives a subnet).
    let v4_gateway_on_link = shape.on_link || v4_prefix == 32 || (shape.v4.is_none() && !shape.dhcp);
    if shape.v4_default {
        let gateway = Some(format!("10.{i}.0.1"));
        routes.push(RouteRequest { destination: "default".into(), gateway, on_link: v4_gateway_on_link });
    }
    if shape.v6_default {
        routes.push(RouteRequest { destination: "default".into(), gateway: Some("fe80::1".into()), on_link: false });
    }
    if shape.network_route {
        routes.push(RouteRequest {
            destination: format!("192.168.{i}.0/24"),
            gateway: Some(format!("10.{i}.0.254")),
            on_link: v4_gateway_on_link,
        });
    }
    InterfaceRequest {
        match_mac: shape.by_mac.then(|| format!("52:54:00:00:00:{i:02x}")),
        match_name: (!shape.by_mac).then(|| format!("eth{i}")),
        dhcp: shape.dhcp,
        addresses,
        routes,
    }
}

/// A request built by validation's rules: it should always validate (the generator and the rules agree).
pub fn valid_request() -> impl Strategy<Value = Request> {
    let keys = proptest::collection::vec(
        (any::<[u8; 32]>(), proptest::option::of(select(&["no-pty", "from=\"10.0.0.0/8\",no-agent-forwarding"][..]))),
        0..4,
    );
    let release = (
        proptest::option::of(select(&["https://mirror.example.org/nixos-images/", "http://127.0.0.1:8080/r"][..])),
        proptest::option::of("[a-z0-9][a-z0-9._-]{0,20}"),
        proptest::option::of("[0-9a-fA-F]{64}"),
        proptest::option::of(select(&["upstream", "nixos-images"][..])),
    );
    (
        select(&["kexec", "kexec-noninteractive", "netboot"][..]),
        select(&["x86_64-linux", "aarch64-linux"][..]),
        select(&["nixos-unstable", "nixos-21.05", "nixos-24.05", "nixos-24.11", "nixos-25.05", "nixos-26.11"][..]),
        proptest::option::of("[a-z]([a-z0-9-]{0,20}[a-z0-9])?"),
        keys,
        proptest::collection::vec(kernel_param(), 0..4),
        proptest::collection::vec(any::<IpAddr>(), 0..3),
        release,
        proptest::collection::vec(interface_shape(), 0..4),
        (
            MIN_KEXEC_DELAY_SECONDS..=MAX_KEXEC_DELAY_SECONDS,
            proptest::collection::vec(select(&["--kexec-file-syscall", "-s", "-d"][..]), 0..3),
            0..=MAX_PANIC_REBOOT_SECONDS,
            0..=MAX_ROLLBACK_MINUTES,
        ),
    )
        .prop_map(
            |(image, arch, channel, hostname, keys, params, ns, release, shapes, (delay, flags, panic, rollback))| {
                let netboot = image == "netboot";
                Request {
                    image: image.into(),
                    arch: arch.into(),
                    channel: channel.into(),
                    hostname,
                    ssh_authorized_keys: keys
                        .into_iter()
                        .enumerate()
                        .map(|(i, (mut key, options))| {
                            key[0] = i as u8; // distinct lines
                            ed25519_line(key, i, options)
                        })
                        .collect(),
                    kernel_params: params,
                    nameservers: ns.iter().map(IpAddr::to_string).collect(),
                    release: ReleaseRequest {
                        base_url: release.0.map(str::to_string),
                        tag: release.1,
                        kexec_tarball_sha256: release.2,
                        installer: release.3.map(str::to_string),
                    },
                    interfaces: shapes.into_iter().enumerate().map(|(i, s)| interface_for(i, s, netboot)).collect(),
                    kexec: KexecRequest {
                        delay_seconds: delay,
                        extra_flags: flags.into_iter().map(str::to_string).collect(),
                        panic_reboot_seconds: panic,
                        rollback_minutes: rollback,
                    },
                    strict: false,
                }
            },
        )
}

/// Mostly-plausible values with hostile ones mixed in, so both the accept and the reject paths are exercised.
pub fn field(plausible: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        3 => proptest::sample::select(plausible).prop_map(str::to_string),
        1 => any::<String>(),
        1 => "[ -~]{0,20}",
    ]
}

pub fn route() -> impl Strategy<Value = RouteRequest> {
    (
        field(&["default", "10.0.0.0/8", "2001:db8::/32", "10.1.2.3/8", "::/0"]),
        proptest::option::of(field(&["192.0.2.1", "fe80::1", "2001:db8::1", "10.0.0.1", "172.31.1.1"])),
        any::<bool>(),
    )
        .prop_map(|(destination, gateway, on_link)| RouteRequest { destination, gateway, on_link })
}

pub fn interface() -> impl Strategy<Value = InterfaceRequest> {
    (
        proptest::option::of(field(&["52:54:00:12:34:56", "52:54:00:12:34:57", "01:00:5e:00:00:01"])),
        proptest::option::of(field(&["eth0", "ens3", "enp1s0"])),
        any::<bool>(),
        proptest::collection::vec(field(&["192.0.2.10/24", "2001:db8::10/64", "203.0.113.10/32", "10.0.0.5/8"]), 0..3),
        proptest::collection::vec(route(), 0..3),
    )
        .prop_map(|(match_mac, match_name, dhcp, addresses, routes)| InterfaceRequest {
            match_mac,
            match_name,
            dhcp,
            addresses,
            routes,
        })
}

pub fn release() -> impl Strategy<Value = ReleaseRequest> {
    (
        proptest::option::of(field(&["https://mirror.example.org/nixos-images", "http://127.0.0.1:8080/r"])),
        proptest::option::of(field(&["nixos-unstable", "weekly"])),
        proptest::option::of(field(&["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"])),
        proptest::option::of(field(&["upstream", "nixos-images"])),
    )
        .prop_map(|(base_url, tag, kexec_tarball_sha256, installer)| ReleaseRequest {
            base_url,
            tag,
            kexec_tarball_sha256,
            installer,
        })
}

/// Plausible values with hostile ones mixed into every field: most are refused.
pub fn hostile_request() -> impl Strategy<Value = Request> {
    (
        field(&["kexec", "kexec-noninteractive", "netboot"]),
        field(&["x86_64-linux", "aarch64-linux"]),
        field(&["nixos-unstable", "nixos-24.05", "nixos-25.11", "nixos-23.11"]),
        proptest::option::of(field(&["web1", "a", "install-07"])),
        proptest::collection::vec(
            field(&[
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJc8dPZMT4nOt7KCWcXuD/SnwMbZVnS0zy/73ZA8lGTg a@b",
                "no-pty ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJc8dPZMT4nOt7KCWcXuD/SnwMbZVnS0zy/73ZA8lGTg \"${x}\"",
            ]),
            0..3,
        ),
        proptest::collection::vec(field(&["console=ttyS0,115200", "quiet", "zswap.enabled=1"]), 0..3),
        proptest::collection::vec(field(&["192.0.2.53", "2001:db8::53"]), 0..2),
        release(),
        proptest::collection::vec(interface(), 0..3),
        (
            0u32..5000,
            proptest::collection::vec(field(&["--kexec-file-syscall", "-s"]), 0..2),
            any::<bool>(),
            0u32..5000,
            0u32..2000,
        ),
    )
        .prop_map(
            |(
                image,
                arch,
                channel,
                hostname,
                keys,
                params,
                ns,
                release,
                interfaces,
                (delay, flags, strict, panic, rollback),
            )| {
                Request {
                    image,
                    arch,
                    channel,
                    hostname,
                    ssh_authorized_keys: keys,
                    kernel_params: params,
                    nameservers: ns,
                    release,
                    interfaces,
                    kexec: KexecRequest {
                        delay_seconds: delay,
                        extra_flags: flags,
                        panic_reboot_seconds: panic,
                        rollback_minutes: rollback,
                    },
                    strict,
                }
            },
        )
}
