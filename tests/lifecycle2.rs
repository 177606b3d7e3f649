//! Lifecycle II through the real binary, on SQLite and on PostgreSQL: `update` (settings
//! changed, secret kept), `rotate --grace` (zero-downtime rotation), `--max-uses` (one-time
//! tokens, exact under concurrency) and `remind` (each reminder once, also under concurrent
//! cron runs). The rules at their exact instants are tested through the library, with an
//! injected clock, in `src/lifecycle.rs`; here is what a user, script or cron job relies on:
//! exit codes, stdout, `--json` documents and the audit log.
//!
//! Run: `TOKMAN_REQUIRE_SERVICES=1 cargo test --test lifecycle2`.

#[path = "common/pg.rs"]
mod pg;

#[path = "common/backend.rs"]
mod backend;

use std::collections::BTreeMap;
use std::process::Stdio;

use serde_json::Value;

use backend::{Backend, assert_sane, at_once, count_codes, id_of};

fn events_of(b: &Backend, kind: &str) -> Vec<Value> {
    b.audit_events()
        .into_iter()
        .filter(|e| e["event"] == kind)
        .collect()
}

fn scopes(v: &Value) -> Vec<String> {
    v["scopes"]
        .as_array()
        .expect("scopes")
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

// ---- update ---------------------------------------------------------------------------------

fn update_changes_settings_and_never_the_secret(b: Backend) {
    b.init();
    let token = b.generate(
        "uma",
        &[
            "--scope",
            "posts:read",
            "--allow-ip",
            "10.0.0.0/8",
            "--rate-limit",
            "100/min",
        ],
    );
    let id = id_of(&token);
    assert_eq!(
        b.verify_code(&token, &["--scope", "posts:write", "--ip", "10.1.1.1"]),
        5
    );

    // Adding a scope widens access: without a terminal it needs --yes, and nothing changes.
    let r = b.run(&["update", &id, "--add-scope", "posts:write"]);
    r.code(2);
    assert!(r.stderr.contains("--yes"), "{}", r.stderr);
    assert_eq!(scopes(&b.inspect(&id)), ["posts:read"]);
    assert!(events_of(&b, "update").is_empty());

    let r = b.run(&[
        "update",
        &id,
        "--add-scope",
        "posts:write",
        "--yes",
        "--json",
    ]);
    r.ok();
    let rec = r.json();
    assert_eq!(rec["id"], id.as_str());
    assert_eq!(scopes(&rec), ["posts:read", "posts:write"]);
    for key in ["grace_until", "max_uses", "uses_left"] {
        assert!(rec.get(key).is_some(), "{key} missing from {rec}");
    }
    // The same secret now verifies with the new scope.
    assert_eq!(
        b.verify_code(&token, &["--scope", "posts:write", "--ip", "10.1.1.1"]),
        0
    );
    let ev = events_of(&b, "update");
    assert_eq!(ev.len(), 1, "{ev:?}");
    assert_eq!(ev[0]["id"], id.as_str());
    let detail = ev[0]["detail"].as_str().unwrap();
    assert!(
        detail.contains("scopes") && detail.contains("widens"),
        "{detail}"
    );

    // Narrowing needs no confirmation: a tighter allow-list, a lower limit, a shorter life.
    let before = b.inspect(&id);
    let r = b.run(&[
        "update",
        &id,
        "--allow-ip",
        "10.1.0.0/16",
        "--rate-limit",
        "10/min",
        "--expires-in",
        "1d",
        "--name",
        "deploy",
    ]);
    r.ok();
    let after = b.inspect(&id);
    assert_eq!(after["allowed_ips"], serde_json::json!(["10.1.0.0/16"]));
    assert_eq!(after["name"], "deploy");
    assert!(after["expires_at"].as_str() < before["expires_at"].as_str());
    assert_eq!(after["use_count"], before["use_count"], "usage kept");
    assert_eq!(b.verify_code(&token, &["--ip", "10.2.0.1"]), 5, "narrowed");
    assert_eq!(b.verify_code(&token, &["--ip", "10.1.0.1"]), 0);
    let detail = events_of(&b, "update")[1]["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    for field in ["name", "rate_limits", "allowed_ips", "expires_at"] {
        assert!(detail.contains(field), "{field} not in {detail}");
    }
    assert!(!detail.contains("widens"), "{detail}");

    // Clearing the allow-list widens again.
    b.run(&["update", &id, "--clear-allow-ip"]).code(2);
    b.run(&["update", "--user", "uma", "--clear-allow-ip", "--yes"])
        .ok();
    assert_eq!(b.verify_code(&token, &[]), 0, "no address needed any more");

    // Bad requests: exit 2 before anything changes; the token's life only shortens.
    let head = b.audit_head();
    b.run(&["update", &id]).code(2);
    b.run(&["update", &id, "--expires-in", "30d"]).code(2);
    b.run(&["update", &id, "--remove-scope", "nope:read"])
        .code(2);
    b.run(&["update", &id, "--scope", "a", "--add-scope", "b"])
        .code(2);
    b.run(&["update", &id, "--max-uses", "0"]).code(2);
    b.run(&["update", "tm_zzzzzzzzzzzz", "--name", "x"]).code(8);
    b.run(&["update", "--user", "nobody", "--name", "x"])
        .code(8);
    // The same settings again: nothing to do, no event.
    let r = b.run(&["update", &id, "--name", "deploy"]);
    r.ok();
    assert!(r.stderr.contains("nothing changed"), "{}", r.stderr);
    assert_eq!(
        b.audit_head(),
        head,
        "no failed or empty update wrote anything"
    );

    // Dead tokens keep their exit codes.
    b.run(&["revoke", &id, "--yes"]).ok();
    b.run(&["update", &id, "--name", "x"]).code(4);
    let short = b.generate("ulf", &["--expires-in", "1s"]);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    b.run(&["update", &id_of(&short), "--name", "x"]).code(3);
    b.audit_head();
}

// ---- rotate --grace -------------------------------------------------------------------------

fn rotate_with_grace_keeps_both_valid_then_only_the_new(b: Backend) {
    b.init();
    let old = b.generate("gus", &["--scope", "deploy", "--expires-in", "30d"]);
    let old_id = id_of(&old);
    let r = b.run(&["rotate", &old_id, "--grace", "1h", "--yes", "--json"]);
    r.ok();
    let new = r.json();
    let new_token = new["token"].as_str().unwrap().to_owned();
    let new_id = new["id"].as_str().unwrap().to_owned();
    assert_eq!(new["rotated_from"], old_id.as_str());
    assert_eq!(scopes(&new), ["deploy"], "same settings");

    // Both verify during the grace; the old one reads `rotating`, with its grace's end.
    assert_eq!(b.verify_code(&old, &["--scope", "deploy"]), 0);
    assert_eq!(b.verify_code(&new_token, &["--scope", "deploy"]), 0);
    let rec = b.inspect(&old_id);
    assert_eq!(rec["status"], "rotating");
    assert!(rec["grace_until"].is_string(), "{rec}");
    assert!(rec["revoked_at"].is_null(), "not revoked yet: {rec}");
    assert_eq!(rec["rotated_to"], new_id.as_str());
    let r = b.run(&["list", "--status", "rotating", "--json"]);
    r.ok();
    let rotating: Vec<Value> = r.json().as_array().unwrap().clone();
    assert_eq!(rotating.len(), 1);
    assert_eq!(rotating[0]["id"], old_id.as_str());

    // The one-active rule holds: the successor has the user's place.
    b.run(&["generate", "gus"]).code(7);
    let r = b.run(&["revoke", "--user", "gus", "--yes", "--json"]);
    r.ok();
    assert_eq!(
        r.json()["id"],
        new_id.as_str(),
        "--user finds the successor"
    );
    // A rotating token cannot be rotated again; revoking it ends its grace at once.
    b.run(&["rotate", &old_id, "--yes"]).code(4);
    b.run(&["revoke", &old_id, "--yes"]).ok();
    assert_eq!(b.verify_code(&old, &[]), 4);
    assert_eq!(b.inspect(&old_id)["status"], "revoked");

    // Limits of the grace: at most 24h, and at most the old token's remaining life.
    let t = b.generate("gwen", &["--expires-in", "2h"]);
    let head = b.audit_head();
    b.run(&["rotate", &id_of(&t), "--grace", "25h", "--yes"])
        .code(2);
    b.run(&["rotate", &id_of(&t), "--grace", "3h", "--yes"])
        .code(2);
    b.run(&["rotate", &id_of(&t), "--grace", "0s", "--yes"])
        .code(2);
    assert_eq!(b.audit_head(), head, "refused rotations change nothing");
    assert_eq!(b.verify_code(&t, &[]), 0);

    // Past its grace the old token is refused as revoked, and the refusal says it may have
    // leaked. (A one-second grace; the instant itself is tested through the library.)
    let r = b.run(&[
        "rotate",
        &id_of(&t),
        "--grace",
        "1s",
        "--yes",
        "--remove-scope",
        "x",
    ]);
    r.code(2);
    let r = b.run(&[
        "rotate",
        &id_of(&t),
        "--grace",
        "1s",
        "--yes",
        "--add-scope",
        "ci",
    ]);
    r.ok();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let r = b.verify(&t, &["--json"]);
    r.code(4);
    let v = r.json();
    assert_eq!(v["outcome"], "revoked");
    assert!(
        v["reason"].as_str().unwrap().contains("may have leaked"),
        "{v}"
    );
    let refused = events_of(&b, "verify_refused");
    let last = refused.last().expect("a refusal event");
    assert_eq!(last["id"], id_of(&t).as_str());
    assert!(
        last["detail"].as_str().unwrap().contains("may have leaked"),
        "{last}"
    );
    let rotate = events_of(&b, "rotate");
    let detail = rotate.last().unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.contains("stays valid until") && detail.contains("scopes"),
        "{detail}"
    );
    b.audit_head();
}

// ---- --max-uses -----------------------------------------------------------------------------

fn one_time_token_gives_exactly_one_success_to_20_concurrent_verifies(b: Backend) {
    b.init();
    let token = b.generate("otto", &["--max-uses", "1", "--no-rate-limit"]);
    let rec = b.inspect(&id_of(&token));
    assert_eq!(
        (rec["max_uses"].clone(), rec["uses_left"].clone()),
        (1.into(), 1.into())
    );
    let runs = at_once(20, || b.spawn_verify(&token, &["--quiet"]));
    for r in &runs {
        assert_sane(r, "verify");
    }
    assert_eq!(
        count_codes(&runs),
        BTreeMap::from([(0, 1), (9, 19)]),
        "{runs:?}"
    );
    let rec = b.inspect(&id_of(&token));
    assert_eq!(rec["use_count"], 1, "{rec}");
    assert_eq!(rec["uses_left"], 0, "{rec}");
    let r = b.verify(&token, &["--json"]);
    r.code(9);
    let v = r.json();
    assert_eq!(v["outcome"], "usage_exceeded");
    assert_eq!(v["uses_left"], 0);

    // Three uses, counted down in verify --json; raising the limit widens (confirms).
    let t = b.generate("ute", &["--max-uses", "3"]);
    for left in [2, 1, 0] {
        let r = b.verify(&t, &["--json"]);
        r.ok();
        assert_eq!(r.json()["uses_left"], left);
    }
    assert_eq!(b.verify_code(&t, &[]), 9);
    b.run(&["update", &id_of(&t), "--max-uses", "5"]).code(2);
    b.run(&["update", &id_of(&t), "--max-uses", "5", "--yes"])
        .ok();
    assert_eq!(b.verify_code(&t, &[]), 0, "5 in all, 3 used");
    assert_eq!(b.inspect(&id_of(&t))["uses_left"], 1);
    // Lowering it needs no confirmation; the successor of a rotation starts afresh.
    b.run(&["update", &id_of(&t), "--max-uses", "4"]).ok();
    assert_eq!(b.verify_code(&t, &[]), 9);
    let r = b.run(&["rotate", &id_of(&t), "--yes", "--json", "--max-uses", "2"]);
    r.ok();
    let succ = r.json();
    assert_eq!(
        (succ["max_uses"].clone(), succ["uses_left"].clone()),
        (2.into(), 2.into())
    );
    b.audit_head();
}

// ---- remind ---------------------------------------------------------------------------------

fn remind_gives_each_reminder_once_under_five_concurrent_runs(b: Backend) {
    b.init();
    let week = b.generate("wes", &["--expires-in", "3d"]);
    let day = b.generate("dee", &["--expires-in", "12h"]);
    let _far = b.generate("fay", &["--expires-in", "30d"]);
    let gone = b.generate("gil", &["--expires-in", "2d"]);
    b.run(&["revoke", &id_of(&gone), "--yes"]).ok();

    let runs = at_once(5, || {
        let mut c = b.cmd();
        c.args(["remind", "--json"]).stdin(Stdio::null());
        c.spawn().expect("spawn remind")
    });
    let mut given: Vec<Value> = Vec::new();
    for r in &runs {
        assert_sane(r, "remind");
        r.ok();
        given.extend(r.json().as_array().expect("an array").iter().cloned());
    }
    let mut ids: Vec<&str> = given.iter().map(|e| e["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    let mut want = vec![id_of(&week), id_of(&day)];
    want.sort();
    assert_eq!(ids, want, "each reminder exactly once: {given:?}");
    let events = events_of(&b, "expiring");
    assert_eq!(events.len(), 2, "{events:?}");
    let for_day = events
        .iter()
        .find(|e| e["id"] == id_of(&day).as_str())
        .unwrap();
    assert!(
        for_day["detail"].as_str().unwrap().contains("1d"),
        "{for_day}"
    );
    let for_week = events
        .iter()
        .find(|e| e["id"] == id_of(&week).as_str())
        .unwrap();
    assert!(
        for_week["detail"].as_str().unwrap().contains("7d"),
        "{for_week}"
    );

    // Again: nothing to say, nothing printed, nothing written.
    let head = b.audit_head();
    let r = b.run(&["remind"]);
    r.ok();
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("", ""));
    assert_eq!(b.audit_head(), head);
    // A new threshold is a new reminder for every live token within it, one line each.
    let r = b.run(&["remind", "--within", "60d"]);
    r.ok();
    assert!(r.stdout.contains(&id_of(&_far)), "{}", r.stdout);
    assert_eq!(r.stdout.lines().count(), 3, "{}", r.stdout);
    assert!(!r.stdout.contains(&id_of(&gone)), "{}", r.stdout);
    b.run(&["remind", "--within", "soon"]).code(2);
    b.audit_head();
}

on_both_backends! {
    update_changes_settings_and_never_the_secret,
    rotate_with_grace_keeps_both_valid_then_only_the_new,
    one_time_token_gives_exactly_one_success_to_20_concurrent_verifies,
    remind_gives_each_reminder_once_under_five_concurrent_runs,
}
