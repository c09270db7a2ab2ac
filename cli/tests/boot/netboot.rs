//! Netboot: our rendered `netboot.ipxe` and overlay, next to a release-shaped `netboot-x86_64-linux.ipxe`, kernel and
//! initrd, booted by Debian's iPXE on SeaBIOS or OVMF.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::time::Duration;

use nixos_images_core::manifest::AssetKind;
use nixos_images_core::render::{cmdline, networkd, overlay};
use nixos_images_core::Arch;

use super::guest::{Initramfs, Report};
use super::qemu::{Boot, Firmware, Forward, GuestArch, Nic, Typing, Vm};
use super::{example, fixtures, gen, pcap, printable, validate, Scenario};

/// The guest MAC of the netboot example (`examples/netboot-static.toml`).
const NETBOOT_MAC: &str = "52:54:00:ab:cd:ef";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NetbootMode {
    /// SeaBIOS, the NIC's iPXE ROM, DHCP: the bootfile is our netboot.ipxe; the request's NIC uses DHCP.
    BiosDhcp,
    /// ipxe.lkrn with a bootstrap script standing in for a person at the iPXE prompt (a temporary address, then
    /// `chain`); the request's NIC is static and nothing may use DHCP.
    BiosStatic,
    /// OVMF, the NIC's iPXE (EFI driver of the same ROM), DHCP.
    UefiDhcp,
    /// OVMF boots Debian's `ipxe.efi` from a disk (the NIC has no ROM), and a person at its prompt on the serial
    /// console gives it a temporary address and chains our script (Debian's 2019 iPXE reads no `autoexec.ipxe`);
    /// the request's NIC is static and nothing may use DHCP.
    UefiStatic,
    /// aarch64 (qemu's `virt`, AAVMF): AAVMF boots Debian's arm64 iPXE (trixie's; bookworm has none) from a disk,
    /// which runs the person's lines from its `autoexec.ipxe`, then our script, the release's and the arm64 kernel;
    /// static, no DHCP.
    Aarch64Static,
}

impl NetbootMode {
    fn is_static(self) -> bool {
        matches!(self, NetbootMode::BiosStatic | NetbootMode::UefiStatic | NetbootMode::Aarch64Static)
    }
    fn is_uefi(self) -> bool {
        matches!(self, NetbootMode::UefiDhcp | NetbootMode::UefiStatic | NetbootMode::Aarch64Static)
    }
    fn arch(self) -> GuestArch {
        if self == NetbootMode::Aarch64Static {
            GuestArch::Aarch64
        } else {
            GuestArch::X86_64
        }
    }
}

/// What a person types at the iPXE prompt of a network without DHCP: a temporary address, then our script.
const BOOTSTRAP: [&str; 4] = [
    "set net0/ip 192.0.2.99",
    "set net0/netmask 255.255.255.0",
    "ifopen net0",
    "chain http://192.0.2.100/netboot.ipxe",
];

/// The netboot guest's `/init` (in the release-shaped initrd): reports the command line, the firmware and the
/// overlay files the kernel unpacked, then applies the overlay with the agent into /testroot and reports that.
pub(super) const NETBOOT_INIT: &str = r#"say stage netboot
kv cmdline "$(cat /proc/cmdline)"
if [ -d /sys/firmware/efi ]; then kv firmware uefi; else kv firmware bios; fi
dumptree /ssh /nixos-images
mkdir -p /testroot
out apply-overlay nixos-images-agent apply-overlay --root /testroot
dumptree /testroot
finish
"#;

pub fn run(name: &'static str, mode: NetbootMode) {
    let arch = mode.arch();
    let Some(mut sc) = Scenario::start_on(name, arch) else { return };
    let fx = fixtures::of(arch);
    let release_arch = match arch {
        GuestArch::X86_64 => Arch::X86_64Linux,
        GuestArch::Aarch64 => Arch::Aarch64Linux,
    };
    let [kernel_asset, initrd_asset, script_asset] =
        [AssetKind::NetbootKernel, AssetKind::NetbootInitrd, AssetKind::NetbootIpxe].map(|k| k.file_name(release_arch));
    let (net, host, dns, server) = match mode {
        _ if mode.is_static() => ("192.0.2.0/24", "192.0.2.1", "192.0.2.53", "192.0.2.100"),
        _ => ("10.0.2.0/24", "10.0.2.2", "10.0.2.3", "10.0.2.100"),
    };

    // The request: the netboot example, with the release on the test's server (and DHCP, but for the static case).
    let mut req = example("netboot-static.toml");
    req.arch = release_arch.as_str().into();
    req.release.base_url = Some(format!("http://{server}/release"));
    if !mode.is_static() {
        req.interfaces[0].dhcp = true;
    }
    let valid = validate(&req);
    let www = sc.dir.join("www");
    let release_dir = www.join("release").join(valid.release().tag.as_str());
    fs::create_dir_all(&release_dir).unwrap();
    let request_file = sc.dir.join("request.toml");
    fs::write(&request_file, req.to_toml()).unwrap();
    // Our artifacts, as the CLI renders them.
    gen(&["render", "ipxe", "-r"], &request_file, &www.join("netboot.ipxe"));
    gen(&["render", "overlay", "-r"], &request_file, &www.join(overlay::OVERLAY_FILE_NAME));

    // The release, in the official shape: its script loads kernel and initrd and appends ${cmdline}. The
    // `nixos_images_test.ipxe` parameter records what iPXE knew when it booted (a probe of this test).
    let release_url = format!("http://{server}/release/{}", valid.release().tag);
    let probe = "${platform},${netX/mac},${netX/ip},${netX/netmask},${netX/gateway},${netX/dns},\
                 ${netX.dhcp/dhcp-server}";
    let release_script = format!(
        "#!ipxe\n# A release-shaped netboot script (fixture of the boot tests).\n\
         kernel {release_url}/{kernel_asset} init=/init initrd={initrd_asset} {console} \
         panic=-1 loglevel=1 nixos_images_test.ipxe={probe} ${{cmdline}}\n\
         initrd {release_url}/{initrd_asset}\nboot\n",
        console = arch.console(),
    );
    fs::write(release_dir.join(&script_asset), release_script).unwrap();
    fs::copy(&fx.vmlinuz, release_dir.join(&kernel_asset)).unwrap();
    let mut initrd = Initramfs::new(fx, "init", NETBOOT_INIT);
    initrd.program(&fx.agent, "usr/local/bin/nixos-images-agent");
    fs::write(release_dir.join(&initrd_asset), initrd.gzip()).unwrap();

    let server_http = test_support::http::Server::start(&www);
    let pcap = sc.dir.join("guest.pcap");
    let mut typing = Vec::new();
    let (firmware, boot, bootfile, rom) = match mode {
        NetbootMode::BiosDhcp => (Firmware::Bios, Boot::Network, Some(format!("http://{server}/netboot.ipxe")), true),
        NetbootMode::UefiDhcp => (Firmware::Uefi, Boot::Network, Some(format!("http://{server}/netboot.ipxe")), true),
        NetbootMode::BiosStatic => {
            // The person's lines as a script ipxe.lkrn runs (the BIOS iPXE takes one as its initrd).
            let bootstrap = sc.dir.join("bootstrap.ipxe");
            let script =
                format!("#!ipxe\necho bootstrap: a temporary address, then our script\n{}\n", BOOTSTRAP.join("\n"));
            fs::write(&bootstrap, script).unwrap();
            let boot = Boot::Kernel { kernel: fx.ipxe_lkrn.clone(), initrd: Some(bootstrap), append: None };
            (Firmware::Bios, boot, None, false)
        }
        NetbootMode::UefiStatic => {
            let esp = sc.dir.join("esp");
            fs::create_dir_all(esp.join("EFI/BOOT")).unwrap();
            fs::copy(&fx.ipxe_efi, esp.join("EFI/BOOT/BOOTX64.EFI")).unwrap();
            // Ctrl-B at iPXE's banner, then each line at its prompt.
            typing.push(Typing { after: "Ctrl-B", keys: "\u{2}".into() });
            for line in BOOTSTRAP {
                typing.push(Typing { after: "iPXE>", keys: format!("{line}\r") });
            }
            (Firmware::Uefi, Boot::EfiDisk { dir: esp }, None, false)
        }
        NetbootMode::Aarch64Static => {
            // Trixie's iPXE runs autoexec.ipxe from the directory it was loaded from: the person's lines.
            let esp = sc.dir.join("esp");
            fs::create_dir_all(esp.join("EFI/BOOT")).unwrap();
            fs::copy(&fx.ipxe_efi, esp.join("EFI/BOOT/BOOTAA64.EFI")).unwrap();
            let script =
                format!("#!ipxe\necho bootstrap: a temporary address, then our script\n{}\n", BOOTSTRAP.join("\n"));
            fs::write(esp.join("EFI/BOOT/autoexec.ipxe"), script).unwrap();
            (Firmware::Uefi, Boot::EfiDisk { dir: esp }, None, false)
        }
    };
    let vm = Vm {
        name: "netboot".into(),
        arch,
        firmware,
        boot,
        typing,
        reboot_until_seen_twice: None,
        nic: Nic {
            mac: NETBOOT_MAC,
            net,
            host,
            dns,
            bootfile,
            forward: Forward { guest_addr: server, host_port: server_http.port() },
            rom,
            ipv6: !mode.is_static(),
            pcap: mode.is_static().then(|| pcap.clone()),
            ssh: None,
        },
        mem_mib: 512,
        timeout: Duration::from_secs(if mode.is_uefi() { 180 } else { 120 }),
        dir: sc.dir.clone(),
    };
    let run = sc.run(&vm);
    let fetched = server_http.fetched();
    drop(server_http);
    let report = Report::parse(&run.serial);
    let what = format!("{name}\n{}", run.tail());
    // Our script, the overlay next to it, then the release's script, kernel and initrd.
    let release_path = format!("/release/{}", valid.release().tag);
    let want: Vec<String> = [
        "/netboot.ipxe".to_string(),
        format!("/{}", overlay::OVERLAY_FILE_NAME),
        format!("{release_path}/{script_asset}"),
        format!("{release_path}/{kernel_asset}"),
        format!("{release_path}/{initrd_asset}"),
    ]
    .into();
    assert_eq!(fetched, want, "{what}\nwhat the guest fetched, in order");
    let st =
        report.stages.iter().find(|s| s.name == "netboot").unwrap_or_else(|| panic!("the guest never started: {what}"));
    assert!(st.fails.is_empty() && st.ended, "{what}\nthe guest failed: {:?}", st.fails);

    // Booted as asked, with the request's parameters on the kernel command line (appended through ${cmdline}).
    let expected_firmware = if mode.is_uefi() { "uefi" } else { "bios" };
    assert_eq!(st.kv("firmware"), expected_firmware, "{what}");
    let words: Vec<&str> = st.kv("cmdline").split_whitespace().collect();
    let params = cmdline::line(&valid);
    let params: Vec<&str> = params.split_whitespace().collect();
    assert!(words.ends_with(&params), "{what}\n/proc/cmdline {words:?} does not end with the request's {params:?}");
    let initrd_word = format!("initrd={initrd_asset}");
    for w in ["init=/init", &initrd_word, "initrd=nixos-images-overlay.cpio.gz", "systemd.hostname=install-07"] {
        assert!(words.contains(&w), "{what}\n/proc/cmdline {words:?} lacks {w}");
    }

    // What iPXE knew: firmware, the NIC found by MAC, and its address.
    let probe =
        words.iter().find_map(|w| w.strip_prefix("nixos_images_test.ipxe=")).expect("probe on the command line");
    let probe: Vec<&str> = probe.split(',').collect();
    let platform = if mode.is_uefi() { "efi" } else { "pcbios" };
    assert_eq!((probe[0], probe[1]), (platform, NETBOOT_MAC), "{what}\niPXE platform and NIC: {probe:?}");
    match mode {
        _ if mode.is_static() => assert_eq!(
            probe[2..],
            ["192.0.2.77", "255.255.255.0", "192.0.2.1", "192.0.2.53", ""],
            "{what}\niPXE's address, netmask, gateway, DNS and DHCP server should be the request's static ones, \
             without DHCP"
        ),
        _ => assert_eq!(
            (probe[2], probe[6]),
            ("10.0.2.15", "10.0.2.2"),
            "{what}\niPXE should have its address from qemu's DHCP server"
        ),
    }

    // The kernel unpacked the overlay: exactly its files, with their modes.
    let mut expected = BTreeMap::new();
    for f in overlay::files(&valid) {
        expected.insert(format!("/{}", f.path), (f.mode, f.contents));
    }
    let seen: BTreeMap<_, _> =
        st.files.iter().filter(|(p, _)| !p.starts_with("/testroot")).map(|(p, v)| (p.clone(), v.clone())).collect();
    assert_eq!(printable(&seen), printable(&expected), "{what}\nthe overlay's files as the guest sees them");
    for dir in ["/ssh", "/nixos-images", "/nixos-images/networkd"] {
        assert_eq!(st.dirs.get(dir), Some(&overlay::DIR_MODE), "{what}\nmode of {dir}");
    }

    // The agent installed them into the test root.
    assert_eq!(st.kv("apply-overlay-exit"), "0", "{what}\napply-overlay: {}", st.output("apply-overlay"));
    let root = st.files_under("/testroot");
    let keys: String = valid.ssh_authorized_keys().iter().map(|k| format!("{k}\n")).collect();
    let unit = &networkd::render(&valid).files[0];
    let want = [
        ("root/.ssh/authorized_keys", 0o600, keys),
        ("etc/hostname", 0o644, "install-07\n".to_string()),
        (&*format!("etc/systemd/network/{}", unit.path), 0o644, String::from_utf8(unit.contents.clone()).unwrap()),
    ];
    for (path, mode, contents) in want {
        let got =
            root.get(path).unwrap_or_else(|| panic!("{what}\n/testroot/{path} is missing; have {:?}", root.keys()));
        assert_eq!((got.0, String::from_utf8_lossy(&got.1).into_owned()), (mode, contents), "{what}\n/testroot/{path}");
    }
    assert_eq!(st.dirs.get("/testroot/root/.ssh"), Some(&0o700), "{what}\nmode of /testroot/root/.ssh");
    let resolved = root.get("etc/systemd/resolved.conf.d/nixos-images.conf").map(|f| String::from_utf8_lossy(&f.1));
    assert!(
        resolved.as_ref().is_some_and(|r| r.contains("192.0.2.53")),
        "{what}\nnameservers not installed: {resolved:?}"
    );

    if mode.is_static() {
        check_no_dhcp(&pcap, &what);
    }
}

/// The frames of the static boot: not one DHCP packet (so no DHCP server answered anything, though qemu's would
/// have), the bootstrap's one connection from its temporary address, and every connection after it (overlay,
/// release script, kernel, initrd) from the request's static address.
fn check_no_dhcp(pcap: &Path, what: &str) {
    let packets = pcap::read(pcap);
    let dhcp: Vec<_> = packets.iter().filter(|p| matches!(p, pcap::Packet::Dhcp { .. })).collect();
    assert!(dhcp.is_empty(), "{what}\n{} DHCP packets on the wire: {dhcp:?}", dhcp.len());
    let guest = pcap::mac(NETBOOT_MAC);
    let syns: Vec<(String, String)> = packets
        .iter()
        .filter_map(|p| match p {
            pcap::Packet::TcpSyn { src_mac, src, dst, dport } if *src_mac == guest => {
                Some((src.to_string(), format!("{dst}:{dport}")))
            }
            _ => None,
        })
        .collect();
    let to = "192.0.2.100:80".to_string();
    let mut want = vec![("192.0.2.99".to_string(), to.clone())];
    want.extend(std::iter::repeat_n(("192.0.2.77".to_string(), to), 4));
    assert_eq!(syns, want, "{what}\nthe guest's connections (source address, destination)");
    let sources: std::collections::BTreeSet<String> = packets
        .iter()
        .filter_map(|p| match p {
            pcap::Packet::Ipv4 { src_mac, src, .. } | pcap::Packet::TcpSyn { src_mac, src, .. }
                if *src_mac == guest =>
            {
                Some(src.to_string())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        sources,
        ["192.0.2.77", "192.0.2.99"].map(String::from).into(),
        "{what}\nIPv4 source addresses the guest used"
    );
}
