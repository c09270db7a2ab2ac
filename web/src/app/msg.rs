//! What the page can be told: the messages of the component, the output tabs and the downloads.

use std::rc::Rc;

use yew::KeyboardEvent;

use crate::form::Form;

/// How an input writes its value into the form.
pub type Edit = Rc<dyn Fn(&mut Form, String)>;

pub enum Msg {
    Set(Edit, String),
    Keys(String),
    AddInterface,
    RemoveInterface(usize),
    AddRoute(usize),
    RemoveRoute(usize, usize),
    Tab(Tab),
    TabKey(KeyboardEvent),
    Copy(Tab),
    Copied(bool),
    Download(Download),
    Share,
    HashChanged,
    Import(web_sys::File),
    Imported(Result<String, String>),
    Example,
    Reset,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Install,
    Ipxe,
    Nix,
    Networkd,
    Cmdline,
}

impl Tab {
    pub const ALL: [Tab; 5] = [Tab::Install, Tab::Ipxe, Tab::Nix, Tab::Networkd, Tab::Cmdline];

    pub fn id(self) -> &'static str {
        match self {
            Tab::Install => "install",
            Tab::Ipxe => "ipxe",
            Tab::Nix => "nix",
            Tab::Networkd => "networkd",
            Tab::Cmdline => "cmdline",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Tab::Install => "Install command",
            Tab::Ipxe => "iPXE script",
            Tab::Nix => "NixOS module",
            Tab::Networkd => "networkd units",
            Tab::Cmdline => "Kernel command line",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Download {
    Bundle,
    Overlay,
    Ipxe,
    RequestToml,
}
