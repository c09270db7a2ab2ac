//! What is installed: the image kind, the architecture, the NixOS channel and the installer family.

use std::fmt;
use std::str::FromStr;

use crate::escape::printable;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ImageKind {
    Kexec,
    KexecNoninteractive,
    Netboot,
}

impl ImageKind {
    pub const ALL: [ImageKind; 3] = [ImageKind::Kexec, ImageKind::KexecNoninteractive, ImageKind::Netboot];
    pub fn as_str(self) -> &'static str {
        match self {
            ImageKind::Kexec => "kexec",
            ImageKind::KexecNoninteractive => "kexec-noninteractive",
            ImageKind::Netboot => "netboot",
        }
    }
    pub fn is_kexec(self) -> bool {
        matches!(self, ImageKind::Kexec | ImageKind::KexecNoninteractive)
    }
}

impl FromStr for ImageKind {
    type Err = String;
    fn from_str(s: &str) -> Result<ImageKind, String> {
        ImageKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            format!("unknown image `{}` (expected kexec, kexec-noninteractive or netboot)", printable(s, 60))
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Arch {
    X86_64Linux,
    Aarch64Linux,
}

impl Arch {
    pub const ALL: [Arch; 2] = [Arch::X86_64Linux, Arch::Aarch64Linux];
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86_64Linux => "x86_64-linux",
            Arch::Aarch64Linux => "aarch64-linux",
        }
    }
}

impl FromStr for Arch {
    type Err = String;
    fn from_str(s: &str) -> Result<Arch, String> {
        Arch::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| format!("unknown arch `{}` (expected x86_64-linux or aarch64-linux)", printable(s, 60)))
    }
}

/// A NixOS channel: `nixos-unstable` or a release `nixos-YY.MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Channel {
    Unstable,
    Release { year: u8, month: u8 },
}

impl Channel {
    /// The current stable NixOS release, named once here: the flake's `nixos-stable` input (flake.nix cannot
    /// import it; cli/tests/nix_modules.rs checks that it names this one), the stable channel `build` builds, and
    /// the newest release this version knows of (a newer `nixos-YY.MM` is refused rather than guessed at). Bump it
    /// each May and November.
    pub const CURRENT_STABLE: Channel = Channel::Release { year: 26, month: 11 };

    /// The oldest release with the `YY.05`/`YY.11` schedule (before 21.05 releases were in March and September).
    const OLDEST_RELEASE: (u8, u8) = (21, 5);

    /// NixOS 24.11 replaced networkd's `routeConfig` attribute with plain route attributes.
    pub fn has_flat_networkd_routes(self) -> bool {
        match self {
            Channel::Unstable => true,
            Channel::Release { year, month } => (year, month) >= (24, 11),
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Channel::Unstable => f.write_str("nixos-unstable"),
            Channel::Release { year, month } => write!(f, "nixos-{year:02}.{month:02}"),
        }
    }
}

impl FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Channel, String> {
        if s == "nixos-unstable" {
            return Ok(Channel::Unstable);
        }
        let bad = || {
            format!(
                "`{}` is not a NixOS channel (expected nixos-unstable or nixos-YY.MM, e.g. nixos-25.05)",
                printable(s, 60)
            )
        };
        let version = s.strip_prefix("nixos-").ok_or_else(bad)?;
        let (yy, mm) = version.split_once('.').ok_or_else(bad)?;
        if yy.len() != 2 || mm.len() != 2 || !yy.bytes().chain(mm.bytes()).all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let (year, month): (u8, u8) = (yy.parse().map_err(|_| bad())?, mm.parse().map_err(|_| bad())?);
        if month != 5 && month != 11 {
            return Err(format!(
                "NixOS releases come out in May and November: nixos-{yy}.05 or nixos-{yy}.11, not .{mm}"
            ));
        }
        let channel = Channel::Release { year, month };
        if (year, month) < Channel::OLDEST_RELEASE {
            let (oy, om) = Channel::OLDEST_RELEASE;
            return Err(format!(
                "nixos-{yy}.{mm} is older than the oldest release this tool supports (nixos-{oy:02}.{om:02})"
            ));
        }
        if channel > Channel::CURRENT_STABLE {
            return Err(format!(
                "nixos-{yy}.{mm} is not released as far as this version knows (newest: {})",
                Channel::CURRENT_STABLE
            ));
        }
        Ok(channel)
    }
}

/// The family of installer images a release holds. What takes effect of a request depends on it
/// ([`crate::effects`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Installer {
    /// nix-community's released images (the default release): they read the keys, host keys, machine-id and
    /// network dumps of the kexec initrd, and nothing of a netboot overlay.
    #[default]
    Upstream,
    /// This project's images, which read overlay layout v1 (`nix/modules/overlay.nix`).
    NixosImages,
}

impl Installer {
    pub const ALL: [Installer; 2] = [Installer::Upstream, Installer::NixosImages];
    pub fn as_str(self) -> &'static str {
        match self {
            Installer::Upstream => "upstream",
            Installer::NixosImages => "nixos-images",
        }
    }
    /// Whether the images read the overlay's `nixos-images/` files (host name, nameservers, networkd units).
    pub fn reads_overlay(self) -> bool {
        self == Installer::NixosImages
    }
}

impl FromStr for Installer {
    type Err = String;
    fn from_str(s: &str) -> Result<Installer, String> {
        Installer::ALL.into_iter().find(|i| i.as_str() == s).ok_or_else(|| {
            format!(
                "unknown installer `{}` (expected upstream, nix-community's images, or nixos-images, this project's)",
                printable(s, 60)
            )
        })
    }
}
