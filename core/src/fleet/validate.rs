//! Validation of an inventory: the defaults once, each host as the request it makes, then what only the whole
//! inventory can get wrong (two hosts with one MAC, name or static address; a host boot.ipxe cannot find).
//! Every error is collected, at the inventory's own path.

use std::collections::HashMap;
use std::net::IpAddr;

use super::inventory::Inventory;
use crate::effects::{self, Notice};
use crate::field::{FieldError, FieldPath, Segment, ValidationErrors};
use crate::model::{Hostname, ImageKind, Mac};
use crate::ValidRequest;

/// One machine of a valid inventory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub(crate) name: Hostname,
    /// Every MAC it is known by (`macs`, then the interfaces' `match_mac`), each once.
    pub(crate) macs: Vec<Mac>,
    pub(crate) request: ValidRequest,
}

impl Host {
    pub fn name(&self) -> &Hostname {
        &self.name
    }
    pub fn macs(&self) -> &[Mac] {
        &self.macs
    }
    pub fn request(&self) -> &ValidRequest {
        &self.request
    }
}

/// An inventory that renders: it comes only out of [`Inventory::validate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidInventory {
    pub(crate) default: ValidRequest,
    pub(crate) hosts: Vec<Host>,
}

impl ValidInventory {
    /// What a machine the inventory does not know boots.
    pub fn default_request(&self) -> &ValidRequest {
        &self.default
    }
    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }
}

/// Top-level request fields that only the defaults set: a host's request repeats their errors, which are reported
/// once, at `defaults`.
const DEFAULTS_OWN: [&str; 7] = ["image", "arch", "channel", "nameservers", "release", "strict", "kexec"];

impl Inventory {
    pub fn validate(&self) -> Result<ValidInventory, ValidationErrors> {
        let mut errs: Vec<FieldError> = Vec::new();
        let defaults_at = FieldPath::field("defaults");
        let default = match self.default_request().validate() {
            Ok(v) => Some(v),
            Err(e) => {
                errs.extend(e.0.into_iter().map(|f| FieldError::new(defaults_at.join(&f.path), f.message)));
                None
            }
        };
        if default.as_ref().is_some_and(|d| d.image() != ImageKind::Netboot) {
            errs.push(FieldError::new(
                defaults_at.key("image"),
                "must be netboot: a fleet boots from the network (a kexec installer is made per machine, with \
                 `render kexec-command`)",
            ));
        }

        let mut names: HashMap<String, usize> = HashMap::new();
        let mut macs: HashMap<Mac, (usize, FieldPath)> = HashMap::new();
        let mut addresses: HashMap<IpAddr, FieldPath> = HashMap::new();
        let mut hosts = Vec::new();
        for (i, entry) in self.hosts.iter().enumerate() {
            let at = FieldPath::field("hosts").index(i);
            let before = errs.len();

            if entry.name.is_empty() {
                errs.push(FieldError::new(at.key("name"), "a host needs a name (its host name and its directory)"));
            } else if let Some(first) = names.insert(entry.name.to_ascii_lowercase(), i) {
                names.insert(entry.name.to_ascii_lowercase(), first);
                errs.push(FieldError::new(
                    at.key("name"),
                    format!("`{}` is already hosts[{first}]'s name", entry.name),
                ));
            }

            // The MACs boot.ipxe knows this machine by, with where each is written.
            let mut own: Vec<(Mac, FieldPath)> = Vec::new();
            for (j, text) in entry.macs.iter().enumerate() {
                let path = at.key("macs").index(j);
                match text.parse::<Mac>() {
                    Ok(mac) if own.iter().any(|(m, _)| *m == mac) => {
                        errs.push(FieldError::new(path, format!("{mac} is listed twice")));
                    }
                    Ok(mac) => own.push((mac, path)),
                    Err(e) => errs.push(FieldError::new(path, e)),
                }
            }
            for (k, iface) in entry.interfaces.iter().enumerate() {
                // A bad match_mac is the request validation's to report.
                if let Some(mac) = iface.match_mac.as_deref().and_then(|m| m.parse::<Mac>().ok()) {
                    if !own.iter().any(|(m, _)| *m == mac) {
                        own.push((mac, at.key("interfaces").index(k).key("match_mac")));
                    }
                }
            }
            if own.is_empty() && entry.macs.iter().all(|m| m.parse::<Mac>().is_ok()) {
                errs.push(FieldError::new(
                    at.key("macs"),
                    "a host needs a MAC (in macs, or an interface's match_mac): boot.ipxe finds machines by MAC",
                ));
            }
            for (mac, path) in &own {
                match macs.get(mac) {
                    Some((first, first_path)) if *first != i => {
                        errs.push(FieldError::new(
                            path.clone(),
                            format!("{mac} is already hosts[{first}]'s ({first_path})"),
                        ));
                    }
                    Some(_) => {}
                    None => {
                        macs.insert(*mac, (i, path.clone()));
                    }
                }
            }

            // Static addresses: two machines with one address break each other.
            for (k, iface) in entry.interfaces.iter().enumerate() {
                for (m, address) in iface.addresses.iter().enumerate() {
                    let Ok(ip) = address.split('/').next().unwrap_or_default().parse::<IpAddr>() else { continue };
                    let path = at.key("interfaces").index(k).key("addresses").index(m);
                    match addresses.get(&ip) {
                        Some(first) if !first.starts_with(&at) => {
                            errs.push(FieldError::new(path, format!("{ip} is already {first}'s")));
                        }
                        Some(_) => {}
                        None => {
                            addresses.insert(ip, path);
                        }
                    }
                }
            }

            // A key the defaults give every machine already.
            let mut repeated_keys = Vec::new();
            for (j, key) in entry.ssh_authorized_keys.iter().enumerate() {
                if let Some(d) = self.defaults.ssh_authorized_keys.iter().position(|k| k.trim() == key.trim()) {
                    repeated_keys.push(j);
                    errs.push(FieldError::new(
                        at.key("ssh_authorized_keys").index(j),
                        format!("already in defaults.ssh_authorized_keys[{d}]"),
                    ));
                }
            }

            let mut req = self.host_request(i);
            // Whatever the defaults say, a host is checked as what the fleet boots.
            req.image = ImageKind::Netboot.as_str().to_string();
            match req.validate() {
                Ok(request) if errs.len() == before => {
                    hosts.push(Host {
                        name: request.hostname.clone().expect("a host has a name"),
                        macs: own.into_iter().map(|(m, _)| m).collect(),
                        request,
                    });
                }
                Ok(_) => {}
                Err(e) => {
                    let nd = (self.defaults.ssh_authorized_keys.len(), self.defaults.kernel_params.len());
                    for f in e.0 {
                        let Some(path) = host_path(&at, &f.path, nd, default.is_some()) else { continue };
                        let own_key = |p: &FieldPath| {
                            p.entry_of(&at.key("ssh_authorized_keys")).is_some_and(|j| repeated_keys.contains(&j))
                        };
                        if !own_key(&path) {
                            errs.push(FieldError::new(path, f.message));
                        }
                    }
                }
            }
        }
        match (default, errs.is_empty()) {
            (Some(default), true) => Ok(ValidInventory { default, hosts }),
            _ => Err(ValidationErrors(errs)),
        }
    }
}

impl ValidInventory {
    /// What the installers will ignore or apply in part, at the inventory's paths: the defaults' once, then each
    /// host's own fields.
    pub fn notices(&self, inv: &Inventory) -> Vec<Notice> {
        let defaults_at = FieldPath::field("defaults");
        let mut out: Vec<Notice> = effects::notices(&self.default)
            .into_iter()
            .map(|n| Notice { path: defaults_at.join(&n.path), ..n })
            .collect();
        let nd = (inv.defaults.ssh_authorized_keys.len(), inv.defaults.kernel_params.len());
        for (i, host) in self.hosts.iter().enumerate() {
            let at = FieldPath::field("hosts").index(i);
            let entry = &inv.hosts[i];
            for n in effects::notices(&host.request) {
                // A whole list's notice belongs to the host only when the defaults add nothing to that list (else
                // it was said at `defaults`).
                let own_list = |key: &'static str, own: &[String], defaults: &[String]| {
                    (n.path == FieldPath::field(key))
                        .then(|| (!own.is_empty() && defaults.is_empty()).then(|| at.key(key)))
                };
                let path =
                    own_list("ssh_authorized_keys", &entry.ssh_authorized_keys, &inv.defaults.ssh_authorized_keys)
                        .or_else(|| own_list("kernel_params", &entry.kernel_params, &inv.defaults.kernel_params))
                        .unwrap_or_else(|| host_path(&at, &n.path, nd, true));
                if let Some(path) = path {
                    out.push(Notice { path, ..n });
                }
            }
        }
        out
    }
}

/// Where an error of host `at`'s request is in the inventory, or `None` when it is the defaults' (reported once
/// there). `nd`: how many keys and kernel parameters come from the defaults.
fn host_path(at: &FieldPath, p: &FieldPath, nd: (usize, usize), defaults_valid: bool) -> Option<FieldPath> {
    let key = |name: &'static str| Segment::Key(name.into());
    match p.segments() {
        [first, ..] if *first == key("hostname") => Some(at.key("name").join(&p.suffix(1))),
        [first, Segment::Index(k), ..] if *first == key("ssh_authorized_keys") => {
            k.checked_sub(nd.0).map(|j| at.key("ssh_authorized_keys").index(j).join(&p.suffix(2)))
        }
        [first, Segment::Index(k), ..] if *first == key("kernel_params") => {
            k.checked_sub(nd.1).map(|j| at.key("kernel_params").index(j).join(&p.suffix(2)))
        }
        [Segment::Key(k), ..] if DEFAULTS_OWN.contains(&k.as_ref()) => None,
        _ if !defaults_valid && !p.starts_with(&FieldPath::field("interfaces")) => None,
        _ => Some(at.join(p)),
    }
}
