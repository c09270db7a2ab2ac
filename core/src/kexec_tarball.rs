//! The pure half of `customize kexec-tarball`: what a release's kexec tarball holds and what is appended to it.
//!
//! The customized tarball is the release's archive with new entries after its last one: extraction lets a later
//! entry replace an earlier one of the same name, so `kexec/run` becomes ours and the release's is kept as
//! `kexec/run.release` (see `render::kexec_run`). No I/O here: the CLI feeds the decompressed bytes to a
//! [`TarWalker`] ([`walker`]) and writes the entries [`ustar`] makes.

mod tar_walker;
mod ustar;

pub use tar_walker::{Captured, TarError, TarWalker};
pub use ustar::{file_header, padding, BLOCK, END_OF_ARCHIVE};

use crate::render::kexec_run::{self, RELEASE_RUN_NAME};
use crate::{ArtifactFile, ValidRequest};

/// The release's run script, replaced by ours.
pub const RUN: &str = "kexec/run";
/// Where the release's run script is kept (ours reads its `init=` line).
pub const RUN_RELEASE: &str = "kexec/run.release";
/// The agent binary, when one is added.
pub const AGENT: &str = "kexec/nixos-images-agent";
/// A run script larger than this is not a release's (theirs are a few KiB).
pub const MAX_RUN_SCRIPT: usize = 1 << 20;

const _: () = assert!(RUN_RELEASE.len() == "kexec/".len() + RELEASE_RUN_NAME.len());

/// A walker that keeps what [`release_script`] needs: `kexec/run` and, in a tarball customized before,
/// `kexec/run.release`.
pub fn walker() -> TarWalker {
    TarWalker::new(&[RUN, RUN_RELEASE], MAX_RUN_SCRIPT)
}

/// Why a tar archive is not a release's kexec tarball.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotARelease {
    #[error("has no kexec/run entry; is it a nixos-images kexec installer tarball?")]
    NoRun,
    #[error("its kexec/run has no init=\"/nix/store/...\" line; is it a nixos-images kexec installer tarball?")]
    NoInitLine,
}

/// The release's own run script, and how the archive spells its names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseScript {
    /// What comes before `kexec/run` in the archive's names (`""` or `"./"`), so appended entries are spelled
    /// alike.
    pub prefix: String,
    pub script: Vec<u8>,
}

/// The release's run script in a walked archive: a kept `kexec/run.release` (the tarball was customized before),
/// else `kexec/run`, which must have the `init=` line ours reads.
pub fn release_script(walker: &TarWalker) -> Result<ReleaseScript, NotARelease> {
    if let Some(kept) = walker.captured(RUN_RELEASE) {
        if release_init(&kept.data).is_some() {
            let run_name = kept.name.replace(RELEASE_RUN_NAME, "run");
            return Ok(ReleaseScript { prefix: archive_prefix(&run_name).to_string(), script: kept.data.clone() });
        }
    }
    let run = walker.captured(RUN).ok_or(NotARelease::NoRun)?;
    if release_init(&run.data).is_none() {
        return Err(NotARelease::NoInitLine);
    }
    Ok(ReleaseScript { prefix: archive_prefix(&run.name).to_string(), script: run.data.clone() })
}

/// The `/nix/store/...` path of the release script's first `init="..."` line, read exactly as our run script reads
/// it (`sed -n 's|^init="\(/nix/store/[^"]*\)"$|\1|p'`).
pub fn release_init(script: &[u8]) -> Option<&str> {
    script.split(|&b| b == b'\n').find_map(|line| {
        let path = line.strip_prefix(b"init=\"")?.strip_suffix(b"\"")?;
        if path.starts_with(b"/nix/store/") && !path.contains(&b'"') {
            std::str::from_utf8(path).ok()
        } else {
            None
        }
    })
}

/// The files appended to the tarball (the agent aside, which the caller streams): our run script and the
/// release's, kept under [`RUN_RELEASE`]. Paths are relative to the archive's root, like [`RUN`].
pub fn appended_files(req: &ValidRequest, release_run: &[u8]) -> Vec<ArtifactFile> {
    vec![
        ArtifactFile { path: RUN.into(), mode: 0o755, contents: kexec_run::script(req).into_bytes() },
        ArtifactFile { path: RUN_RELEASE.into(), mode: 0o755, contents: release_run.to_vec() },
    ]
}

/// What comes before `kexec/run` in the archive's own spelling of the name (`""` or `"./"`).
pub fn archive_prefix(name: &str) -> &str {
    name.strip_suffix(RUN).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn archive(entries: &[(&str, &[u8])], gnu: bool) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in entries {
            let mut h = if gnu { tar::Header::new_gnu() } else { tar::Header::new_ustar() };
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_entry_type(if name.ends_with('/') { tar::EntryType::Directory } else { tar::EntryType::Regular });
            if name.len() < 100 {
                // Spelled exactly as given (the builder would drop a leading `./`).
                h.as_mut_bytes()[..name.len()].copy_from_slice(name.as_bytes());
                h.set_cksum();
                b.append(&h, *data).unwrap();
            } else {
                b.append_data(&mut h, name, *data).unwrap();
            }
        }
        b.into_inner().unwrap()
    }

    fn walk(bytes: &[u8], piece: usize) -> (TarWalker, Result<u64, TarError>) {
        let mut w = TarWalker::new(&[RUN, RUN_RELEASE], 4096);
        for chunk in bytes.chunks(piece.max(1)) {
            if let Err(e) = w.feed(chunk) {
                return (w, Err(e));
            }
        }
        let end = w.finish();
        (w, end)
    }

    const RELEASE_RUN: &[u8] =
        b"#!/bin/sh\ninit=\"/nix/store/abc-nixos-system-nixos-installer/init\"\nkernelParams=\"a=1\"\n";

    #[test]
    fn finds_run_and_end_in_any_piece_size() {
        let long = format!("kexec/{}", "x".repeat(150));
        for gnu in [false, true] {
            let tar = archive(
                &[("kexec/", b""), ("kexec/initrd", &[7; 3000]), (&long, b"long"), ("./kexec/run", RELEASE_RUN)],
                gnu,
            );
            for piece in [1, 7, 512, 100_000] {
                let (w, end) = walk(&tar, piece);
                let end = end.unwrap();
                assert_eq!(tar[end as usize..], [0u8; 1024][..], "the marker and padding follow");
                assert!(end as usize + 1024 <= tar.len());
                let run = w.captured(RUN).expect("run captured");
                assert_eq!((run.name.as_str(), &run.data[..]), ("./kexec/run", RELEASE_RUN));
                assert_eq!(archive_prefix(&run.name), "./");
                assert!(w.captured(RUN_RELEASE).is_none());
            }
        }
    }

    #[test]
    fn the_last_entry_of_a_name_wins_and_appended_entries_are_read() {
        let mut tar = archive(&[("kexec/run", b"old")], false);
        let end = walk(&tar, 512).1.unwrap() as usize;
        tar.truncate(end);
        for (path, data) in [("kexec/run", &b"new"[..]), (RUN_RELEASE, RELEASE_RUN)] {
            tar.extend(file_header(path, 0o755, data.len() as u64));
            tar.extend(data);
            tar.extend(vec![0; padding(data.len() as u64)]);
        }
        tar.extend(END_OF_ARCHIVE);
        let (w, end) = walk(&tar, 100);
        assert_eq!(end.unwrap() as usize, tar.len() - 1024);
        assert_eq!(w.captured(RUN).unwrap().data, b"new");
        assert_eq!(w.captured(RUN_RELEASE).unwrap().data, RELEASE_RUN);
        let mut a = tar::Archive::new(&tar[..]);
        let names: Vec<String> =
            a.entries().unwrap().map(|e| e.unwrap().path().unwrap().display().to_string()).collect();
        assert_eq!(names, ["kexec/run", "kexec/run", RUN_RELEASE]);
    }

    #[test]
    fn refuses_what_is_not_a_tar() {
        assert_eq!(walk(b"", 10).1, Err(TarError::NotTar));
        assert_eq!(walk(&[b'x'; 2048], 10).1, Err(TarError::NotTar));
        let tar = archive(&[("kexec/initrd", &[1; 2000]), ("kexec/run", RELEASE_RUN)], false);
        let end = walk(&tar, 512).1.unwrap() as usize;
        assert_eq!(walk(&tar[..end], 512).1, Err(TarError::NoEnd));
        let mut bad = tar.clone();
        bad[2560 + 10] ^= 1; // the second header's name
        assert_eq!(walk(&bad, 512).1, Err(TarError::BadHeader(2560)));
        let big = archive(&[("kexec/run", &[b'#'; 5000])], false);
        assert!(matches!(walk(&big, 512).1, Err(TarError::TooLarge { .. })));
    }

    #[test]
    fn safe_offset_never_passes_the_marker() {
        let tar = archive(&[("kexec/initrd", &[1; 700]), ("kexec/run", RELEASE_RUN)], true);
        let end = walk(&tar, 512).1.unwrap();
        let mut w = TarWalker::new(&[RUN], 4096);
        for (i, b) in tar.iter().enumerate() {
            assert!(w.safe_offset() <= end, "at byte {i}");
            if w.feed(std::slice::from_ref(b)).unwrap().is_some() {
                break;
            }
        }
        assert_eq!(w.safe_offset(), end);
    }

    #[test]
    fn the_release_script_is_the_kept_one_after_a_first_customize() {
        let ours = b"#!/bin/sh\n# ours: reads kexec/run.release\n";
        let first = archive(&[("./kexec/run", RELEASE_RUN)], false);
        let script = release_script(&walk(&first, 512).0).unwrap();
        assert_eq!(script, ReleaseScript { prefix: "./".into(), script: RELEASE_RUN.to_vec() });
        let again = archive(&[("./kexec/run", ours), ("./kexec/run.release", RELEASE_RUN)], false);
        assert_eq!(release_script(&walk(&again, 512).0).unwrap(), script);
        let no_run = archive(&[("kexec/initrd", b"x")], false);
        assert_eq!(release_script(&walk(&no_run, 512).0), Err(NotARelease::NoRun));
        let not_a_release = archive(&[("kexec/run", ours), ("kexec/run.release", ours)], false);
        assert_eq!(release_script(&walk(&not_a_release, 512).0), Err(NotARelease::NoInitLine));
    }

    #[test]
    fn release_init_reads_like_the_run_script() {
        assert_eq!(release_init(RELEASE_RUN), Some("/nix/store/abc-nixos-system-nixos-installer/init"));
        assert_eq!(release_init(b"init=/nix/store/x/init\n"), None);
        assert_eq!(release_init(b" init=\"/nix/store/x/init\"\n"), None);
        assert_eq!(release_init(b"init=\"/tmp/x/init\"\n"), None);
        assert_eq!(release_init(b"init=\"/nix/store/a\"b\"\n"), None);
        assert_eq!(release_init(b"x\ninit=\"/nix/store/a/init\""), Some("/nix/store/a/init"));
    }

    #[test]
    fn headers_are_valid_ustar() {
        let h = file_header("kexec/nixos-images-agent", 0o755, 1234);
        let parsed = tar::Header::from_byte_slice(&h);
        assert_eq!(parsed.path().unwrap().to_str(), Some("kexec/nixos-images-agent"));
        assert_eq!((parsed.mode().unwrap(), parsed.size().unwrap()), (0o755, 1234));
        let mut tar = h.to_vec();
        tar.extend([0; 1234 + 302]);
        tar.extend(END_OF_ARCHIVE);
        assert_eq!(walk(&tar, 512).1, Ok(2048), "the walker accepts its checksum");
        assert_eq!(padding(0), 0);
        assert_eq!(padding(1), 511);
        assert_eq!(padding(512), 0);
    }
}
