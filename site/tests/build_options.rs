//! The build's options: a theme directory overrides embedded files without recompiling, a bad manifest names its
//! file and field, a generator built for another path is refused, a prebuilt generator is copied to generator/.

mod common;

use std::fs;

fn options(out: &std::path::Path) -> nixos_images_site::Options {
    nixos_images_site::Options {
        manifests: common::manifest_dirs(),
        out: out.to_path_buf(),
        base_url: "/".into(),
        ..Default::default()
    }
}

#[test]
fn a_theme_directory_overrides_templates_and_assets() {
    let dir = tempfile::tempdir().unwrap();
    let theme = dir.path().join("theme");
    fs::create_dir(&theme).unwrap();
    let base = nixos_images_site::theme::TEMPLATES.iter().find(|(n, _)| *n == "base.html").unwrap().1;
    fs::write(
        theme.join("base.html"),
        base.replace("<footer class=\"site-footer\">", "<footer class=\"site-footer\"><p>CUSTOM FOOTER</p>"),
    )
    .unwrap();
    fs::write(theme.join("style.css"), "body { color: red; }\n").unwrap();
    let out = dir.path().join("out");
    nixos_images_site::build(&nixos_images_site::Options { theme: Some(theme.clone()), ..options(&out) }).unwrap();
    let index = fs::read_to_string(out.join("kexec.html")).unwrap();
    assert!(index.contains("CUSTOM FOOTER"));
    let css: Vec<_> =
        common::files(&out.join("assets")).into_iter().filter(|f| f.to_string_lossy().starts_with("style.")).collect();
    assert_eq!(css.len(), 1);
    assert_eq!(fs::read_to_string(out.join("assets").join(&css[0])).unwrap(), "body { color: red; }\n");
    assert!(index.contains(&format!("assets/{}", css[0].display())), "the page links the new fingerprint");

    fs::write(theme.join("bsae.html"), "typo").unwrap();
    let err =
        nixos_images_site::build(&nixos_images_site::Options { theme: Some(theme), ..options(&out) }).unwrap_err();
    assert!(format!("{err:#}").contains("unknown file bsae.html"), "{err:#}");
}

#[test]
fn a_bad_manifest_names_its_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let manifests = dir.path().join("m");
    fs::create_dir_all(manifests.join("nixos-unstable")).unwrap();
    let (_, mut m) = common::fixture_manifests().remove(0);
    m.assets[1].sha256 = "xyz".into();
    let file = manifests.join("nixos-unstable/manifest.json");
    fs::write(&file, m.to_json()).unwrap();
    let err = nixos_images_site::build(&nixos_images_site::Options {
        manifests: vec![manifests.clone()],
        ..options(&dir.path().join("out"))
    })
    .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains(&format!("{}: assets[1].sha256:", file.display())), "{msg}");

    fs::write(&file, "{\"schema\": \"nixos-images/manifest/v1\", \"tag\": 3}").unwrap();
    let msg = format!(
        "{:#}",
        nixos_images_site::build(&nixos_images_site::Options {
            manifests: vec![manifests],
            ..options(&dir.path().join("out"))
        })
        .unwrap_err()
    );
    assert!(msg.contains(&format!("{}: tag:", file.display())), "{msg}");
}

#[test]
fn a_prebuilt_generator_is_published_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let dist = dir.path().join("dist");
    fs::create_dir(&dist).unwrap();
    fs::write(dist.join("app-1234.wasm"), b"\0asm").unwrap();
    let index = "<!DOCTYPE html><html><head><title>g</title><script type=module>import init from './app-1234.js';</script></head><body></body></html>";
    fs::write(dist.join("index.html"), index).unwrap();
    let out = dir.path().join("out");
    nixos_images_site::build(&nixos_images_site::Options {
        generator: Some(dist.clone()),
        base_url: "/nixos-images".into(),
        ..options(&out)
    })
    .unwrap();
    assert_eq!(fs::read(out.join("generator/app-1234.wasm")).unwrap(), b"\0asm");
    let published = fs::read_to_string(out.join("generator/index.html")).unwrap();
    assert!(published.contains("import init from './app-1234.js';"), "{published}");
    assert!(published.contains("<nav class=\"ni-site-nav\""), "the site's navigation is on the generator's page");
    assert!(published.contains("<a href=\"../downloads.html\">Downloads</a>"), "{published}");

    // Built with trunk's default public URL `/`: it would load /app-1234.js, outside the site.
    fs::write(dist.join("index.html"), index.replace("'./app", "'/app")).unwrap();
    let err = nixos_images_site::build(&nixos_images_site::Options {
        generator: Some(dist.clone()),
        base_url: "/nixos-images/".into(),
        ..options(&out)
    })
    .unwrap_err();
    assert!(format!("{err:#}").contains("--public-url /nixos-images/generator/"), "{err:#}");
    // Built for the right path, it is accepted.
    fs::write(dist.join("index.html"), index.replace("'./app", "'/nixos-images/generator/app")).unwrap();
    nixos_images_site::build(&nixos_images_site::Options {
        generator: Some(dist),
        base_url: "/nixos-images/".into(),
        ..options(&out)
    })
    .unwrap();
}
