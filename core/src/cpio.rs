//! A newc ("070701") cpio writer for initramfs overlays, in memory so it also runs in the browser.
//!
//! The kernel only unpacks a file whose parent directory already exists, so [`Cpio`] adds missing parent
//! directories itself and writes entries sorted by path (a parent sorts before its children). Every entry has
//! `nlink = 1`, uid/gid 0 and mtime 0, so the same members always give the same bytes.

use std::collections::BTreeMap;

const S_IFDIR: u32 = 0o040000;
const S_IFREG: u32 = 0o100000;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Member {
    Dir { mode: u32 },
    File { mode: u32, data: Vec<u8> },
}

/// The members of one cpio archive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cpio {
    members: BTreeMap<String, Member>,
}

impl Cpio {
    pub fn new() -> Cpio {
        Cpio::default()
    }

    /// Adds a directory (and its missing parents, with the same mode). `path` is relative, `/`-separated.
    pub fn dir(&mut self, path: &str, mode: u32) -> &mut Self {
        for parent in parents_and_self(path) {
            self.members.entry(parent.to_string()).or_insert(Member::Dir { mode });
        }
        self
    }

    /// Adds a regular file; missing parent directories are added with mode 0700.
    pub fn file(&mut self, path: &str, mode: u32, data: impl Into<Vec<u8>>) -> &mut Self {
        let parents: Vec<&str> = parents_and_self(path).collect();
        for parent in &parents[..parents.len() - 1] {
            self.members.entry(parent.to_string()).or_insert(Member::Dir { mode: 0o700 });
        }
        self.members.insert(path.to_string(), Member::File { mode, data: data.into() });
        self
    }

    /// Paths of all members, in archive order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.members.keys().map(String::as_str)
    }

    /// The uncompressed archive, ending with the `TRAILER!!!` entry.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (ino, (path, member)) in self.members.iter().enumerate() {
            let (mode, data): (u32, &[u8]) = match member {
                Member::Dir { mode } => (S_IFDIR | mode, &[]),
                Member::File { mode, data } => (S_IFREG | mode, data),
            };
            write_entry(&mut out, ino as u32 + 1, path, mode, data);
        }
        write_entry(&mut out, 0, "TRAILER!!!", 0, &[]);
        out
    }

    /// The archive gzip-compressed (as the kernel accepts appended to an initrd).
    pub fn to_gzip(&self) -> Vec<u8> {
        crate::gzip::compress(&self.to_bytes())
    }
}

/// `a`, `a/b`, `a/b/c` for `a/b/c`.
fn parents_and_self(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i]).chain(std::iter::once(path))
}

fn write_entry(out: &mut Vec<u8>, ino: u32, name: &str, mode: u32, data: &[u8]) {
    let name_size = name.len() + 1;
    let fields = [
        ino,
        mode,
        0,                 // uid
        0,                 // gid
        1,                 // nlink
        0,                 // mtime
        data.len() as u32, // filesize
        0,                 // devmajor
        0,                 // devminor
        0,                 // rdevmajor
        0,                 // rdevminor
        name_size as u32,
        0, // check (only used by the "070702" crc format)
    ];
    out.extend_from_slice(b"070701");
    for f in fields {
        out.extend_from_slice(format!("{f:08X}").as_bytes());
    }
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    pad4(out);
    out.extend_from_slice(data);
    pad4(out);
}

fn pad4(out: &mut Vec<u8>) {
    while out.len() % 4 != 0 {
        out.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_come_first_and_layout_is_aligned() {
        let mut c = Cpio::new();
        c.file("ssh/authorized_keys", 0o600, "key\n");
        assert_eq!(c.paths().collect::<Vec<_>>(), ["ssh", "ssh/authorized_keys"]);
        let bytes = c.to_bytes();
        assert_eq!(&bytes[..6], b"070701");
        assert_eq!(bytes.len() % 4, 0);
        // First entry is the directory with mode 040700.
        assert_eq!(&bytes[14..22], b"000041C0");
    }
}
