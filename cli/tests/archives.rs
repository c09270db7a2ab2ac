//! The overlay and the bundle unpack with the real tools: GNU cpio and busybox cpio for the overlay, GNU tar and
//! busybox tar for the bundle, with the modes the layout promises.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use nixos_images_core::render::{bundle, overlay};
use nixos_images_core::ValidRequest;
use test_support::examples;
use test_support::prerequisites::Prerequisites;

fn example(name: &str) -> ValidRequest {
    examples::valid(&format!("{name}.toml"))
}

fn run_with_stdin(dir: &Path, cmd: &str, stdin: &[u8]) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{cmd}: {}", String::from_utf8_lossy(&out.stderr));
}

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

#[test]
fn overlay_unpacks_with_gnu_and_busybox_cpio() {
    if !Prerequisites::new().tool("cpio").tool("busybox").met() {
        return;
    }
    let req = example("static-hetzner");
    let gz = &overlay::render(&req).files[0].contents;
    for tool in ["cpio", "busybox cpio"] {
        let dir = tempfile::tempdir().unwrap();
        // --no-preserve-owner is GNU's; busybox cpio keeps root ownership anyway when run as root.
        let extract =
            if tool == "cpio" { "gzip -dc | cpio -idm --no-preserve-owner" } else { "gzip -dc | busybox cpio -idm" };
        run_with_stdin(dir.path(), extract, gz);
        for f in overlay::files(&req) {
            let path = dir.path().join(&f.path);
            assert_eq!(std::fs::read(&path).unwrap(), f.contents, "{tool}: {}", f.path);
            assert_eq!(mode(&path), f.mode, "{tool}: mode of {}", f.path);
        }
        assert_eq!(mode(&dir.path().join("ssh")), 0o700, "{tool}: ssh/");
        assert_eq!(mode(&dir.path().join("ssh/authorized_keys")), 0o600, "{tool}: keys");
        assert_eq!(mode(&dir.path().join("nixos-images/networkd")), 0o700, "{tool}: networkd/");
    }
}

#[test]
fn bundle_unpacks_with_gnu_and_busybox_tar() {
    if !Prerequisites::new().tool("tar").tool("busybox").met() {
        return;
    }
    for name in ["static-hetzner", "netboot-static"] {
        let req = example(name);
        let tgz = &bundle::render(&req).files[0].contents;
        for tool in ["tar -xzf -", "busybox tar -xzf -"] {
            let dir = tempfile::tempdir().unwrap();
            run_with_stdin(dir.path(), tool, tgz);
            let top = dir.path().join(bundle::top_dir(&req));
            assert!(top.join("README.md").is_file(), "{tool}: README.md");
            for (f, _) in bundle::files(&req) {
                let path = top.join(&f.path);
                assert_eq!(std::fs::read(&path).unwrap(), f.contents, "{tool}: {}", f.path);
                assert_eq!(mode(&path), f.mode, "{tool}: mode of {}", f.path);
            }
        }
    }
}

#[test]
fn bundle_is_reproducible_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/many-keys.toml");
    let mut outputs = Vec::new();
    for name in ["a.tar.gz", "b.tar.gz"] {
        let out = dir.path().join(name);
        let status = Command::new(env!("CARGO_BIN_EXE_nixos-images-gen"))
            .args(["bundle", "--request"])
            .arg(&example)
            .arg("-o")
            .arg(&out)
            .status()
            .unwrap();
        assert!(status.success());
        outputs.push(std::fs::read(&out).unwrap());
    }
    assert_eq!(outputs[0], outputs[1]);
    // Nothing else (no temporary file) is left next to the outputs.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}
