//! `build`: builds an image with Nix, with the request's NixOS override (`render nix-module`) built in.
//!
//! It writes a temporary flake that takes this project's flake (or `--flake REF`) as its one input and asks its
//! `lib.image { system; name; modules = [ ./nixos-images-override.nix ]; }` for the request's image, runs
//! `nix build` on it with nix's own progress and build logs on stderr, and links (or with `--copy` copies) the
//! result to `-o`. Failures are explained: no `nix` on PATH, flakes unknown to an old Nix, an image for another
//! system without a builder for it (`--builders`), an image the flake does not have.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{anyhow, bail, Context, Result};
use nixos_images_core::render::build_flake;
use nixos_images_core::render::nix as nix_module;
use nixos_images_core::{Arch, Channel, ImageKind, ValidRequest};

use crate::errors::UsageError;
use crate::request_args::RequestArgs;

/// The project's flake, used when `--flake` is not given.
pub const DEFAULT_FLAKE: &str = "github:nix-community/nixos-images";

#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Where the result goes: a symbolic link to the Nix store path (a GC root), or a copy with --copy
    #[arg(long, short = 'o', value_name = "PATH", default_value = "result")]
    pub output: PathBuf,
    /// The nixos-images flake: a flake reference (github:you/nixos-images/branch) or a local directory
    #[arg(long, value_name = "REF", default_value = DEFAULT_FLAKE)]
    pub flake: String,
    /// Build this package of the flake instead of the one the request's image and channel name
    #[arg(long, value_name = "NAME", value_parser = parse_image_attr)]
    pub image_attr: Option<String>,
    /// Copy the result out of the Nix store instead of linking to it
    #[arg(long)]
    pub copy: bool,
    /// Remote builders for nix (its --builders), e.g. 'ssh://builder aarch64-linux'
    #[arg(long, value_name = "SPEC")]
    pub builders: Option<String>,
    /// Print the temporary flake and the nix command instead of running it
    #[arg(long)]
    pub dry_run: bool,
    /// More arguments for `nix build` (after `--`), e.g. -- --store /tmp/store --max-jobs 4
    #[arg(last = true, value_name = "NIX_ARGS", allow_hyphen_values = true)]
    pub nix_args: Vec<String>,
    #[command(flatten)]
    pub request: RequestArgs,
}

/// The flake package that builds an image kind for a channel: `kexec-installer-nixos-unstable`,
/// `kexec-installer-nixos-stable-noninteractive`, `netboot-nixos-unstable`, ...
pub fn image_attr(image: ImageKind, channel: Channel) -> Result<String, String> {
    let ch = match channel {
        Channel::Unstable => "nixos-unstable".to_string(),
        c if c == Channel::CURRENT_STABLE => "nixos-stable".to_string(),
        c => {
            return Err(format!(
                "channel: the flake builds nixos-unstable and {} (its stable input), not {c}; use \
                 --flake with a fork whose nixos-stable input is {c} and --image-attr NAME",
                Channel::CURRENT_STABLE
            ))
        }
    };
    Ok(match image {
        ImageKind::Kexec => format!("kexec-installer-{ch}"),
        ImageKind::KexecNoninteractive => format!("kexec-installer-{ch}-noninteractive"),
        ImageKind::Netboot => format!("netboot-{ch}"),
    })
}

/// `--flake`: a local directory becomes `git+file://` (a git checkout: only tracked files, not `target/`) or
/// `path:`; anything else is a flake reference as given.
pub fn flake_ref(flake: &str) -> Result<String> {
    let path = Path::new(flake);
    if flake.starts_with('.') || flake.starts_with('/') || (!flake.contains(':') && path.is_dir()) {
        let abs = path.canonicalize().with_context(|| format!("--flake: {flake} is not a directory"))?;
        let abs = abs.to_str().ok_or_else(|| anyhow!("--flake: {flake} is not a UTF-8 path"))?;
        return Ok(if Path::new(abs).join(".git").exists() {
            format!("git+file://{abs}")
        } else {
            format!("path:{abs}")
        });
    }
    Ok(flake.to_string())
}

/// A package name of the flake: a Nix attribute name (`[A-Za-z0-9_][A-Za-z0-9_.'-]*`), so it is safe in the
/// temporary flake and in messages.
fn parse_image_attr(s: &str) -> Result<String, String> {
    let first_ok = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    let rest_ok = s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '\'' | '.'));
    if !first_ok || !rest_ok || s.len() > 200 {
        return Err(
            "a package name has letters, digits, `_`, `-`, `'` and `.`, starting with a letter, digit or `_`".into()
        );
    }
    Ok(s.to_string())
}

/// The `nix build` arguments (after `nix`).
pub fn nix_build_args(dir: &Path, system: &str, out_link: &Path, args: &BuildArgs) -> Vec<String> {
    let mut v: Vec<String> = vec![
        "--extra-experimental-features".into(),
        "nix-command flakes".into(),
        "build".into(),
        format!("path:{}#packages.{system}.default", dir.display()),
        "--print-build-logs".into(),
        "--out-link".into(),
        out_link.display().to_string(),
    ];
    if let Some(b) = &args.builders {
        v.push("--builders".into());
        v.push(b.clone());
    }
    v.extend(args.nix_args.iter().cloned());
    v
}

/// What went wrong, from the end of nix's stderr: one explanation for the failures people meet.
pub fn explain(stderr: &str, system: &str) -> String {
    let host = host_system();
    if stderr.contains("experimental Nix feature")
        || stderr.contains("unrecognised flag '--extra-experimental-features'")
    {
        return "this nix does not have flakes (Nix 2.4 or later with the `nix-command flakes` experimental features is \
                needed); add `experimental-features = nix-command flakes` to nix.conf or upgrade Nix"
            .into();
    }
    if stderr.contains("is required to build") && stderr.contains("but I am a") {
        return format!(
            "the image is for {system} and this machine builds {}: pass --builders 'ssh://HOST {system}' (a remote \
             builder of that system), or let this machine emulate it (NixOS: boot.binfmt.emulatedSystems = \
             [ \"{system}\" ], which also sets extra-platforms)",
            host.as_deref().unwrap_or("another system")
        );
    }
    if stderr.contains("does not provide attribute") || stderr.contains("lib.image") && stderr.contains("attribute") {
        return "the flake has no such image (or no lib.image): check --flake and --image-attr".into();
    }
    if stderr.contains("Cannot build") || stderr.contains("builder for") || stderr.contains("build of") {
        return "a derivation failed to build; its log is above (nix log DRV shows it again)".into();
    }
    "nix build failed; its messages are above".into()
}

/// This machine's Nix system name, when it is one of ours.
pub fn host_system() -> Option<String> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => Arch::X86_64Linux,
        "aarch64" => Arch::Aarch64Linux,
        _ => return None,
    };
    (std::env::consts::OS == "linux").then(|| arch.as_str().to_string())
}

pub fn run(args: &BuildArgs) -> Result<()> {
    // The image is this project's, whatever the request's release names.
    let req = args.request.to_valid_request_for(nixos_images_core::Installer::NixosImages)?;
    let system = req.arch().as_str();
    let attr = match &args.image_attr {
        Some(a) => a.clone(),
        None => image_attr(req.image(), req.channel()).map_err(|e| UsageError(vec![e]))?,
    };
    let flake = flake_ref(&args.flake).map_err(|e| UsageError(vec![format!("{e:#}")]))?;
    // nix replaces an old result link itself; a copy never lands in (or over) something that is already there.
    if args.copy && !args.dry_run && std::fs::symlink_metadata(&args.output).is_ok() {
        return Err(UsageError(vec![format!("--output: {} already exists", args.output.display())]).into());
    }
    let dir =
        tempfile::Builder::new().prefix("nixos-images-build.").tempdir().context("creating a temporary directory")?;
    write_flake(dir.path(), &req, &flake, system, &attr)?;
    let out_link = if args.copy { dir.path().join("result") } else { absolute(&args.output)? };
    let nix_args = nix_build_args(dir.path(), system, &out_link, args);

    if args.dry_run {
        let mut stdout = std::io::stdout().lock();
        for name in ["flake.nix", build_flake::OVERRIDE_FILE] {
            let text = std::fs::read_to_string(dir.path().join(name)).context("reading the temporary flake")?;
            writeln!(stdout, "# {}\n{text}", dir.path().join(name).display())?;
        }
        let words: Vec<String> =
            std::iter::once("nix".to_string()).chain(nix_args.iter().map(|a| shell_word(a))).collect();
        writeln!(stdout, "# command (the temporary directory is removed after a real run)\n{}", words.join(" "))?;
        return Ok(());
    }

    if host_system().as_deref() != Some(system) && args.builders.is_none() {
        eprintln!(
            "note: building a {system} image on {}: this needs a remote builder (--builders) or emulation \
             (extra-platforms)",
            host_system().as_deref().unwrap_or("another system")
        );
    }
    eprintln!("building {attr} for {system} from {flake}");
    let tail = run_nix(&nix_args)?;
    if let Some((code, tail)) = tail {
        bail!("nix build exited with {code}: {}", explain(&tail, system));
    }
    if args.copy {
        let target = std::fs::canonicalize(&out_link).context("reading the build result")?;
        copy_tree(&target, &args.output)?;
        eprintln!("copied {} to {}", target.display(), args.output.display());
    } else {
        let target = std::fs::read_link(&out_link).unwrap_or_else(|_| out_link.clone());
        eprintln!("{} -> {}", args.output.display(), target.display());
    }
    Ok(())
}

fn write_flake(dir: &Path, req: &ValidRequest, flake: &str, system: &str, attr: &str) -> Result<()> {
    std::fs::write(dir.join("flake.nix"), build_flake::flake_nix(flake, system, attr))
        .context("writing the temporary flake")?;
    let module = nix_module::render(req);
    let text = &module.files[0].contents;
    std::fs::write(dir.join(build_flake::OVERRIDE_FILE), text).context("writing the temporary flake")?;
    Ok(())
}

fn absolute(p: &Path) -> Result<PathBuf> {
    if p.is_absolute() {
        return Ok(p.to_path_buf());
    }
    Ok(std::env::current_dir().context("reading the current directory")?.join(p))
}

/// Runs nix, streaming its stderr through and keeping its end. `None` on success, else the exit status and
/// the last 64 KiB of stderr.
fn run_nix(args: &[String]) -> Result<Option<(String, String)>> {
    let mut child = match Command::new("nix").args(args).stdin(Stdio::null()).stderr(Stdio::piped()).spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "nix was not found on PATH: install Nix 2.4 or later (with flakes) to build images, or see the command \
             with --dry-run"
        ),
        Err(e) => return Err(e).context("starting nix"),
    };
    let mut pipe = child.stderr.take().expect("piped stderr");
    let mut tail: Vec<u8> = Vec::new();
    let mut buf = [0u8; 8192];
    let mut err = std::io::stderr();
    loop {
        let n = match pipe.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e).context("reading nix's output"),
        };
        let _ = err.write_all(&buf[..n]);
        tail.extend_from_slice(&buf[..n]);
        if tail.len() > 128 * 1024 {
            tail.drain(..tail.len() - 64 * 1024);
        }
    }
    let status = child.wait().context("waiting for nix")?;
    if status.success() {
        Ok(None)
    } else {
        let code = status.code().map_or_else(|| status.to_string(), |c| format!("code {c}"));
        Ok(Some((code, String::from_utf8_lossy(&tail).into_owned())))
    }
}

/// Copies a store path (file or directory, symbolic links followed) to `to`, writable by its owner.
fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(from).with_context(|| format!("reading {}", from.display()))?;
    if meta.is_dir() {
        std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
        for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
            let entry = entry?;
            copy_tree(&entry.path(), &to.join(entry.file_name()))?;
        }
    } else {
        std::fs::copy(from, to).with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
        let mode = meta.permissions().mode() & 0o777 | 0o200;
        std::fs::set_permissions(to, std::fs::Permissions::from_mode(mode))?;
    }
    Ok(())
}

/// A word for the printed command: single-quoted when it holds anything a shell would read.
fn shell_word(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=#+,@".contains(&b)) {
        s.to_string()
    } else {
        nixos_images_core::escape::ShellWord(s).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_attr_names_are_nix_attribute_names() {
        for good in ["netboot-nixos-stable", "my_image.v2", "kexec'"] {
            assert_eq!(parse_image_attr(good).as_deref(), Ok(good));
        }
        for bad in ["", "-x", "a b", "x\n}; y = 1;", "a\"b", "${x}"] {
            assert!(parse_image_attr(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn image_attrs() {
        let stable = Channel::CURRENT_STABLE;
        assert_eq!(image_attr(ImageKind::Kexec, Channel::Unstable).unwrap(), "kexec-installer-nixos-unstable");
        assert_eq!(
            image_attr(ImageKind::KexecNoninteractive, stable).unwrap(),
            "kexec-installer-nixos-stable-noninteractive"
        );
        assert_eq!(image_attr(ImageKind::Netboot, stable).unwrap(), "netboot-nixos-stable");
        for old in [Channel::Release { year: 24, month: 5 }, Channel::Release { year: 26, month: 5 }] {
            assert!(image_attr(ImageKind::Netboot, old).unwrap_err().contains("--image-attr"));
        }
    }

    #[test]
    fn explanations() {
        let wrong = "error: a 'aarch64-linux' with features {} is required to build '/nix/store/x.drv', but I am a \
                     'x86_64-linux' with features {}";
        assert!(explain(wrong, "aarch64-linux").contains("--builders 'ssh://HOST aarch64-linux'"));
        assert!(explain("error: experimental Nix feature 'flakes' is disabled", "x86_64-linux").contains("flakes"));
        assert!(explain("error: builder for '/nix/store/x.drv' failed with exit code 1", "x").contains("log"));
    }
}
