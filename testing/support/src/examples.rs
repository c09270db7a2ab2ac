//! The example requests in `examples/*.toml` (what the golden snapshots, the boot tests and the Nix evaluations
//! are made from) and the example inventories in `examples/fleet/*.toml`.

use std::path::PathBuf;

use nixos_images_core::fleet::{Inventory, ValidInventory};
use nixos_images_core::{Request, RequestFormat, ValidRequest};

pub fn dir() -> PathBuf {
    crate::workspace().join("examples")
}

/// `examples/<name>`.
pub fn path(name: &str) -> PathBuf {
    dir().join(name)
}

/// Every example's file name (`static-hetzner.toml`), sorted.
pub fn names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .expect("reading examples/")
        .map(|e| e.expect("reading examples/").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    names
}

pub fn text(name: &str) -> String {
    std::fs::read_to_string(path(name)).unwrap_or_else(|e| panic!("reading examples/{name}: {e}"))
}

/// The example as parsed (not validated).
pub fn request(name: &str) -> Request {
    Request::parse(&text(name), RequestFormat::Toml).unwrap_or_else(|e| panic!("examples/{name}: {e}"))
}

/// The example, validated.
pub fn valid(name: &str) -> ValidRequest {
    request(name).validate().unwrap_or_else(|e| panic!("examples/{name} is not valid:\n{e}"))
}

/// Every example: its name, the request and the validated request.
pub fn all() -> Vec<(String, Request, ValidRequest)> {
    names()
        .into_iter()
        .map(|name| {
            let req = request(&name);
            let valid = valid(&name);
            (name, req, valid)
        })
        .collect()
}

/// `examples/fleet/<name>`, parsed and validated.
pub fn inventory(name: &str) -> (Inventory, ValidInventory) {
    let text = text(&format!("fleet/{name}"));
    let inv = Inventory::parse(&text, RequestFormat::Toml).unwrap_or_else(|e| panic!("examples/fleet/{name}: {e}"));
    let valid = inv.validate().unwrap_or_else(|e| panic!("examples/fleet/{name} is not valid:\n{e}"));
    (inv, valid)
}
