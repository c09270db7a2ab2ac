//! The command line: one `Cmd` enum, one `...Args` struct per subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// Validate a request and print a summary, or every problem
    Check(CheckArgs),
    /// Print a complete example request
    Example(ExampleArgs),
    /// Print the release download URLs for a channel and arch
    Links(LinksArgs),
    /// Print shell completions
    Completions(CompletionsArgs),
    /// Write man pages for the command and every subcommand
    Man(ManArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RenderKind {
    /// iPXE script (netboot)
    Ipxe,
    /// NixOS module override (.nix)
    NixModule,
    /// kexec/run script (kexec images)
    KexecRun,
    /// Copy-paste install command (kexec images)
    KexecCommand,
    /// systemd-networkd units (-o names a directory)
    Networkd,
    /// Kernel parameters the request adds
    Cmdline,
    /// Config overlay, a gzip'ed newc cpio
    Overlay,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// What to render
    #[arg(value_enum)]
    pub kind: RenderKind,
    /// Output file (a directory for networkd); `-` or none writes to standard output
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub request: RequestArgs,
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
