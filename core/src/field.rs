//! Where a problem is: a typed path into a request or manifest (`interfaces[0].routes[1].gateway`), and the one
//! error shape every reader of user input reports with ([`FieldError`]).
//!
//! Front ends never take a path apart as text: the web form finds the input for a path and the CLI finds which
//! `--ssh-key-file` line a key came from through [`FieldPath::segments`] and [`FieldPath::entry_of`].

use std::borrow::Cow;
use std::fmt;

/// One step of a [`FieldPath`]: a key of a table or an index into a list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Segment {
    Key(Cow<'static, str>),
    Index(usize),
}

/// A field's place. The empty path is the whole input (written `request`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FieldPath(Vec<Segment>);

impl FieldPath {
    /// The whole input, for problems that are not inside one field (a syntax error).
    pub fn root() -> FieldPath {
        FieldPath(Vec::new())
    }

    /// A top-level field: `FieldPath::field("kexec")`.
    pub fn field(key: &'static str) -> FieldPath {
        FieldPath(vec![Segment::Key(Cow::Borrowed(key))])
    }

    /// This path's field `key`: `kexec` → `kexec.delay_seconds`.
    pub fn key(&self, key: &'static str) -> FieldPath {
        self.with(Segment::Key(Cow::Borrowed(key)))
    }

    /// A key only known at run time (an unknown key a parser reports).
    pub fn key_owned(&self, key: String) -> FieldPath {
        self.with(Segment::Key(Cow::Owned(key)))
    }

    /// Entry `index` of this list: `interfaces` → `interfaces[2]`.
    pub fn index(&self, index: usize) -> FieldPath {
        self.with(Segment::Index(index))
    }

    fn with(&self, segment: Segment) -> FieldPath {
        let mut segments = self.0.clone();
        segments.push(segment);
        FieldPath(segments)
    }

    pub fn segments(&self) -> &[Segment] {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The index when this path is an entry of `list` (`ssh_authorized_keys[3]` of `ssh_authorized_keys` → 3).
    pub fn entry_of(&self, list: &FieldPath) -> Option<usize> {
        match self.0.split_last() {
            Some((Segment::Index(i), head)) if head == list.0.as_slice() => Some(*i),
            _ => None,
        }
    }

    /// Whether this path is `prefix` or inside it.
    pub fn starts_with(&self, prefix: &FieldPath) -> bool {
        self.0.starts_with(&prefix.0)
    }

    /// The first `len` segments.
    pub fn truncated(&self, len: usize) -> FieldPath {
        FieldPath(self.0[..len.min(self.0.len())].to_vec())
    }

    /// The segments from `start` on (`interfaces[0].addresses` from 1 → `[0].addresses`).
    pub fn suffix(&self, start: usize) -> FieldPath {
        FieldPath(self.0.get(start..).unwrap_or_default().to_vec())
    }

    /// `rest` inside this path: `hosts[2]` joined with `interfaces[0]` → `hosts[2].interfaces[0]`.
    pub fn join(&self, rest: &FieldPath) -> FieldPath {
        let mut segments = self.0.clone();
        segments.extend(rest.0.iter().cloned());
        FieldPath(segments)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("request");
        }
        for (i, segment) in self.0.iter().enumerate() {
            match segment {
                Segment::Key(k) if i == 0 => f.write_str(k)?,
                Segment::Key(k) => write!(f, ".{k}")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// Tests and messages compare a path with how it is written.
impl PartialEq<&str> for FieldPath {
    fn eq(&self, other: &&str) -> bool {
        let written: &str = other;
        written == self.to_string().as_str()
    }
}

/// One problem with one field: `interfaces[0].routes[1].gateway: ...`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct FieldError {
    pub path: FieldPath,
    pub message: String,
}

impl FieldError {
    pub fn new(path: FieldPath, message: impl Into<String>) -> FieldError {
        FieldError { path, message: message.into() }
    }
}

/// Every problem found in one input, in field order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl ValidationErrors {
    /// The errors for one field path (for the web form's inline messages).
    pub fn for_field<'a>(&'a self, path: &'a FieldPath) -> impl Iterator<Item = &'a FieldError> + 'a {
        self.0.iter().filter(move |e| &e.path == path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_written_as_the_request_file_names_them() {
        let gateway = FieldPath::field("interfaces").index(0).key("routes").index(1).key("gateway");
        assert_eq!(gateway.to_string(), "interfaces[0].routes[1].gateway");
        assert_eq!(FieldPath::root().to_string(), "request");
        assert_eq!(FieldPath::field("kexec").key_owned("bogus".into()).to_string(), "kexec.bogus");
    }

    #[test]
    fn an_entry_is_found_only_directly_under_its_list() {
        let keys = FieldPath::field("ssh_authorized_keys");
        assert_eq!(keys.index(3).entry_of(&keys), Some(3));
        assert_eq!(keys.entry_of(&keys), None);
        assert_eq!(FieldPath::field("kernel_params").index(3).entry_of(&keys), None);
        let nested = FieldPath::field("interfaces").index(0).key("addresses");
        assert_eq!(nested.index(1).entry_of(&nested), Some(1));
        assert!(nested.index(1).starts_with(&FieldPath::field("interfaces").index(0)));
    }
}
