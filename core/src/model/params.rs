//! What the request adds to the installer's boot: its host name, kernel parameters and kexec flags.

use std::str::FromStr;

use super::printable_char;
use crate::agent::watchdog;
use crate::escape::printable;
use crate::ssh_key::describe_char;

/// An RFC 1123 host name label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hostname(String);
text_type!(Hostname);

impl FromStr for Hostname {
    type Err = String;
    fn from_str(s: &str) -> Result<Hostname, String> {
        if s.is_empty() {
            return Err("must not be empty (leave it out to keep the installer's default)".into());
        }
        if s.len() > 63 {
            return Err(format!("is {} bytes long; a host name label has at most 63", s.len()));
        }
        if let Some(c) = s.chars().find(|c| !(c.is_ascii_alphanumeric() || *c == '-')) {
            return Err(format!(
                "contains `{}`; a host name has only letters, digits and `-` (RFC 1123; no dots: it is one label)",
                printable_char(c)
            ));
        }
        if s.starts_with('-') || s.ends_with('-') {
            return Err("must not start or end with `-`".into());
        }
        Ok(Hostname(s.to_string()))
    }
}

/// One kernel command-line parameter: no blanks, quotes, control characters or iPXE `${`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelParam(String);
text_type!(KernelParam);

impl FromStr for KernelParam {
    type Err = String;
    fn from_str(s: &str) -> Result<KernelParam, String> {
        if s.is_empty() {
            return Err("empty parameter".into());
        }
        if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "contains {}; one entry is one parameter, without blanks or control characters",
                describe_char(c)
            ));
        }
        if s.contains('"') {
            return Err("contains a double quote, which the kernel would read as the start of a quoted value".into());
        }
        if s.contains("${") {
            return Err("contains `${`, which iPXE would expand as a variable".into());
        }
        if s.starts_with("initrd=") || s.starts_with("init=") {
            return Err("init= and initrd= are set by the image itself".into());
        }
        // The agent reads this one; a value it would refuse must not get as far as the installer.
        if let Some(value) = s.strip_prefix(watchdog::CMDLINE_KEY).and_then(|rest| rest.strip_prefix('=')) {
            watchdog::parse_seconds(value)?;
        }
        Ok(KernelParam(s.to_string()))
    }
}

/// A kexec flag from the request, passed to `kexec` as one argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KexecFlag(String);
text_type!(KexecFlag);

impl KexecFlag {
    /// The flags the run script sets itself; a request may not pass them.
    const OWNED_BY_RUN_SCRIPT: [&str; 8] =
        ["--load", "-l", "--exec", "-e", "--initrd", "--command-line", "--append", "--reuse-cmdline"];
}

impl FromStr for KexecFlag {
    type Err = String;
    fn from_str(s: &str) -> Result<KexecFlag, String> {
        if !s.starts_with('-') {
            return Err(format!("`{}` is not a flag (kexec flags start with `-`)", printable(s, 60)));
        }
        if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("contains {}; put each flag in its own entry", describe_char(c)));
        }
        let name = s.split('=').next().unwrap_or(s);
        if KexecFlag::OWNED_BY_RUN_SCRIPT.contains(&name) {
            return Err(format!("{name} is set by the run script itself"));
        }
        Ok(KexecFlag(s.to_string()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kexec {
    pub delay_seconds: u32,
    pub extra_flags: Vec<KexecFlag>,
    /// `panic=` for the installer's kernel; `None`: the kernel's default (it hangs).
    pub panic_reboot_seconds: Option<u32>,
    /// The rollback watchdog's timeout (`nixos_images.rollback_seconds=`); `None`: off.
    pub rollback_minutes: Option<u32>,
}
