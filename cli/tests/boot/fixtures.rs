//! What the guests are made of: the host's tools, the Debian kernel and modules that `.ci/boot-fixtures` put under
//! target/boot-fixtures/, and the static `nixos-images-agent` (built here, into its own target directory).
//!
//! A missing piece fails the test with what to run; [`enabled`] decides whether the boot tests run at all.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::qemu::GuestArch;

/// Whether the boot tests run: always in CI (`CI=true`, where a missing tool fails them), and where
/// `NIXOS_IMAGES_BOOT_TESTS=1` asks for them (`.ci/test` does). Elsewhere they are skipped, loudly: each boots
/// qemu guests without KVM for minutes, which a plain `cargo test` should not do to a developer's machine.
pub fn enabled(test: &str) -> bool {
    let on = |var: &str, values: &[&str]| std::env::var(var).is_ok_and(|v| values.contains(&v.as_str()));
    if test_support::prerequisites::in_ci() || on("NIXOS_IMAGES_BOOT_TESTS", &["1", "true"]) {
        return true;
    }
    say(&format!("boot: {test}: skipped (set NIXOS_IMAGES_BOOT_TESTS=1 to run the boot tests; CI always runs them)"));
    false
}

/// Prints a line that the test harness does not capture (per-scenario times belong in the CI log).
pub fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

pub fn repo_root() -> PathBuf {
    test_support::workspace()
}

/// Where `.ci/boot-fixtures` put the kernel (`NIXOS_IMAGES_BOOT_FIXTURES` overrides it).
pub fn fixtures_dir() -> PathBuf {
    std::env::var_os("NIXOS_IMAGES_BOOT_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target/boot-fixtures"))
}

pub struct Fixtures {
    /// Debian's kernel (bzImage; on aarch64 the arm64 `Image`).
    pub vmlinuz: PathBuf,
    /// The virtio-net modules, dependencies first: (name, file).
    pub modules: Vec<(String, PathBuf)>,
    /// Debian's busybox-static (runs in the guests; its `nc` relays guestfwd connections on the host).
    pub busybox: PathBuf,
    /// Debian's kexec (dynamically linked: its libraries go into the guest too).
    pub kexec: PathBuf,
    /// iproute2's `ip` (the run script needs `ip --json`, which busybox's ip lacks).
    pub ip: PathBuf,
    /// Debian's iPXE as a Linux kernel image (boots with a script as its initrd); x86_64 only.
    pub ipxe_lkrn: PathBuf,
    /// iPXE as an EFI application: Debian's `ipxe.efi` on x86_64, trixie's `ipxe-arm64.efi` on aarch64.
    pub ipxe_efi: PathBuf,
    /// The statically linked agent.
    pub agent: PathBuf,
    /// The statically linked stand-in for upstream's installer (`testing/upstream-installer`).
    pub upstream_installer: PathBuf,
    /// OpenSSH's sshd from Debian's openssh-server (dynamically linked), for the logins of the rollback
    /// scenarios; x86_64 only.
    pub sshd: Option<PathBuf>,
    /// For a foreign architecture: the unpacked packages the guest's dynamically linked programs come from,
    /// whose libraries every guest with such a program gets (on x86_64, `ldd` on this machine's programs).
    pub sysroot: Option<Sysroot>,
}

#[derive(Clone)]
pub struct Sysroot {
    pub root: PathBuf,
    /// The libraries, relative to `root` and to the guest's `/`.
    pub libs: Vec<String>,
}

impl Sysroot {
    /// A file of the sysroot, its symbolic links followed inside the sysroot (an absolute target is the
    /// sysroot's, not this machine's).
    pub fn read(&self, rel: &str) -> Vec<u8> {
        let mut path = self.root.join(rel);
        for _ in 0..16 {
            match fs::read_link(&path) {
                Ok(target) if target.is_absolute() => path = self.root.join(target.strip_prefix("/").unwrap()),
                Ok(target) => path = path.parent().unwrap().join(target),
                Err(_) => break,
            }
        }
        fs::read(&path).unwrap_or_else(|e| panic!("reading {} (for {rel}): {e}", path.display()))
    }
}

const TOOLS: &[&str] =
    &["qemu-system-x86_64", "busybox", "ldd", "cargo", "gzip", "tar", "sha256sum", "ssh", "ssh-keygen"];
/// Debian's iPXE ROM for virtio-net (qemu's default romfile) and OVMF.
const FILES: &[&str] =
    &[super::qemu::VIRTIO_ROM, "/usr/share/ovmf/OVMF.fd", "/usr/lib/ipxe/ipxe.lkrn", "/usr/lib/ipxe/ipxe.efi"];

/// The x86_64 fixtures, checked and built once per test process.
pub fn get() -> &'static Fixtures {
    static FIXTURES: OnceLock<Fixtures> = OnceLock::new();
    FIXTURES.get_or_init(load)
}

/// The fixtures of an architecture.
pub fn of(arch: GuestArch) -> &'static Fixtures {
    static AARCH64: OnceLock<Fixtures> = OnceLock::new();
    match arch {
        GuestArch::X86_64 => get(),
        GuestArch::Aarch64 => AARCH64.get_or_init(load_aarch64),
    }
}

/// Debian's arm64 kernel, busybox, kexec and ip (`.ci/boot-fixtures` downloads them under aarch64/), AAVMF, and the
/// agent and the upstream stand-in cross-built for aarch64.
fn load_aarch64() -> Fixtures {
    let dir = fixtures_dir().join("aarch64");
    let root = dir.join("root");
    let mut missing = vec![];
    if which("qemu-system-aarch64").is_none() {
        missing.push("`qemu-system-aarch64` (not on PATH)".to_string());
    }
    let modules = read_modules(&dir);
    let libs: Vec<String> =
        fs::read_to_string(dir.join("libs")).unwrap_or_default().lines().map(str::to_string).collect();
    for file in [
        dir.join("vmlinuz"),
        dir.join("busybox"),
        dir.join("ipxe-arm64.efi"),
        root.join("sbin/kexec"),
        root.join("bin/ip"),
    ]
    .into_iter()
    .chain(modules.iter().map(|(_, p)| p.clone()))
    .chain(["/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/AAVMF/AAVMF_VARS.fd"].map(PathBuf::from))
    {
        if !file.is_file() {
            missing.push(file.display().to_string());
        }
    }
    if modules.is_empty() || libs.is_empty() {
        missing.push(format!("the module order and library list under {}", dir.display()));
    }
    assert!(
        missing.is_empty(),
        "the aarch64 boot tests need: {}.\nRun .ci/boot-fixtures (it installs the packages and downloads the rest).",
        missing.join(", ")
    );
    let kernel_version = fs::read_to_string(dir.join("kernel.version")).unwrap_or_default().trim().to_string();
    say(&format!(
        "boot: aarch64 fixtures: kernel {kernel_version}, busybox, kexec and ip from Debian's arm64 packages"
    ));
    Fixtures {
        vmlinuz: dir.join("vmlinuz"),
        modules,
        busybox: dir.join("busybox"),
        kexec: root.join("sbin/kexec"),
        ip: root.join("bin/ip"),
        ipxe_lkrn: PathBuf::new(),
        ipxe_efi: dir.join("ipxe-arm64.efi"),
        agent: build_static("nixos-images-cli", "nixos-images-agent", AARCH64_TARGET),
        upstream_installer: build_static("upstream-installer", "upstream-installer", AARCH64_TARGET),
        sshd: None,
        sysroot: Some(Sysroot { root, libs }),
    }
}

/// Rust's aarch64 musl target: static binaries linked by the toolchain's rust-lld with its own musl objects.
const AARCH64_TARGET: &str = "aarch64-unknown-linux-musl";
const X86_64_TARGET: &str = "x86_64-unknown-linux-gnu";

/// The virtio-net modules of DIR, dependencies first: (name, file).
fn read_modules(dir: &Path) -> Vec<(String, PathBuf)> {
    let order = fs::read_to_string(dir.join("modules.order")).unwrap_or_default();
    order.lines().filter(|l| !l.is_empty()).map(|m| (m.to_string(), dir.join(format!("modules/{m}.ko")))).collect()
}

fn load() -> Fixtures {
    let mut missing = vec![];
    for tool in TOOLS {
        if which(tool).is_none() {
            missing.push(format!("`{tool}` (not on PATH)"));
        }
    }
    for file in FILES {
        if !Path::new(file).is_file() {
            missing.push((*file).to_string());
        }
    }
    let find = |names: &[&str]| names.iter().map(PathBuf::from).find(|p| p.is_file());
    let kexec = find(&["/usr/sbin/kexec", "/sbin/kexec"]);
    let ip = find(&["/usr/bin/ip", "/bin/ip", "/usr/sbin/ip", "/sbin/ip"]);
    if kexec.is_none() {
        missing.push("kexec (Debian's kexec-tools)".into());
    }
    if ip.is_none() {
        missing.push("ip (Debian's iproute2)".into());
    }
    let dir = fixtures_dir();
    let modules = read_modules(&dir);
    let vmlinuz = dir.join("vmlinuz");
    let sshd = dir.join("sshd/sshd");
    if !sshd.is_file() {
        missing.push(sshd.display().to_string());
    }
    if !vmlinuz.is_file() || modules.is_empty() || modules.iter().any(|(_, p)| !p.is_file()) {
        missing.push(format!("the kernel and modules under {}", dir.display()));
    }
    assert!(
        missing.is_empty(),
        "the boot tests need: {}.\nRun .ci/boot-fixtures (it installs the packages and downloads the kernel).",
        missing.join(", ")
    );
    let kernel_version = fs::read_to_string(dir.join("kernel.version")).unwrap_or_default().trim().to_string();
    say(&format!("boot: fixtures: kernel {kernel_version}, busybox, kexec and ip from this machine, Debian's sshd"));
    let busybox = which("busybox").unwrap();
    assert!(is_static(&busybox), "{} is not statically linked: install busybox-static", busybox.display());
    Fixtures {
        vmlinuz,
        modules,
        busybox,
        kexec: kexec.unwrap(),
        ip: ip.unwrap(),
        ipxe_lkrn: PathBuf::from("/usr/lib/ipxe/ipxe.lkrn"),
        ipxe_efi: PathBuf::from("/usr/lib/ipxe/ipxe.efi"),
        agent: build_static_agent(),
        upstream_installer: build_static("upstream-installer", "upstream-installer", X86_64_TARGET),
        sshd: Some(sshd),
        sysroot: None,
    }
}

/// Builds `nixos-images-agent` statically with the command README.md documents (the same build as
/// `agent_static.rs`, so whichever runs second finds it up to date).
fn build_static_agent() -> PathBuf {
    build_static("nixos-images-cli", "nixos-images-agent", X86_64_TARGET)
}

/// Builds a binary of the workspace statically for `target` (glibc with `crt-static`, or musl) into the static
/// target directory.
fn build_static(package: &str, bin: &str, target: &str) -> PathBuf {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let start = std::time::Instant::now();
    let out = Command::new(&cargo)
        .current_dir(repo_root())
        .args(["build", "--release", "--locked", "-p", package, "--bin", bin])
        .args(["--target", target])
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        .env("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_LINKER", "rust-lld")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .output()
        .unwrap_or_else(|e| panic!("running {cargo:?} build: {e}"));
    assert!(out.status.success(), "building the static {bin} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    say(&format!("boot: static {bin} for {target} built in {:.1} s", start.elapsed().as_secs_f64()));
    let target_dir =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| repo_root().join("target"));
    let path = target_dir.join(target).join("release").join(bin);
    assert!(is_static(&path), "{} is not statically linked", path.display());
    path
}

/// An ELF file without a program interpreter (PT_INTERP) runs without any library.
pub fn is_static(path: &Path) -> bool {
    let Ok(elf) = fs::read(path) else { return false };
    if elf.len() < 64 || &elf[..4] != b"\x7fELF" || elf[4] != 2 {
        return false;
    }
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[32..40].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(54), u16_at(56));
    (0..phnum).all(|i| {
        let o = phoff + i * phentsize;
        elf.get(o..o + 4).is_some_and(|t| u32::from_le_bytes(t.try_into().unwrap()) != 3)
    })
}

pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(tool)).find(|p| p.is_file())
}

/// The shared libraries a dynamically linked program loads, as `ldd` resolves them (the loader included).
pub fn libraries(program: &Path) -> Vec<PathBuf> {
    let out = Command::new("ldd").arg(program).output().expect("running ldd");
    assert!(out.status.success(), "ldd {}: {}", program.display(), String::from_utf8_lossy(&out.stderr));
    let mut libs = vec![];
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
        let path = match line.split_once("=>") {
            Some((_, rest)) => rest.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        if let Some(p) = path.filter(|p| p.starts_with('/')) {
            libs.push(PathBuf::from(p));
        }
    }
    libs
}
