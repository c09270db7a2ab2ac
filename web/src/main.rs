//! The web generator's entry point. The page only exists in the browser; a native build is an empty stub so the
//! workspace builds and tests natively.

fn main() {
    #[cfg(target_arch = "wasm32")]
    nixos_images_web::start();
}
