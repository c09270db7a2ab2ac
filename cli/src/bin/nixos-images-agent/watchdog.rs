//! `watchdog run|status|cancel|rearm`: the rollback watchdog's I/O. Core decides (`agent::watchdog`); this reads
//! the clock, the kernel command line and sshd's log, keeps the state file, and reboots.
//!
//! Every change to the state is a read-modify-write under an exclusive lock on `watchdog.lock`, so `cancel` typed
//! on the console and a login seen by `run` at the same moment cannot undo each other. The state file itself is
//! replaced atomically, so `status` reads it without the lock.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};
use nixos_images_cli::atomic_file;
use nixos_images_core::agent::watchdog::{self, Action, Phase, Uptime, Watchdog};
use nixos_images_core::validate::MAX_ROLLBACK_MINUTES;
use rustix::fs::FlockOperation;

use crate::warn;

/// Reboot the installer unless someone logs in over SSH in time (this project's kexec images).
///
/// The timeout comes from the kernel command line (`nixos_images.rollback_seconds=`, which kexec/run adds) and
/// counts from the installer's boot. Once a login succeeded the watchdog is off for good.
#[derive(Debug, clap::Args)]
pub struct WatchdogArgs {
    #[command(subcommand)]
    pub cmd: WatchdogCmd,
    /// Where the state is kept.
    #[arg(long, value_name = "DIR", default_value = "/run/nixos-images", global = true)]
    pub state_dir: PathBuf,
    /// Where procfs is mounted (for tests): cmdline, uptime, the boot id and sysrq-trigger are read there.
    #[arg(long, value_name = "DIR", default_value = "/proc", global = true)]
    pub proc: PathBuf,
}

#[derive(Debug, clap::Subcommand)]
pub enum WatchdogCmd {
    /// Count down, follow sshd's log for a login, and reboot at the deadline (the systemd unit runs this).
    ///
    /// LOG_COMMAND prints sshd's messages of this boot, one per line, and follows them (NixOS: `journalctl
    /// --boot --follow --output=cat --identifier=sshd ...`); it is started again if it ends. Announcements go to
    /// stdout (the unit sends them to the console too).
    Run {
        /// The command that prints sshd's log.
        #[arg(required = true, last = true, value_name = "LOG_COMMAND")]
        log_command: Vec<OsString>,
    },
    /// Where the watchdog stands: the time left, cancelled, or off for good after a login.
    Status {
        /// For login shells: on stderr, nothing when no watchdog runs on this boot, and in an SSH session the
        /// login's own disarming is waited for (a second or two).
        #[arg(long)]
        login: bool,
    },
    /// Stop the countdown: the installer stays up (a login or `rearm` may follow).
    Cancel,
    /// Count down again from now.
    Rearm {
        /// Minutes until the reboot (default: the timeout of the kernel command line).
        #[arg(long, value_name = "MINUTES", value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_ROLLBACK_MINUTES)))]
        minutes: Option<u32>,
    },
}

const STATE_FILE: &str = "watchdog.json";
const LOCK_FILE: &str = "watchdog.lock";
/// How often the clock is read.
const TICK: Duration = Duration::from_secs(1);
/// How long `systemctl reboot --force` gets before the kernel is told to reboot at once.
const SYSTEMCTL_GRACE: Duration = Duration::from_secs(30);

pub fn run(args: &WatchdogArgs) -> Result<i32> {
    let machine = Machine { proc: args.proc.clone() };
    let store = Store { dir: args.state_dir.clone() };
    match &args.cmd {
        WatchdogCmd::Run { log_command } => watch(&machine, &store, log_command),
        WatchdogCmd::Status { login } => status(&machine, &store, *login),
        WatchdogCmd::Cancel => change(&machine, &store, |w, now| w.cancel(now)),
        WatchdogCmd::Rearm { minutes } => {
            let ms = minutes.map(|m| u64::from(m) * 60_000);
            change(&machine, &store, |w, now| w.rearm(ms, now))
        }
    }
}

/// The facts of the running system the watchdog reads.
struct Machine {
    proc: PathBuf,
}

impl Machine {
    fn read(&self, rel: &str) -> Result<String> {
        let path = self.proc.join(rel);
        fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
    }

    fn now(&self) -> Result<Uptime> {
        Uptime::parse_proc_uptime(&self.read("uptime")?).map_err(|e| anyhow!("{}/uptime: {e}", self.proc.display()))
    }

    fn boot_id(&self) -> Result<String> {
        Ok(self.read("sys/kernel/random/boot_id")?.trim().to_string())
    }

    /// The timeout the kernel command line asks for (`None`: no watchdog on this boot).
    fn timeout_ms(&self) -> Result<Option<u64>> {
        watchdog::timeout_from_cmdline(&self.read("cmdline")?).map_err(|e| anyhow!("the kernel command line: {e}"))
    }
}

/// The state file and its lock.
struct Store {
    dir: PathBuf,
}

impl Store {
    /// The saved state, if there is one and it belongs to this boot.
    fn read(&self, boot_id: &str) -> Result<Option<Watchdog>> {
        Ok(self.read_any()?.filter(|w| w.boot_id == boot_id))
    }

    fn read_any(&self) -> Result<Option<Watchdog>> {
        let path = self.dir.join(STATE_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => Watchdog::parse(&text).map(Some).map_err(|e| anyhow!("{}: {e}", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Runs `f` on the saved state (any boot's, or none) under the lock, and saves what it returns when it changed.
    fn update<T>(&self, f: impl FnOnce(Option<Watchdog>) -> Result<(Watchdog, T)>) -> Result<T> {
        fs::create_dir_all(&self.dir).with_context(|| format!("creating {}", self.dir.display()))?;
        let lock_path = self.dir.join(LOCK_FILE);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_context(|| format!("opening {}", lock_path.display()))?;
        rustix::fs::flock(&lock, FlockOperation::LockExclusive)
            .map_err(std::io::Error::from)
            .with_context(|| format!("locking {}", lock_path.display()))?;
        let saved = self.read_any()?;
        let (next, out) = f(saved.clone())?;
        if saved.as_ref() != Some(&next) {
            atomic_file::write_atomic(&self.dir.join(STATE_FILE), next.to_json().as_bytes(), 0o644)?;
        }
        // The lock goes with the descriptor.
        drop(lock);
        Ok(out)
    }

    /// Applies `f` to this boot's watchdog (there must be one).
    fn change<T>(&self, boot_id: &str, f: impl FnOnce(&mut Watchdog) -> T) -> Result<T> {
        self.update(|saved| {
            let mut w = saved.filter(|w| w.boot_id == boot_id).ok_or_else(not_on_this_boot)?;
            let out = f(&mut w);
            Ok((w, out))
        })
    }
}

fn not_on_this_boot() -> anyhow::Error {
    anyhow!(
        "no rollback watchdog runs on this boot (the kernel command line has no {}=, or its unit has not started)",
        watchdog::CMDLINE_KEY
    )
}

/// `cancel` and `rearm`.
fn change(
    machine: &Machine,
    store: &Store,
    f: impl FnOnce(&mut Watchdog, Uptime) -> Result<String, String>,
) -> Result<i32> {
    let (boot_id, now) = (machine.boot_id()?, machine.now()?);
    let message = store.change(&boot_id, |w| f(w, now))?.map_err(|e| anyhow!(e))?;
    println!("nixos-images rollback watchdog: {message}");
    Ok(0)
}

fn status(machine: &Machine, store: &Store, login: bool) -> Result<i32> {
    let boot_id = machine.boot_id()?;
    let Some(mut w) = store.read(&boot_id)? else {
        if !login {
            println!("nixos-images rollback watchdog: {}", not_on_this_boot());
        }
        return Ok(0);
    };
    // An SSH login shell starts within moments of sshd's `Accepted` line: give `run` the time to see it.
    if login && std::env::var_os("SSH_CONNECTION").is_some() {
        let until = Instant::now() + Duration::from_secs(3);
        while matches!(w.phase, Phase::Armed { .. } | Phase::Cancelled { .. }) && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(200));
            w = store.read(&boot_id)?.unwrap_or(w);
        }
    }
    let line = format!("nixos-images rollback watchdog: {}", w.describe(machine.now()?));
    // A login shell's banner goes to stderr: a script's `bash -l -c ...` keeps its output clean.
    if login {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
    Ok(0)
}

/// What the log reader thread sends.
enum LogEvent {
    Line(String),
    /// Its output ended (the command exited, or closed stdout).
    Ended,
}

fn watch(machine: &Machine, store: &Store, log_command: &[OsString]) -> Result<i32> {
    let Some(timeout_ms) = machine.timeout_ms()? else {
        println!(
            "nixos-images rollback watchdog: off ({}= is not on the kernel command line, or 0)",
            watchdog::CMDLINE_KEY
        );
        return Ok(0);
    };
    let (boot_id, now) = (machine.boot_id()?, machine.now()?);
    let w = store.update(|saved| {
        let (w, note) = Watchdog::resume(saved, &boot_id, timeout_ms, now);
        if let Some(note) = note {
            warn(&note);
        }
        Ok((w.clone(), w))
    })?;
    match w.phase {
        Phase::Disarmed { .. } => {
            println!("nixos-images rollback watchdog: {}", w.describe(now));
            return Ok(0);
        }
        // A reboot that did not happen: try again.
        Phase::Rebooting { .. } => return reboot(machine),
        Phase::Armed { .. } | Phase::Cancelled { .. } => {}
    }
    let (tx, rx) = mpsc::channel();
    let mut log = LogFollower::start(log_command, tx.clone())?;
    loop {
        // The clock first: the countdown is on the console as soon as the agent starts.
        let now = machine.now()?;
        match store.change(&boot_id, |w| w.tick(now))? {
            Some(Action::Announce(line)) => println!("{line}"),
            Some(Action::Reboot(line)) => {
                println!("{line}");
                log.stop();
                return reboot(machine);
            }
            None => {}
        }
        match rx.recv_timeout(TICK) {
            Ok(LogEvent::Line(line)) => {
                if let Some(login) = watchdog::sshd_login(&line) {
                    let now = machine.now()?;
                    if let Some(message) = store.change(&boot_id, |w| w.login(login, now))? {
                        println!("{message}");
                    }
                    if matches!(store.read(&boot_id)?.map(|w| w.phase), Some(Phase::Disarmed { .. })) {
                        log.stop();
                        return Ok(0);
                    }
                }
            }
            Ok(LogEvent::Ended) => {
                let how = match log.child.wait() {
                    Ok(s) => s.to_string(),
                    Err(e) => e.to_string(),
                };
                warn(&format!("the log command ended ({how}); starting it again in 2 s"));
                std::thread::sleep(Duration::from_secs(2));
                log = LogFollower::start(log_command, tx.clone())?;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => unreachable!("this loop holds a sender"),
        }
    }
}

/// The log command, its stdout read line by line on a thread of its own.
struct LogFollower {
    child: Child,
}

impl LogFollower {
    fn start(command: &[OsString], tx: Sender<LogEvent>) -> Result<LogFollower> {
        let (program, args) = command.split_first().expect("clap requires a log command");
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting the log command {}", Path::new(program).display()))?;
        let stdout = child.stdout.take().expect("stdout is piped");
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match reader.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf).trim_end_matches(['\n', '\r']).to_string();
                        if tx.send(LogEvent::Line(line)).is_err() {
                            return;
                        }
                    }
                }
            }
            let _ = tx.send(LogEvent::Ended);
        });
        Ok(LogFollower { child })
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reboots into the system on disk: a quick reboot through systemd (`--force`: nothing of the installer needs to
/// be stopped cleanly), and the kernel's own immediate reboot (sysrq `b`) when there is no systemd or it does not
/// happen within [`SYSTEMCTL_GRACE`]. File systems are synced first.
fn reboot(machine: &Machine) -> Result<i32> {
    rustix::fs::sync();
    match Command::new("systemctl").args(["reboot", "--force"]).status() {
        Ok(s) if s.success() => {
            std::thread::sleep(SYSTEMCTL_GRACE);
            warn(&format!("still running {} s after `systemctl reboot --force`", SYSTEMCTL_GRACE.as_secs()));
        }
        Ok(s) => warn(&format!("`systemctl reboot --force` failed ({s})")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => warn(&format!("running `systemctl reboot --force`: {e}")),
    }
    println!("nixos-images rollback watchdog: rebooting now (sysrq b)");
    let trigger = machine.proc.join("sysrq-trigger");
    fs::write(&trigger, "b").with_context(|| format!("writing b to {}", trigger.display()))?;
    // On a real kernel the write does not return.
    bail!("{} took `b` and the machine did not reboot", trigger.display())
}
