#!/usr/bin/env bash
# Benchmarks of `customize`: they print wall time and peak RSS, and assert nothing about timings.
#
# kexec-tarball: against the shell pipeline a user would write, on a synthetic release-shaped tarball (default
# 512 MiB, mostly an incompressible initrd, as a real xz/zstd one is), with `gzip -dc` alone as the floor.
#
# initrd: against `coreos-installer pxe customize` when it is on PATH (`cargo install --locked coreos-installer`,
# after Debian's libzstd-dev), on a 501 MiB newc cpio carrying the live-initramfs stamp that coreos-installer
# requires and the feature flag that lets it take a network keyfile, with `cp` as the floor. Each command runs 5
# times, in turn with the others and each first in turn, the output removed and synced away before each run; the
# median is printed.
# TMPDIR's file system decides how the bytes move: a reflink on btrfs or XFS, the kernel's copy on ext4 or tmpfs.
#
#   cli/benches/customize.sh [kexec-tarball | initrd]   # both by default; SIZE_MIB=64 INITRD_MIB=64 for a quick run,
#                                                     # RUNS=9 for a steadier median
#
# Needs GNU tar, gzip, cpio and GNU time (Debian's `time` package, /usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/../.."

size_mib=${SIZE_MIB:-512}
initrd_mib=${INITRD_MIB:-501}
runs=${RUNS:-5}
which=${1:-all}
case $which in
  all | kexec-tarball | initrd) ;;
  *)
    echo "customize.sh: no benchmark '$which' (kexec-tarball or initrd)" >&2
    exit 2
    ;;
esac
for tool in tar gzip cpio /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "customize.sh: $tool is not installed" >&2; exit 1; }
done

cargo build --release --locked -p nixos-images-cli --bin nixos-images-gen
bin=$PWD/target/release/nixos-images-gen

tmp=$(mktemp -d "${TMPDIR:-/tmp}/customize-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
key="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJc8dPZMT4nOt7KCWcXuD/SnwMbZVnS0zy/73ZA8lGTg alice@laptop"

# Prints "seconds KiB" for a command (GNU time: wall clock, peak RSS of the largest process); what it says on
# stderr is shown only if it fails.
measure() {
  /usr/bin/time -f '%e %M' -o time.out "$@" >/dev/null 2>stderr.out || {
    echo "customize.sh: failed: $*" >&2
    cat stderr.out >&2
    return 1
  }
  cat time.out
}

kexec_tarball() {
  # --- A release-shaped tarball ----------------------------------------------------------------------------------
  mkdir kexec
  # Real tools are compressible static binaries; a few MiB of them.
  cp /usr/bin/tar kexec/kexec
  cp /usr/bin/gzip kexec/ip
  cp "$(command -v sh)" kexec/jq
  head -c $((12 << 20)) /dev/urandom >kexec/bzImage
  local tools_bytes
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
  "$bin" render kexec-run --ssh-key "$key" --hostname web1 -o run.ours
  cat release.tar.gz >/dev/null # warm the page cache for everyone alike

  # --- Measure ---------------------------------------------------------------------------------------------------
  local floor_s floor_kib ours_s ours_kib pipe_s pipe_kib
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
  local in_bytes kept
  in_bytes=$(wc -c <release.tar.gz)
  kept=$({ cmp release.tar.gz customized.tar.gz 2>/dev/null || true; } | awk '{ print $5 - 1 }')
  kept=${kept:-$in_bytes}
  rm -f release.tar.gz customized.tar.gz pipeline.tar.gz

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
}

# The median line ("seconds KiB", by seconds) of a list of `measure` lines.
median() {
  sort -n | sed -n "$(((runs + 1) / 2))p"
}

initrd() {
  # --- A stamped initrd ------------------------------------------------------------------------------------------
  mkdir -p root/etc/coreos
  : >root/etc/coreos-live-initramfs
  echo '{"live-initrd-network": true}' >root/etc/coreos/features.json # or it refuses a network keyfile
  head -c $((initrd_mib << 20)) /dev/urandom >root/payload
  (cd root && find . | cpio -o -H newc --quiet) >initrd.img
  rm -rf root
  cat >request.toml <<EOF
image = "netboot"
release.installer = "nixos-images"
hostname = "web1"
ssh_authorized_keys = ["$key"]
[[interfaces]]
match_mac = "52:54:00:12:34:56"
dhcp = false
addresses = ["203.0.113.10/24"]
[[interfaces.routes]]
destination = "default"
gateway = "203.0.113.1"
EOF
  # The same facts for coreos-installer: the key in a live Ignition config, the address in a NetworkManager keyfile.
  cat >live.ign <<EOF
{"ignition": {"version": "3.4.0"}, "passwd": {"users": [{"name": "core", "sshAuthorizedKeys": ["$key"]}]}}
EOF
  cat >static.nmconnection <<'EOF'
[connection]
id=static
type=ethernet
[ethernet]
mac-address=52:54:00:12:34:56
[ipv4]
method=manual
address1=203.0.113.10/24,203.0.113.1
EOF
  local coreos
  coreos=$(command -v coreos-installer || true)
  cat initrd.img >/dev/null # warm the page cache for everyone alike

  # --- Measure: the commands in turn, each first in turn, so a slow spell of the machine falls on all alike ---------
  run_one() {
    rm -f out.img && sync
    case $1 in
      cp) measure cp initrd.img out.img ;;
      ours) measure "$bin" customize initrd initrd.img -o out.img -r request.toml ;;
      synced) measure "$bin" customize initrd initrd.img -o out.img -r request.toml --sync ;;
      theirs)
        measure "$coreos" pxe customize initrd.img -o out.img --live-ignition live.ign \
          --network-keyfile static.nmconnection
        ;;
    esac >>"$1.runs"
    if [ "$1" != theirs ] && ! cmp -s -n "$(wc -c <initrd.img)" initrd.img out.img; then
      echo "customize.sh: $1: the output does not start with the input" >&2
      exit 1
    fi
  }
  local commands=(cp ours synced) i c
  [ -z "$coreos" ] || commands+=(theirs)
  for c in "${commands[@]}"; do : >"$c.runs"; done
  for i in $(seq 0 $((runs - 1))); do
    for c in "${commands[@]:i % ${#commands[@]}}" "${commands[@]:0:i % ${#commands[@]}}"; do
      run_one "$c"
    done
  done
  rm -f out.img initrd.img

  local floor_s floor_kib ours_s ours_kib synced_s synced_kib theirs_s=- theirs_kib=-
  read -r floor_s floor_kib < <(median <cp.runs)
  read -r ours_s ours_kib < <(median <ours.runs)
  read -r synced_s synced_kib < <(median <synced.runs)
  [ -z "$coreos" ] || read -r theirs_s theirs_kib < <(median <theirs.runs)

  awk -v size="$initrd_mib" -v fs="$(stat -f -c %T .)" -v runs="$runs" -v cs="$floor_s" -v ck="$floor_kib" \
    -v os="$ours_s" -v ok="$ours_kib" -v ss="$synced_s" -v sk="$synced_kib" -v ts="$theirs_s" -v tk="$theirs_kib" '
  BEGIN {
    printf "customize initrd, %d MiB stamped newc cpio on %s, median of %d\n\n", size, fs, runs
    printf "%-44s %10s %14s\n", "", "wall s", "peak RSS MiB"
    printf "%-44s %10.2f %14.1f\n", "cp (floor)", cs, ck / 1024
    printf "%-44s %10.2f %14.1f\n", "nixos-images-gen customize initrd", os, ok / 1024
    printf "%-44s %10.2f %14.1f\n", "nixos-images-gen customize initrd --sync", ss, sk / 1024
    if (ts == "-") {
      printf "%-44s %10s\n", "coreos-installer pxe customize", "not on PATH"
    } else {
      printf "%-44s %10.2f %14.1f\n", "coreos-installer pxe customize", ts, tk / 1024
      printf "\ncustomize initrd / coreos-installer: %s (goal <= 1.0x)   with --sync: %s (it waits for the disk)", \
        ratio(os, ts), ratio(ss, ts)
    }
    printf "\ncustomize initrd / cp: %s   peak RSS of customize initrd: %.1f MiB\n", ratio(os, cs), ok / 1024
  }
  # GNU time counts in 10 ms: below that (a reflink), a ratio says nothing.
  function ratio(a, b) { return b > 0 ? sprintf("%.2fx", a / b) : (a > 0 ? "n/a (the second under 10 ms)" : "both under 10 ms") }
  '
}

case $which in
  kexec-tarball) kexec_tarball ;;
  initrd) initrd ;;
  all)
    kexec_tarball
    echo
    initrd
    ;;
esac
