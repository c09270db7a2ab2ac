//! `customize kexec-tarball` and `customize initrd`: bake a request into a release artifact, streaming.
//!
//! The kexec tarball is rewritten only at its end, by `crate::splice`; this file opens the files and says which
//! errors are the caller's.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use nixos_images_core::kexec_tarball;
use nixos_images_core::render::{overlay, ArtifactKind};

use crate::atomic_file::AtomicFile;
use crate::cli::{CustomizeArgs, CustomizeCmd, CustomizeInitrdArgs, CustomizeKexecArgs};
use crate::errors::UsageError;
use crate::file_copy;
use crate::splice::{self, Additions, Corrupt, StreamedFile};

pub fn run(args: &CustomizeArgs) -> Result<()> {
    match &args.what {
        CustomizeCmd::KexecTarball(a) => kexec_tarball(a),
        CustomizeCmd::Initrd(a) => initrd(a),
    }
}

fn bad_input(path: &Path, why: impl std::fmt::Display) -> anyhow::Error {
    UsageError(vec![format!("{}: {why}", path.display())]).into()
}

fn open_input(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| bad_input(path, format!("cannot read it: {e}")))
}

fn kexec_tarball(args: &CustomizeKexecArgs) -> Result<()> {
    let req = args.request.to_valid_request()?;
    if !ArtifactKind::KexecRun.applies_to(req.image()) {
        return Err(UsageError(vec![format!(
            "image: a kexec tarball is for image = kexec or kexec-noninteractive; this request has image = {}",
            req.image().as_str()
        )])
        .into());
    }
    let mut agent = match &args.agent {
        Some(path) => {
            let file =
                File::open(path).map_err(|e| UsageError(vec![format!("--agent: reading {}: {e}", path.display())]))?;
            let meta = file.metadata().with_context(|| format!("reading {}", path.display()))?;
            if !meta.is_file() {
                return Err(UsageError(vec![format!("--agent: {} is not a regular file", path.display())]).into());
            }
            Some((file, meta.len()))
        }
        None => None,
    };
    let input = open_input(&args.input)?;
    let mut out = AtomicFile::create(&args.output)?;
    let mut buffered = BufWriter::with_capacity(1 << 20, &mut out);
    let out_name = args.output.display().to_string();
    let additions = Additions {
        files: &|release_run| kexec_tarball::appended_files(&req, release_run),
        streamed: agent.as_mut().map(|(file, size)| StreamedFile {
            path: kexec_tarball::AGENT,
            mode: 0o755,
            size: *size,
            reader: file,
            shown: args.agent.as_ref().expect("an agent file").display().to_string(),
        }),
    };
    if let Err(err) = splice::splice_kexec_tarball(input, &mut buffered, &out_name, additions) {
        return Err(match err.downcast_ref::<Corrupt>() {
            Some(c) => bad_input(&args.input, c),
            None => err.context(format!("customizing {}", args.input.display())),
        });
    }
    buffered.flush().with_context(|| format!("writing {out_name}"))?;
    drop(buffered);
    out.commit_as(0o644, args.sync.durability())
}

/// Magic numbers an initrd may start with: a newc/crc cpio, or a compression format the kernel unpacks.
const INITRD_MAGIC: &[(&[u8], &str)] = &[
    (b"070701", "cpio"),
    (b"070702", "cpio"),
    (&[0x1f, 0x8b], "gzip"),
    (&[0x28, 0xb5, 0x2f, 0xfd], "zstd"),
    (&[0xfd, b'7', b'z', b'X', b'Z', 0], "xz"),
    (&[0x02, 0x21, 0x4c, 0x18], "lz4"),
    (b"BZh", "bzip2"),
    (&[0x5d, 0x00, 0x00], "lzma"),
    (&[0x89, b'L', b'Z', b'O'], "lzo"),
];

fn initrd(args: &CustomizeInitrdArgs) -> Result<()> {
    let req = args.request.to_valid_request()?;
    let overlay = overlay::render(&req);
    let mut input = open_input(&args.input)?;
    // The copy needs a file it can read from the start again (and a reflink, one it can share blocks of).
    if !input.metadata().with_context(|| format!("reading {}", args.input.display()))?.is_file() {
        return Err(bad_input(
            &args.input,
            "not a regular file (a directory, device or pipe cannot be an initrd here)",
        ));
    }
    let mut head = Vec::with_capacity(8);
    (&mut input).take(8).read_to_end(&mut head).with_context(|| format!("reading {}", args.input.display()))?;
    if !INITRD_MAGIC.iter().any(|(magic, _)| head.starts_with(magic)) {
        return Err(bad_input(
            &args.input,
            "not an initrd: it starts with neither a cpio header nor a compression format the kernel unpacks",
        ));
    }
    let mut out = AtomicFile::create(&args.output)?;
    let durability = args.sync.durability();
    file_copy::copy_whole_file(&mut input, out.file(), durability)
        .with_context(|| format!("copying {} to {}", args.input.display(), args.output.display()))?;
    // The kernel unpacks concatenated compressed archives in order; ours comes last, so its files win.
    out.write_all(&overlay.files[0].contents).with_context(|| format!("writing {}", args.output.display()))?;
    out.commit_as(0o644, durability)
}
