//! Properties over arbitrary requests: validation never panics, and whatever it accepts every renderer renders.

use nixos_images_core::render::ArtifactKind;
mod common;

use common::request;
use nixos_images_core::Request;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn validation_never_panics_and_accepted_requests_render(req in request()) {
        match req.validate() {
            Ok(valid) => {
                for kind in ArtifactKind::ALL {
                    let a = kind.render(&valid);
                    prop_assert!(!a.files.is_empty() || kind == ArtifactKind::Networkd);
                }
            }
            Err(errors) => {
                prop_assert!(!errors.0.is_empty());
                for e in &errors.0 {
                    // Every error names a field and says something, on one line.
                    prop_assert!(!e.path.is_root() && !e.message.is_empty());
                    prop_assert!(!e.message.contains('\n'), "multi-line message: {}", e.message);
                }
            }
        }
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(text in any::<String>()) {
        let _ = Request::parse(&text, nixos_images_core::RequestFormat::Toml);
        let _ = Request::parse(&text, nixos_images_core::RequestFormat::Json);
    }
}
