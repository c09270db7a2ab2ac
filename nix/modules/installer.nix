# What every installer image shares: its name, how nixos-anywhere recognises it, SSH, the tools an automated
# install uses, and what upstream's installers learned the hard way (a debuggable initrd, xz, zswap).
{
  config,
  lib,
  pkgs,
  ...
}:
{
  imports = [
    ./packages.nix
    ./firmware.nix
  ];

  config = {
    # A request's host name (render nix-module, lib.mkForce) or the overlay's wins over this default.
    networking.hostName = lib.mkDefault "nixos-installer";
    # nixos-anywhere checks /etc/os-release for VARIANT_ID=installer before it partitions. (installation-device.nix
    # sets the same at mkDefault: one priority above it, so the two never meet at one priority.)
    system.nixos.variant_id = lib.mkOverride 900 "installer";

    services.openssh.enable = true;
    # Keys only for root: installation-device.nix says "yes" at mkDefault (root has an empty password there), so
    # this needs a higher priority than mkDefault, and stays below a plain definition of the person's own.
    services.openssh.settings.PermitRootLogin = lib.mkOverride 900 "prohibit-password";

    # NetworkManager (installation-device.nix enables it from 25.11) races networkd for the same links and drops
    # static routes in the middle of an install; the images configure the network with networkd alone.
    networking.networkmanager.enable = lib.mkForce false;

    # Tools nixos-anywhere and disko-based installs call on the target: its hardware step runs nixos-facter.
    # (nixos-install, nixos-enter and nixos-generate-config are the system's own, system.tools; nixpkgs'
    # nixos-install-tools package evaluates a NixOS of its own, which overflows Nix's stack inside an image.)
    environment.systemPackages = [
      config.nixos-images.agent
      pkgs.nixos-facter
      pkgs.disko
      pkgs.jq
      pkgs.rsync
    ];
    nix.settings.experimental-features = [
      "nix-command"
      "flakes"
    ];

    # A machine that is only reachable on its console can still be debugged when the initrd fails.
    boot.initrd.systemd.emergencyAccess = true;
    # xz with the CRC32 check: the only one the kernel's xz decompressor knows.
    boot.initrd.compressor = "xz";
    boot.initrd.compressorArgs = [
      "--check=crc32"
      "--lzma2=dict=512KiB"
    ];

    # Software RAID members must be found when the disks are wiped (nixos-anywhere#249: dm-raid is not loaded).
    boot.kernelModules = [ "dm-raid" ];

    # zswap: compressed swap cache in RAM; with no swap device it only compresses what would be swapped, which
    # makes the tmpfs root and the store of a small machine go further.
    boot.kernelParams = [
      "zswap.enabled=1"
      "zswap.max_pool_percent=50"
      "zswap.compressor=zstd"
    ];
    boot.initrd.kernelModules = [ "zstd" ];

    # Stateless: the current release's defaults.
    system.stateVersion = lib.mkDefault config.system.nixos.release;
  };
}
