//! Which hosts two valid inventories boot differently: for scripts that redeploy only what changed.

use std::collections::BTreeMap;

use super::tree::{host_dir, machine_files, DEFAULT_DIR};
use super::validate::ValidInventory;
use crate::model::Mac;

/// How a host (or the default installer, named `default`) differs between two inventories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Added(String),
    Removed(String),
    /// Its script or overlay differs (the file names), or it is known by other MACs.
    Changed {
        name: String,
        what: Vec<String>,
    },
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::Added(n) => write!(f, "added {n}"),
            Change::Removed(n) => write!(f, "removed {n}"),
            Change::Changed { name, what } => write!(f, "changed {name} ({})", what.join(", ")),
        }
    }
}

/// A machine's files by name (`netboot.ipxe`, the overlay).
type Files = BTreeMap<String, Vec<u8>>;

/// The changes from `old` to `new`, the default installer first, then hosts by name.
pub fn diff(old: &ValidInventory, new: &ValidInventory) -> Vec<Change> {
    let machines = |inv: &ValidInventory| {
        let mut m: BTreeMap<String, (Vec<Mac>, Files)> = BTreeMap::new();
        let files = |dir: &str, req| {
            machine_files(dir, req, None)
                .into_iter()
                .map(|f| (f.path.rsplit('/').next().unwrap_or_default().to_string(), f.contents))
                .collect::<Files>()
        };
        for h in inv.hosts() {
            let name = h.name().as_str().to_string();
            let dir = host_dir(&name);
            m.insert(name, (h.macs().to_vec(), files(&dir, h.request())));
        }
        (files(DEFAULT_DIR, inv.default_request()), m)
    };
    let (old_default, old_hosts) = machines(old);
    let (new_default, new_hosts) = machines(new);
    let changed_files = |a: &Files, b: &Files| -> Vec<String> {
        a.keys()
            .chain(b.keys())
            .filter(|k| a.get(*k) != b.get(*k))
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    let mut out = Vec::new();
    let what = changed_files(&old_default, &new_default);
    if !what.is_empty() {
        out.push(Change::Changed { name: DEFAULT_DIR.into(), what });
    }
    let names: std::collections::BTreeSet<&String> = old_hosts.keys().chain(new_hosts.keys()).collect();
    for name in names {
        match (old_hosts.get(name), new_hosts.get(name)) {
            (None, Some(_)) => out.push(Change::Added(name.clone())),
            (Some(_), None) => out.push(Change::Removed(name.clone())),
            (Some((old_macs, a)), Some((new_macs, b))) => {
                let mut what = changed_files(a, b);
                if old_macs != new_macs {
                    what.push("MACs".into());
                }
                if !what.is_empty() {
                    out.push(Change::Changed { name: name.clone(), what });
                }
            }
            (None, None) => unreachable!("a name of either inventory"),
        }
    }
    out
}
