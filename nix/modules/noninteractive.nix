# For automated installs (nixos-anywhere): drops what only a person at the console uses, which roughly halves
# the closure, and adds ZFS with the newest kernel it supports (installs onto ZFS pools need its module).
{ lib, pkgs, ... }:
{
  imports = [ ./zfs.nix ];

  # profiles/base.nix adds editors, filesystem tools and documentation to lists that cannot be shortened later.
  disabledModules = [ "profiles/base.nix" ];

  # No compiler toolchain or nixpkgs source in the image (the system is evaluated elsewhere).
  system.extraDependencies = lib.mkForce [ ];
  nix.registry = lib.mkForce { };
  nix.channel.enable = false;
  # The copy of nixpkgs installation-device.nix adds (nix.channel.enable does not remove it).
  system.installer.channel.enable = false;

  # installation-device.nix forces documentation on with mkImageMediaOverride (priority 60): mkForce beats it.
  documentation.enable = lib.mkForce false;
  documentation.man.enable = lib.mkForce false;
  documentation.nixos.enable = lib.mkForce false;
  documentation.info.enable = lib.mkForce false;
  documentation.doc.enable = lib.mkForce false;
  programs.nano.enable = false;
  programs.command-not-found.enable = false;
  fonts.fontconfig.enable = false;
  xdg.icons.enable = false;
  xdg.mime.enable = false;
  xdg.sounds.enable = false;
  services.udisks2.enable = false;

  # What an installation needs, from the lists base.nix would have filled.
  environment.defaultPackages = lib.mkForce [
    pkgs.rsync
    pkgs.parted
    pkgs.gptfdisk
    pkgs.e2fsprogs
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
