# The override contract: every option path that `nixos-images-gen render nix-module` sets (nix/lib/options-set.nix,
# the same list as OPTIONS_SET in core) must be a declared NixOS option, so a rendered override evaluates against
# these images. Checked whenever an image is evaluated.
{ lib, options, ... }:
let
  paths = import ../lib/options-set.nix;
  # users.users is an attribute set of submodules: root's options are the submodule's.
  declared =
    p:
    let
      parts = lib.splitString "." p;
    in
    if lib.take 2 parts == [ "users" "users" ] then
      lib.hasAttrByPath (lib.drop 3 parts) (options.users.users.type.getSubOptions [ ])
    else
      lib.hasAttrByPath parts options;
  missing = builtins.filter (p: !declared p) paths;
in
{
  assertions = [
    {
      assertion = missing == [ ];
      message = "nixos-images: options a rendered override sets are not declared: ${toString missing}";
    }
  ];
}
