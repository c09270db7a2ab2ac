//! OpenSSH `authorized_keys` lines: `[options] keytype base64-blob [comment]`.
//!
//! The blob is decoded and its embedded key type compared with the written one, so a truncated paste or a key
//! whose type was edited by hand is caught before it locks a person out of their only SSH access.

use base64::Engine;

/// Key types OpenSSH accepts in `authorized_keys` today (DSA was removed in OpenSSH 9.8).
pub const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// A validated public key line, kept exactly as written (options and comment included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshPublicKey {
    line: String,
    key_type: &'static str,
    options: Option<String>,
}

impl SshPublicKey {
    /// The whole line as the person wrote it (surrounding whitespace removed).
    pub fn as_str(&self) -> &str {
        &self.line
    }
    pub fn key_type(&self) -> &'static str {
        self.key_type
    }
    /// The options prefix (`from="10.0.0.0/8",no-pty`), if any.
    pub fn options(&self) -> Option<&str> {
        self.options.as_deref()
    }
}

impl std::fmt::Display for SshPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.line)
    }
}

/// Markers that only ever appear in private keys. Checked first, and the text is never echoed back.
const PRIVATE_KEY_MARKERS: &[&str] = &[
    "PRIVATE KEY",
    "PuTTY-User-Key-File",
    "BEGIN SSH2 ENCRYPTED",
    "b3BlbnNzaC1rZXktdjE", // base64 of "openssh-key-v1", the private key container
];

/// Whether pasted text holds a private key (anywhere in it). The web form clears such text at once.
pub fn contains_private_key(text: &str) -> bool {
    PRIVATE_KEY_MARKERS.iter().any(|m| text.contains(m))
}

/// One `authorized_keys` line. The error message never contains the input, because the input may be a secret
/// pasted by mistake.
impl std::str::FromStr for SshPublicKey {
    type Err = String;
    fn from_str(input: &str) -> Result<SshPublicKey, String> {
        parse_authorized_key(input)
    }
}

fn parse_authorized_key(input: &str) -> Result<SshPublicKey, String> {
    if PRIVATE_KEY_MARKERS.iter().any(|m| input.contains(m)) {
        return Err("this is a PRIVATE key, not a public key: never share it; paste the contents of the \
                    matching .pub file instead"
            .into());
    }
    let line = input.trim_matches(|c| c == ' ' || c == '\t');
    if line.is_empty() {
        return Err("empty key".into());
    }
    if let Some(c) = line.chars().find(|c| c.is_control() && *c != '\t') {
        return Err(format!(
            "contains a control character ({}); an authorized_keys entry is exactly one line",
            describe_char(c)
        ));
    }
    if line.starts_with('#') {
        return Err("is a comment, not a key".into());
    }
    let (options, rest) = split_options(line)?;
    let mut fields = rest.splitn(3, [' ', '\t']);
    let key_type = fields.next().unwrap_or_default();
    let blob = fields.next().unwrap_or_default().trim();
    let Some(known) = KEY_TYPES.iter().copied().find(|t| *t == key_type) else {
        if key_type == "ssh-dss" {
            return Err("DSA keys (ssh-dss) are no longer accepted by OpenSSH; use an ed25519 key".into());
        }
        return Err(format!("unknown key type `{}` (expected one of: {})", shorten(key_type), KEY_TYPES.join(", ")));
    };
    if blob.is_empty() {
        return Err(format!("the {known} key has no base64 key data after the key type"));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(blob)
        .map_err(|e| format!("the key data is not valid base64 ({e}); was the key cut off while copying?"))?;
    let embedded = embedded_key_type(&bytes)
        .ok_or_else(|| "the key data is truncated or not an SSH public key blob".to_string())?;
    if embedded != known.as_bytes() {
        return Err(format!(
            "the line says `{known}` but the key data is a `{}` key",
            shorten(&String::from_utf8_lossy(embedded))
        ));
    }
    Ok(SshPublicKey { line: line.to_string(), key_type: known, options: options.map(str::to_string) })
}

/// Splits a leading options field off. Options end at the first unquoted blank; quoted parts may hold blanks.
fn split_options(line: &str) -> Result<(Option<&str>, &str), String> {
    let first = line.split([' ', '\t']).next().unwrap_or_default();
    if KEY_TYPES.contains(&first) || first == "ssh-dss" {
        return Ok((None, line));
    }
    let mut in_quotes = false;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            ' ' | '\t' if !in_quotes => {
                let rest = line[i..].trim_start_matches([' ', '\t']);
                return Ok((Some(&line[..i]), rest));
            }
            _ => {}
        }
    }
    if in_quotes {
        Err("the options before the key have an unclosed double quote".into())
    } else {
        Err("no key type found (expected e.g. `ssh-ed25519 AAAA... comment`)".into())
    }
}

/// The key type string at the start of an SSH public key blob (RFC 4253 `string` encoding).
fn embedded_key_type(blob: &[u8]) -> Option<&[u8]> {
    let len = u32::from_be_bytes(blob.get(..4)?.try_into().ok()?) as usize;
    let name = blob.get(4..4usize.checked_add(len)?)?;
    // A blob holds more than its type name: the key material follows.
    (blob.len() > 4 + len).then_some(name)
}

fn shorten(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

pub(crate) fn describe_char(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJc8dPZMT4nOt7KCWcXuD/SnwMbZVnS0zy/73ZA8lGTg alice@laptop";

    #[test]
    fn accepts_key_with_options_and_comment() {
        let k = parse_authorized_key(&format!("from=\"10.0.0.0/8\",command=\"echo a b\" {ED}")).unwrap();
        assert_eq!(k.key_type(), "ssh-ed25519");
        assert_eq!(k.options(), Some("from=\"10.0.0.0/8\",command=\"echo a b\""));
    }

    #[test]
    fn refuses_private_key_without_echo() {
        let secret = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n";
        let err = parse_authorized_key(secret).unwrap_err();
        assert!(err.contains("PRIVATE key"));
        assert!(!err.contains("b3Blbn"));
    }

    #[test]
    fn type_mismatch() {
        let err = parse_authorized_key(&ED.replace("ssh-ed25519", "ssh-rsa")).unwrap_err();
        assert!(err.contains("is a `ssh-ed25519` key"), "{err}");
    }

    #[test]
    fn bad_base64() {
        let err = parse_authorized_key("ssh-ed25519 AAAA!!!! x").unwrap_err();
        assert!(err.contains("base64"), "{err}");
    }
}
