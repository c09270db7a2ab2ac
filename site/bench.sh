#!/usr/bin/env bash
# Prints the build time of the whole docs site: `nixos-images-site build` (release build) from the test
# manifests (examples/manifests/ and site/tests/fixtures/manifests/), with the web generator's dist when it
# exists (web/build.sh), RUNS times (default 5), wall time each.
#
#   site/bench.sh [--manifests DIR] [--generator DIR] [--runs N]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
manifests=("$root/examples/manifests" "$root/site/tests/fixtures/manifests")
generator=$root/target/web/dist
runs=5
while (($#)); do
  case $1 in
    --manifests) manifests=("$2"); shift 2 ;;
    --generator) generator=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
cd "$root"
cargo build --release --locked -q -p nixos-images-site
bin=$root/target/release/nixos-images-site
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
args=(build --base-url /nixos-images/ --expect-channel nixos-24.11)
for m in "${manifests[@]}"; do args+=(--manifests "$m"); done
if [ -f "$generator/index.html" ]; then
  args+=(--generator "$generator")
  echo "with the generator from $generator"
else
  echo "without the generator ($generator/index.html missing: web/build.sh)"
fi
best=
for i in $(seq "$runs"); do
  rm -rf "$out/public"
  start=$(date +%s%N)
  "$bin" "${args[@]}" --out "$out/public" 2>/dev/null
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "run $i: ${ms} ms"
  if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
done
files=$(find "$out/public" -type f | wc -l)
bytes=$(du -sb "$out/public" | cut -f1)
echo "site build: best ${best} ms of $runs runs ($files files, $bytes bytes)"
