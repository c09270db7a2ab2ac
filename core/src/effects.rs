//! What each request field does on the installer the person boots: the one effect table.
//!
//! A request is rendered the same way for every installer, but what reads it differs: nix-community's released
//! images (the default release) read only the keys, host keys, machine-id and network dumps of a kexec initrd and
//! nothing of a netboot overlay; this project's images read overlay layout v1. [`effect`] says, for every field,
//! image kind and [`Installer`], whether the field is applied, applied in part (the limit) or ignored (why, and
//! what to do instead). [`notices`] turns the cells a request touches into one line per field, and
//! [`markdown`] is the table the README and the docs site show.

use std::fmt::Write;

use crate::field::{FieldPath, Segment};
use crate::model::{ImageKind, Installer, InterfaceMatch};
use crate::ValidRequest;

/// A request field, as the table names it (`interfaces[].addresses` stands for every interface's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Image,
    Arch,
    Channel,
    Hostname,
    SshAuthorizedKeys,
    KernelParams,
    Nameservers,
    ReleaseBaseUrl,
    ReleaseTag,
    ReleaseInstaller,
    ReleaseKexecTarballSha256,
    InterfaceMatchMac,
    InterfaceMatchName,
    InterfaceDhcpOff,
    InterfaceAddresses,
    InterfaceRoutes,
    KexecDelaySeconds,
    KexecExtraFlags,
    KexecPanicRebootSeconds,
    KexecRollbackMinutes,
    Strict,
}

impl Field {
    pub const ALL: [Field; 21] = [
        Field::Image,
        Field::Arch,
        Field::Channel,
        Field::Hostname,
        Field::SshAuthorizedKeys,
        Field::KernelParams,
        Field::Nameservers,
        Field::ReleaseBaseUrl,
        Field::ReleaseTag,
        Field::ReleaseInstaller,
        Field::ReleaseKexecTarballSha256,
        Field::InterfaceMatchMac,
        Field::InterfaceMatchName,
        Field::InterfaceDhcpOff,
        Field::InterfaceAddresses,
        Field::InterfaceRoutes,
        Field::KexecDelaySeconds,
        Field::KexecExtraFlags,
        Field::KexecPanicRebootSeconds,
        Field::KexecRollbackMinutes,
        Field::Strict,
    ];

    /// The field as the request file writes it.
    pub fn name(self) -> &'static str {
        match self {
            Field::Image => "image",
            Field::Arch => "arch",
            Field::Channel => "channel",
            Field::Hostname => "hostname",
            Field::SshAuthorizedKeys => "ssh_authorized_keys",
            Field::KernelParams => "kernel_params",
            Field::Nameservers => "nameservers",
            Field::ReleaseBaseUrl => "release.base_url",
            Field::ReleaseTag => "release.tag",
            Field::ReleaseInstaller => "release.installer",
            Field::ReleaseKexecTarballSha256 => "release.kexec_tarball_sha256",
            Field::InterfaceMatchMac => "interfaces[].match_mac",
            Field::InterfaceMatchName => "interfaces[].match_name",
            Field::InterfaceDhcpOff => "interfaces[].dhcp = false",
            Field::InterfaceAddresses => "interfaces[].addresses",
            Field::InterfaceRoutes => "interfaces[].routes",
            Field::KexecDelaySeconds => "kexec.delay_seconds",
            Field::KexecExtraFlags => "kexec.extra_flags",
            Field::KexecPanicRebootSeconds => "kexec.panic_reboot_seconds",
            Field::KexecRollbackMinutes => "kexec.rollback_minutes",
            Field::Strict => "strict",
        }
    }
}

/// What a field does on one kind of installer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Applied,
    /// Takes effect with a limit, said in one line.
    Partly(&'static str),
    /// Does nothing: why, and what to do instead.
    Ignored {
        why: &'static str,
        instead: &'static str,
    },
}

impl Effect {
    pub fn label(self) -> &'static str {
        match self {
            Effect::Applied => "applied",
            Effect::Partly(_) => "partly",
            Effect::Ignored { .. } => "ignored",
        }
    }
}

/// What to do instead, whenever this project's images would read the field.
macro_rules! use_ours {
    () => {
        "use a release of this project's images (release.installer = \"nixos-images\")"
    };
}

/// The effect of `field` on an `image` of the `installer` family. kexec and kexec-noninteractive behave alike.
pub fn effect(field: Field, image: ImageKind, installer: Installer) -> Effect {
    use Installer::{NixosImages as Ours, Upstream};
    let kexec = image.is_kexec();
    match (field, kexec, installer) {
        (Field::Image | Field::Arch | Field::Channel | Field::ReleaseBaseUrl | Field::ReleaseTag, _, _) => {
            Effect::Applied
        }
        (Field::ReleaseInstaller | Field::Strict | Field::KernelParams | Field::Hostname, _, _) => Effect::Applied,

        (Field::SshAuthorizedKeys, true, _) | (Field::SshAuthorizedKeys, false, Ours) => Effect::Applied,
        (Field::SshAuthorizedKeys, false, Upstream) => Effect::Ignored {
            why: "upstream's netboot image is nixpkgs' stock one: nothing reads the overlay, and root has no SSH key",
            instead: concat!("boot a kexec image, set a root password on the console, or ", use_ours!()),
        },

        (Field::Nameservers, true, _) | (Field::Nameservers, false, Ours) => Effect::Applied,
        (Field::Nameservers, false, Upstream) => Effect::Ignored {
            why: "upstream's netboot image takes DNS from DHCP and runs no systemd-resolved to read nameserver=; \
                  iPXE uses the first IPv4 one only to download, on a static interface",
            instead: concat!("hand DNS out by DHCP, or ", use_ours!()),
        },

        (Field::ReleaseKexecTarballSha256, true, Ours) => Effect::Applied,
        (Field::ReleaseKexecTarballSha256, true, Upstream) => Effect::Partly(
            "nix-community re-uploads its assets weekly under the same tag, so the pin stops matching within a week \
             (the install command then stops and says how to pin again)",
        ),
        (Field::ReleaseKexecTarballSha256, false, _) => Effect::Ignored {
            why: "a netboot downloads no kexec tarball, and iPXE checks no digest",
            instead: "remove it",
        },

        (Field::InterfaceMatchMac, _, _) => Effect::Applied,
        (Field::InterfaceMatchName, true, Upstream) => Effect::Partly(
            "upstream's units match by MAC: the run script looks up the MAC the name has on this machine, and stops \
             if there is no such interface",
        ),
        (Field::InterfaceMatchName, true, Ours) => Effect::Partly(
            "the installer's networkd matches the name, which NixOS may give the NIC differently (predictable names); \
             match_mac is safer",
        ),
        (Field::InterfaceMatchName, false, Ours) => Effect::Partly(
            "only the installer's networkd matches names; iPXE, which cannot, runs DHCP on every NIC for the download",
        ),
        (Field::InterfaceMatchName, false, Upstream) => Effect::Ignored {
            why: "iPXE cannot tell which NIC a Linux name means, and upstream's netboot image configures every NIC by \
                  DHCP",
            instead: "use match_mac",
        },

        (Field::InterfaceDhcpOff, true, Upstream) => Effect::Partly(
            "upstream's restore script always turns DHCP and router advertisements on; the static addresses and \
             routes are added to them",
        ),
        (Field::InterfaceDhcpOff | Field::InterfaceAddresses | Field::InterfaceRoutes, false, Upstream) => {
            Effect::Ignored {
                why: "iPXE uses the first IPv4 address and default gateway to download, but upstream's netboot image \
                      configures every NIC by DHCP (NetworkManager from 25.11) once the kernel runs",
                instead: concat!("reserve the address in DHCP, boot a kexec image, or ", use_ours!()),
            }
        }
        (Field::InterfaceDhcpOff | Field::InterfaceAddresses | Field::InterfaceRoutes, _, _) => Effect::Applied,

        (Field::KexecDelaySeconds | Field::KexecExtraFlags | Field::KexecPanicRebootSeconds, true, _) => {
            Effect::Applied
        }
        (Field::KexecDelaySeconds | Field::KexecExtraFlags, false, _) => {
            Effect::Ignored { why: "a netboot does not kexec", instead: "remove it" }
        }
        (Field::KexecPanicRebootSeconds, false, _) => Effect::Ignored {
            why: "the kexec run script adds it; a netboot's command line is the iPXE script's",
            instead: "add `panic=SECONDS` to kernel_params",
        },
        (Field::KexecRollbackMinutes, true, Ours) => Effect::Applied,
        (Field::KexecRollbackMinutes, true, Upstream) => Effect::Ignored {
            why: "upstream's installer has no watchdog: a machine nobody can reach stays in it until power-cycled",
            instead: use_ours!(),
        },
        (Field::KexecRollbackMinutes, false, _) => Effect::Ignored {
            why: "a netboot machine that reboots netboots the same installer again; there is no system to go back to",
            instead: "remove it",
        },
    }
}

/// How much a notice matters: an ignored field is a warning (an error in strict mode), a field that takes effect
/// only in part a note.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Note,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }
}

/// One line about one field of a request: `warning: ssh_authorized_keys: ...`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The field's path, as validation errors name it (`interfaces[0].addresses`).
    pub path: FieldPath,
    pub severity: Severity,
    pub message: String,
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.severity.as_str(), self.path, self.message)
    }
}

/// The installer column's name in messages and the table (`upstream's kexec images`).
fn column(image: ImageKind, installer: Installer) -> String {
    let whose = match installer {
        Installer::Upstream => "upstream's",
        Installer::NixosImages => "this project's",
    };
    let kind = if image.is_kexec() { "kexec" } else { "netboot" };
    format!("{whose} {kind} images")
}

/// The fields the request sets whose effect is not [`Effect::Applied`] on its image and installer, one notice
/// each, in field order.
pub fn notices(req: &ValidRequest) -> Vec<Notice> {
    let field = FieldPath::field;
    let mut set: Vec<(FieldPath, Field)> = Vec::new();
    if req.hostname.is_some() {
        set.push((field("hostname"), Field::Hostname));
    }
    if !req.ssh_authorized_keys.is_empty() {
        set.push((field("ssh_authorized_keys"), Field::SshAuthorizedKeys));
    }
    if !req.kernel_params.is_empty() {
        set.push((field("kernel_params"), Field::KernelParams));
    }
    if !req.nameservers.is_empty() {
        set.push((field("nameservers"), Field::Nameservers));
    }
    if req.release.kexec_tarball_sha256.is_some() {
        set.push((field("release").key("kexec_tarball_sha256"), Field::ReleaseKexecTarballSha256));
    }
    for (i, iface) in req.interfaces.iter().enumerate() {
        let at = |key| field("interfaces").index(i).key(key);
        match iface.matches {
            InterfaceMatch::Mac(_) => set.push((at("match_mac"), Field::InterfaceMatchMac)),
            InterfaceMatch::Name(_) => set.push((at("match_name"), Field::InterfaceMatchName)),
        }
        if !iface.addresses.is_empty() {
            set.push((at("addresses"), Field::InterfaceAddresses));
        }
        if !iface.routes.is_empty() {
            set.push((at("routes"), Field::InterfaceRoutes));
        }
        if !iface.dhcp {
            set.push((at("dhcp"), Field::InterfaceDhcpOff));
        }
    }
    if req.kexec.delay_seconds != crate::request::KexecRequest::default().delay_seconds {
        set.push((field("kexec").key("delay_seconds"), Field::KexecDelaySeconds));
    }
    if !req.kexec.extra_flags.is_empty() {
        set.push((field("kexec").key("extra_flags"), Field::KexecExtraFlags));
    }
    if req.kexec.panic_reboot_seconds != Some(crate::request::KexecRequest::default().panic_reboot_seconds) {
        set.push((field("kexec").key("panic_reboot_seconds"), Field::KexecPanicRebootSeconds));
    }
    // Turned off, it has no effect to warn about on any installer.
    if req.kexec.rollback_minutes.is_some_and(|m| m != crate::request::KexecRequest::default().rollback_minutes) {
        set.push((field("kexec").key("rollback_minutes"), Field::KexecRollbackMinutes));
    }
    let on = column(req.image, req.release.installer);
    let mut out: Vec<Notice> = Vec::new();
    let notices = set.into_iter().filter_map(|(path, field)| match effect(field, req.image, req.release.installer) {
        Effect::Applied => None,
        Effect::Partly(limit) => {
            Some(Notice { path, severity: Severity::Note, message: format!("partly on {on}: {limit}") })
        }
        Effect::Ignored { why, instead } => Some(Notice {
            path,
            severity: Severity::Warning,
            message: format!("ignored by {on}: {why}; instead: {instead}"),
        }),
    });
    for n in notices {
        // An interface's addresses, routes and dhcp share one reason: say it once, at the first of them.
        let interface = |p: &FieldPath| {
            let second_key = p.segments().iter().skip(1).position(|s| matches!(s, Segment::Key(_)))?;
            Some(p.truncated(second_key + 1))
        };
        let repeated = out.iter().any(|o| {
            o.message == n.message && interface(&o.path).is_some() && interface(&o.path) == interface(&n.path)
        });
        if !repeated {
            out.push(n);
        }
    }
    out
}

/// The values validation accepts for a bounded field, and why a floor is where it is (the limits live in
/// [`crate::validate`]).
fn accepted(field: Field) -> Option<String> {
    use crate::validate::*;
    match field {
        Field::KexecDelaySeconds => Some(format!(
            "{MIN_KEXEC_DELAY_SECONDS} to {MAX_KEXEC_DELAY_SECONDS} seconds; fewer is refused: {KEXEC_DELAY_FLOOR_REASON}"
        )),
        Field::KexecPanicRebootSeconds => Some(format!("0 (no reboot) to {MAX_PANIC_REBOOT_SECONDS} seconds")),
        Field::KexecRollbackMinutes => Some(format!("0 (off) to {MAX_ROLLBACK_MINUTES} minutes")),
        _ => None,
    }
}

/// The columns of the table: every image kind (kexec-noninteractive behaves as kexec) by installer.
const COLUMNS: [(ImageKind, Installer); 4] = [
    (ImageKind::Kexec, Installer::Upstream),
    (ImageKind::Kexec, Installer::NixosImages),
    (ImageKind::Netboot, Installer::Upstream),
    (ImageKind::Netboot, Installer::NixosImages),
];

/// The effect table as Markdown: a grid of applied/partly/ignored, then every limit and reason in a list. The
/// README and the docs site show exactly this.
pub fn markdown() -> String {
    let mut out = String::new();
    out.push_str("| field | kexec, upstream | kexec, nixos-images | netboot, upstream | netboot, nixos-images |\n");
    out.push_str("|---|---|---|---|---|\n");
    let mut details = String::new();
    for field in Field::ALL {
        let _ = write!(out, "| `{}` |", field.name());
        for (image, installer) in COLUMNS {
            let e = effect(field, image, installer);
            let _ = write!(out, " {} |", e.label());
            match e {
                Effect::Applied => {}
                Effect::Partly(limit) => {
                    let _ = writeln!(details, "- `{}` on {}: partly: {limit}.", field.name(), column(image, installer));
                }
                Effect::Ignored { why, instead } => {
                    let _ = writeln!(
                        details,
                        "- `{}` on {}: ignored: {why}. Instead: {instead}.",
                        field.name(),
                        column(image, installer)
                    );
                }
            }
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&details);
    out.push_str("\nThe values accepted, on every image:\n\n");
    for field in Field::ALL {
        if let Some(values) = accepted(field) {
            let _ = writeln!(out, "- `{}`: {values}.", field.name());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Request;

    fn valid(text: &str, installer: Option<&str>) -> ValidRequest {
        let mut req = Request::parse_toml(text).unwrap();
        req.release.installer = installer.map(String::from);
        req.validate().unwrap()
    }

    #[test]
    fn kexec_with_upstream_only_notes_what_it_cannot_express() {
        let req = valid(crate::EXAMPLE_REQUEST, None);
        let lines: Vec<String> = notices(&req).iter().map(ToString::to_string).collect();
        assert_eq!(lines.len(), 1, "{lines:#?}");
        assert!(lines[0].starts_with("note: interfaces[0].dhcp: partly on upstream's kexec images: "), "{lines:?}");
        assert!(notices(&valid(crate::EXAMPLE_REQUEST, Some("nixos-images"))).is_empty());
    }

    #[test]
    fn netboot_with_upstream_warns_about_keys_and_network() {
        let req = valid(include_str!("../../examples/netboot-static.toml"), None);
        let warned: Vec<String> =
            notices(&req).into_iter().filter(|n| n.severity == Severity::Warning).map(|n| n.path.to_string()).collect();
        assert_eq!(warned, ["ssh_authorized_keys", "nameservers", "interfaces[0].addresses"]);
        assert!(notices(&valid(include_str!("../../examples/netboot-static.toml"), Some("nixos-images"))).is_empty());
    }

    #[test]
    fn this_projects_images_apply_everything_but_names_and_kexec_fields_on_netboot() {
        let kexec_only = [
            Field::ReleaseKexecTarballSha256,
            Field::KexecDelaySeconds,
            Field::KexecExtraFlags,
            Field::KexecPanicRebootSeconds,
            Field::KexecRollbackMinutes,
        ];
        for field in Field::ALL {
            for image in ImageKind::ALL {
                let e = effect(field, image, Installer::NixosImages);
                let want = if field == Field::InterfaceMatchName {
                    "partly"
                } else if image == ImageKind::Netboot && kexec_only.contains(&field) {
                    "ignored"
                } else {
                    "applied"
                };
                assert_eq!(e.label(), want, "{field:?} on {image:?}: {e:?}");
            }
        }
    }

    #[test]
    fn table_has_a_row_per_field_and_a_reason_per_cell_that_is_not_applied() {
        let table = markdown();
        for field in Field::ALL {
            assert!(table.contains(&format!("| `{}` |", field.name())), "{field:?}");
        }
        let not_applied = Field::ALL
            .iter()
            .flat_map(|f| COLUMNS.iter().map(move |(i, k)| effect(*f, *i, *k)))
            .filter(|e| *e != Effect::Applied)
            .count();
        let bounded = Field::ALL.iter().filter(|f| accepted(**f).is_some()).count();
        assert_eq!(table.lines().filter(|l| l.starts_with("- `")).count(), not_applied + bounded);
    }

    #[test]
    fn the_table_gives_the_kexec_delay_floor_and_its_reason() {
        use crate::validate::{KEXEC_DELAY_FLOOR_REASON, MIN_KEXEC_DELAY_SECONDS};
        let table = markdown();
        let line = table.lines().find(|l| l.starts_with("- `kexec.delay_seconds`: ")).expect("the delay's values");
        assert!(line.contains(&format!("{MIN_KEXEC_DELAY_SECONDS} to ")), "{line}");
        assert!(line.contains(KEXEC_DELAY_FLOOR_REASON), "{line}");
    }
}
