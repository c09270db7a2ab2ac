//! The request's front door on the command line: `--request FILE` and/or flags, merged into one core `Request`.
//!
//! Scalars given as flags override the file; list flags append to the file's lists. Interface flags name the
//! interface by MAC (`52:54:00:12:34:56`) or Linux name (`eth0`) and add to the interface with that match, or
//! create it.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use nixos_images_core::effects;
use nixos_images_core::manifest::Manifest;
use nixos_images_core::request::{InterfaceRequest, RouteRequest};
use nixos_images_core::{FieldPath, Installer, Request, RequestFormat, ValidRequest};

use crate::errors::UsageError;

#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Request")]
pub struct RequestArgs {
    /// Request file (TOML, or JSON when it starts with `{`); `-` reads standard input
    #[arg(long, short = 'r', value_name = "FILE")]
    pub request: Option<PathBuf>,
    /// Image kind: kexec, kexec-noninteractive or netboot
    #[arg(long, value_name = "KIND")]
    pub image: Option<String>,
    /// Architecture: x86_64-linux or aarch64-linux
    #[arg(long, value_name = "ARCH")]
    pub arch: Option<String>,
    /// Channel: nixos-unstable or nixos-YY.MM
    #[arg(long, value_name = "CHANNEL")]
    pub channel: Option<String>,
    /// Host name of the installer (one RFC 1123 label)
    #[arg(long, value_name = "NAME")]
    pub hostname: Option<String>,
    /// An OpenSSH public key line for root (repeatable)
    #[arg(long = "ssh-key", value_name = "KEY")]
    pub ssh_keys: Vec<String>,
    /// A file of public keys, one per line, like authorized_keys (repeatable)
    #[arg(long = "ssh-key-file", value_name = "FILE")]
    pub ssh_key_files: Vec<PathBuf>,
    /// Kernel parameter added to the command line (repeatable)
    #[arg(long = "kernel-param", value_name = "PARAM", allow_hyphen_values = true)]
    pub kernel_params: Vec<String>,
    /// DNS server address (repeatable)
    #[arg(long = "nameserver", value_name = "IP")]
    pub nameservers: Vec<String>,
    /// Static address for an interface, IFACE=CIDR; IFACE is a MAC or a Linux name (repeatable)
    #[arg(long = "address", value_name = "IFACE=CIDR")]
    pub addresses: Vec<String>,
    /// Route for an interface: IFACE=DEST[,via=GATEWAY][,on-link]; DEST is `default` or a CIDR (repeatable)
    #[arg(long = "route", value_name = "IFACE=ROUTE")]
    pub routes: Vec<String>,
    /// Turn DHCP on or off for an interface: IFACE=yes|no (default yes)
    #[arg(long = "dhcp", value_name = "IFACE=yes|no")]
    pub dhcp: Vec<String>,
    /// Base URL of the release downloads
    #[arg(long, value_name = "URL")]
    pub release_base_url: Option<String>,
    /// Release tag (default: the channel)
    #[arg(long, value_name = "TAG")]
    pub release_tag: Option<String>,
    /// SHA-256 of the kexec tarball; the install command then verifies the download
    #[arg(long, value_name = "HEX")]
    pub release_sha256: Option<String>,
    /// A release of this project's images by its manifest.json: sets the channel, base URL, tag, installer
    /// (nixos-images) and the kexec tarball's SHA-256 (flags still override)
    #[arg(long, value_name = "FILE")]
    pub release_manifest: Option<PathBuf>,
    /// Which images the release holds: upstream (nix-community's, the default) or nixos-images (this project's);
    /// it decides which fields take effect
    #[arg(long, value_name = "FAMILY")]
    pub installer: Option<String>,
    /// Refuse the request (exit 2, nothing written) when the installer would ignore a field it sets
    #[arg(long)]
    pub strict: bool,
    /// Seconds between `kexec/run` finishing and the kexec, so the SSH session that ran it closes first (3 to
    /// 3600; default 6)
    #[arg(long, value_name = "SECONDS")]
    pub kexec_delay: Option<u32>,
    /// Seconds from a kernel panic in the installer to a reboot into the system on disk (0: never; default 60)
    #[arg(long, value_name = "SECONDS")]
    pub panic_reboot: Option<u32>,
    /// Minutes from the installer's boot to a reboot into the system on disk unless someone logs in over SSH
    /// (this project's kexec images; 0: off; default 15)
    #[arg(long, value_name = "MINUTES")]
    pub rollback: Option<u32>,
    /// Extra flag passed to kexec (repeatable), e.g. --kexec-extra-flag=--kexec-file-syscall
    #[arg(long = "kexec-extra-flag", value_name = "FLAG", allow_hyphen_values = true)]
    pub kexec_extra_flags: Vec<String>,
}

impl RequestArgs {
    /// Reads the request file (if any) and applies the flags; also returns, for each of its SSH keys, where it came
    /// from when a flag added it (`--ssh-key-file keys.pub line 3`), so errors can say which line of which file is
    /// wrong. Problems with the flags themselves are usage errors naming the flag; problems with values are left to
    /// validation.
    fn to_request_with_key_origins(&self) -> Result<(Request, Vec<Option<String>>)> {
        let mut req = match &self.request {
            Some(path) => read_request_file(path)?,
            None => Request::default(),
        };
        let mut errors = Vec::new();
        set(&mut req.image, &self.image);
        set(&mut req.arch, &self.arch);
        if let Some(path) = &self.release_manifest {
            let text = read_text(path, "--release-manifest")?;
            let manifest = Manifest::parse(&text).map_err(|errs| {
                let lines = errs.0.iter().map(|e| format!("--release-manifest: {}: {e}", path.display())).collect();
                UsageError(lines)
            })?;
            manifest.apply_to(&mut req);
        }
        set(&mut req.channel, &self.channel);
        if let Some(h) = &self.hostname {
            req.hostname = Some(h.clone());
        }
        let mut origins: Vec<Option<String>> = vec![None; req.ssh_authorized_keys.len()];
        for (i, key) in self.ssh_keys.iter().enumerate() {
            req.ssh_authorized_keys.push(key.clone());
            origins.push(Some(format!("--ssh-key number {}", i + 1)));
        }
        for path in &self.ssh_key_files {
            let text = read_text(path, "--ssh-key-file")?;
            if nixos_images_core::ssh_key::contains_private_key(&text) {
                // Hand the whole file to validation so it reports one "private key" error without echoing it.
                req.ssh_authorized_keys.push(text);
                origins.push(Some(format!("--ssh-key-file {}", path.display())));
                continue;
            }
            for (n, line) in text.lines().enumerate() {
                let line = line.trim();
                if !line.is_empty() && !line.starts_with('#') {
                    req.ssh_authorized_keys.push(line.to_string());
                    origins.push(Some(format!("--ssh-key-file {} line {}", path.display(), n + 1)));
                }
            }
        }
        req.kernel_params.extend(self.kernel_params.iter().cloned());
        req.nameservers.extend(self.nameservers.iter().cloned());
        for spec in &self.addresses {
            match spec.split_once('=') {
                Some((iface, cidr)) => interface(&mut req, iface).addresses.push(cidr.to_string()),
                None => errors.push(format!("--address: `{spec}` is not IFACE=CIDR")),
            }
        }
        for spec in &self.routes {
            match parse_route_flag(spec) {
                Ok((iface, route)) => interface(&mut req, &iface).routes.push(route),
                Err(e) => errors.push(format!("--route: {e}")),
            }
        }
        for spec in &self.dhcp {
            match spec.split_once('=') {
                Some((iface, "yes" | "true")) => interface(&mut req, iface).dhcp = true,
                Some((iface, "no" | "false")) => interface(&mut req, iface).dhcp = false,
                _ => errors.push(format!("--dhcp: `{spec}` is not IFACE=yes or IFACE=no")),
            }
        }
        if let Some(u) = &self.release_base_url {
            req.release.base_url = Some(u.clone());
        }
        if let Some(t) = &self.release_tag {
            req.release.tag = Some(t.clone());
        }
        if let Some(s) = &self.release_sha256 {
            req.release.kexec_tarball_sha256 = Some(s.clone());
        }
        if let Some(i) = &self.installer {
            req.release.installer = Some(i.clone());
        }
        req.strict |= self.strict;
        if let Some(d) = self.kexec_delay {
            req.kexec.delay_seconds = d;
        }
        if let Some(p) = self.panic_reboot {
            req.kexec.panic_reboot_seconds = p;
        }
        if let Some(m) = self.rollback {
            req.kexec.rollback_minutes = m;
        }
        req.kexec.extra_flags.extend(self.kexec_extra_flags.iter().cloned());
        if !errors.is_empty() {
            return Err(UsageError(errors).into());
        }
        Ok((req, origins))
    }

    /// The request, validated; every field error becomes one `error: <field>: <why>` line. What the installer
    /// will ignore or apply only in part is printed on stderr first, one `warning:`/`note:` line per field.
    pub fn to_valid_request(&self) -> Result<ValidRequest> {
        let (req, origins) = self.to_request_with_key_origins()?;
        validated(&req, &origins)
    }

    /// The request validated for this project's own images (`build` makes one, whatever the release says).
    pub fn to_valid_request_for(&self, installer: Installer) -> Result<ValidRequest> {
        let (mut req, origins) = self.to_request_with_key_origins()?;
        req.release.installer = Some(installer.as_str().to_string());
        validated(&req, &origins)
    }
}

fn validated(req: &Request, origins: &[Option<String>]) -> Result<ValidRequest> {
    let valid = req.validate().map_err(|errs| {
        let lines = errs
            .0
            .iter()
            .map(|e| {
                let origin = e
                    .path
                    .entry_of(&FieldPath::field("ssh_authorized_keys"))
                    .and_then(|i| origins.get(i).cloned().flatten());
                match origin {
                    Some(origin) => format!("{e} (from {origin})"),
                    None => e.to_string(),
                }
            })
            .collect();
        anyhow::Error::from(UsageError(lines))
    })?;
    for notice in effects::notices(&valid) {
        eprintln!("{notice}");
    }
    Ok(valid)
}

fn set(field: &mut String, value: &Option<String>) {
    if let Some(v) = value {
        *field = v.clone();
    }
}

/// The interface with this match (MAC or name), created with the schema's defaults if absent.
fn interface<'a>(req: &'a mut Request, iface: &str) -> &'a mut InterfaceRequest {
    let is_mac = iface.len() == 17 && iface.matches(':').count() == 5;
    let pos = req.interfaces.iter().position(|i| {
        if is_mac {
            i.match_mac.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(iface))
        } else {
            i.match_name.as_deref() == Some(iface)
        }
    });
    let pos = pos.unwrap_or_else(|| {
        let mut new = InterfaceRequest::default();
        if is_mac {
            new.match_mac = Some(iface.to_string());
        } else {
            new.match_name = Some(iface.to_string());
        }
        req.interfaces.push(new);
        req.interfaces.len() - 1
    });
    &mut req.interfaces[pos]
}

/// `eth0=default,via=192.0.2.1,on-link`
fn parse_route_flag(spec: &str) -> std::result::Result<(String, RouteRequest), String> {
    let (iface, rest) = spec.split_once('=').ok_or_else(|| format!("`{spec}` is not IFACE=DEST[,via=GW][,on-link]"))?;
    let mut parts = rest.split(',');
    let mut route = RouteRequest { destination: parts.next().unwrap_or_default().to_string(), ..Default::default() };
    for part in parts {
        match part.split_once('=') {
            Some(("via", gw)) => route.gateway = Some(gw.to_string()),
            None if part == "on-link" => route.on_link = true,
            _ => return Err(format!("unknown route option `{part}` in `{spec}` (expected via=GATEWAY or on-link)")),
        }
    }
    Ok((iface.to_string(), route))
}

fn read_request_file(path: &Path) -> Result<Request> {
    let text = read_text(path, "--request")?;
    let format = if path.extension().is_some_and(|e| e == "json") {
        RequestFormat::Json
    } else if path.extension().is_some_and(|e| e == "toml") {
        RequestFormat::Toml
    } else {
        Request::detect_format(&text)
    };
    Request::parse(&text, format).map_err(|e| UsageError(vec![e.to_string()]).into())
}

/// Reads an input file named by `flag`; an unreadable input is the caller's mistake (exit 2), named by its flag.
fn read_text(path: &Path, flag: &str) -> Result<String> {
    let result = if path == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s).map(|_| s)
    } else {
        std::fs::read_to_string(path)
    };
    result.map_err(|e| UsageError(vec![format!("{flag}: reading {}: {e}", path.display())]).into())
}

#[cfg(test)]
mod tests {
    use clap::Args;
    use nixos_images_core::request::KexecRequest;
    use nixos_images_core::validate::{MAX_KEXEC_DELAY_SECONDS, MIN_KEXEC_DELAY_SECONDS};

    use super::RequestArgs;

    /// The help text of one flag, as `--help` shows it.
    fn help(id: &str) -> String {
        let cmd = RequestArgs::augment_args(clap::Command::new("t"));
        let arg = cmd.get_arguments().find(|a| a.get_id() == id).unwrap_or_else(|| panic!("no flag {id}"));
        arg.get_help().map(ToString::to_string).unwrap_or_default().replace('\n', " ")
    }

    /// Doc comments cannot name constants, so the numbers they repeat are checked against core's.
    #[test]
    fn kexec_help_states_core_limits_and_defaults() {
        let d = KexecRequest::default();
        let (min, max) = (MIN_KEXEC_DELAY_SECONDS, MAX_KEXEC_DELAY_SECONDS);
        assert!(help("kexec_delay").contains(&format!("({min} to {max}; default {})", d.delay_seconds)));
        assert!(help("panic_reboot").contains(&format!("default {})", d.panic_reboot_seconds)));
        assert!(help("rollback").contains(&format!("default {})", d.rollback_minutes)));
    }
}
