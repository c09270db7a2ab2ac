# NixOS kexec installer, {{ generated_by }}.
# Paste into a root shell on the machine to replace ({{ summary }}). It downloads the release
# tarball into /root, {% if sha256.is_some() %}verifies its SHA-256, {% endif %}installs the customized kexec/run and boots the installer from RAM.
(
set -eu
cd /root
url={{ url }}
if command -v curl >/dev/null 2>&1; then
  curl -fL{% if https %} --proto '=https' --tlsv1.2{% endif %} --retry 3 -o {{ tarball }} "$url"
else
  wget -O {{ tarball }} "$url"
fi
{% match sha256 %}{% when Some with (sum) %}actual=$(sha256sum {{ tarball }} | cut -d ' ' -f 1)
if [ "$actual" != '{{ sum }}' ]; then
  rm -f {{ tarball }}
  echo "error: the downloaded {{ tarball }} is not the one this command was made for (release.kexec_tarball_sha256)" >&2
  echo "  expected SHA-256 {{ sum }}" >&2
  echo "  downloaded       $actual" >&2
  echo "  The release changed since it was pinned ({{ repinned }}). Nothing was changed on this machine." >&2
  echo "  To pin again: check the new file (its release's SHA256SUMS or manifest.json), set" >&2
  echo "  release.kexec_tarball_sha256 = \"$actual\" in the request and render this command again." >&2
  exit 1
fi
{% when None %}echo 'note: no SHA-256 given in the request (release.kexec_tarball_sha256); the download is not verified' >&2
{% endmatch %}tar -xzf {{ tarball }} -C /root
rm -f {{ tarball }}
mv -f /root/kexec/run /root/kexec/{{ release_run }}
cat >/root/kexec/run <<'{{ delimiter }}'
{{ script }}{{ delimiter }}
chmod 0755 /root/kexec/run
/root/kexec/run
)
