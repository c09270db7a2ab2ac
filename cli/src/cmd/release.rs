//! `release`: turns Nix build outputs into a release's assets, as the seed's build-images.sh did, plus a manifest,
//! checksums and optional minisign signatures.
//!
//! Inputs are the flake's build results: a kexec installer output (a directory holding
//! `nixos-kexec-installer[-noninteractive]-<system>.tar.gz`, or that file) and a netboot output (a directory with
//! `bzImage` or `Image`, `initrd` and the image's own `netboot.ipxe`). Written to `-o DIR`:
//!
//! - the assets under the seed's names (`AssetKind::file_name`): the tarballs, `bzImage-x86_64-linux`,
//!   `initrd-x86_64-linux`, and `netboot-<arch>.ipxe`, the image's script rendered again with absolute release
//!   URLs (`<base_url>/<tag>/<asset>`);
//! - `manifest.json` (schema `nixos-images/manifest/v1`, `core::manifest`), the init path and kernel parameters
//!   of each netboot read back from the image's own `netboot.ipxe`;
//! - `SHA256SUMS` (`sha256sum -c` format) of every asset and the manifest;
//! - with a minisign secret key (`--sign-key FILE`, or the key itself in `NIXOS_IMAGES_MINISIGN_KEY`; its password,
//!   if any, in `NIXOS_IMAGES_MINISIGN_PASSWORD`): `manifest.json.minisig` and `SHA256SUMS.minisig`.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use nixos_images_core::field::Segment;
use nixos_images_core::manifest::{Asset, AssetKind, Manifest, NetbootBoot, MANIFEST_SCHEMA};
use nixos_images_core::release::{self, ReleaseBoot};
use nixos_images_core::{Arch, FieldError, DEFAULT_RELEASE_BASE_URL};
use sha2::{Digest, Sha256};

use crate::atomic_file::AtomicFile;
use crate::errors::UsageError;

/// The environment variable holding a minisign secret key (the key file's text), when `--sign-key` is not given.
pub const KEY_ENV: &str = "NIXOS_IMAGES_MINISIGN_KEY";
/// The environment variable holding the secret key's password, for an encrypted key.
pub const PASSWORD_ENV: &str = "NIXOS_IMAGES_MINISIGN_PASSWORD";

#[derive(Debug, clap::Args)]
pub struct ReleaseArgs {
    /// Build outputs: kexec installer results (a directory with nixos-kexec-installer[-noninteractive]-SYSTEM.tar.gz,
    /// or the tarball) and netboot results (a directory with bzImage or Image, initrd and netboot.ipxe)
    #[arg(required = true, value_name = "OUTPUT")]
    pub inputs: Vec<PathBuf>,
    /// Directory for the assets, manifest.json, SHA256SUMS and signatures (created; must be empty)
    #[arg(long, short = 'o', value_name = "DIR")]
    pub output: PathBuf,
    /// The NixOS channel the images were built from (nixos-unstable, nixos-26.11)
    #[arg(long, value_name = "CHANNEL")]
    pub channel: String,
    /// The release tag (default: the channel)
    #[arg(long, value_name = "TAG")]
    pub tag: Option<String>,
    /// The nixpkgs git revision the images were built from (40 hex digits; the flake.lock's locked.rev)
    #[arg(long, value_name = "REV")]
    pub nixpkgs_revision: String,
    /// Build date, YYYY-MM-DD (default: today, UTC)
    #[arg(long, value_name = "DATE")]
    pub date: Option<String>,
    /// Where the assets are downloaded from: <URL>/<tag>/<asset>
    #[arg(long, value_name = "URL", default_value = DEFAULT_RELEASE_BASE_URL)]
    pub base_url: String,
    /// Minisign secret key file; signs manifest.json and SHA256SUMS (or set NIXOS_IMAGES_MINISIGN_KEY to the
    /// key's text; an encrypted key's password comes from NIXOS_IMAGES_MINISIGN_PASSWORD)
    #[arg(long, value_name = "FILE")]
    pub sign_key: Option<PathBuf>,
}

/// One asset to publish: where its bytes come from (or its text), its kind and arch.
enum Source {
    File(PathBuf),
    Text(String),
}

struct Planned {
    kind: AssetKind,
    arch: Arch,
    source: Source,
    netboot: Option<NetbootBoot>,
}

pub fn run(args: &ReleaseArgs) -> Result<()> {
    let tag = args.tag.clone().unwrap_or_else(|| args.channel.clone());
    let date = match &args.date {
        Some(d) => d.clone(),
        None => today_utc()?,
    };
    let mut manifest = Manifest {
        schema: MANIFEST_SCHEMA.into(),
        tag,
        channel: args.channel.clone(),
        date,
        nixpkgs_revision: args.nixpkgs_revision.clone(),
        base_url: args.base_url.trim_end_matches('/').to_string(),
        assets: Vec::new(),
    };
    // The flags' values, checked before anything is read or written.
    manifest.check().map_err(|errs| UsageError(errs.0.iter().map(flag_names).collect()))?;
    let key = signing_key(args)?;

    let mut planned = Vec::new();
    for input in &args.inputs {
        planned.extend(plan(input, &manifest)?);
    }
    planned.sort_by_key(|p| (p.arch.as_str(), p.kind));
    for (i, p) in planned.iter().enumerate() {
        if planned[..i].iter().any(|q| q.kind == p.kind && q.arch == p.arch) {
            return Err(UsageError(vec![format!(
                "OUTPUT: two inputs give {}; pass each image once",
                p.kind.file_name(p.arch)
            )])
            .into());
        }
    }

    prepare_dir(&args.output)?;
    for p in planned {
        let name = p.kind.file_name(p.arch);
        let dest = args.output.join(&name);
        let (size, sha256) = match &p.source {
            Source::File(path) => copy_hashed(path, &dest)?,
            Source::Text(text) => {
                crate::atomic_file::write_atomic(&dest, text.as_bytes(), 0o644)?;
                (text.len() as u64, hex(&Sha256::digest(text.as_bytes())))
            }
        };
        manifest.assets.push(Asset {
            name,
            kind: p.kind,
            arch: p.arch.as_str().into(),
            size,
            sha256,
            netboot: p.netboot,
        });
    }
    manifest.check().map_err(|errs| {
        anyhow!(
            "the manifest does not check: {}",
            errs.0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
        )
    })?;

    let json = manifest.to_json();
    crate::atomic_file::write_atomic(&args.output.join("manifest.json"), json.as_bytes(), 0o644)?;
    let mut sums: Vec<(String, String)> = manifest.assets.iter().map(|a| (a.name.clone(), a.sha256.clone())).collect();
    sums.push(("manifest.json".into(), hex(&Sha256::digest(json.as_bytes()))));
    sums.sort();
    let sums: String = sums.iter().map(|(name, sha)| format!("{sha}  {name}\n")).collect();
    crate::atomic_file::write_atomic(&args.output.join("SHA256SUMS"), sums.as_bytes(), 0o644)?;

    let mut written = vec!["manifest.json", "SHA256SUMS"];
    if let Some(key) = key {
        for (name, data) in [("manifest.json", json.as_bytes()), ("SHA256SUMS", sums.as_bytes())] {
            let comment = format!("nixos-images {} {} {name}", manifest.tag, manifest.date);
            let sig = minisign::sign(None, &key, data, Some(&comment), Some("signature from nixos-images-gen release"))
                .map_err(|e| anyhow!("signing {name}: {e}"))?;
            crate::atomic_file::write_atomic(
                &args.output.join(format!("{name}.minisig")),
                sig.to_string().as_bytes(),
                0o644,
            )?;
        }
        written.extend(["manifest.json.minisig", "SHA256SUMS.minisig"]);
    }
    for a in &manifest.assets {
        println!("{}  {:>12}  {}", a.sha256, a.size, a.name);
    }
    eprintln!("wrote {} assets and {} to {}", manifest.assets.len(), written.join(", "), args.output.display());
    Ok(())
}

/// `tag: ...` from the manifest's check, spelled as the flag that set it.
fn flag_names(e: &FieldError) -> String {
    let flag = match e.path.segments() {
        [Segment::Key(field)] => match field.as_ref() {
            "tag" => Some("--tag"),
            "channel" => Some("--channel"),
            "date" => Some("--date"),
            "nixpkgs_revision" => Some("--nixpkgs-revision"),
            "base_url" => Some("--base-url"),
            _ => None,
        },
        _ => None,
    };
    match flag {
        Some(flag) => format!("{flag}: {}", e.message),
        None => e.to_string(),
    }
}

/// The assets one build output gives.
fn plan(input: &Path, manifest: &Manifest) -> Result<Vec<Planned>> {
    let meta = std::fs::metadata(input).map_err(|e| UsageError(vec![format!("OUTPUT: {}: {e}", input.display())]))?;
    if meta.is_file() {
        return Ok(vec![kexec_tarball(input)?]);
    }
    let mut tarballs: Vec<PathBuf> = std::fs::read_dir(input)
        .with_context(|| format!("reading {}", input.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().ends_with(".tar.gz")))
        .collect();
    tarballs.sort();
    if !tarballs.is_empty() {
        return tarballs.iter().map(|t| kexec_tarball(t)).collect();
    }
    for arch in [Arch::X86_64Linux, Arch::Aarch64Linux] {
        let kernel = input.join(release::kernel_file(arch));
        if kernel.exists() {
            return netboot(input, arch, kernel, manifest);
        }
    }
    Err(UsageError(vec![format!(
        "OUTPUT: {} is neither a kexec installer output (nixos-kexec-installer-*.tar.gz) nor a netboot output \
         (bzImage or Image, initrd, netboot.ipxe)",
        input.display()
    )])
    .into())
}

fn kexec_tarball(path: &Path) -> Result<Planned> {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    for arch in [Arch::X86_64Linux, Arch::Aarch64Linux] {
        for kind in [AssetKind::Kexec, AssetKind::KexecNoninteractive] {
            if name == kind.file_name(arch) {
                return Ok(Planned { kind, arch, source: Source::File(path.to_path_buf()), netboot: None });
            }
        }
    }
    Err(UsageError(vec![format!(
        "OUTPUT: {} is not named like a kexec installer (nixos-kexec-installer[-noninteractive]-SYSTEM.tar.gz)",
        path.display()
    )])
    .into())
}

fn netboot(dir: &Path, arch: Arch, kernel: PathBuf, manifest: &Manifest) -> Result<Vec<Planned>> {
    let initrd = dir.join(release::INITRD_FILE);
    let script_path = dir.join(release::NETBOOT_IPXE_FILE);
    for f in [&initrd, &script_path] {
        if !f.exists() {
            return Err(UsageError(vec![format!("OUTPUT: {} is missing in a netboot output", f.display())]).into());
        }
    }
    let script = std::fs::read_to_string(&script_path).with_context(|| format!("reading {}", script_path.display()))?;
    let boot = ReleaseBoot::from_netboot_ipxe(&script).ok_or_else(|| {
        UsageError(vec![format!(
            "OUTPUT: {} has no `kernel ... init=/nix/store/...` line as nixos-images-gen renders it",
            script_path.display()
        )])
    })?;
    let url = |kind: AssetKind| manifest.url(&kind.file_name(arch));
    let text = release::netboot_ipxe(arch, &boot, &url(AssetKind::NetbootKernel), &url(AssetKind::NetbootInitrd));
    let info = NetbootBoot { init: boot.init().to_string(), kernel_params: boot.kernel_params().to_vec() };
    Ok(vec![
        Planned { kind: AssetKind::NetbootKernel, arch, source: Source::File(kernel), netboot: None },
        Planned { kind: AssetKind::NetbootInitrd, arch, source: Source::File(initrd), netboot: None },
        Planned { kind: AssetKind::NetbootIpxe, arch, source: Source::Text(text), netboot: Some(info) },
    ])
}

/// The output directory, created; an existing one must be empty (no stale asset is published).
fn prepare_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    if std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))?.next().is_some() {
        return Err(UsageError(vec![format!("--output: {} is not empty", dir.display())]).into());
    }
    Ok(())
}

/// Copies a file (symbolic links followed, as Nix results are) while hashing it: (size, sha256).
fn copy_hashed(from: &Path, to: &Path) -> Result<(u64, String)> {
    let mut input = File::open(from).with_context(|| format!("reading {}", from.display()))?;
    let mut out = AtomicFile::create(to)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = input.read(&mut buf).with_context(|| format!("reading {}", from.display()))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n]).with_context(|| format!("writing {}", to.display()))?;
        size += n as u64;
    }
    out.commit(0o644)?;
    Ok((size, hex(&hasher.finalize())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn signing_key(args: &ReleaseArgs) -> Result<Option<minisign::SecretKey>> {
    let text = match &args.sign_key {
        Some(path) => std::fs::read_to_string(path)
            .map_err(|e| UsageError(vec![format!("--sign-key: reading {}: {e}", path.display())]))?,
        None => match std::env::var(KEY_ENV) {
            Ok(k) if !k.trim().is_empty() => k,
            _ => return Ok(None),
        },
    };
    let sk_box = minisign::SecretKeyBox::from_string(&text)
        .map_err(|e| UsageError(vec![format!("--sign-key: not a minisign secret key: {e}")]))?;
    let key = match std::env::var(PASSWORD_ENV) {
        Ok(pw) => sk_box.into_secret_key(Some(pw)),
        Err(_) => sk_box.into_unencrypted_secret_key(),
    }
    .map_err(|e| UsageError(vec![format!("--sign-key: {e} (an encrypted key's password goes in {PASSWORD_ENV})")]))?;
    if key.is_encrypted() {
        bail!("--sign-key: the key is encrypted; put its password in {PASSWORD_ENV}");
    }
    Ok(Some(key))
}

/// Today's date in UTC, YYYY-MM-DD (days since the epoch to the civil date, proleptic Gregorian).
fn today_utc() -> Result<String> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_err(|_| anyhow!("the clock is before 1970; pass --date"))?
        .as_secs();
    Ok(civil_date((secs / 86_400) as i64))
}

fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(11_016), "2000-02-29");
        assert_eq!(civil_date(20_783), "2026-11-26");
    }
}
