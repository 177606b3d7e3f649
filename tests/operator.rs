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
