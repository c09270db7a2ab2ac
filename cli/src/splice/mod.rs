//! `customize kexec-tarball`'s splice: a release's gzip'ed tar rewritten only at its end, streaming.
//!
//! One decoding pass ([`block_decoder`]) reports where each deflate block starts, to the bit; the tar walker
//! (`nixos_images_core::kexec_tarball`) finds the release's `kexec/run` and the end-of-archive marker. Every block
//! that ends before the marker is copied bit for bit ([`splicer`]); the block holding the marker is re-encoded from
//! its start: its bytes before the marker, then the appended entries and a new marker, as a fresh deflate stream
//! after an empty stored block that brings the bit position to a byte boundary ([`bit_writer`]). The gzip
//! trailer's CRC continues the CRC of the kept bytes ([`member_tail`]), so nothing is read twice. Memory stays
//! constant: the window, one block held back, the release's run script.

pub mod bit_writer;
pub mod block_decoder;
mod huffman;
mod member_tail;
pub mod splicer;

pub use splicer::{splice_kexec_tarball, Additions, StreamedFile};

/// The input is not a well-formed release tarball (the caller's mistake, as opposed to an I/O failure).
#[derive(Debug)]
pub struct Corrupt(pub String);

impl std::fmt::Display for Corrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Corrupt {}

fn corrupt(msg: impl Into<String>) -> anyhow::Error {
    Corrupt(msg.into()).into()
}
