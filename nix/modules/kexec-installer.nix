# The kexec installer: a tarball to unpack on any running Linux (`tar -C /root -xzf ... && /root/kexec/run`).
#
#   kexec/run                  the run script, rendered by nixos-images-gen with this image's init path and kernel
#                              parameters built in (no kexec/run.release needed; a customized tarball keeps it as
#                              kexec/run.release and reads its init="..." and kernelParams="..." lines)
#   kexec/bzImage, kexec/initrd   this system's kernel and netboot ramdisk
#   kexec/kexec, kexec/ip      static kexec-tools and iproute2 (the run script prefers this ip, it speaks --json)
#   kexec/nixos-images-agent   the static agent: `kexec/run` runs its preflight before it changes anything
#
# The installer runs the rollback watchdog (rollback-watchdog.nix) when kexec/run armed it.
#
# system.build.kexecInstallerTarball is a directory holding <name>-<system>.tar.gz, as the release names it.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.system.kexec-installer;
  system = pkgs.stdenv.hostPlatform.system;
  renderArgs = import ../lib/render-args.nix {
    kind = "kexec-run";
    inherit system;
    inherit (config.nixos-images) channel;
    init = "${config.system.build.toplevel}/init";
    kernelParams = config.boot.kernelParams;
  };
  # Static iproute2 (the run script's `ip --json`); iptables does not link statically and ip does not need it.
  iproute2Static = pkgs.pkgsStatic.iproute2.override { iptables = null; };
  kexecRun = pkgs.runCommand "nixos-images-kexec-run" { } ''
    ${lib.getExe config.nixos-images.package} ${lib.escapeShellArgs renderArgs} -o "$out"
  '';
in
{
  imports = [
    ./installer-base.nix
    ./rollback-watchdog.nix
  ];

  options.system.kexec-installer.name = lib.mkOption {
    type = lib.types.str;
    default = "nixos-kexec-installer";
    example = "nixos-kexec-installer-noninteractive";
    description = "The tarball's name before -<system>.tar.gz (the release's asset name).";
  };

  config = {
    system.build.kexecRun = kexecRun;
    system.build.kexecInstallerTarball =
      pkgs.runCommand "${cfg.name}-${system}"
        {
          nativeBuildInputs = [
            pkgs.buildPackages.gnutar
            pkgs.buildPackages.gzip
          ];
        }
        ''
          mkdir -p kexec "$out"
          cp ${config.system.build.netbootRamdisk}/initrd kexec/initrd
          cp ${config.system.build.kernel}/${config.system.boot.loader.kernelFile} kexec/bzImage
          cp ${kexecRun} kexec/run
          cp ${pkgs.pkgsStatic.kexec-tools}/bin/kexec kexec/kexec
          cp ${iproute2Static}/bin/ip kexec/ip
          cp ${lib.getExe config.nixos-images.agent} kexec/nixos-images-agent
          chmod -R u+w kexec
          tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - kexec \
            | gzip -9n > "$out/${cfg.name}-${system}.tar.gz"
        '';

    # For `[ -f /etc/is_kexec ]` in scripts written for the seed's images.
    environment.etc.is_kexec.text = "true";
  };
}
