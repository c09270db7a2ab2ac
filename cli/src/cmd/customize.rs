//! `customize kexec-tarball` and `customize initrd`: bake a request into a release artifact, streaming.
//!
//! A kexec tarball is rewritten only at its end. One decoding pass (`crate::inflate`) reports where each deflate
//! block starts; the tar walker (`nixos_images_core::kexec_tarball`) finds the release's `kexec/run` and the
//! end-of-archive marker. Every block that ends before the marker is copied bit for bit; the block holding the
//! marker is re-encoded from its start: its bytes before the marker, then the appended entries and a new marker, as
//! a fresh deflate stream after an empty stored block that brings the bit position to a byte boundary. The gzip
//! trailer's CRC continues the CRC state of the kept bytes, so nothing is read twice. Memory stays constant: the
//! window, one block held back, the release's run script.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, Write};
use std::path::Path;

use anyhow::{Context, Result};
use flate2::write::DeflateEncoder;
use flate2::Compression;
use nixos_images_core::kexec_tarball::{self, TarWalker};
use nixos_images_core::render::{overlay, ArtifactKind};
use nixos_images_core::ValidRequest;

use crate::cli::{CustomizeArgs, CustomizeCmd, CustomizeInitrdArgs, CustomizeKexecArgs};
use crate::errors::UsageError;
use crate::inflate::{self, Corrupt, RawInput, Sink};
use crate::output::AtomicFile;

/// Largest uncompressed deflate block held back (gzip and zlib blocks hold at most a few MiB).
const MAX_BLOCK_DATA: usize = 16 << 20;

pub fn run(args: &CustomizeArgs) -> Result<()> {
    match &args.what {
        CustomizeCmd::KexecTarball(a) => kexec_tarball(a),
        CustomizeCmd::Initrd(a) => initrd(a),
    }
}

fn bad_input(path: &Path, why: impl std::fmt::Display) -> anyhow::Error {
    UsageError(vec![format!("{}: {why}", path.display())]).into()
}

fn open_input(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| bad_input(path, format!("cannot read it: {e}")))
}

fn kexec_tarball(args: &CustomizeKexecArgs) -> Result<()> {
    let req = args.request.to_valid_request()?;
    if !ArtifactKind::KexecRun.applies_to(req.image()) {
        return Err(UsageError(vec![format!(
            "image: a kexec tarball is for image = kexec or kexec-noninteractive; this request has image = {}",
            req.image().as_str()
        )])
        .into());
    }
    let agent = match &args.agent {
        Some(path) => {
            let file =
                File::open(path).map_err(|e| UsageError(vec![format!("--agent: reading {}: {e}", path.display())]))?;
            let meta = file.metadata().with_context(|| format!("reading {}", path.display()))?;
            if !meta.is_file() {
                return Err(UsageError(vec![format!("--agent: {} is not a regular file", path.display())]).into());
            }
            Some(Agent { file, size: meta.len(), path: path.display().to_string() })
        }
        None => None,
    };
    let input = open_input(&args.input)?;
    let mut out = AtomicFile::create(&args.output)?;
    let mut splicer = Splicer {
        out: BufWriter::with_capacity(1 << 20, &mut out),
        out_name: args.output.display().to_string(),
        req: &req,
        agent,
        walker: TarWalker::new(&[kexec_tarball::RUN, kexec_tarball::RUN_RELEASE], kexec_tarball::MAX_RUN_SCRIPT),
        total: 0,
        written: 0,
        member: 0,
        pending: VecDeque::new(),
        spare: Vec::new(),
        kept: Kept { member: 0, crc: crc32fast::Hasher::new(), len: 0 },
        done: false,
    };
    let result = inflate::decode(input, &mut splicer).and_then(|_| splicer.finish());
    if let Err(err) = result {
        return Err(match err.downcast_ref::<Corrupt>() {
            Some(c) => bad_input(&args.input, c),
            None => err.context(format!("customizing {}", args.input.display())),
        });
    }
    splicer.out.flush().with_context(|| format!("writing {}", args.output.display()))?;
    drop(splicer);
    out.commit(0o644)
}

struct Agent {
    file: File,
    size: u64,
    path: String,
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

/// The CRC32 and length of the kept part of one member.
struct Kept {
    member: u64,
    crc: crc32fast::Hasher,
    len: u64,
}

struct Splicer<'a, W: Write> {
    out: W,
    out_name: String,
    req: &'a ValidRequest,
    agent: Option<Agent>,
    walker: TarWalker,
    /// Uncompressed bytes seen.
    total: u64,
    /// Input bytes before this offset are in `out`.
    written: u64,
    /// Gzip members started.
    member: u64,
    pending: VecDeque<Block>,
    spare: Vec<Vec<u8>>,
    kept: Kept,
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
        if b.member != self.kept.member {
            self.kept = Kept { member: b.member, crc: crc32fast::Hasher::new(), len: 0 };
        }
        self.kept.crc.update(&b.data);
        self.kept.len += b.data.len() as u64;
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

    /// The release's run script: a kept `kexec/run.release` (the input was customized before), else `kexec/run`.
    fn release_run(&self) -> Result<(String, Vec<u8>)> {
        if let Some(c) = self.walker.captured(1) {
            if kexec_tarball::release_init(&c.data).is_some() {
                return Ok((
                    kexec_tarball::archive_prefix(&c.name.replace("run.release", "run")).to_string(),
                    c.data.clone(),
                ));
            }
        }
        let run = self
            .walker
            .captured(0)
            .ok_or_else(|| Corrupt("has no kexec/run entry; is it a nixos-images kexec installer tarball?".into()))?;
        if kexec_tarball::release_init(&run.data).is_none() {
            return Err(Corrupt(
                "its kexec/run has no init=\"/nix/store/...\" line; is it a nixos-images kexec installer tarball?"
                    .into(),
            )
            .into());
        }
        Ok((kexec_tarball::archive_prefix(&run.name).to_string(), run.data.clone()))
    }

    /// The marker starts at uncompressed offset `end`: keep the blocks before the one holding it, re-encode from
    /// there, append our entries and close the member.
    fn splice(&mut self, raw: &mut RawInput, end: u64) -> Result<()> {
        let (prefix, release_run) = self.release_run()?;
        let i = self
            .pending
            .iter()
            .position(|b| b.start <= end && end < b.start + b.data.len() as u64)
            .expect("the marker is in a pending block");
        for _ in 0..i {
            self.keep_front();
        }
        let block = self.pending.pop_front().expect("the marker's block");
        if block.member != self.kept.member {
            self.kept = Kept { member: block.member, crc: crc32fast::Hasher::new(), len: 0 };
        }
        self.copy_input(raw, block.bit)?;
        let partial = raw.bytes(block.bit / 8..block.bit / 8 + 1)[0];
        self.write(&inflate::align_with_empty_stored_block(partial, (block.bit % 8) as u32))?;

        let mut tail = Tail {
            enc: DeflateEncoder::new(&mut self.out, Compression::new(6)),
            crc: std::mem::replace(&mut self.kept.crc, crc32fast::Hasher::new()),
            len: self.kept.len,
        };
        tail.write(&block.data[..(end - block.start) as usize])?;
        for f in kexec_tarball::appended_files(self.req, &release_run) {
            tail.file(&format!("{prefix}{}", f.path), f.mode, &f.contents)?;
        }
        if let Some(agent) = &mut self.agent {
            let name = format!("{prefix}{}", kexec_tarball::AGENT);
            tail.write(&kexec_tarball::file_header(&name, 0o755, agent.size))?;
            let mut left = agent.size;
            let mut buf = vec![0; 64 * 1024];
            while left > 0 {
                let n = agent.file.read(&mut buf).with_context(|| format!("reading {}", agent.path))?;
                if n == 0 {
                    anyhow::bail!("{} shrank while it was read", agent.path);
                }
                let n = n.min(left as usize);
                tail.write(&buf[..n])?;
                left -= n as u64;
            }
            tail.write(&vec![0; kexec_tarball::padding(agent.size)])?;
        }
        tail.write(&kexec_tarball::END_OF_ARCHIVE)?;
        let (crc, len) = (tail.crc.finalize(), tail.len);
        let out = tail.enc.finish().with_context(|| format!("writing {}", self.out_name))?;
        out.write_all(&crc.to_le_bytes())
            .and_then(|()| out.write_all(&(len as u32).to_le_bytes()))
            .with_context(|| format!("writing {}", self.out_name))?;
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

/// The re-encoded end of the member, with its running CRC and length.
struct Tail<W: Write> {
    enc: DeflateEncoder<W>,
    crc: crc32fast::Hasher,
    len: u64,
}

impl<W: Write> Tail<W> {
    fn write(&mut self, bytes: &[u8]) -> Result<()> {
        self.crc.update(bytes);
        self.len += bytes.len() as u64;
        self.enc.write_all(bytes).context("writing the output")
    }

    fn file(&mut self, name: &str, mode: u32, contents: &[u8]) -> Result<()> {
        self.write(&kexec_tarball::file_header(name, mode, contents.len() as u64))?;
        self.write(contents)?;
        self.write(&vec![0; kexec_tarball::padding(contents.len() as u64)])
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
        while self.pending.front().is_some_and(|b| b.start + b.data.len() as u64 <= safe) {
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

/// Magic numbers an initrd may start with: a newc/crc cpio, or a compression format the kernel unpacks.
const INITRD_MAGIC: &[(&[u8], &str)] = &[
    (b"070701", "cpio"),
    (b"070702", "cpio"),
    (&[0x1f, 0x8b], "gzip"),
    (&[0x28, 0xb5, 0x2f, 0xfd], "zstd"),
    (&[0xfd, b'7', b'z', b'X', b'Z', 0], "xz"),
    (&[0x02, 0x21, 0x4c, 0x18], "lz4"),
    (b"BZh", "bzip2"),
    (&[0x5d, 0x00, 0x00], "lzma"),
    (&[0x89, b'L', b'Z', b'O'], "lzo"),
];

fn initrd(args: &CustomizeInitrdArgs) -> Result<()> {
    let req = args.request.to_valid_request()?;
    let overlay = overlay::render(&req);
    let mut input = open_input(&args.input)?;
    let mut head = Vec::with_capacity(8);
    (&mut input).take(8).read_to_end(&mut head).with_context(|| format!("reading {}", args.input.display()))?;
    if !INITRD_MAGIC.iter().any(|(magic, _)| head.starts_with(magic)) {
        return Err(bad_input(
            &args.input,
            "not an initrd: it starts with neither a cpio header nor a compression format the kernel unpacks",
        ));
    }
    input.rewind().with_context(|| format!("reading {}", args.input.display()))?;
    let mut out = AtomicFile::create(&args.output)?;
    std::io::copy(&mut input, out.file()).with_context(|| format!("copying {}", args.input.display()))?;
    // The kernel unpacks concatenated compressed archives in order; ours comes last, so its files win.
    out.write_all(&overlay.files[0].contents).with_context(|| format!("writing {}", args.output.display()))?;
    out.commit(0o644)
}
