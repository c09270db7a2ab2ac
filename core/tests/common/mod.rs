//! Request strategies shared by the property tests (`mod common;`).

#![allow(dead_code)] // each test binary uses part of this module

use nixos_images_core::request::{InterfaceRequest, KexecRequest, ReleaseRequest, RouteRequest};
use nixos_images_core::Request;
use proptest::prelude::*;

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

pub fn request() -> impl Strategy<Value = Request> {
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
        (0u32..5000, proptest::collection::vec(field(&["--kexec-file-syscall", "-s"]), 0..2), any::<bool>()),
    )
        .prop_map(
            |(image, arch, channel, hostname, keys, params, ns, release, interfaces, (delay, flags, strict))| Request {
                image,
                arch,
                channel,
                hostname,
                ssh_authorized_keys: keys,
                kernel_params: params,
                nameservers: ns,
                release,
                interfaces,
                kexec: KexecRequest { delay_seconds: delay, extra_flags: flags },
                strict,
            },
        )
}
