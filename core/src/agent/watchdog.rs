//! `watchdog`: the rollback watchdog of this project's kexec installer. After a kexec, unless someone logs in
//! over SSH in time, the installer reboots, and the machine comes back in the system on its disk: a server that
//! kexeced into an installer nobody can reach (wrong address, missing driver, no DHCP) is not lost.
//!
//! The deadline is counted from the installer's boot (its uptime, `CLOCK_BOOTTIME`), so it depends only on the
//! kernel command line ([`CMDLINE_KEY`], which the run script adds) and not on when, or how often, the agent
//! started. The state (armed, cancelled, disarmed by a login, rebooting) is kept by the agent in a file of the
//! running system; a state of another boot is never taken for this one's.
//!
//! What counts as a login is a line of OpenSSH's log ([`sshd_login`]): `Accepted <method> for <user> from ...`,
//! the line sshd writes once authentication has succeeded, with or without a terminal (nixos-anywhere logs in
//! with `ssh ... exit 0`). Once a login succeeded the watchdog is off for good: the person may be in the middle of
//! an install, and a reboot then could leave a disk that boots nothing.
//!
//! **API Boundary:** the state file is a stable schema, [`SCHEMA`]; fields are only ever added.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The `schema` field of the state file.
pub const SCHEMA: &str = "nixos-images-agent/watchdog/v1";

/// The kernel parameter that arms the watchdog: seconds from the installer's boot (0: off). The last one on the
/// command line wins, so one in a request's `kernel_params` overrides the run script's.
pub const CMDLINE_KEY: &str = "nixos_images.rollback_seconds";

/// The longest timeout the kernel parameter may name: a day.
pub const MAX_SECONDS: u64 = 24 * 60 * 60;

/// The least warning on the console before a reboot, however late the agent started.
pub const MIN_WARNING_MS: u64 = 10_000;

/// Time since the installer booted, in milliseconds (`/proc/uptime`, which counts suspended time too).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Uptime(pub u64);

impl Uptime {
    /// The first field of `/proc/uptime` (`12345.67 23456.78`).
    pub fn parse_proc_uptime(text: &str) -> Result<Uptime, String> {
        let first = text.split_whitespace().next().ok_or("empty")?;
        let (secs, frac) = first.split_once('.').unwrap_or((first, ""));
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(secs) || !(frac.is_empty() || digits(frac)) {
            return Err(format!("`{first}` is not a number of seconds"));
        }
        let secs: u64 = secs.parse().map_err(|_| format!("`{first}` is out of range"))?;
        // Milliseconds from up to three digits of the fraction (the kernel prints two).
        let ms = frac.bytes().chain(std::iter::repeat(b'0')).take(3).fold(0, |n, b| n * 10 + u64::from(b - b'0'));
        secs.checked_mul(1000)
            .and_then(|s| s.checked_add(ms))
            .map(Uptime)
            .ok_or_else(|| format!("`{first}` is out of range"))
    }

    fn saturating_add(self, ms: u64) -> Uptime {
        Uptime(self.0.saturating_add(ms))
    }
}

/// `1:02:03` after boot.
impl fmt::Display for Uptime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0 / 1000;
        write!(f, "{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    }
}

/// A duration as a person reads it on the console: `15 min`, `4 min 30 s`, `10 s`.
pub fn human(ms: u64) -> String {
    let s = ms.div_ceil(1000);
    match (s / 60, s % 60) {
        (0, s) => format!("{s} s"),
        (m, 0) => format!("{m} min"),
        (m, s) => format!("{m} min {s} s"),
    }
}

/// The timeout the kernel command line asks for: `None` when the parameter is absent or 0 (off).
pub fn timeout_from_cmdline(cmdline: &str) -> Result<Option<u64>, String> {
    let prefix = format!("{CMDLINE_KEY}=");
    match cmdline.split_whitespace().rev().find_map(|w| w.strip_prefix(&prefix)) {
        None => Ok(None),
        Some(value) => parse_seconds(value).map(|s| (s > 0).then_some(s * 1000)),
    }
}

/// The value of [`CMDLINE_KEY`]: whole seconds, at most [`MAX_SECONDS`]. Validation checks a request's
/// `kernel_params` with it, so the agent never meets a value the request could not have.
pub fn parse_seconds(value: &str) -> Result<u64, String> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) || value.len() > 10 {
        return Err(format!("{CMDLINE_KEY}= takes whole seconds (0: off), not `{value}`"));
    }
    let s: u64 = value.parse().map_err(|_| format!("{CMDLINE_KEY}= takes whole seconds, not `{value}`"))?;
    if s > MAX_SECONDS {
        return Err(format!("{CMDLINE_KEY}= must be at most {MAX_SECONDS} seconds (a day), not {s}"));
    }
    Ok(s)
}

/// A successful SSH login, as sshd logged it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    pub user: String,
    pub from: String,
    /// `publickey`, `password`, `keyboard-interactive/pam`, ...
    pub method: String,
}

/// The login a line of OpenSSH's log records, if it records one: `Accepted publickey for root from 10.0.2.2
/// port 51234 ssh2: ED25519 SHA256:...`. The line is the message alone (`journalctl -o cat`, `sshd -e`).
///
/// Nothing else counts: not `Failed`, `Postponed` or `Partial` (one factor of several), and not the `Accepted key
/// ... found at` line sshd logs at a higher log level while it only looks the key up, before the signature is
/// checked. A message must start with `Accepted`; text a client chooses (a user name, a key comment) only ever
/// appears later in a line, so it cannot make a failed attempt look like a login.
pub fn sshd_login(line: &str) -> Option<Login> {
    let words: Vec<&str> = line.trim_end().split(' ').collect();
    match words.as_slice() {
        ["Accepted", method, "for", user, "from", from, "port", port, proto, ..]
            if port.bytes().all(|b| b.is_ascii_digit())
                && !port.is_empty()
                && proto.starts_with("ssh2")
                && !user.is_empty()
                && !from.is_empty() =>
        {
            Some(Login { user: user.to_string(), from: from.to_string(), method: method.to_string() })
        }
        _ => None,
    }
}

/// Where the watchdog stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "kebab-case")]
pub enum Phase {
    /// It reboots the machine at `deadline`.
    Armed { deadline: Uptime },
    /// A person cancelled it; a login still turns it off for good, `rearm` starts it again.
    Cancelled { at: Uptime },
    /// A login succeeded: off for good.
    Disarmed { at: Uptime, login: Login },
    /// The deadline passed and the reboot was started.
    Rebooting { at: Uptime },
}

/// The watchdog of one boot: what the state file holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Watchdog {
    pub schema: String,
    /// `/proc/sys/kernel/random/boot_id`: a state of another boot is not this one's.
    pub boot_id: String,
    /// The timeout the command line named, in milliseconds (what `rearm` uses when given none).
    pub timeout_ms: u64,
    #[serde(flatten)]
    pub phase: Phase,
    /// The announcement step last printed (see [`announcement_step`]), so that each is printed once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announced: Option<u64>,
}

/// What the agent has to do after a [`Watchdog::tick`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Print this on the console.
    Announce(String),
    /// Print this, then reboot.
    Reboot(String),
}

/// The command a person runs to cancel the watchdog (the console and the login banner say it).
pub const CANCEL_COMMAND: &str = "nixos-images-agent watchdog cancel";

/// The step of the remaining time an announcement belongs to, in seconds: every 5 minutes above 5 minutes, every
/// minute below, then 30 s and 10 s. A console line is printed when the step changes, so a stalled machine that
/// skipped several steps prints one line, not many.
pub fn announcement_step(remaining_ms: u64) -> u64 {
    let s = remaining_ms.div_ceil(1000);
    match s {
        301.. => s.div_ceil(300) * 300,
        61..=300 => s.div_ceil(60) * 60,
        31..=60 => 60,
        11..=30 => 30,
        _ => 10,
    }
}

impl Watchdog {
    /// The watchdog of this boot: `saved` if it belongs to it (a restarted agent keeps its deadline, its cancel and
    /// its login), else a new one armed for `timeout_ms` after boot, and never less than [`MIN_WARNING_MS`] from
    /// `now`. The second value says why a saved state was not used.
    pub fn resume(saved: Option<Watchdog>, boot_id: &str, timeout_ms: u64, now: Uptime) -> (Watchdog, Option<String>) {
        let mut note = None;
        if let Some(saved) = saved {
            if saved.boot_id == boot_id {
                return (saved, None);
            }
            note = Some(format!("the saved state belongs to another boot ({}); starting afresh", saved.boot_id));
        }
        let deadline = Uptime(timeout_ms).max(now.saturating_add(MIN_WARNING_MS));
        let armed = Watchdog {
            schema: SCHEMA.to_string(),
            boot_id: boot_id.to_string(),
            timeout_ms,
            phase: Phase::Armed { deadline },
            announced: None,
        };
        (armed, note)
    }

    /// Reads a state file.
    pub fn parse(text: &str) -> Result<Watchdog, String> {
        let w: Watchdog = serde_json::from_str(text).map_err(|e| format!("not a watchdog state: {e}"))?;
        if w.schema != SCHEMA {
            return Err(format!("schema `{}` is not {SCHEMA}", w.schema));
        }
        Ok(w)
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a watchdog state serializes");
        text.push('\n');
        text
    }

    /// A login was seen: off for good, unless the reboot already started. Returns the line to print when this
    /// login is the one that turned it off.
    pub fn login(&mut self, login: Login, now: Uptime) -> Option<String> {
        match self.phase {
            Phase::Armed { .. } | Phase::Cancelled { .. } => {
                let line = format!(
                    "nixos-images rollback watchdog: off for good: {} logged in over SSH from {} ({}) at {now} \
                     after boot; the installer stays up",
                    login.user, login.from, login.method
                );
                self.phase = Phase::Disarmed { at: now, login };
                Some(line)
            }
            Phase::Disarmed { .. } | Phase::Rebooting { .. } => None,
        }
    }

    /// `watchdog cancel`: stop the countdown (a login or `rearm` may follow).
    pub fn cancel(&mut self, now: Uptime) -> Result<String, String> {
        match &self.phase {
            Phase::Armed { .. } => {
                self.phase = Phase::Cancelled { at: now };
                Ok("cancelled: the installer stays up; `nixos-images-agent watchdog rearm` starts the countdown again"
                    .to_string())
            }
            Phase::Cancelled { at } => Ok(format!("already cancelled (at {at} after boot)")),
            Phase::Disarmed { .. } => Ok(format!("already off for good: {}", self.describe(now))),
            Phase::Rebooting { at } => Err(format!("too late: the reboot started at {at} after boot")),
        }
    }

    /// `watchdog rearm`: count down again from now, for `ms` or the command line's timeout. Refused once a login
    /// succeeded: off for good means a reboot can never interrupt an install.
    pub fn rearm(&mut self, ms: Option<u64>, now: Uptime) -> Result<String, String> {
        let ms = ms.unwrap_or(self.timeout_ms);
        if ms == 0 {
            return Err("a re-armed watchdog needs a timeout above 0 (`watchdog cancel` stops it)".to_string());
        }
        match &self.phase {
            Phase::Armed { .. } | Phase::Cancelled { .. } => {
                let deadline = now.saturating_add(ms);
                self.phase = Phase::Armed { deadline };
                self.announced = None;
                Ok(format!(
                    "armed: reboots into the system on disk in {} (at {deadline} after boot) unless someone logs in \
                     over SSH",
                    human(ms)
                ))
            }
            Phase::Disarmed { .. } => Err(format!(
                "{}; it stays off for good, so that a reboot can never interrupt an install",
                self.describe(now)
            )),
            Phase::Rebooting { at } => Err(format!("too late: the reboot started at {at} after boot")),
        }
    }

    /// The clock moved on: announce the time left when its step changed, or reboot once the deadline passed.
    pub fn tick(&mut self, now: Uptime) -> Option<Action> {
        let Phase::Armed { deadline } = self.phase else { return None };
        if now >= deadline {
            self.phase = Phase::Rebooting { at: now };
            return Some(Action::Reboot(format!(
                "nixos-images rollback watchdog: nobody logged in over SSH by {deadline} after boot; rebooting into \
                 the system on disk"
            )));
        }
        let remaining = deadline.0 - now.0;
        let step = announcement_step(remaining);
        if self.announced == Some(step) {
            return None;
        }
        self.announced = Some(step);
        Some(Action::Announce(format!("nixos-images rollback watchdog: {}", self.describe(now))))
    }

    /// One line on where the watchdog stands (the console, `watchdog status`, the login banner).
    pub fn describe(&self, now: Uptime) -> String {
        match &self.phase {
            Phase::Armed { deadline } => format!(
                "no SSH login yet: rebooting into the system on disk in {} (at {deadline} after boot); log in over \
                 SSH, or run `{CANCEL_COMMAND}`, to keep the installer",
                human(deadline.0.saturating_sub(now.0))
            ),
            Phase::Cancelled { at } => format!(
                "cancelled at {at} after boot: the installer stays up (`nixos-images-agent watchdog rearm` starts \
                 the countdown again)"
            ),
            Phase::Disarmed { at, login } => {
                format!("off for good: {} logged in over SSH from {} at {at} after boot", login.user, login.from)
            }
            Phase::Rebooting { at } => format!("rebooting into the system on disk since {at} after boot"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOT: &str = "6f1c2b8e-2d0a-4b57-9c1e-8f7a4e3d2c1b";
    const ACCEPTED: &str = "Accepted publickey for root from 10.0.2.2 port 51234 ssh2: ED25519 SHA256:abcdEFGH";

    fn secs(s: u64) -> Uptime {
        Uptime(s * 1000)
    }

    fn armed(timeout_s: u64, now_s: u64) -> Watchdog {
        Watchdog::resume(None, BOOT, timeout_s * 1000, secs(now_s)).0
    }

    fn root_login() -> Login {
        sshd_login(ACCEPTED).unwrap()
    }

    #[test]
    fn what_counts_as_a_login() {
        assert_eq!(
            sshd_login(ACCEPTED),
            Some(Login { user: "root".into(), from: "10.0.2.2".into(), method: "publickey".into() })
        );
        // Without a terminal, by password or through PAM: a person reached the machine all the same.
        for line in [
            "Accepted password for root from 2001:db8::7 port 40000 ssh2",
            "Accepted keyboard-interactive/pam for nixos from 192.0.2.1 port 22 ssh2",
            "Accepted publickey for root from 10.0.2.2 port 1 ssh2: RSA-CERT SHA256:x ID alice (serial 7) CA ED25519",
        ] {
            assert!(sshd_login(line).is_some(), "{line}");
        }
        for line in [
            // Attempts that did not log in.
            "Failed publickey for root from 10.0.2.2 port 51234 ssh2: ED25519 SHA256:abcd",
            "Postponed publickey for root from 10.0.2.2 port 51234 ssh2 [preauth]",
            "Partial publickey for root from 10.0.2.2 port 51234 ssh2: ED25519 SHA256:abcd",
            "Connection closed by authenticating user root 10.0.2.2 port 51234 [preauth]",
            // The key lookup before the signature is checked (LogLevel VERBOSE).
            "Accepted key ED25519 SHA256:abcd found at /root/.ssh/authorized_keys:1",
            // A client's user name is its own text: it only ever follows another word.
            "Invalid user Accepted publickey for root from 10.0.2.2 port 1 ssh2 from 10.0.2.9 port 4",
            "Failed none for invalid user Accepted publickey for root from 1.2.3.4 port 5 ssh2",
            // A syslog prefix: the agent reads messages alone, and guessing at prefixes would reopen the door.
            "sshd[812]: Accepted publickey for root from 10.0.2.2 port 51234 ssh2: ED25519 SHA256:abcd",
            " Accepted publickey for root from 10.0.2.2 port 51234 ssh2",
            "Accepted publickey for root from 10.0.2.2 port x ssh2",
            "Accepted publickey for root from 10.0.2.2 port 22",
            "",
        ] {
            assert_eq!(sshd_login(line), None, "{line:?}");
        }
    }

    #[test]
    fn the_deadline_counts_from_boot_with_a_least_warning() {
        assert_eq!(armed(900, 4).phase, Phase::Armed { deadline: secs(900) });
        // Started after the deadline (a slow boot): ten seconds on the console before the reboot.
        assert_eq!(armed(60, 200).phase, Phase::Armed { deadline: Uptime(200_000 + MIN_WARNING_MS) });
        assert_eq!(armed(60, 55).phase, Phase::Armed { deadline: Uptime(65_000) });
    }

    #[test]
    fn a_restarted_agent_keeps_its_state_but_not_another_boots() {
        let mut w = armed(900, 4);
        w.cancel(secs(30)).unwrap();
        let (again, note) = Watchdog::resume(Some(w.clone()), BOOT, 900_000, secs(40));
        assert_eq!((again, note), (w.clone(), None));
        let (fresh, note) = Watchdog::resume(Some(w), "another-boot", 900_000, secs(40));
        assert_eq!(fresh.phase, Phase::Armed { deadline: secs(900) });
        assert!(note.unwrap().contains("another boot"));
    }

    #[test]
    fn ticks_announce_each_step_once_then_reboot_at_the_deadline() {
        let mut w = armed(900, 3);
        let mut lines = vec![];
        for s in 3..=900 {
            match w.tick(secs(s)) {
                Some(Action::Announce(line)) => lines.push((s, line)),
                Some(Action::Reboot(_)) => {
                    assert_eq!(s, 900, "rebooted early");
                    break;
                }
                None => {}
            }
        }
        assert_eq!(w.phase, Phase::Rebooting { at: secs(900) });
        let at: Vec<u64> = lines.iter().map(|(s, _)| *s).collect();
        // 15 min (first tick), 10 and 5 min, then each minute, 30 s and 10 s.
        assert_eq!(at, vec![3, 300, 600, 660, 720, 780, 840, 870, 890]);
        assert!(lines[0].1.contains("in 14 min 57 s (at 0:15:00 after boot)"), "{}", lines[0].1);
        assert!(lines[0].1.contains(CANCEL_COMMAND), "{}", lines[0].1);
        assert!(lines[8].1.contains("in 10 s"), "{}", lines[8].1);
        // Rebooting: nothing more to do, whatever the clock says.
        assert_eq!(w.tick(secs(901)), None);
    }

    #[test]
    fn the_deadline_itself_reboots_and_a_stalled_machine_announces_once() {
        let mut w = armed(120, 0);
        assert!(matches!(w.tick(secs(1)), Some(Action::Announce(_))));
        // Frozen for 110 s: one line for where it is now, not one per step it skipped.
        assert!(matches!(w.tick(secs(111)), Some(Action::Announce(ref l)) if l.contains("in 9 s")));
        assert_eq!(w.tick(Uptime(119_999)), None);
        assert!(matches!(w.tick(secs(120)), Some(Action::Reboot(_))));
        // A clock that jumps far past the deadline reboots at once.
        let mut late = armed(120, 0);
        assert!(matches!(late.tick(secs(86_400)), Some(Action::Reboot(_))));
    }

    #[test]
    fn a_login_turns_it_off_for_good() {
        let mut w = armed(900, 3);
        let line = w.login(root_login(), secs(42)).unwrap();
        assert!(line.contains("root logged in over SSH from 10.0.2.2"), "{line}");
        assert_eq!(w.tick(secs(900)), None);
        assert_eq!(w.tick(secs(100_000)), None);
        // A second login changes nothing; re-arming is refused, cancelling says so.
        assert_eq!(w.login(root_login(), secs(50)), None);
        assert!(matches!(&w.phase, Phase::Disarmed { at, .. } if *at == secs(42)));
        let err = w.rearm(None, secs(60)).unwrap_err();
        assert!(err.contains("stays off for good"), "{err}");
        assert!(w.cancel(secs(60)).unwrap().contains("already off for good"));
        // A login after a cancel is one too.
        let mut c = armed(900, 3);
        c.cancel(secs(10)).unwrap();
        assert!(c.login(root_login(), secs(20)).is_some());
        assert!(c.rearm(None, secs(30)).is_err());
        // Too late once the reboot started.
        let mut r = armed(60, 0);
        r.tick(secs(60));
        assert_eq!(r.login(root_login(), secs(61)), None);
        assert!(r.cancel(secs(61)).is_err() && r.rearm(None, secs(61)).is_err());
    }

    #[test]
    fn cancel_and_rearm() {
        let mut w = armed(900, 3);
        assert!(w.cancel(secs(100)).unwrap().starts_with("cancelled"));
        assert!(w.cancel(secs(101)).unwrap().starts_with("already cancelled"));
        assert_eq!(w.tick(secs(5000)), None, "a cancelled watchdog never reboots");
        // Re-armed: the full timeout from now (not from boot), announced afresh.
        let msg = w.rearm(None, secs(5000)).unwrap();
        assert!(msg.contains("in 15 min (at 1:38:20 after boot)"), "{msg}");
        assert!(matches!(w.tick(secs(5001)), Some(Action::Announce(_))));
        // Re-armed while armed: a new deadline, shorter or longer.
        w.rearm(Some(60_000), secs(5010)).unwrap();
        assert_eq!(w.phase, Phase::Armed { deadline: secs(5070) });
        assert!(matches!(w.tick(secs(5070)), Some(Action::Reboot(_))));
        assert!(armed(900, 0).rearm(Some(0), secs(1)).is_err());
    }

    #[test]
    fn the_kernel_parameter() {
        assert_eq!(timeout_from_cmdline("init=/x console=ttyS0"), Ok(None));
        assert_eq!(timeout_from_cmdline("nixos_images.rollback_seconds=900 quiet"), Ok(Some(900_000)));
        // The last one wins (a request's kernel_params come after the run script's), and 0 is off.
        assert_eq!(
            timeout_from_cmdline("nixos_images.rollback_seconds=900 nixos_images.rollback_seconds=25"),
            Ok(Some(25_000))
        );
        assert_eq!(timeout_from_cmdline("nixos_images.rollback_seconds=900 nixos_images.rollback_seconds=0"), Ok(None));
        for bad in ["", "-1", "15m", "1.5", "86401", "99999999999999999999"] {
            let line = format!("nixos_images.rollback_seconds={bad}");
            assert!(timeout_from_cmdline(&line).is_err(), "{line}");
        }
        assert_eq!(parse_seconds("86400"), Ok(86_400));
    }

    #[test]
    fn uptime_and_durations() {
        assert_eq!(Uptime::parse_proc_uptime("12345.67 23456.78\n"), Ok(Uptime(12_345_670)));
        assert_eq!(Uptime::parse_proc_uptime("7 1"), Ok(Uptime(7000)));
        for bad in ["", "x 1", "-1.0 2", "1.x 2", ".5 1", "99999999999999999999.0 1"] {
            assert!(Uptime::parse_proc_uptime(bad).is_err(), "{bad:?}");
        }
        assert_eq!(secs(3723).to_string(), "1:02:03");
        assert_eq!(
            (human(900_000), human(270_000), human(9_001), human(0)),
            ("15 min".to_string(), "4 min 30 s".to_string(), "10 s".to_string(), "0 s".to_string())
        );
    }

    #[test]
    fn the_state_file_round_trips_and_names_its_schema() {
        let mut w = armed(900, 3);
        w.tick(secs(4));
        w.login(root_login(), secs(42));
        let text = w.to_json();
        assert!(text.contains("\"phase\": \"disarmed\"") && text.contains(SCHEMA), "{text}");
        assert_eq!(Watchdog::parse(&text), Ok(w));
        assert!(Watchdog::parse(&text.replace("/v1", "/v2")).unwrap_err().contains("schema"));
        assert!(Watchdog::parse("{}").is_err());
    }
}
