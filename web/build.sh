#!/usr/bin/env bash
# Builds the web generator into static files (index.html, one .js, one .wasm, one .css) that work from any
# directory: asset URLs are relative by default.
#
#   web/build.sh [--public-url PATH] [--dist DIR]
#
# --public-url: the URL path the files are served under (default `./`, relative; the docs site passes
# `/generator/`). --dist: the output directory (default target/web/dist). The tools come from
# .ci/install-web-tools (target/web-tools); nothing is downloaded during the build (`cargo fetch` first, then
# trunk --offline).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
public_url=./
dist=$root/target/web/dist
while (($#)); do
  case $1 in
    --public-url) public_url=$2; shift 2 ;;
    --public-url=*) public_url=${1#*=}; shift ;;
    --dist) dist=$2; shift 2 ;;
    --dist=*) dist=${1#*=}; shift ;;
    -h | --help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case $dist in /*) ;; *) dist=$PWD/$dist ;; esac

tools=$root/target/web-tools/bin
for t in trunk wasm-bindgen wasm-opt; do
  [ -x "$tools/$t" ] || { echo "build.sh: $tools/$t missing; run .ci/install-web-tools" >&2; exit 1; }
done
export PATH=$tools:$PATH
# trunk looks for the pinned tools on PATH; it must never fall back to a download.
export TRUNK_SKIP_VERSION_CHECK=true

cd "$root"
cargo fetch --locked --target wasm32-unknown-unknown >/dev/null
cd web
trunk build --release --offline --locked --public-url "$public_url" --dist "$dist"
echo "built $dist (public URL $public_url)"
