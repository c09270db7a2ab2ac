# For automated installs (nixos-anywhere): drops what only a person at the console uses, which roughly halves
# the closure. The seed's noninteractive installer makes the same reductions.
{ lib, pkgs, ... }:
{
  # profiles/base.nix adds editors, filesystem tools and documentation to lists that cannot be shortened later.
  disabledModules = [ "profiles/base.nix" ];

  # No compiler toolchain or nixpkgs source in the image (the system is evaluated elsewhere).
  system.extraDependencies = lib.mkForce [ ];
  nix.registry = lib.mkForce { };
  nix.channel.enable = false;

  documentation.enable = false;
  documentation.man.enable = false;
  documentation.nixos.enable = false;
  documentation.info.enable = false;
  documentation.doc.enable = false;
  programs.nano.enable = false;
  programs.command-not-found.enable = false;
  fonts.fontconfig.enable = false;
  xdg.icons.enable = false;
  xdg.mime.enable = false;
  xdg.sounds.enable = false;
  services.udisks2.enable = false;
  hardware.enableRedistributableFirmware = lib.mkForce false;

  # What an installation needs, from the lists base.nix would have filled.
  environment.defaultPackages = lib.mkForce [
    pkgs.rsync
    pkgs.parted
  ];
  boot.supportedFilesystems = [
    "btrfs"
    "vfat"
    "xfs"
    "ext4"
    "f2fs"
    "ntfs"
  ];
  networking.hostId = lib.mkDefault "8425e349";
}
