# What every installer image (kexec and netboot) is made of: the netboot-minimal profile, our installer defaults,
# networkd, serial consoles, the overlay consumer and the check that the request's override options exist.
{ modulesPath, ... }:
{
  imports = [
    (modulesPath + "/installer/netboot/netboot-minimal.nix")
    ./image.nix
    ./installer.nix
    ./networkd.nix
    ./serial.nix
    ./overlay.nix
    ./override-contract.nix
  ];
}
