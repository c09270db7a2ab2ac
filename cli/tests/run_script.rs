//! Runs the rendered `kexec/run` script for real, under dash and busybox sh, against a fake release tarball.
//!
//! Safety: the real kexec never runs. The script only calls `$SCRIPT_DIR/kexec`, which here is a stub that logs its
//! arguments. The script runs in a private mount namespace where /root, /etc/ssh, /etc/machine-id, /etc/passwd and
//! /dev/kmsg are replaced by fixtures (or /dev/null), so the host's keys are never read and nothing reaches the
//! host's kernel log.
//!
//! The tools it needs (dash, busybox, shellcheck, cpio, gzip, unshare) and root are required: a missing one fails
//! the test, it is never skipped.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nixos_images_core::cpio::Cpio;
use nixos_images_core::render::{cmdline, kexec_run, overlay};
use nixos_images_core::{InterfaceMatch, Request, RequestFormat, ValidRequest};

use test_support::examples;
use test_support::netns::{self, run_networkd, Netns};
use test_support::prerequisites::Prerequisites;

/// A shell the script must run under, as the command that starts it.
struct Shell(&'static [&'static str]);

const DASH: Shell = Shell(&["dash"]);
/// Debian's busybox-static runs its own applets (sed, awk, cpio, find, ...) first, so this also checks the script
/// against busybox's tools.
const BUSYBOX_SH: Shell = Shell(&["busybox", "sh"]);

impl Shell {
    fn name(&self) -> String {
        self.0.join(" ")
    }
}

/// One run of the script that must boot.
struct Case {
    example: &'static str,
    /// Replaces the example's `kexec.delay_seconds` (the floor, to keep the test fast).
    delay: u32,
    /// `--kexec-extra-flags` for the script, if any.
    extra_flags: Option<&'static str>,
    /// The image's own script (`render kexec-run --release-init`, as the Nix module renders it): the init path and
    /// kernel parameters built in, no `kexec/run.release` next to it.
    image_build: bool,
}

const CASES: &[Case] = &[
    Case { example: "static-hetzner.toml", delay: FLOOR, extra_flags: None, image_build: false },
    Case { example: "many-keys.toml", delay: FLOOR, extra_flags: None, image_build: false },
    Case { example: "two-interfaces.toml", delay: FLOOR, extra_flags: Some("--foo --bar"), image_build: false },
    Case { example: "static-hetzner.toml", delay: FLOOR, extra_flags: None, image_build: true },
    // Matched by name: the script finds eth0's MAC in the dump.
    Case { example: "dual-stack-routes.toml", delay: FLOOR, extra_flags: None, image_build: false },
];

/// The shortest kexec delay a request may ask for.
const FLOOR: u32 = nixos_images_core::validate::MIN_KEXEC_DELAY_SECONDS;

const REQUIRED_TOOLS: &[&str] = &["dash", "busybox", "shellcheck", "cpio", "gzip", "unshare"];

const INIT: &str = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-nixos-installer/init";
const RELEASE_PARAMS: &str = "console=ttyS0,115200 console=tty0";
const ADDRS_JSON: &str = r#"[{"ifindex":2,"ifname":"eth0","address":"52:54:00:12:34:56","addr_info":[{"family":"inet","local":"203.0.113.10","prefixlen":32}]}]"#;
const ROUTES_V4_JSON: &str = r#"[{"dst":"default","gateway":"172.31.1.1","dev":"eth0","flags":["onlink"]}]"#;
const ROUTES_V6_JSON: &str = r#"[{"dst":"default","gateway":"fe80::1","dev":"eth0","flags":[]}]"#;
const NETWORKD_UNIT: &str = "# /etc/systemd/network/10-eth0.network\n[Match]\nName=eth0\n\n[Network]\nBond=bond0\n";
const MACHINE_ID: &str = "0123456789abcdef0123456789abcdef\n";
const HOST_KEY: &str =
    "-----BEGIN OPENSSH PRIVATE KEY-----\nfake host key of the test\n-----END OPENSSH PRIVATE KEY-----\n";
const HOST_KEY_PUB: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJc8dPZMT4nOt7KCWcXuD/SnwMbZVnS0zy/73ZA8lGTg root@old-host\n";

// Key blobs from the examples (valid base64), with comments of this test.
const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJc8dPZMT4nOt7KCWcXuD/SnwMbZVnS0zy/73ZA8lGTg";
const ECDSA: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEfMNVa/3GkPhfPipYCogzvDF1IZIpfDjJ2siN2lYwcrGXSRf6Nq6UzX6LYXPebKCr00wpIUxYSiBbHRPKBziVQ=";
const SK: &str = "sk-ssh-ed25519@openssh.com AAAAGnNrLXNzaC1lZDI1NTE5QG9wZW5zc2guY29tAAAAIOSmOIUysZTcmkQbpnb+6k4znBGbxm9Q4cJAdFBrD4ZIAAAABHNzaDo=";

/// The sudo user whose keys the script also collects (`SUDO_USER`), with a home inside the tmpfs over /root.
const SUDO_USER: &str = "deploy";
const SUDO_HOME: &str = "/root/home-deploy";

#[test]
fn every_kexec_example_passes_shellcheck_and_matches_the_cli() {
    if !prerequisites() {
        return;
    }
    let mut checked = 0;
    for (name, _, req) in examples::all() {
        if !req.image().is_kexec() {
            continue;
        }
        let script = kexec_run::script(&req);
        let out = run_with_stdin(Command::new("shellcheck").args(["-s", "sh", "-"]), script.as_bytes());
        assert!(
            out.status.success() && out.stdout.is_empty() && out.stderr.is_empty(),
            "shellcheck -s sh complains about the run script of {name}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The CLI renders the same script.
        let out = Command::new(env!("CARGO_BIN_EXE_nixos-images-gen"))
            .args(["render", "kexec-run", "-r"])
            .arg(examples::path(&name))
            .output()
            .expect("running nixos-images-gen");
        assert!(out.status.success(), "nixos-images-gen render kexec-run -r {name}: {out:?}");
        assert_eq!(String::from_utf8_lossy(&out.stdout), script, "{name}: CLI output differs");
        checked += 1;
    }
    assert!(checked >= 3, "only {checked} kexec examples found in examples/");
}

#[test]
fn boots_under_dash() {
    if !prerequisites() {
        return;
    }
    for case in CASES {
        check(case, &DASH);
    }
}

#[test]
fn boots_under_busybox_sh() {
    if !prerequisites() {
        return;
    }
    for case in CASES {
        check(case, &BUSYBOX_SH);
    }
}

#[test]
fn failures_change_nothing_under_dash() {
    if !prerequisites() {
        return;
    }
    check_failures(&DASH);
}

#[test]
fn failures_change_nothing_under_busybox_sh() {
    if !prerequisites() {
        return;
    }
    check_failures(&BUSYBOX_SH);
}

/// Runs the script of one example and checks the kexec calls and the appended overlay.
fn check(case: &Case, shell: &Shell) {
    let what = format!(
        "{}{} under {}",
        case.example,
        if case.image_build { " (the image's own script)" } else { "" },
        shell.name()
    );
    let req = load(case.example, Some(case.delay));
    let fx = Fixture::new(&req);
    if case.image_build {
        let params: Vec<String> = RELEASE_PARAMS.split(' ').map(String::from).collect();
        let boot = nixos_images_core::release::ReleaseBoot::new(INIT, &params).unwrap();
        write(&fx.kexec_dir.join("run"), kexec_run::script_with_release(&req, Some(&boot)), 0o755);
        fs::remove_file(fx.kexec_dir.join(kexec_run::RELEASE_RUN_NAME)).unwrap();
    }
    let mut args = vec![];
    if let Some(flags) = case.extra_flags {
        args = vec!["--kexec-extra-flags", flags];
    }
    let out = fx.run(shell, &args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{what}: the script failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}", out.status);
    assert_eq!(
        stdout,
        format!("machine will boot into nixos in {}s...\n", case.delay),
        "{what}: unexpected stdout (stderr:\n{stderr})"
    );
    assert!(!stderr.contains("kexec/run:"), "{what}: the script warned:\n{stderr}");

    // kexec --load, then (in the background, after the delay) kexec -e.
    let extra: Vec<String> =
        case.extra_flags.map(|f| f.split_whitespace().map(String::from).collect()).unwrap_or_default();
    let request_flags: Vec<String> = req.kexec().extra_flags.iter().map(|f| f.as_str().to_string()).collect();
    let params = cmdline::line(&req);
    let mut load = vec![
        "--load".to_string(),
        format!("{}/bzImage", fx.kexec_dir.display()),
        format!("--initrd={}/initrd", fx.kexec_dir.display()),
        "--no-checks".to_string(),
        format!("--command-line=init={INIT} {RELEASE_PARAMS}{}{params}", if params.is_empty() { "" } else { " " }),
    ];
    if kernel_is_at_least_6_1() {
        load.push("--kexec-syscall-auto".into());
    }
    load.extend(request_flags.iter().cloned());
    load.extend(extra.iter().cloned());
    let mut exec = vec!["-e".to_string()];
    exec.extend(request_flags);
    exec.extend(extra);
    let calls = fx.wait_for_kexec_calls(2, Duration::from_secs(10 + u64::from(case.delay)));
    assert_eq!(calls, vec![load, exec], "{what}: kexec calls");

    // kexec/initrd = the release's initrd + one gzip'ed cpio.
    let initrd = fs::read(fx.kexec_dir.join("initrd")).unwrap();
    assert!(initrd.starts_with(&fx.initrd), "{what}: the original initrd bytes changed");
    let appended = &initrd[fx.initrd.len()..];
    let members = read_appended_overlay(appended, &what);

    // The dumps: the machine's, with the request's interfaces in place of the live state for their MACs.
    let dumps: Vec<String> = ["addrs.json", "routes-v4.json", "routes-v6.json"]
        .iter()
        .map(|f| String::from_utf8(members.get(*f).map(|m| m.data.clone()).unwrap_or_default()).unwrap())
        .collect();
    check_dumps(&req, &dumps, &what);
    let mut expected = BTreeMap::new();
    for dir in ["ssh", "nixos-images", "nixos-images/networkd", "networkd", "networkd/iface"] {
        expected.insert(dir.to_string(), (0o040000 | overlay::DIR_MODE, vec![]));
    }
    let keys: String = expected_keys(&req).iter().map(|k| format!("{k}\n")).collect();
    expected.insert(overlay::AUTHORIZED_KEYS.into(), (0o100000 | overlay::KEY_MODE, keys.into_bytes()));
    expected.insert("ssh/ssh_host_ed25519_key".into(), (0o100600, HOST_KEY.into()));
    expected.insert("ssh/ssh_host_ed25519_key.pub".into(), (0o100644, HOST_KEY_PUB.into()));
    for (file, dump) in ["addrs.json", "routes-v4.json", "routes-v6.json"].iter().zip(&dumps) {
        expected.insert(file.to_string(), (0o100600, dump.clone().into_bytes()));
    }
    expected.insert("networkd/iface/00-eth0.network".into(), (0o100600, NETWORKD_UNIT.into()));
    // machine-id keeps the world-readable mode systemd gives it.
    expected.insert("machine-id".into(), (0o100444, MACHINE_ID.into()));
    for f in overlay::files(&req) {
        if f.path != overlay::AUTHORIZED_KEYS {
            expected.insert(f.path.clone(), (0o100000 | f.mode, f.contents));
        }
    }
    let actual: BTreeMap<String, (u32, Vec<u8>)> =
        members.into_iter().map(|(path, m)| (path, (m.mode, m.data))).collect();
    assert_eq!(
        printable(&actual),
        printable(&expected),
        "{what}: members of the appended cpio (path -> mode, contents)"
    );

    // Nothing is left next to the tarball.
    let files: Vec<&str> =
        Fixture::TARBALL_FILES.iter().copied().filter(|f| !case.image_build || *f != "run.release").collect();
    assert_eq!(fx.kexec_dir_listing(), files, "{what}: files left in kexec/");
}

/// Without interfaces the dumps are the machine's as `ip --json` printed them. With interfaces, what upstream's
/// restore script makes of them has, for each interface's MAC, exactly one unit with the request's addresses and
/// routes, and the machine's other links are kept.
fn check_dumps(req: &ValidRequest, dumps: &[String], what: &str) {
    if req.interfaces().is_empty() {
        let live = [ADDRS_JSON, ROUTES_V4_JSON, ROUTES_V6_JSON].map(|d| format!("{d}\n"));
        assert_eq!(dumps, live, "{what}: the dumps changed although the request has no interfaces");
        return;
    }
    let units = upstream_installer::restore_network(&dumps[0], &dumps[1], &dumps[2])
        .unwrap_or_else(|e| panic!("{what}: the dumps are not what upstream's restore script reads: {e}"));
    let live: serde_json::Value = serde_json::from_str(ADDRS_JSON).unwrap();
    let live_mac_of = |name: &str| {
        live.as_array()
            .unwrap()
            .iter()
            .find(|l| l["ifname"] == name)
            .map(|l| l["address"].as_str().unwrap().to_string())
    };
    let mut request_macs = vec![];
    for (i, iface) in req.interfaces().iter().enumerate() {
        let mac = match &iface.matches {
            InterfaceMatch::Mac(m) => m.to_string(),
            InterfaceMatch::Name(n) => {
                live_mac_of(n.as_str()).unwrap_or_else(|| panic!("{what}: no live {}", n.as_str()))
            }
        };
        request_macs.push(mac.clone());
        let matching: Vec<&String> = units.values().filter(|u| u.contains(&format!("MACAddress={mac}\n"))).collect();
        assert_eq!(matching.len(), 1, "{what}: interfaces[{i}] ({mac}): units {units:#?}");
        let addresses: Vec<String> =
            matching[0].lines().filter_map(|l| l.strip_prefix("Address=")).map(String::from).collect();
        let want: Vec<String> = iface.addresses.iter().map(ToString::to_string).collect();
        assert_eq!(addresses, want, "{what}: interfaces[{i}]'s addresses in upstream's unit:\n{}", matching[0]);
        assert_eq!(
            matching[0].matches("[Route]").count(),
            iface.routes.len(),
            "{what}: interfaces[{i}]'s routes:\n{}",
            matching[0]
        );
    }
    // A live link the request does not name keeps its unit, routes and all.
    let live_units = upstream_installer::restore_network(ADDRS_JSON, ROUTES_V4_JSON, ROUTES_V6_JSON).unwrap();
    for (name, unit) in live_units {
        if !request_macs.iter().any(|m| unit.contains(&format!("MACAddress={m}\n"))) {
            assert_eq!(units.get(&name), Some(&unit), "{what}: the live link's unit {name} changed");
        }
    }
}

#[test]
fn the_kexec_waits_for_the_session_to_close_under_dash() {
    if !prerequisites() {
        return;
    }
    check_session_closes_first(&DASH);
}

#[test]
fn the_kexec_waits_for_the_session_to_close_under_busybox_sh() {
    if !prerequisites() {
        return;
    }
    check_session_closes_first(&BUSYBOX_SH);
}

/// With the shortest delay validation accepts, the detached `kexec -e` starts only after the session that ran the
/// script is over. The script runs as sshd runs a command: stdout and stderr are pipes, and the session closes
/// once the command has exited and both pipes are at end of file, that is once every process that could write to
/// them (the background kexec's included) has let go of them. The test marks that moment with a file; the kexec
/// stub records, when `-e` starts, whether the mark is there and where its own output goes.
fn check_session_closes_first(shell: &Shell) {
    use std::io::Read;
    let what = format!("the session under {}", shell.name());
    let req = load("static-hetzner.toml", Some(FLOOR));
    let fx = Fixture::new(&req);
    let closed = fx.host.join("session-closed");
    let seen = fx.host.join("kexec-e-saw");
    let prelude = format!(
        "if [ \"$1\" = -e ]; then\n\
         \x20 if [ -e '{}' ]; then when=after-the-session; else when=during-the-session; fi\n\
         \x20 printf '%s %s %s\\n' \"$when\" \"$(readlink /proc/$$/fd/1)\" \"$(readlink /proc/$$/fd/2)\" >'{}'\n\
         fi\n",
        closed.display(),
        seen.display()
    );
    write(&fx.kexec_dir.join("kexec"), kexec_stub(&fx.log, &prelude), 0o755);

    let start = Instant::now();
    let mut child = fx
        .command(None, shell, &fx.kexec_dir.join("run"), &[])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("running unshare");
    let mut stderr_pipe = child.stderr.take().unwrap();
    let stderr_reader = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stderr_pipe.read_to_end(&mut bytes).map(|_| bytes)
    });
    let mut stdout = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut stdout).unwrap();
    let stderr = stderr_reader.join().unwrap().unwrap();
    let status = child.wait().unwrap();
    // Both pipes at end of file and the script gone: here sshd would close the channel.
    let session_over = start.elapsed();
    write(&closed, "", 0o644);
    assert_unshared(&stderr, &what);
    assert!(status.success(), "{what}: the script failed ({status}): {}", String::from_utf8_lossy(&stderr));
    assert_eq!(String::from_utf8_lossy(&stdout), format!("machine will boot into nixos in {FLOOR}s...\n"), "{what}");

    let calls = fx.wait_for_kexec_calls(2, Duration::from_secs(10 + u64::from(FLOOR)));
    let kexec_e = start.elapsed();
    assert_eq!(calls.len(), 2, "{what}: kexec calls: {calls:?}");
    assert_eq!(calls[1].first().map(String::as_str), Some("-e"), "{what}: kexec calls: {calls:?}");
    let saw = fs::read_to_string(&seen).unwrap_or_else(|e| panic!("{what}: the stub's record of -e: {e}"));
    let [when, stdout_target, stderr_target] = saw.split_whitespace().collect::<Vec<_>>()[..] else {
        panic!("{what}: the stub's record of -e is not `WHEN STDOUT STDERR`: {saw:?}");
    };
    assert_eq!(when, "after-the-session", "{what}: kexec -e started before the session was over");
    for (fd, target) in [("stdout", stdout_target), ("stderr", stderr_target)] {
        assert!(!target.starts_with("pipe:"), "{what}: kexec -e still holds the session's {fd} ({target})");
    }
    println!(
        "{what}: the script's session was over {} ms after it started; kexec -e ran within {} ms of that (delay {FLOOR} s)",
        session_over.as_millis(),
        kexec_e.saturating_sub(session_over).as_millis()
    );
}

/// A missing run.release and an unknown argument stop the script before it changes anything.
fn check_failures(shell: &Shell) {
    let req = load("static-hetzner.toml", Some(FLOOR));
    let runs: [(&str, &[&str], bool, &str); 3] = [
        ("missing run.release", &[], true, "run.release"),
        ("unknown argument", &["--bogus"], false, "unknown argument: --bogus"),
        ("--kexec-extra-flags without a value", &["--kexec-extra-flags"], false, "needs a value"),
    ];
    for (what, args, remove_release_run, message) in runs {
        let what = format!("{what} under {}", shell.name());
        let fx = Fixture::new(&req);
        if remove_release_run {
            fs::remove_file(fx.kexec_dir.join(kexec_run::RELEASE_RUN_NAME)).unwrap();
        }
        let listing = fx.kexec_dir_listing();
        let out = fx.run(shell, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}: the script succeeded: {out:?}");
        assert!(out.stdout.is_empty(), "{what}: stdout: {}", String::from_utf8_lossy(&out.stdout));
        assert!(
            stderr.starts_with("kexec/run: error: ") && stderr.contains(message),
            "{what}: stderr should be an error mentioning {message:?}, is:\n{stderr}"
        );
        assert_eq!(fs::read(fx.kexec_dir.join("initrd")).unwrap(), fx.initrd, "{what}: initrd changed");
        assert_eq!(fx.kexec_dir_listing(), listing, "{what}: files in kexec/ changed");
        assert!(!fx.log.exists(), "{what}: kexec was called:\n{:?}", fx.kexec_calls());
    }
}

#[test]
fn a_refusing_agent_stops_the_script_under_dash() {
    if !prerequisites() {
        return;
    }
    check_agent(&DASH);
}

#[test]
fn a_refusing_agent_stops_the_script_under_busybox_sh() {
    if !prerequisites() {
        return;
    }
    check_agent(&BUSYBOX_SH);
}

/// The release's `nixos-images-agent` (a stub here) runs `preflight --initrd kexec/initrd` before anything is
/// changed: when it refuses, the script stops with its last line and changes nothing; when it accepts, its
/// summary is shown and the script goes on.
fn check_agent(shell: &Shell) {
    let req = load("static-hetzner.toml", Some(FLOOR));
    for accept in [false, true] {
        let what = format!("an agent that {} under {}", if accept { "accepts" } else { "refuses" }, shell.name());
        let fx = Fixture::new(&req);
        let args_log = fx.host.join("agent-args.log");
        let (summary, last, code) = if accept {
            ("warn    network: bond0 is a bond", "kexec can go ahead (1 warning)", 0)
        } else {
            ("ok      kernel: Linux 6.8", "kexec would fail: this machine has 512 MiB of RAM", 1)
        };
        let stub = format!(
            "#!/bin/sh
# Stand-in for nixos-images-agent: logs its arguments, prints a summary, exits {code}.
             for arg in \"$@\"; do printf '%s\\n' \"$arg\"; done >'{}'
             echo '{summary}' >&2
echo '{last}' >&2
exit {code}
",
            args_log.display()
        );
        write(&fx.kexec_dir.join("nixos-images-agent"), stub, 0o755);
        let listing = fx.kexec_dir_listing();
        let out = fx.run(shell, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let args = fs::read_to_string(&args_log).unwrap_or_else(|_| panic!("{what}: the agent did not run: {out:?}"));
        let initrd = format!("{}/initrd", fx.kexec_dir.display());
        assert_eq!(args.lines().collect::<Vec<_>>(), ["preflight", "--initrd", initrd.as_str()], "{what}");
        if accept {
            assert!(out.status.success(), "{what}: {out:?}");
            assert!(stderr.starts_with(&format!("{summary}\n{last}\n")), "{what}: stderr:\n{stderr}");
            assert_eq!(fx.wait_for_kexec_calls(2, Duration::from_secs(10)).len(), 2, "{what}");
        } else {
            assert_eq!(out.status.code(), Some(1), "{what}: {out:?}");
            assert!(out.stdout.is_empty(), "{what}: stdout: {}", String::from_utf8_lossy(&out.stdout));
            assert_eq!(stderr, format!("{summary}\nkexec/run: error: {last}\n"), "{what}");
            assert_eq!(fs::read(fx.kexec_dir.join("initrd")).unwrap(), fx.initrd, "{what}: initrd changed");
            assert_eq!(fx.kexec_dir_listing(), listing, "{what}: files in kexec/ changed");
            assert!(!fx.log.exists(), "{what}: kexec was called:\n{:?}", fx.kexec_calls());
        }
    }
}

/// What `ssh/authorized_keys` must hold: the keys collected from the machine (see [`Fixture::new`]), then the
/// request's, each once.
fn expected_keys(req: &ValidRequest) -> Vec<String> {
    let mut keys = vec![
        format!(r#"from="192.0.2.0/24",no-pty {ECDSA} admin@host"#),
        // The cloud image's forced command is dropped, the key and its comment kept.
        format!("{ED25519} debian@cloud-image"),
        req.ssh_authorized_keys()[0].as_str().to_string(),
        format!("{ED25519} last-line@without-newline"),
        format!("{SK} etc@authorized_keys.d"),
        format!("{ED25519} deploy@laptop"),
    ];
    keys.extend(req.ssh_authorized_keys().iter().map(|k| k.as_str().to_string()));
    let mut seen = std::collections::HashSet::new();
    keys.retain(|k| seen.insert(k.clone()));
    keys
}

/// A fake release tarball (`kexec/`) plus the files mounted over the machine's in the script's namespace.
struct Fixture {
    _tmp: tempfile::TempDir,
    kexec_dir: PathBuf,
    /// Files mounted over the machine's (`host/...`).
    host: PathBuf,
    /// Where the kexec stub logs its calls.
    log: PathBuf,
    /// The initrd as the release ships it.
    initrd: Vec<u8>,
}

impl Fixture {
    const TARBALL_FILES: &[&str] = &["bzImage", "initrd", "ip", "kexec", "run", "run.release"];

    fn new(req: &ValidRequest) -> Fixture {
        // Under target/ (not /tmp, which may be noexec), and outside the directories the namespace replaces.
        let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("creating a temporary directory");
        let root = tmp.path().canonicalize().unwrap();
        for hidden in ["/root", "/etc", "/dev"] {
            assert!(!root.starts_with(hidden), "the fixture must not be under {hidden}: {}", root.display());
        }
        let kexec_dir = root.join("kexec");
        let host = root.join("host");
        let log = root.join("kexec-calls.log");
        fs::create_dir_all(&kexec_dir).unwrap();
        fs::create_dir_all(host.join("ssh/authorized_keys.d")).unwrap();
        fs::create_dir_all(host.join("bin")).unwrap();

        write(&kexec_dir.join("kexec"), kexec_stub(&log, ""), 0o755);
        let ip = format!(
            "#!/bin/sh\n# Stand-in for ip with --json.\ncase \"$*\" in\n\
             '--json addr') echo '{ADDRS_JSON}' ;;\n\
             '-4 --json route') echo '{ROUTES_V4_JSON}' ;;\n\
             '-6 --json route') echo '{ROUTES_V6_JSON}' ;;\n\
             *) echo \"ip stub: unexpected arguments: $*\" >&2; exit 1 ;;\nesac\n"
        );
        write(&kexec_dir.join("ip"), ip, 0o755);
        write(&kexec_dir.join("bzImage"), "not a kernel", 0o644);
        let initrd = Cpio::new().file("init", 0o755, "#!/bin/sh\necho the release's initrd\n").to_gzip();
        write(&kexec_dir.join("initrd"), &initrd, 0o644);
        let release_run = format!(
            "#!/usr/bin/env bash\nset -ex\ninit=\"{INIT}\"\nkernelParams=\"{RELEASE_PARAMS}\"\n\
             SCRIPT_DIR=$( cd -- \"$( dirname -- \"${{BASH_SOURCE[0]}}\" )\" &> /dev/null && pwd )\n\
             # ... the rest of the release's script ...\n"
        );
        write(&kexec_dir.join(kexec_run::RELEASE_RUN_NAME), release_run, 0o755);
        write(&kexec_dir.join("run"), kexec_run::script(req), 0o755);

        // root's keys: options kept, a cloud image's forced command, comments and blank lines, a duplicate of a
        // request key, and no newline after the last line.
        let root_keys = format!(
            "# keys of root\n\
             from=\"192.0.2.0/24\",no-pty {ECDSA} admin@host\n\
             \n\
             no-port-forwarding,no-agent-forwarding,no-X11-forwarding,command=\"echo 'Please login as the user \\\"debian\\\" rather than the user \\\"root\\\".';echo;sleep 10;exit 142\" {ED25519} debian@cloud-image\n   \
             # an indented comment\n\
             \t\n\
             {}\n\
             {ED25519} last-line@without-newline",
            req.ssh_authorized_keys()[0].as_str()
        );
        write(&host.join("root-authorized_keys"), root_keys, 0o600);
        write(&host.join("ssh/authorized_keys.d/root"), format!("{SK} etc@authorized_keys.d\n"), 0o644);
        write(
            &host.join("sudo-user-authorized_keys"),
            format!("{ED25519} deploy@laptop\nfrom=\"192.0.2.0/24\",no-pty {ECDSA} admin@host\n"),
            0o600,
        );
        // systemd-networkd 257 is active and eth0 is configured: the script saves `networkctl cat @eth0:network`.
        let networkctl = format!(
            "#!/bin/sh\n# Stand-in for networkctl.\ncase \"$*\" in\n\
             '--version') echo 'systemd 257 (257.9-1)'; echo '+PAM +AUDIT' ;;\n\
             'list --no-legend --no-pager') echo '  1 lo   loopback carrier unmanaged'; \
             echo '  2 eth0 ether    routable configured' ;;\n\
             '@eth0:network') ;;\n\
             'cat @eth0:network') printf '%s' '{NETWORKD_UNIT}' ;;\n\
             'cat @eth0:'*) echo 'No files found' >&2; exit 1 ;;\n\
             *) echo \"networkctl stub: unexpected arguments: $*\" >&2; exit 1 ;;\nesac\n"
        );
        write(&host.join("bin/networkctl"), networkctl, 0o755);
        let systemctl = "#!/bin/sh\n# Stand-in for systemctl: only networkd is asked about.\n\
                         [ \"$*\" = 'is-active --quiet systemd-networkd' ]\n";
        write(&host.join("bin/systemctl"), systemctl, 0o755);
        write(&host.join("ssh/ssh_host_ed25519_key"), HOST_KEY, 0o600);
        write(&host.join("ssh/ssh_host_ed25519_key.pub"), HOST_KEY_PUB, 0o644);
        write(&host.join("machine-id"), MACHINE_ID, 0o444);
        write(
            &host.join("passwd"),
            format!("root:x:0:0:root:/root:/bin/sh\n{SUDO_USER}:x:1000:1000::{SUDO_HOME}:/bin/sh\n"),
            0o644,
        );
        Fixture { _tmp: tmp, kexec_dir, host, log, initrd }
    }

    /// Runs `kexec/run ARGS` with `shell` in a private mount namespace holding the fixture's files.
    fn run(&self, shell: &Shell, args: &[&str]) -> Output {
        self.run_in(None, shell, args)
    }

    /// [`Fixture::run`] inside a network namespace (`ip netns exec NS ...`), if one is given.
    fn run_in(&self, netns: Option<&str>, shell: &Shell, args: &[&str]) -> Output {
        self.run_file(netns, shell, &self.kexec_dir.join("run"), args)
    }

    /// The command that runs `script ARGS` with `shell` in the fixture's namespaces, stdin from /dev/null.
    fn command(&self, netns: Option<&str>, shell: &Shell, script: &Path, args: &[&str]) -> Command {
        // Run by the shell under test, too. $1 = host fixture dir, $2 = the script, then its arguments.
        let setup = format!(
            r#"set -eu
host=$1 run=$2
shift 2
PATH="$host/bin:$PATH"
export PATH
mount -t tmpfs -o mode=0700 tmpfs /root
mkdir -p /root/.ssh {SUDO_HOME}/.ssh
cp "$host/root-authorized_keys" /root/.ssh/authorized_keys
cp "$host/sudo-user-authorized_keys" {SUDO_HOME}/.ssh/authorized_keys
mount --bind "$host/ssh" /etc/ssh
mount --bind "$host/machine-id" /etc/machine-id
mount --bind "$host/passwd" /etc/passwd
if [ -e /dev/kmsg ]; then mount --bind /dev/null /dev/kmsg; fi
exec {} "$run" "$@"
"#,
            shell.name()
        );
        let mut cmd = match netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "unshare"]);
                c
            }
            None => Command::new("unshare"),
        };
        cmd.args(["--mount", "--propagation", "private"])
            .args(shell.0)
            .args(["-c", &setup, "setup"])
            .arg(&self.host)
            .arg(script)
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("SUDO_USER", SUDO_USER)
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `script ARGS` (the run script, or the install command) with `shell` in the fixture's namespaces.
    fn run_file(&self, netns: Option<&str>, shell: &Shell, script: &Path, args: &[&str]) -> Output {
        let out = self.command(netns, shell, script, args).output().expect("running unshare");
        assert_unshared(&out.stderr, &out);
        out
    }

    /// The stub's calls, each as its arguments.
    fn kexec_calls(&self) -> Vec<Vec<String>> {
        let log = fs::read_to_string(&self.log).unwrap_or_default();
        let mut calls = vec![];
        let mut call = vec![];
        for line in log.lines() {
            if line == CALL_END {
                calls.push(std::mem::take(&mut call));
            } else {
                call.push(line.to_string());
            }
        }
        calls
    }

    /// Waits until the stub was called `n` times (the boot call runs in the background after the delay).
    fn wait_for_kexec_calls(&self, n: usize, timeout: Duration) -> Vec<Vec<String>> {
        let start = Instant::now();
        loop {
            let calls = self.kexec_calls();
            if calls.len() >= n || start.elapsed() > timeout {
                // Give an unexpected further call a moment to show up.
                std::thread::sleep(Duration::from_millis(200));
                return self.kexec_calls();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn kexec_dir_listing(&self) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(&self.kexec_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

const CALL_END: &str = "--end-of-call--";

/// A stand-in for kexec that runs `prelude`, then logs its arguments to `log`, one a line, and never boots
/// anything.
fn kexec_stub(log: &Path, prelude: &str) -> String {
    format!(
        "#!/bin/sh\n# Stand-in for kexec.\n{prelude}\
         {{ for arg in \"$@\"; do printf '%s\\n' \"$arg\"; done; printf '%s\\n' {CALL_END}; }} >>'{}'\n",
        log.display()
    )
}

/// Fails the test if `unshare` could not make the namespaces (it must run as root).
fn assert_unshared(stderr: &[u8], what: &dyn std::fmt::Debug) {
    assert!(
        !String::from_utf8_lossy(stderr).contains("unshare:"),
        "unshare failed (the test must run as root): {what:?}"
    );
}

/// Checks that `appended` is one gzip member holding one newc cpio archive, and returns its members by path.
fn read_appended_overlay(appended: &[u8], what: &str) -> BTreeMap<String, CpioMember> {
    assert!(appended.starts_with(&[0x1f, 0x8b]), "{what}: nothing gzip'ed was appended to the initrd");
    let out = run_with_stdin(Command::new("gzip").arg("-dc"), appended);
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "{what}: gzip -dc of the appended bytes: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cpio = out.stdout;
    // The last member's ISIZE is the size of everything only if there is just one member.
    let isize = u32::from_le_bytes(appended[appended.len() - 4..].try_into().unwrap());
    assert_eq!(isize as usize, cpio.len(), "{what}: more than one gzip member was appended");
    let (members, end) = parse_newc(&cpio, what);
    assert!(cpio[end..].iter().all(|&b| b == 0), "{what}: more than one cpio archive was appended");
    members
}

struct CpioMember {
    mode: u32,
    data: Vec<u8>,
}

/// Parses a newc cpio archive up to its trailer: the members by path (without a leading `./`) and the end offset.
fn parse_newc(bytes: &[u8], what: &str) -> (BTreeMap<String, CpioMember>, usize) {
    let align = |n: usize| n.div_ceil(4) * 4;
    let mut members = BTreeMap::new();
    let mut off = 0;
    loop {
        let header = bytes.get(off..off + 110).unwrap_or_else(|| panic!("{what}: cpio ends without a trailer"));
        assert_eq!(&header[..6], b"070701", "{what}: not a newc cpio member at offset {off}");
        let field = |i: usize| {
            let hex = std::str::from_utf8(&header[6 + 8 * i..14 + 8 * i]).unwrap();
            u32::from_str_radix(hex, 16).unwrap() as usize
        };
        let (mode, uid, gid, size, name_size) = (field(1), field(2), field(3), field(6), field(11));
        let name = String::from_utf8(bytes[off + 110..off + 110 + name_size - 1].to_vec()).unwrap();
        let data_start = align(off + 110 + name_size);
        let data = bytes[data_start..data_start + size].to_vec();
        off = align(data_start + size);
        if name == "TRAILER!!!" {
            return (members, off);
        }
        let path = name.strip_prefix("./").unwrap_or(&name).to_string();
        assert!(
            !path.is_empty() && path != "." && !path.starts_with('/') && !path.split('/').any(|c| c == ".."),
            "{what}: the cpio has a member named {name:?}"
        );
        assert_eq!((uid, gid), (0, 0), "{what}: {name} is not owned by root");
        let member = CpioMember { mode: mode as u32, data };
        assert!(members.insert(path, member).is_none(), "{what}: {name} is in the cpio twice");
    }
}

/// Mode in octal and contents as text, so a failed comparison is readable.
fn printable(members: &BTreeMap<String, (u32, Vec<u8>)>) -> BTreeMap<String, String> {
    members
        .iter()
        .map(|(path, (mode, data))| (path.clone(), format!("{mode:06o} {}", String::from_utf8_lossy(data))))
        .collect()
}

/// The script uses kexec_file_load (`--kexec-syscall-auto`) from Linux 6.1 on.
fn kernel_is_at_least_6_1() -> bool {
    let release = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    let mut parts = release.trim().split(['.', '-']);
    let major: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    let minor: u32 = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    (major, minor) >= (6, 1)
}

/// Parses and validates an example, optionally with another kexec delay.
fn load(example: &str, delay: Option<u32>) -> ValidRequest {
    let mut req = examples::request(example);
    if let Some(delay) = delay {
        req.kexec.delay_seconds = delay;
    }
    let req = req.validate().unwrap_or_else(|e| panic!("{example}: {e:?}"));
    assert!(req.image().is_kexec(), "{example} is not a kexec request");
    req
}

fn write(path: &Path, contents: impl AsRef<[u8]>, mode: u32) {
    fs::write(path, contents).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn run_with_stdin(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&stdin));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    out
}

/// What the script tests need: the shells, the tools the script and the checks run, and root (the fixtures are
/// mounted in a private mount namespace). Checked at the start of each test.
fn prerequisites() -> bool {
    REQUIRED_TOOLS.iter().fold(Prerequisites::new(), |p, tool| p.tool(tool)).root().met()
}

const MAC_STATIC: &str = "52:54:00:bb:00:01";
const MAC_NAMED: &str = "52:54:00:bb:00:02";
const MAC_KEPT: &str = "52:54:00:bb:00:03";

/// The request of the upstream test: a static interface by MAC (IPv4 and IPv6, an on-link route), one by name,
/// a host name and nameservers.
fn upstream_request() -> ValidRequest {
    let text = format!(
        r#"image = "kexec"
hostname = "web9"
ssh_authorized_keys = ["{ED25519} alice@laptop"]
nameservers = ["192.0.2.53", "2001:db8::53"]
[kexec]
delay_seconds = {FLOOR}
[[interfaces]]
match_mac = "{MAC_STATIC}"
dhcp = false
addresses = ["192.0.2.50/24", "2001:db8:9::50/64"]
[[interfaces.routes]]
destination = "default"
gateway = "192.0.2.1"
[[interfaces.routes]]
destination = "198.51.100.0/24"
gateway = "192.0.2.254"
[[interfaces.routes]]
destination = "203.0.113.0/24"
gateway = "172.31.1.1"
on_link = true
[[interfaces.routes]]
destination = "default"
gateway = "fe80::1"
[[interfaces]]
match_name = "eth-named"
addresses = ["192.0.2.70/24"]
"#
    );
    Request::parse(&text, RequestFormat::Toml).unwrap().validate().unwrap()
}

/// With upstream's images (the default release) the request's network and host name take effect: the run script
/// runs for real in a network namespace whose live addresses differ from the request's, its appended cpio goes
/// through a stand-in that reads exactly what upstream's installer reads, and the real systemd-networkd applies
/// the units that stand-in makes in a second namespace: the request's addresses and routes are configured, the
/// replaced live ones are not, a link the request does not name keeps its own. The host name and nameservers
/// reach the kernel command line.
#[test]
fn upstream_installer_gets_the_requests_network_and_host_name() {
    if !(prerequisites() && netns::prerequisites().met()) {
        return;
    }
    let req = upstream_request();
    let src = Netns::new("kexec-src");
    src.ip("link set lo up");
    for (name, mac) in [("eth-static", MAC_STATIC), ("eth-named", MAC_NAMED), ("eth-kept", MAC_KEPT)] {
        src.ip(&format!("link add {name} address {mac} type veth peer name {name}-p"));
        src.ip(&format!("link set {name} up"));
        src.ip(&format!("link set {name}-p up"));
    }
    src.ip("addr add 10.99.0.5/24 dev eth-static");
    src.ip("route add default via 10.99.0.1 dev eth-static");
    src.ip("addr add 10.98.0.5/24 dev eth-named");
    src.ip("route add 10.50.0.0/16 via 10.98.0.1 dev eth-named");
    src.ip("addr add 10.77.0.5/24 dev eth-kept");
    src.ip("route add 10.60.0.0/16 via 10.77.0.1 dev eth-kept");

    let ip = Command::new("sh").args(["-c", "command -v ip"]).output().unwrap();
    let ip = String::from_utf8_lossy(&ip.stdout).trim().to_string();
    let mut dumps_of = Vec::new();
    let mut runs = Vec::new();
    for shell in [&DASH, &BUSYBOX_SH] {
        let what = format!("upstream test under {}", shell.name());
        let fx = Fixture::new(&req);
        // The real iproute2 (the releases' static ip), in the source namespace.
        write(&fx.kexec_dir.join("ip"), format!("#!/bin/sh\nexec {ip} \"$@\"\n"), 0o755);
        let out = fx.run_in(Some(&src.0), shell, &[]);
        assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
        let calls = fx.wait_for_kexec_calls(2, Duration::from_secs(10));
        let cmdline = calls[0].iter().find_map(|a| a.strip_prefix("--command-line=")).unwrap().to_string();
        assert_eq!(upstream_installer::hostname_from_cmdline(&cmdline), Some("web9"), "{what}: {cmdline}");
        assert_eq!(upstream_installer::nameservers_from_cmdline(&cmdline), ["192.0.2.53", "2001:db8::53"]);
        let initrd = fs::read(fx.kexec_dir.join("initrd")).unwrap();
        let members = read_appended_overlay(&initrd[fx.initrd.len()..], &what);
        // What the kernel unpacks, then what upstream's initrd service copies of it.
        let unpacked = fx._tmp.path().join("unpacked");
        for (path, m) in &members {
            let at = unpacked.join(path);
            if m.mode & 0o170000 == 0o040000 {
                fs::create_dir_all(&at).unwrap();
            } else {
                fs::create_dir_all(at.parent().unwrap()).unwrap();
                fs::write(&at, &m.data).unwrap();
            }
        }
        let sysroot = fx._tmp.path().join("sysroot");
        upstream_installer::copy_state(&unpacked, &sysroot).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(!sysroot.join("etc/hostname").exists(), "{what}: upstream reads no host name file");
        let keys = fs::read_to_string(sysroot.join("root/.ssh/authorized_keys")).unwrap();
        assert!(keys.contains("alice@laptop"), "{what}: {keys}");
        let dumps: Vec<String> = ["addrs.json", "routes-v4.json", "routes-v6.json"]
            .iter()
            .map(|f| fs::read_to_string(sysroot.join("root/network").join(f)).unwrap())
            .collect();
        dumps_of.push(dumps);
        runs.push((fx, sysroot));
    }
    // The rewritten dumps hold the live state too (lifetimes tick), so compare what they mean.
    let units: Vec<BTreeMap<String, String>> =
        dumps_of.iter().map(|d| upstream_installer::restore_network(&d[0], &d[1], &d[2]).unwrap()).collect();
    assert_eq!(units[0], units[1], "dash and busybox sh wrote different dumps");

    let units_dir = runs[0].1.join("etc/systemd/network");
    fs::create_dir_all(&units_dir).unwrap();
    for (name, unit) in &units[0] {
        fs::write(units_dir.join(name), unit).unwrap();
    }
    let dst = Netns::new("kexec-dst");
    dst.ip("link set lo up");
    for (name, mac) in [("new-static", MAC_STATIC), ("new-named", MAC_NAMED), ("new-kept", MAC_KEPT)] {
        dst.ip(&format!("link add {name} address {mac} type veth peer name {name}-p"));
        dst.ip(&format!("link set {name}-p up"));
    }
    run_networkd(&dst, &units_dir, |ns| {
        let s4 = ns.ip("-4 addr show dev new-static");
        let s6 = ns.ip("-6 addr show dev new-static");
        let v4 = ns.ip("-4 route");
        let v6 = ns.ip("-6 route");
        s4.contains("192.0.2.50/24")
            && s6.contains("2001:db8:9::50/64")
            && v4.contains("default via 192.0.2.1 dev new-static")
            && v4.contains("198.51.100.0/24 via 192.0.2.254 dev new-static")
            && v4.contains("203.0.113.0/24 via 172.31.1.1 dev new-static proto static onlink")
            && v6.contains("default via fe80::1 dev new-static")
            && ns.ip("-4 addr show dev new-named").contains("192.0.2.70/24")
            && ns.ip("-4 addr show dev new-kept").contains("10.77.0.5/24")
            && v4.contains("10.60.0.0/16 via 10.77.0.1 dev new-kept")
    });
    let addrs = dst.ip("addr");
    let v4 = dst.ip("-4 route");
    for gone in ["10.99.0.5", "10.98.0.5"] {
        assert!(!addrs.contains(gone), "the live address {gone} was restored:\n{addrs}");
    }
    assert!(!v4.contains("10.99.0.1") && !v4.contains("10.50.0.0/16"), "a replaced live route was restored:\n{v4}");
}

/// A pinned tarball that changed (upstream re-uploads weekly under the same tag) stops the install command before
/// it unpacks anything, with both digests and how to pin again, in words rather than a bare `sha256sum` failure.
#[test]
fn the_install_command_explains_a_changed_release() {
    if !prerequisites() {
        return;
    }
    let mut req = examples::request("static-hetzner.toml");
    let pinned = "0".repeat(64);
    req.release.kexec_tarball_sha256 = Some(pinned.clone());
    let req = req.validate().unwrap();
    let command = nixos_images_core::render::kexec_command::render(&req);
    for shell in [&DASH, &BUSYBOX_SH] {
        let what = format!("the install command under {}", shell.name());
        let fx = Fixture::new(&req);
        let script = fx.host.join("install-kexec.sh");
        write(&script, &command.files[0].contents, 0o755);
        // curl that "downloads" a tarball of this week: any bytes but the pinned ones.
        let downloaded = b"this week's tarball\n";
        let curl = format!(
            "#!/bin/sh\n# Stand-in for curl: writes the -o file, logs the URL.\nwhile [ $# -gt 1 ]; do\n  \
             case \"$1\" in -o) out=$2; shift ;; esac\n  shift\ndone\nprintf '%s\\n' \"$1\" >'{}'\n\
             printf 'this week'\"'\"'s tarball\\n' >\"$out\"\n",
            fx.host.join("curl.log").display()
        );
        write(&fx.host.join("bin/curl"), curl, 0o755);
        let out = fx.run_file(None, shell, &script, &[]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {out:?}");
        let url = fs::read_to_string(fx.host.join("curl.log")).unwrap_or_else(|_| panic!("{what}: curl was not run"));
        assert!(
            url.trim().ends_with("/nixos-unstable/nixos-kexec-installer-noninteractive-x86_64-linux.tar.gz"),
            "{url}"
        );
        let actual: String = {
            use sha2::Digest;
            sha2::Sha256::digest(downloaded).iter().map(|b| format!("{b:02x}")).collect()
        };
        for line in [
            "error: the downloaded nixos-kexec-installer-noninteractive-x86_64-linux.tar.gz is not the one this command was made for (release.kexec_tarball_sha256)".to_string(),
            format!("  expected SHA-256 {pinned}"),
            format!("  downloaded       {actual}"),
            "  The release changed since it was pinned (nix-community re-uploads its assets weekly under the same tag). Nothing was changed on this machine.".to_string(),
            format!("  release.kexec_tarball_sha256 = \"{actual}\" in the request and render this command again."),
        ] {
            assert!(stderr.lines().any(|l| l == line), "{what}: no line {line:?} in:\n{stderr}");
        }
        assert!(!stderr.contains("sha256sum:"), "{what}: a bare sha256sum message:\n{stderr}");
        assert!(!fx.log.exists(), "{what}: kexec was called");
    }
}
