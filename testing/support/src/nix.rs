//! The real Nix evaluator for the tests that parse and evaluate what the renderers write.
//!
//! Safety: Nix never reaches the network, a binary cache or the host's Nix state: `NIX_CONFIG` empties the
//! substituters, the build-users group and the flake registry, and every state, log, cache and config directory
//! points into the test's own temporary directory.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

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

/// A private scratch directory and a way to run `nix-instantiate` inside it.
pub struct Nix {
    dir: tempfile::TempDir,
}

impl Nix {
    /// A scratch directory for the running test, or `None` (the test is skipped, see [`crate::prerequisites`])
    /// when nix-instantiate is not installed.
    pub fn new() -> Option<Nix> {
        if !crate::prerequisites::Prerequisites::new().tool("nix-instantiate").met() {
            return None;
        }
        let dir = tempfile::tempdir().expect("creating a temporary directory");
        for sub in ["state", "home", "cache", "config"] {
            std::fs::create_dir(dir.path().join(sub)).expect("creating a temporary directory");
        }
        let nix = Nix { dir };
        // Fails here, once and with a clear message, when nix-instantiate does not run (not inside a proptest run).
        nix.run(&["--version"]).unwrap_or_else(|e| panic!("{e}"));
        Some(nix)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("writing a temporary file");
        path
    }

    /// Runs `nix-instantiate ARGS`; stdout on success, a message with stderr otherwise.
    pub fn run(&self, args: &[&str]) -> Result<String, String> {
        let d = self.dir.path();
        let mut cmd = Command::new("nix-instantiate");
        if args != ["--version"] {
            cmd.args(["--store", "dummy://"]);
        }
        private_nix(&mut cmd, d);
        let out = cmd.args(args).current_dir(d).output().unwrap_or_else(|e| {
            if e.kind() == ErrorKind::NotFound {
                panic!(
                    "nix-instantiate was not found on PATH: this test parses and evaluates Nix with the real \
                     evaluator and cannot run without it (Debian: apt-get install nix-bin)"
                )
            }
            panic!("could not run nix-instantiate: {e}")
        });
        if out.status.success() {
            Ok(String::from_utf8(out.stdout).expect("nix-instantiate printed UTF-8"))
        } else {
            Err(format!(
                "nix-instantiate {} failed ({}):\n{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    pub fn parse(&self, file: &Path) -> Result<(), String> {
        self.run(&["--parse", path_str(file)]).map(drop)
    }

    pub fn eval_json(&self, expr: &str) -> Result<Value, String> {
        let out = self.run(&["--eval", "--strict", "--json", "--expr", expr])?;
        serde_json::from_str(&out).map_err(|e| format!("nix-instantiate printed invalid JSON ({e}): {out}"))
    }
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}
