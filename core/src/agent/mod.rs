//! The logic of `nixos-images-agent`, the static binary the images put into the initrd and the system. The binary
//! (cli/src/bin/nixos-images-agent) reads files and runs commands; every decision is made here, without I/O, so it
//! is unit-tested and property-tested like the renderers.
//!
//! - [`iproute`]: reading `ip --json` dumps (any JSON, never a panic).
//! - [`restore`]: `restore-network`, the dumps as systemd-networkd units.
//! - [`install`]: `apply-overlay`, where the overlay's files go in the target root.
//! - [`preflight`]: `preflight`, whether a kexec can go ahead.
//! - [`watchdog`]: `watchdog`, the installer's rollback watchdog (reboot unless someone logs in over SSH).

pub mod install;
pub mod iproute;
pub mod preflight;
pub mod restore;
pub mod watchdog;
