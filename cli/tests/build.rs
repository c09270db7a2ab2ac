//! `nixos-images-gen build` against the real Debian `nix` and a local fixture flake (`fixtures/build-flake`: the
//! project flake's `lib.image` interface and package names, made of plain `builtins.derivation`s).
//!
//! Nix never reaches the network or the host's store: `NIX_CONFIG` empties the substituters, the build-users group
//! and the flake registry (and turns the sandbox and extra platforms off), the store is a `local?store=...` store in
//! a temporary directory (passed after `--`, as a user would pass nix flags), and nix's state, cache and home are in
//! that directory too. A missing `nix` fails the tests, except the one that removes it from PATH on purpose.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The common configuration plus what building the fixture flake needs: no sandbox (Debian's nix runs without
/// one here), no extra platforms, no dirty-tree warnings.
const NIX_CONFIG: &str =
    "substituters =\nbuild-users-group =\nflake-registry =\nsandbox = false\nextra-platforms =\nwarn-dirty = false\n";

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/build-flake")
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let which = Command::new("sh").args(["-c", "command -v nix"]).output().unwrap();
        assert!(
            which.status.success(),
            "nix was not found on PATH: these tests build a fixture flake with the real nix (Debian: apt-get install \
             nix-bin)"
        );
        Env { dir }
    }

    fn store_arg(&self) -> String {
        let d = self.dir.path().join("store");
        format!("local?store={0}/nix/store&state={0}/state&log={0}/log", d.display())
    }

    /// `nixos-images-gen build ARGS -- --store PRIVATE`, with nix's state in the temporary directory.
    fn build(&self, args: &[&str], path: Option<&str>) -> Output {
        let d = self.dir.path();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_nixos-images-gen"));
        cmd.arg("build")
            .args(args)
            .args(["--flake", fixture().to_str().unwrap()])
            .args(["--", "--store", &self.store_arg()])
            .current_dir(d);
        test_support::nix::private_nix(&mut cmd, d).env("NIX_CONFIG", NIX_CONFIG);
        if let Some(p) = path {
            cmd.env("PATH", p);
        }
        cmd.output().unwrap()
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn builds_the_request_image_with_its_override_and_links_the_result() {
    let env = Env::new();
    let out = env.build(
        &[
            "--image",
            "kexec-noninteractive",
            "--arch",
            "x86_64-linux",
            "--channel",
            "nixos-26.11",
            "--hostname",
            "web1",
            "-o",
            "result",
        ],
        None,
    );
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // nix's build log is streamed through.
    assert!(
        stderr.contains("fixture: building kexec-installer-nixos-stable-noninteractive for x86_64-linux"),
        "{stderr}"
    );
    let result = env.dir.path().join("result");
    let target = std::fs::read_link(&result).unwrap();
    assert!(target.starts_with(env.dir.path().join("store/nix/store")), "{target:?} is in the private store");
    assert_eq!(
        std::fs::read_to_string(result.join("image")).unwrap(),
        "kexec-installer-nixos-stable-noninteractive x86_64-linux\n"
    );
    // The request's override reached the image's modules.
    let modules = std::fs::read_to_string(result.join("modules")).unwrap();
    assert!(modules.contains("networking.hostName = lib.mkForce \"web1\";"), "{modules}");
}

#[test]
fn copy_writes_a_plain_writable_tree() {
    let env = Env::new();
    let out = env.build(
        &["--image", "netboot", "--arch", "x86_64-linux", "--channel", "nixos-unstable", "--copy", "-o", "copied"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let copied = env.dir.path().join("copied");
    assert!(!std::fs::symlink_metadata(&copied).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(copied.join("image")).unwrap(), "netboot-nixos-unstable x86_64-linux\n");
    use std::os::unix::fs::PermissionsExt;
    assert_ne!(std::fs::metadata(copied.join("image")).unwrap().permissions().mode() & 0o200, 0);
    // A second copy to the same place is refused before anything is built.
    let again = env.build(
        &["--image", "netboot", "--arch", "x86_64-linux", "--channel", "nixos-unstable", "--copy", "-o", "copied"],
        None,
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("error: --output: copied already exists"), "{}", text(&again.stderr));
}

#[test]
fn a_failing_build_streams_its_log_and_is_explained() {
    let env = Env::new();
    let out = env.build(
        &[
            "--image",
            "kexec",
            "--arch",
            "x86_64-linux",
            "--channel",
            "nixos-unstable",
            "--image-attr",
            "broken",
            "-o",
            "result",
        ],
        None,
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("fixture: failing on purpose"), "{stderr}");
    assert!(stderr.contains("error: nix build exited with code 1: a derivation failed to build"), "{stderr}");
    assert!(!env.dir.path().join("result").exists());
}

#[test]
fn another_system_without_a_builder_names_builders() {
    let env = Env::new();
    let out = env
        .build(&["--image", "kexec", "--arch", "aarch64-linux", "--channel", "nixos-unstable", "-o", "result"], None);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("note: building a aarch64-linux image on "), "{stderr}");
    assert!(stderr.contains("--builders 'ssh://HOST aarch64-linux'"), "{stderr}");
}

#[test]
fn missing_nix_is_explained_and_dry_run_needs_no_nix() {
    let env = Env::new();
    let empty = env.dir.path().join("empty-path");
    std::fs::create_dir(&empty).unwrap();
    let out = env.build(
        &["--image", "kexec", "--arch", "x86_64-linux", "--channel", "nixos-unstable"],
        Some(empty.to_str().unwrap()),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: nix was not found on PATH"), "{stderr}");

    let out = env.build(
        &[
            "--dry-run",
            "--image",
            "kexec",
            "--arch",
            "x86_64-linux",
            "--channel",
            "nixos-unstable",
            "--ssh-key",
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJc8dPZMT4nOt7KCWcXuD/SnwMbZVnS0zy/73ZA8lGTg a@b",
        ],
        Some(empty.to_str().unwrap()),
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        stdout
            .contains(&format!("inputs.nixos-images.url = \"path:{}\";", fixture().canonicalize().unwrap().display())),
        "{stdout}"
    );
    assert!(stdout.contains("name = \"kexec-installer-nixos-unstable\";"), "{stdout}");
    assert!(stdout.contains("users.users.root.openssh.authorizedKeys.keys = ["), "{stdout}");
    assert!(stdout.contains("\nnix --extra-experimental-features 'nix-command flakes' build path:"), "{stdout}");
    assert!(stdout.contains("#packages.x86_64-linux.default --print-build-logs --out-link "), "{stdout}");
}

#[test]
fn a_channel_the_flake_does_not_build_is_a_usage_error() {
    let env = Env::new();
    let out = env.build(&["--image", "kexec", "--arch", "x86_64-linux", "--channel", "nixos-24.05"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("error: channel: the flake builds nixos-unstable and nixos-26.11"));
}
