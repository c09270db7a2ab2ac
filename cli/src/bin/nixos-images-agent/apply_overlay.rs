//! `apply-overlay --root DIR [--overlay-dir DIR]`: installs the overlay (layout v1) into the target root.

use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use nixos_images_core::agent::install::{self as plan, *};

use crate::safe_fs::{list_overlay_dir, read_overlay_file, Change, Root};
use crate::{warn, ApplyOverlayArgs};

/// One file to install: target path, contents, mode, mode of directories created for it.
struct Install {
    target: String,
    contents: Vec<u8>,
    mode: u32,
    dir_mode: u32,
}

pub fn run(args: &ApplyOverlayArgs) -> Result<i32> {
    let overlay = args.overlay_dir.as_path();
    let root = Root::open(&args.root)?;

    // Everything is read and checked before anything is written.
    let version = read_text(overlay, SRC_LAYOUT_VERSION)?;
    plan::check_layout_version(version.as_deref()).map_err(|e| anyhow!("{}: {e}", overlay.display()))?;
    let (installs, warnings) = collect(overlay, &root)?;
    for w in &warnings {
        warn(w);
    }

    for i in &installs {
        root.check(&i.target)?;
    }

    let mut written = 0;
    let mut unchanged = 0;
    // root/.ssh is 0700 whatever it was (sshd ignores keys in a directory others can write).
    if installs.iter().any(|i| i.target == DST_AUTHORIZED_KEYS) {
        root.dir("root", PRIVATE_DIR_MODE, false)?;
        root.dir("root/.ssh", PRIVATE_DIR_MODE, true)?;
    }
    for i in &installs {
        match root.write(&i.target, &i.contents, i.mode, i.dir_mode)? {
            Change::Written => written += 1,
            Change::Unchanged => unchanged += 1,
        }
    }
    println!(
        "apply-overlay: {} file{} installed into {} ({written} written, {unchanged} already up to date), {} warning{}",
        installs.len(),
        if installs.len() == 1 { "" } else { "s" },
        args.root.display(),
        warnings.len(),
        if warnings.len() == 1 { "" } else { "s" }
    );
    Ok(0)
}

fn collect(overlay: &Path, root: &Root) -> Result<(Vec<Install>, Vec<String>)> {
    let mut installs = vec![];
    let mut warnings = vec![];

    if let Some(new) = read_text(overlay, SRC_AUTHORIZED_KEYS)? {
        let existing = root.read(DST_AUTHORIZED_KEYS)?;
        let existing = existing.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_default();
        installs.push(Install {
            target: DST_AUTHORIZED_KEYS.into(),
            contents: merge_authorized_keys(&existing, &new).into_bytes(),
            mode: PRIVATE_FILE_MODE,
            dir_mode: PRIVATE_DIR_MODE,
        });
    }

    for name in list_overlay_dir(&overlay.join(SRC_SSH_DIR))? {
        if !name.starts_with("ssh_host_") {
            continue;
        }
        let Some(mode) = host_key_mode(&name) else {
            warnings
                .push(format!("{SRC_SSH_DIR}/{name:?} is not a host key's name (ssh_host_<type>_key[.pub]); skipped"));
            continue;
        };
        let contents = read_required(overlay, &format!("{SRC_SSH_DIR}/{name}"))?;
        installs.push(Install { target: format!("{DST_SSH_DIR}/{name}"), contents, mode, dir_mode: DIR_MODE });
    }

    if let Some(text) = read_text(overlay, SRC_MACHINE_ID)? {
        match machine_id_contents(&text) {
            Ok(id) => installs.push(Install {
                target: DST_MACHINE_ID.into(),
                contents: id.into_bytes(),
                mode: MACHINE_ID_MODE,
                dir_mode: DIR_MODE,
            }),
            Err(e) => warnings.push(format!("{SRC_MACHINE_ID}: {e}; not installed")),
        }
    }

    for (dir, iface) in [(SRC_REQUEST_NETWORKD_DIR, false), (SRC_IFACE_NETWORKD_DIR, true)] {
        for name in list_overlay_dir(&overlay.join(dir))? {
            let path = format!("{dir}/{name}");
            if !networkd_file_ok(&name, iface) {
                warnings.push(format!("{path:?} is not a networkd unit name this agent installs; skipped"));
                continue;
            }
            let contents = read_required(overlay, &path)?;
            installs.push(Install {
                target: format!("{DST_NETWORKD_DIR}/{name}"),
                contents,
                mode: FILE_MODE,
                dir_mode: DIR_MODE,
            });
        }
    }

    if let Some(text) = read_text(overlay, SRC_HOSTNAME)? {
        match hostname_contents(&text) {
            Ok(h) => installs.push(Install {
                target: DST_HOSTNAME.into(),
                contents: h.into_bytes(),
                mode: FILE_MODE,
                dir_mode: DIR_MODE,
            }),
            Err(e) => warnings.push(format!("{SRC_HOSTNAME}: {e}; not installed")),
        }
    }

    if let Some(text) = read_text(overlay, SRC_NAMESERVERS)? {
        let (dropin, w) = resolved_dropin(&text);
        warnings.extend(w);
        if let Some(d) = dropin {
            installs.push(Install {
                target: DST_RESOLVED_DROPIN.into(),
                contents: d.into_bytes(),
                mode: FILE_MODE,
                dir_mode: DIR_MODE,
            });
        }
    }

    for file in DUMP_FILES {
        let found = SRC_DUMP_DIRS.iter().map(|d| if d.is_empty() { file.to_string() } else { format!("{d}/{file}") });
        for src in found {
            if let Some(contents) = read_overlay_file(&overlay.join(&src))? {
                installs.push(Install {
                    target: format!("{DST_NETWORK_DUMPS_DIR}/{file}"),
                    contents,
                    mode: PRIVATE_FILE_MODE,
                    dir_mode: PRIVATE_DIR_MODE,
                });
                break;
            }
        }
    }
    Ok((installs, warnings))
}

fn read_text(overlay: &Path, rel: &str) -> Result<Option<String>> {
    match read_overlay_file(&overlay.join(rel))? {
        Some(bytes) => {
            String::from_utf8(bytes).map(Some).map_err(|_| anyhow!("{} is not UTF-8 text", overlay.join(rel).display()))
        }
        None => Ok(None),
    }
}

fn read_required(overlay: &Path, rel: &str) -> Result<Vec<u8>> {
    match read_overlay_file(&overlay.join(rel)).with_context(|| format!("reading the overlay's {rel}"))? {
        Some(b) => Ok(b),
        None => bail!("{} disappeared while it was read", overlay.join(rel).display()),
    }
}
