//! Golden snapshots of every artifact for every example request (examples/*.toml).
//! Update with `INSTA_UPDATE=always cargo test -p nixos-images-core --test golden` and review the diff.

use std::io::Read;

use nixos_images_core::render::ArtifactKind;
use nixos_images_core::{Request, RequestFormat, ValidRequest};

/// Every example by file stem (the snapshots' names), validated.
fn examples() -> Vec<(String, ValidRequest)> {
    let out: Vec<(String, ValidRequest)> = test_support::examples::all()
        .into_iter()
        .map(|(name, _, valid)| (name.trim_end_matches(".toml").to_string(), valid))
        .collect();
    assert!(out.len() >= 8, "expected at least 8 example requests, found {}", out.len());
    out
}

/// A readable description of a newc cpio: one line per member with mode and size, then text contents.
fn describe_cpio(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut pos = 0;
    loop {
        let header = std::str::from_utf8(&bytes[pos..pos + 110]).expect("ascii header");
        assert_eq!(&header[..6], "070701", "newc magic at {pos}");
        let field = |i: usize| u32::from_str_radix(&header[6 + i * 8..14 + i * 8], 16).expect("hex field") as usize;
        let (mode, nlink, size, name_size) = (field(1), field(4), field(6), field(11));
        let name = std::str::from_utf8(&bytes[pos + 110..pos + 110 + name_size - 1]).expect("utf-8 name");
        pos = (pos + 110 + name_size + 3) & !3;
        let data = &bytes[pos..pos + size];
        pos = (pos + size + 3) & !3;
        if name == "TRAILER!!!" {
            assert_eq!(pos, bytes.len(), "nothing after the trailer");
            break;
        }
        assert_eq!(nlink, 1);
        out.push_str(&format!("{mode:06o} {size:>5} {name}\n"));
        if size > 0 {
            out.push_str(&indent(&String::from_utf8_lossy(data)));
        }
    }
    out
}

fn describe_tar_gz(bytes: &[u8]) -> String {
    let mut out = String::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    for entry in archive.entries().expect("tar entries") {
        let mut entry = entry.expect("tar entry");
        let path = entry.path().expect("path").to_string_lossy().into_owned();
        let header = entry.header();
        let (mode, size, mtime) = (header.mode().unwrap(), header.size().unwrap(), header.mtime().unwrap());
        assert_eq!(mtime, 0, "{path}: reproducible mtime");
        out.push_str(&format!("{mode:04o} {size:>6} {path}\n"));
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        if path.ends_with(".cpio.gz") {
            out.push_str(&indent(&describe_cpio(&gunzip(&data))));
        } else if !data.is_empty() {
            out.push_str(&indent(&String::from_utf8(data).expect("text file in bundle")));
        }
    }
    out
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).expect("gzip");
    out
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    | {l}\n")).collect()
}

#[test]
fn every_artifact_of_every_example() {
    for (name, req) in examples() {
        for kind in ArtifactKind::ALL {
            if !kind.applies_to(req.image()) {
                continue;
            }
            let artifact = kind.render(&req);
            assert_eq!(artifact, kind.render(&req), "{name}/{}: rendering is deterministic", kind.as_str());
            let text = match kind {
                ArtifactKind::Overlay => describe_cpio(&gunzip(&artifact.files[0].contents)),
                ArtifactKind::Bundle => describe_tar_gz(&artifact.files[0].contents),
                _ => artifact
                    .files
                    .iter()
                    .map(|f| {
                        format!("==> {} (mode {:04o}) <==\n{}", f.path, f.mode, String::from_utf8_lossy(&f.contents))
                    })
                    .collect(),
            };
            insta::assert_snapshot!(format!("{name}__{}", kind.as_str()), text);
        }
    }
}

#[test]
fn the_builtin_example_is_valid() {
    let req = Request::parse(nixos_images_core::EXAMPLE_REQUEST, RequestFormat::Toml).unwrap();
    req.validate().unwrap();
}

#[test]
fn toml_round_trip_keeps_the_request() {
    for (name, req, _) in test_support::examples::all() {
        let again = Request::parse(&req.to_toml(), RequestFormat::Toml).unwrap();
        assert_eq!(req, again, "{name}");
        let json = serde_json::to_string(&req).unwrap();
        assert_eq!(req, Request::parse(&json, RequestFormat::Json).unwrap(), "{name} (json)");
    }
}

/// The image's own scripts, as the Nix modules render them at build time (`render kexec-run`/`ipxe`
/// `--release-init`, for this project's installer): the run script with the init path built in, and the release's
/// netboot.ipxe.
#[test]
fn the_images_own_scripts() {
    use nixos_images_core::release::{self, ReleaseBoot};
    use nixos_images_core::render::kexec_run;
    let init = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-nixos-installer-25.11/init";
    let params: Vec<String> = ["zswap.enabled=1", "console=ttyS0,115200n8", "console=tty0"].map(String::from).to_vec();
    let boot = ReleaseBoot::new(init, &params).unwrap();
    let req = Request::parse(
        "image = \"kexec\"\narch = \"x86_64-linux\"\nchannel = \"nixos-25.11\"\n\
             [release]\ninstaller = \"nixos-images\"\n",
        RequestFormat::Toml,
    )
    .unwrap()
    .validate()
    .unwrap();
    insta::assert_snapshot!("image__kexec-run", kexec_run::script_with_release(&req, Some(&boot)));
    let arch = nixos_images_core::Arch::X86_64Linux;
    insta::assert_snapshot!("image__netboot-ipxe", release::netboot_ipxe(arch, &boot, "bzImage", "initrd"));
}
