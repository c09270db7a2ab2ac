//! `apply-overlay`: where each file of the overlay (layout v1, ARCHITECTURE.md) goes in the target root, and the
//! contents it gets there. The agent does the I/O; every decision about names, modes and contents is here.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::overlay_layout::{
    AUTHORIZED_KEYS, DUMP_FILES as LAYOUT_DUMP_FILES, HOSTNAME_FILE, IFACE_NETWORKD_DIR, LAYOUT_VERSION,
    LAYOUT_VERSION_FILE, LEGACY_DUMP_DIR, MACHINE_ID, NAMESERVERS_FILE, NETWORKD_DIR, SSH_DIR,
};

/// Layout versions this agent can apply.
pub const KNOWN_LAYOUT_VERSIONS: &[u32] = &[LAYOUT_VERSION];

/// Overlay sources (relative to the overlay directory).
pub const SRC_AUTHORIZED_KEYS: &str = AUTHORIZED_KEYS;
pub const SRC_SSH_DIR: &str = SSH_DIR;
pub const SRC_MACHINE_ID: &str = MACHINE_ID;
pub const SRC_LAYOUT_VERSION: &str = LAYOUT_VERSION_FILE;
pub const SRC_HOSTNAME: &str = HOSTNAME_FILE;
pub const SRC_NAMESERVERS: &str = NAMESERVERS_FILE;
pub const SRC_REQUEST_NETWORKD_DIR: &str = NETWORKD_DIR;
pub const SRC_IFACE_NETWORKD_DIR: &str = IFACE_NETWORKD_DIR;
/// The `ip --json` dumps, read from `iproute2/` first (an early run script's), then from the top level.
pub const SRC_DUMP_DIRS: &[&str] = &[LEGACY_DUMP_DIR, ""];
pub const DUMP_FILES: &[&str] = LAYOUT_DUMP_FILES;

/// Targets (relative to the target root).
pub const DST_AUTHORIZED_KEYS: &str = "root/.ssh/authorized_keys";
pub const DST_SSH_DIR: &str = "etc/ssh";
pub const DST_MACHINE_ID: &str = "etc/machine-id";
pub const DST_NETWORKD_DIR: &str = "etc/systemd/network";
pub const DST_HOSTNAME: &str = "etc/hostname";
pub const DST_RESOLVED_DROPIN: &str = "etc/systemd/resolved.conf.d/nixos-images.conf";
/// Where `restore-network` reads the dumps from.
pub const DST_NETWORK_DUMPS_DIR: &str = "root/network";

/// Modes.
pub const PRIVATE_DIR_MODE: u32 = 0o700;
pub const DIR_MODE: u32 = 0o755;
pub const PRIVATE_FILE_MODE: u32 = 0o600;
pub const FILE_MODE: u32 = 0o644;
pub const MACHINE_ID_MODE: u32 = 0o444;

/// Reads `nixos-images/layout-version`. An overlay without one (written by the seed's run script, whose files mean
/// the same in layout 1) is applied as version 1; a version this agent does not know is refused.
pub fn check_layout_version(contents: Option<&str>) -> Result<u32, String> {
    let Some(text) = contents else { return Ok(LAYOUT_VERSION) };
    let text = text.trim();
    match text.parse::<u32>() {
        Ok(v) if KNOWN_LAYOUT_VERSIONS.contains(&v) => Ok(v),
        Ok(v) => Err(format!(
            "the overlay has layout version {v}, which this agent does not know (it knows {}); refusing to apply it",
            LAYOUT_VERSION
        )),
        Err(_) => Err(format!(
            "the overlay's {LAYOUT_VERSION_FILE} holds {:?}, not a layout version; refusing to apply it",
            super::iproute::printable(text)
        )),
    }
}

/// Root's `authorized_keys` after the merge: the existing lines first (as they were), then each new key that is
/// not there yet. Blank lines of the new file are dropped; the result ends with a newline.
pub fn merge_authorized_keys(existing: &str, new: &str) -> String {
    let mut seen: HashSet<&str> = HashSet::new();
    let mut out = String::new();
    for line in existing.lines() {
        let key = line.trim_end();
        if !key.trim().is_empty() && !seen.insert(key) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    for line in new.lines() {
        let key = line.trim_end();
        if key.trim().is_empty() || !seen.insert(key) {
            continue;
        }
        out.push_str(key);
        out.push('\n');
    }
    out
}

/// `etc/hostname` from `nixos-images/hostname`: one RFC 1123 label.
pub fn hostname_contents(text: &str) -> Result<String, String> {
    let name = text.lines().next().unwrap_or("").trim();
    name.parse::<crate::model::Hostname>().map(|h| format!("{}\n", h.as_str())).map_err(|e| format!("host name {e}"))
}

/// `etc/machine-id`: 32 lower-case hex digits and a newline.
pub fn machine_id_contents(text: &str) -> Result<String, String> {
    let id = text.trim();
    if id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()) && id != "0".repeat(32) {
        Ok(format!("{}\n", id.to_ascii_lowercase()))
    } else {
        Err("the machine-id is not 32 hex digits".into())
    }
}

/// The resolved drop-in for `nixos-images/nameservers` (one address a line). Lines that are not addresses are
/// left out, with a message each; `None` when no address is left.
pub fn resolved_dropin(text: &str) -> (Option<String>, Vec<String>) {
    let mut addrs: Vec<IpAddr> = vec![];
    let mut warnings = vec![];
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match line.parse::<IpAddr>() {
            Ok(a) if !addrs.contains(&a) => addrs.push(a),
            Ok(_) => {}
            Err(_) => warnings.push(format!(
                "{NAMESERVERS_FILE}: {:?} is not an IP address; left out",
                super::iproute::printable(line)
            )),
        }
    }
    if addrs.is_empty() {
        return (None, warnings);
    }
    let list: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    let dropin = format!(
        "# Written by nixos-images-agent apply-overlay from the overlay's {NAMESERVERS_FILE}.\n[Resolve]\nDNS={}\n",
        list.join(" ")
    );
    (Some(dropin), warnings)
}

/// The mode an SSH host key file gets in `etc/ssh/`, or `None` when the name is not a host key's
/// (`ssh_host_<type>_key` and its `.pub`).
pub fn host_key_mode(name: &str) -> Option<u32> {
    let rest = name.strip_prefix("ssh_host_")?;
    let (stem, public) = match rest.strip_suffix(".pub") {
        Some(s) => (s, true),
        None => (rest, false),
    };
    let kind = stem.strip_suffix("_key")?;
    if kind.is_empty() || !kind.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return None;
    }
    Some(if public { FILE_MODE } else { PRIVATE_FILE_MODE })
}

/// Whether a file of the overlay's networkd directories may be installed under that name: `*.network` for the
/// request's units; `*.network`, `*.netdev`, `*.link` for the machine's own; no hidden or odd names.
pub fn networkd_file_ok(name: &str, iface_dir: bool) -> bool {
    let suffixes: &[&str] = if iface_dir { &[".network", ".netdev", ".link"] } else { &[".network"] };
    !name.starts_with('.')
        && name.len() <= 255
        && suffixes.iter().any(|s| name.len() > s.len() && name.ends_with(s))
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.@:-".contains(&b))
}

/// Splits a relative path into its components, refusing what could leave the root: absolute paths, `..`, `.`,
/// empty components and NUL bytes.
pub fn relative_components(path: &str) -> Result<Vec<&str>, String> {
    if path.is_empty() {
        return Err("an empty path".into());
    }
    if path.starts_with('/') {
        return Err(format!("{path:?} is absolute"));
    }
    if path.contains('\0') {
        return Err(format!("{:?} contains a NUL byte", super::iproute::printable(path)));
    }
    let parts: Vec<&str> = path.split('/').collect();
    for p in &parts {
        match *p {
            "" => return Err(format!("{path:?} has an empty component")),
            "." | ".." => return Err(format!("{path:?} has a `{p}` component")),
            _ => {}
        }
    }
    Ok(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_versions() {
        assert_eq!(check_layout_version(None), Ok(1));
        assert_eq!(check_layout_version(Some("1\n")), Ok(1));
        let e = check_layout_version(Some("2\n")).unwrap_err();
        assert!(e.contains("layout version 2") && e.contains("refusing"), "{e}");
        assert!(check_layout_version(Some("one")).is_err());
        assert!(check_layout_version(Some("")).is_err());
    }

    #[test]
    fn authorized_keys_merge_keeps_existing_lines_first_once() {
        let existing = "# mine\nssh-ed25519 AAAA a\n\nssh-ed25519 AAAA a\nssh-rsa BBBB b";
        let new = "ssh-ed25519 CCCC c\nssh-rsa BBBB b\n\nssh-ed25519 CCCC c  \n";
        let merged = merge_authorized_keys(existing, new);
        assert_eq!(merged, "# mine\nssh-ed25519 AAAA a\n\nssh-rsa BBBB b\nssh-ed25519 CCCC c\n");
        // Idempotent.
        assert_eq!(merge_authorized_keys(&merged, new), merged);
        assert_eq!(merge_authorized_keys("", ""), "");
    }

    #[test]
    fn host_keys_and_networkd_names() {
        assert_eq!(host_key_mode("ssh_host_ed25519_key"), Some(0o600));
        assert_eq!(host_key_mode("ssh_host_ed25519_key.pub"), Some(0o644));
        assert_eq!(host_key_mode("ssh_host_rsa_key-cert.pub"), None);
        assert_eq!(host_key_mode("ssh_host__key"), None);
        assert_eq!(host_key_mode("authorized_keys"), None);
        assert!(networkd_file_ok("00-00-nixos-images-000.network", false));
        assert!(!networkd_file_ok("00-eth0.netdev", false));
        assert!(networkd_file_ok("00-eth0.netdev", true));
        assert!(networkd_file_ok("00-eth0.10@eth0.network", true));
        for bad in [".network", ".hidden.network", "a b.network", "x\n.network", "x.conf", "../x.network"] {
            assert!(!networkd_file_ok(bad, true), "{bad:?}");
        }
    }

    #[test]
    fn small_files() {
        assert_eq!(hostname_contents("web1\n"), Ok("web1\n".into()));
        assert!(hostname_contents("web 1\n").is_err());
        assert!(hostname_contents("").is_err());
        let id = "0123456789ABCDEF0123456789abcdef\n";
        assert_eq!(machine_id_contents(id), Ok(id.to_ascii_lowercase()));
        assert!(machine_id_contents("uninitialized\n").is_err());
        let (d, w) = resolved_dropin("192.0.2.53\n2001:db8::53\nnot-an-ip\n192.0.2.53\n");
        assert!(d.unwrap().ends_with("[Resolve]\nDNS=192.0.2.53 2001:db8::53\n"));
        assert_eq!(w.len(), 1);
        assert_eq!(resolved_dropin("\n").0, None);
    }

    #[test]
    fn paths_that_leave_the_root_are_refused() {
        assert_eq!(relative_components("etc/ssh/x"), Ok(vec!["etc", "ssh", "x"]));
        for bad in ["", "/etc", "etc/../x", "./etc", "etc//x", "etc/", "a\0b"] {
            assert!(relative_components(bad).is_err(), "{bad:?}");
        }
    }
}
