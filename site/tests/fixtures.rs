//! The fixture manifests in tests/fixtures/manifests/ are exactly what `core::manifest` writes for the releases
//! in `common::fixture_manifests` (`UPDATE_FIXTURES=1` rewrites them), and they parse.

mod common;

#[test]
fn fixture_manifests_are_current() {
    for (tag, m) in common::fixture_manifests() {
        let path = common::fixtures_dir().join(&tag).join("manifest.json");
        let json = m.to_json();
        if std::env::var_os("UPDATE_FIXTURES").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &json).unwrap();
        }
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert_eq!(on_disk, json, "{} is stale: UPDATE_FIXTURES=1 cargo test -p nixos-images-site", path.display());
        assert_eq!(nixos_images_core::manifest::Manifest::parse(&on_disk).unwrap(), m);
    }
}
