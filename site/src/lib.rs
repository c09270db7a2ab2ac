//! The docs site: Markdown pages (`site/pages/*.md`), the release manifests and the CLI reference rendered into
//! static HTML through a theme (minijinja templates and assets, embedded defaults that a theme directory
//! overrides file by file).
//!
//! Every link in the output is relative, so the site works under any base path and from plain file hosting.

pub mod downloads;
pub mod markdown;
pub mod reference;
pub mod serve;
pub mod theme;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::Serialize;

/// The Markdown pages, embedded: `(output file, source)`, in navigation order. A `--pages DIR` replaces them.
pub const PAGES: &[(&str, &str)] = &[
    ("index.html", include_str!("../pages/index.md")),
    ("kexec.html", include_str!("../pages/kexec.md")),
    ("netboot.html", include_str!("../pages/netboot.md")),
    ("fleet.html", include_str!("../pages/fleet.md")),
    ("customizing.html", include_str!("../pages/customizing.md")),
    ("effects.html", include_str!("../pages/effects.md")),
    ("formats.html", include_str!("../pages/formats.md")),
    ("faq.html", include_str!("../pages/faq.md")),
];

/// The CLI reference, as `nixos-images-gen reference --json` printed it (kept fresh by
/// `cli/tests/reference.rs`).
pub const CLI_REFERENCE: &str = include_str!("../cli-reference.json");

/// What `build` needs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Directories holding release manifests (`*.json`, searched recursively).
    pub manifests: Vec<PathBuf>,
    pub out: PathBuf,
    /// The path the site is published under (`/nixos-images/`); used to check the generator's build.
    pub base_url: String,
    pub theme: Option<PathBuf>,
    /// A prebuilt web generator (trunk's dist directory), copied to `generator/`.
    pub generator: Option<PathBuf>,
    /// `nixos-images-gen reference --json` output; the embedded copy otherwise.
    pub reference: Option<PathBuf>,
    /// Channels that must appear on the downloads page (shown as missing without a manifest).
    pub expect_channels: Vec<String>,
}

/// What `build` wrote.
#[derive(Debug, Clone)]
pub struct Report {
    pub files: Vec<PathBuf>,
    pub releases: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct NavItem {
    pub href: String,
    pub title: String,
}

/// Navigation order: file name and title of every page.
fn nav(pages: &[(String, String)]) -> Vec<NavItem> {
    let title = |file: &str| -> String {
        pages.iter().find(|(f, _)| f == file).map(|(_, src)| markdown::title(src)).unwrap_or_else(|| file.to_string())
    };
    let mut items = vec![
        NavItem { href: "index.html".into(), title: "Home".into() },
        NavItem { href: "downloads.html".into(), title: "Downloads".into() },
    ];
    for f in ["kexec.html", "netboot.html", "customizing.html"] {
        items.push(NavItem { href: f.into(), title: title(f) });
    }
    items.push(NavItem { href: "generator/index.html".into(), title: "Generator".into() });
    items.push(NavItem { href: "reference.html".into(), title: "CLI reference".into() });
    for f in ["formats.html", "faq.html"] {
        items.push(NavItem { href: f.into(), title: title(f) });
    }
    items
}

/// Builds the whole site into `opts.out` (created; existing files are replaced, others left alone).
pub fn build(opts: &Options) -> Result<Report> {
    let theme = theme::Theme::load(opts.theme.as_deref())?;
    let releases = downloads::load_dirs(&opts.manifests)?;
    let reference_json = match &opts.reference {
        Some(p) => fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
        None => CLI_REFERENCE.to_string(),
    };
    let reference = reference::Reference::parse(&reference_json)?;
    let pages: Vec<(String, String)> = PAGES.iter().map(|(f, s)| (f.to_string(), s.to_string())).collect();
    let nav = nav(&pages);

    fs::create_dir_all(&opts.out).with_context(|| format!("creating {}", opts.out.display()))?;
    let mut files = Vec::new();
    let mut write = |rel: &str, bytes: &[u8]| -> Result<()> {
        let path = opts.out.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        files.push(path);
        Ok(())
    };

    for (name, bytes) in theme.assets() {
        write(&name, &bytes)?;
    }

    let ctx = |file: &str, title: &str, root: &str| PageContext {
        title: title.to_string(),
        current: file.to_string(),
        root: root.to_string(),
        nav: nav.clone(),
        assets: theme.asset_map(root),
    };

    let install = downloads::install_example(&releases);
    let effects = nixos_images_core::effects::markdown();
    for (file, src) in &pages {
        // Pages may use template expressions (`{{ install.command }}`), filled in before Markdown.
        let src = &markdown::expand(file, src, minijinja::context! { install => install, effects => effects })?;
        let title = markdown::title(src);
        let html = theme.render(
            "page.html",
            minijinja::context! { page => ctx(file, &title, ""), content => markdown::to_html(src) },
        )?;
        write(file, html.as_bytes())?;
    }

    let view = downloads::view(&releases, &opts.expect_channels);
    let html = theme.render(
        "downloads.html",
        minijinja::context! { page => ctx("downloads.html", "Downloads", ""), downloads => view },
    )?;
    write("downloads.html", html.as_bytes())?;

    let html = theme.render(
        "reference.html",
        minijinja::context! { page => ctx("reference.html", "CLI reference", ""), reference => reference.view() },
    )?;
    write("reference.html", html.as_bytes())?;

    match &opts.generator {
        Some(dist) => {
            check_generator(dist, &opts.base_url)?;
            copy_dir(dist, &opts.out.join("generator"), &mut files)?;
            // The site's navigation on the generator's page too: the app empties <body> when it starts, so the bar
            // is a <template> in <head> that a small script puts in front of the app once trunk says it started.
            let index = opts.out.join("generator/index.html");
            let html = fs::read_to_string(&index).with_context(|| format!("reading {}", index.display()))?;
            let page = ctx("generator/index.html", "Generator", "../");
            let nav_html = theme.render("generator-nav.html", minijinja::context! { page => page.clone() })?;
            let css = format!("<link rel=\"stylesheet\" href=\"{}\">\n", page.assets["generator-nav.css"]);
            let html = html
                .find("</head>")
                .map(|i| format!("{}{css}{nav_html}\n{}", &html[..i], &html[i..]))
                .with_context(|| format!("--generator {}: index.html has no </head>", dist.display()))?;
            fs::write(&index, html).with_context(|| format!("writing {}", index.display()))?;
        }
        None => {
            let html = theme.render(
                "generator-missing.html",
                minijinja::context! { page => ctx("generator/index.html", "Generator", "../") },
            )?;
            write("generator/index.html", html.as_bytes())?;
        }
    }
    Ok(Report { files, releases: releases.len() })
}

#[derive(Debug, Clone, Serialize)]
struct PageContext {
    title: String,
    current: String,
    /// The relative path from this page to the site's root (`""` or `"../"`).
    root: String,
    nav: Vec<NavItem>,
    /// Logical asset name (`style.css`) to its fingerprinted path relative to this page.
    assets: BTreeMap<String, String>,
}

/// A generator dist must have an `index.html`, and absolute paths in it must lie under `<base_url>generator/`
/// (trunk's `--public-url`), or the page would load nothing once published.
fn check_generator(dist: &Path, base_url: &str) -> Result<()> {
    let index = dist.join("index.html");
    let html = fs::read_to_string(&index)
        .with_context(|| format!("--generator {}: reading index.html (a trunk dist directory)", dist.display()))?;
    let want = format!("{}generator/", normalize_base(base_url));
    for attr in ["href=\"/", "src=\"/", "from '/", "from \"/", "init('/", "init(\"/"] {
        for (i, _) in html.match_indices(attr) {
            let path = &html[i + attr.len() - 1..];
            if !path.starts_with(&want) {
                let end = path.find(['"', '\'']).unwrap_or(path.len()).min(80);
                bail!(
                    "--generator {}: index.html loads `{}`, outside {want}: build it with --public-url {want} \
                     (or a relative public URL)",
                    dist.display(),
                    &path[..end]
                );
            }
        }
    }
    Ok(())
}

/// `/path/` form: a leading and a trailing slash (of a full URL, its path).
pub fn normalize_base(base: &str) -> String {
    let path = match base.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("", |i| &rest[i..]),
        None => base,
    };
    let t = path.trim_matches('/');
    if t.is_empty() {
        "/".into()
    } else {
        format!("/{t}/")
    }
}

fn copy_dir(from: &Path, to: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let mut entries: Vec<_> = fs::read_dir(from)
        .with_context(|| format!("reading {}", from.display()))?
        .collect::<Result<_, _>>()
        .with_context(|| format!("reading {}", from.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type()?.is_dir() {
            copy_dir(&src, &dst, files)?;
        } else {
            fs::copy(&src, &dst).with_context(|| format!("copying {} to {}", src.display(), dst.display()))?;
            files.push(dst);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn base_paths() {
        for (given, want) in [
            ("", "/"),
            ("/", "/"),
            ("nixos-images", "/nixos-images/"),
            ("/nixos-images", "/nixos-images/"),
            ("/a/b/", "/a/b/"),
            ("https://nix-community.github.io/nixos-images/", "/nixos-images/"),
            ("https://example.org", "/"),
        ] {
            assert_eq!(super::normalize_base(given), want, "{given}");
        }
    }
}
