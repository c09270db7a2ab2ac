# The flake's outputs (flake.nix at the repository root only names the inputs).
#
#   packages.<system>: nixos-images (the CLI and agent), nixos-images-agent (static),
#     kexec-installer-nixos-{unstable,stable}[-noninteractive], netboot-nixos-{unstable,stable}
#   lib.image { system, name, modules ? [ ] }: the package `name` built with more NixOS modules (what
#     `nixos-images-gen build` calls with the request's rendered override); lib.imageSystem: its NixOS system
#   nixosModules: kexec-installer, netboot-installer, noninteractive, networkd, serial, overlay, installer; default
#   checks.<system>: every package, and the NixOS VM tests in nix/tests/ (x86_64-linux)
{
  self,
  nixos-unstable,
  nixos-stable,
  ...
}:
let
  inherit (nixos-unstable) lib;
  systems = [
    "x86_64-linux"
    "aarch64-linux"
  ];
  forAllSystems = f: lib.genAttrs systems f;

  channels = {
    nixos-unstable = {
      nixpkgs = nixos-unstable;
      name = "nixos-unstable";
    };
    nixos-stable = {
      nixpkgs = nixos-stable;
      name = "nixos-${nixos-stable.lib.trivial.release}";
    };
  };

  # Image name -> the NixOS modules it is made of and the build output it is.
  kinds = {
    kexec-installer = {
      modules = [ self.nixosModules.kexec-installer ];
      output = config: config.system.build.kexecInstallerTarball;
    };
    kexec-installer-noninteractive = {
      modules = [
        self.nixosModules.kexec-installer
        self.nixosModules.noninteractive
        { system.kexec-installer.name = "nixos-kexec-installer-noninteractive"; }
      ];
      output = config: config.system.build.kexecInstallerTarball;
    };
    netboot = {
      modules = [ self.nixosModules.netboot-installer ];
      output = config: config.system.build.netbootInstaller;
    };
  };

  # Package name -> { kind; channel; }: kexec-installer-<channel>, kexec-installer-<channel>-noninteractive,
  # netboot-<channel>, for channel nixos-unstable and nixos-stable (nixos-images-gen build maps a request's
  # image kind and channel to these names).
  images = lib.listToAttrs (
    lib.concatMap (channel: [
      {
        name = "kexec-installer-${channel}";
        value = {
          kind = "kexec-installer";
          inherit channel;
        };
      }
      {
        name = "kexec-installer-${channel}-noninteractive";
        value = {
          kind = "kexec-installer-noninteractive";
          inherit channel;
        };
      }
      {
        name = "netboot-${channel}";
        value = {
          kind = "netboot";
          inherit channel;
        };
      }
    ]) (builtins.attrNames channels)
  );

  nixosSystemOf =
    {
      system,
      name,
      modules ? [ ],
    }:
    let
      image = images.${name} or (throw "nixos-images: no image ${name}; images: ${toString (builtins.attrNames images)}");
      channel = channels.${image.channel};
    in
    channel.nixpkgs.lib.nixosSystem {
      inherit system;
      modules =
        kinds.${image.kind}.modules
        ++ [
          {
            nixos-images.channel = channel.name;
            nixos-images.package = self.packages.${system}.nixos-images;
            nixos-images.agent = self.packages.${system}.nixos-images-agent;
          }
        ]
        ++ modules;
    };
in
{
  lib.image =
    args@{ name, ... }:
    let
      image = images.${name} or (throw "nixos-images: no image ${name}");
    in
    kinds.${image.kind}.output (nixosSystemOf args).config;
  # The NixOS system of an image (its .config), for inspection: nix/check-against-nixpkgs.sh checks promises on it.
  lib.imageSystem = nixosSystemOf;
  lib.images = builtins.attrNames images;
  # The stable input's release ("26.11"): the release workflow names its channel nixos-<this>.
  lib.stableRelease = nixos-stable.lib.trivial.release;

  nixosModules = {
    kexec-installer = ./modules/kexec-installer.nix;
    netboot-installer = ./modules/netboot-installer.nix;
    noninteractive = ./modules/noninteractive.nix;
    networkd = ./modules/networkd.nix;
    serial = ./modules/serial.nix;
    overlay = ./modules/overlay.nix;
    installer = ./modules/installer.nix;
    default = self.nixosModules.kexec-installer;
  };

  packages = forAllSystems (
    system:
    let
      pkgs = nixos-unstable.legacyPackages.${system};
    in
    {
      nixos-images = pkgs.callPackage ./package.nix { };
      nixos-images-agent = pkgs.pkgsStatic.callPackage ./package.nix { agentOnly = true; };
      default = self.packages.${system}.nixos-images;
    }
    // lib.mapAttrs (name: _: self.lib.image { inherit system name; }) images
  );

  checks = forAllSystems (
    system:
    let
      pkgs = nixos-unstable.legacyPackages.${system};
      # Every nix/tests/<name>.nix is a NixOS VM test: { pkgs, self } -> pkgs.testers.runNixOSTest { ... }.
      tests = lib.mapAttrs' (file: _: {
        name = "vm-" + lib.removeSuffix ".nix" file;
        value = import (./tests + "/${file}") { inherit pkgs self system; };
      }) (lib.filterAttrs (f: t: t == "regular" && lib.hasSuffix ".nix" f) (builtins.readDir ./tests));
    in
    lib.removeAttrs self.packages.${system} [ "default" ] // lib.optionalAttrs (system == "x86_64-linux") tests
  );

  devShells = forAllSystems (system: {
    default =
      let
        pkgs = nixos-unstable.legacyPackages.${system};
      in
      pkgs.mkShell {
        packages = [
          pkgs.cargo
          pkgs.rustc
          pkgs.clippy
          pkgs.rustfmt
          pkgs.nix
          pkgs.shellcheck
          pkgs.dash
          pkgs.busybox
          pkgs.cpio
          pkgs.minisign
          pkgs.nixfmt
        ];
      };
  });

  formatter = forAllSystems (system: nixos-unstable.legacyPackages.${system}.nixfmt);
}
