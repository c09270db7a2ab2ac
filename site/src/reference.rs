//! The CLI reference page, from `nixos-images-gen reference --json` (clap's definitions walked by the CLI itself).

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};

pub const SCHEMA: &str = "nixos-images-gen/reference/v1";

#[derive(Debug, Clone, Deserialize)]
pub struct Reference {
    pub schema: Option<String>,
    #[serde(flatten)]
    pub root: Command,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Command {
    pub name: String,
    pub path: String,
    pub about: Option<String>,
    pub long_about: Option<String>,
    pub usage: String,
    pub args: Vec<Arg>,
    pub subcommands: Vec<Command>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Arg {
    pub id: String,
    pub long: Option<String>,
    pub short: Option<String>,
    pub positional: bool,
    pub value_names: Option<Vec<String>>,
    pub takes_value: bool,
    pub required: bool,
    pub multiple: bool,
    pub default: Vec<String>,
    pub env: Option<String>,
    pub help: Option<String>,
    pub long_help: Option<String>,
    pub possible_values: Vec<PossibleValue>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct PossibleValue {
    pub name: String,
    pub help: Option<String>,
}

/// One section of the page: a command with its arguments, flattened in tree order.
#[derive(Debug, Clone, Serialize)]
pub struct Section {
    pub id: String,
    pub path: String,
    pub depth: usize,
    pub about: Option<String>,
    /// Paragraphs of the long description.
    pub long_about: Vec<String>,
    pub usage: String,
    pub args: Vec<ArgView>,
    pub subcommands: Vec<(String, String, Option<String>)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArgView {
    /// `-o, --output <PATH>` or `<KIND>`.
    pub syntax: String,
    pub help: String,
    pub required: bool,
    pub multiple: bool,
    pub default: Vec<String>,
    pub env: Option<String>,
    pub possible_values: Vec<PossibleValue>,
}

impl Reference {
    pub fn parse(json: &str) -> Result<Reference> {
        let r: Reference =
            serde_json::from_str(json).context("the CLI reference (nixos-images-gen reference --json)")?;
        if r.schema.as_deref() != Some(SCHEMA) {
            bail!("the CLI reference: schema {:?} is not {SCHEMA}", r.schema);
        }
        Ok(r)
    }

    pub fn view(&self) -> Vec<Section> {
        let mut out = Vec::new();
        walk(&self.root, 0, &mut out);
        out
    }
}

fn anchor(path: &str) -> String {
    format!("cmd-{}", path.split(' ').skip(1).collect::<Vec<_>>().join("-")).trim_end_matches('-').to_string()
}

fn walk(c: &Command, depth: usize, out: &mut Vec<Section>) {
    let args = c
        .args
        .iter()
        .map(|a| {
            let value = a
                .value_names
                .as_ref()
                .and_then(|v| v.first().cloned())
                .unwrap_or_else(|| a.id.to_uppercase().replace('-', "_"));
            let syntax = if a.positional {
                format!("<{value}>")
            } else {
                let mut s = String::new();
                if let Some(short) = &a.short {
                    s.push_str(&format!("-{short}, "));
                }
                if let Some(long) = &a.long {
                    s.push_str(&format!("--{long}"));
                }
                if a.takes_value {
                    s.push_str(&format!(" <{value}>"));
                }
                s
            };
            ArgView {
                syntax,
                help: a.long_help.clone().or_else(|| a.help.clone()).unwrap_or_default(),
                required: a.required,
                multiple: a.multiple,
                default: a.default.clone(),
                env: a.env.clone(),
                possible_values: a.possible_values.clone(),
            }
        })
        .collect();
    out.push(Section {
        id: anchor(&c.path),
        path: c.path.clone(),
        depth,
        about: c.about.clone(),
        long_about: c.long_about.as_deref().map(|l| l.split("\n\n").map(str::to_string).collect()).unwrap_or_default(),
        usage: c.usage.clone(),
        args,
        subcommands: c.subcommands.iter().map(|s| (anchor(&s.path), s.name.clone(), s.about.clone())).collect(),
    });
    for s in &c.subcommands {
        walk(s, depth + 1, out);
    }
}
