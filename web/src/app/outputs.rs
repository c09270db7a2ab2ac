//! The text outputs of a valid request, rendered by core once per edit.

use nixos_images_core::render::{cmdline, ipxe, kexec_command, networkd, nix, ArtifactKind};
use nixos_images_core::{ImageKind, ValidRequest};

use super::msg::Tab;

pub struct Outputs {
    pub image: ImageKind,
    pub install: Option<String>,
    pub ipxe: Option<String>,
    pub nix: String,
    pub networkd: Vec<(String, String)>,
    pub cmdline: String,
}

impl Outputs {
    pub fn render(req: &ValidRequest) -> Outputs {
        Outputs {
            image: req.image,
            install: ArtifactKind::KexecCommand.applies_to(req.image).then(|| kexec_command::render(req).text()),
            ipxe: ArtifactKind::Ipxe.applies_to(req.image).then(|| ipxe::render(req).text()),
            nix: nix::render(req).text(),
            networkd: networkd::render(req)
                .files
                .into_iter()
                .map(|f| (f.path, String::from_utf8_lossy(&f.contents).into_owned()))
                .collect(),
            cmdline: cmdline::line(req),
        }
    }

    /// A tab's text as the copy button copies it (the networkd units one after another, each under its path).
    pub fn text(&self, tab: Tab) -> Option<String> {
        match tab {
            Tab::Install => self.install.clone(),
            Tab::Ipxe => self.ipxe.clone(),
            Tab::Nix => Some(self.nix.clone()),
            Tab::Networkd => {
                Some(self.networkd.iter().map(|(p, c)| format!("# {p}\n{c}")).collect::<Vec<_>>().join("\n"))
            }
            Tab::Cmdline => Some(self.cmdline.clone()),
        }
    }
}
