//! `backup` and `copy` on a SQLite store: a consistent copy while other processes use the
//! store, never over an existing file, unlocking with the same keys. (The same scenarios
//! against PostgreSQL are in `tests/backends.rs`.)

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use common::Env;

#[test]
fn a_backup_taken_while_others_verify_and_issue_is_consistent_and_opens_with_the_same_key() {
    let env = Arc::new(Env::new());
    let alice = env.generate("alice", &[]);
    let bob = env.generate("bob", &[]);
    env.run(&["revoke", "--user", "bob", "--yes"]).ok();
    let stop = Arc::new(AtomicBool::new(false));
    // Two verifiers and one issuer keep writing while the backups are taken.
    let mut workers = Vec::new();
    for _ in 0..2 {
        let (env, stop, alice) = (env.clone(), stop.clone(), alice.clone());
        workers.push(std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                env.verify(&alice, &[]).ok();
                n += 1;
            }
            n
        }));
    }
    {
        let (env, stop) = (env.clone(), stop.clone());
        workers.push(std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                env.generate(&format!("user-{n}"), &[]);
                n += 1;
            }
            n
        }));
    }
    let mut backups = Vec::new();
    for i in 0..3 {
        let path = env.path(&format!("backup-{i}.db"));
        let r = env.run(&["backup", path.to_str().unwrap()]);
        r.ok();
        assert!(
            r.stdout.is_empty(),
            "backup prints nothing on stdout: {}",
            r.stdout
        );
        assert!(r.stderr.contains("audit head"), "{}", r.stderr);
        backups.push(path);
    }
    stop.store(true, Ordering::Relaxed);
    let done: Vec<usize> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    assert!(done.iter().all(|&n| n > 0), "every worker ran: {done:?}");

    for path in &backups {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", path.display());
        }
        let store = path.to_str().unwrap();
        env.run(&["--store", store, "audit", "--check"]).ok();
        let verify = |token: &str| {
            env.run_in(
                &["--store", store, "verify", "--quiet"],
                &format!("{token}\n"),
            )
            .code
        };
        assert_eq!(verify(&alice), 0);
        assert_eq!(verify(&bob), 4);
        // The copy's tokens are exactly some state of the source: every token it lists is one
        // the source issued, each user at most once active.
        let listed = env.run(&["--store", store, "list", "--status", "all", "--json"]);
        let tokens = listed.ok().json();
        assert!(tokens.as_array().unwrap().len() >= 2);
    }
}

#[test]
fn backup_never_writes_over_a_file_and_leaves_nothing_when_it_fails() {
    let env = Env::new();
    env.generate("alice", &[]);
    let existing = env.path("existing.db");
    std::fs::write(&existing, b"keep me").unwrap();
    let r = env.run(&["backup", existing.to_str().unwrap()]);
    r.code(7);
    assert!(r.stderr.contains("choose a new path"), "{}", r.stderr);
    assert_eq!(std::fs::read(&existing).unwrap(), b"keep me");
    // A wrong key: nothing written at all.
    let target = env.path("new.db");
    let wrong = env.path("wrong.key");
    Env::empty()
        .bare()
        .args([
            "init",
            "--store",
            env.path("other.db").to_str().unwrap(),
            "--new-key-file",
        ])
        .arg(&wrong)
        .assert()
        .success();
    let r = Env::output({
        let mut c = env.bare();
        c.args(["backup", target.to_str().unwrap(), "--key-file"])
            .arg(&wrong);
        c
    });
    r.code(11);
    assert!(!target.exists());
    let strays: Vec<_> = std::fs::read_dir(env.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".new-"))
        .collect();
    assert!(strays.is_empty(), "{strays:?}");
}

#[test]
fn copy_to_a_new_file_keeps_every_token_and_the_same_head_and_refuses_an_existing_store() {
    let env = Env::new();
    let alice = env.generate("alice", &["--scope", "a:read"]);
    let bob = env.generate("bob", &[]);
    env.run(&["revoke", "--user", "bob", "--yes"]).ok();
    let copy = env.path("copy.db");
    let copy_s = copy.to_str().unwrap();
    let r = env.run(&["copy", "--to", copy_s]);
    r.ok();
    let head = |store: &str| {
        let r = env.run(&["--store", store, "audit", "--check"]);
        r.ok();
        r.stdout.trim().to_owned()
    };
    let source = env.store.to_str().unwrap().to_owned();
    assert_eq!(head(&source), head(copy_s));
    assert_eq!(head(copy_s).len(), 64);
    let events = env.run(&["--store", copy_s, "audit", "--json"]).json();
    let last = events.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["event"], "copy", "{last}");
    let code = |token: &str, extra: &[&str]| {
        let mut args = vec!["--store", copy_s, "verify", "--quiet"];
        args.extend_from_slice(extra);
        env.run_in(&args, &format!("{token}\n")).code
    };
    assert_eq!(code(&alice, &["--scope", "a:read"]), 0);
    assert_eq!(code(&alice, &["--scope", "a:write"]), 5);
    assert_eq!(code(&bob, &[]), 4);
    // Onto a store that exists: exit 7, nothing changed in either.
    let before = head(&source);
    env.run(&["copy", "--to", copy_s]).code(7);
    assert_eq!(head(&source), before);
    // Onto itself: a usage error.
    env.run(&["copy", "--to", &source]).code(2);
}

#[test]
fn info_shows_the_public_part_without_a_key_and_more_with_one() {
    let env = Env::new();
    env.generate("alice", &[]);
    env.generate("bob", &[]);
    env.run(&["revoke", "--user", "bob", "--yes"]).ok();
    let public = Env::output({
        let mut c = env.bare();
        c.args(["info", "--json"]);
        c
    });
    let doc = public.ok().json();
    assert_eq!(doc["backend"], "sqlite");
    assert_eq!(doc["tokens"], 2);
    assert_eq!(doc["schema_version"], 2);
    assert!(
        doc["tokens_by_status"].is_null() && doc["audit_head"].is_null(),
        "{doc}"
    );
    let private = env.run(&["info", "--json"]).json();
    assert_eq!(private["tokens_by_status"]["active"], 1);
    assert_eq!(private["tokens_by_status"]["revoked"], 1);
    let head = env.run(&["audit", "--check"]).stdout.trim().to_owned();
    assert_eq!(private["audit_head"], head.as_str());
    let table = env.run(&["info"]);
    table.ok();
    assert!(table.stdout.contains("backend  sqlite"), "{}", table.stdout);
    assert!(
        table.stdout.contains("1 active, 0 expired, 1 revoked"),
        "{}",
        table.stdout
    );
}
