//! Writing deflate bits after a kept prefix that ends inside a byte.

/// Bits written least significant first, as deflate packs them, continuing a partial byte.
pub struct BitWriter {
    bytes: Vec<u8>,
    acc: u32,
    n: u32,
}

impl BitWriter {
    /// Continues after the low `nbits` bits of `partial` (the kept prefix's last, unfinished byte).
    pub fn new(partial: u8, nbits: u32) -> BitWriter {
        assert!(nbits < 8);
        BitWriter { bytes: Vec::new(), acc: u32::from(partial) & ((1 << nbits) - 1), n: nbits }
    }

    pub fn put(&mut self, value: u32, nbits: u32) {
        debug_assert!(nbits <= 16 && value < 1 << nbits);
        self.acc |= value << self.n;
        self.n += nbits;
        while self.n >= 8 {
            self.bytes.push(self.acc as u8);
            self.acc >>= 8;
            self.n -= 8;
        }
    }

    /// Pads with zero bits to the byte boundary and returns the bytes.
    pub fn finish(mut self) -> Vec<u8> {
        if self.n > 0 {
            self.bytes.push(self.acc as u8);
        }
        self.bytes
    }
}

/// An empty, non-final stored block after the kept bits: it ends on a byte boundary, so any raw deflate stream
/// can follow it.
pub fn align_with_empty_stored_block(partial: u8, nbits: u32) -> Vec<u8> {
    let mut w = BitWriter::new(partial, nbits);
    w.put(0, 1); // BFINAL = 0
    w.put(0, 2); // BTYPE = 00, stored
    let mut bytes = w.finish();
    bytes.extend_from_slice(&[0x00, 0x00, 0xff, 0xff]); // LEN = 0, NLEN = !0
    bytes
}
