//! `cmdline.txt`: the part of the kernel command line the request adds (the rule is `crate::kernel_cmdline`).

use std::net::IpAddr;

use crate::kernel_cmdline::CmdlineParts;
use crate::model::{ImageKind, Installer};
use crate::{Artifact, Request, ValidRequest};

/// The same line for a request that is not (yet) valid, as typed: the web form's live byte count, which matters
/// most exactly when validation refuses an over-long line. `None` when the image kind is unknown.
pub fn request_params_unchecked(req: &Request) -> Option<String> {
    let image: ImageKind = req.image.parse().ok()?;
    let installer = match &req.release.installer {
        Some(i) => i.parse::<Installer>().ok()?,
        None => Installer::default(),
    };
    Some(
        CmdlineParts {
            image,
            installer,
            hostname: req.hostname.as_deref().filter(|h| !h.is_empty()),
            nameservers: req.nameservers.iter().filter(|n| !n.is_empty()).cloned(),
            panic_reboot_seconds: Some(req.kexec.panic_reboot_seconds).filter(|s| *s > 0),
            rollback_minutes: Some(req.kexec.rollback_minutes).filter(|m| *m > 0),
            params: req.kernel_params.iter().map(String::as_str),
        }
        .line(),
    )
}

/// The line of a validated request.
pub fn line(req: &ValidRequest) -> String {
    CmdlineParts {
        image: req.image,
        installer: req.release.installer,
        hostname: req.hostname.as_ref().map(|h| h.as_str()),
        nameservers: req.nameservers.iter().map(IpAddr::to_string),
        panic_reboot_seconds: req.kexec.panic_reboot_seconds,
        rollback_minutes: req.kexec.rollback_minutes,
        params: req.kernel_params.iter().map(|p| p.as_str()),
    }
    .line()
}

pub fn render(req: &ValidRequest) -> Artifact {
    Artifact::single("cmdline.txt", 0o644, format!("{}\n", line(req)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchecked_line_equals_the_validated_one() {
        for text in [crate::EXAMPLE_REQUEST, include_str!("../../../examples/netboot-static.toml")] {
            for installer in Installer::ALL {
                let mut req = Request::parse_toml(text).unwrap();
                req.release.installer = Some(installer.as_str().into());
                assert_eq!(request_params_unchecked(&req).unwrap(), line(&req.validate().unwrap()));
            }
        }
        let bad = Request { image: "floppy".into(), ..Request::default() };
        assert_eq!(request_params_unchecked(&bad), None);
    }

    #[test]
    fn upstream_kexec_gets_host_name_and_nameservers() {
        let req = Request::parse_toml(crate::EXAMPLE_REQUEST).unwrap().validate().unwrap();
        assert_eq!(
            line(&req),
            "systemd.hostname=web1 nameserver=185.12.64.1 nameserver=2a01:4ff:ff00::add:1 panic=60 \
             console=ttyS0,115200"
        );
    }

    #[test]
    fn kexec_reboots_after_a_panic_unless_told_not_to_and_the_requests_own_panic_wins() {
        let mut req = Request::parse_toml(crate::EXAMPLE_REQUEST).unwrap();
        req.kexec.panic_reboot_seconds = 0;
        assert!(!line(&req.validate().unwrap()).contains("panic="));
        req.kexec.panic_reboot_seconds = 5;
        req.kernel_params.push("panic=-1".into());
        let words = line(&req.validate().unwrap());
        assert!(words.contains("panic=5") && words.ends_with("panic=-1"), "{words}");
        req.image = "netboot".into();
        assert!(!line(&req.validate().unwrap()).contains("panic=5"), "netboot's line is the iPXE script's");
        req.kexec.panic_reboot_seconds = 3601;
        let errs = req.validate().unwrap_err();
        assert!(errs.0.iter().any(|e| e.path == "kexec.panic_reboot_seconds"), "{errs}");
    }

    #[test]
    fn the_rollback_watchdog_is_armed_on_this_projects_kexec_installer_only() {
        let mut req = Request::parse_toml(crate::EXAMPLE_REQUEST).unwrap();
        assert!(!line(&req.clone().validate().unwrap()).contains("rollback"), "upstream's installer has no agent");
        req.release.installer = Some("nixos-images".into());
        let words = line(&req.clone().validate().unwrap());
        assert!(words.contains("panic=60 nixos_images.rollback_seconds=900 "), "{words}");
        // The request's own parameter comes later and wins; the agent's rules are validation's.
        req.kernel_params.push("nixos_images.rollback_seconds=30".into());
        assert!(line(&req.clone().validate().unwrap()).ends_with("nixos_images.rollback_seconds=30"));
        req.kernel_params.push("nixos_images.rollback_seconds=15m".into());
        let errs = req.clone().validate().unwrap_err();
        assert!(
            errs.to_string().contains("kernel_params[2]: nixos_images.rollback_seconds= takes whole seconds"),
            "{errs}"
        );
        req.kernel_params.truncate(1);
        req.kexec.rollback_minutes = 0;
        assert!(!line(&req.clone().validate().unwrap()).contains("=900"));
        req.kexec.rollback_minutes = 1441;
        let errs = req.clone().validate().unwrap_err();
        assert!(errs.to_string().contains("kexec.rollback_minutes: must be at most 1440 minutes (0: off)"), "{errs}");
        req.kexec.rollback_minutes = 5;
        req.image = "netboot".into();
        req.interfaces.clear();
        assert!(!line(&req.validate().unwrap()).contains("=300"), "a netboot has no system to go back to");
    }
}
