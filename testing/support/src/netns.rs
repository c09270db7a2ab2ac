//! Network namespaces of the tests' own and the real systemd-networkd run inside one.
//!
//! Only namespaces the tests create are touched; the host's network is never changed.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::prerequisites::Prerequisites;

pub const NETWORKD: &str = "/lib/systemd/systemd-networkd";

/// A network namespace that is deleted when dropped.
pub struct Netns(pub String);

impl Netns {
    pub fn new(tag: &str) -> Netns {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let name = format!("nixos-images-test-{tag}-{}-{n}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).stderr(Stdio::null()).status();
        run("ip", &["netns", "add", &name]);
        Netns(name)
    }

    /// `ip -n NS ARGS`, which must succeed.
    pub fn ip(&self, args: &str) -> String {
        let mut full = vec!["-n", self.0.as_str()];
        full.extend(args.split_whitespace());
        run("ip", &full)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

pub fn run(cmd: &str, args: &[&str]) -> String {
    let out = Command::new(cmd).args(args).output().unwrap_or_else(|e| panic!("running {cmd}: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {}: {}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// What a namespace test needs: root, iproute2's `ip`, `unshare` and systemd-networkd.
pub fn prerequisites() -> Prerequisites {
    Prerequisites::new().root().tool("ip").tool("unshare").file(Path::new(NETWORKD), "systemd-networkd (systemd)")
}

/// The major version of systemd-networkd (`systemd 252 (252.38-1~deb12u1)`).
pub fn networkd_version() -> u32 {
    let v = run(NETWORKD, &["--version"]);
    v.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("networkd --version: {v}"))
}

/// Runs systemd-networkd in `ns` with `units` as /etc/systemd/network until `done` holds (or 20 s pass), then
/// stops it. Returns its log. Fails when `done` never held.
pub fn run_networkd(ns: &Netns, units: &Path, done: impl Fn(&Netns) -> bool) -> String {
    let log = units.parent().unwrap().join("networkd.log");
    // A read-only /sys tells networkd there is no udev to wait for (as in a container).
    let script = format!(
        "set -e\nmount -o remount,ro /sys\nmount -t tmpfs tmpfs /run/systemd\nmount --bind '{}' /etc/systemd/network\n\
         mkdir -p /run/systemd/netif\nchown systemd-network: /run/systemd/netif 2>/dev/null || true\n\
         SYSTEMD_LOG_LEVEL=debug exec {NETWORKD} >'{}' 2>&1\n",
        units.display(),
        log.display()
    );
    fs::create_dir_all("/run/systemd").ok();
    fs::create_dir_all("/etc/systemd/network").ok();
    let mut child = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "ip", "netns", "exec", &ns.0, "sh", "-c", &script])
        .stdin(Stdio::null())
        .spawn()
        .expect("starting systemd-networkd");
    let start = Instant::now();
    let mut ok = false;
    while start.elapsed() < Duration::from_secs(20) {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("systemd-networkd exited ({status}):\n{}", fs::read_to_string(&log).unwrap_or_default());
        }
        if done(ns) {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let _ = child.kill();
    let _ = child.wait();
    let text = fs::read_to_string(&log).unwrap_or_default();
    assert!(
        ok,
        "networkd did not apply the units within 20 s.\naddresses:\n{}\nroutes:\n{}{}\nlog:\n{text}",
        ns.ip("addr"),
        ns.ip("-4 route"),
        ns.ip("-6 route")
    );
    text
}
