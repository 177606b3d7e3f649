//! One scenario, two backends: a [`Backend`] is a place for a tokman store (a SQLite file in a
//! private temp dir, or a fresh database of the test PostgreSQL cluster) with its key file, and
//! the real `tokman` binary pointed at it with a clean environment.
//!
//! Include it next to the PostgreSQL harness, which it uses as `crate::pg`:
//!
//! ```ignore
//! #[path = "common/pg.rs"]
//! mod pg;
//! #[path = "common/backend.rs"]
//! mod backend;
//! ```
//!
//! A scenario is a `fn(Backend)`; [`on_both_backends!`](crate::on_both_backends) turns it into
//! a module with a `sqlite` and a `postgres` test.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Barrier, OnceLock};
use std::time::Duration;

use tempfile::TempDir;

use crate::pg;

/// Every variable tokman reads: removed from each child, so the developer's own environment
/// never leaks into a test.
pub const TOKMAN_VARS: [&str; 6] = [
    "TOKMAN_STORE",
    "TOKMAN_KEY_FILE",
    "TOKMAN_PASSPHRASE",
    "TOKMAN_PASSPHRASE_FILE",
    "TOKMAN_NEW_PASSPHRASE",
    "NO_COLOR",
];

/// How long any one tokman run may take before the test fails instead of hanging.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(90);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
        }
    }

    pub fn other(self) -> Kind {
        match self {
            Kind::Sqlite => Kind::Postgres,
            Kind::Postgres => Kind::Sqlite,
        }
    }
}

/// How a PostgreSQL store is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// `127.0.0.1`, `sslmode=verify-full` against the test CA, password in `PGPASSWORD`.
    TcpTls,
    /// The Unix socket, no password.
    Socket,
}

/// A store's place: what `--store` gets, and for PostgreSQL its database.
#[derive(Clone, Debug)]
pub struct Place {
    pub kind: Kind,
    pub store: String,
    pub db: Option<pg::Db>,
}

/// A store on one backend, its key file, and a private temp dir (mode 0700) for key files,
/// SQLite files and `HOME`.
pub struct Backend {
    pub kind: Kind,
    pub dir: TempDir,
    /// The cluster, once this backend has a PostgreSQL store (its own, or a copy's).
    pg: OnceLock<&'static pg::Cluster>,
    pub transport: Transport,
    /// The main store (not created yet: see [`Backend::init`]).
    pub place: Place,
    /// The main store's key file (written by [`Backend::init`]).
    pub key: PathBuf,
    next: AtomicU32,
}

/// What a run printed and how it exited (-1: killed by a signal).
#[derive(Debug, Clone)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }

    /// Assert the exit code, showing the output when it is wrong.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Run {
        assert_eq!(
            self.code, expected,
            "unexpected exit code; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn ok(&self) -> &Run {
        self.code(0)
    }

    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not one JSON document ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

fn private_tempdir() -> TempDir {
    // tempfile makes its directories 0700: tokman accepts the store file's directory.
    tempfile::Builder::new()
        .prefix("tokman-backends-")
        .tempdir()
        .expect("temp dir")
}

impl Backend {
    /// A SQLite store at `<temp dir>/store.db`.
    pub fn sqlite() -> Backend {
        let dir = private_tempdir();
        let place = Place {
            kind: Kind::Sqlite,
            store: dir.path().join("store.db").to_string_lossy().into_owned(),
            db: None,
        };
        let key = dir.path().join("admin.key");
        Backend {
            kind: Kind::Sqlite,
            dir,
            pg: OnceLock::new(),
            transport: Transport::TcpTls,
            place,
            key,
            next: AtomicU32::new(0),
        }
    }

    /// A PostgreSQL store in a fresh database, over TCP with TLS checked (`verify-full`);
    /// `None` when PostgreSQL cannot be had (the harness said why, or panicked under
    /// `TOKMAN_REQUIRE_SERVICES=1`).
    pub fn postgres() -> Option<Backend> {
        Backend::postgres_over(Transport::TcpTls)
    }

    /// A PostgreSQL store in a fresh database, over the Unix socket.
    pub fn postgres_socket() -> Option<Backend> {
        Backend::postgres_over(Transport::Socket)
    }

    fn postgres_over(transport: Transport) -> Option<Backend> {
        let pg = pg::cluster()?;
        let dir = private_tempdir();
        let key = dir.path().join("admin.key");
        let mut b = Backend {
            kind: Kind::Postgres,
            dir,
            pg: OnceLock::from(pg),
            transport,
            place: Place {
                kind: Kind::Postgres,
                store: String::new(),
                db: None,
            },
            key,
            next: AtomicU32::new(0),
        };
        b.place = b.new_place(Kind::Postgres);
        Some(b)
    }

    pub fn is_pg(&self) -> bool {
        self.kind == Kind::Postgres
    }

    /// The cluster, for a PostgreSQL backend.
    pub fn cluster(&self) -> &'static pg::Cluster {
        self.pg.get().copied().expect("a PostgreSQL store")
    }

    /// The main store's database, for a PostgreSQL backend.
    pub fn db(&self) -> &pg::Db {
        self.place.db.as_ref().expect("a PostgreSQL store")
    }

    /// The main store, as `--store` takes it.
    pub fn store(&self) -> &str {
        &self.place.store
    }

    /// A path in the private temp dir.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A new, empty place for a store of `kind`: a SQLite path not yet there, or a fresh
    /// database (reached the way this backend reaches its own).
    pub fn new_place(&self, kind: Kind) -> Place {
        let n = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        match kind {
            Kind::Sqlite => Place {
                kind,
                store: self
                    .path(&format!("store-{n}.db"))
                    .to_string_lossy()
                    .into_owned(),
                db: None,
            },
            Kind::Postgres => {
                let pg = *self.pg.get_or_init(|| pg::cluster().expect("PostgreSQL"));
                let db = pg.fresh_db();
                let store = match self.transport {
                    Transport::TcpTls => pg.tcp_url(&db, "verify-full"),
                    Transport::Socket => pg.socket_url(&db),
                };
                Place {
                    kind,
                    store,
                    db: Some(db),
                }
            }
        }
    }

    /// The binary with a clean environment (no TOKMAN_* and no PG* variable of the developer,
    /// HOME in the temp dir), the PostgreSQL password when one may be needed, stdin closed and
    /// stdout/stderr captured; no store and no key.
    pub fn tokman(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_tokman"));
        for var in TOKMAN_VARS {
            c.env_remove(var);
        }
        pg::scrub_pg_env(&mut c);
        if let Some(pg) = self.pg.get() {
            c.env("PGPASSWORD", pg.password());
        }
        c.env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        c
    }

    /// The binary on `store`, unlocked by `key` (`--key-file`), with no other unlock source.
    pub fn at_with(&self, store: &str, key: Option<&Path>) -> Command {
        let mut c = self.tokman();
        c.arg("--store").arg(store);
        if let Some(key) = key {
            c.arg("--key-file").arg(key);
        }
        c
    }

    /// The binary on `store`, unlocked by this backend's key file.
    pub fn at(&self, store: &str) -> Command {
        self.at_with(store, Some(&self.key))
    }

    /// The binary on the main store, unlocked by the key file.
    pub fn cmd(&self) -> Command {
        self.at(self.store())
    }

    /// Create the main store, unlocked by a new key file at [`Backend::key`].
    #[track_caller]
    pub fn init(&self) -> &Backend {
        let mut c = self.tokman();
        c.arg("--store")
            .arg(self.store())
            .args(["init", "--new-key-file"])
            .arg(&self.key);
        run(c, "").ok();
        self
    }

    /// Run on the main store with empty stdin.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut c = self.cmd();
        c.args(args);
        run(c, "")
    }

    /// Run on the main store with `stdin`.
    pub fn run_in(&self, args: &[&str], stdin: &str) -> Run {
        let mut c = self.cmd();
        c.args(args);
        run(c, stdin)
    }

    /// Run on another store (with this backend's key file).
    pub fn run_at(&self, store: &str, args: &[&str]) -> Run {
        let mut c = self.at(store);
        c.args(args);
        run(c, "")
    }

    /// Issue a token for `user` on the main store and return it.
    #[track_caller]
    pub fn generate(&self, user: &str, extra: &[&str]) -> String {
        self.generate_at(self.store(), user, extra)
    }

    #[track_caller]
    pub fn generate_at(&self, store: &str, user: &str, extra: &[&str]) -> String {
        let mut args = vec!["generate", user];
        args.extend_from_slice(extra);
        let r = self.run_at(store, &args);
        r.ok();
        let token = r.stdout.trim().to_owned();
        assert_eq!(
            r.stdout,
            format!("{token}\n"),
            "generate prints exactly the token and a newline on a pipe"
        );
        assert_token_shape(&token);
        token
    }

    /// `verify` of `token` on stdin, on the main store.
    pub fn verify(&self, token: &str, extra: &[&str]) -> Run {
        self.verify_at(self.store(), token, extra)
    }

    pub fn verify_at(&self, store: &str, token: &str, extra: &[&str]) -> Run {
        let mut c = self.at(store);
        c.arg("verify").args(extra);
        run(c, &format!("{token}\n"))
    }

    /// `verify`'s exit code, after checking that it neither panicked nor hit an internal error.
    #[track_caller]
    pub fn verify_code(&self, token: &str, extra: &[&str]) -> i32 {
        let r = self.verify(token, extra);
        assert_sane(&r, "verify");
        r.code
    }

    /// `audit --check` on `store`: must pass; returns the head it prints.
    #[track_caller]
    pub fn audit_head_at(&self, store: &str) -> String {
        let r = self.run_at(store, &["audit", "--check"]);
        r.ok();
        let head = r.stdout.trim().to_owned();
        assert_hex64(&head, "audit --check");
        head
    }

    #[track_caller]
    pub fn audit_head(&self) -> String {
        self.audit_head_at(self.store())
    }

    /// `list --status all --json` on the main store.
    #[track_caller]
    pub fn list_all(&self) -> Vec<serde_json::Value> {
        let r = self.run(&["list", "--status", "all", "--json"]);
        r.ok();
        r.json()
            .as_array()
            .expect("list --json is an array")
            .clone()
    }

    /// `inspect ID --json` on the main store.
    #[track_caller]
    pub fn inspect(&self, id: &str) -> serde_json::Value {
        let r = self.run(&["inspect", id, "--json"]);
        r.ok();
        r.json()
    }

    /// `audit --json` on the main store.
    #[track_caller]
    pub fn audit_events(&self) -> Vec<serde_json::Value> {
        let r = self.run(&["audit", "--json"]);
        r.ok();
        r.json()
            .as_array()
            .expect("audit --json is an array")
            .clone()
    }

    /// SQL as superuser in the main store's database.
    #[track_caller]
    pub fn psql(&self, sql: &str) -> String {
        self.cluster().psql(self.db(), sql)
    }

    /// Start a `verify` of `token` (on stdin) on the main store without waiting for it.
    pub fn spawn_verify(&self, token: &str, extra: &[&str]) -> Child {
        let mut c = self.cmd();
        c.arg("verify").args(extra).stdin(Stdio::piped());
        let mut child = c.spawn().expect("spawn tokman");
        let mut stdin = child.stdin.take().expect("stdin");
        // A token is far below a pipe's buffer: this never blocks.
        stdin
            .write_all(format!("{token}\n").as_bytes())
            .expect("write the token");
        drop(stdin);
        child
    }
}

/// Run a prepared command with `stdin`, failing the test after [`RUN_TIMEOUT`].
pub fn run(cmd: Command, stdin: &str) -> Run {
    let mut c = assert_cmd::Command::from_std(cmd);
    c.timeout(RUN_TIMEOUT).write_stdin(stdin.to_owned());
    let out = c.output().expect("run tokman");
    let r = Run::from(out);
    assert!(
        r.code != -1,
        "tokman was killed (timed out after {RUN_TIMEOUT:?}?); stderr:\n{}",
        r.stderr
    );
    r
}

/// Wait for a spawned child and collect what it printed.
pub fn finish(child: Child) -> Run {
    Run::from(child.wait_with_output().expect("wait for tokman"))
}

/// No panic, no internal error (exit 70), no signal.
#[track_caller]
pub fn assert_sane(r: &Run, what: &str) {
    assert!(
        r.code >= 0 && r.code != 70 && r.code != 101,
        "{what}: exit {}; stderr:\n{}",
        r.code,
        r.stderr
    );
    assert!(
        !r.stderr.contains("panicked") && !r.stderr.contains("internal error"),
        "{what}: {}",
        r.stderr
    );
}

#[track_caller]
pub fn assert_hex64(s: &str, what: &str) {
    assert!(
        s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "{what}: not 64 lower-case hex digits: {s:?}"
    );
}

/// `tm_` + 12 of `[0-9a-z]` + `_` + 49 base62: 65 characters.
#[track_caller]
pub fn assert_token_shape(t: &str) {
    let parts: Vec<&str> = t.split('_').collect();
    assert!(
        t.len() == 65
            && parts.len() == 3
            && parts[0] == "tm"
            && parts[1].len() == 12
            && parts[1]
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())
            && parts[2].len() == 49
            && parts[2].bytes().all(|b| b.is_ascii_alphanumeric()),
        "not a token: {t:?}"
    );
}

/// The public id of a token (`tm_4f7k2m9q0xyz`).
pub fn id_of(token: &str) -> String {
    token.rsplit_once('_').expect("token shape").0.to_owned()
}

/// A well-formed token (right shape and checksum) with the given public id and a wrong secret.
pub fn forged(id: &str) -> String {
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let head = format!("{id}_{}", "Q".repeat(43));
    let mut n = crc32fast::hash(head.as_bytes());
    let mut check = [b'0'; 6];
    for c in check.iter_mut().rev() {
        *c = B62[(n % 62) as usize];
        n /= 62;
    }
    format!("{head}{}", std::str::from_utf8(&check).unwrap())
}

/// A tiny deterministic generator (xorshift64) for kill delays and the like.
pub struct XorShift(pub u64);

impl XorShift {
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// One scenario per name, run once against SQLite and once against PostgreSQL: a module
/// `NAME` with the tests `NAME::sqlite` and `NAME::postgres`. `NAME = CONSTRUCTOR` picks how
/// the PostgreSQL store is reached (`Backend::postgres_socket`); the default is TCP with TLS.
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident $(= $pg:path)?),* $(,)?) => {$(
        mod $scenario {
            #[test]
            fn sqlite() {
                super::$scenario($crate::backend::Backend::sqlite());
            }

            #[test]
            fn postgres() {
                #[allow(unused_variables)]
                let make = $crate::backend::Backend::postgres;
                $(let make = $pg;)?
                let Some(backend) = make() else { return };
                super::$scenario(backend);
            }
        }
    )*};
}

/// The database's operator: a superuser session over the socket, as `psql` would open, kept
/// open so that hundreds of edits cost no psql start-up each.
pub struct Operator {
    client: postgres::Client,
}

impl Operator {
    pub fn connect(pg: &pg::Cluster, db: &pg::Db) -> Operator {
        let client = postgres::Config::new()
            .host_path(pg.socket_dir())
            .port(pg.port())
            .user(pg::SUPERUSER)
            .dbname(&db.name)
            .connect(postgres::NoTls)
            .expect("connect as the superuser");
        Operator { client }
    }

    /// Run `sql` (statements in one implicit transaction, as psql -1 does): the first column
    /// of the last row it returned, or `Err` with the database's message when it refused
    /// (then nothing of `sql` was done).
    pub fn run(&mut self, sql: &str) -> Result<Option<String>, String> {
        let messages = self.client.simple_query(sql).map_err(|e| {
            e.as_db_error()
                .map_or_else(|| e.to_string(), |d| d.message().to_owned())
        })?;
        let mut last = None;
        for m in messages {
            if let postgres::SimpleQueryMessage::Row(row) = m {
                last = row.get(0).map(str::to_owned);
            }
        }
        Ok(last)
    }
}

/// Run `n` copies of a command at once, each from its own thread, released together.
pub fn at_once(n: usize, spawn: impl Fn() -> Child + Sync) -> Vec<Run> {
    let barrier = Barrier::new(n);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n)
            .map(|_| {
                s.spawn(|| {
                    barrier.wait();
                    finish(spawn())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    })
}

/// How many runs ended with each exit code.
pub fn count_codes(runs: &[Run]) -> BTreeMap<i32, usize> {
    let mut codes = BTreeMap::new();
    for r in runs {
        *codes.entry(r.code).or_insert(0) += 1;
    }
    codes
}
