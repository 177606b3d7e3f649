//! The SQLite store: creating and opening the file, unlock slots, sealed token rows, the
//! integrity root and the audit chain. All SQL of tokman lives here and in `schema.sql`.
//!
//! The store only stores: it does not decide whether a token is valid or may be issued (that is
//! `lifecycle`), and it never sees a token secret, only its keyed hash. Every change happens in
//! a [`Tx`], a `BEGIN IMMEDIATE` transaction; nothing is half-written when a command fails.
//!
//! Every transaction begins by opening the sealed [`Root`] and checking against it what it
//! covers cheaply (prefix, slots, settings, the audit chain's tail); every token read is checked
//! against the root's tree (see `integrity`); a commit that changed the state seals a new root.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::audit::{Entry, Event, Intact, Kind};
use crate::crypto::{self, KdfParams, KeyFileKey, Keys, MasterKey, Passphrase, Unauthentic};
use crate::error::{Error, Result};
use crate::integrity::{self, EMPTY, Hash, Head, Nodes, Root};
pub use crate::key_file::{read_key_file, write_key_file};
use crate::lifecycle::{Record, Settings, Timestamp, Usage};
use crate::token::{Prefix, TokenId};

mod upgrade;

/// `PRAGMA application_id` of a tokman store: "tkmn".
pub const APPLICATION_ID: i32 = 0x746b_6d6e;
/// `PRAGMA user_version` this build reads and writes.
pub const SCHEMA_VERSION: i32 = 2;
/// The oldest store version this build upgrades in place.
const OLDEST_UPGRADABLE: i32 = 1;
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
    /// The schema version found on open: an older one is upgraded before the first transaction.
    version: i32,
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

/// A token row, opened.
#[derive(Debug, Clone)]
pub struct Stored {
    pub record: Record,
    pub usage: Usage,
    /// Whether the row holds its user's active place.
    pub active: bool,
    secret_mac: Vec<u8>,
}

/// A token row as read, before it is opened and checked.
struct RawToken {
    id: String,
    user_ix: Vec<u8>,
    active_ix: Option<Vec<u8>>,
    secret_mac: Vec<u8>,
    record: Vec<u8>,
    usage: Vec<u8>,
    leaf: Vec<u8>,
}

impl RawToken {
    /// The leaf this row's content gives (never the `leaf` column, which is only compared).
    fn leaf(&self) -> Hash {
        integrity::leaf(
            &self.id,
            &self.user_ix,
            self.active_ix.is_some(),
            &self.secret_mac,
            &self.record,
        )
    }
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
    integrity::to_hex(bytes)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    integrity::from_hex(s)
}

fn hash_from_hex(s: &str, what: &str) -> Result<Hash> {
    unhex(s)
        .and_then(|v| <Hash>::try_from(v.as_slice()).ok())
        .ok_or_else(|| tampered(what))
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
        if !(OLDEST_UPGRADABLE..=SCHEMA_VERSION).contains(&version) {
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
        if durability == Durability::Full {
            // Management commands may touch every page (purge, list, audit --check): with
            // SQLite's default 2 MB cache a purge of 100,000 tokens re-read pages 700,000 times
            // and spilled dirty ones to the WAL mid-transaction. The cache grows only as pages
            // are used, to 32 MiB at most; `verify` keeps the small default.
            conn.pragma_update(None, "cache_size", -32_768).db()?;
        }
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
            version,
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
        if self.version != SCHEMA_VERSION {
            return Err(Error::unavailable(
                format!(
                    "{} was made by an older tokman (store version {})",
                    self.path.display(),
                    self.version
                ),
                Some("it is upgraded in place by the next tokman command that unlocks it".into()),
            ));
        }
        let tx = self.conn.transaction_with_behavior(behavior).db()?;
        Tx::load(
            tx,
            &unlocked.keys,
            unlocked.slot,
            &self.store_id,
            &self.prefix,
            Some(&self.touched_at),
        )
    }

    /// Bring a store made by an older tokman to this version, in one transaction that also
    /// records an `upgrade` event. Its old checks are run first: an old store that does not pass
    /// them is not given a fresh root.
    /// Returns whether it upgraded.
    pub fn upgrade(&mut self, unlocked: &Unlocked, now: Timestamp) -> Result<bool> {
        if self.version == SCHEMA_VERSION {
            return Ok(false);
        }
        let from = self.version;
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db()?;
        let version: i32 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .db()?;
        if version == from {
            let changed = upgrade::from_v1(&tx, &unlocked.keys, &self.store_id, &self.prefix)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)
                .db()?;
            let mut t = Tx::load(
                tx,
                &unlocked.keys,
                unlocked.slot,
                &self.store_id,
                &self.prefix,
                None,
            )?;
            t.check_chain()?;
            let mut detail = format!("store upgraded from version {from} to {SCHEMA_VERSION}");
            for change in &changed {
                detail.push_str("; ");
                detail.push_str(change);
            }
            t.append(Event::new(Kind::Upgrade).detail(detail), now)?;
            t.commit()?;
        }
        self.version = SCHEMA_VERSION;
        Ok(true)
    }

    /// The schema version of the file as opened.
    pub fn version(&self) -> i32 {
        self.version
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
        let sealed_settings = seal_json(&keys, &settings_ad(&store_id), settings)?;
        let root = Root {
            version: 0,
            tree: hex(&EMPTY),
            slots: hex(&slots_digest(&[])),
            settings: hex(&integrity::hash_parts(&[&sealed_settings])),
            prefix: prefix.as_str().to_owned(),
            last_slot: 0,
            head: Head {
                last_seq: 0,
                last_mac: hex(&[0; 32]),
                last_count: 1,
                base_seq: 1,
                base_prev: hex(&[0; 32]),
                base_count: 1,
            },
        };
        tx.execute(
            "INSERT INTO meta (singleton, prefix, store_id, settings, root) VALUES (1, ?1, ?2, ?3, ?4)",
            params![
                prefix.as_str(),
                store_id,
                sealed_settings,
                seal_json(&keys, &root_ad(&store_id), &root)?,
            ],
        )
        .db()?;
        let mut t = Tx::load(tx, &keys, 0, &store_id, prefix, None)?;
        let slot_no = t.insert_slot(&master, slot, label, now)?;
        t.slot = slot_no;
        let init = Event::new(Kind::Init).detail(format!(
            "prefix {prefix}, max lifetime {}",
            settings.max_lifetime
        ));
        t.append(init, now)?;
        t.commit()?;
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

fn root_ad(store_id: &[u8]) -> Vec<u8> {
    ad(&[b"tokman v2 root", store_id])
}

/// One slot row as the root's digest covers it: everything but its last-use time.
struct SlotRow {
    slot: i64,
    kind: String,
    kdf: Option<String>,
    salt: Option<Vec<u8>>,
    wrapped: Vec<u8>,
    info: Vec<u8>,
}

fn slots_digest(slots: &[SlotRow]) -> Hash {
    let mut parts: Vec<Vec<u8>> = vec![b"tokman v2 slots".to_vec()];
    for s in slots {
        parts.push(s.slot.to_be_bytes().to_vec());
        parts.push(s.kind.as_bytes().to_vec());
        parts.push(match &s.kdf {
            Some(k) => [b"+", k.as_bytes()].concat(),
            None => b"-".to_vec(),
        });
        parts.push(match &s.salt {
            Some(v) => [b"+", v.as_slice()].concat(),
            None => b"-".to_vec(),
        });
        parts.push(s.wrapped.clone());
        parts.push(s.info.clone());
    }
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    integrity::hash_parts(&refs)
}

fn read_slot_rows(tx: &rusqlite::Transaction<'_>) -> Result<Vec<SlotRow>> {
    let mut stmt = tx
        .prepare_cached("SELECT slot, kind, kdf, salt, wrapped, info FROM slots ORDER BY slot")
        .db()?;
    let rows = stmt
        .query_map([], |r| {
            Ok(SlotRow {
                slot: r.get(0)?,
                kind: r.get(1)?,
                kdf: r.get(2)?,
                salt: r.get(3)?,
                wrapped: r.get(4)?,
                info: r.get(5)?,
            })
        })
        .db()?
        .collect::<rusqlite::Result<Vec<_>>>()
        .db()?;
    Ok(rows)
}

fn slot_row(
    keys: &Keys,
    master: &MasterKey,
    store_id: &[u8],
    slot_no: i64,
    slot: NewSlot<'_>,
    label: Option<&str>,
    now: Timestamp,
) -> Result<SlotRow> {
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
    Ok(SlotRow {
        slot: slot_no,
        kind: kind.to_owned(),
        kdf,
        salt,
        wrapped,
        info: seal_json(keys, &slot_info_ad(store_id, slot_no), &info)?,
    })
}

/// A transaction on an unlocked store. Dropped without [`Tx::commit`], it rolls back.
pub struct Tx<'a> {
    tx: rusqlite::Transaction<'a>,
    keys: &'a Keys,
    slot: i64,
    store_id: &'a [u8],
    touched_at: Option<&'a Cell<Option<Timestamp>>>,
    state: RefCell<State>,
}

/// What a transaction knows of the root and what it changed under it.
struct State {
    root: Root,
    /// The top of the token tree as the root seals it.
    tree: Hash,
    /// Whether anything the root covers changed: the commit then seals a new root.
    changed: bool,
    slots_changed: bool,
    /// Buckets this transaction changes, with the hash each had (checked) before the change.
    touched: BTreeMap<u32, Hash>,
    /// Buckets whose rows were checked against the root in this transaction.
    checked: HashSet<u32>,
    /// Every row was checked against the root (a full scan): reads need no path check.
    all_checked: bool,
    /// After a full scan, every bucket's `(id, leaf)` pairs, kept up to date by this
    /// transaction's changes: a purge then reads no row twice to rehash its buckets.
    leaves: Option<BTreeMap<u32, Vec<(String, Hash)>>>,
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

const TOKEN_COLUMNS: &str = "t.id, t.user_ix, t.active_ix, t.secret_mac, t.record, t.usage, t.leaf";

fn raw_token(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawToken> {
    Ok(RawToken {
        id: r.get(0)?,
        user_ix: r.get(1)?,
        active_ix: r.get(2)?,
        secret_mac: r.get(3)?,
        record: r.get(4)?,
        usage: r.get(5)?,
        leaf: r.get(6)?,
    })
}

fn bucket_sql(bucket: u32) -> i64 {
    i64::from(bucket)
}

impl Nodes for Tx<'_> {
    fn node(&self, level: u32, idx: u32) -> Result<Hash> {
        let found: Option<Vec<u8>> = self
            .tx
            .prepare_cached("SELECT hash FROM nodes WHERE level = ?1 AND idx = ?2")
            .db()?
            .query_row(params![level, idx], |r| r.get(0))
            .optional()
            .db()?;
        match found {
            None => Ok(EMPTY),
            Some(v) => {
                <Hash>::try_from(v.as_slice()).map_err(|_| tampered("the store's token tree"))
            }
        }
    }

    fn set_node(&self, level: u32, idx: u32, hash: &Hash) -> Result<()> {
        if *hash == EMPTY {
            self.tx
                .prepare_cached("DELETE FROM nodes WHERE level = ?1 AND idx = ?2")
                .db()?
                .execute(params![level, idx])
                .db()?;
        } else {
            self.tx
                .prepare_cached(
                    "INSERT INTO nodes (level, idx, hash) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (level, idx) DO UPDATE SET hash = excluded.hash",
                )
                .db()?
                .execute(params![level, idx, &hash[..]])
                .db()?;
        }
        Ok(())
    }
}

impl<'a> Tx<'a> {
    /// Begin work on a store: open its root and check what it covers that is cheap to check on
    /// every command (the prefix, every slot, the settings, that the audit log ends at its head).
    fn load(
        tx: rusqlite::Transaction<'a>,
        keys: &'a Keys,
        slot: i64,
        store_id: &'a [u8],
        prefix: &Prefix,
        touched_at: Option<&'a Cell<Option<Timestamp>>>,
    ) -> Result<Tx<'a>> {
        let (meta_prefix, settings, sealed_root): (String, Vec<u8>, Vec<u8>) = tx
            .prepare_cached("SELECT prefix, settings, root FROM meta WHERE singleton = 1")
            .db()?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()
            .db()?
            .ok_or_else(|| tampered("the store's metadata"))?;
        let root: Root = open_json(
            keys,
            &root_ad(store_id),
            &sealed_root,
            "the store's integrity root",
        )?;
        if root.prefix != meta_prefix || root.prefix != prefix.as_str() {
            return Err(tampered("the store's prefix"));
        }
        if hash_from_hex(&root.settings, "the store's integrity root")?
            != integrity::hash_parts(&[&settings])
        {
            return Err(tampered("the store's settings"));
        }
        let slots = read_slot_rows(&tx)?;
        if hash_from_hex(&root.slots, "the store's integrity root")? != slots_digest(&slots) {
            return Err(tampered("the store's unlock slots"));
        }
        // slot 0: a store being made, before its first slot exists.
        if slot != 0 && !slots.iter().any(|s| s.slot == slot) {
            return Err(Error::locked(
                format!("slot {slot}, which unlocked the store, was removed by another command"),
                Some("unlock it another way; `tokman key list` shows its slots".into()),
            ));
        }
        let tail: Option<(i64, Vec<u8>, i64)> = tx
            .prepare_cached("SELECT seq, mac, count FROM audit ORDER BY seq DESC LIMIT 1")
            .db()?
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()
            .db()?;
        let head = &root.head;
        let tail_ok = match &tail {
            Some((seq, mac, count)) => {
                *seq == head.last_seq
                    && hex(mac) == head.last_mac
                    && u64::try_from(*count).ok() == Some(head.last_count)
            }
            None => head.last_seq == head.base_seq - 1,
        };
        if !tail_ok {
            let tail_seq = tail.map_or(head.base_seq - 1, |t| t.0);
            return Err(match tail_seq.cmp(&head.last_seq) {
                std::cmp::Ordering::Less => bad_event(
                    tail_seq + 1,
                    "missing: the log was truncated (the head records more events)",
                ),
                std::cmp::Ordering::Greater => bad_event(
                    head.last_seq + 1,
                    "added behind tokman's back (the head records fewer events)",
                ),
                std::cmp::Ordering::Equal => bad_event(tail_seq, "edited"),
            });
        }
        let tree = hash_from_hex(&root.tree, "the store's integrity root")?;
        Ok(Tx {
            tx,
            keys,
            slot,
            store_id,
            touched_at,
            state: RefCell::new(State {
                root,
                tree,
                changed: false,
                slots_changed: false,
                touched: BTreeMap::new(),
                checked: HashSet::new(),
                all_checked: false,
                leaves: None,
            }),
        })
    }
}

impl Tx<'_> {
    /// The slot that unlocked the store, recorded with every event.
    pub fn slot(&self) -> i64 {
        self.slot
    }

    /// Commit, first sealing a new root over what changed: the token tree is updated along
    /// the changed buckets' paths, after proving that the values it builds on hash to the old
    /// root (so a forged node or row is refused, never laundered into the new root).
    pub fn commit(self) -> Result<()> {
        self.seal_root()?;
        self.tx.commit().db()
    }

    fn seal_root(&self) -> Result<()> {
        let mut st = self.state.borrow_mut();
        if !st.changed {
            return Ok(());
        }
        if !st.touched.is_empty() {
            let mut changes = BTreeMap::new();
            for (&bucket, &old) in &st.touched {
                let mut leaves = match st.leaves.as_ref() {
                    Some(all) => all.get(&bucket).cloned().unwrap_or_default(),
                    None => self.bucket_leaves(bucket)?,
                };
                let new = integrity::bucket_hash(bucket, &mut leaves);
                if new != old {
                    changes.insert(bucket, (old, new));
                }
            }
            if !changes.is_empty() {
                let (old_top, new_top) = integrity::update(self, &changes)?;
                if old_top != st.tree {
                    return Err(tampered("the store's token tree"));
                }
                st.tree = new_top;
                st.root.tree = hex(&new_top);
            }
        }
        if st.slots_changed {
            st.root.slots = hex(&slots_digest(&read_slot_rows(&self.tx)?));
        }
        st.root.version += 1;
        let sealed = seal_json(self.keys, &root_ad(self.store_id), &st.root)?;
        self.tx
            .prepare_cached("UPDATE meta SET root = ?1 WHERE singleton = 1")
            .db()?
            .execute([sealed])
            .db()?;
        Ok(())
    }

    pub fn keys(&self) -> &Keys {
        self.keys
    }

    /// The store's settings (checked against the root when the transaction began).
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
    /// from rewriting the slot table on every call. Not covered by the root.
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

    // ---- token rows and the tree ----------------------------------------------------------

    /// The `(id, leaf)` pairs of one bucket, as stored.
    fn bucket_leaves(&self, bucket: u32) -> Result<Vec<(String, Hash)>> {
        let mut stmt = self
            .tx
            .prepare_cached("SELECT id, leaf FROM tokens WHERE bucket = ?1")
            .db()?;
        let rows = stmt
            .query_map([bucket_sql(bucket)], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .db()?;
        let mut out = Vec::new();
        for row in rows {
            let (id, leaf) = row.db()?;
            let leaf = <Hash>::try_from(leaf.as_slice())
                .map_err(|_| tampered(format_args!("token {id}")))?;
            out.push((id, leaf));
        }
        Ok(out)
    }

    /// Check that a row is the one the root holds: its content gives its leaf, its bucket's
    /// leaves hash to the bucket, and the bucket's path hashes to the sealed top.
    fn check_row(&self, raw: &RawToken) -> Result<()> {
        let leaf = raw.leaf();
        if raw.leaf.as_slice() != leaf {
            return Err(tampered(format_args!("token {}", raw.id)));
        }
        let bucket = integrity::bucket_of(&raw.id);
        {
            let st = self.state.borrow();
            if st.all_checked || st.checked.contains(&bucket) || st.touched.contains_key(&bucket) {
                // Checked already in this transaction, or changed by it (checked before that).
                return Ok(());
            }
        }
        let mut leaves = self.bucket_leaves(bucket)?;
        if !leaves.iter().any(|(id, l)| *id == raw.id && *l == leaf) {
            return Err(tampered(format_args!("token {}", raw.id)));
        }
        let hash = integrity::bucket_hash(bucket, &mut leaves);
        let top = integrity::top_through(self, bucket, hash)?;
        let mut st = self.state.borrow_mut();
        if top != st.tree {
            return Err(tampered(format_args!(
                "token {} (it disagrees with the store's integrity root)",
                raw.id
            )));
        }
        st.checked.insert(bucket);
        Ok(())
    }

    /// Note that this transaction changes a bucket, first checking that its rows are the ones
    /// the stored node says (the node itself is proven against the root at commit).
    fn touch(&self, id: &str) -> Result<()> {
        let bucket = integrity::bucket_of(id);
        let mut st = self.state.borrow_mut();
        st.changed = true;
        if st.touched.contains_key(&bucket) {
            return Ok(());
        }
        if let Some(all) = st.leaves.as_ref() {
            // Every row was checked against the root by the full scan: the bucket as it was
            // then is proven, and the commit proves the nodes around it.
            let mut leaves = all.get(&bucket).cloned().unwrap_or_default();
            let hash = integrity::bucket_hash(bucket, &mut leaves);
            st.touched.insert(bucket, hash);
            return Ok(());
        }
        let mut leaves = self.bucket_leaves(bucket)?;
        let hash = integrity::bucket_hash(bucket, &mut leaves);
        if hash != self.node(0, bucket)? {
            return Err(tampered("the store's token tree"));
        }
        st.touched.insert(bucket, hash);
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

    fn checked_token(&self, raw: RawToken) -> Result<Stored> {
        self.check_row(&raw)?;
        self.open_token(raw)
    }

    /// The token with this public id, opened and checked, if the store has it.
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
        raw.map(|raw| self.checked_token(raw)).transpose()
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
        raw.map(|raw| self.checked_token(raw)).transpose()
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
    ///
    /// Every token: each row's leaf is checked as it is read, and the whole tree against the
    /// root once all are read, so a caller must not act on what it was handed before this
    /// returns `Ok` (an added row is only seen then). One user's tokens are checked one by one.
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
        if ix.is_some() {
            for raw in rows {
                f(self.checked_token(raw.db()?)?)?;
            }
            return Ok(());
        }
        let mut buckets: BTreeMap<u32, Vec<(String, Hash)>> = BTreeMap::new();
        for raw in rows {
            let raw = raw.db()?;
            let leaf = raw.leaf();
            if raw.leaf.as_slice() != leaf {
                return Err(tampered(format_args!("token {}", raw.id)));
            }
            buckets
                .entry(integrity::bucket_of(&raw.id))
                .or_default()
                .push((raw.id.clone(), leaf));
            f(self.open_token(raw)?)?;
        }
        self.check_whole_tree(buckets)
    }

    /// The tree over every row's leaf must hash to the root (unless this transaction changed
    /// it: then the commit checks the buckets it touched).
    fn check_whole_tree(&self, mut buckets: BTreeMap<u32, Vec<(String, Hash)>>) -> Result<()> {
        let mut st = self.state.borrow_mut();
        if !st.touched.is_empty() {
            return Ok(());
        }
        let hashes: BTreeMap<u32, Hash> = buckets
            .iter_mut()
            .map(|(&b, leaves)| (b, integrity::bucket_hash(b, leaves)))
            .collect();
        let (_, top) = integrity::full_tree(&hashes);
        if top != st.tree {
            return Err(tampered(
                "the store's tokens (rows were added, removed or restored behind tokman's back)",
            ));
        }
        st.all_checked = true;
        st.leaves = Some(buckets);
        Ok(())
    }

    /// Keep the full scan's leaves (if any) in step with a row this transaction wrote.
    fn note_leaf(&self, id: &str, leaf: Option<Hash>) {
        let mut st = self.state.borrow_mut();
        let Some(all) = st.leaves.as_mut() else {
            return;
        };
        let bucket = all.entry(integrity::bucket_of(id)).or_default();
        bucket.retain(|(i, _)| i != id);
        if let Some(leaf) = leaf {
            bucket.push((id.to_owned(), leaf));
        }
    }

    /// The full check of `audit --check`: every row against the root, and the stored tree's
    /// nodes against the rows (a damaged node would otherwise only show at some later verify).
    pub fn check_state(&self) -> Result<u64> {
        if !self.state.borrow().touched.is_empty() {
            return Err(Error::internal(
                "the whole state is checked before any change",
            ));
        }
        let mut count = 0u64;
        self.each_token(None, |_| {
            count += 1;
            Ok(())
        })?;
        let hashes: BTreeMap<u32, Hash> = {
            let mut st = self.state.borrow_mut();
            let leaves = st
                .leaves
                .as_mut()
                .ok_or_else(|| Error::internal("a full scan left no leaves"))?;
            leaves
                .iter_mut()
                .map(|(&b, l)| (b, integrity::bucket_hash(b, l)))
                .collect()
        };
        let (nodes, _) = integrity::full_tree(&hashes);
        let mut stmt = self.tx.prepare("SELECT level, idx, hash FROM nodes").db()?;
        let stored = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, u32>(0)?,
                    r.get::<_, u32>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                ))
            })
            .db()?
            .collect::<rusqlite::Result<Vec<_>>>()
            .db()?;
        let consistent = stored.len() == nodes.len()
            && stored
                .iter()
                .all(|(l, i, h)| nodes.get(&(*l, *i)).is_some_and(|n| n[..] == h[..]));
        if !consistent {
            return Err(tampered("the store's token tree (a node was edited)"));
        }
        Ok(count)
    }

    /// Store a new token holding its user's active place. The partial unique index refuses a
    /// second active token for the user even if a check before this was raced.
    pub fn insert(&self, record: &Record, secret_mac: &[u8; 32]) -> Result<()> {
        let user_ix = self.keys.user_index(&record.user);
        let id = record.id.as_str();
        self.touch(id)?;
        let sealed = seal_json(
            self.keys,
            &record_ad(id, &user_ix, true, secret_mac),
            record,
        )?;
        let usage = seal_json(self.keys, &usage_ad(id), &Usage::default())?;
        let leaf = integrity::leaf(id, &user_ix, true, secret_mac, &sealed);
        let res = self
            .tx
            .prepare_cached(
                "INSERT INTO tokens (id, user_ix, active_ix, secret_mac, record, usage, bucket, leaf) VALUES (?1, ?2, ?2, ?3, ?4, ?5, ?6, ?7)",
            )
            .db()?
            .execute(params![
                id,
                &user_ix[..],
                &secret_mac[..],
                sealed,
                usage,
                bucket_sql(integrity::bucket_of(id)),
                &leaf[..]
            ]);
        match res {
            Ok(_) => {
                self.note_leaf(id, Some(leaf));
                Ok(())
            }
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

    /// Write back a changed record. A revoked token also gives up its user's active place;
    /// `retire` gives up the place without revoking (an expired token being replaced).
    pub fn update(&self, stored: &Stored, retire: bool) -> Result<()> {
        let record = &stored.record;
        let id = record.id.as_str();
        self.touch(id)?;
        let user_ix = self.keys.user_index(&record.user);
        let active = stored.active && !retire && record.revoked_at.is_none();
        let sealed = seal_json(
            self.keys,
            &record_ad(id, &user_ix, active, &stored.secret_mac),
            record,
        )?;
        let leaf = integrity::leaf(id, &user_ix, active, &stored.secret_mac, &sealed);
        let active_ix: Option<&[u8]> = active.then_some(&user_ix[..]);
        self.tx
            .prepare_cached(
                "UPDATE tokens SET active_ix = ?2, record = ?3, leaf = ?4 WHERE id = ?1",
            )
            .db()?
            .execute(params![id, active_ix, sealed, &leaf[..]])
            .db()?;
        self.note_leaf(id, Some(leaf));
        Ok(())
    }

    /// Record a use (or any change of usage) of a token. Usage is outside the root: it changes
    /// on every verify.
    pub fn set_usage(&self, id: &TokenId, usage: &Usage) -> Result<()> {
        let sealed = seal_json(self.keys, &usage_ad(id.as_str()), usage)?;
        self.tx
            .prepare_cached("UPDATE tokens SET usage = ?2 WHERE id = ?1")
            .db()?
            .execute(params![id.as_str(), sealed])
            .db()?;
        Ok(())
    }

    /// Delete a token's row; the root then no longer holds it, so a copy put back is refused.
    pub fn delete(&self, id: &TokenId) -> Result<()> {
        self.touch(id.as_str())?;
        self.tx
            .prepare_cached("DELETE FROM tokens WHERE id = ?1")
            .db()?
            .execute([id.as_str()])
            .db()?;
        self.note_leaf(id.as_str(), None);
        Ok(())
    }

    /// Whether a token with this id exists.
    pub fn id_taken(&self, id: &TokenId) -> Result<bool> {
        self.tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM tokens WHERE id = ?1)")
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

    /// Give a new slot the next number (never one used before) and store it.
    fn insert_slot(
        &self,
        master: &MasterKey,
        slot: NewSlot<'_>,
        label: Option<&str>,
        now: Timestamp,
    ) -> Result<i64> {
        let slot_no = self.state.borrow().root.last_slot + 1;
        let row = slot_row(self.keys, master, self.store_id, slot_no, slot, label, now)?;
        self.tx
            .execute(
                "INSERT INTO slots (slot, kind, kdf, salt, wrapped, info, last_used_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL)",
                params![row.slot, row.kind, row.kdf, row.salt, row.wrapped, row.info],
            )
            .db()?;
        let mut st = self.state.borrow_mut();
        st.root.last_slot = slot_no;
        st.slots_changed = true;
        st.changed = true;
        Ok(slot_no)
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
        self.insert_slot(&master, new, label, now)
    }

    fn master(&self, current: &Unlock) -> Result<MasterKey> {
        let gone = || {
            Error::locked(
                format!(
                    "slot {}, which unlocked the store, was changed by another command",
                    self.slot
                ),
                Some("run the command again".into()),
            )
        };
        let (kind, kdf, salt, wrapped): (String, Option<String>, Option<Vec<u8>>, Vec<u8>) = self
            .tx
            .query_row(
                "SELECT kind, kdf, salt, wrapped FROM slots WHERE slot = ?1",
                [self.slot],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .db()?
            .ok_or_else(gone)?;
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
        master.map_err(|_| gone())
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
        let mut st = self.state.borrow_mut();
        st.slots_changed = true;
        st.changed = true;
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

    fn head(&self) -> Head {
        self.state.borrow().root.head.clone()
    }

    fn set_head(&self, head: Head) {
        let mut st = self.state.borrow_mut();
        st.root.head = head;
        st.changed = true;
    }

    /// Append an event to the chain: sealed, MACed over the previous MAC and count, head moved.
    pub fn append(&mut self, mut event: Event, now: Timestamp) -> Result<Entry> {
        if event.slot.is_none() {
            event.slot = Some(self.slot);
        }
        let mut head = self.head();
        let prev = unhex(&head.last_mac).ok_or_else(|| tampered("the audit log's head"))?;
        let seq = head.last_seq + 1;
        let sealed = seal_json(self.keys, &event_ad(seq, now), &event)?;
        let mac = event_mac(self.keys, &prev, head.last_count, seq, now, &sealed);
        self.tx
            .prepare_cached(
                "INSERT INTO audit (seq, at, event, mac, count) VALUES (?1, ?2, ?3, ?4, 1)",
            )
            .db()?
            .execute(params![seq, now, sealed, &mac[..]])
            .db()?;
        head.last_seq = seq;
        head.last_mac = hex(&mac);
        head.last_count = 1;
        self.set_head(head);
        Ok(Entry {
            seq,
            at: now,
            event,
            count: 1,
        })
    }

    /// Record a refused verify: counted into the newest event when that is the same refusal
    /// (same token, same outcome) less than a minute old, else appended. A flood of refusals
    /// of one token thus adds one event a minute, not one per attempt.
    pub fn append_refusal(&mut self, mut event: Event, now: Timestamp) -> Result<()> {
        if event.slot.is_none() {
            event.slot = Some(self.slot);
        }
        let mut head = self.head();
        let last: Option<(i64, Vec<u8>)> = self
            .tx
            .prepare_cached("SELECT at, event FROM audit WHERE seq = ?1")
            .db()?
            .query_row([head.last_seq], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .db()?;
        if let Some((at, sealed)) = last
            && at <= now
            && now - at < 60
        {
            let previous: Event = open_json(
                self.keys,
                &event_ad(head.last_seq, at),
                &sealed,
                format_args!("audit event {}", head.last_seq),
            )?;
            if previous == event {
                head.last_count += 1;
                let count = i64::try_from(head.last_count)
                    .map_err(|_| Error::internal("refusal count overflow"))?;
                self.tx
                    .prepare_cached("UPDATE audit SET count = ?2 WHERE seq = ?1")
                    .db()?
                    .execute(params![head.last_seq, count])
                    .db()?;
                self.set_head(head);
                return Ok(());
            }
        }
        self.append(event, now).map(|_| ())
    }

    /// Events at or after `since`, oldest first, from a chain checked whole first: times and
    /// counts shown are authenticated ones.
    pub fn events(&self, since: Option<Timestamp>) -> Result<Vec<Entry>> {
        self.check_chain()?;
        let mut stmt = self
            .tx
            .prepare("SELECT seq, at, event, count FROM audit WHERE at >= ?1 ORDER BY seq")
            .db()?;
        let rows = stmt
            .query_map([since.unwrap_or(i64::MIN)], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .db()?;
        let mut out = Vec::new();
        for row in rows {
            let (seq, at, sealed, count) = row.db()?;
            let event = open_json(
                self.keys,
                &event_ad(seq, at),
                &sealed,
                format_args!("audit event {seq}"),
            )?;
            let count = u64::try_from(count).map_err(|_| bad_event(seq, "edited"))?;
            out.push(Entry {
                seq,
                at,
                event,
                count,
            });
        }
        Ok(out)
    }

    /// Walk the whole chain: every event present, in order, unedited, up to the sealed head.
    /// The result also knows every head the log had that it still holds, for `--expect-head`.
    pub fn check_chain(&self) -> Result<Intact> {
        let head = self.head();
        let mut prev = unhex(&head.base_prev).ok_or_else(|| tampered("the audit log's head"))?;
        let mut prev_count = head.base_count;
        let mut expected = head.base_seq;
        let mut count = 0u64;
        let mut earlier = vec![head.base_prev.clone()];
        let mut stmt = self
            .tx
            .prepare("SELECT seq, at, event, mac, count FROM audit ORDER BY seq")
            .db()?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, Vec<u8>>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .db()?;
        for row in rows {
            let (seq, at, sealed, mac, n) = row.map_err(|_| bad_event(expected, "unreadable"))?;
            if seq != expected {
                return Err(bad_event(expected, "missing or out of order"));
            }
            if !event_mac_matches(self.keys, &prev, prev_count, seq, at, &sealed, &mac) {
                return Err(bad_event(
                    seq,
                    "edited, moved or not chained to the one before",
                ));
            }
            prev_count = u64::try_from(n)
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| bad_event(seq, "edited (its count)"))?;
            prev = mac;
            earlier.push(hex(&prev));
            expected += 1;
            count += 1;
        }
        if expected - 1 != head.last_seq
            || hex(&prev) != head.last_mac
            || prev_count != head.last_count
        {
            return Err(bad_event(
                expected,
                "missing: the log was truncated (the head records more events)",
            ));
        }
        Ok(Intact {
            events: count,
            head: head.last_mac,
            earlier,
        })
    }

    /// Drop events older than `before`, keeping the chain checkable from the first kept one.
    /// Times are read from the chain only after it was checked whole (`checked` is the proof,
    /// from [`Tx::check_chain`] in this transaction), so an edited time can neither drop an
    /// event nor hide the edit. Returns how many were dropped.
    pub fn drop_events_before(&self, checked: &Intact, before: Timestamp) -> Result<u64> {
        let mut head = self.head();
        if checked.head != head.last_mac {
            return Err(Error::internal(
                "the audit chain changed after it was checked",
            ));
        }
        // The sealed head keeps the last MAC, so the chain stays checkable even when every
        // event is dropped: the next one chains to it.
        let last_old: Option<(i64, Vec<u8>, i64)> = self
            .tx
            .query_row(
                "SELECT seq, mac, count FROM audit WHERE at < ?1 ORDER BY seq DESC LIMIT 1",
                params![before],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .db()?;
        let Some((seq, mac, n)) = last_old else {
            return Ok(0);
        };
        let dropped = self
            .tx
            .execute("DELETE FROM audit WHERE seq <= ?1", [seq])
            .db()?;
        head.base_seq = seq + 1;
        head.base_prev = hex(&mac);
        head.base_count = u64::try_from(n).map_err(|_| bad_event(seq, "edited (its count)"))?;
        self.set_head(head);
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

/// Each event's MAC covers the previous event's MAC and final count, so the events form a
/// chain. A count of 1 adds no part: the MACs of chains written before counts existed hold.
fn event_mac(
    keys: &Keys,
    prev: &[u8],
    prev_count: u64,
    seq: i64,
    at: Timestamp,
    sealed: &[u8],
) -> [u8; 32] {
    with_event_parts(prev, prev_count, seq, at, sealed, |parts| {
        keys.audit_mac(parts)
    })
}

fn with_event_parts<T>(
    prev: &[u8],
    prev_count: u64,
    seq: i64,
    at: Timestamp,
    sealed: &[u8],
    f: impl FnOnce(&[&[u8]]) -> T,
) -> T {
    let count = prev_count.to_be_bytes();
    let (seq, at) = (seq.to_be_bytes(), at.to_be_bytes());
    if prev_count == 1 {
        f(&[prev, &seq, &at, sealed])
    } else {
        f(&[prev, &seq, &at, sealed, &count])
    }
}

fn event_mac_matches(
    keys: &Keys,
    prev: &[u8],
    prev_count: u64,
    seq: i64,
    at: Timestamp,
    sealed: &[u8],
    mac: &[u8],
) -> bool {
    with_event_parts(prev, prev_count, seq, at, sealed, |parts| {
        keys.audit_mac_matches(parts, mac)
    })
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
