//! The flake and the NixOS modules (`nix/`), checked without nixpkgs (the images cannot be built here):
//!
//! - every `.nix` file of the repository parses (`nix-instantiate --parse`);
//! - `nix/lib/options-set.nix` is core's `OPTIONS_SET` (one list: the override renders it, the modules' contract
//!   assertion reads it);
//! - no module forces (`mkForce`, priority < 100) an option the rendered override sets, so a request's value always
//!   wins; the installer's host name is only a `mkDefault`. The module files are evaluated for real by
//!   `nix-instantiate` with a stub `lib`/`pkgs`/`config` (`fixtures/nix/stub-lib.nix`);
//! - the build steps of `kexec-installer.nix` and `netboot-installer.nix` that render `kexec/run` and
//!   `netboot.ipxe`, taken from the evaluated modules, run under `sh` with this build's `nixos-images-gen`, and
//!   write exactly what core renders for the image's init path and kernel parameters.
//!
//! Not proven here: that the options are declared in nixpkgs (`override-contract.nix` asserts it whenever an image
//! is evaluated with nixpkgs) and that the images build and boot (the flake's checks, in CI with a Nix store).
//! A missing `nix-instantiate` fails these tests; every call has empty substituters and a `dummy://` store.

use test_support::nix::Nix;

use std::path::{Path, PathBuf};
use std::process::Command;

use nixos_images_core::release::{self, ReleaseBoot};
use nixos_images_core::render::kexec_run;
use nixos_images_core::render::nix::OPTIONS_SET;
use nixos_images_core::{Arch, Request, RequestFormat};
use serde_json::Value;

/// Evaluates to JSON, panicking with nix's message on failure.
fn eval(nix: &Nix, expr: &str) -> Value {
    nix.eval_json(expr).unwrap_or_else(|e| panic!("{e}"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

/// Every .nix file under the repository (target/ and hidden directories aside).
fn nix_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        if path.is_dir() {
            nix_files(&path, out);
        } else if name.ends_with(".nix") {
            out.push(path);
        }
    }
}

fn nix_str(s: &str) -> String {
    serde_json::to_string(s).unwrap().replace("${", "\\${")
}

#[test]
fn every_nix_file_parses() {
    let Some(nix) = Nix::new() else { return };
    let mut files = Vec::new();
    nix_files(&repo(), &mut files);
    files.sort();
    for must in ["flake.nix", "nix/flake-outputs.nix", "nix/modules/kexec-installer.nix", "nix/tests/kexec.nix"] {
        assert!(files.contains(&repo().join(must)), "{must} not found");
    }
    let mut failures = Vec::new();
    for f in &files {
        if let Err(e) = nix.run(&["--parse", f.to_str().unwrap()]) {
            failures.push(e);
        }
    }
    assert!(failures.is_empty(), "{} of {} files do not parse:\n{}", failures.len(), files.len(), failures.join("\n"));
}

#[test]
fn the_modules_list_of_override_options_is_cores() {
    let Some(nix) = Nix::new() else { return };
    let list = eval(&nix, &format!("import {}", repo().join("nix/lib/options-set.nix").display()));
    let expected: Vec<Value> = OPTIONS_SET.iter().map(|s| Value::from(*s)).collect();
    assert_eq!(list, Value::Array(expected));
}

/// Evaluates `expr` with `stub` (the stub arguments) and `modules` (each module file applied to them, its
/// `config` part when it has one) in scope.
fn eval_modules(nix: &Nix, cli: &str, expr: &str) -> Value {
    let stub = repo().join("cli/tests/fixtures/nix/stub-lib.nix");
    let dir = repo().join("nix/modules");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".nix"))
        .collect();
    names.sort();
    let modules: String = names
        .iter()
        .map(|n| {
            format!(
                "{} = let m = import {}/{n} stub.args; in if m ? config then m.config else m;\n",
                nix_str(n),
                dir.display()
            )
        })
        .collect();
    eval(
        nix,
        &format!(
            "let stub = import {} {{ cli = {}; }}; modules = {{ {modules} }}; in {expr}",
            stub.display(),
            nix_str(cli)
        ),
    )
}

/// For each module and option path: null when the module does not set it, else the priority it sets it with (100
/// for a plain definition), as the stub evaluation sees the module's `config`.
fn priorities(nix: &Nix, paths: &[&str]) -> Value {
    let paths: Vec<String> = paths.iter().map(|p| nix_str(p)).collect();
    let expr = format!(
        "let get = path: set: builtins.foldl' (s: k: if s != null && builtins.isAttrs s && s ? ${{k}} then s.${{k}} \
         else null) set path; split = p: builtins.filter builtins.isString (builtins.split \"[.]\" p); \
         prio = v: if v == null then null else if builtins.isAttrs v && (v._type or null) == \"override\" then \
         v.priority else 100; in builtins.mapAttrs (n: m: builtins.listToAttrs (map (p: {{ name = p; value = prio \
         (get (split p) m); }}) [ {} ])) modules",
        paths.join(" ")
    );
    eval_modules(nix, "/stub/bin/nixos-images-gen", &expr)
}

#[test]
fn no_module_forces_an_option_the_override_sets() {
    let Some(nix) = Nix::new() else { return };
    let result = priorities(&nix, OPTIONS_SET);
    let modules = result.as_object().unwrap();
    for must in ["kexec-installer.nix", "netboot-installer.nix", "installer.nix", "overlay.nix", "networkd.nix"] {
        assert!(modules.contains_key(must), "{must} evaluated");
    }
    let mut set_somewhere = Vec::new();
    for (module, options) in modules {
        for (path, prio) in options.as_object().unwrap() {
            if let Some(p) = prio.as_u64() {
                assert!(p >= 100, "{module} forces {path} (priority {p}): a request's override would lose");
                set_somewhere.push(format!("{module}: {path} ({p})"));
            }
        }
    }
    assert_eq!(result["installer.nix"]["networking.hostName"], Value::from(1000), "the host name is a mkDefault");
    // The modules do give defaults to some of these options (a plain definition merges with the override's list).
    assert!(set_somewhere.iter().any(|s| s.starts_with("serial.nix: boot.kernelParams")), "{set_somewhere:?}");
}

/// What the installer profiles our images import set, and at which priority, for options that do not merge (read in
/// nixpkgs 25.05's `profiles/installation-device.nix`, `profiles/minimal.nix`, `installer/netboot/netboot-minimal.nix`;
/// 25.11 adds NetworkManager to installation-device.nix). A module of ours that sets one of them at the same
/// priority makes every image fail to evaluate when the values differ ("conflicting definition values"), which is
/// the error the stubs could not see before.
const PROFILE_DEFINITIONS: &[(&str, u64, &str)] = &[
    ("services.openssh.settings.PermitRootLogin", 1000, "installation-device.nix (mkDefault \"yes\")"),
    ("services.openssh.enable", 1000, "installation-device.nix"),
    ("system.nixos.variant_id", 1000, "installation-device.nix"),
    ("documentation.enable", 60, "installation-device.nix (mkImageMediaOverride)"),
    ("documentation.nixos.enable", 60, "installation-device.nix (mkImageMediaOverride)"),
    ("documentation.man.enable", 500, "netboot-minimal.nix"),
    ("documentation.doc.enable", 1000, "minimal.nix"),
    ("documentation.info.enable", 1000, "minimal.nix"),
    ("hardware.enableRedistributableFirmware", 70, "netboot-minimal.nix"),
    ("networking.wireless.enable", 500, "netboot-minimal.nix"),
    ("networking.networkmanager.enable", 100, "installation-device.nix (from 25.11)"),
    ("security.sudo.enable", 1000, "installation-device.nix"),
    ("services.getty.autologinUser", 100, "installation-device.nix"),
    ("programs.command-not-found.enable", 1000, "minimal.nix"),
    ("services.udisks2.enable", 1000, "minimal.nix"),
    ("boot.enableContainers", 1000, "minimal.nix"),
];

#[test]
fn no_module_meets_an_installer_profile_at_its_priority() {
    let Some(nix) = Nix::new() else { return };
    let paths: Vec<&str> = PROFILE_DEFINITIONS.iter().map(|(p, _, _)| *p).collect();
    let result = priorities(&nix, &paths);
    let mut clashes = Vec::new();
    for (module, options) in result.as_object().unwrap() {
        for (path, profile_priority, profile) in PROFILE_DEFINITIONS {
            if options[*path].as_u64() == Some(*profile_priority) {
                clashes.push(format!("{module} sets {path} at priority {profile_priority}, as {profile} does"));
            }
        }
    }
    assert!(clashes.is_empty(), "{}", clashes.join("\n"));
    // The ones this project must win: keys-only root login, no NetworkManager, the noninteractive reductions.
    assert_eq!(result["installer.nix"]["services.openssh.settings.PermitRootLogin"], Value::from(900));
    assert_eq!(result["installer.nix"]["networking.networkmanager.enable"], Value::from(50));
    assert_eq!(result["noninteractive.nix"]["documentation.enable"], Value::from(50));
}

/// The flake's stable input is the release core calls current (flake.nix cannot import it from there).
#[test]
fn the_flake_follows_the_current_stable() {
    let stable = nixos_images_core::Channel::CURRENT_STABLE.to_string();
    let flake = std::fs::read_to_string(repo().join("flake.nix")).unwrap();
    assert!(
        flake.contains(&format!("nixos-stable.url = \"github:NixOS/nixpkgs/{stable}\";")),
        "flake.nix's nixos-stable input is not {stable}"
    );
}

const INIT: &str = "/nix/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-nixos-system-nixos-installer-26.11/init";
const PARAMS: &[&str] = &["zswap.enabled=1", "console=ttyS0,115200n8", "console=tty0"];

/// Runs a module's build script (from the evaluated module) under sh, `$out` set to a fresh path.
fn run_build_script(script: &str, out: &Path) {
    let status = Command::new("sh").args(["-euc", script]).env("out", out).status().unwrap();
    assert!(status.success(), "the module's build script failed:\n{script}");
}

#[test]
fn the_kexec_module_renders_kexec_run_with_the_real_cli() {
    let Some(nix) = Nix::new() else { return };
    let cli = env!("CARGO_BIN_EXE_nixos-images-gen");
    let script = eval_modules(&nix, cli, "modules.\"kexec-installer.nix\".system.build.kexecRun.script");
    let script = script.as_str().unwrap();
    assert!(script.contains(" --release-init /nix/store/"), "{script}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    run_build_script(script, &out);

    // The image is this project's: its run script arms the installer's rollback watchdog.
    let req = Request::parse(
        "image = \"kexec\"\narch = \"x86_64-linux\"\nchannel = \"nixos-unstable\"\n\
         [release]\ninstaller = \"nixos-images\"\n",
        RequestFormat::Toml,
    )
    .unwrap()
    .validate()
    .unwrap();
    let params: Vec<String> = PARAMS.iter().map(|s| s.to_string()).collect();
    let boot = ReleaseBoot::new(INIT, &params).unwrap();
    let written = std::fs::read_to_string(&out).unwrap();
    assert_eq!(written, kexec_run::script_with_release(&req, Some(&boot)));
    assert_eq!(ReleaseBoot::from_run_script(&written), Some(boot));
    let lint = Command::new("shellcheck").args(["-s", "sh"]).arg(&out).output().expect("shellcheck is installed");
    assert!(lint.status.success(), "shellcheck:\n{}", String::from_utf8_lossy(&lint.stdout));
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o755);
}

/// The words of a command line the way sh (and systemd, for these single-quoted words) splits it.
fn sh_words(line: &str) -> Vec<String> {
    let out = Command::new("sh").args(["-c", &format!("printf '%s\\n' {line}")]).output().unwrap();
    assert!(out.status.success(), "{line}");
    String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect()
}

#[test]
fn the_rollback_watchdog_unit_runs_the_real_agent() {
    let Some(nix) = Nix::new() else { return };
    let cli = env!("CARGO_BIN_EXE_nixos-images-gen");
    let unit = eval_modules(&nix, cli, "modules.\"rollback-watchdog.nix\".systemd.services.nixos-images-rollback");
    assert_eq!(unit["wantedBy"], serde_json::json!(["multi-user.target"]), "{unit}");
    assert_eq!(unit["serviceConfig"]["StandardOutput"], "journal+console", "{unit}");
    let words = sh_words(unit["serviceConfig"]["ExecStart"].as_str().unwrap());
    assert_eq!(words[..4], ["/stub/bin/nixos-images-agent", "watchdog", "run", "--"], "{words:?}");
    assert_eq!(words[4], "/stub/systemd/bin/journalctl");
    for flag in ["--boot", "--follow", "--output=cat", "--identifier=sshd", "--identifier=sshd-session"] {
        assert!(words.contains(&flag.to_string()), "{flag}: {words:?}");
    }
    let kexec = repo().join("nix/modules/kexec-installer.nix");
    let imports = eval_modules(&nix, cli, &format!("map toString (import {} stub.args).imports", kexec.display()));
    assert!(imports.to_string().contains("rollback-watchdog.nix"), "{imports}");

    // The unit's words, with this build's agent, a fake /proc and a log that has a login: the agent takes them,
    // arms the watchdog from the command line and is off for good at the login.
    let dir = tempfile::tempdir().unwrap();
    let proc = dir.path().join("proc");
    std::fs::create_dir_all(proc.join("sys/kernel/random")).unwrap();
    std::fs::write(proc.join("cmdline"), "init=/x nixos_images.rollback_seconds=900\n").unwrap();
    std::fs::write(proc.join("uptime"), "12.00 20.00\n").unwrap();
    std::fs::write(proc.join("sys/kernel/random/boot_id"), "b0\n").unwrap();
    let agent = env!("CARGO_BIN_EXE_nixos-images-agent");
    let log = "Accepted publickey for root from 192.0.2.9 port 40000 ssh2: ED25519 SHA256:x";
    let out = Command::new(agent)
        .args(&words[1..2])
        .arg("--proc")
        .arg(&proc)
        .arg("--state-dir")
        .arg(dir.path().join("run"))
        .args(&words[2..4])
        .args(["sh", "-c", &format!("sleep 1; echo '{log}'; exec sleep 30")])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("rebooting into the system on disk in 14 min 48 s"), "{stdout}");
    assert!(stdout.contains("off for good: root logged in over SSH from 192.0.2.9"), "{stdout}");

    let shell_init = eval_modules(&nix, cli, "modules.\"rollback-watchdog.nix\".environment.loginShellInit");
    let words = sh_words(shell_init.as_str().unwrap().trim());
    assert_eq!(words, ["/stub/bin/nixos-images-agent", "watchdog", "status", "--login"]);
    let out = Command::new(agent)
        .args(["watchdog", "--proc"])
        .arg(&proc)
        .arg("--state-dir")
        .arg(dir.path().join("run"))
        .args(&words[2..])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("off for good"), "{out:?}");
}

#[test]
fn the_netboot_module_renders_netboot_ipxe_with_the_real_cli() {
    let Some(nix) = Nix::new() else { return };
    let cli = env!("CARGO_BIN_EXE_nixos-images-gen");
    let script = eval_modules(&nix, cli, "modules.\"netboot-installer.nix\".system.build.netbootInstaller.script");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("netboot");
    run_build_script(script.as_str().unwrap(), &out);

    let params: Vec<String> = PARAMS.iter().map(|s| s.to_string()).collect();
    let boot = ReleaseBoot::new(INIT, &params).unwrap();
    let written = std::fs::read_to_string(out.join("netboot.ipxe")).unwrap();
    assert_eq!(written, release::netboot_ipxe(Arch::X86_64Linux, &boot, "bzImage", "initrd"));
    assert!(written.contains(" ${cmdline}\n"), "{written}");
    assert_eq!(std::fs::read_link(out.join("bzImage")).unwrap(), Path::new("/stub/kernel/bzImage"));
    assert_eq!(std::fs::read_link(out.join("initrd")).unwrap(), Path::new("/stub/initrd/initrd"));
}

#[test]
fn render_args_is_a_flag_set_the_cli_accepts() {
    // The pure argument list, for both kinds and with a parameter that starts with a dash.
    let Some(nix) = Nix::new() else { return };
    let cli = env!("CARGO_BIN_EXE_nixos-images-gen");
    for kind in ["kexec-run", "ipxe"] {
        let args = eval(
            &nix,
            &format!(
                "import {} {{ kind = \"{kind}\"; system = \"aarch64-linux\"; channel = \"nixos-26.11\"; init = {}; \
             kernelParams = [ \"-x\" \"console=ttyAMA0,115200n8\" ]; }}",
                repo().join("nix/lib/render-args.nix").display(),
                nix_str(INIT)
            ),
        );
        let args: Vec<String> = args.as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
        let out = Command::new(cli).args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let boot =
            if kind == "ipxe" { ReleaseBoot::from_netboot_ipxe(&text) } else { ReleaseBoot::from_run_script(&text) };
        assert_eq!(boot, Some(ReleaseBoot::new(INIT, &["-x".into(), "console=ttyAMA0,115200n8".into()]).unwrap()));
    }
}

/// The flake's outputs evaluated with stand-in nixpkgs inputs (`fixtures/nix/stub-flake-inputs.nix`): the package
/// names per system, the checks (packages and the VM tests of nix/tests), the modules, the channel each image is
/// rendered for; and `nixos-images-gen build` asks for packages the flake and the build tests' fixture flake have.
#[test]
fn flake_outputs_have_the_images_build_asks_for() {
    let Some(nix) = Nix::new() else { return };
    let expr = format!(
        "let inputs = import {stub}; outputs = import {outputs} (inputs // {{ self = outputs; }}); \
         fixture = (import {fixture}).outputs {{ self = fixture; }}; names = builtins.attrNames; \
         channelOf = p: (builtins.head (builtins.filter (m: builtins.isAttrs m && m ? nixos-images) p.args.modules)).nixos-images.channel; in {{ \
         packages = builtins.mapAttrs (s: names) outputs.packages; checks = builtins.mapAttrs (s: names) outputs.checks; \
         modules = names outputs.nixosModules; devShells = names outputs.devShells; formatter = names outputs.formatter; \
         fixture = builtins.mapAttrs (s: names) fixture.packages; \
         channels = builtins.mapAttrs (n: p: if p ? output then channelOf p else null) outputs.packages.x86_64-linux; \
         outputs = builtins.mapAttrs (n: p: p.output or null) outputs.packages.aarch64-linux; }}",
        stub = repo().join("cli/tests/fixtures/nix/stub-flake-inputs.nix").display(),
        outputs = repo().join("nix/flake-outputs.nix").display(),
        fixture = repo().join("cli/tests/fixtures/build-flake/flake.nix").display(),
    );
    let v = eval(&nix, &expr);
    let names =
        |v: &Value| -> Vec<String> { v.as_array().unwrap().iter().map(|s| s.as_str().unwrap().into()).collect() };
    let images: Vec<String> = ["nixos-unstable", "nixos-stable"]
        .iter()
        .flat_map(|ch| {
            [format!("kexec-installer-{ch}"), format!("kexec-installer-{ch}-noninteractive"), format!("netboot-{ch}")]
        })
        .collect();
    for system in ["x86_64-linux", "aarch64-linux"] {
        let packages = names(&v["packages"][system]);
        for p in images.iter().map(String::as_str).chain(["nixos-images", "nixos-images-agent", "default"]) {
            assert!(packages.iter().any(|n| n == p), "{system}: package {p} in {packages:?}");
        }
        assert_eq!(packages.len(), images.len() + 3, "{packages:?}");
        let checks = names(&v["checks"][system]);
        assert!(images.iter().all(|i| checks.contains(i)), "{system}: checks re-export the images: {checks:?}");
        assert_eq!(checks.contains(&"vm-kexec".to_string()), system == "x86_64-linux", "{checks:?}");
        // The build tests' fixture flake has the same image names.
        let mut fixture = names(&v["fixture"][system]);
        fixture.retain(|n| n != "broken");
        let mut expected = images.clone();
        fixture.sort();
        expected.sort();
        assert_eq!(fixture, expected, "fixtures/build-flake mirrors the flake's images");
    }
    for m in ["default", "kexec-installer", "netboot-installer", "noninteractive", "networkd", "serial", "overlay"] {
        assert!(names(&v["modules"]).iter().any(|n| n == m), "nixosModules.{m}");
    }
    assert_eq!(names(&v["devShells"]), ["aarch64-linux", "x86_64-linux"]);
    assert_eq!(names(&v["formatter"]), ["aarch64-linux", "x86_64-linux"]);
    for image in &images {
        let channel = if image.contains("unstable") { "nixos-unstable" } else { "nixos-26.11" };
        assert_eq!(v["channels"][image], Value::from(channel), "{image} is rendered for {channel}");
        let output = if image.starts_with("netboot") { "netbootInstaller" } else { "kexecInstallerTarball" };
        assert_eq!(v["outputs"][image], Value::from(output), "{image}");
    }

    // `build --dry-run` names a package the flake has, for every image kind and both channels.
    let cli = env!("CARGO_BIN_EXE_nixos-images-gen");
    for image in ["kexec", "kexec-noninteractive", "netboot"] {
        for channel in ["nixos-unstable", "nixos-26.11"] {
            let out = Command::new(cli)
                .args(["build", "--dry-run", "--image", image, "--arch", "aarch64-linux", "--channel", channel])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let stdout = String::from_utf8(out.stdout).unwrap();
            let name = stdout
                .lines()
                .find_map(|l| l.trim().strip_prefix("name = \"")?.strip_suffix("\";"))
                .unwrap_or_else(|| panic!("no name in {stdout}"));
            assert!(images.iter().any(|i| i == name), "build asks for {name}, which the flake does not have");
        }
    }
}
