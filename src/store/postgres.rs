//! The PostgreSQL backend: the same sealed rows as the SQLite file, in `tokman_*` tables
//! (`postgres/schema.sql`), over the synchronous `postgres` client with TLS by rustls.
//!
//! Exactness across hosts comes from the database: every write transaction first locks the one
//! metadata row (`SELECT … FOR UPDATE`), so writers from every host are serialized as
//! `BEGIN IMMEDIATE` serializes them on SQLite, and the integrity root and audit head are only
//! ever read and written under that lock. Writes run at READ COMMITTED behind the lock, so they
//! see every commit before theirs and never fail with a serialization error; reads run in one
//! REPEATABLE READ snapshot. The partial unique index keeps one active token per user even
//! against a writer that skipped the lock.

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{ToSql, Type};
use postgres::{Client, Row, Statement};

use super::backend::{Engine, EventRow, Inserted, MetaRow, Mode, SlotRow, TokenRow, Txn};
use super::{Durability, REKEYED_VERSION, SCHEMA_VERSION};
use crate::error::{Error, Result};

mod tls;

use tls::SslMode;

const SCHEMA: &str = include_str!("postgres/schema.sql");
/// How long a command waits for another one's write lock before giving up (as on SQLite).
const LOCK_TIMEOUT_MS: u32 = 30_000;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A PostgreSQL store's address, parsed from a libpq-style URL.
#[derive(Clone)]
pub struct Target {
    config: postgres::Config,
    /// The URL as users may see it: the password removed.
    shown: String,
    ssl: SslMode,
    root_cert: Option<PathBuf>,
    url_has_password: bool,
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Target").field(&self.shown).finish()
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

fn bad_url(why: impl fmt::Display) -> Error {
    Error::usage_hint(
        format!("the store URL is not a valid PostgreSQL URL: {why}"),
        "it looks like postgres://USER@HOST:PORT/DBNAME?sslmode=verify-full&sslrootcert=PATH",
    )
}

impl Target {
    /// Parse `postgres://…`: libpq's URL syntax; `sslmode` and `sslrootcert` are read here,
    /// everything else by the client. The password comes from the URL, else `PGPASSWORD`,
    /// else `~/.pgpass` (or `PGPASSFILE`).
    pub fn parse(text: &str) -> Result<Target> {
        // Never echo the URL itself in an error: it may hold a password. The client parses the
        // URL (libpq's syntax, with several hosts and `?host=/socket/dir`); only the query is
        // read here, to take out what the client does not know.
        let (base, query) = match text.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (text, None),
        };
        let mut ssl = SslMode::Prefer;
        let mut root_cert = None;
        let mut rest: Vec<(String, String)> = Vec::new();
        for (k, v) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match &*k {
                "sslmode" => {
                    ssl = SslMode::parse(&v).ok_or_else(|| {
                        bad_url(format!(
                            "sslmode must be disable, prefer, require, verify-ca or verify-full, not `{v}`"
                        ))
                    })?
                }
                "sslrootcert" => root_cert = Some(PathBuf::from(&*v)),
                "password" => {
                    return Err(bad_url(
                        "put the password in PGPASSWORD or ~/.pgpass, not in the URL",
                    ));
                }
                _ => rest.push((k.into_owned(), v.into_owned())),
            }
        }
        let encode = |pairs: &[(String, String)]| {
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
        };
        let rebuilt = if rest.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", encode(&rest))
        };
        let mut config = postgres::Config::from_str(&rebuilt).map_err(bad_url)?;
        let (shown_base, url_has_password) = without_password(base);
        let mut shown_query = rest.clone();
        if ssl != SslMode::Prefer {
            shown_query.push(("sslmode".into(), ssl.as_str().into()));
        }
        if let Some(p) = &root_cert {
            shown_query.push(("sslrootcert".into(), p.display().to_string()));
        }
        let shown = if shown_query.is_empty() {
            shown_base
        } else {
            format!("{shown_base}?{}", encode(&shown_query))
        };
        if config.get_hosts().is_empty() {
            match std::env::var("PGHOST") {
                Ok(h) if !h.is_empty() => {
                    config.host(&h);
                }
                _ => {
                    config.host("/var/run/postgresql");
                }
            }
        }
        if config.get_user().is_none() {
            let user = std::env::var("PGUSER")
                .or_else(|_| std::env::var("USER"))
                .map_err(|_| bad_url("it names no user (add USER@ before the host)"))?;
            config.user(&user);
        }
        if config.get_password().is_none() {
            if let Some(p) = std::env::var_os("PGPASSWORD").filter(|p| !p.is_empty()) {
                config.password(p.as_encoded_bytes());
            } else if let Some(p) = pgpass(&config) {
                config.password(p);
            }
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        let options = match config.get_options() {
            Some(o) if !o.is_empty() => format!("{o} -c lock_timeout={LOCK_TIMEOUT_MS}"),
            _ => format!("-c lock_timeout={LOCK_TIMEOUT_MS}"),
        };
        config.options(&options);
        if config.get_application_name().is_none() {
            config.application_name("tokman");
        }
        Ok(Target {
            config,
            shown,
            ssl,
            root_cert,
            url_has_password,
        })
    }

    /// Whether the URL itself carries a password (visible in `ps` when given in argv).
    pub fn url_has_password(&self) -> bool {
        self.url_has_password
    }

    fn connect(&self) -> Result<Client> {
        let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls::client_config(
            self.ssl,
            self.root_cert.as_deref(),
        )?);
        let mut config = self.config.clone();
        config.ssl_mode(match self.ssl {
            SslMode::Disable => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            _ => postgres::config::SslMode::Require,
        });
        config.connect(tls).map_err(|e| self.connect_error(e))
    }

    fn connect_error(&self, e: postgres::Error) -> Error {
        if let Some(db) = e.as_db_error() {
            let hint = match *db.code() {
                SqlState::INVALID_PASSWORD | SqlState::INVALID_AUTHORIZATION_SPECIFICATION => {
                    "check the user, and the password in PGPASSWORD or ~/.pgpass"
                }
                SqlState::INVALID_CATALOG_NAME => {
                    "create the database first (createdb NAME), then run `tokman init`"
                }
                _ => "check the URL and that the server accepts this user",
            };
            return Error::unavailable(
                format!(
                    "the database at {} refused the connection: {}",
                    self.shown,
                    db.message()
                ),
                Some(hint.into()),
            );
        }
        Error::unavailable(
            format!(
                "cannot reach the database at {}: {}",
                self.shown,
                full_message(&e)
            ),
            Some(
                "check the host and port, that the server is running, and sslmode/sslrootcert"
                    .into(),
            ),
        )
    }
}

/// `scheme://user:password@host…` without `:password`, and whether there was one.
fn without_password(base: &str) -> (String, bool) {
    let Some((scheme, after)) = base.split_once("://") else {
        return (base.to_owned(), false);
    };
    let (authority, path) = match after.find('/') {
        Some(i) => after.split_at(i),
        None => (after, ""),
    };
    let Some((userinfo, hosts)) = authority.rsplit_once('@') else {
        return (base.to_owned(), false);
    };
    match userinfo.split_once(':') {
        Some((user, _password)) => (format!("{scheme}://{user}@{hosts}{path}"), true),
        None => (base.to_owned(), false),
    }
}

/// An error with its causes, as one line (the client's own message is often just "error
/// connecting to server").
fn full_message(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = s.source();
    }
    out
}

/// The password for this connection in `~/.pgpass` (or `PGPASSFILE`), as libpq reads it:
/// `host:port:database:user:password`, `*` matching anything, `\` escaping `:` and `\`.
/// Ignored, as libpq ignores it, when group or others can read it.
fn pgpass(config: &postgres::Config) -> Option<Vec<u8>> {
    let path = match std::env::var_os("PGPASSFILE") {
        Some(p) => PathBuf::from(p),
        None => directories::BaseDirs::new()?.home_dir().join(".pgpass"),
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(&path).ok()?;
        if meta.permissions().mode() & 0o077 != 0 {
            return None;
        }
    }
    let text = std::fs::read_to_string(&path).ok()?;
    let host = match config.get_hosts().first()? {
        postgres::config::Host::Tcp(h) => h.clone(),
        #[cfg(unix)]
        postgres::config::Host::Unix(_) => "localhost".to_owned(),
    };
    let port = config
        .get_ports()
        .first()
        .copied()
        .unwrap_or(5432)
        .to_string();
    let user = config.get_user()?.to_owned();
    let db = config
        .get_dbname()
        .map_or_else(|| user.clone(), str::to_owned);
    let wanted = [host, port, db, user];
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let fields = split_pgpass(line);
        if fields.len() != 5 {
            continue;
        }
        if fields[..4]
            .iter()
            .zip(&wanted)
            .all(|(f, w)| f == "*" || f == w)
        {
            return Some(fields[4].clone().into_bytes());
        }
    }
    None
}

fn split_pgpass(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    fields.last_mut().expect("one field").push(n);
                }
            }
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut().expect("one field").push(c),
        }
    }
    fields
}

/// A PostgreSQL error as tokman reports it.
fn pg_error(e: postgres::Error) -> Error {
    if let Some(db) = e.as_db_error() {
        let msg = db.message();
        let code = db.code();
        let shape = || Error::corrupt(format!("the store does not have the expected shape: {msg}"));
        return match *code {
            SqlState::UNDEFINED_TABLE
            | SqlState::UNDEFINED_COLUMN
            | SqlState::DATATYPE_MISMATCH
            | SqlState::UNIQUE_VIOLATION
            | SqlState::NOT_NULL_VIOLATION
            | SqlState::CHECK_VIOLATION
            | SqlState::FOREIGN_KEY_VIOLATION => shape(),
            SqlState::INSUFFICIENT_PRIVILEGE => Error::unavailable(
                format!("the database refused: {msg}; nothing was changed"),
                Some(
                    "the role needs SELECT, INSERT, UPDATE and DELETE on the tokman_* tables"
                        .into(),
                ),
            ),
            SqlState::READ_ONLY_SQL_TRANSACTION => Error::unavailable(
                format!("the database is read-only: {msg}; nothing was changed"),
                Some("connect to the primary, not a standby".into()),
            ),
            SqlState::T_R_SERIALIZATION_FAILURE | SqlState::T_R_DEADLOCK_DETECTED => {
                Error::unavailable(
                    format!(
                        "the database could not order this change with another: {msg}; nothing was changed"
                    ),
                    Some("try again".into()),
                )
            }
            SqlState::LOCK_NOT_AVAILABLE | SqlState::QUERY_CANCELED => Error::unavailable(
                "the store stayed busy for 30 seconds; nothing was changed",
                Some("another tokman command is holding it; try again".into()),
            ),
            _ if code.code().starts_with("53") => Error::unavailable(
                format!("the database is out of resources: {msg}; nothing was changed"),
                Some(
                    "free space or connections on the database server, then run the command again"
                        .into(),
                ),
            ),
            _ if code.code().starts_with("57") || code.code().starts_with("08") => {
                Error::unavailable(
                    format!("the database went away: {msg}; nothing was changed"),
                    Some("run the command again when the server is back".into()),
                )
            }
            _ => Error::unavailable(
                format!("the database said: {msg}; nothing was changed"),
                None,
            ),
        };
    }
    if e.is_closed() || std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>()) {
        return Error::unavailable(
            format!("lost the connection to the database: {}", full_message(&e)),
            Some("a change is either committed whole or not at all; run the command again when the server is back".into()),
        );
    }
    // The rest is a value of an unexpected type or a NULL where none belongs.
    Error::corrupt(format!(
        "the store holds an unexpected value: {}",
        full_message(&e)
    ))
}

trait Pg<T> {
    fn db(self) -> Result<T>;
}

impl<T> Pg<T> for std::result::Result<T, postgres::Error> {
    fn db(self) -> Result<T> {
        self.map_err(pg_error)
    }
}

/// A connection to a PostgreSQL store.
pub struct Postgres {
    client: Client,
    version: i32,
    durability: Durability,
    statements: HashMap<&'static str, Seen>,
}

impl Postgres {
    pub fn open(target: &Target, durability: Durability) -> Result<Postgres> {
        let mut client = target.connect()?;
        let row = match client.query_typed_opt(
            "SELECT application, version FROM tokman_meta WHERE singleton = 1",
            &[],
        ) {
            Ok(row) => row.ok_or_else(|| super::seal::tampered("the store's metadata"))?,
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => {
                return Err(Error::StoreMissing {
                    store: target.to_string(),
                    hint: "create one in this database with `tokman init --store URL`".into(),
                });
            }
            Err(e) => return Err(pg_error(e)),
        };
        let application: String = row.try_get(0).db()?;
        let version: i32 = row.try_get(1).db()?;
        if application != "tokman" {
            return Err(Error::unavailable(
                format!("{target} does not hold a tokman store"),
                None,
            ));
        }
        if version > REKEYED_VERSION {
            return Err(Error::unavailable(
                format!(
                    "{target} was made by a newer tokman (store version {version}, this one reads {REKEYED_VERSION})"
                ),
                Some("upgrade tokman".into()),
            ));
        }
        if !(SCHEMA_VERSION..=REKEYED_VERSION).contains(&version) {
            return Err(Error::corrupt(format!(
                "{target} has an unknown store version {version}"
            )));
        }
        Ok(Postgres {
            client,
            version,
            durability,
            statements: HashMap::new(),
        })
    }

    /// Create the store's tables and first rows in one transaction; an existing store (or one
    /// being made by a concurrent `init`) is exit 7.
    pub fn create(
        target: &Target,
        fill: impl FnOnce(Box<dyn Txn + '_>) -> Result<()>,
    ) -> Result<()> {
        let mut client = target.connect()?;
        let exists = || {
            Error::conflict(
                format!("a store already exists at {target}"),
                "use it, or create the new store in another database",
            )
        };
        let created = (|| -> std::result::Result<bool, postgres::Error> {
            client.batch_execute("BEGIN")?;
            let present: bool = client
                .query_one("SELECT to_regclass('tokman_meta') IS NOT NULL", &[])?
                .get(0);
            if present {
                client.batch_execute("ROLLBACK")?;
                return Ok(false);
            }
            client.batch_execute(SCHEMA)?;
            Ok(true)
        })();
        match created {
            Ok(true) => {}
            Ok(false) => return Err(exists()),
            Err(e) => {
                let _ = client.batch_execute("ROLLBACK");
                return Err(match e.code() {
                    Some(&SqlState::DUPLICATE_TABLE) | Some(&SqlState::UNIQUE_VIOLATION) => {
                        exists()
                    }
                    _ => pg_error(e),
                });
            }
        }
        let mut engine = Postgres {
            client,
            version: SCHEMA_VERSION,
            durability: Durability::Full,
            statements: HashMap::new(),
        };
        let txn = PgTxn {
            client: &mut engine.client,
            statements: &mut engine.statements,
            open: true,
        };
        fill(Box::new(txn)).map_err(|e| match e {
            Error::Corrupt(m) if m.contains("already exists") => exists(),
            other => other,
        })
    }
}

impl Engine for Postgres {
    fn begin(&mut self, mode: Mode) -> Result<Box<dyn Txn + '_>> {
        let sql = match (mode, self.durability) {
            (Mode::Read, _) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            // The lock on the metadata row serializes every writer of the store, on any host.
            (Mode::Write, Durability::Full) => {
                "BEGIN ISOLATION LEVEL READ COMMITTED; \
                 SELECT 1 FROM tokman_meta WHERE singleton = 1 FOR UPDATE"
            }
            // `verify`: as SQLite's synchronous=NORMAL, a crash of the server may lose the
            // last counts, never a token or a revocation (those are written with Full).
            (Mode::Write, Durability::Normal) => {
                "BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL synchronous_commit TO OFF; \
                 SELECT 1 FROM tokman_meta WHERE singleton = 1 FOR UPDATE"
            }
        };
        if let Err(e) = self.client.batch_execute(sql) {
            let _ = self.client.batch_execute("ROLLBACK");
            return Err(pg_error(e));
        }
        Ok(Box::new(PgTxn {
            client: &mut self.client,
            statements: &mut self.statements,
            open: true,
        }))
    }

    fn version(&self) -> i32 {
        self.version
    }
}

/// A statement as this connection knows it: sent unprepared so many times, or prepared.
enum Seen {
    Sent(u32),
    Prepared(Statement),
}

struct PgTxn<'a> {
    client: &'a mut Client,
    statements: &'a mut HashMap<&'static str, Seen>,
    open: bool,
}

impl Drop for PgTxn<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.client.batch_execute("ROLLBACK");
        }
    }
}

/// A statement parameter and its PostgreSQL type. Naming the types lets a statement used once
/// go in one round trip (parse, bind and execute together, no separate prepare); statements
/// used again on the same connection (`verify --stream`, a server) are prepared once.
trait Param: ToSql + Sync {
    fn pg_type(&self) -> Type;
    fn sql(&self) -> &(dyn ToSql + Sync);
}

macro_rules! param {
    ($($t:ty => $pg:expr),* $(,)?) => {$(
        impl Param for $t {
            fn pg_type(&self) -> Type {
                $pg
            }
            fn sql(&self) -> &(dyn ToSql + Sync) {
                self
            }
        }
    )*};
}

param! {
    i32 => Type::INT4,
    i64 => Type::INT8,
    &str => Type::TEXT,
    String => Type::TEXT,
    &[u8] => Type::BYTEA,
    Vec<u8> => Type::BYTEA,
    Option<i64> => Type::INT8,
    Option<String> => Type::TEXT,
    Option<&[u8]> => Type::BYTEA,
    Option<Vec<u8>> => Type::BYTEA,
    Vec<i32> => Type::INT4_ARRAY,
}

type Params<'p> = &'p [&'p dyn Param];

impl PgTxn<'_> {
    /// The prepared statement for `sql` once it is used often on this connection (prepared
    /// on its third use: preparing costs a round trip, which a statement sent once or twice by
    /// a short-lived command never earns back); `None` before.
    fn prepared(&mut self, sql: &'static str) -> Result<Option<Statement>> {
        match self.statements.get_mut(sql) {
            Some(Seen::Prepared(s)) => Ok(Some(s.clone())),
            Some(Seen::Sent(n)) if *n >= 2 => {
                let s = self.client.prepare(sql).db()?;
                self.statements.insert(sql, Seen::Prepared(s.clone()));
                Ok(Some(s))
            }
            Some(Seen::Sent(n)) => {
                *n += 1;
                Ok(None)
            }
            None => {
                self.statements.insert(sql, Seen::Sent(1));
                Ok(None)
            }
        }
    }

    fn query(&mut self, sql: &'static str, params: Params<'_>) -> Result<Vec<Row>> {
        match self.prepared(sql)? {
            Some(s) => {
                let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.sql()).collect();
                self.client.query(&s, &values).db()
            }
            None => {
                let typed: Vec<(&(dyn ToSql + Sync), Type)> =
                    params.iter().map(|p| (p.sql(), p.pg_type())).collect();
                self.client.query_typed(sql, &typed).db()
            }
        }
    }

    fn query_opt(&mut self, sql: &'static str, params: Params<'_>) -> Result<Option<Row>> {
        let mut rows = self.query(sql, params)?;
        if rows.len() > 1 {
            return Err(super::seal::tampered(
                "the store (a row that must be unique is not)",
            ));
        }
        Ok(rows.pop())
    }

    fn execute(&mut self, sql: &'static str, params: Params<'_>) -> Result<u64> {
        self.try_execute(sql, params)?.db()
    }

    /// [`Self::execute`], with the database's own error for the caller to look at.
    fn try_execute(
        &mut self,
        sql: &'static str,
        params: Params<'_>,
    ) -> Result<std::result::Result<u64, postgres::Error>> {
        Ok(match self.prepared(sql)? {
            Some(s) => {
                let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.sql()).collect();
                self.client.execute(&s, &values)
            }
            None => {
                let typed: Vec<(&(dyn ToSql + Sync), Type)> =
                    params.iter().map(|p| (p.sql(), p.pg_type())).collect();
                self.client.execute_typed(sql, &typed)
            }
        })
    }

    fn each(
        &mut self,
        sql: &'static str,
        params: Params<'_>,
        f: &mut dyn FnMut(&Row) -> Result<()>,
    ) -> Result<()> {
        // Streams whole tables: always prepared (one round trip more, once).
        let s = match self.statements.get(sql) {
            Some(Seen::Prepared(s)) => s.clone(),
            _ => {
                let s = self.client.prepare(sql).db()?;
                self.statements.insert(sql, Seen::Prepared(s.clone()));
                s
            }
        };
        let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p.sql()).collect();
        let mut rows = self.client.query_raw(&s, values).db()?;
        while let Some(row) = rows.next().db()? {
            f(&row)?;
        }
        Ok(())
    }
}

fn token_row(r: &Row) -> Result<TokenRow> {
    Ok(TokenRow {
        id: r.try_get(0).db()?,
        user_ix: r.try_get(1).db()?,
        active_ix: r.try_get(2).db()?,
        secret_mac: r.try_get(3).db()?,
        record: r.try_get(4).db()?,
        usage: r.try_get(5).db()?,
        leaf: r.try_get(6).db()?,
    })
}

fn event_row(r: &Row) -> Result<EventRow> {
    Ok(EventRow {
        seq: r.try_get(0).db()?,
        at: r.try_get(1).db()?,
        event: r.try_get(2).db()?,
        mac: r.try_get(3).db()?,
        count: r.try_get(4).db()?,
    })
}

fn slot_row(r: &Row) -> Result<SlotRow> {
    Ok(SlotRow {
        slot: r.try_get(0).db()?,
        kind: r.try_get(1).db()?,
        kdf: r.try_get(2).db()?,
        salt: r.try_get(3).db()?,
        wrapped: r.try_get(4).db()?,
        info: r.try_get(5).db()?,
        last_used_at: r.try_get(6).db()?,
    })
}

fn count(r: &Row) -> Result<u64> {
    let n: i64 = r.try_get(0).db()?;
    Ok(n.max(0) as u64)
}

fn int(v: u32) -> Result<i32> {
    i32::try_from(v).map_err(|_| Error::internal("tree index out of range"))
}

const TOKEN_COLUMNS_BY_ID: &str = "SELECT id, user_ix, active_ix, secret_mac, record, usage, leaf FROM tokman_tokens WHERE id = $1";
const TOKEN_COLUMNS_BY_ACTIVE: &str = "SELECT id, user_ix, active_ix, secret_mac, record, usage, leaf FROM tokman_tokens WHERE active_ix = $1";
const TOKEN_COLUMNS_BY_USER: &str = "SELECT id, user_ix, active_ix, secret_mac, record, usage, leaf FROM tokman_tokens WHERE user_ix = $1";
const TOKEN_COLUMNS_ALL: &str =
    "SELECT id, user_ix, active_ix, secret_mac, record, usage, leaf FROM tokman_tokens";

impl Txn for PgTxn<'_> {
    fn identity(&mut self) -> Result<Option<(String, Vec<u8>)>> {
        self.query_opt(
            "SELECT prefix, store_id FROM tokman_meta WHERE singleton = 1",
            &[],
        )?
        .map(|r| Ok((r.try_get(0).db()?, r.try_get(1).db()?)))
        .transpose()
    }

    fn meta(&mut self) -> Result<Option<MetaRow>> {
        self.query_opt(
            "SELECT prefix, store_id, settings, root FROM tokman_meta WHERE singleton = 1",
            &[],
        )?
        .map(|r| {
            Ok(MetaRow {
                prefix: r.try_get(0).db()?,
                store_id: r.try_get(1).db()?,
                settings: r.try_get(2).db()?,
                root: r.try_get(3).db()?,
            })
        })
        .transpose()
    }

    fn insert_meta(&mut self, m: &MetaRow) -> Result<()> {
        self.execute(
            "INSERT INTO tokman_meta (singleton, application, version, prefix, store_id, settings, root) \
             VALUES (1, 'tokman', $1, $2, $3, $4, $5)",
            &[&SCHEMA_VERSION, &m.prefix, &m.store_id, &m.settings, &m.root],
        )?;
        Ok(())
    }

    fn set_root(&mut self, sealed: &[u8]) -> Result<()> {
        self.execute(
            "UPDATE tokman_meta SET root = $1 WHERE singleton = 1",
            &[&sealed],
        )?;
        Ok(())
    }

    fn set_version(&mut self, version: i32) -> Result<()> {
        self.execute(
            "UPDATE tokman_meta SET version = $1 WHERE singleton = 1",
            &[&version],
        )?;
        Ok(())
    }

    fn set_settings(&mut self, sealed: &[u8]) -> Result<()> {
        self.execute(
            "UPDATE tokman_meta SET settings = $1 WHERE singleton = 1",
            &[&sealed],
        )?;
        Ok(())
    }

    fn slots(&mut self) -> Result<Vec<SlotRow>> {
        self.query(
            "SELECT slot, kind, kdf, salt, wrapped, info, last_used_at FROM tokman_slots ORDER BY slot",
            &[],
        )?
        .iter()
        .map(slot_row)
        .collect()
    }

    fn insert_slot(&mut self, row: &SlotRow) -> Result<()> {
        self.execute(
            "INSERT INTO tokman_slots (slot, kind, kdf, salt, wrapped, info, last_used_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                &row.slot,
                &row.kind,
                &row.kdf,
                &row.salt,
                &row.wrapped,
                &row.info,
                &row.last_used_at,
            ],
        )?;
        Ok(())
    }

    fn delete_slot(&mut self, slot: i64) -> Result<()> {
        self.execute("DELETE FROM tokman_slots WHERE slot = $1", &[&slot])?;
        Ok(())
    }

    fn touch_slot(&mut self, slot: i64, now: i64) -> Result<bool> {
        let n = self.execute(
            "UPDATE tokman_slots SET last_used_at = $2::bigint \
             WHERE slot = $1 AND (last_used_at IS NULL OR last_used_at < $2::bigint - 60)",
            &[&slot, &now],
        )?;
        Ok(n > 0)
    }

    fn token(&mut self, id: &str) -> Result<Option<TokenRow>> {
        self.query_opt(TOKEN_COLUMNS_BY_ID, &[&id])?
            .as_ref()
            .map(token_row)
            .transpose()
    }

    fn active_token(&mut self, user_ix: &[u8]) -> Result<Option<TokenRow>> {
        self.query_opt(TOKEN_COLUMNS_BY_ACTIVE, &[&user_ix])?
            .as_ref()
            .map(token_row)
            .transpose()
    }

    fn user_tokens(&mut self, user_ix: &[u8]) -> Result<Vec<TokenRow>> {
        self.query(TOKEN_COLUMNS_BY_USER, &[&user_ix])?
            .iter()
            .map(token_row)
            .collect()
    }

    fn each_token(&mut self, f: &mut dyn FnMut(TokenRow) -> Result<()>) -> Result<()> {
        self.each(TOKEN_COLUMNS_ALL, &[], &mut |r| f(token_row(r)?))
    }

    fn bucket_leaves(&mut self, bucket: u32) -> Result<Vec<(String, Vec<u8>)>> {
        let b = int(bucket)?;
        self.query(
            "SELECT id, leaf FROM tokman_tokens WHERE bucket = $1",
            &[&b],
        )?
        .iter()
        .map(|r| Ok((r.try_get(0).db()?, r.try_get(1).db()?)))
        .collect()
    }

    fn insert_token(&mut self, row: &TokenRow, bucket: u32) -> Result<Inserted> {
        let b = int(bucket)?;
        match self.try_execute(
            "INSERT INTO tokman_tokens (id, user_ix, active_ix, secret_mac, record, usage, bucket, leaf) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                &row.id,
                &row.user_ix,
                &row.active_ix,
                &row.secret_mac,
                &row.record,
                &row.usage,
                &b,
                &row.leaf,
            ],
        )? {
            Ok(_) => Ok(Inserted::Done),
            Err(e)
                if e.as_db_error().is_some_and(|d| {
                    *d.code() == SqlState::UNIQUE_VIOLATION
                        && d.constraint() == Some("tokman_tokens_one_active")
                }) =>
            {
                Ok(Inserted::ActiveTaken)
            }
            Err(e) => Err(pg_error(e)),
        }
    }

    fn update_token(
        &mut self,
        id: &str,
        active_ix: Option<&[u8]>,
        record: &[u8],
        leaf: &[u8],
    ) -> Result<()> {
        self.execute(
            "UPDATE tokman_tokens SET active_ix = $2, record = $3, leaf = $4 WHERE id = $1",
            &[&id, &active_ix, &record, &leaf],
        )?;
        Ok(())
    }

    fn set_usage(&mut self, id: &str, usage: &[u8]) -> Result<()> {
        self.execute(
            "UPDATE tokman_tokens SET usage = $2 WHERE id = $1",
            &[&id, &usage],
        )?;
        Ok(())
    }

    fn delete_token(&mut self, id: &str) -> Result<()> {
        self.execute("DELETE FROM tokman_tokens WHERE id = $1", &[&id])?;
        Ok(())
    }

    fn token_exists(&mut self, id: &str) -> Result<bool> {
        let r = self.query_opt("SELECT 1 FROM tokman_tokens WHERE id = $1", &[&id])?;
        Ok(r.is_some())
    }

    fn count_tokens(&mut self) -> Result<u64> {
        let rows = self.query("SELECT count(*) FROM tokman_tokens", &[])?;
        count(&rows[0])
    }

    fn node(&mut self, level: u32, idx: u32) -> Result<Option<Vec<u8>>> {
        let (l, i) = (int(level)?, int(idx)?);
        self.query_opt(
            "SELECT hash FROM tokman_nodes WHERE level = $1 AND idx = $2",
            &[&l, &i],
        )?
        .map(|r| r.try_get(0).db())
        .transpose()
    }

    fn set_node(&mut self, level: u32, idx: u32, hash: Option<&[u8]>) -> Result<()> {
        let (l, i) = (int(level)?, int(idx)?);
        match hash {
            None => self.execute(
                "DELETE FROM tokman_nodes WHERE level = $1 AND idx = $2",
                &[&l, &i],
            )?,
            Some(h) => self.execute(
                "INSERT INTO tokman_nodes (level, idx, hash) VALUES ($1, $2, $3) \
                 ON CONFLICT (level, idx) DO UPDATE SET hash = EXCLUDED.hash",
                &[&l, &i, &h],
            )?,
        };
        Ok(())
    }

    fn nodes(&mut self) -> Result<Vec<(u32, u32, Vec<u8>)>> {
        self.query("SELECT level, idx, hash FROM tokman_nodes", &[])?
            .iter()
            .map(|r| {
                let l: i32 = r.try_get(0).db()?;
                let i: i32 = r.try_get(1).db()?;
                let bad = || super::seal::tampered("the store's token tree");
                Ok((
                    u32::try_from(l).map_err(|_| bad())?,
                    u32::try_from(i).map_err(|_| bad())?,
                    r.try_get(2).db()?,
                ))
            })
            .collect()
    }

    fn nodes_at(&mut self, positions: &[(u32, u32)]) -> Result<Vec<(u32, u32, Vec<u8>)>> {
        let mut levels = Vec::with_capacity(positions.len());
        let mut idxs = Vec::with_capacity(positions.len());
        for &(l, i) in positions {
            levels.push(int(l)?);
            idxs.push(int(i)?);
        }
        self.query(
            "SELECT n.level, n.idx, n.hash FROM tokman_nodes n \
             JOIN unnest($1::int4[], $2::int4[]) AS p (level, idx) \
             ON n.level = p.level AND n.idx = p.idx",
            &[&levels, &idxs],
        )?
        .iter()
        .map(|r| {
            let l: i32 = r.try_get(0).db()?;
            let i: i32 = r.try_get(1).db()?;
            let bad = || super::seal::tampered("the store's token tree");
            Ok((
                u32::try_from(l).map_err(|_| bad())?,
                u32::try_from(i).map_err(|_| bad())?,
                r.try_get(2).db()?,
            ))
        })
        .collect()
    }

    fn audit_tail(&mut self) -> Result<Option<EventRow>> {
        self.query_opt(
            "SELECT seq, at, ''::bytea, mac, count FROM tokman_audit ORDER BY seq DESC LIMIT 1",
            &[],
        )?
        .as_ref()
        .map(event_row)
        .transpose()
    }

    fn event(&mut self, seq: i64) -> Result<Option<EventRow>> {
        self.query_opt(
            "SELECT seq, at, event, mac, count FROM tokman_audit WHERE seq = $1",
            &[&seq],
        )?
        .as_ref()
        .map(event_row)
        .transpose()
    }

    fn insert_event(&mut self, row: &EventRow) -> Result<()> {
        self.execute(
            "INSERT INTO tokman_audit (seq, at, event, mac, count) VALUES ($1, $2, $3, $4, $5)",
            &[&row.seq, &row.at, &row.event, &row.mac, &row.count],
        )?;
        Ok(())
    }

    fn set_event_count(&mut self, seq: i64, count: i64) -> Result<()> {
        self.execute(
            "UPDATE tokman_audit SET count = $2 WHERE seq = $1",
            &[&seq, &count],
        )?;
        Ok(())
    }

    fn each_event(
        &mut self,
        since: Option<i64>,
        f: &mut dyn FnMut(EventRow) -> Result<()>,
    ) -> Result<()> {
        let since = since.unwrap_or(i64::MIN);
        self.each(
            "SELECT seq, at, event, mac, count FROM tokman_audit WHERE at >= $1 ORDER BY seq",
            &[&since],
            &mut |r| f(event_row(r)?),
        )
    }

    fn last_event_before(&mut self, at: i64) -> Result<Option<EventRow>> {
        self.query_opt(
            "SELECT seq, at, ''::bytea, mac, count FROM tokman_audit WHERE at < $1 ORDER BY seq DESC LIMIT 1",
            &[&at],
        )?
        .as_ref()
        .map(event_row)
        .transpose()
    }

    fn delete_events_through(&mut self, seq: i64) -> Result<u64> {
        self.execute("DELETE FROM tokman_audit WHERE seq <= $1", &[&seq])
    }

    fn count_events(&mut self) -> Result<u64> {
        let rows = self.query("SELECT count(*) FROM tokman_audit", &[])?;
        count(&rows[0])
    }

    fn commit(mut self: Box<Self>) -> Result<()> {
        self.open = false;
        self.client.batch_execute("COMMIT").db()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpq_url_forms_parse() {
        for url in [
            "postgres://tokman@/tok?host=/run/postgresql",
            "postgres:///tok?host=/run/postgresql&user=tokman&port=5433",
            "postgresql://tokman@%2Frun%2Fpostgresql:5433/tok",
            "postgres://tokman@h1:5432,h2:5433/tok?target_session_attrs=read-write",
            "postgres://tokman@[::1]:5432/tok",
        ] {
            let t = Target::parse(url).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert!(!t.url_has_password(), "{url}");
        }
    }

    #[test]
    fn pgpass_lines_split_with_escapes() {
        assert_eq!(
            split_pgpass(r"db.example:5432:*:alice:pa\:ss\\w:rd"),
            vec!["db.example", "5432", "*", "alice", r"pa:ss\w:rd"]
        );
        assert_eq!(split_pgpass("a:b:c").len(), 3);
    }

    #[test]
    fn the_shown_url_never_has_the_password() {
        let t = Target::parse("postgres://alice:s3cret@db.example:5433/tok?sslmode=verify-full&sslrootcert=/etc/ca.pem&connect_timeout=5").unwrap();
        let shown = t.to_string();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("alice@db.example:5433/tok"), "{shown}");
        assert!(shown.contains("sslmode=verify-full"), "{shown}");
        assert!(t.url_has_password());
        assert!(!format!("{t:?}").contains("s3cret"));
    }

    #[test]
    fn bad_urls_are_usage_errors_that_do_not_echo_the_password() {
        let e = Target::parse("postgres://alice:s3cret@db/tok?sslmode=sometimes").unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Usage);
        assert!(!e.to_string().contains("s3cret"));
        let e = Target::parse("postgres://alice:s3cret@db:notaport/tok").unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Usage);
        assert!(!e.to_string().contains("s3cret"), "{e}");
    }
}
