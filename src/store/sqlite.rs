//! The SQLite backend: one file, its schema (`sqlite/schema.sql`), its pragmas, and the file
//! lifecycle (created whole under a temporary name and published with a hard link).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
use rusqlite::{
    Connection, ErrorCode, FileControl, OpenFlags, OptionalExtension, TransactionBehavior, params,
};

use super::backend::{
    Engine, EventRow, Inserted, MetaRow, Mode, SlotRow, TokenRow, Txn, Upgrading,
};
use super::seal::hex;
use super::{Durability, OLDEST_UPGRADABLE, REKEYED_VERSION, SCHEMA_VERSION};
use crate::crypto::{self, Keys};
use crate::error::{Error, Result};
use crate::token::Prefix;

mod upgrade;

/// `PRAGMA application_id` of a tokman store: "tkmn".
pub const APPLICATION_ID: i32 = 0x746b_6d6e;
const SCHEMA: &str = include_str!("sqlite/schema.sql");
/// How long a command waits for another one's transaction before giving up. Transactions
/// last milliseconds; this only bounds a pathological wait, so nothing hangs forever.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// How large `verify` lets the WAL it leaves behind grow before the process that closes the
/// store folds it into the store file. Every process that opens the store first rebuilds its
/// index of the WAL by reading every frame in it (the `-shm` index does not survive the last
/// process), so the WAL is kept short: 256 KiB is about 60 frames, a few dozen verifies.
const WAL_FOLD_BYTES: u64 = 256 * 1024;

pub(super) fn sqlite_error(e: rusqlite::Error) -> Error {
    use rusqlite::Error as E;
    match &e {
        E::SqliteFailure(f, msg) => {
            let msg = msg.clone().unwrap_or_else(|| f.to_string());
            match f.code {
                ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => {
                    Error::corrupt(format!("the store is damaged or not a tokman store: {msg}"))
                }
                ErrorCode::ReadOnly => Error::unavailable(
                    format!("the store is read-only: {msg}"),
                    Some("tokman needs to write to the store file and its directory".into()),
                ),
                ErrorCode::DiskFull => Error::unavailable(
                    "the disk is full; nothing was changed",
                    Some("free some space and run the command again".into()),
                ),
                ErrorCode::CannotOpen | ErrorCode::PermissionDenied => Error::unavailable(
                    format!("cannot open the store: {msg}; nothing was changed"),
                    Some(
                        "tokman needs to read and write the store file and to create its -wal and -shm files beside it: check the directory is writable and not on a read-only mount"
                            .into(),
                    ),
                ),
                ErrorCode::SystemIoFailure => Error::unavailable(
                    format!("cannot read or write the store: {msg}; nothing was changed"),
                    Some("check that the disk is not full or read-only, then run the command again".into()),
                ),
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => Error::unavailable(
                    "the store stayed busy for 30 seconds; nothing was changed",
                    Some("another tokman command is holding it; try again".into()),
                ),
                ErrorCode::ConstraintViolation | ErrorCode::TypeMismatch | ErrorCode::Unknown => {
                    Error::corrupt(format!("the store does not have the expected shape: {msg}"))
                }
                _ => Error::internal(format!("sqlite: {e}")),
            }
        }
        // tokman's statements are fixed: one that no longer compiles against the file means
        // its schema was edited (a renamed column, a dropped table).
        E::SqlInputError { msg, .. } => {
            Error::corrupt(format!("the store does not have the expected shape: {msg}"))
        }
        E::InvalidColumnType(..)
        | E::FromSqlConversionFailure(..)
        | E::IntegralValueOutOfRange(..)
        | E::Utf8Error(..)
        | E::InvalidColumnIndex(..)
        | E::InvalidColumnName(..) => {
            Error::corrupt(format!("the store holds an unexpected value: {e}"))
        }
        _ => Error::internal(format!("sqlite: {e}")),
    }
}

pub(super) trait Sql<T> {
    fn db(self) -> Result<T>;
}

impl<T> Sql<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T> {
        self.map_err(sqlite_error)
    }
}

/// An open SQLite store file.
pub struct Sqlite {
    conn: Connection,
    version: i32,
    /// Whether [`Engine::upgrade`] should check that the bucket index covers `leaf`
    /// (management commands only: `verify` stays off the schema).
    cover_index: bool,
    /// For a `verify` connection (`Durability::Normal`), its `-wal` file: left in place on close,
    /// and folded in only once it has grown past [`WAL_FOLD_BYTES`].
    kept_wal: Option<PathBuf>,
}

impl Sqlite {
    /// Open an existing store file. Checks, before anything could write, that the file is a
    /// tokman store of a schema this build knows.
    pub fn open(path: &Path, durability: Durability) -> Result<Sqlite> {
        crate::file_safety::check_store_files(path)?;
        match fs::metadata(path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                return Err(Error::unavailable(
                    format!("{} is not a regular file", path.display()),
                    None,
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::missing(path.display()));
            }
            Err(e) => {
                return Err(Error::unavailable(
                    format!("cannot read the store at {}: {e}", path.display()),
                    None,
                ));
            }
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn =
            Connection::open_with_flags(path, flags).map_err(|e| match sqlite_error(e) {
                Error::Internal(m) => Error::unavailable(
                    format!("cannot open the store at {}: {m}", path.display()),
                    None,
                ),
                other => other,
            })?;
        wait_in_short_steps(&mut conn)?;
        let not_ours = || {
            Error::unavailable(
                format!("{} is not a tokman store", path.display()),
                Some(
                    "check which store was meant; tokman never changes a file that is not its own"
                        .into(),
                ),
            )
        };
        let app_id: i32 = match conn.pragma_query_value(None, "application_id", |r| r.get(0)) {
            Ok(id) => id,
            // Not even SQLite (a text file, a key file): not ours, rather than "corrupt".
            Err(rusqlite::Error::SqliteFailure(f, _)) if f.code == ErrorCode::NotADatabase => {
                return Err(not_ours());
            }
            Err(e) => return Err(sqlite_error(e)),
        };
        if app_id != APPLICATION_ID {
            return Err(not_ours());
        }
        let version: i32 = conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .db()?;
        if version > REKEYED_VERSION {
            return Err(Error::unavailable(
                format!(
                    "{} was made by a newer tokman (store version {version}, this one reads {REKEYED_VERSION})",
                    path.display()
                ),
                Some("upgrade tokman".into()),
            ));
        }
        if !(OLDEST_UPGRADABLE..=REKEYED_VERSION).contains(&version) {
            return Err(Error::corrupt(format!(
                "{} has an unknown store version {version}",
                path.display()
            )));
        }
        let sync = match durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", sync).db()?;
        // Management commands may touch every page (purge, list, audit --check): with SQLite's
        // default 2 MB cache a purge of 100,000 tokens re-read pages 700,000 times and spilled
        // dirty ones to the WAL mid-transaction, and `verify --stream` re-read the bucket index
        // from the OS for every line. The cache grows only as pages are used, to 32 MiB at most,
        // so a single `verify` (a few dozen pages) pays nothing for it.
        conn.pragma_update(None, "cache_size", -32_768).db()?;
        let kept_wal = match durability {
            Durability::Full => {
                // Closing checkpoints the WAL into the store file and removes -wal and -shm
                // (when no other process has the store open), as SQLite always does.
                None
            }
            Durability::Normal => {
                // Beside the file SQLite opened (a symlinked store's target).
                let db = conn
                    .path()
                    .map_or_else(|| path.to_path_buf(), PathBuf::from);
                let mut wal = db.into_os_string();
                wal.push("-wal");
                Some(PathBuf::from(wal))
            }
        };
        Ok(Sqlite {
            conn,
            version,
            cover_index: durability == Durability::Full,
            kept_wal,
        })
    }

    /// Create a store file at `path`, atomically: it is built under a temporary name in the
    /// same directory and linked into place only when complete, so a crash or a concurrent
    /// `init` never leaves a half-made store, and an existing one is never touched. `fill`
    /// writes the store's first rows into the new schema and commits.
    pub fn create(path: &Path, fill: impl FnOnce(Box<dyn Txn + '_>) -> Result<()>) -> Result<()> {
        if fs::symlink_metadata(path).is_ok() {
            return Err(exists(path));
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        create_private_dir(&dir)?;
        crate::file_safety::check_new_store_dir(&dir)?;
        let file_name = path
            .file_name()
            .ok_or_else(|| Error::usage(format!("{} is not a file path", path.display())))?;
        let tmp = dir.join(format!(
            ".{}.new-{}",
            file_name.to_string_lossy(),
            hex(&crypto::random_bytes::<6>())
        ));
        let result = build(&tmp, fill).and_then(|()| publish(&tmp, path));
        let _ = fs::remove_file(&tmp);
        result
    }
}

/// Whether the store's bucket index is the one made before it covered `leaf`.
fn bucket_index_uncovered(conn: &Connection) -> Result<bool> {
    let sql: Option<String> = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'tokens_by_bucket'",
            [],
            |r| r.get(0),
        )
        .optional()
        .db()?;
    Ok(sql.is_some_and(|s| !s.contains("leaf")))
}

/// `verify` neither creates the WAL nor checkpoints it on close: creating it, syncing its header
/// and directory, checkpointing (two more syncs) and deleting -wal and -shm were most of what a
/// process-per-check `verify` cost. The WAL stays on disk (`SQLITE_FCNTL_PERSIST_WAL`) and
/// closing leaves it as it is (`SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE`); its commits are still
/// atomic, and with `synchronous=NORMAL` a power cut may lose the latest counts, as before. The
/// next management command checkpoints it on close, or a `verify` once it has grown.
fn keep_wal(conn: &Connection) -> rusqlite::Result<()> {
    let mut persist: std::ffi::c_int = 1;
    conn.file_control(
        rusqlite::DEFAULT_NAME,
        FileControl::PersistWal(&mut persist),
    )?;
    conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)?;
    Ok(())
}

impl Drop for Sqlite {
    /// Just before a `verify` connection closes: an empty WAL (nothing was written, say on a
    /// damaged store) is closed and removed as SQLite always does; one with frames is left in
    /// place, first folded into the store file and truncated once it has grown past
    /// [`WAL_FOLD_BYTES`]. (SQLite's own auto-checkpoint cannot keep it short: a process that
    /// opens the store rebuilds the WAL's index and no longer knows which frames were
    /// checkpointed, so the WAL would never restart and would grow without bound.) The fold never
    /// waits: when another process is writing or still reads from the WAL, a later one does it.
    fn drop(&mut self) {
        self.before_close();
    }
}

impl Sqlite {
    /// What [`Drop`] does before the connection closes; whether the WAL was left in place.
    fn before_close(&mut self) -> bool {
        let Some(wal) = self.kept_wal.take() else {
            return false;
        };
        let len = fs::metadata(&wal).map_or(0, |m| m.len());
        if len == 0 {
            return false;
        }
        if len > WAL_FOLD_BYTES {
            let _ = self.conn.busy_handler(None::<fn(i32) -> bool>);
            let _ = self
                .conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        }
        let _ = keep_wal(&self.conn);
        true
    }
}

impl Engine for Sqlite {
    /// A kept WAL (a `verify`'s) means closing has nothing left to do on disk: the connection
    /// is not closed but left to the exit, which releases its locks and files as closing would,
    /// saving the free of its caches and statements. Anything else closes as usual (an empty
    /// WAL is removed then).
    fn close_before_exit(mut self: Box<Self>) {
        if self.before_close() {
            std::mem::forget(self);
        }
    }

    fn begin(&mut self, mode: Mode) -> Result<Box<dyn Txn + '_>> {
        let behavior = match mode {
            Mode::Write => TransactionBehavior::Immediate,
            Mode::Read => TransactionBehavior::Deferred,
        };
        let tx = self.conn.transaction_with_behavior(behavior).db()?;
        Ok(Box::new(SqliteTxn { tx }))
    }

    fn version(&self) -> i32 {
        self.version
    }

    fn scrub(&mut self) -> Result<bool> {
        // VACUUM rebuilds the file from the live rows only, so no free page keeps an old
        // value; the checkpoint then moves it into the file and empties the WAL, which held
        // older versions of pages. A reader elsewhere can keep the WAL from being emptied.
        self.conn.execute_batch("VACUUM").db()?;
        let busy: i64 = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
            .db()?;
        Ok(busy == 0)
    }

    fn upgrade(
        &mut self,
        keys: &Keys,
        store_id: &[u8],
        prefix: &Prefix,
    ) -> Result<Option<Upgrading<'_>>> {
        if self.version >= SCHEMA_VERSION {
            // A store made before the bucket index covered `leaf` gets the covering index: the
            // same rows and schema version, so an older tokman reads it as before, and no event.
            // Only a command that writes does it, in its own transaction.
            if std::mem::take(&mut self.cover_index) && bucket_index_uncovered(&self.conn)? {
                let tx = self
                    .conn
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .db()?;
                if bucket_index_uncovered(&tx)? {
                    tx.execute_batch(
                        "DROP INDEX tokens_by_bucket;
                         CREATE INDEX tokens_by_bucket ON tokens (bucket, leaf);",
                    )
                    .db()?;
                }
                tx.commit().db()?;
            }
            return Ok(None);
        }
        let from = self.version;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db()?;
        let version: i32 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .db()?;
        self.version = SCHEMA_VERSION;
        if version != from {
            // Another process upgraded it while this one waited for the lock.
            return Ok(None);
        }
        let changed = upgrade::from_v1(&tx, keys, store_id, prefix)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .db()?;
        Ok(Some((Box::new(SqliteTxn { tx }), changed)))
    }
}

/// Wait for another command's transaction in short, even steps, up to [`BUSY_TIMEOUT`].
/// SQLite's default handler backs off to 100 ms sleeps, so behind a stream of short write
/// transactions (a flood of refused tokens, each logged) a waiter starves; polling every
/// fraction of a millisecond lets it in at the next gap.
fn wait_in_short_steps(conn: &mut Connection) -> Result<()> {
    let mut started = Instant::now();
    conn.busy_handler(Some(move |count: i32| {
        if count == 0 {
            started = Instant::now();
        }
        if started.elapsed() >= BUSY_TIMEOUT {
            return false;
        }
        let step = if count < 50 { 200 } else { 1000 };
        std::thread::sleep(Duration::from_micros(step));
        true
    }))
    .db()
}

fn exists(path: &Path) -> Error {
    Error::conflict(
        format!("a store already exists at {}", path.display()),
        "use it, or create the new store at another path",
    )
}

pub(super) fn create_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| {
        Error::unavailable(
            format!("cannot create the directory {}: {e}", dir.display()),
            None,
        )
    })
}

fn io_unavailable(path: &Path, e: std::io::Error) -> Error {
    Error::unavailable(format!("cannot write {}: {e}", path.display()), None)
}

/// Create an empty file with mode 0600 (SQLite gives its -wal and -shm files the same mode as
/// the database file), never over an existing one.
pub(super) fn create_private_file(path: &Path) -> Result<()> {
    crate::file_safety::create_new_private(path)
        .map(drop)
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                Error::conflict(
                    format!("{} already exists", path.display()),
                    "tokman never writes over an existing file: choose another path",
                )
            } else {
                io_unavailable(path, e)
            }
        })
}

fn build(tmp: &Path, fill: impl FnOnce(Box<dyn Txn + '_>) -> Result<()>) -> Result<()> {
    create_private_file(tmp)?;
    let mut conn = Connection::open_with_flags(
        tmp,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .db()?;
    conn.pragma_update(None, "journal_mode", "WAL").db()?;
    conn.pragma_update(None, "synchronous", "FULL").db()?;
    {
        let tx = conn.transaction().db()?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .db()?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .db()?;
        tx.execute_batch(SCHEMA).db()?;
        fill(Box::new(SqliteTxn { tx }))?;
    }
    // Closing the last connection checkpoints the WAL and removes -wal and -shm.
    conn.close().map_err(|(_, e)| sqlite_error(e))?;
    fs::File::open(tmp)
        .and_then(|f| f.sync_all())
        .map_err(|e| io_unavailable(tmp, e))?;
    Ok(())
}

fn publish(tmp: &Path, path: &Path) -> Result<()> {
    // A hard link fails if the target exists: of two racing inits exactly one wins, and an
    // existing store is never replaced.
    match fs::hard_link(tmp, path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Err(exists(path)),
        Err(e) => return Err(io_unavailable(path, e)),
    }
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

const TOKEN_COLUMNS: &str = "t.id, t.user_ix, t.active_ix, t.secret_mac, t.record, t.usage, t.leaf";

pub(super) fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRow> {
    Ok(TokenRow {
        id: r.get(0)?,
        user_ix: r.get(1)?,
        active_ix: r.get(2)?,
        secret_mac: r.get(3)?,
        record: r.get(4)?,
        usage: r.get(5)?,
        leaf: r.get(6)?,
    })
}

fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EventRow> {
    Ok(EventRow {
        seq: r.get(0)?,
        at: r.get(1)?,
        event: r.get(2)?,
        mac: r.get(3)?,
        count: r.get(4)?,
    })
}

fn slot_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SlotRow> {
    Ok(SlotRow {
        slot: r.get(0)?,
        kind: r.get(1)?,
        kdf: r.get(2)?,
        salt: r.get(3)?,
        wrapped: r.get(4)?,
        info: r.get(5)?,
        last_used_at: r.get(6)?,
    })
}

pub(super) fn read_slot_rows(tx: &rusqlite::Transaction<'_>) -> Result<Vec<SlotRow>> {
    let mut stmt = tx
        .prepare_cached(
            "SELECT slot, kind, kdf, salt, wrapped, info, last_used_at FROM slots ORDER BY slot",
        )
        .db()?;
    let rows = stmt
        .query_map([], slot_row)
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    Ok(rows)
}

struct SqliteTxn<'a> {
    tx: rusqlite::Transaction<'a>,
}

impl Txn for SqliteTxn<'_> {
    fn identity(&mut self) -> Result<Option<(String, Vec<u8>)>> {
        self.tx
            .query_row(
                "SELECT prefix, store_id FROM meta WHERE singleton = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .db()
    }

    fn meta(&mut self) -> Result<Option<MetaRow>> {
        self.tx
            .prepare_cached("SELECT prefix, store_id, settings, root FROM meta WHERE singleton = 1")
            .db()?
            .query_row([], |r| {
                Ok(MetaRow {
                    prefix: r.get(0)?,
                    store_id: r.get(1)?,
                    settings: r.get(2)?,
                    root: r.get(3)?,
                })
            })
            .optional()
            .db()
    }

    fn insert_meta(&mut self, m: &MetaRow) -> Result<()> {
        self.tx
            .execute(
                "INSERT INTO meta (singleton, prefix, store_id, settings, root) VALUES (1, ?1, ?2, ?3, ?4)",
                params![m.prefix, m.store_id, m.settings, m.root],
            )
            .db()?;
        Ok(())
    }

    fn set_root(&mut self, sealed: &[u8]) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE meta SET root = ?1 WHERE singleton = 1")
            .db()?
            .execute([sealed])
            .db()?;
        Ok(())
    }

    fn set_settings(&mut self, sealed: &[u8]) -> Result<()> {
        self.tx
            .execute(
                "UPDATE meta SET settings = ?1 WHERE singleton = 1",
                [sealed],
            )
            .db()?;
        Ok(())
    }

    fn slots(&mut self) -> Result<Vec<SlotRow>> {
        read_slot_rows(&self.tx)
    }

    fn insert_slot(&mut self, row: &SlotRow) -> Result<()> {
        self.tx
            .execute(
                "INSERT INTO slots (slot, kind, kdf, salt, wrapped, info, last_used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    row.slot,
                    row.kind,
                    row.kdf,
                    row.salt,
                    row.wrapped,
                    row.info,
                    row.last_used_at
                ],
            )
            .db()?;
        Ok(())
    }

    fn delete_slot(&mut self, slot: i64) -> Result<()> {
        self.tx
            .execute("DELETE FROM slots WHERE slot = ?1", [slot])
            .db()?;
        Ok(())
    }

    fn touch_slot(&mut self, slot: i64, now: i64) -> Result<bool> {
        let changed = self
            .tx
            .prepare_cached(
                "UPDATE slots SET last_used_at = ?2 WHERE slot = ?1 AND (last_used_at IS NULL OR last_used_at < ?2 - 60)",
            )
            .db()?
            .execute(params![slot, now])
            .db()?;
        Ok(changed > 0)
    }

    fn token(&mut self, id: &str) -> Result<Option<TokenRow>> {
        self.tx
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens t WHERE t.id = ?1"
            ))
            .db()?
            .query_row([id], token_row)
            .optional()
            .db()
    }

    fn active_token(&mut self, user_ix: &[u8]) -> Result<Option<TokenRow>> {
        self.tx
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens t WHERE t.active_ix = ?1"
            ))
            .db()?
            .query_row([user_ix], token_row)
            .optional()
            .db()
    }

    fn user_tokens(&mut self, user_ix: &[u8]) -> Result<Vec<TokenRow>> {
        self.tx
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens t WHERE t.user_ix = ?1"
            ))
            .db()?
            .query_map([user_ix], token_row)
            .db()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .db()
    }

    fn each_token(&mut self, f: &mut dyn FnMut(TokenRow) -> Result<()>) -> Result<()> {
        let mut stmt = self
            .tx
            .prepare_cached(&format!("SELECT {TOKEN_COLUMNS} FROM tokens t"))
            .db()?;
        for row in stmt.query_map([], token_row).db()? {
            f(row.db()?)?;
        }
        Ok(())
    }

    fn bucket_leaves(&mut self, bucket: u32) -> Result<Vec<(String, Vec<u8>)>> {
        self.tx
            .prepare_cached("SELECT id, leaf FROM tokens WHERE bucket = ?1")
            .db()?
            .query_map([i64::from(bucket)], |r| Ok((r.get(0)?, r.get(1)?)))
            .db()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .db()
    }

    fn insert_token(&mut self, row: &TokenRow, bucket: u32) -> Result<Inserted> {
        let res = self
            .tx
            .prepare_cached(
                "INSERT INTO tokens (id, user_ix, active_ix, secret_mac, record, usage, bucket, leaf) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )
            .db()?
            .execute(params![
                row.id,
                row.user_ix,
                row.active_ix,
                row.secret_mac,
                row.record,
                row.usage,
                i64::from(bucket),
                row.leaf
            ]);
        match res {
            Ok(_) => Ok(Inserted::Done),
            // The partial unique index on `active_ix` (a primary-key clash has its own code).
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE =>
            {
                Ok(Inserted::ActiveTaken)
            }
            Err(e) => Err(sqlite_error(e)),
        }
    }

    fn update_token(
        &mut self,
        id: &str,
        active_ix: Option<&[u8]>,
        record: &[u8],
        leaf: &[u8],
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE tokens SET active_ix = ?2, record = ?3, leaf = ?4 WHERE id = ?1",
            )
            .db()?
            .execute(params![id, active_ix, record, leaf])
            .db()?;
        Ok(())
    }

    fn set_usage(&mut self, id: &str, usage: &[u8]) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE tokens SET usage = ?2 WHERE id = ?1")
            .db()?
            .execute(params![id, usage])
            .db()?;
        Ok(())
    }

    fn delete_token(&mut self, id: &str) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM tokens WHERE id = ?1")
            .db()?
            .execute([id])
            .db()?;
        Ok(())
    }

    fn token_exists(&mut self, id: &str) -> Result<bool> {
        self.tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM tokens WHERE id = ?1)")
            .db()?
            .query_row([id], |r| r.get(0))
            .db()
    }

    fn count_tokens(&mut self) -> Result<u64> {
        let n: i64 = self
            .tx
            .query_row("SELECT count(*) FROM tokens", [], |r| r.get(0))
            .db()?;
        Ok(n.max(0) as u64)
    }

    fn node(&mut self, level: u32, idx: u32) -> Result<Option<Vec<u8>>> {
        self.tx
            .prepare_cached("SELECT hash FROM nodes WHERE level = ?1 AND idx = ?2")
            .db()?
            .query_row(params![level, idx], |r| r.get(0))
            .optional()
            .db()
    }

    fn set_node(&mut self, level: u32, idx: u32, hash: Option<&[u8]>) -> Result<()> {
        match hash {
            None => self
                .tx
                .prepare_cached("DELETE FROM nodes WHERE level = ?1 AND idx = ?2")
                .db()?
                .execute(params![level, idx])
                .db()?,
            Some(hash) => self
                .tx
                .prepare_cached(
                    "INSERT INTO nodes (level, idx, hash) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (level, idx) DO UPDATE SET hash = excluded.hash",
                )
                .db()?
                .execute(params![level, idx, hash])
                .db()?,
        };
        Ok(())
    }

    /// One query a level (a node and its sibling are adjacent), not one a node: half the
    /// statements on `verify`'s path check.
    fn nodes_at(&mut self, positions: &[(u32, u32)]) -> Result<Vec<(u32, u32, Vec<u8>)>> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT idx, hash FROM nodes WHERE level = ?1 AND idx BETWEEN ?2 AND ?3",
            )
            .db()?;
        let mut out = Vec::new();
        let mut rest = positions;
        while let Some(&(level, first)) = rest.first() {
            let n = rest.iter().take_while(|p| p.0 == level).count();
            let (at_level, tail) = rest.split_at(n);
            rest = tail;
            let lo = at_level.iter().map(|p| p.1).min().unwrap_or(first);
            let hi = at_level.iter().map(|p| p.1).max().unwrap_or(first);
            let mut rows = stmt.query(params![level, lo, hi]).db()?;
            while let Some(r) = rows.next().db()? {
                let idx: u32 = r.get(0).db()?;
                if at_level.iter().any(|p| p.1 == idx) {
                    out.push((level, idx, r.get(1).db()?));
                }
            }
        }
        Ok(out)
    }

    fn nodes(&mut self) -> Result<Vec<(u32, u32, Vec<u8>)>> {
        self.tx
            .prepare("SELECT level, idx, hash FROM nodes")
            .db()?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .db()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .db()
    }

    fn audit_tail(&mut self) -> Result<Option<EventRow>> {
        self.tx
            .prepare_cached("SELECT seq, at, x'', mac, count FROM audit ORDER BY seq DESC LIMIT 1")
            .db()?
            .query_row([], event_row)
            .optional()
            .db()
    }

    fn event(&mut self, seq: i64) -> Result<Option<EventRow>> {
        self.tx
            .prepare_cached("SELECT seq, at, event, mac, count FROM audit WHERE seq = ?1")
            .db()?
            .query_row([seq], event_row)
            .optional()
            .db()
    }

    fn insert_event(&mut self, row: &EventRow) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO audit (seq, at, event, mac, count) VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .db()?
            .execute(params![row.seq, row.at, row.event, row.mac, row.count])
            .db()?;
        Ok(())
    }

    fn set_event_count(&mut self, seq: i64, count: i64) -> Result<()> {
        self.tx
            .prepare_cached("UPDATE audit SET count = ?2 WHERE seq = ?1")
            .db()?
            .execute(params![seq, count])
            .db()?;
        Ok(())
    }

    fn each_event(
        &mut self,
        since: Option<i64>,
        f: &mut dyn FnMut(EventRow) -> Result<()>,
    ) -> Result<()> {
        let mut stmt = self
            .tx
            .prepare("SELECT seq, at, event, mac, count FROM audit WHERE at >= ?1 ORDER BY seq")
            .db()?;
        for row in stmt
            .query_map([since.unwrap_or(i64::MIN)], event_row)
            .db()?
        {
            f(row.db()?)?;
        }
        Ok(())
    }

    fn last_event_before(&mut self, at: i64) -> Result<Option<EventRow>> {
        self.tx
            .query_row(
                "SELECT seq, at, x'', mac, count FROM audit WHERE at < ?1 ORDER BY seq DESC LIMIT 1",
                [at],
                event_row,
            )
            .optional()
            .db()
    }

    fn delete_events_through(&mut self, seq: i64) -> Result<u64> {
        let n = self
            .tx
            .execute("DELETE FROM audit WHERE seq <= ?1", [seq])
            .db()?;
        Ok(n as u64)
    }

    fn count_events(&mut self) -> Result<u64> {
        let n: i64 = self
            .tx
            .query_row("SELECT count(*) FROM audit", [], |r| r.get(0))
            .db()?;
        Ok(n.max(0) as u64)
    }

    fn set_version(&mut self, version: i32) -> Result<()> {
        self.tx.pragma_update(None, "user_version", version).db()
    }

    fn commit(self: Box<Self>) -> Result<()> {
        self.tx.commit().db()
    }
}
