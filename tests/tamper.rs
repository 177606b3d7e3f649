//! "No single edit of the file can make a revoked, expired or unknown token verify; an edit that
//! is detected gives exit 12." Every cell of every table is edited, one edit per copy of a
//! pristine store, and the binary must still refuse the three tokens, without a panic.

mod common;
use common::Env;

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use rusqlite::types::Value;

const TABLES: [&str; 5] = ["meta", "slots", "tokens", "nodes", "audit"];

/// The tokens whose refusal must survive any edit.
struct Fixture {
    env: Env,
    revoked: String,
    expired: String,
    unknown: String,
    active: String,
}

impl Fixture {
    fn build() -> Fixture {
        let env = Env::new();
        let revoked = env.generate("alice", &[]);
        env.run(&["revoke", &Env::id_of(&revoked), "--yes"]).ok();
        let expired = env.generate("bob", &["--expires-in", "1s"]);
        let active = env.generate("carol", &[]);
        env.generate("dave", &[]);
        env.run(&["rotate", "--user", "dave", "--yes"]).ok();
        let other = Env::new();
        let unknown = other.generate("alice", &[]);
        std::thread::sleep(std::time::Duration::from_millis(1500));
        // Baseline: each is refused for its own reason, and the active one is valid.
        env.verify(&revoked, &[]).code(4);
        env.verify(&expired, &[]).code(3);
        env.verify(&unknown, &[]).code(1);
        env.verify(&active, &[]).ok();
        // `verify` leaves its -wal for later; a management command folds it in on close.
        env.run(&["audit", "--check"]).ok();
        assert!(!wal(&env.store).exists(), "a clean close leaves no -wal");
        Fixture {
            env,
            revoked,
            expired,
            unknown,
            active,
        }
    }

    /// A fresh copy of the pristine store (only the main file: no process has it open).
    fn copy(&self, name: &str) -> PathBuf {
        let path = self.env.path(name);
        for p in [path.clone(), wal(&path), shm(&path)] {
            let _ = std::fs::remove_file(p);
        }
        std::fs::copy(&self.env.store, &path).expect("copy store");
        path
    }

    /// Run a command against another store file, unlocked by this fixture's key file.
    fn run_on(&self, store: &Path, args: &[&str], stdin: &str) -> (i32, String) {
        let out = self
            .env
            .cmd()
            .env("TOKMAN_STORE", store)
            .args(args)
            .write_stdin(stdin.to_owned())
            .output()
            .expect("run");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn verify_on(&self, store: &Path, token: &str) -> (i32, String) {
        self.run_on(store, &["verify"], &format!("{token}\n"))
    }

    /// Verify the three refused tokens on `store`; every code must be in `allowed` and never 0.
    fn assert_refused(&self, store: &Path, what: &str, allowed: &[i32]) -> Vec<i32> {
        let mut codes = Vec::new();
        for (name, token) in [
            ("revoked", &self.revoked),
            ("expired", &self.expired),
            ("unknown", &self.unknown),
        ] {
            let (code, stderr) = self.verify_on(store, token);
            assert_ne!(
                code, 0,
                "{what}: the {name} token verified; stderr: {stderr}"
            );
            assert!(
                allowed.contains(&code),
                "{what}: the {name} token gave exit {code} (allowed {allowed:?}); stderr: {stderr}"
            );
            assert!(!stderr.contains("panicked"), "{what}: {stderr}");
            codes.push(code);
        }
        codes
    }
}

fn sibling(path: &Path, ext: &str) -> PathBuf {
    let mut p = path.to_path_buf().into_os_string();
    p.push(ext);
    PathBuf::from(p)
}

fn wal(path: &Path) -> PathBuf {
    sibling(path, "-wal")
}

fn shm(path: &Path) -> PathBuf {
    sibling(path, "-shm")
}

/// Every row of a table, each as its column values; the first column is the primary key.
fn rows(path: &Path, table: &str) -> (Vec<String>, Vec<Vec<Value>>) {
    let conn = Connection::open(path).expect("open");
    let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
    let cols: Vec<String> = stmt.column_names().map(|s| s.to_string()).collect();
    let n = cols.len();
    let rows = stmt
        .query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
        .unwrap()
        .collect::<rusqlite::Result<Vec<Vec<Value>>>>()
        .unwrap();
    drop(stmt);
    conn.close().expect("close");
    (cols, rows)
}

/// Apply one statement to a store file; false when SQLite refuses it (a constraint).
fn apply(path: &Path, sql: &str, values: &[&dyn rusqlite::ToSql]) -> bool {
    let conn = Connection::open(path).expect("open");
    let applied = matches!(conn.execute(sql, values), Ok(n) if n > 0);
    conn.close().expect("close");
    assert!(!wal(path).exists(), "rusqlite checkpointed on close");
    applied
}

fn flip(v: &Value) -> Option<Value> {
    match v {
        Value::Blob(b) if !b.is_empty() => {
            let mut b = b.clone();
            let i = b.len() / 2;
            b[i] ^= 0x01;
            Some(Value::Blob(b))
        }
        Value::Text(t) if !t.is_empty() => {
            let mut b = t.clone().into_bytes();
            let i = b.iter().position(u8::is_ascii_alphanumeric)?;
            b[i] = if b[i] == b'a' { b'b' } else { b'a' };
            Some(Value::Text(String::from_utf8(b).ok()?))
        }
        Value::Integer(i) => Some(Value::Integer(i ^ 1)),
        _ => None,
    }
}

fn empty_like(v: &Value) -> Option<Value> {
    match v {
        Value::Blob(_) => Some(Value::Blob(Vec::new())),
        Value::Text(_) => Some(Value::Text(String::new())),
        _ => None,
    }
}

/// The replacement values tried for one cell.
fn replacements(rows: &[Vec<Value>], row: usize, col: usize) -> Vec<(&'static str, Value)> {
    let v = &rows[row][col];
    let mut out = vec![
        ("NULL", Value::Null),
        ("0", Value::Integer(0)),
        ("1", Value::Integer(1)),
        ("large", Value::Integer(1 << 53)),
    ];
    if let Some(e) = empty_like(v) {
        out.push(("empty", e));
    }
    if let Some(f) = flip(v) {
        out.push(("flipped", f));
    }
    if let Some(other) = rows.iter().map(|r| &r[col]).find(|o| *o != v) {
        out.push(("other row's", other.clone()));
    }
    out.retain(|(_, r)| r != v);
    out
}

/// Exit codes allowed for a refused token after an edit of `table.column`: its own refusal
/// (4, 3, or 1 when the edit hid the row), 12 for a detected edit, 11 only where the edit
/// reaches what unlocking reads (a slot, or the store id bound into every slot).
fn allowed(table: &str, column: &str) -> Vec<i32> {
    let mut codes = vec![1, 3, 4, 12];
    if table == "slots" || (table == "meta" && column == "store_id") {
        codes.push(11);
    }
    codes
}

#[test]
fn no_single_edit_makes_a_refused_token_verify() {
    let fx = Fixture::build();
    let (mut tried, mut applied, mut detected) = (0u32, 0u32, 0u32);
    for table in TABLES {
        let (cols, all) = rows(&fx.env.store, table);
        assert!(!all.is_empty(), "{table} has rows in the fixture");
        for row in 0..all.len() {
            for (col, column) in cols.iter().enumerate() {
                for (label, value) in replacements(&all, row, col) {
                    tried += 1;
                    let copy = fx.copy("edit.db");
                    let sql = format!("UPDATE {table} SET {column} = ?1 WHERE {} = ?2", cols[0]);
                    if !apply(&copy, &sql, &[&value, &all[row][0]]) {
                        continue;
                    }
                    applied += 1;
                    let what = format!("{table}.{column} of row {row} set to {label} {value:?}");
                    let codes = fx.assert_refused(&copy, &what, &allowed(table, column));
                    if codes.contains(&12) || codes.contains(&11) {
                        detected += 1;
                    }
                    if table == "audit" {
                        // An edited event is found by the chain check, exit 12.
                        let (code, stderr) = fx.run_on(&copy, &["audit", "--check"], "");
                        assert_eq!(code, 12, "{what}: audit --check; stderr: {stderr}");
                        assert!(stderr.contains("error:"), "{stderr}");
                    }
                }
            }
        }
    }
    eprintln!(
        "tamper: {tried} edits tried, {applied} applied, {detected} detected (exit 11/12) by verify, {} verifies",
        applied * 3
    );
    assert!(applied >= 300, "only {applied} edits applied");
}

#[test]
fn deleting_any_single_row_makes_no_refused_token_verify() {
    let fx = Fixture::build();
    let mut deleted = 0u32;
    for table in TABLES {
        let (cols, all) = rows(&fx.env.store, table);
        for (row, values) in all.iter().enumerate() {
            let copy = fx.copy("delete.db");
            let sql = format!("DELETE FROM {table} WHERE {} = ?1", cols[0]);
            assert!(apply(&copy, &sql, &[&values[0]]), "{table} row {row}");
            deleted += 1;
            let what = format!("deleting {table} row {row}");
            let mut codes = allowed(table, "");
            if table == "meta" {
                codes.push(11);
            }
            fx.assert_refused(&copy, &what, &codes);
        }
    }
    // The active token is untouched by the fixture: deleting any single row (a tree node, an
    // audit event) revives nothing (checked above); the store itself still works.
    fx.env.verify(&fx.active, &[]).ok();
    eprintln!("tamper: {deleted} single-row deletions, each refused all three tokens");
}

/// A token row as stored: what an attacker with an old backup could write back.
fn token_row(store: &Path, id: &str) -> (Vec<u8>, Vec<u8>, Option<Vec<u8>>) {
    let conn = Connection::open(store).unwrap();
    let row = conn
        .query_row(
            "SELECT record, usage, active_ix FROM tokens WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    conn.close().unwrap();
    row
}

fn full_row(store: &Path, id: &str) -> Vec<Value> {
    let conn = Connection::open(store).unwrap();
    let row = conn
        .query_row(
            "SELECT id, user_ix, active_ix, secret_mac, record, usage, bucket, leaf FROM tokens WHERE id = ?1",
            [id],
            |r| (0..8).map(|i| r.get::<_, Value>(i)).collect(),
        )
        .unwrap();
    conn.close().unwrap();
    row
}

fn insert_row(store: &Path, row: &[Value]) {
    assert!(apply(
        store,
        "INSERT INTO tokens (id, user_ix, active_ix, secret_mac, record, usage, bucket, leaf) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &[
            &row[0], &row[1], &row[2], &row[3], &row[4], &row[5], &row[6], &row[7]
        ],
    ));
}

#[test]
fn restoring_a_row_from_before_revocation_does_not_revive_the_token() {
    let env = Env::new();
    let token = env.generate("eve", &[]);
    let id = Env::id_of(&token);
    env.verify(&token, &[]).ok();
    let (record, usage, active_ix) = token_row(&env.store, &id);
    env.run(&["revoke", &id, "--yes"]).ok();
    assert!(apply(
        &env.store,
        "UPDATE tokens SET record = ?2, usage = ?3, active_ix = ?4 WHERE id = ?1",
        &[&id, &record, &usage, &active_ix],
    ));
    let r = env.verify(&token, &[]);
    r.code(12);
    assert!(r.stderr.contains("error:"), "{}", r.stderr);
}

#[test]
fn restoring_a_purged_revoked_row_does_not_revive_the_token() {
    let env = Env::new();
    let token = env.generate("frank", &[]);
    let id = Env::id_of(&token);
    let before = full_row(&env.store, &id);
    env.run(&["revoke", &id, "--yes"]).ok();
    let after = full_row(&env.store, &id);
    env.run(&["purge", "--revoked"]).ok();
    env.verify(&token, &[]).code(1);

    // The row as it was when revoked: the integrity root no longer holds it (or it says
    // "revoked" itself); never valid.
    insert_row(&env.store, &after);
    let code = env.verify(&token, &[]).code;
    assert!([4, 12].contains(&code), "exit {code}");
    assert!(apply(
        &env.store,
        "DELETE FROM tokens WHERE id = ?1",
        &[&id]
    ));

    // The row from before its revocation: the integrity root disagrees, so it is tampering.
    insert_row(&env.store, &before);
    let r = env.verify(&token, &[]);
    r.code(12);
    assert!(r.stderr.contains("error:"), "{}", r.stderr);
}
