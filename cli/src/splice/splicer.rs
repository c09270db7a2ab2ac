//! The splice itself: which deflate blocks are kept bit for bit, where the re-encoded tail starts, and what it
//! holds.

use std::collections::VecDeque;
use std::io::{Read, Write};

use anyhow::{Context, Result};
use nixos_images_core::kexec_tarball::{self, TarWalker};
use nixos_images_core::ArtifactFile;

use super::bit_writer::align_with_empty_stored_block;
use super::block_decoder::{self, RawInput, Sink};
use super::member_tail::{KeptData, MemberTail};
use super::Corrupt;

/// Largest uncompressed deflate block held back (gzip and zlib blocks hold at most a few MiB).
const MAX_BLOCK_DATA: usize = 16 << 20;

/// What goes after the release's entries.
pub struct Additions<'a> {
    /// The files to append, given the release's run script (`kexec_tarball::appended_files`).
    pub files: &'a dyn Fn(&[u8]) -> Vec<ArtifactFile>,
    /// A file appended last and copied in pieces rather than held in memory (the agent).
    pub streamed: Option<StreamedFile<'a>>,
}

/// A file copied into the tail from a reader.
pub struct StreamedFile<'a> {
    /// Its path in the archive, like `kexec_tarball::AGENT`.
    pub path: &'static str,
    pub mode: u32,
    /// Exactly this many bytes are read (a reader that ends sooner is an error).
    pub size: u64,
    pub reader: &'a mut dyn Read,
    /// Its name in messages.
    pub shown: String,
}

/// Reads a release's kexec tarball (gzip'ed tar) from `input` and writes the customized one to `out` (`out_name`
/// in messages; small writes, so buffer it, and flush it after). An input that is not a release tarball is a
/// [`Corrupt`] error; nothing says how much of `out` was written then, so the caller writes to a file it can
/// discard.
pub fn splice_kexec_tarball<'a>(
    input: impl Read,
    out: impl Write,
    out_name: &'a str,
    additions: Additions<'a>,
) -> Result<()> {
    let mut splicer = Splicer {
        out,
        out_name,
        additions,
        walker: kexec_tarball::walker(),
        total: 0,
        written: 0,
        member: 0,
        pending: VecDeque::new(),
        spare: Vec::new(),
        kept: KeptData::new(),
        done: false,
    };
    block_decoder::decode(input, &mut splicer)?;
    splicer.finish()
}

/// A deflate block not yet copied: it may hold the end-of-archive marker.
struct Block {
    /// Input bit offset of its header.
    bit: u64,
    member: u64,
    /// Offset of its first byte in the uncompressed data (all members).
    start: u64,
    data: Vec<u8>,
}

impl Block {
    fn end(&self) -> u64 {
        self.start + self.data.len() as u64
    }
}

struct Splicer<'a, W: Write> {
    out: W,
    out_name: &'a str,
    additions: Additions<'a>,
    walker: TarWalker,
    /// Uncompressed bytes seen.
    total: u64,
    /// Input bytes before this offset are in `out`.
    written: u64,
    /// Gzip members started.
    member: u64,
    pending: VecDeque<Block>,
    /// Buffers of kept blocks, reused for the next ones.
    spare: Vec<Vec<u8>>,
    kept: KeptData,
    /// The tail is written; the rest of the input is only checked.
    done: bool,
}

impl<W: Write> Splicer<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).with_context(|| format!("writing {}", self.out_name))
    }

    /// Keeps the first pending block: its data counts for the member's CRC.
    fn keep_front(&mut self) {
        let b = self.pending.pop_front().expect("a pending block");
        self.kept.keep(b.member, &b.data);
        if self.spare.len() < 4 {
            self.spare.push(b.data);
        }
    }

    /// Copies the input bytes up to (not including) the byte where bit `bit` is.
    fn copy_input(&mut self, raw: &mut RawInput, bit: u64) -> Result<()> {
        let to = bit / 8;
        if to > self.written {
            self.write(raw.bytes(self.written..to))?;
            self.written = to;
            raw.set_mark(to);
        }
        Ok(())
    }

    /// The marker starts at uncompressed offset `end`: keep the blocks before the one holding it, re-encode from
    /// there, append our entries and close the member.
    fn splice(&mut self, raw: &mut RawInput, end: u64) -> Result<()> {
        let release = kexec_tarball::release_script(&self.walker).map_err(|e| Corrupt(e.to_string()))?;
        let i = self
            .pending
            .iter()
            .position(|b| b.start <= end && end < b.end())
            .expect("the marker is in a pending block");
        for _ in 0..i {
            self.keep_front();
        }
        let block = self.pending.pop_front().expect("the marker's block");
        self.kept.enter(block.member);
        self.copy_input(raw, block.bit)?;
        let partial = raw.bytes(block.bit / 8..block.bit / 8 + 1)[0];
        self.write(&align_with_empty_stored_block(partial, (block.bit % 8) as u32))?;

        let kept = std::mem::replace(&mut self.kept, KeptData::new());
        let mut tail = MemberTail::new(&mut self.out, kept);
        tail.write(&block.data[..(end - block.start) as usize])?;
        for f in (self.additions.files)(&release.script) {
            tail.file(&format!("{}{}", release.prefix, f.path), f.mode, &f.contents)?;
        }
        if let Some(s) = &mut self.additions.streamed {
            tail.streamed_file(&format!("{}{}", release.prefix, s.path), s.mode, s.size, s.reader, &s.shown)?;
        }
        tail.write(&kexec_tarball::END_OF_ARCHIVE)?;
        tail.finish(self.out_name)?;
        self.pending.clear();
        self.done = true;
        raw.set_mark(u64::MAX);
        Ok(())
    }

    fn finish(&self) -> Result<()> {
        if self.done {
            return Ok(());
        }
        let err = self.walker.finish().err().unwrap_or(kexec_tarball::TarError::NoEnd);
        Err(Corrupt(err.to_string()).into())
    }
}

impl<W: Write> Sink for Splicer<'_, W> {
    fn member_start(&mut self, _: &mut RawInput, _: u64) -> Result<()> {
        self.member += 1;
        Ok(())
    }

    fn block_start(&mut self, raw: &mut RawInput, bit: u64) -> Result<()> {
        if self.done {
            return Ok(());
        }
        // Every pending block is complete now; those that end before any possible marker are kept.
        let safe = self.walker.safe_offset();
        while self.pending.front().is_some_and(|b| b.end() <= safe) {
            self.keep_front();
        }
        let mut data = self.spare.pop().unwrap_or_default();
        data.clear();
        self.pending.push_back(Block { bit, member: self.member, start: self.total, data });
        let first = self.pending.front().expect("just pushed").bit;
        self.copy_input(raw, first)
    }

    fn data(&mut self, raw: &mut RawInput, bytes: &[u8]) -> Result<()> {
        if self.done {
            return Ok(());
        }
        let block = self.pending.back_mut().expect("data comes in a block");
        block.data.extend_from_slice(bytes);
        if block.data.len() > MAX_BLOCK_DATA {
            return Err(Corrupt(format!(
                "a deflate block holds more than {} MiB; recompress the file with gzip",
                MAX_BLOCK_DATA >> 20
            ))
            .into());
        }
        self.total += bytes.len() as u64;
        match self.walker.feed(bytes) {
            Err(e) => Err(Corrupt(e.to_string()).into()),
            Ok(Some(end)) => self.splice(raw, end),
            Ok(None) => Ok(()),
        }
    }

    fn member_end(&mut self, _: &mut RawInput, _: u64) -> Result<()> {
        Ok(())
    }
}
