# What every installer image shares: its name, how nixos-anywhere recognises it, SSH, the agent, and zswap so
# machines with little RAM can hold the system in memory.
{ config, lib, ... }:
{
  imports = [ ./packages.nix ];

  # A request's host name (render nix-module, lib.mkForce) or the overlay's wins over this default.
  networking.hostName = lib.mkDefault "nixos-installer";
  # nixos-anywhere checks /etc/os-release for VARIANT_ID=installer before it partitions.
  system.nixos.variant_id = lib.mkDefault "installer";

  services.openssh.enable = true;
  services.openssh.settings.PermitRootLogin = lib.mkDefault "prohibit-password";

  environment.systemPackages = [ config.nixos-images.agent ];

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
}
