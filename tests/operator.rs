//! What a new user meets in the first hour, through the binary: rotation keeps a token's
//! lifetime, and the other rules of day-to-day use.

mod common;

use common::Env;

fn lifetime(record: &serde_json::Value) -> i64 {
    let t = |k: &str| {
        chrono::DateTime::parse_from_rfc3339(record[k].as_str().unwrap())
            .unwrap()
            .timestamp()
    };
    t("expires_at") - t("created_at")
}

#[test]
fn rotate_keeps_a_short_lived_token_short_lived() {
    let env = Env::new();
    let r = env.run(&["generate", "shorty", "--expires-in", "1h", "--json"]);
    r.ok();
    assert_eq!(lifetime(&r.json()), 3600);
    let r = env.run(&["rotate", "--user", "shorty", "--yes", "--json"]);
    r.ok();
    let successor = r.json();
    assert_eq!(lifetime(&successor), 3600, "{successor:#}");
    // --expires-in still says how long the successor lives.
    let r = env.run(&[
        "rotate",
        "--user",
        "shorty",
        "--expires-in",
        "2d",
        "--yes",
        "--json",
    ]);
    r.ok();
    assert_eq!(lifetime(&r.json()), 2 * 86_400);
    // And the next rotation keeps that.
    let r = env.run(&["rotate", "--user", "shorty", "--yes", "--json"]);
    r.ok();
    assert_eq!(lifetime(&r.json()), 2 * 86_400);
}

#[test]
fn every_unit_of_the_duration_rules_is_accepted_by_generate() {
    let env = Env::new();
    let r = env.run(&[
        "generate",
        "units",
        "--expires-in",
        "15min",
        "--rate-limit",
        "60/m",
        "--rate-limit",
        "10000/d",
        "--rate-limit",
        "5/w",
        "--json",
    ]);
    r.ok();
    let t = r.json();
    assert_eq!(lifetime(&t), 900);
    assert_eq!(
        t["rate_limits"],
        serde_json::json!([
            {"limit": 60, "per": "min"},
            {"limit": 10000, "per": "day"},
            {"limit": 5, "per": "week"}
        ])
    );
    let r = env.run(&["generate", "weeks", "--expires-in", "2w", "--json"]);
    r.ok();
    assert_eq!(lifetime(&r.json()), 14 * 86_400);
    for bad in ["15mins", "2W", "1 min"] {
        env.run(&["generate", "bad", "--expires-in", bad]).code(2);
    }
    env.run(&["generate", "bad", "--rate-limit", "60/minute"])
        .code(2);
}
