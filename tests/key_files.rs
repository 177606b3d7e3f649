//! What unlocks a store is read with care: key files of the wrong kind or size, passphrase
//! files others may read, slots asking for absurd Argon2 costs, and key files that appear,
//! linger or are cut short by a kill.
#![cfg(unix)]

mod common;
use common::{Env, PASS};

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo")
        .arg("-m")
        .arg("600")
        .arg(path)
        .status()
        .expect("mkfifo runs");
    assert!(ok.success());
}

/// `list` unlocked by this key file alone.
fn list_with_key(env: &Env, key: &Path) -> common::Run {
    Env::output({
        let mut c = env.bare();
        c.arg("--key-file").arg(key).arg("list");
        c
    })
}

/// The binary as a plain `std` command (to spawn it and act while it runs), pointing at the
/// env's store with a clean environment.
fn spawnable(env: &Env) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_tokman"));
    for var in common::TOKMAN_VARS {
        c.env_remove(var);
    }
    c.env("TOKMAN_STORE", &env.store)
        .env("HOME", env.dir.path());
    if let Some(k) = &env.key {
        c.env("TOKMAN_KEY_FILE", k);
    }
    c
}

fn slots(env: &Env) -> Vec<Value> {
    let r = env.run(&["key", "list", "--json"]);
    r.ok();
    r.json().as_array().unwrap().clone()
}

/// Files in the env's directory whose name starts with `.NAME.tmp-`.
fn temporaries(env: &Env, name: &str) -> Vec<PathBuf> {
    let prefix = format!(".{name}.tmp-");
    std::fs::read_dir(env.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&prefix)
        })
        .collect()
}

#[test]
fn a_huge_key_file_is_refused_without_being_read() {
    let env = Env::new();
    env.generate("alice", &[]);
    let big = env.path("big.key");
    // 300 MB, sparse: reading it whole would take seconds and 300 MB of memory.
    let f = std::fs::File::create(&big).unwrap();
    f.set_len(300_000_000).unwrap();
    drop(f);
    chmod(&big, 0o600);
    let before = env.raw_files();
    let r = list_with_key(&env, &big);
    r.code(11);
    assert!(
        r.stderr.contains(&*big.to_string_lossy())
            && r.stderr.contains("300000000 bytes")
            && r.stderr.contains("not a tokman key file"),
        "{}",
        r.stderr
    );
    // A key file with one byte too many, or a valid key followed by more, likewise.
    let key = std::fs::read_to_string(env.key.as_ref().unwrap()).unwrap();
    for text in [format!("{key}\n\n"), format!("{key}{key}")] {
        std::fs::write(&big, &text).unwrap();
        let r = list_with_key(&env, &big);
        r.code(11);
        assert!(r.stderr.contains("bytes"), "{}", r.stderr);
    }
    // The same key without its final newline, or with CRLF, still unlocks.
    for text in [key.trim_end().to_owned(), format!("{}\r\n", key.trim_end())] {
        std::fs::write(&big, &text).unwrap();
        list_with_key(&env, &big).ok();
    }
    assert_eq!(before, env.raw_files());
}

#[test]
fn a_fifo_as_key_file_is_refused_without_blocking() {
    let env = Env::new();
    env.generate("alice", &[]);
    let fifo = env.path("fifo.key");
    mkfifo(&fifo);
    // Nobody ever writes to it: opening it to read would wait forever (the harness gives up
    // after 60 s, which shows as another exit code).
    let started = Instant::now();
    let r = Env::output({
        let mut c = env.bare();
        c.env("TOKMAN_KEY_FILE", &fifo).arg("list");
        c
    });
    r.code(11);
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
    assert!(started.elapsed() < Duration::from_secs(30));
    // A directory, likewise.
    let r = list_with_key(&env, env.dir.path());
    r.code(11);
    assert!(r.stderr.contains("not a regular file"), "{}", r.stderr);
}

#[test]
fn a_passphrase_file_others_may_read_or_write_is_refused() {
    let env = Env::with_passphrase();
    let alice = env.generate("alice", &[]);
    let file = env.path("pass.txt");
    std::fs::write(&file, format!("{PASS}\n")).unwrap();
    let with_file = |flag: bool| {
        Env::output({
            let mut c = env.bare();
            if flag {
                c.arg("--passphrase-file").arg(&file);
            } else {
                c.env("TOKMAN_PASSPHRASE_FILE", &file);
            }
            c.args(["list", "--json"]);
            c
        })
    };
    for mode in [0o644, 0o640, 0o604, 0o620, 0o602] {
        chmod(&file, mode);
        for flag in [true, false] {
            let r = with_file(flag);
            r.code(11);
            assert!(
                r.stderr.contains(&format!("chmod 600 {}", file.display()))
                    && r.stderr.contains("passphrase file"),
                "{mode:o}: {}",
                r.stderr
            );
            assert!(r.stdout.is_empty());
        }
    }
    chmod(&file, 0o600);
    with_file(true).ok();
    with_file(false).ok();
    // A private pipe works (`--passphrase-file <(pass show tokman)`).
    let fifo = env.path("pass.fifo");
    mkfifo(&fifo);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(&fifo, format!("{PASS}\n")).unwrap())
    };
    let r = Env::output({
        let mut c = env.bare();
        c.arg("--passphrase-file").arg(&fifo);
        c.args(["verify"]).write_stdin(format!("{alice}\n"));
        c
    });
    r.ok();
    writer.join().unwrap();
}

#[test]
fn a_slot_asking_for_absurd_argon2_costs_is_refused_before_argon2_runs() {
    let env = Env::with_passphrase();
    env.generate("alice", &[]);
    for kdf in [
        // Today's default memory, 64 passes: ~20 times the default's time.
        r#"{"m_kib":65536,"t":64,"p":1}"#,
        // 4 GiB a try.
        r#"{"m_kib":4194304,"t":3,"p":1}"#,
        r#"{"m_kib":65536,"t":3,"p":255}"#,
    ] {
        let conn = rusqlite::Connection::open(&env.store).unwrap();
        let n = conn
            .execute("UPDATE slots SET kdf = ?1 WHERE kind = 'passphrase'", [kdf])
            .unwrap();
        assert_eq!(n, 1);
        conn.close().unwrap();
        let before = env.raw_files();
        let started = Instant::now();
        let r = env.run(&["list"]);
        r.code(12);
        assert!(
            r.stderr.contains("slot 1") && r.stderr.contains("Argon2"),
            "{kdf}: {}",
            r.stderr
        );
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{kdf}: took {:?}",
            started.elapsed()
        );
        assert_eq!(before, env.raw_files());
    }
}

#[test]
fn key_add_file_onto_an_existing_path_adds_no_slot() {
    let env = Env::new();
    let taken = env.path("taken.key");
    std::fs::write(&taken, "mine\n").unwrap();
    let before = env.raw_files();
    let r = env.run(&["key", "add-file", taken.to_str().unwrap()]);
    r.code(7);
    assert!(r.stderr.contains("already exists"), "{}", r.stderr);
    assert_eq!(std::fs::read(&taken).unwrap(), b"mine\n");
    assert_eq!(before, env.raw_files());
    assert_eq!(slots(&env).len(), 1);
    assert!(temporaries(&env, "taken.key").is_empty());
}

#[test]
fn a_key_file_that_appears_while_unlocking_adds_no_slot() {
    let env = Env::with_passphrase();
    let fifo = env.path("pass.fifo");
    mkfifo(&fifo);
    let target = env.path("late.key");
    let child = spawnable(&env)
        .arg("--passphrase-file")
        .arg(&fifo)
        .args(["key", "add-file"])
        .arg(&target)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Opening the pipe to write returns once tokman opened it to read its passphrase: by then
    // it has checked the path is free. Now someone else takes it.
    let mut pipe = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    std::fs::write(&target, "someone else's\n").unwrap();
    std::io::Write::write_all(&mut pipe, format!("{PASS}\n").as_bytes()).unwrap();
    drop(pipe);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("already exists"), "{stderr}");
    assert_eq!(std::fs::read(&target).unwrap(), b"someone else's\n");
    let listed = env.run(&["key", "list", "--json"]);
    listed.ok();
    assert_eq!(listed.json().as_array().unwrap().len(), 1);
    assert!(temporaries(&env, "late.key").is_empty());
}

#[test]
fn a_stale_temporary_key_file_does_not_block_a_rerun() {
    let env = Env::empty();
    let admin = env.path("admin.key");
    let stale_init = env.path(".admin.key.tmp-0123456789ab");
    std::fs::write(&stale_init, "left by a kill\n").unwrap();
    let mut env = env;
    env.bare()
        .args(["init", "--new-key-file"])
        .arg(&admin)
        .assert()
        .success();
    env.key = Some(admin.clone());
    let alice = env.generate("alice", &[]);
    let second = env.path("second.key");
    let stale = env.path(".second.key.tmp-0123456789ab");
    std::fs::write(&stale, "left by a kill\n").unwrap();
    env.run(&["key", "add-file", second.to_str().unwrap()]).ok();
    assert_eq!(
        std::fs::metadata(&second).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let r = Env::output({
        let mut c = env.bare();
        c.arg("--key-file").arg(&second).arg("verify");
        c.write_stdin(format!("{alice}\n"));
        c
    });
    r.ok();
    // Stale files are left as they were; tokman's own temporary files are gone.
    assert_eq!(std::fs::read(&stale).unwrap(), b"left by a kill\n");
    assert_eq!(std::fs::read(&stale_init).unwrap(), b"left by a kill\n");
    assert_eq!(temporaries(&env, "second.key"), vec![stale]);
    assert_eq!(temporaries(&env, "admin.key"), vec![stale_init]);
}

#[test]
fn a_kill_during_key_add_file_leaves_no_key_file_in_the_way() {
    let env = Env::new();
    let alice = env.generate("alice", &[]);
    let target = env.path("cron.key");
    // Hold the store's write lock, so that `key add-file` waits at its transaction.
    let holder = rusqlite::Connection::open(&env.store).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut child = spawnable(&env)
        .args(["key", "add-file"])
        .arg(&target)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until it has written its key (under whatever name), then kill it.
    let deadline = Instant::now() + Duration::from_secs(20);
    while target.symlink_metadata().is_err() && temporaries(&env, "cron.key").is_empty() {
        assert!(Instant::now() < deadline, "key add-file wrote no key file");
        assert!(child.try_wait().unwrap().is_none(), "it waits for the lock");
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(100));
    child.kill().unwrap();
    child.wait().unwrap();
    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    assert!(
        !target.exists(),
        "a killed key add-file left a key file that unlocks nothing"
    );
    assert_eq!(slots(&env).len(), 1);
    // Running it again works, and the new key unlocks the store.
    env.run(&["key", "add-file", target.to_str().unwrap()]).ok();
    assert_eq!(slots(&env).len(), 2);
    let r = Env::output({
        let mut c = env.bare();
        c.arg("--key-file").arg(&target).arg("verify");
        c.write_stdin(format!("{alice}\n"));
        c
    });
    r.ok();
}
