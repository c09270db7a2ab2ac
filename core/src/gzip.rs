//! Deterministic gzip: no file name, mtime 0, maximum compression, so equal input gives equal bytes.
//!
//! The member is put together here (RFC 1952: the 10-byte header, flate2's raw deflate stream, CRC-32 and length)
//! rather than by flate2's `GzEncoder`: its CRC (crc32fast) carries a 16 KiB table that gzip cannot shrink, 16 KB
//! of the web page's download; the `crc` crate's one-table CRC-32 has 1 KiB. The bytes are exactly those of
//! `GzBuilder::new().mtime(0)` at `Compression::best()` (a test compares them).

use std::io::Write;

use flate2::write::DeflateEncoder;
use flate2::Compression;

/// gzip's CRC-32 (ISO-HDLC), with one 256-entry table.
static CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// The member header: magic, deflate, no flags, mtime 0, XFL 2 (maximum compression), OS 255 (unknown).
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255];

pub fn compress(data: &[u8]) -> Vec<u8> {
    let mut enc = DeflateEncoder::new(HEADER.to_vec(), Compression::best());
    // Writing into a Vec cannot fail.
    enc.write_all(data).expect("gzip into memory");
    let mut out = enc.finish().expect("gzip into memory");
    out.extend_from_slice(&CRC32.checksum(data).to_le_bytes());
    // ISIZE: the input length modulo 2^32.
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use flate2::{Compression, GzBuilder};

    use super::compress;

    fn flate2_gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzBuilder::new().mtime(0).write(Vec::new(), Compression::best());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn equals_flate2s_gz_encoder_and_round_trips() {
        // Empty, tiny, text, incompressible and larger than deflate's 32 KiB window and flate2's buffers.
        let mut noise = Vec::new();
        let mut x = 0x2545_f491_u32;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            noise.push((x >> 24) as u8);
        }
        let text = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI you@laptop\n".repeat(5000);
        for data in [&b""[..], b"a", text.as_bytes(), &noise, &noise[..70_001]] {
            let ours = compress(data);
            assert_eq!(ours, flate2_gzip(data), "{} bytes", data.len());
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(ours.as_slice()).read_to_end(&mut back).unwrap();
            assert_eq!(back, data);
        }
    }
}
