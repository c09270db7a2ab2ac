//! The CRC bookkeeping of the spliced gzip member: the kept blocks' data is counted as it is copied, and the
//! re-encoded end continues that count, so the new trailer is right without reading anything twice.

use std::io::{Read, Write};

use anyhow::{bail, Context, Result};
use flate2::write::DeflateEncoder;
use flate2::Compression;
use nixos_images_core::kexec_tarball;

/// The CRC32 and length of the kept part of one member (the member the kept data last came from).
pub(super) struct KeptData {
    member: u64,
    crc: crc32fast::Hasher,
    len: u64,
}

impl KeptData {
    pub(super) fn new() -> KeptData {
        KeptData { member: 0, crc: crc32fast::Hasher::new(), len: 0 }
    }

    /// Starts over when `member` is a later one: a trailer covers only its own member.
    pub(super) fn enter(&mut self, member: u64) {
        if member != self.member {
            *self = KeptData { member, crc: crc32fast::Hasher::new(), len: 0 };
        }
    }

    /// Counts data of `member` that is kept as it was.
    pub(super) fn keep(&mut self, member: u64, data: &[u8]) {
        self.enter(member);
        self.crc.update(data);
        self.len += data.len() as u64;
    }
}

/// The re-encoded end of the member: a raw deflate stream after the kept blocks, with the member's running CRC
/// and length, closed by the gzip trailer.
pub(super) struct MemberTail<W: Write> {
    enc: DeflateEncoder<W>,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> MemberTail<W> {
    pub(super) fn new(out: W, kept: KeptData) -> MemberTail<W> {
        MemberTail { enc: DeflateEncoder::new(out, Compression::new(6)), crc: kept.crc, len: kept.len }
    }

    pub(super) fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.crc.update(bytes);
        self.len += bytes.len() as u64;
        self.enc.write_all(bytes).context("writing the output")
    }

    /// A whole tar entry: header, contents, padding.
    pub(super) fn file(&mut self, name: &str, mode: u32, contents: &[u8]) -> Result<()> {
        self.write(&kexec_tarball::file_header(name, mode, contents.len() as u64))?;
        self.write(contents)?;
        self.write(&vec![0; kexec_tarball::padding(contents.len() as u64)])
    }

    /// A tar entry whose `size` bytes of contents are read from `reader` (`shown` names it in messages) in pieces.
    pub(super) fn streamed_file(
        &mut self,
        name: &str,
        mode: u32,
        size: u64,
        reader: &mut dyn Read,
        shown: &str,
    ) -> Result<()> {
        self.write(&kexec_tarball::file_header(name, mode, size))?;
        let mut left = size;
        let mut buf = vec![0; 64 * 1024];
        while left > 0 {
            let n = reader.read(&mut buf).with_context(|| format!("reading {shown}"))?;
            if n == 0 {
                bail!("{shown} shrank while it was read");
            }
            let n = n.min(left as usize);
            self.write(&buf[..n])?;
            left -= n as u64;
        }
        self.write(&vec![0; kexec_tarball::padding(size)])
    }

    /// Ends the deflate stream and writes the gzip trailer (CRC32, then the length modulo 2^32).
    pub(super) fn finish(self, out_name: &str) -> Result<()> {
        let (crc, len) = (self.crc.finalize(), self.len);
        let mut out = self.enc.finish().with_context(|| format!("writing {out_name}"))?;
        out.write_all(&crc.to_le_bytes())
            .and_then(|()| out.write_all(&(len as u32).to_le_bytes()))
            .with_context(|| format!("writing {out_name}"))
    }
}
