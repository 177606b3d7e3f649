//! `settings` and `settings set` through the real binary: the settings a store was made with,
//! changed later, audited, and the maximum lifetime only ever shortened.

mod common;
use common::Env;
use serde_json::{Value, json};

fn events(env: &Env) -> Vec<Value> {
    let r = env.run(&["audit", "--json"]);
    r.ok();
    r.json().as_array().unwrap().clone()
}

fn settings(env: &Env) -> Value {
    let r = env.run(&["settings", "--json"]);
    r.ok();
    r.json()
}

#[test]
fn settings_shows_what_init_set_in_text_and_json() {
    let env = Env::empty();
    let key = env.path("admin.key");
    env.bare()
        .args([
            "init",
            "--max-lifetime",
            "90d",
            "--default-rate-limit",
            "60/min",
        ])
        .args(["--notify-command", "true", "--new-key-file"])
        .arg(&key)
        .assert()
        .success();
    let env = Env {
        key: Some(key),
        ..env
    };
    assert_eq!(
        settings(&env),
        json!({
            "max_lifetime": "90d",
            "default_rate_limits": [{"limit": 60, "per": "min"}],
            "notify_command": "true",
            "audit_retention": "400d",
        })
    );
    let r = env.run(&["settings"]);
    r.ok();
    assert_eq!(
        r.stdout,
        "max-lifetime        90d\ndefault-rate-limit  60/min\nnotify-command      true\naudit-retention     400d\n"
    );
    // Locked: exit 11, as every command that reads the store.
    let r = Env::output({
        let mut c = env.bare();
        c.args(["settings"]);
        c
    });
    r.code(11);
}

#[test]
fn settings_set_needs_a_flag_and_takes_no_contradiction() {
    let env = Env::new();
    for args in [
        &["settings", "set"][..],
        &["settings", "set", "--json"],
        &["settings", "--max-lifetime", "30d"],
        &[
            "settings",
            "set",
            "--no-notify-command",
            "--notify-command",
            "x",
        ],
        &[
            "settings",
            "set",
            "--no-default-rate-limit",
            "--default-rate-limit",
            "1/s",
        ],
        &["settings", "set", "--max-lifetime", "0d"],
        &["settings", "set", "--audit-retention", "soon"],
        &["settings", "set", "--default-rate-limit", "60/fortnight"],
    ] {
        let r = env.run(args);
        r.code(2);
    }
    assert_eq!(events(&env).len(), 1, "nothing was recorded");
}

#[test]
fn the_maximum_lifetime_only_shortens_and_tokens_keep_their_expiry() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    let id = Env::id_of(&token);
    let expiry = |env: &Env| {
        let r = env.run(&["inspect", &id, "--json"]);
        r.ok();
        r.json()["expires_at"].clone()
    };
    let before = expiry(&env);

    let r = env.run(&["settings", "set", "--max-lifetime", "181d"]);
    r.code(2);
    assert!(
        r.stderr.contains("maximum token lifetime of 180d"),
        "{}",
        r.stderr
    );
    assert_eq!(settings(&env)["max_lifetime"], "180d");

    let r = env.run(&["settings", "set", "--max-lifetime", "30d"]);
    r.ok();
    assert!(r.stderr.contains("max_lifetime 180d → 30d"), "{}", r.stderr);
    assert_eq!(settings(&env)["max_lifetime"], "30d");
    assert_eq!(expiry(&env), before, "an issued token keeps its expiry");
    env.verify(&token, &[]).ok();

    // Now over the new maximum, a lifetime is exit 2 naming it; within it, fine.
    let r = env.run(&["generate", "bob", "--expires-in", "31d"]);
    r.code(2);
    assert!(r.stderr.contains("30d"), "{}", r.stderr);
    env.generate("bob", &["--expires-in", "30d"]);
    // And the maximum cannot grow back.
    let r = env.run(&["settings", "set", "--max-lifetime", "31d"]);
    r.code(2);
    assert!(r.stderr.contains("of 30d"), "{}", r.stderr);
    // A default lifetime is the new maximum.
    let r = env.run(&["generate", "carol", "--json"]);
    r.ok();
    let j = r.json();
    let days = |s: &Value| {
        chrono::DateTime::parse_from_rfc3339(s.as_str().unwrap())
            .unwrap()
            .timestamp()
    };
    assert_eq!(days(&j["expires_at"]) - days(&j["created_at"]), 30 * 86400);
}

#[test]
fn a_change_is_audited_and_notified_and_the_same_values_change_nothing() {
    let env = Env::new();
    let log = env.path("notified.jsonl");
    let hook = format!("cat >> '{}'", log.display());
    let r = env.run(&[
        "settings",
        "set",
        "--notify-command",
        &hook,
        "--default-rate-limit",
        "60/min",
        "--default-rate-limit",
        "10000/d",
        "--audit-retention",
        "30d",
    ]);
    r.ok();
    let all = events(&env);
    let last = all.last().unwrap();
    assert_eq!(last["event"], "settings");
    let detail = last["detail"].as_str().unwrap();
    assert_eq!(
        detail,
        "default_rate_limits none → 60/min 10000/day; notify_command set; audit_retention 400d → 30d"
    );
    assert!(
        !detail.contains("notified.jsonl"),
        "the command is not in the log"
    );
    let notified: Value =
        serde_json::from_str(std::fs::read_to_string(&log).unwrap().trim()).unwrap();
    assert_eq!(notified["event"], "settings");
    assert_eq!(notified["seq"], last["seq"]);

    // A new token gets the default limits; --no-default-rate-limit clears them.
    let r = env.run(&["generate", "alice", "--json"]);
    r.ok();
    assert_eq!(
        r.json()["rate_limits"],
        json!([{"limit": 60, "per": "min"}, {"limit": 10000, "per": "day"}])
    );

    // The same values again: said so, nothing recorded or notified.
    let count = events(&env).len();
    let notes = std::fs::read_to_string(&log).unwrap().lines().count();
    let r = env.run(&[
        "settings",
        "set",
        "--audit-retention",
        "30d",
        "--default-rate-limit",
        "60/min",
        "--default-rate-limit",
        "10000/d",
    ]);
    r.ok();
    assert!(r.stderr.contains("nothing was changed"), "{}", r.stderr);
    assert_eq!(events(&env).len(), count);
    assert_eq!(
        std::fs::read_to_string(&log).unwrap().lines().count(),
        notes
    );

    let r = env.run(&[
        "settings",
        "set",
        "--no-default-rate-limit",
        "--no-notify-command",
    ]);
    r.ok();
    let all = events(&env);
    assert_eq!(
        all.last().unwrap()["detail"],
        "default_rate_limits 60/min 10000/day → none; notify_command removed"
    );
    assert_eq!(
        settings(&env),
        json!({
            "max_lifetime": "180d",
            "default_rate_limits": [],
            "notify_command": null,
            "audit_retention": "30d",
        })
    );
    let r = env.run(&["generate", "bob", "--json"]);
    r.ok();
    assert_eq!(r.json()["rate_limits"], json!([]));
    env.run(&["audit", "--check"]).ok();
}

#[test]
fn a_default_rate_limit_given_twice_is_kept_once_where_first_given() {
    let env = Env::new();
    env.run(&[
        "settings",
        "set",
        "--default-rate-limit",
        "60/min",
        "--default-rate-limit",
        "1/s",
        "--default-rate-limit",
        "60/min",
    ])
    .ok();
    assert_eq!(
        settings(&env)["default_rate_limits"],
        json!([{"limit": 60, "per": "min"}, {"limit": 1, "per": "s"}])
    );
}
