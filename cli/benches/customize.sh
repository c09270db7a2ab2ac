#!/usr/bin/env bash
# Benchmark of `customize kexec-tarball` against the shell pipeline a user would write, on a synthetic
# release-shaped tarball (default 512 MiB, mostly an incompressible initrd, as a real xz/zstd one is), with
# `gzip -dc` alone as the floor. Prints wall time and peak RSS of each and the customize/pipeline ratio; asserts
# nothing about timings.
#
#   cli/benches/customize.sh            # SIZE_MIB=64 cli/benches/customize.sh for a quick run
#
# Needs GNU tar, gzip and GNU time (Debian's `time` package, /usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/../.."

size_mib=${SIZE_MIB:-512}
for tool in tar gzip /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "customize.sh: $tool is not installed" >&2; exit 1; }
done

cargo build --release --locked -p nixos-images-cli --bin nixos-images-gen
bin=$PWD/target/release/nixos-images-gen

tmp=$(mktemp -d "${TMPDIR:-/tmp}/customize-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"

# --- A release-shaped tarball ----------------------------------------------------------------------------------------
mkdir kexec
# Real tools are compressible static binaries; a few MiB of them.
cp /usr/bin/tar kexec/kexec
cp /usr/bin/gzip kexec/ip
cp "$(command -v sh)" kexec/jq
head -c $((12 << 20)) /dev/urandom >kexec/bzImage
tools_bytes=$(cat kexec/kexec kexec/ip kexec/jq kexec/bzImage | wc -c)
head -c $(((size_mib << 20) - tools_bytes)) /dev/urandom >kexec/initrd
cat >kexec/run <<'EOF'
#!/usr/bin/env bash
set -ex
init="/nix/store/q0d2qyyyc3xc6sqzsv7hsd9wp0khvhcm-nixos-system-nixos-installer-25.05.20250101.abcdef0/init"
kernelParams="console=ttyS0,115200 console=tty0 loglevel=4"
SCRIPT_DIR=$( cd -- "$( dirname -- "${BASH_SOURCE[0]}" )" &> /dev/null && pwd )
"$SCRIPT_DIR/kexec" --load "$SCRIPT_DIR/bzImage" --initrd="$SCRIPT_DIR/initrd" --command-line "init=$init $kernelParams"
EOF
chmod 0755 kexec/run kexec/kexec kexec/ip kexec/jq
echo "building a ${size_mib} MiB release tarball (tar -czf, gzip -6)..." >&2
tar -czf release.tar.gz kexec/initrd kexec/bzImage kexec/run kexec/kexec kexec/ip kexec/jq
rm -rf kexec
key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJc8dPZMT4nOt7KCWcXuD/SnwMbZVnS0zy/73ZA8lGTg alice@laptop"
"$bin" render kexec-run --ssh-key "$key" --hostname web1 -o run.ours
cat release.tar.gz >/dev/null # warm the page cache for everyone alike

# --- Measure ---------------------------------------------------------------------------------------------------------
# Prints "seconds KiB" for a command (GNU time: wall clock, peak RSS of the largest process).
measure() {
  /usr/bin/time -f '%e %M' -o time.out "$@" >/dev/null
  cat time.out
}

read -r floor_s floor_kib < <(measure gzip -dc release.tar.gz)
read -r ours_s ours_kib < <(measure "$bin" customize kexec-tarball release.tar.gz -o customized.tar.gz \
  --ssh-key "$key" --hostname web1)
read -r pipe_s pipe_kib < <(measure sh -c '
  set -e
  rm -rf work && mkdir work
  tar -C work -xzf release.tar.gz
  mv work/kexec/run work/kexec/run.release
  cp run.ours work/kexec/run
  tar -C work -czf pipeline.tar.gz kexec
  rm -rf work')

gzip -t customized.tar.gz
in_bytes=$(wc -c <release.tar.gz)
kept=$({ cmp release.tar.gz customized.tar.gz 2>/dev/null || true; } | awk '{ print $5 - 1 }')
kept=${kept:-$in_bytes}

awk -v size="$size_mib" -v fs="$floor_s" -v fk="$floor_kib" -v os="$ours_s" -v ok="$ours_kib" \
  -v ps="$pipe_s" -v pk="$pipe_kib" -v inb="$in_bytes" -v kept="$kept" 'BEGIN {
  printf "customize kexec-tarball, %d MiB release-shaped tarball (%d bytes gzip\x27ed)\n\n", size, inb
  printf "%-44s %10s %14s\n", "", "wall s", "peak RSS MiB"
  printf "%-44s %10.2f %14.1f\n", "gzip -dc (floor)", fs, fk / 1024
  printf "%-44s %10.2f %14.1f\n", "nixos-images-gen customize kexec-tarball", os, ok / 1024
  printf "%-44s %10.2f %14.1f\n", "pipeline: tar -xzf, replace run, tar -czf", ps, pk / 1024
  printf "\ncustomize / pipeline: %.3fx (goal <= 0.15x)   customize / gzip -dc: %.2fx\n", os / ps, os / (fs > 0 ? fs : 0.01)
  printf "peak RSS of customize: %.1f MiB (goal < 64 MiB)\n", ok / 1024
  printf "input bytes kept verbatim: %d of %d (%d re-encoded)\n", kept, inb, inb - kept
}'
