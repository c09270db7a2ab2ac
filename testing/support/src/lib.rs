//! What the workspace's tests share, so each exists once: the example requests ([`examples`]), a loopback HTTP
//! server for static files ([`http`]), the policy for missing tools ([`prerequisites`]), the real Nix evaluator
//! in a private directory ([`nix`]), network namespaces with systemd-networkd ([`netns`]) and headless Chromium
//! ([`chromium`], feature `browser`).

pub mod bytes;
pub mod examples;
pub mod http;
pub mod netns;
pub mod nix;
pub mod prerequisites;

#[cfg(feature = "browser")]
pub mod chromium;

use std::path::PathBuf;

/// The workspace root.
pub fn workspace() -> PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().and_then(|p| p.parent()).expect("testing/support is two levels below the workspace").to_path_buf()
}
