//! `preflight`: whether a kexec can go ahead on this machine, decided from facts the agent gathered.
//!
//! The kexec run script calls it before it changes anything. Failing checks (exit 1) are the ones that make the
//! kexec fail or leave the machine unbootable: too little RAM for the installer's initrd, kexec disabled, kernel
//! lockdown (Secure Boot) that refuses the unsigned NixOS kernel, a container. Everything else is a warning: the
//! kexec goes ahead, but something (usually network configuration) will not come back as it was.
//!
//! **API Boundary:** the JSON report (`preflight --json`) is a stable schema, [`SCHEMA`]; fields are only ever
//! added. See ARCHITECTURE.md.

use serde::Serialize;
use serde_json::Value;

use super::iproute::{Dump, Link};
use super::restore::{self, Verdict};
use crate::render::kexec_run::MIN_MEM_KIB;

/// The `schema` field of the JSON report.
pub const SCHEMA: &str = "nixos-images-agent/preflight/v1";

const MIB: u64 = 1024;

/// Kernel release from which kexec/run passes `--kexec-syscall-auto` (kexec_file_load first).
pub const KEXEC_SYSCALL_AUTO_SINCE: (u32, u32) = (6, 1);

/// What the agent found on the machine. `None` means it could not be read.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    /// `MemTotal` of `/proc/meminfo`, in KiB.
    pub mem_total_kib: Option<u64>,
    /// The initrd to be loaded (`--initrd`), if one was given.
    pub initrd: Option<Result<u64, String>>,
    /// `/proc/sys/kernel/osrelease`.
    pub kernel_release: Option<String>,
    /// `/proc/sys/kernel/kexec_load_disabled` is 1.
    pub kexec_load_disabled: Option<bool>,
    /// `/proc/sys/kernel/kexec_load_limit_reboot` (-1: unlimited; Linux 6.6+).
    pub kexec_load_limit_reboot: Option<i64>,
    /// Whether `/sys/kernel/kexec_loaded` exists (the kernel has kexec), when `/sys/kernel` could be read.
    pub kexec_supported: Option<bool>,
    /// `/sys/kernel/security/lockdown`, as read (`none [integrity] confidentiality`).
    pub lockdown: Option<String>,
    /// Whether the machine booted with EFI (`/sys/firmware/efi` exists).
    pub efi: bool,
    /// The `SecureBoot` EFI variable, as read (4 bytes of attributes, then the value).
    pub secure_boot_var: Option<Vec<u8>>,
    /// A container runtime detected from /proc (`docker`, `lxc`, `openvz`, ...).
    pub container: Option<String>,
    pub network: NetworkFacts,
}

/// Where the network configuration was read from.
#[derive(Debug, Clone, Default)]
pub enum NetworkFacts {
    /// Neither `ip --json` nor /sys/class/net could be read (why).
    #[default]
    Unavailable,
    /// `ip -details --json addr`, `ip -4 --json route`, `ip -6 --json route`.
    Ip { addrs: Value, routes_v4: Option<Value>, routes_v6: Option<Value> },
    /// /sys/class/net: links and their kinds, without addresses or routes.
    Sysfs(Vec<Link>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Fail,
    /// Could not be determined; does not stop the kexec.
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
        }
    }
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// `memory`, `kernel`, `kexec`, `lockdown`, `container` or `network`.
    pub id: &'static str,
    pub status: Status,
    /// One line (network: one line per problem, joined with `; `).
    pub message: String,
}

/// The machine-readable report (`preflight --json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub schema: &'static str,
    /// True when the kexec can go ahead (warnings allowed).
    pub ok: bool,
    /// The first failing check's message, when `ok` is false.
    pub reason: Option<String>,
    pub checks: Vec<Check>,
    pub facts: ReportFacts,
}

/// The facts behind the checks, as numbers and names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportFacts {
    pub mem_total_kib: Option<u64>,
    pub initrd_bytes: Option<u64>,
    /// Below this the kexec is refused.
    pub mem_required_kib: u64,
    /// Below this there is a warning.
    pub mem_recommended_kib: u64,
    pub kernel_release: Option<String>,
    /// Whether kexec/run passes `--kexec-syscall-auto` (kernel 6.1 or later).
    pub kexec_syscall_auto: Option<bool>,
    pub kexec_load_disabled: Option<bool>,
    /// `none`, `integrity` or `confidentiality`.
    pub lockdown: Option<String>,
    pub secure_boot: Option<bool>,
    pub container: Option<String>,
    /// `ip`, `sysfs` or `none`.
    pub network_source: &'static str,
    /// What the installer will not restore, one message each.
    pub network_warnings: Vec<String>,
}

/// RAM needed for an initrd of `initrd_bytes`: (required, recommended), in KiB.
///
/// While the installer boots, its initrd is in RAM twice: as loaded (packed) and unpacked into the root
/// filesystem. The seed's installer initrd is mostly a squashfs store that does not pack further, so the unpacked
/// size is estimated as the packed size; the kernel and the first processes need about 128 MiB more. Below that the
/// boot fails for sure; below three times the initrd plus 256 MiB it is tight (warning). Never below the 900 MiB of
/// MemTotal (about 1 GiB of RAM) the installer needs anyway.
pub fn memory_needed_kib(initrd_bytes: Option<u64>) -> (u64, u64) {
    let initrd_kib = initrd_bytes.unwrap_or(0).div_ceil(1024);
    let required = MIN_MEM_KIB.max(initrd_kib.saturating_mul(2).saturating_add(128 * MIB));
    let recommended = (1024 * MIB).max(initrd_kib.saturating_mul(3).saturating_add(256 * MIB)).max(required);
    (required, recommended)
}

/// `6.1.0-18-amd64` -> (6, 1).
pub fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.trim().split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|p| p.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

/// The selected mode of `/sys/kernel/security/lockdown` (`none [integrity] confidentiality` -> `integrity`).
pub fn lockdown_mode(contents: &str) -> Option<String> {
    let start = contents.find('[')?;
    let end = contents[start..].find(']')? + start;
    let mode = &contents[start + 1..end];
    matches!(mode, "none" | "integrity" | "confidentiality").then(|| mode.to_string())
}

/// The `SecureBoot` EFI variable: 4 bytes of attributes, then 1 for enabled.
pub fn secure_boot(var: &[u8]) -> Option<bool> {
    var.get(4).map(|b| *b == 1)
}

/// Lines of `/proc/meminfo` -> MemTotal in KiB.
pub fn mem_total_kib(meminfo: &str) -> Option<u64> {
    meminfo.lines().find_map(|l| {
        let rest = l.strip_prefix("MemTotal:")?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// The container runtime named in PID 1's environment (`/proc/1/environ`, NUL-separated), if any.
pub fn container_from_environ(environ: &[u8]) -> Option<String> {
    environ.split(|b| *b == 0).find_map(|var| {
        let value = var.strip_prefix(b"container=")?;
        let value = String::from_utf8_lossy(value);
        (!value.is_empty()).then(|| super::iproute::printable(&value))
    })
}

/// Decides. Pure: every fact comes in [`Facts`].
pub fn evaluate(f: &Facts) -> Report {
    let mut checks = vec![];
    let initrd_bytes = f.initrd.as_ref().and_then(|r| r.as_ref().ok().copied());
    let (required, recommended) = memory_needed_kib(initrd_bytes);
    let mib = |kib: u64| kib / 1024;

    // Memory.
    if let Some(Err(why)) = &f.initrd {
        checks.push(Check { id: "memory", status: Status::Fail, message: format!("cannot read the initrd: {why}") });
    } else {
        let initrd_text = match initrd_bytes {
            Some(b) => format!(" for an initrd of {} MiB", b.div_ceil(1024 * 1024)),
            None => String::new(),
        };
        let (status, message) = match f.mem_total_kib {
            None => (Status::Unknown, "MemTotal could not be read from /proc/meminfo".to_string()),
            Some(m) if m < required => (
                Status::Fail,
                format!(
                    "this machine has {} MiB of RAM; the installer needs at least {} MiB{initrd_text} (it runs from \
                     RAM; swap does not count)",
                    mib(m),
                    mib(required)
                ),
            ),
            Some(m) if m < recommended => (
                Status::Warn,
                format!(
                    "{} MiB of RAM is tight: about {} MiB are recommended{initrd_text}; the installer may run out of \
                     memory",
                    mib(m),
                    mib(recommended)
                ),
            ),
            Some(m) => (Status::Ok, format!("{} MiB of RAM; {} MiB needed{initrd_text}", mib(m), mib(required))),
        };
        checks.push(Check { id: "memory", status, message });
    }

    // Kernel version: which syscall kexec/run asks for.
    let version = f.kernel_release.as_deref().and_then(kernel_version);
    let syscall_auto = version.map(|v| v >= KEXEC_SYSCALL_AUTO_SINCE);
    checks.push(match (f.kernel_release.as_deref(), version) {
        (Some(r), Some(v)) if v >= KEXEC_SYSCALL_AUTO_SINCE => Check {
            id: "kernel",
            status: Status::Ok,
            message: format!(
                "Linux {}: kexec/run passes --kexec-syscall-auto (kexec_file_load, then kexec_load)",
                super::iproute::printable(r.trim())
            ),
        },
        (Some(r), Some(_)) => Check {
            id: "kernel",
            status: Status::Ok,
            message: format!(
                "Linux {}: older than 6.1, so kexec/run uses the kexec_load syscall",
                super::iproute::printable(r.trim())
            ),
        },
        _ => Check { id: "kernel", status: Status::Unknown, message: "the kernel release could not be read".into() },
    });

    // kexec itself.
    checks.push(if f.kexec_load_disabled == Some(true) {
        Check {
            id: "kexec",
            status: Status::Fail,
            message: "kexec is disabled on this kernel (kernel.kexec_load_disabled = 1, which only a reboot undoes)"
                .into(),
        }
    } else if f.kexec_load_limit_reboot == Some(0) {
        Check {
            id: "kexec",
            status: Status::Fail,
            message: "kexec is disabled on this kernel (kernel.kexec_load_limit_reboot = 0)".into(),
        }
    } else if f.kexec_supported == Some(false) {
        Check {
            id: "kexec",
            status: Status::Fail,
            message: "this kernel has no kexec support (no /sys/kernel/kexec_loaded)".into(),
        }
    } else if f.kexec_load_disabled.is_none() && f.kexec_supported.is_none() {
        Check { id: "kexec", status: Status::Unknown, message: "whether kexec is enabled could not be read".into() }
    } else {
        Check { id: "kexec", status: Status::Ok, message: "kexec is enabled".into() }
    });

    // Lockdown and Secure Boot.
    let lockdown = f.lockdown.as_deref().and_then(lockdown_mode);
    let sb = f.secure_boot_var.as_deref().and_then(secure_boot);
    checks.push(match (lockdown.as_deref(), sb) {
        (Some(mode @ ("integrity" | "confidentiality")), _) => Check {
            id: "lockdown",
            status: Status::Fail,
            message: format!(
                "the kernel is locked down ({mode}{}): it only kexecs kernels signed with a key it trusts, and the \
                 NixOS installer's kernel is not; turn Secure Boot off in the firmware (or boot with lockdown off) \
                 and run again",
                if sb == Some(true) { ", because Secure Boot is on" } else { "" }
            ),
        },
        (Some(_), Some(true)) => Check {
            id: "lockdown",
            status: Status::Warn,
            message: "Secure Boot is on but this kernel is not locked down, so kexec works; the installer then runs \
                      without Secure Boot's guarantees"
                .into(),
        },
        (Some(_), _) => Check { id: "lockdown", status: Status::Ok, message: "no kernel lockdown".into() },
        (None, Some(true)) => Check {
            id: "lockdown",
            status: Status::Warn,
            message: "Secure Boot is on and the lockdown state is unknown (securityfs not mounted?); a locked-down \
                      kernel refuses to kexec the unsigned NixOS kernel"
                .into(),
        },
        (None, Some(false)) => {
            Check { id: "lockdown", status: Status::Ok, message: "Secure Boot is off; lockdown state unknown".into() }
        }
        (None, None) if !f.efi => Check {
            id: "lockdown",
            status: Status::Ok,
            message: "booted without UEFI (so no Secure Boot); lockdown state unknown".into(),
        },
        (None, None) => Check {
            id: "lockdown",
            status: Status::Unknown,
            message: "neither the lockdown state nor the Secure Boot variable could be read".into(),
        },
    });

    // Containers share the host's kernel: there is nothing to kexec.
    checks.push(match &f.container {
        Some(c) => Check {
            id: "container",
            status: Status::Fail,
            message: format!("this is a container ({c}); kexec needs a machine (or VM) with its own kernel"),
        },
        None => Check { id: "container", status: Status::Ok, message: "not a container".into() },
    });

    // Network configuration the installer will not restore.
    let (source, network_warnings) = network_warnings(&f.network);
    checks.push(match (source, network_warnings.is_empty()) {
        ("none", _) => Check {
            id: "network",
            status: Status::Unknown,
            message: "neither `ip --json` nor /sys/class/net could be read; the installer will use DHCP".into(),
        },
        (_, true) => Check {
            id: "network",
            status: Status::Ok,
            message: "the installer can restore the network configuration".into(),
        },
        (_, false) => Check { id: "network", status: Status::Warn, message: network_warnings.join("; ") },
    });

    let reason = checks.iter().find(|c| c.status == Status::Fail).map(|c| c.message.clone());
    Report {
        schema: SCHEMA,
        ok: reason.is_none(),
        reason,
        checks,
        facts: ReportFacts {
            mem_total_kib: f.mem_total_kib,
            initrd_bytes,
            mem_required_kib: required,
            mem_recommended_kib: recommended,
            kernel_release: f.kernel_release.as_deref().map(|r| super::iproute::printable(r.trim())),
            kexec_syscall_auto: syscall_auto,
            kexec_load_disabled: f.kexec_load_disabled,
            lockdown,
            secure_boot: sb,
            container: f.container.clone(),
            network_source: source,
            network_warnings,
        },
    }
}

fn network_warnings(n: &NetworkFacts) -> (&'static str, Vec<String>) {
    match n {
        NetworkFacts::Unavailable => ("none", vec![]),
        NetworkFacts::Ip { addrs, routes_v4, routes_v6 } => {
            ("ip", restore::restore(addrs, routes_v4.as_ref(), routes_v6.as_ref()).warnings)
        }
        NetworkFacts::Sysfs(links) => {
            // Without addresses, every link that cannot be matched by MAC is worth a warning.
            let dump = Dump { links: links.clone(), ..Dump::default() };
            let warnings = restore::verdicts(&dump)
                .into_iter()
                .zip(links)
                .filter_map(|(v, l)| match v {
                    Verdict::Restore { warning } => warning,
                    Verdict::Skip { .. } if l.loopback => None,
                    Verdict::Skip { why, .. } => Some(format!("{why}; its configuration (if any) is not restored")),
                })
                .collect();
            ("sysfs", warnings)
        }
    }
}

impl Report {
    /// The readable summary: one line per check, then the verdict.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        for c in &self.checks {
            s.push_str(&format!("{:<7} {}: {}\n", c.status.as_str(), c.id, c.message));
        }
        let warnings = self.checks.iter().filter(|c| c.status == Status::Warn).count();
        match &self.reason {
            None => s.push_str(&format!(
                "kexec can go ahead ({warnings} warning{})\n",
                if warnings == 1 { "" } else { "s" }
            )),
            Some(r) => s.push_str(&format!("kexec would fail: {r}\n")),
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1024 * 1024;

    fn healthy() -> Facts {
        Facts {
            mem_total_kib: Some(4 * GIB),
            initrd: Some(Ok(400 << 20)),
            kernel_release: Some("6.8.0-31-generic\n".into()),
            kexec_load_disabled: Some(false),
            kexec_load_limit_reboot: Some(-1),
            kexec_supported: Some(true),
            lockdown: Some("[none] integrity confidentiality\n".into()),
            efi: true,
            secure_boot_var: Some(vec![6, 0, 0, 0, 0]),
            container: None,
            network: NetworkFacts::Sysfs(vec![]),
        }
    }

    fn status(r: &Report, id: &str) -> Status {
        r.checks.iter().find(|c| c.id == id).unwrap().status
    }

    #[test]
    fn a_healthy_machine_goes_ahead() {
        let r = evaluate(&healthy());
        assert!(r.ok, "{}", r.summary());
        assert_eq!(r.reason, None);
        assert!(r.checks.iter().all(|c| c.status == Status::Ok), "{}", r.summary());
        assert_eq!(r.facts.kexec_syscall_auto, Some(true));
        assert_eq!(r.facts.secure_boot, Some(false));
        assert!(r.summary().ends_with("kexec can go ahead (0 warnings)\n"));
    }

    #[test]
    fn failures_give_one_line_reasons() {
        type Change = fn(&mut Facts);
        let cases: [(&str, Change); 8] = [
            ("memory", |f| f.mem_total_kib = Some(512 * 1024)),
            ("memory", |f| f.initrd = Some(Ok(3 << 30))),
            ("memory", |f| f.initrd = Some(Err("initrd: No such file or directory".into()))),
            ("kexec", |f| f.kexec_load_disabled = Some(true)),
            ("kexec", |f| f.kexec_load_limit_reboot = Some(0)),
            ("kexec", |f| f.kexec_supported = Some(false)),
            ("lockdown", |f| f.lockdown = Some("none [integrity] confidentiality".into())),
            ("container", |f| f.container = Some("lxc".into())),
        ];
        for (id, change) in cases {
            let mut f = healthy();
            change(&mut f);
            let r = evaluate(&f);
            assert!(!r.ok, "{id}: {}", r.summary());
            assert_eq!(status(&r, id), Status::Fail, "{}", r.summary());
            let reason = r.reason.clone().unwrap();
            assert!(!reason.contains('\n'), "{reason}");
            assert!(r.summary().ends_with(&format!("kexec would fail: {reason}\n")));
        }
    }

    #[test]
    fn warnings_do_not_stop_the_kexec() {
        let mut f = healthy();
        f.mem_total_kib = Some(1000 * 1024);
        f.initrd = Some(Ok(300 << 20));
        f.secure_boot_var = Some(vec![6, 0, 0, 0, 1]);
        f.kernel_release = Some("5.10.0-28-amd64".into());
        let r = evaluate(&f);
        assert!(r.ok, "{}", r.summary());
        assert_eq!(status(&r, "memory"), Status::Warn);
        assert_eq!(status(&r, "lockdown"), Status::Warn);
        assert_eq!(r.facts.kexec_syscall_auto, Some(false));
        // Nothing known: unknown, not a failure.
        let r = evaluate(&Facts::default());
        assert!(r.ok, "{}", r.summary());
        assert_eq!(status(&r, "memory"), Status::Unknown);
    }

    #[test]
    fn parsers() {
        assert_eq!(kernel_version("6.1.0-18-amd64"), Some((6, 1)));
        assert_eq!(kernel_version("5.4"), Some((5, 4)));
        assert_eq!(kernel_version("6"), Some((6, 0)));
        assert_eq!(kernel_version("x"), None);
        assert_eq!(lockdown_mode("none integrity [confidentiality]\n").as_deref(), Some("confidentiality"));
        assert_eq!(lockdown_mode("[bogus]"), None);
        assert_eq!(lockdown_mode("]["), None);
        assert_eq!(mem_total_kib("MemTotal:        4028228 kB\nMemFree: 1 kB\n"), Some(4028228));
        assert_eq!(secure_boot(&[6, 0, 0, 0, 1]), Some(true));
        assert_eq!(secure_boot(&[6, 0, 0]), None);
        assert_eq!(container_from_environ(b"PATH=/bin\0container=lxc\0"), Some("lxc".into()));
        assert_eq!(container_from_environ(b"PATH=/bin\0"), None);
        let (req, rec) = memory_needed_kib(None);
        assert_eq!(req, MIN_MEM_KIB);
        assert!(rec >= req);
        let (req, _) = memory_needed_kib(Some(u64::MAX));
        assert!(req > MIN_MEM_KIB);
    }
}
