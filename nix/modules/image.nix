# Options every image module shares: the channel its scripts are rendered for, and the render call.
{ lib, ... }:
{
  options.nixos-images.channel = lib.mkOption {
    type = lib.types.str;
    default = "nixos-${lib.trivial.release}";
    defaultText = lib.literalExpression ''"nixos-''${lib.trivial.release}"'';
    example = "nixos-unstable";
    description = "The channel the image's scripts name (the flake sets nixos-unstable for the unstable input).";
  };
}
