//! Share links round-trip every request, including ones validation would refuse (the form is restored as typed):
//! the shared strategy mixes plausible values with arbitrary Unicode in every field.

mod common;

use common::request;
use nixos_images_core::share;
use proptest::prelude::*;

proptest! {
    #[test]
    fn share_link_round_trips(req in request()) {
        let fragment = share::to_fragment(&req);
        prop_assert!(fragment.is_ascii());
        prop_assert!(!fragment.contains('?') && !fragment[1..].contains('#'));
        prop_assert_eq!(share::from_fragment(&fragment).unwrap(), req);
    }

    #[test]
    fn decoding_garbage_never_panics(s in any::<String>()) {
        let _ = share::from_fragment(&s);
    }
}
