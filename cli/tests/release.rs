//! `nixos-images-gen release` on fixture directories laid out like the flake's build outputs (a kexec output
//! holding `nixos-kexec-installer[-noninteractive]-<system>.tar.gz`; a netboot output with the kernel, `initrd` and
//! the image's own `netboot.ipxe`, both scripts rendered by the CLI as the Nix modules render them).
//!
//! Checked: the asset names, `manifest.json` (parsed back by core, sizes and digests of the written files, the
//! netboot init path and parameters), `SHA256SUMS` with `sha256sum -c`, the absolute URLs of
//! `netboot-<arch>.ipxe`, that a released tarball customizes (its `kexec/run` serves as `kexec/run.release`), and
//! the minisign signatures with the minisign crate and Debian's `minisign` tool. `examples/manifests/*.json` are
//! this test's output (`UPDATE_EXAMPLES=1` rewrites them).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use nixos_images_core::manifest::{AssetKind, Manifest};
use nixos_images_core::release::ReleaseBoot;
use nixos_images_core::{Arch, ArtifactFile};
use sha2::{Digest, Sha256};

const GEN: &str = env!("CARGO_BIN_EXE_nixos-images-gen");
const REVISION: &str = "5e2a59a5b1a82f89f2c7e598302a9cacebb72a67";
const DATE: &str = "2026-11-22";

fn init(channel: &str, arch: Arch) -> String {
    let version = if channel == "nixos-unstable" { "27.05pre-git" } else { "26.11" };
    let hash = if arch == Arch::X86_64Linux { "a" } else { "b" }.repeat(32);
    format!("/nix/store/{hash}-nixos-system-nixos-installer-{version}/init")
}

fn params(arch: Arch) -> Vec<String> {
    let serial = if arch == Arch::X86_64Linux { "console=ttyS0,115200n8" } else { "console=ttyAMA0,115200n8" };
    ["zswap.enabled=1", "zswap.max_pool_percent=50", "zswap.compressor=zstd", serial, "console=tty0"]
        .map(String::from)
        .to_vec()
}

fn gen(args: &[&str]) -> Output {
    Command::new(GEN).args(args).output().unwrap()
}

fn gen_ok(args: &[&str]) -> String {
    let out = gen(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// `render <kind> --release-init ...` as the modules call it.
fn image_script(kind: &str, image: &str, arch: Arch, channel: &str) -> String {
    let init = init(channel, arch);
    let mut args = vec!["render", kind, "--image", image, "--arch", arch.as_str(), "--channel", channel];
    args.extend(["--release-init", &init]);
    let params: Vec<String> = params(arch).iter().map(|p| format!("--release-kernel-param={p}")).collect();
    args.extend(params.iter().map(String::as_str));
    gen_ok(&args)
}

/// The build outputs of one channel for both arches, as `nix build` would leave them.
fn fixture_outputs(dir: &Path, channel: &str) -> Vec<PathBuf> {
    let mut outputs = Vec::new();
    for arch in [Arch::X86_64Linux, Arch::Aarch64Linux] {
        let a = arch.as_str();
        let kernel = format!("fixture kernel {a}\n").repeat(64).into_bytes();
        let initrd = format!("fixture initrd {a} {channel}\n").repeat(256).into_bytes();
        for (suffix, name) in
            [("", "nixos-kexec-installer"), ("-noninteractive", "nixos-kexec-installer-noninteractive")]
        {
            let out = dir.join(format!("{a}/kexec-installer-{channel}{suffix}"));
            fs::create_dir_all(&out).unwrap();
            let file = |path: &str, mode, contents: Vec<u8>| ArtifactFile { path: path.into(), mode, contents };
            let files = [
                file("run", 0o755, image_script("kexec-run", "kexec", arch, channel).into_bytes()),
                file("bzImage", 0o644, kernel.clone()),
                // The noninteractive image is the smaller one.
                file(
                    "initrd",
                    0o644,
                    if suffix.is_empty() { initrd.clone() } else { initrd[..initrd.len() / 2].to_vec() },
                ),
                file("kexec", 0o755, b"fixture kexec\n".to_vec()),
                file("ip", 0o755, b"fixture ip\n".to_vec()),
                file("nixos-images-agent", 0o755, b"fixture agent\n".to_vec()),
            ];
            fs::write(out.join(format!("{name}-{a}.tar.gz")), nixos_images_core::tarball::tar_gz("kexec", &files))
                .unwrap();
            outputs.push(out);
        }
        let out = dir.join(format!("{a}/netboot-{channel}"));
        fs::create_dir_all(&out).unwrap();
        fs::write(out.join(nixos_images_core::release::kernel_file(arch)), &kernel).unwrap();
        fs::write(out.join("initrd"), &initrd).unwrap();
        fs::write(out.join("netboot.ipxe"), image_script("ipxe", "netboot", arch, channel)).unwrap();
        outputs.push(out);
    }
    outputs
}

fn release(dir: &Path, channel: &str, extra: &[&str], env: &[(&str, &str)]) -> (PathBuf, Output) {
    let outputs = fixture_outputs(&dir.join("outputs"), channel);
    let assets = dir.join("assets");
    let mut cmd = Command::new(GEN);
    cmd.args(["release", "--channel", channel, "--nixpkgs-revision", REVISION, "--date", DATE, "-o"])
        .arg(&assets)
        .args(extra)
        .args(&outputs)
        .env_remove("NIXOS_IMAGES_MINISIGN_KEY")
        .env_remove("NIXOS_IMAGES_MINISIGN_PASSWORD");
    for (k, v) in env {
        cmd.env(k, v);
    }
    (assets, cmd.output().unwrap())
}

fn sha256(path: &Path) -> String {
    Sha256::digest(fs::read(path).unwrap()).iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn release_assets_manifest_and_checksums() {
    for channel in ["nixos-unstable", "nixos-26.11"] {
        let dir = tempfile::tempdir().unwrap();
        let (assets, out) = release(dir.path(), channel, &[], &[]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

        let mut names: Vec<String> =
            fs::read_dir(&assets).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        names.sort();
        let mut expected = vec!["SHA256SUMS".to_string(), "manifest.json".to_string()];
        for arch in [Arch::X86_64Linux, Arch::Aarch64Linux] {
            expected.extend(AssetKind::ALL.iter().map(|k| k.file_name(arch)));
        }
        expected.sort();
        assert_eq!(names, expected);

        let json = fs::read_to_string(assets.join("manifest.json")).unwrap();
        let manifest = Manifest::parse(&json).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!((manifest.tag.as_str(), manifest.channel.as_str()), (channel, channel));
        assert_eq!((manifest.date.as_str(), manifest.nixpkgs_revision.as_str()), (DATE, REVISION));
        assert_eq!(manifest.assets.len(), 10);
        for a in &manifest.assets {
            let path = assets.join(&a.name);
            assert_eq!(fs::metadata(&path).unwrap().len(), a.size, "{}", a.name);
            assert_eq!(sha256(&path), a.sha256, "{}", a.name);
        }
        for arch in [Arch::X86_64Linux, Arch::Aarch64Linux] {
            let ipxe = manifest.asset(AssetKind::NetbootIpxe, arch).unwrap();
            let boot = ipxe.netboot.as_ref().unwrap();
            assert_eq!((boot.init.clone(), boot.kernel_params.clone()), (init(channel, arch), params(arch)));
            let text = fs::read_to_string(assets.join(&ipxe.name)).unwrap();
            let kernel = manifest.url(&manifest.asset(AssetKind::NetbootKernel, arch).unwrap().name);
            let initrd = manifest.url(&manifest.asset(AssetKind::NetbootInitrd, arch).unwrap().name);
            assert!(kernel.starts_with("https://github.com/nix-community/nixos-images/releases/download/"));
            assert!(text.contains(&format!("\nkernel {kernel} init={} initrd=initrd-{}", boot.init, arch.as_str())));
            assert!(text.contains(&format!("\ninitrd {initrd}\nboot\n")) && text.contains(" ${cmdline}\n"), "{text}");
            assert_eq!(
                ReleaseBoot::from_netboot_ipxe(&text),
                Some(ReleaseBoot::new(&boot.init, &boot.kernel_params).unwrap())
            );
        }
        let check = Command::new("sha256sum").args(["--check", "--strict", "SHA256SUMS"]).current_dir(&assets).output();
        let check = check.unwrap();
        assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stdout));
        assert_eq!(String::from_utf8_lossy(&check.stdout).lines().count(), 11);

        // A released tarball customizes: its run script (init built in) is kept as kexec/run.release.
        let customized = dir.path().join("customized.tar.gz");
        let tarball = assets.join("nixos-kexec-installer-x86_64-linux.tar.gz");
        gen_ok(&[
            "customize",
            "kexec-tarball",
            tarball.to_str().unwrap(),
            "-o",
            customized.to_str().unwrap(),
            "--image",
            "kexec",
            "--arch",
            "x86_64-linux",
            "--channel",
            channel,
            "--hostname",
            "web1",
        ]);

        let example = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../examples/manifests/{channel}.json"));
        if std::env::var_os("UPDATE_EXAMPLES").is_some() {
            fs::create_dir_all(example.parent().unwrap()).unwrap();
            fs::write(&example, &json).unwrap();
        }
        let kept = fs::read_to_string(&example).unwrap_or_default();
        assert!(kept == json, "{} is not this test's output; rerun with UPDATE_EXAMPLES=1", example.display());
    }
}

#[test]
fn signatures_verify_with_the_crate_and_the_minisign_tool() {
    let dir = tempfile::tempdir().unwrap();
    let keys = minisign::KeyPair::generate_encrypted_keypair(Some("correct horse".into())).unwrap();
    let sk = keys.sk.to_box(None).unwrap().into_string();
    let pk_file = dir.path().join("key.pub");
    fs::write(&pk_file, keys.pk.to_box().unwrap().into_string()).unwrap();

    // Without the password an encrypted key is refused before anything is written.
    let (assets, out) = release(dir.path(), "nixos-unstable", &[], &[("NIXOS_IMAGES_MINISIGN_KEY", &sk)]);
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!assets.exists());

    let (assets, out) = release(
        dir.path(),
        "nixos-unstable",
        &[],
        &[("NIXOS_IMAGES_MINISIGN_KEY", &sk), ("NIXOS_IMAGES_MINISIGN_PASSWORD", "correct horse")],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for name in ["manifest.json", "SHA256SUMS"] {
        let data = fs::read(assets.join(name)).unwrap();
        let sig = minisign::SignatureBox::from_file(assets.join(format!("{name}.minisig"))).unwrap();
        minisign::verify(&keys.pk, &sig, std::io::Cursor::new(&data), true, false, false).unwrap();
        let mut tampered = data.clone();
        tampered[0] ^= 1;
        assert!(minisign::verify(&keys.pk, &sig, std::io::Cursor::new(&tampered), true, false, false).is_err());
        assert_eq!(sig.trusted_comment().unwrap(), format!("nixos-images nixos-unstable {DATE} {name}"));

        let tool = Command::new("minisign")
            .args(["-V", "-q", "-p"])
            .arg(&pk_file)
            .arg("-m")
            .arg(assets.join(name))
            .output()
            .expect("minisign (Debian: apt-get install minisign) verifies the signatures");
        assert!(tool.status.success(), "{}", String::from_utf8_lossy(&tool.stderr));
    }

    // An unencrypted key from a file.
    let plain = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    let key_file = dir.path().join("plain.key");
    fs::write(&key_file, plain.sk.to_box(None).unwrap().into_string()).unwrap();
    let dir2 = tempfile::tempdir().unwrap();
    let (assets, out) = release(dir2.path(), "nixos-unstable", &["--sign-key", key_file.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let sig = minisign::SignatureBox::from_file(assets.join("SHA256SUMS.minisig")).unwrap();
    let data = fs::read(assets.join("SHA256SUMS")).unwrap();
    minisign::verify(&plain.pk, &sig, std::io::Cursor::new(&data), true, false, false).unwrap();
}

#[test]
fn bad_inputs_are_usage_errors_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let outputs = fixture_outputs(&dir.path().join("outputs"), "nixos-unstable");
    let assets = dir.path().join("assets");
    let run = |args: &[&str], inputs: &[&Path]| {
        let mut cmd = Command::new(GEN);
        cmd.arg("release").args(args).arg("-o").arg(&assets).args(inputs).env_remove("NIXOS_IMAGES_MINISIGN_KEY");
        cmd.output().unwrap()
    };
    let ok_flags = ["--channel", "nixos-unstable", "--nixpkgs-revision", REVISION, "--date", DATE];
    let cases: Vec<(Vec<&str>, Vec<&Path>, &str)> = vec![
        (
            vec!["--channel", "nixos-unstable", "--nixpkgs-revision", "abc", "--date", "2026-13-01"],
            vec![&outputs[0]],
            "error: --date: ",
        ),
        (
            vec!["--channel", "nixos-unstable", "--nixpkgs-revision", "abc"],
            vec![&outputs[0]],
            "error: --nixpkgs-revision: ",
        ),
        (ok_flags.to_vec(), vec![&outputs[0], &outputs[0]], "pass each image once"),
        (ok_flags.to_vec(), vec![dir.path()], "is neither a kexec installer output"),
    ];
    for (args, inputs, message) in cases {
        let out = run(&args, &inputs);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!assets.exists() || fs::read_dir(&assets).unwrap().next().is_none(), "{args:?}: nothing written");
    }
}
