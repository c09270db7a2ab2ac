//! The release manifest (`manifest.json`), published with every release next to its assets.
//!
//! **API Boundary:** versioned by [`MANIFEST_SCHEMA`]. `nixos-images-gen release` writes it; the docs site and the
//! web generator read it. A reader refuses another schema string; new optional fields keep the version, a change
//! of meaning bumps it.

use serde::{Deserialize, Serialize};

use crate::model::{Arch, Channel, ImageKind};
use crate::validate::{parse_sha256, parse_tag};

/// The schema string of version 1.
pub const MANIFEST_SCHEMA: &str = "nixos-images/manifest/v1";

/// One release: what was built, from which nixpkgs, and every downloadable file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`MANIFEST_SCHEMA`].
    pub schema: String,
    /// The release tag (`nixos-unstable`, `nixos-25.05`).
    pub tag: String,
    /// The NixOS channel the images were built from.
    pub channel: String,
    /// Build date, `YYYY-MM-DD` (UTC).
    pub date: String,
    /// The nixpkgs git revision (40 hex digits).
    pub nixpkgs_revision: String,
    /// Where the assets are downloaded from: `<base_url>/<tag>/<name>`.
    pub base_url: String,
    pub assets: Vec<Asset>,
}

/// One downloadable file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Asset {
    /// File name, as the seed's releases name them (`nixos-kexec-installer-noninteractive-x86_64-linux.tar.gz`).
    pub name: String,
    pub kind: AssetKind,
    /// `x86_64-linux` or `aarch64-linux`.
    pub arch: String,
    pub size: u64,
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// For `netboot-ipxe` assets: how the release's kernel boots (the init path and the release's parameters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netboot: Option<NetbootBoot>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AssetKind {
    Kexec,
    KexecNoninteractive,
    NetbootKernel,
    NetbootInitrd,
    NetbootIpxe,
}

impl AssetKind {
    pub const ALL: [AssetKind; 5] = [
        AssetKind::Kexec,
        AssetKind::KexecNoninteractive,
        AssetKind::NetbootKernel,
        AssetKind::NetbootInitrd,
        AssetKind::NetbootIpxe,
    ];

    /// The kexec tarball an image kind downloads (a netboot request's kexec artifacts name the interactive one).
    pub fn kexec_tarball(image: ImageKind) -> AssetKind {
        match image {
            ImageKind::KexecNoninteractive => AssetKind::KexecNoninteractive,
            ImageKind::Kexec | ImageKind::Netboot => AssetKind::Kexec,
        }
    }

    /// The seed's file name of this asset for an arch: the one home of the release's asset names.
    pub fn file_name(self, arch: Arch) -> String {
        let a = arch.as_str();
        match self {
            AssetKind::Kexec => format!("nixos-kexec-installer-{a}.tar.gz"),
            AssetKind::KexecNoninteractive => format!("nixos-kexec-installer-noninteractive-{a}.tar.gz"),
            AssetKind::NetbootKernel => match arch {
                Arch::X86_64Linux => "bzImage-x86_64-linux".into(),
                Arch::Aarch64Linux => "Image-aarch64-linux".into(),
            },
            AssetKind::NetbootInitrd => format!("initrd-{a}"),
            AssetKind::NetbootIpxe => format!("netboot-{a}.ipxe"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetbootBoot {
    /// `/nix/store/...-nixos-system-.../init`
    pub init: String,
    pub kernel_params: Vec<String>,
}

impl Manifest {
    /// Parses and checks a manifest; every problem is reported with its field path.
    pub fn parse(json: &str) -> Result<Manifest, Vec<String>> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let m: Manifest =
            serde_path_to_error::deserialize(de).map_err(|e| vec![format!("{}: {}", e.path(), e.inner())])?;
        m.check().map(|()| m)
    }

    /// The checks `parse` applies, for manifests built in memory.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut errs = Vec::new();
        if self.schema != MANIFEST_SCHEMA {
            errs.push(format!("schema: `{}` is not {MANIFEST_SCHEMA}", self.schema));
        }
        if let Err(e) = parse_tag(&self.tag) {
            errs.push(format!("tag: {e}"));
        }
        if let Err(e) = self.channel.parse::<Channel>() {
            errs.push(format!("channel: {e}"));
        }
        if !is_date(&self.date) {
            errs.push(format!("date: `{}` is not YYYY-MM-DD", self.date));
        }
        if self.nixpkgs_revision.len() != 40 || !self.nixpkgs_revision.bytes().all(|b| b.is_ascii_hexdigit()) {
            errs.push("nixpkgs_revision: a git revision is 40 hex digits".into());
        }
        if let Err(e) = crate::validate::parse_base_url(&self.base_url) {
            errs.push(format!("base_url: {e}"));
        }
        for (i, a) in self.assets.iter().enumerate() {
            match a.arch.parse::<Arch>() {
                Ok(arch) if a.name != a.kind.file_name(arch) => errs.push(format!(
                    "assets[{i}].name: a {:?} asset for {} is named {}",
                    a.kind,
                    a.arch,
                    a.kind.file_name(arch)
                )),
                Ok(_) => {}
                Err(e) => errs.push(format!("assets[{i}].arch: {e}")),
            }
            if let Err(e) = parse_sha256(&a.sha256) {
                errs.push(format!("assets[{i}].sha256: {e}"));
            }
            match (&a.netboot, a.kind) {
                (Some(n), AssetKind::NetbootIpxe) => {
                    if !n.init.starts_with("/nix/store/") || n.init.contains(char::is_whitespace) {
                        errs.push(format!("assets[{i}].netboot.init: `{}` is not a /nix/store path", n.init));
                    }
                }
                (Some(_), _) => errs.push(format!("assets[{i}].netboot: only netboot-ipxe assets carry it")),
                (None, AssetKind::NetbootIpxe) => errs.push(format!("assets[{i}].netboot: missing")),
                (None, _) => {}
            }
            if self.assets[..i].iter().any(|b| b.name == a.name) {
                errs.push(format!("assets[{i}].name: {} is listed twice", a.name));
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(errs)
        }
    }

    /// The parsed channel (valid after `check`).
    pub fn channel(&self) -> Option<Channel> {
        self.channel.parse::<Channel>().ok()
    }

    /// The asset of a kind for an arch, if the release has it.
    pub fn asset(&self, kind: AssetKind, arch: Arch) -> Option<&Asset> {
        self.assets.iter().find(|a| a.kind == kind && a.arch == arch.as_str())
    }

    /// The download URL of an asset.
    pub fn url(&self, asset: &Asset) -> String {
        format!("{}/{}/{}", self.base_url.trim_end_matches('/'), self.tag, asset.name)
    }

    /// Points a request at this release: its channel, base URL and tag, this project's installer (a release with a
    /// manifest is one of ours) and, for a kexec request whose tarball the release has, its SHA-256. The image kind
    /// and arch are the request's as typed; when they do not parse, validation reports them and no digest is set.
    pub fn apply_to(&self, req: &mut crate::Request) {
        req.channel = self.channel.clone();
        req.release.base_url = Some(self.base_url.clone());
        req.release.tag = Some(self.tag.clone());
        req.release.installer = Some(crate::Installer::NixosImages.as_str().to_string());
        let kind = match req.image.parse::<ImageKind>() {
            Ok(ImageKind::Kexec) => Some(AssetKind::Kexec),
            Ok(ImageKind::KexecNoninteractive) => Some(AssetKind::KexecNoninteractive),
            _ => None,
        };
        let asset = kind.zip(req.arch.parse::<Arch>().ok()).and_then(|(k, a)| self.asset(k, a));
        req.release.kexec_tarball_sha256 = asset.map(|a| a.sha256.clone());
    }

    /// The manifest as pretty JSON with a final newline (the published form).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a manifest always serializes") + "\n"
    }
}

fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && matches!(s[5..7].parse::<u8>(), Ok(1..=12))
        && matches!(s[8..10].parse::<u8>(), Ok(1..=31))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let arch = Arch::X86_64Linux;
        let asset = |kind: AssetKind| Asset {
            name: kind.file_name(arch),
            kind,
            arch: arch.as_str().into(),
            size: 42,
            sha256: "ab".repeat(32),
            netboot: (kind == AssetKind::NetbootIpxe).then(|| NetbootBoot {
                init: "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system/init".into(),
                kernel_params: vec!["console=ttyS0,115200".into()],
            }),
        };
        Manifest {
            schema: MANIFEST_SCHEMA.into(),
            tag: "nixos-unstable".into(),
            channel: "nixos-unstable".into(),
            date: "2026-11-22".into(),
            nixpkgs_revision: "0123456789abcdef0123456789abcdef01234567".into(),
            base_url: crate::DEFAULT_RELEASE_BASE_URL.into(),
            assets: AssetKind::ALL.into_iter().map(asset).collect(),
        }
    }

    #[test]
    fn round_trip() {
        let m = sample();
        assert_eq!(Manifest::parse(&m.to_json()).unwrap(), m);
        assert!(m.to_json().contains("\"kind\": \"kexec-noninteractive\""));
    }

    #[test]
    fn problems_name_their_field() {
        let mut m = sample();
        m.schema = "v0".into();
        m.date = "2026-13-01".into();
        m.assets[0].name = "x".into();
        m.assets[4].netboot = None;
        let errs = Manifest::parse(&m.to_json()).unwrap_err();
        for field in ["schema:", "date:", "assets[0].name:", "assets[4].netboot:"] {
            assert!(errs.iter().any(|e| e.starts_with(field)), "{field} in {errs:?}");
        }
    }

    #[test]
    fn a_manifest_points_a_request_at_its_release() {
        let mut m = sample();
        m.base_url = "https://example.org/releases".into();
        m.assets[1].sha256 = "cd".repeat(32);
        let mut req = crate::Request { image: "kexec-noninteractive".into(), ..Default::default() };
        m.apply_to(&mut req);
        let valid = req.validate().unwrap();
        assert_eq!(valid.release.installer, crate::Installer::NixosImages);
        assert_eq!(valid.release.kexec_tarball_sha256.as_deref(), Some("cd".repeat(32).as_str()));
        assert_eq!(valid.release.asset_url("x"), "https://example.org/releases/nixos-unstable/x");
        let mut netboot = crate::Request { image: "netboot".into(), ..Default::default() };
        m.apply_to(&mut netboot);
        assert_eq!(netboot.release.kexec_tarball_sha256, None);
    }
}
