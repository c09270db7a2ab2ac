//! The validated request: every field parsed into a type that cannot hold a bad value.
//! Renderers take a [`ValidRequest`] and cannot fail.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::str::FromStr;

use ipnet::IpNet;

use crate::escape::printable;
use crate::ssh_key::SshPublicKey;
use crate::validate::{NEWEST_KNOWN_RELEASE, OLDEST_RELEASE};

/// The release downloads' default location (the seed project's GitHub releases).
pub const DEFAULT_RELEASE_BASE_URL: &str = "https://github.com/nix-community/nixos-images/releases/download";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRequest {
    pub image: ImageKind,
    pub arch: Arch,
    pub channel: Channel,
    pub hostname: Option<Hostname>,
    pub ssh_authorized_keys: Vec<SshPublicKey>,
    pub kernel_params: Vec<KernelParam>,
    pub nameservers: Vec<IpAddr>,
    pub release: Release,
    pub interfaces: Vec<Interface>,
    pub kexec: Kexec,
}

impl ValidRequest {
    /// Whether any interface has static configuration (otherwise DHCP/RA everywhere).
    pub fn has_static_network(&self) -> bool {
        !self.interfaces.is_empty()
    }
}

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

/// A NixOS channel: `nixos-unstable` or a release `nixos-YY.MM`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Channel {
    Unstable,
    Release { year: u8, month: u8 },
}

impl Channel {
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

/// An RFC 1123 host name label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostname(pub(crate) String);

impl Hostname {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One kernel command-line parameter: no blanks, quotes, control characters or iPXE `${`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelParam(pub(crate) String);

impl KernelParam {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// `http(s)://...` without a trailing slash.
    pub base_url: String,
    /// A tag made of `[A-Za-z0-9._-]`.
    pub tag: String,
    /// Lower-case hex SHA-256 of the kexec tarball.
    pub kexec_tarball_sha256: Option<String>,
    /// Which installer the release's images are: it decides what reads the request's files.
    pub installer: Installer,
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

impl Release {
    /// URL of a release asset.
    pub fn asset_url(&self, asset: &str) -> String {
        format!("{}/{}/{}", self.base_url, self.tag, asset)
    }
}

/// A MAC address, stored as six bytes and written lower-case with colons (as iPXE and networkd print it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(f, "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}", b[0], b[1], b[2], b[3], b[4], b[5])
    }
}

/// A Linux interface name (at most 15 bytes of `[A-Za-z0-9_.-]`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IfName(pub(crate) String);

impl IfName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum InterfaceMatch {
    Mac(Mac),
    Name(IfName),
}

impl fmt::Display for InterfaceMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InterfaceMatch::Mac(m) => write!(f, "MAC {m}"),
            InterfaceMatch::Name(n) => write!(f, "name {}", n.as_str()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    pub matches: InterfaceMatch,
    pub dhcp: bool,
    /// Interface addresses with their prefix length (host bits are the address).
    pub addresses: Vec<IpNet>,
    pub routes: Vec<Route>,
}

impl Interface {
    pub fn ipv4_addresses(&self) -> impl Iterator<Item = (Ipv4Addr, u8)> + '_ {
        self.addresses.iter().filter_map(|a| match a {
            IpNet::V4(n) => Some((n.addr(), n.prefix_len())),
            IpNet::V6(_) => None,
        })
    }
    /// The IPv4 default gateway, if a route sets one.
    pub fn ipv4_default_gateway(&self) -> Option<Ipv4Addr> {
        self.routes.iter().find_map(|r| match (&r.destination, r.gateway) {
            (Destination::Default, Some(IpAddr::V4(g))) => Some(g),
            _ => None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// The default route of the gateway's address family.
    Default,
    /// A network with its host bits clear.
    Net(IpNet),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub destination: Destination,
    pub gateway: Option<IpAddr>,
    pub on_link: bool,
}

impl Route {
    /// `0.0.0.0/0`, `::/0` or the network, for formats that need an explicit destination.
    pub fn destination_cidr(&self) -> String {
        match (&self.destination, self.gateway) {
            (Destination::Net(n), _) => n.to_string(),
            (Destination::Default, Some(IpAddr::V6(_))) => "::/0".into(),
            (Destination::Default, _) => "0.0.0.0/0".into(),
        }
    }
}

/// A kexec flag from the request, passed to `kexec` as one argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KexecFlag(pub(crate) String);

impl KexecFlag {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kexec {
    pub delay_seconds: u32,
    pub extra_flags: Vec<KexecFlag>,
}

// Each type parses itself (`"kexec".parse::<ImageKind>()`); the message says what is expected. Validation records
// it under the field's path.

impl FromStr for ImageKind {
    type Err = String;
    fn from_str(s: &str) -> Result<ImageKind, String> {
        ImageKind::ALL.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            format!("unknown image `{}` (expected kexec, kexec-noninteractive or netboot)", printable(s, 60))
        })
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
        if (year, month) < OLDEST_RELEASE {
            return Err(format!("nixos-{yy}.{mm} is older than the oldest release this tool supports (nixos-21.05)"));
        }
        if (year, month) > NEWEST_KNOWN_RELEASE {
            let (ny, nm) = NEWEST_KNOWN_RELEASE;
            return Err(format!(
                "nixos-{yy}.{mm} is not released as far as this version knows (newest: nixos-{ny:02}.{nm:02})"
            ));
        }
        Ok(Channel::Release { year, month })
    }
}
