//! Errors that are the caller's mistake (exit code 2), as opposed to failures while working (exit code 1).

use std::fmt;

/// One or more `<field>: <why>` problems with the input. Printed one per line as `error: <field>: <why>`.
#[derive(Debug)]
pub struct UsageError(pub Vec<String>);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join("\n"))
    }
}

impl std::error::Error for UsageError {}

/// Exit code for invalid input (like clap's own usage errors).
pub const EXIT_USAGE: i32 = 2;
