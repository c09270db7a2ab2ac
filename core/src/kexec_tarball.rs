//! The pure half of `customize kexec-tarball`: a streaming tar walker that finds the release's `kexec/run` and the
//! end-of-archive marker, and the entries appended after the release's own.
//!
//! The customized tarball is the release's archive with new entries after its last one: extraction lets a later
//! entry replace an earlier one of the same name, so `kexec/run` becomes ours and the release's is kept as
//! `kexec/run.release` (see `render::kexec_run`). No I/O here: the CLI feeds the decompressed bytes in.

use crate::render::kexec_run::{self, RELEASE_RUN_NAME};
use crate::{ArtifactFile, ValidRequest};

/// The release's run script, replaced by ours.
pub const RUN: &str = "kexec/run";
/// Where the release's run script is kept (ours reads its `init=` line).
pub const RUN_RELEASE: &str = "kexec/run.release";
/// The agent binary, when one is added.
pub const AGENT: &str = "kexec/nixos-images-agent";
/// A run script larger than this is not a release's (theirs are a few KiB).
pub const MAX_RUN_SCRIPT: usize = 1 << 20;
/// Size of a tar block.
pub const BLOCK: u64 = 512;
/// Two zero blocks end a tar archive.
pub const END_OF_ARCHIVE: [u8; 1024] = [0; 1024];

const _: () = assert!(RUN_RELEASE.len() == "kexec/".len() + RELEASE_RUN_NAME.len());

/// The `/nix/store/...` path of the release script's first `init="..."` line, read exactly as our run script reads
/// it (`sed -n 's|^init="\(/nix/store/[^"]*\)"$|\1|p'`).
pub fn release_init(script: &[u8]) -> Option<&str> {
    script.split(|&b| b == b'\n').find_map(|line| {
        let path = line.strip_prefix(b"init=\"")?.strip_suffix(b"\"")?;
        if path.starts_with(b"/nix/store/") && !path.contains(&b'"') {
            std::str::from_utf8(path).ok()
        } else {
            None
        }
    })
}

/// The files appended to the tarball (the agent aside, which the caller streams): our run script and the
/// release's, kept under [`RUN_RELEASE`]. Paths are relative to the archive's root, like [`RUN`].
pub fn appended_files(req: &ValidRequest, release_run: &[u8]) -> Vec<ArtifactFile> {
    vec![
        ArtifactFile { path: RUN.into(), mode: 0o755, contents: kexec_run::script(req).into_bytes() },
        ArtifactFile { path: RUN_RELEASE.into(), mode: 0o755, contents: release_run.to_vec() },
    ]
}

/// What comes before `kexec/run` in the archive's own spelling of the name (`""` or `"./"`), so appended entries
/// are spelled alike.
pub fn archive_prefix(name: &str) -> &str {
    name.strip_suffix(RUN).unwrap_or("")
}

/// A ustar header for a regular file: owner root, mtime 0, like the bundles.
pub fn file_header(path: &str, mode: u32, size: u64) -> [u8; 512] {
    let mut header = tar::Header::new_ustar();
    // Our names are short relative ASCII paths; setting them cannot fail.
    header.set_path(path).expect("short relative path");
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_username("root").expect("short name");
    header.set_groupname("root").expect("short name");
    header.set_cksum();
    *header.as_bytes()
}

/// Zero bytes after `size` bytes of data, up to the next block.
pub fn padding(size: u64) -> usize {
    ((BLOCK - size % BLOCK) % BLOCK) as usize
}

/// Why the decompressed data is not a usable tar archive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TarError {
    #[error("not a tar archive (no valid tar header at its start)")]
    NotTar,
    #[error("corrupt tar header at byte {0} of the archive")]
    BadHeader(u64),
    #[error("{name} is larger than {limit} bytes, too large for a release's run script")]
    TooLarge { name: String, limit: usize },
    #[error("the tar archive ends without its end-of-archive marker (truncated?)")]
    NoEnd,
}

/// A captured entry: its name as spelled in the archive, and its contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Captured {
    pub name: String,
    pub data: Vec<u8>,
}

/// Walks a tar archive fed in pieces of any size, keeping the contents of the regular files it was asked for (the
/// last entry of each name wins, as on extraction), and finds the end-of-archive marker: the first all-zero block
/// where a header is due. Understands ustar (with prefix), GNU long names and pax `path`/`size` records.
pub struct TarWalker {
    /// Bytes fed so far.
    offset: u64,
    state: State,
    header: [u8; 512],
    filled: usize,
    wanted: Vec<String>,
    captured: Vec<Option<Captured>>,
    limit: usize,
    long_name: Option<String>,
    pax_path: Option<String>,
    pax_size: Option<u64>,
}

enum State {
    Header,
    Data { left: u64, pad: u64, into: Into },
    End(u64),
}

/// Where an entry's data goes.
enum Into {
    Skip,
    Capture { index: usize, name: String, data: Vec<u8> },
    LongName(Vec<u8>),
    Pax(Vec<u8>),
}

/// Largest GNU long name or pax header kept.
const MAX_EXTENSION: u64 = 1 << 20;

impl TarWalker {
    /// Captures the regular files named in `wanted` (compared after dropping leading `./`), each up to `limit`
    /// bytes.
    pub fn new(wanted: &[&str], limit: usize) -> TarWalker {
        TarWalker {
            offset: 0,
            state: State::Header,
            header: [0; 512],
            filled: 0,
            wanted: wanted.iter().map(|s| s.to_string()).collect(),
            captured: vec![None; wanted.len()],
            limit,
            long_name: None,
            pax_path: None,
            pax_size: None,
        }
    }

    /// Feeds the next bytes; returns the offset of the end-of-archive marker once it has been seen (bytes after it
    /// are ignored).
    pub fn feed(&mut self, mut data: &[u8]) -> Result<Option<u64>, TarError> {
        while !data.is_empty() {
            match &mut self.state {
                State::End(at) => return Ok(Some(*at)),
                State::Header => {
                    let n = (512 - self.filled).min(data.len());
                    self.header[self.filled..self.filled + n].copy_from_slice(&data[..n]);
                    self.filled += n;
                    self.offset += n as u64;
                    data = &data[n..];
                    if self.filled == 512 {
                        self.filled = 0;
                        self.state = self.parse_header(self.offset - BLOCK)?;
                    }
                }
                State::Data { left, pad, into } => {
                    let n = (*left + *pad).min(data.len() as u64) as usize;
                    let take = (*left).min(n as u64) as usize;
                    match into {
                        Into::Skip => {}
                        Into::Capture { data: buf, .. } | Into::LongName(buf) | Into::Pax(buf) => {
                            buf.extend_from_slice(&data[..take]);
                        }
                    }
                    *left -= take as u64;
                    *pad -= (n - take) as u64;
                    self.offset += n as u64;
                    data = &data[n..];
                    if *left == 0 && *pad == 0 {
                        let State::Data { into, .. } = std::mem::replace(&mut self.state, State::Header) else {
                            unreachable!("in the data state")
                        };
                        self.data_done(into)?;
                    }
                }
            }
        }
        Ok(match self.state {
            State::End(at) => Some(at),
            _ => None,
        })
    }

    /// Every byte before this offset has been seen and is not the start of the end-of-archive marker: the start of
    /// the header being read, or of the next one.
    pub fn safe_offset(&self) -> u64 {
        match &self.state {
            State::Header => self.offset - self.filled as u64,
            State::Data { left, pad, .. } => self.offset + left + pad,
            State::End(at) => *at,
        }
    }

    /// At the end of the data: the offset of the end-of-archive marker, or why there is none.
    pub fn finish(&self) -> Result<u64, TarError> {
        match self.state {
            State::End(at) => Ok(at),
            _ if self.offset == 0 => Err(TarError::NotTar),
            _ => Err(TarError::NoEnd),
        }
    }

    /// The last captured entry named `wanted[index]`.
    pub fn captured(&self, index: usize) -> Option<&Captured> {
        self.captured.get(index)?.as_ref()
    }

    fn parse_header(&mut self, at: u64) -> Result<State, TarError> {
        let h = &self.header;
        if h.iter().all(|&b| b == 0) {
            return Ok(State::End(at));
        }
        let bad = if at == 0 { TarError::NotTar } else { TarError::BadHeader(at) };
        let stored = octal(&h[148..156]).ok_or(bad.clone())?;
        let unsigned: u64 =
            h.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u64::from(b) }).sum();
        let signed: i64 =
            h.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { i64::from(b as i8) }).sum();
        if stored != unsigned && i64::try_from(stored).ok() != Some(signed) {
            return Err(bad);
        }
        let size = match self.pax_size.take() {
            Some(s) => s,
            None => number(&h[124..136]).ok_or(bad.clone())?,
        };
        let typeflag = h[156];
        let pad = padding(size) as u64;
        let into = match typeflag {
            b'L' | b'x' if size > MAX_EXTENSION => return Err(bad),
            b'L' => Into::LongName(Vec::new()),
            b'x' => Into::Pax(Vec::new()),
            b'g' | b'K' => Into::Skip,
            _ => {
                let name = self.pax_path.take().or(self.long_name.take()).unwrap_or_else(|| header_name(h));
                self.long_name = None;
                let wanted = self.wanted.iter().position(|w| *w == normalize(&name));
                match wanted {
                    Some(index) if matches!(typeflag, b'0' | 0 | b'7') => {
                        if size > self.limit as u64 {
                            return Err(TarError::TooLarge { name, limit: self.limit });
                        }
                        Into::Capture { index, name, data: Vec::new() }
                    }
                    _ => Into::Skip,
                }
            }
        };
        if size == 0 {
            self.data_done(into)?;
            return Ok(State::Header);
        }
        Ok(State::Data { left: size, pad, into })
    }

    fn data_done(&mut self, into: Into) -> Result<(), TarError> {
        match into {
            Into::Skip => {}
            Into::Capture { index, name, data } => self.captured[index] = Some(Captured { name, data }),
            Into::LongName(bytes) => self.long_name = Some(c_string(&bytes)),
            Into::Pax(bytes) => {
                let at = self.offset;
                for (key, value) in pax_records(&bytes).ok_or(TarError::BadHeader(at))? {
                    match key {
                        "path" => self.pax_path = Some(value.to_string()),
                        "size" => self.pax_size = Some(value.parse().map_err(|_| TarError::BadHeader(at))?),
                        _ => {}
                    }
                }
            }
        }
        Ok(())
    }
}

fn normalize(name: &str) -> &str {
    let mut name = name;
    while let Some(rest) = name.strip_prefix("./") {
        name = rest;
    }
    name
}

/// Text up to the first NUL.
fn c_string(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

/// The header's name, with the ustar prefix (POSIX format only: GNU keeps other fields there).
fn header_name(h: &[u8; 512]) -> String {
    let name = c_string(&h[..100]);
    if &h[257..263] == b"ustar\0" && h[345] != 0 {
        format!("{}/{name}", c_string(&h[345..500]))
    } else {
        name
    }
}

/// An octal field: optional blanks, digits, then NULs or blanks.
fn octal(field: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(field).ok()?;
    let digits = text.trim_matches(|c| c == ' ' || c == '\0');
    if digits.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(digits, 8).ok()
}

/// A numeric field: octal, or GNU base-256 (high bit of the first byte set).
fn number(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 == 0 {
        return octal(field);
    }
    if field[0] & 0x40 != 0 {
        return None; // negative
    }
    let mut value: u64 = u64::from(field[0] & 0x3f);
    for &b in &field[1..] {
        value = value.checked_mul(256)?.checked_add(u64::from(b))?;
    }
    Some(value)
}

/// pax extended header records: `LEN key=value\n`, LEN counting the whole record.
fn pax_records(mut bytes: &[u8]) -> Option<Vec<(&str, &str)>> {
    let mut records = Vec::new();
    while !bytes.is_empty() {
        let space = bytes.iter().position(|&b| b == b' ')?;
        let len: usize = std::str::from_utf8(&bytes[..space]).ok()?.parse().ok()?;
        if len <= space + 1 || len > bytes.len() || bytes[len - 1] != b'\n' {
            return None;
        }
        let record = std::str::from_utf8(&bytes[space + 1..len - 1]).ok()?;
        let (key, value) = record.split_once('=')?;
        records.push((key, value));
        bytes = &bytes[len..];
    }
    Some(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(entries: &[(&str, &[u8])], gnu: bool) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut h = if gnu { tar::Header::new_gnu() } else { tar::Header::new_ustar() };
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(if name.ends_with('/') { tar::EntryType::Directory } else { tar::EntryType::Regular });
            if name.len() < 100 {
                // Spelled exactly as given (the builder would drop a leading `./`).
                h.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
                h.set_cksum();
                b.append(&h, *data).unwrap();
            } else {
                b.append_data(&mut h, name, *data).unwrap();
            }
        }
        b.into_inner().unwrap()
    }

    fn walk(bytes: &[u8], piece: usize) -> (TarWalker, Result<u64, TarError>) {
        let mut w = TarWalker::new(&[RUN, RUN_RELEASE], 4096);
        for chunk in bytes.chunks(piece.max(1)) {
            if let Err(e) = w.feed(chunk) {
                return (w, Err(e));
            }
        }
        let end = w.finish();
        (w, end)
    }

    const RELEASE_RUN: &[u8] =
        b"#!/bin/sh\ninit=\"/nix/store/abc-nixos-system-nixos-installer/init\"\nkernelParams=\"a=1\"\n";

    #[test]
    fn finds_run_and_end_in_any_piece_size() {
        let long = format!("kexec/{}", "x".repeat(150));
        for gnu in [false, true] {
            let tar = archive(
                &[("kexec/", b""), ("kexec/initrd", &[7; 3000]), (&long, b"long"), ("./kexec/run", RELEASE_RUN)],
                gnu,
            );
            for piece in [1, 7, 512, 100_000] {
                let (w, end) = walk(&tar, piece);
                let end = end.unwrap();
                assert_eq!(tar[end as usize..], [0u8; 1024][..], "the marker and padding follow");
                assert!(end as usize + 1024 <= tar.len());
                let run = w.captured(0).expect("run captured");
                assert_eq!((run.name.as_str(), &run.data[..]), ("./kexec/run", RELEASE_RUN));
                assert_eq!(archive_prefix(&run.name), "./");
                assert!(w.captured(1).is_none());
            }
        }
    }

    #[test]
    fn the_last_entry_of_a_name_wins_and_appended_entries_are_read() {
        let mut tar = archive(&[("kexec/run", b"old")], false);
        let end = walk(&tar, 512).1.unwrap() as usize;
        tar.truncate(end);
        for (path, data) in [("kexec/run", &b"new"[..]), (RUN_RELEASE, RELEASE_RUN)] {
            tar.extend(file_header(path, 0o755, data.len() as u64));
            tar.extend(data);
            tar.extend(vec![0; padding(data.len() as u64)]);
        }
        tar.extend(END_OF_ARCHIVE);
        let (w, end) = walk(&tar, 100);
        assert_eq!(end.unwrap() as usize, tar.len() - 1024);
        assert_eq!(w.captured(0).unwrap().data, b"new");
        assert_eq!(w.captured(1).unwrap().data, RELEASE_RUN);
        let mut a = tar::Archive::new(&tar[..]);
        let names: Vec<String> =
            a.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect();
        assert_eq!(names, ["kexec/run", "kexec/run", RUN_RELEASE]);
    }

    #[test]
    fn refuses_what_is_not_a_tar() {
        assert_eq!(walk(b"", 10).1, Err(TarError::NotTar));
        assert_eq!(walk(&[b'x'; 2048], 10).1, Err(TarError::NotTar));
        let tar = archive(&[("kexec/initrd", &[1; 2000]), ("kexec/run", RELEASE_RUN)], false);
        let end = walk(&tar, 512).1.unwrap() as usize;
        assert_eq!(walk(&tar[..end], 512).1, Err(TarError::NoEnd));
        let mut bad = tar.clone();
        bad[2560 + 10] ^= 1; // the second header's name
        assert_eq!(walk(&bad, 512).1, Err(TarError::BadHeader(2560)));
        let big = archive(&[("kexec/run", &[b'#'; 5000])], false);
        assert!(matches!(walk(&big, 512).1, Err(TarError::TooLarge { .. })));
    }

    #[test]
    fn safe_offset_never_passes_the_marker() {
        let tar = archive(&[("kexec/initrd", &[1; 700]), ("kexec/run", RELEASE_RUN)], true);
        let end = walk(&tar, 512).1.unwrap();
        let mut w = TarWalker::new(&[RUN], 4096);
        for (i, b) in tar.iter().enumerate() {
            assert!(w.safe_offset() <= end, "at byte {i}");
            if w.feed(std::slice::from_ref(b)).unwrap().is_some() {
                break;
            }
        }
        assert_eq!(w.safe_offset(), end);
    }

    #[test]
    fn release_init_reads_like_the_run_script() {
        assert_eq!(release_init(RELEASE_RUN), Some("/nix/store/abc-nixos-system-nixos-installer/init"));
        assert_eq!(release_init(b"init=/nix/store/x/init\n"), None);
        assert_eq!(release_init(b" init=\"/nix/store/x/init\"\n"), None);
        assert_eq!(release_init(b"init=\"/tmp/x/init\"\n"), None);
        assert_eq!(release_init(b"init=\"/nix/store/a\"b\"\n"), None);
        assert_eq!(release_init(b"x\ninit=\"/nix/store/a/init\""), Some("/nix/store/a/init"));
    }

    #[test]
    fn headers_are_valid_ustar() {
        let h = file_header("kexec/nixos-images-agent", 0o755, 1234);
        let parsed = tar::Header::from_byte_slice(&h);
        assert_eq!(parsed.path().unwrap().to_str(), Some("kexec/nixos-images-agent"));
        assert_eq!((parsed.mode().unwrap(), parsed.size().unwrap()), (0o755, 1234));
        let mut tar = h.to_vec();
        tar.extend([0; 1234 + 302]);
        tar.extend(END_OF_ARCHIVE);
        assert_eq!(walk(&tar, 512).1, Ok(2048), "the walker accepts its checksum");
        assert_eq!(padding(0), 0);
        assert_eq!(padding(1), 511);
        assert_eq!(padding(512), 0);
    }
}
