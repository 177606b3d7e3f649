//! Who may touch the store's files: a store, `-wal`/`-shm` file or directory that another
//! user owns or that group or others may write is refused (exit 10, naming it and the fix),
//! before SQLite reads or writes anything.
#![cfg(unix)]

mod common;
use common::Env;

use std::os::unix::fs::{MetadataExt, PermissionsExt, chown, symlink};
use std::path::{Path, PathBuf};

/// The user `nobody`: "another user" when the tests run as root.
const NOBODY: u32 = 65534;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn side(env: &Env, suffix: &str) -> PathBuf {
    let mut p = env.store.clone().into_os_string();
    p.push(suffix);
    PathBuf::from(p)
}

/// Whether the tests run as root (a file just made is owned by the effective user).
fn running_as_root(env: &Env) -> bool {
    let probe = env.path("whoami");
    std::fs::write(&probe, b"").unwrap();
    let uid = std::fs::metadata(&probe).unwrap().uid();
    std::fs::remove_file(&probe).unwrap();
    uid == 0
}

/// The store's bytes with what sits beside it, to show a refused command changed nothing.
fn snapshot(env: &Env) -> Vec<Vec<u8>> {
    ["", "-wal", "-shm"]
        .iter()
        .map(|s| std::fs::read(side(env, s)).unwrap_or_default())
        .collect()
}

#[track_caller]
fn refused(env: &Env, args: &[&str], names: &Path, fix: &str) {
    let r = env.run(args);
    r.code(10);
    let name = names.display().to_string();
    assert!(r.stderr.contains(&name), "names {name}: {}", r.stderr);
    assert!(r.stderr.contains(fix), "says {fix}: {}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
}

#[test]
fn planted_wal_and_shm_files_are_refused_and_left_untouched() {
    let env = Env::new();
    let alice = env.generate("alice", &[]);
    for suffix in ["-wal", "-shm"] {
        let planted = side(&env, suffix);
        assert!(!planted.exists(), "tokman leaves no {suffix} behind");
        std::fs::write(&planted, b"").unwrap();
        chmod(&planted, 0o666);
        let before = snapshot(&env);
        refused(&env, &["generate", "bob"], &planted, "chmod 600");
        let r = env.verify(&alice, &[]);
        r.code(10);
        assert!(r.stderr.contains("group and others"), "{}", r.stderr);
        assert_eq!(snapshot(&env), before, "nothing written through {suffix}");
        std::fs::remove_file(&planted).unwrap();
    }
    env.verify(&alice, &[]).ok();
    env.generate("bob", &[]);
}

#[test]
fn a_symlinked_wal_or_shm_is_refused() {
    let env = Env::new();
    let alice = env.generate("alice", &[]);
    let elsewhere = env.path("elsewhere");
    std::fs::write(&elsewhere, b"").unwrap();
    chmod(&elsewhere, 0o600);
    for suffix in ["-wal", "-shm"] {
        let link = side(&env, suffix);
        symlink(&elsewhere, &link).unwrap();
        refused(&env, &["generate", "bob"], &link, "rm ");
        let r = env.verify(&alice, &[]);
        r.code(10);
        assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
        assert_eq!(
            std::fs::read(&elsewhere).unwrap(),
            b"",
            "nothing written through it"
        );
        std::fs::remove_file(&link).unwrap();
    }
    // A dangling link is refused the same way: SQLite would create the file it names.
    let link = side(&env, "-wal");
    symlink(env.path("nowhere"), &link).unwrap();
    refused(&env, &["list"], &link, "symbolic link");
    assert!(!env.path("nowhere").exists());
    std::fs::remove_file(&link).unwrap();
    env.verify(&alice, &[]).ok();
}

#[test]
fn a_store_file_others_may_write_is_refused_but_reading_is_allowed() {
    let env = Env::new();
    let alice = env.generate("alice", &[]);
    for mode in [0o660, 0o606, 0o620, 0o602] {
        chmod(&env.store, mode);
        let before = snapshot(&env);
        refused(&env, &["generate", "bob"], &env.store, "chmod 600");
        refused(&env, &["list"], &env.store, &format!("mode {mode:03o}"));
        assert_eq!(snapshot(&env), before);
    }
    // Readable by others is a choice (a copy reveals nothing without a key): allowed.
    chmod(&env.store, 0o644);
    env.verify(&alice, &[]).ok();
    chmod(&env.store, 0o600);
    env.generate("bob", &[]);
}

#[test]
fn a_directory_others_may_write_is_refused_sticky_or_not() {
    let env = Env::new();
    let alice = env.generate("alice", &[]);
    let dir = env.dir.path().to_path_buf();
    for mode in [0o777, 0o770, 0o1777, 0o703] {
        chmod(&dir, mode);
        let before = snapshot(&env);
        let fix = if mode & 0o1000 != 0 {
            "mkdir -m 700"
        } else {
            "chmod go-w"
        };
        refused(&env, &["generate", "bob"], &dir, fix);
        let r = env.verify(&alice, &[]);
        r.code(10);
        assert!(r.stderr.contains("plant"), "says why: {}", r.stderr);
        assert_eq!(snapshot(&env), before);
    }
    chmod(&dir, 0o755);
    env.verify(&alice, &[]).ok();
    chmod(&dir, 0o700);
}

#[test]
fn no_store_is_made_in_a_directory_others_may_write() {
    let env = Env::empty();
    let shared = env.path("shared");
    std::fs::create_dir(&shared).unwrap();
    chmod(&shared, 0o1777);
    let store = shared.join("store.db");
    let key = env.path("admin.key");
    for args in [
        vec!["init", "--new-key-file", key.to_str().unwrap()],
        vec!["generate", "alice"],
    ] {
        let r = Env::output({
            let mut c = env.bare();
            c.env("TOKMAN_STORE", &store)
                .env("TOKMAN_NEW_PASSPHRASE", common::PASS)
                .args(&args);
            c
        });
        r.code(10);
        assert!(
            r.stderr.contains(&*shared.to_string_lossy()),
            "{}",
            r.stderr
        );
        assert_eq!(std::fs::read_dir(&shared).unwrap().count(), 0, "{args:?}");
        assert!(!key.exists(), "no key file for a store that was not made");
    }
    // A new directory is made private, and the store in it.
    let fresh = env.path("new/dir");
    Env::output({
        let mut c = env.bare();
        c.env("TOKMAN_STORE", fresh.join("store.db")).args([
            "init",
            "--new-key-file",
            key.to_str().unwrap(),
        ]);
        c
    })
    .ok();
    assert_eq!(std::fs::metadata(&fresh).unwrap().mode() & 0o777, 0o700);
}

#[test]
fn files_owned_by_another_user_are_refused() {
    let env = Env::new();
    if !running_as_root(&env) {
        eprintln!("file_safety: skipped: only root can give a file to another user");
        return;
    }
    let alice = env.generate("alice", &[]);
    // The store file: root's own tokman must not use nobody's store either.
    chown(&env.store, Some(NOBODY), None).unwrap();
    let before = snapshot(&env);
    refused(&env, &["generate", "bob"], &env.store, "another user");
    refused(
        &env,
        &["list"],
        &env.store,
        &format!("chown 0 {}", env.store.display()),
    );
    assert_eq!(snapshot(&env), before);
    chown(&env.store, Some(0), None).unwrap();
    env.verify(&alice, &[]).ok();
    // A -wal planted by another user, even private to them.
    let wal = side(&env, "-wal");
    std::fs::write(&wal, b"").unwrap();
    chmod(&wal, 0o600);
    chown(&wal, Some(NOBODY), None).unwrap();
    refused(&env, &["generate", "bob"], &wal, "rm ");
    assert_eq!(std::fs::read(&wal).unwrap(), b"");
    std::fs::remove_file(&wal).unwrap();
    // The directory: another user's is refused; root's is not (see below: ours is root's).
    let dir = env.dir.path();
    chown(dir, Some(NOBODY), None).unwrap();
    refused(&env, &["list"], dir, "owned by another user");
    chown(dir, Some(0), None).unwrap();
    env.verify(&alice, &[]).ok();
}

#[test]
fn a_store_path_that_is_a_symlink_is_followed_and_both_directories_checked() {
    let env = Env::new();
    let alice = env.generate("alice", &[]);
    let real_dir = env.path("real");
    std::fs::create_dir(&real_dir).unwrap();
    chmod(&real_dir, 0o700);
    let real = real_dir.join("store.db");
    std::fs::rename(&env.store, &real).unwrap();
    symlink(&real, &env.store).unwrap();
    env.verify(&alice, &[]).ok();
    env.generate("bob", &[]);
    // The -wal and -shm files live beside the real file: a planted one there is refused.
    let wal = real_dir.join("store.db-wal");
    std::fs::write(&wal, b"").unwrap();
    chmod(&wal, 0o666);
    refused(&env, &["list"], &wal, "chmod 600");
    std::fs::remove_file(&wal).unwrap();
    // So is a shared directory holding the real file.
    chmod(&real_dir, 0o777);
    refused(&env, &["list"], &real_dir, "chmod go-w");
    chmod(&real_dir, 0o700);
    env.verify(&alice, &[]).ok();
}

/// `verify` leaves its -wal for the next one (README, "On disk"), but never lets it grow without
/// bound: once it has grown past 256 KiB, the `verify` that closes folds it into the store file.
/// 150 verifies write several times that bound, and every one of them counts.
#[test]
fn verifies_keep_their_wal_short_and_every_use_counted() {
    let env = Env::new();
    let token = env.generate("wal-user", &[]);
    let wal = side(&env, "-wal");
    let mut largest = 0;
    for _ in 0..150 {
        env.verify(&token, &["--quiet"]).code(0);
        largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
    }
    assert!(largest > 0, "verify keeps its -wal for the next one");
    assert!(
        largest <= 320 * 1024,
        "the -wal reached {largest} bytes: verify must fold it past 256 KiB"
    );
    let r = env.run(&["inspect", &Env::id_of(&token), "--json"]);
    r.ok();
    assert_eq!(r.json()["use_count"], 150, "every verify counted");
}
