//! `fleet render|check|diff` through the real CLI: the tree on disk is core's, replaced whole on a second render;
//! a table of bad inventories each exits 2, names its path, and writes nothing (no tree, no temporary leftovers).

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use nixos_images_core::fleet::tree;
use test_support::examples;

const GEN: &str = env!("CARGO_BIN_EXE_nixos-images-gen");
const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJc8dPZMT4nOt7KCWcXuD/SnwMbZVnS0zy/73ZA8lGTg ops@team";

fn gen(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(GEN).args(args).output().expect("running nixos-images-gen")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `fleet render -i INVENTORY -o OUT [--base-url URL]`, which must succeed.
fn render(inventory: &Path, out: &Path, base_url: Option<&str>) {
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["fleet".as_ref(), "render".as_ref(), "-i".as_ref(), inventory.as_os_str(), "-o".as_ref(), out.as_os_str()];
    if let Some(url) = base_url {
        args.extend(["--base-url".as_ref(), std::ffi::OsStr::new(url)]);
    }
    let run = gen(&args);
    assert!(run.status.success(), "{}", text(&run.stderr));
}

/// Every file below `dir`, relative, sorted.
fn tree_files(dir: &Path) -> Vec<(String, Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                assert_eq!(fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o755, "{}", p.display());
                stack.push(p);
            } else {
                let rel = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
                let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
                out.push((rel, fs::read(&p).unwrap(), mode));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn render_writes_cores_tree_and_replaces_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tree");
    let rack = examples::path("fleet/rack.toml");
    render(&rack, &out, None);
    let (_, valid) = examples::inventory("rack.toml");
    let mut want: Vec<(String, Vec<u8>, u32)> =
        tree::render(&valid, None).into_iter().map(|f| (f.path, f.contents, f.mode)).collect();
    want.sort();
    assert_eq!(tree_files(&out), want);
    assert_eq!(
        fs::metadata(&out).map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777).unwrap(),
        0o755
    );

    // Rendered again with a base URL: the whole tree is the new one (no file of the old one left), and nothing
    // else is left beside it.
    fs::write(out.join("stale.txt"), "from an older tree").unwrap();
    render(&rack, &out, Some("http://127.0.0.1:8080/fleet"));
    let base = "http://127.0.0.1:8080/fleet".parse().unwrap();
    let mut want: Vec<(String, Vec<u8>, u32)> =
        tree::render(&valid, Some(&base)).into_iter().map(|f| (f.path, f.contents, f.mode)).collect();
    want.sort();
    assert_eq!(tree_files(&out), want);
    let beside: Vec<String> =
        fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(beside, ["tree"]);
}

/// An inventory that must be refused: its text and the path the error must name.
fn bad_inventories() -> Vec<(&'static str, String, &'static str)> {
    let host = |body: &str| format!("[[hosts]]\nname = \"web1\"\nmacs = [\"52:54:00:00:00:01\"]\n{body}");
    vec![
        ("TOML syntax error", "[[hosts]\n".into(), "request"),
        ("unknown key", "[defaults]\nhostname = \"x\"\n".into(), "defaults.hostname"),
        ("kexec defaults", format!("[defaults]\nimage = \"kexec\"\n{}", host("")), "defaults.image"),
        ("bad default key", format!("[defaults]\nssh_authorized_keys = [\"ssh-ed25519 AAAA!\"]\n{}", host("")), "defaults.ssh_authorized_keys[0]"),
        ("host without a MAC", "[[hosts]]\nname = \"web1\"\n".into(), "hosts[0].macs"),
        ("host without a name", "[[hosts]]\nmacs = [\"52:54:00:00:00:01\"]\n".into(), "hosts[0].name"),
        ("bad MAC", "[[hosts]]\nname = \"a\"\nmacs = [\"52:54:00:00:00\"]\n".into(), "hosts[0].macs[0]"),
        ("duplicate MAC", format!("{}{}", host(""), "[[hosts]]\nname = \"web2\"\nmacs = [\"52:54:00:00:00:01\"]\n"), "hosts[1].macs[0]"),
        ("duplicate name", format!("{}{}", host(""), "[[hosts]]\nname = \"web1\"\nmacs = [\"52:54:00:00:00:02\"]\n"), "hosts[1].name"),
        (
            "duplicate static address",
            format!(
                "{}{}",
                host("[[hosts.interfaces]]\nmatch_mac = \"52:54:00:00:00:01\"\ndhcp = false\naddresses = [\"192.0.2.5/24\"]\n"),
                "[[hosts]]\nname = \"web2\"\nmacs = [\"52:54:00:00:00:02\"]\n[[hosts.interfaces]]\nmatch_mac = \"52:54:00:00:00:02\"\ndhcp = false\naddresses = [\"192.0.2.5/24\"]\n"
            ),
            "hosts[1].interfaces[0].addresses[0]",
        ),
        ("key the defaults have", format!("[defaults]\nssh_authorized_keys = [\"{KEY}\"]\n{}", host(&format!("ssh_authorized_keys = [\"{KEY}\"]\n"))), "hosts[0].ssh_authorized_keys[0]"),
        ("host kernel parameter", host("kernel_params = [\"init=/bin/sh\"]\n"), "hosts[0].kernel_params[0]"),
        ("IPv6-only static netboot", host("[[hosts.interfaces]]\nmatch_mac = \"52:54:00:00:00:01\"\ndhcp = false\naddresses = [\"2001:db8::5/64\"]\n"), "hosts[0].interfaces[0]"),
    ]
}

#[test]
fn bad_inventories_exit_2_name_the_path_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for (what, toml, path) in bad_inventories() {
        let file = dir.path().join("inventory.toml");
        fs::write(&file, &toml).unwrap();
        let out = dir.path().join("tree");
        for args in [vec!["render", "-o", out.to_str().unwrap()], vec!["check"]] {
            let mut all: Vec<&std::ffi::OsStr> =
                vec!["fleet".as_ref(), args[0].as_ref(), "-i".as_ref(), file.as_os_str()];
            all.extend(args[1..].iter().map(|a| std::ffi::OsStr::new(*a)));
            let run = gen(&all);
            let stderr = text(&run.stderr);
            assert_eq!(run.status.code(), Some(2), "{what} ({}): {stderr}", args[0]);
            let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error: ")).collect();
            assert!(
                errors.iter().any(|l| l.starts_with(&format!("error: {path}"))),
                "{what}: wanted {path}:\n{stderr}"
            );
            assert!(run.stdout.is_empty(), "{what}: {}", text(&run.stdout));
        }
        let left: Vec<String> =
            fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(left, ["inventory.toml"], "{what}: something was written");
    }
}

#[test]
fn diff_exits_1_when_hosts_change_and_check_summarizes() {
    let dir = tempfile::tempdir().unwrap();
    let rack = examples::text("fleet/rack.toml");
    let old = dir.path().join("old.toml");
    let new = dir.path().join("new.toml");
    fs::write(&old, &rack).unwrap();
    fs::write(&new, rack.replace("192.0.2.12/24", "192.0.2.22/24")).unwrap();
    let same = gen(&["fleet".as_ref(), "diff".as_ref(), old.as_os_str(), old.as_os_str()]);
    assert_eq!((same.status.code(), text(&same.stdout)), (Some(0), String::new()));
    let changed = gen(&["fleet".as_ref(), "diff".as_ref(), old.as_os_str(), new.as_os_str()]);
    assert_eq!(changed.status.code(), Some(1), "{}", text(&changed.stderr));
    assert_eq!(text(&changed.stdout), "changed web2 (netboot.ipxe, nixos-images-overlay.cpio.gz)\n");
    fs::write(&new, "[[hosts]]\nname = \"x\"\n").unwrap();
    let bad = gen(&["fleet".as_ref(), "diff".as_ref(), old.as_os_str(), new.as_os_str()]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("new.toml: hosts[0].macs: a host needs a MAC"), "{}", text(&bad.stderr));
}

#[test]
fn dnsmasq_takes_the_fleets_configuration_in_both_modes() {
    use test_support::prerequisites::Prerequisites;
    if !Prerequisites::new().tool("dnsmasq").met() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tree");
    let rack = examples::path("fleet/rack.toml");
    render(&rack, &out, Some("http://192.0.2.1/fleet"));
    let conf = fs::read_to_string(out.join("dnsmasq.conf")).unwrap();
    assert!(conf.contains("dhcp-boot=tag:ipxe,http://192.0.2.1/fleet/boot.ipxe\n"), "{conf}");
    // As written (dnsmasq the network's DHCP server), and with the proxy lines uncommented.
    let proxy = conf.replace("\n#dhcp-range", "\ndhcp-range").replace("\n#pxe-service", "\npxe-service");
    assert_ne!(proxy, conf);
    for (mode, contents) in [("DHCP server", conf), ("proxy DHCP", proxy)] {
        let file = dir.path().join("dnsmasq.conf");
        fs::write(&file, contents).unwrap();
        let check =
            Command::new("dnsmasq").arg("--test").arg(format!("--conf-file={}", file.display())).output().unwrap();
        let said = format!("{}{}", text(&check.stdout), text(&check.stderr));
        assert!(check.status.success() && said.contains("syntax check OK"), "{mode}: {said}");
    }
}
