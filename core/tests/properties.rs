//! Properties over requests of every kind: validation never panics, whatever it accepts every renderer renders,
//! requests built by the rules are accepted, and every refusal names a field in one line.

mod common;

use std::cell::Cell;

use nixos_images_core::render::ArtifactKind;
use nixos_images_core::{Request, RequestFormat};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

const CASES: u32 = 512;

#[test]
fn validation_never_panics_and_accepted_requests_render() {
    let (accepted, total) = (Cell::new(0u32), Cell::new(0u32));
    TestRunner::new(Config::with_cases(CASES))
        .run(&common::request(), |req| {
            total.set(total.get() + 1);
            match req.validate() {
                Ok(valid) => {
                    accepted.set(accepted.get() + 1);
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
            Ok(())
        })
        .unwrap();
    let (accepted, total) = (accepted.get(), total.get());
    eprintln!("accepted {accepted} of {total} generated requests ({}%)", accepted * 100 / total.max(1));
    // The generator is mostly valid requests by design; if this fails, the render branch is barely exercised.
    assert!(accepted * 2 >= total, "only {accepted} of {total} requests were accepted");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    #[test]
    fn requests_built_by_the_rules_are_accepted(req in common::valid_request()) {
        if let Err(errors) = req.validate() {
            prop_assert!(false, "refused: {errors}\n{}", req.to_toml());
        }
    }

    #[test]
    fn parsing_arbitrary_text_never_panics(text in any::<String>()) {
        let _ = Request::parse(&text, RequestFormat::Toml);
        let _ = Request::parse(&text, RequestFormat::Json);
    }
}
