//! `list` on many tokens, through the real binary: `--limit`, `--sort` by each key, the order
//! when tokens tie (created in the same second: by id), the count on stderr, and how times
//! read in tables ("in 5 seconds", "revoked just now", "expired …"). The terminal side (widths,
//! ids whole) is in `pty_tables.rs`.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Env, Run};
use serde_json::Value;

#[track_caller]
fn ok(r: Run) -> Run {
    r.ok();
    r
}

/// The records `list --json ARGS` prints.
fn records(env: &Env, args: &[&str]) -> Vec<Value> {
    let mut all = vec!["list", "--json"];
    all.extend_from_slice(args);
    let r = ok(env.run(&all));
    r.json().as_array().expect("an array").clone()
}

fn ids(records: &[Value]) -> Vec<String> {
    records
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The ids of the rows of the `list ARGS` table (a pipe: the first column after the header).
fn table_ids(env: &Env, args: &[&str]) -> Vec<String> {
    let mut all = vec!["list"];
    all.extend_from_slice(args);
    let r = ok(env.run(&all));
    let mut lines = r.stdout.lines();
    assert!(lines.next().unwrap().starts_with("ID "), "{}", r.stdout);
    lines
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect()
}

/// Tokens for `users`, issued as fast as the binary goes; their ids in order.
fn issue(env: &Env, users: &[&str], extra: &[&str]) -> Vec<String> {
    users
        .iter()
        .map(|u| Env::id_of(&env.generate(u, extra)))
        .collect()
}

/// A store where at least two tokens were created in the same second (most are: a generate
/// takes milliseconds), and at least `min` tokens.
fn store_with_a_tie(min: usize) -> Env {
    let env = Env::new();
    for n in 0..40 {
        env.generate(&format!("user{n:02}"), &[]);
        if n + 1 >= min {
            let mut seconds: BTreeMap<String, usize> = BTreeMap::new();
            for r in records(&env, &[]) {
                *seconds
                    .entry(r["created_at"].as_str().unwrap().to_owned())
                    .or_default() += 1;
            }
            if seconds.values().any(|&k| k >= 2) {
                return env;
            }
        }
    }
    panic!("40 tokens and no two created in the same second");
}

fn key(r: &Value, field: &str) -> String {
    r[field].as_str().unwrap_or_default().to_owned()
}

#[test]
fn list_is_oldest_first_and_tokens_of_one_second_go_by_id() {
    let env = store_with_a_tie(6);
    let listed = records(&env, &[]);
    let mut expected = listed.clone();
    expected.sort_by_key(|r| (key(r, "created_at"), key(r, "id")));
    assert_eq!(ids(&listed), ids(&expected));
    assert_eq!(ids(&records(&env, &["--sort", "created"])), ids(&expected));
    // The table shows the same order, and so does every run.
    assert_eq!(table_ids(&env, &[]), ids(&expected));
    assert_eq!(table_ids(&env, &["--sort", "created"]), ids(&expected));
    // Never-used tokens tie under --sort last-used, and equal lifetimes from one second tie
    // under --sort expires: both fall back to creation, then id.
    assert_eq!(
        ids(&records(&env, &["--sort", "last-used"])),
        ids(&expected)
    );
    assert_eq!(ids(&records(&env, &["--sort", "expires"])), ids(&expected));
}

#[test]
fn sort_expires_puts_the_soonest_first_expired_ones_leading() {
    let env = Env::new();
    let soon = issue(&env, &["soon"], &["--expires-in", "1s"]);
    let mut order = issue(&env, &["d3"], &["--expires-in", "3d"]);
    order.extend(issue(&env, &["h1"], &["--expires-in", "1h"]));
    order.extend(issue(&env, &["default"], &[]));
    order.extend(issue(&env, &["d2"], &["--expires-in", "2d"]));
    std::thread::sleep(Duration::from_millis(1100));
    let listed = records(&env, &["--sort", "expires"]);
    let mut expected = listed.clone();
    expected.sort_by_key(|r| (key(r, "expires_at"), key(r, "created_at"), key(r, "id")));
    assert_eq!(ids(&listed), ids(&expected));
    assert_eq!(listed[0]["status"], "expired");
    let users: Vec<&str> = listed.iter().map(|r| r["user"].as_str().unwrap()).collect();
    assert_eq!(users, ["soon", "h1", "d2", "d3", "default"]);
    assert_eq!(ids(&listed)[0], soon[0]);
    assert_eq!(table_ids(&env, &["--sort", "expires"]), ids(&listed));
}

#[test]
fn sort_last_used_puts_the_most_recent_first_and_never_used_last() {
    let env = Env::new();
    let tokens: Vec<String> = ["first", "second", "third", "fourth"]
        .iter()
        .map(|u| env.generate(u, &[]))
        .collect();
    env.verify(&tokens[1], &[]).ok();
    // Last use is kept to the second: one later, so the two uses are in order.
    std::thread::sleep(Duration::from_millis(1100));
    env.verify(&tokens[0], &[]).ok();
    let listed = records(&env, &["--sort", "last-used"]);
    let users: Vec<&str> = listed.iter().map(|r| r["user"].as_str().unwrap()).collect();
    assert_eq!(users[..2], ["first", "second"]);
    let rest = &listed[2..];
    assert!(rest.iter().all(|r| r["last_used_at"].is_null()), "{rest:?}");
    let mut never = rest.to_vec();
    never.sort_by_key(|r| (key(r, "created_at"), key(r, "id")));
    assert_eq!(ids(rest), ids(&never), "never used: by creation, then id");
    assert_eq!(table_ids(&env, &["--sort", "last-used"]), ids(&listed));
    // --limit takes the first after sorting: the most recently used.
    assert_eq!(
        ids(&records(&env, &["--sort", "last-used", "--limit", "1"])),
        [Env::id_of(&tokens[0])]
    );
}

#[test]
fn sort_user_goes_by_name_ignoring_case_and_a_users_tokens_by_creation() {
    let env = Env::new();
    let bob_old = Env::id_of(&env.generate("Bob", &[]));
    ok(env.run(&["revoke", &bob_old, "--yes"]));
    issue(&env, &["carol", "alice", "Bob", "ALAN", "bob"], &[]);
    let listed = records(&env, &["--sort", "user"]);
    let users: Vec<&str> = listed.iter().map(|r| r["user"].as_str().unwrap()).collect();
    // Case aside first (ALAN before alice), then exactly (Bob before bob).
    assert_eq!(users, ["ALAN", "alice", "Bob", "Bob", "bob", "carol"]);
    // Bob's two tokens: by creation, then (created in the same second) by id.
    let bobs: Vec<Value> = listed
        .iter()
        .filter(|r| r["user"] == "Bob")
        .cloned()
        .collect();
    let mut expected = bobs.clone();
    expected.sort_by_key(|r| (key(r, "created_at"), key(r, "id")));
    assert_eq!(ids(&bobs), ids(&expected));
    assert!(ids(&bobs).contains(&bob_old));
    assert_eq!(table_ids(&env, &["--sort", "user"]), ids(&listed));
}

#[test]
fn limit_shows_the_first_n_and_says_on_stderr_that_some_were_left_out() {
    let env = Env::new();
    issue(&env, &["a", "b", "c", "d", "e"], &[]);
    let all = records(&env, &[]);
    assert_eq!(all.len(), 5);

    let r = ok(env.run(&["list", "--limit", "2"]));
    assert_eq!(r.stderr, "showing 2 of 5 tokens\n");
    assert_eq!(
        r.stdout.lines().count(),
        3,
        "a header and two rows:\n{}",
        r.stdout
    );
    assert_eq!(table_ids(&env, &["--limit", "2"]), ids(&all[..2]));

    let r = ok(env.run(&["list", "--json", "--limit", "2"]));
    assert_eq!(ids(r.json().as_array().unwrap()), ids(&all[..2]));
    assert_eq!(
        r.stderr, "showing 2 of 5 tokens\n",
        "stdout stays JSON only"
    );

    // Nothing left out, nothing said: a pipe or cron job gets only data.
    for args in [
        &["list"][..],
        &["list", "--limit", "5"],
        &["list", "--limit", "99"],
        &["list", "--json"],
        &["list", "--json", "--limit", "5"],
    ] {
        let r = ok(env.run(args));
        assert!(r.stderr.is_empty(), "{args:?}: {:?}", r.stderr);
    }
    // With a filter, the count is of what matched.
    let e = ids(&all[4..])[0].clone();
    ok(env.run(&["revoke", &e, "--yes"]));
    let r = ok(env.run(&["list", "--status", "active", "--limit", "3"]));
    assert_eq!(r.stderr, "showing 3 of 4 tokens\n");
    let r = ok(env.run(&["list", "--user", "c", "--limit", "1"]));
    assert!(r.stderr.is_empty(), "{:?}", r.stderr);
}

#[test]
fn limit_is_a_whole_number_of_at_least_one_checked_before_the_store() {
    let env = Env::empty();
    for bad in ["0", "-1", "two", "1.5", ""] {
        let r = env.run(&["list", &format!("--limit={bad}")]);
        r.code(2);
        assert!(r.stdout.is_empty());
        assert!(r.stderr.contains("--limit"), "{}", r.stderr);
    }
    let r = env.run(&["list", "--sort", "name"]);
    r.code(2);
    assert!(r.stderr.contains("last-used"), "{}", r.stderr);
    // A good one reaches the store, which is missing here.
    env.run(&["list", "--limit", "1"]).code(10);
}

/// The cells of the `list` row for `id` (a pipe: columns two or more spaces apart).
fn row(env: &Env, id: &str) -> Vec<String> {
    let r = ok(env.run(&["list"]));
    let line = r
        .stdout
        .lines()
        .find(|l| l.starts_with(id))
        .unwrap_or_else(|| panic!("no {id} in:\n{}", r.stdout));
    line.split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn times_in_the_table_say_what_is_to_come_and_since_when() {
    let env = Env::new();
    // About to expire: "in N seconds", never "just now".
    let soon = Env::id_of(&env.generate("soon", &["--expires-in", "30s"]));
    let cells = row(&env, &soon);
    let expires = &cells[5];
    let n: u32 = expires
        .strip_prefix("in ")
        .and_then(|s| s.strip_suffix(" seconds"))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("EXPIRES {expires:?} in {cells:?}"));
    assert!((20..=30).contains(&n), "{cells:?}");
    // The issue's own case: two seconds to go read "(just now)".
    let r = env.run(&["generate", "brief", "--expires-in", "2s"]);
    r.ok();
    assert!(r.stderr.contains("(in 2 seconds)"), "{}", r.stderr);
    let brief = Env::id_of(r.stdout.trim());

    // Revoked: STATUS says when; EXPIRES is still the expiry.
    let gone = Env::id_of(&env.generate("gone", &["--expires-in", "30d"]));
    ok(env.run(&["revoke", &gone, "--yes"]));
    let cells = row(&env, &gone);
    assert_eq!(cells[3], "revoked just now", "{cells:?}");
    assert_eq!(cells[5], "in 30 days", "{cells:?}");
    let r = ok(env.run(&["inspect", &gone]));
    assert!(
        r.stdout.contains("  status  revoked just now\n"),
        "{}",
        r.stdout
    );

    // Expired: STATUS says so, and when (the wording of longer spans is render's unit test).
    std::thread::sleep(Duration::from_millis(2200));
    let cells = row(&env, &brief);
    assert_eq!(cells[3], "expired just now", "{cells:?}");
    assert_eq!(cells[5], "just now", "{cells:?}");
}

#[test]
fn a_pipe_gets_every_column_each_row_on_one_line() {
    let env = Env::new();
    issue(
        &env,
        &["alice"],
        &["--name", "a long name", "--scope", "a:b"],
    );
    let gone = issue(&env, &["bob"], &[])[0].clone();
    ok(env.run(&["revoke", &gone, "--yes"]));
    let r = ok(env.run(&["list"]));
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", r.stdout);
    for h in [
        "ID",
        "USER",
        "NAME",
        "STATUS",
        "SCOPES",
        "EXPIRES",
        "LAST USED",
    ] {
        assert!(lines[0].contains(h), "{}", r.stdout);
    }
    assert!(!r.stdout.contains('│') && !r.stdout.contains('┌'));
    let r = ok(env.run(&["audit"]));
    for h in [
        "SEQ", "TIME", "WHEN", "EVENT", "TOKEN", "USER", "DETAIL", "SLOT",
    ] {
        assert!(r.stdout.lines().next().unwrap().contains(h), "{}", r.stdout);
    }
    assert_eq!(r.stdout.lines().count(), 5, "{}", r.stdout);
}
