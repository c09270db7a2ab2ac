//! `ShellWord` checked against real shells: batches of arbitrary strings are written as the arguments of
//! `printf '%s\0' WORD...`, run by `dash` and by `busybox sh`, and the NUL-separated output must be the original
//! strings, byte for byte. The generated scripts must also pass `shellcheck -s sh`.
//!
//! A missing `dash`, `busybox` or `shellcheck` fails the tests (they are never skipped).

use std::fmt::Write as _;
use std::io::ErrorKind;
use std::path::Path;
use std::process::{Command, Output};
use test_support::prerequisites::Prerequisites;

use nixos_images_core::escape::{ShellWord, SHELLCHECK_LITERAL_TEXT};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Runs a tool from PATH inside the scratch directory `dir` (so that a quoting bug that lets a glob or a command
/// substitution through stays there); a missing tool is a test failure that names it.
fn run(dir: &Path, tool: &str, args: &[&str], why: &str) -> Output {
    Command::new(tool).args(args).current_dir(dir).env("HOME", dir).env("LC_ALL", "C.UTF-8").output().unwrap_or_else(
        |e| {
            if e.kind() == ErrorKind::NotFound {
                panic!("`{tool}` was not found on PATH: {why}; install it (Debian: apt-get install {})", package(tool))
            }
            panic!("could not run `{tool}`: {e}")
        },
    )
}

fn package(tool: &str) -> &str {
    match tool {
        "busybox" => "busybox",
        "shellcheck" => "shellcheck",
        _ => "dash",
    }
}

/// The script: one `printf` whose arguments are the words, with the ShellCheck checks that flag literal text in
/// single quotes disabled, as the run script does (`SHELLCHECK_LITERAL_TEXT`; the dash and busybox runs prove the
/// words come back unchanged).
fn script(words: &[String]) -> String {
    let mut s = format!("# shellcheck disable={SHELLCHECK_LITERAL_TEXT}\nprintf '%s\\0'");
    for w in words {
        write!(s, " {}", ShellWord(w)).unwrap();
    }
    s.push('\n');
    s
}

/// Runs the script under `dash` and `busybox sh` and compares each output with the words; then shellchecks it.
fn check(dir: &Path, words: &[String]) -> Result<(), String> {
    let text = script(words);
    let file = dir.join("words.sh");
    std::fs::write(&file, &text).expect("writing a temporary file");
    let file = file.to_str().expect("temporary paths are UTF-8");
    let mut expected = Vec::new();
    for w in words {
        expected.extend_from_slice(w.as_bytes());
        expected.push(0);
    }
    for (tool, args) in [("dash", vec![file]), ("busybox", vec!["sh", file])] {
        let out = run(dir, tool, &args, "the shell-word test runs the generated script with it");
        if !out.status.success() || out.stdout != expected {
            let got: Vec<String> =
                out.stdout.split(|b| *b == 0).map(|w| String::from_utf8_lossy(w).into_owned()).collect();
            let first_diff = words
                .iter()
                .zip(&got)
                .position(|(w, g)| w != g)
                .map(|i| {
                    format!(
                        "first differing word #{i}: {:?} written as {} came back as {:?}",
                        words[i],
                        ShellWord(&words[i]),
                        got[i]
                    )
                })
                .unwrap_or_else(|| format!("{} words in, {} out", words.len(), got.len().saturating_sub(1)));
            return Err(format!(
                "`{tool} {}` ({}) did not print the words back: {first_diff}\nstderr: {}\n--- script ---\n{text}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    let out = run(dir, "shellcheck", &["-s", "sh", file], "the shell-word test lints the generated script with it");
    if !out.status.success() {
        return Err(format!(
            "`shellcheck -s sh` rejects the generated script:\n{}{}\n--- script ---\n{text}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

/// The shells that run the generated script and ShellCheck, which lints it; checked before any proptest run.
fn prerequisites() -> bool {
    Prerequisites::new().tool("dash").tool("busybox").tool("shellcheck").met()
}

/// Hand-picked words first: the empty word, quotes, expansions, globs, options and format directives.
#[test]
fn known_tricky_words_round_trip() {
    if !prerequisites() {
        return;
    }
    let dir = tempfile::tempdir().expect("creating a temporary directory");
    let words: Vec<String> = [
        "",
        " ",
        "  ",
        "'",
        "''",
        "'\\''",
        "\"",
        "\\",
        "\\\\",
        "a\\",
        "\\'",
        "$",
        "$HOME",
        "${HOME}",
        "$(id)",
        "`id`",
        "$((1+1))",
        "*",
        "?",
        "[a]",
        "~",
        "~root",
        "a b",
        "\n",
        "a\nb",
        "\t",
        "\r",
        "-n",
        "-e",
        "--",
        "%s",
        "%b",
        "\\0",
        "\\n",
        "#",
        "a#b",
        "!",
        "&",
        "|",
        ";",
        "<",
        ">",
        "(",
        ")",
        "{",
        "}",
        "=",
        "a=b",
        "@",
        "%",
        "+",
        ":",
        ",",
        ".",
        "/",
        "-",
        "_",
        "Ünïcødé 鍵 🔑",
        "\u{2028}",
        "\u{7f}",
        "\u{1b}[31m",
        "abc",
        "x'y'z",
        "it's \"quoted\" $x `y` \\z",
        "Bob‘s “laptop”",
        "~/.ssh",
        "a\\",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if let Err(e) = check(dir.path(), &words) {
        panic!("{e}");
    }
}

/// Arbitrary strings without NUL (which no argument can hold), rich in shell syntax.
fn shell_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        4 => prop::sample::select(&[
            "'", "''", "\"", "\\", "$", "$x", "${x}", "$(", ")", "`", "*", "?", "~", " ", "\n", "\t", "#", "!", "&",
            ";", "|", "<", ">", "=", "-", "%", "[", "]", "{", "}", "é", "鍵", "🔑",
        ][..])
        .prop_map(str::to_string),
        2 => any::<String>(),
        1 => any::<char>().prop_filter("no NUL", |c| *c != '\0').prop_map(String::from),
        1 => "[a-zA-Z0-9@%+=:,./_-]{1,8}",
    ];
    prop::collection::vec(token, 0..10).prop_map(|t| t.concat())
}

#[test]
fn arbitrary_words_round_trip() {
    if !prerequisites() {
        return;
    }
    let dir = tempfile::tempdir().expect("creating a temporary directory");
    let mut runner =
        TestRunner::new(Config { cases: 64, max_shrink_iters: 256, failure_persistence: None, ..Config::default() });
    let result = runner.run(&prop::collection::vec(shell_text(), 1..128), |words| {
        check(dir.path(), &words).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// The run script stays ShellCheck-clean whatever the key comments hold (Unicode quotes and dashes, a trailing
/// backslash, `$(...)`, backquotes, `~/`).
#[test]
fn run_script_with_hostile_key_comments_passes_shellcheck() {
    if !prerequisites() {
        return;
    }
    let dir = tempfile::tempdir().expect("creating a temporary directory");
    let blob = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJc8dPZMT4nOt7KCWcXuD/SnwMbZVnS0zy/73ZA8lGTg";
    let comments = [
        "Bob‘s “laptop” – work",
        "ends with a backslash \\",
        "$(touch /tmp/x) `id` ${HOME} ~/.ssh",
        "it's 'quoted'",
        "nbsp\u{a0}here",
    ];
    let req = nixos_images_core::Request {
        ssh_authorized_keys: comments.iter().map(|c| format!("{blob} {c}")).collect(),
        hostname: Some("web1".into()),
        ..Default::default()
    };
    let valid = req.validate().expect("the request is valid");
    let path = dir.path().join("run");
    std::fs::write(&path, nixos_images_core::render::kexec_run::script(&valid)).unwrap();
    let out = run(dir.path(), "shellcheck", &["-s", "sh", "run"], "lints the run script");
    assert!(
        out.status.success(),
        "shellcheck:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
