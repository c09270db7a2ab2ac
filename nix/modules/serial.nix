# Consoles: the machine's serial ports (IPMI serial-over-LAN, cloud consoles) and the screen. The kernel writes to
# every console=; the last one is /dev/console, where stage 1 and systemd print, so the screen comes last.
# aarch64 boards and clouds use a PL011 (ttyAMA0) or a 16550 (ttyS0): both are named.
{ lib, pkgs, ... }:
{
  boot.kernelParams =
    (
      if pkgs.stdenv.hostPlatform.isAarch64 then
        [
          "console=ttyAMA0,115200n8"
          "console=ttyS0,115200n8"
        ]
      else
        [ "console=ttyS0,115200n8" ]
    )
    ++ [ "console=tty0" ];
}
