//! Shared by the site tests: the fixture manifests (made with `core::manifest`) and one build of the site.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use nixos_images_core::manifest::{Asset, AssetKind, Manifest, NetbootBoot, MANIFEST_SCHEMA};
use nixos_images_core::Arch;
use sha2::{Digest, Sha256};

/// The site's own fixture: `tests/fixtures/manifests/` (made by `fixture_manifests`).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/manifests")
}

/// `examples/manifests/`: what `nixos-images-gen release` writes (cli/tests/release.rs keeps them current).
pub fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/manifests")
}

/// Every manifest directory of the test builds.
pub fn manifest_dirs() -> Vec<PathBuf> {
    vec![examples_dir(), fixtures_dir()]
}

/// Every manifest of the test builds: the examples' and the site's fixture.
pub fn all_manifests() -> Vec<Manifest> {
    let mut out: Vec<Manifest> = fixture_manifests().into_iter().map(|(_, m)| m).collect();
    for e in std::fs::read_dir(examples_dir()).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        out.push(Manifest::parse(&text).unwrap());
    }
    out
}

/// The channel the test build expects but has no manifest for (shown as missing).
pub const MISSING_CHANNEL: &str = "nixos-24.11";

/// The site's fixture release: nixos-25.05 with x86_64 only (aarch64 missing). The full releases are
/// `examples/manifests/`.
pub fn fixture_manifests() -> Vec<(String, Manifest)> {
    let release = |channel: &str, date: &str, rev_seed: &str, arches: &[Arch]| -> Manifest {
        let rev: String = Sha256::digest(rev_seed.as_bytes())[..20].iter().map(|b| format!("{b:02x}")).collect();
        let mut assets = Vec::new();
        for &arch in arches {
            for kind in AssetKind::ALL {
                let name = kind.file_name(arch);
                let sha: String =
                    Sha256::digest(format!("{channel}/{name}").as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
                let size = match kind {
                    AssetKind::Kexec => 512_000_000,
                    AssetKind::KexecNoninteractive => 401_234_567,
                    AssetKind::NetbootKernel => 13_000_000,
                    AssetKind::NetbootInitrd => 389_000_000,
                    AssetKind::NetbootIpxe => 412,
                } + if arch == Arch::Aarch64Linux { 1_111 } else { 0 };
                assets.push(Asset {
                    name,
                    kind,
                    arch: arch.as_str().into(),
                    size,
                    sha256: sha,
                    netboot: (kind == AssetKind::NetbootIpxe).then(|| NetbootBoot {
                        init: format!("/nix/store/{}-nixos-system-nixos-installer/init", &rev[..32]),
                        kernel_params: vec!["loglevel=4".into()],
                    }),
                });
            }
        }
        Manifest {
            schema: MANIFEST_SCHEMA.into(),
            tag: channel.into(),
            channel: channel.into(),
            date: date.into(),
            nixpkgs_revision: rev,
            base_url: nixos_images_core::DEFAULT_RELEASE_BASE_URL.into(),
            assets,
        }
    };
    vec![("nixos-25.05".into(), release("nixos-25.05", "2026-11-23", "25.05", &[Arch::X86_64Linux]))]
}

/// The site built once from the fixtures into `target/site-test/public-<test binary>` (shared by its tests).
pub fn built_site() -> &'static Path {
    static SITE: OnceLock<PathBuf> = OnceLock::new();
    SITE.get_or_init(|| {
        let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/site-test");
        // One directory per test binary (they run in parallel), rebuilt on each run.
        let exe = std::env::current_exe().unwrap();
        let name = exe.file_stem().unwrap().to_string_lossy();
        let out = target.join(format!("public-{}", name.split('-').next().unwrap()));
        let _ = std::fs::remove_dir_all(&out);
        nixos_images_site::build(&nixos_images_site::Options {
            manifests: manifest_dirs(),
            out: out.clone(),
            base_url: "/".into(),
            expect_channels: vec![MISSING_CHANNEL.into()],
            ..Default::default()
        })
        .expect("the site builds from the fixtures");
        out
    })
}

/// Every file below `dir`, relative, sorted.
pub fn files(dir: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// A parsed HTML file: the parser's errors and every element as (tag name, attributes).
pub struct Html {
    pub errors: Vec<String>,
    pub elements: Vec<(String, Vec<(String, String)>)>,
}

impl Html {
    pub fn ids(&self) -> Vec<&str> {
        self.elements.iter().flat_map(|(_, a)| a.iter().filter(|(k, _)| k == "id").map(|(_, v)| v.as_str())).collect()
    }
}

/// Parses with html5ever (the WHATWG algorithm browsers use), reporting every parse error.
pub fn parse_html(text: &str) -> Html {
    use html5ever::tendril::TendrilSink;
    use markup5ever_rcdom::{Handle, NodeData, RcDom};
    let opts = html5ever::ParseOpts {
        tree_builder: html5ever::tree_builder::TreeBuilderOpts { exact_errors: true, ..Default::default() },
        tokenizer: html5ever::tokenizer::TokenizerOpts { exact_errors: true, ..Default::default() },
    };
    let dom = html5ever::parse_document(RcDom::default(), opts).from_utf8().read_from(&mut text.as_bytes()).unwrap();
    let mut elements = Vec::new();
    fn walk(h: &Handle, out: &mut Vec<(String, Vec<(String, String)>)>) {
        if let NodeData::Element { name, attrs, template_contents, .. } = &h.data {
            let attrs = attrs.borrow().iter().map(|a| (a.name.local.to_string(), a.value.to_string())).collect();
            out.push((name.local.to_string(), attrs));
            // A <template>'s contents are a separate fragment; their links count too.
            if let Some(t) = template_contents.borrow().as_ref() {
                walk(t, out);
            }
        }
        for c in h.children.borrow().iter() {
            walk(c, out);
        }
    }
    walk(&dom.document, &mut elements);
    let errors = dom.errors.borrow().iter().map(|e| e.to_string()).collect();
    Html { errors, elements }
}

/// The link checker: every href and src of every HTML file resolves to a file of the site (a directory to its
/// index.html), every #fragment to an id of the target page; nothing is loaded from another host, and no link is
/// absolute (the site must work under any base path). Returns the problems.
pub fn check_links(site: &Path) -> Vec<String> {
    let pages: std::collections::BTreeMap<PathBuf, Html> = files(site)
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "html"))
        .map(|f| {
            let text = std::fs::read_to_string(site.join(&f)).unwrap();
            (f, parse_html(&text))
        })
        .collect();
    let mut problems = Vec::new();
    for (page, html) in &pages {
        for (tag, attrs) in &html.elements {
            for (k, v) in attrs {
                if k != "href" && k != "src" {
                    continue;
                }
                let what = format!("{}: <{tag} {k}=\"{v}\">", page.display());
                if v.starts_with("https://") || v.starts_with("http://") {
                    // Outbound links are fine; loading anything from another host is not.
                    let loads = tag == "script"
                        || tag == "img"
                        || (tag == "link" && !attrs.iter().any(|(a, r)| a == "rel" && r == "canonical"));
                    if loads {
                        problems.push(format!("{what}: loads from another host"));
                    }
                    continue;
                }
                if v.starts_with("mailto:") || v.starts_with("data:") {
                    continue;
                }
                if v.starts_with('/') || v.contains("://") || v.starts_with("//") {
                    problems.push(format!("{what}: not a relative link"));
                    continue;
                }
                let (path, frag) = match v.split_once('#') {
                    Some((p, f)) => (p, Some(f)),
                    None => (v.as_str(), None),
                };
                let path = path.split('?').next().unwrap();
                let target = if path.is_empty() {
                    page.clone()
                } else {
                    let mut t = page.parent().unwrap().to_path_buf();
                    let mut inside = true;
                    for part in path.split('/') {
                        match part {
                            "" | "." => {}
                            ".." => inside &= t.pop(),
                            p => t.push(p),
                        }
                    }
                    if !inside {
                        problems.push(format!("{what}: leaves the site"));
                        continue;
                    }
                    if site.join(&t).is_dir() {
                        t.push("index.html");
                    }
                    t
                };
                if !site.join(&target).is_file() {
                    problems.push(format!("{what}: {} does not exist", target.display()));
                    continue;
                }
                if let Some(frag) = frag.filter(|f| !f.is_empty()) {
                    match pages.get(&target) {
                        Some(t) if t.ids().contains(&frag) => {}
                        Some(_) => problems.push(format!("{what}: no id {frag} in {}", target.display())),
                        None => problems.push(format!("{what}: a fragment into a file that is not HTML")),
                    }
                }
            }
        }
    }
    problems
}
