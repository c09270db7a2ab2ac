//! Share links: a request packed into a URL fragment (`#r=1.<base64url>`), so a link restores the web form.
//!
//! The fragment is never sent to a server. The request is written as its TOML request file (`Request::to_toml`, the
//! format the page also imports and exports, so no second serializer is linked into it), compressed with raw
//! deflate and encoded as unpadded base64url; the `1.` prefix is the encoding's version.

use std::io::{Read, Write};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;

use crate::Request;

/// The fragment key: `#r=...`.
pub const FRAGMENT_KEY: &str = "r";

/// The encoding's version prefix.
const VERSION_PREFIX: &str = "1.";

/// A decoded request larger than this is refused (a link is a few hundred bytes; this stops deflate bombs).
pub const MAX_DECODED_BYTES: u64 = 256 * 1024;

/// Why a share link could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    #[error("the link has no request in it (expected #r=1.…)")]
    Missing,
    #[error("the link was made by a newer version of the generator (unknown encoding `{0}`)")]
    UnknownVersion(String),
    #[error("the link is damaged (not base64url); copy it again in full")]
    Base64,
    #[error("the link is damaged (bad compressed data); copy it again in full")]
    Inflate,
    #[error("the link holds more than {MAX_DECODED_BYTES} bytes of request")]
    TooLarge,
    #[error("the link's request cannot be read: {0}")]
    Request(String),
}

/// The value of the `r` fragment parameter for a request (without `#r=`).
pub fn encode(req: &Request) -> String {
    let text = req.to_toml();
    let mut enc = DeflateEncoder::new(Vec::new(), Compression::best());
    // Writing into a Vec cannot fail.
    enc.write_all(text.as_bytes()).expect("deflate into memory");
    let packed = enc.finish().expect("deflate into memory");
    format!("{VERSION_PREFIX}{}", URL_SAFE_NO_PAD.encode(packed))
}

/// The whole fragment, `#r=1.…`.
pub fn to_fragment(req: &Request) -> String {
    format!("#{FRAGMENT_KEY}={}", encode(req))
}

/// Decodes the value made by [`encode`].
pub fn decode(value: &str) -> Result<Request, ShareError> {
    let value = value.trim();
    let Some(data) = value.strip_prefix(VERSION_PREFIX) else {
        let version = value.split('.').next().unwrap_or_default();
        return Err(if value.contains('.') {
            ShareError::UnknownVersion(version.chars().take(10).collect())
        } else {
            ShareError::Base64
        });
    };
    let packed = URL_SAFE_NO_PAD.decode(data.trim_end_matches('=')).map_err(|_| ShareError::Base64)?;
    let mut text = Vec::new();
    DeflateDecoder::new(packed.as_slice())
        .take(MAX_DECODED_BYTES + 1)
        .read_to_end(&mut text)
        .map_err(|_| ShareError::Inflate)?;
    if text.len() as u64 > MAX_DECODED_BYTES {
        return Err(ShareError::TooLarge);
    }
    let text = String::from_utf8(text).map_err(|_| ShareError::Request("not UTF-8".into()))?;
    Request::parse_toml(&text).map_err(|e| ShareError::Request(e.to_string()))
}

/// Finds `r=` in a URL fragment (with or without the leading `#`; other `&`-separated parameters are ignored) and
/// decodes it. `Err(ShareError::Missing)` when the fragment has no request.
pub fn from_fragment(fragment: &str) -> Result<Request, ShareError> {
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    let value = fragment
        .split('&')
        .find_map(|part| part.strip_prefix(FRAGMENT_KEY).and_then(|rest| rest.strip_prefix('=')))
        .ok_or(ShareError::Missing)?;
    decode(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_round_trips_and_is_url_safe() {
        let req = Request::parse_toml(crate::EXAMPLE_REQUEST).unwrap();
        let frag = to_fragment(&req);
        assert!(frag.starts_with("#r=1."));
        assert!(frag[1..].bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.=".contains(&b)), "{frag}");
        assert_eq!(from_fragment(&frag).unwrap(), req);
        assert_eq!(from_fragment(&format!("x=1&{}", &frag[1..])).unwrap(), req);
    }

    #[test]
    fn bad_links_are_refused() {
        assert_eq!(from_fragment(""), Err(ShareError::Missing));
        assert_eq!(from_fragment("#other=1"), Err(ShareError::Missing));
        assert_eq!(decode("2.AAAA"), Err(ShareError::UnknownVersion("2".into())));
        assert_eq!(decode("1.!!!"), Err(ShareError::Base64));
        assert_eq!(decode("1.AAAA"), Err(ShareError::Inflate));
        // A deflate bomb: a megabyte of zeros compresses to about a kilobyte.
        let mut enc = DeflateEncoder::new(Vec::new(), Compression::best());
        enc.write_all(&vec![b' '; 1 << 20]).unwrap();
        let bomb = format!("1.{}", URL_SAFE_NO_PAD.encode(enc.finish().unwrap()));
        assert_eq!(decode(&bomb), Err(ShareError::TooLarge));
    }
}
