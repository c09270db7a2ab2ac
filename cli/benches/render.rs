//! `cargo bench -p nixos-images-cli`: rendering every artifact for a large request (64 interfaces, 256 keys), and
//! the whole CLI process for the built-in example. Prints divan's table (median is the figure to report).

use std::process::Command;

use nixos_images_core::render::ArtifactKind;
use nixos_images_core::request::{InterfaceRequest, RouteRequest};
use nixos_images_core::{Request, ValidRequest};

fn main() {
    divan::main();
}

const KEYS: [&str; 3] = [
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJc8dPZMT4nOt7KCWcXuD/SnwMbZVnS0zy/73ZA8lGTg",
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEfMNVa/3GkPhfPipYCogzvDF1IZIpfDjJ2siN2lYwcrGXSRf6Nq6UzX6LYXPebKCr00wpIUxYSiBbHRPKBziVQ=",
    "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIOSmOIUysZTcmkQbpnb+6k4znBGbxm9Q4cJAdFBrD4ZIAAAABHNzaDo=",
];

/// 64 static dual-stack interfaces with routes, 256 keys (a third with options prefixes).
fn large_request() -> Request {
    let mut req =
        Request { image: "kexec-noninteractive".into(), hostname: Some("big-host".into()), ..Default::default() };
    for i in 0..256 {
        let key = KEYS[i % KEYS.len()];
        let options = if i % 3 == 0 { "from=\"10.0.0.0/8\",no-pty " } else { "" };
        req.ssh_authorized_keys.push(format!("{options}{key} user{i}@\"host\" ${{x}}"));
    }
    for i in 0..64u32 {
        req.interfaces.push(InterfaceRequest {
            match_mac: Some(format!("52:54:00:00:{:02x}:{:02x}", i / 256, i % 256)),
            match_name: None,
            dhcp: false,
            addresses: vec![format!("10.{i}.0.10/24"), format!("2001:db8:{i:x}::10/64")],
            routes: vec![
                RouteRequest { destination: "default".into(), gateway: Some(format!("10.{i}.0.1")), on_link: false },
                RouteRequest {
                    destination: format!("172.{}.0.0/16", 16 + i % 16),
                    gateway: Some(format!("10.{i}.0.254")),
                    on_link: false,
                },
                RouteRequest { destination: "default".into(), gateway: Some("fe80::1".into()), on_link: false },
            ],
        });
    }
    req.nameservers = vec!["192.0.2.53".into(), "2001:db8::53".into()];
    req
}

fn valid_large() -> ValidRequest {
    large_request().validate().expect("the large request is valid")
}

#[divan::bench]
fn validate_large_request(bencher: divan::Bencher) {
    let req = large_request();
    bencher.bench(|| divan::black_box(&req).validate().unwrap());
}

#[divan::bench]
fn render_all_artifacts_large_request(bencher: divan::Bencher) {
    let req = valid_large();
    bencher.bench(|| {
        for kind in ArtifactKind::ALL {
            divan::black_box(kind.render(divan::black_box(&req)));
        }
    });
}

#[divan::bench(args = ["ipxe", "nix-module", "kexec-run", "overlay", "bundle"])]
fn render_one_large(bencher: divan::Bencher, name: &str) {
    let kind = ArtifactKind::ALL.into_iter().find(|k| k.as_str() == name).unwrap();
    let mut req = large_request();
    if !kind.applies_to(valid_large().image()) {
        req.image = nixos_images_core::ImageKind::Netboot.as_str().into();
    }
    let req = req.validate().expect("the large request is valid for netboot too");
    bencher.bench(|| divan::black_box(kind.render(&req)));
}

/// The whole process: start, read the built-in example request, validate, render the bundle, write to a pipe.
#[divan::bench(sample_count = 30)]
fn cli_process_bundle_example(bencher: divan::Bencher) {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/static-hetzner.toml");
    bencher.bench(|| {
        let out = Command::new(env!("CARGO_BIN_EXE_nixos-images-gen"))
            .args(["bundle", "--request"])
            .arg(&example)
            .output()
            .expect("running nixos-images-gen");
        assert!(out.status.success());
        divan::black_box(out.stdout.len())
    });
}

/// The rollback watchdog reads every line sshd logs: a busy installer's hour of them (mostly failed attempts
/// from scanners, some logins), decided line by line.
#[divan::bench]
fn watchdog_sshd_log_lines(bencher: divan::Bencher) {
    use nixos_images_core::agent::watchdog;
    let lines: Vec<String> = (0..1000)
        .map(|i| match i % 10 {
            0 => format!(
                "Accepted publickey for root from 10.0.{}.{} port {} ssh2: ED25519 SHA256:abc",
                i % 250,
                i % 7,
                40000 + i
            ),
            1..=6 => {
                format!("Failed password for invalid user admin{i} from 198.51.100.{} port {} ssh2", i % 250, 30000 + i)
            }
            _ => format!(
                "Connection closed by authenticating user root 203.0.113.{} port {} [preauth]",
                i % 250,
                20000 + i
            ),
        })
        .collect();
    bencher.bench(|| lines.iter().filter(|l| watchdog::sshd_login(divan::black_box(l)).is_some()).count());
}

/// A 15-minute countdown ticked every second, as `watchdog run` does (900 decisions).
#[divan::bench]
fn watchdog_countdown_ticks(bencher: divan::Bencher) {
    use nixos_images_core::agent::watchdog::{Uptime, Watchdog};
    bencher.bench(|| {
        let (mut w, _) = Watchdog::resume(None, "boot", 900_000, Uptime(3_000));
        (3..=900u64).filter_map(|s| w.tick(Uptime(s * 1000))).count()
    });
}

/// An inventory of `n` hosts, each with its own MAC and static address, the defaults' key and a key of its own.
fn fleet_inventory(n: usize) -> nixos_images_core::fleet::Inventory {
    use nixos_images_core::fleet::{HostEntry, Inventory};
    let mut inv = Inventory::default();
    inv.defaults.release.installer = Some("nixos-images".into());
    inv.defaults.ssh_authorized_keys =
        vec!["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJc8dPZMT4nOt7KCWcXuD/SnwMbZVnS0zy/73ZA8lGTg ops@team".into()];
    inv.defaults.nameservers = vec!["10.0.0.53".into()];
    for i in 0..n {
        let mac = format!("52:54:00:{:02x}:{:02x}:{:02x}", i >> 16 & 0xff, i >> 8 & 0xff, i & 0xff);
        inv.hosts.push(HostEntry {
            name: format!("node-{i:04}"),
            macs: vec![mac.clone()],
            interfaces: vec![InterfaceRequest {
                match_mac: Some(mac),
                match_name: None,
                dhcp: false,
                addresses: vec![format!("10.0.{}.{}/16", 1 + i / 250, 1 + i % 250)],
                routes: vec![RouteRequest {
                    destination: "default".into(),
                    gateway: Some("10.0.0.1".into()),
                    on_link: false,
                }],
            }],
            ..Default::default()
        });
    }
    inv
}

/// Fleet netboot: a tree for 1,000 hosts (validation across the inventory, then every script and overlay).
#[divan::bench(sample_count = 10)]
fn fleet_1000_hosts_validate_and_render(bencher: divan::Bencher) {
    let inv = fleet_inventory(1000);
    bencher.bench(|| {
        let valid = divan::black_box(&inv).validate().unwrap();
        nixos_images_core::fleet::tree::render(&valid, None).len()
    });
}

/// The same through the CLI: read the inventory, render, write 3,000 files beside the target, swap them in and
/// remove the old tree. On a tmpfs (/dev/shm where there is one), so it measures this program rather than the
/// disk: on a VM's disk the same files cost seconds of system time.
#[divan::bench(sample_count = 10)]
fn fleet_1000_hosts_cli_render(bencher: divan::Bencher) {
    let shm = std::path::Path::new("/dev/shm");
    let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.unwrap();
    let file = dir.path().join("inventory.json");
    std::fs::write(&file, serde_json::to_string(&fleet_inventory(1000)).unwrap()).unwrap();
    let out = dir.path().join("tree");
    bencher.bench(|| {
        let run = Command::new(env!("CARGO_BIN_EXE_nixos-images-gen"))
            .args(["fleet", "render", "-i"])
            .arg(&file)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    });
}
