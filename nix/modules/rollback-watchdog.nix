# The rollback watchdog of the kexec installer: unless someone logs in over SSH in time, the installer reboots and
# the machine comes back in the system on its disk. kexec/run arms it with nixos_images.rollback_seconds= on the
# kernel command line (the request's kexec.rollback_minutes); without it the agent says "off" and exits.
#
# The agent follows sshd's messages of this boot in the journal: OpenSSH logs a login as sshd-session from 9.8 on
# (sshd before; sshd-auth is 10's pre-authentication half, listed so that a move of the message is still seen).
# Its countdown goes to the console; login shells show where it stands and how to cancel it.
{ config, lib, ... }:
let
  agent = lib.getExe config.nixos-images.agent;
in
{
  config = {
    systemd.services.nixos-images-rollback = {
      description = "nixos-images rollback watchdog: reboot into the system on disk unless someone logs in over SSH";
      wantedBy = [ "multi-user.target" ];
      # Not after the network: the watchdog is for the machine whose network never comes up.
      after = [ "systemd-journald.service" ];
      serviceConfig = {
        ExecStart = lib.escapeShellArgs [
          agent
          "watchdog"
          "run"
          "--"
          "${config.systemd.package}/bin/journalctl"
          "--boot"
          "--follow"
          "--output=cat"
          "--identifier=sshd"
          "--identifier=sshd-session"
          "--identifier=sshd-auth"
        ];
        StandardOutput = "journal+console";
        # A crash must not leave the machine without its way home; the state file keeps the deadline.
        Restart = "on-failure";
        RestartSec = 2;
      };
    };

    environment.loginShellInit = ''
      ${agent} watchdog status --login
    '';
  };
}
