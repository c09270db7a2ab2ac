//! `nixos-images-gen reference --json` walks the clap definitions; the docs site embeds its output as
//! `site/cli-reference.json`. That copy must be what the binary prints now (`UPDATE_REFERENCE=1` rewrites it), so
//! the site's CLI reference can never drift from the command.

use std::path::Path;
use std::process::Command;

use clap::CommandFactory;
use nixos_images_cli::cli::Cli;

fn reference_json() -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_nixos-images-gen")).args(["reference", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_sites_reference_is_current() {
    let json = reference_json();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../site/cli-reference.json");
    if std::env::var_os("UPDATE_REFERENCE").is_some() {
        std::fs::write(&path, &json).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == json,
        "{} is stale: UPDATE_REFERENCE=1 cargo test -p nixos-images-cli --test reference",
        path.display()
    );
}

#[test]
fn every_visible_subcommand_and_flag_is_in_the_reference() {
    let v: serde_json::Value = serde_json::from_str(&reference_json()).unwrap();
    assert_eq!(v["schema"], "nixos-images-gen/reference/v1");
    let subs: Vec<&str> = v["subcommands"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    let cli = Cli::command();
    let visible: Vec<&str> = cli.get_subcommands().filter(|s| !s.is_hide_set()).map(|s| s.get_name()).collect();
    assert!(visible.contains(&"build") && visible.contains(&"release"), "{visible:?}");
    assert_eq!(subs, visible, "every visible subcommand, in the definition's order");
    assert!(!subs.contains(&"reference") && !subs.contains(&"help"), "hidden commands stay out: {subs:?}");
    let customize = v["subcommands"].as_array().unwrap().iter().find(|s| s["name"] == "customize").unwrap();
    let kexec = customize["subcommands"].as_array().unwrap().iter().find(|s| s["name"] == "kexec-tarball").unwrap();
    assert_eq!(kexec["path"], "nixos-images-gen customize kexec-tarball");
    assert!(kexec["usage"].as_str().unwrap().starts_with("nixos-images-gen customize kexec-tarball"));
    let agent = kexec["args"].as_array().unwrap().iter().find(|a| a["long"] == "agent").unwrap();
    assert_eq!(agent["value_names"][0], "PATH");
    // The request flags flattened into every request-taking subcommand are there too.
    assert!(kexec["args"].as_array().unwrap().iter().any(|a| a["long"] == "ssh-key-file"));
}
