# What an image's evaluated configuration must be: the promises nix/check-against-nixpkgs.sh checks on a real
# nixpkgs tree (CI has none; cli/tests/nix_modules.rs guards what stubs can see). Each entry: what is promised,
# whether it holds, and the value found.
#
#   config: the image's NixOS config; noninteractive: whether it is a -noninteractive image;
#   aarch64: whether it is built for aarch64-linux; rootKey: a key the request's override gives root (or null);
#   requestKernelParams: the parameters the request's override adds (its consoles come after the image's).
{
  config,
  noninteractive,
  aarch64,
  rootKey ? null,
  requestKernelParams ? [ ],
}:
let
  has = list: x: builtins.elem x list;
  promise = what: ok: got: { inherit what ok got; };
  consoles = builtins.filter (p: builtins.substring 0 8 p == "console=" && !has requestKernelParams p) config.boot.kernelParams;
  wantConsoles =
    (if aarch64 then [ "console=ttyAMA0,115200n8" "console=ttyS0,115200n8" ] else [ "console=ttyS0,115200n8" ])
    ++ [ "console=tty0" ];
  overlayUnit = config.boot.initrd.systemd.services.nixos-images-apply-overlay;
  restoreUnit = config.systemd.services.nixos-images-restore-network;
  rollbackUnit = config.systemd.services.nixos-images-rollback;
  # Whether the text has the words (no regex characters in them).
  contains = words: text: builtins.length (builtins.split words text) > 1;
  packageNames = map (p: p.pname or p.name or "") config.environment.systemPackages;
  hasPackage = name: builtins.any (n: n == name || builtins.match "${name}-[0-9].*" n != null) packageNames;
  documentation = {
    inherit (config.documentation) enable;
    man = config.documentation.man.enable;
    nixos = config.documentation.nixos.enable;
    doc = config.documentation.doc.enable;
    info = config.documentation.info.enable;
  };
in
[
  (promise "sshd on" config.services.openssh.enable config.services.openssh.enable)
  (promise "no password login for root (PermitRootLogin)" (has [
    "prohibit-password"
    "without-password"
    "no"
  ] config.services.openssh.settings.PermitRootLogin) config.services.openssh.settings.PermitRootLogin)
  (promise "NetworkManager off" (!config.networking.networkmanager.enable) config.networking.networkmanager.enable)
  (promise "systemd-networkd on" config.systemd.network.enable config.systemd.network.enable)
  (promise "systemd-resolved on" config.services.resolved.enable config.services.resolved.enable)
  (promise "VARIANT_ID=installer" (config.system.nixos.variant_id == "installer") config.system.nixos.variant_id)
  (promise "systemd initrd" config.boot.initrd.systemd.enable config.boot.initrd.systemd.enable)
  (promise "emergency access in the initrd" (config.boot.initrd.systemd.emergencyAccess == true)
    config.boot.initrd.systemd.emergencyAccess
  )
  (promise "overlay consumer after initrd-fs.target, before initrd-nixos-activation.service"
    (has overlayUnit.after "initrd-fs.target" && has overlayUnit.before "initrd-nixos-activation.service")
    { inherit (overlayUnit) after before; }
  )
  (promise "restore-network before network-pre.target and systemd-networkd.service"
    (has restoreUnit.before "network-pre.target" && has restoreUnit.before "systemd-networkd.service")
    restoreUnit.before
  )
  (promise "consoles in order (the screen last)" (consoles == wantConsoles) consoles)
  (promise "initrd xz with the CRC32 check"
    (config.boot.initrd.compressor == "xz" && has config.boot.initrd.compressorArgs "--check=crc32")
    { inherit (config.boot.initrd) compressor compressorArgs; }
  )
  (promise "redistributable firmware, compressed"
    (config.hardware.enableRedistributableFirmware && (config.hardware.firmwareCompression or "none") != "none")
    {
      enable = config.hardware.enableRedistributableFirmware;
      compression = config.hardware.firmwareCompression or null;
    }
  )
  (promise "flakes enabled" (has config.nix.settings.experimental-features "flakes")
    config.nix.settings.experimental-features
  )
  (promise "dm-raid loaded" (has config.boot.kernelModules "dm-raid") config.boot.kernelModules)
  (promise "tools: nixos-facter, disko, jq, rsync, nixos-install, nixos-enter, nixos-generate-config"
    (builtins.all hasPackage [
      "nixos-facter"
      "disko"
      "jq"
      "rsync"
      "nixos-install"
      "nixos-enter"
      "nixos-generate-config"
    ])
    packageNames
  )
]
++ (
  if rootKey == null then
    [ ]
  else
    [
      (promise "root's keys from the request" (has config.users.users.root.openssh.authorizedKeys.keys rootKey)
        config.users.users.root.openssh.authorizedKeys.keys
      )
    ]
)
++ (
  if config.system.build ? kexecInstallerTarball then
    [
      (promise "kexec: the rollback watchdog starts at boot" (has rollbackUnit.wantedBy "multi-user.target")
        rollbackUnit.wantedBy
      )
      (promise "kexec: the rollback watchdog follows sshd in the journal, on the console" (
        contains "/bin/nixos-images-agent watchdog run -- /" rollbackUnit.serviceConfig.ExecStart
        && contains "/bin/journalctl --boot --follow " rollbackUnit.serviceConfig.ExecStart
        && rollbackUnit.serviceConfig.StandardOutput == "journal+console"
      ) rollbackUnit.serviceConfig)
      (promise "kexec: login shells show the rollback watchdog" (
        contains "watchdog status --login" config.programs.bash.loginShellInit
      ) config.programs.bash.loginShellInit)
    ]
  else
    [ ]
)
++ (
  if noninteractive then
    [
      (promise "noninteractive: no documentation" (builtins.all (v: !v) (builtins.attrValues documentation))
        documentation
      )
      (promise "noninteractive: no nixpkgs channel copy" (!config.system.installer.channel.enable)
        config.system.installer.channel.enable
      )
      (promise "noninteractive: ZFS with a kernel it supports" (
        config.boot.supportedFilesystems.zfs or false
        && !(config.boot.kernelPackages.${config.boot.zfs.package.kernelModuleAttribute}.meta.broken or false)
      ) config.boot.kernelPackages.kernel.version)
    ]
  else
    [ ]
)
