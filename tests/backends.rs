//! The user-facing contract, once per storage backend: every scenario here is written once, as a
//! function taking a [`Backend`], and run against a SQLite file and against PostgreSQL (the
//! `on_both_backends!` list after them makes `SCENARIO::sqlite` and `SCENARIO::postgres`). Each
//! runs the real `tokman` binary, as a user, a script or a cron job would, and judges only by
//! what those rely on: exit codes, stdout, `--json` documents.
//!
//! PostgreSQL comes from `tests/common/pg.rs` (a throwaway cluster per test binary); the
//! PostgreSQL store is reached over TCP with TLS checked (`sslmode=verify-full`), as teams will
//! run it, except where a scenario says otherwise (`= Backend::postgres_socket`). Without
//! PostgreSQL the `postgres` tests print a skip note and pass, unless
//! `TOKMAN_REQUIRE_SERVICES=1`. The last part of the file is PostgreSQL only: what the
//! database's operator can do with `psql`.
//!
//! Run: `TOKMAN_REQUIRE_SERVICES=1 cargo test --test backends`.

#[path = "common/pg.rs"]
mod pg;

#[path = "common/backend.rs"]
mod backend;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use serde_json::Value;

use backend::{
    Backend, Kind, Operator, XorShift, assert_hex64, assert_sane, assert_token_shape, at_once,
    count_codes, finish, forged, id_of, run,
};

// ---- helpers -----------------------------------------------------------------------------

/// The keys of a token record (`list --json`, `inspect --json`) this tokman prints.
const RECORD_KEYS: [&str; 20] = [
    "id",
    "user",
    "name",
    "description",
    "scopes",
    "status",
    "created_at",
    "expires_at",
    "revoked_at",
    "revoke_reason",
    "last_used_at",
    "use_count",
    "rate_limits",
    "allowed_ips",
    "allowed_origins",
    "rotated_from",
    "rotated_to",
    "grace_until",
    "max_uses",
    "uses_left",
];

/// `id -> status` from `list --json`.
fn statuses(list: &[Value]) -> BTreeMap<String, String> {
    list.iter()
        .map(|r| {
            (
                r["id"].as_str().expect("id").to_owned(),
                r["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect()
}

fn events_of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

fn is_sqlite_file(path: &std::path::Path) -> bool {
    std::fs::read(path).is_ok_and(|b| b.starts_with(b"SQLite format 3\0"))
}

// ---- 1. every command and exit code ------------------------------------------------------

/// A store that is not there is exit 10 for every command that needs one, and nothing is
/// created: for SQLite a path with no file, for PostgreSQL an empty database.
fn missing_store_is_10(b: &Backend) {
    let place = b.new_place(b.kind);
    let backup = b.path("never.db");
    let copy_to = b.path("never-copy.db");
    let commands: Vec<Vec<&str>> = vec![
        vec!["list"],
        vec!["list", "--json"],
        vec!["info"],
        vec!["info", "--json"],
        vec!["audit", "--check"],
        vec!["audit", "--json"],
        vec!["inspect", "tm_000000000000"],
        vec!["revoke", "--user", "nobody", "--yes"],
        vec!["rotate", "--user", "nobody", "--yes"],
        vec!["purge", "--revoked"],
        vec!["key", "list"],
        vec!["backup", backup.to_str().unwrap()],
        vec!["copy", "--to", copy_to.to_str().unwrap()],
        // With only a key file, `generate` cannot create a store either.
        vec!["generate", "bob"],
    ];
    for args in &commands {
        let r = b.run_at(&place.store, args);
        assert_eq!(r.code, 10, "{args:?} on a missing store: {}", r.stderr);
        assert!(
            r.stderr.contains("tokman init"),
            "{args:?}: the message names `tokman init`: {}",
            r.stderr
        );
    }
    let token = forged("tm_000000000000");
    let r = b.verify_at(&place.store, &token, &["--json"]);
    assert_eq!(r.code, 10, "{}", r.stderr);
    let doc = r.json();
    assert_eq!(doc["outcome"], "error", "{doc}");
    assert_eq!(doc["valid"], false, "{doc}");
    assert!(!backup.exists() && !copy_to.exists());
    match place.kind {
        Kind::Sqlite => assert!(
            !std::path::Path::new(&place.store).exists(),
            "a command on a missing store created {}",
            place.store
        ),
        Kind::Postgres => {
            let tables = b.cluster().psql(
                place.db.as_ref().unwrap(),
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
            );
            assert_eq!(tables, "0", "a command on an empty database created tables");
        }
    }
}

fn every_command_and_exit_code(b: Backend) {
    missing_store_is_10(&b);

    // init, and init again.
    b.init();
    let again = b.path("again.key");
    let mut c = b.tokman();
    c.arg("--store")
        .arg(b.store())
        .args(["init", "--new-key-file"])
        .arg(&again);
    run(c, "").code(7);
    assert!(!again.exists(), "a refused init left a key file behind");

    // An expiring token first, so that it has expired by the time the rest is done.
    let erin = b.generate("erin", &["--expires-in", "2s"]);
    let erin_born = Instant::now();

    // generate; a second for the same user is 7 and names the active token.
    let alice = b.generate("alice", &["--scope", "a:read", "--name", "laptop"]);
    let r = b.run(&["generate", "alice"]);
    r.code(7);
    assert!(r.stderr.contains(&id_of(&alice)), "{}", r.stderr);
    assert_eq!(r.stdout, "", "a refused generate prints no token");

    // verify: valid, wrong secret, malformed.
    let r = b.verify(&alice, &[]);
    r.ok();
    assert!(r.stdout.contains(&id_of(&alice)), "{}", r.stdout);
    assert_eq!(
        b.verify_code(&forged(&id_of(&alice)), &[]),
        1,
        "wrong secret"
    );
    let mut typo = alice.clone();
    let last = typo.pop().unwrap();
    typo.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(b.verify_code(&typo, &[]), 1, "bad checksum");
    assert_eq!(b.verify_code(&alice[..60], &[]), 1, "truncated");
    assert_eq!(b.verify_code("hello", &[]), 1, "garbage");
    let doc = b.verify(&alice, &["--json"]).json();
    assert_eq!(doc["valid"], true, "{doc}");
    assert_eq!(doc["outcome"], "valid", "{doc}");
    assert_eq!(doc["user"], "alice", "{doc}");
    let doc = b.verify(&forged(&id_of(&alice)), &["--json"]).json();
    assert_eq!(doc["valid"], false, "{doc}");
    assert_eq!(doc["outcome"], "invalid", "{doc}");

    // Another store of the same backend, with its own key: its token is not ours, and its key
    // does not unlock our store.
    let other = b.new_place(b.kind);
    let other_key = b.path("other.key");
    let mut c = b.tokman();
    c.arg("--store")
        .arg(&other.store)
        .args(["init", "--new-key-file"])
        .arg(&other_key);
    run(c, "").ok();
    let mut c = b.at_with(&other.store, Some(&other_key));
    c.args(["generate", "alice"]);
    let stranger = run(c, "");
    stranger.ok();
    let stranger = stranger.stdout.trim().to_owned();
    assert_token_shape(&stranger);
    assert_eq!(b.verify_code(&stranger, &[]), 1, "another store's token");
    for args in [&["list"][..], &["verify"][..]] {
        let mut c = b.at_with(b.store(), Some(&other_key));
        c.args(args);
        let r = run(c, &format!("{alice}\n"));
        assert_eq!(r.code, 11, "{args:?} with a wrong key file: {}", r.stderr);
    }

    // Policy: scope, IP allow-list, rate limit.
    assert_eq!(b.verify_code(&alice, &["--scope", "a:write"]), 5);
    assert_eq!(b.verify_code(&alice, &["--scope", "a:read"]), 0);
    let ivan = b.generate("ivan", &["--allow-ip", "10.0.0.0/8"]);
    assert_eq!(b.verify_code(&ivan, &["--ip", "192.168.1.1"]), 5);
    assert_eq!(b.verify_code(&ivan, &["--ip", "10.1.2.3"]), 0);
    let rita = b.generate("rita", &["--rate-limit", "2/h"]);
    let codes: Vec<i32> = (0..3).map(|_| b.verify_code(&rita, &[])).collect();
    assert_eq!(codes, [0, 0, 6], "--rate-limit 2/h");

    // revoke, rotate.
    let rob = b.generate("rob", &[]);
    b.run(&["revoke", &id_of(&rob), "--reason", "left", "--yes"])
        .ok();
    assert_eq!(b.verify_code(&rob, &[]), 4, "revoked");
    b.run(&["revoke", &id_of(&rob), "--yes"]).ok();
    assert_eq!(b.run(&["rotate", &id_of(&rob), "--yes"]).code, 4);
    let olga = b.generate("olga", &["--scope", "b:read"]);
    let r = b.run(&["rotate", &id_of(&olga), "--yes"]);
    r.ok();
    let olga2 = r.stdout.trim().to_owned();
    assert_token_shape(&olga2);
    assert_ne!(id_of(&olga2), id_of(&olga));
    assert_eq!(b.verify_code(&olga, &[]), 4, "the rotated token");
    assert_eq!(
        b.verify_code(&olga2, &["--scope", "b:read"]),
        0,
        "its successor"
    );

    // generate --json and revoke --json: the record (plus the token).
    let r = b.run(&["generate", "gus", "--scope", "c:read", "--json"]);
    r.ok();
    let made = r.json();
    for key in RECORD_KEYS.iter().chain(&["token"]) {
        assert!(
            made.get(key).is_some(),
            "generate --json without `{key}`: {made}"
        );
    }
    let gus = made["token"].as_str().unwrap().to_owned();
    assert_token_shape(&gus);
    assert_eq!(made["id"], id_of(&gus).as_str());
    assert_eq!(made["status"], "active");
    assert_eq!(b.verify_code(&gus, &["--scope", "c:read"]), 0);
    let r = b.run(&["revoke", &id_of(&gus), "--yes", "--json"]);
    r.ok();
    let gone = r.json();
    assert_eq!(gone["status"], "revoked", "{gone}");
    assert!(!gone["revoked_at"].is_null(), "{gone}");
    assert_eq!(b.verify_code(&gus, &[]), 4);

    // Not found.
    b.run(&["inspect", "tm_000000000000"]).code(8);
    b.run(&["revoke", "--user", "nobody", "--yes"]).code(8);

    // Expired.
    let wait = Duration::from_millis(3000).saturating_sub(erin_born.elapsed());
    std::thread::sleep(wait);
    assert_eq!(b.verify_code(&erin, &[]), 3, "expired");

    // list --json: every key, every status.
    let list = b.list_all();
    for rec in &list {
        for key in RECORD_KEYS {
            assert!(rec.get(key).is_some(), "record without `{key}`: {rec}");
        }
    }
    let status = statuses(&list);
    let expect = [
        (&erin, "expired"),
        (&alice, "active"),
        (&ivan, "active"),
        (&rita, "active"),
        (&rob, "revoked"),
        (&olga, "revoked"),
        (&olga2, "active"),
        (&gus, "revoked"),
    ];
    for (token, want) in expect {
        assert_eq!(status[&id_of(token)], want, "{}", id_of(token));
    }
    assert_eq!(status.len(), expect.len(), "{status:?}");
    let rob_rec = b.inspect(&id_of(&rob));
    assert_eq!(rob_rec["revoke_reason"], "left", "{rob_rec}");
    assert_eq!(rob_rec["user"], "rob");
    let r = b.run(&["list", "--user", "alice", "--json"]);
    r.ok();
    let mine = r.json();
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine[0]["scopes"], serde_json::json!(["a:read"]));
    assert_eq!(mine[0]["name"], "laptop");

    // audit.
    let head = b.audit_head();
    let events = b.audit_events();
    for kind in ["init", "generate", "revoke", "rotate", "verify_refused"] {
        assert!(!events_of(&events, kind).is_empty(), "no {kind} event");
    }
    assert_eq!(events_of(&events, "generate").len(), 7, "{events:?}");

    // info, without and with a key.
    let mut c = b.at_with(b.store(), None);
    c.args(["info", "--json"]);
    let public = run(c, "");
    public.ok();
    let public = public.json();
    assert_eq!(public["backend"], b.kind.name(), "{public}");
    assert_eq!(public["tokens"], list.len(), "{public}");
    assert_eq!(public["prefix"], "tm");
    assert!(public["tokens_by_status"].is_null(), "{public}");
    assert!(public["audit_head"].is_null(), "{public}");
    assert_eq!(public["events"], events.len(), "{public}");
    let mut c = b.at_with(b.store(), None);
    c.arg("info");
    let text = run(c, "");
    text.ok();
    assert!(text.stdout.contains(b.kind.name()), "{}", text.stdout);
    let private = b.run(&["info", "--json"]);
    private.ok();
    let private = private.json();
    let by_status = &private["tokens_by_status"];
    assert_eq!(by_status["active"], 4, "{private}");
    assert_eq!(by_status["expired"], 1, "{private}");
    assert_eq!(by_status["revoked"], 3, "{private}");
    assert_eq!(private["audit_head"], head.as_str(), "{private}");
    b.run(&["info"]).ok();

    // key add-file / list / remove.
    let second = b.path("second.key");
    b.run(&[
        "key",
        "add-file",
        second.to_str().unwrap(),
        "--label",
        "cron",
    ])
    .ok();
    assert_eq!(
        std::fs::metadata(&second).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let slots = b.run(&["key", "list", "--json"]);
    slots.ok();
    let slots = slots.json();
    assert_eq!(slots.as_array().unwrap().len(), 2, "{slots}");
    assert_eq!(slots[1]["label"], "cron", "{slots}");
    let with_second = |args: &[&str]| {
        let mut c = b.at_with(b.store(), Some(&second));
        c.args(args);
        run(c, "")
    };
    with_second(&["list"]).ok();
    b.run(&["key", "add-file", second.to_str().unwrap()])
        .code(7);
    let slot = slots[1]["slot"].to_string();
    b.run(&["key", "remove", &slot, "--yes"]).ok();
    with_second(&["list"]).code(11);
    let first = slots[0]["slot"].to_string();
    b.run(&["key", "remove", &first, "--yes"]).code(7);
    b.run(&["key", "remove", "99", "--yes"]).code(8);

    // backup: a SQLite file that verifies the same tokens; never over an existing file.
    let head = b.audit_head();
    let copy = b.path("backup.db");
    b.run(&["backup", copy.to_str().unwrap()]).ok();
    assert!(is_sqlite_file(&copy), "the backup is not a SQLite file");
    assert_eq!(
        std::fs::metadata(&copy).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let copy_store = copy.to_str().unwrap();
    assert_eq!(b.audit_head_at(copy_store), head, "the backup's audit head");
    assert_eq!(
        b.audit_head(),
        head,
        "a backup changes nothing in its source"
    );
    let mut c = b.at(copy_store);
    c.args(["info", "--json"]);
    assert_eq!(run(c, "").json()["backend"], "sqlite");
    for (token, want) in [(&alice, 0), (&olga2, 0), (&rob, 4), (&olga, 4), (&erin, 3)] {
        let r = b.verify_at(copy_store, token, &[]);
        assert_eq!(
            r.code,
            want,
            "{} from the backup: {}",
            id_of(token),
            r.stderr
        );
    }
    let before = std::fs::read(&copy).unwrap();
    b.run(&["backup", copy.to_str().unwrap()]).code(7);
    assert_eq!(
        std::fs::read(&copy).unwrap(),
        before,
        "a refused backup changed the file"
    );

    // purge --revoked: the revoked and the expired ones.
    let r = b.run(&["purge", "--revoked", "--json"]);
    r.ok();
    let purged = r.json();
    assert_eq!(purged["purged"], 4, "{purged}");
    let ids: BTreeSet<&str> = purged["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let gone: BTreeSet<String> = [&erin, &rob, &olga, &gus]
        .iter()
        .map(|t| id_of(t))
        .collect();
    assert_eq!(
        ids,
        gone.iter().map(String::as_str).collect::<BTreeSet<_>>()
    );
    let left = statuses(&b.list_all());
    assert_eq!(left.len(), 4, "{left:?}");
    assert!(left.values().all(|s| s == "active"), "{left:?}");
    let r = b.run(&["purge", "--revoked"]);
    r.ok();
    assert_eq!(b.verify_code(&rob, &[]), 1, "a purged token is unknown");
    assert_eq!(b.verify_code(&alice, &[]), 0);
    b.audit_head();

    if b.is_pg() {
        postgres_urls(&b);
    }
}

/// The same store over the Unix socket; a password in the URL is never shown.
fn postgres_urls(b: &Backend) {
    let pg = b.cluster();
    let socket = pg.socket_url(b.db());
    let over_tcp = statuses(&b.list_all());
    let mut c = b.at(&socket);
    c.env_remove("PGPASSWORD").args(["list", "--json"]);
    let r = run(c, "");
    r.ok();
    assert_eq!(
        statuses(r.json().as_array().unwrap()),
        over_tcp,
        "the socket sees the store"
    );
    let tcp = pg.tcp_url(b.db(), "verify-full");
    let with_password = tcp.replacen(
        "postgres://tokman@",
        &format!("postgres://tokman:{}@", pg.password()),
        1,
    );
    assert_ne!(with_password, tcp);
    let mut c = b.at(&with_password);
    c.env_remove("PGPASSWORD").args(["info", "--json"]);
    let r = run(c, "");
    r.ok();
    assert!(
        !r.stdout.contains(pg.password()) && !r.stderr.contains(pg.password()),
        "the password was shown: {}{}",
        r.stdout,
        r.stderr
    );
    let shown = r.json()["store"].as_str().unwrap().to_owned();
    let expected = format!("postgres://tokman@127.0.0.1:{}/{}?", pg.port(), b.db().name);
    assert!(shown.starts_with(&expected), "{shown}");
    // The wrong password is a database that refuses: 10, not shown either.
    let mut c = b.at(&tcp);
    c.env("PGPASSWORD", "not-the-password").arg("list");
    let r = run(c, "");
    assert_eq!(r.code, 10, "{}", r.stderr);
    assert!(!r.stderr.contains("not-the-password"), "{}", r.stderr);
}

// ---- 2-4. concurrency ----------------------------------------------------------------------

fn one_of_twelve_concurrent_generates_wins(b: Backend) {
    b.init();
    let runs = at_once(12, || {
        let mut c = b.cmd();
        c.args(["generate", "dora"]);
        c.spawn().expect("spawn")
    });
    for r in &runs {
        assert_sane(r, "generate");
    }
    let codes = count_codes(&runs);
    assert_eq!(
        codes,
        BTreeMap::from([(0, 1), (7, 11)]),
        "12 generates for one user: {runs:?}"
    );
    let winner = runs.iter().find(|r| r.code == 0).unwrap();
    let token = winner.stdout.trim().to_owned();
    assert_token_shape(&token);
    for r in runs.iter().filter(|r| r.code == 7) {
        assert!(
            r.stderr.contains(&id_of(&token)),
            "a loser names the winner: {}",
            r.stderr
        );
        assert_eq!(r.stdout, "");
    }
    let r = b.run(&["list", "--user", "dora", "--json"]);
    r.ok();
    let mine = r.json();
    assert_eq!(mine.as_array().unwrap().len(), 1, "{mine}");
    assert_eq!(mine[0]["id"], id_of(&token).as_str());
    assert_eq!(events_of(&b.audit_events(), "generate").len(), 1);
    assert_eq!(b.verify_code(&token, &[]), 0);
    b.audit_head();
}

fn rate_limit_holds_under_30_concurrent_verifies(b: Backend) {
    b.init();
    let token = b.generate("rhea", &["--rate-limit", "10/h"]);
    let runs = at_once(30, || b.spawn_verify(&token, &[]));
    for r in &runs {
        assert_sane(r, "verify");
    }
    assert_eq!(
        count_codes(&runs),
        BTreeMap::from([(0, 10), (6, 20)]),
        "30 verifies with --rate-limit 10/h"
    );
    let rec = b.inspect(&id_of(&token));
    assert_eq!(rec["use_count"], 10, "{rec}");
    let list = b.list_all();
    assert_eq!(list[0]["use_count"], 10);
    assert_eq!(b.verify_code(&token, &[]), 6, "still limited");
    b.audit_head();
}

fn forty_parallel_verifies_all_count(b: Backend) {
    b.init();
    let token = b.generate("vera", &["--no-rate-limit"]);
    let runs = at_once(40, || b.spawn_verify(&token, &["--quiet"]));
    for r in &runs {
        assert_sane(r, "verify");
    }
    assert_eq!(count_codes(&runs), BTreeMap::from([(0, 40)]), "{runs:?}");
    let rec = b.inspect(&id_of(&token));
    assert_eq!(rec["use_count"], 40, "{rec}");
    assert!(!rec["last_used_at"].is_null());
    b.audit_head();
}

// ---- 5. kill -9 ----------------------------------------------------------------------------

fn kill_9_mid_command_changes_nothing(b: Backend) {
    b.init();
    let seed = 0x2545_f491_4f6c_dd1d ^ u64::from(std::process::id());
    let mut rng = XorShift(seed | 1);
    // Kills land at random in 0-40 ms, but no later than about when a command of this backend
    // ends, so that most land mid-command. How long a command takes differs by machine, by
    // command and by round (a first connection is slower), so each command's window starts
    // from a timed warm-up and then follows what the rounds show: it narrows to under the
    // delay of a kill that came after the command had ended and widens by a step after one
    // that came in time.
    let timed = Instant::now();
    b.generate("warm-up", &[]);
    let first = (timed.elapsed().as_millis() as u64 * 3 / 2).clamp(8, 40) + 1;
    let mut spans = [first; 3];
    let (mut lowest, mut highest) = (u64::MAX, 0);
    let (mut killed, mut finished, mut took_effect) = (0, 0, 0);
    let rounds = 30;
    for i in 0..rounds {
        let (op, user) = match i % 3 {
            0 => ("generate", format!("g{i}")),
            1 => ("revoke", format!("r{i}")),
            _ => ("verify", format!("v{i}")),
        };
        let target = (op != "generate").then(|| b.generate(&user, &[]));
        let mut c = b.cmd();
        match op {
            "generate" => {
                c.args(["generate", &user]);
            }
            "revoke" => {
                c.args(["revoke", &id_of(target.as_ref().unwrap()), "--yes"]);
            }
            _ => {
                c.args(["verify", "--quiet"])
                    .stdin(std::process::Stdio::piped());
            }
        }
        let mut child = c.spawn().expect("spawn");
        if let Some(mut stdin) = child.stdin.take() {
            use std::io::Write as _;
            let _ = writeln!(stdin, "{}", target.as_ref().unwrap());
        }
        let span = &mut spans[i % 3];
        (lowest, highest) = (lowest.min(*span), highest.max(*span));
        let delay = rng.below(*span);
        std::thread::sleep(Duration::from_millis(delay));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
            *span = (*span + 2).min(41);
        } else {
            finished += 1;
            *span = (delay * 3 / 4).max(3);
        }
        let _ = child.kill(); // SIGKILL
        let out = child.wait_with_output().unwrap();
        let exited = out.status.code();
        let why = format!("round {i}: {op} killed after {delay} ms (exit {exited:?})");

        // The log is intact and ends where the state does.
        let r = b.run(&["audit", "--check"]);
        assert_eq!(r.code, 0, "{why}: audit --check: {}", r.stderr);
        assert_hex64(r.stdout.trim(), &why);
        let events = b.audit_events();
        let list = b.list_all();
        assert_eq!(
            events_of(&events, "generate").len(),
            list.len(),
            "{why}: generate events vs tokens"
        );
        let users: Vec<&str> = list.iter().map(|r| r["user"].as_str().unwrap()).collect();
        match op {
            "generate" => {
                let made = users.contains(&user.as_str());
                let logged = events_of(&events, "generate")
                    .iter()
                    .any(|e| e["user"] == user.as_str());
                assert_eq!(made, logged, "{why}: a token without its event or back");
                took_effect += usize::from(made);
                if exited == Some(0) {
                    assert!(made, "{why}: reported but not there");
                    let token = String::from_utf8_lossy(&out.stdout).trim().to_owned();
                    assert_eq!(b.verify_code(&token, &[]), 0, "{why}");
                }
            }
            "revoke" => {
                let token = target.as_ref().unwrap();
                let id = id_of(token);
                let logged = events_of(&events, "revoke")
                    .iter()
                    .any(|e| e["id"] == id.as_str());
                let status = statuses(&list)[&id].clone();
                let code = b.verify_code(token, &[]);
                took_effect += usize::from(logged);
                if logged {
                    assert_eq!((code, status.as_str()), (4, "revoked"), "{why}");
                } else {
                    assert_eq!((code, status.as_str()), (0, "active"), "{why}");
                    assert_ne!(exited, Some(0), "{why}: reported, not done");
                }
            }
            _ => {
                let token = target.as_ref().unwrap();
                let rec = b.inspect(&id_of(token));
                let n = rec["use_count"].as_u64().unwrap();
                assert!(n <= 1, "{why}: use_count {n}");
                took_effect += n as usize;
                assert_eq!(n == 0, rec["last_used_at"].is_null(), "{why}: {rec}");
                if exited == Some(0) {
                    assert_eq!(n, 1, "{why}: a reported verify was not counted");
                }
                assert_eq!(b.verify_code(token, &[]), 0, "{why}");
                assert_eq!(b.inspect(&id_of(token))["use_count"], n + 1, "{why}");
            }
        }
        // One active token per user, whatever was killed.
        let active: Vec<&str> = list
            .iter()
            .filter(|r| r["status"] == "active")
            .map(|r| r["user"].as_str().unwrap())
            .collect();
        let distinct: BTreeSet<&str> = active.iter().copied().collect();
        assert_eq!(active.len(), distinct.len(), "{why}: {active:?}");
    }
    eprintln!(
        "{}: {rounds} kills in windows of {lowest}-{highest} ms (seed {seed:#x}): {killed} \
         before the command ended, {finished} after; {took_effect} commands took effect, {} \
         did not",
        b.kind.name(),
        rounds - took_effect
    );
    assert!(
        killed >= rounds / 5,
        "too few kills landed mid-command ({killed} of {rounds}): the test proves little"
    );
}

// ---- 6. copy round trip --------------------------------------------------------------------

/// From this backend to the other and back: SQLite → PostgreSQL → SQLite, or PostgreSQL →
/// SQLite → PostgreSQL.
fn copy_round_trip(b: Backend) {
    if pg::cluster().is_none() {
        return;
    }
    b.init();
    let live = [
        b.generate("amy", &["--scope", "a:read", "--name", "n1"]),
        b.generate("ben", &["--rate-limit", "100/h"]),
        b.generate("cal", &["--allow-ip", "10.0.0.0/8"]),
    ];
    let gone = b.generate("dan", &[]);
    b.run(&["revoke", &id_of(&gone), "--yes"]).ok();
    assert_eq!(b.verify_code(&live[0], &[]), 0);
    let source = b.place.clone();

    let mid = b.new_place(b.kind.other());
    let r = b.run(&["copy", "--to", &mid.store]);
    r.ok();
    let head_source = b.audit_head();
    let head_mid = b.audit_head_at(&mid.store);
    assert_eq!(head_mid, head_source, "the copy's head is its source's");
    assert!(r.stderr.contains(&head_source), "{}", r.stderr);

    let last = b.new_place(b.kind);
    let r = b.run_at(&mid.store, &["copy", "--to", &last.store]);
    r.ok();
    let head_mid = b.audit_head_at(&mid.store);
    let head_last = b.audit_head_at(&last.store);
    assert_eq!(head_last, head_mid, "the last copy's head is its source's");
    assert_ne!(head_last, head_source, "the second copy was logged");

    for (place, kind) in [(&source, b.kind), (&mid, b.kind.other()), (&last, b.kind)] {
        let r = b.run_at(&place.store, &["info", "--json"]);
        r.ok();
        assert_eq!(r.json()["backend"], kind.name(), "{}", place.store);
        for token in &live {
            let r = b.verify_at(&place.store, token, &["--ip", "10.1.2.3"]);
            assert_eq!(
                r.code,
                0,
                "{} in {}: {}",
                id_of(token),
                place.store,
                r.stderr
            );
        }
        assert_eq!(
            b.verify_at(&place.store, &live[0], &["--scope", "a:read"])
                .code,
            0
        );
        assert_eq!(
            b.verify_at(&place.store, &live[2], &["--ip", "192.0.2.1"])
                .code,
            5
        );
        let r = b.verify_at(&place.store, &gone, &[]);
        assert_eq!(
            r.code, 4,
            "the revoked one in {}: {}",
            place.store, r.stderr
        );
        b.audit_head_at(&place.store);
        let r = b.run_at(&place.store, &["list", "--status", "all", "--json"]);
        r.ok();
        assert_eq!(r.json().as_array().unwrap().len(), 4);
    }

    // Never over an existing store; a refused copy changes nothing.
    for (from, to) in [(&source, &last), (&source, &mid), (&mid, &source)] {
        let before = b.audit_head_at(&from.store);
        let target_before = b.audit_head_at(&to.store);
        let r = b.run_at(&from.store, &["copy", "--to", &to.store]);
        assert_eq!(r.code, 7, "copy onto {}: {}", to.store, r.stderr);
        assert_eq!(b.audit_head_at(&from.store), before);
        assert_eq!(b.audit_head_at(&to.store), target_before);
    }
}

/// `key rekey`: every token keeps verifying, a removed key is refused, the new key file opens
/// the store, a head noted before stays in the log's history, and a copy of the rekeyed store
/// to the other backend keeps all of that (and its version, so an older tokman refuses it).
fn rekey_round_trip(b: Backend) {
    if b.is_pg() && pg::cluster().is_none() {
        return;
    }
    b.init();
    let live = b.generate("amy", &["--scope", "a:read"]);
    let gone = b.generate("ben", &[]);
    b.run(&["revoke", &id_of(&gone), "--yes"]).ok();
    let second = b.path("second.key");
    b.run(&["key", "add-file", second.to_str().unwrap()]).ok();
    let head = b.audit_head();

    b.run(&["key", "rekey"]).code(2);
    let fresh = b.path("fresh.key");
    let r = b.run(&[
        "key",
        "rekey",
        "--yes",
        "--new-key-file",
        fresh.to_str().unwrap(),
    ]);
    r.ok();
    assert_eq!(b.verify_code(&live, &["--scope", "a:read"]), 0);
    assert_eq!(b.verify_code(&gone, &[]), 4);
    let mut c = b.at_with(b.store(), Some(&second));
    c.arg("list");
    run(c, "").code(11);
    let mut c = b.at_with(b.store(), Some(&fresh));
    c.args(["list", "--user", "amy", "--json"]);
    let r = run(c, "");
    r.ok();
    assert_eq!(r.json().as_array().unwrap().len(), 1);
    b.run(&["audit", "--check", "--expect-head", &head]).ok();
    let r = b.run(&["info", "--json"]);
    r.ok();
    assert_eq!(r.json()["schema_version"], 3);
    let r = b.run(&["audit", "--json", "--event", "rekey"]);
    r.ok();
    let rekeys = r.json();
    assert_eq!(rekeys.as_array().unwrap().len(), 1);
    assert_eq!(rekeys[0]["slot"], 1);

    if pg::cluster().is_none() {
        return;
    }
    let other = b.new_place(b.kind.other());
    b.run(&["copy", "--to", &other.store]).ok();
    assert_eq!(b.verify_at(&other.store, &live, &[]).code, 0);
    let r = b.run_at(&other.store, &["info", "--json"]);
    r.ok();
    assert_eq!(r.json()["schema_version"], 3);
    let r = b.run_at(&other.store, &["audit", "--check", "--expect-head", &head]);
    r.ok();
}

/// `settings set` and the audit filters: the store's settings change (the maximum lifetime only
/// shorter, taken as the new ceiling), the change is an audited `settings` event, and
/// `--event`, `--user`, `--id` and `--since` pick the same events from either backend.
fn settings_and_audit_filters(b: Backend) {
    if b.is_pg() && pg::cluster().is_none() {
        return;
    }
    b.init();
    let amy = b.generate("amy", &[]);
    let ben = b.generate("ben", &[]);
    b.run(&["revoke", &id_of(&ben), "--yes"]).ok();
    b.run(&[
        "settings",
        "set",
        "--max-lifetime",
        "30d",
        "--default-rate-limit",
        "100/min",
    ])
    .ok();
    b.run(&["settings", "set", "--max-lifetime", "400d"])
        .code(2);
    let r = b.run(&["settings", "--json"]);
    r.ok();
    let settings = r.json();
    assert_eq!(settings["max_lifetime"], "30d", "{settings}");
    assert_eq!(
        settings["default_rate_limits"][0]["limit"], 100,
        "{settings}"
    );
    b.run(&["generate", "cat", "--expires-in", "31d"]).code(2);
    let cat = b.generate("cat", &[]);

    let audit = |args: &[&str]| -> Vec<(String, Option<String>)> {
        let mut all = vec!["audit", "--json"];
        all.extend_from_slice(args);
        let r = b.run(&all);
        r.ok();
        r.json()
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["event"].as_str().unwrap().to_owned(),
                    e["user"].as_str().map(str::to_owned),
                )
            })
            .collect()
    };
    let kinds = |events: &[(String, Option<String>)]| -> Vec<String> {
        events.iter().map(|(k, _)| k.clone()).collect()
    };
    assert_eq!(kinds(&audit(&["--event", "settings"])), ["settings"]);
    assert_eq!(kinds(&audit(&["--user", "ben"])), ["generate", "revoke"]);
    assert_eq!(kinds(&audit(&["--id", &id_of(&amy)])), ["generate"]);
    assert_eq!(
        kinds(&audit(&["--event", "generate", "--user", "cat"])),
        ["generate"]
    );
    assert_eq!(audit(&["--since", "1h"]).len(), audit(&[]).len());
    assert!(audit(&["--since", "2099-01-01"]).is_empty());
    assert_eq!(b.verify_code(&cat, &[]), 0);
    b.run(&["audit", "--check"]).ok();
}

// Each scenario above, as `NAME::sqlite` and `NAME::postgres`.
on_both_backends! {
    every_command_and_exit_code,
    one_of_twelve_concurrent_generates_wins,
    rate_limit_holds_under_30_concurrent_verifies,
    forty_parallel_verifies_all_count = crate::backend::Backend::postgres_socket,
    kill_9_mid_command_changes_nothing,
    copy_round_trip,
    rekey_round_trip,
    settings_and_audit_filters,
}

// ---- 7. PostgreSQL only: what the database's operator can do with psql ----------------------

/// The store's tables and their primary keys. The tests read the columns from the database, so
/// a new column is attacked too; a new table fails [`tables_are_known`] until it is added here.
const TABLES: [(&str, &[&str]); 5] = [
    ("tokman_meta", &["singleton"]),
    ("tokman_slots", &["slot"]),
    ("tokman_tokens", &["id"]),
    ("tokman_nodes", &["level", "idx"]),
    ("tokman_audit", &["seq"]),
];

/// What a verify may answer on a tampered store: anything but 0, as long as it is a refusal
/// (unknown 1, expired 3, revoked 4, denied 5, unusable 10, locked 11, tampered 12).
const REFUSALS: [i32; 7] = [1, 3, 4, 5, 10, 11, 12];

const PASSPHRASE: &str = "operator may not know this passphrase";

/// Plaintext given to tokman, that no cell of the database may hold.
const PLAIN: [&str; 16] = [
    "user-expiring-quokka",
    "user-revoked-pangolin",
    "user-live-capybara",
    "user-writer-ibex",
    "name-expiring-wombat",
    "name-revoked-axolotl",
    "name-live-tapir",
    "desc-revoked-okapi",
    "desc-live-fossa",
    "a:read",
    "a:write",
    "10.77.0.0/16",
    "origin-plain.example",
    "reason-plain-manatee",
    "label-plain-gecko",
    "label-plain-newt",
];

/// A PostgreSQL store with a revoked, an expired, a live (`a:read`, IP- and origin-limited)
/// and a writer (`a:write`) token, three slots then four; `s0` holds every table as it was
/// before the revocation (and the fourth slot), `s1` as it is now.
struct Attacked {
    b: Backend,
    operator: std::sync::Mutex<Operator>,
    revoked: String,
    expired: String,
    live: String,
    writer: String,
    /// The audit head of `s1`.
    head: String,
}

const LIVE_CALLER: [&str; 4] = [
    "--ip",
    "10.77.1.1",
    "--origin",
    "https://origin-plain.example",
];

fn snapshot_sql(schema: &str) -> String {
    let mut sql = format!("CREATE SCHEMA {schema};\n");
    for (table, _) in TABLES {
        sql.push_str(&format!(
            "CREATE TABLE {schema}.{table} AS SELECT * FROM public.{table};\n"
        ));
    }
    sql
}

/// Put `tables` back as `schema` holds them (statements for one transaction).
fn restore_sql(schema: &str, tables: &[&str]) -> String {
    let mut sql = String::new();
    for table in tables {
        sql.push_str(&format!(
            "DELETE FROM public.{table}; INSERT INTO public.{table} SELECT * FROM {schema}.{table};\n"
        ));
    }
    sql
}

fn all_tables() -> Vec<&'static str> {
    TABLES.iter().map(|(t, _)| *t).collect()
}

impl Attacked {
    /// `None` without PostgreSQL (the harness said why).
    fn new() -> Option<Attacked> {
        // Over the socket: this test runs hundreds of verifies, and the transport is not what
        // it is about.
        let b = Backend::postgres_socket()?;
        b.init();
        let expired = b.generate(
            "user-expiring-quokka",
            &["--expires-in", "2s", "--name", "name-expiring-wombat"],
        );
        let born = Instant::now();
        let revoked = b.generate(
            "user-revoked-pangolin",
            &[
                "--scope",
                "a:read",
                "--name",
                "name-revoked-axolotl",
                "--description",
                "desc-revoked-okapi",
            ],
        );
        let live = b.generate(
            "user-live-capybara",
            &[
                "--scope",
                "a:read",
                "--name",
                "name-live-tapir",
                "--description",
                "desc-live-fossa",
                "--allow-ip",
                "10.77.0.0/16",
                "--allow-origin",
                "https://origin-plain.example",
            ],
        );
        let writer = b.generate(
            "user-writer-ibex",
            &["--scope", "a:write", "--scope", "a:read"],
        );
        let k2 = b.path("second.key");
        b.run(&[
            "key",
            "add-file",
            k2.to_str().unwrap(),
            "--label",
            "label-plain-gecko",
        ])
        .ok();
        let mut c = b.cmd();
        c.env("TOKMAN_NEW_PASSPHRASE", PASSPHRASE)
            .args(["key", "passphrase"]);
        run(c, "").ok();
        std::thread::sleep(Duration::from_millis(2500).saturating_sub(born.elapsed()));
        assert_eq!(b.verify_code(&revoked, &[]), 0);
        assert_eq!(b.verify_code(&expired, &[]), 3);
        b.psql(&snapshot_sql("s0"));

        let k3 = b.path("third.key");
        b.run(&[
            "key",
            "add-file",
            k3.to_str().unwrap(),
            "--label",
            "label-plain-newt",
        ])
        .ok();
        b.run(&[
            "revoke",
            &id_of(&revoked),
            "--reason",
            "reason-plain-manatee",
            "--yes",
        ])
        .ok();
        let operator = std::sync::Mutex::new(Operator::connect(b.cluster(), b.db()));
        let a = Attacked {
            head: String::new(),
            operator,
            b,
            revoked,
            expired,
            live,
            writer,
        };
        a.assert_pristine();
        let head = a.b.audit_head();
        a.b.psql(&snapshot_sql("s1"));
        Some(Attacked { head, ..a })
    }

    /// The state as tokman left it: the original answers, and the live tokens valid.
    #[track_caller]
    fn assert_pristine(&self) {
        let b = &self.b;
        assert_eq!(b.verify_code(&self.revoked, &[]), 4, "revoked");
        assert_eq!(b.verify_code(&self.expired, &[]), 3, "expired");
        let mut write = vec!["--scope", "a:write"];
        write.extend(LIVE_CALLER);
        assert_eq!(b.verify_code(&self.live, &write), 5, "live, a:write");
        let mut read = vec!["--scope", "a:read"];
        read.extend(LIVE_CALLER);
        assert_eq!(b.verify_code(&self.live, &read), 0, "live, a:read");
        assert_eq!(b.verify_code(&self.writer, &["--scope", "a:write"]), 0);
        b.audit_head();
    }

    /// Back to `s1`, then `edit` (in one transaction): `Ok` with the first column of the last
    /// row it returned when the database took it, `Err` when its own constraints refused it
    /// (the state is then `s1`).
    fn apply(&self, edit: &str) -> Result<String, String> {
        let mut operator = self.operator.lock().unwrap();
        operator
            .run(&restore_sql("s1", &all_tables()))
            .expect("restore s1");
        operator.run(edit).map(Option::unwrap_or_default)
    }

    /// The three verifies at once; the codes, and what is wrong with them.
    fn judge(&self) -> ([i32; 3], Vec<String>) {
        let b = &self.b;
        let mut write = vec!["--scope", "a:write"];
        write.extend(LIVE_CALLER);
        let children = [
            ("revoked", b.spawn_verify(&self.revoked, &[])),
            ("expired", b.spawn_verify(&self.expired, &[])),
            (
                "live with --scope a:write",
                b.spawn_verify(&self.live, &write),
            ),
        ];
        let mut codes = [0; 3];
        let mut wrong = Vec::new();
        for (i, (what, child)) in children.into_iter().enumerate() {
            let r = finish(child);
            codes[i] = r.code;
            let internal = r.stderr.contains("panicked") || r.stderr.contains("internal error");
            if !REFUSALS.contains(&r.code) || internal {
                wrong.push(format!(
                    "{what}: exit {}: {}{}",
                    r.code,
                    r.stdout,
                    r.stderr.trim()
                ));
            }
        }
        (codes, wrong)
    }

    fn columns(&self, table: &str) -> Vec<(String, String, bool)> {
        self.b
            .psql(&format!(
                "SELECT column_name, data_type, is_nullable FROM information_schema.columns \
                 WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position"
            ))
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split('|').collect();
                (f[0].to_owned(), f[1].to_owned(), f[2] == "YES")
            })
            .collect()
    }

    /// Every row's key values as text, in key order (of `s1`).
    fn keys(&self, table: &str, pk: &[&str]) -> Vec<Vec<String>> {
        let cols: Vec<String> = pk.iter().map(|k| format!("{k}::text")).collect();
        self.b
            .psql(&format!(
                "SELECT {} FROM s1.{table} ORDER BY {}",
                cols.join(", "),
                pk.join(", ")
            ))
            .lines()
            .map(|l| l.split('|').map(str::to_owned).collect())
            .collect()
    }
}

/// `pk = key` as SQL, on `alias` (columns compared as text).
fn row_is(pk: &[&str], key: &[String], alias: &str) -> String {
    let parts: Vec<String> = pk
        .iter()
        .zip(key)
        .map(|(k, v)| format!("{alias}{k}::text = '{}'", v.replace('\'', "''")))
        .collect();
    format!("({})", parts.join(" AND "))
}

/// One edit per way an operator could touch each column: bytes flipped, values truncated,
/// shifted, zeroed or NULLed, values swapped between two rows, rows deleted. Each edit prints
/// how many rows it changed (0: it changed nothing, and is not judged).
fn edits(a: &Attacked) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let token_rows: Vec<String> = [&a.revoked, &a.expired, &a.live]
        .iter()
        .map(|t| id_of(t))
        .collect();
    for (table, pk) in TABLES {
        let keys = a.keys(table, pk);
        let n = keys.len();
        let pairs: Vec<(usize, usize)> = if n <= 5 {
            (0..n)
                .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
                .collect()
        } else {
            let mut p: Vec<(usize, usize)> = [0, n / 3, 2 * n / 3, n - 2]
                .iter()
                .map(|&i| (i, i + 1))
                .collect();
            p.dedup();
            p
        };
        let last = row_is(pk, &keys[n - 1], "");
        let cols = a.columns(table);
        let names: Vec<&str> = cols.iter().map(|(c, ..)| c.as_str()).collect();
        for (col, ty, nullable) in &cols {
            let update = |set: &str, filter: &str| {
                format!(
                    "WITH u AS (UPDATE {table} SET {col} = {set} WHERE {col} IS NOT NULL AND \
                     {filter} RETURNING 1) SELECT count(*) FROM u;"
                )
            };
            let mut add = |what: &str, sql: String| {
                out.push((
                    format!("{table}.{col}: {what}"),
                    format!("{table}.{col}"),
                    sql,
                ));
            };
            match ty.as_str() {
                "bytea" => {
                    let first = format!("set_byte({col}, 0, get_byte({col}, 0) # 1)");
                    let lastb = format!(
                        "set_byte({col}, length({col}) - 1, get_byte({col}, length({col}) - 1) # 1)"
                    );
                    let nonempty = format!("length({col}) > 0");
                    add("first byte flipped in every row", update(&first, &nonempty));
                    add("last byte flipped in every row", update(&lastb, &nonempty));
                    add(
                        "last byte cut off in every row",
                        update(
                            &format!("substring({col} from 1 for length({col}) - 1)"),
                            &nonempty,
                        ),
                    );
                    if table == "tokman_tokens" {
                        for id in &token_rows {
                            add(
                                &format!("last byte flipped in {id}"),
                                update(&lastb, &format!("{nonempty} AND id = '{id}'")),
                            );
                        }
                    } else {
                        add(
                            "last byte flipped in the last row",
                            update(&lastb, &format!("{nonempty} AND {last}")),
                        );
                    }
                }
                "integer" | "bigint" => {
                    let extreme = |order: &str| {
                        format!(
                            "ctid = (SELECT ctid FROM {table} WHERE {col} IS NOT NULL \
                             ORDER BY {col} {order} LIMIT 1)"
                        )
                    };
                    add(
                        "highest value + 1",
                        update(&format!("{col} + 1"), &extreme("DESC")),
                    );
                    add(
                        "lowest value - 1",
                        update(&format!("{col} - 1"), &extreme("ASC")),
                    );
                    add("every row + 1000", update(&format!("{col} + 1000"), "true"));
                    add("every row 0", update("0", &format!("{col} <> 0")));
                }
                "text" => {
                    add(
                        "'x' appended in every row",
                        update(&format!("{col} || 'x'"), "true"),
                    );
                    add(
                        "first character changed in every row",
                        update(
                            &format!(
                                "(CASE WHEN left({col}, 1) = 'a' THEN 'b' ELSE 'a' END) || substr({col}, 2)"
                            ),
                            &format!("length({col}) > 0"),
                        ),
                    );
                }
                other => panic!("{table}.{col}: no edits for type {other}"),
            }
            if *nullable {
                add("NULL in every row", update("NULL", "true"));
            }
            for &(i, j) in &pairs {
                let (x, y) = (&keys[i], &keys[j]);
                let both = format!("{} OR {}", row_is(pk, x, ""), row_is(pk, y, ""));
                let pk_x: Vec<String> = pk.iter().map(|k| format!("x.{k}")).collect();
                let pk_y: Vec<String> = pk.iter().map(|k| format!("y.{k}")).collect();
                let select: Vec<String> = names
                    .iter()
                    .map(|c| {
                        if c == col {
                            format!(
                                "(SELECT y.{c} FROM sw y WHERE ROW({}) IS DISTINCT FROM ROW({}))",
                                pk_y.join(", "),
                                pk_x.join(", ")
                            )
                        } else {
                            format!("x.{c}")
                        }
                    })
                    .collect();
                let sql = format!(
                    "CREATE TEMP TABLE sw AS SELECT * FROM {table} WHERE {both};\n\
                     DELETE FROM {table} WHERE {both};\n\
                     INSERT INTO {table} ({}) SELECT {} FROM sw x;\n\
                     SELECT CASE WHEN (SELECT {col} FROM sw ORDER BY {pks} LIMIT 1) IS DISTINCT FROM \
                     (SELECT {col} FROM sw ORDER BY {pks} OFFSET 1 LIMIT 1) THEN 2 ELSE 0 END;\n\
                     DROP TABLE sw;",
                    names.join(", "),
                    select.join(", "),
                    pks = pk.join(", "),
                );
                add(
                    &format!("swapped between rows {} and {}", x.join("/"), y.join("/")),
                    sql,
                );
            }
        }
        let deletions: Vec<&Vec<String>> = if n <= 5 {
            keys.iter().collect()
        } else {
            vec![&keys[0], &keys[n - 1]]
        };
        for key in deletions {
            out.push((
                format!("{table}: row {} deleted", key.join("/")),
                String::new(),
                format!(
                    "WITH d AS (DELETE FROM {table} WHERE {} RETURNING 1) SELECT count(*) FROM d;",
                    row_is(pk, key, "")
                ),
            ));
        }
    }
    out
}

/// The store's tables are the ones this file attacks, and the database holds no others.
fn tables_are_known(b: &Backend) {
    let got = b.psql(
        "SELECT table_schema || '.' || table_name FROM information_schema.tables \
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema', 's0', 's1') ORDER BY 1",
    );
    let mut want: Vec<String> = TABLES.iter().map(|(t, _)| format!("public.{t}")).collect();
    want.sort();
    assert_eq!(
        got.lines().collect::<Vec<_>>(),
        want,
        "the store's tables changed: attack the new ones too"
    );
}

/// Whether the store is now `schema`'s state, but for the usage counters (which the integrity
/// root does not cover, as README says).
fn is_state_of(b: &Backend, schema: &str) -> bool {
    let mut parts = Vec::new();
    for (table, _) in TABLES {
        let cols = if table == "tokman_tokens" {
            "id, user_ix, active_ix, secret_mac, record, bucket, leaf".to_owned()
        } else {
            "*".to_owned()
        };
        parts.push(format!(
            "(SELECT count(*) FROM ((SELECT {cols} FROM public.{table} EXCEPT ALL \
             SELECT {cols} FROM {schema}.{table}) UNION ALL (SELECT {cols} FROM {schema}.{table} \
             EXCEPT ALL SELECT {cols} FROM public.{table})) d)"
        ));
    }
    b.psql(&format!("SELECT {};", parts.join(" + "))) == "0"
}

fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02x}")).collect()
}

/// Every column of every table, edited as an operator with `psql` could (bytes flipped or cut,
/// integers shifted or zeroed, text changed, NULLs, values swapped between rows, rows deleted),
/// one edit at a time from the pristine state: the revoked and the expired token never verify,
/// the live one never gets `a:write`.
#[test]
fn psql_edits_of_any_cell_never_revive_or_widen_a_token() {
    let Some(a) = Attacked::new() else { return };
    tables_are_known(&a.b);
    let started = Instant::now();
    let all = edits(&a);
    let (mut judged, mut refused, mut no_op) = (0, 0, 0);
    let mut changed: BTreeSet<String> = BTreeSet::new();
    let mut refused_cols: BTreeSet<String> = BTreeSet::new();
    let mut outcomes: BTreeMap<[i32; 3], usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for (what, column, edit) in &all {
        match a.apply(edit) {
            Err(_) => {
                refused += 1;
                refused_cols.insert(column.clone());
            }
            Ok(out) if out.trim() == "0" => no_op += 1,
            Ok(_) => {
                judged += 1;
                changed.insert(column.clone());
                let (codes, wrong) = a.judge();
                *outcomes.entry(codes).or_insert(0) += 1;
                for w in wrong {
                    failures.push(format!("{what}: {w}"));
                }
            }
        }
    }
    // The control: back to s1, everything answers as before.
    a.apply("SELECT 1;").unwrap();
    a.assert_pristine();
    eprintln!(
        "psql edits: {} edits in {:.1?}: {judged} judged, {refused} refused by the database, \
         {no_op} changed nothing; answers (revoked, expired, live a:write): {outcomes:?}",
        all.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {judged} edits made tokman answer other than with a refusal:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // Every column was changed at least once, or the database refused every change of it
    // (its CHECK constraints: tokman_meta.singleton, .application).
    for (table, _) in TABLES {
        for (col, ..) in a.columns(table) {
            let name = format!("{table}.{col}");
            assert!(
                changed.contains(&name) || refused_cols.contains(&name),
                "{name} was never edited"
            );
            if !changed.contains(&name) {
                eprintln!("psql edits: every edit of {name} was refused by the database");
            }
        }
    }
    assert!(judged >= 150, "only {judged} edits judged");
}

/// Tables (and the revoked token's row) put back from a dump taken before the revocation, one
/// at a time and in every combination: short of the whole earlier state the revoked token is
/// never valid again; the whole earlier state is caught by `audit --check --expect-head`.
///
/// Fails with tokman as it is: putting back every table but `tokman_nodes` revives the revoked
/// token, on either backend. `verify` proves the token's bucket against the root through the
/// stored siblings of its path only, never comparing the stored nodes on the path itself, so
/// the stale nodes go unnoticed by it (`audit --check` refuses that state, exit 12, and every
/// other token is refused too).
#[test]
fn psql_restores_of_earlier_rows_never_revive_a_revoked_token() {
    let Some(a) = Attacked::new() else { return };
    let b = &a.b;
    tables_are_known(b);
    let tables = all_tables();
    // Every table changed with the revocation (and the fourth slot), so putting back some of
    // them is short of the whole earlier state.
    for table in &tables {
        let differs = b.psql(&format!(
            "SELECT count(*) FROM ((TABLE s0.{table} EXCEPT ALL TABLE s1.{table}) UNION ALL \
             (TABLE s1.{table} EXCEPT ALL TABLE s0.{table})) d"
        ));
        assert_ne!(
            differs, "0",
            "{table} is the same before and after the revocation"
        );
    }
    let id = id_of(&a.revoked);
    let mut cases: Vec<(String, String)> = Vec::new();
    for mask in 1u32..(1 << tables.len()) {
        let subset: Vec<&str> = (0..tables.len())
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| tables[i])
            .collect();
        cases.push((
            format!("tables {subset:?} from before"),
            restore_sql("s0", &subset),
        ));
    }
    // The revoked token's row alone, with any of the other tables.
    let others: Vec<&str> = tables
        .iter()
        .copied()
        .filter(|t| *t != "tokman_tokens")
        .collect();
    for mask in 0u32..(1 << others.len()) {
        let subset: Vec<&str> = (0..others.len())
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| others[i])
            .collect();
        cases.push((
            format!("{id}'s row and tables {subset:?} from before"),
            format!(
                "DELETE FROM tokman_tokens WHERE id = '{id}';\n\
                 INSERT INTO tokman_tokens SELECT * FROM s0.tokman_tokens WHERE id = '{id}';\n{}",
                restore_sql("s0", &subset)
            ),
        ));
    }
    let (mut short, mut whole) = (0, 0);
    let mut failures = Vec::new();
    for (what, sql) in &cases {
        a.apply(sql)
            .unwrap_or_else(|e| panic!("{what}: the database refused: {e}"));
        let earlier = is_state_of(b, "s0");
        let r = b.verify(&a.revoked, &[]);
        assert_sane(&r, what);
        if earlier {
            // A whole earlier state (counters aside): self-consistent, so the token may
            // verify; the head noted since gives it away.
            whole += 1;
            if r.code == 0 {
                let r = b.run(&["audit", "--check", "--expect-head", &a.head]);
                if r.code != 12 {
                    failures.push(format!(
                        "{what}: a whole earlier state passes --expect-head of a later head \
                         (exit {})",
                        r.code
                    ));
                }
            }
        } else {
            short += 1;
            if !REFUSALS.contains(&r.code) {
                let check = b.run(&["audit", "--check"]);
                let live = b.verify(&a.writer, &[]);
                failures.push(format!(
                    "{what}: `verify` of the revoked token: exit {} ({}), while `audit --check` \
                     says exit {} ({}) and the untouched writer token gets exit {}",
                    r.code,
                    r.stdout.trim(),
                    check.code,
                    check.stderr.lines().next().unwrap_or_default(),
                    live.code
                ));
            }
        }
    }
    a.apply("SELECT 1;").unwrap();
    a.assert_pristine();
    eprintln!(
        "psql restores: {} cases, {short} short of the whole earlier state, {whole} whole",
        cases.len()
    );
    assert!(
        failures.is_empty(),
        "restoring earlier rows revived a revoked token:\n{}",
        failures.join("\n")
    );
    assert!(short >= 40, "only {short} partial restores");
}

/// Every cell of the database, as text: no user name, token name, description, scope,
/// allow-list entry, revoke reason, slot label, secret or key, as text or as bytes.
#[test]
fn the_database_operator_sees_no_names_scopes_or_secrets() {
    let Some(a) = Attacked::new() else { return };
    let b = &a.b;
    tables_are_known(b);
    let mut dump = String::new();
    for (table, _) in TABLES {
        dump.push_str(&b.psql(&format!("SELECT t::text FROM public.{table} t")));
        dump.push('\n');
    }
    // The dump is real: it shows what is public by design.
    assert!(dump.contains(&id_of(&a.live)), "{dump}");
    let mut secret: Vec<String> = PLAIN.iter().map(|s| s.to_string()).collect();
    secret.push(PASSPHRASE.to_owned());
    for token in [&a.revoked, &a.expired, &a.live, &a.writer] {
        secret.push(token[id_of(token).len() + 1..].to_owned());
    }
    // The key file's key, as text and as bytes.
    let key = std::fs::read_to_string(&b.key).unwrap();
    let (_, encoded) = key.trim().rsplit_once(':').expect("a key file");
    let raw = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .expect("base64")
    };
    secret.push(encoded.to_owned());
    let raw_hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!dump.contains(&raw_hex), "a cell holds the key file's key");
    for s in &secret {
        assert!(
            !dump.contains(s.as_str()),
            "a cell holds {s:?} in plaintext"
        );
        assert!(
            !dump.contains(&hex(s)),
            "a cell holds {s:?} in plaintext bytes"
        );
    }
}
