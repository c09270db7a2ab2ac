//! `restore-network ADDRS_JSON ROUTES_V4_JSON ROUTES_V6_JSON OUT_DIR`

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use nixos_images_core::agent::restore::{self, is_unit_file_name};
use serde_json::Value;

use crate::safe_fs::{Change, Root};
use crate::{warn, RestoreNetworkArgs};

pub fn run(args: &RestoreNetworkArgs) -> Result<i32> {
    let addrs = read_json(&args.addrs_json)?;
    let mut read_warnings = vec![];
    let mut routes = |path: &Path| match read_json(path) {
        Ok(v) => Some(v),
        Err(e) => {
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            read_warnings.push(format!("{}; its routes are not restored", chain.join(": ")));
            None
        }
    };
    let v4 = routes(&args.routes_v4_json);
    let v6 = routes(&args.routes_v6_json);
    let restored = restore::restore(&addrs, v4.as_ref(), v6.as_ref());

    std::fs::create_dir_all(&args.out_dir).with_context(|| format!("creating {}", args.out_dir.display()))?;
    let out = Root::open(&args.out_dir)?;
    let mut written = 0;
    for unit in &restored.units {
        if out.write(&unit.file_name, unit.contents.as_bytes(), 0o644, 0o755)? == Change::Written {
            written += 1;
        }
    }
    // Units of an earlier run for links that are gone.
    let mut removed = 0;
    for name in out.list("")? {
        if is_unit_file_name(&name) && !restored.units.iter().any(|u| u.file_name == name) {
            out.remove(&name)?;
            removed += 1;
        }
    }

    let warnings: Vec<&String> = read_warnings.iter().chain(&restored.warnings).collect();
    for w in &warnings {
        warn(w);
    }
    print!("{}", restored.summary());
    if !read_warnings.is_empty() {
        println!(
            "({} route dump{} could not be read)",
            read_warnings.len(),
            if read_warnings.len() == 1 { "" } else { "s" }
        );
    }
    println!(
        "restore-network: {} in {} ({written} written, {removed} stale removed)",
        if restored.units.is_empty() { "no unit".to_string() } else { format!("{} unit(s)", restored.units.len()) },
        args.out_dir.display()
    );
    if !warnings.is_empty() {
        println!("warnings:");
        for w in &warnings {
            println!("  - {w}");
        }
    }
    Ok(0)
}

fn read_json(path: &Path) -> Result<Value> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_slice(&text).map_err(|e| anyhow!("{} is not JSON ({e})", path.display()))
}
