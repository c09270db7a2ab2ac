//! The web generator: a Yew page over `nixos-images-core`. Every decision about the request and the artifacts is
//! made by the core; this crate holds the form's state ([`form`], also compiled and tested natively), the
//! components and the browser glue (`app`, browser only).

pub mod form;

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod browser;

/// Mounts the page on `<body>`.
#[cfg(target_arch = "wasm32")]
pub fn start() {
    app::start();
}
