//! The contract's guarantees under abuse: bad store files, concurrent commands, kills
//! mid-command, read-only and full disks, malformed input, and secret hygiene.

mod common;
use common::{Env, Run, contains};

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use tokman::error::ErrorKind;
use tokman::lifecycle::Check;
use tokman::service::{Filter, Service};
use tokman::store::{Durability, Location, Store, Unlock};

fn sibling(path: &Path, ext: &str) -> PathBuf {
    let mut p = path.to_path_buf().into_os_string();
    p.push(ext);
    PathBuf::from(p)
}

fn run_on(env: &Env, store: &Path, args: &[&str], stdin: &str) -> Run {
    let mut c = env.cmd();
    c.env("TOKMAN_STORE", store)
        .args(args)
        .write_stdin(stdin.to_owned());
    Env::output(c)
}

fn assert_no_panic(r: &Run, what: &str) {
    assert!(
        ![70, 101, -1].contains(&r.code) && !r.stderr.contains("panicked"),
        "{what}: exit {}; stderr: {}",
        r.code,
        r.stderr
    );
}

/// Every command that opens a store, with what it needs to get that far.
fn store_commands(id: &str) -> Vec<Vec<&str>> {
    vec![
        vec!["list"],
        vec!["verify"],
        vec!["generate", "mallory"],
        vec!["revoke", id, "--yes"],
        vec!["rotate", id, "--yes"],
        vec!["purge"],
        vec!["audit"],
        vec!["audit", "--check"],
        vec!["key", "list"],
        vec!["inspect", id],
    ]
}

// ---- bad store files ---------------------------------------------------------------------

#[test]
fn bad_store_files_are_refused_unchanged_without_a_panic() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    let id = Env::id_of(&token);
    let real = std::fs::read(&env.store).unwrap();
    assert!(real.len() > 2000);

    let foreign = env.path("foreign.db");
    {
        let c = rusqlite::Connection::open(&foreign).unwrap();
        c.execute_batch("CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('hi');")
            .unwrap();
        c.close().unwrap();
    }
    let newer = env.path("newer.db");
    std::fs::copy(&env.store, &newer).unwrap();
    {
        let c = rusqlite::Connection::open(&newer).unwrap();
        c.pragma_update(None, "user_version", 99).unwrap();
        c.close().unwrap();
    }
    let mut garbage = Vec::new();
    for i in 0..8192u32 {
        garbage.push((i.wrapping_mul(2_654_435_761) >> 13) as u8);
    }
    let cases: Vec<(&str, PathBuf)> = vec![
        ("garbage", write(&env, "garbage.db", &garbage)),
        (
            "first 1000 bytes",
            write(&env, "trunc1000.db", &real[..1000]),
        ),
        ("half", write(&env, "half.db", &real[..real.len() / 2])),
        ("empty", write(&env, "empty.db", &[])),
        ("another app's database", foreign),
        ("a newer store version", newer),
    ];
    let mut runs = 0;
    for (what, path) in &cases {
        let before = std::fs::read(path).unwrap();
        for args in store_commands(&id) {
            let r = run_on(&env, path, &args, &format!("{token}\n"));
            runs += 1;
            let ctx = format!("{what}: tokman {}", args.join(" "));
            assert_no_panic(&r, &ctx);
            assert!(
                [10, 12].contains(&r.code),
                "{ctx}: exit {}; stderr: {}",
                r.code,
                r.stderr
            );
            assert!(
                r.stderr.lines().any(|l| l.starts_with("error: ")),
                "{ctx}: {}",
                r.stderr
            );
            assert_eq!(std::fs::read(path).unwrap(), before, "{ctx}: file changed");
            for ext in ["-wal", "-shm", "-journal"] {
                assert!(!sibling(path, ext).exists(), "{ctx}: left {ext} behind");
            }
        }
    }
    // A newer store says to upgrade rather than calling it damaged.
    let r = run_on(&env, &cases[5].1, &["list"], "");
    assert!(r.stderr.contains("newer"), "{}", r.stderr);

    let dir = env.path("a-directory");
    std::fs::create_dir(&dir).unwrap();
    for args in store_commands(&id) {
        let r = run_on(&env, &dir, &args, &format!("{token}\n"));
        runs += 1;
        assert_eq!(r.code, 10, "directory: {args:?}: {}", r.stderr);
        assert!(r.stderr.contains("error: "), "{}", r.stderr);
    }
    eprintln!(
        "hardening: {runs} runs over {} bad store files and a directory",
        cases.len()
    );
}

fn write(env: &Env, name: &str, bytes: &[u8]) -> PathBuf {
    let p = env.path(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

// ---- races -------------------------------------------------------------------------------

fn locked_talk(stderr: &str) -> bool {
    let s = stderr.to_lowercase();
    s.contains("locked") || s.contains("busy")
}

#[test]
fn twenty_users_at_once_stay_consistent() {
    let env = Arc::new(Env::new());
    let users: Vec<String> = (0..20).map(|i| format!("user{i}")).collect();
    let handles: Vec<_> = users
        .iter()
        .enumerate()
        .map(|(i, user)| {
            let env = Arc::clone(&env);
            let user = user.clone();
            std::thread::spawn(move || {
                let mut printed = Vec::new();
                let check = |r: &Run, what: &str| {
                    assert_no_panic(r, what);
                    assert!(!locked_talk(&r.stderr), "{what}: {}", r.stderr);
                };
                let g = env.run(&["generate", &user]);
                check(&g, "generate");
                g.ok();
                let first = g.stdout.trim().to_owned();
                printed.push(first.clone());
                let v = env.verify(&first, &[]);
                check(&v, "verify");
                v.ok();
                let r = env.run(&["rotate", "--user", &user, "--yes"]);
                check(&r, "rotate");
                r.ok();
                let second = r.stdout.trim().to_owned();
                printed.push(second.clone());
                let l = env.run(&["list", "--json"]);
                check(&l, "list");
                l.ok();
                if i % 2 == 0 {
                    let r = env.run(&["revoke", "--user", &user, "--yes"]);
                    check(&r, "revoke");
                    r.ok();
                } else {
                    let r = env.run(&["generate", &user]);
                    check(&r, "second generate");
                    r.code(7);
                }
                (user, i % 2 == 0, first, second)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();

    let all = env.run(&["list", "--json"]);
    all.ok();
    let records = all.json();
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 40, "every printed token is in the store");
    let mut active: HashMap<String, usize> = HashMap::new();
    for r in records {
        if r["status"] == "active" {
            *active
                .entry(r["user"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
    }
    for (user, revoked, first, second) in &results {
        assert!(active.get(user).copied().unwrap_or(0) <= 1, "{user}");
        for t in [first, second] {
            assert!(
                records.iter().any(|r| r["id"] == Env::id_of(t)),
                "{t} listed"
            );
        }
        env.verify(first, &[]).code(4);
        env.verify(second, &[]).code(if *revoked { 4 } else { 0 });
    }
    eprintln!("hardening: 20 users x 5 commands at once, 40 tokens accounted for");
}

#[test]
fn verify_during_rotations_answers_only_valid_or_revoked() {
    let env = Arc::new(Env::new());
    let first = env.generate("alice", &[]);
    let tokens = Arc::new(Mutex::new(vec![first]));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let rotator = {
        let (env, tokens, done) = (Arc::clone(&env), Arc::clone(&tokens), Arc::clone(&done));
        std::thread::spawn(move || {
            for _ in 0..8 {
                let r = env.run(&["rotate", "--user", "alice", "--yes"]);
                r.ok();
                tokens.lock().unwrap().push(r.stdout.trim().to_owned());
                // Leave the newest token valid for a moment, so both answers get exercised.
                std::thread::sleep(Duration::from_millis(50));
            }
            done.store(true, std::sync::atomic::Ordering::SeqCst);
        })
    };
    let mut answers: HashMap<i32, u32> = HashMap::new();
    let mut n = 0;
    while !done.load(std::sync::atomic::Ordering::SeqCst) || n < 4 {
        let (oldest, newest) = {
            let t = tokens.lock().unwrap();
            (t[0].clone(), t[t.len() - 1].clone())
        };
        for t in [&oldest, &newest] {
            let r = env.verify(t, &[]);
            assert!(
                [0, 4].contains(&r.code),
                "verify during rotation: exit {}; {}",
                r.code,
                r.stderr
            );
            *answers.entry(r.code).or_default() += 1;
        }
        n += 1;
    }
    rotator.join().unwrap();
    let tokens = tokens.lock().unwrap();
    env.verify(tokens.last().unwrap(), &[]).ok();
    for t in &tokens[..tokens.len() - 1] {
        env.verify(t, &[]).code(4);
    }
    eprintln!("hardening: {n} verify rounds during 8 rotations, answers {answers:?}");
}

// ---- kills -------------------------------------------------------------------------------

/// A tiny deterministic generator for kill delays (no timing is asserted).
struct XorShift(u64);
impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// What the test knows of a user's token after a kill.
#[derive(Clone)]
enum Known {
    /// Printed in full, and not since revoked or rotated as far as we know: must verify.
    Live(String),
    /// A revoke or rotate of it was killed unreported: may be valid or revoked.
    Maybe(String),
    Gone,
}

#[test]
fn kill_at_random_moments_leaves_a_consistent_store() {
    let env = Env::new();
    let bin = assert_cmd::cargo::cargo_bin("tokman");
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut known: HashMap<String, Known> = HashMap::new();
    let (mut kills, mut printed) = (0, 0);
    let iterations = 30;
    for i in 0..iterations {
        let existing: Vec<String> = known
            .iter()
            .filter(|(_, k)| matches!(k, Known::Live(_)))
            .map(|(u, _)| u.clone())
            .collect();
        let (op, user) = match (i % 3, existing.first()) {
            (1, Some(u)) => ("rotate", u.clone()),
            (2, Some(u)) => ("revoke", u.clone()),
            _ => ("generate", format!("k{i}")),
        };
        let mut cmd = Command::new(&bin);
        cmd.env("TOKMAN_STORE", &env.store)
            .env("TOKMAN_KEY_FILE", env.key.as_ref().unwrap())
            .env_remove("TOKMAN_PASSPHRASE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        match op {
            "generate" => cmd.args(["generate", &user]),
            other => cmd.args([other, "--user", &user, "--yes"]),
        };
        let mut child = cmd.spawn().unwrap();
        std::thread::sleep(Duration::from_millis(rng.below(31)));
        if child.try_wait().unwrap().is_none() {
            kills += 1;
        }
        let _ = child.kill();
        let status = child.wait().unwrap();
        let mut out = String::new();
        child
            .stdout
            .take()
            .unwrap()
            .read_to_string(&mut out)
            .unwrap();
        let line = out
            .strip_suffix('\n')
            .filter(|t| t.len() == 65 && !t.contains('\n'));
        let reported = status.success();
        match op {
            "generate" => {
                if let Some(t) = line {
                    printed += 1;
                    known.insert(user.clone(), Known::Live(t.to_owned()));
                }
            }
            "rotate" => {
                let old = match &known[&user] {
                    Known::Live(t) | Known::Maybe(t) => t.clone(),
                    Known::Gone => unreachable!(),
                };
                if let Some(t) = line {
                    printed += 1;
                    assert_eq!(verify_code(&env, &old), 4, "rotated token is revoked");
                    known.insert(user.clone(), Known::Live(t.to_owned()));
                } else {
                    known.insert(user.clone(), Known::Maybe(old));
                }
            }
            _ => {
                let Known::Live(old) = known[&user].clone() else {
                    unreachable!()
                };
                if reported {
                    assert_eq!(verify_code(&env, &old), 4, "reported revocation holds");
                    known.insert(user.clone(), Known::Gone);
                } else {
                    known.insert(user.clone(), Known::Maybe(old));
                }
            }
        }
        check_consistent(&env, &mut known, i);
    }
    eprintln!(
        "hardening: {iterations} kill points, {kills} killed mid-run, {printed} tokens printed in full"
    );
}

fn verify_code(env: &Env, token: &str) -> i32 {
    let r = env.verify(token, &[]);
    assert_no_panic(&r, "verify after kill");
    r.code
}

fn check_consistent(env: &Env, known: &mut HashMap<String, Known>, i: usize) {
    let r = env.run(&["audit", "--check"]);
    assert_eq!(r.code, 0, "iteration {i}: audit --check: {}", r.stderr);
    let r = env.run(&["list", "--json", "--status", "active"]);
    assert_eq!(r.code, 0, "iteration {i}: list: {}", r.stderr);
    let mut seen = HashSet::new();
    for rec in r.json().as_array().unwrap() {
        let user = rec["user"].as_str().unwrap().to_owned();
        assert!(seen.insert(user.clone()), "{user} has two active tokens");
    }
    for (user, k) in known.iter_mut() {
        match k.clone() {
            Known::Live(t) => assert_eq!(verify_code(env, &t), 0, "{user}'s printed token"),
            Known::Maybe(t) => match verify_code(env, &t) {
                0 => *k = Known::Live(t),
                4 => *k = Known::Gone,
                c => panic!("{user}: a half-revoked token gave exit {c}"),
            },
            Known::Gone => {}
        }
    }
}

// ---- read-only and full disks ------------------------------------------------------------

const WRITE_COMMANDS: [&[&str]; 3] = [
    &["generate", "bob"],
    &["revoke", "--user", "alice", "--yes"],
    &["purge", "--revoked"],
];

fn assert_write_refused(env: &Env, store: &Path, what: &str) {
    let before = std::fs::read(store).unwrap();
    for args in WRITE_COMMANDS {
        let r = run_on(env, store, args, "");
        assert_no_panic(&r, what);
        assert_eq!(r.code, 10, "{what}: {args:?}: {}", r.stderr);
        assert!(r.stderr.contains("error: "), "{}", r.stderr);
        assert_eq!(std::fs::read(store).unwrap(), before, "{what}: {args:?}");
        eprintln!("hardening: {what}: {args:?}: {}", r.stderr.trim());
    }
}

#[test]
fn read_only_store_file_refuses_writes_unchanged() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    env.generate("alice", &[]);
    env.generate("carol", &["--expires-in", "1s"]);
    std::fs::set_permissions(&env.store, std::fs::Permissions::from_mode(0o444)).unwrap();
    if std::fs::OpenOptions::new()
        .write(true)
        .open(&env.store)
        .is_ok()
    {
        eprintln!("hardening: skipped read-only file test: chmod does not bind this user (root)");
        return;
    }
    assert_write_refused(&env, &env.store, "read-only file");
    let r = env.run(&["generate", "bob"]);
    assert!(r.stderr.contains("read-only"), "{}", r.stderr);
}

#[test]
fn read_only_directory_refuses_writes_unchanged() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    env.generate("alice", &[]);
    let dir = env.path("ro");
    std::fs::create_dir(&dir).unwrap();
    let store = dir.join("store.db");
    std::fs::copy(&env.store, &store).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    let probe = std::fs::File::create(dir.join("probe"));
    if probe.is_ok() {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        eprintln!("hardening: skipped read-only directory test: chmod does not bind this user");
        return;
    }
    assert_write_refused(&env, &store, "read-only directory");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A tmpfs mounted for one test, unmounted on drop; `None` when mounting is not allowed.
struct Mount(PathBuf);
impl Mount {
    fn tmpfs(at: PathBuf, opts: &str) -> Option<Mount> {
        std::fs::create_dir_all(&at).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", opts, "tmpfs"])
            .arg(&at)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Mount(at))
    }
    fn remount(&self, opts: &str) -> bool {
        Command::new("mount")
            .args(["-o", &format!("remount,{opts}")])
            .arg(&self.0)
            .status()
            .is_ok_and(|s| s.success())
    }
}
impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn read_only_file_system_refuses_writes_unchanged() {
    let env = Env::new();
    env.generate("alice", &[]);
    let Some(mnt) = Mount::tmpfs(env.path("rofs"), "size=1m,mode=0700") else {
        eprintln!("hardening: skipped read-only file system test: cannot mount a tmpfs");
        return;
    };
    let store = mnt.0.join("store.db");
    std::fs::copy(&env.store, &store).unwrap();
    assert!(mnt.remount("ro"));
    assert_write_refused(&env, &store, "read-only file system");
    let r = run_on(&env, &store, &["list"], "");
    eprintln!(
        "hardening: read-only file system: list exits {} ({})",
        r.code,
        r.stderr.trim()
    );
    assert_no_panic(&r, "list on a read-only file system");
}

#[test]
fn full_disk_changes_nothing() {
    let env = Env::new();
    let alice = env.generate("alice", &[]);
    let Some(mnt) = Mount::tmpfs(env.path("full"), "size=256k,mode=0700") else {
        eprintln!("hardening: skipped full-disk test: cannot mount a tmpfs");
        return;
    };
    let store = mnt.0.join("store.db");
    std::fs::copy(&env.store, &store).unwrap();
    // Fill the disk to the last byte.
    let filler = mnt.0.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let chunk = vec![0u8; 4096];
    while f.write_all(&chunk).is_ok() {}
    let mut one = [0u8; 1];
    while f.write_all(&one).is_ok() {
        one[0] = 1;
    }
    drop(f);
    let before = std::fs::read(&store).unwrap();
    for args in [
        &["generate", "bob"][..],
        &["rotate", "--user", "alice", "--yes"],
        &["revoke", "--user", "alice", "--yes"],
    ] {
        let r = run_on(&env, &store, args, "");
        assert_no_panic(&r, "full disk");
        assert_eq!(r.code, 10, "full disk: {args:?}: {}", r.stderr);
        assert!(r.stderr.contains("error: "), "{}", r.stderr);
        assert!(r.stdout.is_empty(), "no token printed: {}", r.stdout);
        assert_eq!(std::fs::read(&store).unwrap(), before, "{args:?}");
        eprintln!("hardening: full disk: {args:?}: {}", r.stderr.trim());
    }
    std::fs::remove_file(&filler).unwrap();
    let r = run_on(&env, &store, &["verify"], &format!("{alice}\n"));
    assert_eq!(
        r.code, 0,
        "alice still valid once space is back: {}",
        r.stderr
    );
    let r = run_on(&env, &store, &["audit", "--check"], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = run_on(&env, &store, &["list", "--json"], "");
    assert_eq!(r.json().as_array().unwrap().len(), 1, "no token was added");
}

// ---- bad input ---------------------------------------------------------------------------

#[test]
fn malformed_tokens_are_exit_1_without_a_panic() {
    let env = Env::new();
    let token = env.generate("alice", &[]);
    let other = Env::new().generate("alice", &[]);
    let id = Env::id_of(&token);
    let body = &token[token.len() - 49..];
    let mut bad_check = token.clone().into_bytes();
    let last = bad_check.len() - 1;
    bad_check[last] = if bad_check[last] == b'0' { b'1' } else { b'0' };
    let bad_check = String::from_utf8(bad_check).unwrap();
    // The right checksum over a wrong body: well-formed, unknown.
    let wrong_body = {
        let other_body = &other[other.len() - 49..other.len() - 6];
        let signed = format!("{id}_{other_body}");
        let mut n = crc32fast::hash(signed.as_bytes());
        let alphabet = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
        let mut check = [b'0'; 6];
        for c in check.iter_mut().rev() {
            *c = alphabet[(n % 62) as usize];
            n /= 62;
        }
        format!("{signed}{}", std::str::from_utf8(&check).unwrap())
    };
    let inputs: Vec<String> = vec![
        String::new(),
        "   \t \n\n".into(),
        format!("xx_{}", &token[3..]),
        format!("TM_{}", &token[3..]),
        format!("{id}_{}", &body[..48]),
        format!("{id}_{body}x"),
        wrong_body,
        bad_check,
        format!("{}é", &token[..64]),
        format!("{token}\u{0}"),
        format!("{}\u{0}{}", &token[..30], &token[31..]),
        "🔑".repeat(20),
        format!("{token} {token}"),
        token.replace('_', "-"),
        other.clone(),
        "tm_".into(),
        "_".repeat(65),
    ];
    let mut n = 0;
    for input in &inputs {
        for args in [&["verify"][..], &["verify", "--json"], &["inspect", "-"]] {
            let r = env.run_in(args, input);
            n += 1;
            assert_no_panic(&r, input);
            assert_eq!(r.code, 1, "{args:?} {input:?}: {}", r.stderr);
            assert!(!r.stdout.contains(body) && !r.stderr.contains(body));
        }
    }
    // Invalid UTF-8 and 1 MB on stdin, through a raw pipe.
    for bytes in [vec![0xff, 0xfe, b'\n'], vec![b'a'; 1 << 20]] {
        let r = raw_stdin(&env, &["verify"], &bytes);
        n += 1;
        assert_no_panic(&r, "raw stdin");
        assert_eq!(r.code, 1, "{}", r.stderr);
    }
    env.verify(&token, &[]).ok();
    eprintln!("hardening: {n} malformed inputs tried");
}

fn raw_stdin(env: &Env, args: &[&str], bytes: &[u8]) -> Run {
    let bin = assert_cmd::cargo::cargo_bin("tokman");
    let mut child = Command::new(bin)
        .env("TOKMAN_STORE", &env.store)
        .env("TOKMAN_KEY_FILE", env.key.as_ref().unwrap())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let bytes = bytes.to_vec();
    // The reader may stop early: a broken pipe on this side is expected.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&bytes);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

// ---- mutated stores through the library --------------------------------------------------

struct Pristine {
    _env: Env,
    bytes: Vec<u8>,
    key: PathBuf,
    token: String,
}

fn pristine() -> &'static Pristine {
    static P: std::sync::OnceLock<Pristine> = std::sync::OnceLock::new();
    P.get_or_init(|| {
        let env = Env::new();
        let token = env.generate("alice", &["--scope", "posts:read"]);
        env.generate("bob", &[]);
        env.run(&["revoke", "--user", "bob", "--yes"]).ok();
        Pristine {
            bytes: std::fs::read(&env.store).unwrap(),
            key: env.key.clone().unwrap(),
            token,
            _env: env,
        }
    })
}

fn open_mutated(bytes: &[u8]) -> Result<(), (ErrorKind, String)> {
    let p = pristine();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    std::fs::write(&path, bytes).unwrap();
    let code = |e: tokman::Error| (e.kind(), e.to_string());
    let mut store =
        Store::open(&Location::Sqlite(path.clone()), Durability::Normal).map_err(code)?;
    let key = tokman::store::read_key_file(&p.key).map_err(code)?;
    let unlocked = store.unlock(&Unlock::KeyFile(key)).map_err(code)?;
    let mut service = Service::new(store, unlocked);
    service.list(&Filter::default(), 0).map_err(code)?;
    let presented = tokman::token::parse(&p.token).unwrap();
    service
        .verify(&presented, &Check::default(), 0)
        .map_err(code)?;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_store_files_fail_cleanly(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..16),
        cut in proptest::option::weighted(0.2, any::<prop::sample::Index>()),
    ) {
        let mut bytes = pristine().bytes.clone();
        for (at, value) in edits {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        if let Some(cut) = cut {
            bytes.truncate(cut.index(bytes.len()));
        }
        if let Err((kind, message)) = open_mutated(&bytes) {
            let store_errors = [
                ErrorKind::StoreMissing,
                ErrorKind::StoreUnavailable,
                ErrorKind::Locked,
                ErrorKind::Corrupt,
            ];
            prop_assert!(store_errors.contains(&kind), "{:?}: {}", kind, message);
        }
    }
}

// ---- secret hygiene ----------------------------------------------------------------------

#[test]
fn secrets_appear_only_where_they_are_shown_once() {
    let env = Env::new();
    let pass = "tr0ub4dor-and-3-more-words";
    let mut outputs: Vec<(String, Run)> = Vec::new();
    let mut record = |what: &str, r: Run| {
        assert_no_panic(&r, what);
        outputs.push((what.to_owned(), r));
        outputs.last().unwrap().1.code
    };
    let mut c = env.cmd();
    c.args(["key", "passphrase"])
        .env("TOKMAN_NEW_PASSPHRASE", pass)
        .write_stdin("");
    assert_eq!(record("key passphrase", Env::output(c)), 0);
    let k2 = env.path("second.key");
    assert_eq!(
        record(
            "key add-file",
            env.run(&["key", "add-file", k2.to_str().unwrap()])
        ),
        0
    );
    let g = env.run(&["generate", "alice", "--scope", "posts:read"]);
    let alice = g.stdout.trim().to_owned();
    record("generate alice", g);
    let g = env.run(&["generate", "bob", "--json"]);
    let bob = g.json()["token"].as_str().unwrap().to_owned();
    record("generate bob", g);
    let r = env.run(&["rotate", "--user", "alice", "--yes"]);
    let alice2 = r.stdout.trim().to_owned();
    record("rotate alice", r);
    let shown: HashSet<&str> = ["generate alice", "generate bob", "rotate alice"].into();

    record("verify good", env.verify(&alice2, &["--json"]));
    record("verify revoked", env.verify(&alice, &["--json"]));
    record("verify arg", env.run(&["verify", &bob]));
    let wrong = format!("{}_{}", Env::id_of(&bob), &alice2[alice2.len() - 49..]);
    record("verify wrong", env.verify(&wrong, &[]));
    record("list", env.run(&["list"]));
    record("list json", env.run(&["list", "--json"]));
    record(
        "inspect",
        env.run(&["inspect", &Env::id_of(&alice2), "--json"]),
    );
    record("inspect -", env.run_in(&["inspect", "-"], &bob));
    record("revoke", env.run(&["revoke", "--user", "bob", "--yes"]));
    record("audit", env.run(&["audit", "--json"]));
    record("audit check", env.run(&["audit", "--check"]));
    record("purge", env.run(&["purge", "--revoked", "--json"]));
    record("key list", env.run(&["key", "list"]));
    let mut c = env.bare();
    c.args(["list"])
        .env("TOKMAN_PASSPHRASE", pass)
        .write_stdin("");
    assert_eq!(record("list by passphrase", Env::output(c)), 0);
    let mut c = env.bare();
    c.args(["list"])
        .env("TOKMAN_PASSPHRASE", "not-the-passphrase-at-all")
        .write_stdin("");
    assert_eq!(record("wrong passphrase", Env::output(c)), 11);

    let key_text = |p: &Path| {
        let t = std::fs::read_to_string(p).unwrap();
        t.trim().rsplit(':').next().unwrap().to_owned()
    };
    let secrets: Vec<(String, String)> = vec![
        ("alice's body".into(), alice[alice.len() - 49..].to_owned()),
        (
            "alice2's body".into(),
            alice2[alice2.len() - 49..].to_owned(),
        ),
        ("bob's body".into(), bob[bob.len() - 49..].to_owned()),
        ("the passphrase".into(), pass.to_owned()),
        ("admin key".into(), key_text(env.key.as_ref().unwrap())),
        ("second key".into(), key_text(&k2)),
        (
            "wrong passphrase".into(),
            "not-the-passphrase-at-all".into(),
        ),
    ];
    let raw = env.raw_files();
    for (name, secret) in &secrets {
        assert!(secret.len() >= 16, "{name} is a meaningful needle");
        assert!(
            !contains(&raw, secret.as_bytes()),
            "{name} in the store file"
        );
        for (what, r) in &outputs {
            assert!(
                !r.stderr.contains(secret.as_str()),
                "{name} on {what}'s stderr"
            );
            let token_of_this_output = shown.contains(what.as_str())
                && r.stdout.contains(secret.as_str())
                && name.ends_with("body");
            assert!(
                token_of_this_output || !r.stdout.contains(secret.as_str()),
                "{name} on {what}'s stdout"
            );
        }
    }
    // Each secret body was printed exactly once in the whole session.
    for (name, secret) in secrets.iter().take(3) {
        let times: usize = outputs
            .iter()
            .map(|(_, r)| r.stdout.matches(secret.as_str()).count())
            .sum();
        assert_eq!(times, 1, "{name} printed {times} times");
    }
    // No temporary file of the session holds a secret either.
    for entry in std::fs::read_dir(env.dir.path()).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() && p != *env.key.as_ref().unwrap() && p != k2 {
            let bytes = std::fs::read(&p).unwrap();
            for (name, secret) in &secrets {
                assert!(!contains(&bytes, secret.as_bytes()), "{name} in {p:?}");
            }
        }
    }
    eprintln!(
        "hardening: {} outputs and the store file checked for {} secrets",
        outputs.len(),
        secrets.len()
    );
}

// ---- core dumps --------------------------------------------------------------------------

#[test]
fn core_dumps_are_disabled() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    // Give the child a non-zero limit to inherit, so the test can fail.
    let ours = getrlimit(Resource::Core);
    if ours.maximum == Some(0) {
        eprintln!("hardening: skipped core-dump test: the hard core limit is already 0");
        return;
    }
    let _ = setrlimit(
        Resource::Core,
        Rlimit {
            current: ours.maximum,
            maximum: ours.maximum,
        },
    );
    let env = Env::new();
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("tokman"))
        .env("TOKMAN_STORE", &env.store)
        .env("TOKMAN_KEY_FILE", env.key.as_ref().unwrap())
        .arg("verify")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let limits = format!("/proc/{}/limits", child.id());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut line = String::new();
    while Instant::now() < deadline {
        let text = std::fs::read_to_string(&limits).unwrap_or_default();
        line = text
            .lines()
            .find(|l| l.starts_with("Max core file size"))
            .unwrap_or_default()
            .to_owned();
        if line.split_whitespace().nth(4) == Some("0") {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(child.stdin.take());
    let _ = child.wait();
    let fields: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(fields.get(4..6), Some(&["0", "0"][..]), "{line}");
}

#[test]
fn a_file_that_is_not_sqlite_is_not_a_tokman_store() {
    let env = common::Env::new();
    let text = env.path("notes.txt");
    std::fs::write(&text, "these are my notes, not a database\n".repeat(200)).unwrap();
    let before = std::fs::read(&text).unwrap();
    let out = env
        .cmd()
        .arg("--store")
        .arg(&text)
        .arg("list")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(10));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a tokman store"));
    assert_eq!(std::fs::read(&text).unwrap(), before);
}
