//! CLI transcripts (tests/cmd/*.md, run with trycmd) and interface guards.

use std::process::Command;

use clap::CommandFactory;
use nixos_images_cli::cli::Cli;

#[test]
fn transcripts() {
    trycmd::TestCases::new().case("tests/cmd/*.md");
}

fn help_of(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_nixos-images-gen")).args(args).arg("--help").output().unwrap();
    assert!(out.status.success(), "{args:?} --help");
    String::from_utf8(out.stdout).unwrap()
}

/// Every subcommand path below `cmd` (`["customize", "kexec-tarball"]`, ...), hidden ones too, `help` aside.
fn subcommand_paths(cmd: &clap::Command, prefix: &[String], visible_only: bool) -> Vec<Vec<String>> {
    let mut paths = vec![];
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" || (visible_only && sub.is_hide_set()) {
            continue;
        }
        let path: Vec<String> = prefix.iter().cloned().chain([sub.get_name().to_string()]).collect();
        paths.extend(subcommand_paths(sub, &path, visible_only));
        paths.push(path);
    }
    paths
}

/// Every subcommand (taken from the clap definition, so none is missed) has help, and every help line fits a
/// 100-column terminal.
#[test]
fn help_fits_the_terminal() {
    let mut paths = subcommand_paths(&Cli::command(), &[], false);
    assert!(paths.iter().any(|p| p == &["build"]) && paths.iter().any(|p| p == &["release"]), "{paths:?}");
    paths.push(vec![]);
    for sub in paths {
        let sub: Vec<&str> = sub.iter().map(String::as_str).collect();
        let help = help_of(&sub);
        for line in help.lines() {
            assert!(line.chars().count() <= 100, "{sub:?}: help line too long: {line}");
        }
    }
}

/// The man pages are generated for the command and each visible subcommand.
#[test]
fn man_pages_for_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let status =
        Command::new(env!("CARGO_BIN_EXE_nixos-images-gen")).arg("man").arg("-o").arg(dir.path()).status().unwrap();
    assert!(status.success());
    let pages =
        subcommand_paths(&Cli::command(), &[], true).into_iter().map(|p| format!("nixos-images-gen-{}", p.join("-")));
    for name in pages.chain(["nixos-images-gen".to_string()]) {
        let page = std::fs::read_to_string(dir.path().join(format!("{name}.1"))).unwrap();
        assert!(page.contains(".TH"), "{name}.1 is a man page");
    }
}

/// A completion script for bash is produced and mentions the subcommands.
#[test]
fn completions() {
    let out = Command::new(env!("CARGO_BIN_EXE_nixos-images-gen")).args(["completions", "bash"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("render") && text.contains("kexec-command"));
}
