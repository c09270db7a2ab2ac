//! Guest initramfs images, built with the project's own cpio writer, and what their `/init` reports.
//!
//! Every guest runs Debian's busybox-static as its shell and tools. Its init script starts with [`PRELUDE`] and
//! reports on the serial console in lines of its own (`@@...`), which [`Report::parse`] reads back:
//!
//! - `@@stage NAME`: a new boot (stage 1, stage 2, ...); what follows belongs to it;
//! - `@@kv KEY VALUE`: a fact (`cmdline`, `firmware`, exit codes);
//! - `@@file PATH MODE HEX` and `@@dir PATH MODE`: a file or directory, exactly;
//! - `@@out NAME LINE`: a line a command printed;
//! - `@@fail WHAT`: something the guest could not do; `@@end`: the guest is done (it powers off).

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use nixos_images_core::cpio::Cpio;

use super::fixtures::{self, Fixtures};

/// Shell functions and setup every guest init starts with (busybox sh).
pub const PRELUDE: &str = r#"#!/bin/busybox sh
/bin/busybox mkdir -p /proc /sys /dev /tmp /run /bin
/bin/busybox --install -s /bin
export PATH=/usr/local/bin:/usr/local/sbin:/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1
say() { echo "@@$*"; }
kv() { k=$1; shift; echo "@@kv $k $*"; }
finish() { echo "@@end"; sync; poweroff -f; sleep 30; }
fail() { echo "@@fail $*"; finish; }
# Each line a command printed, tagged with NAME.
out() { name=$1; shift; "$@" >/tmp/out 2>&1; rc=$?; while IFS= read -r line; do echo "@@out $name $line"; done </tmp/out; kv "$name-exit" "$rc"; return $rc; }
dumpfile() { printf '@@file %s %s %s\n' "$1" "$(stat -c %a "$1")" "$(xxd -p "$1" | tr -d '\n')"; }
# Every directory and regular file under each argument, sorted.
dumptree() {
  for top in "$@"; do
    [ -e "$top" ] || continue
    find "$top" | sort | while IFS= read -r p; do
      if [ -L "$p" ]; then echo "@@link $p $(readlink "$p")"
      elif [ -d "$p" ]; then echo "@@dir $p $(stat -c %a "$p")"
      elif [ -f "$p" ]; then dumpfile "$p"
      fi
    done
  done
}
load_modules() {
  while read -r m; do insmod "/lib/modules/$m.ko" || fail "insmod $m"; done </lib/modules/order
}
"#;

/// An initramfs under construction.
pub struct Initramfs {
    pub cpio: Cpio,
    /// Where a foreign architecture's libraries come from (see [`Fixtures::sysroot`]); added at most once.
    sysroot: Option<fixtures::Sysroot>,
    sysroot_added: bool,
}

impl Initramfs {
    /// busybox (as /bin/busybox) and `init` (the PRELUDE, then `body`) at `init_path`.
    pub fn new(fx: &Fixtures, init_path: &str, body: &str) -> Initramfs {
        let mut cpio = Cpio::new();
        for dir in ["bin", "dev", "etc", "lib", "proc", "root", "run", "sys", "tmp", "usr/local/bin"] {
            cpio.dir(dir, 0o755);
        }
        cpio.file("bin/busybox", 0o755, read(&fx.busybox));
        let mut me = Initramfs { cpio, sysroot: fx.sysroot.clone(), sysroot_added: false };
        me.file(init_path.trim_start_matches('/'), 0o755, format!("{PRELUDE}{body}"));
        me
    }

    pub fn file(&mut self, path: &str, mode: u32, data: impl Into<Vec<u8>>) -> &mut Self {
        let path = path.trim_start_matches('/');
        // Parents readable by everyone, unless added before with another mode.
        let mut parent = String::new();
        for part in path.split('/').collect::<Vec<_>>().split_last().unwrap().1 {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(part);
            self.cpio.dir(&parent, 0o755);
        }
        self.cpio.file(path, mode, data);
        self
    }

    /// The virtio-net modules, at /lib/modules/NAME.ko, with /lib/modules/order.
    pub fn modules(&mut self, fx: &Fixtures) -> &mut Self {
        let mut order = String::new();
        for (name, file) in &fx.modules {
            self.file(&format!("lib/modules/{name}.ko"), 0o644, read(file));
            order.push_str(name);
            order.push('\n');
        }
        self.file("lib/modules/order", 0o644, order)
    }

    /// A host program at `guest_path`, with the libraries it loads.
    pub fn program(&mut self, host: &Path, guest_path: &str) -> &mut Self {
        self.file(guest_path, 0o755, read(host));
        self.libraries(host)
    }

    /// The libraries a program loads (nothing for a static program): at the paths `ldd` names for this
    /// machine's programs, or the sysroot's libraries for a foreign architecture's.
    pub fn libraries(&mut self, host: &Path) -> &mut Self {
        if fixtures::is_static(host) {
            return self;
        }
        match self.sysroot.clone() {
            Some(sysroot) if !self.sysroot_added => {
                self.sysroot_added = true;
                for lib in &sysroot.libs {
                    self.file(lib, 0o755, sysroot.read(lib));
                }
            }
            Some(_) => {}
            None => {
                for lib in fixtures::libraries(host) {
                    self.file(lib.to_str().unwrap(), 0o755, read(&lib));
                }
            }
        }
        self
    }

    /// The archive (the project's cpio writer), compressed by the host's gzip: the test binary is built without
    /// optimizations, and the project's pure-Rust gzip at level 9 would take seconds per image there.
    pub fn gzip(&self) -> Vec<u8> {
        let mut child = Command::new("gzip")
            .args(["-1", "-n", "-c"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("running gzip");
        let mut stdin = child.stdin.take().unwrap();
        let cpio = self.cpio.to_bytes();
        let writer = std::thread::spawn(move || stdin.write_all(&cpio));
        let out = child.wait_with_output().expect("running gzip");
        writer.join().unwrap().expect("writing to gzip");
        assert!(out.status.success(), "gzip failed");
        out.stdout
    }
}

pub fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// What one boot (stage) of a guest reported.
#[derive(Debug, Default, Clone)]
pub struct Stage {
    pub name: String,
    pub kv: BTreeMap<String, String>,
    /// Path -> (mode, contents).
    pub files: BTreeMap<String, (u32, Vec<u8>)>,
    pub dirs: BTreeMap<String, u32>,
    pub links: BTreeMap<String, String>,
    /// Command output lines by name.
    pub out: BTreeMap<String, Vec<String>>,
    pub fails: Vec<String>,
    pub ended: bool,
}

impl Stage {
    pub fn kv(&self, key: &str) -> &str {
        self.kv.get(key).map(String::as_str).unwrap_or_else(|| panic!("stage {}: no {key} reported", self.name))
    }

    /// Files under `dir/`, by path relative to it.
    pub fn files_under(&self, dir: &str) -> BTreeMap<String, (u32, Vec<u8>)> {
        let prefix = format!("{}/", dir.trim_end_matches('/'));
        self.files.iter().filter_map(|(p, v)| p.strip_prefix(&prefix).map(|rel| (rel.to_string(), v.clone()))).collect()
    }

    pub fn output(&self, name: &str) -> String {
        self.out.get(name).map(|l| l.join("\n")).unwrap_or_default()
    }
}

/// Everything the guest reported, stage by stage.
#[derive(Debug, Default)]
pub struct Report {
    pub stages: Vec<Stage>,
}

impl Report {
    pub fn parse(serial: &str) -> Report {
        let mut stages: Vec<Stage> = vec![];
        for line in serial.lines() {
            // A kernel message may share the line; what the guest printed starts at its marker.
            let Some(at) = line.find("@@") else { continue };
            let line = &line[at + 2..];
            let (tag, rest) = line.split_once(' ').unwrap_or((line, ""));
            if tag == "stage" {
                stages.push(Stage { name: rest.trim().to_string(), ..Stage::default() });
                continue;
            }
            let Some(stage) = stages.last_mut() else { continue };
            match tag {
                "kv" => {
                    let (k, v) = rest.split_once(' ').unwrap_or((rest, ""));
                    stage.kv.insert(k.to_string(), v.to_string());
                }
                "file" => {
                    let mut parts = rest.splitn(3, ' ');
                    let (path, mode, hex) = (parts.next(), parts.next(), parts.next().unwrap_or(""));
                    let (Some(path), Some(mode)) = (path, mode) else { continue };
                    let data = unhex(hex.trim()).unwrap_or_else(|| b"<undecodable hex>".to_vec());
                    stage.files.insert(path.to_string(), (u32::from_str_radix(mode, 8).unwrap_or(0), data));
                }
                "dir" => {
                    if let Some((path, mode)) = rest.rsplit_once(' ') {
                        stage.dirs.insert(path.to_string(), u32::from_str_radix(mode, 8).unwrap_or(0));
                    }
                }
                "link" => {
                    if let Some((path, target)) = rest.split_once(' ') {
                        stage.links.insert(path.to_string(), target.to_string());
                    }
                }
                "out" => {
                    let (name, text) = rest.split_once(' ').unwrap_or((rest, ""));
                    stage.out.entry(name.to_string()).or_default().push(text.to_string());
                }
                "fail" => stage.fails.push(rest.to_string()),
                "end" => stage.ended = true,
                _ => {}
            }
        }
        Report { stages }
    }
}

fn unhex(hex: &str) -> Option<Vec<u8>> {
    if hex.len() % 2 != 0 {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()).collect()
}
