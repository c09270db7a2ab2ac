//! Shared by the integration tests that run Nix (`mod common;`).
//!
//! Safety: Nix never reaches the network, a binary cache or the host's Nix state: `NIX_CONFIG` empties the
//! substituters, the build-users group and the flake registry, and every state, log, cache and config directory
//! points into the test's own temporary directory.

#![allow(dead_code)] // each test binary uses part of this module

use std::path::Path;
use std::process::Command;

/// The configuration every Nix call in the tests runs with.
pub const NIX_CONFIG: &str = "substituters =\nbuild-users-group =\nflake-registry =\n";

/// Confines a Nix command to `dir`: `NIX_CONFIG` above, state/log/home/XDG directories under `dir`, and no
/// `NIX_PATH`/`NIX_REMOTE` from the environment.
pub fn private_nix<'a>(cmd: &'a mut Command, dir: &Path) -> &'a mut Command {
    cmd.env("NIX_CONFIG", NIX_CONFIG)
        .env("NIX_STATE_DIR", dir.join("state"))
        .env("NIX_LOG_DIR", dir.join("state/log"))
        .env("HOME", dir.join("home"))
        .env("XDG_CACHE_HOME", dir.join("cache"))
        .env("XDG_CONFIG_HOME", dir.join("config"))
        .env_remove("NIX_PATH")
        .env_remove("NIX_REMOTE")
}
