//! The command line: one `Cmd` enum, one `...Args` struct per subcommand.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::builder::TypedValueParser as _;
use clap::{Args, Parser, Subcommand, ValueEnum};
use nixos_images_core::render::ArtifactKind;

use crate::atomic_file::Durability;
use crate::request_args::RequestArgs;

#[derive(Debug, Parser)]
#[command(
    name = "nixos-images-gen",
    version,
    about = "Render, bundle and customize nixos-images artifacts (iPXE, kexec, NixOS module, overlay)",
    long_about = "Turns a request (image kind, arch, channel, SSH keys, static network, host name, kernel \
                  parameters) into every artifact needed to boot the NixOS installer: iPXE scripts, the kexec run \
                  script and install command, a NixOS module, systemd-networkd units, a config overlay and bundles.\n\n\
                  Invalid input exits with code 2 and one `error: <field>: <why>` line per problem."
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Render one artifact for a request
    Render(RenderArgs),
    /// Write a .tar.gz with every artifact for the request's image kind and a README
    Bundle(BundleArgs),
    /// Bake a request into a release artifact: a kexec tarball or a netboot initrd
    Customize(CustomizeArgs),
    /// Validate a request and print a summary, or every problem
    Check(CheckArgs),
    /// Print a complete example request
    Example(ExampleArgs),
    /// Print the release download URLs for a channel and arch
    Links(LinksArgs),
    /// Build an image with Nix, with the request's NixOS override built in
    Build(crate::cmd::build::BuildArgs),
    /// Make a release's assets, manifest.json, SHA256SUMS and signatures from Nix build outputs
    // clap does not wrap usage lines; the four required arguments would make one of 121 columns.
    #[command(override_usage = "nixos-images-gen release [OPTIONS] --output <DIR> --channel <CHANNEL> \\\n         \
                                --nixpkgs-revision <REV> <OUTPUT>...")]
    Release(crate::cmd::release::ReleaseArgs),
    /// Netboot many machines from one inventory: a static tree any web server serves
    Fleet(crate::cmd::fleet::FleetArgs),
    /// Serve a directory over HTTP for a quick netboot test (loopback unless --listen says otherwise)
    #[command(long_about = "Serve a directory over HTTP for a quick netboot test: boot.ipxe, per-host iPXE \
                            scripts, overlays and index.html, to iPXE clients and browsers.\n\n\
                            GET and HEAD only. A directory serves its index.html (there are no listings). A path \
                            with `..`, a NUL or a backslash, or one that leads out of DIR (a symlink included), is \
                            refused with 403 and never read (copy a tree of links into the Nix store with `cp -rL` \
                            first). Prints one line per request on stderr: peer, method, path, status, body bytes. Runs \
                            until stopped.")]
    Serve(ServeArgs),
    /// Print shell completions
    Completions(CompletionsArgs),
    /// Write man pages for the command and every subcommand
    Man(ManArgs),
    /// Print the command-line reference (JSON for the docs site)
    #[command(hide = true)]
    Reference(ReferenceArgs),
}

/// The artifacts `render` can write (the bundle has its own subcommand).
fn render_kind() -> impl clap::builder::TypedValueParser<Value = ArtifactKind> {
    let values = ArtifactKind::ALL
        .into_iter()
        .filter(|k| *k != ArtifactKind::Bundle)
        .map(|k| clap::builder::PossibleValue::new(k.as_str()).help(k.description()));
    clap::builder::PossibleValuesParser::new(values)
        .map(|name| ArtifactKind::ALL.into_iter().find(|k| k.as_str() == name).expect("a listed kind"))
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// What to render
    #[arg(value_parser = render_kind())]
    pub kind: ArtifactKind,
    /// Output file (a directory for networkd); `-` or none writes to standard output
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub request: RequestArgs,
    /// ipxe: fetch the overlay from URL/nixos-images-overlay.cpio.gz instead of next to the script (a script
    /// embedded into an iPXE build has no URL of its own for a relative one)
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    #[command(flatten)]
    pub release_boot: crate::cmd::render::ReleaseBootArgs,
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    /// Output file; `-` or none writes to standard output
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub request: RequestArgs,
}

#[derive(Debug, Args)]
pub struct CustomizeArgs {
    #[command(subcommand)]
    pub what: CustomizeCmd,
}

#[derive(Debug, Subcommand)]
pub enum CustomizeCmd {
    /// Bake the request into a release kexec tarball (nixos-kexec-installer-*.tar.gz)
    #[command(long_about = "Bake the request into a release kexec tarball (nixos-kexec-installer-*.tar.gz).\n\n\
                            Writes the release's tarball with entries appended after its own: kexec/run (the \
                            request's run script), kexec/run.release (the release's run script, which ours reads) \
                            and, with --agent, kexec/nixos-images-agent. Unpacking it replaces the release's \
                            kexec/run. Streams: only the end of the compressed data is rewritten.")]
    KexecTarball(CustomizeKexecArgs),
    /// Append the request's config overlay to a netboot initrd
    #[command(long_about = "Append the request's config overlay (a gzip'ed newc cpio, as `render overlay` writes) \
                            to a netboot initrd; the kernel unpacks concatenated archives in order.")]
    Initrd(CustomizeInitrdArgs),
}

#[derive(Debug, Args)]
pub struct CustomizeKexecArgs {
    /// The release's kexec tarball (nixos-kexec-installer-*.tar.gz)
    #[arg(value_name = "IN")]
    pub input: PathBuf,
    /// The customized tarball
    #[arg(long, short = 'o', value_name = "OUT")]
    pub output: PathBuf,
    /// Also add this nixos-images-agent binary, as kexec/nixos-images-agent
    #[arg(long, value_name = "PATH")]
    pub agent: Option<PathBuf>,
    #[command(flatten)]
    pub sync: SyncArg,
    #[command(flatten)]
    pub request: RequestArgs,
}

#[derive(Debug, Args)]
pub struct CustomizeInitrdArgs {
    /// The release's netboot initrd
    #[arg(value_name = "IN")]
    pub input: PathBuf,
    /// The customized initrd
    #[arg(long, short = 'o', value_name = "OUT")]
    pub output: PathBuf,
    #[command(flatten)]
    pub sync: SyncArg,
    #[command(flatten)]
    pub request: RequestArgs,
}

// `customize`'s outputs are made again by running it again, so by default it does not wait for the disk, as `cp` and
// coreos-installer do not (gzip's `--synchronous` and rsync's `--fsync` are the same choice). A plain comment: clap
// would take a doc comment of a flattened struct for the subcommand's about.
#[derive(Debug, Args)]
pub struct SyncArg {
    /// Wait until OUT is on disk before putting it in place. Without it, OUT appears whole or not at all, but a power
    /// cut just after can leave it short; with it, the run takes as long as the disk needs to write OUT
    #[arg(long)]
    pub sync: bool,
}

impl SyncArg {
    pub fn durability(&self) -> Durability {
        if self.sync {
            Durability::Synced
        } else {
            Durability::Unsynced
        }
    }
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub request: RequestArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RequestFileFormat {
    Toml,
    Json,
}

#[derive(Debug, Args)]
pub struct ExampleArgs {
    /// Format of the printed request
    #[arg(long, value_enum, default_value = "toml")]
    pub format: RequestFileFormat,
}

#[derive(Debug, Args)]
pub struct LinksArgs {
    /// Print JSON instead of one `name url` line per asset
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub request: RequestArgs,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The directory to serve
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// Address and port to listen on (port 0: any free one); any but a loopback address makes DIR reachable from
    /// the network
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Directory for the man pages (created if missing)
    #[arg(long, short = 'o', value_name = "DIR")]
    pub output: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReferenceArgs {
    /// Print JSON (schema nixos-images-gen/reference/v1) instead of the long help
    #[arg(long)]
    pub json: bool,
}
