//! The inventory file: defaults for every machine and the hosts, each a netboot request by another name.
//!
//! **API Boundary:** like the request, this schema is public; fields are kept as typed, so validation reports every
//! problem at once with its path (`hosts[3].interfaces[0].match_mac`).

use serde::{Deserialize, Serialize};

use crate::field::FieldError;
use crate::request::{InterfaceRequest, KexecRequest, ReleaseRequest, Request, RequestFormat};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Inventory {
    #[serde(default)]
    pub defaults: Defaults,
    #[serde(default)]
    pub hosts: Vec<HostEntry>,
}

/// What every machine gets, known or not. An unknown machine boots exactly this (DHCP, the defaults' keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    /// Must be `netboot`: a fleet boots from the network.
    #[serde(default = "netboot")]
    pub image: String,
    #[serde(default = "default_arch")]
    pub arch: String,
    #[serde(default = "default_channel")]
    pub channel: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssh_authorized_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kernel_params: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<String>,
    #[serde(default)]
    pub release: ReleaseRequest,
    #[serde(default)]
    pub strict: bool,
}

impl Default for Defaults {
    fn default() -> Defaults {
        let req = Request::default();
        Defaults {
            image: netboot(),
            arch: req.arch,
            channel: req.channel,
            ssh_authorized_keys: vec![],
            kernel_params: vec![],
            nameservers: vec![],
            release: ReleaseRequest::default(),
            strict: false,
        }
    }
}

/// One machine: its name (the installer's host name, and its directory in the tree), the MACs it may boot from,
/// and what it adds to the defaults.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostEntry {
    #[serde(default)]
    pub name: String,
    /// The NICs boot.ipxe knows the machine by; an interface's `match_mac` counts too.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub macs: Vec<String>,
    /// Keys added to the defaults' for this machine.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssh_authorized_keys: Vec<String>,
    /// Parameters added after the defaults'.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kernel_params: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<InterfaceRequest>,
}

fn netboot() -> String {
    "netboot".into()
}
fn default_arch() -> String {
    Request::default().arch
}
fn default_channel() -> String {
    Request::default().channel
}

impl Inventory {
    /// Parses an inventory file (TOML, or JSON as requests are).
    pub fn parse(text: &str, format: RequestFormat) -> Result<Inventory, FieldError> {
        crate::request::parse_as(text, format)
    }

    /// The request of a machine the inventory does not know: the defaults alone.
    pub fn default_request(&self) -> Request {
        let d = &self.defaults;
        Request {
            image: d.image.clone(),
            arch: d.arch.clone(),
            channel: d.channel.clone(),
            hostname: None,
            ssh_authorized_keys: d.ssh_authorized_keys.clone(),
            kernel_params: d.kernel_params.clone(),
            nameservers: d.nameservers.clone(),
            release: d.release.clone(),
            interfaces: vec![],
            kexec: KexecRequest::default(),
            strict: d.strict,
        }
    }

    /// The request of host `i`: the defaults, its name as host name, its keys and parameters after the defaults',
    /// its interfaces.
    pub fn host_request(&self, i: usize) -> Request {
        let h = &self.hosts[i];
        let mut req = self.default_request();
        req.hostname = Some(h.name.clone());
        req.ssh_authorized_keys.extend(h.ssh_authorized_keys.iter().cloned());
        req.kernel_params.extend(h.kernel_params.iter().cloned());
        req.interfaces = h.interfaces.clone();
        req
    }
}
