//! `nixos-images-gen`: gathers the request from files and flags, calls core, places the output.

use clap::Parser;
use nixos_images_cli::cli::{Cli, Cmd};
use nixos_images_cli::cmd;
use nixos_images_cli::errors::{UsageError, EXIT_USAGE};

fn main() {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Render(args) => cmd::render::run(&args),
        Cmd::Bundle(args) => cmd::bundle::run(&args),
        Cmd::Customize(args) => cmd::customize::run(&args),
        Cmd::Check(args) => cmd::check::run(&args),
        Cmd::Example(args) => cmd::example::run(&args),
        Cmd::Links(args) => cmd::links::run(&args),
        Cmd::Build(args) => cmd::build::run(&args),
        Cmd::Release(args) => cmd::release::run(&args),
        Cmd::Fleet(args) => cmd::fleet::run(&args),
        Cmd::Serve(args) => cmd::serve::run(&args),
        Cmd::Completions(args) => cmd::completions::run(&args),
        Cmd::Man(args) => cmd::man::run(&args),
        Cmd::Reference(args) => cmd::reference::run(&args),
    };
    if let Err(err) = result {
        if let Some(usage) = err.downcast_ref::<UsageError>() {
            for line in &usage.0 {
                eprintln!("error: {line}");
            }
            std::process::exit(EXIT_USAGE);
        }
        // One line: the outermost context, then each cause.
        let chain: Vec<String> = err.chain().map(|c| c.to_string()).collect();
        eprintln!("error: {}", chain.join(": "));
        std::process::exit(1);
    }
}
