//! Writing tar entries: the header of a regular file and the padding and marker around it.

/// Size of a tar block.
pub const BLOCK: u64 = 512;
/// Two zero blocks end a tar archive.
pub const END_OF_ARCHIVE: [u8; 1024] = [0; 1024];

/// A ustar header for a regular file: owner root, mtime 0, like the bundles.
pub fn file_header(path: &str, mode: u32, size: u64) -> [u8; 512] {
    let mut header = tar::Header::new_ustar();
    // Our names are short relative ASCII paths; setting them cannot fail.
    header.set_path(path).expect("short relative path");
    header.set_entry_type(tar::EntryType::Regular);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(0);
    header.set_uid(0);
    header.set_gid(0);
    header.set_username("root").expect("short name");
    header.set_groupname("root").expect("short name");
    header.set_cksum();
    *header.as_bytes()
}

/// Zero bytes after `size` bytes of data, up to the next block.
pub fn padding(size: u64) -> usize {
    ((BLOCK - size % BLOCK) % BLOCK) as usize
}
