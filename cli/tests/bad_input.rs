//! A table of bad inputs through the real CLI: each must exit 2, name the field on stderr, and write no file.

use std::path::Path;
use std::process::Command;

const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJc8dPZMT4nOt7KCWcXuD/SnwMbZVnS0zy/73ZA8lGTg alice@laptop";
const ECDSA_BLOB: &str = "AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEfMNVa/3GkPhfPipYCogzvDF1IZIpfDjJ2siN2lYwcrGXSRf6Nq6UzX6LYXPebKCr00wpIUxYSiBbHRPKBziVQ=";
const PRIVATE_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n-----END OPENSSH PRIVATE KEY-----\n";

/// One bad input: a TOML request (may be empty), extra CLI flags, and the field the error must name.
struct Case {
    what: &'static str,
    toml: String,
    flags: Vec<String>,
    field: &'static str,
}

fn case(what: &'static str, toml: &str, field: &'static str) -> Case {
    Case { what, toml: toml.to_string(), flags: vec![], field }
}

fn flags(what: &'static str, flags: &[&str], field: &'static str) -> Case {
    Case { what, toml: String::new(), flags: flags.iter().map(|s| s.to_string()).collect(), field }
}

fn iface(body: &str) -> String {
    format!("image = \"kexec\"\n[[interfaces]]\n{body}\n")
}

fn cases() -> Vec<Case> {
    vec![
        case("unknown top-level key", "imgae = \"kexec\"", "imgae"),
        case("unknown nested key", "[kexec]\ndelay = 3", "kexec.delay"),
        case("wrong type", "[kexec]\ndelay_seconds = \"six\"", "kexec.delay_seconds"),
        case("TOML syntax error", "image = ", "request"),
        case("unknown image", "image = \"iso\"", "image"),
        case("unknown arch", "arch = \"riscv64-linux\"", "arch"),
        case("channel month", "channel = \"nixos-24.06\"", "channel"),
        case("channel shape", "channel = \"unstable\"", "channel"),
        case("channel from the future", "channel = \"nixos-99.05\"", "channel"),
        case("hostname with dot", "hostname = \"web1.example.org\"", "hostname"),
        case("hostname leading dash", "hostname = \"-web\"", "hostname"),
        case("private key pasted", &format!("ssh_authorized_keys = [{PRIVATE_KEY:?}]"), "ssh_authorized_keys[0]"),
        case("bad base64", "ssh_authorized_keys = [\"ssh-ed25519 AAAA!!notbase64 x\"]", "ssh_authorized_keys[0]"),
        case(
            "key type disagrees with blob",
            &format!("ssh_authorized_keys = [{:?}]", format!("ssh-ed25519 {ECDSA_BLOB} bob")),
            "ssh_authorized_keys[0]",
        ),
        case("unknown key type", "ssh_authorized_keys = [\"ssh-foo AAAA x\"]", "ssh_authorized_keys[0]"),
        case("DSA key", "ssh_authorized_keys = [\"ssh-dss AAAAB3NzaC1kc3MAAACBAP x\"]", "ssh_authorized_keys[0]"),
        case("key with newline", &format!("ssh_authorized_keys = [{:?}]", format!("{ED25519}\nssh-rsa x")), "ssh_authorized_keys[0]"),
        case("duplicate key", &format!("ssh_authorized_keys = [{ED25519:?}, {ED25519:?}]"), "ssh_authorized_keys[1]"),
        case("kernel param with blank", "kernel_params = [\"quiet splash\"]", "kernel_params[0]"),
        case("kernel param with ${", "kernel_params = [\"a=${b}\"]", "kernel_params[0]"),
        case("kernel param init=", "kernel_params = [\"init=/bin/sh\"]", "kernel_params[0]"),
        case("command line over the limit", &format!("kernel_params = [{:?}]", "x".repeat(1700)), "kernel_params"),
        case("bad nameserver", "nameservers = [\"1.2.3\"]", "nameservers[0]"),
        case("release URL not http", "[release]\nbase_url = \"ftp://example.org/rel\"", "release.base_url"),
        case("release URL with blank", "[release]\nbase_url = \"https://example.org/a b\"", "release.base_url"),
        case("release tag with slash", "[release]\ntag = \"a/b\"", "release.tag"),
        case("sha256 not hex", "[release]\nkexec_tarball_sha256 = \"abc\"", "release.kexec_tarball_sha256"),
        case("no match", &iface("dhcp = true"), "interfaces[0]"),
        case("both matches", &iface("match_mac = \"52:54:00:00:00:01\"\nmatch_name = \"eth0\""), "interfaces[0]"),
        case("bad MAC", &iface("match_mac = \"52:54:00:00:01\""), "interfaces[0].match_mac"),
        case("multicast MAC", &iface("match_mac = \"01:00:5e:00:00:01\""), "interfaces[0].match_mac"),
        case("interface name too long", &iface("match_name = \"enp0s31f6abcdefgh\""), "interfaces[0].match_name"),
        case(
            "duplicate MAC (case differs)",
            "[[interfaces]]\nmatch_mac = \"52:54:00:AA:00:01\"\n[[interfaces]]\nmatch_mac = \"52:54:00:aa:00:01\"",
            "interfaces[1].match_mac",
        ),
        case("address without prefix", &iface("match_name = \"eth0\"\naddresses = [\"192.0.2.10\"]"), "interfaces[0].addresses[0]"),
        case("bad CIDR", &iface("match_name = \"eth0\"\naddresses = [\"192.0.2.300/24\"]"), "interfaces[0].addresses[0]"),
        case("network address as host", &iface("match_name = \"eth0\"\naddresses = [\"192.0.2.0/24\"]"), "interfaces[0].addresses[0]"),
        case("static without addresses", &iface("match_name = \"eth0\"\ndhcp = false"), "interfaces[0].addresses"),
        case(
            "route host bits set",
            &iface("match_name = \"eth0\"\naddresses = [\"192.0.2.10/24\"]\n[[interfaces.routes]]\ndestination = \"10.1.2.3/8\"\ngateway = \"192.0.2.1\""),
            "interfaces[0].routes[0].destination",
        ),
        case(
            "IPv4 gateway without IPv4 address",
            &iface("match_name = \"eth0\"\ndhcp = false\naddresses = [\"2001:db8::10/64\"]\n[[interfaces.routes]]\ndestination = \"default\"\ngateway = \"192.0.2.1\""),
            "interfaces[0].routes[0].gateway",
        ),
        case(
            "gateway outside the subnet without on_link",
            &iface("match_name = \"eth0\"\ndhcp = false\naddresses = [\"203.0.113.10/32\"]\n[[interfaces.routes]]\ndestination = \"default\"\ngateway = \"172.31.1.1\""),
            "interfaces[0].routes[0].gateway",
        ),
        case(
            "family mismatch",
            &iface("match_name = \"eth0\"\naddresses = [\"192.0.2.10/24\"]\n[[interfaces.routes]]\ndestination = \"10.0.0.0/8\"\ngateway = \"2001:db8::1\""),
            "interfaces[0].routes[0].gateway",
        ),
        case(
            "default route without gateway",
            &iface("match_name = \"eth0\"\n[[interfaces.routes]]\ndestination = \"default\""),
            "interfaces[0].routes[0].gateway",
        ),
        case(
            "netboot static by name",
            "image = \"netboot\"\n[[interfaces]]\nmatch_name = \"eth0\"\ndhcp = false\naddresses = [\"192.0.2.10/24\"]",
            "interfaces[0].match_name",
        ),
        case(
            "netboot static IPv6 only",
            "image = \"netboot\"\n[[interfaces]]\nmatch_mac = \"52:54:00:00:00:01\"\ndhcp = false\naddresses = [\"2001:db8::10/64\"]",
            "interfaces[0].addresses",
        ),
        case("kexec delay below the floor", "[kexec]\ndelay_seconds = 0", "kexec.delay_seconds"),
        case("kexec delay too long", "[kexec]\ndelay_seconds = 86400", "kexec.delay_seconds"),
        case("kexec flag not a flag", "[kexec]\nextra_flags = [\"reboot\"]", "kexec.extra_flags[0]"),
        case("kexec flag owned by the script", "[kexec]\nextra_flags = [\"--command-line=x\"]", "kexec.extra_flags[0]"),
        case("unknown installer", "[release]\ninstaller = \"debian\"", "release.installer"),
        case(
            "nameservers push the command line over the limit",
            &format!("nameservers = [{}]", (0..40).map(|i| format!("\"2001:db8:ffff:ffff:ffff:ffff:ffff:{i:x}\"")).collect::<Vec<_>>().join(", ")),
            "kernel_params",
        ),
        case(
            "strict: keys on upstream's netboot",
            &format!("image = \"netboot\"\nstrict = true\nssh_authorized_keys = [{ED25519:?}]"),
            "ssh_authorized_keys",
        ),
        case(
            "strict: static netboot on upstream's images",
            "image = \"netboot\"\nstrict = true\n[[interfaces]]\nmatch_mac = \"52:54:00:00:00:01\"\ndhcp = false\naddresses = [\"192.0.2.10/24\"]",
            "interfaces[0].addresses",
        ),
        case(
            "strict: kexec settings on netboot",
            "image = \"netboot\"\nstrict = true\n[kexec]\ndelay_seconds = 3",
            "kexec.delay_seconds",
        ),
        flags("--strict: keys on upstream's netboot", &["--image", "netboot", "--ssh-key", ED25519, "--strict"], "ssh_authorized_keys"),
        flags("--kexec-delay below the floor", &["--kexec-delay", "2"], "kexec.delay_seconds"),
        flags("--address without =", &["--address", "eth0"], "--address"),
        flags("--route with unknown option", &["--route", "eth0=default,via=192.0.2.1,bogus"], "--route"),
        flags("--dhcp not yes/no", &["--dhcp", "eth0=maybe"], "--dhcp"),
        flags("--ssh-key-file missing", &["--ssh-key-file", "/nonexistent/keys.pub"], "--ssh-key-file"),
        flags("--request missing", &["--request", "/nonexistent/request.toml"], "--request"),
        flags("--hostname bad", &["--hostname", "a_b"], "hostname"),
        flags("--route bad gateway", &["--route", "eth0=default,via=300.1.1.1"], "interfaces[0].routes[0].gateway"),
    ]
}

fn run(case: &Case, dir: &Path) -> std::process::Output {
    let request = dir.join("request.toml");
    std::fs::write(&request, &case.toml).unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nixos-images-gen"));
    cmd.arg("render").arg("nix-module").arg("-o").arg(dir.join("out.nix"));
    if !case.flags.iter().any(|f| f == "--request") {
        cmd.arg("--request").arg(&request);
    }
    cmd.args(&case.flags);
    cmd.output().expect("running nixos-images-gen")
}

#[test]
fn bad_inputs_exit_2_name_the_field_and_write_nothing() {
    let cases = cases();
    assert!(cases.len() >= 30);
    let mut failures = Vec::new();
    for case in &cases {
        let dir = tempfile::tempdir().unwrap();
        let out = run(case, dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expected = format!("error: {}:", case.field);
        let mut problems = Vec::new();
        if out.status.code() != Some(2) {
            problems.push(format!("exit code {:?}", out.status.code()));
        }
        if !stderr.lines().any(|l| l.starts_with(&expected)) {
            problems.push(format!("no line starting with `{expected}`"));
        }
        if stderr.lines().any(|l| !l.starts_with("error: ")) {
            problems.push("a stderr line that is not `error: ...`".into());
        }
        if stderr.contains("b3BlbnNzaC1rZXktdjE") {
            problems.push("the private key was echoed".into());
        }
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "request.toml")
            .collect();
        if !leftovers.is_empty() {
            problems.push(format!("files written: {leftovers:?}"));
        }
        if !out.stdout.is_empty() {
            problems.push("something on stdout".into());
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}\n  stderr: {stderr}", case.what, problems.join("; ")));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn all_errors_are_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let c = case(
        "many errors",
        "image = \"iso\"\narch = \"mips\"\nhostname = \"a b\"\nnameservers = [\"x\"]\n[[interfaces]]\nmatch_mac = \"zz\"",
        "image",
    );
    let out = run(&c, dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for field in ["image", "arch", "hostname", "nameservers[0]", "interfaces[0].match_mac"] {
        assert!(stderr.contains(&format!("error: {field}:")), "missing {field} in:\n{stderr}");
    }
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn artifact_for_the_wrong_image_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nixos-images-gen"))
        .args(["render", "ipxe", "--image", "kexec", "-o"])
        .arg(dir.path().join("x.ipxe"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("error: image:"));
    assert!(!dir.path().join("x.ipxe").exists());
}

/// `--ssh-key-file ~/.ssh/id_ed25519` (the private half) is refused once, without echoing any of it.
#[test]
fn private_key_file_is_refused_without_echo() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("id_ed25519");
    std::fs::write(&key, PRIVATE_KEY).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nixos-images-gen"))
        .args(["bundle", "--ssh-key-file"])
        .arg(&key)
        .arg("-o")
        .arg(dir.path().join("bundle.tar.gz"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr.lines().count(), 1, "one error, not one per line of the key file:\n{stderr}");
    assert!(stderr.starts_with("error: ssh_authorized_keys[0]: this is a PRIVATE key"), "{stderr}");
    assert!(!stderr.contains("b3BlbnNzaC1rZXktdjE"));
    assert!(!dir.path().join("bundle.tar.gz").exists());
}

/// A bad key from a flag names the flag, the file and the line as well as the field.
#[test]
fn key_errors_say_which_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys.pub");
    std::fs::write(&keys, format!("{ED25519}\n# a comment\n\nssh-ed25519 AAAA!!notbase64 x\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_nixos-images-gen"))
        .args(["check", "--ssh-key", ED25519, "--ssh-key-file"])
        .arg(&keys)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr.lines().count(), 2, "{stderr}");
    assert!(stderr.contains("error: ssh_authorized_keys[1]: the same key line is already at index 0"), "{stderr}");
    assert!(stderr.contains(&format!("(from --ssh-key-file {} line 1)", keys.display())), "{stderr}");
    assert!(stderr.contains("error: ssh_authorized_keys[2]: "), "{stderr}");
    assert!(stderr.contains(&format!("(from --ssh-key-file {} line 4)", keys.display())), "{stderr}");
}

/// Without strict mode, every field upstream's netboot image ignores is one `warning: <field>:` line on stderr, the
/// artifact is still written (exit 0); with this project's images there is no warning at all.
#[test]
fn ignored_fields_are_warnings_one_line_each() {
    let toml = format!(
        "image = \"netboot\"\nssh_authorized_keys = [{ED25519:?}]\nnameservers = [\"192.0.2.53\"]\n\
         [release]\nkexec_tarball_sha256 = \"{}\"\n[kexec]\nextra_flags = [\"-s\"]\n\
         [[interfaces]]\nmatch_mac = \"52:54:00:00:00:01\"\ndhcp = false\naddresses = [\"192.0.2.10/24\"]\n\
         [[interfaces.routes]]\ndestination = \"default\"\ngateway = \"192.0.2.1\"\n",
        "0".repeat(64)
    );
    for (installer, want) in [
        (
            None,
            &[
                "ssh_authorized_keys",
                "nameservers",
                "release.kexec_tarball_sha256",
                "interfaces[0].addresses",
                "kexec.extra_flags",
            ][..],
        ),
        (Some("nixos-images"), &["release.kexec_tarball_sha256", "kexec.extra_flags"][..]),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut c = case("warnings", &toml, "");
        if let Some(i) = installer {
            c.flags = vec!["--installer".into(), i.into()];
        }
        let out = run(&c, dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{installer:?}: {stderr}");
        assert!(dir.path().join("out.nix").exists(), "{installer:?}: nothing written");
        let fields: Vec<&str> = stderr
            .lines()
            .map(|l| l.strip_prefix("warning: ").unwrap_or_else(|| panic!("{installer:?}: not a warning: {l}")))
            .map(|l| l.split(": ").next().unwrap())
            .collect();
        assert_eq!(fields, want, "{installer:?}:\n{stderr}");
    }
}
