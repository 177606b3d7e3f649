//! `key rekey` through the real binary, and through the library that a rekeyed store holds no
//! value sealed under the old master key: tokens keep verifying, removed keys are refused,
//! heads noted before stay valid, and an old copy opens only with the old keys.

mod common;
use common::{Env, PASS};
use serde_json::Value;
use std::path::Path;

use tokman::store::{Durability, Location, Store, Unlock, read_key_file};

fn with_key(env: &Env, key: &Path, args: &[&str]) -> common::Run {
    Env::output({
        let mut c = env.bare();
        c.env("TOKMAN_KEY_FILE", key).args(args).write_stdin("");
        c
    })
}

fn with_passphrase(env: &Env, args: &[&str]) -> common::Run {
    Env::output({
        let mut c = env.bare();
        c.env("TOKMAN_PASSPHRASE", PASS).args(args).write_stdin("");
        c
    })
}

fn at(store: &Path, key: &Path, args: &[&str]) -> common::Run {
    Env::output({
        let mut c = assert_cmd::Command::cargo_bin("tokman").unwrap();
        for var in common::TOKMAN_VARS {
            c.env_remove(var);
        }
        c.arg("--store")
            .arg(store)
            .arg("--key-file")
            .arg(key)
            .args(args)
            .write_stdin("");
        c
    })
}

fn slot_numbers(env: &Env) -> Vec<i64> {
    let r = env.run(&["key", "list", "--json"]);
    r.ok();
    r.json()
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slot"].as_i64().unwrap())
        .collect()
}

fn last_event(env: &Env) -> Value {
    let r = env.run(&["audit", "--json"]);
    r.ok();
    r.json().as_array().unwrap().last().unwrap().clone()
}

/// A store with a key file (slot 1), a second key file (slot 2), a passphrase (slot 3); alice
/// live (used once), bob revoked, dave rotated with a grace (old and new both valid).
struct Fixture {
    env: Env,
    second: std::path::PathBuf,
    alice: String,
    bob: String,
    dave_old: String,
    dave_new: String,
}

fn fixture() -> Fixture {
    let env = Env::new();
    let second = env.path("second.key");
    env.run(&["key", "add-file", second.to_str().unwrap()]).ok();
    Env::output({
        let mut c = env.cmd();
        c.env("TOKMAN_NEW_PASSPHRASE", PASS)
            .args(["key", "passphrase"])
            .write_stdin("");
        c
    })
    .ok();
    let alice = env.generate("alice", &["--scope", "posts:read", "--max-uses", "5"]);
    let bob = env.generate("bob", &[]);
    env.run(&["revoke", &Env::id_of(&bob), "--yes"]).ok();
    let dave_old = env.generate("dave", &[]);
    let r = env.run(&["rotate", &Env::id_of(&dave_old), "--grace", "1h", "--yes"]);
    r.ok();
    let dave_new = r.stdout.trim().to_owned();
    env.verify(&alice, &["--scope", "posts:read"]).ok();
    Fixture {
        env,
        second,
        alice,
        bob,
        dave_old,
        dave_new,
    }
}

fn check_tokens(f: &Fixture, key: &Path) {
    let verify = |token: &str, extra: &[&str]| {
        let mut args = vec!["verify"];
        args.extend_from_slice(extra);
        Env::output({
            let mut c = f.env.bare();
            c.env("TOKMAN_KEY_FILE", key)
                .args(&args)
                .write_stdin(format!("{token}\n"));
            c
        })
    };
    verify(&f.alice, &["--scope", "posts:read"]).ok();
    verify(&f.alice, &["--scope", "posts:write"]).code(5);
    verify(&f.bob, &[]).code(4);
    verify(&f.dave_old, &[]).ok();
    verify(&f.dave_new, &[]).ok();
    verify(&common::forged(&Env::id_of(&f.alice)), &[]).code(1);
    let r = with_key(&f.env, key, &["inspect", &Env::id_of(&f.alice), "--json"]);
    r.ok();
    assert_eq!(r.json()["user"], "alice");
    // Users are found by their (new) blind index: the one-active rule holds.
    let r = with_key(&f.env, key, &["list", "--user", "alice", "--json"]);
    r.ok();
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    with_key(&f.env, key, &["generate", "alice"]).code(7);
}

#[test]
fn rekey_keeps_every_token_verifying_and_only_the_unlocking_slot() {
    let f = fixture();
    let env = &f.env;
    let admin = env.key.clone().unwrap();
    let head_before = env.run(&["audit", "--check"]).stdout.trim().to_owned();
    let old_copy = env.path("before.db");
    env.run(&["backup", old_copy.to_str().unwrap()]).ok();
    assert_eq!(slot_numbers(env), [1, 2, 3]);

    // Destructive: without a terminal it needs --yes, checked before anything else.
    let r = env.run(&["key", "rekey"]);
    r.code(2);
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    let r = env.run(&[
        "key",
        "rekey",
        "--new-key-file",
        admin.to_str().unwrap(),
        "--yes",
    ]);
    r.code(7);
    assert_eq!(
        slot_numbers(env),
        [1, 2, 3],
        "a refused rekey changes nothing"
    );
    assert_eq!(
        env.run(&["audit", "--check"]).stdout.trim(),
        head_before.as_str()
    );

    let fresh = env.path("fresh.key");
    let r = env.run(&[
        "key",
        "rekey",
        "--yes",
        "--new-key-file",
        fresh.to_str().unwrap(),
    ]);
    r.ok();
    assert!(r.stderr.contains("removed slot 2"), "{}", r.stderr);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    assert_eq!(slot_numbers(env), [1, 4]);
    let event = last_event(env);
    assert_eq!(event["event"], "rekey");
    assert_eq!(event["slot"], 1);
    let detail = event["detail"].as_str().unwrap();
    assert!(
        detail.contains("kept slot 1 (keyfile)")
            && detail.contains("removed slots 2 (keyfile), 3 (passphrase)")
            && detail.contains("added slot 4 (keyfile)"),
        "{detail}"
    );

    // Every token as it was, with the kept key and with the new one.
    check_tokens(&f, &admin);
    check_tokens(&f, &fresh);
    // The removed key file and passphrase are refused as keys that do not open the store.
    let r = with_key(env, &f.second, &["list"]);
    r.code(11);
    with_passphrase(env, &["list"]).code(11);

    // The log is intact, and a head noted before the rekey is still in its history.
    let r = env.run(&["audit", "--check", "--expect-head", &head_before]);
    r.ok();
    let head_after = r.stdout.trim().to_owned();
    assert_ne!(head_after, head_before);
    env.run(&["audit", "--check", "--expect-head", &"ab".repeat(32)])
        .code(12);
    let r = env.run(&["info", "--json"]);
    r.ok();
    assert_eq!(r.json()["schema_version"], 3);

    // The old copy opens with the removed key (it is the store as it was), and only it.
    at(&old_copy, &f.second, &["list"]).ok();
    let r = at(
        &old_copy,
        &f.second,
        &["audit", "--check", "--expect-head", &head_after],
    );
    r.code(12);
    at(&env.store, &f.second, &["list"]).code(11);
    at(&old_copy, &fresh, &["list"]).code(11);

    // The rekeyed store's slots take new slots and passphrases as ever.
    let third = env.path("third.key");
    env.run(&["key", "add-file", third.to_str().unwrap()]).ok();
    with_key(env, &third, &["audit", "--check"]).ok();
    Env::output({
        let mut c = env.cmd();
        c.env("TOKMAN_NEW_PASSPHRASE", PASS)
            .args(["key", "passphrase"])
            .write_stdin("");
        c
    })
    .ok();
    with_passphrase(env, &["inspect", &Env::id_of(&f.alice)]).ok();
}

#[test]
fn a_rekey_from_a_passphrase_twice_keeps_old_heads_and_purge_works() {
    let env = Env::with_passphrase();
    let token = env.generate("alice", &[]);
    let gone = env.generate("bob", &[]);
    env.run(&["revoke", &Env::id_of(&gone), "--yes"]).ok();
    let head0 = env.run(&["audit", "--check"]).stdout.trim().to_owned();
    env.run(&["key", "rekey", "--yes"]).ok();
    let head1 = env.run(&["audit", "--check"]).stdout.trim().to_owned();
    env.verify(&token, &[]).ok();
    env.run(&["key", "rekey", "--yes"]).ok();
    env.verify(&token, &[]).ok();
    env.verify(&gone, &[]).code(4);
    for head in [&head0, &head1] {
        env.run(&["audit", "--check", "--expect-head", head]).ok();
    }
    let r = env.run(&["purge", "--revoked", "--json"]);
    r.ok();
    assert_eq!(r.json()["purged"], 1);
    env.run(&["audit", "--check", "--expect-head", &head0]).ok();
    assert_eq!(slot_numbers(&env), [1]);
    let events = env.run(&["audit", "--json", "--event", "rekey"]);
    events.ok();
    assert_eq!(events.json().as_array().unwrap().len(), 2);
}

#[test]
fn a_rekeyed_store_holds_nothing_sealed_under_the_old_master_key() {
    let f = fixture();
    let env = &f.env;
    let admin = env.key.clone().unwrap();
    let old_copy = env.path("before.db");
    env.run(&["backup", old_copy.to_str().unwrap()]).ok();
    env.run(&["key", "rekey", "--yes"]).ok();

    let users = ["alice", "bob", "dave"];
    let open = |path: &Path| {
        let mut store = Store::open(&Location::Sqlite(path.to_owned()), Durability::Full).unwrap();
        let unlocked = store
            .unlock(&Unlock::KeyFile(read_key_file(&admin).unwrap()))
            .unwrap();
        (store, unlocked)
    };
    let (mut old, old_keys) = open(&old_copy);
    let (mut new, new_keys) = open(&env.store);

    // The hook sees what it should: under its own keys, every kind of value in each store.
    for (store, keys) in [(&mut old, &old_keys), (&mut new, &new_keys)] {
        let found = store.values_under(&keys.keys, &users).unwrap();
        for kind in [
            "the settings",
            "the integrity root",
            "the info of slot 1",
            "the record of ",
            "the usage of ",
            "the user index of ",
            "audit event 1",
        ] {
            assert!(
                found.iter().any(|v| v.starts_with(kind)),
                "{kind}: {found:?}"
            );
        }
    }
    // Under the old keys, nothing of the rekeyed store opens, and no user index is theirs.
    assert_eq!(
        new.values_under(&old_keys.keys, &users).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        old.values_under(&new_keys.keys, &users).unwrap(),
        Vec::<String>::new()
    );
    // The store's files hold no value of the old state: not one sealed blob, wrapped key or
    // blind index of the copy taken before is left anywhere in them, free pages and WAL included.
    drop((old, new));
    let c = rusqlite::Connection::open(&old_copy).unwrap();
    let mut blobs: Vec<Vec<u8>> = Vec::new();
    for sql in [
        "SELECT settings FROM meta",
        "SELECT root FROM meta",
        "SELECT info FROM slots",
        "SELECT wrapped FROM slots",
        "SELECT record FROM tokens",
        "SELECT usage FROM tokens",
        "SELECT user_ix FROM tokens",
        "SELECT event FROM audit",
    ] {
        let mut stmt = c.prepare(sql).unwrap();
        let rows = stmt.query_map([], |r| r.get::<_, Vec<u8>>(0)).unwrap();
        blobs.extend(rows.map(Result::unwrap));
    }
    assert!(blobs.len() > 20);
    let now = env.raw_files();
    for blob in &blobs {
        assert!(!common::contains(&now, blob), "a value survived the rekey");
    }
}
