//! nixos-images core: a typed request, validated once, rendered into every artifact a user needs.
//!
//! **Architecture Invariant:** this crate does no I/O (no filesystem, processes, network or clock), so it compiles
//! to `wasm32-unknown-unknown` and every renderer is a pure function of the [`ValidRequest`].
//!
//! One road for data: [`Request`] → [`Request::validate`] → [`ValidRequest`] → `render::<format>::render`.

pub mod agent;
pub mod artifact;
pub mod cpio;
pub mod effects;
pub mod escape;
pub mod field;
pub mod fleet;
pub mod gzip;
pub mod kernel_cmdline;
pub mod kexec_tarball;
pub mod manifest;
pub mod model;
pub mod nix_expr;
pub mod overlay_layout;
pub mod release;
pub mod render;
pub mod request;
pub mod share;
pub mod ssh_key;
pub mod tarball;
pub mod validate;

pub use artifact::{Artifact, ArtifactFile};
pub use field::{FieldError, FieldPath, ValidationErrors};
pub use model::*;
pub use request::{Request, RequestFormat};
pub use validate::KERNEL_CMDLINE_LIMIT;

/// A complete example request (the one `nixos-images-gen example` prints).
pub const EXAMPLE_REQUEST: &str = include_str!("../../examples/static-hetzner.toml");
