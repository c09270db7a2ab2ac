//! Golden snapshot of the downloads page's content, built from the fixture manifests (review changes with
//! `cargo insta review`, or `INSTA_UPDATE=always cargo test -p nixos-images-site --test golden` and the diff).

mod common;

/// Built from the site's own fixture only (a release without aarch64, one expected channel without a release), so
/// a new `examples/manifests/` from `nixos-images-gen release` does not change it.
#[test]
fn downloads_page() {
    let out = tempfile::tempdir().unwrap();
    nixos_images_site::build(&nixos_images_site::Options {
        manifests: vec![common::fixtures_dir()],
        out: out.path().to_path_buf(),
        base_url: "/".into(),
        expect_channels: vec![common::MISSING_CHANNEL.into()],
        ..Default::default()
    })
    .unwrap();
    let html = std::fs::read_to_string(out.path().join("downloads.html")).unwrap();
    let start = html.find("<main").expect("a <main>");
    let end = html.find("</main>").expect("a </main>") + "</main>".len();
    insta::assert_snapshot!("downloads_main", &html[start..end]);
}

#[test]
fn builds_are_reproducible() {
    let a = common::built_site();
    let b = tempfile::tempdir().unwrap();
    nixos_images_site::build(&nixos_images_site::Options {
        manifests: common::manifest_dirs(),
        out: b.path().to_path_buf(),
        base_url: "/".into(),
        expect_channels: vec![common::MISSING_CHANNEL.into()],
        ..Default::default()
    })
    .unwrap();
    let files = common::files(a);
    assert_eq!(files, common::files(b.path()));
    for f in files {
        assert!(std::fs::read(a.join(&f)).unwrap() == std::fs::read(b.path().join(&f)).unwrap(), "{}", f.display());
    }
}
