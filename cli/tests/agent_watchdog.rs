//! `nixos-images-agent watchdog` against a fake /proc (`--proc`): the test sets the kernel command line and the
//! boot id, moves the clock (`uptime`) and appends to the log that `run` follows with `tail -F`. The reboot is
//! the kernel's (sysrq `b`), which here lands in a plain file; PATH has no `systemctl`, as in a system without
//! systemd.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const AGENT: &str = env!("CARGO_BIN_EXE_nixos-images-agent");
const BOOT_ID: &str = "0b7e1f3c-5a2d-4c8e-9f10-2a3b4c5d6e7f";
const ACCEPTED: &str = "Accepted publickey for root from 10.0.2.2 port 51234 ssh2: ED25519 SHA256:abcdEFGH";

struct Machine {
    dir: tempfile::TempDir,
}

impl Machine {
    fn new(cmdline: &str, uptime_s: u64) -> Machine {
        let m = Machine { dir: tempfile::tempdir().unwrap() };
        fs::create_dir_all(m.proc().join("sys/kernel/random")).unwrap();
        fs::write(m.proc().join("cmdline"), format!("{cmdline}\n")).unwrap();
        fs::write(m.proc().join("sys/kernel/random/boot_id"), format!("{BOOT_ID}\n")).unwrap();
        fs::write(m.proc().join("sysrq-trigger"), "").unwrap();
        fs::create_dir_all(m.dir.path().join("empty-path")).unwrap();
        fs::write(m.log(), "").unwrap();
        m.set_uptime(uptime_s);
        m
    }
    fn proc(&self) -> PathBuf {
        self.dir.path().join("proc")
    }
    fn state_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }
    fn log(&self) -> PathBuf {
        self.dir.path().join("sshd.log")
    }
    fn set_uptime(&self, s: u64) {
        let tmp = self.proc().join(".uptime");
        fs::write(&tmp, format!("{s}.00 {}.00\n", s * 2)).unwrap();
        fs::rename(tmp, self.proc().join("uptime")).unwrap();
    }
    fn sshd_says(&self, line: &str) {
        use std::io::Write;
        let mut f = fs::OpenOptions::new().append(true).open(self.log()).unwrap();
        writeln!(f, "{line}").unwrap();
    }
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(AGENT);
        cmd.arg("watchdog")
            .arg("--proc")
            .arg(self.proc())
            .arg("--state-dir")
            .arg(self.state_dir())
            .args(args)
            .env("PATH", self.dir.path().join("empty-path"))
            .env_remove("SSH_CONNECTION");
        cmd
    }
    fn agent(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }
    fn run(&self) -> Child {
        let mut cmd = self.command(&["run", "--"]);
        cmd.arg(tail()).args(["-n", "+1", "-F"]).arg(self.log()).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.spawn().unwrap()
    }
    fn sysrq(&self) -> String {
        fs::read_to_string(self.proc().join("sysrq-trigger")).unwrap()
    }
    fn state(&self) -> serde_json::Value {
        serde_json::from_str(&fs::read_to_string(self.state_dir().join("watchdog.json")).unwrap()).unwrap()
    }
    fn status(&self) -> String {
        let out = self.agent(&["status"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    }
}

fn tail() -> &'static Path {
    ["/usr/bin/tail", "/bin/tail"].iter().map(Path::new).find(|p| p.is_file()).expect("tail (coreutils)")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Waits (up to 15 s) until `done` holds.
fn until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < Duration::from_secs(15), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn finish(mut child: Child) -> (Option<i32>, String, String) {
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            return (out.status.code(), text(&out.stdout), text(&out.stderr));
        }
        if start.elapsed() > Duration::from_secs(15) {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!("watchdog run did not end:\n{}\n{}", text(&out.stdout), text(&out.stderr));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn without_the_parameter_it_is_off() {
    let m = Machine::new("init=/nix/store/x/init console=ttyS0", 5);
    let (code, out, _) = finish(m.run());
    assert_eq!(code, Some(0));
    assert!(out.contains("off (nixos_images.rollback_seconds= is not on the kernel command line"), "{out}");
    assert!(!m.state_dir().join("watchdog.json").exists());
    // Login shells hear nothing; cancel and rearm say there is nothing to change.
    let login = m.agent(&["status", "--login"]);
    assert!(login.status.success() && login.stdout.is_empty() && login.stderr.is_empty(), "{login:?}");
    let cancel = m.agent(&["cancel"]);
    assert_eq!(cancel.status.code(), Some(1));
    assert!(text(&cancel.stderr).starts_with("nixos-images-agent: error: no rollback watchdog runs on this boot"));
}

#[test]
fn a_login_turns_it_off_for_good() {
    let m = Machine::new("panic=60 nixos_images.rollback_seconds=60", 5);
    let child = m.run();
    until("the state file", || m.state_dir().join("watchdog.json").exists());
    assert!(m.status().contains("no SSH login yet: rebooting into the system on disk in 55 s"), "{}", m.status());
    // The login banner says the same on stderr (a script's `bash -l -c` keeps its stdout).
    let banner = m.agent(&["status", "--login"]);
    assert!(banner.stdout.is_empty(), "{banner:?}");
    assert!(text(&banner.stderr).contains("run `nixos-images-agent watchdog cancel`"), "{banner:?}");
    // Attempts that are no login change nothing.
    m.sshd_says("Failed publickey for root from 10.0.2.2 port 51230 ssh2: ED25519 SHA256:zzzz");
    m.sshd_says("Invalid user Accepted publickey for root from 10.0.2.2 port 1 ssh2 from 10.0.2.9 port 4");
    m.set_uptime(30);
    until("the clock to be read", || m.status().contains("in 30 s"));
    m.sshd_says(ACCEPTED);
    let (code, out, err) = finish(child);
    assert_eq!(code, Some(0), "{out}\n{err}");
    assert!(out.contains("off for good: root logged in over SSH from 10.0.2.2 (publickey)"), "{out}");
    assert_eq!(m.state()["phase"], "disarmed", "{}", m.state());
    // Past the deadline: nothing happens, and nothing can arm it again.
    m.set_uptime(120);
    let (code, out, _) = finish(m.run());
    assert_eq!(code, Some(0));
    assert!(out.contains("off for good"), "{out}");
    assert_eq!(m.sysrq(), "");
    let rearm = m.agent(&["rearm"]);
    assert_eq!(rearm.status.code(), Some(1));
    assert!(text(&rearm.stderr).contains("stays off for good"), "{}", text(&rearm.stderr));
    assert!(m.status().contains("off for good: root logged in over SSH from 10.0.2.2"));
}

#[test]
fn nobody_logs_in_and_it_reboots_unless_cancelled() {
    let m = Machine::new("nixos_images.rollback_seconds=900 nixos_images.rollback_seconds=20", 5);
    let child = m.run();
    until("the state file", || m.state_dir().join("watchdog.json").exists());
    let cancel = m.agent(&["cancel"]);
    assert!(cancel.status.success(), "{}", text(&cancel.stderr));
    assert!(text(&cancel.stdout).contains("cancelled: the installer stays up"));
    m.set_uptime(100);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(m.sysrq(), "", "a cancelled watchdog rebooted");
    assert!(m.status().contains("cancelled at 0:00:"), "{}", m.status());
    // Re-armed for a minute from now (100 s): the reboot comes at 160 s, not before.
    let rearm = m.agent(&["rearm", "--minutes", "1"]);
    assert!(text(&rearm.stdout).contains("in 1 min (at 0:02:40 after boot)"), "{}", text(&rearm.stdout));
    m.set_uptime(159);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(m.sysrq(), "");
    m.set_uptime(160);
    let (code, out, err) = finish(child);
    assert_eq!(m.sysrq(), "b", "the kernel was not told to reboot\n{out}\n{err}");
    assert!(out.contains("nobody logged in over SSH by 0:02:40 after boot; rebooting"), "{out}");
    // The fake /proc took the `b`: a real kernel never returns from that write.
    assert_eq!(code, Some(1));
    assert!(err.contains("took `b` and the machine did not reboot"), "{err}");
    assert_eq!(m.state()["phase"], "rebooting");
    let cancel = m.agent(&["cancel"]);
    assert!(text(&cancel.stderr).contains("too late"), "{}", text(&cancel.stderr));
}

#[test]
fn another_boots_state_is_not_this_ones_and_bad_input_is_one_line() {
    let m = Machine::new("nixos_images.rollback_seconds=20", 3);
    fs::create_dir_all(m.state_dir()).unwrap();
    let stale = r#"{"schema":"nixos-images-agent/watchdog/v1","boot_id":"old","timeout_ms":20000,
        "phase":"disarmed","at":5000,"login":{"user":"root","from":"10.0.2.2","method":"publickey"}}"#;
    fs::write(m.state_dir().join("watchdog.json"), stale).unwrap();
    assert!(m.agent(&["status"]).stdout.starts_with(b"nixos-images rollback watchdog: no rollback watchdog runs"));
    let child = m.run();
    until("a new state", || m.state()["boot_id"] == BOOT_ID);
    m.set_uptime(20);
    let (_, out, err) = finish(child);
    assert!(err.contains("the saved state belongs to another boot (old); starting afresh"), "{err}");
    assert_eq!(m.sysrq(), "b", "{out}\n{err}");

    let bad = Machine::new("nixos_images.rollback_seconds=15m", 3);
    let (code, _, err) = finish(bad.run());
    assert_eq!(code, Some(1));
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("error: the kernel command line: nixos_images.rollback_seconds= takes whole seconds"),
        "{err}"
    );
    let rearm = m.agent(&["rearm", "--minutes", "0"]);
    assert_eq!(rearm.status.code(), Some(2), "clap refuses it");
}
