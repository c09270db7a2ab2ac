//! The agent builds as a static binary with the command README.md documents, and runs in an empty root (no libc,
//! no /proc, no /sys): each subcommand is run inside a `chroot` holding only the binary and its inputs.
//!
//! Needs root (chroot), `file` and `ldd`; the static build itself is a release build for
//! x86_64-unknown-linux-gnu (about a minute on two cores the first time, then up to date). The binary it leaves in
//! target/x86_64-unknown-linux-gnu/release/ is the one the images (and the boot tests) use.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The documented command (README.md, "The agent"), as arguments to cargo.
const BUILD_ARGS: &[&str] = &[
    "build",
    "--release",
    "-p",
    "nixos-images-cli",
    "--bin",
    "nixos-images-agent",
    "--target",
    "x86_64-unknown-linux-gnu",
];
const RUSTFLAGS: &str = "-C target-feature=+crt-static";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn output(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn build_static() -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    output(Command::new(cargo).args(BUILD_ARGS).current_dir(workspace()).env("RUSTFLAGS", RUSTFLAGS));
    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace().join("target"));
    let bin = target_dir.join("x86_64-unknown-linux-gnu/release/nixos-images-agent");
    assert!(bin.is_file(), "{} was not built", bin.display());
    bin
}

#[test]
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn the_agent_is_static_and_runs_in_an_empty_root() {
    let id = output(Command::new("id").arg("-u"));
    assert_eq!(String::from_utf8_lossy(&id.stdout).trim(), "0", "this test must run as root (chroot)");
    let bin = build_static();

    let file = String::from_utf8(output(Command::new("file").arg("-b").arg(&bin)).stdout).unwrap();
    assert!(file.contains("statically linked") || file.contains("static-pie linked"), "file: {file}");
    // ldd exits 1 for "not a dynamic executable"; glibc's ldd says "statically linked" for static-pie.
    let ldd = Command::new("ldd").arg(&bin).output().expect("running ldd");
    let ldd_text = format!("{}{}", String::from_utf8_lossy(&ldd.stdout), String::from_utf8_lossy(&ldd.stderr));
    assert!(ldd_text.contains("statically linked") || ldd_text.contains("not a dynamic executable"), "ldd: {ldd_text}");
    let size = fs::metadata(&bin).unwrap().len();
    eprintln!("static agent: {} ({size} bytes)", bin.display());

    // An empty root: the binary, fake /proc and /sys trees, an overlay, a target, and ip dumps. Under target/,
    // since /tmp may be noexec.
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let root = tmp.path();
    fs::copy(&bin, root.join("agent")).unwrap();
    let put = |rel: &str, contents: &[u8]| {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, contents).unwrap();
    };
    put("fake/proc/meminfo", b"MemTotal: 4028228 kB\n");
    put("fake/proc/sys/kernel/osrelease", b"6.8.0\n");
    put("fake/sys/class/net/eth0/address", b"52:54:00:12:34:56\n");
    put("fake/sys/class/net/eth0/type", b"1\n");
    put("initrd", &[0u8; 4096]);
    put("overlay/nixos-images/layout-version", b"1\n");
    put("overlay/nixos-images/hostname", b"web1\n");
    put(
        "overlay/ssh/authorized_keys",
        b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJc8dPZMT4nOt7KCWcXuD/SnwMbZVnS0zy/73ZA8lGTg a@b\n",
    );
    fs::create_dir_all(root.join("target")).unwrap();
    // Real dumps of this machine (only read).
    for (name, args) in [
        ("addrs.json", &["--json", "addr"][..]),
        ("routes-v4.json", &["-4", "--json", "route"]),
        ("routes-v6.json", &["-6", "--json", "route"]),
    ] {
        put(&format!("dumps/{name}"), &output(Command::new("ip").args(args)).stdout);
    }
    assert!(!root.join("lib").exists() && !root.join("proc").exists() && !root.join("usr").exists());

    let path = std::env::var_os("PATH").unwrap_or_default();
    let chroot_bin = std::env::split_paths(&path)
        .map(|d| d.join("chroot"))
        .find(|p| p.is_file())
        .expect("`chroot` is not installed (coreutils); this test needs it");
    let chroot = |args: &[&str]| -> Output {
        // An empty environment for the agent; chroot itself is found on the test's PATH first.
        let out = Command::new(&chroot_bin).arg(root).arg("/agent").args(args).env_clear().output().unwrap();
        assert!(
            out.status.success(),
            "chroot /agent {}: {}\n{}{}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    };
    let version = chroot(&["--version"]);
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("nixos-images-agent "));
    let pre = chroot(&["preflight", "--json", "--initrd", "/initrd", "--proc", "/fake/proc", "--sys", "/fake/sys"]);
    let report: serde_json::Value = serde_json::from_slice(&pre.stdout).unwrap();
    assert_eq!(report["ok"], true, "{report:#}");
    chroot(&["apply-overlay", "--root", "/target", "--overlay-dir", "/overlay"]);
    assert_eq!(fs::read_to_string(root.join("target/etc/hostname")).unwrap(), "web1\n");
    chroot(&["restore-network", "/dumps/addrs.json", "/dumps/routes-v4.json", "/dumps/routes-v6.json", "/units"]);
    assert!(root.join("units").is_dir());
}
