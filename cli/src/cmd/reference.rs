//! `nixos-images-gen reference --json` (hidden): the command-line reference as JSON, walked from the clap
//! definitions, so the docs site's CLI reference page never drifts from the real command.

use anyhow::Result;
use clap::CommandFactory;
use serde_json::{json, Value};

use crate::cli::{Cli, ReferenceArgs};

/// The schema string of the JSON this prints; the docs site refuses another.
pub const REFERENCE_SCHEMA: &str = "nixos-images-gen/reference/v1";

pub fn run(args: &ReferenceArgs) -> Result<()> {
    let text = if args.json {
        serde_json::to_string_pretty(&reference())? + "\n"
    } else {
        let mut cmd = Cli::command();
        cmd.render_long_help().to_string()
    };
    print!("{text}");
    Ok(())
}

/// The whole reference: the root command and every visible subcommand, recursively.
pub fn reference() -> Value {
    let mut root = Cli::command();
    root.build();
    let mut v = command(&root, root.get_name());
    v["schema"] = json!(REFERENCE_SCHEMA);
    v
}

fn command(cmd: &clap::Command, path: &str) -> Value {
    let args: Vec<Value> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !matches!(a.get_id().as_str(), "help" | "version"))
        .map(arg)
        .collect();
    let subcommands: Vec<Value> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .map(|s| command(s, &format!("{path} {}", s.get_name())))
        .collect();
    json!({
        "name": cmd.get_name(),
        "path": path,
        "version": cmd.get_version(),
        "about": cmd.get_about().map(|s| s.to_string()),
        "long_about": cmd.get_long_about().map(|s| s.to_string()),
        "usage": cmd.clone().render_usage().to_string().trim_start_matches("Usage: ").to_string(),
        "args": args,
        "subcommands": subcommands,
    })
}

fn arg(a: &clap::Arg) -> Value {
    let takes_value = a.get_num_args().is_some_and(|n| n.takes_values());
    let possible: Vec<Value> = if takes_value {
        a.get_possible_values()
            .iter()
            .filter(|p| !p.is_hide_set())
            .map(|p| json!({ "name": p.get_name(), "help": p.get_help().map(|h| h.to_string()) }))
            .collect()
    } else {
        Vec::new()
    };
    json!({
        "id": a.get_id().as_str(),
        "long": a.get_long(),
        "short": a.get_short().map(|c| c.to_string()),
        "positional": a.is_positional(),
        "value_names": a.get_value_names().map(|v| v.iter().map(|s| s.to_string()).collect::<Vec<_>>()),
        "takes_value": takes_value,
        "required": a.is_required_set(),
        "multiple": matches!(a.get_action(), clap::ArgAction::Append | clap::ArgAction::Count),
        "default": a.get_default_values().iter().map(|s| s.to_string_lossy().into_owned()).collect::<Vec<_>>(),
        "env": a.get_env().map(|e| e.to_string_lossy().into_owned()),
        "help": a.get_help().map(|s| s.to_string()),
        "long_help": a.get_long_help().map(|s| s.to_string()),
        "possible_values": possible,
    })
}
