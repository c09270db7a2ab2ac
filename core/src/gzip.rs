//! Deterministic gzip: no file name, mtime 0, maximum compression, so equal input gives equal bytes.

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::{Compression, GzBuilder};

pub fn compress(data: &[u8]) -> Vec<u8> {
    let mut enc: GzEncoder<Vec<u8>> = GzBuilder::new().mtime(0).write(Vec::new(), Compression::best());
    // Writing into a Vec cannot fail.
    enc.write_all(data).expect("gzip into memory");
    enc.finish().expect("gzip into memory")
}
