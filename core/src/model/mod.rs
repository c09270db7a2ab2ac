//! The validated request: every field parsed into a type that cannot hold a bad value. Each type parses itself
//! (`"kexec".parse::<ImageKind>()`, `"52:54:00:12:34:56".parse::<Mac>()`) with a message that says what is
//! expected; validation records it under the field's path and adds the rules between fields.
//!
//! A [`ValidRequest`] only comes out of [`crate::Request::validate`]: its fields are private to the crate, so no
//! front end can build or change one around the rules. Renderers take it and cannot fail.

/// A type that holds text once validated: read-only access and `Display`, the same for each (the parsing is each
/// type's own `FromStr`).
macro_rules! text_type {
    ($name:ident) => {
        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

mod image;
mod network;
mod params;
mod release;

use std::net::IpAddr;

pub use image::{Arch, Channel, ImageKind, Installer};
pub use network::{parse_ip, Destination, IfName, Interface, InterfaceMatch, Mac, Route};
pub use params::{Hostname, KernelParam, Kexec, KexecFlag};
pub use release::{asset_url, BaseUrl, Release, ReleaseTag, Sha256, DEFAULT_RELEASE_BASE_URL};

use crate::ssh_key::{describe_char, SshPublicKey};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidRequest {
    pub(crate) image: ImageKind,
    pub(crate) arch: Arch,
    pub(crate) channel: Channel,
    pub(crate) hostname: Option<Hostname>,
    pub(crate) ssh_authorized_keys: Vec<SshPublicKey>,
    pub(crate) kernel_params: Vec<KernelParam>,
    pub(crate) nameservers: Vec<IpAddr>,
    pub(crate) release: Release,
    pub(crate) interfaces: Vec<Interface>,
    pub(crate) kexec: Kexec,
}

impl ValidRequest {
    pub fn image(&self) -> ImageKind {
        self.image
    }
    pub fn arch(&self) -> Arch {
        self.arch
    }
    pub fn channel(&self) -> Channel {
        self.channel
    }
    pub fn hostname(&self) -> Option<&Hostname> {
        self.hostname.as_ref()
    }
    pub fn ssh_authorized_keys(&self) -> &[SshPublicKey] {
        &self.ssh_authorized_keys
    }
    pub fn kernel_params(&self) -> &[KernelParam] {
        &self.kernel_params
    }
    pub fn nameservers(&self) -> &[IpAddr] {
        &self.nameservers
    }
    pub fn release(&self) -> &Release {
        &self.release
    }
    pub fn interfaces(&self) -> &[Interface] {
        &self.interfaces
    }
    pub fn kexec(&self) -> &Kexec {
        &self.kexec
    }
    /// Whether any interface has static configuration (otherwise DHCP/RA everywhere).
    pub fn has_static_network(&self) -> bool {
        !self.interfaces.is_empty()
    }
}

/// A character safe to quote back in an error: control characters and blanks by code point.
fn printable_char(c: char) -> String {
    if c.is_control() || c.is_whitespace() {
        describe_char(c)
    } else {
        c.to_string()
    }
}
