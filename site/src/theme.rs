//! The theme: minijinja templates and static assets. Defaults are embedded in the binary; a theme directory
//! overrides any of them by file name (as mdBook's `theme/` does), read at build time, no recompiling.
//! Assets are written under fingerprinted names (`style.<hash>.css`) so they can be cached forever.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::{anyhow, Context, Result};
use sha2::{Digest, Sha256};

/// The embedded templates.
pub const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../theme/base.html")),
    ("page.html", include_str!("../theme/page.html")),
    ("downloads.html", include_str!("../theme/downloads.html")),
    ("reference.html", include_str!("../theme/reference.html")),
    ("generator-missing.html", include_str!("../theme/generator-missing.html")),
    ("generator-nav.html", include_str!("../theme/generator-nav.html")),
];

/// The embedded assets (copied, fingerprinted).
pub const ASSETS: &[(&str, &str)] = &[
    // The palette is the generator's own file, so site and generator cannot drift apart.
    ("palette.css", include_str!("../../web/palette.css")),
    ("style.css", include_str!("../theme/style.css")),
    ("site.js", include_str!("../theme/site.js")),
    ("generator-nav.css", include_str!("../theme/generator-nav.css")),
];

pub struct Theme {
    env: minijinja::Environment<'static>,
    /// Logical name to (fingerprinted name, bytes).
    assets: BTreeMap<String, (String, Vec<u8>)>,
}

impl Theme {
    /// The embedded theme, with every file of `dir` that has a known name replacing the default. An unknown
    /// file in `dir` is an error (a misspelt override would otherwise be silently ignored).
    pub fn load(dir: Option<&Path>) -> Result<Theme> {
        let mut templates: BTreeMap<String, String> =
            TEMPLATES.iter().map(|(n, s)| (n.to_string(), s.to_string())).collect();
        let mut assets: BTreeMap<String, Vec<u8>> =
            ASSETS.iter().map(|(n, s)| (n.to_string(), s.as_bytes().to_vec())).collect();
        if let Some(dir) = dir {
            let entries = fs::read_dir(dir).with_context(|| format!("--theme {}: reading", dir.display()))?;
            for e in entries {
                let e = e.with_context(|| format!("--theme {}: reading", dir.display()))?;
                let name = e.file_name().to_string_lossy().into_owned();
                let path = e.path();
                if let Some(t) = templates.get_mut(&name) {
                    *t = fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
                } else if let Some(a) = assets.get_mut(&name) {
                    *a = fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                } else {
                    let known: Vec<&str> = TEMPLATES.iter().chain(ASSETS).map(|(n, _)| *n).collect();
                    anyhow::bail!(
                        "--theme {}: unknown file {name} (a theme overrides: {})",
                        dir.display(),
                        known.join(", ")
                    );
                }
            }
        }
        let mut env = minijinja::Environment::new();
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
        // Escape only what HTML needs (`&<>"'`): minijinja's default also escapes `/`, which makes every path and
        // command in the page source hard to read.
        env.set_formatter(|out, state, value| match value.as_str() {
            Some(s) if !value.is_safe() && state.auto_escape() == minijinja::AutoEscape::Html => {
                out.write_str(&escape_html(s)).map_err(minijinja::Error::from)
            }
            _ => minijinja::escape_formatter(out, state, value),
        });
        env.add_filter("ticks", ticks);
        for (name, text) in templates {
            env.add_template_owned(name.clone(), text).map_err(|e| anyhow!("theme template {name}: {e:#}"))?;
        }
        let assets = assets
            .into_iter()
            .map(|(name, bytes)| {
                let hash = Sha256::digest(&bytes);
                let hex: String = hash[..5].iter().map(|b| format!("{b:02x}")).collect();
                let fingerprinted = match name.rsplit_once('.') {
                    Some((stem, ext)) => format!("assets/{stem}.{hex}.{ext}"),
                    None => format!("assets/{name}.{hex}"),
                };
                (name, (fingerprinted, bytes))
            })
            .collect();
        Ok(Theme { env, assets })
    }

    /// `(fingerprinted path, bytes)` of every asset.
    pub fn assets(&self) -> Vec<(String, Vec<u8>)> {
        self.assets.values().cloned().collect()
    }

    /// Logical name to path relative to a page whose way to the root is `root`.
    pub fn asset_map(&self, root: &str) -> BTreeMap<String, String> {
        self.assets.iter().map(|(n, (f, _))| (n.clone(), format!("{root}{f}"))).collect()
    }

    pub fn render(&self, template: &str, ctx: minijinja::Value) -> Result<String> {
        let t = self.env.get_template(template).map_err(|e| anyhow!("theme template {template}: {e:#}"))?;
        t.render(ctx).map_err(|e| anyhow!("rendering {template}: {e:#}"))
    }
}

/// HTML text and attribute escaping: core's one escaper for HTML.
pub use nixos_images_core::escape::html_text as escape_html;

/// The `ticks` filter: plain text (CLI help) to HTML, with `backtick spans` as `<code>`.
fn ticks(text: &str) -> minijinja::Value {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        // An odd number of backticks leaves the last part outside any span.
        if i % 2 == 1 && text.matches('`').count() > i {
            out.push_str(&format!("<code>{}</code>", escape_html(part)));
        } else if i % 2 == 1 {
            out.push('`');
            out.push_str(&escape_html(part));
        } else {
            out.push_str(&escape_html(part));
        }
    }
    minijinja::Value::from_safe_string(out)
}
