//! `nixos-images-agent restore-network` on real `ip --json` dumps, captured in network namespaces this test creates,
//! and the units it writes applied by the real systemd-networkd in a second namespace.
//!
//! Needs root, `ip` (iproute2 with --json), `unshare` and systemd-networkd; a missing one fails the test. Only
//! namespaces and addresses of the test are touched (documentation ranges inside the namespaces).
//! Bonds and VLANs cannot be created here when the kernel lacks those modules; a bridge (with a port that shares its
//! MAC), a macvlan, a tun (no MAC) and two links with one MAC stand in for the same failure modes.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use nixos_images_core::agent::restore::{self, check_unit_syntax, is_unit_file_name};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::Value;

use test_support::netns::{self, networkd_version, run_networkd, Netns};

const AGENT: &str = env!("CARGO_BIN_EXE_nixos-images-agent");

const MAC_MAIN: &str = "52:54:00:aa:00:01";
const MAC_PORT: &str = "52:54:00:aa:00:02";
const MAC_DUP: &str = "52:54:00:aa:00:03";
const MAC_DHCP: &str = "52:54:00:aa:00:04";

/// The source machine: every case restore-network must handle.
fn source_machine() -> Netns {
    let ns = Netns::new("src");
    ns.ip("link set lo up");
    // The main NIC: static IPv4 and IPv6, an onlink default route, an IPv4 route via an IPv6 link-local
    // gateway, a route of protocol static, an IPv6 default route via fe80::1, a point-to-point address, an address
    // without prefix route.
    ns.ip(&format!("link add eth-main address {MAC_MAIN} type veth peer name eth-main-peer"));
    ns.ip("link set eth-main up");
    ns.ip("link set eth-main-peer up");
    ns.ip("addr add 192.0.2.10/24 dev eth-main");
    ns.ip("addr add 2001:db8::10/64 dev eth-main nodad");
    ns.ip("addr add 10.0.0.1 peer 10.0.0.2/32 dev eth-main");
    ns.ip("addr add 198.18.0.10/24 dev eth-main noprefixroute");
    ns.ip("route add default via 172.31.1.1 dev eth-main onlink");
    ns.ip("route add 198.51.100.0/24 via inet6 fe80::1 dev eth-main");
    ns.ip("route add 203.0.113.0/24 via 192.0.2.1 dev eth-main proto static");
    ns.ip("-6 route add default via fe80::1 dev eth-main");
    ns.ip("-6 route add 2001:db8:1::/48 via 2001:db8::1 dev eth-main proto static metric 512");
    // A lease-like address (finite lifetime: `dynamic`), and an older one: the longer lifetime is asked for.
    ns.ip(&format!("link add eth-dhcp address {MAC_DHCP} type veth peer name eth-dhcp-peer"));
    ns.ip("link set eth-dhcp up");
    ns.ip("addr add 192.0.2.77/24 dev eth-dhcp valid_lft 3600 preferred_lft 3600");
    ns.ip("addr add 192.0.2.78/24 dev eth-dhcp valid_lft 60 preferred_lft 60");
    // A bridge whose port gives it its MAC.
    ns.ip("link add br0 type bridge");
    ns.ip(&format!("link add br-port address {MAC_PORT} type veth peer name br-port-peer"));
    ns.ip("link set br-port master br0");
    ns.ip("link set br0 up");
    ns.ip("link set br-port up");
    ns.ip("addr add 192.0.2.130/25 dev br0");
    // Two links with one MAC.
    ns.ip(&format!("link add dup-a address {MAC_DUP} type veth peer name dup-b"));
    ns.ip(&format!("link set dup-b address {MAC_DUP}"));
    ns.ip("addr add 100.64.0.1/24 dev dup-a");
    ns.ip("addr add 100.64.1.1/24 dev dup-b");
    // No MAC at all.
    ns.ip("tuntap add mode tun name tun0");
    ns.ip("addr add 10.9.0.1/32 dev tun0");
    // Stacked on the main NIC.
    ns.ip("link add mv0 link eth-main type macvlan");
    ns.ip("addr add 192.0.2.200/24 dev mv0");
    ns
}

/// `ip --json addr` (or with -details), `ip -4 --json route`, `ip -6 --json route` of a namespace.
struct Dumps {
    addrs: String,
    v4: String,
    v6: String,
}

fn capture(ns: &Netns, details: bool) -> Dumps {
    Dumps {
        addrs: ns.ip(if details { "-details --json addr" } else { "--json addr" }),
        v4: ns.ip("-4 --json route"),
        v6: ns.ip("-6 --json route"),
    }
}

fn restore_network(dir: &Path, d: &Dumps) -> (Output, BTreeMap<String, String>) {
    let inputs = dir.join("in");
    fs::create_dir_all(&inputs).unwrap();
    fs::write(inputs.join("addrs.json"), &d.addrs).unwrap();
    fs::write(inputs.join("routes-v4.json"), &d.v4).unwrap();
    fs::write(inputs.join("routes-v6.json"), &d.v6).unwrap();
    let out_dir = dir.join("units");
    let out = Command::new(AGENT)
        .arg("restore-network")
        .args(["addrs.json", "routes-v4.json", "routes-v6.json"].map(|f| inputs.join(f)))
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "restore-network failed: {out:?}");
    let mut units = BTreeMap::new();
    for e in fs::read_dir(&out_dir).unwrap() {
        let e = e.unwrap();
        units.insert(e.file_name().to_string_lossy().into_owned(), fs::read_to_string(e.path()).unwrap());
    }
    (out, units)
}

fn unit_for(units: &BTreeMap<String, String>, mac: &str) -> String {
    let name = format!("01-nixos-images-restore-{}.network", mac.replace(':', ""));
    units.get(&name).cloned().unwrap_or_else(|| panic!("no unit {name}; units: {:?}", units.keys()))
}

#[test]
fn restores_real_dumps_and_networkd_applies_them() {
    if !netns::prerequisites().met() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let src = source_machine();
    let plain = capture(&src, false);
    let details = capture(&src, true);

    for (what, dumps) in [("ip --json", &plain), ("ip -details --json", &details)] {
        let dir = tmp.path().join(what.replace(' ', "_"));
        let (out, units) = restore_network(&dir, dumps);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        for (name, unit) in &units {
            assert!(is_unit_file_name(name), "{what}: unexpected file {name}");
            assert!(name.as_str() > "00-00-nixos-images-999.network", "{what}: {name} sorts before the request's");
            check_unit_syntax(unit).unwrap_or_else(|e| panic!("{what}: {name}: {e}\n{unit}"));
        }
        let main = unit_for(&units, MAC_MAIN);
        for line in [
            "MACAddress=52:54:00:aa:00:01",
            "DHCP=yes",
            "IPv6AcceptRA=yes",
            "Address=192.0.2.10/24",
            "Address=2001:db8::10/64",
            "[Address]\nAddress=10.0.0.1/32\nPeer=10.0.0.2/32\n",
            "[Address]\nAddress=198.18.0.10/24\nAddPrefixRoute=no\n",
            "[Route]\nDestination=0.0.0.0/0\nGateway=172.31.1.1\nGatewayOnLink=yes\n",
            "[Route]\nDestination=198.51.100.0/24\nGateway=fe80::1\n",
            "[Route]\nDestination=203.0.113.0/24\nGateway=192.0.2.1\n",
            "[Route]\nDestination=::/0\nGateway=fe80::1\n",
            "[Route]\nDestination=2001:db8:1::/48\nGateway=2001:db8::1\nMetric=512\n",
        ] {
            assert!(main.contains(line), "{what}: the main unit lacks {line:?}:\n{main}");
        }
        // Link-local addresses and kernel routes are not copied.
        assert!(!main.contains("fe80::/64") && !main.contains("Address=fe80"), "{what}:\n{main}");
        assert!(!main.contains("Destination=192.0.2.0/24"), "{what}: a kernel route was kept:\n{main}");

        let dhcp = unit_for(&units, MAC_DHCP);
        assert!(dhcp.contains("[DHCPv4]\nRequestAddress=192.0.2.77\n"), "{what}:\n{dhcp}");
        assert!(!dhcp.contains("\nAddress=192.0.2.7"), "{what}: a lease became static:\n{dhcp}");

        // The bridge's configuration goes to the NIC with its MAC, with a warning; its port has no unit.
        let bridge = unit_for(&units, MAC_PORT);
        assert!(bridge.contains("Address=192.0.2.130/25") && bridge.contains("# warning: br0 is a bridge"), "{bridge}");
        assert_eq!(units.values().filter(|u| u.contains(&format!("MACAddress={MAC_PORT}"))).count(), 1);
        assert!(!units.values().any(|u| u.contains(MAC_DUP)), "{what}: a duplicate MAC got a unit");
        assert!(!units.values().any(|u| u.contains("192.0.2.200")), "{what}: the macvlan's address was restored");
        assert!(!units.values().any(|u| u.contains("10.9.0.1")), "{what}: tun0 was restored");

        for expected in ["br0 is a bridge", "share the MAC 52:54:00:aa:00:03", "tun0 has no MAC", "mv0 is a"] {
            assert!(stderr.contains(expected), "{what}: no warning {expected:?} on stderr:\n{stderr}");
            assert!(stdout.contains(expected), "{what}: no warning {expected:?} in the summary:\n{stdout}");
        }
        assert!(stderr.lines().all(|l| l.starts_with("nixos-images-agent: warning: ")), "{what}:\n{stderr}");
        assert!(!stdout.contains("loopback"), "{what}: loopback reported as a problem:\n{stdout}");

        // Idempotent, and stale units of an earlier run are removed.
        let stale = dir.join("units/01-nixos-images-restore-0200000000ff.network");
        fs::write(&stale, "stale").unwrap();
        let (_, again) = restore_network(&dir, dumps);
        assert_eq!(again, units, "{what}: a second run differs");
    }

    // The real parser: networkd applies the units in a second namespace whose links carry the same MACs.
    let dir = tmp.path().join("networkd");
    let (_, units) = restore_network(&dir, &plain);
    let dst = Netns::new("dst");
    dst.ip("link set lo up");
    for (mac, name) in [(MAC_MAIN, "new-main"), (MAC_PORT, "new-port"), (MAC_DHCP, "new-dhcp")] {
        dst.ip(&format!("link add {name} address {mac} type veth peer name {name}-p"));
        dst.ip(&format!("link set {name}-p up"));
    }
    let log = run_networkd(&dst, &dir.join("units"), |ns| {
        let addrs = ns.ip("-4 addr show dev new-main");
        let v4 = ns.ip("-4 route");
        let v6 = ns.ip("-6 route");
        addrs.contains("192.0.2.10/24")
            && addrs.contains("10.0.0.1 peer 10.0.0.2/32")
            && v4.contains("default via 172.31.1.1 dev new-main proto static onlink")
            && v4.contains("198.51.100.0/24 via inet6 fe80::1 dev new-main proto static")
            && v4.contains("203.0.113.0/24 via 192.0.2.1 dev new-main proto static")
            && v6.contains("default via fe80::1 dev new-main proto static")
            && v6.contains("2001:db8:1::/48 via 2001:db8::1 dev new-main proto static metric 512")
            && ns.ip("-4 addr show dev new-port").contains("192.0.2.130/25")
    });
    // Parse complaints start with the file name and line (`/etc/systemd/network/X.network:10: Unknown key ...`).
    // `[DHCPv4] RequestAddress=` is newer than systemd 252 (Debian 12), older networkds ignore it with a warning.
    let version = networkd_version();
    let complaints: Vec<&str> = log
        .lines()
        .filter(|l| l.starts_with("/etc/systemd/network/"))
        .filter(|l| !(version < 253 && l.contains("Unknown key 'RequestAddress' in section [DHCPv4]")))
        .collect();
    assert!(complaints.is_empty(), "networkd complained about the units:\n{}", complaints.join("\n"));
    assert!(units.len() >= 3, "{units:?}");
}

/// Mutations of real dumps: a value replaced, a key removed, an entry duplicated or dropped.
#[derive(Debug, Clone)]
enum Mutation {
    Replace(Value),
    Remove,
    Duplicate,
}

fn paths(v: &Value, prefix: &mut Vec<PathPart>, out: &mut Vec<Vec<PathPart>>) {
    out.push(prefix.clone());
    match v {
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                prefix.push(PathPart::Index(i));
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                prefix.push(PathPart::Key(k.clone()));
                paths(x, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

#[derive(Debug, Clone)]
enum PathPart {
    Index(usize),
    Key(String),
}

fn mutate(root: &mut Value, path: &[PathPart], m: &Mutation) {
    let Some((last, parents)) = path.split_last() else {
        if let Mutation::Replace(v) = m {
            *root = v.clone();
        }
        return;
    };
    // Earlier mutations may have removed what a path leads to: then this one does nothing.
    let mut cur = root;
    for p in parents {
        let next = match (p, cur) {
            (PathPart::Index(i), Value::Array(a)) => a.get_mut(*i),
            (PathPart::Key(k), Value::Object(o)) => o.get_mut(k),
            _ => None,
        };
        let Some(next) = next else { return };
        cur = next;
    }
    match (last, cur, m) {
        (PathPart::Index(i), Value::Array(a), Mutation::Replace(v)) if *i < a.len() => a[*i] = v.clone(),
        (PathPart::Index(i), Value::Array(a), Mutation::Remove) if *i < a.len() => {
            a.remove(*i);
        }
        (PathPart::Index(i), Value::Array(a), Mutation::Duplicate) if *i < a.len() => {
            let x = a[*i].clone();
            a.push(x);
        }
        (PathPart::Key(k), Value::Object(o), Mutation::Replace(v)) => {
            o.insert(k.clone(), v.clone());
        }
        (PathPart::Key(k), Value::Object(o), Mutation::Remove) => {
            o.remove(k);
        }
        _ => {}
    }
}

fn replacement() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        (0u64..300).prop_map(Value::from),
        prop::sample::select(vec![
            "",
            "default",
            "inet6",
            "inet",
            "link",
            "onlink",
            "kernel",
            "static",
            "fe80::1",
            "192.0.2.1",
            "52:54:00:aa:00:01",
            "00:00:00:00:00:00",
            "br0",
            "eth-main",
            "lo",
            "2001:db8::/32",
            "x\ny",
        ])
        .prop_map(Value::from),
        Just(Value::Array(vec![])),
        Just(serde_json::json!({})),
        Just(serde_json::json!(["onlink"])),
    ]
}

#[test]
fn never_panics_on_mutated_real_dumps() {
    if !netns::prerequisites().met() {
        return;
    }
    let src = source_machine();
    let details = capture(&src, true);
    let dumps: Vec<Value> =
        [&details.addrs, &details.v4, &details.v6].iter().map(|s| serde_json::from_str(s).unwrap()).collect();
    let all_paths: Vec<Vec<Vec<PathPart>>> = dumps
        .iter()
        .map(|d| {
            let mut out = vec![];
            paths(d, &mut vec![], &mut out);
            out
        })
        .collect();
    let mutation = prop_oneof![
        4 => replacement().prop_map(Mutation::Replace),
        2 => Just(Mutation::Remove),
        1 => Just(Mutation::Duplicate),
    ];
    let strategy = prop::collection::vec((0usize..3, any::<prop::sample::Index>(), mutation), 1..6);
    let mut runner = TestRunner::new(Config { cases: 768, ..Config::default() });
    runner
        .run(&strategy, |mutations| {
            let mut d = dumps.clone();
            for (which, index, m) in &mutations {
                let path = index.get(&all_paths[*which]);
                mutate(&mut d[*which], path, m);
            }
            let r = restore::restore(&d[0], Some(&d[1]), Some(&d[2]));
            for u in &r.units {
                prop_assert!(is_unit_file_name(&u.file_name));
                prop_assert!(check_unit_syntax(&u.contents).is_ok(), "{}\n{}", u.file_name, u.contents);
            }
            Ok(())
        })
        .unwrap();
}
