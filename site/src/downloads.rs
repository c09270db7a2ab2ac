//! The downloads page, from the release manifests: every channel x arch x image kind, present or missing.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use nixos_images_core::escape::ShellWord;
use nixos_images_core::manifest::{AssetKind, Manifest};
use nixos_images_core::{Arch, Channel};
use serde::Serialize;

/// One release manifest and the file it came from.
#[derive(Debug, Clone)]
pub struct Release {
    pub file: PathBuf,
    pub manifest: Manifest,
}

/// Every `*.json` below the directories (recursively, sorted), parsed with `Manifest::parse`; errors name the
/// file and field. Two manifests of one channel are an error.
pub fn load_dirs(dirs: &[PathBuf]) -> Result<Vec<Release>> {
    let mut files = Vec::new();
    for dir in dirs {
        let mut found = Vec::new();
        collect(dir, &mut found).with_context(|| format!("--manifests {}", dir.display()))?;
        found.sort();
        files.extend(found);
    }
    let mut releases = Vec::new();
    let mut problems = Vec::new();
    for file in files {
        let text = fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
        match Manifest::parse(&text) {
            Ok(manifest) => releases.push(Release { file, manifest }),
            Err(errs) => problems.extend(errs.0.iter().map(|e| format!("{}: {e}", file.display()))),
        }
    }
    for (i, a) in releases.iter().enumerate() {
        if let Some(b) = releases[..i].iter().find(|b| b.manifest.channel == a.manifest.channel) {
            problems.push(format!(
                "{}: channel: {} is also the channel of {}",
                a.file.display(),
                a.manifest.channel,
                b.file.display()
            ));
        }
    }
    if !problems.is_empty() {
        bail!("invalid release manifests:\n  {}", problems.join("\n  "));
    }
    Ok(releases)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for e in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let e = e?;
        let path = e.path();
        if e.file_type()?.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|x| x == "json") {
            out.push(path);
        }
    }
    Ok(())
}

#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub channels: Vec<ChannelView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChannelView {
    pub channel: String,
    pub id: String,
    /// None: no manifest for this channel.
    pub release: Option<ReleaseInfo>,
    pub arches: Vec<ArchView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReleaseInfo {
    pub tag: String,
    pub date: String,
    pub nixpkgs_revision: String,
    pub nixpkgs_short: String,
    pub nixpkgs_url: String,
    /// The release's `SHA256SUMS` and `manifest.json`.
    pub sums_url: String,
    pub manifest_url: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArchView {
    pub arch: String,
    pub id: String,
    /// No asset at all for this arch.
    pub missing: bool,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub id: String,
    pub kind: String,
    pub label: String,
    pub asset: Option<AssetView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AssetView {
    pub name: String,
    pub url: String,
    pub size: u64,
    pub size_human: String,
    pub sha256: String,
    /// Download and `sha256sum -c`.
    pub verify: String,
    /// `chain <url>` for the iPXE script.
    pub chain: Option<String>,
}

pub fn kind_label(kind: AssetKind) -> &'static str {
    match kind {
        AssetKind::Kexec => "kexec installer tarball",
        AssetKind::KexecNoninteractive => "kexec installer tarball (non-interactive)",
        AssetKind::NetbootKernel => "netboot kernel",
        AssetKind::NetbootInitrd => "netboot initrd",
        AssetKind::NetbootIpxe => "netboot iPXE script",
    }
}

pub fn kind_id(kind: AssetKind) -> &'static str {
    match kind {
        AssetKind::Kexec => "kexec",
        AssetKind::KexecNoninteractive => "kexec-noninteractive",
        AssetKind::NetbootKernel => "netboot-kernel",
        AssetKind::NetbootInitrd => "netboot-initrd",
        AssetKind::NetbootIpxe => "netboot-ipxe",
    }
}

/// `1.2 MiB`-style sizes (binary units, one decimal).
pub fn human_size(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

/// The verified download: fetch, then check the SHA-256 (the command fails, and says so, on a mismatch).
pub fn verify_command(url: &str, name: &str, sha256: &str) -> String {
    format!(
        "curl -fL --proto '=https' -o {name} {url} && echo '{sha256}  {name}' | sha256sum -c -",
        name = ShellWord(name),
        url = ShellWord(url)
    )
}

/// Sort key: `nixos-unstable` first, then releases newest first (`nixos-25.11` before `nixos-25.05`).
fn channel_order(c: &str) -> (u8, i64, String) {
    if c == "nixos-unstable" {
        return (0, 0, String::new());
    }
    let version = c.strip_prefix("nixos-").and_then(|v| v.split_once('.'));
    match version.and_then(|(y, m)| Some(y.parse::<i64>().ok()? * 100 + m.parse::<i64>().ok()?)) {
        Some(n) => (1, -n, String::new()),
        None => (2, 0, c.to_string()),
    }
}

/// The page's data: channels (nixos-unstable and the current stable always, the expected ones and those with a
/// manifest; unstable first, then newest stable), each with every arch and every image kind.
pub fn view(releases: &[Release], expect_channels: &[String]) -> View {
    let mut channels: Vec<String> = expect_channels.to_vec();
    for always in [Channel::Unstable, Channel::CURRENT_STABLE] {
        if !channels.contains(&always.to_string()) {
            channels.push(always.to_string());
        }
    }
    for r in releases {
        if !channels.contains(&r.manifest.channel) {
            channels.push(r.manifest.channel.clone());
        }
    }
    channels.sort_by_key(|c| channel_order(c));
    let channels = channels
        .into_iter()
        .map(|channel| {
            let m = releases.iter().map(|r| &r.manifest).find(|m| m.channel == channel);
            let arches = Arch::ALL
                .into_iter()
                .map(|arch| {
                    let rows: Vec<Row> = AssetKind::ALL
                        .into_iter()
                        .map(|kind| Row {
                            id: format!("{channel}-{}-{}", arch.as_str(), kind_id(kind)),
                            kind: kind_id(kind).into(),
                            label: kind_label(kind).into(),
                            asset: m.and_then(|m| m.asset(kind, arch).map(|a| (m, a))).map(|(m, a)| {
                                let url = m.url(&a.name);
                                AssetView {
                                    verify: verify_command(&url, &a.name, &a.sha256),
                                    chain: (kind == AssetKind::NetbootIpxe).then(|| format!("chain --autofree {url}")),
                                    name: a.name.clone(),
                                    size: a.size,
                                    size_human: human_size(a.size),
                                    sha256: a.sha256.clone(),
                                    url,
                                }
                            }),
                        })
                        .collect();
                    ArchView {
                        arch: arch.as_str().into(),
                        id: format!("{channel}-{}", arch.as_str()),
                        missing: rows.iter().all(|r| r.asset.is_none()),
                        rows,
                    }
                })
                .collect();
            ChannelView {
                id: channel.clone(),
                release: m.map(|m| ReleaseInfo {
                    tag: m.tag.clone(),
                    date: m.date.clone(),
                    nixpkgs_short: m.nixpkgs_revision[..12].to_string(),
                    nixpkgs_url: format!("https://github.com/NixOS/nixpkgs/commit/{}", m.nixpkgs_revision),
                    nixpkgs_revision: m.nixpkgs_revision.clone(),
                    sums_url: format!("{}/{}/SHA256SUMS", m.base_url.trim_end_matches('/'), m.tag),
                    manifest_url: format!("{}/{}/manifest.json", m.base_url.trim_end_matches('/'), m.tag),
                }),
                channel,
                arches,
            }
        })
        .collect();
    View { channels }
}

/// The install example of the kexec page: the newest release of nixos-unstable (else the newest stable) for
/// x86_64, non-interactive tarball, downloaded into /root, verified, unpacked and run.
#[derive(Debug, Clone, Serialize)]
pub struct InstallExample {
    pub channel: String,
    pub arch: String,
    pub date: String,
    pub name: String,
    pub sha256: String,
    pub command: String,
}

pub fn install_example(releases: &[Release]) -> Option<InstallExample> {
    let mut ms: Vec<&Manifest> = releases.iter().map(|r| &r.manifest).collect();
    ms.sort_by_key(|m| channel_order(&m.channel));
    ms.into_iter().find_map(|m| {
        let a = m.asset(AssetKind::KexecNoninteractive, Arch::X86_64Linux)?;
        let name = ShellWord(&a.name).to_string();
        Some(InstallExample {
            channel: m.channel.clone(),
            arch: a.arch.clone(),
            date: m.date.clone(),
            command: format!(
                "cd /root && {} && tar -C /root -xzf {name} && /root/kexec/run",
                verify_command(&m.url(&a.name), &a.name, &a.sha256)
            ),
            name: a.name.clone(),
            sha256: a.sha256.clone(),
        })
    })
}
