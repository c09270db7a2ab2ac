//! CLI transcripts (tests/cmd/*.md, run with trycmd) and interface guards.

use std::process::Command;

#[test]
fn transcripts() {
    trycmd::TestCases::new().case("tests/cmd/*.md");
}

fn help_of(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_nixos-images-gen")).args(args).arg("--help").output().unwrap();
    assert!(out.status.success(), "{args:?} --help");
    String::from_utf8(out.stdout).unwrap()
}

/// Every subcommand has help, and every help line fits a 100-column terminal.
#[test]
fn help_fits_the_terminal() {
    for sub in [
        &[][..],
        &["render"],
        &["bundle"],
        &["customize"],
        &["customize", "kexec-tarball"],
        &["customize", "initrd"],
        &["check"],
        &["example"],
        &["links"],
        &["completions"],
        &["man"],
    ] {
        let help = help_of(sub);
        for line in help.lines() {
            assert!(line.chars().count() <= 100, "{sub:?}: help line too long: {line}");
        }
    }
}

/// The man pages are generated for the command and each subcommand.
#[test]
fn man_pages_for_every_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let status =
        Command::new(env!("CARGO_BIN_EXE_nixos-images-gen")).arg("man").arg("-o").arg(dir.path()).status().unwrap();
    assert!(status.success());
    for name in [
        "nixos-images-gen",
        "nixos-images-gen-render",
        "nixos-images-gen-bundle",
        "nixos-images-gen-links",
        "nixos-images-gen-customize",
        "nixos-images-gen-customize-kexec-tarball",
        "nixos-images-gen-customize-initrd",
    ] {
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
