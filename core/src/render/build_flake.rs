//! The flake `nixos-images-gen build` builds in a temporary directory: one image of the project's flake (or a
//! fork's) with the request's NixOS override ([`super::nix`]) as an extra module.

use crate::escape::NixString;

/// The override module's file name next to the flake.
pub const OVERRIDE_FILE: &str = "nixos-images-override.nix";

/// `flake.nix` for the image `attr` of `flake_ref` built for `system` (every string escaped as a Nix string).
pub fn flake_nix(flake_ref: &str, system: &str, attr: &str) -> String {
    format!(
        "# Written by nixos-images-gen build: the image {attr} with the request's NixOS override.\n\
         {{\n  inputs.nixos-images.url = {url};\n\n  outputs =\n    {{ nixos-images, ... }}:\n    {{\n      \
         packages.{system}.default = nixos-images.lib.image {{\n        system = {sys};\n        name = {name};\n        \
         modules = [ ./{OVERRIDE_FILE} ];\n      }};\n    }};\n}}\n",
        url = NixString(flake_ref),
        sys = NixString(system),
        name = NixString(attr),
    )
}
