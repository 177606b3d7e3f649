//! Unlock slots, the audit chain and the notify hook through the real binary.

mod common;
use common::{Env, PASS, contains};
use serde_json::Value;
use std::path::Path;

/// A well-formed token (right shape and checksum) for `id` whose secret is not the real one.
fn forged(id: &str) -> String {
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let head = format!("{id}_{}", "Q".repeat(43));
    let mut n = crc32fast::hash(head.as_bytes());
    let mut check = [b'0'; 6];
    for c in check.iter_mut().rev() {
        *c = B62[(n % 62) as usize];
        n /= 62;
    }
    format!("{head}{}", std::str::from_utf8(&check).unwrap())
}

/// `list` unlocked by a key file alone.
fn list_with_key(env: &Env, key: &Path) -> common::Run {
    Env::output({
        let mut c = env.bare();
        c.env("TOKMAN_KEY_FILE", key).arg("list");
        c
    })
}

fn slots(env: &Env) -> Vec<Value> {
    let r = env.run(&["key", "list", "--json"]);
    r.ok();
    r.json().as_array().unwrap().clone()
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn a_passphrase_opens_the_store_from_the_env_or_a_file_first_line() {
    let env = Env::with_passphrase();
    let token = env.generate("alice", &[]);
    env.verify(&token, &[]).ok();
    let file = env.path("pass.txt");
    std::fs::write(&file, format!("{PASS}\nnot this line\n")).unwrap();
    chmod(&file, 0o600);
    let r = Env::output({
        let mut c = env.bare();
        c.arg("--passphrase-file")
            .arg(&file)
            .args(["list", "--json"]);
        c
    });
    r.ok();
    assert_eq!(r.json()[0]["user"], "alice");
    // The global option after the subcommand, and the environment variable.
    let r = Env::output({
        let mut c = env.bare();
        c.env("TOKMAN_PASSPHRASE_FILE", &file).arg("list");
        c
    });
    r.ok();
    let wrong = env.path("wrong.txt");
    std::fs::write(&wrong, "not it\n").unwrap();
    chmod(&wrong, 0o600);
    let before = env.raw_files();
    let r = Env::output({
        let mut c = env.bare();
        c.args(["list", "--passphrase-file"]).arg(&wrong);
        c
    });
    r.code(11);
    let r = Env::output({
        let mut c = env.bare();
        c.env("TOKMAN_PASSPHRASE", "wrong horse")
            .args(["generate", "bob"]);
        c
    });
    r.code(11);
    assert!(r.stdout.is_empty(), "{r:?}");
    assert_eq!(before, env.raw_files());
}

#[test]
fn key_add_file_list_and_remove() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    let added = env.path("backup.key");
    let r = env.run(&[
        "key",
        "add-file",
        added.to_str().unwrap(),
        "--label",
        "backup",
    ]);
    r.ok();
    #[cfg(unix)]
    assert_eq!(mode(&added), 0o600);
    list_with_key(&env, &added).ok();
    let key_text = std::fs::read_to_string(&added).unwrap();
    let admin_text = std::fs::read_to_string(env.key.as_ref().unwrap()).unwrap();

    // key list: table and JSON, never key material.
    let slots_now = slots(&env);
    assert_eq!(slots_now.len(), 2, "{slots_now:?}");
    for s in &slots_now {
        let obj = s.as_object().unwrap();
        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            ["created_at", "kind", "label", "last_used_at", "slot"],
            "{s}"
        );
    }
    let new_slot = slots_now
        .iter()
        .find(|s| s["label"] == "backup")
        .expect("the new slot is labelled");
    assert_eq!(new_slot["kind"], "keyfile");
    assert!(new_slot["created_at"].as_str().unwrap().ends_with('Z'));
    let new_slot = new_slot["slot"].as_i64().unwrap();
    let table = env.run(&["key", "list"]);
    table.ok();
    assert!(table.stdout.contains("backup"), "{}", table.stdout);
    for r in [&table, &env.run(&["key", "list", "--json"])] {
        for material in [key_text.trim(), admin_text.trim()] {
            assert!(
                !r.stdout.contains(material) && !r.stderr.contains(material),
                "key material shown"
            );
        }
    }

    // add-file onto an existing path: exit 7, the file untouched, no slot added.
    let r = env.run(&[
        "key",
        "add-file",
        added.to_str().unwrap(),
        "--label",
        "again",
    ]);
    r.code(7);
    assert_eq!(std::fs::read_to_string(&added).unwrap(), key_text);
    assert_eq!(slots(&env).len(), 2);

    // Remove a missing slot: 8. Remove the new one: its file no longer opens the store.
    env.run(&["key", "remove", "99", "--yes"]).code(8);
    env.run(&["key", "remove", &new_slot.to_string(), "--yes"])
        .ok();
    let r = list_with_key(&env, &added);
    r.code(11);
    assert_eq!(slots(&env).len(), 1);
    // The last slot never goes.
    let last = slots(&env)[0]["slot"].as_i64().unwrap();
    let r = env.run(&["key", "remove", &last.to_string(), "--yes"]);
    r.code(7);
    assert_eq!(slots(&env).len(), 1);
    env.verify(&token, &[]).ok();
}

#[test]
fn key_passphrase_replaces_the_passphrase_and_keeps_every_token() {
    let env = Env::with_passphrase();
    let alice = env.generate("alice", &["--scope", "a:read"]);
    let bob = env.generate("bob", &[]);
    // Without a new passphrase and no terminal: locked, nothing changes.
    let before = env.raw_files();
    env.run(&["key", "passphrase"]).code(11);
    assert_eq!(before, env.raw_files());
    let r = Env::output({
        let mut c = env.cmd();
        c.env("TOKMAN_NEW_PASSPHRASE", "a brand new passphrase")
            .args(["key", "passphrase"]);
        c
    });
    r.ok();
    let r = Env::output({
        let mut c = env.bare();
        c.env("TOKMAN_PASSPHRASE", PASS).arg("list");
        c
    });
    r.code(11);
    let new = Env {
        passphrase: Some("a brand new passphrase".into()),
        ..env
    };
    new.verify(&alice, &["--scope", "a:read"]).ok();
    new.verify(&bob, &[]).ok();
    let kinds: Vec<Value> = slots(&new).iter().map(|s| s["kind"].clone()).collect();
    assert_eq!(kinds, ["passphrase"]);
}

#[test]
#[cfg(unix)]
fn bad_key_files_are_refused_and_change_nothing() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    let key = env.key.clone().unwrap();
    let before = env.raw_files();
    for m in [0o644, 0o660] {
        chmod(&key, m);
        let r = list_with_key(&env, &key);
        r.code(11);
        assert!(r.stderr.contains("chmod 600"), "{}", r.stderr);
        let r = env.verify(&token, &[]);
        r.code(11);
    }
    chmod(&key, 0o600);
    // Another store's key file.
    let other = Env::new();
    let r = list_with_key(&env, other.key.as_ref().unwrap());
    r.code(11);
    // A file that is not a key file at all.
    let garbage = env.path("garbage.key");
    std::fs::write(&garbage, "this is not a key\n").unwrap();
    chmod(&garbage, 0o600);
    list_with_key(&env, &garbage).code(11);
    let r = Env::output({
        let mut c = env.bare();
        c.env("TOKMAN_KEY_FILE", &garbage).args(["generate", "bob"]);
        c
    });
    r.code(11);
    assert_eq!(before, env.raw_files());
    env.verify(&token, &[]).ok();
}

fn audit(env: &Env) -> Vec<Value> {
    let r = env.run(&["audit", "--json"]);
    r.ok();
    r.json().as_array().unwrap().clone()
}

#[test]
fn the_audit_log_records_every_change_and_refusal_but_never_a_token() {
    let env = Env::new();
    let alice = env.generate("alice", &["--scope", "a:read"]);
    let r = env.run(&["rotate", &Env::id_of(&alice), "--yes"]);
    r.ok();
    let alice2 = r.stdout.trim().to_owned();
    env.run(&[
        "revoke",
        &Env::id_of(&alice2),
        "--yes",
        "--reason",
        "leaked in CI logs",
    ])
    .ok();
    let wrong = forged(&Env::id_of(&alice2));
    env.verify(&wrong, &[]).code(1);
    env.verify(&alice2, &[]).code(4);
    env.run(&["purge", "--revoked"]).ok();
    let added = env.path("added.key");
    env.run(&["key", "add-file", added.to_str().unwrap()]).ok();
    let slot = slots(&env)
        .iter()
        .map(|s| s["slot"].as_i64().unwrap())
        .max()
        .unwrap();
    env.run(&["key", "remove", &slot.to_string(), "--yes"]).ok();
    Env::output({
        let mut c = env.cmd();
        c.env("TOKMAN_NEW_PASSPHRASE", "pw for audit")
            .args(["key", "passphrase"]);
        c
    })
    .ok();

    let r = env.run(&["audit", "--json"]);
    r.ok();
    let events = r.json().as_array().unwrap().clone();
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "init",
            "generate",
            "rotate",
            "revoke",
            "verify_refused",
            "verify_refused",
            "purge",
            "key_add",
            "key_remove",
            "key_passphrase"
        ],
        "{events:#?}"
    );
    for (i, e) in events.iter().enumerate() {
        let mut keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "at", "count", "detail", "event", "id", "seq", "slot", "user"
            ],
            "{e}"
        );
        assert_eq!(e["seq"], i as u64 + 1, "{e}");
        assert!(e["at"].as_str().unwrap().ends_with('Z'), "{e}");
    }
    let by = |k: &str| events.iter().find(|e| e["event"] == k).unwrap().clone();
    assert_eq!(by("generate")["id"], Env::id_of(&alice));
    assert_eq!(by("generate")["user"], "alice");
    assert_eq!(by("rotate")["id"], Env::id_of(&alice2));
    assert!(
        by("rotate")["detail"]
            .as_str()
            .unwrap()
            .contains(&Env::id_of(&alice))
    );
    assert_eq!(by("revoke")["detail"], "leaked in CI logs");
    assert!(
        by("purge")["detail"]
            .as_str()
            .unwrap()
            .contains("purged 2 tokens"),
        "two revoked tokens purged: {}",
        by("purge")
    );
    let refused: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "verify_refused")
        .collect();
    assert!(refused.iter().all(|e| e["id"] == Env::id_of(&alice2)));
    assert!(refused[1]["detail"].as_str().unwrap().contains("revoked"));

    // Never the presented token, anywhere.
    let raw = env.raw_files();
    for presented in [&wrong, &alice2, &alice] {
        let secret = &presented[presented.len() - 49..];
        assert!(
            !r.stdout.contains(secret),
            "a presented token in audit --json"
        );
        assert!(
            !contains(&raw, secret.as_bytes()),
            "a presented token in the file"
        );
    }

    // --since: all of these are recent.
    let r = env.run(&["audit", "--since", "1h", "--json"]);
    r.ok();
    assert_eq!(r.json().as_array().unwrap().len(), events.len());
    env.run(&["audit", "--since", "0s"]).code(2);
    // The table names the events.
    let table = env.run(&["audit"]);
    table.ok();
    assert!(table.stdout.contains("key_passphrase"), "{}", table.stdout);
}

#[test]
fn audit_check_prints_the_head_and_compares_it() {
    let env = Env::new();
    env.generate("alice", &[]);
    env.generate("bob", &[]);
    let n = audit(&env).len();
    assert_eq!(n, 3);
    let r = env.run(&["audit", "--check"]);
    r.ok();
    let head = r.stdout.trim_end_matches('\n');
    assert_eq!(r.stdout, format!("{head}\n"));
    assert_eq!(head.len(), 64);
    assert!(
        head.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    assert!(
        r.stderr.contains(&format!("{n} events, intact")),
        "{}",
        r.stderr
    );
    env.run(&["audit", "--check", "--expect-head", head]).ok();
    let other = format!(
        "{}{}",
        if head.starts_with('0') { "1" } else { "0" },
        &head[1..]
    );
    let r = env.run(&["audit", "--check", "--expect-head", &other]);
    r.code(12);
    assert!(r.stderr.contains(head), "{}", r.stderr);
    env.run(&["audit", "--expect-head", head]).code(2);
    // A new event moves the head: the old pin is an earlier head of the same log, so it still
    // passes; the new head does too, and a head from another log does not.
    env.generate("carol", &[]);
    let r = env.run(&["audit", "--check"]);
    r.ok();
    let newer = r.stdout.trim().to_owned();
    assert_ne!(newer, head);
    env.run(&["audit", "--check", "--expect-head", head]).ok();
    env.run(&["audit", "--check", "--expect-head", &newer]).ok();
    env.run(&["audit", "--check", "--expect-head", &other])
        .code(12);
    let foreign = Env::new();
    let r = foreign.run(&["audit", "--check"]);
    r.ok();
    env.run(&["audit", "--check", "--expect-head", r.stdout.trim()])
        .code(12);
    // All zeros is what every new log chains to, not a head anyone noted.
    env.run(&["audit", "--check", "--expect-head", &"0".repeat(64)])
        .code(12);
}

/// A store with six events: init, three generates, a revoke, a rotate.
fn audited_env() -> Env {
    let env = Env::new();
    let a = env.generate("alice", &[]);
    let b = env.generate("bob", &[]);
    env.generate("carol", &[]);
    env.run(&["revoke", &Env::id_of(&b), "--yes"]).ok();
    env.run(&["rotate", &Env::id_of(&a), "--yes"]).ok();
    assert_eq!(audit(&env).len(), 6);
    env.run(&["audit", "--check"]).ok();
    env
}

/// Edit the store file directly, asserting the edit changed `rows` rows.
fn tamper(env: &Env, rows: usize, sql: &str) {
    let conn = rusqlite::Connection::open(&env.store).unwrap();
    let changed = conn.execute_batch(sql).map(|()| conn.changes()).unwrap();
    assert_eq!(changed as usize, rows, "the edit did not happen: {sql}");
}

#[track_caller]
fn assert_tampered_at(env: &Env, seq: i64) {
    let r = env.run(&["audit", "--check"]);
    r.code(12);
    assert!(r.stdout.is_empty(), "{r:?}");
    assert!(
        r.stderr.contains(&format!("event {seq}")),
        "expected event {seq}: {}",
        r.stderr
    );
}

#[test]
fn an_edited_event_is_detected() {
    let env = audited_env();
    let conn = rusqlite::Connection::open(&env.store).unwrap();
    let mut blob: Vec<u8> = conn
        .query_row("SELECT event FROM audit WHERE seq = 3", [], |r| r.get(0))
        .unwrap();
    let mid = blob.len() / 2;
    blob[mid] ^= 0x01;
    let n = conn
        .execute(
            "UPDATE audit SET event = ?1 WHERE seq = 3",
            rusqlite::params![blob],
        )
        .unwrap();
    assert_eq!(n, 1);
    drop(conn);
    assert_tampered_at(&env, 3);
}

#[test]
fn a_changed_time_is_detected() {
    let env = audited_env();
    tamper(&env, 1, "UPDATE audit SET at = at - 3600 WHERE seq = 4");
    assert_tampered_at(&env, 4);
}

#[test]
fn a_deleted_event_in_the_middle_is_detected() {
    let env = audited_env();
    tamper(&env, 1, "DELETE FROM audit WHERE seq = 3");
    assert_tampered_at(&env, 3);
}

#[test]
fn swapped_events_are_detected() {
    let env = audited_env();
    let conn = rusqlite::Connection::open(&env.store).unwrap();
    let row = |seq: i64| -> (i64, Vec<u8>, Vec<u8>) {
        conn.query_row(
            "SELECT at, event, mac FROM audit WHERE seq = ?1",
            [seq],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    };
    let (two, three) = (row(2), row(3));
    assert_ne!(two.1, three.1);
    for (seq, (at, event, mac)) in [(2, three), (3, two)] {
        let n = conn
            .execute(
                "UPDATE audit SET at = ?2, event = ?3, mac = ?4 WHERE seq = ?1",
                rusqlite::params![seq, at, event, mac],
            )
            .unwrap();
        assert_eq!(n, 1);
    }
    drop(conn);
    assert_tampered_at(&env, 2);
}

#[test]
fn a_truncated_tail_is_detected() {
    let env = audited_env();
    tamper(&env, 1, "DELETE FROM audit WHERE seq = 6");
    assert_tampered_at(&env, 6);
    tamper(&env, 1, "DELETE FROM audit WHERE seq = 5");
    assert_tampered_at(&env, 5);
}

fn notify_env(command: &str) -> Env {
    let mut env = Env::empty();
    let key = env.path("k.key");
    env.bare()
        .args(["init", "--notify-command", command, "--new-key-file"])
        .arg(&key)
        .assert()
        .success();
    env.key = Some(key);
    env
}

#[test]
fn notify_gets_each_event_as_json_and_never_a_secret() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir.path().join("event.json");
    let env = notify_env(&format!("cat > '{}'", sink.display()));
    let read = || -> Value {
        let text = std::fs::read_to_string(&sink).expect("the notify command ran");
        serde_json::from_str(text.trim_end()).unwrap_or_else(|e| panic!("{e}: {text}"))
    };
    let check = |v: &Value, kind: &str, secrets: &[&str]| {
        let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "at", "count", "detail", "event", "id", "seq", "slot", "user"
            ],
            "{v}"
        );
        assert_eq!(v["event"], kind, "{v}");
        let text = v.to_string();
        for s in secrets {
            assert!(!text.contains(&s[s.len() - 49..]), "a secret in {text}");
        }
    };
    let alice = env.generate("alice", &[]);
    let v = read();
    check(&v, "generate", &[&alice]);
    assert_eq!(v["id"], Env::id_of(&alice));
    assert_eq!(v["user"], "alice");

    let r = env.run(&["rotate", &Env::id_of(&alice), "--yes"]);
    r.ok();
    let alice2 = r.stdout.trim().to_owned();
    let v = read();
    check(&v, "rotate", &[&alice, &alice2]);
    assert_eq!(v["id"], Env::id_of(&alice2));

    env.run(&["revoke", &Env::id_of(&alice2), "--yes", "--reason", "gone"])
        .ok();
    let v = read();
    check(&v, "revoke", &[&alice2]);
    assert_eq!(v["detail"], "gone");

    env.run(&["purge", "--revoked"]).ok();
    let v = read();
    check(&v, "purge", &[&alice, &alice2]);
    // The events are the audit log's.
    let log = audit(&env);
    assert_eq!(&v, log.last().unwrap());
}

#[test]
fn key_changes_run_the_notify_command_too() {
    let dir = tempfile::tempdir().unwrap();
    let sink = dir.path().join("events.jsonl");
    let env = notify_env(&format!("cat >> '{}'", sink.display()));
    let events = || -> Vec<Value> {
        std::fs::read_to_string(&sink)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    };
    let second = env.path("second.key");
    env.run(&["key", "add-file", second.to_str().unwrap()]).ok();
    let mut c = env.bare();
    c.args(["key", "passphrase"])
        .env("TOKMAN_KEY_FILE", env.key.as_ref().unwrap())
        .env("TOKMAN_NEW_PASSPHRASE", "a passphrase for the notify test");
    Env::output(c).ok();
    env.run(&["key", "remove", "2", "--yes"]).ok();
    // Also when the change takes away the slot that unlocked the store: a passphrase replaced
    // by the same passphrase's session, and the key file's own slot removed.
    let mut c = env.bare();
    c.args(["key", "passphrase"])
        .env("TOKMAN_PASSPHRASE", "a passphrase for the notify test")
        .env(
            "TOKMAN_NEW_PASSPHRASE",
            "another passphrase for the notify test",
        );
    let r = Env::output(c);
    r.ok();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    let r = env.run(&["key", "remove", "1", "--yes"]);
    r.ok();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    let seen = events();
    let kinds: Vec<&str> = seen.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "key_add",
            "key_passphrase",
            "key_remove",
            "key_passphrase",
            "key_remove"
        ],
        "{seen:?}"
    );
    // Each is the audit log's event, and the passphrase is in none of them.
    let mut c = env.bare();
    c.args(["audit", "--json"]).env(
        "TOKMAN_PASSPHRASE",
        "another passphrase for the notify test",
    );
    let r = Env::output(c);
    r.ok();
    let log = r.json();
    let log = log.as_array().unwrap();
    for e in &seen {
        assert!(log.contains(e), "{e} is not in the log");
    }
    let text = std::fs::read_to_string(&sink).unwrap();
    assert!(!text.contains("passphrase for the notify test"), "{text}");
}

#[test]
fn a_failing_notify_command_warns_and_the_change_stands() {
    let env = notify_env("exit 3");
    let r = env.run(&["generate", "alice"]);
    r.ok();
    let token = r.stdout.trim().to_owned();
    assert_eq!(r.stdout, format!("{token}\n"));
    assert!(
        r.stderr.contains("warning") && r.stderr.contains("notify"),
        "{}",
        r.stderr
    );
    env.verify(&token, &[]).ok();
    let r = env.run(&["revoke", &Env::id_of(&token), "--yes"]);
    r.ok();
    assert!(r.stderr.contains("notify"), "{}", r.stderr);
    env.verify(&token, &[]).code(4);
}

#[test]
fn slot_numbers_are_never_reused() {
    let env = Env::new();
    let second = env.path("second.key");
    env.run(&["key", "add-file", second.to_str().unwrap()]).ok();
    env.run(&["key", "remove", "2", "--yes"]).ok();
    let third = env.path("third.key");
    env.run(&["key", "add-file", third.to_str().unwrap()]).ok();
    let slots = env.run(&["key", "list", "--json"]).json();
    let numbers: Vec<i64> = slots
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slot"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, vec![1, 3]);
}

#[test]
fn the_notify_command_never_sees_the_unlock_secrets() {
    let env = Env::empty();
    let seen = env.path("env.txt");
    env.bare()
        .args([
            "init",
            "--notify-command",
            &format!("env > '{}'", seen.display()),
        ])
        .env("TOKMAN_NEW_PASSPHRASE", "pw-for-notify-test")
        .assert()
        .success();
    env.bare()
        .env("TOKMAN_PASSPHRASE", "pw-for-notify-test")
        .env("TOKMAN_NEW_PASSPHRASE", "pw-for-notify-test")
        .args(["generate", "alice"])
        .assert()
        .success();
    let text = std::fs::read_to_string(&seen).expect("the notify command ran");
    assert!(
        text.contains("TOKMAN_STORE"),
        "it runs with tokman's other variables"
    );
    assert!(!text.contains("pw-for-notify-test"), "{text}");
    assert!(!text.contains("TOKMAN_PASSPHRASE") && !text.contains("TOKMAN_KEY_FILE"));
}
