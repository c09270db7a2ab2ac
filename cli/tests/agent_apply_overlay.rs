//! `nixos-images-agent apply-overlay` on temporary directories: an overlay as the run script writes it, installed
//! into a target root (modes, merge, idempotence), unknown layout versions and symbolic links that lead outside.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::Path;
use std::process::{Command, Output};

use nixos_images_core::render::overlay;
use nixos_images_core::{Request, RequestFormat};

const AGENT: &str = env!("CARGO_BIN_EXE_nixos-images-agent");
const MACHINE_ID: &str = "0123456789abcdef0123456789abcdef\n";
const OLD_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJc8dPZMT4nOt7KCWcXuD/SnwMbZVnS0zy/73ZA8lGTg old@target";

fn write(path: &Path, contents: &str, mode: u32) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// The overlay of examples/static-hetzner.toml plus what the run script collects.
fn make_overlay(dir: &Path) {
    let text =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/static-hetzner.toml")).unwrap();
    let req = Request::parse(&text, RequestFormat::Toml).unwrap().validate().unwrap();
    for f in overlay::files(&req) {
        write(&dir.join(&f.path), std::str::from_utf8(&f.contents).unwrap(), f.mode);
    }
    // The target's key comes again from the machine (de-duplicated on merge).
    let keys = fs::read_to_string(dir.join("ssh/authorized_keys")).unwrap();
    write(&dir.join("ssh/authorized_keys"), &format!("{OLD_KEY}\n{keys}"), 0o600);
    write(&dir.join("ssh/ssh_host_ed25519_key"), "private host key\n", 0o600);
    write(&dir.join("ssh/ssh_host_ed25519_key.pub"), "ssh-ed25519 AAAA host\n", 0o644);
    write(&dir.join("machine-id"), MACHINE_ID, 0o444);
    write(&dir.join("addrs.json"), "[]\n", 0o600);
    write(&dir.join("iproute2/addrs.json"), "[{\"ifname\":\"eth0\"}]\n", 0o600);
    write(&dir.join("routes-v4.json"), "[]\n", 0o600);
    write(&dir.join("routes-v6.json"), "[]\n", 0o600);
    write(&dir.join("networkd/iface/00-eth0.network"), "[Match]\nName=eth0\n", 0o600);
}

fn apply(root: &Path, overlay: &Path) -> Output {
    Command::new(AGENT).args(["apply-overlay", "--root"]).arg(root).arg("--overlay-dir").arg(overlay).output().unwrap()
}

/// Every file and directory below `dir`: path -> (mode, contents, mtime).
fn tree(dir: &Path) -> BTreeMap<String, (u32, String, i128)> {
    let mut out = BTreeMap::new();
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, (u32, String, i128)>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let m = fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            let mtime = m.modified().unwrap().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i128;
            let contents = if m.is_file() { fs::read_to_string(&p).unwrap() } else { String::new() };
            out.insert(rel, (m.permissions().mode() & 0o7777, contents, mtime));
            if m.is_dir() {
                walk(base, &p, out);
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

#[test]
fn installs_the_overlay_and_a_second_run_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (ov, root) = (tmp.path().join("overlay"), tmp.path().join("root"));
    make_overlay(&ov);
    write(&root.join("root/.ssh/authorized_keys"), &format!("# existing\n{OLD_KEY}\n"), 0o644);
    fs::set_permissions(root.join("root/.ssh"), fs::Permissions::from_mode(0o755)).unwrap();

    let out = apply(&root, &ov);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.is_empty(), "warnings: {}", String::from_utf8_lossy(&out.stderr));
    let t = tree(&root);
    let get = |p: &str| t.get(p).unwrap_or_else(|| panic!("{p} missing; tree: {:?}", t.keys()));
    assert_eq!(get("root/.ssh").0, 0o700);
    let keys = &get("root/.ssh/authorized_keys");
    assert_eq!(keys.0, 0o600);
    let lines: Vec<&str> = keys.1.lines().collect();
    assert_eq!(&lines[..2], &["# existing", OLD_KEY], "existing lines first:\n{}", keys.1);
    assert_eq!(lines.iter().filter(|l| **l == OLD_KEY).count(), 1, "duplicate key:\n{}", keys.1);
    assert!(lines.len() > 2, "the request's keys are missing:\n{}", keys.1);
    assert_eq!(get("etc/ssh/ssh_host_ed25519_key").0, 0o600);
    assert_eq!(get("etc/ssh/ssh_host_ed25519_key.pub").0, 0o644);
    assert_eq!(get("etc/machine-id"), &(0o444, MACHINE_ID.to_string(), get("etc/machine-id").2));
    assert_eq!(get("etc/hostname").1, "web1\n");
    assert!(get("etc/systemd/resolved.conf.d/nixos-images.conf").1.contains("[Resolve]\nDNS="));
    assert!(get("etc/systemd/network/00-00-nixos-images-000.network").1.contains("[Match]"));
    assert_eq!(get("etc/systemd/network/00-eth0.network").1, "[Match]\nName=eth0\n");
    assert_eq!(get("root/network").0, 0o700);
    // iproute2/ wins over the top level.
    assert_eq!(
        get("root/network/addrs.json"),
        &(0o600, "[{\"ifname\":\"eth0\"}]\n".into(), get("root/network/addrs.json").2)
    );
    assert_eq!(get("root/network/routes-v6.json").1, "[]\n");

    let out = apply(&root, &ov);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("(0 written,"), "{}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(tree(&root), t, "a second run changed the target");
}

#[test]
fn refuses_unknown_layout_versions_before_writing() {
    let tmp = tempfile::tempdir().unwrap();
    let (ov, root) = (tmp.path().join("overlay"), tmp.path().join("root"));
    make_overlay(&ov);
    write(&ov.join("nixos-images/layout-version"), "2\n", 0o644);
    fs::create_dir_all(&root).unwrap();
    let out = apply(&root, &ov);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stderr.starts_with("nixos-images-agent: error: ") && stderr.contains("layout version 2"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(tree(&root).is_empty(), "something was written: {:?}", tree(&root));
}

#[test]
fn symlinks_in_the_target_never_lead_a_write_outside() {
    // Each case plants links in a fresh target; nothing outside may change, and nothing is written at all when a
    // directory on the way is a link.
    let cases: &[(&str, &[(&str, &str)])] = &[
        ("etc is a link to the outside", &[("etc", "OUTSIDE")]),
        ("etc/ssh is a link to the outside", &[("etc/ssh", "OUTSIDE")]),
        ("root/.ssh is a relative link out", &[("root/.ssh", "../../outside")]),
        ("authorized_keys is a link to a secret", &[("root/.ssh/authorized_keys", "OUTSIDE/secret")]),
        ("etc/systemd is a link", &[("etc/systemd", "OUTSIDE")]),
    ];
    for (what, links) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let (ov, root, outside) = (tmp.path().join("overlay"), tmp.path().join("root"), tmp.path().join("outside"));
        make_overlay(&ov);
        write(&outside.join("secret"), "secret\n", 0o600);
        for (from, to) in *links {
            let from = root.join(from);
            fs::create_dir_all(from.parent().unwrap()).unwrap();
            symlink(to.replace("OUTSIDE", &outside.display().to_string()), &from).unwrap();
        }
        let before = tree(&root);
        let outside_before = tree(&outside);
        let out = apply(&root, &ov);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {out:?}");
        assert!(stderr.contains("symbolic link") && stderr.lines().count() == 1, "{what}: {stderr}");
        assert_eq!(tree(&outside), outside_before, "{what}: the outside changed");
        assert_eq!(tree(&root), before, "{what}: the target changed");
    }

    // A link as the file itself (not a directory on the way) is replaced by the file, never followed.
    let tmp = tempfile::tempdir().unwrap();
    let (ov, root, outside) = (tmp.path().join("overlay"), tmp.path().join("root"), tmp.path().join("outside"));
    make_overlay(&ov);
    write(&outside.join("hostname"), "outside\n", 0o644);
    fs::create_dir_all(root.join("etc")).unwrap();
    symlink(outside.join("hostname"), root.join("etc/hostname")).unwrap();
    let out = apply(&root, &ov);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(fs::read_to_string(outside.join("hostname")).unwrap(), "outside\n");
    assert!(fs::symlink_metadata(root.join("etc/hostname")).unwrap().is_file());
    assert_eq!(fs::read_to_string(root.join("etc/hostname")).unwrap(), "web1\n");
}

#[test]
fn odd_names_in_the_overlay_are_skipped_with_a_warning() {
    let tmp = tempfile::tempdir().unwrap();
    let (ov, root) = (tmp.path().join("overlay"), tmp.path().join("root"));
    make_overlay(&ov);
    write(&ov.join("nixos-images/networkd/evil name.network"), "[Match]\n", 0o644);
    write(&ov.join("ssh/ssh_host_x_key-cert.pub"), "cert\n", 0o644);
    write(&ov.join("machine-id"), "uninitialized\n", 0o444);
    fs::create_dir_all(&root).unwrap();
    let out = apply(&root, &ov);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stderr.lines().count(), 3, "{stderr}");
    assert!(stderr.lines().all(|l| l.starts_with("nixos-images-agent: warning: ")), "{stderr}");
    assert!(!root.join("etc/systemd/network/evil name.network").exists());
    assert!(!root.join("etc/machine-id").exists());
}
