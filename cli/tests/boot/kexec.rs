//! Kexec: a running Linux (stage 1) downloads a release-shaped kexec tarball like a person would, runs our
//! `kexec/run` under busybox sh, and kexecs into the release's kernel and initrd (stage 2), whose init applies the
//! overlay with the agent, as the installer does. Stage 2 must end with stage 1's host keys, machine-id, the union
//! of its authorized keys and the request's, and networkd units that mean stage 1's static network.
//!
//! Stage 1 is shaped like a rented server without DHCP: an IPv4 /32 with an on-link gateway, an IPv6 address with
//! a link-local gateway, and extra routes. qemu's DHCP server is there, but nothing in the guest asks it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::Duration;

use nixos_images_core::render::{cmdline, kexec_command, networkd};
use nixos_images_core::{Request, ValidRequest};

use super::fixtures::{self, Fixtures};
use super::guest::{Initramfs, Report, Stage};
use super::qemu::{Boot, Firmware, Forward, GuestArch, Nic, SshForward, Vm};
use super::units::{self, Net, Route};
use super::{example, gen_args, validate, Scenario};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum KexecMode {
    /// The release tarball (with its agent) and the request's install command (`render kexec-command`), pasted
    /// into stage 1's shell: download, verify, unpack, put our run script in place, run it.
    InstallCommand,
    /// A release tarball without agent, customized on the host (`customize kexec-tarball --agent`) with keys and
    /// a static address that stage 1 does not have; stage 1 downloads, unpacks and runs `kexec/run`.
    Customized,
    /// As [`KexecMode::InstallCommand`], from a stage 1 that OVMF booted (UEFI, the kernel's EFI stub), as most
    /// cloud machines boot: the kexec must work from a UEFI kernel too.
    InstallCommandUefi,
    /// As [`KexecMode::InstallCommand`] with `kexec.panic_reboot_seconds = 1`, and the installer's kernel panics:
    /// the guest must reboot (`panic=1` after the release's own `panic=-1`, so the request's wins) and come back in
    /// stage 1, the system on its disk.
    PanicInStage2,
    /// As [`KexecMode::InstallCommand`], with an initrd too big for stage 1's RAM: the agent's preflight refuses,
    /// and the script stops before anything is loaded.
    PreflightRefusal,
    /// As [`KexecMode::InstallCommand`] for this project's installer, whose rollback watchdog is armed (shortened to
    /// [`ROLLBACK_SECONDS`] by a kernel parameter of the request, after the run script's own), with a request address
    /// that is wrong for the guest's network: nobody can log in, and after the timeout the installer reboots and the
    /// guest comes back in stage 1, the system on its disk.
    RollbackUnreachable,
    /// The same with stage 1's network kept: the test logs in over SSH (a loopback port forwarded to the guest, no
    /// terminal) before the timeout, and the installer is still up well after it, its watchdog off for good.
    RollbackLogin,
    /// The install command for upstream's images (the default release) with a host name and a static address
    /// stage 1 does not have; the tarball has no agent, and stage 2 is shaped like upstream's installer: it reads
    /// only what upstream's reads (`testing/upstream-installer`), sets its host name from `systemd.hostname=`, and
    /// configures its NIC from the units upstream's restore script would write. Stage 2 must show the request's
    /// host name and address, and reach the test's server with them.
    Upstream,
}

impl KexecMode {
    /// Whether the person pastes the install command (`render kexec-command`) rather than running a customized
    /// tarball.
    fn uses_install_command(self) -> bool {
        self != KexecMode::Customized
    }

    fn is_rollback(self) -> bool {
        matches!(self, KexecMode::RollbackUnreachable | KexecMode::RollbackLogin)
    }

    /// Whether the guest comes back in stage 1 by itself (and so boots it twice).
    fn reboots_into_stage1(self) -> bool {
        matches!(self, KexecMode::PanicInStage2 | KexecMode::RollbackUnreachable)
    }
}

/// The rollback watchdog's timeout in these scenarios: the request's `nixos_images.rollback_seconds=` parameter,
/// which comes after the run script's (`kexec.rollback_minutes`) and wins.
const ROLLBACK_SECONDS: u64 = 25;
/// Stage 2's address in [`KexecMode::RollbackUnreachable`]: not on the guest's network.
const UNREACHABLE_ADDRESS: &str = "192.0.2.10/24";
/// Where the test's logins go: stage 1's address, which a person would use after the kexec.
const SSH_ADDRESS: &str = "10.0.2.10";
/// What the test's SSH login runs (no terminal, as nixos-anywhere's `ssh ... exit 0`).
const LOGIN_MARKER: &str = "rollback-test-logged-in";

/// Stage 2's address in [`KexecMode::Upstream`] (stage 1 has another).
const UPSTREAM_ADDRESS: &str = "10.0.2.30/24";
/// What stage 2 fetches from the test's server in [`KexecMode::Upstream`], with the request's network.
const REACHABLE: &str = "reachable.txt";

/// The NIC of stage 1 (and so of stage 2: the same VM).
const MAC: &str = "52:54:00:12:34:56";
/// The release's NixOS init, as its run script names it; stage 2's init is there.
const INIT: &str = "/nix/store/0c8hmp4kc1w2ivdk2rm1fz0ac0sjm2ns-nixos-system-nixos-kexec-26.05pre-git/init";
/// The release's own kernel parameters (its run script's `kernelParams`): the serial console of the arch, and the
/// guest powers off on a panic.
fn release_params(arch: GuestArch) -> String {
    format!("{} panic=-1 loglevel=1", arch.console())
}
/// The slirp address forwarded to the test's HTTP server.
const SERVER: &str = "10.0.2.100";

/// Stage 1's static network on eth0.
const ADDRESSES: &[&str] = &["10.0.2.10/32", "2001:db8:1234::10/64"];
/// (destination, gateway, on-link).
const ROUTES: &[(&str, &str, bool)] = &[
    ("default", "10.0.2.2", true),
    ("198.18.0.0/15", "10.0.2.2", true),
    ("default", "fe80::1", false),
    ("2001:db8:ff00::/40", "2001:db8:1234::fe", false),
];

// Key blobs (valid base64 of their types), with comments of this test.
const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJc8dPZMT4nOt7KCWcXuD/SnwMbZVnS0zy/73ZA8lGTg";
const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEfMNVa/3GkPhfPipYCogzvDF1IZIpfDjJ2siN2lYwcrGXSRf6Nq6UzX6LYXPebKCr00wpIUxYSiBbHRPKBziVQ=";
const SK: &str = "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIOSmOIUysZTcmkQbpnb+6k4znBGbxm9Q4cJAdFBrD4ZIAAAABHNzaDo=";

const MACHINE_ID: &str = "5f1c4e0d8a9b4c3d2e1f0a9b8c7d6e5f\n";
const SUDO_USER: &str = "deploy";

/// Stage 1's files that stage 2 must keep or merge: (path, mode, contents).
fn stage1_files() -> Vec<(&'static str, u32, String)> {
    let host_key = |kind: &str| {
        format!("-----BEGIN OPENSSH PRIVATE KEY-----\nstage 1's {kind} host key\n-----END OPENSSH PRIVATE KEY-----\n")
    };
    vec![
        ("etc/ssh/ssh_host_ed25519_key", 0o600, host_key("ed25519")),
        ("etc/ssh/ssh_host_ed25519_key.pub", 0o644, format!("{ED25519} root@stage1\n")),
        ("etc/ssh/ssh_host_ecdsa_key", 0o600, host_key("ecdsa")),
        ("etc/ssh/ssh_host_ecdsa_key.pub", 0o644, format!("{ECDSA} root@stage1\n")),
        // root's keys: options kept; alice's is also the request's (it must appear once).
        (
            "root/.ssh/authorized_keys",
            0o600,
            format!("from=\"10.0.2.0/24\",no-pty {ECDSA} admin@stage1\n{ED25519} alice@laptop\n"),
        ),
        ("root/.ssh/authorized_keys2", 0o600, format!("{SK} fido@authorized_keys2\n")),
        ("etc/ssh/authorized_keys.d/root", 0o644, format!("{ED25519} etc@authorized_keys.d\n")),
        ("home/deploy/.ssh/authorized_keys", 0o600, format!("{ED25519} deploy@laptop\n")),
        (
            "etc/passwd",
            0o644,
            format!("root:x:0:0:root:/root:/bin/sh\n{SUDO_USER}:x:1000:1000::/home/deploy:/bin/sh\n"),
        ),
        ("etc/machine-id", 0o444, MACHINE_ID.to_string()),
    ]
}

/// The keys stage 1 has, one line each.
fn stage1_keys() -> Vec<String> {
    let files = stage1_files();
    let keys = ["root/.ssh/authorized_keys", "root/.ssh/authorized_keys2", "etc/ssh/authorized_keys.d/root"];
    let sudo = "home/deploy/.ssh/authorized_keys";
    files
        .iter()
        .filter(|(p, _, _)| keys.contains(p) || *p == sudo)
        .flat_map(|(_, _, text)| text.lines().map(String::from).collect::<Vec<_>>())
        .collect()
}

/// Stage 1's `/init`: the network of a rented server, then the person's steps (`/user-steps.sh`, as root after
/// `sudo -i` from the deploy user), then `AFTER`.
/// iproute2's `ip` is called by its path: Debian's busybox sh runs its own `ip` applet whatever PATH says.
const STAGE1_INIT: &str = r#"say stage 1
if [ -d /sys/firmware/efi ]; then kv firmware uefi; else kv firmware bios; fi
load_modules
sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
ip=/usr/local/bin/ip
$ip link set lo up
$ip link set eth0 up || fail "no eth0"
NETWORK
kv ip-addr "$($ip -o addr show dev eth0 | tr '\n' ';')"
kv ip-route "$({ $ip route; $ip -6 route; } | tr '\n' ';')"
ROOT_TMPFS
cd /root
SUDO_USER=deploy out steps sh /user-steps.sh || ON_FAILURE
AFTER
"#;

/// Stage 2's init (at the release's init path): what the kernel unpacked, then the installer's part: the agent
/// applies the overlay into /sysroot and turns the network dumps into networkd units.
const STAGE2_INIT: &str = r#"say stage 2
kv cmdline "$(cat /proc/cmdline)"
load_modules
kv eth0-mac "$(cat /sys/class/net/eth0/address)"
dumptree /ssh /machine-id /nixos-images /iproute2
mkdir -p /sysroot
out apply-overlay nixos-images-agent apply-overlay --root /sysroot || fail "apply-overlay failed"
d=/sysroot/root/network
out restore-network nixos-images-agent restore-network $d/addrs.json $d/routes-v4.json $d/routes-v6.json /sysroot/etc/systemd/network || fail "restore-network failed"
dumptree /sysroot
finish
"#;

/// Stage 2's init shaped like upstream's installer: the initrd service's copy, the host name from the kernel
/// command line (as systemd does), the restore script's units applied as networkd would; then what it got.
const STAGE2_UPSTREAM_INIT: &str = r#"say stage 2
kv cmdline "$(cat /proc/cmdline)"
load_modules
kv eth0-mac "$(cat /sys/class/net/eth0/address)"
for word in $(cat /proc/cmdline); do
  case "$word" in systemd.hostname=*) hostname "${word#systemd.hostname=}" ;; esac
done
kv hostname "$(hostname)"
mkdir -p /sysroot
out copy-state upstream-installer copy-state / /sysroot || fail "upstream's initrd service failed"
d=/sysroot/root/network
out restore-network upstream-installer restore-network $d/addrs.json $d/routes-v4.json $d/routes-v6.json /sysroot/etc/systemd/network || fail "restore-network failed"
out apply-network upstream-installer apply-network /sysroot/etc/systemd/network || fail "applying the units failed"
kv ip-addr "$(ip -o addr show dev eth0 | tr '
' ';')"
kv ip-route "$({ ip route; ip -6 route; } | tr '
' ';')"
out fetch wget -q -O - http://SERVER/REACHABLE
dumptree /sysroot
finish
"#;

/// Stage 2's /init: runs the init that `init=` names, or says that there is none.
const STAGE2_HANDOVER: &str = r#"#!/bin/busybox sh
/bin/busybox mkdir -p /proc
/bin/busybox mount -t proc proc /proc
cmdline=$(/bin/busybox cat /proc/cmdline)
/bin/busybox umount /proc
for word in $cmdline; do
  case "$word" in init=*) exec "${word#init=}" ;; esac
done
echo "@@stage 2"
echo "@@fail no init= on the kernel command line, or it is not in the initrd: $cmdline"
/bin/busybox poweroff -f
"#;

pub fn run(name: &'static str, mode: KexecMode, arch: GuestArch) {
    let Some(mut sc) = Scenario::start_on(name, arch) else { return };
    let fx = fixtures::of(arch);
    let params = release_params(arch);
    let www = sc.dir.join("www");

    // The request: the Hetzner example without its interfaces (the machine's own network is kept), with the
    // release on the test's server and the shortest delay validation accepts.
    let mut req = example("static-hetzner.toml");
    req.interfaces.clear();
    req.release.base_url = Some(format!("http://{SERVER}/release"));
    req.kexec.delay_seconds = nixos_images_core::validate::MIN_KEXEC_DELAY_SECONDS;
    req.arch = match arch {
        GuestArch::X86_64 => "x86_64-linux",
        GuestArch::Aarch64 => "aarch64-linux",
    }
    .into();
    let padding = if mode == KexecMode::PreflightRefusal { 440 << 20 } else { 0 };
    let stage2 = match mode {
        KexecMode::Upstream => Stage2::Upstream,
        KexecMode::PanicInStage2 => Stage2::Panic,
        KexecMode::RollbackUnreachable | KexecMode::RollbackLogin => Stage2::Rollback,
        _ => Stage2::Agent,
    };
    // The rollback scenarios: this project's installer, a key of the test's own to log in with, and for the
    // unreachable one an address the guest's network cannot reach.
    let client_key = sc.dir.join("client_ed25519");
    if mode.is_rollback() {
        req.release.installer = Some("nixos-images".into());
        req.kexec.rollback_minutes = 1;
        req.kernel_params.push(format!("nixos_images.rollback_seconds={ROLLBACK_SECONDS}"));
        req.ssh_authorized_keys.push(ssh_keygen(&client_key, "rollback-test@host"));
    }
    if mode == KexecMode::RollbackUnreachable {
        let text = format!(
            "[[interfaces]]\nmatch_mac = \"{MAC}\"\ndhcp = false\naddresses = [\"{UNREACHABLE_ADDRESS}\"]\n\
             [[interfaces.routes]]\ndestination = \"default\"\ngateway = \"192.0.2.1\"\n"
        );
        req.interfaces = Request::parse(&text, nixos_images_core::RequestFormat::Toml).unwrap().interfaces;
    }
    if mode == KexecMode::PanicInStage2 {
        req.kexec.panic_reboot_seconds = 1;
    }
    let with_agent = mode.uses_install_command() && mode != KexecMode::Upstream;
    let release = release_tarball(fx, with_agent, padding, stage2, &params);
    if mode == KexecMode::Upstream {
        let text = format!(
            "[[interfaces]]\nmatch_mac = \"{MAC}\"\ndhcp = false\naddresses = [\"{UPSTREAM_ADDRESS}\"]\n\
             [[interfaces.routes]]\ndestination = \"default\"\ngateway = \"10.0.2.2\"\n"
        );
        req.interfaces = Request::parse(&text, nixos_images_core::RequestFormat::Toml).unwrap().interfaces;
        fs::create_dir_all(&www).unwrap();
        fs::write(www.join(REACHABLE), "stage 2 reached the server\n").unwrap();
    }
    let tarball_name = kexec_command::tarball_name(&validate(&req));

    let user_steps = match mode {
        _ if mode.uses_install_command() => {
            req.release.kexec_tarball_sha256 = Some(sha256(&release.tar_gz));
            let valid = validate(&req);
            let dir = www.join("release").join(valid.release().tag.as_str());
            fs::create_dir_all(&dir).unwrap();
            fs::write(dir.join(&tarball_name), &release.tar_gz).unwrap();
            let request_file = sc.dir.join("request.toml");
            fs::write(&request_file, req.to_toml()).unwrap();
            // The paste-able command, as the CLI renders it.
            String::from_utf8(gen_args(&["render", "kexec-command", "-r"], &request_file)).unwrap()
        }
        _ => {
            req = customized_request(req);
            let release_file = sc.dir.join(&tarball_name);
            fs::write(&release_file, &release.tar_gz).unwrap();
            let request_file = sc.dir.join("request.toml");
            fs::write(&request_file, req.to_toml()).unwrap();
            fs::create_dir_all(www.join("custom")).unwrap();
            let custom = www.join("custom").join(&tarball_name);
            let out = Command::new(env!("CARGO_BIN_EXE_nixos-images-gen"))
                .args(["customize", "kexec-tarball"])
                .arg(&release_file)
                .arg("-o")
                .arg(&custom)
                .arg("--agent")
                .arg(&fx.agent)
                .arg("-r")
                .arg(&request_file)
                .output()
                .expect("running nixos-images-gen customize kexec-tarball");
            assert!(out.status.success(), "customize kexec-tarball: {}", String::from_utf8_lossy(&out.stderr));
            // What nixos-anywhere --kexec URL does, by hand.
            format!(
                "set -eu\ncd /root\nwget -O {tarball_name} http://{SERVER}/custom/{tarball_name}\n\
                 tar -xzf {tarball_name} -C /root\nrm -f {tarball_name}\n/root/kexec/run\n"
            )
        }
    };
    let valid = validate(&req);

    // Stage 1.
    let mut network = String::new();
    for a in ADDRESSES {
        let v6 = if a.contains(':') { "-6 " } else { "" };
        let nodad = if a.contains(':') { " nodad" } else { "" };
        network.push_str(&format!("$ip {v6}addr add {a} dev eth0{nodad} || fail 'ip addr add {a}'\n"));
    }
    for (dest, gw, on_link) in ROUTES {
        let v6 = if gw.contains(':') { "-6 " } else { "" };
        let onlink = if *on_link { " onlink" } else { "" };
        network
            .push_str(&format!("$ip {v6}route add {dest} via {gw} dev eth0{onlink} || fail 'ip route add {dest}'\n"));
    }
    let after = match mode {
        // The kexec replaces this kernel within the delay; if it does not, say so.
        KexecMode::InstallCommand
        | KexecMode::InstallCommandUefi
        | KexecMode::Customized
        | KexecMode::Upstream
        | KexecMode::PanicInStage2
        | KexecMode::RollbackUnreachable
        | KexecMode::RollbackLogin => "sleep 90\nfail \"no kexec within 90 s\"\n".to_string(),
        KexecMode::PreflightRefusal => format!(
            "kv kexec-loaded \"$(cat /sys/kernel/kexec_loaded)\"\n\
             kv initrd-size \"$(stat -c %s /root/kexec/initrd)\"\n\
             kv kexec-dir \"$(ls -A /root/kexec | tr '\\n' ' ')\"\n\
             sleep {}\nkv kexec-loaded-later \"$(cat /sys/kernel/kexec_loaded)\"\nfinish\n",
            valid.kexec().delay_seconds + 3
        ),
    };
    let init = STAGE1_INIT
        .replace("NETWORK\n", &network)
        .replace(
            "ROOT_TMPFS\n",
            // Room for a big initrd: the initramfs' own tmpfs takes at most half the RAM.
            if mode == KexecMode::PreflightRefusal {
                "mount -t tmpfs -o size=900m,mode=0700 tmpfs /root\n"
            } else {
                ""
            },
        )
        .replace("AFTER\n", &after)
        .replace(
            "ON_FAILURE",
            if mode == KexecMode::PreflightRefusal { "true" } else { "fail \"the person's steps failed\"" },
        );
    let mut stage1 = Initramfs::new(fx, "init", &init);
    stage1.modules(fx).program(&fx.ip, "usr/local/bin/ip").libraries(&fx.kexec);
    for (path, mode, contents) in stage1_files() {
        stage1.file(path, mode, contents);
    }
    for dir in ["root/.ssh", "home/deploy/.ssh"] {
        stage1.cpio.dir(dir, 0o700);
    }
    stage1.file("user-steps.sh", 0o755, user_steps);
    let stage1_initrd = sc.dir.join("stage1-initrd.gz");
    fs::write(&stage1_initrd, stage1.gzip()).unwrap();

    let server = test_support::http::Server::start(&www);
    let vm = Vm {
        name: "kexec".into(),
        arch,
        firmware: if mode == KexecMode::InstallCommandUefi { Firmware::Uefi } else { Firmware::Bios },
        typing: vec![],
        reboot_until_seen_twice: mode.reboots_into_stage1().then_some("@@stage 1"),
        boot: Boot::Kernel { kernel: fx.vmlinuz.clone(), initrd: Some(stage1_initrd), append: Some(params.clone()) },
        nic: Nic {
            mac: MAC,
            net: "10.0.2.0/24",
            host: "10.0.2.2",
            dns: "10.0.2.3",
            bootfile: None,
            forward: Forward { guest_addr: SERVER, host_port: server.port() },
            rom: false,
            ipv6: false,
            pcap: None,
            ssh: mode.is_rollback().then(|| SshForward { host_port: free_port(), guest_addr: SSH_ADDRESS }),
        },
        // MemTotal then reads about 980 MiB: above the run script's 900 MiB floor.
        mem_mib: 1024,
        timeout: Duration::from_secs(240),
        dir: sc.dir.clone(),
    };
    // A person (or nixos-anywhere) trying to log in, from before the kexec until the VM ends.
    let logins = vm.nic.ssh.as_ref().map(|f| Logins::start(f.host_port, &client_key, mode == KexecMode::RollbackLogin));
    let run = sc.run(&vm);
    let logins = logins.map(Logins::finish);
    let fetched = server.fetched();
    drop(server);
    let report = Report::parse(&run.serial);
    let what = format!("{name}\n{}", run.tail());
    let s1 = report.stages.iter().find(|s| s.name == "1").unwrap_or_else(|| panic!("stage 1 never started: {what}"));
    assert!(s1.fails.is_empty(), "{what}\nstage 1 failed: {:?}", s1.fails);
    let firmware = if mode == KexecMode::InstallCommandUefi { "uefi" } else { "bios" };
    assert_eq!(s1.kv("firmware"), firmware, "{what}\nstage 1's firmware");
    let downloaded = match mode {
        KexecMode::Customized => format!("/custom/{tarball_name}"),
        _ => format!("/release/{}/{tarball_name}", valid.release().tag),
    };
    let mut want_fetched = vec![downloaded];
    if mode == KexecMode::Upstream {
        want_fetched.push(format!("/{REACHABLE}"));
    }
    if mode.reboots_into_stage1() {
        // The second boot of stage 1 may start downloading again before it is stopped.
        assert!(fetched.starts_with(&want_fetched), "{what}\nwhat the guest downloaded: {fetched:?}");
    } else {
        assert_eq!(fetched, want_fetched, "{what}\nwhat the guest downloaded");
    }
    let steps = s1.output("steps");
    if mode == KexecMode::PanicInStage2 {
        check_panic_reboot(&run.serial, &report, &valid, &params, &what);
        return;
    }
    if let Some(logins) = logins {
        check_rollback(mode, &run.serial, &report, &valid, &params, &logins, &what);
        return;
    }

    if mode == KexecMode::PreflightRefusal {
        check_refusal(&report, s1, &steps, release.initrd_len, &what);
        return;
    }
    assert_eq!(s1.kv("steps-exit"), "0", "{what}\nthe steps failed:\n{steps}");
    assert!(
        steps.contains(&format!("machine will boot into nixos in {}s...", valid.kexec().delay_seconds)),
        "{what}\nthe run script did not announce the kexec:\n{steps}"
    );
    let s2 = report.stages.iter().find(|s| s.name == "2").unwrap_or_else(|| panic!("no kexec into stage 2: {what}"));
    assert!(s2.fails.is_empty() && s2.ended, "{what}\nstage 2 failed: {:?}", s2.fails);
    if mode == KexecMode::Upstream {
        check_upstream_stage2(s2, &valid, &params, &what);
    } else {
        check_stage2(s2, &valid, &params, &what);
    }
}

/// What stage 2 runs after the kexec: this project's agent, a stand-in for upstream's installer, or an installer
/// whose kernel panics.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage2 {
    Agent,
    Upstream,
    Panic,
    Rollback,
}

/// Stage 2 of [`KexecMode::PanicInStage2`]: reports its command line, then the kernel panics (sysrq `c`).
const STAGE2_PANIC_INIT: &str = r#"say stage 2
kv cmdline "$(cat /proc/cmdline)"
echo c > /proc/sysrq-trigger
sleep 30
fail "the kernel did not panic"
"#;

/// The guest booted stage 1, kexec'd into stage 2, whose kernel panicked with the request's `panic=` in force,
/// rebooted by itself and came back in stage 1.
fn check_panic_reboot(serial: &str, report: &Report, req: &ValidRequest, release_params: &str, what: &str) {
    let s2 = report.stages.iter().find(|s| s.name == "2").unwrap_or_else(|| panic!("no kexec into stage 2: {what}"));
    let words: Vec<&str> = s2.kv("cmdline").split_whitespace().collect();
    let mut want = vec![format!("init={INIT}")];
    want.extend(release_params.split_whitespace().map(String::from));
    want.extend(cmdline::line(req).split_whitespace().map(String::from));
    assert_eq!(words, want, "{what}\nstage 2's kernel command line");
    let release_panic = words.iter().position(|w| *w == "panic=-1").expect("the release's panic=-1");
    let request_panic = words.iter().position(|w| *w == "panic=1").expect("the request's panic=1");
    assert!(release_panic < request_panic, "{what}\nthe request's panic= must come after the release's");
    let stage2_at = serial.find("@@stage 2").unwrap();
    let panic_at = serial[stage2_at..].find("Kernel panic - not syncing").map(|i| i + stage2_at);
    let panic_at = panic_at.unwrap_or_else(|| panic!("{what}\nstage 2's kernel never panicked"));
    let back = serial[panic_at..].find("@@stage 1");
    assert!(back.is_some(), "{what}\nafter the panic the guest did not reboot back into stage 1");
    assert_eq!(report.stages.iter().filter(|s| s.name == "1").count(), 2, "{what}\nstage 1 twice");
}

/// Stage 2 of the rollback scenarios, as this project's installer boots: the overlay and the network (the units
/// applied as networkd would), then sshd with the keys the overlay installed and the watchdog as its unit runs it,
/// following sshd's messages (the unit reads the same lines from the journal). It then waits past the deadline.
const STAGE2_ROLLBACK_INIT: &str = r#"say stage 2
kv cmdline "$(cat /proc/cmdline)"
load_modules
mkdir -p /sysroot
out apply-overlay nixos-images-agent apply-overlay --root /sysroot || fail "apply-overlay failed"
d=/sysroot/root/network
out restore-network nixos-images-agent restore-network $d/addrs.json $d/routes-v4.json $d/routes-v6.json /sysroot/etc/systemd/network || fail "restore-network failed"
ip=/usr/local/bin/ip
$ip link set lo up
out apply-network upstream-installer apply-network /sysroot/etc/systemd/network || fail "applying the units failed"
kv ip-addr "$($ip -o addr show dev eth0 | tr '\n' ';')"
mkdir -p /run/sshd
chmod 0755 /run/sshd
/usr/sbin/sshd -D -e -f /etc/ssh/sshd_config 2>>/run/sshd.log &
nixos-images-agent watchdog run -- tail -n +1 -F /run/sshd.log &
sleep 1
out watchdog-armed nixos-images-agent watchdog status
sleep WAIT
kv uptime "$(cut -d' ' -f1 /proc/uptime)"
out watchdog-status nixos-images-agent watchdog status
out sshd-log cat /run/sshd.log
finish
"#;

/// Stage 2's sshd: keys only, root's keys where apply-overlay put them (the test's initrd root is not the
/// installer's), no PAM.
const SSHD_CONFIG: &str = "Port 22\nHostKey /etc/ssh/test_host_ed25519_key\n\
    AuthorizedKeysFile /sysroot/root/.ssh/authorized_keys\nPermitRootLogin prohibit-password\n\
    PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n\
    PidFile /run/sshd.pid\nLogLevel INFO\n";

/// An ed25519 key pair without passphrase at `path` (and `path.pub`); returns the public line.
fn ssh_keygen(path: &std::path::Path, comment: &str) -> String {
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .output()
        .expect("running ssh-keygen");
    assert!(out.status.success(), "ssh-keygen: {}", String::from_utf8_lossy(&out.stderr));
    fs::read_to_string(path.with_extension("pub")).unwrap().trim().to_string()
}

/// A loopback port nothing listens on now (qemu binds it a moment later).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// SSH logins tried against the forwarded port while the VM runs, as a person would: one every second or so,
/// without a terminal, until one succeeds (when `stop_at_success`) or the VM ends.
struct Logins {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<LoginAttempts>,
}

#[derive(Debug, Default)]
struct LoginAttempts {
    attempts: usize,
    /// When, since the VM started, the first login succeeded, and what it printed.
    success: Option<(Duration, String)>,
}

impl Logins {
    fn start(port: u16, key: &std::path::Path, stop_at_success: bool) -> Logins {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (key, flag) = (key.to_path_buf(), stop.clone());
        let thread = std::thread::spawn(move || {
            let start = std::time::Instant::now();
            let mut got = LoginAttempts::default();
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                got.attempts += 1;
                let out = Command::new("ssh")
                    .args(["-F", "/dev/null", "-T", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no"])
                    .args(["-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null"])
                    .args(["-o", "ConnectTimeout=3", "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "-i"])
                    .arg(&key)
                    .args(["-p", &port.to_string(), "root@127.0.0.1", &format!("echo {LOGIN_MARKER}")])
                    .stdin(std::process::Stdio::null())
                    .output()
                    .expect("running ssh");
                let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
                if out.status.success() && got.success.is_none() {
                    got.success = Some((start.elapsed(), stdout));
                    if stop_at_success {
                        break;
                    }
                }
                std::thread::sleep(Duration::from_secs(1));
            }
            got
        });
        Logins { stop, thread }
    }

    fn finish(self) -> LoginAttempts {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

/// The rollback scenarios' checks: the watchdog was armed from the command line in stage 2; then either nobody
/// could log in and the guest rebooted back into stage 1 after the timeout, or the test logged in and stage 2 was
/// still up after it, the watchdog off for good.
fn check_rollback(
    mode: KexecMode,
    serial: &str,
    report: &Report,
    req: &ValidRequest,
    release_params: &str,
    logins: &LoginAttempts,
    what: &str,
) {
    let s2 = report.stages.iter().find(|s| s.name == "2").unwrap_or_else(|| panic!("no kexec into stage 2: {what}"));
    let words: Vec<String> = s2.kv("cmdline").split_whitespace().map(String::from).collect();
    let mut want = vec![format!("init={INIT}")];
    want.extend(release_params.split_whitespace().map(String::from));
    want.extend(cmdline::line(req).split_whitespace().map(String::from));
    assert_eq!(words, want, "{what}\nstage 2's kernel command line");
    // The run script's parameter (kexec.rollback_minutes = 1), then the request's, which wins.
    let at = |w: &str| words.iter().position(|x| x == w).unwrap_or_else(|| panic!("{what}\n{w} not in {words:?}"));
    assert!(at("nixos_images.rollback_seconds=60") < at(&format!("nixos_images.rollback_seconds={ROLLBACK_SECONDS}")));
    for step in ["apply-overlay", "restore-network", "apply-network", "watchdog-armed"] {
        assert_eq!(s2.kv(&format!("{step}-exit")), "0", "{what}\n{step}:\n{}", s2.output(step));
    }
    let deadline = format!("0:00:{ROLLBACK_SECONDS:02}");
    let armed = s2.output("watchdog-armed");
    assert!(
        armed.contains("no SSH login yet: rebooting into the system on disk in")
            && armed.contains(&format!("(at {deadline} after boot)")),
        "{what}\nthe watchdog was not armed from the command line:\n{armed}"
    );
    let stage2_at = serial.find("@@stage 2").unwrap();
    let stage1_boots = report.stages.iter().filter(|s| s.name == "1").count();
    super::say(&format!("boot: rollback: {} SSH attempts, first login {:?}", logins.attempts, logins.success));
    match mode {
        KexecMode::RollbackUnreachable => {
            let addrs = s2.kv("ip-addr");
            assert!(
                addrs.contains(&format!("inet {UNREACHABLE_ADDRESS}")) && !addrs.contains(SSH_ADDRESS),
                "{what}\nstage 2's addresses: {addrs}"
            );
            assert!(logins.success.is_none() && logins.attempts > 3, "{what}\nlogins: {logins:?}");
            let line = format!(
                "nixos-images rollback watchdog: nobody logged in over SSH by {deadline} after boot; rebooting into \
                 the system on disk"
            );
            let reboot_at = serial[stage2_at..].find(&line).map(|i| i + stage2_at);
            let reboot_at = reboot_at.unwrap_or_else(|| panic!("{what}\nstage 2 never said: {line}"));
            assert!(serial[reboot_at..].contains("@@stage 1"), "{what}\nthe guest did not come back in stage 1");
            assert_eq!(stage1_boots, 2, "{what}\nstage 1 twice");
            assert!(!s2.ended, "{what}\nstage 2 went on as if nothing happened");
        }
        KexecMode::RollbackLogin => {
            let (when, printed) = logins.success.clone().unwrap_or_else(|| panic!("{what}\nno login: {logins:?}"));
            assert_eq!(printed.trim(), LOGIN_MARKER, "{what}\nthe login's command (at {when:?})");
            assert!(s2.fails.is_empty() && s2.ended, "{what}\nstage 2 failed: {:?}", s2.fails);
            let uptime: f64 = s2.kv("uptime").parse().unwrap();
            assert!(uptime > ROLLBACK_SECONDS as f64, "{what}\nstage 2 looked before the deadline ({uptime} s)");
            let status = s2.output("watchdog-status");
            assert!(
                status.contains("off for good: root logged in over SSH from 10.0.2.2"),
                "{what}\nthe watchdog after the deadline:\n{status}\nsshd:\n{}",
                s2.output("sshd-log")
            );
            let disarmed = "nixos-images rollback watchdog: off for good: root logged in over SSH from 10.0.2.2 \
                            (publickey)";
            assert!(serial[stage2_at..].contains(disarmed), "{what}\nthe console did not say: {disarmed}");
            assert!(!serial.contains("nobody logged in over SSH by"), "{what}\nit rebooted anyway");
            assert_eq!(stage1_boots, 1, "{what}\nstage 1 booted again");
        }
        _ => unreachable!("not a rollback scenario"),
    }
}

/// A release-shaped kexec tarball: `kexec/{bzImage,initrd,kexec,ip,run}` (and the agent, as releases that carry
/// one). The releases' `ip` is a static iproute2 (the run script prefers it: a machine's own `ip` may lack
/// `--json`); here it is Debian's, whose libraries stage 1 has.
struct ReleaseTarball {
    tar_gz: Vec<u8>,
    initrd_len: usize,
}

fn release_tarball(fx: &Fixtures, with_agent: bool, padding: usize, kind: Stage2, params: &str) -> ReleaseTarball {
    let mut stage2 = match kind {
        Stage2::Agent => Initramfs::new(fx, INIT, STAGE2_INIT),
        Stage2::Upstream => {
            Initramfs::new(fx, INIT, &STAGE2_UPSTREAM_INIT.replace("SERVER", SERVER).replace("REACHABLE", REACHABLE))
        }
        Stage2::Panic => Initramfs::new(fx, INIT, STAGE2_PANIC_INIT),
        Stage2::Rollback => {
            Initramfs::new(fx, INIT, &STAGE2_ROLLBACK_INIT.replace("WAIT", &(ROLLBACK_SECONDS + 12).to_string()))
        }
    };
    // As NixOS's initrd does, /init hands over to the system's init named by init= (here inside the initrd).
    stage2.file("init", 0o755, STAGE2_HANDOVER);
    stage2.modules(fx);
    match kind {
        Stage2::Agent | Stage2::Panic => stage2.program(&fx.agent, "usr/local/bin/nixos-images-agent"),
        Stage2::Upstream => stage2
            .program(&fx.upstream_installer, "usr/local/bin/upstream-installer")
            .program(&fx.ip, "usr/local/bin/ip"),
        Stage2::Rollback => {
            let sshd = fx.sshd.as_ref().expect("the rollback scenarios run on x86_64, which has Debian's sshd");
            let host_key = tempfile::tempdir_in(fixtures::fixtures_dir()).unwrap();
            let key = host_key.path().join("host_ed25519");
            ssh_keygen(&key, "root@stage2");
            stage2
                .program(&fx.agent, "usr/local/bin/nixos-images-agent")
                .program(&fx.upstream_installer, "usr/local/bin/upstream-installer")
                .program(&fx.ip, "usr/local/bin/ip")
                .program(sshd, "usr/sbin/sshd")
                .file("etc/ssh/sshd_config", 0o644, SSHD_CONFIG)
                .file("etc/ssh/test_host_ed25519_key", 0o600, super::guest::read(&key))
                .file("etc/passwd", 0o644, "root:x:0:0:root:/root:/bin/sh\nsshd:x:100:65534::/run/sshd:/bin/false\n")
                .file("etc/group", 0o644, "root:x:0:\nnogroup:x:65534:\n")
        }
    };
    let mut initrd = stage2.gzip();
    // The kernel skips zeros between initramfs archives: padding makes an initrd big without changing it.
    initrd.resize(initrd.len() + padding, 0);
    let initrd_len = initrd.len();
    let release_run = format!(
        "#!/usr/bin/env bash\n# A release-shaped kexec/run (fixture of the boot tests): nixos-images keeps it as \
         run.release and reads these two lines.\nset -ex\ninit=\"{INIT}\"\nkernelParams=\"{params}\"\n\
         SCRIPT_DIR=$( cd -- \"$( dirname -- \"${{BASH_SOURCE[0]}}\" )\" &> /dev/null && pwd )\n\
         echo \"@@fail the release's own run script ran\"\nexit 1\n"
    );
    let mut files = vec![
        ("bzImage", 0o644, super::guest::read(&fx.vmlinuz)),
        ("initrd", 0o644, initrd),
        ("kexec", 0o755, super::guest::read(&fx.kexec)),
        ("ip", 0o755, super::guest::read(&fx.ip)),
        ("run", 0o755, release_run.into_bytes()),
    ];
    if with_agent {
        files.push(("nixos-images-agent", 0o755, super::guest::read(&fx.agent)));
    }
    // Packed by GNU tar and gzip, as release tarballs are.
    let dir = tempfile::tempdir_in(fixtures::fixtures_dir()).unwrap();
    fs::create_dir(dir.path().join("kexec")).unwrap();
    for (name, mode, contents) in files {
        let path = dir.path().join("kexec").join(name);
        fs::write(&path, contents).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(mode)).unwrap();
    }
    let tar_gz = dir.path().join("release.tar.gz");
    let out = Command::new("tar")
        .arg("-C")
        .arg(dir.path())
        .args(["--owner=0", "--group=0", "--numeric-owner", "--sort=name", "-czf"])
        .arg(&tar_gz)
        .arg("kexec")
        .output()
        .expect("running tar");
    assert!(out.status.success(), "tar: {}", String::from_utf8_lossy(&out.stderr));
    ReleaseTarball { tar_gz: fs::read(&tar_gz).unwrap(), initrd_len }
}

/// The request of the customized tarball: other keys, a host name, and an address stage 1 does not have.
fn customized_request(mut req: Request) -> Request {
    req.hostname = Some("web2".into());
    req.ssh_authorized_keys = vec![format!("{ECDSA} carol@customize"), format!("{SK} dave@customize")];
    let text = format!(
        "[[interfaces]]\nmatch_mac = \"{MAC}\"\ndhcp = false\naddresses = [\"10.0.2.20/24\", \"2001:db8:5555::20/64\"]\n\
         [[interfaces.routes]]\ndestination = \"default\"\ngateway = \"10.0.2.2\"\n\
         [[interfaces.routes]]\ndestination = \"default\"\ngateway = \"fe80::1\"\n"
    );
    req.interfaces = Request::parse(&text, nixos_images_core::RequestFormat::Toml).unwrap().interfaces;
    req
}

fn check_stage2(s2: &Stage, req: &ValidRequest, release_params: &str, what: &str) {
    // Booted by kexec with the release's init and parameters, then the request's.
    let mut want = vec![format!("init={INIT}")];
    want.extend(release_params.split_whitespace().map(String::from));
    want.extend(cmdline::line(req).split_whitespace().map(String::from));
    let got: Vec<String> = s2.kv("cmdline").split_whitespace().map(String::from).collect();
    assert_eq!(got, want, "{what}\nstage 2's kernel command line");
    assert_eq!(s2.kv("eth0-mac"), MAC, "{what}\nstage 2's NIC");
    assert_eq!(s2.kv("apply-overlay-exit"), "0", "{what}\n{}", s2.output("apply-overlay"));
    assert_eq!(s2.kv("restore-network-exit"), "0", "{what}\n{}", s2.output("restore-network"));

    let root = s2.files_under("/sysroot");
    let stage1: BTreeMap<&str, (u32, String)> = stage1_files().into_iter().map(|(p, m, c)| (p, (m, c))).collect();
    // The same host keys (contents and modes) and machine-id.
    let host_keys: BTreeMap<String, (u32, String)> = root
        .iter()
        .filter(|(p, _)| p.starts_with("etc/ssh/ssh_host_"))
        .map(|(p, (m, c))| (p.clone(), (*m, String::from_utf8_lossy(c).into_owned())))
        .collect();
    let want_keys: BTreeMap<String, (u32, String)> = stage1
        .iter()
        .filter(|(p, _)| p.starts_with("etc/ssh/ssh_host_"))
        .map(|(p, v)| (p.to_string(), v.clone()))
        .collect();
    assert_eq!(host_keys, want_keys, "{what}\nstage 2's host keys");
    let machine_id = root.get("etc/machine-id").map(|(m, c)| (*m, String::from_utf8_lossy(c).into_owned()));
    assert_eq!(machine_id, Some((0o444, MACHINE_ID.to_string())), "{what}\nstage 2's machine-id");

    // The union of stage 1's keys and the request's, each once.
    let (mode, keys) = root.get("root/.ssh/authorized_keys").unwrap_or_else(|| panic!("{what}\nno authorized_keys"));
    assert_eq!(*mode, 0o600, "{what}\nmode of root's authorized_keys");
    let lines: Vec<String> = String::from_utf8_lossy(keys).lines().map(String::from).collect();
    let mut want: BTreeSet<String> = stage1_keys().into_iter().collect();
    want.extend(req.ssh_authorized_keys().iter().map(|k| k.as_str().to_string()));
    let got: BTreeSet<String> = lines.iter().cloned().collect();
    assert_eq!(got, want, "{what}\nstage 2's authorized keys");
    assert_eq!(lines.len(), got.len(), "{what}\na key is there twice: {lines:#?}");
    let hostname = req.hostname().as_ref().map(|h| format!("{}\n", h.as_str()));
    let got = root.get("etc/hostname").map(|(_, c)| String::from_utf8_lossy(c).into_owned());
    assert_eq!(got, hostname, "{what}\nstage 2's host name");

    // networkd: one restored unit that means stage 1's static network, and the request's own units as rendered.
    let units: BTreeMap<String, String> = root
        .iter()
        .filter_map(|(p, (_, c))| {
            let name = p.strip_prefix("etc/systemd/network/")?;
            Some((name.to_string(), String::from_utf8_lossy(c).into_owned()))
        })
        .collect();
    let restored: Vec<&String> =
        units.iter().filter(|(n, _)| n.starts_with("01-nixos-images-restore-")).map(|(_, c)| c).collect();
    assert_eq!(restored.len(), 1, "{what}\nrestored units: {units:#?}");
    let net = units::parse(restored[0]);
    assert_eq!(net.mac.as_deref(), Some(MAC), "{what}\nthe restored unit's match:\n{}", restored[0]);
    // The dumps hold stage 1's network, unless the request configures that MAC: then its interface replaced it.
    let (want_addrs, want_routes): (BTreeSet<Net>, BTreeSet<Route>) = match req.interfaces().first() {
        Some(iface) => (
            iface.addresses.iter().map(|a| Net::parse(&a.to_string())).collect(),
            iface
                .routes
                .iter()
                .map(|r| {
                    let dest = match &r.destination {
                        nixos_images_core::Destination::Default => "default".to_string(),
                        nixos_images_core::Destination::Net(n) => n.to_string(),
                    };
                    Route::new(&dest, &r.gateway.map(|g| g.to_string()).unwrap_or_default(), r.on_link)
                })
                .collect(),
        ),
        None => (
            ADDRESSES.iter().map(|a| Net::parse(a)).collect(),
            ROUTES.iter().map(|(d, g, o)| Route::new(d, g, *o)).collect(),
        ),
    };
    assert_eq!(net.addresses, want_addrs, "{what}\nthe restored unit's addresses:\n{}", restored[0]);
    assert_eq!(net.routes, want_routes, "{what}\nthe restored unit's routes:\n{}", restored[0]);
    for unit in networkd::render(req).files {
        let got = units.get(&unit.path).unwrap_or_else(|| panic!("{what}\n{} is missing: {units:#?}", unit.path));
        assert_eq!(got.as_bytes(), unit.contents, "{what}\n{}", unit.path);
    }
    let request_units = units.keys().filter(|n| n.starts_with("00-00-nixos-images-")).count();
    assert_eq!(request_units, req.interfaces().len(), "{what}\nthe request's units: {units:#?}");
}

/// Upstream's installer in stage 2: the request's host name from the command line, its address on the NIC (and
/// not stage 1's), the server reached with it; stage 1's host keys and the union of the keys.
fn check_upstream_stage2(s2: &Stage, req: &ValidRequest, release_params: &str, what: &str) {
    let mut want = vec![format!("init={INIT}")];
    want.extend(release_params.split_whitespace().map(String::from));
    want.extend(cmdline::line(req).split_whitespace().map(String::from));
    let got: Vec<String> = s2.kv("cmdline").split_whitespace().map(String::from).collect();
    assert_eq!(got, want, "{what}\nstage 2's kernel command line");
    let hostname = req.hostname().as_ref().expect("the request has a host name").as_str();
    assert_eq!(s2.kv("hostname"), hostname, "{what}\nstage 2's host name");
    for step in ["copy-state", "restore-network", "apply-network", "fetch"] {
        assert_eq!(s2.kv(&format!("{step}-exit")), "0", "{what}\n{step}:\n{}", s2.output(step));
    }
    let addrs = s2.kv("ip-addr");
    assert!(addrs.contains(&format!("inet {UPSTREAM_ADDRESS}")), "{what}\nstage 2's addresses: {addrs}");
    for a in ADDRESSES {
        assert!(!addrs.contains(a), "{what}\nstage 1's {a} came back: {addrs}");
    }
    let routes = s2.kv("ip-route");
    assert!(routes.contains("default via 10.0.2.2 dev eth0"), "{what}\nstage 2's routes: {routes}");
    assert!(s2.output("fetch").contains("stage 2 reached the server"), "{what}\n{}", s2.output("fetch"));

    let root = s2.files_under("/sysroot");
    assert!(!root.contains_key("etc/hostname"), "{what}\nupstream's installer reads no host name file");
    let host_keys: BTreeSet<String> = root.keys().filter(|p| p.starts_with("etc/ssh/ssh_host_")).cloned().collect();
    let want_keys: BTreeSet<String> =
        stage1_files().iter().map(|(p, _, _)| p.to_string()).filter(|p| p.starts_with("etc/ssh/ssh_host_")).collect();
    assert_eq!(host_keys, want_keys, "{what}\nstage 2's host keys");
    let (_, keys) = root.get("root/.ssh/authorized_keys").unwrap_or_else(|| panic!("{what}\nno authorized_keys"));
    let got: BTreeSet<String> = String::from_utf8_lossy(keys).lines().map(String::from).collect();
    let mut want: BTreeSet<String> = stage1_keys().into_iter().collect();
    want.extend(req.ssh_authorized_keys().iter().map(|k| k.as_str().to_string()));
    assert_eq!(got, want, "{what}\nstage 2's authorized keys");
}

fn check_refusal(report: &Report, s1: &Stage, steps: &str, initrd_len: usize, what: &str) {
    assert_ne!(s1.kv("steps-exit"), "0", "{what}\nthe run script went ahead:\n{steps}");
    let initrd_mib = initrd_len.div_ceil(1 << 20);
    let error = steps.lines().find(|l| l.starts_with("kexec/run: error: ")).unwrap_or_default();
    assert!(
        error.contains("this machine has ") && error.contains(&format!("for an initrd of {initrd_mib} MiB")),
        "{what}\nthe run script should stop with the agent's reason (RAM for an initrd of {initrd_mib} MiB):\n{steps}"
    );
    assert!(!steps.contains("machine will boot into nixos"), "{what}\n{steps}");
    assert_eq!(s1.kv("kexec-loaded"), "0", "{what}\na kernel was loaded");
    assert_eq!(s1.kv("kexec-loaded-later"), "0", "{what}\na kernel was loaded later");
    assert_eq!(s1.kv("initrd-size"), initrd_len.to_string(), "{what}\nthe initrd was changed");
    let left: BTreeSet<&str> = s1.kv("kexec-dir").split_whitespace().collect();
    let want: BTreeSet<&str> = ["bzImage", "initrd", "ip", "kexec", "nixos-images-agent", "run", "run.release"].into();
    assert_eq!(left, want, "{what}\nfiles in kexec/ after the refusal");
    assert!(s1.ended, "{what}\nstage 1 did not finish");
    assert!(report.stages.iter().all(|s| s.name != "2"), "{what}\nit kexeced anyway");
}

fn sha256(data: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("running sha256sum");
    let mut stdin = child.stdin.take().unwrap();
    let data = data.to_vec();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &data));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap().to_string()
}
