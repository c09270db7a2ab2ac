//! Fleet netboot: one tree (`fleet render`, relative URLs) on the test's server, and three guests of different MACs
//! that PXE-boot it through their NIC's iPXE and qemu's DHCP (the bootfile is the tree's `boot.ipxe`). Two are in the
//! inventory: each must get its own host name, its keys and its static address. The third is not: it must get the
//! default installer (DHCP, the defaults' key, no host name).

use std::fs;
use std::time::Duration;

use nixos_images_core::fleet::{tree, Inventory};
use nixos_images_core::manifest::AssetKind;
use nixos_images_core::render::{cmdline, networkd};
use nixos_images_core::{Arch, RequestFormat, ValidRequest};

use super::guest::{Initramfs, Report};
use super::netboot::NETBOOT_INIT;
use super::qemu::{Boot, Firmware, Forward, GuestArch, Nic, Vm};
use super::{fixtures, run_gen, Scenario};

const SERVER: &str = "10.0.2.100";
const TEAM_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJc8dPZMT4nOt7KCWcXuD/SnwMbZVnS0zy/73ZA8lGTg ops@team";
const WEB1_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFwASpCEeCDXIXwNDDCnMWxLJhTVluxduO3a5SPAT3QY alice@web1";

/// The guests: (MAC, the host the inventory names it, its static address).
const GUESTS: [(&str, Option<&str>, Option<&str>); 3] = [
    ("52:54:00:f1:00:01", Some("web1"), Some("10.0.2.31")),
    ("52:54:00:f1:00:02", Some("web2"), Some("10.0.2.32")),
    ("52:54:00:f1:00:99", None, None),
];

fn inventory() -> String {
    let host = |name: &str, mac: &str, address: &str, extra: &str| {
        format!(
            "[[hosts]]\nname = \"{name}\"\nmacs = [\"{mac}\"]\n{extra}\
             [[hosts.interfaces]]\nmatch_mac = \"{mac}\"\ndhcp = false\naddresses = [\"{address}/24\"]\n\
             [[hosts.interfaces.routes]]\ndestination = \"default\"\ngateway = \"10.0.2.2\"\n"
        )
    };
    format!(
        "[defaults]\nimage = \"netboot\"\narch = \"x86_64-linux\"\nchannel = \"nixos-unstable\"\n\
         ssh_authorized_keys = [\"{TEAM_KEY}\"]\nkernel_params = [\"console=ttyS0,115200\"]\n\
         nameservers = [\"10.0.2.3\"]\n\
         [defaults.release]\nbase_url = \"http://{SERVER}/release\"\ninstaller = \"nixos-images\"\n\
         {}{}",
        host("web1", GUESTS[0].0, GUESTS[0].2.unwrap(), &format!("ssh_authorized_keys = [\"{WEB1_KEY}\"]\n")),
        host("web2", GUESTS[1].0, GUESTS[1].2.unwrap(), ""),
    )
}

pub fn run(name: &'static str) {
    let Some(mut sc) = Scenario::start_on(name, GuestArch::X86_64) else { return };
    let fx = fixtures::of(GuestArch::X86_64);
    let www = sc.dir.join("www");
    let inventory_file = sc.dir.join("inventory.toml");
    fs::write(&inventory_file, inventory()).unwrap();
    let inv = Inventory::parse(&inventory(), RequestFormat::Toml).unwrap();
    let valid = inv.validate().unwrap_or_else(|e| panic!("the test's inventory: {e}"));

    // The tree, as the CLI writes it, under /fleet/ of the test's server.
    fs::create_dir_all(&www).unwrap();
    let out = www.join("fleet");
    run_gen(&[
        "fleet".as_ref(),
        "render".as_ref(),
        "-i".as_ref(),
        inventory_file.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);

    // The release, shaped as the netboot scenarios' (its script records what iPXE knew: the probe).
    let arch = Arch::X86_64Linux;
    let [kernel_asset, initrd_asset, script_asset] =
        [AssetKind::NetbootKernel, AssetKind::NetbootInitrd, AssetKind::NetbootIpxe].map(|k| k.file_name(arch));
    let tag = valid.default_request().release().tag.as_str().to_string();
    let release_dir = www.join("release").join(&tag);
    fs::create_dir_all(&release_dir).unwrap();
    let release_url = format!("http://{SERVER}/release/{tag}");
    let release_script = format!(
        "#!ipxe\n# A release-shaped netboot script (fixture of the boot tests).\n\
         kernel {release_url}/{kernel_asset} init=/init initrd={initrd_asset} console=ttyS0,115200 panic=-1 \
         loglevel=1 nixos_images_test.ipxe=${{netX/mac}},${{netX/ip}},${{netX/gateway}} ${{cmdline}}\n\
         initrd {release_url}/{initrd_asset}\nboot\n"
    );
    fs::write(release_dir.join(&script_asset), release_script).unwrap();
    fs::copy(&fx.vmlinuz, release_dir.join(&kernel_asset)).unwrap();
    let mut initrd = Initramfs::new(fx, "init", NETBOOT_INIT);
    initrd.program(&fx.agent, "usr/local/bin/nixos-images-agent");
    fs::write(release_dir.join(&initrd_asset), initrd.gzip()).unwrap();

    for (mac, host, address) in GUESTS {
        let server = test_support::http::Server::start(&www);
        let vm = Vm {
            name: format!("fleet-{}", host.unwrap_or("unknown")),
            arch: GuestArch::X86_64,
            firmware: Firmware::Bios,
            boot: Boot::Network,
            typing: vec![],
            reboot_until_seen_twice: None,
            nic: Nic {
                mac,
                net: "10.0.2.0/24",
                host: "10.0.2.2",
                dns: "10.0.2.3",
                bootfile: Some(format!("http://{SERVER}/fleet/{}", tree::BOOT_SCRIPT)),
                forward: Forward { guest_addr: SERVER, host_port: server.port() },
                rom: true,
                ipv6: false,
                pcap: None,
                ssh: None,
            },
            mem_mib: 512,
            timeout: Duration::from_secs(120),
            dir: sc.dir.clone(),
        };
        let run = sc.run(&vm);
        let fetched = server.fetched();
        drop(server);
        let what = format!("{name}: the guest {mac}\n{}", run.tail());
        let report = Report::parse(&run.serial);
        let st =
            report.stages.iter().find(|s| s.name == "netboot").unwrap_or_else(|| panic!("it never booted: {what}"));
        assert!(st.fails.is_empty() && st.ended, "{what}\nthe guest failed: {:?}", st.fails);
        let mac_file = tree::mac_file(&mac.parse().unwrap());
        let (dir, req): (String, &ValidRequest) = match host {
            Some(h) => {
                let entry = valid.hosts().iter().find(|x| x.name().as_str() == h).unwrap();
                (tree::host_dir(h), entry.request())
            }
            None => (tree::DEFAULT_DIR.to_string(), valid.default_request()),
        };
        let mut want = vec![format!("/fleet/{}", tree::BOOT_SCRIPT)];
        if host.is_some() {
            want.push(format!("/fleet/{mac_file}"));
        }
        want.extend([
            format!("/fleet/{dir}/{}", tree::HOST_SCRIPT),
            format!("/fleet/{dir}/nixos-images-overlay.cpio.gz"),
            format!("/release/{tag}/{script_asset}"),
            format!("/release/{tag}/{kernel_asset}"),
            format!("/release/{tag}/{initrd_asset}"),
        ]);
        assert_eq!(fetched, want, "{what}\nwhat the guest fetched, in order");

        // iPXE's address when it booted the kernel: the host's static one, or qemu's DHCP lease.
        let words: Vec<&str> = st.kv("cmdline").split_whitespace().collect();
        let probe = words.iter().find_map(|w| w.strip_prefix("nixos_images_test.ipxe=")).expect("the probe");
        let probe: Vec<&str> = probe.split(',').collect();
        // (After the default script's own `dhcp`, iPXE reports the lease's gateway under net0.dhcp only.)
        assert_eq!(probe[..2], [mac, address.unwrap_or("10.0.2.15")], "{what}\niPXE's NIC and address");
        if address.is_some() {
            assert_eq!(probe[2], "10.0.2.2", "{what}\nthe static gateway");
        }
        let params = cmdline::line(req);
        assert!(words.ends_with(&params.split_whitespace().collect::<Vec<_>>()), "{what}\n{words:?}");

        // What the installer got: its host name, its keys, its static network (the agent installed the overlay).
        assert_eq!(st.kv("apply-overlay-exit"), "0", "{what}\n{}", st.output("apply-overlay"));
        let root = st.files_under("/testroot");
        let read = |p: &str| root.get(p).map(|(_, c)| String::from_utf8_lossy(c).into_owned());
        assert_eq!(read("etc/hostname"), host.map(|h| format!("{h}\n")), "{what}\nthe host name");
        let mut keys = vec![TEAM_KEY];
        if host == Some("web1") {
            keys.push(WEB1_KEY);
        }
        let want_keys: String = keys.iter().map(|k| format!("{k}\n")).collect();
        assert_eq!(read("root/.ssh/authorized_keys"), Some(want_keys), "{what}\nthe keys");
        let units: Vec<(String, String)> = networkd::render(req)
            .files
            .into_iter()
            .map(|u| (format!("etc/systemd/network/{}", u.path), String::from_utf8(u.contents).unwrap()))
            .collect();
        assert_eq!(units.len(), usize::from(host.is_some()), "{what}");
        for (path, contents) in units {
            assert_eq!(read(&path).as_deref(), Some(contents.as_str()), "{what}\n{path}");
            assert!(contents.contains(&format!("Address={}/24", address.unwrap())), "{what}\n{contents}");
        }
    }
}
