# Consoles: the machine's serial port (IPMI serial-over-LAN, cloud consoles) and the screen. The kernel writes to
# every console=; the last one is /dev/console, where stage 1 and systemd print, so the screen comes last.
{ lib, pkgs, ... }:
{
  boot.kernelParams =
    (if pkgs.stdenv.hostPlatform.isAarch64 then [ "console=ttyAMA0,115200n8" ] else [ "console=ttyS0,115200n8" ])
    ++ [ "console=tty0" ];
}
