#!/usr/bin/env bash
# The maintainers' pre-release check: evaluates the flake against a real nixpkgs tree, with import-from-derivation
# off (as Hydra and `--option allow-import-from-derivation false` do), which CI cannot (it has no nixpkgs; its
# stub tests guard what they can see):
#   1. every package and check of x86_64-linux and aarch64-linux (their .drvPath; the checks hold every package);
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
report() { # STATUS WHAT DETAIL; n/a: not evaluable in this tree (a file it lacks), not a failure of ours
  printf '%-4s %s%s\n' "$1" "$2" "${3:+  $3}"
  case "$1" in ok) ;; n/a) unavailable=$((unavailable + 1)) ;; *) failed=1 ;; esac
}
unavailable=0

# Each step is one evaluation (its items share nixpkgs' thunks; tryEval keeps one failure from hiding the others,
# and a failed check is evaluated again alone for its message). Steps 2 and 3 run side by side.

# --- 1. Packages and checks ------------------------------------------------------------------------------------------
# The checks are every package but `default` (the same derivation as nixos-images) plus the VM tests (vm-*), which
# are evaluated one by one: a VM test's driver needs much of nixpkgs (a file missing from the tree is an error no
# tryEval catches).
nix_eval --json "$flake#checks" --apply 'builtins.mapAttrs (system: checks: builtins.mapAttrs (name: d:
  let r = builtins.tryEval d.drvPath; in if r.success then r.value else null)
  (removeAttrs checks (builtins.filter (n: builtins.substring 0 3 n == "vm-") (builtins.attrNames checks))))' \
  >"$work/checks.json" || true
# shellcheck disable=SC2016 # ${...} is Nix's
vm_tests=$(nix_eval --json "$flake#checks" --apply 'checks: builtins.concatLists (builtins.attrValues
  (builtins.mapAttrs (system: c: map (n: "${system}.${n}") (builtins.filter (n: builtins.substring 0 3 n == "vm-")
  (builtins.attrNames c))) checks))' | jq -r '.[]')

# --- 2. lib.image with each example's override ------------------------------------------------------------------------
stable=$(nix_eval --raw "$flake#lib.stableRelease")
images=""
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
    *) input=nixos-stable note=" (rendered for nixos-$stable, not $channel)" channel="nixos-$stable" ;;
  esac
  case "$kind" in
    kexec) image=kexec-installer-$input ;;
    kexec-noninteractive) image=kexec-installer-$input-noninteractive ;;
    netboot) image=netboot-$input ;;
  esac
  "$cli" render nix-module -r "$example" --channel "$channel" -o "$work/$name.nix" 2>/dev/null
  images+="{ what = \"lib.image $image + examples/$name.toml$note\"; system = \"$arch\"; name = \"$image\"; modules = [ $work/$name.nix ]; }"$'\n'
done
nix_eval --json --impure "$flake#lib" --apply "lib: map (i: { inherit (i) what; drv = let r = builtins.tryEval
  (lib.image { inherit (i) system name modules; }).drvPath; in if r.success then r.value else null; }) [ $images ]" \
  >"$work/examples.json" 2>"$work/examples.err" &
examples_pid=$!

# --- 3. Promises ------------------------------------------------------------------------------------------------------
# Both inputs are the same tree here, so each image kind is checked once (its nixos-unstable name), per system.
"$cli" render nix-module -r "$repo/examples/static-hetzner.toml" -o "$work/request.nix" 2>/dev/null
key=$(sed -n 's/^ssh_authorized_keys = \["\(.*\)"\]$/\1/p' "$repo/examples/static-hetzner.toml")
params=$("$cli" render cmdline -r "$repo/examples/static-hetzner.toml" --installer nixos-images 2>/dev/null |
  jq -R 'split(" ") | map(select(. != ""))')
nix_eval --json --impure "$flake#lib" --apply "lib: builtins.concatMap (system: map (name: {
    inherit system name;
    promises = import $repo/nix/lib/promises.nix {
      config = (lib.imageSystem { inherit system name; modules = [ $work/request.nix ]; }).config;
      noninteractive = builtins.match \".*-noninteractive\" name != null;
      aarch64 = system == \"aarch64-linux\";
      rootKey = \"$key\";
      requestKernelParams = builtins.fromJSON ''$params'';
    };
  }) (builtins.filter (n: builtins.match \".*nixos-unstable.*\" n != null) lib.images))
  [ \"x86_64-linux\" \"aarch64-linux\" ]" >"$work/promises.json" 2>"$work/promises.err" &
promises_pid=$!
wait "$examples_pid" || true
wait "$promises_pid" || true

# --- Report -----------------------------------------------------------------------------------------------------------
if [ -s "$work/checks.json" ]; then
  while IFS=$'\t' read -r what drv; do
    if [ "$drv" = null ]; then
      message=$(nix_eval --raw "$flake#$what.drvPath" 2>&1 >/dev/null | grep -m1 "error:" || true)
      report FAIL "$what" "$message"
    else
      report ok "$what" "$drv"
    fi
  done < <(jq -r 'to_entries[] | .key as $system | .value | to_entries[]
    | "checks.\($system).\(.key)\t\(.value // "null")"' "$work/checks.json")
else
  report FAIL "checks (every package and the VM test)" "the evaluation failed"
fi
for test in $vm_tests; do
  if drv=$(nix_eval --raw "$flake#checks.$test.drvPath" 2>"$work/err"); then
    report ok "checks.$test" "$drv"
  elif missing=$(grep -o "getting status of '$nixpkgs/[^']*': No such file" "$work/err"); then
    # The tree lacks a file the test driver needs (the snapshot has no Haskell package set): evaluate what the
    # test adds instead, its machines and its script (which names the image under test).
    if parts=$(nix_eval --json "$flake#checks.$test" --apply 't: {
        nodes = builtins.mapAttrs (n: c: c.system.build.toplevel.drvPath) t.nodes;
        script = builtins.stringLength t.config.testScriptString; }' 2>"$work/err2"); then
      report ok "checks.$test (machines and script; its driver needs ${missing#getting status of })" "$parts"
    else
      report FAIL "checks.$test" "$(grep -m1 "error:" "$work/err2")"
    fi
  else
    report FAIL "checks.$test" "$(grep -m1 "error:" "$work/err")"
  fi
done
if [ -s "$work/examples.json" ]; then
  while IFS=$'\t' read -r what drv; do
    report "$([ "$drv" = null ] && echo FAIL || echo ok)" "$what" "$drv"
  done < <(jq -r '.[] | "\(.what)\t\(.drv // "null")"' "$work/examples.json")
else
  report FAIL "lib.image with the examples' overrides" "$(grep -m1 "error:" "$work/examples.err")"
fi
if [ -s "$work/promises.json" ]; then
  while IFS=$'\t' read -r ok what got; do
    report "$([ "$ok" = true ] && echo ok || echo FAIL)" "$what" "$([ "$ok" = true ] || echo "$got")"
  done < <(jq -r '.[] | .system as $s | .name as $n | .promises[]
    | "\(.ok)\t\($s) \($n): \(.what)\t\(.got | tojson)"' "$work/promises.json")
else
  report FAIL "promises" "$(grep -m1 "error:" "$work/promises.err")"
fi

# --- 4. nix flake show ------------------------------------------------------------------------------------------------
show=(nix flake show --no-write-lock-file --override-input nixos-unstable "path:$nixpkgs"
  --override-input nixos-stable "path:$nixpkgs" "$flake")
if "${show[@]}" >"$work/show" 2>"$work/err"; then
  report ok "nix flake show" "$(grep -c "" "$work/show") lines"
  sed 's/^/     /' "$work/show"
elif missing=$(grep -o "getting status of '$nixpkgs/[^']*': No such file" "$work/err"); then
  # The tree lacks a file some output needs (the devShell's and formatter's nixfmt is Haskell): show says no
  # more, so each output that is not a package or check is evaluated alone.
  for output in devShells.x86_64-linux.default devShells.aarch64-linux.default formatter.x86_64-linux \
    formatter.aarch64-linux; do
    if drv=$(nix_eval --raw "$flake#$output.drvPath" 2>"$work/err"); then
      report ok "$output" "$drv"
    elif grep -q "getting status of '$nixpkgs/" "$work/err"; then
      report n/a "$output" "needs ${missing#getting status of } (not in this tree)"
    else
      report FAIL "$output" "$(grep -m1 "error:" "$work/err")"
    fi
  done
  for output in nixosModules lib; do
    if names=$(nix_eval --json "$flake#$output" --apply builtins.attrNames 2>"$work/err"); then
      report ok "$output" "$names"
    else
      report FAIL "$output" "$(grep -m1 "error:" "$work/err")"
    fi
  done
else
  report FAIL "nix flake show" "$(grep -m1 "error:" "$work/err")"
fi

if [ "$failed" != 0 ]; then
  echo "FAILED" >&2
  exit 1
elif [ "$unavailable" = 0 ]; then
  echo "all green"
else
  echo "all green ($unavailable not evaluable in this tree: n/a above)"
fi
