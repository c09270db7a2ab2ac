//! Copies a whole file into a new one as cheaply as the file system allows, leaving the new one's offset at its end
//! for what comes next (`customize initrd` appends its overlay).
//!
//! The order of methods:
//! 1. A reflink (`FICLONE`): the new file shares the old one's blocks, so no data is read or written (btrfs, XFS,
//!    bcachefs and others). It needs the same file system and an empty target.
//! 2. The kernel's copy: `std::io::copy` between two files is `copy_file_range`, falling back to `sendfile` and then
//!    to read/write on its own (across file systems, on old kernels). Where it can, the kernel's `copy_file_range`
//!    clones too; trying `FICLONE` first makes that one call, and not a matter of kernel version.
//!
//! When the output is to be synced ([`Durability::Synced`]), the copy goes in chunks and each chunk's writeback is
//! started as soon as it is copied, so the disk writes while the copy goes on and the sync before the rename waits
//! only for the last chunk. The start is `POSIX_FADV_DONTNEED`: on Linux it begins writing back the range's dirty
//! pages without waiting (what `sync_file_range(SYNC_FILE_RANGE_WRITE)` does, which rustix does not wrap and the
//! workspace's ban on `unsafe` keeps us from calling), and drops only pages that are already clean. Unsynced, that
//! would only slow the copy: the kernel writes back in its own time.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::num::NonZeroU64;

use rustix::fs::Advice;

use crate::atomic_file::Durability;

/// Bytes copied between two starts of writeback: large enough that the calls cost nothing next to the copy, small
/// enough that the sync at the end has little left to wait for.
pub const WRITEBACK_CHUNK: u64 = 16 << 20;

/// Copies all of `input` (from its start) into `out`, which must be empty, and leaves `out`'s offset at the end;
/// `durability` is what `out` will be committed with.
pub fn copy_whole_file(input: &mut File, out: &mut File, durability: Durability) -> io::Result<()> {
    input.rewind()?;
    if out.metadata()?.len() == 0 && rustix::fs::ioctl_ficlone(&*out, &*input).is_ok() {
        out.seek(SeekFrom::End(0))?;
        return Ok(());
    }
    // A refused clone changed nothing, but a file system that failed part way may have left some: start clean. Only
    // then: on ext4, truncating a file to zero makes its close start the whole file's writeback and wait for the
    // submission (auto_da_alloc), which costs an unsynced copy as much again.
    if out.metadata()?.len() > 0 {
        out.set_len(0)?;
    }
    out.rewind()?;
    if durability == Durability::Unsynced {
        io::copy(input, out)?;
        return Ok(());
    }
    let mut offset = 0;
    loop {
        let copied = io::copy(&mut Read::take(&*input, WRITEBACK_CHUNK), out)?;
        let Some(len) = NonZeroU64::new(copied) else { break };
        // Only a hint: if it fails, the sync at the commit writes the chunk back all the same.
        let _ = rustix::fs::fadvise(&*out, offset, Some(len), Advice::DontNeed);
        offset += copied;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn bytes(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + i / 4093) as u8).collect()
    }

    /// What `copy_whole_file` and a write after it leave in a new file, and what they should.
    fn copied(len: usize, durability: Durability) -> (Vec<u8>, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let data = bytes(len);
        std::fs::write(dir.path().join("in"), &data).unwrap();
        let mut input = File::open(dir.path().join("in")).unwrap();
        // Read part of it first: the copy starts from the beginning all the same.
        let mut head = [0u8; 3];
        let _ = input.read(&mut head).unwrap();
        let mut out =
            std::fs::OpenOptions::new().create_new(true).read(true).write(true).open(dir.path().join("out")).unwrap();
        copy_whole_file(&mut input, &mut out, durability).unwrap();
        out.write_all(b"tail").unwrap();
        drop(out);
        let mut want = data;
        want.extend_from_slice(b"tail");
        (std::fs::read(dir.path().join("out")).unwrap(), want)
    }

    #[test]
    fn the_copy_is_the_whole_input_and_what_is_written_after_it_follows_it() {
        for durability in [Durability::Synced, Durability::Unsynced] {
            for len in [0, 1, 4095, 4096, 1 << 20, WRITEBACK_CHUNK as usize + 12_345] {
                let (got, want) = copied(len, durability);
                assert_eq!(got.len(), want.len(), "{len} bytes, {durability:?}");
                assert!(got == want, "{len} bytes, {durability:?}: the contents differ");
            }
        }
    }
}
