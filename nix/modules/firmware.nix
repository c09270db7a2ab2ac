# Redistributable firmware (NICs, storage controllers) in the installer, compressed where the channel can:
# netboot-minimal.nix turns it off at priority 70, so this is one above that.
{ lib, options, ... }:
{
  config = lib.mkMerge [
    { hardware.enableRedistributableFirmware = lib.mkOverride 60 true; }
    # Older channels have no firmwareCompression option (their firmware stays uncompressed).
    (lib.optionalAttrs ((options.hardware or { }) ? firmwareCompression) { hardware.firmwareCompression = "xz"; })
  ];
}
