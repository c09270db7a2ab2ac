# Network defaults: systemd-networkd with DHCPv4/DHCPv6, router advertisements and mDNS on every ethernet link.
# The unit's name sorts after the request's (00-00-nixos-images-NNN) and the restored ones
# (01-nixos-images-restore-<mac>), so a configured link never falls back to it (networkd uses the first match).
{ lib, ... }:
{
  networking.useNetworkd = true;
  networking.useDHCP = false;
  systemd.network.enable = true;
  systemd.network.networks."99-nixos-images-ethernet" = {
    matchConfig.Type = "ether";
    networkConfig = {
      DHCP = "yes";
      IPv6AcceptRA = true;
      MulticastDNS = true;
      LinkLocalAddressing = "yes";
    };
  };
  services.resolved.enable = true;
  # The installer only runs sshd; mDNS (5353/udp) and DHCP replies must come in.
  networking.firewall.enable = lib.mkDefault false;
}
