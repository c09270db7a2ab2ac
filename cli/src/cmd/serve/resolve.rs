//! A request target → the file it names inside the served tree, or why not. Every refusal is decided from the
//! path and the file system's metadata, before anything is opened, so no request can read outside the tree.

use std::ffi::OsStr;
use std::io::ErrorKind;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not a path (an absolute URL, `*`): 400.
    BadTarget,
    /// `..`, NUL or a backslash after decoding, or a path that leads outside the tree: 403.
    Forbidden,
    /// Nothing to serve there, a directory without index.html included (there are no listings): 404.
    NotFound,
}

impl Refusal {
    pub fn status(&self) -> u16 {
        match self {
            Refusal::BadTarget => 400,
            Refusal::Forbidden => 403,
            Refusal::NotFound => 404,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The canonical path: no symlinks left, inside the tree.
    pub file: PathBuf,
    /// The path as requested (`index.html` added for a directory). Its extension names the content type, so a
    /// link `boot.ipxe -> generated/3f2a` still serves text.
    pub named: PathBuf,
}

/// `root` is the tree's canonical path; `target` the request target as sent (`/a/b.ipxe?mac=...`).
pub fn resolve(root: &Path, target: &str) -> Result<Found, Refusal> {
    // The query is for scripts that generate answers; a static tree ignores it.
    let path = target.split(['?', '#']).next().unwrap_or_default();
    let rel = path.strip_prefix('/').ok_or(Refusal::BadTarget)?;
    // Decoded before any check, so `%2e%2e` and `%2f` are the `..` and `/` they stand for.
    let decoded: Vec<u8> = percent_encoding::percent_decode_str(rel).collect();
    if decoded.contains(&0) || decoded.contains(&b'\\') {
        return Err(Refusal::Forbidden);
    }
    let mut named = root.to_path_buf();
    for part in decoded.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => return Err(Refusal::Forbidden),
            _ => named.push(OsStr::from_bytes(part)),
        }
    }
    let file = inside(root, &named)?;
    if file.is_dir() {
        let named = named.join("index.html");
        return regular_file(inside(root, &named)?, named);
    }
    regular_file(file, named)
}

/// The canonical path of `path` if it lies inside `root`. A missing path is 404 only if the deepest part of it
/// that exists is inside too: below a symlink to a directory outside, present and missing files both get 403.
fn inside(root: &Path, path: &Path) -> Result<PathBuf, Refusal> {
    match path.canonicalize() {
        Ok(real) if real.starts_with(root) => Ok(real),
        Ok(_) => Err(Refusal::Forbidden),
        Err(err) if matches!(err.kind(), ErrorKind::NotFound | ErrorKind::NotADirectory) => {
            match path.ancestors().skip(1).find_map(|a| a.canonicalize().ok()) {
                Some(real) if real.starts_with(root) => Err(Refusal::NotFound),
                _ => Err(Refusal::Forbidden),
            }
        }
        // Permission denied, a symlink loop: nothing a client may look into.
        Err(_) => Err(Refusal::Forbidden),
    }
}

/// Only regular files are served: opening a FIFO or a device could block or never end.
fn regular_file(file: PathBuf, named: PathBuf) -> Result<Found, Refusal> {
    match std::fs::metadata(&file) {
        Ok(meta) if meta.is_file() => Ok(Found { file, named }),
        _ => Err(Refusal::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::os::unix::fs::symlink;

    use super::*;

    /// `<tmp>/tree` (canonical) with `a/b.txt`, `secret` beside it.
    fn tree() -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("tree");
        fs::create_dir_all(root.join("a")).unwrap();
        fs::write(root.join("a/b.txt"), "b").unwrap();
        fs::write(tmp.path().join("secret"), "secret").unwrap();
        let root = root.canonicalize().unwrap();
        (tmp, root)
    }

    #[test]
    fn decoded_paths_inside_the_tree_resolve() {
        let (_tmp, root) = tree();
        let want = Found { file: root.join("a/b.txt"), named: root.join("a/b.txt") };
        for target in ["/a/b.txt", "/a%2Fb.txt", "/%61/b.txt", "//a/./b.txt", "/a/b.txt?mac=52:54:00:12:34:56"] {
            assert_eq!(resolve(&root, target), Ok(want.clone()), "{target}");
        }
    }

    #[test]
    fn dot_dot_nul_and_backslash_are_refused_before_any_lookup() {
        let (_tmp, root) = tree();
        for target in ["/../secret", "/%2e%2e/secret", "/a/%2E%2E%2F..%2fsecret", "/a/..", "/a%5Cb.txt", "/a/b.txt%00"]
        {
            assert_eq!(resolve(&root, target), Err(Refusal::Forbidden), "{target}");
        }
        assert_eq!(resolve(&root, "http://example.org/a/b.txt"), Err(Refusal::BadTarget));
        assert_eq!(resolve(&root, "*"), Err(Refusal::BadTarget));
    }

    #[test]
    fn symlinks_out_of_the_tree_are_refused_whether_or_not_the_target_exists() {
        let (tmp, root) = tree();
        symlink(tmp.path().join("secret"), root.join("out")).unwrap();
        symlink(tmp.path(), root.join("outdir")).unwrap();
        symlink("a/b.txt", root.join("link.ipxe")).unwrap();
        assert_eq!(resolve(&root, "/out"), Err(Refusal::Forbidden));
        assert_eq!(resolve(&root, "/outdir/secret"), Err(Refusal::Forbidden));
        assert_eq!(resolve(&root, "/outdir/missing"), Err(Refusal::Forbidden));
        assert_eq!(resolve(&root, "/a/missing"), Err(Refusal::NotFound));
        assert_eq!(resolve(&root, "/a/b.txt/x"), Err(Refusal::NotFound));
        let link = resolve(&root, "/link.ipxe").unwrap();
        assert_eq!((link.file, link.named), (root.join("a/b.txt"), root.join("link.ipxe")));
    }

    #[test]
    fn a_directory_serves_its_index_html_or_nothing() {
        let (tmp, root) = tree();
        assert_eq!(resolve(&root, "/a/"), Err(Refusal::NotFound));
        fs::write(root.join("a/index.html"), "<p>").unwrap();
        assert_eq!(resolve(&root, "/a").unwrap().named, root.join("a/index.html"));
        assert_eq!(resolve(&root, "/"), Err(Refusal::NotFound));
        symlink(tmp.path().join("secret"), root.join("index.html")).unwrap();
        assert_eq!(resolve(&root, "/"), Err(Refusal::Forbidden));
    }
}
