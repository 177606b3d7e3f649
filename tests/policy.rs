//! Policy through the real binary: scopes, rate limits, usage counts, allow-lists, list filters,
//! rotation carrying policy, `verify`'s outcomes, and flag validation.

mod common;
use common::{Env, contains, forged};
use serde_json::json;

/// Spawn `n` simultaneous `verify` processes of `token` (key-file store, so no Argon2) and
/// return each one's exit code and stderr.
fn parallel_verify(env: &Env, token: &str, n: usize) -> Vec<(i32, String)> {
    use std::io::Write;
    let children: Vec<_> = (0..n)
        .map(|_| {
            let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("tokman"));
            c.env_clear()
                .env("TOKMAN_STORE", &env.store)
                .env("TOKMAN_KEY_FILE", env.key.as_ref().unwrap())
                .arg("verify")
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            let mut child = c.spawn().unwrap();
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(format!("{token}\n").as_bytes()).unwrap();
            drop(stdin);
            child
        })
        .collect();
    children
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().unwrap();
            (
                o.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        })
        .collect()
}

/// A well-formed token (right shape and checksum) for `id` whose secret is not the real one.
fn inspect(env: &Env, token: &str) -> serde_json::Value {
    let r = env.run(&["inspect", &Env::id_of(token), "--json"]);
    r.ok();
    r.json()
}

fn ids(list: &serde_json::Value) -> Vec<String> {
    let mut v: Vec<String> = list
        .as_array()
        .expect("an array")
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

fn sorted_ids(tokens: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = tokens.iter().map(|t| Env::id_of(t)).collect();
    v.sort();
    v
}

#[test]
fn scopes_grant_by_pattern_and_verify_needs_every_one_named() {
    let env = Env::new();
    let t = env.generate("alice", &["--scope", "posts:*", "--scope", "users:read"]);
    env.verify(&t, &[]).ok();
    env.verify(&t, &["--scope", "posts:read"]).ok();
    env.verify(&t, &["--scope", "posts:write", "--scope", "users:read"])
        .ok();
    let r = env.verify(&t, &["--scope", "posts:read", "--scope", "users:write"]);
    r.code(5);
    assert!(
        r.stdout.is_empty() && r.stderr.contains("users:write"),
        "{r:?}"
    );
    env.verify(&t, &["--scope", "comments:read"]).code(5);

    // A lone `*` grants everything.
    let all = env.generate("root", &["--scope", "*"]);
    env.verify(&all, &["--scope", "anything:at:all", "--scope", "x"])
        .ok();

    // No scopes: any asked scope is denied, and the reason names it.
    let none = env.generate("carol", &[]);
    env.verify(&none, &[]).ok();
    let r = env.verify(&none, &["--scope", "posts:read"]);
    r.code(5);
    assert!(r.stderr.contains("posts:read"), "{}", r.stderr);
    let r = env.verify(&none, &["--scope", "posts:read", "--json"]);
    r.code(5);
    let v = r.json();
    assert_eq!(v["outcome"], "denied");
    assert_eq!(v["valid"], false);
    assert!(v["reason"].as_str().unwrap().contains("posts:read"), "{v}");
    assert_eq!(v["id"], Env::id_of(&none));
}

#[test]
fn rate_limits_refuse_past_the_limit_naming_it_and_when_it_frees() {
    let env = Env::new();
    let t = env.generate(
        "alice",
        &["--rate-limit", "2/min", "--rate-limit", "100/day"],
    );
    assert_eq!(
        inspect(&env, &t)["rate_limits"],
        json!([{"limit": 2, "per": "min"}, {"limit": 100, "per": "day"}])
    );
    env.verify(&t, &[]).ok();
    env.verify(&t, &[]).ok();
    let r = env.verify(&t, &[]);
    r.code(6);
    assert!(r.stdout.is_empty(), "{r:?}");
    assert!(
        r.stderr.contains("2/min") && r.stderr.contains("frees up in"),
        "{}",
        r.stderr
    );
    let r = env.verify(&t, &["--json"]);
    r.code(6);
    let v = r.json();
    assert_eq!(v["outcome"], "rate_limited");
    let reason = v["reason"].as_str().unwrap();
    assert!(
        reason.contains("2/min") && reason.contains("frees up in"),
        "{reason}"
    );
    // Rate-limited attempts are refused: they count toward nothing.
    assert_eq!(inspect(&env, &t)["use_count"], 2);

    // No limits at all.
    let free = env.generate("bob", &["--no-rate-limit"]);
    for _ in 0..4 {
        env.verify(&free, &[]).ok();
    }
    assert_eq!(inspect(&env, &free)["rate_limits"], json!([]));
    // --rate-limit and --no-rate-limit together make no sense.
    env.run(&["generate", "dave", "--rate-limit", "1/s", "--no-rate-limit"])
        .code(2);
}

#[test]
fn refused_attempts_do_not_use_up_the_allowance() {
    let env = Env::new();
    let t = env.generate("alice", &["--rate-limit", "2/min", "--scope", "a:read"]);
    let id = Env::id_of(&t);
    let forged = forged(&id);
    for _ in 0..3 {
        env.verify(&t, &["--scope", "a:write"]).code(5);
        env.verify(&t, &["--user", "bob"]).code(5);
        env.verify(&forged, &[]).code(1);
    }
    assert_eq!(inspect(&env, &t)["use_count"], 0);
    assert!(inspect(&env, &t)["last_used_at"].is_null());
    env.verify(&t, &["--scope", "a:read"]).ok();
    env.verify(&t, &[]).ok();
    env.verify(&t, &[]).code(6);

    // An expired token's refused attempts count toward nothing either.
    let short = env.generate("carol", &["--expires-in", "1s", "--rate-limit", "1/min"]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    for _ in 0..2 {
        env.verify(&short, &[]).code(3);
    }
    let v = inspect(&env, &short);
    assert_eq!(
        (v["use_count"].clone(), v["last_used_at"].clone()),
        (json!(0), json!(null))
    );
}

#[test]
fn store_default_rate_limits_apply_unless_overridden() {
    let env = Env::empty();
    let key = env.path("k.key");
    env.bare()
        .args([
            "init",
            "--default-rate-limit",
            "2/min",
            "--default-rate-limit",
            "50/h",
        ])
        .arg("--new-key-file")
        .arg(&key)
        .assert()
        .success();
    let env = Env {
        key: Some(key),
        ..env
    };
    let t = env.generate("alice", &[]);
    assert_eq!(
        inspect(&env, &t)["rate_limits"],
        json!([{"limit": 2, "per": "min"}, {"limit": 50, "per": "h"}])
    );
    env.verify(&t, &[]).ok();
    env.verify(&t, &[]).ok();
    env.verify(&t, &[]).code(6);

    let own = env.generate("bob", &["--rate-limit", "3/s"]);
    assert_eq!(
        inspect(&env, &own)["rate_limits"],
        json!([{"limit": 3, "per": "s"}])
    );

    let free = env.generate("carol", &["--no-rate-limit"]);
    assert_eq!(inspect(&env, &free)["rate_limits"], json!([]));
    for _ in 0..3 {
        env.verify(&free, &[]).ok();
    }
}

#[test]
fn thirty_parallel_verifies_against_ten_per_minute_give_exactly_ten() {
    let env = Env::new();
    let t = env.generate("alice", &["--rate-limit", "10/min"]);
    let results = parallel_verify(&env, &t, 30);
    let codes: Vec<i32> = results.iter().map(|r| r.0).collect();
    assert_eq!(codes.iter().filter(|&&c| c == 0).count(), 10, "{codes:?}");
    assert_eq!(codes.iter().filter(|&&c| c == 6).count(), 20, "{codes:?}");
    for (_, stderr) in &results {
        let lower = stderr.to_lowercase();
        assert!(
            !lower.contains("locked") && !lower.contains("busy"),
            "{stderr}"
        );
    }
    assert_eq!(inspect(&env, &t)["use_count"], 10);
}

#[test]
fn forty_parallel_verifies_all_count() {
    let env = Env::new();
    let t = env.generate("alice", &["--scope", "a:read"]);
    let results = parallel_verify(&env, &t, 40);
    assert!(results.iter().all(|r| r.0 == 0), "{results:?}");
    let v = inspect(&env, &t);
    assert_eq!(v["use_count"], 40);
    assert!(v["last_used_at"].as_str().unwrap().ends_with('Z'), "{v}");
    // Refused verifies change nothing.
    env.verify(&t, &["--scope", "b:read"]).code(5);
    env.verify(&t, &["--user", "mallory"]).code(5);
    assert_eq!(inspect(&env, &t)["use_count"], 40);
}

#[test]
fn ip_allow_lists_match_cidrs_addresses_and_v6_and_fail_closed() {
    let env = Env::new();
    let t = env.generate(
        "alice",
        &[
            "--allow-ip",
            "10.0.0.0/8",
            "--allow-ip",
            "192.168.1.5",
            "--allow-ip",
            "2001:db8::/32",
        ],
    );
    // A v4 client seen on a dual-stack socket (`::ffff:a.b.c.d`) is still that v4 address.
    for ip in [
        "10.1.2.3",
        "10.255.255.255",
        "192.168.1.5",
        "2001:db8::1",
        "::ffff:10.1.2.3",
    ] {
        env.verify(&t, &["--ip", ip]).ok();
    }
    for ip in ["11.0.0.1", "192.168.1.6", "2001:db9::1", "::1"] {
        let r = env.verify(&t, &["--ip", ip]);
        r.code(5);
        assert!(r.stderr.contains(ip), "{}", r.stderr);
    }
    // Fail closed: a token with a list needs --ip.
    let r = env.verify(&t, &[]);
    r.code(5);
    assert!(r.stderr.contains("--ip"), "{}", r.stderr);

    // A token without lists accepts any address and origin.
    let open = env.generate("bob", &[]);
    env.verify(&open, &["--ip", "203.0.113.9"]).ok();
    env.verify(&open, &["--ip", "::1", "--origin", "https://x.example"])
        .ok();
}

#[test]
fn origin_allow_lists_are_normalised_and_fail_closed() {
    let env = Env::new();
    let t = env.generate("alice", &["--allow-origin", "https://App.Example.com:443"]);
    env.verify(&t, &["--origin", "https://app.example.com"])
        .ok();
    env.verify(&t, &["--origin", "https://APP.example.com:443"])
        .ok();
    for bad in [
        "http://app.example.com",
        "https://app.example.com:8443",
        "https://evil.example.com",
    ] {
        env.verify(&t, &["--origin", bad]).code(5);
    }
    let r = env.verify(&t, &["--json"]);
    r.code(5);
    assert!(
        r.json()["reason"].as_str().unwrap().contains("--origin"),
        "{}",
        r.stdout
    );
    let v = inspect(&env, &t);
    assert_eq!(v["allowed_origins"], json!(["https://app.example.com"]));
}

#[test]
fn verify_user_is_denied_for_someone_elses_token() {
    let env = Env::new();
    let t = env.generate("alice", &[]);
    let r = env.verify(&t, &["--user", "bob"]);
    r.code(5);
    assert!(r.stdout.is_empty() && !r.stderr.is_empty(), "{r:?}");
    env.verify(&t, &["--user", "alice"]).ok();
    env.verify(&t, &["--user", "Alice"]).code(5);
}

#[test]
fn list_filters_by_user_status_expiry_and_use() {
    let env = Env::new();
    let alice = env.generate("alice", &[]);
    let bob = env.generate("bob", &[]);
    env.run(&["revoke", &Env::id_of(&bob), "--yes"]).ok();
    let carol = env.generate("carol", &["--expires-in", "1s"]);
    let dave = env.generate("dave", &["--expires-in", "1h"]);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    env.verify(&dave, &[]).ok();

    let list = |extra: &[&str]| {
        let mut args = vec!["list", "--json"];
        args.extend_from_slice(extra);
        let r = env.run(&args);
        r.ok();
        ids(&r.json())
    };
    assert_eq!(list(&[]), sorted_ids(&[&alice, &bob, &carol, &dave]));
    assert_eq!(list(&["--status", "all"]), list(&[]));
    assert_eq!(list(&["--status", "active"]), sorted_ids(&[&alice, &dave]));
    assert_eq!(list(&["--status", "expired"]), sorted_ids(&[&carol]));
    assert_eq!(list(&["--status", "revoked"]), sorted_ids(&[&bob]));
    assert_eq!(list(&["--user", "alice"]), sorted_ids(&[&alice]));
    assert_eq!(list(&["--user", "nobody"]), Vec::<String>::new());
    assert_eq!(list(&["--expiring-within", "2h"]), sorted_ids(&[&dave]));
    assert_eq!(
        list(&["--expiring-within", "181d"]),
        sorted_ids(&[&alice, &dave])
    );
    // Never-used tokens are unused for any span; a just-used one is not.
    assert_eq!(
        list(&["--unused-for", "1h"]),
        sorted_ids(&[&alice, &bob, &carol])
    );
    assert_eq!(
        list(&["--status", "active", "--unused-for", "1h"]),
        sorted_ids(&[&alice])
    );

    let statuses = env.run(&["list", "--json"]).json();
    for rec in statuses.as_array().unwrap() {
        let want = match rec["user"].as_str().unwrap() {
            "alice" | "dave" => "active",
            "bob" => "revoked",
            _ => "expired",
        };
        assert_eq!(rec["status"], want, "{rec}");
    }

    // The table on a pipe: relative times, "never" for an unused token.
    let r = env.run(&["list", "--user", "alice"]);
    r.ok();
    assert!(r.stdout.contains("never"), "{}", r.stdout);
    // Rounded to the nearest unit: a fresh 180-day token reads "in 6 months".
    assert!(r.stdout.contains("in 6 months"), "{}", r.stdout);
    let r = env.run(&["list", "--user", "dave"]);
    assert!(r.stdout.contains("in 60 minutes"), "{}", r.stdout);
    assert!(!r.stdout.contains("never"), "{}", r.stdout);
}

#[test]
fn bad_policy_values_are_usage_errors_before_stdin_or_store() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    let before = std::fs::read(&env.store).unwrap();
    let generate_bad: [&[&str]; 8] = [
        &["--rate-limit", "0/min"],
        &["--rate-limit", "5/month"],
        &["--rate-limit", "five/min"],
        &["--scope", "a b"],
        &["--scope", ""],
        &["--allow-ip", "300.0.0.1"],
        &["--allow-origin", "example.com"],
        &["--expires-in", "0s"],
    ];
    let missing = Env::empty();
    for bad in generate_bad {
        let mut args = vec!["generate", "bob"];
        args.extend_from_slice(bad);
        let r = env.run_in(&args, &format!("{token}\n"));
        r.code(2);
        assert!(r.stdout.is_empty(), "{r:?}");
        let r = Env::output({
            let mut c = missing.bare();
            c.env("TOKMAN_PASSPHRASE", "pw").args(&args);
            c
        });
        r.code(2);
    }
    let verify_bad: [&[&str]; 5] = [
        &["--scope", "a b"],
        &["--ip", "300.0.0.1"],
        &["--origin", "example.com"],
        &["--user", ""],
        &["--quiet", "--json"],
    ];
    for bad in verify_bad {
        let mut args = vec!["verify"];
        args.extend_from_slice(bad);
        env.run_in(&args, &format!("{token}\n")).code(2);
        Env::output({
            let mut c = missing.bare();
            c.env("TOKMAN_PASSPHRASE", "pw")
                .args(&args)
                .write_stdin(format!("{token}\n"));
            c
        })
        .code(2);
    }
    let list_bad: [&[&str]; 4] = [
        &["--status", "dead"],
        &["--expiring-within", "0s"],
        &["--unused-for", "soon"],
        &["--user", ""],
    ];
    for bad in list_bad {
        let mut args = vec!["list"];
        args.extend_from_slice(bad);
        env.run(&args).code(2);
        Env::output({
            let mut c = missing.bare();
            c.env("TOKMAN_PASSPHRASE", "pw").args(&args);
            c
        })
        .code(2);
    }
    assert!(!missing.store.exists());
    assert_eq!(before, std::fs::read(&env.store).unwrap());
    // The token was untouched by all of this.
    assert_eq!(inspect(&env, &token)["use_count"], 0);
}

#[test]
fn rotate_carries_policy_and_inspect_shows_lineage_both_ways() {
    let env = Env::new();
    let old = env.generate(
        "alice",
        &[
            "--name",
            "deploy",
            "--description",
            "ci deploys",
            "--scope",
            "posts:*",
            "--scope",
            "users:read",
            "--rate-limit",
            "5/min",
            "--rate-limit",
            "1000/day",
            "--allow-ip",
            "10.0.0.0/8",
            "--allow-origin",
            "https://app.example.com",
        ],
    );
    let before = inspect(&env, &old);
    let r = env.run(&["rotate", &Env::id_of(&old), "--yes"]);
    r.ok();
    let new = r.stdout.trim().to_owned();
    let after = inspect(&env, &new);
    for key in [
        "user",
        "name",
        "description",
        "scopes",
        "rate_limits",
        "allowed_ips",
        "allowed_origins",
    ] {
        assert_eq!(before[key], after[key], "{key} not carried over");
    }
    assert_eq!(after["rotated_from"], Env::id_of(&old));
    assert!(after["rotated_to"].is_null());
    let old_now = inspect(&env, &old);
    assert_eq!(old_now["rotated_to"], Env::id_of(&new));
    assert_eq!(old_now["status"], "revoked");
    // The successor enforces the carried policy.
    env.verify(
        &new,
        &[
            "--scope",
            "posts:write",
            "--ip",
            "10.9.9.9",
            "--origin",
            "https://app.example.com",
        ],
    )
    .ok();
    env.verify(&new, &["--ip", "10.9.9.9"]).code(5);
    // Text inspect shows the lineage too.
    let text_new = env.run(&["inspect", &Env::id_of(&new)]);
    text_new.ok();
    assert!(
        text_new.stdout.contains(&Env::id_of(&old)),
        "{}",
        text_new.stdout
    );
    let text_old = env.run(&["inspect", &Env::id_of(&old)]);
    text_old.ok();
    assert!(
        text_old.stdout.contains(&Env::id_of(&new)),
        "{}",
        text_old.stdout
    );
}

/// Tokens in each `verify` outcome, with the exit code it must give.
fn one_of_each_outcome(env: &Env) -> Vec<(&'static str, i32, String)> {
    let valid = env.generate("alice", &["--scope", "a:read"]);
    let invalid = forged(&Env::id_of(&valid));
    let mut typo = valid.clone().into_bytes();
    typo[30] = if typo[30] == b'a' { b'b' } else { b'a' };
    let malformed = String::from_utf8(typo).unwrap();
    let expired = env.generate("carol", &["--expires-in", "1s"]);
    let revoked = env.generate("dave", &[]);
    env.run(&["revoke", &Env::id_of(&revoked), "--yes"]).ok();
    let limited = env.generate("erin", &["--rate-limit", "1/h"]);
    env.verify(&limited, &[]).ok();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    vec![
        ("valid", 0, valid.clone()),
        ("invalid", 1, invalid),
        ("malformed", 1, malformed),
        ("expired", 3, expired),
        ("revoked", 4, revoked),
        // `denied` is the valid token asked for a scope it lacks: see the caller.
        ("denied", 5, valid),
        ("rate_limited", 6, limited),
    ]
}

#[test]
fn verify_outcomes_have_their_json_exit_codes_and_quiet_silence() {
    let env = Env::new();
    for (outcome, code, token) in one_of_each_outcome(&env) {
        let extra: &[&str] = if outcome == "denied" {
            &["--scope", "b:write"]
        } else {
            &[]
        };
        let mut args = extra.to_vec();
        args.push("--json");
        let r = env.verify(&token, &args);
        r.code(code);
        let v = r.json();
        let obj = v.as_object().unwrap();
        for key in [
            "valid",
            "outcome",
            "reason",
            "id",
            "user",
            "scopes",
            "expires_at",
        ] {
            assert!(obj.contains_key(key), "{outcome}: missing {key} in {v}");
        }
        assert_eq!(v["outcome"], outcome, "{v}");
        assert_eq!(v["valid"], outcome == "valid", "{v}");
        assert!(!v["reason"].as_str().unwrap().is_empty(), "{v}");
        let identified = !matches!(outcome, "invalid" | "malformed");
        assert_eq!(v["id"].is_string(), identified, "{v}");
        assert_eq!(v["user"].is_string(), identified, "{v}");
        if identified {
            assert_eq!(v["id"], Env::id_of(&token));
        }
        // Never the presented secret.
        assert!(!r.stdout.contains(&token[token.len() - 49..]), "{v}");

        let mut args = extra.to_vec();
        args.push("--quiet");
        let q = env.verify(&token, &args);
        q.code(code);
        assert!(
            q.stdout.is_empty() && q.stderr.is_empty(),
            "{outcome}: --quiet printed {q:?}"
        );
    }
}

#[test]
fn the_store_file_holds_no_scopes_origins_or_cidrs() {
    let env = Env::new();
    let token = env.generate(
        "alice",
        &[
            "--scope",
            "kangaroo:jump",
            "--allow-ip",
            "172.31.250.0/24",
            "--allow-ip",
            "2001:db8:feed::/48",
            "--allow-origin",
            "https://wombat.example",
            "--rate-limit",
            "77/min",
        ],
    );
    env.verify(
        &token,
        &[
            "--scope",
            "kangaroo:jump",
            "--ip",
            "172.31.250.9",
            "--origin",
            "https://wombat.example",
        ],
    )
    .ok();
    env.verify(&token, &["--scope", "koala:sleep"]).code(5);
    env.run(&["rotate", &Env::id_of(&token), "--yes"]).ok();
    let raw = env.raw_files();
    assert!(!raw.is_empty());
    for needle in [
        "kangaroo",
        "koala",
        "172.31.250",
        "2001:db8:feed",
        "wombat",
        "77/min",
    ] {
        assert!(
            !contains(&raw, needle.as_bytes()),
            "{needle} found in the store file"
        );
    }
}
