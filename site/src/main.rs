//! `nixos-images-site`: builds the static docs site, or serves a built one on loopback for a preview.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "nixos-images-site", version, about = "Build and preview the nixos-images docs site")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Render the pages, the downloads page and the CLI reference into a directory of static files
    Build {
        /// Directory of release manifests (`manifest.json` of each release; `*.json`, searched recursively);
        /// repeatable
        #[arg(long, value_name = "DIR", required = true)]
        manifests: Vec<PathBuf>,
        /// Output directory (created)
        #[arg(long, value_name = "DIR", default_value = "public")]
        out: PathBuf,
        /// The path the site is published under; every link is relative, this only checks the generator's build
        #[arg(long, value_name = "PATH", default_value = "/")]
        base_url: String,
        /// A theme directory whose files replace the embedded templates and assets of the same name
        #[arg(long, value_name = "DIR")]
        theme: Option<PathBuf>,
        /// The web generator, prebuilt by trunk (its dist directory), published at generator/
        #[arg(long, value_name = "DIR")]
        generator: Option<PathBuf>,
        /// `nixos-images-gen reference --json` output (default: the copy built into this binary)
        #[arg(long, value_name = "FILE")]
        reference: Option<PathBuf>,
        /// A channel the downloads page must list, shown as missing without a manifest (repeatable)
        #[arg(long, value_name = "CHANNEL")]
        expect_channel: Vec<String>,
    },
    /// Serve a built site on 127.0.0.1 for a local preview
    Serve {
        /// The built site
        #[arg(long, value_name = "DIR", default_value = "public")]
        dir: PathBuf,
        /// Port on 127.0.0.1 (0: any free port)
        #[arg(long, default_value_t = 8000)]
        port: u16,
        /// The path to serve the site under
        #[arg(long, value_name = "PATH", default_value = "/")]
        base_url: String,
    },
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.cmd {
        Cmd::Build { manifests, out, base_url, theme, generator, reference, expect_channel } => {
            let start = Instant::now();
            let report = nixos_images_site::build(&nixos_images_site::Options {
                manifests,
                out: out.clone(),
                base_url,
                theme,
                generator,
                reference,
                expect_channels: expect_channel,
            })?;
            eprintln!(
                "wrote {} files ({} releases) to {} in {:.3}s",
                report.files.len(),
                report.releases,
                out.display(),
                start.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Cmd::Serve { dir, port, base_url } => {
            anyhow::ensure!(dir.join("index.html").is_file(), "{}: no index.html (run `build` first)", dir.display());
            let server = nixos_images_site::serve::start(&dir, &base_url, &format!("127.0.0.1:{port}"))?;
            eprintln!("serving {} at {} (Ctrl-C stops)", dir.display(), server.url(""));
            loop {
                std::thread::park();
            }
        }
    }
}
