#!/usr/bin/env bash
# The maintainers' pre-release check: evaluates the flake against a real nixpkgs tree, with import-from-derivation
# off (as Hydra and `--option allow-import-from-derivation false` do), which CI cannot (it has no nixpkgs; its
# stub tests guard what they can see):
#   1. every package and check of x86_64-linux and aarch64-linux (their .drvPath);
#   2. lib.image with the rendered override (`nixos-images-gen render nix-module`) of every examples/*.toml;
#   3. the promises of nix/lib/promises.nix on every image of both systems (sshd, keys-only root, no
#      NetworkManager, networkd + resolved, VARIANT_ID, systemd initrd, overlay unit order, consoles, ...);
#   4. `nix flake show`.
# Both flake inputs are overridden with the tree. Nothing is built and no binary cache is asked.
#
#   nix/check-against-nixpkgs.sh NIXPKGS
#
# NIXPKGS is a nixpkgs checkout (added to the store once, about 400 MB) or its store path. The flake is read as
# git+file: files git does not track are not seen (`git add` new ones first). Exit code 1 when anything fails.
set -euo pipefail

nixpkgs=${1:?usage: nix/check-against-nixpkgs.sh NIXPKGS (a nixpkgs checkout or its /nix/store path)}
repo=$(cd "$(dirname "$0")/.." && pwd)
export NIX_CONFIG=$'substituters =\nbuild-users-group =\nflake-registry =\nexperimental-features = nix-command flakes\nallow-import-from-derivation = false\n'

case "$nixpkgs" in
  /nix/store/*) ;;
  *) nixpkgs=$(nix-store --add-fixed --recursive sha256 "$(cd "$nixpkgs" && pwd)") ;;
esac
untracked=$(git -C "$repo" ls-files --others --exclude-standard -- nix flake.nix examples)
if [ -n "$untracked" ]; then
  echo "warning: not seen by the flake (untracked): $untracked" >&2
fi
flake="git+file://$repo"
nix_eval() {
  nix eval --no-write-lock-file --override-input nixos-unstable "path:$nixpkgs" \
    --override-input nixos-stable "path:$nixpkgs" "$@" 2> >(grep -v "^warning: \|^• Added input\|^    'path:" >&2)
}

echo "nixpkgs: $nixpkgs ($(nix eval --raw --impure --expr "(import $nixpkgs/lib).version"))"
cli=$repo/target/debug/nixos-images-gen
(cd "$repo" && cargo build -q -p nixos-images-cli --bin nixos-images-gen)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0
report() { # STATUS WHAT DETAIL
  printf '%-4s %s%s\n' "$1" "$2" "${3:+  $3}"
  [ "$1" = ok ] || failed=1
}

# --- 1. Packages and checks ------------------------------------------------------------------------------------------
# One evaluation for all of them; tryEval keeps one failure from hiding the others (the failing ones are evaluated
# again alone below, for their message).
drvs=$(for output in packages checks; do
  nix_eval --json "$flake#$output" --apply 'builtins.mapAttrs (system: builtins.mapAttrs (name: drv:
    let r = builtins.tryEval drv.drvPath; in if r.success then r.value else null))' |
    jq --arg o "$output" '{ ($o): . }'
done | jq -s add)
while IFS=$'\t' read -r what drv; do
  if [ "$drv" = null ]; then
    message=$(nix_eval --raw "$flake#$what.drvPath" 2>&1 >/dev/null | grep -m1 "error:" || true)
    report FAIL "$what" "$message"
  else
    report ok "$what" "$drv"
  fi
done < <(jq -r 'to_entries[] | .key as $kind | .value | to_entries[] | .key as $system | .value | to_entries[]
  | "\($kind).\($system).\(.key)\t\(.value // "null")"' <<<"$drvs")

# --- 2. lib.image with each example's override ------------------------------------------------------------------------
stable=$(nix_eval --raw "$flake#lib.stableRelease")
for example in "$repo"/examples/*.toml; do
  name=$(basename "$example" .toml)
  request=$(cat "$example")
  kind=$(sed -n 's/^image = "\(.*\)"/\1/p' <<<"$request")
  arch=$(sed -n 's/^arch = "\(.*\)"/\1/p' <<<"$request")
  channel=$(sed -n 's/^channel = "\(.*\)"/\1/p' <<<"$request")
  kind=${kind:-kexec} arch=${arch:-x86_64-linux} channel=${channel:-nixos-unstable}
  # The flake builds nixos-unstable and the current stable (`build` refuses others): older examples are checked
  # with their override rendered for the stable channel.
  note=""
  case "$channel" in
    nixos-unstable) input=nixos-unstable ;;
    "nixos-$stable") input=nixos-stable ;;
    *) input=nixos-stable note="(rendered for nixos-$stable, not $channel)" channel="nixos-$stable" ;;
  esac
  case "$kind" in
    kexec) image=kexec-installer-$input ;;
    kexec-noninteractive) image=kexec-installer-$input-noninteractive ;;
    netboot) image=netboot-$input ;;
  esac
  "$cli" render nix-module -r "$example" --channel "$channel" -o "$work/$name.nix" 2>/dev/null
  if drv=$(nix_eval --raw --impure "$flake#lib" --apply \
    "lib: (lib.image { system = \"$arch\"; name = \"$image\"; modules = [ $work/$name.nix ]; }).drvPath" 2>"$work/err"); then
    report ok "lib.image $image + examples/$name.toml $note" "$drv"
  else
    report FAIL "lib.image $image + examples/$name.toml $note" "$(grep -m1 "error:" "$work/err")"
  fi
done

# --- 3. Promises ------------------------------------------------------------------------------------------------------
"$cli" render nix-module -r "$repo/examples/static-hetzner.toml" -o "$work/request.nix" 2>/dev/null
key=$(sed -n 's/^ssh_authorized_keys = \["\(.*\)"\]$/\1/p' "$repo/examples/static-hetzner.toml")
for system in x86_64-linux aarch64-linux; do
  for image in $(nix_eval --json "$flake#lib.images" | jq -r '.[]'); do
    noninteractive=false
    case "$image" in *-noninteractive) noninteractive=true ;; esac
    aarch64=false
    [ "$system" = aarch64-linux ] && aarch64=true
    if ! result=$(nix_eval --json --impure "$flake#lib" --apply "lib: import $repo/nix/lib/promises.nix {
        config = (lib.imageSystem { system = \"$system\"; name = \"$image\"; modules = [ $work/request.nix ]; }).config;
        noninteractive = $noninteractive; aarch64 = $aarch64; rootKey = \"$key\"; }" 2>"$work/err"); then
      report FAIL "promises of $image on $system" "$(grep -m1 "error:" "$work/err")"
      continue
    fi
    while IFS=$'\t' read -r ok what got; do
      report "$([ "$ok" = true ] && echo ok || echo FAIL)" "$system $image: $what" "$([ "$ok" = true ] || echo "$got")"
    done < <(jq -r '.[] | "\(.ok)\t\(.what)\t\(.got | tojson)"' <<<"$result")
  done
done

# --- 4. nix flake show ------------------------------------------------------------------------------------------------
if nix flake show --no-write-lock-file --override-input nixos-unstable "path:$nixpkgs" \
  --override-input nixos-stable "path:$nixpkgs" "$flake" >"$work/show" 2>"$work/err"; then
  report ok "nix flake show" "$(grep -c "" "$work/show") lines"
  sed 's/^/     /' "$work/show"
else
  report FAIL "nix flake show" "$(grep -m1 "error:" "$work/err")"
fi

if [ "$failed" = 0 ]; then
  echo "all green"
else
  echo "FAILED" >&2
  exit 1
fi
