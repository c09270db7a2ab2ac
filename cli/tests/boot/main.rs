//! Boot tests: the rendered artifacts boot for real, in qemu guests, with Debian's iPXE, SeaBIOS, OVMF, kernel,
//! busybox and kexec, and the project's static `nixos-images-agent`.
//!
//! Each scenario serves a directory over a loopback HTTP server it starts, boots a guest whose only reachable
//! address is a qemu `guestfwd` to that server (`restrict=on`), and decides from what the guest's `/init` printed
//! on the serial console (see `guest.rs`), with a hard timeout per VM. One VM runs at a time.
//!
//! Safety: kexec runs only inside the guests; the host's kexec is never called.
//!
//! They run in CI (`CI=true`; a missing tool or fixture then fails them) and wherever
//! `NIXOS_IMAGES_BOOT_TESTS=1` is set; `.ci/boot-fixtures` installs the packages and the kernel they need.

mod fixtures;
mod fleet;
mod guest;
mod kexec;
mod netboot;
mod pcap;
mod qemu;
mod units;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use nixos_images_core::{Request, ValidRequest};

use fixtures::say;
use qemu::{GuestArch, Vm};

/// One scenario at a time: each VM keeps a core busy, and the machine has two.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A running scenario: holds the lock, a work directory under target/, and prints its time when done.
struct Scenario {
    name: &'static str,
    start: Instant,
    dir: PathBuf,
    vm_time: Duration,
    _lock: MutexGuard<'static, ()>,
}

impl Scenario {
    /// A scenario with guests of `arch`; `None` when the boot tests are not enabled here (see
    /// [`fixtures::enabled`]).
    fn start_on(name: &'static str, arch: GuestArch) -> Option<Scenario> {
        if !fixtures::enabled(name) {
            return None;
        }
        let lock = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        // Fixtures (and the agent's build) first, so the scenario's time is its own.
        fixtures::of(arch);
        let dir = fixtures::fixtures_dir().join("runs").join(name);
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        say(&format!("boot: {name}: starting (work directory {})", dir.display()));
        Some(Scenario { name, start: Instant::now(), dir, vm_time: Duration::ZERO, _lock: lock })
    }

    fn run(&mut self, vm: &Vm) -> qemu::Run {
        let run = vm.run();
        self.vm_time += run.elapsed;
        say(&format!(
            "boot: {}: VM {} ran {:.1} s{}",
            self.name,
            vm.name,
            run.elapsed.as_secs_f64(),
            if run.exited { "" } else { " (killed at the timeout)" }
        ));
        run
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        let outcome = if std::thread::panicking() { "FAILED" } else { "passed" };
        say(&format!(
            "boot: {}: {outcome} in {:.1} s (VMs {:.1} s)",
            self.name,
            self.start.elapsed().as_secs_f64(),
            self.vm_time.as_secs_f64()
        ));
    }
}

// --- The scenarios, in order ----------------------------------------------------------------------------------------

#[test]
fn netboot_1_bios_dhcp() {
    netboot::run("netboot-1-bios-dhcp", netboot::NetbootMode::BiosDhcp);
}

#[test]
fn netboot_2_bios_static_without_dhcp() {
    netboot::run("netboot-2-bios-static", netboot::NetbootMode::BiosStatic);
}

#[test]
fn netboot_3_uefi_dhcp() {
    netboot::run("netboot-3-uefi-dhcp", netboot::NetbootMode::UefiDhcp);
}

#[test]
fn netboot_9_uefi_static_without_dhcp() {
    netboot::run("netboot-9-uefi-static", netboot::NetbootMode::UefiStatic);
}

/// The aarch64 twin of netboot-9 (static, no DHCP), through the real iPXE for arm64.
#[test]
fn netboot_11_aarch64_static_without_dhcp() {
    netboot::run("netboot-11-aarch64-static", netboot::NetbootMode::Aarch64Static);
}

/// Three machines PXE-boot one fleet tree: the two the inventory knows get their own host name, keys and static
/// address; the unknown one gets the default installer.
#[test]
fn netboot_15_fleet_from_one_tree() {
    fleet::run("netboot-15-fleet");
}

#[test]
fn kexec_4_install_command() {
    kexec::run("kexec-4-install-command", kexec::KexecMode::InstallCommand, GuestArch::X86_64);
}

#[test]
fn kexec_8_install_command_from_uefi() {
    kexec::run("kexec-8-uefi-install-command", kexec::KexecMode::InstallCommandUefi, GuestArch::X86_64);
}

/// The aarch64 twin of kexec-8: an arm64 stage 1 booted by AAVMF (qemu's `virt` machine, Debian's arm64 kernel,
/// busybox, kexec and ip), the install command for an aarch64 request, the release's kexec flags (this kernel has
/// no kexec_file_load: the script's `--kexec-syscall-auto` falls back to kexec_load), and the same stage 2 checks.
#[test]
fn kexec_10_aarch64_install_command() {
    kexec::run("kexec-10-aarch64-install-command", kexec::KexecMode::InstallCommandUefi, GuestArch::Aarch64);
}

#[test]
fn kexec_12_panic_in_the_installer_reboots_into_the_disk() {
    kexec::run("kexec-12-panic-reboot", kexec::KexecMode::PanicInStage2, GuestArch::X86_64);
}

/// This project's installer nobody can reach (the request's address is wrong for the network): its rollback
/// watchdog reboots it, and the guest comes back in stage 1.
#[test]
fn kexec_13_unreachable_installer_rolls_back() {
    kexec::run("kexec-13-rollback-unreachable", kexec::KexecMode::RollbackUnreachable, GuestArch::X86_64);
}

/// The same installer reached in time: an SSH login without a terminal turns the watchdog off for good.
#[test]
fn kexec_14_login_in_time_keeps_the_installer() {
    kexec::run("kexec-14-rollback-login", kexec::KexecMode::RollbackLogin, GuestArch::X86_64);
}

#[test]
fn kexec_5_customized_tarball() {
    kexec::run("kexec-5-customized-tarball", kexec::KexecMode::Customized, GuestArch::X86_64);
}

#[test]
fn kexec_6_preflight_refuses_too_little_ram() {
    kexec::run("kexec-6-preflight-refusal", kexec::KexecMode::PreflightRefusal, GuestArch::X86_64);
}

#[test]
fn kexec_7_upstream_installer() {
    kexec::run("kexec-7-upstream-installer", kexec::KexecMode::Upstream, GuestArch::X86_64);
}

// --- Helpers ------------------------------------------------------------------------------------------------------

fn example(name: &str) -> Request {
    test_support::examples::request(name)
}

fn validate(req: &Request) -> ValidRequest {
    req.clone().validate().unwrap_or_else(|e| panic!("the test's request is invalid: {e:?}"))
}

/// Runs `nixos-images-gen ARGS REQUEST -o OUT`.
fn gen(args: &[&str], request: &Path, out: &Path) {
    let mut all: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
    all.extend([request.as_os_str(), "-o".as_ref(), out.as_os_str()]);
    run_gen(&all);
}

/// Runs `nixos-images-gen ARGS REQUEST` and returns its standard output.
fn gen_args(args: &[&str], request: &Path) -> Vec<u8> {
    let mut all: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_ref()).collect();
    all.push(request.as_os_str());
    run_gen(&all)
}

fn run_gen(args: &[&std::ffi::OsStr]) -> Vec<u8> {
    let output =
        Command::new(env!("CARGO_BIN_EXE_nixos-images-gen")).args(args).output().expect("running nixos-images-gen");
    assert!(output.status.success(), "nixos-images-gen {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    output.stdout
}

/// Mode in octal and contents as text, for readable comparisons.
fn printable(files: &std::collections::BTreeMap<String, (u32, Vec<u8>)>) -> std::collections::BTreeMap<String, String> {
    files.iter().map(|(p, (m, d))| (p.clone(), format!("{m:04o} {}", String::from_utf8_lossy(d)))).collect()
}
