# nixos-images-gen and nixos-images-agent from this workspace. With agentOnly, only the agent (built with
# pkgsStatic, it is a static musl binary that runs in an empty root).
{
  lib,
  rustPlatform,
  agentOnly ? false,
}:
let
  cargoToml = lib.importTOML ../Cargo.toml;
in
rustPlatform.buildRustPackage {
  pname = if agentOnly then "nixos-images-agent" else "nixos-images";
  inherit (cargoToml.workspace.package) version;
  src = lib.cleanSource ../.;
  cargoLock.lockFile = ../Cargo.lock;
  cargoBuildFlags = [ "-p" "nixos-images-cli" ] ++ lib.optionals agentOnly [ "--bin" "nixos-images-agent" ];
  # The tests need root, qemu and nix-instantiate (.ci/test runs them); the build only compiles.
  doCheck = false;
  meta = {
    description = "Render, bundle and customize nixos-images artifacts";
    license = lib.licenses.mit;
    mainProgram = if agentOnly then "nixos-images-agent" else "nixos-images-gen";
    platforms = lib.platforms.linux;
  };
}
