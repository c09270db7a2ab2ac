# The overlay consumer (layout v1, ARCHITECTURE.md): what a kexec's run script or a netboot overlay put into the
# initrd reaches the booted installer.
#
# Stage 1 (systemd initrd): `nixos-images-agent apply-overlay --root /sysroot` runs after the root is mounted and
# before NixOS's activation, on a fresh tmpfs root where every directory it makes is a real one (the agent refuses
# symbolic links in the target). Activation then links /etc/systemd/network to the store and replaces
# /etc/hostname, so the same unit moves what the agent wrote there out of /etc first, into directories that are
# real on every NixOS: networkd units to /run/systemd/network (the initrd's /run is the system's /run after the
# switch), the resolved drop-in to /run/systemd/resolved.conf.d, the host name to /run/nixos-images/hostname.
# Host keys (/etc/ssh), machine-id, root's authorized_keys and the network dumps (/root/network) stay where the
# agent put them.
#
# Stage 2: nixos-images-restore-network turns the dumps into networkd units in /run/systemd/network before
# network-pre.target; nixos-images-hostname sets the overlay's host name.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  agent = "${config.nixos-images.agent}/bin/nixos-images-agent";
  # Moves a directory's files into a real directory (cp, then remove), for the unit below.
  moveOut = from: to: ''
    if [ -d ${from} ] && [ ! -L ${from} ]; then
      mkdir -p ${to}
      cp -a ${from}/. ${to}/
      rm -rf ${from}
    fi
  '';
in
{
  imports = [ ./packages.nix ];

  boot.initrd.systemd.enable = true;
  boot.initrd.systemd.storePaths = [ agent ];

  boot.initrd.systemd.services.nixos-images-apply-overlay = {
    description = "Install the nixos-images overlay into the new root";
    wantedBy = [ "initrd.target" ];
    after = [ "initrd-fs.target" ];
    requires = [ "initrd-fs.target" ];
    before = [
      "initrd-nixos-activation.service"
      "initrd.target"
    ];
    unitConfig.DefaultDependencies = false;
    serviceConfig.Type = "oneshot";
    script = ''
      ${agent} apply-overlay --root /sysroot --overlay-dir /
      ${moveOut "/sysroot/etc/systemd/network" "/run/systemd/network"}
      ${moveOut "/sysroot/etc/systemd/resolved.conf.d" "/run/systemd/resolved.conf.d"}
      if [ -f /sysroot/etc/hostname ] && [ ! -L /sysroot/etc/hostname ]; then
        mkdir -p /run/nixos-images
        mv /sysroot/etc/hostname /run/nixos-images/hostname
      fi
    '';
  };

  systemd.services.nixos-images-restore-network = {
    description = "Rebuild the network of the machine this installer was kexec'ed from";
    wantedBy = [ "multi-user.target" ];
    wants = [ "network-pre.target" ];
    before = [
      "network-pre.target"
      "systemd-networkd.service"
    ];
    unitConfig.ConditionPathExists = "/root/network/addrs.json";
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
      ExecStartPre = "${pkgs.coreutils}/bin/mkdir -p /run/systemd/network";
      ExecStart = "${agent} restore-network /root/network/addrs.json /root/network/routes-v4.json /root/network/routes-v6.json /run/systemd/network";
    };
  };

  systemd.services.nixos-images-hostname = {
    description = "Set the host name the nixos-images overlay asks for";
    wantedBy = [ "multi-user.target" ];
    before = [ "network-pre.target" ];
    unitConfig.ConditionPathExists = "/run/nixos-images/hostname";
    serviceConfig = {
      Type = "oneshot";
      RemainAfterExit = true;
    };
    script = ''
      read -r name < /run/nixos-images/hostname
      echo "$name" > /proc/sys/kernel/hostname
    '';
  };
}
