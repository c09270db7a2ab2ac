//! A streaming gzip decoder (RFC 1952 around RFC 1951 deflate) that tells its [`Sink`] where every deflate block
//! starts, to the bit, and lets the sink keep the compressed bytes it wants to copy verbatim.
//!
//! The splice needs the bit offset of each block so it can keep every block before the tar end-of-archive marker
//! untouched. zlib reports block boundaries (`inflate(Z_BLOCK)` and `data_type`), but no crate offers that through
//! a safe API; this decoder is safe Rust, streams in constant memory and is as fast as `gzip -dc` (ARCHITECTURE.md,
//! "Hand-written instead of a crate").
//!
//! Memory: a 32 KiB window plus one output chunk, and the compressed input from the sink's mark (see
//! [`RawInput::set_mark`]) onwards, which the sink keeps short.

use std::io::Read;
use std::ops::Range;

use anyhow::Result;

use super::corrupt;
use super::huffman::{
    build_table, codelen_entry, dist_entry, fixed_tables, litlen_entry, CODELEN_BITS, CODELEN_ORDER, DIST_BITS, K_BAD,
    K_DIST, K_EOB, K_LEN, K_LIT, K_SUB, LITLEN_BITS,
};

fn truncated() -> anyhow::Error {
    corrupt("unexpected end of the gzip data (truncated file?)")
}

/// What the decoder reports, in stream order.
pub trait Sink {
    /// A gzip member's header starts at input byte `offset`.
    fn member_start(&mut self, raw: &mut RawInput, offset: u64) -> Result<()>;
    /// A deflate block's 3-bit header starts at input bit `bit` (byte `bit / 8`, bit `bit % 8` counted from the
    /// least significant). Every byte the blocks before it produced has been passed to [`Sink::data`].
    fn block_start(&mut self, raw: &mut RawInput, bit: u64) -> Result<()>;
    /// Uncompressed bytes, in order.
    fn data(&mut self, raw: &mut RawInput, bytes: &[u8]) -> Result<()>;
    /// A member ended; its trailer (CRC32 and size, both checked) ends before input byte `end`.
    fn member_end(&mut self, raw: &mut RawInput, end: u64) -> Result<()>;
}

/// The compressed input the decoder has read and not yet dropped: the bytes from the sink's mark on.
pub struct RawInput {
    buf: Vec<u8>,
    /// Input offset of `buf[0]`.
    base: u64,
    /// Bytes at or after this input offset are kept until the sink moves the mark on.
    mark: u64,
}

/// Largest amount of compressed input held back for the sink (one deflate block, in practice well under 1 MiB).
pub const MAX_HELD: usize = 16 << 20;

impl RawInput {
    /// The input bytes `range` (absolute offsets); they must be at or after the mark and already read.
    pub fn bytes(&self, range: Range<u64>) -> &[u8] {
        let start = usize::try_from(range.start - self.base).expect("held bytes fit in memory");
        let end = usize::try_from(range.end - self.base).expect("held bytes fit in memory");
        &self.buf[start..end]
    }

    /// Input bytes before `offset` may be dropped; `u64::MAX` lets the decoder drop everything it has decoded.
    pub fn set_mark(&mut self, offset: u64) {
        debug_assert!(offset >= self.mark, "the mark only moves forward");
        self.mark = offset;
    }
}

const WINDOW: usize = 32 * 1024;
const OUT_CHUNK: usize = 256 * 1024;
/// Room left after the write position for one match (258) and the 16-byte copies of short matches.
const SLACK: usize = 258 + 16;
const READ_CHUNK: u64 = 256 * 1024;

/// Decodes every gzip member of `input` (and refuses anything after them but zero bytes), calling `sink`.
/// Returns the input length.
pub fn decode<R: Read, S: Sink>(input: R, sink: &mut S) -> Result<u64> {
    let mut d = Decoder {
        reader: input,
        raw: RawInput { buf: Vec::with_capacity(2 * READ_CHUNK as usize), base: 0, mark: 0 },
        pos: 0,
        eof: false,
        bitbuf: 0,
        bitcnt: 0,
        out: vec![0; WINDOW + OUT_CHUNK + SLACK],
        opos: 0,
        oflushed: 0,
        member_out: 0,
        crc: crc32fast::Hasher::new(),
        litlen: Vec::new(),
        dist: Vec::new(),
        fixed: None,
    };
    d.run(sink)
}

struct Decoder<R> {
    reader: R,
    raw: RawInput,
    /// Next byte of `raw.buf` to load into the bit buffer.
    pos: usize,
    eof: bool,
    /// Bits not yet consumed, least significant first. Bits above `bitcnt` may hold copies of the next input byte
    /// (the word-at-a-time refill), never anything else.
    bitbuf: u64,
    bitcnt: u32,
    /// Output window: the last 32 KiB of the member, then what was decoded since the last flush.
    out: Vec<u8>,
    opos: usize,
    oflushed: usize,
    /// Bytes of the current member passed to the sink (the trailer's size check).
    member_out: u64,
    crc: crc32fast::Hasher,
    litlen: Vec<u32>,
    dist: Vec<u32>,
    fixed: Option<(Vec<u32>, Vec<u32>)>,
}

impl<R: Read> Decoder<R> {
    fn run<S: Sink>(&mut self, sink: &mut S) -> Result<u64> {
        if !self.more_input()? {
            return Err(corrupt("empty file, not a gzip file"));
        }
        let mut first = true;
        loop {
            let start = self.raw.base + self.pos as u64;
            let magic = self.raw.buf[self.pos];
            if magic == 0 && !first {
                // Trailing zero bytes (some tools pad to a block size): accepted and dropped, as gzip does.
                self.skip_zeros()?;
                return Ok(self.raw.base + self.pos as u64);
            }
            if magic != 0x1f {
                return Err(corrupt(if first { "not a gzip file" } else { "trailing garbage after the gzip data" }));
            }
            sink.member_start(&mut self.raw, start)?;
            self.member(sink, first)?;
            first = false;
            let end = self.raw.base + self.pos as u64;
            sink.member_end(&mut self.raw, end)?;
            if !self.more_input()? {
                return Ok(self.raw.base + self.pos as u64);
            }
        }
    }

    fn skip_zeros(&mut self) -> Result<()> {
        loop {
            if self.raw.buf[self.pos..].iter().any(|&b| b != 0) {
                return Err(corrupt("trailing garbage after the gzip data"));
            }
            self.pos = self.raw.buf.len();
            if !self.more_input()? {
                return Ok(());
            }
        }
    }

    /// Whether a byte is available at `pos` (reading more input if needed).
    fn more_input(&mut self) -> Result<bool> {
        while self.pos >= self.raw.buf.len() {
            if self.eof || !self.fill()? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Reads more input into `raw.buf`, first dropping bytes nobody needs. Returns false at the end of input.
    fn fill(&mut self) -> Result<bool> {
        if self.eof {
            return Ok(false);
        }
        // Keep 8 bytes before `pos`: the bit buffer may give them back (see `rewind`).
        let keep_from = (self.raw.mark.saturating_sub(self.raw.base)).min(self.pos.saturating_sub(8) as u64) as usize;
        if keep_from > 0 && (keep_from >= self.raw.buf.len() / 2 || self.raw.buf.len() > MAX_HELD / 2) {
            self.raw.buf.drain(..keep_from);
            self.raw.base += keep_from as u64;
            self.pos -= keep_from;
        }
        if self.raw.buf.len() > MAX_HELD {
            return Err(corrupt(format!(
                "a deflate block is longer than {} MiB; recompress the file with gzip",
                MAX_HELD >> 20
            )));
        }
        let n = (&mut self.reader).take(READ_CHUNK).read_to_end(&mut self.raw.buf)?;
        if n == 0 {
            self.eof = true;
        }
        Ok(n > 0)
    }

    #[inline(always)]
    fn refill(&mut self) -> Result<()> {
        if self.bitcnt <= 56 {
            if let Some(word) = self.raw.buf.get(self.pos..self.pos + 8) {
                let w = u64::from_le_bytes(word.try_into().expect("8 bytes"));
                self.bitbuf |= w << self.bitcnt;
                self.pos += ((63 - self.bitcnt) >> 3) as usize;
                self.bitcnt |= 56;
            } else {
                self.refill_slow()?;
            }
        }
        Ok(())
    }

    #[inline(never)]
    fn refill_slow(&mut self) -> Result<()> {
        while self.bitcnt <= 56 {
            if self.pos >= self.raw.buf.len() && !self.fill()? {
                return Ok(());
            }
            let byte = u64::from(self.raw.buf[self.pos]);
            // Clear the bits above `bitcnt` first: they may be stale copies from a word refill.
            self.bitbuf = (self.bitbuf & ((1u64 << self.bitcnt) - 1)) | (byte << self.bitcnt);
            self.pos += 1;
            self.bitcnt += 8;
        }
        Ok(())
    }

    #[inline(always)]
    fn consume(&mut self, n: u32) -> Result<()> {
        if n > self.bitcnt {
            return Err(truncated());
        }
        self.bitbuf >>= n;
        self.bitcnt -= n;
        Ok(())
    }

    /// The next `n` bits (n <= 32), after a refill.
    #[inline(always)]
    fn bits(&mut self, n: u32) -> Result<u32> {
        let v = (self.bitbuf & ((1u64 << n) - 1)) as u32;
        self.consume(n)?;
        Ok(v)
    }

    fn byte(&mut self) -> Result<u8> {
        self.refill()?;
        Ok(self.bits(8)? as u8)
    }

    fn u16le(&mut self) -> Result<u16> {
        Ok(u16::from(self.byte()?) | u16::from(self.byte()?) << 8)
    }

    fn u32le(&mut self) -> Result<u32> {
        Ok(u32::from(self.u16le()?) | u32::from(self.u16le()?) << 16)
    }

    /// Drops the bits up to the next byte boundary and gives the whole bytes in the bit buffer back to the input.
    fn rewind(&mut self) {
        let whole = self.bitcnt / 8;
        self.pos -= whole as usize;
        self.bitbuf = 0;
        self.bitcnt = 0;
    }

    fn bit_position(&self) -> u64 {
        (self.raw.base + self.pos as u64) * 8 - u64::from(self.bitcnt)
    }

    fn header(&mut self, first: bool) -> Result<()> {
        let (id1, id2, cm) = (self.byte()?, self.byte()?, self.byte()?);
        if id1 != 0x1f || id2 != 0x8b {
            return Err(corrupt(if first { "not a gzip file" } else { "trailing garbage after the gzip data" }));
        }
        if cm != 8 {
            return Err(corrupt(format!("unknown gzip compression method {cm}")));
        }
        let flags = self.byte()?;
        if flags & 0xe0 != 0 {
            return Err(corrupt("reserved gzip header flags are set"));
        }
        for _ in 0..6 {
            self.byte()?; // mtime, extra flags, OS
        }
        if flags & 4 != 0 {
            let len = self.u16le()?;
            for _ in 0..len {
                self.byte()?;
            }
        }
        for flag in [8, 16] {
            // File name, comment: zero-terminated.
            if flags & flag != 0 {
                while self.byte()? != 0 {}
            }
        }
        if flags & 2 != 0 {
            self.u16le()?; // header CRC
        }
        Ok(())
    }

    fn member<S: Sink>(&mut self, sink: &mut S, first: bool) -> Result<()> {
        self.bitbuf = 0;
        self.bitcnt = 0;
        self.header(first)?;
        self.opos = 0;
        self.oflushed = 0;
        self.member_out = 0;
        self.crc = crc32fast::Hasher::new();
        loop {
            let bit = self.bit_position();
            sink.block_start(&mut self.raw, bit)?;
            self.refill()?;
            let last = self.bits(1)? == 1;
            match self.bits(2)? {
                0 => self.stored(sink)?,
                1 => {
                    let (litlen, dist) = self.fixed.take().map_or_else(fixed_tables, Ok)?;
                    let result = self.huffman(sink, &litlen, &dist);
                    self.fixed = Some((litlen, dist));
                    result?;
                }
                2 => {
                    let (mut litlen, mut dist) = (std::mem::take(&mut self.litlen), std::mem::take(&mut self.dist));
                    let result =
                        self.dynamic_tables(&mut litlen, &mut dist).and_then(|()| self.huffman(sink, &litlen, &dist));
                    (self.litlen, self.dist) = (litlen, dist);
                    result?;
                }
                _ => return Err(corrupt("invalid deflate block type 3")),
            }
            self.flush(sink)?;
            if last {
                break;
            }
        }
        // Trailer: CRC32 and size modulo 2^32 of the member's data, after the byte boundary.
        let drop = self.bitcnt % 8;
        self.consume(drop)?;
        let crc = self.u32le()?;
        let size = self.u32le()?;
        self.rewind();
        let actual = std::mem::replace(&mut self.crc, crc32fast::Hasher::new()).finalize();
        if crc != actual || u64::from(size) != self.member_out & 0xffff_ffff {
            return Err(corrupt("the gzip data is corrupt (CRC or length mismatch)"));
        }
        Ok(())
    }

    /// Passes the decoded bytes not yet passed to the sink, and slides the window when the buffer is full.
    fn flush<S: Sink>(&mut self, sink: &mut S) -> Result<()> {
        let new = &self.out[self.oflushed..self.opos];
        if !new.is_empty() {
            self.member_out += new.len() as u64;
            self.crc.update(new);
            sink.data(&mut self.raw, new)?;
        }
        self.oflushed = self.opos;
        if self.opos > WINDOW + OUT_CHUNK / 2 {
            self.out.copy_within(self.opos - WINDOW..self.opos, 0);
            self.opos = WINDOW;
            self.oflushed = WINDOW;
        }
        Ok(())
    }

    fn stored<S: Sink>(&mut self, sink: &mut S) -> Result<()> {
        let drop = self.bitcnt % 8;
        self.consume(drop)?;
        let len = self.u16le()?;
        let nlen = self.u16le()?;
        if len != !nlen {
            return Err(corrupt("invalid deflate data (stored block length check)"));
        }
        self.rewind();
        let mut left = usize::from(len);
        while left > 0 {
            if self.pos >= self.raw.buf.len() && !self.fill()? {
                return Err(truncated());
            }
            let room = (self.out.len() - SLACK).saturating_sub(self.opos);
            if room == 0 {
                self.flush(sink)?;
                continue;
            }
            let n = left.min(self.raw.buf.len() - self.pos).min(room);
            self.out[self.opos..self.opos + n].copy_from_slice(&self.raw.buf[self.pos..self.pos + n]);
            self.pos += n;
            self.opos += n;
            left -= n;
        }
        Ok(())
    }

    fn dynamic_tables(&mut self, litlen: &mut Vec<u32>, dist: &mut Vec<u32>) -> Result<()> {
        self.refill()?;
        let hlit = self.bits(5)? as usize + 257;
        let hdist = self.bits(5)? as usize + 1;
        let hclen = self.bits(4)? as usize + 4;
        if hlit > 286 || hdist > 30 {
            return Err(corrupt("invalid deflate data (too many length or distance codes)"));
        }
        let mut cl_lengths = [0u8; 19];
        for &i in &CODELEN_ORDER[..hclen] {
            self.refill()?;
            cl_lengths[i] = self.bits(3)? as u8;
        }
        let mut cl_table = Vec::with_capacity(1 << CODELEN_BITS);
        build_table(&cl_lengths, CODELEN_BITS, codelen_entry, &mut cl_table)?;
        let mut lengths = [0u8; 286 + 30];
        let mut i = 0;
        while i < hlit + hdist {
            self.refill()?;
            let e = cl_table[(self.bitbuf & ((1 << CODELEN_BITS) - 1)) as usize];
            if (e >> 4) & 15 == K_BAD {
                return Err(corrupt("invalid deflate data (bad code length code)"));
            }
            self.consume(e & 15)?;
            let sym = (e >> 16) as u8;
            let (value, repeat) = match sym {
                0..=15 => (sym, 1),
                16 => {
                    if i == 0 {
                        return Err(corrupt("invalid deflate data (repeat with no previous length)"));
                    }
                    (lengths[i - 1], 3 + self.bits(2)? as usize)
                }
                17 => (0, 3 + self.bits(3)? as usize),
                _ => (0, 11 + self.bits(7)? as usize),
            };
            if i + repeat > hlit + hdist {
                return Err(corrupt("invalid deflate data (code lengths overflow)"));
            }
            lengths[i..i + repeat].fill(value);
            i += repeat;
        }
        if lengths[256] == 0 {
            return Err(corrupt("invalid deflate data (no end-of-block code)"));
        }
        build_table(&lengths[..hlit], LITLEN_BITS, litlen_entry, litlen)?;
        build_table(&lengths[hlit..hlit + hdist], DIST_BITS, dist_entry, dist)?;
        Ok(())
    }

    fn huffman<S: Sink>(&mut self, sink: &mut S, litlen: &[u32], dist: &[u32]) -> Result<()> {
        loop {
            if self.opos + SLACK > self.out.len() {
                self.flush(sink)?;
            }
            if self.symbol(litlen, dist)? {
                return Ok(());
            }
        }
    }

    /// Decodes one literal or match; true at the end of the block.
    #[inline(always)]
    fn symbol(&mut self, litlen: &[u32], dist: &[u32]) -> Result<bool> {
        self.refill()?;
        let mut e = litlen[(self.bitbuf & ((1 << LITLEN_BITS) - 1)) as usize];
        if (e >> 4) & 15 == K_SUB {
            let mask = (1u64 << ((e >> 8) & 0x1f)) - 1;
            e = litlen[(e >> 16) as usize + ((self.bitbuf >> LITLEN_BITS) & mask) as usize];
        }
        match (e >> 4) & 15 {
            K_LIT => {
                self.consume(e & 15)?;
                self.out[self.opos] = (e >> 16) as u8;
                self.opos += 1;
                Ok(false)
            }
            K_LEN => {
                self.consume(e & 15)?;
                let len = (e >> 16) as usize + self.bits((e >> 8) & 0x1f)? as usize;
                let mut d = dist[(self.bitbuf & ((1 << DIST_BITS) - 1)) as usize];
                if (d >> 4) & 15 == K_SUB {
                    let mask = (1u64 << ((d >> 8) & 0x1f)) - 1;
                    d = dist[(d >> 16) as usize + ((self.bitbuf >> DIST_BITS) & mask) as usize];
                }
                if (d >> 4) & 15 != K_DIST {
                    return Err(corrupt("invalid deflate data (bad distance code)"));
                }
                self.consume(d & 15)?;
                let distance = (d >> 16) as usize + self.bits((d >> 8) & 0x1f)? as usize;
                self.copy_match(len, distance)?;
                Ok(false)
            }
            K_EOB => {
                self.consume(e & 15)?;
                Ok(true)
            }
            _ => Err(corrupt("invalid deflate data (bad literal/length code)")),
        }
    }

    #[inline(always)]
    fn copy_match(&mut self, len: usize, distance: usize) -> Result<()> {
        // The window holds only the member's bytes (all of them, or its last 32 KiB once it slid).
        if distance > self.opos {
            return Err(corrupt("invalid deflate data (distance too far back)"));
        }
        let src = self.opos - distance;
        if distance >= 16 && len <= 16 {
            let chunk: [u8; 16] = self.out[src..src + 16].try_into().expect("16 bytes");
            self.out[self.opos..self.opos + 16].copy_from_slice(&chunk);
        } else if distance >= len {
            self.out.copy_within(src..src + len, self.opos);
        } else {
            // Overlapping: the pattern repeats; each copy doubles what is available.
            let mut done = 0;
            while done < len {
                let n = (self.opos + done - src).min(len - done);
                self.out.copy_within(src..src + n, self.opos + done);
                done += n;
            }
        }
        self.opos += len;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use flate2::write::{DeflateEncoder, GzEncoder};
    use flate2::Compression;
    use proptest::prelude::*;

    use super::super::bit_writer::align_with_empty_stored_block;
    use super::super::Corrupt;
    use super::*;

    /// Records everything the decoder reports.
    #[derive(Default)]
    struct Recorder {
        data: Vec<u8>,
        members: Vec<u64>,
        blocks: Vec<(u64, u64)>,
        ends: Vec<u64>,
    }

    impl Sink for Recorder {
        fn member_start(&mut self, raw: &mut RawInput, offset: u64) -> Result<()> {
            self.members.push(offset);
            raw.set_mark(u64::MAX);
            Ok(())
        }
        fn block_start(&mut self, _: &mut RawInput, bit: u64) -> Result<()> {
            self.blocks.push((bit, self.data.len() as u64));
            Ok(())
        }
        fn data(&mut self, _: &mut RawInput, bytes: &[u8]) -> Result<()> {
            self.data.extend_from_slice(bytes);
            Ok(())
        }
        fn member_end(&mut self, _: &mut RawInput, end: u64) -> Result<()> {
            self.ends.push(end);
            Ok(())
        }
    }

    fn gzip(data: &[u8], level: u32) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::new(level));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn decode_all(gz: &[u8]) -> Result<Recorder> {
        let mut r = Recorder::default();
        decode(gz, &mut r)?;
        Ok(r)
    }

    use test_support::bytes::mixed;

    #[test]
    fn decodes_what_flate2_and_gzip_write() {
        for level in [0, 1, 6, 9] {
            let data = mixed(level.into(), 700_000);
            let r = decode_all(&gzip(&data, level)).unwrap();
            assert_eq!(r.data, data, "level {level}");
            assert!(r.blocks.len() > 1, "level {level}: several blocks");
        }
        let r = decode_all(&gzip(b"", 6)).unwrap();
        assert!(r.data.is_empty());
    }

    #[test]
    fn header_fields_are_skipped() {
        let data = mixed(4, 50_000);
        let mut e = flate2::GzBuilder::new()
            .filename("nixos-kexec-installer-x86_64-linux.tar")
            .comment("a comment")
            .extra(vec![1, 2, 3, 4, 5])
            .mtime(1_700_000_000)
            .write(Vec::new(), Compression::new(6));
        e.write_all(&data).unwrap();
        let gz = e.finish().unwrap();
        let r = decode_all(&gz).unwrap();
        assert_eq!(r.data, data);
        // The first block starts right after the header: the name, the comment and the extra field.
        let header_len = 10 + 2 + 5 + "nixos-kexec-installer-x86_64-linux.tar".len() + 1 + "a comment".len() + 1;
        assert_eq!(r.blocks[0], ((header_len * 8) as u64, 0));
    }

    #[test]
    fn multi_member_and_trailing_zeros() {
        let (a, b) = (mixed(1, 100_000), mixed(2, 50_000));
        let mut gz = gzip(&a, 6);
        let second = gz.len() as u64;
        gz.extend(gzip(&b, 1));
        let r = decode_all(&gz).unwrap();
        assert_eq!(r.data, [a.clone(), b.clone()].concat());
        assert_eq!(r.members, [0, second]);
        gz.extend([0u8; 100]);
        assert_eq!(decode_all(&gz).unwrap().data.len(), a.len() + b.len());
        gz.push(1);
        assert!(decode_all(&gz).err().expect("refused").downcast_ref::<Corrupt>().is_some());
    }

    #[test]
    fn refuses_bad_input() {
        let gz = gzip(&mixed(3, 200_000), 6);
        for bad in [&b""[..], b"hello world", &gz[..gz.len() - 1], &gz[..gz.len() / 2], &gz[..10]] {
            let err = decode_all(bad).err().expect("refused");
            assert!(err.downcast_ref::<Corrupt>().is_some(), "{err}");
        }
        let mut flipped = gz.clone();
        let at = flipped.len() / 2;
        flipped[at] ^= 0x10;
        assert!(decode_all(&flipped).is_err());
        let mut crc = gz.clone();
        let at = crc.len() - 6;
        crc[at] ^= 1;
        assert!(decode_all(&crc).is_err());
    }

    /// Cuts the stream at a reported block start, aligns with an empty stored block and appends a fresh deflate
    /// stream of the remaining data: if every offset is right, the result decodes to the original data.
    fn splice_at(gz: &[u8], bit: u64, out_offset: u64, data: &[u8], level: u32) -> Vec<u8> {
        let mut spliced = gz[..(bit / 8) as usize].to_vec();
        spliced.extend(align_with_empty_stored_block(gz[(bit / 8) as usize], (bit % 8) as u32));
        let mut e = DeflateEncoder::new(spliced, Compression::new(level));
        e.write_all(&data[out_offset as usize..]).unwrap();
        let mut spliced = e.finish().unwrap();
        let mut crc = crc32fast::Hasher::new();
        crc.update(data);
        spliced.extend(crc.finalize().to_le_bytes());
        spliced.extend((data.len() as u32).to_le_bytes());
        spliced
    }

    #[test]
    fn block_offsets_are_exact() {
        for level in [1, 6, 9] {
            let data = mixed(u64::from(level) + 10, 400_000);
            let gz = gzip(&data, level);
            let r = decode_all(&gz).unwrap();
            for &(bit, out) in &r.blocks {
                let spliced = splice_at(&gz, bit, out, &data, 6);
                assert_eq!(decode_all(&spliced).unwrap().data, data, "level {level}, block at bit {bit}");
                let mut gunzip = flate2::read::GzDecoder::new(&spliced[..]);
                let mut check = Vec::new();
                std::io::Read::read_to_end(&mut gunzip, &mut check).unwrap();
                assert_eq!(check, data);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn decodes_anything_flate2_writes(seed in any::<u64>(), len in 0usize..300_000, level in 0u32..10) {
            let data = mixed(seed, len);
            let gz = gzip(&data, level);
            let r = decode_all(&gz).unwrap();
            prop_assert_eq!(&r.data, &data);
            let (bit, out) = r.blocks[seed as usize % r.blocks.len()];
            prop_assert_eq!(decode_all(&splice_at(&gz, bit, out, &data, 1)).unwrap().data, data);
        }

        #[test]
        fn never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..2000), cut in 0usize..2000) {
            let mut gz = gzip(&bytes, 6);
            let at = cut % gz.len();
            gz[at] = gz[at].wrapping_add(bytes.first().copied().unwrap_or(1) | 1);
            let _ = decode_all(&gz);
            let _ = decode_all(&bytes);
        }
    }
}
