//! Checks of the built site: every page is well-formed HTML (html5ever reports no parse error, no duplicate id),
//! every href and src resolves to a file of the output (and its #fragment to an id), nothing is loaded from
//! another host, and the downloads page shows every channel x arch x kind of the fixtures, missing ones too.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use nixos_images_core::manifest::AssetKind;
use nixos_images_core::Arch;

fn html_files(site: &Path) -> Vec<PathBuf> {
    common::files(site).into_iter().filter(|f| f.extension().is_some_and(|e| e == "html")).collect()
}

#[test]
fn every_link_resolves() {
    let site = common::built_site();
    let problems = common::check_links(site);
    assert!(problems.is_empty(), "broken links:\n{}", problems.join("\n"));
}

#[test]
fn the_link_checker_finds_broken_links() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    std::fs::write(dir.path().join("a.css"), "").unwrap();
    std::fs::write(
        dir.path().join("index.html"),
        "<!DOCTYPE html><html><head><title>t</title><link rel=stylesheet href=a.css>\
         <script src=\"https://cdn.example/x.js\"></script></head><body><p id=x>\
         <a href=\"sub/\">dir without index</a><a href=\"#x\">ok</a><a href=\"#nope\">no id</a>\
         <a href=\"missing.html\">missing</a><a href=\"/abs.html\">absolute</a><a href=\"../up.html\">up</a>\
         <img src=\"a.css#frag\" alt=\"\"></p></body></html>",
    )
    .unwrap();
    let problems = common::check_links(dir.path());
    let want = [
        "loads from another host",
        "sub/index.html does not exist",
        "no id nope",
        "missing.html does not exist",
        "not a relative link",
        "leaves the site",
        "not HTML",
    ];
    for w in want {
        assert!(problems.iter().any(|p| p.contains(w)), "{w} in {problems:#?}");
    }
    assert_eq!(problems.len(), want.len(), "{problems:#?}");
}

#[test]
fn every_page_is_well_formed_html() {
    let site = common::built_site();
    let pages = html_files(site);
    assert!(pages.len() >= 9, "{pages:?}");
    for f in pages {
        let text = std::fs::read_to_string(site.join(&f)).unwrap();
        let html = common::parse_html(&text);
        assert!(html.errors.is_empty(), "{}: {:?}", f.display(), html.errors);
        let ids = html.ids();
        for (i, id) in ids.iter().enumerate() {
            assert!(!ids[..i].contains(id), "{}: duplicate id {id}", f.display());
        }
        assert!(text.starts_with("<!DOCTYPE html>"), "{}", f.display());
    }
}

#[test]
fn the_html_check_finds_errors() {
    for bad in [
        "<html><body><p>no doctype</p></body></html>",
        "<!DOCTYPE html><title>t</title><div><span>open",
        "<!DOCTYPE html><title>t</title><p a=1 a=2>x</p>",
        "<!DOCTYPE html><title>t</title></b>",
    ] {
        assert!(!common::parse_html(bad).errors.is_empty(), "{bad}");
    }
    assert!(common::parse_html("<!DOCTYPE html><html lang=en><head><title>t</title></head><body><p>x</body></html>")
        .errors
        .is_empty());
}

#[test]
fn nothing_comes_from_another_host() {
    let site = common::built_site();
    for f in common::files(site) {
        if f.extension().is_some_and(|e| e == "css" || e == "js") {
            let text = std::fs::read_to_string(site.join(&f)).unwrap();
            for bad in ["@import", "url(http", "url(//", "fetch(", "XMLHttpRequest", "fonts.googleapis"] {
                assert!(!text.contains(bad), "{}: {bad}", f.display());
            }
        }
    }
}

#[test]
fn assets_are_fingerprinted() {
    let site = common::built_site();
    let assets: Vec<String> =
        common::files(&site.join("assets")).iter().map(|f| f.to_string_lossy().into_owned()).collect();
    assert_eq!(assets.len(), nixos_images_site::theme::ASSETS.len(), "{assets:?}");
    for a in &assets {
        let parts: Vec<&str> = a.split('.').collect();
        assert!(parts.len() == 3 && parts[1].len() == 10 && parts[1].bytes().all(|b| b.is_ascii_hexdigit()), "{a}");
    }
}

#[test]
fn downloads_list_every_channel_arch_and_kind() {
    let site = common::built_site();
    let text = std::fs::read_to_string(site.join("downloads.html")).unwrap();
    let html = common::parse_html(&text);
    let rows: BTreeMap<&str, &Vec<(String, String)>> = html
        .elements
        .iter()
        .filter(|(t, _)| t == "tr")
        .filter_map(|(_, a)| a.iter().find(|(k, _)| k == "id").map(|(_, v)| (v.as_str(), a)))
        .collect();
    let fixtures = common::all_manifests();
    for channel in ["nixos-unstable", "nixos-26.11", "nixos-25.05", common::MISSING_CHANNEL] {
        let m = fixtures.iter().find(|m| m.channel == channel);
        for arch in Arch::ALL {
            for kind in AssetKind::ALL {
                let id = format!("{channel}-{}-{}", arch.as_str(), nixos_images_site::downloads::kind_id(kind));
                let row = rows.get(id.as_str()).unwrap_or_else(|| panic!("no row {id}"));
                let missing = row.iter().any(|(k, v)| k == "class" && v == "missing-row");
                match m.and_then(|m| m.asset(kind, arch)) {
                    Some(a) => {
                        assert!(!missing, "{id}");
                        assert!(text.contains(&format!("<code class=\"sha256\">{}</code>", a.sha256)), "{id}");
                        assert!(
                            text.contains(&format!("echo &#39;{}  {}&#39; | sha256sum -c -", a.sha256, a.name)),
                            "{id}"
                        );
                    }
                    None => assert!(missing, "{id} shown as missing"),
                }
            }
        }
    }
    assert!(text.contains("No aarch64-linux images in this release."));
    assert!(text.contains("No release of nixos-24.11 is published yet."));
    assert!(text.contains("chain --autofree https://github.com/nix-community/nixos-images/releases/download/nixos-unstable/netboot-aarch64-linux.ipxe"));
    for m in &fixtures {
        assert!(text.contains(&m.date) && text.contains(&m.nixpkgs_revision), "{}", m.channel);
    }
}

#[test]
fn every_page_links_the_generator_and_downloads() {
    let site = common::built_site();
    for f in html_files(site) {
        let text = std::fs::read_to_string(site.join(&f)).unwrap();
        let root = if f.parent().is_some_and(|p| p != Path::new("")) { "../" } else { "" };
        assert!(text.contains(&format!("href=\"{root}generator/index.html\"")), "{}", f.display());
        assert!(text.contains(&format!("href=\"{root}downloads.html\"")), "{}", f.display());
    }
}

/// Site and generator share one look: every site page loads the generator's own palette (web/palette.css) before
/// its style sheet, the site's style sheet defines no colour of its own, and the generator loads the same file.
#[test]
fn site_and_generator_share_the_palette() {
    let site = common::built_site();
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("../web");
    let palette = std::fs::read_to_string(web.join("palette.css")).unwrap();
    for f in html_files(site) {
        let text = std::fs::read_to_string(site.join(&f)).unwrap();
        let Some(at) = text.find("palette.") else {
            // The generator's pages are trunk's output and load the palette through trunk (checked below).
            assert!(f.starts_with("generator"), "{} does not load the palette", f.display());
            continue;
        };
        let href_start = text[..at].rfind('"').unwrap() + 1;
        let href = &text[href_start..href_start + text[href_start..].find('"').unwrap()];
        let served = std::fs::read_to_string(site.join(&f).parent().unwrap().join(href)).unwrap();
        assert_eq!(served, palette, "{}: {href} is web/palette.css", f.display());
        assert!(at < text.find("style.").unwrap(), "{}: palette before style", f.display());
    }
    let site_css = nixos_images_site::theme::ASSETS.iter().find(|(n, _)| *n == "style.css").unwrap().1;
    assert!(!site_css.contains('#'), "site/theme/style.css sets a colour itself: colours belong in web/palette.css");
    let index = std::fs::read_to_string(web.join("index.html")).unwrap();
    assert!(index.contains(r#"<link data-trunk rel="css" href="palette.css" />"#), "the generator loads the palette");
}

/// The kexec page's one-line install is the newest nixos-unstable release's, verified with its SHA-256.
#[test]
fn the_kexec_page_has_the_releases_verified_install() {
    let site = common::built_site();
    let text = std::fs::read_to_string(site.join("kexec.html")).unwrap();
    let m = common::all_manifests().into_iter().find(|m| m.channel == "nixos-unstable").unwrap();
    let a = m.asset(AssetKind::KexecNoninteractive, Arch::X86_64Linux).unwrap();
    let want = format!(
        "cd /root &amp;&amp; curl -fL --proto '=https' -o {n} {u} &amp;&amp; echo '{s}  {n}' | sha256sum -c - \
         &amp;&amp; tar -C /root -xzf {n} &amp;&amp; /root/kexec/run",
        n = a.name,
        u = m.url(&a.name),
        s = a.sha256
    );
    assert!(text.contains(&want), "{want}");
    assert!(!text.contains("{{") && !text.contains("{%"), "every template expression is filled");
}
