//! Where the installer comes from: a release's download location, tag, pinned digest and installer family.

use std::str::FromStr;

use super::{printable_char, Installer};
use crate::ssh_key::describe_char;

/// The release downloads' default location (the seed project's GitHub releases).
pub const DEFAULT_RELEASE_BASE_URL: &str = "https://github.com/nix-community/nixos-images/releases/download";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub base_url: BaseUrl,
    pub tag: ReleaseTag,
    pub kexec_tarball_sha256: Option<Sha256>,
    /// Which installer the release's images are: it decides what reads the request's files.
    pub installer: Installer,
}

impl Release {
    /// URL of one of the release's assets.
    pub fn asset_url(&self, asset: &str) -> String {
        asset_url(self.base_url.as_str(), self.tag.as_str(), asset)
    }
}

/// `<base_url>/<tag>/<asset>`: the one rule for a release's download links (requests and manifests).
pub fn asset_url(base_url: &str, tag: &str, asset: &str) -> String {
    format!("{}/{tag}/{asset}", base_url.trim_end_matches('/'))
}

/// Where a release's assets are: `http(s)://host/...`, kept without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl(String);
text_type!(BaseUrl);

impl Default for BaseUrl {
    fn default() -> BaseUrl {
        BaseUrl(DEFAULT_RELEASE_BASE_URL.to_string())
    }
}

impl BaseUrl {
    /// The URL of `rel` below this one (`rel` is a relative path this project made: no `..`, nothing to escape).
    pub fn join(&self, rel: &str) -> BaseUrl {
        BaseUrl(format!("{}/{}", self.0, rel.trim_matches('/')))
    }
}

impl FromStr for BaseUrl {
    type Err = String;
    fn from_str(s: &str) -> Result<BaseUrl, String> {
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .ok_or_else(|| "must start with https:// or http://".to_string())?;
        if let Some(c) = s.chars().find(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("contains {}; percent-encode it", describe_char(c)));
        }
        if let Some(c) = s.chars().find(|c| matches!(c, '"' | '\'' | '`' | '\\' | '<' | '>' | '{' | '}' | '|' | '^')) {
            return Err(format!("contains `{c}`, which is not allowed unencoded in a URL"));
        }
        if s.contains('?') || s.contains('#') {
            return Err("must not have a query or fragment: asset names are appended to it".into());
        }
        let host = rest.split('/').next().unwrap_or_default();
        if host.is_empty() {
            return Err("has no host name".into());
        }
        Ok(BaseUrl(s.trim_end_matches('/').to_string()))
    }
}

/// A release tag: 1 to 128 of `[A-Za-z0-9._-]`, not starting with `.` (safe in a URL path and a file name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseTag(String);
text_type!(ReleaseTag);

impl FromStr for ReleaseTag {
    type Err = String;
    fn from_str(s: &str) -> Result<ReleaseTag, String> {
        if s.is_empty() || s.len() > 128 {
            return Err("a release tag has 1 to 128 characters".into());
        }
        if let Some(c) = s.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
            return Err(format!("contains `{}`; use letters, digits, `-`, `_` or `.`", printable_char(c)));
        }
        if s.starts_with('.') {
            return Err("must not start with `.`".into());
        }
        Ok(ReleaseTag(s.to_string()))
    }
}

/// A SHA-256 digest, kept as 64 lower-case hex digits (upper case is accepted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sha256(String);
text_type!(Sha256);

impl FromStr for Sha256 {
    type Err = String;
    fn from_str(s: &str) -> Result<Sha256, String> {
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err("a SHA-256 is 64 hex digits".into());
        }
        Ok(Sha256(s.to_ascii_lowercase()))
    }
}
