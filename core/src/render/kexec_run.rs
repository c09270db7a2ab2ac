//! `kexec/run`: the POSIX sh script that boots the kexec installer, with the request's settings built in.
//!
//! Every value from the request reaches the script through [`ShellWord`], so no key comment or parameter can
//! change what the script does.

use askama::Template;

use crate::escape::{ShellWord, SHELLCHECK_LITERAL_TEXT};
use crate::overlay_layout as layout;
use crate::release::ReleaseBoot;
use crate::render::overlay::{self, AUTHORIZED_KEYS};
use crate::validate::KERNEL_CMDLINE_LIMIT;
use crate::{Artifact, ValidRequest};

#[path = "kexec_run/dump.rs"]
mod dump;

/// The name the release's own run script must have next to ours (it holds the `init=` path).
pub const RELEASE_RUN_NAME: &str = "run.release";

/// The delimiter of the script's here-documents (the request's dump entries). No rendered line equals it: the
/// entries are JSON objects and `index mac name` lines.
const DUMP_DELIMITER: &str = "NIXOS_IMAGES_DUMP_END";

/// MemTotal (KiB) below which the script refuses to kexec: the installer needs about 1 GiB of RAM, and MemTotal
/// reads a little below the installed amount.
pub const MIN_MEM_KIB: u64 = 900 * 1024;

#[derive(Template)]
#[template(path = "kexec-run.sh", escape = "none")]
struct RunScript<'a> {
    generated_by: String,
    summary: String,
    delay: u32,
    release_run: &'static str,
    release: Option<&'a ReleaseBoot>,
    request_params: String,
    cmdline_limit: usize,
    min_mem_kib: u64,
    request_keys: String,
    request_files: String,
    request_flags: String,
    layout_version: u32,
    has_interfaces: bool,
    delimiter: &'static str,
    request_interfaces: String,
    request_addrs: String,
    request_routes_v4: String,
    request_routes_v6: String,
    // Names of overlay layout v1 (crate::overlay_layout).
    authorized_keys: &'static str,
    ssh_dir: &'static str,
    networkd_dir: &'static str,
    iface_networkd_dir: &'static str,
    machine_id: &'static str,
    addrs: &'static str,
    routes_v4: &'static str,
    routes_v6: &'static str,
}

pub fn render(req: &ValidRequest) -> Artifact {
    Artifact::single("kexec/run", 0o755, script(req))
}

/// The script's text, reading the release's init path from `kexec/run.release`.
pub fn script(req: &ValidRequest) -> String {
    script_with_release(req, None)
}

/// The script's text. With `release` (the image's own run script, rendered when the image is built) the init
/// path and kernel parameters are built in as the lines `init="/nix/store/..."` and `kernelParams="..."`, the
/// ones a customized script reads from `kexec/run.release`, and no `run.release` is needed.
pub fn script_with_release(req: &ValidRequest, release: Option<&ReleaseBoot>) -> String {
    let request_keys = if req.ssh_authorized_keys.is_empty() {
        ": none".to_string()
    } else {
        let mut s = format!("# shellcheck disable={SHELLCHECK_LITERAL_TEXT}\nprintf '%s\\n'");
        for k in &req.ssh_authorized_keys {
            s.push_str(" \\\n  ");
            s.push_str(&ShellWord(k.as_str()).to_string());
        }
        s.push_str(" >>\"$keys_collected\"");
        s
    };
    let mut request_files = String::new();
    for f in overlay::files(req) {
        if f.path == AUTHORIZED_KEYS {
            continue; // merged with the collected keys above
        }
        // Renderers only put UTF-8 text into overlay files.
        let text = String::from_utf8_lossy(&f.contents);
        request_files.push_str(&format!(
            "printf '%s' {} >{}\nchmod {:04o} {}\n",
            ShellWord(&text),
            ShellWord(&f.path),
            f.mode,
            ShellWord(&f.path)
        ));
    }
    let request_flags: String = req.kexec.extra_flags.iter().map(|f| format!(" {}", ShellWord(f.as_str()))).collect();
    let script = RunScript {
        generated_by: super::generated_by(req),
        summary: summary(req),
        delay: req.kexec.delay_seconds,
        release_run: RELEASE_RUN_NAME,
        release,
        request_params: ShellWord(&super::cmdline::line(req)).to_string(),
        cmdline_limit: KERNEL_CMDLINE_LIMIT,
        min_mem_kib: MIN_MEM_KIB,
        request_keys,
        request_files,
        request_flags,
        layout_version: overlay::LAYOUT_VERSION,
        has_interfaces: !req.interfaces.is_empty(),
        delimiter: DUMP_DELIMITER,
        request_interfaces: dump::interface_lines(req),
        request_addrs: dump::addr_entries(req),
        request_routes_v4: dump::route_entries(req, false),
        request_routes_v6: dump::route_entries(req, true),
        authorized_keys: layout::AUTHORIZED_KEYS,
        ssh_dir: layout::SSH_DIR,
        networkd_dir: layout::NETWORKD_DIR,
        iface_networkd_dir: layout::IFACE_NETWORKD_DIR,
        machine_id: layout::MACHINE_ID,
        addrs: layout::ADDRS_DUMP,
        routes_v4: layout::ROUTES_V4_DUMP,
        routes_v6: layout::ROUTES_V6_DUMP,
    };
    // Rendering only fails if a Display impl fails, and ours do not.
    let mut text = script.render().expect("kexec run template renders");
    if !text.ends_with('\n') {
        text.push('\n');
    }
    text
}

/// A short description of what the request adds, for the script's header.
pub fn summary(req: &ValidRequest) -> String {
    let mut parts = vec![format!(
        "{} SSH key{}",
        req.ssh_authorized_keys.len(),
        if req.ssh_authorized_keys.len() == 1 { "" } else { "s" }
    )];
    if req.interfaces.is_empty() {
        parts.push("DHCP".into());
    } else {
        parts.push(format!(
            "{} configured interface{}",
            req.interfaces.len(),
            if req.interfaces.len() == 1 { "" } else { "s" }
        ));
    }
    if let Some(h) = &req.hostname {
        parts.push(format!("host name {}", h.as_str()));
    }
    parts.join(", ")
}
