# The netboot installer: kernel, initrd and the image's own netboot.ipxe, rendered by nixos-images-gen with this
# image's init path and kernel parameters. The script loads the kernel and initrd next to it and appends the
# ${cmdline} a chaining script set (`nixos-images-gen render ipxe` sets it: the overlay's initrd= name, host name,
# the request's parameters). `nixos-images-gen release` rewrites it with absolute release URLs.
#
# system.build.netbootInstaller is a directory: bzImage (Image on aarch64), initrd, netboot.ipxe.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  system = pkgs.stdenv.hostPlatform.system;
  kernelFile = config.system.boot.loader.kernelFile;
  renderArgs = import ../lib/render-args.nix {
    kind = "ipxe";
    inherit system;
    inherit (config.nixos-images) channel;
    init = "${config.system.build.toplevel}/init";
    kernelParams = config.boot.kernelParams;
  };
in
{
  imports = [ ./installer-base.nix ];

  system.build.netbootInstaller = pkgs.runCommand "nixos-images-netboot-${system}" { } ''
    mkdir -p "$out"
    ln -s ${config.system.build.kernel}/${kernelFile} "$out/${kernelFile}"
    ln -s ${config.system.build.netbootRamdisk}/initrd "$out/initrd"
    ${lib.getExe config.nixos-images.package} ${lib.escapeShellArgs renderArgs} -o "$out/netboot.ipxe"
  '';
}
