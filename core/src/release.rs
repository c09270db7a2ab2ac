//! What a release knows about itself when it is built: how its kernel boots (the NixOS `init` path and the
//! kernel parameters), and the scripts that carry it: the image's own `kexec/run` (rendered with the init path
//! built in, see [`crate::render::kexec_run::script_with_release`]) and the release's `netboot.ipxe`.
//!
//! The Nix modules (`nix/`) call the CLI with these values at build time; `nixos-images-gen release` reads them
//! back from the build outputs for the manifest and the release's `netboot-<arch>.ipxe`.

use crate::model::Arch;

/// The kernel's file name in a Nix build output (NixOS's `system.boot.loader.kernelFile`).
pub fn kernel_file(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64Linux => "bzImage",
        Arch::Aarch64Linux => "Image",
    }
}

/// The initrd's file name in a Nix build output (kexec tarball and netboot).
pub const INITRD_FILE: &str = "initrd";
/// The netboot script's file name in a Nix build output.
pub const NETBOOT_IPXE_FILE: &str = "netboot.ipxe";

/// How the release's kernel boots: `init=<init> <kernel_params...>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseBoot {
    init: String,
    kernel_params: Vec<String>,
}

impl ReleaseBoot {
    /// Checks the values so they can be written between double quotes in a shell script (`init="..."`,
    /// `kernelParams="..."`, exactly the lines a customized run script reads with `sed`) and on an iPXE
    /// `kernel` line: the init path is a `/nix/store/` path of plain characters; a parameter has no blank,
    /// quote, `$`, backquote or backslash.
    pub fn new(init: &str, kernel_params: &[String]) -> Result<ReleaseBoot, Vec<String>> {
        let mut errs = Vec::new();
        let plain = |c: char| c.is_ascii_alphanumeric() || "+-._/?=".contains(c);
        if !init.starts_with("/nix/store/") || init.len() <= "/nix/store/".len() || !init.chars().all(plain) {
            errs.push(format!(
                "release init: `{}` is not a /nix/store path of [A-Za-z0-9+-._/?=]",
                init.escape_debug()
            ));
        }
        for (i, p) in kernel_params.iter().enumerate() {
            if p.is_empty() {
                errs.push(format!("release kernel parameter {i}: empty"));
            } else if let Some(c) =
                p.chars().find(|c| !c.is_ascii_graphic() || matches!(c, '"' | '\'' | '$' | '`' | '\\'))
            {
                errs.push(format!(
                    "release kernel parameter {i}: `{}` contains {:?}; parameters are printable ASCII without \
                     blanks, quotes, `$`, backquotes or backslashes",
                    p.escape_debug(),
                    c
                ));
            }
        }
        if errs.is_empty() {
            Ok(ReleaseBoot { init: init.to_string(), kernel_params: kernel_params.to_vec() })
        } else {
            Err(errs)
        }
    }

    /// The `/nix/store/...` init path.
    pub fn init(&self) -> &str {
        &self.init
    }

    pub fn kernel_params(&self) -> &[String] {
        &self.kernel_params
    }

    /// The parameters as one line, blank-separated (the run script's `kernelParams="..."`).
    pub fn kernel_params_line(&self) -> String {
        self.kernel_params.join(" ")
    }

    /// Reads the values back from a run script rendered with them (or a seed release's `kexec/run`): the first
    /// `init="..."` and `kernelParams="..."` lines, read as the run script's `sed` reads them.
    pub fn from_run_script(script: &str) -> Option<ReleaseBoot> {
        let init = crate::kexec_tarball::release_init(script.as_bytes())?;
        let params = script
            .lines()
            .find_map(|l| l.strip_prefix("kernelParams=\"")?.strip_suffix('"').filter(|v| !v.contains('"')))
            .unwrap_or("");
        let params: Vec<String> = params.split_whitespace().map(str::to_string).collect();
        ReleaseBoot::new(init, &params).ok()
    }

    /// Reads the values back from a release `netboot.ipxe` rendered by [`netboot_ipxe`].
    pub fn from_netboot_ipxe(script: &str) -> Option<ReleaseBoot> {
        let kernel = script.lines().find(|l| l.starts_with("kernel "))?;
        let mut words = kernel.split(' ').skip(2);
        let init = words.next()?.strip_prefix("init=")?;
        let params: Vec<String> =
            words.filter(|w| !w.starts_with("initrd=") && *w != "${cmdline}").map(str::to_string).collect();
        ReleaseBoot::new(init, &params).ok()
    }
}

/// The release's netboot script: loads the kernel and initrd (URLs or names relative to the script), boots them
/// with `init=`, `initrd=<initrd's name>` (UEFI loads only named initrds), the release's parameters, and the
/// `${cmdline}` a chaining script set (ours sets it; empty otherwise).
pub fn netboot_ipxe(arch: Arch, boot: &ReleaseBoot, kernel_url: &str, initrd_url: &str) -> String {
    let initrd_name = initrd_url.rsplit('/').next().unwrap_or(initrd_url);
    let mut kernel_line = format!("kernel {kernel_url} init={} initrd={initrd_name}", boot.init);
    for p in &boot.kernel_params {
        kernel_line.push(' ');
        kernel_line.push_str(p);
    }
    format!(
        "#!ipxe\n\
         # nixos-images netboot installer for {arch}. Chain it; a ${{cmdline}} set before is appended to the\n\
         # kernel command line (nixos-images-gen render ipxe sets it).\n\
         {kernel_line} ${{cmdline}}\n\
         initrd {initrd_url}\n\
         boot\n",
        arch = arch.as_str()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const INIT: &str = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-nixos-installer-25.11/init";

    fn boot() -> ReleaseBoot {
        ReleaseBoot::new(INIT, &["console=ttyS0,115200".into(), "loglevel=4".into()]).unwrap()
    }

    #[test]
    fn refuses_what_a_double_quoted_shell_word_or_ipxe_would_change() {
        for init in ["/tmp/init", "/nix/store/", "/nix/store/a b/init", "/nix/store/a\"/init", "/nix/store/$x/init"] {
            assert!(ReleaseBoot::new(init, &[]).is_err(), "{init}");
        }
        for p in ["", "a b", "a\"b", "$x", "`x`", "a\\b", "é"] {
            let errs = ReleaseBoot::new(INIT, &["ok".into(), p.into()]).unwrap_err();
            assert!(errs[0].starts_with("release kernel parameter 1:"), "{errs:?}");
        }
    }

    #[test]
    fn netboot_script_round_trips_and_appends_cmdline() {
        let text = netboot_ipxe(Arch::X86_64Linux, &boot(), "bzImage", "initrd");
        assert!(text.contains(&format!(
            "kernel bzImage init={INIT} initrd=initrd console=ttyS0,115200 loglevel=4 ${{cmdline}}\n"
        )));
        assert!(text.ends_with("initrd initrd\nboot\n"));
        assert_eq!(ReleaseBoot::from_netboot_ipxe(&text), Some(boot()));
        let url = "https://example.org/r/nixos-unstable/initrd-aarch64-linux";
        let text =
            netboot_ipxe(Arch::Aarch64Linux, &boot(), "https://example.org/r/nixos-unstable/Image-aarch64-linux", url);
        assert!(text.contains(" initrd=initrd-aarch64-linux console="));
        assert!(text.contains(&format!("\ninitrd {url}\n")));
    }

    #[test]
    fn seed_style_run_script_is_read_like_sed_reads_it() {
        let script = format!("#!/bin/sh\ninit=\"{INIT}\"\nkernelParams=\"console=ttyS0,115200 loglevel=4\"\n");
        assert_eq!(ReleaseBoot::from_run_script(&script), Some(boot()));
        assert_eq!(ReleaseBoot::from_run_script("kernelParams=\"a\"\n"), None);
    }

    #[test]
    fn image_run_script_has_the_lines_a_customized_script_reads() {
        let req = crate::Request::parse(
            "image = \"kexec\"\narch = \"x86_64-linux\"\nchannel = \"nixos-unstable\"\n",
            crate::RequestFormat::Toml,
        )
        .unwrap()
        .validate()
        .unwrap();
        let text = crate::render::kexec_run::script_with_release(&req, Some(&boot()));
        assert!(text.contains(&format!("\ninit=\"{INIT}\"\nkernelParams=\"console=ttyS0,115200 loglevel=4\"\n")));
        assert!(!text.contains("run.release\"\n["), "does not read run.release");
        assert!(!text.contains("release_run="));
        assert_eq!(crate::kexec_tarball::release_init(text.as_bytes()), Some(INIT));
        assert_eq!(ReleaseBoot::from_run_script(&text), Some(boot()));
        let without = crate::render::kexec_run::script(&req);
        assert!(without.contains("release_run=") && crate::kexec_tarball::release_init(without.as_bytes()).is_none());
    }
}
