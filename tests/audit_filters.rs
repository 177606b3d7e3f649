//! `audit --since/--event/--user/--id` through the real binary: each filter, their AND, the
//! usage errors, and the chain checked whole whatever is shown.

mod common;
use common::Env;
use serde_json::Value;

fn audit(env: &Env, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["audit", "--json"];
    all.extend_from_slice(args);
    let r = env.run(&all);
    r.ok();
    r.json().as_array().unwrap().clone()
}

fn kinds(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect()
}

/// A store with alice's and bob's tokens, bob's revoked, and a settings change.
fn store() -> (Env, String, String) {
    let env = Env::new();
    let alice = Env::id_of(&env.generate("alice", &[]));
    let bob = Env::id_of(&env.generate("bob", &[]));
    env.run(&["revoke", &bob, "--yes", "--reason", "left"]).ok();
    env.run(&["settings", "set", "--max-lifetime", "90d"]).ok();
    (env, alice, bob)
}

#[test]
fn event_kinds_are_picked_and_a_bad_one_lists_the_valid_ones() {
    let (env, _, _) = store();
    assert_eq!(
        kinds(&audit(&env, &[])),
        ["init", "generate", "generate", "revoke", "settings"]
    );
    assert_eq!(
        kinds(&audit(&env, &["--event", "generate"])),
        ["generate"; 2]
    );
    assert_eq!(
        kinds(&audit(&env, &["--event", "settings", "--event", "revoke"])),
        ["revoke", "settings"]
    );
    assert!(audit(&env, &["--event", "rekey"]).is_empty());
    let r = env.run(&["audit", "--event", "generated"]);
    r.code(2);
    for kind in [
        "init",
        "generate",
        "verify_refused",
        "update",
        "expiring",
        "settings",
        "rekey",
        "key_add",
        "upgrade",
        "copy",
    ] {
        assert!(r.stderr.contains(kind), "{kind} not listed: {}", r.stderr);
    }
}

#[test]
fn user_and_id_pick_their_events_and_filters_and_together() {
    let (env, alice, bob) = store();
    let of_bob = audit(&env, &["--user", "bob"]);
    assert_eq!(kinds(&of_bob), ["generate", "revoke"]);
    assert!(of_bob.iter().all(|e| e["id"] == bob.as_str()));
    let of_alice = audit(&env, &["--id", &alice]);
    assert_eq!(kinds(&of_alice), ["generate"]);
    assert_eq!(of_alice[0]["user"], "alice");
    assert_eq!(
        kinds(&audit(&env, &["--user", "bob", "--event", "revoke"])),
        ["revoke"]
    );
    assert!(audit(&env, &["--user", "alice", "--event", "revoke"]).is_empty());
    assert!(audit(&env, &["--user", "bob", "--id", &alice]).is_empty());
    assert!(audit(&env, &["--user", "nobody"]).is_empty());
    // The table says nothing on stdout when nothing matches (quiet for cron).
    let r = env.run(&["audit", "--user", "nobody"]);
    r.ok();
    assert_eq!(r.stdout, "");
}

#[test]
fn a_user_is_normalised_as_everywhere() {
    let env = Env::new();
    // Issued with the name typed decomposed (e + U+0301), found typed composed.
    let id = Env::id_of(&env.generate("e\u{301}mile", &[]));
    let found = audit(&env, &["--user", "\u{e9}mile"]);
    assert_eq!(kinds(&found), ["generate"]);
    assert_eq!(found[0]["id"], id.as_str());
    let r = env.run(&["audit", "--user", "bad\u{202e}name"]);
    r.code(2);
    assert!(r.stderr.contains("U+202E"), "{}", r.stderr);
}

#[test]
fn since_takes_a_duration_a_date_or_a_time() {
    let env = Env::new();
    env.generate("alice", &[]);
    std::thread::sleep(std::time::Duration::from_millis(3100));
    env.generate("bob", &[]);
    let all = audit(&env, &[]);
    assert_eq!(all.len(), 3);
    let bob_at = all[2]["at"].as_str().unwrap().to_owned();
    assert_ne!(all[1]["at"], all[2]["at"]);
    // From bob's event on, by its RFC 3339 time, and by a duration that reaches back to it.
    let from_bob = audit(&env, &["--since", &bob_at]);
    assert_eq!(from_bob.len(), 1);
    assert_eq!(from_bob[0]["user"], "bob");
    assert_eq!(audit(&env, &["--since", "2s"]).len(), 1);
    assert_eq!(audit(&env, &["--since", "1d"]).len(), 3);
    assert_eq!(audit(&env, &["--since", "2000-01-01"]).len(), 3);
    assert!(audit(&env, &["--since", "2999-01-01"]).is_empty());
    assert_eq!(
        audit(&env, &["--since", "2000-01-01", "--user", "bob"]).len(),
        1
    );
    for bad in ["yesterday", "2026-02-30", "7", "0d", "2026-11-01T25:00:00Z"] {
        env.run(&["audit", "--since", bad]).code(2);
    }
}

#[test]
fn filters_are_usage_checked_before_the_store_is_opened() {
    let (env, alice, _) = store();
    let token = env.generate("carol", &[]);
    // A whole token where an id belongs is refused without echoing it; so is a malformed id.
    let r = env.run(&["audit", "--id", &token]);
    r.code(2);
    assert!(!r.stderr.contains(&token), "{}", r.stderr);
    env.run(&["audit", "--id", "not an id"]).code(2);
    for args in [
        &["audit", "--check", "--event", "init"][..],
        &["audit", "--check", "--since", "1d"],
        &["audit", "--check", "--user", "alice"],
        &["audit", "--check", "--id", &alice],
    ] {
        env.run(args).code(2);
    }
    // Even with no store there: a usage error first.
    let missing = Env::empty();
    let r = missing.run(&["audit", "--event", "nope"]);
    r.code(2);
    missing.run(&["audit", "--event", "init"]).code(10);
}

#[test]
fn the_chain_is_checked_whole_whatever_the_filter_shows() {
    let (env, alice, _) = store();
    // Damage the first event (init), which no filter below shows.
    let c = rusqlite::Connection::open(&env.store).unwrap();
    c.execute(
        "UPDATE audit SET event = CAST(zeroblob(length(event)) AS BLOB) WHERE seq = 1",
        [],
    )
    .unwrap();
    drop(c);
    for args in [
        &["audit", "--event", "revoke"][..],
        &["audit", "--id", &alice],
        &["audit", "--since", "2999-01-01"],
        &["audit", "--user", "bob", "--json"],
    ] {
        let r = env.run(args);
        r.code(12);
        assert!(r.stderr.contains("event 1"), "{}", r.stderr);
        assert_eq!(r.stdout, "");
    }
}
