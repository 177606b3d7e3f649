//! The SQLite store: creating and opening the file, unlock slots, sealed token rows, the
//! revocation list and the audit chain. All SQL of tokman lives here and in `schema.sql`.
//!
//! The store only stores: it does not decide whether a token is valid or may be issued (that is
//! `lifecycle`), and it never sees a token secret, only its keyed hash. Every change happens in
//! a [`Tx`], a `BEGIN IMMEDIATE` transaction; nothing is half-written when a command fails.

use std::cell::Cell;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::audit::{Entry, Event, Intact, Kind};
use crate::crypto::{self, KdfParams, KeyFileKey, Keys, MasterKey, Passphrase, Unauthentic};
use crate::error::{Error, Result};
pub use crate::key_file::{read_key_file, write_key_file};
use crate::lifecycle::{Record, Settings, Timestamp, Usage};
use crate::token::{Prefix, TokenId};

/// `PRAGMA application_id` of a tokman store: "tkmn".
pub const APPLICATION_ID: i32 = 0x746b_6d6e;
/// `PRAGMA user_version` this build reads and writes.
pub const SCHEMA_VERSION: i32 = 1;
const SCHEMA: &str = include_str!("schema.sql");
/// How long a command waits for another one's transaction before giving up. Transactions
/// last milliseconds; this only bounds a pathological wait, so nothing hangs forever.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// How hard a commit must reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Management writes (generate, rotate, revoke, purge, keys): `synchronous=FULL`, so a
    /// printed token or a reported revocation survives a power cut.
    Full,
    /// `verify`: `synchronous=NORMAL` in WAL mode. Still atomic and safe against a crash of the
    /// process; a power cut may lose the last usage counters, never a token or a revocation
    /// (those are only ever written with `Full`).
    Normal,
}

/// A way to unlock the store, as resolved from flags, environment or a prompt.
pub enum Unlock {
    KeyFile(KeyFileKey),
    Passphrase(Passphrase),
}

/// An open (still locked) store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    prefix: Prefix,
    store_id: Vec<u8>,
    /// When this process last wrote its slot's `last_used_at`: `verify --stream` then skips the
    /// no-op update for the rest of that minute.
    touched_at: Cell<Option<Timestamp>>,
}

/// The keys of an unlocked store and the slot that unlocked it.
pub struct Unlocked {
    pub keys: Keys,
    pub slot: i64,
}

/// One slot as `key list` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlotInfo {
    pub slot: i64,
    pub kind: String,
    pub label: Option<String>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

#[derive(Serialize, Deserialize)]
struct SlotPrivate {
    label: Option<String>,
    created_at: Timestamp,
}

#[derive(Serialize, Deserialize)]
struct Head {
    last_seq: i64,
    last_mac: String,
    base_seq: i64,
    base_prev: String,
}

/// A token row, opened.
#[derive(Debug, Clone)]
pub struct Stored {
    pub record: Record,
    pub usage: Usage,
    /// Whether the row holds its user's active place.
    pub active: bool,
    secret_mac: Vec<u8>,
}

/// How a new store unlocks.
pub enum NewSlot<'a> {
    Passphrase(&'a Passphrase),
    KeyFile(&'a KeyFileKey),
}

fn sqlite_error(e: rusqlite::Error) -> Error {
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

trait Sql<T> {
    fn db(self) -> Result<T>;
}

impl<T> Sql<T> for rusqlite::Result<T> {
    fn db(self) -> Result<T> {
        self.map_err(sqlite_error)
    }
}

fn tampered(what: impl std::fmt::Display) -> Error {
    Error::corrupt(format!(
        "integrity check failed: {what} was altered or damaged"
    ))
}

/// Associated data: length-prefixed parts, so distinct part lists never collide.
fn ad(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for p in parts {
        out.extend_from_slice(&(p.len() as u32).to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

fn seal_json<T: Serialize>(keys: &Keys, ad: &[u8], value: &T) -> Result<Vec<u8>> {
    let plain = zeroize::Zeroizing::new(serde_json::to_vec(value)?);
    Ok(keys.seal(ad, &plain))
}

fn open_json<T: DeserializeOwned>(
    keys: &Keys,
    ad: &[u8],
    sealed: &[u8],
    what: impl std::fmt::Display,
) -> Result<T> {
    let plain = keys
        .open(ad, sealed)
        .map_err(|Unauthentic| tampered(&what))?;
    serde_json::from_slice(&plain).map_err(|_| tampered(what))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

impl Store {
    /// Open an existing store without unlocking it. Checks, before anything could write, that
    /// the file is a tokman store of a schema this build knows.
    pub fn open(path: &Path, durability: Durability) -> Result<Store> {
        crate::file_safety::check_store_files(path)?;
        match fs::metadata(path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => {
                return Err(Error::unavailable(
                    format!("{} is not a regular file", path.display()),
                    None,
                ));
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::missing(path)),
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
                    "check --store / TOKMAN_STORE; tokman never changes a file that is not its own"
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
        if version > SCHEMA_VERSION {
            return Err(Error::unavailable(
                format!(
                    "{} was made by a newer tokman (store version {version}, this one reads {SCHEMA_VERSION})",
                    path.display()
                ),
                Some("upgrade tokman".into()),
            ));
        }
        if version != SCHEMA_VERSION {
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
        let (prefix, store_id): (String, Vec<u8>) = conn
            .query_row(
                "SELECT prefix, store_id FROM meta WHERE singleton = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .db()?
            .ok_or_else(|| tampered("the store's metadata"))?;
        let prefix = Prefix::parse(&prefix).map_err(|_| tampered("the store's prefix"))?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
            prefix,
            store_id,
            touched_at: Cell::new(None),
        })
    }

    /// Create a store at `path`, atomically: it is built under a temporary name in the same
    /// directory and linked into place only when complete, so a crash or a concurrent `init`
    /// never leaves a half-made store, and an existing one is never touched.
    pub fn create(
        path: &Path,
        prefix: &Prefix,
        settings: &Settings,
        slot: NewSlot<'_>,
        label: Option<&str>,
        now: Timestamp,
    ) -> Result<()> {
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
        let result =
            build(&tmp, prefix, settings, slot, label, now).and_then(|()| publish(&tmp, path));
        let _ = fs::remove_file(&tmp);
        result
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn prefix(&self) -> &Prefix {
        &self.prefix
    }

    /// Whether the store has a passphrase slot (so that a prompt makes sense).
    pub fn has_passphrase_slot(&self) -> Result<bool> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM slots WHERE kind = 'passphrase')",
                [],
                |r| r.get(0),
            )
            .db()
    }

    /// Unlock with a key file or passphrase. A key file costs one AEAD open per key-file slot
    /// and no Argon2; a passphrase costs one Argon2id run per passphrase slot.
    pub fn unlock(&self, how: &Unlock) -> Result<Unlocked> {
        let kind = match how {
            Unlock::KeyFile(_) => "keyfile",
            Unlock::Passphrase(_) => "passphrase",
        };
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT slot, kdf, salt, wrapped FROM slots WHERE kind = ?1 ORDER BY slot",
            )
            .db()?;
        let rows = stmt
            .query_map([kind], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, Option<Vec<u8>>>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })
            .db()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .db()?;
        if rows.is_empty() {
            return Err(Error::locked(
                format!("this store has no {} slot", if kind == "keyfile" { "key-file" } else { "passphrase" }),
                Some("unlock it another way: --key-file, --passphrase-file or TOKMAN_PASSPHRASE; `tokman key list` shows its slots".into()),
            ));
        }
        for (slot, kdf, salt, wrapped) in rows {
            let salt = salt.unwrap_or_default();
            let slot_ad = slot_ad(&self.store_id, slot, kind, kdf.as_deref(), &salt);
            let master = match how {
                Unlock::KeyFile(kf) => kf.unwrap(&slot_ad, &wrapped),
                Unlock::Passphrase(p) => {
                    let Some(params) = crate::key_file::slot_kdf_params(slot, kdf.as_deref())?
                    else {
                        continue;
                    };
                    crypto::unwrap_with_passphrase(p, params, &salt, &slot_ad, &wrapped)
                }
            };
            if let Ok(master) = master {
                return Ok(Unlocked {
                    keys: master.derive(),
                    slot,
                });
            }
        }
        Err(match how {
            Unlock::KeyFile(_) => Error::locked(
                "the key file does not unlock this store",
                Some("it may belong to another store or its slot was removed; `tokman key list` shows the slots".into()),
            ),
            Unlock::Passphrase(_) => Error::locked(
                "wrong passphrase",
                Some("check where it came from: --passphrase-file, TOKMAN_PASSPHRASE_FILE, TOKMAN_PASSPHRASE or the prompt".into()),
            ),
        })
    }

    /// Start a write transaction (`BEGIN IMMEDIATE`): it takes the write lock up front, so two
    /// commands never both read and then fight to write.
    pub fn write<'a>(&'a mut self, unlocked: &'a Unlocked) -> Result<Tx<'a>> {
        self.begin(unlocked, TransactionBehavior::Immediate)
    }

    /// Start a read transaction: a consistent snapshot for `list`, `inspect` and `audit`.
    pub fn read<'a>(&'a mut self, unlocked: &'a Unlocked) -> Result<Tx<'a>> {
        self.begin(unlocked, TransactionBehavior::Deferred)
    }

    fn begin<'a>(
        &'a mut self,
        unlocked: &'a Unlocked,
        behavior: TransactionBehavior,
    ) -> Result<Tx<'a>> {
        let tx = self.conn.transaction_with_behavior(behavior).db()?;
        Ok(Tx {
            tx,
            keys: &unlocked.keys,
            slot: unlocked.slot,
            store_id: &self.store_id,
            touched_at: Some(&self.touched_at),
        })
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
        "use it, or pass --store PATH to create another",
    )
}

fn create_private_dir(dir: &Path) -> Result<()> {
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

fn build(
    tmp: &Path,
    prefix: &Prefix,
    settings: &Settings,
    slot: NewSlot<'_>,
    label: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    // Create the file ourselves with mode 0600 before SQLite sees it: SQLite gives its -wal
    // and -shm files the same mode as the database file.
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(tmp).map_err(|e| io_unavailable(tmp, e))?;
    let mut conn = Connection::open_with_flags(
        tmp,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .db()?;
    conn.pragma_update(None, "journal_mode", "WAL").db()?;
    conn.pragma_update(None, "synchronous", "FULL").db()?;
    let master = MasterKey::generate();
    let keys = master.derive();
    let store_id = crypto::random_bytes::<16>().to_vec();
    {
        let tx = conn.transaction().db()?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .db()?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .db()?;
        tx.execute_batch(SCHEMA).db()?;
        let head = Head {
            last_seq: 0,
            last_mac: hex(&[0; 32]),
            base_seq: 1,
            base_prev: hex(&[0; 32]),
        };
        tx.execute(
            "INSERT INTO meta (singleton, prefix, store_id, settings, audit_head) VALUES (1, ?1, ?2, ?3, ?4)",
            params![
                prefix.as_str(),
                store_id,
                seal_json(&keys, &settings_ad(&store_id), settings)?,
                seal_json(&keys, &head_ad(&store_id), &head)?,
            ],
        )
        .db()?;
        let slot_no = insert_slot(&tx, &keys, &master, &store_id, slot, label, now)?;
        let unlocked_slot = Some(slot_no);
        let mut t = Tx {
            tx,
            keys: &keys,
            slot: slot_no,
            store_id: &store_id,
            touched_at: None,
        };
        let mut init = Event::new(Kind::Init).detail(format!(
            "prefix {prefix}, max lifetime {}",
            settings.max_lifetime
        ));
        init.slot = unlocked_slot;
        t.append(init, now)?;
        t.tx.commit().db()?;
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

fn slot_ad(store_id: &[u8], slot: i64, kind: &str, kdf: Option<&str>, salt: &[u8]) -> Vec<u8> {
    ad(&[
        b"tokman v1 slot",
        store_id,
        &slot.to_be_bytes(),
        kind.as_bytes(),
        kdf.unwrap_or("").as_bytes(),
        salt,
    ])
}

fn slot_info_ad(store_id: &[u8], slot: i64) -> Vec<u8> {
    ad(&[b"tokman v1 slot info", store_id, &slot.to_be_bytes()])
}

fn settings_ad(store_id: &[u8]) -> Vec<u8> {
    ad(&[b"tokman v1 settings", store_id])
}

fn head_ad(store_id: &[u8]) -> Vec<u8> {
    ad(&[b"tokman v1 audit head", store_id])
}

fn insert_slot(
    tx: &rusqlite::Transaction<'_>,
    keys: &Keys,
    master: &MasterKey,
    store_id: &[u8],
    slot: NewSlot<'_>,
    label: Option<&str>,
    now: Timestamp,
) -> Result<i64> {
    let slot_no: i64 = tx
        .query_row(
            "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'slots'), 0) + 1",
            [],
            |r| r.get(0),
        )
        .db()?;
    let (kind, kdf, salt, wrapped) = match slot {
        NewSlot::Passphrase(p) => {
            let params = KdfParams::DEFAULT;
            let kdf = serde_json::to_string(&params)?;
            let salt = crypto::random_bytes::<16>().to_vec();
            let slot_ad = slot_ad(store_id, slot_no, "passphrase", Some(&kdf), &salt);
            let wrapped = crypto::wrap_with_passphrase(master, p, params, &salt, &slot_ad)
                .map_err(|_| Error::internal("argon2 rejected the default parameters"))?;
            ("passphrase", Some(kdf), Some(salt), wrapped)
        }
        NewSlot::KeyFile(kf) => {
            let slot_ad = slot_ad(store_id, slot_no, "keyfile", None, &[]);
            ("keyfile", None, None, kf.wrap(master, &slot_ad))
        }
    };
    let info = SlotPrivate {
        label: label.map(str::to_owned),
        created_at: now,
    };
    tx.execute(
        "INSERT INTO slots (slot, kind, kdf, salt, wrapped, info, last_used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)",
        params![
            slot_no,
            kind,
            kdf,
            salt,
            wrapped,
            seal_json(keys, &slot_info_ad(store_id, slot_no), &info)?
        ],
    )
    .db()?;
    Ok(slot_no)
}

/// A transaction on an unlocked store. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx<'a> {
    tx: rusqlite::Transaction<'a>,
    keys: &'a Keys,
    slot: i64,
    store_id: &'a [u8],
    touched_at: Option<&'a Cell<Option<Timestamp>>>,
}

fn record_ad(id: &str, user_ix: &[u8], active: bool, secret_mac: &[u8]) -> Vec<u8> {
    ad(&[
        b"tokman v1 token",
        id.as_bytes(),
        user_ix,
        &[u8::from(active)],
        secret_mac,
    ])
}

fn usage_ad(id: &str) -> Vec<u8> {
    ad(&[b"tokman v1 usage", id.as_bytes()])
}

const TOKEN_COLUMNS: &str = "t.id, t.user_ix, t.active_ix, t.secret_mac, t.record, t.usage, \
     EXISTS (SELECT 1 FROM revoked r WHERE r.id = t.id)";

struct RawToken {
    id: String,
    user_ix: Vec<u8>,
    active_ix: Option<Vec<u8>>,
    secret_mac: Vec<u8>,
    record: Vec<u8>,
    usage: Vec<u8>,
    tombstoned: bool,
}

fn raw_token(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawToken> {
    Ok(RawToken {
        id: r.get(0)?,
        user_ix: r.get(1)?,
        active_ix: r.get(2)?,
        secret_mac: r.get(3)?,
        record: r.get(4)?,
        usage: r.get(5)?,
        tombstoned: r.get(6)?,
    })
}

impl Tx<'_> {
    /// The slot that unlocked the store, recorded with every event.
    pub fn slot(&self) -> i64 {
        self.slot
    }

    pub fn commit(self) -> Result<()> {
        self.tx.commit().db()
    }

    pub fn keys(&self) -> &Keys {
        self.keys
    }

    /// The store's settings, fixed at `init`.
    pub fn settings(&self) -> Result<Settings> {
        let sealed: Vec<u8> = self
            .tx
            .query_row("SELECT settings FROM meta WHERE singleton = 1", [], |r| {
                r.get(0)
            })
            .db()?;
        open_json(
            self.keys,
            &settings_ad(self.store_id),
            &sealed,
            "the store's settings",
        )
    }

    /// Note that the unlocking slot was used; written at most once a minute to keep `verify`
    /// from rewriting the slot table on every call.
    pub fn touch_slot(&self, now: Timestamp) -> Result<()> {
        // Written by this process less than a minute ago: the update below would change nothing.
        if let Some(t) = self.touched_at.and_then(Cell::get)
            && t <= now
            && t >= now - 60
        {
            return Ok(());
        }
        let changed = self
            .tx
            .prepare_cached(
                "UPDATE slots SET last_used_at = ?2 WHERE slot = ?1 AND (last_used_at IS NULL OR last_used_at < ?2 - 60)",
            )
            .db()?
            .execute(params![self.slot, now])
            .db()?;
        // Only a written value is remembered (it may still roll back; then the next touch in
        // this process simply writes it again after the minute).
        if changed > 0
            && let Some(cell) = self.touched_at
        {
            cell.set(Some(now));
        }
        Ok(())
    }

    fn open_token(&self, raw: RawToken) -> Result<Stored> {
        if raw.active_ix.as_ref().is_some_and(|a| *a != raw.user_ix) {
            return Err(tampered(format_args!("token {}", raw.id)));
        }
        let active = raw.active_ix.is_some();
        let record: Record = open_json(
            self.keys,
            &record_ad(&raw.id, &raw.user_ix, active, &raw.secret_mac),
            &raw.record,
            format_args!("token {}", raw.id),
        )?;
        if record.id.as_str() != raw.id {
            return Err(tampered(format_args!("token {}", raw.id)));
        }
        // The revocation list is kept apart from the row: a row restored from before its
        // revocation disagrees with it, and that is tampering, not a live token.
        if raw.tombstoned && record.revoked_at.is_none() {
            return Err(tampered(format_args!(
                "token {} (revoked, but its row says otherwise)",
                raw.id
            )));
        }
        let usage: Usage = open_json(
            self.keys,
            &usage_ad(&raw.id),
            &raw.usage,
            format_args!("the usage of token {}", raw.id),
        )?;
        Ok(Stored {
            record,
            usage,
            active,
            secret_mac: raw.secret_mac,
        })
    }

    /// The token with this public id, opened, if the store has it.
    pub fn token(&self, id: &TokenId) -> Result<Option<Stored>> {
        let raw = self
            .tx
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens t WHERE t.id = ?1"
            ))
            .db()?
            .query_row([id.as_str()], raw_token)
            .optional()
            .db()?;
        raw.map(|raw| self.open_token(raw)).transpose()
    }

    /// Whether `token_text` is the secret of the stored token, in constant time.
    pub fn secret_matches(&self, stored: &Stored, token_text: &str) -> bool {
        self.keys.secret_matches(token_text, &stored.secret_mac)
    }

    /// The token holding `user`'s active place (it may have expired since), if any.
    pub fn active_for_user(&self, user: &str) -> Result<Option<Stored>> {
        let ix = self.keys.user_index(user);
        let raw = self
            .tx
            .prepare_cached(&format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens t WHERE t.active_ix = ?1"
            ))
            .db()?
            .query_row([&ix[..]], raw_token)
            .optional()
            .db()?;
        raw.map(|raw| self.open_token(raw)).transpose()
    }

    /// Every token, or every token of one user, opened.
    pub fn tokens(&self, user: Option<&str>) -> Result<Vec<Stored>> {
        let mut out = Vec::new();
        self.each_token(user, |s| {
            out.push(s);
            Ok(())
        })?;
        Ok(out)
    }

    /// Every token, or every token of one user, opened and handed to `f` one at a time: memory
    /// stays flat however many tokens the store holds. Stops at the first error.
    pub fn each_token(
        &self,
        user: Option<&str>,
        mut f: impl FnMut(Stored) -> Result<()>,
    ) -> Result<()> {
        let ix = user.map(|u| self.keys.user_index(u));
        let sql = match ix {
            Some(_) => format!("SELECT {TOKEN_COLUMNS} FROM tokens t WHERE t.user_ix = ?1"),
            None => format!("SELECT {TOKEN_COLUMNS} FROM tokens t"),
        };
        let mut stmt = self.tx.prepare_cached(&sql).db()?;
        let rows = match &ix {
            Some(ix) => stmt.query_map([&ix[..]], raw_token),
            None => stmt.query_map([], raw_token),
        }
        .db()?;
        for raw in rows {
            f(self.open_token(raw.db()?)?)?;
        }
        Ok(())
    }

    /// Store a new token holding its user's active place. The partial unique index refuses a
    /// second active token for the user even if a check before this was raced.
    pub fn insert(&self, record: &Record, secret_mac: &[u8; 32]) -> Result<()> {
        let user_ix = self.keys.user_index(&record.user);
        let id = record.id.as_str();
        let sealed = seal_json(
            self.keys,
            &record_ad(id, &user_ix, true, secret_mac),
            record,
        )?;
        let usage = seal_json(self.keys, &usage_ad(id), &Usage::default())?;
        let res = self
            .tx
            .prepare_cached(
                "INSERT INTO tokens (id, user_ix, active_ix, secret_mac, record, usage) VALUES (?1, ?2, ?2, ?3, ?4, ?5)",
            )
            .db()?
            .execute(params![id, &user_ix[..], &secret_mac[..], sealed, usage]);
        match res {
            Ok(_) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(f, _))
                if f.code == ErrorCode::ConstraintViolation =>
            {
                Err(Error::conflict(
                    "this user already has an active token",
                    "see it with `tokman list --user USER --status active`; replace it with `tokman rotate`",
                ))
            }
            Err(e) => Err(sqlite_error(e)),
        }
    }

    /// Write back a changed record. A revoked token also gives up its user's active place and
    /// enters the revocation list; `retire` gives up the place without revoking (an expired
    /// token being replaced).
    pub fn update(&self, stored: &Stored, retire: bool) -> Result<()> {
        let record = &stored.record;
        let id = record.id.as_str();
        let user_ix = self.keys.user_index(&record.user);
        let active = stored.active && !retire && record.revoked_at.is_none();
        let sealed = seal_json(
            self.keys,
            &record_ad(id, &user_ix, active, &stored.secret_mac),
            record,
        )?;
        let active_ix: Option<&[u8]> = active.then_some(&user_ix[..]);
        self.tx
            .prepare_cached("UPDATE tokens SET active_ix = ?2, record = ?3 WHERE id = ?1")
            .db()?
            .execute(params![id, active_ix, sealed])
            .db()?;
        if record.revoked_at.is_some() {
            self.tx
                .prepare_cached("INSERT OR IGNORE INTO revoked (id) VALUES (?1)")
                .db()?
                .execute([id])
                .db()?;
        }
        Ok(())
    }

    /// Record a use (or any change of usage) of a token.
    pub fn set_usage(&self, id: &TokenId, usage: &Usage) -> Result<()> {
        let sealed = seal_json(self.keys, &usage_ad(id.as_str()), usage)?;
        self.tx
            .prepare_cached("UPDATE tokens SET usage = ?2 WHERE id = ?1")
            .db()?
            .execute(params![id.as_str(), sealed])
            .db()?;
        Ok(())
    }

    /// Delete a token's row. Its id stays in the revocation list if it was revoked.
    pub fn delete(&self, id: &TokenId) -> Result<()> {
        self.tx
            .prepare_cached("DELETE FROM tokens WHERE id = ?1")
            .db()?
            .execute([id.as_str()])
            .db()?;
        Ok(())
    }

    /// Whether an id is taken, now or ever (a purged revoked token's id is never reused).
    pub fn id_taken(&self, id: &TokenId) -> Result<bool> {
        self.tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM tokens WHERE id = ?1) OR EXISTS (SELECT 1 FROM revoked WHERE id = ?1)",
            )
            .db()?
            .query_row([id.as_str()], |r| r.get(0))
            .db()
    }

    // ---- unlock slots ------------------------------------------------------------------

    /// Every slot, for `key list`.
    pub fn slots(&self) -> Result<Vec<SlotInfo>> {
        let mut stmt = self
            .tx
            .prepare("SELECT slot, kind, info, last_used_at FROM slots ORDER BY slot")
            .db()?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                ))
            })
            .db()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .db()?;
        rows.into_iter()
            .map(|(slot, kind, info, last_used_at)| {
                let private: SlotPrivate = open_json(
                    self.keys,
                    &slot_info_ad(self.store_id, slot),
                    &info,
                    format_args!("slot {slot}"),
                )?;
                Ok(SlotInfo {
                    slot,
                    kind,
                    label: private.label,
                    created_at: private.created_at,
                    last_used_at,
                })
            })
            .collect()
    }

    /// Add an unlock slot for the same master key (recovered again from the current slot, so
    /// nothing is re-encrypted). Returns the new slot's number.
    pub fn add_slot(
        &self,
        current: &Unlock,
        new: NewSlot<'_>,
        label: Option<&str>,
        now: Timestamp,
    ) -> Result<i64> {
        let master = self.master(current)?;
        insert_slot(&self.tx, self.keys, &master, self.store_id, new, label, now)
    }

    fn master(&self, current: &Unlock) -> Result<MasterKey> {
        let (kind, kdf, salt, wrapped): (String, Option<String>, Option<Vec<u8>>, Vec<u8>) = self
            .tx
            .query_row(
                "SELECT kind, kdf, salt, wrapped FROM slots WHERE slot = ?1",
                [self.slot],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .db()?;
        let salt = salt.unwrap_or_default();
        let slot_ad = slot_ad(self.store_id, self.slot, &kind, kdf.as_deref(), &salt);
        let master = match current {
            Unlock::KeyFile(kf) => kf.unwrap(&slot_ad, &wrapped),
            Unlock::Passphrase(p) => {
                let params = crate::key_file::slot_kdf_params(self.slot, kdf.as_deref())?
                    .ok_or_else(|| tampered(format_args!("slot {}", self.slot)))?;
                crypto::unwrap_with_passphrase(p, params, &salt, &slot_ad, &wrapped)
            }
        };
        master.map_err(|_| Error::locked("the store changed while unlocking; try again", None))
    }

    /// Remove a slot; the last one never goes (the store would be locked for good).
    pub fn remove_slot(&self, slot: i64) -> Result<SlotInfo> {
        let slots = self.slots()?;
        let Some(info) = slots.iter().find(|s| s.slot == slot).cloned() else {
            return Err(Error::NotFound(format!("no slot {slot} in this store")));
        };
        if slots.len() == 1 {
            return Err(Error::conflict(
                format!("slot {slot} is the store's only way to unlock it"),
                "add another first with `tokman key add-file PATH` or `tokman key passphrase`",
            ));
        }
        self.tx
            .execute("DELETE FROM slots WHERE slot = ?1", [slot])
            .db()?;
        Ok(info)
    }

    /// The passphrase slot, if the store has one.
    pub fn passphrase_slot(&self) -> Result<Option<i64>> {
        self.tx
            .query_row(
                "SELECT slot FROM slots WHERE kind = 'passphrase' ORDER BY slot LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .db()
    }

    // ---- audit chain ---------------------------------------------------------------------

    fn head(&self) -> Result<Head> {
        let sealed: Vec<u8> = self
            .tx
            .prepare_cached("SELECT audit_head FROM meta WHERE singleton = 1")
            .db()?
            .query_row([], |r| r.get(0))
            .db()?;
        open_json(
            self.keys,
            &head_ad(self.store_id),
            &sealed,
            "the audit log's head",
        )
    }

    fn set_head(&self, head: &Head) -> Result<()> {
        let sealed = seal_json(self.keys, &head_ad(self.store_id), head)?;
        self.tx
            .prepare_cached("UPDATE meta SET audit_head = ?1 WHERE singleton = 1")
            .db()?
            .execute([sealed])
            .db()?;
        Ok(())
    }

    /// Append an event to the chain: sealed, MACed over the previous MAC, head moved.
    pub fn append(&mut self, mut event: Event, now: Timestamp) -> Result<Entry> {
        if event.slot.is_none() {
            event.slot = Some(self.slot);
        }
        let mut head = self.head()?;
        let prev = unhex(&head.last_mac).ok_or_else(|| tampered("the audit log's head"))?;
        let seq = head.last_seq + 1;
        let sealed = seal_json(self.keys, &event_ad(seq, now), &event)?;
        let mac = event_mac(self.keys, &prev, seq, now, &sealed);
        self.tx
            .prepare_cached("INSERT INTO audit (seq, at, event, mac) VALUES (?1, ?2, ?3, ?4)")
            .db()?
            .execute(params![seq, now, sealed, &mac[..]])
            .db()?;
        head.last_seq = seq;
        head.last_mac = hex(&mac);
        self.set_head(&head)?;
        Ok(Entry {
            seq,
            at: now,
            event,
        })
    }

    /// Events at or after `since`, oldest first.
    pub fn events(&self, since: Option<Timestamp>) -> Result<Vec<Entry>> {
        let mut stmt = self
            .tx
            .prepare("SELECT seq, at, event FROM audit WHERE at >= ?1 ORDER BY seq")
            .db()?;
        let rows = stmt
            .query_map([since.unwrap_or(i64::MIN)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })
            .db()?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, at, sealed) = row.db()?;
            let event = open_json(
                self.keys,
                &event_ad(seq, at),
                &sealed,
                format_args!("audit event {seq}"),
            )?;
            out.push(Entry { seq, at, event });
        }
        Ok(out)
    }

    /// Walk the whole chain: every event present, in order, unedited, up to the sealed head.
    pub fn check_chain(&self) -> Result<Intact> {
        let head = self.head()?;
        let mut prev = unhex(&head.base_prev).ok_or_else(|| tampered("the audit log's head"))?;
        let mut expected = head.base_seq;
        let mut count = 0u64;
        let mut stmt = self
            .tx
            .prepare("SELECT seq, at, event, mac FROM audit ORDER BY seq")
            .db()?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })
            .db()?;
        for row in rows {
            let (seq, at, sealed, mac) = row.map_err(|_| bad_event(expected, "unreadable"))?;
            if seq != expected {
                return Err(bad_event(expected, "missing or out of order"));
            }
            if !event_mac_matches(self.keys, &prev, seq, at, &sealed, &mac) {
                return Err(bad_event(
                    seq,
                    "edited, moved or not chained to the one before",
                ));
            }
            if self.keys.open(&event_ad(seq, at), &sealed).is_err() {
                return Err(bad_event(seq, "edited"));
            }
            prev = mac;
            expected += 1;
            count += 1;
        }
        if expected - 1 != head.last_seq || hex(&prev) != head.last_mac {
            return Err(bad_event(
                expected,
                "missing: the log was truncated (the head records more events)",
            ));
        }
        Ok(Intact {
            events: count,
            head: head.last_mac,
        })
    }

    /// Drop events older than `before`, keeping the chain checkable from the first kept one.
    /// Returns how many were dropped.
    pub fn drop_events_before(&self, before: Timestamp) -> Result<u64> {
        let mut head = self.head()?;
        // The sealed head keeps the last MAC, so the chain stays checkable even when every
        // event is dropped: the next one chains to it.
        let last_old: Option<(i64, Vec<u8>)> = self
            .tx
            .query_row(
                "SELECT seq, mac FROM audit WHERE at < ?1 ORDER BY seq DESC LIMIT 1",
                params![before],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .db()?;
        let Some((seq, mac)) = last_old else {
            return Ok(0);
        };
        let dropped = self
            .tx
            .execute("DELETE FROM audit WHERE seq <= ?1", [seq])
            .db()?;
        head.base_seq = seq + 1;
        head.base_prev = hex(&mac);
        self.set_head(&head)?;
        Ok(dropped as u64)
    }
}

fn bad_event(seq: i64, what: &str) -> Error {
    Error::corrupt(format!("audit log damaged at event {seq}: {what}"))
}

fn event_ad(seq: i64, at: Timestamp) -> Vec<u8> {
    ad(&[
        b"tokman v1 audit event",
        &seq.to_be_bytes(),
        &at.to_be_bytes(),
    ])
}

/// Each event's MAC covers the previous event's MAC, so the events form a chain.
fn event_mac(keys: &Keys, prev: &[u8], seq: i64, at: Timestamp, sealed: &[u8]) -> [u8; 32] {
    keys.audit_mac(&[prev, &seq.to_be_bytes(), &at.to_be_bytes(), sealed])
}

fn event_mac_matches(
    keys: &Keys,
    prev: &[u8],
    seq: i64,
    at: Timestamp,
    sealed: &[u8],
    mac: &[u8],
) -> bool {
    keys.audit_mac_matches(&[prev, &seq.to_be_bytes(), &at.to_be_bytes(), sealed], mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        assert_eq!(
            unhex(&hex(&[0, 1, 0xab, 0xff])).unwrap(),
            vec![0, 1, 0xab, 0xff]
        );
        assert!(unhex("abc").is_none());
        assert!(unhex("zz").is_none());
        assert!(unhex("é1").is_none());
    }

    #[test]
    fn associated_data_is_unambiguous() {
        assert_ne!(ad(&[b"ab", b"c"]), ad(&[b"a", b"bc"]));
    }
}
