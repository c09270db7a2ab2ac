//! Typed escapers for the text formats core writes. Each is tested against the real interpreter
//! (`dash` for shell words, `nix-instantiate --eval` for Nix strings) in `cli/tests`.

use std::fmt;

/// A string written as one POSIX shell word: single-quoted, with `'` written as `'\''`.
#[derive(Debug, Clone, Copy)]
pub struct ShellWord<'a>(pub &'a str);

/// A value safe to quote back in a one-line message: control characters replaced by U+FFFD, at most `max_chars`
/// characters (then `…`). The one helper for messages that quote input (validation, the web form, the agent).
pub fn printable(s: &str, max_chars: usize) -> String {
    let mut out: String = s.chars().take(max_chars).map(|c| if c.is_control() { '\u{fffd}' } else { c }).collect();
    if s.chars().count() > max_chars {
        out.push('…');
    }
    out
}

/// Text in HTML (element content or a double-quoted attribute): `&`, `<`, `>`, `"` and `'` as entities.
pub fn html_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl fmt::Display for ShellWord<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        // Words made only of characters the shell never treats specially are written bare, for readability.
        if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"@%+=:,./-_".contains(&b)) {
            return f.write_str(s);
        }
        f.write_str("'")?;
        for (i, part) in s.split('\'').enumerate() {
            if i > 0 {
                f.write_str("'\\''")?;
            }
            f.write_str(part)?;
        }
        f.write_str("'")
    }
}

/// ShellCheck checks that flag text inside single quotes that looks like a slip in a hand-written script but is
/// exactly what a quoted literal holds: `$x` and backquotes kept literal (SC2016), a trailing `\` (SC1003), a
/// carriage return (SC1017), Unicode spaces, dashes and quotes (SC1018, SC1100, SC1110, SC1111, SC1112), a literal
/// `~/` (SC2088). Generated scripts disable them on lines that print request text.
pub const SHELLCHECK_LITERAL_TEXT: &str = "SC1003,SC1017,SC1018,SC1100,SC1110,SC1111,SC1112,SC2016,SC2088";

/// A Nix double-quoted string literal. `"`, `\` and `${` are escaped; newline, CR and tab use their escapes.
/// NUL cannot be represented in a Nix string; validation never lets it through.
#[derive(Debug, Clone, Copy)]
pub struct NixString<'a>(pub &'a str);

impl fmt::Display for NixString<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"")?;
        let mut chars = self.0.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                '$' if chars.peek() == Some(&'{') => f.write_str("\\$")?,
                c => fmt::Write::write_char(f, c)?,
            }
        }
        f.write_str("\"")
    }
}

/// A Nix attribute name: bare when it is an identifier (and not a keyword), a string literal otherwise.
#[derive(Debug, Clone, Copy)]
pub struct NixAttrName<'a>(pub &'a str);

const NIX_KEYWORDS: &[&str] = &["if", "then", "else", "assert", "with", "let", "in", "rec", "inherit", "or"];

impl fmt::Display for NixAttrName<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        let mut bytes = s.bytes();
        let ident = matches!(bytes.next(), Some(b) if b.is_ascii_alphabetic() || b == b'_')
            && bytes.all(|b| b.is_ascii_alphanumeric() || b"_'-".contains(&b))
            && !NIX_KEYWORDS.contains(&s);
        if ident {
            f.write_str(s)
        } else {
            NixString(s).fmt(f)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn html_text_escapes_markup_and_quotes() {
        assert_eq!(super::html_text("a<b>&\"c'd"), "a&lt;b&gt;&amp;&quot;c&#39;d");
        assert_eq!(super::html_text("web1 52:54:00:00:00:01"), "web1 52:54:00:00:00:01");
    }

    use super::*;

    #[test]
    fn shell_words() {
        assert_eq!(ShellWord("abc").to_string(), "abc");
        assert_eq!(ShellWord("").to_string(), "''");
        assert_eq!(ShellWord("it's").to_string(), "'it'\\''s'");
        assert_eq!(ShellWord("$HOME").to_string(), "'$HOME'");
    }

    #[test]
    fn nix_strings() {
        assert_eq!(NixString("a\"b\\c${d}$e").to_string(), r#""a\"b\\c\${d}$e""#);
        assert_eq!(NixAttrName("10-uplink").to_string(), "\"10-uplink\"");
        assert_eq!(NixAttrName("networkConfig").to_string(), "networkConfig");
        assert_eq!(NixAttrName("in").to_string(), "\"in\"");
    }
}
