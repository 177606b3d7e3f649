//! `--store` takes a path or a URL, and a URL is never taken for a path.

use assert_cmd::Command;
use predicates::prelude::*;

fn tokman(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("tokman").unwrap();
    cmd.current_dir(dir)
        .env_clear()
        .env("HOME", dir)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PGPASSFILE", "/dev/null");
    cmd
}

#[test]
fn a_postgres_url_is_a_database_never_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    tokman(dir.path())
        .args([
            "init",
            "--store",
            "postgres://u:hunter2hunter2@127.0.0.1:1/db",
        ])
        .env("TOKMAN_NEW_PASSPHRASE", "correct horse battery staple")
        .assert()
        .code(10)
        .stderr(predicate::str::contains(
            "cannot reach the database at postgres://u@127.0.0.1:1/db",
        ))
        .stderr(predicate::str::contains("hunter2").not());
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "init left {left:?} behind");
}

#[test]
fn the_password_in_a_store_url_is_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        vec![
            "list",
            "--store",
            "postgresql://u:hunter2hunter2@127.0.0.1:1/db",
        ],
        vec![
            "info",
            "--store",
            "postgres://u:hunter2hunter2@127.0.0.1:1/db?sslmode=sometimes",
        ],
        vec![
            "info",
            "--store",
            "postgres://u:hunter2hunter2@127.0.0.1:notaport/db",
        ],
    ] {
        let out = tokman(dir.path()).args(&args).output().unwrap();
        let text = String::from_utf8_lossy(&out.stderr).into_owned()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains("hunter2"),
            "{args:?} printed the password: {text}"
        );
        assert!(
            out.status.code() == Some(10) || out.status.code() == Some(2),
            "{args:?}: {text}"
        );
    }
    // From argv it is also visible in `ps`: said so.
    tokman(dir.path())
        .args([
            "list",
            "--store",
            "postgres://u:hunter2hunter2@127.0.0.1:1/db",
        ])
        .assert()
        .stderr(predicate::str::contains("every user can see in `ps`"));
}

#[test]
fn other_url_schemes_and_bad_urls_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    for store in [
        "mysql://u@h/db",
        "https://example.com/store.db",
        "postgres://u@127.0.0.1:1/db?sslmode=sometimes",
        "sqlite:",
    ] {
        tokman(dir.path())
            .args(["list", "--store", store])
            .assert()
            .code(2);
    }
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "left {left:?} behind");
}

#[test]
fn verify_full_without_a_root_certificate_says_what_to_add() {
    let dir = tempfile::tempdir().unwrap();
    tokman(dir.path())
        .args([
            "list",
            "--store",
            "postgres://u@127.0.0.1:1/db?sslmode=verify-full",
        ])
        .assert()
        .code(10)
        .stderr(predicate::str::contains("sslrootcert=PATH"));
}

#[test]
fn sqlite_prefix_and_plain_paths_are_files() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.db");
    tokman(dir.path())
        .args(["init", "--new-key-file", "k.key", "--store"])
        .arg(format!("sqlite:{}", store.display()))
        .assert()
        .success();
    assert!(store.is_file());
    tokman(dir.path())
        .args(["info", "--key-file", "k.key", "--store", "s.db"])
        .assert()
        .success()
        .stdout(predicate::str::contains("backend  sqlite"));
}
