//! The one policy for a test whose tools are missing: under CI (`CI=true`) nothing is skipped, so it fails
//! naming what is missing; elsewhere it is skipped and says why on stderr.
//!
//! ```no_run
//! use test_support::prerequisites::Prerequisites;
//!
//! fn shell_word_test() {
//!     if !Prerequisites::new().tool("dash").tool("busybox").met() {
//!         return;
//!     }
//!     // ...
//! }
//! ```

use std::path::{Path, PathBuf};

/// What one test needs. Collects everything missing, so the message names all of it at once.
pub struct Prerequisites {
    test: String,
    missing: Vec<String>,
}

impl Prerequisites {
    /// The prerequisites of the running test (named after its thread, which the test harness names after it).
    #[allow(clippy::new_without_default)] // `new` reads the running test's name: not a plain default
    pub fn new() -> Prerequisites {
        let test = std::thread::current().name().map(|n| format!("test {n}")).unwrap_or_else(|| "this test".into());
        Prerequisites { test, missing: Vec::new() }
    }

    /// An executable on PATH.
    pub fn tool(mut self, name: &str) -> Prerequisites {
        if on_path(name).is_none() {
            self.missing.push(format!("`{name}` is not on PATH (.ci/install-deps installs it)"));
        }
        self
    }

    /// A file that must exist (a built page, a fixture, a program at a fixed path).
    pub fn file(mut self, path: &Path, what: &str) -> Prerequisites {
        if !path.exists() {
            self.missing.push(format!("{what} is missing: {}", path.display()));
        }
        self
    }

    /// Root (network and mount namespaces, loop mounts).
    pub fn root(mut self) -> Prerequisites {
        if !is_root() {
            self.missing.push("it must run as root".to_string());
        }
        self
    }

    /// Whether the test can run: `true` when nothing is missing; otherwise fails under CI, or prints why it is
    /// skipped and returns `false`.
    pub fn met(self) -> bool {
        if self.missing.is_empty() {
            return true;
        }
        let why = self.missing.join("; ");
        if in_ci() {
            panic!("CI=true and {} cannot run: {why}", self.test);
        }
        eprintln!("skipping {}: {why}", self.test);
        false
    }
}

/// Whether this run is CI's (`CI=true`, as `.ci/test` sets it), where no test may be skipped.
pub fn in_ci() -> bool {
    matches!(std::env::var("CI").as_deref(), Ok("true" | "1"))
}

/// The executable `name` on PATH, if any.
pub fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0))
}

pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("Uid:")).map(|l| l.split_whitespace().nth(1) == Some("0")))
        .unwrap_or(false)
}
