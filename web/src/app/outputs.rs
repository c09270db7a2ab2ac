//! The text outputs of a valid request, rendered by core once per edit.

use nixos_images_core::render::{cmdline, ipxe, kexec_command, networkd, nix, ArtifactKind};
use nixos_images_core::{ImageKind, ValidRequest};
use yew::AttrValue;

use super::msg::Tab;

/// The texts are shared strings, so the views compare and pass them without copying.
pub struct Outputs {
    pub image: ImageKind,
    pub install: Option<AttrValue>,
    pub ipxe: Option<AttrValue>,
    pub nix: AttrValue,
    /// (path, contents) of each unit.
    pub networkd: Vec<(AttrValue, AttrValue)>,
    pub cmdline: AttrValue,
}

impl Outputs {
    pub fn render(req: &ValidRequest) -> Outputs {
        Outputs {
            image: req.image(),
            install: ArtifactKind::KexecCommand
                .applies_to(req.image())
                .then(|| kexec_command::render(req).text().into()),
            ipxe: ArtifactKind::Ipxe.applies_to(req.image()).then(|| ipxe::render(req).text().into()),
            nix: nix::render(req).text().into(),
            networkd: networkd::render(req)
                .files
                .into_iter()
                .map(|f| (f.path.into(), String::from_utf8_lossy(&f.contents).into_owned().into()))
                .collect(),
            cmdline: cmdline::line(req).into(),
        }
    }

    /// A tab's text as the copy button copies it (the networkd units one after another, each under its path).
    pub fn text(&self, tab: Tab) -> Option<String> {
        match tab {
            Tab::Install => self.install.as_deref().map(str::to_string),
            Tab::Ipxe => self.ipxe.as_deref().map(str::to_string),
            Tab::Nix => Some(self.nix.to_string()),
            Tab::Networkd => {
                Some(self.networkd.iter().map(|(p, c)| format!("# {p}\n{c}")).collect::<Vec<_>>().join("\n"))
            }
            Tab::Cmdline => Some(self.cmdline.to_string()),
        }
    }

    /// Whether the copy button has something to copy: [`Outputs::text`] is there and not empty.
    pub fn has_text(&self, tab: Tab) -> bool {
        match tab {
            Tab::Install => self.install.as_ref().is_some_and(|t| !t.is_empty()),
            Tab::Ipxe => self.ipxe.as_ref().is_some_and(|t| !t.is_empty()),
            Tab::Nix => !self.nix.is_empty(),
            Tab::Networkd => !self.networkd.is_empty(),
            Tab::Cmdline => !self.cmdline.is_empty(),
        }
    }
}
