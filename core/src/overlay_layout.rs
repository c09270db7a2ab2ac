//! Overlay layout v1 (ARCHITECTURE.md, **API Boundary**): every path and mode of the config overlay, the one home
//! both sides use: the writers (`render::overlay`, the kexec run script through `render::kexec_run`) and the
//! reader (`agent::install`, `apply-overlay`). Names the seed's installers already read are kept.

/// Version of the layout, written to [`LAYOUT_VERSION_FILE`].
pub const LAYOUT_VERSION: u32 = 1;
/// File name of the overlay next to the iPXE script and inside bundles.
pub const OVERLAY_FILE_NAME: &str = "nixos-images-overlay.cpio.gz";

/// Root's authorized keys (the seed's name: its installers copy it to `/root/.ssh/authorized_keys`).
pub const AUTHORIZED_KEYS: &str = "ssh/authorized_keys";
/// The directory of the keys and of the machine's host keys (`ssh/ssh_host_*`).
pub const SSH_DIR: &str = "ssh";
pub const MACHINE_ID: &str = "machine-id";
/// The machine's own networkd units of each configured link (`00-<link>.{netdev,link,network}`).
pub const IFACE_NETWORKD_DIR: &str = "networkd/iface";
/// The `ip --json` dumps (`ip --json addr`, `ip -4`/`ip -6 --json route`), at the top level, where upstream's
/// installer reads them.
pub const ADDRS_DUMP: &str = "addrs.json";
pub const ROUTES_V4_DUMP: &str = "routes-v4.json";
pub const ROUTES_V6_DUMP: &str = "routes-v6.json";
pub const DUMP_FILES: &[&str] = &[ADDRS_DUMP, ROUTES_V4_DUMP, ROUTES_V6_DUMP];
/// Where an early run script also wrote the dumps; read first when present.
pub const LEGACY_DUMP_DIR: &str = "iproute2";

pub const LAYOUT_VERSION_FILE: &str = "nixos-images/layout-version";
pub const HOSTNAME_FILE: &str = "nixos-images/hostname";
pub const NAMESERVERS_FILE: &str = "nixos-images/nameservers";
/// The request's networkd units (`00-00-nixos-images-NNN.network`).
pub const NETWORKD_DIR: &str = "nixos-images/networkd";

/// Modes inside the overlay: every directory, the keys, other files.
pub const DIR_MODE: u32 = 0o700;
pub const KEY_MODE: u32 = 0o600;
pub const FILE_MODE: u32 = 0o644;
