//! Generated files are tested fresh: the completion scripts in `completions/` and the man pages
//! in `man/` must be exactly what the clap definition generates now, and `tokman completions`
//! must print the same bytes. `UPDATE_GENERATED=1 cargo test --test generated` rewrites them.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use clap::{CommandFactory, ValueEnum};
use clap_complete::{Generator, Shell};

// The command line lives in the binary crate; the two modules that define and render it are
// compiled into this test too, so it checks exactly what `tokman` itself generates.
#[allow(dead_code)]
#[path = "../src/cli.rs"]
mod cli;
#[allow(dead_code)]
#[path = "../src/manpage.rs"]
mod manpage;

use cli::Cli;

const REWRITE: &str = "UPDATE_GENERATED=1 cargo test --test generated";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Compare `dir`'s files with `expected`, or rewrite them when UPDATE_GENERATED is set.
/// Files in `dir` that nothing generates any more are stale too.
fn check_dir(dir: &Path, expected: &[(String, Vec<u8>)]) {
    let update = std::env::var_os("UPDATE_GENERATED").is_some_and(|v| !v.is_empty());
    if update {
        std::fs::create_dir_all(dir).expect("create dir");
    }
    let mut stale = Vec::new();
    for (name, bytes) in expected {
        let path = dir.join(name);
        if std::fs::read(&path).ok().as_deref() != Some(bytes.as_slice()) {
            if update {
                std::fs::write(&path, bytes).expect("write generated file");
            } else {
                stale.push(name.clone());
            }
        }
    }
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !expected.iter().any(|(n, _)| *n == name) {
            if update {
                std::fs::remove_file(entry.path()).expect("remove stale file");
            } else {
                stale.push(format!("{name} (no longer generated)"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "{} is stale: {}\nrun `{REWRITE}` to rewrite it",
        dir.display(),
        stale.join(", ")
    );
}

#[test]
fn completion_scripts_are_fresh() {
    check_dir(&root().join("completions"), &manpage::completions_all());
}

#[test]
fn man_pages_are_fresh() {
    check_dir(&root().join("man"), &manpage::render_all());
}

#[test]
fn completions_command_prints_the_checked_in_script_for_every_shell() {
    for &shell in Shell::value_variants() {
        let name = shell
            .to_possible_value()
            .expect("listed")
            .get_name()
            .to_owned();
        let out = Command::cargo_bin("tokman")
            .expect("binary")
            .args(["completions", &name])
            .output()
            .expect("run");
        assert!(out.status.success(), "tokman completions {name} failed");
        assert_eq!(
            out.stdout,
            manpage::completion(shell),
            "tokman completions {name} differs from the generated script"
        );
        let file = root().join("completions").join(shell.file_name("tokman"));
        if let Ok(checked_in) = std::fs::read(&file) {
            assert_eq!(
                out.stdout,
                checked_in,
                "{} is stale; run `{REWRITE}`",
                file.display()
            );
        }
    }
}

#[test]
fn there_is_a_man_page_for_every_command_and_key_subcommand() {
    let names: Vec<String> = manpage::render_all().into_iter().map(|(n, _)| n).collect();
    for expected in [
        "tokman.1",
        "tokman-init.1",
        "tokman-generate.1",
        "tokman-list.1",
        "tokman-inspect.1",
        "tokman-revoke.1",
        "tokman-rotate.1",
        "tokman-verify.1",
        "tokman-purge.1",
        "tokman-audit.1",
        "tokman-key.1",
        "tokman-key-add-file.1",
        "tokman-key-passphrase.1",
        "tokman-key-list.1",
        "tokman-key-remove.1",
        "tokman-completions.1",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "no {expected} in {names:?}"
        );
    }
    assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
}

#[test]
fn the_main_man_page_has_exit_status_environment_and_files() {
    let pages = manpage::render_all();
    let main = String::from_utf8(pages[0].1.clone()).expect("utf-8");
    assert_eq!(pages[0].0, "tokman.1");
    for section in [
        "NAME",
        "SYNOPSIS",
        "\"EXIT STATUS\"",
        "ENVIRONMENT",
        "FILES",
    ] {
        assert!(
            main.contains(&format!("\n.SH {section}\n")),
            "tokman.1 lacks {section}"
        );
    }
    // Every exit code and variable of the help text is in the page.
    for code in [
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "10", "11", "12", "70", "74",
    ] {
        assert!(
            main.contains(&format!(".TP\n\\fB{code}\\fR\n")),
            "exit code {code} missing"
        );
    }
    for var in [
        "TOKMAN_STORE",
        "TOKMAN_KEY_FILE",
        "TOKMAN_PASSPHRASE_FILE",
        "TOKMAN_PASSPHRASE",
        "TOKMAN_NEW_PASSPHRASE",
        "NO_COLOR",
    ] {
        assert!(main.contains(&format!("\\fB{var}\\fR")), "{var} missing");
    }
    assert!(main.contains("~/.local/share/tokman/store.db"));
}

#[test]
fn subcommand_man_pages_carry_their_examples() {
    for (name, page) in manpage::render_all().iter().skip(1) {
        let page = String::from_utf8_lossy(page);
        assert!(page.contains(".SH EXAMPLES"), "{name} has no EXAMPLES");
        assert!(page.contains("tokman"), "{name}");
    }
}

// clap's `Command::debug_assert()` runs in src/cli.rs's unit tests.

/// Every command path, like ["key", "add-file"], without clap's `help`.
fn command_paths(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        let mut path = prefix.to_vec();
        path.push(sub.get_name().to_owned());
        out.push(path.clone());
        command_paths(sub, &path, out);
    }
}

#[test]
fn every_subcommand_help_has_an_example_section() {
    let mut paths = Vec::new();
    command_paths(&Cli::command(), &[], &mut paths);
    assert!(paths.len() >= 15, "{paths:?}");
    for path in paths {
        let out = Command::cargo_bin("tokman")
            .expect("binary")
            .args(&path)
            .arg("--help")
            .output()
            .expect("run");
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "tokman {} --help failed",
            path.join(" ")
        );
        assert!(
            help.lines().any(|l| l.starts_with("Example")),
            "tokman {} --help has no Example section:\n{help}",
            path.join(" ")
        );
    }
}
