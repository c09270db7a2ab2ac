//! Runs one qemu guest to its end, with a hard timeout, and reads what it printed on its serial console.
//!
//! Guests have no way out: qemu's user network runs with `restrict=on`, and the only address they can reach is the
//! `guestfwd` to the test's own loopback HTTP server. The only way in is an optional `hostfwd` from this machine's
//! loopback to the guest's SSH port. No KVM here: always `-accel tcg`.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The slirp address that is forwarded to the test's HTTP server.
pub struct Forward {
    /// Address in the guest's network (port 80).
    pub guest_addr: &'static str,
    /// The loopback port of the test's server.
    pub host_port: u16,
}

/// How the guest's one NIC is connected.
pub struct Nic {
    pub mac: &'static str,
    /// The slirp network (`net=`), its host/gateway (`host=`) and DNS (`dns=`) addresses.
    pub net: &'static str,
    pub host: &'static str,
    pub dns: &'static str,
    /// The DHCP `bootfile` (the iPXE script URL), if any.
    pub bootfile: Option<String>,
    pub forward: Forward,
    /// Whether the NIC carries its iPXE option ROM (qemu's default, from Debian's ipxe-qemu).
    pub rom: bool,
    /// Whether slirp offers IPv6 (router advertisements).
    pub ipv6: bool,
    /// Writes every frame to this pcap file (qemu's filter-dump).
    pub pcap: Option<PathBuf>,
    /// A loopback port of this machine forwarded to the guest's SSH server (`hostfwd`), at this guest address.
    pub ssh: Option<SshForward>,
}

/// `hostfwd=tcp:127.0.0.1:HOST_PORT-GUEST_ADDR:22`: the only way in, and only from this machine's loopback.
pub struct SshForward {
    pub host_port: u16,
    pub guest_addr: &'static str,
}

/// The guest's architecture: qemu's x86_64 PC, or its aarch64 `virt` machine.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum GuestArch {
    X86_64,
    Aarch64,
}

impl GuestArch {
    fn qemu(self) -> &'static str {
        match self {
            GuestArch::X86_64 => "qemu-system-x86_64",
            GuestArch::Aarch64 => "qemu-system-aarch64",
        }
    }
    /// The serial console the kernel writes to (the PL011 UART on `virt`).
    pub fn console(self) -> &'static str {
        match self {
            GuestArch::X86_64 => "console=ttyS0,115200",
            GuestArch::Aarch64 => "console=ttyAMA0,115200",
        }
    }
}

pub enum Firmware {
    /// qemu's default SeaBIOS on x86_64; on aarch64 none (qemu loads the kernel itself).
    Bios,
    /// OVMF (UEFI) on x86_64, AAVMF on aarch64, without persistent variables.
    Uefi,
}

pub enum Boot {
    /// From the NIC (its option ROM's iPXE, DHCP, the bootfile).
    Network,
    /// OVMF boots `EFI/BOOT/BOOTX64.EFI` from this directory, served as a read-only FAT disk (qemu's vvfat).
    EfiDisk { dir: PathBuf },
    /// `-kernel` (and `-initrd`, `-append`).
    Kernel { kernel: PathBuf, initrd: Option<PathBuf>, append: Option<String> },
}

pub struct Vm {
    pub name: String,
    pub arch: GuestArch,
    pub firmware: Firmware,
    pub boot: Boot,
    /// What a person types on the serial console, each after a text the guest prints (see [`Typing`]).
    pub typing: Vec<Typing>,
    /// The guest may reboot (qemu then boots it again from the start), and a kernel panic is not the end: the
    /// run stops once this text has been printed twice (the second boot reached it).
    pub reboot_until_seen_twice: Option<&'static str>,
    pub nic: Nic,
    pub mem_mib: u32,
    pub timeout: Duration,
    /// Where the serial console and qemu's own output go.
    pub dir: PathBuf,
}

/// One line a person types at the serial console once `after` has appeared (counting from the previous line's
/// prompt), one key at a time.
pub struct Typing {
    pub after: &'static str,
    pub keys: String,
}

/// Serial console texts after which the guest cannot succeed any more: the VM is stopped right away.
pub const FATAL: &[&str] = &[
    "No bootable device",
    "Kernel panic - not syncing",
    // Our iPXE script's error messages.
    "nixos-images: ",
];

pub struct Run {
    /// The serial console, lossily decoded, without carriage returns.
    pub serial: String,
    pub elapsed: Duration,
    /// False when the timeout killed it.
    pub exited: bool,
    /// What qemu itself printed (stdout and stderr).
    pub qemu_output: String,
}

impl Run {
    /// Everything the guest printed, for assertion messages (the end of it, which says what went wrong).
    pub fn tail(&self) -> String {
        let lines: Vec<&str> = self.serial.lines().collect();
        let start = lines.len().saturating_sub(120);
        format!(
            "--- serial console (last {} lines) ---\n{}\n--- qemu ---\n{}",
            lines.len() - start,
            lines[start..].join("\n"),
            self.qemu_output
        )
    }
}

/// Debian's iPXE option ROM for virtio-net (package ipxe-qemu).
pub const VIRTIO_ROM: &str = "/usr/lib/ipxe/qemu/efi-virtio.rom";

/// The OVMF image (code and variables in one, copied so the guest cannot change the installed one).
const OVMF: &str = "/usr/share/ovmf/OVMF.fd";
/// AAVMF (package qemu-efi-aarch64): the code, read-only, and the variables' template, copied per run.
const AAVMF_CODE: &str = "/usr/share/AAVMF/AAVMF_CODE.fd";
const AAVMF_VARS: &str = "/usr/share/AAVMF/AAVMF_VARS.fd";

impl Vm {
    pub fn args(&self, serial: &Path) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        let mut push = |s: &str| a.push(s.into());
        for s in ["-accel", "tcg", "-nodefaults", "-no-user-config", "-display", "none"] {
            push(s);
        }
        if self.reboot_until_seen_twice.is_none() {
            push("-no-reboot");
        }
        if self.arch == GuestArch::Aarch64 {
            // `max` with the cheap pointer-authentication algorithm: the default one is several times slower
            // under TCG.
            for s in ["-M", "virt", "-cpu", "max,pauth-impdef=on"] {
                push(s);
            }
        }
        push("-m");
        push(&self.mem_mib.to_string());
        push("-serial");
        if self.typing.is_empty() {
            push(&format!("file:{}", serial.display()));
        } else {
            // A socket the harness types into and copies to the log (qemu waits for it before starting the guest).
            push(&format!("unix:{},server=on,wait=on", self.console_socket().display()));
        }
        match (self.arch, &self.firmware) {
            (GuestArch::X86_64, Firmware::Uefi) => {
                push("-drive");
                push(&format!("if=pflash,format=raw,file={}", self.dir.join("OVMF.fd").display()));
            }
            (GuestArch::Aarch64, Firmware::Uefi) => {
                push("-drive");
                push(&format!("if=pflash,format=raw,unit=0,readonly=on,file={AAVMF_CODE}"));
                push("-drive");
                push(&format!("if=pflash,format=raw,unit=1,file={}", self.dir.join("AAVMF_VARS.fd").display()));
            }
            (GuestArch::Aarch64, Firmware::Bios) => {}
            (GuestArch::X86_64, Firmware::Bios) => {
                // SeaBIOS mirrors the BIOS console (and so iPXE's output) on the serial port.
                push("-fw_cfg");
                push(&format!("name=etc/sercon-port,file={}", self.dir.join("sercon-port").display()));
            }
        }
        let n = &self.nic;
        let mut netdev = format!(
            "user,id=n0,restrict=on,ipv4=on,net={},host={},dns={},ipv6={},guestfwd=tcp:{}:80-cmd:busybox nc 127.0.0.1 {}",
            n.net,
            n.host,
            n.dns,
            if n.ipv6 { "on" } else { "off" },
            n.forward.guest_addr,
            n.forward.host_port
        );
        if let Some(b) = &n.bootfile {
            netdev.push_str(&format!(",bootfile={b}"));
        }
        if let Some(f) = &n.ssh {
            netdev.push_str(&format!(",hostfwd=tcp:127.0.0.1:{}-{}:22", f.host_port, f.guest_addr));
        }
        push("-netdev");
        push(&netdev);
        push("-device");
        // qemu's default ROM is Debian's ipxe-qemu one (VIRTIO_ROM: legacy iPXE for SeaBIOS, an EFI driver for
        // OVMF). Naming it in romfile= would skip qemu's patching of the ROM's PCI IDs, and SeaBIOS then ignores it.
        push(&format!("virtio-net-pci,netdev=n0,mac={}{}", n.mac, if n.rom { "" } else { ",romfile=" }));
        if let Some(pcap) = &n.pcap {
            push("-object");
            push(&format!("filter-dump,id=dump0,netdev=n0,file={}", pcap.display()));
        }
        match &self.boot {
            Boot::Network => {
                push("-boot");
                push("n");
            }
            Boot::EfiDisk { dir } => {
                push("-drive");
                push(&format!("if=none,id=esp,format=raw,readonly=on,file=fat:{}", dir.display()));
                push("-device");
                push("virtio-blk-pci,drive=esp,bootindex=0");
            }
            Boot::Kernel { kernel, initrd, append } => {
                a.push("-kernel".into());
                a.push(kernel.into());
                if let Some(i) = initrd {
                    a.push("-initrd".into());
                    a.push(i.into());
                }
                if let Some(c) = append {
                    a.push("-append".into());
                    a.push(c.into());
                }
            }
        }
        a
    }

    fn console_socket(&self) -> PathBuf {
        self.dir.join(format!("{}.console.sock", self.name))
    }

    /// Connects to the console socket, copies everything to `log` and types [`Vm::typing`] as its prompts appear.
    fn type_on_console(&self, log: &Path) -> std::thread::JoinHandle<()> {
        let socket = self.console_socket();
        let start = Instant::now();
        let stream = loop {
            match std::os::unix::net::UnixStream::connect(&socket) {
                Ok(s) => break s,
                Err(_) if start.elapsed() < Duration::from_secs(20) => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => panic!("qemu's console socket {}: {e}", socket.display()),
            }
        };
        let lines: Vec<(String, Vec<u8>)> =
            self.typing.iter().map(|t| (t.after.to_string(), t.keys.clone().into_bytes())).collect();
        let mut log = fs::File::create(log).unwrap();
        std::thread::spawn(move || {
            use std::io::{Read, Write};
            let mut writer = stream.try_clone().unwrap();
            let mut reader = stream;
            let mut seen = Vec::new();
            let mut next = 0;
            let mut from = 0;
            let mut buf = [0u8; 4096];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let _ = log.write_all(&buf[..n]);
                let _ = log.flush();
                seen.extend_from_slice(&buf[..n]);
                while let Some((after, keys)) = lines.get(next) {
                    let Some(at) = find(&seen[from..], after.as_bytes()) else { break };
                    from += at + after.len();
                    for k in keys {
                        // One key at a time, as typed: firmware consoles drop keys sent in a burst.
                        let _ = writer.write_all(&[*k]);
                        std::thread::sleep(Duration::from_millis(15));
                    }
                    next += 1;
                }
            }
        })
    }

    /// Boots the guest and waits until it powers off (qemu exits) or the timeout, which kills it.
    pub fn run(&self) -> Run {
        fs::create_dir_all(&self.dir).unwrap();
        let serial = self.dir.join(format!("{}.serial.log", self.name));
        let qemu_log = self.dir.join(format!("{}.qemu.log", self.name));
        let _ = fs::remove_file(&serial);
        // The serial port SeaBIOS writes its console to (COM1, 0x3f8, as a 2-byte little-endian number).
        fs::write(self.dir.join("sercon-port"), 0x3f8u16.to_le_bytes()).unwrap();
        match (self.arch, &self.firmware) {
            (GuestArch::X86_64, Firmware::Uefi) => {
                fs::copy(OVMF, self.dir.join("OVMF.fd")).unwrap_or_else(|e| panic!("copying {OVMF}: {e}"));
            }
            (GuestArch::Aarch64, Firmware::Uefi) => {
                fs::copy(AAVMF_VARS, self.dir.join("AAVMF_VARS.fd"))
                    .unwrap_or_else(|e| panic!("copying {AAVMF_VARS}: {e}"));
            }
            _ => {}
        }
        let args = self.args(&serial);
        fs::write(self.dir.join(format!("{}.qemu-args", self.name)), format!("{args:?}\n")).unwrap();
        let out = fs::File::create(&qemu_log).unwrap();
        let start = Instant::now();
        let qemu = self.arch.qemu();
        let mut child = Command::new(qemu)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {qemu}: {e}"));
        let typist = (!self.typing.is_empty()).then(|| self.type_on_console(&serial));
        let mut last_look = Instant::now();
        let exited = loop {
            if child.try_wait().expect("waiting for qemu").is_some() {
                break true;
            }
            let fatal = last_look.elapsed() > Duration::from_millis(500) && {
                last_look = Instant::now();
                let text = fs::read(&serial).unwrap_or_default();
                let text = String::from_utf8_lossy(&text);
                match self.reboot_until_seen_twice {
                    Some(marker) => text.matches(marker).count() >= 2,
                    None => FATAL.iter().any(|f| text.contains(f)),
                }
            };
            if fatal {
                // Give the guest a moment to print the rest of its message.
                std::thread::sleep(Duration::from_secs(1));
            }
            if fatal || start.elapsed() > self.timeout {
                // SIGKILL to this qemu's own PID, then reap it.
                let _ = child.kill();
                let _ = child.wait();
                break false;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let elapsed = start.elapsed();
        if let Some(t) = typist {
            let _ = t.join();
        }
        let serial = String::from_utf8_lossy(&fs::read(&serial).unwrap_or_default()).replace('\r', "");
        let qemu_output = fs::read_to_string(&qemu_log).unwrap_or_default();
        Run { serial, elapsed, exited, qemu_output }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
