//! Reproducible `.tar.gz` bundles: sorted entries, parents first, mtime 0, owner root.

use std::collections::BTreeMap;

use crate::artifact::ArtifactFile;

/// Packs `files` under the directory `top` into a gzip'ed ustar archive.
pub fn tar_gz(top: &str, files: &[ArtifactFile]) -> Vec<u8> {
    let mut entries: BTreeMap<String, Option<&ArtifactFile>> = BTreeMap::new();
    entries.insert(format!("{top}/"), None);
    for f in files {
        let path = format!("{top}/{}", f.path);
        for (i, _) in path.match_indices('/') {
            entries.entry(format!("{}/", &path[..i])).or_insert(None);
        }
        entries.insert(path, Some(f));
    }
    let mut builder = tar::Builder::new(Vec::new());
    for (path, file) in &entries {
        let mut header = tar::Header::new_ustar();
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        // Both names fit the ustar fields; setting them cannot fail.
        header.set_username("root").expect("short name");
        header.set_groupname("root").expect("short name");
        let data: &[u8] = match file {
            Some(f) => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(f.mode);
                header.set_size(f.contents.len() as u64);
                &f.contents
            }
            None => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(0o755);
                header.set_size(0);
                &[]
            }
        };
        // Writing into a Vec cannot fail; paths are short relative ASCII names made by the renderers.
        builder.append_data(&mut header, path, data).expect("tar into memory");
    }
    let tar = builder.into_inner().expect("tar into memory");
    crate::gzip::compress(&tar)
}
