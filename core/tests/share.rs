//! Share links round-trip every request, including ones validation would refuse (the form is restored as typed).

use nixos_images_core::request::{InterfaceRequest, KexecRequest, ReleaseRequest, RouteRequest};
use nixos_images_core::{share, Request};
use proptest::prelude::*;

fn text() -> impl Strategy<Value = String> {
    prop_oneof![3 => "[ -~]{0,24}", 1 => any::<String>()]
}

fn request() -> impl Strategy<Value = Request> {
    let route = (text(), proptest::option::of(text()), any::<bool>())
        .prop_map(|(destination, gateway, on_link)| RouteRequest { destination, gateway, on_link });
    let iface = (
        proptest::option::of(text()),
        proptest::option::of(text()),
        any::<bool>(),
        proptest::collection::vec(text(), 0..3),
        proptest::collection::vec(route, 0..3),
    )
        .prop_map(|(match_mac, match_name, dhcp, addresses, routes)| InterfaceRequest {
            match_mac,
            match_name,
            dhcp,
            addresses,
            routes,
        });
    let release = (proptest::option::of(text()), proptest::option::of(text()), proptest::option::of(text()))
        .prop_map(|(base_url, tag, kexec_tarball_sha256)| ReleaseRequest { base_url, tag, kexec_tarball_sha256 });
    let kexec = (any::<u32>(), proptest::collection::vec(text(), 0..3))
        .prop_map(|(delay_seconds, extra_flags)| KexecRequest { delay_seconds, extra_flags });
    (
        (text(), text(), text(), proptest::option::of(text())),
        proptest::collection::vec(text(), 0..4),
        proptest::collection::vec(text(), 0..3),
        proptest::collection::vec(text(), 0..3),
        release,
        proptest::collection::vec(iface, 0..3),
        kexec,
    )
        .prop_map(
            |((image, arch, channel, hostname), keys, kernel_params, nameservers, release, interfaces, kexec)| {
                Request {
                    image,
                    arch,
                    channel,
                    hostname,
                    ssh_authorized_keys: keys,
                    kernel_params,
                    nameservers,
                    release,
                    interfaces,
                    kexec,
                }
            },
        )
}

proptest! {
    #[test]
    fn share_link_round_trips(req in request()) {
        let fragment = share::to_fragment(&req);
        prop_assert!(fragment.is_ascii());
        prop_assert!(!fragment.contains('?') && !fragment[1..].contains('#'));
        prop_assert_eq!(share::from_fragment(&fragment).unwrap(), req);
    }

    #[test]
    fn decoding_garbage_never_panics(s in any::<String>()) {
        let _ = share::from_fragment(&s);
    }
}
