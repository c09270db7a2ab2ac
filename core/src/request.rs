//! The request as people write it: TOML/JSON files, CLI flags, the web form.
//!
//! **API Boundary:** this schema is the public contract. Every field is kept as the text the person typed so that
//! validation can report every problem at once (a typed field would make the parser stop at the first error).

use serde::{Deserialize, Serialize};

use crate::field::{FieldError, FieldPath};

/// An unvalidated request. Turn it into a [`crate::ValidRequest`] with [`Request::validate`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// `kexec`, `kexec-noninteractive` or `netboot`.
    #[serde(default = "default_image")]
    pub image: String,
    /// `x86_64-linux` or `aarch64-linux`.
    #[serde(default = "default_arch")]
    pub arch: String,
    /// `nixos-unstable` or `nixos-YY.MM`.
    #[serde(default = "default_channel")]
    pub channel: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ssh_authorized_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kernel_params: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nameservers: Vec<String>,
    #[serde(default, skip_serializing_if = "ReleaseRequest::is_default")]
    pub release: ReleaseRequest,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interfaces: Vec<InterfaceRequest>,
    #[serde(default, skip_serializing_if = "KexecRequest::is_default")]
    pub kexec: KexecRequest,
    /// Refuse the request when a field it sets would be ignored by the installer it boots (the warnings of
    /// [`crate::effects::notices`] become errors).
    #[serde(default, skip_serializing_if = "is_false")]
    pub strict: bool,
}

/// Where the release assets are downloaded from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseRequest {
    /// Default: [`crate::DEFAULT_RELEASE_BASE_URL`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Default: the channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// SHA-256 (hex) of the kexec tarball, when the person knows it (from the release's manifest or SHA256SUMS);
    /// the install command then refuses a download that does not match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kexec_tarball_sha256: Option<String>,
    /// `upstream` (nix-community's images, the default) or `nixos-images` (this project's images).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub installer: Option<String>,
}

impl ReleaseRequest {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// One network interface. Without any, the installer runs DHCP/RA on every ethernet link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterfaceRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_mac: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_name: Option<String>,
    #[serde(default = "default_true")]
    pub dhcp: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<RouteRequest>,
}

impl Default for InterfaceRequest {
    fn default() -> Self {
        InterfaceRequest { match_mac: None, match_name: None, dhcp: true, addresses: vec![], routes: vec![] }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteRequest {
    /// `default` or a CIDR network.
    pub destination: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub on_link: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KexecRequest {
    #[serde(default = "default_delay")]
    pub delay_seconds: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_flags: Vec<String>,
    /// Seconds from a kernel panic in the installer to a reboot (`panic=` on its command line), so a remote
    /// machine comes back in the system on its disk instead of hanging; 0 leaves the kernel's default (hang).
    #[serde(default = "default_panic_reboot")]
    pub panic_reboot_seconds: u32,
    /// Minutes from the installer's boot to a reboot into the system on disk unless someone logs in over SSH
    /// (this project's kexec images: the agent's rollback watchdog); 0 turns it off.
    #[serde(default = "default_rollback")]
    pub rollback_minutes: u32,
}

impl Default for KexecRequest {
    fn default() -> Self {
        KexecRequest {
            delay_seconds: default_delay(),
            extra_flags: vec![],
            panic_reboot_seconds: default_panic_reboot(),
            rollback_minutes: default_rollback(),
        }
    }
}

impl KexecRequest {
    fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

impl Default for Request {
    fn default() -> Self {
        Request {
            image: default_image(),
            arch: default_arch(),
            channel: default_channel(),
            hostname: None,
            ssh_authorized_keys: vec![],
            kernel_params: vec![],
            nameservers: vec![],
            release: ReleaseRequest::default(),
            interfaces: vec![],
            kexec: KexecRequest::default(),
            strict: false,
        }
    }
}

fn default_image() -> String {
    "kexec".into()
}
fn default_arch() -> String {
    "x86_64-linux".into()
}
fn default_channel() -> String {
    "nixos-unstable".into()
}
fn default_true() -> bool {
    true
}
fn default_delay() -> u32 {
    6
}
/// A minute: long enough to read a panic on a console that someone watches, short enough for one nobody does.
fn default_panic_reboot() -> u32 {
    60
}
/// A quarter of an hour: nixos-anywhere logs in (`ssh ... exit 0`, every 5 s) as soon as the installer's sshd
/// answers, a minute or two after the kexec, and a person reconnecting by hand takes about as long; a machine
/// nobody can reach is back in its own system within the quarter.
fn default_rollback() -> u32 {
    15
}
fn is_false(b: &bool) -> bool {
    !*b
}

/// The formats a request file can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFormat {
    Toml,
    Json,
}

impl Request {
    /// Parses a request file. Unknown keys are rejected with the path of the key.
    pub fn parse(text: &str, format: RequestFormat) -> Result<Request, FieldError> {
        parse_as(text, format)
    }

    /// Parses a TOML request file (what `parse` does for [`RequestFormat::Toml`]). Front ends that only read TOML
    /// call this directly, so the JSON reader is not linked into them (the web page's size).
    pub fn parse_toml(text: &str) -> Result<Request, FieldError> {
        parse_toml_as(text)
    }

    /// Guesses the format from the file contents: JSON objects start with `{`.
    pub fn detect_format(text: &str) -> RequestFormat {
        if text.trim_start().starts_with('{') {
            RequestFormat::Json
        } else {
            RequestFormat::Toml
        }
    }

    /// The request as a TOML file (the same format `parse` reads).
    pub fn to_toml(&self) -> String {
        // Serializing plain strings, bools and integers into TOML cannot fail.
        toml::to_string(self).expect("a request always serializes to TOML")
    }
}

/// Parses a TOML or JSON file of the request's family (a request, an inventory): the first problem, at its path.
pub(crate) fn parse_as<T: serde::de::DeserializeOwned>(text: &str, format: RequestFormat) -> Result<T, FieldError> {
    match format {
        RequestFormat::Json => {
            let de = &mut serde_json::Deserializer::from_str(text);
            serde_path_to_error::deserialize(de).map_err(|e| {
                let path = field_path(e.path());
                let inner = e.into_inner();
                let line = inner.line();
                let msg = strip_position(&inner.to_string());
                FieldError::new(path, format!("{msg} (line {line})"))
            })
        }
        RequestFormat::Toml => parse_toml_as(text),
    }
}

fn parse_toml_as<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, FieldError> {
    let de = toml::Deserializer::parse(text).map_err(|e| toml_error(text, &e))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = field_path(e.path());
        let inner = e.into_inner();
        let mut message = inner.message().trim().to_string();
        if let Some(span) = inner.span() {
            message.push_str(&format!(" (line {})", line_of(text, span.start)));
        }
        FieldError::new(path, message)
    })
}

fn toml_error(text: &str, e: &toml::de::Error) -> FieldError {
    let mut message = e.message().trim().replace('\n', " ");
    if let Some(span) = e.span() {
        message.push_str(&format!(" (line {})", line_of(text, span.start)));
    }
    FieldError::new(FieldPath::root(), message)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())].iter().filter(|b| **b == b'\n').count() + 1
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

/// The path serde reports, as the same typed path validation errors use (empty: the whole request).
fn field_path(path: &serde_path_to_error::Path) -> FieldPath {
    use serde_path_to_error::Segment;
    path.iter().fold(FieldPath::root(), |at, seg| match seg {
        Segment::Seq { index } => at.index(*index),
        Segment::Map { key } => at.key_owned(key.clone()),
        Segment::Enum { variant } => at.key_owned(variant.clone()),
        Segment::Unknown => at,
    })
}
