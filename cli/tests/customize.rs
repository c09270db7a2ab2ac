//! `customize kexec-tarball` and `customize initrd` against archives made by the real tools (GNU tar, gzip at
//! several levels, multi-member gzip), unpacked by the real tools: GNU tar, busybox tar, and GNU tar fed on standard
//! input as nixos-anywhere unpacks the kexec tarball (`tar -C /root/kexec -xvzf-`).

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use test_support::prerequisites::Prerequisites;

use nixos_images_core::kexec_tarball::TarWalker;
use nixos_images_core::render::{kexec_run, overlay};
use nixos_images_core::{Request, RequestFormat, ValidRequest};
use proptest::prelude::*;

const BIN: &str = env!("CARGO_BIN_EXE_nixos-images-gen");

const REQUEST: &str = r#"image = "kexec"
hostname = "web1"
ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJc8dPZMT4nOt7KCWcXuD/SnwMbZVnS0zy/73ZA8lGTg alice@laptop"]
[[interfaces]]
match_mac = "52:54:00:12:34:56"
dhcp = false
addresses = ["203.0.113.10/32"]
[[interfaces.routes]]
destination = "default"
gateway = "172.31.1.1"
on_link = true
"#;

/// A run script shaped like the release's.
fn release_run(extra_lines: usize) -> Vec<u8> {
    let mut s = String::from(
        "#!/usr/bin/env bash\nset -ex\n\
         init=\"/nix/store/q0d2qyyyc3xc6sqzsv7hsd9wp0khvhcm-nixos-system-nixos-installer-25.05.20250101.abcdef0/init\"\n\
         kernelParams=\"console=ttyS0,115200 console=tty0 loglevel=4\"\n\
         SCRIPT_DIR=$( cd -- \"$( dirname -- \"${BASH_SOURCE[0]}\" )\" &> /dev/null && pwd )\n",
    );
    for i in 0..extra_lines {
        s.push_str(&format!("# line {i}: kexec --load \"$SCRIPT_DIR/bzImage\" --initrd=\"$SCRIPT_DIR/initrd\"\n"));
    }
    s.into_bytes()
}

fn request() -> ValidRequest {
    Request::parse(REQUEST, RequestFormat::Toml).unwrap().validate().unwrap()
}

fn random(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Compressible, like a static binary.
fn binary_like(seed: u64, len: usize) -> Vec<u8> {
    let words = random(seed, 256);
    (0..len).map(|i| if i % 7 == 0 { words[(i / 7) % 256] } else { b"\x00\x48\x89\xe5\x41\x57"[i % 6] }).collect()
}

/// The release's files, in archive order.
struct Release {
    files: Vec<(&'static str, Vec<u8>, u32)>,
}

impl Release {
    fn new(seed: u64, initrd: usize, tools: usize, run_lines: usize) -> Release {
        Release {
            files: vec![
                ("kexec/initrd", random(seed, initrd), 0o644),
                ("kexec/bzImage", random(seed + 1, initrd / 4), 0o644),
                ("kexec/run", release_run(run_lines), 0o755),
                ("kexec/kexec", binary_like(seed + 2, tools), 0o755),
                ("kexec/ip", binary_like(seed + 3, tools / 2), 0o755),
                ("kexec/jq", binary_like(seed + 4, tools / 3), 0o755),
            ],
        }
    }

    fn get(&self, name: &str) -> &[u8] {
        &self.files.iter().find(|f| f.0 == name).unwrap().1
    }

    /// The uncompressed archive, written by GNU tar.
    fn tar(&self, dir: &Path) -> Vec<u8> {
        let src = dir.join("src");
        std::fs::create_dir_all(src.join("kexec")).unwrap();
        for (name, data, mode) in &self.files {
            let path = src.join(name);
            std::fs::write(&path, data).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode)).unwrap();
        }
        let names: Vec<&str> = std::iter::once("kexec/").chain(self.files.iter().map(|f| f.0)).collect();
        let out =
            Command::new("tar").arg("-C").arg(&src).args(["--no-recursion", "-cf", "-"]).args(&names).output().unwrap();
        assert!(out.status.success(), "tar: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }
}

fn pipe(cmd: &str, input: &[u8]) -> Vec<u8> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success(), "{cmd}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// How the release tarball is compressed.
#[derive(Debug, Clone, Copy)]
enum Gz {
    /// `tar -czf` (gzip -6), as the release.
    TarZ,
    Level(u32),
    /// Two gzip members, the archive split at this byte.
    Split(usize),
}

fn release_tarball(release: &Release, gz: Gz, dir: &Path) -> PathBuf {
    let path = dir.join("nixos-kexec-installer-x86_64-linux.tar.gz");
    match gz {
        Gz::TarZ => {
            release.tar(dir); // lays out src/
            let names: Vec<&str> = std::iter::once("kexec/").chain(release.files.iter().map(|f| f.0)).collect();
            let status = Command::new("tar")
                .arg("-C")
                .arg(dir.join("src"))
                .args(["--no-recursion", "-czf"])
                .arg(&path)
                .args(&names)
                .status()
                .unwrap();
            assert!(status.success());
        }
        Gz::Level(level) => std::fs::write(&path, pipe(&format!("gzip -{level} -n"), &release.tar(dir))).unwrap(),
        Gz::Split(at) => {
            let tar = release.tar(dir);
            let at = at.min(tar.len());
            let mut gz = pipe("gzip -6", &tar[..at]);
            gz.extend(pipe("gzip -9", &tar[at..]));
            std::fs::write(&path, gz).unwrap();
        }
    }
    path
}

fn customize(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN).arg("customize").args(args).current_dir(dir).output().unwrap()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// Customizes the release's tarball and checks the result with every extractor.
fn check_kexec_tarball(release: &Release, gz: Gz, agent: Option<&[u8]>) {
    let dir = tempfile::tempdir().unwrap();
    let input = release_tarball(release, gz, dir.path());
    std::fs::write(dir.path().join("request.toml"), REQUEST).unwrap();
    let mut args = vec!["kexec-tarball", input.to_str().unwrap(), "-o", "out.tar.gz", "-r", "request.toml"];
    if let Some(agent) = agent {
        std::fs::write(dir.path().join("agent"), agent).unwrap();
        args.extend(["--agent", "agent"]);
    }
    let out = customize(&args, dir.path());
    assert!(out.status.success(), "{gz:?}: {}", String::from_utf8_lossy(&out.stderr));
    let output = dir.path().join("out.tar.gz");
    assert_eq!(mode(&output), 0o644);

    let status = Command::new("gzip").arg("-t").arg(&output).status().unwrap();
    assert!(status.success(), "{gz:?}: gzip -t");

    // Everything before the re-encoded tail is the input's, byte for byte.
    let (before, after) = (std::fs::read(&input).unwrap(), std::fs::read(&output).unwrap());
    let common = common_prefix(&before, &after);
    assert!(before.len() - common < 256 * 1024, "{gz:?}: only {common} of {} bytes kept", before.len());

    let ours = kexec_run::script(&request());
    for (tool, cmd) in [
        ("GNU tar", "tar -C x -xzf out.tar.gz"),
        ("busybox tar", "busybox tar -C x -xzf out.tar.gz"),
        ("nixos-anywhere", "tar -C x -xvzf- <out.tar.gz"),
    ] {
        let x = dir.path().join("x");
        let _ = std::fs::remove_dir_all(&x);
        std::fs::create_dir(&x).unwrap();
        let out = Command::new("sh").arg("-c").arg(cmd).current_dir(dir.path()).output().unwrap();
        assert!(out.status.success(), "{gz:?}, {tool}: {}", String::from_utf8_lossy(&out.stderr));
        for (name, data, file_mode) in &release.files {
            let path = x.join(name);
            let got = std::fs::read(&path).unwrap();
            if *name == "kexec/run" {
                assert_eq!(String::from_utf8(got).unwrap(), ours, "{gz:?}, {tool}: kexec/run is ours");
                assert_eq!(mode(&path), 0o755, "{gz:?}, {tool}: mode of kexec/run");
            } else {
                assert!(got == *data, "{gz:?}, {tool}: {name} unchanged");
                assert_eq!(mode(&path), *file_mode, "{gz:?}, {tool}: mode of {name}");
            }
        }
        assert_eq!(std::fs::read(x.join("kexec/run.release")).unwrap(), release.get("kexec/run"), "{tool}");
        match agent {
            Some(agent) => {
                assert!(std::fs::read(x.join("kexec/nixos-images-agent")).unwrap() == agent, "{tool}: agent");
                assert_eq!(mode(&x.join("kexec/nixos-images-agent")), 0o755, "{tool}: mode of the agent");
            }
            None => assert!(!x.join("kexec/nixos-images-agent").exists()),
        }
        let mut names: Vec<String> = std::fs::read_dir(x.join("kexec"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        let mut expected: Vec<&str> = release.files.iter().map(|f| &f.0[6..]).collect();
        expected.push("run.release");
        if agent.is_some() {
            expected.push("nixos-images-agent");
        }
        expected.sort();
        assert_eq!(names, expected, "{tool}: nothing else unpacked");
    }

    // The listing: the release's entries, then ours.
    let list = pipe("tar -tzf -", &after);
    let list = String::from_utf8(list).unwrap();
    let tail: Vec<&str> = list.lines().rev().take(if agent.is_some() { 3 } else { 2 }).collect();
    let mut expected = vec!["kexec/run.release", "kexec/run"];
    if agent.is_some() {
        expected.insert(0, "kexec/nixos-images-agent");
    }
    assert_eq!(tail, expected);
}

/// What the tarball tests need (checked at the start of each).
fn tools() -> bool {
    Prerequisites::new().tool("tar").tool("gzip").tool("busybox").met()
}

#[test]
fn kexec_tarball_as_the_release_makes_it() {
    if !tools() {
        return;
    }
    check_kexec_tarball(&Release::new(1, 6 << 20, 600 << 10, 40), Gz::TarZ, None);
}

#[test]
fn kexec_tarball_with_agent() {
    if !tools() {
        return;
    }
    check_kexec_tarball(&Release::new(2, 3 << 20, 300 << 10, 10), Gz::TarZ, Some(&binary_like(9, 900 << 10)));
}

#[test]
fn kexec_tarball_at_gzip_levels_1_and_9() {
    if !tools() {
        return;
    }
    for level in [1, 9] {
        check_kexec_tarball(&Release::new(3, 2 << 20, 200 << 10, 5), Gz::Level(level), None);
    }
}

#[test]
fn kexec_tarball_in_two_gzip_members() {
    if !tools() {
        return;
    }
    let release = Release::new(4, 1 << 20, 100 << 10, 5);
    let tar = release.tar(tempfile::tempdir().unwrap().path());
    let mut walker = TarWalker::new(&[], 0);
    let end = walker.feed(&tar).unwrap().unwrap() as usize;
    // Split in the middle, in the last entry, just before the end-of-archive marker, inside both of its blocks,
    // and in the padding after it (GNU tar pads to 10 KiB).
    for at in [tar.len() / 2, end - 3000, end - 1, end + 1, end + 700, end + 1024, tar.len() - 100] {
        check_kexec_tarball(&release, Gz::Split(at), None);
    }
}

#[test]
fn a_customized_tarball_can_be_customized_again() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let release = Release::new(5, 1 << 20, 100 << 10, 3);
    let input = release_tarball(&release, Gz::TarZ, dir.path());
    std::fs::write(dir.path().join("request.toml"), REQUEST).unwrap();
    let first =
        customize(&["kexec-tarball", input.to_str().unwrap(), "-o", "once.tar.gz", "--hostname", "a"], dir.path());
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let again = customize(&["kexec-tarball", "once.tar.gz", "-o", "twice.tar.gz", "-r", "request.toml"], dir.path());
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    let status = Command::new("tar").arg("-C").arg(&x).arg("-xzf").arg(dir.path().join("twice.tar.gz")).status();
    assert!(status.unwrap().success());
    assert_eq!(std::fs::read_to_string(x.join("kexec/run")).unwrap(), kexec_run::script(&request()));
    assert_eq!(std::fs::read(x.join("kexec/run.release")).unwrap(), release.get("kexec/run"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]
    #[test]
    fn kexec_tarball_any_sizes_and_levels(
        seed in any::<u64>(),
        initrd in 0usize..400_000,
        tools_len in 0usize..200_000,
        run_lines in 0usize..400,
        level in 1u32..10,
        split in proptest::option::of(0usize..1_000_000),
    ) {
        if !tools() {
            return Ok(());
        }
        let release = Release::new(seed, initrd, tools_len, run_lines);
        let gz = match split {
            Some(at) => Gz::Split(at),
            None => Gz::Level(level),
        };
        check_kexec_tarball(&release, gz, None);
    }
}

/// Each bad input exits 2, names the input, and leaves no file (not even a temporary one).
#[test]
fn bad_tarballs_are_refused() {
    if !tools() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let release = Release::new(6, 300_000, 50_000, 3);
    let good = std::fs::read(release_tarball(&release, Gz::TarZ, dir.path())).unwrap();
    let tar = release.tar(dir.path());
    let no_run: Vec<u8> = {
        let mut r = Release::new(7, 1000, 1000, 0);
        r.files.retain(|f| f.0 != "kexec/run");
        pipe("gzip", &r.tar(&dir.path().join("no-run")))
    };
    let no_init: Vec<u8> = {
        let mut r = Release::new(8, 1000, 1000, 0);
        r.files[2].1 = b"#!/bin/sh\necho not a release\n".to_vec();
        pipe("gzip", &r.tar(&dir.path().join("no-init")))
    };
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not gzip", tar.clone(), "not a gzip file"),
        ("empty", vec![], "not a gzip file"),
        ("truncated in the middle", good[..good.len() / 2].to_vec(), "truncated"),
        ("truncated trailer", good[..good.len() - 3].to_vec(), "truncated"),
        ("gzip of random bytes", pipe("gzip", &random(1, 5000)), "not a tar archive"),
        ("no kexec/run", no_run, "has no kexec/run entry"),
        ("kexec/run without init", no_init, "no init=\"/nix/store/...\" line"),
        (
            "corrupt data",
            {
                let mut g = good.clone();
                let n = g.len();
                g[n - 5] ^= 0xff;
                g
            },
            "corrupt",
        ),
        ("trailing garbage", [good.clone(), b"garbage".to_vec()].concat(), "trailing garbage"),
    ];
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    for (what, bytes, why) in cases {
        std::fs::write(dir.path().join("in.tar.gz"), &bytes).unwrap();
        let out = customize(&["kexec-tarball", "in.tar.gz", "-o", "out/out.tar.gz"], dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
        assert!(stderr.starts_with("error: in.tar.gz: ") && stderr.contains(why), "{what}: {stderr}");
        assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 0, "{what}: nothing written");
    }
    // A bad request: refused before anything is read or written.
    std::fs::write(dir.path().join("in.tar.gz"), &good).unwrap();
    for (flags, field) in [(&["--hostname", "web1.example.org"][..], "hostname"), (&["--image", "netboot"], "image")] {
        let mut args = vec!["kexec-tarball", "in.tar.gz", "-o", "out/out.tar.gz"];
        args.extend(flags);
        let out = customize(&args, dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{field}: {stderr}");
        assert!(stderr.starts_with(&format!("error: {field}: ")), "{stderr}");
        assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 0, "{field}: nothing written");
    }
    let out = customize(&["kexec-tarball", "missing.tar.gz", "-o", "out/out.tar.gz"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: missing.tar.gz: "));
    let out = customize(&["kexec-tarball", "in.tar.gz", "-o", "out/out.tar.gz", "--agent", "missing"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: --agent: "));
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 0);
}

#[test]
fn initrd_gets_the_overlay_appended() {
    if !Prerequisites::new().tool("cpio").tool("gzip").met() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("init"), random(1, 300_000)).unwrap();
    std::fs::write(root.join("etc/os-release"), "ID=nixos\n").unwrap();
    let cpio = Command::new("sh")
        .arg("-c")
        .arg("find . | cpio -o -H newc --quiet | gzip -9")
        .current_dir(&root)
        .output()
        .unwrap();
    assert!(cpio.status.success());
    std::fs::write(dir.path().join("initrd"), &cpio.stdout).unwrap();
    std::fs::write(dir.path().join("request.toml"), REQUEST.replace("kexec", "netboot")).unwrap();
    let out = customize(&["initrd", "initrd", "-o", "initrd.custom", "-r", "request.toml"], dir.path());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let custom = std::fs::read(dir.path().join("initrd.custom")).unwrap();
    let req = Request::parse(&REQUEST.replace("kexec", "netboot"), RequestFormat::Toml).unwrap().validate().unwrap();
    let overlay_gz = &overlay::render(&req).files[0].contents;
    assert_eq!(custom, [cpio.stdout.clone(), overlay_gz.clone()].concat());
    assert!(Command::new("gzip").arg("-t").arg(dir.path().join("initrd.custom")).status().unwrap().success());
    // The appended archive unpacks to the overlay.
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    let unpack = Command::new("sh")
        .arg("-c")
        .arg(format!("tail -c {} ../initrd.custom | gzip -dc | cpio -idm --quiet", overlay_gz.len()))
        .current_dir(&x)
        .status()
        .unwrap();
    assert!(unpack.success());
    for f in overlay::files(&req) {
        assert_eq!(std::fs::read(x.join(&f.path)).unwrap(), f.contents, "{}", f.path);
    }

    // Not an initrd: refused, nothing written.
    std::fs::write(dir.path().join("bad"), "hello\n").unwrap();
    let out = customize(&["initrd", "bad", "-o", "bad.custom"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: bad: not an initrd"));
    assert!(!dir.path().join("bad.custom").exists());
    // Not a regular file (a directory; a pipe or a device alike): refused, nothing written.
    for input in ["x", "/dev/null"] {
        let out = customize(&["initrd", input, "-o", "bad.custom"], dir.path());
        assert_eq!(out.status.code(), Some(2), "{input}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with(&format!("error: {input}: not a regular file")), "{input}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{input}: {stderr}");
        assert!(!dir.path().join("bad.custom").exists());
    }
}

/// Where the file system can share blocks, the initrd's copy is a reflink: the output's extents below the appended
/// overlay are the input's own (btrfs in a loop file, in a private mount namespace). Across file systems (tmpfs to
/// the test's directory), where neither a reflink nor `copy_file_range` can work, the kernel's fallbacks copy it
/// (with `--sync`: in chunks, each one's writeback started at once).
#[test]
fn initrd_is_reflinked_where_the_file_system_shares_blocks_and_copied_across_file_systems() {
    if !Prerequisites::new().root().tool("unshare").tool("mkfs.btrfs").tool("filefrag").tool("mount").met() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Several extents' worth, not a multiple of the block size: the last, partial block is the one the overlay's
    // write makes the file's own.
    let mut initrd = b"070701".to_vec();
    initrd.extend(random(7, (24 << 20) + 1234));
    std::fs::write(d.join("initrd"), &initrd).unwrap();
    let request = REQUEST.replace("kexec", "netboot");
    std::fs::write(d.join("request.toml"), &request).unwrap();
    let img = std::fs::File::create(d.join("btrfs.img")).unwrap();
    img.set_len(256 << 20).unwrap();
    drop(img);
    let mkfs = Command::new("mkfs.btrfs").args(["-q", "-f"]).arg(d.join("btrfs.img")).output().unwrap();
    assert!(mkfs.status.success(), "mkfs.btrfs: {}", String::from_utf8_lossy(&mkfs.stderr));
    std::fs::create_dir(d.join("btrfs")).unwrap();
    std::fs::create_dir(d.join("tmpfs")).unwrap();
    let script = r#"set -eu
        mount -o loop btrfs.img btrfs
        mount -t tmpfs tmpfs tmpfs
        cp initrd btrfs/initrd
        cp initrd tmpfs/initrd
        "$BIN" customize initrd btrfs/initrd -o btrfs/initrd.custom -r request.toml
        filefrag -v btrfs/initrd.custom >filefrag.txt
        cp btrfs/initrd.custom reflinked
        "$BIN" customize initrd tmpfs/initrd -o across -r request.toml --sync"#;
    let run = Command::new("unshare").args(["-m", "sh", "-c", script]).env("BIN", BIN).current_dir(d).output().unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));

    let req = Request::parse(&request, RequestFormat::Toml).unwrap().validate().unwrap();
    let want = [initrd.clone(), overlay::render(&req).files[0].contents.clone()].concat();
    for name in ["reflinked", "across"] {
        let got = std::fs::read(d.join(name)).unwrap();
        assert!(
            got == want,
            "{name}: not the input followed by the overlay ({} bytes, want {})",
            got.len(),
            want.len()
        );
    }
    // filefrag -v: "   1:        1..    4882:      15617..     20498:   4882:       3329: last,shared,eof".
    let report = std::fs::read_to_string(d.join("filefrag.txt")).unwrap();
    let block: u64 = report
        .split("blocks of ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no block size in filefrag's report:\n{report}"));
    let shared_blocks: u64 = report
        .lines()
        .filter(|l| l.trim_start().split(':').next().is_some_and(|n| n.parse::<u32>().is_ok()))
        .filter(|l| l.rsplit(':').next().is_some_and(|flags| flags.split(',').any(|f| f.trim() == "shared")))
        .map(|l| l.split(':').nth(3).and_then(|len| len.trim().parse::<u64>().ok()).expect("an extent's length"))
        .sum();
    let whole_input_blocks = initrd.len() as u64 / block;
    assert!(
        shared_blocks >= whole_input_blocks,
        "{shared_blocks} blocks shared with the input, want its {whole_input_blocks} whole blocks:\n{report}"
    );
}

/// `customize` waits for the disk only when asked: `--sync` syncs the output before the rename and its directory
/// after; without it, neither is synced (as after `cp`). Seen in the system calls, with strace, for both kinds.
#[test]
fn customize_syncs_the_output_only_with_sync() {
    if !Prerequisites::new().tool("strace").tool("tar").met() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut initrd = b"070701".to_vec();
    initrd.extend(random(8, 3 << 20));
    std::fs::write(d.join("initrd"), &initrd).unwrap();
    std::fs::write(d.join("netboot.toml"), REQUEST.replace("kexec", "netboot")).unwrap();
    std::fs::write(d.join("kexec.toml"), REQUEST).unwrap();
    let tarball = release_tarball(&Release::new(9, 200_000, 50_000, 3), Gz::TarZ, d);
    let tarball = tarball.to_str().unwrap();
    let syncs = |args: &[&str]| -> Vec<String> {
        let out = Command::new("strace")
            .args(["-f", "-qq", "-e", "trace=fsync,fdatasync,sync_file_range,syncfs,sync", "-o", "trace.txt"])
            .args([BIN, "customize"])
            .args(args)
            .current_dir(d)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        std::fs::read_to_string(d.join("trace.txt")).unwrap().lines().map(str::to_string).collect()
    };
    for args in [
        ["initrd", "initrd", "-o", "initrd.custom", "-r", "netboot.toml"],
        ["kexec-tarball", tarball, "-o", "custom.tar.gz", "-r", "kexec.toml"],
    ] {
        let unsynced = syncs(&args);
        assert!(unsynced.is_empty(), "{args:?} synced without --sync: {unsynced:?}");
        let synced = syncs(&[&args[..], &["--sync"]].concat());
        assert_eq!(synced.len(), 2, "{args:?} --sync: want the file's fsync and the directory's: {synced:?}");
        assert!(synced.iter().all(|l| l.contains("fsync(") && l.ends_with("= 0")), "{args:?} --sync: {synced:?}");
    }
    assert_eq!(std::fs::read(d.join("initrd.custom")).unwrap()[..initrd.len()], initrd[..]);
}
