//! The README's Quick start is a test: its `console` block runs through trycmd against a fresh
//! store, and its `sh` block runs through `sh` with the built `tokman` first on PATH. Every
//! command the tour shows is one of these.

use std::path::PathBuf;
use std::process::Command;

const PASS: &str = "correct horse battery staple";

fn readme() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("README.md");
    std::fs::read_to_string(path).expect("README.md")
}

/// The README's "Quick start" section.
fn quick_start(readme: &str) -> &str {
    let start = readme
        .find("\n## Quick start\n")
        .expect("a Quick start section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |e| e + 3);
    &rest[..end]
}

#[test]
fn readme_console_tour() {
    let dir = tempfile::tempdir().expect("temp dir");
    let readme = readme();
    assert!(
        quick_start(&readme).contains("```console\n$ tokman init\n"),
        "the Quick start tour is a console block starting with `tokman init`"
    );
    trycmd::TestCases::new()
        .register_bin("tokman", std::path::Path::new(env!("CARGO_BIN_EXE_tokman")))
        .env(
            "TOKMAN_STORE",
            dir.path().join("store.db").display().to_string(),
        )
        .env("TOKMAN_PASSPHRASE", PASS)
        .env("HOME", dir.path().display().to_string())
        .case("README.md")
        .run();
}

#[test]
fn readme_script_block() {
    let readme = readme();
    let section = quick_start(&readme);
    let start = section.find("```sh\n").expect("a sh block in Quick start") + "```sh\n".len();
    let script = &section[start..start + section[start..].find("```").expect("closed block")];
    assert!(script.contains("tokman verify"), "{script}");

    let dir = tempfile::tempdir().expect("temp dir");
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_tokman"));
    let path = std::env::join_paths(
        std::iter::once(bin.parent().expect("bin dir").to_path_buf()).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )),
    )
    .expect("PATH");
    let out = Command::new("sh")
        .args(["-e", "-c", script])
        .env("PATH", path)
        .env("TOKMAN_STORE", dir.path().join("store.db"))
        .env("TOKMAN_PASSPHRASE", PASS)
        .env("HOME", dir.path())
        .env_remove("TOKMAN_KEY_FILE")
        .env_remove("TOKMAN_PASSPHRASE_FILE")
        .env_remove("TOKMAN_NEW_PASSPHRASE")
        .output()
        .expect("run sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.starts_with("let them in\n"), "{stdout}");
    assert!(
        stdout
            .lines()
            .any(|l| l.trim_start().starts_with("user") && l.ends_with("deploy-bot")),
        "inspect - names the user:\n{stdout}"
    );
    assert!(
        !stdout
            .split_whitespace()
            .any(|w| w.starts_with("tm_") && w.len() == 65),
        "the secret is printed only by generate, into $T:\n{stdout}"
    );
}
