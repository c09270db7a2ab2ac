//! Canonical Huffman decoding tables for deflate (RFC 1951, 3.2.2): two levels, indexed by the next input bits.

use anyhow::Result;

use super::corrupt;

// Decoding table entries: bits 0..4 code length, 4..8 kind, 8..13 extra bits (or subtable bits), 16..32 value
// (literal, length or distance base, or subtable offset).
pub(super) const K_LIT: u32 = 0;
pub(super) const K_LEN: u32 = 1;
pub(super) const K_EOB: u32 = 2;
pub(super) const K_SUB: u32 = 3;
pub(super) const K_BAD: u32 = 4;
pub(super) const K_DIST: u32 = 5;
pub(super) const LITLEN_BITS: u32 = 10;
pub(super) const DIST_BITS: u32 = 8;
pub(super) const CODELEN_BITS: u32 = 7;

const fn entry(kind: u32, value: u32, extra: u32) -> u32 {
    (value << 16) | (extra << 8) | (kind << 4)
}

const LEN_BASE: [u16; 29] =
    [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LEN_EXTRA: [u8; 29] = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145,
    8193, 12289, 16385, 24577,
];
const DIST_EXTRA: [u8; 30] =
    [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
/// The order in which code length code lengths are sent (RFC 1951, 3.2.7).
pub(super) const CODELEN_ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

pub(super) fn litlen_entry(sym: usize) -> u32 {
    match sym {
        0..=255 => entry(K_LIT, sym as u32, 0),
        256 => entry(K_EOB, 0, 0),
        257..=285 => entry(K_LEN, LEN_BASE[sym - 257].into(), LEN_EXTRA[sym - 257].into()),
        _ => entry(K_BAD, 0, 0),
    }
}

pub(super) fn dist_entry(sym: usize) -> u32 {
    match sym {
        0..=29 => entry(K_DIST, DIST_BASE[sym].into(), DIST_EXTRA[sym].into()),
        _ => entry(K_BAD, 0, 0),
    }
}

pub(super) fn codelen_entry(sym: usize) -> u32 {
    entry(K_LIT, sym as u32, 0)
}

/// Builds a two-level decoding table for the canonical Huffman code with these code lengths: `2^primary` entries
/// indexed by the next `primary` input bits, and a subtable for each prefix of longer codes. Over-subscribed codes
/// are refused; unused entries of incomplete codes decode as errors.
pub(super) fn build_table(
    lengths: &[u8],
    primary: u32,
    sym_entry: fn(usize) -> u32,
    table: &mut Vec<u32>,
) -> Result<()> {
    let mut count = [0u16; 16];
    for &l in lengths {
        count[usize::from(l)] += 1;
    }
    count[0] = 0;
    let mut left: i32 = 1;
    for &c in &count[1..] {
        left = (left << 1) - i32::from(c);
        if left < 0 {
            return Err(corrupt("invalid deflate data (over-subscribed Huffman code)"));
        }
    }
    let mut next = [0u32; 16];
    let mut code = 0u32;
    for len in 1..16 {
        code = (code + u32::from(count[len - 1])) << 1;
        next[len] = code;
    }
    let bad = entry(K_BAD, 0, 0);
    table.clear();
    table.resize(1 << primary, bad);
    // Longest code under each primary prefix, to size the subtables.
    let mut sub_len = [0u8; 1 << LITLEN_BITS];
    let mut codes = next;
    for &l in lengths {
        if u32::from(l) > primary {
            let rev = reverse(codes[usize::from(l)], l.into());
            codes[usize::from(l)] += 1;
            let p = (rev & ((1 << primary) - 1)) as usize;
            sub_len[p] = sub_len[p].max(l);
        } else if l > 0 {
            codes[usize::from(l)] += 1;
        }
    }
    for (p, &l) in sub_len.iter().enumerate().take(1 << primary) {
        if l > 0 {
            let bits = u32::from(l) - primary;
            let offset = table.len() as u32;
            table.resize(table.len() + (1 << bits), bad);
            table[p] = entry(K_SUB, offset, bits);
        }
    }
    for (sym, &l) in lengths.iter().enumerate() {
        if l == 0 {
            continue;
        }
        let len = u32::from(l);
        let rev = reverse(next[usize::from(l)], len);
        next[usize::from(l)] += 1;
        let e = sym_entry(sym) | len;
        if len <= primary {
            let mut i = rev as usize;
            while i < 1 << primary {
                table[i] = e;
                i += 1 << len;
            }
        } else {
            let sub = table[(rev & ((1 << primary) - 1)) as usize];
            let offset = (sub >> 16) as usize;
            let bits = (sub >> 8) & 0x1f;
            let mut i = (rev >> primary) as usize;
            while i < 1 << bits {
                table[offset + i] = e;
                i += 1 << (len - primary);
            }
        }
    }
    Ok(())
}

fn reverse(code: u32, len: u32) -> u32 {
    code.reverse_bits() >> (32 - len)
}

pub(super) fn fixed_tables() -> Result<(Vec<u32>, Vec<u32>)> {
    let mut lengths = [0u8; 288];
    lengths[..144].fill(8);
    lengths[144..256].fill(9);
    lengths[256..280].fill(7);
    lengths[280..].fill(8);
    let (mut litlen, mut dist) = (Vec::new(), Vec::new());
    build_table(&lengths, LITLEN_BITS, litlen_entry, &mut litlen)?;
    build_table(&[5u8; 30], DIST_BITS, dist_entry, &mut dist)?;
    Ok((litlen, dist))
}
