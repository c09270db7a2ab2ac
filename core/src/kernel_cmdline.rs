//! The kernel command line a request adds (the release adds `init=` and its own parameters): one rule, used by
//! validation (the budget) and the renderers.
//!
//! What an installer cannot read from the overlay goes here: upstream's images get the host name as
//! `systemd.hostname=` (systemd sets it, also after switch-root) and, for kexec, the nameservers as `nameserver=`
//! (systemd-resolved reads them; upstream's netboot image runs no resolved). This project's images read both from
//! the overlay.

use crate::agent::watchdog;
use crate::model::{ImageKind, Installer};
use crate::overlay_layout::OVERLAY_FILE_NAME;

/// What the command line is made of, borrowed from a request (validated or as typed).
pub struct CmdlineParts<'a, N, P> {
    pub image: ImageKind,
    pub installer: Installer,
    pub hostname: Option<&'a str>,
    pub nameservers: N,
    /// `panic=`: kexec images only (the run script builds their command line).
    pub panic_reboot_seconds: Option<u32>,
    /// The rollback watchdog: this project's kexec images only (upstream's have no agent to read it).
    pub rollback_minutes: Option<u32>,
    pub params: P,
}

/// Whether the rollback watchdog's timeout goes on the kernel command line: only this project's kexec installer
/// runs the watchdog (a netboot machine that reboots netboots again; upstream's installer has no agent).
pub fn rollback_on_cmdline(image: ImageKind, installer: Installer) -> bool {
    image.is_kexec() && installer == Installer::NixosImages
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
        // Before the request's own parameters: a `panic=` among them comes later and wins.
        if let (true, Some(s)) = (self.image.is_kexec(), self.panic_reboot_seconds) {
            words.push(format!("panic={s}"));
        }
        if let (true, Some(m)) = (rollback_on_cmdline(self.image, self.installer), self.rollback_minutes) {
            words.push(format!("{}={}", watchdog::CMDLINE_KEY, u64::from(m) * 60));
        }
        words.extend(self.params.map(str::to_string));
        words.join(" ")
    }
}
