# The two programs the images carry and use at build time: the CLI (renders the image's own kexec/run and
# netboot.ipxe through the Rust core, at build time) and the static agent (apply-overlay, restore-network,
# preflight; static so it runs in the initrd and from a kexec tarball on any Linux).
{ lib, pkgs, ... }:
{
  options.nixos-images = {
    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.buildPackages.callPackage ../package.nix { };
      defaultText = lib.literalExpression "pkgs.buildPackages.callPackage nix/package.nix { }";
      description = "nixos-images-gen, run at build time to render the image's own scripts.";
    };
    agent = lib.mkOption {
      type = lib.types.package;
      default = pkgs.pkgsStatic.callPackage ../package.nix { agentOnly = true; };
      defaultText = lib.literalExpression "pkgs.pkgsStatic.callPackage nix/package.nix { agentOnly = true; }";
      description = "The static nixos-images-agent, put in the initrd, the system and the kexec tarball.";
    };
  };
}
