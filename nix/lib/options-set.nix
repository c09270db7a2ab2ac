# The NixOS option paths that `nixos-images-gen render nix-module` (and so `nixos-images-gen build`) sets:
# the same list as OPTIONS_SET in core/src/render/nix.rs (cli/tests/nix_modules.rs compares them). The image
# modules may give these defaults (lib.mkDefault) but never force them, or a request's value would be lost;
# nix/modules/override-contract.nix asserts at evaluation time that each one is a declared option.
[
  "users.users.root.openssh.authorizedKeys.keys"
  "networking.hostName"
  "networking.nameservers"
  "boot.kernelParams"
  "systemd.network.enable"
  "systemd.network.networks"
]
