# The arguments of the `nixos-images-gen` call that renders an image's own script at build time (kexec/run or
# netboot.ipxe). Pure (builtins only), so cli/tests/nix_modules.rs evaluates it and runs the real CLI with the
# result; the modules pass it to the CLI through lib.escapeShellArgs.
#
#   kind: "kexec-run" or "ipxe"; system: "x86_64-linux" | "aarch64-linux"; channel: "nixos-unstable" | "nixos-YY.MM";
#   init: the toplevel's init path; kernelParams: the image's boot.kernelParams.
{
  kind,
  system,
  channel,
  init,
  kernelParams,
}:
[
  "render"
  kind
  "--image"
  (if kind == "ipxe" then "netboot" else "kexec")
  "--arch"
  system
  "--channel"
  channel
  "--release-init"
  init
]
++ map (p: "--release-kernel-param=${p}") kernelParams
