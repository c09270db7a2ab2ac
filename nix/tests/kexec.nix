# NixOS VM test: a NixOS machine with a static IPv4/IPv6 network (no DHCP), host keys, root's authorized key and
# a machine-id unpacks this flake's kexec tarball and runs kexec/run; the installer it boots into must have the
# same host keys, authorized key, machine-id, addresses and routes, and answer SSH with the old host key.
{
  pkgs,
  self,
  system,
}:
let
  # The released image plus what the test driver needs to reach the installer after the kexec (its backdoor
  # shell and virtio drivers); everything else is the package's.
  tarball = self.lib.image {
    inherit system;
    name = "kexec-installer-nixos-unstable";
    modules = [
      (pkgs.path + "/nixos/modules/testing/test-instrumentation.nix")
      (pkgs.path + "/nixos/modules/profiles/qemu-guest.nix")
    ];
  };
  # Fixed test keys (nix/tests/keys/): a derivation that made them would be read at evaluation time (IFD).
  keys = ./keys;
in
pkgs.testers.runNixOSTest {
  name = "nixos-images-kexec";
  nodes.node1 =
    { lib, ... }:
    {
      virtualisation.memorySize = 2 * 1024;
      virtualisation.vlans = [ 1 ];
      networking.useNetworkd = true;
      networking.useDHCP = false;
      networking.interfaces.eth1 = {
        ipv4.addresses = [ { address = "192.168.42.2"; prefixLength = 24; } ];
        ipv6.addresses = [ { address = "2001:db8::2"; prefixLength = 64; } ];
        ipv4.routes = [ { address = "192.168.43.0"; prefixLength = 24; via = "192.168.42.1"; } ];
      };
      services.openssh.enable = true;
      users.users.root.openssh.authorizedKeys.keyFiles = [ ./keys/client.pub ];
      environment.etc."machine-id".text = "0123456789abcdef0123456789abcdef\n";
      services.openssh.hostKeys = [ ];
      system.activationScripts.testHostKey = ''
        install -D -m 600 ${keys}/host /etc/ssh/ssh_host_ed25519_key
        install -D -m 644 ${keys}/host.pub /etc/ssh/ssh_host_ed25519_key.pub
      '';
    };
  nodes.client =
    { ... }:
    {
      virtualisation.vlans = [ 1 ];
      networking.useDHCP = false;
      networking.interfaces.eth1.ipv4.addresses = [ { address = "192.168.42.1"; prefixLength = 24; } ];
      networking.interfaces.eth1.ipv6.addresses = [ { address = "2001:db8::1"; prefixLength = 64; } ];
      environment.systemPackages = [ pkgs.openssh ];
    };

  testScript = ''
    start_all()
    node1.wait_for_unit("sshd.service")
    client.wait_for_unit("network-online.target")
    client.succeed("install -D -m 600 ${keys}/client /root/.ssh/id_ed25519")
    client.succeed("echo '192.168.42.2 '$(cat ${keys}/host.pub) > /root/.ssh/known_hosts")
    ssh = "ssh -o ConnectTimeout=5 -o StrictHostKeyChecking=yes root@192.168.42.2 "
    before = client.succeed(ssh + "cat /etc/machine-id").strip()

    node1.succeed("tar -C /root -xzf ${tarball}/*.tar.gz")
    node1.succeed("/root/kexec/run >&2")
    node1.connected = False
    node1.connect()
    node1.wait_for_unit("multi-user.target")

    assert node1.succeed("cat /etc/hostname; hostname").strip().endswith("nixos-installer")
    node1.succeed("grep -q VARIANT_ID=installer /etc/os-release")
    assert node1.succeed("cat /etc/machine-id").strip() == before
    node1.succeed("cmp /etc/ssh/ssh_host_ed25519_key.pub ${keys}/host.pub")
    node1.succeed("grep -q test-client /root/.ssh/authorized_keys")
    node1.wait_until_succeeds("ip -4 addr show | grep -q 192.168.42.2/24")
    node1.wait_until_succeeds("ip -6 addr show | grep -q 2001:db8::2/64")
    node1.wait_until_succeeds("ip -4 route show | grep -q '192.168.43.0/24 via 192.168.42.1'")
    # SSH with the old host key pinned: the installer kept it.
    client.wait_until_succeeds(ssh + "true", timeout=120)
    assert client.succeed(ssh + "cat /etc/machine-id").strip() == before
  '';
}
