//! The part of the kernel command line the request adds (the release adds `init=` and its own parameters).
//!
//! What an installer cannot read from the overlay goes here: upstream's images get the host name as
//! `systemd.hostname=` (systemd sets it, also after switch-root) and, for kexec, the nameservers as `nameserver=`
//! (systemd-resolved reads them; upstream's netboot image runs no resolved). This project's images read both from
//! the overlay.

use std::net::IpAddr;

use crate::model::{ImageKind, Installer};
use crate::render::overlay::OVERLAY_FILE_NAME;
use crate::{Artifact, Request, ValidRequest};

/// What the command line is made of, borrowed from a request (validated or as typed).
pub struct CmdlineParts<'a, N, P> {
    pub image: ImageKind,
    pub installer: Installer,
    pub hostname: Option<&'a str>,
    pub nameservers: N,
    pub params: P,
}

/// Whether the request's host name goes on the kernel command line for this installer.
pub fn hostname_on_cmdline(installer: Installer) -> bool {
    !installer.reads_overlay()
}

/// Whether the request's nameservers go on the kernel command line for this image and installer.
pub fn nameservers_on_cmdline(image: ImageKind, installer: Installer) -> bool {
    !installer.reads_overlay() && image.is_kexec()
}

impl<'a, N, P> CmdlineParts<'a, N, P>
where
    N: Iterator<Item = String>,
    P: Iterator<Item = &'a str>,
{
    /// The line. For netboot it names the overlay initrd (UEFI boots load only named initrds).
    pub fn line(self) -> String {
        let mut words: Vec<String> = Vec::new();
        if self.image == ImageKind::Netboot {
            words.push(format!("initrd={OVERLAY_FILE_NAME}"));
        }
        if hostname_on_cmdline(self.installer) {
            if let Some(h) = self.hostname {
                words.push(format!("systemd.hostname={h}"));
            }
        }
        if nameservers_on_cmdline(self.image, self.installer) {
            words.extend(self.nameservers.map(|n| format!("nameserver={n}")));
        }
        words.extend(self.params.map(str::to_string));
        words.join(" ")
    }
}

/// The same line for a request that is not (yet) valid, as typed: the web form's live byte count, which matters
/// most exactly when validation refuses an over-long line. `None` when the image kind is unknown.
pub fn request_params_unchecked(req: &Request) -> Option<String> {
    let image = crate::validate::parse_image(&req.image).ok()?;
    let installer = match &req.release.installer {
        Some(i) => crate::validate::parse_installer(i).ok()?,
        None => Installer::default(),
    };
    Some(
        CmdlineParts {
            image,
            installer,
            hostname: req.hostname.as_deref().filter(|h| !h.is_empty()),
            nameservers: req.nameservers.iter().filter(|n| !n.is_empty()).cloned(),
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
            "systemd.hostname=web1 nameserver=185.12.64.1 nameserver=2a01:4ff:ff00::add:1 console=ttyS0,115200"
        );
    }
}
