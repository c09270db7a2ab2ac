{
  description = "nixos-images: netboot images and kexec installer tarballs that boot the NixOS installer anywhere";

  # No flake.lock is committed yet: the first `nix flake lock` (or any `nix build`) creates it.
  inputs = {
    nixos-unstable.url = "github:NixOS/nixpkgs/nixos-unstable";
    nixos-stable.url = "github:NixOS/nixpkgs/nixos-26.11";
  };

  outputs = inputs: import ./nix/flake-outputs.nix inputs;
}
