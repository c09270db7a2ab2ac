#!/usr/bin/env bash
# Prints the gzip -9 size of each file the page loads (wasm, js, css, html) and their total. The goal is under
# 150 KB in all; this only reports it.
#
#   web/size-report.sh [DIST]     (default target/web/dist)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dist=${1:-$root/target/web/dist}
[ -d "$dist" ] || { echo "size-report: $dist does not exist; run web/build.sh" >&2; exit 1; }
total=0
printf '%-8s %10s %10s  %s\n' kind raw gzip-9 file
for kind in wasm js css html; do
  for f in "$dist"/*."$kind"; do
    [ -e "$f" ] || continue
    raw=$(stat -c %s "$f")
    gz=$(gzip -9 -c "$f" | wc -c)
    total=$((total + gz))
    printf '%-8s %10d %10d  %s\n' "$kind" "$raw" "$gz" "$(basename "$f")"
  done
done
printf '%-8s %10s %10d  (%d KB; goal: under 150 KB)\n' total "" "$total" $(((total + 1023) / 1024))
