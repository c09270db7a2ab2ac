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
{% match sha256 %}{% when Some with (sum) %}echo '{{ sum }}  {{ tarball }}' | sha256sum -c -
{% when None %}echo 'note: no SHA-256 given in the request (release.kexec_tarball_sha256); the download is not verified' >&2
{% endmatch %}tar -xzf {{ tarball }} -C /root
rm -f {{ tarball }}
mv -f /root/kexec/run /root/kexec/{{ release_run }}
cat >/root/kexec/run <<'{{ delimiter }}'
{{ script }}{{ delimiter }}
chmod 0755 /root/kexec/run
/root/kexec/run
)
