#!/bin/sh
# nixos-images kexec/run, {{ generated_by }}.
#
# Boots the NixOS installer from this running Linux. Before it does, it packs into a cpio appended to
# kexec/initrd: this machine's SSH host keys, root's (and the sudo/doas user's) authorized keys, machine-id and
# network state (`ip --json`), plus the settings of the request ({{ summary }}). It then loads the kernel
# with kexec, prints "machine will boot into nixos in {{ delay }}s..." and kexecs in the background after {{ delay }}s,
# so an SSH session (or nixos-anywhere) can disconnect cleanly first.
#
# POSIX sh: runs under dash, bash and busybox sh (which has no nohup).
set -eu
# Fail a pipeline when any part of it fails, where the shell supports it.
# shellcheck disable=SC3040
if (set -o pipefail) 2>/dev/null; then
  set -o pipefail
fi
umask 077

die() {
  echo "kexec/run: error: $*" >&2
  exit 1
}

usage() {
  cat <<'USAGE'
usage: kexec/run [--kexec-extra-flags 'FLAGS']

Boots the NixOS installer with kexec, keeping SSH host keys, authorized keys and network settings.
  --kexec-extra-flags FLAGS  more flags for kexec, split on blanks (e.g. '--kexec-file-syscall')
USAGE
}

kexec_extra_flags=''
while [ $# -gt 0 ]; do
  case "$1" in
    --kexec-extra-flags)
      [ $# -ge 2 ] || die "--kexec-extra-flags needs a value"
      kexec_extra_flags=$2
      shift 2
      ;;
    --kexec-extra-flags=*)
      kexec_extra_flags=${1#*=}
      shift
      ;;
    -h | --help)
      usage
      exit 0
      ;;
    *)
      die "unknown argument: $1 (see --help)"
      ;;
  esac
done

SCRIPT_DIR=$(dirname "$(readlink -f "$0")")

# --- Checks, before anything is changed ---------------------------------------------------------------------------
[ "$(id -u)" = 0 ] || die "must run as root"
for tool in cpio gzip find awk sed mktemp; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is not installed on this machine; install it and run again"
done
for file in kexec bzImage initrd; do
  [ -e "$SCRIPT_DIR/$file" ] || die "$SCRIPT_DIR/$file is missing; unpack the whole release tarball"
done
{% match release %}{% when Some with (r) %}# The NixOS init path and kernel parameters of the image this script was built with (a customized run script
# reads these two lines when this one is kept as kexec/{{ release_run }}).
init="{{ r.init() }}"
kernelParams="{{ r.kernel_params_line() }}"
release_params=$kernelParams
{% when None %}# The NixOS init path is only known to the release that built the initrd; its own run script holds it.
release_run="$SCRIPT_DIR/{{ release_run }}"
[ -r "$release_run" ] || die "$release_run is missing: keep the release's kexec/run under that name"
init=$(sed -n 's|^init="\(/nix/store/[^"]*\)"$|\1|p' "$release_run" | head -n 1)
release_params=$(sed -n 's|^kernelParams="\([^"]*\)"$|\1|p' "$release_run" | head -n 1)
[ -n "$init" ] || die "no init=\"/nix/store/...\" line in $release_run; is it a nixos-images release's kexec/run?"
{% endmatch %}request_params={{ request_params }}
cmdline="init=$init${release_params:+ $release_params}${request_params:+ $request_params}"
cmdline_bytes=$(printf '%s' "$cmdline" | wc -c)
[ "$cmdline_bytes" -lt {{ cmdline_limit }} ] || die "the kernel command line has $cmdline_bytes bytes; the kernel keeps only {{ cmdline_limit - 1 }}"
mem_kib=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo 2>/dev/null || true)
if [ -n "$mem_kib" ] && [ "$mem_kib" -lt {{ min_mem_kib }} ]; then
  die "this machine has $((mem_kib / 1024)) MiB of RAM; the installer runs from RAM and needs about 1 GiB (swap does not count)"
fi
# The release's agent checks more (RAM for this initrd, kexec disabled, lockdown, network it cannot restore). Its
# summary goes to stderr; on failure its last line is the reason.
agent="$SCRIPT_DIR/nixos-images-agent"
if [ -f "$agent" ] && [ -x "$agent" ]; then
  if preflight=$("$agent" preflight --initrd "$SCRIPT_DIR/initrd" 2>&1); then
    [ -z "$preflight" ] || printf '%s\n' "$preflight" >&2
  else
    printf '%s\n' "$preflight" | sed '$d' >&2
    preflight_reason=$(printf '%s\n' "$preflight" | sed -n '$p')
    die "${preflight_reason:-$agent preflight failed}"
  fi
fi

# --- Collect what the installer keeps ------------------------------------------------------------------------------
# The temporary files live next to the tarball (TMPDIR is only used by nixos-anywhere to pick that place).
INITRD_TMP=$(TMPDIR=$SCRIPT_DIR mktemp -d)
OVERLAY_GZ=$(TMPDIR=$SCRIPT_DIR mktemp)
cleanup() {
  rm -rf "$INITRD_TMP" "$OVERLAY_GZ"
}
trap cleanup EXIT
cd "$INITRD_TMP"
mkdir -p {{ ssh_dir }} {{ networkd_dir }}
keys_collected={{ authorized_keys }}.collected
: >"$keys_collected"

# Appends the keys of one authorized_keys file. Cloud images block root with a forced command ("Please login as
# the user ..."); for those lines the options are dropped so the key works for root. Other options are kept.
# The echo ends a last line that has no newline (sed would leave it open and glue the next file's first key to it).
add_keys() {
  [ -r "$1" ] || return 0
  { cat "$1" && echo; } | sed -E -e '/^[[:space:]]*(#|$)/d' \
    -e '/Please login as the user/s/^.*[[:space:]]((ssh-|ecdsa-|sk-)[^[:space:]]+[[:space:]]+[A-Za-z0-9+\/=]+)/\1/' \
    >>"$keys_collected"
}
add_keys /root/.ssh/authorized_keys
add_keys /root/.ssh/authorized_keys2
add_keys /etc/ssh/authorized_keys.d/root

login_user=${DOAS_USER:-${SUDO_USER:-}}
case "$login_user" in
  '' | root | *[!A-Za-z0-9._-]*) ;;
  *)
    login_home=$(awk -F: -v user="$login_user" '$1 == user { print $6; exit }' /etc/passwd)
    if [ -n "$login_home" ]; then
      add_keys "$login_home/.ssh/authorized_keys"
      add_keys "$login_home/.ssh/authorized_keys2"
    fi
    add_keys "/etc/ssh/authorized_keys.d/$login_user"
    ;;
esac

# Keys of the request (single-quoted: nothing in them is expanded).
{{ request_keys }}
awk '!seen[$0]++' "$keys_collected" >{{ authorized_keys }}
rm -f "$keys_collected"
[ -s {{ authorized_keys }} ] || echo "kexec/run: warning: no authorized SSH keys found; the installer will only be reachable on its console" >&2

for host_key in /etc/ssh/ssh_host_*; do
  [ -e "$host_key" ] || continue
  cp -p "$host_key" {{ ssh_dir }}/
done
# Upstream's installer copies the host keys first and stops there when there are none (skipping the network dumps
# and machine-id): give it one.
if ! ls {{ ssh_dir }}/ssh_host_* >/dev/null 2>&1; then
  if command -v ssh-keygen >/dev/null 2>&1; then
    ssh-keygen -q -t ed25519 -N '' -C root@nixos-installer -f {{ ssh_dir }}/ssh_host_ed25519_key
  else
    echo "kexec/run: warning: no SSH host key here and no ssh-keygen to make one; upstream's installer then also drops the network state" >&2
  fi
fi

# The first ip that speaks --json: the release's static one, then iproute2's by absolute path (busybox sh runs its
# own ip applet, which has no --json, for a bare `ip` whatever PATH says), then whatever `ip` is.
ip_cmd=''
for candidate in "$SCRIPT_DIR/ip" /usr/sbin/ip /sbin/ip /usr/bin/ip /bin/ip ip; do
  if "$candidate" --json addr >/dev/null 2>&1; then
    ip_cmd=$candidate
    break
  fi
done
# The installers read the dumps at the top level of the cpio.
if [ -n "$ip_cmd" ] &&
  "$ip_cmd" --json addr >{{ addrs }} &&
  "$ip_cmd" -4 --json route >{{ routes_v4 }} &&
  "$ip_cmd" -6 --json route >{{ routes_v6 }}; then
  :
else
  rm -f {{ addrs }} {{ routes_v4 }} {{ routes_v6 }}
  echo "kexec/run: warning: could not save the network state (no ip with --json); the installer will use DHCP" >&2
fi
{% if has_interfaces %}
# The request's interfaces replace this machine's live state for their MACs in the dumps: upstream's installer
# builds its networkd units from the dumps alone (one per entry, matched by MAC; routes by the entry's ifname).
[ -f {{ addrs }} ] || { echo '[]' >{{ addrs }} && echo '[]' >{{ routes_v4 }} && echo '[]' >{{ routes_v6 }}; }
# Splits an `ip --json` dump (an array of objects) into one line per object: the top-level string values of the
# keys in `keys` (comma-separated), then the object without blanks, separated by tabs (JSON escapes tabs in
# strings, so none is in the object).
# shellcheck disable=SC2016
json_split='BEGIN { nkeys = split(keys, key_list, ",") }
{ text = text $0 "\n" }
END {
  depth = 0; in_str = 0; esc = 0; want = 0; elem = ""
  n = length(text)
  for (i = 1; i <= n; i++) {
    c = substr(text, i, 1)
    if (in_str) {
      if (depth >= 2) elem = elem c
      if (esc) { esc = 0 } else if (c == "\\") { esc = 1 } else if (c == "\"") {
        in_str = 0
        if (depth == 2) {
          s = substr(text, str_start, i - str_start)
          if (want) { value[key] = s; want = 0 } else { pending = s }
        }
      }
      continue
    }
    if (c == " " || c == "\t" || c == "\n" || c == "\r") continue
    if (depth >= 2) elem = elem c
    if (c == "\"") { in_str = 1; str_start = i + 1 }
    else if (c == ":" && depth == 2) { key = pending; want = 1 }
    else if (c == "," && depth == 2) { want = 0 }
    else if (c == "{" || c == "[") {
      if (depth == 1) { elem = c; split("", value) }
      if (depth == 2) want = 0
      depth++
    } else if (c == "}" || c == "]") {
      depth--
      if (depth == 1) {
        line = ""
        for (k = 1; k <= nkeys; k++) line = line value[key_list[k]] "\t"
        print line elem
      }
    } else if (depth == 2 && want) { want = 0 }
  }
}'
LC_ALL=C awk -v keys=ifname,address "$json_split" {{ addrs }} >addrs.split
LC_ALL=C awk -v keys=dev "$json_split" {{ routes_v4 }} >routes-v4.split
LC_ALL=C awk -v keys=dev "$json_split" {{ routes_v6 }} >routes-v6.split
# One line per interface: its index, its MAC (or -) and its name (or -). A name is turned into the MAC it has here.
: >request-macs
mac_placeholders=''
while read -r index mac name; do
  if [ "$mac" = - ]; then
    mac=$(LC_ALL=C awk -F '\t' -v name="$name" '$1 == name { print $2; exit }' addrs.split)
    [ -n "$mac" ] || mac=$(cat "/sys/class/net/$name/address" 2>/dev/null || true)
    mac=$(printf '%s' "$mac" | tr 'A-F' 'a-f')
    case "$mac" in
      [0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]:[0-9a-f][0-9a-f]) ;;
      *) die "interfaces[$index].match_name: this machine has no interface $name with a MAC (the installer matches interfaces by MAC); use match_mac" ;;
    esac
    mac_placeholders="${mac_placeholders}s/@MAC$index@/$mac/g;"
  fi
  printf '%s\n' "$mac" >>request-macs
done <<'{{ delimiter }}'
{{ request_interfaces }}{{ delimiter }}
# The live links with those MACs (and their routes) make way for the request's entries. (The first file of each awk
# below is a set, told apart by name: it may be empty, so NR == FNR would not tell.)
LC_ALL=C awk -F '\t' 'FILENAME == ARGV[1] { m[$0]; next } (tolower($2) in m) { print $1 }' request-macs addrs.split >request-ifnames
join_array() {
  LC_ALL=C awk 'BEGIN { printf "[" } NF { printf "%s%s", sep, $0; sep = "," } END { print "]" }'
}
{
  LC_ALL=C awk -F '\t' 'FILENAME == ARGV[1] { m[$0]; next } !(tolower($2) in m) { print $3 }' request-macs addrs.split
  sed "$mac_placeholders" <<'{{ delimiter }}'
{{ request_addrs }}{{ delimiter }}
} | join_array >{{ addrs }}
{
  LC_ALL=C awk -F '\t' 'FILENAME == ARGV[1] { m[$0]; next } !($1 in m) { print $2 }' request-ifnames routes-v4.split
  cat <<'{{ delimiter }}'
{{ request_routes_v4 }}{{ delimiter }}
} | join_array >{{ routes_v4 }}
{
  LC_ALL=C awk -F '\t' 'FILENAME == ARGV[1] { m[$0]; next } !($1 in m) { print $2 }' request-ifnames routes-v6.split
  cat <<'{{ delimiter }}'
{{ request_routes_v6 }}{{ delimiter }}
} | join_array >{{ routes_v6 }}
rm -f addrs.split routes-v4.split routes-v6.split request-macs request-ifnames
{% endif %}
# systemd-networkd's own configuration of each configured link (keeps bonds, VLANs and bridges), where
# `networkctl cat @LINK:TYPE` exists (systemd 257 and later).
networkd_version=0
if command -v networkctl >/dev/null 2>&1 && systemctl is-active --quiet systemd-networkd 2>/dev/null; then
  networkd_version=$(networkctl --version 2>/dev/null | awk 'NR == 1 { print $2 }')
  case "$networkd_version" in '' | *[!0-9]*) networkd_version=0 ;; esac
fi
if [ "$networkd_version" -ge 257 ]; then
  mkdir -p {{ iface_networkd_dir }}
  networkctl list --no-legend --no-pager 2>/dev/null | awk '$5 == "configured" { print $2 }' | while read -r link; do
    case "$link" in '' | *[!A-Za-z0-9_.@-]*) continue ;; esac
    for type in netdev link network; do
      conf="{{ iface_networkd_dir }}/00-$link.$type"
      networkctl cat "@$link:$type" >"$conf" 2>/dev/null || true
      [ -s "$conf" ] || rm -f "$conf"
    done
  done || true
fi

if [ -f /etc/machine-id ]; then
  cp /etc/machine-id {{ machine_id }}
  chmod 0444 {{ machine_id }}
fi

# Settings of the request, in the overlay's layout (layout version {{ layout_version }}).
{{ request_files }}
# --- Append, load, boot --------------------------------------------------------------------------------------------
# Parents come before children in find's output, which the kernel needs to unpack the archive.
find . ! -name . -print | cpio -o -H newc | gzip -9 >"$OVERLAY_GZ"
cat "$OVERLAY_GZ" >>"$SCRIPT_DIR/initrd"

kexec_syscall_flag=''
# kexec_file_load is the only way on lockdown kernels; older kernels reject it often, so only use it from 6.1 on.
kernel_release=$(uname -r)
kernel_major=${kernel_release%%.*}
kernel_rest=${kernel_release#*.}
kernel_minor=${kernel_rest%%[!0-9]*}
case "$kernel_major" in '' | *[!0-9]*) kernel_major=0 ;; esac
case "$kernel_minor" in '' | *[!0-9]*) kernel_minor=0 ;; esac
if [ "$kernel_major" -gt 6 ] || { [ "$kernel_major" -eq 6 ] && [ "$kernel_minor" -ge 1 ]; }; then
  kexec_syscall_flag=--kexec-syscall-auto
fi

set -- --load "$SCRIPT_DIR/bzImage" --initrd="$SCRIPT_DIR/initrd" --no-checks --command-line="$cmdline"
if [ -n "$kexec_syscall_flag" ]; then
  set -- "$@" "$kexec_syscall_flag"
fi
set -- "$@"{{ request_flags }}
# --kexec-extra-flags is one string of flags (as nixos-anywhere passes it): split it on blanks, without globbing.
set -f
# shellcheck disable=SC2086
set -- "$@" $kexec_extra_flags
set +f
if ! "$SCRIPT_DIR/kexec" "$@"; then
  echo "kexec failed, dumping dmesg" >&2
  dmesg 2>/dev/null | tail -n 100 >&2 || true
  exit 1
fi

echo "machine will boot into nixos in {{ delay }}s..."
if [ -e /dev/kmsg ]; then
  # Visible in dmesg and on the console from here on.
  exec >/dev/kmsg 2>&1
else
  exec >/dev/null 2>&1
fi
# Detach the kexec: the subshell ignores SIGHUP (the closing SSH session), and so does the kexec it execs.
# busybox has no nohup, which is why this does not use it.
(
  trap '' HUP
  sleep {{ delay }}
  set -f
  # shellcheck disable=SC2086
  exec "$SCRIPT_DIR/kexec" -e{{ request_flags }} $kexec_extra_flags
) </dev/null &
