# ZFS in the installer, with the newest kernel whose ZFS module builds: the latest kernels often run ahead of ZFS,
# and an installer that cannot import or create a pool cannot install onto one.
{ lib, pkgs, ... }:
let
  # The ZFS userland the installer ships; its kernel module is the kernel package set's attribute of this name.
  # (Decided from pkgs, not from config.boot.zfs.package, which this module defines.)
  zfs = pkgs.zfs_unstable;
  zfsAttr = zfs.kernelModuleAttribute;
  # linux_X_Y package sets whose ZFS module is not marked broken (evaluating some sets throws: skip those).
  compatible = lib.filterAttrs (
    name: kernelPackages:
    builtins.match "linux_[0-9]+_[0-9]+" name != null
    && (builtins.tryEval kernelPackages).success
    && (
      let
        module = builtins.tryEval (kernelPackages.${zfsAttr} or null);
      in
      module.success && module.value != null && !(module.value.meta.broken or false)
    )
  ) pkgs.linuxKernel.packages;
  newest = lib.last (
    lib.sort (a: b: lib.versionOlder a.kernel.version b.kernel.version) (builtins.attrValues compatible)
  );
in
{
  config = lib.mkIf (lib.meta.availableOn pkgs.stdenv.hostPlatform zfs) {
    boot.supportedFilesystems.zfs = true;
    boot.zfs.package = lib.mkDefault zfs;
    boot.kernelPackages = lib.mkIf (compatible != { }) (lib.mkDefault newest);
    networking.hostId = lib.mkDefault "8425e349";
  };
}
