//! The release manifest (`manifest.json`), published with every release next to its assets.
//!
//! **API Boundary:** versioned by [`MANIFEST_SCHEMA`]. `nixos-images-gen release` writes it; the docs site and the
//! web generator read it. A reader refuses another schema string; new optional fields keep the version, a change
//! of meaning bumps it.

use serde::{Deserialize, Serialize};

use crate::field::{FieldError, FieldPath, ValidationErrors};
use crate::model::{asset_url, Arch, BaseUrl, Channel, ImageKind, ReleaseTag, Sha256};

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
    pub fn parse(json: &str) -> Result<Manifest, ValidationErrors> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let m: Manifest = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().iter().fold(FieldPath::root(), |at, seg| match seg {
                serde_path_to_error::Segment::Seq { index } => at.index(*index),
                serde_path_to_error::Segment::Map { key } => at.key_owned(key.clone()),
                _ => at,
            });
            // A syntax error is not in any field: it is named after the file's kind.
            let path = if path.is_root() { FieldPath::field("manifest") } else { path };
            ValidationErrors(vec![FieldError::new(path, e.inner().to_string())])
        })?;
        m.check().map(|()| m)
    }

    /// The checks `parse` applies, for manifests built in memory.
    pub fn check(&self) -> Result<(), ValidationErrors> {
        let mut errs = Vec::new();
        let mut add = |path: FieldPath, message: String| errs.push(FieldError::new(path, message));
        let field = FieldPath::field;
        if self.schema != MANIFEST_SCHEMA {
            add(field("schema"), format!("`{}` is not {MANIFEST_SCHEMA}", self.schema));
        }
        if let Err(e) = self.tag.parse::<ReleaseTag>() {
            add(field("tag"), e);
        }
        if let Err(e) = self.channel.parse::<Channel>() {
            add(field("channel"), e);
        }
        if !is_date(&self.date) {
            add(field("date"), format!("`{}` is not YYYY-MM-DD", self.date));
        }
        if self.nixpkgs_revision.len() != 40 || !self.nixpkgs_revision.bytes().all(|b| b.is_ascii_hexdigit()) {
            add(field("nixpkgs_revision"), "a git revision is 40 hex digits".into());
        }
        if let Err(e) = self.base_url.parse::<BaseUrl>() {
            add(field("base_url"), e);
        }
        for (i, a) in self.assets.iter().enumerate() {
            let at = |key| field("assets").index(i).key(key);
            match a.arch.parse::<Arch>() {
                Ok(arch) if a.name != a.kind.file_name(arch) => {
                    add(at("name"), format!("a {:?} asset for {} is named {}", a.kind, a.arch, a.kind.file_name(arch)))
                }
                Ok(_) => {}
                Err(e) => add(at("arch"), e),
            }
            if let Err(e) = a.sha256.parse::<Sha256>() {
                add(at("sha256"), e);
            }
            match (&a.netboot, a.kind) {
                (Some(n), AssetKind::NetbootIpxe) => {
                    if !n.init.starts_with("/nix/store/") || n.init.contains(char::is_whitespace) {
                        add(at("netboot").key("init"), format!("`{}` is not a /nix/store path", n.init));
                    }
                }
                (Some(_), _) => add(at("netboot"), "only netboot-ipxe assets carry it".into()),
                (None, AssetKind::NetbootIpxe) => add(at("netboot"), "missing".into()),
                (None, _) => {}
            }
            if self.assets[..i].iter().any(|b| b.name == a.name) {
                add(at("name"), format!("{} is listed twice", a.name));
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(ValidationErrors(errs))
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

    /// The download URL of an asset of this release (listed or about to be).
    pub fn url(&self, asset_name: &str) -> String {
        asset_url(&self.base_url, &self.tag, asset_name)
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
            assert!(errs.0.iter().any(|e| e.to_string().starts_with(field)), "{field} in {errs:?}");
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
        assert_eq!(valid.release.kexec_tarball_sha256.as_ref().map(Sha256::as_str), Some("cd".repeat(32).as_str()));
        assert_eq!(valid.release.asset_url("x"), "https://example.org/releases/nixos-unstable/x");
        let mut netboot = crate::Request { image: "netboot".into(), ..Default::default() };
        m.apply_to(&mut netboot);
        assert_eq!(netboot.release.kexec_tarball_sha256, None);
    }
}
