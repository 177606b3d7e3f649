//! A store made by the first release (store version 1, checked in under `tests/vectors/`) is
//! upgraded in place by the first command that writes it: every token keeps its standing, the
//! audit chain stays intact with an `upgrade` event, and the upgrade happens once. A command that
//! only reads leaves it as it is and says how to upgrade it.

mod common;

use std::path::PathBuf;

use common::Env;

fn vector(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/vectors")
        .join(name)
}

/// An Env holding a copy of the version-1 store, and its three tokens.
fn v1_env() -> (Env, Vec<(String, String)>) {
    v1_env_of("v1")
}

/// An Env holding a copy of the version-1 vector `NAME-store.sqlite`, and its tokens.
fn v1_env_of(name: &str) -> (Env, Vec<(String, String)>) {
    let mut env = Env::empty();
    std::fs::copy(vector(&format!("{name}-store.sqlite")), &env.store).unwrap();
    let key = env.path("v1.key");
    std::fs::copy(vector(&format!("{name}-keyfile.txt")), &key).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for p in [&key, &env.store] {
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
    env.key = Some(key);
    let tokens = std::fs::read_to_string(vector(&format!("{name}-tokens.txt")))
        .unwrap()
        .lines()
        .map(|l| {
            let (user, token) = l.split_once(' ').unwrap();
            (user.to_owned(), token.to_owned())
        })
        .collect();
    (env, tokens)
}

fn user_version(env: &Env) -> i64 {
    let c = rusqlite::Connection::open(&env.store).unwrap();
    c.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

#[test]
fn a_version_1_store_is_upgraded_once_and_keeps_every_token() {
    let (env, tokens) = v1_env();
    assert_eq!(user_version(&env), 1);
    let token = |user: &str| tokens.iter().find(|(u, _)| u == user).unwrap().1.clone();

    // Read commands leave it as it is (not a byte changed) and name the way to upgrade.
    let before = std::fs::read(&env.store).unwrap();
    for args in [
        &["list"][..],
        &["audit"],
        &["audit", "--check"],
        &["inspect", &Env::id_of(&token("alice"))],
        &["settings"],
        &["key", "list"],
    ] {
        let r = env.run(args);
        r.code(10);
        assert!(r.stderr.contains("older tokman"), "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("tokman remind"), "{args:?}: {}", r.stderr);
    }
    assert_eq!(user_version(&env), 1);
    assert_eq!(
        std::fs::read(&env.store).unwrap(),
        before,
        "a read command changed the store"
    );

    let r = env.run(&["remind"]);
    r.ok();
    assert!(r.stderr.contains("upgraded the store"), "{}", r.stderr);
    assert_eq!(user_version(&env), 2);
    let r = env.run(&["list", "--json"]);
    r.ok();
    let list = r.json();
    let status = |user: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|t| t["user"] == user)
            .unwrap()["status"]
            .clone()
    };
    assert_eq!(status("alice"), "active");
    assert_eq!(status("bob"), "revoked");
    // carol's token was made to expire within the hour of the vector's making.
    assert_eq!(status("carol"), "expired");

    env.verify(&token("alice"), &["--scope", "posts:read"]).ok();
    env.verify(&token("alice"), &["--scope", "posts:write"])
        .code(5);
    env.verify(&token("bob"), &[]).code(4);
    env.verify(&token("carol"), &[]).code(3);

    let r = env.run(&["audit", "--json"]);
    r.ok();
    assert!(
        !r.stderr.contains("upgraded"),
        "upgraded twice: {}",
        r.stderr
    );
    let events = r.json();
    let upgrades: Vec<_> = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "upgrade")
        .collect();
    assert_eq!(upgrades.len(), 1, "{events:#}");
    assert_eq!(events[0]["event"], "init");
    env.run(&["audit", "--check"]).ok();

    // After the upgrade the store is a version-2 store like any other: revoking alice and
    // putting her row back as it was is caught.
    let c = rusqlite::Connection::open(&env.store).unwrap();
    let alice_id = Env::id_of(&token("alice"));
    let row: (Vec<u8>, Option<Vec<u8>>, Vec<u8>) = c
        .query_row(
            "SELECT record, active_ix, leaf FROM tokens WHERE id = ?1",
            [&alice_id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    drop(c);
    env.run(&["revoke", &alice_id, "--yes"]).ok();
    let c = rusqlite::Connection::open(&env.store).unwrap();
    c.execute(
        "UPDATE tokens SET record = ?2, active_ix = ?3, leaf = ?4 WHERE id = ?1",
        rusqlite::params![alice_id, row.0, row.1, row.2],
    )
    .unwrap();
    drop(c);
    let r = env.verify(&token("alice"), &[]);
    r.code(12);
}

#[test]
fn a_version_1_store_that_fails_its_own_checks_is_not_upgraded() {
    let (env, tokens) = v1_env();
    // Bob's revocation is on the version-1 revocation list; a row claiming otherwise (here:
    // alice's row moved under bob's id does not open, so instead mark alice revoked in the list
    // while her row says active) is tampering, and must not be blessed by a fresh root.
    let alice_id = Env::id_of(&tokens[0].1);
    let c = rusqlite::Connection::open(&env.store).unwrap();
    c.execute("INSERT INTO revoked (id) VALUES (?1)", [&alice_id])
        .unwrap();
    drop(c);
    let before = std::fs::read(&env.store).unwrap();
    let r = env.run(&["purge"]);
    r.code(12);
    assert!(r.stderr.contains(&alice_id), "{}", r.stderr);
    assert_eq!(user_version(&env), 1);
    assert_eq!(std::fs::read(&env.store).unwrap(), before, "store changed");
}

#[test]
fn a_store_newer_than_this_tokman_is_refused() {
    let (env, _) = v1_env();
    env.run(&["remind"]).ok();
    let c = rusqlite::Connection::open(&env.store).unwrap();
    c.pragma_update(None, "user_version", 4).unwrap();
    drop(c);
    let r = env.run(&["list"]);
    r.code(10);
    assert!(r.stderr.contains("newer tokman"), "{}", r.stderr);
}

#[test]
fn names_of_a_version_1_store_are_brought_to_nfc_and_one_user_keeps_one_active_place() {
    // The first release stored "émile" typed decomposed (e + U+0301) and composed as two users,
    // each with an active token; the composed one was made a second later.
    let (env, tokens) = v1_env_of("v1-names");
    let decomposed = tokens[0].1.clone();
    let composed = tokens[1].1.clone();
    env.run(&["remind"]).ok();
    let r = env.run(&["list", "--json"]);
    r.ok();
    let list = r.json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    for t in list {
        assert_eq!(t["user"], "\u{e9}mile", "{t}");
    }
    // Both still verify as the one user, whichever way the name is typed.
    for user in ["\u{e9}mile", "e\u{301}mile"] {
        env.verify(&decomposed, &["--user", user]).ok();
        env.verify(&composed, &["--user", user]).ok();
    }
    // The newer holds the user's place: a new token is refused, naming it.
    let r = env.run(&["generate", "e\u{301}mile"]);
    r.code(7);
    assert!(r.stderr.contains(&Env::id_of(&composed)), "{}", r.stderr);
    let r = env.run(&["rotate", "--user", "\u{e9}mile", "--yes", "--json"]);
    r.ok();
    assert_eq!(r.json()["rotated_from"], Env::id_of(&composed).as_str());
    env.verify(&composed, &[]).code(4);
    env.verify(&decomposed, &[]).ok();
    // The upgrade event says what it changed.
    let events = env.run(&["audit", "--json"]).json();
    let upgrade = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "upgrade")
        .unwrap()
        .clone();
    let detail = upgrade["detail"].as_str().unwrap();
    assert!(detail.contains(&Env::id_of(&decomposed)), "{detail}");
    env.run(&["audit", "--check"]).ok();
}

fn bucket_index(env: &Env) -> String {
    let c = rusqlite::Connection::open(&env.store).unwrap();
    c.query_row(
        "SELECT sql FROM sqlite_master WHERE name = 'tokens_by_bucket'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn the_bucket_index_is_made_covering_by_a_command_that_writes_only() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    let c = rusqlite::Connection::open(&env.store).unwrap();
    c.execute_batch(
        "DROP INDEX tokens_by_bucket; CREATE INDEX tokens_by_bucket ON tokens (bucket);",
    )
    .unwrap();
    drop(c);
    // Neither a read command nor verify touches the schema.
    env.run(&["list"]).ok();
    env.run(&["audit", "--check"]).ok();
    env.verify(&token, &[]).ok();
    assert!(
        !bucket_index(&env).contains("leaf"),
        "{}",
        bucket_index(&env)
    );
    // A management command that writes gives it the covering index, and nothing else changes.
    let head = env.run(&["audit", "--check"]).stdout;
    env.run(&["remind"]).ok();
    assert!(
        bucket_index(&env).contains("leaf"),
        "{}",
        bucket_index(&env)
    );
    assert_eq!(env.run(&["audit", "--check"]).stdout, head);
    env.verify(&token, &[]).ok();
}
