//! `nixos-images-agent preflight` against fake /proc and /sys trees (`--proc`, `--sys`).

use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const AGENT: &str = env!("CARGO_BIN_EXE_nixos-images-agent");

/// A healthy machine: 4 GiB, Linux 6.8, kexec enabled, no lockdown, Secure Boot off, two NICs.
struct Machine {
    _tmp: tempfile::TempDir,
    proc: std::path::PathBuf,
    sys: std::path::PathBuf,
    initrd: std::path::PathBuf,
}

fn put(path: &Path, contents: impl AsRef<[u8]>) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

impl Machine {
    fn new() -> Machine {
        let tmp = tempfile::tempdir().unwrap();
        let (proc, sys) = (tmp.path().join("proc"), tmp.path().join("sys"));
        put(&proc.join("meminfo"), "MemTotal:        4028228 kB\nMemFree:         3000000 kB\n");
        put(&proc.join("sys/kernel/osrelease"), "6.8.0-31-generic\n");
        put(&proc.join("sys/kernel/kexec_load_disabled"), "0\n");
        put(&proc.join("1/environ"), b"PATH=/sbin:/bin\0TERM=linux\0");
        put(&sys.join("kernel/kexec_loaded"), "0\n");
        put(&sys.join("kernel/security/lockdown"), "[none] integrity confidentiality\n");
        put(&sys.join("firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e9e5d8f5b1e9"), [6u8, 0, 0, 0, 0]);
        let m = Machine { proc, sys, initrd: tmp.path().join("initrd"), _tmp: tmp };
        m.link("lo", "00:00:00:00:00:00", 772);
        m.link("eth0", "52:54:00:12:34:56", 1);
        m.link("eth1", "52:54:00:12:34:57", 1);
        let f = fs::File::create(&m.initrd).unwrap();
        f.set_len(300 << 20).unwrap();
        m
    }

    fn link(&self, name: &str, mac: &str, arphrd: u32) -> std::path::PathBuf {
        let d = self.sys.join("class/net").join(name);
        put(&d.join("address"), format!("{mac}\n"));
        put(&d.join("type"), format!("{arphrd}\n"));
        put(&d.join("uevent"), format!("INTERFACE={name}\nIFINDEX=2\n"));
        d
    }

    fn run(&self, extra: &[&str]) -> (Output, Value) {
        let out = Command::new(AGENT)
            .args(["preflight", "--json", "--initrd"])
            .arg(&self.initrd)
            .arg("--proc")
            .arg(&self.proc)
            .arg("--sys")
            .arg(&self.sys)
            .args(extra)
            .output()
            .unwrap();
        let json = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("--json output is not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
        (out, json)
    }
}

fn check<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"].as_array().unwrap().iter().find(|c| c["id"] == id).unwrap_or_else(|| panic!("no check {id}"))
}

fn last_stderr_line(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).lines().last().unwrap_or_default().to_string()
}

#[test]
fn a_healthy_machine_goes_ahead() {
    let m = Machine::new();
    let (out, r) = m.run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(r["schema"], "nixos-images-agent/preflight/v1");
    assert_eq!(r["ok"], true);
    assert_eq!(r["reason"], Value::Null);
    for id in ["memory", "kernel", "kexec", "lockdown", "container", "network"] {
        assert_eq!(check(&r, id)["status"], "ok", "{id}: {r:#}");
    }
    let f = &r["facts"];
    assert_eq!(f["mem_total_kib"], 4028228);
    assert_eq!(f["initrd_bytes"], 300u64 << 20);
    assert_eq!(f["kexec_syscall_auto"], true);
    assert_eq!(f["lockdown"], "none");
    assert_eq!(f["secure_boot"], false);
    assert_eq!(f["network_source"], "sysfs");
    assert_eq!(last_stderr_line(&out), "kexec can go ahead (0 warnings)");

    // Without --json: the summary only, on stderr.
    let out = Command::new(AGENT).args(["preflight", "--proc"]).arg(&m.proc).arg("--sys").arg(&m.sys).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ok      kernel: Linux 6.8.0-31-generic"));
}

#[test]
fn each_failure_exits_1_with_a_one_line_reason() {
    type Setup = fn(&Machine);
    let cases: &[(&str, Setup, &str)] = &[
        ("little RAM", |m| put(&m.proc.join("meminfo"), "MemTotal: 524288 kB\n"), "this machine has 512 MiB of RAM"),
        (
            "a huge initrd",
            |m| fs::File::create(&m.initrd).unwrap().set_len(2 << 30).unwrap(),
            "for an initrd of 2048 MiB",
        ),
        ("kexec disabled", |m| put(&m.proc.join("sys/kernel/kexec_load_disabled"), "1\n"), "kexec is disabled"),
        ("no kexec", |m| fs::remove_file(m.sys.join("kernel/kexec_loaded")).unwrap(), "no kexec support"),
        (
            "lockdown with Secure Boot",
            |m| {
                put(&m.sys.join("kernel/security/lockdown"), "none [integrity] confidentiality\n");
                put(
                    &m.sys.join("firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e9e5d8f5b1e9"),
                    [6u8, 0, 0, 0, 1],
                );
            },
            "locked down (integrity, because Secure Boot is on)",
        ),
        ("a container", |m| put(&m.proc.join("1/environ"), b"container=lxc\0"), "this is a container (lxc)"),
        ("OpenVZ", |m| fs::create_dir_all(m.proc.join("vz")).unwrap(), "this is a container (openvz)"),
    ];
    for (what, setup, reason) in cases {
        let m = Machine::new();
        setup(&m);
        let (out, r) = m.run(&[]);
        assert_eq!(out.status.code(), Some(1), "{what}: {}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(r["ok"], false, "{what}");
        let r_reason = r["reason"].as_str().unwrap();
        assert!(r_reason.contains(reason), "{what}: reason {r_reason:?} lacks {reason:?}");
        assert_eq!(last_stderr_line(&out), format!("kexec would fail: {r_reason}"), "{what}");
    }

    // A missing initrd is a failure too.
    let m = Machine::new();
    fs::remove_file(&m.initrd).unwrap();
    let (out, r) = m.run(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(r["reason"].as_str().unwrap().starts_with("cannot read the initrd"), "{r:#}");
}

#[test]
fn warnings_and_unknowns_do_not_stop_the_kexec() {
    let m = Machine::new();
    // Old kernel, Secure Boot on without lockdown, tight memory.
    put(&m.proc.join("sys/kernel/osrelease"), "5.10.0-28-amd64\n");
    put(&m.sys.join("firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e9e5d8f5b1e9"), [6u8, 0, 0, 0, 1]);
    put(&m.proc.join("meminfo"), "MemTotal: 1000000 kB\n");
    let (out, r) = m.run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(r["facts"]["kexec_syscall_auto"], false);
    assert_eq!(check(&r, "memory")["status"], "warn");
    assert_eq!(check(&r, "lockdown")["status"], "warn");
    assert_eq!(last_stderr_line(&out), "kexec can go ahead (2 warnings)");

    // Nothing readable at all: unknown, not a failure.
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(AGENT)
        .args(["preflight", "--json", "--proc"])
        .arg(empty.path())
        .arg("--sys")
        .arg(empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(check(&r, "memory")["status"], "unknown");
    assert_eq!(check(&r, "network")["status"], "unknown");
    assert_eq!(r["facts"]["network_source"], "none");
}

#[test]
fn network_it_cannot_restore_is_a_warning() {
    let m = Machine::new();
    // bond0 of eth0 and eth1 (ports carry the bond's MAC, their own in perm_hwaddr).
    let bond = m.link("bond0", "52:54:00:12:34:56", 1);
    fs::create_dir_all(bond.join("bonding")).unwrap();
    put(&bond.join("uevent"), "DEVTYPE=bond\nINTERFACE=bond0\n");
    for (port, perm) in [("eth0", "52:54:00:12:34:56"), ("eth1", "52:54:00:12:34:57")] {
        let d = m.link(port, "52:54:00:12:34:56", 1);
        put(&d.join("bonding_slave/perm_hwaddr"), format!("{perm}\n"));
        symlink("../bond0", d.join("master")).unwrap();
    }
    // A VLAN on the bond, a WireGuard link without MAC, two more links with one MAC.
    let vlan = m.link("bond0.10", "52:54:00:12:34:56", 1);
    put(&vlan.join("uevent"), "DEVTYPE=vlan\nINTERFACE=bond0.10\n");
    symlink("../bond0", vlan.join("lower_bond0")).unwrap();
    let wg = m.sys.join("class/net/wg0");
    put(&wg.join("type"), "65534\n");
    m.link("ens3", "52:54:00:00:00:09", 1);
    m.link("ens4", "52:54:00:00:00:09", 1);

    let (out, r) = m.run(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(check(&r, "network")["status"], "warn");
    let warnings: Vec<&str> =
        r["facts"]["network_warnings"].as_array().unwrap().iter().map(|w| w.as_str().unwrap()).collect();
    let all = warnings.join("\n");
    for expected in [
        "bond0 is a bond of eth0, eth1; the installer does not recreate it, so its configuration goes to the NIC with its MAC 52:54:00:12:34:56 (eth0)",
        "bond0.10 is a vlan link on bond0",
        "wg0 has no MAC address",
        "ens3, ens4 share the MAC 52:54:00:00:00:09",
    ] {
        assert!(all.contains(expected), "no warning {expected:?} in:\n{all}");
    }
    assert!(!all.contains("lo "), "loopback reported:\n{all}");
    assert_eq!(last_stderr_line(&out), "kexec can go ahead (1 warning)");
}
