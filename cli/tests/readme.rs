//! The README's two commands for a fresh machine work as written: the main job on the built-in example runs and
//! produces the install command and a bundle, and the test command exists.

use std::path::Path;
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root")
}

/// The indented command lines of the "On a fresh machine" section, in order.
fn fresh_machine_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(repo().join("README.md")).expect("reading README.md");
    let section = readme.split("## On a fresh machine").nth(1).expect("README has an 'On a fresh machine' section");
    let section = section.split("\n## ").next().unwrap_or_default();
    section.lines().filter_map(|l| l.strip_prefix("    ")).map(str::to_string).collect()
}

#[test]
fn the_main_job_command_works_as_written() {
    let commands = fresh_machine_commands();
    assert_eq!(commands.len(), 2, "expected the main-job and the test command, found {commands:?}");
    let bundle = repo().join("nixos-images-bundle.tar.gz");
    let _ = std::fs::remove_file(&bundle);
    let out = Command::new("sh").arg("-c").arg(&commands[0]).current_dir(repo()).output().expect("running sh");
    let produced = std::fs::read(&bundle);
    let _ = std::fs::remove_file(&bundle);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}\nstderr:\n{}", commands[0], String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("machine will boot into nixos in 6s..."), "the install command was printed:\n{stdout}");
    let produced = produced.expect("the command wrote the bundle named in the README");
    assert_eq!(&produced[..2], b"\x1f\x8b", "the bundle is gzip");
}

#[test]
fn the_test_command_exists() {
    let commands = fresh_machine_commands();
    let test = repo().join(commands.last().expect("a test command"));
    let meta = std::fs::metadata(&test).unwrap_or_else(|e| panic!("{}: {e}", test.display()));
    assert!(
        std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0,
        "{} is executable",
        test.display()
    );
    let ci_run = std::fs::read_to_string(repo().join(".ci/run")).unwrap();
    assert!(ci_run.contains(&format!("./{}", commands.last().unwrap())), ".ci/run calls the README's test command");
}

const TABLE_START: &str = "<!-- effects table: generated from core::effects -->\n";
const TABLE_END: &str = "<!-- end of effects table -->";

/// The README's effect table is `core::effects::markdown()`, never edited by hand. `UPDATE_README=1` rewrites it.
#[test]
fn the_effect_table_is_core_s() {
    let path = repo().join("README.md");
    let readme = std::fs::read_to_string(&path).expect("reading README.md");
    let start = readme.find(TABLE_START).expect("README has the effect table's start marker") + TABLE_START.len();
    let end = start + readme[start..].find(TABLE_END).expect("README has the effect table's end marker");
    let table = nixos_images_core::effects::markdown();
    if readme[start..end] == table {
        return;
    }
    if std::env::var_os("UPDATE_README").is_some() {
        std::fs::write(&path, format!("{}{table}{}", &readme[..start], &readme[end..])).expect("writing README.md");
        return;
    }
    panic!("README.md's effect table differs from core::effects::markdown(); run UPDATE_README=1 cargo test -p nixos-images-cli --test readme");
}
