//! A streaming tar reader that keeps the regular files it is asked for and finds the end-of-archive marker.
//!
//! `tar::Archive` pulls from a reader and hides the marker; this one is pushed decompressed bytes in pieces of any
//! size (the gzip decoder's output) and reports the marker's offset, which is where appended entries go.

use super::ustar::{padding, BLOCK};

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
    reading: Reading,
    header: [u8; 512],
    /// Bytes of `header` filled so far.
    filled: usize,
    /// The names to keep, without leading `./`; `captured[i]` is the last entry named `wanted[i]`.
    wanted: Vec<String>,
    captured: Vec<Option<Captured>>,
    limit: usize,
    /// A GNU long name or pax record that names (or sizes) the next entry.
    long_name: Option<String>,
    pax_path: Option<String>,
    pax_size: Option<u64>,
}

/// What the next byte fed is.
enum Reading {
    Header,
    /// An entry's data (`left` bytes) then its padding to the block (`pad` bytes).
    EntryData {
        left: u64,
        pad: u64,
        keep: Keep,
    },
    /// Past the end-of-archive marker, which starts at this offset.
    AfterEnd(u64),
}

/// What becomes of an entry's data.
enum Keep {
    Nothing,
    /// A wanted file: `wanted[index]`, spelled `name` in the archive.
    File {
        index: usize,
        name: String,
        data: Vec<u8>,
    },
    /// A GNU long name (`L`) for the next entry.
    LongName(Vec<u8>),
    /// A pax extended header (`x`) for the next entry.
    PaxRecords(Vec<u8>),
}

/// Largest GNU long name or pax header kept.
const MAX_EXTENSION: u64 = 1 << 20;

impl TarWalker {
    /// Captures the regular files named in `wanted` (compared after dropping leading `./`), each up to `limit`
    /// bytes.
    pub fn new(wanted: &[&str], limit: usize) -> TarWalker {
        TarWalker {
            offset: 0,
            reading: Reading::Header,
            header: [0; 512],
            filled: 0,
            wanted: wanted.iter().map(|s| normalize(s).to_string()).collect(),
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
            match &mut self.reading {
                Reading::AfterEnd(at) => return Ok(Some(*at)),
                Reading::Header => {
                    let n = (512 - self.filled).min(data.len());
                    self.header[self.filled..self.filled + n].copy_from_slice(&data[..n]);
                    self.filled += n;
                    self.offset += n as u64;
                    data = &data[n..];
                    if self.filled == 512 {
                        self.filled = 0;
                        self.reading = self.parse_header(self.offset - BLOCK)?;
                    }
                }
                Reading::EntryData { left, pad, keep } => {
                    let n = (*left + *pad).min(data.len() as u64) as usize;
                    let take = (*left).min(n as u64) as usize;
                    match keep {
                        Keep::Nothing => {}
                        Keep::File { data: buf, .. } | Keep::LongName(buf) | Keep::PaxRecords(buf) => {
                            buf.extend_from_slice(&data[..take]);
                        }
                    }
                    *left -= take as u64;
                    *pad -= (n - take) as u64;
                    self.offset += n as u64;
                    data = &data[n..];
                    if *left == 0 && *pad == 0 {
                        let Reading::EntryData { keep, .. } = std::mem::replace(&mut self.reading, Reading::Header)
                        else {
                            unreachable!("in an entry's data")
                        };
                        self.entry_done(keep)?;
                    }
                }
            }
        }
        Ok(match self.reading {
            Reading::AfterEnd(at) => Some(at),
            _ => None,
        })
    }

    /// Every byte before this offset has been seen and is not the start of the end-of-archive marker: the start of
    /// the header being read, or of the next one.
    pub fn safe_offset(&self) -> u64 {
        match &self.reading {
            Reading::Header => self.offset - self.filled as u64,
            Reading::EntryData { left, pad, .. } => self.offset + left + pad,
            Reading::AfterEnd(at) => *at,
        }
    }

    /// At the end of the data: the offset of the end-of-archive marker, or why there is none.
    pub fn finish(&self) -> Result<u64, TarError> {
        match self.reading {
            Reading::AfterEnd(at) => Ok(at),
            _ if self.offset == 0 => Err(TarError::NotTar),
            _ => Err(TarError::NoEnd),
        }
    }

    /// The last captured entry of one of the names given to [`TarWalker::new`].
    pub fn captured(&self, name: &str) -> Option<&Captured> {
        let index = self.wanted.iter().position(|w| w == normalize(name))?;
        self.captured[index].as_ref()
    }

    fn parse_header(&mut self, at: u64) -> Result<Reading, TarError> {
        let h = &self.header;
        if h.iter().all(|&b| b == 0) {
            return Ok(Reading::AfterEnd(at));
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
        let keep = match typeflag {
            b'L' | b'x' if size > MAX_EXTENSION => return Err(bad),
            b'L' => Keep::LongName(Vec::new()),
            b'x' => Keep::PaxRecords(Vec::new()),
            b'g' | b'K' => Keep::Nothing,
            _ => {
                let name = self.pax_path.take().or(self.long_name.take()).unwrap_or_else(|| header_name(h));
                self.long_name = None;
                let wanted = self.wanted.iter().position(|w| *w == normalize(&name));
                match wanted {
                    Some(index) if matches!(typeflag, b'0' | 0 | b'7') => {
                        if size > self.limit as u64 {
                            return Err(TarError::TooLarge { name, limit: self.limit });
                        }
                        Keep::File { index, name, data: Vec::new() }
                    }
                    _ => Keep::Nothing,
                }
            }
        };
        if size == 0 {
            self.entry_done(keep)?;
            return Ok(Reading::Header);
        }
        Ok(Reading::EntryData { left: size, pad, keep })
    }

    fn entry_done(&mut self, keep: Keep) -> Result<(), TarError> {
        match keep {
            Keep::Nothing => {}
            Keep::File { index, name, data } => self.captured[index] = Some(Captured { name, data }),
            Keep::LongName(bytes) => self.long_name = Some(c_string(&bytes)),
            Keep::PaxRecords(bytes) => {
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
