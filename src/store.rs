//! The store: unlock slots, sealed token rows, the integrity root and the audit chain, written
//! once over the storage seam ([`backend`]) that SQLite and PostgreSQL implement.
//!
//! The store only stores: it does not decide whether a token is valid or may be issued (that is
//! `lifecycle`), and it never sees a token secret, only its keyed hash. Every change happens in
//! a [`Tx`], a write transaction serialized against every other writer; nothing is half-written
//! when a command fails.
//!
//! Every transaction begins by opening the sealed [`Root`] and checking against it what it
//! covers cheaply (prefix, slots, settings, the audit chain's tail); every token read is checked
//! against the root's tree (see `integrity`); a commit that changed the state seals a new root.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::mpsc;

use serde::{Deserialize, Serialize};

use crate::audit::{Entry, Event, Intact, Kind};
use crate::crypto::{self, KdfParams, KeyFileKey, Keys, MasterKey, Passphrase};
use crate::error::{Error, Result};
use crate::integrity::{self, EMPTY, Hash, Head, Nodes, Root};
pub use crate::key_file::{read_key_file, write_key_file};
use crate::lifecycle::{Record, Settings, Timestamp, Usage};
use crate::token::{Prefix, TokenId};

pub mod backend;
mod location;
mod postgres;
mod seal;
mod sqlite;

use backend::{Engine, EventRow, Inserted, MetaRow, Mode, SlotRow, TokenRow, Txn};
pub use location::Location;
use seal::{
    event_ad, hash_from_hex, hex, open_json, record_ad, root_ad, seal_json, settings_ad, slot_ad,
    slot_info_ad, tampered, unhex, usage_ad,
};
pub use sqlite::APPLICATION_ID;

/// The store schema version this build creates and upgrades older stores to.
pub const SCHEMA_VERSION: i32 = 2;
/// The newest store version this build reads: version 2 whose slots wrap a key bundle (its
/// master key was replaced by `key rekey`). The rows are those of version 2; the number is
/// raised so that a tokman from before rekey refuses the store as newer instead of calling
/// every key wrong.
pub const REKEYED_VERSION: i32 = 3;
/// The oldest store version this build upgrades in place.
const OLDEST_UPGRADABLE: i32 = 1;

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
    engine: Box<dyn Engine>,
    location: Location,
    prefix: Prefix,
    store_id: Vec<u8>,
    /// When this process last wrote its slot's `last_used_at`, or read it in a transaction:
    /// `verify` and `verify --stream` then skip the no-op update for the rest of that minute.
    touched_at: Cell<Option<Timestamp>>,
    /// The slots as read when the store was opened, to unlock it.
    slots: Vec<SlotRow>,
    /// This process rekeyed the store: its version is [`REKEYED_VERSION`] now.
    rekeyed: bool,
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

impl TokenRow {
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

impl Store {
    /// Open an existing store without unlocking it. Checks, before anything could write, that
    /// it is a tokman store of a schema this build knows.
    pub fn open(location: &Location, durability: Durability) -> Result<Store> {
        let mut engine: Box<dyn Engine> = match location {
            Location::Sqlite(path) => Box::new(sqlite::Sqlite::open(path, durability)?),
            Location::Postgres(target) => Box::new(postgres::Postgres::open(target, durability)?),
        };
        // One read for what opening and unlocking need (the slots are checked against the root
        // again by every transaction, so a slot changed since only fails that unlock).
        let (identity, slots) = {
            let mut t = engine.begin(Mode::Read)?;
            let identity = t.identity()?;
            (identity, t.slots()?)
        };
        let (prefix, store_id) = identity.ok_or_else(|| tampered("the store's metadata"))?;
        let prefix = Prefix::parse(&prefix).map_err(|_| tampered("the store's prefix"))?;
        Ok(Store {
            engine,
            location: location.clone(),
            prefix,
            store_id,
            touched_at: Cell::new(None),
            slots,
            rekeyed: false,
        })
    }

    /// Create a store, whole or not at all: a concurrent `init` or an existing store is exit 7
    /// and never touched.
    pub fn create(
        location: &Location,
        prefix: &Prefix,
        settings: &Settings,
        slot: NewSlot<'_>,
        label: Option<&str>,
        now: Timestamp,
    ) -> Result<()> {
        let fill = |db: Box<dyn Txn + '_>| fill_new(db, prefix, settings, slot, label, now);
        match location {
            Location::Sqlite(path) => sqlite::Sqlite::create(path, fill),
            Location::Postgres(target) => postgres::Postgres::create(target, fill),
        }
    }

    /// Close the store for a process that exits right after (see
    /// [`Engine::close_before_exit`]).
    pub fn close_before_exit(self) {
        self.engine.close_before_exit();
    }

    /// Whether the store was made by an older tokman and waits for [`Store::upgrade`].
    pub fn is_older(&self) -> bool {
        self.engine.version() < SCHEMA_VERSION
    }

    /// Where the store is, as users may see it (a URL without its password).
    pub fn location(&self) -> &Location {
        &self.location
    }

    pub fn prefix(&self) -> &Prefix {
        &self.prefix
    }

    /// Whether the store has a passphrase slot (so that a prompt makes sense).
    pub fn has_passphrase_slot(&mut self) -> Result<bool> {
        Ok(self.slots.iter().any(|s| s.kind == "passphrase"))
    }

    /// Unlock with a key file or passphrase. A key file costs one AEAD open per key-file slot
    /// and no Argon2; a passphrase costs one Argon2id run per passphrase slot.
    pub fn unlock(&mut self, how: &Unlock) -> Result<Unlocked> {
        let kind = match how {
            Unlock::KeyFile(_) => "keyfile",
            Unlock::Passphrase(_) => "passphrase",
        };
        let rows: Vec<&SlotRow> = self.slots.iter().filter(|s| s.kind == kind).collect();
        if rows.is_empty() {
            return Err(Error::locked(
                format!(
                    "this store has no {} slot",
                    if kind == "keyfile" {
                        "key-file"
                    } else {
                        "passphrase"
                    }
                ),
                Some(format!(
                    "unlock it with {} instead; `tokman key list` shows its slots",
                    if kind == "keyfile" {
                        "a passphrase"
                    } else {
                        "a key file"
                    }
                )),
            ));
        }
        for row in rows {
            if let Some(master) = unwrap_slot(&self.store_id, row, how)? {
                return Ok(Unlocked {
                    keys: master.derive(),
                    slot: row.slot,
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
                Some("check where the passphrase came from".into()),
            ),
        })
    }

    /// Start a write transaction: it takes the store's write lock up front, so two commands
    /// never both read and then fight to write.
    pub(crate) fn write<'a>(&'a mut self, unlocked: &'a Unlocked) -> Result<Tx<'a>> {
        self.begin(unlocked, Mode::Write)
    }

    /// Start a read transaction: a consistent snapshot for `list`, `inspect` and `audit`.
    pub(crate) fn read<'a>(&'a mut self, unlocked: &'a Unlocked) -> Result<Tx<'a>> {
        self.begin(unlocked, Mode::Read)
    }

    fn begin<'a>(&'a mut self, unlocked: &'a Unlocked, mode: Mode) -> Result<Tx<'a>> {
        let version = self.engine.version();
        if version < SCHEMA_VERSION {
            return Err(Error::unavailable(
                format!(
                    "{} was made by an older tokman (store version {version})",
                    self.location
                ),
                Some("it is upgraded in place by the next tokman command that unlocks it".into()),
            ));
        }
        let db = self.engine.begin(mode)?;
        let opened_with = self
            .slots
            .iter()
            .find(|s| s.slot == unlocked.slot)
            .map(|s| s.wrapped.as_slice());
        Tx::load_opened_with(
            db,
            &unlocked.keys,
            (unlocked.slot, opened_with),
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
        let from = self.engine.version();
        let Some((db, changed)) =
            self.engine
                .upgrade(&unlocked.keys, &self.store_id, &self.prefix)?
        else {
            // Nothing to do, or another process upgraded it while this one waited.
            return Ok(from < SCHEMA_VERSION);
        };
        let mut t = Tx::load(
            db,
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
        Ok(true)
    }

    /// The schema version of the store as opened (or as this process's rekey left it).
    pub fn version(&self) -> i32 {
        if self.rekeyed {
            REKEYED_VERSION
        } else {
            self.engine.version()
        }
    }

    /// What anyone who can read the store sees without a key: its shape and counts.
    pub fn public_info(&mut self) -> Result<PublicInfo> {
        let version = self.engine.version();
        let mut t = self.engine.begin(Mode::Read)?;
        let slots = t.slots()?.into_iter().map(|s| (s.slot, s.kind)).collect();
        Ok(PublicInfo {
            backend: self.location.backend(),
            version,
            prefix: self.prefix.as_str().to_owned(),
            tokens: t.count_tokens()?,
            slots,
            events: t.count_events()?,
        })
    }

    /// Copy the whole store, row for row and still sealed, into a new store at `dest` (which
    /// must not exist yet: a new SQLite file, or a database without a tokman store), then open
    /// the copy with `how` and check it whole. The source is checked whole first, in the same
    /// transaction the rows are read in, so the copy is one consistent state, taken while other
    /// commands go on. With `event` (for `copy`) the event is appended to the source first, in
    /// that transaction, so the copy's audit head equals the source's; without (for `backup`)
    /// the source is only read.
    pub fn copy_to(
        &mut self,
        unlocked: &Unlocked,
        how: &Unlock,
        dest: &Location,
        event: Option<Event>,
        now: Timestamp,
    ) -> Result<Copied> {
        let mode = if event.is_some() {
            Mode::Write
        } else {
            Mode::Read
        };
        let rekeyed = self.version() == REKEYED_VERSION;
        let mut tx = self.begin(unlocked, mode)?;
        let intact = tx.check_chain()?;
        let tokens = tx.check_state()?;
        let mut entry = None;
        if let Some(event) = event {
            entry = Some(tx.append(event, now)?);
            tx.seal_root()?;
        }
        let head = tx.head().last_mac;
        let events = intact.events + u64::from(entry.is_some());
        let fill = |mut db: Box<dyn Txn + '_>| {
            tx.copy_rows(db.as_mut())?;
            if rekeyed {
                // Its slots wrap key bundles: the copy must be refused by an older tokman too.
                db.set_version(REKEYED_VERSION)?;
            }
            db.commit()
        };
        match dest {
            Location::Sqlite(path) => sqlite::Sqlite::create(path, fill)?,
            Location::Postgres(target) => postgres::Postgres::create(target, fill)?,
        }
        tx.commit()?;

        let mut copy = Store::open(dest, Durability::Full)?;
        let opened = copy.unlock(how)?;
        let check = copy.read(&opened)?;
        let copied_chain = check.check_chain()?;
        let copied_tokens = check.check_state()?;
        if copied_chain.head != head || copied_chain.events != events || copied_tokens != tokens {
            return Err(Error::internal(format!(
                "the copy at {dest} does not match the store it was made from"
            )));
        }
        Ok(Copied {
            tokens,
            events,
            head,
            entry,
        })
    }
}

impl Store {
    /// Replace the master key (`key rekey`), in one transaction: the whole state is checked
    /// first, then every sealed value (token records and usage, slot infos, settings, audit
    /// events, the root) is sealed again under the new key, the user blind index is recomputed,
    /// and the chain's MACs are recomputed over the new sealed events (each event keeping the
    /// MAC it had, so heads noted before stay in its history). Every slot but the one that
    /// unlocked (`how`, wrapped again) is removed; `new_file`, when given, gets a new slot.
    /// The result is opened with the new key and checked whole before it commits.
    ///
    /// Returns the keys that unlock the store now (the old ones open nothing in it).
    pub fn rekey(
        &mut self,
        unlocked: &Unlocked,
        how: &Unlock,
        new_file: Option<&KeyFileKey>,
        now: Timestamp,
    ) -> Result<(Unlocked, Rekeyed)> {
        let version = self.engine.version();
        if version < SCHEMA_VERSION {
            return Err(Error::internal("rekey of a store that was not upgraded"));
        }
        let opened_with = self
            .slots
            .iter()
            .find(|s| s.slot == unlocked.slot)
            .map(|s| s.wrapped.as_slice());
        let db = self.engine.begin(Mode::Write)?;
        let tx = Tx::load_opened_with(
            db,
            &unlocked.keys,
            (unlocked.slot, opened_with),
            &self.store_id,
            &self.prefix,
            None,
        )?;
        // The unlocking slot as it is now, inside the transaction: another command may have
        // changed or removed it since the store was opened (exit 11, run it again).
        let row = tx.unlocking_row()?;
        let old_master =
            unwrap_slot(&self.store_id, &row, how)?.ok_or_else(|| slot_changed(unlocked.slot))?;
        // A passphrase slot keeps its Argon2 cost when it is wrapped again.
        let cost = crate::key_file::slot_kdf_params(row.slot, row.kdf.as_deref())?
            .unwrap_or(KdfParams::DEFAULT);
        let new_master = old_master.rekeyed();
        drop(old_master);
        let new_keys = new_master.derive();
        tx.check_chain()?;
        tx.check_state()?;
        let (mut db, done) = tx.reseal(&new_keys, &new_master, (how, cost), new_file, now)?;
        db.set_version(REKEYED_VERSION)?;
        let mut t = Tx::load(
            db,
            &new_keys,
            unlocked.slot,
            &self.store_id,
            &self.prefix,
            None,
        )?;
        t.check_state()?;
        // Checks the chain again and opens every event with the new key.
        t.events(None)?;
        let entry = t.append(Event::new(Kind::Rekey).detail(done.detail()), now)?;
        t.touch_slot(now)?;
        t.commit()?;
        self.rekeyed = true;
        // Committed: nothing that follows may fail the command (the new keys are the only
        // ones that work now); the compaction's result is reported, and slots that cannot be
        // read again are read when next needed.
        let scrubbed = self.engine.scrub().unwrap_or(false);
        let reread = self.engine.begin(Mode::Read).and_then(|mut r| r.slots());
        if let Ok(rows) = reread {
            self.slots = rows;
        }
        Ok((
            Unlocked {
                keys: new_keys,
                slot: unlocked.slot,
            },
            Rekeyed {
                entry,
                scrubbed,
                ..done
            },
        ))
    }

    /// Every sealed value and blind index of the store that opens with `keys`, or that is
    /// `keys`' blind index of one of `users`, described: for tests that a rekeyed store holds
    /// nothing under the old master key. Reads only; needs no unlock.
    #[doc(hidden)]
    pub fn values_under(&mut self, keys: &Keys, users: &[&str]) -> Result<Vec<String>> {
        let opens = |ad: &[u8], sealed: &[u8]| keys.open(ad, sealed).is_ok();
        let indexes: Vec<[u8; 32]> = users.iter().map(|u| keys.user_index(u)).collect();
        let mut found = Vec::new();
        let mut t = self.engine.begin(Mode::Read)?;
        let meta = t.meta()?.ok_or_else(|| tampered("the store's metadata"))?;
        if opens(&settings_ad(&self.store_id), &meta.settings) {
            found.push("the settings".to_owned());
        }
        if opens(&root_ad(&self.store_id), &meta.root) {
            found.push("the integrity root".to_owned());
        }
        for slot in t.slots()? {
            if opens(&slot_info_ad(&self.store_id, slot.slot), &slot.info) {
                found.push(format!("the info of slot {}", slot.slot));
            }
        }
        t.each_token(&mut |row| {
            let active = row.active_ix.is_some();
            if opens(
                &record_ad(&row.id, &row.user_ix, active, &row.secret_mac),
                &row.record,
            ) {
                found.push(format!("the record of {}", row.id));
            }
            if opens(&usage_ad(&row.id), &row.usage) {
                found.push(format!("the usage of {}", row.id));
            }
            if indexes.iter().any(|ix| row.user_ix == ix[..]) {
                found.push(format!("the user index of {}", row.id));
            }
            Ok(())
        })?;
        t.each_event(None, &mut |row| {
            if opens(&event_ad(row.seq, row.at), &row.event) {
                found.push(format!("audit event {}", row.seq));
            }
            Ok(())
        })?;
        Ok(found)
    }
}

/// What [`Store::rekey`] did.
#[derive(Debug, Clone)]
pub struct Rekeyed {
    /// The slot that unlocked the store, kept (wrapping the new key).
    pub kept: SlotInfo,
    /// The slots removed: their keys and passphrases open this store no more.
    pub removed: Vec<SlotInfo>,
    /// The new key file's slot, when one was asked for.
    pub added: Option<i64>,
    /// How many tokens and audit events were sealed again.
    pub tokens: u64,
    pub events: u64,
    /// The `rekey` event.
    pub entry: Entry,
    /// Whether the database's files were rid of the old sealed values the rekey replaced
    /// (SQLite: rebuilt and its WAL emptied; PostgreSQL keeps old row versions until it
    /// vacuums, which tokman does not force).
    pub scrubbed: bool,
}

impl Rekeyed {
    fn detail(&self) -> String {
        let slot = |s: &SlotInfo| format!("{} ({})", s.slot, s.kind);
        let mut detail = format!(
            "new master key; {} tokens and {} events sealed again; kept slot {}",
            self.tokens,
            self.events,
            slot(&self.kept)
        );
        if !self.removed.is_empty() {
            let removed: Vec<String> = self.removed.iter().map(slot).collect();
            let slots = if removed.len() == 1 { "slot" } else { "slots" };
            detail.push_str(&format!("; removed {slots} {}", removed.join(", ")));
        }
        if let Some(added) = self.added {
            detail.push_str(&format!("; added slot {added} (keyfile)"));
        }
        detail
    }
}

/// An audit event as sealed: the event, and the MACs it had in the chains before each rekey
/// (oldest first), so that a head noted before a rekey is still found in the log's history.
#[derive(Serialize, Deserialize)]
struct SealedEvent {
    #[serde(flatten)]
    event: Event,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    earlier_macs: Vec<String>,
}

/// What `info` shows of a store without unlocking it.
#[derive(Debug, Clone, Serialize)]
pub struct PublicInfo {
    pub backend: &'static str,
    pub version: i32,
    pub prefix: String,
    pub tokens: u64,
    /// `(number, kind)` of each slot.
    pub slots: Vec<(i64, String)>,
    pub events: u64,
}

/// What a copy holds, checked by opening it.
#[derive(Debug, Clone)]
pub struct Copied {
    pub tokens: u64,
    pub events: u64,
    /// The audit head of the source and of the copy (they are equal).
    pub head: String,
    /// The source's `copy` event, when one was added.
    pub entry: Option<Entry>,
}

/// Recover the master key from one slot: `None` when this key or passphrase does not open it.
fn unwrap_slot(store_id: &[u8], row: &SlotRow, how: &Unlock) -> Result<Option<MasterKey>> {
    let salt = row.salt.clone().unwrap_or_default();
    let slot_ad = slot_ad(store_id, row.slot, &row.kind, row.kdf.as_deref(), &salt);
    let master = match how {
        Unlock::KeyFile(kf) => kf.unwrap(&slot_ad, &row.wrapped),
        Unlock::Passphrase(p) => {
            let Some(params) = crate::key_file::slot_kdf_params(row.slot, row.kdf.as_deref())?
            else {
                return Ok(None);
            };
            crypto::unwrap_with_passphrase(p, params, &salt, &slot_ad, &row.wrapped)
        }
    };
    Ok(master.ok())
}

/// The first rows of a new store, in its first transaction: the metadata and an empty root,
/// the first slot and the `init` event.
fn fill_new(
    db: Box<dyn Txn + '_>,
    prefix: &Prefix,
    settings: &Settings,
    slot: NewSlot<'_>,
    label: Option<&str>,
    now: Timestamp,
) -> Result<()> {
    let mut db = db;
    let master = MasterKey::generate();
    let keys = master.derive();
    let store_id = crypto::random_bytes::<16>().to_vec();
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
    db.insert_meta(&MetaRow {
        prefix: prefix.as_str().to_owned(),
        store_id: store_id.clone(),
        settings: sealed_settings,
        root: seal_json(&keys, &root_ad(&store_id), &root)?,
    })?;
    let mut t = Tx::load(db, &keys, 0, &store_id, prefix, None)?;
    let slot_no = t.insert_slot(&master, slot, label, now)?;
    t.slot = slot_no;
    let init = Event::new(Kind::Init).detail(format!(
        "prefix {prefix}, max lifetime {}",
        settings.max_lifetime
    ));
    t.append(init, now)?;
    t.commit()
}

/// The digest of the slots the root covers: everything of each but its last-use time.
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

/// The slot that unlocked this session is not as it was (another command changed or removed it).
fn slot_changed(slot: i64) -> Error {
    Error::locked(
        format!("slot {slot}, which unlocked the store, was changed by another command"),
        Some("run the command again".into()),
    )
}

fn new_slot_row(
    keys: &Keys,
    master: &MasterKey,
    store_id: &[u8],
    slot_no: i64,
    slot: NewSlot<'_>,
    label: Option<&str>,
    now: Timestamp,
) -> Result<SlotRow> {
    new_slot_row_costing(
        keys,
        master,
        store_id,
        slot_no,
        slot,
        KdfParams::DEFAULT,
        label,
        now,
    )
}

/// [`new_slot_row`], a passphrase slot costing `params` (a rewrapped slot keeps its cost).
#[allow(clippy::too_many_arguments)]
fn new_slot_row_costing(
    keys: &Keys,
    master: &MasterKey,
    store_id: &[u8],
    slot_no: i64,
    slot: NewSlot<'_>,
    params: KdfParams,
    label: Option<&str>,
    now: Timestamp,
) -> Result<SlotRow> {
    let (kind, kdf, salt, wrapped) = match slot {
        NewSlot::Passphrase(p) => {
            let kdf = serde_json::to_string(&params)?;
            let salt = crypto::random_bytes::<16>().to_vec();
            let slot_ad = slot_ad(store_id, slot_no, "passphrase", Some(&kdf), &salt);
            let wrapped = crypto::wrap_with_passphrase(master, p, params, &salt, &slot_ad)
                .map_err(|_| Error::internal("argon2 rejected the slot's parameters"))?;
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
        last_used_at: None,
    })
}

/// A transaction on an unlocked store. Dropped without [`Tx::commit`], it rolls back.
pub(crate) struct Tx<'a> {
    db: RefCell<Box<dyn Txn + 'a>>,
    keys: &'a Keys,
    slot: i64,
    store_id: &'a [u8],
    touched_at: Option<&'a Cell<Option<Timestamp>>>,
    state: RefCell<State>,
    /// Tree nodes read (the siblings of checked paths) or written in this transaction.
    nodes: RefCell<HashMap<(u32, u32), Hash>>,
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

impl Nodes for Tx<'_> {
    fn node(&self, level: u32, idx: u32) -> Result<Hash> {
        if let Some(hash) = self.nodes.borrow().get(&(level, idx)) {
            return Ok(*hash);
        }
        match self.db.borrow_mut().node(level, idx)? {
            None => Ok(EMPTY),
            Some(v) => {
                <Hash>::try_from(v.as_slice()).map_err(|_| tampered("the store's token tree"))
            }
        }
    }

    fn set_node(&self, level: u32, idx: u32, hash: &Hash) -> Result<()> {
        self.nodes.borrow_mut().insert((level, idx), *hash);
        let hash = (*hash != EMPTY).then_some(&hash[..]);
        self.db.borrow_mut().set_node(level, idx, hash)
    }
}

impl<'a> Tx<'a> {
    /// Begin work on a store: open its root and check what it covers that is cheap to check on
    /// every command (the prefix, every slot, the settings, that the audit log ends at its head).
    fn load(
        db: Box<dyn Txn + 'a>,
        keys: &'a Keys,
        slot: i64,
        store_id: &'a [u8],
        prefix: &Prefix,
        touched_at: Option<&'a Cell<Option<Timestamp>>>,
    ) -> Result<Tx<'a>> {
        Tx::load_opened_with(db, keys, (slot, None), store_id, prefix, touched_at)
    }

    /// [`Tx::load`] for a session that unlocked the store through `slot` as it was then
    /// (`opened_with`: its wrapped key): a root that no longer opens with the session's keys
    /// because that slot changed since (another process's `key rekey`) is that, exit 11 and
    /// "run it again", not a tampered store.
    fn load_opened_with(
        mut db: Box<dyn Txn + 'a>,
        keys: &'a Keys,
        (slot, opened_with): (i64, Option<&[u8]>),
        store_id: &'a [u8],
        prefix: &Prefix,
        touched_at: Option<&'a Cell<Option<Timestamp>>>,
    ) -> Result<Tx<'a>> {
        let MetaRow {
            prefix: meta_prefix,
            settings,
            root: sealed_root,
            ..
        } = db.meta()?.ok_or_else(|| tampered("the store's metadata"))?;
        let root: Root = match open_json(
            keys,
            &root_ad(store_id),
            &sealed_root,
            "the store's integrity root",
        ) {
            Ok(root) => root,
            Err(e) => {
                if let Some(was) = opened_with {
                    let now = db.slots()?;
                    if now
                        .iter()
                        .find(|s| s.slot == slot)
                        .is_none_or(|s| s.wrapped != was)
                    {
                        return Err(slot_changed(slot));
                    }
                }
                return Err(e);
            }
        };
        if root.prefix != meta_prefix || root.prefix != prefix.as_str() {
            return Err(tampered("the store's prefix"));
        }
        if hash_from_hex(&root.settings, "the store's integrity root")?
            != integrity::hash_parts(&[&settings])
        {
            return Err(tampered("the store's settings"));
        }
        let slots = db.slots()?;
        if hash_from_hex(&root.slots, "the store's integrity root")? != slots_digest(&slots) {
            return Err(tampered("the store's unlock slots"));
        }
        // When the slot was last used, as this transaction reads it: `touch_slot` then skips
        // the update that would change nothing (a `verify` within a minute of the last).
        if let Some(cell) = touched_at
            && cell.get().is_none()
        {
            cell.set(
                slots
                    .iter()
                    .find(|s| s.slot == slot)
                    .and_then(|s| s.last_used_at),
            );
        }
        // slot 0: a store being made, before its first slot exists.
        if slot != 0 && !slots.iter().any(|s| s.slot == slot) {
            return Err(Error::locked(
                format!("slot {slot}, which unlocked the store, was removed by another command"),
                Some("unlock it another way; `tokman key list` shows its slots".into()),
            ));
        }
        let tail = db.audit_tail()?.map(|e| (e.seq, e.mac, e.count));
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
            db: RefCell::new(db),
            keys,
            slot,
            store_id,
            touched_at,
            nodes: RefCell::new(HashMap::new()),
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
    /// Commit, first sealing a new root over what changed: the token tree is updated along
    /// the changed buckets' paths, after proving that the values it builds on hash to the old
    /// root (so a forged node or row is refused, never laundered into the new root).
    pub fn commit(self) -> Result<()> {
        self.seal_root()?;
        self.db.into_inner().commit()
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
            st.root.slots = hex(&slots_digest(&self.db.borrow_mut().slots()?));
        }
        st.root.version += 1;
        let sealed = seal_json(self.keys, &root_ad(self.store_id), &st.root)?;
        self.db.borrow_mut().set_root(&sealed)?;
        // Sealed: the root now covers every change so far (a commit right after writes nothing
        // more; a later change starts from this root).
        st.changed = false;
        st.slots_changed = false;
        st.touched.clear();
        Ok(())
    }

    pub fn keys(&self) -> &Keys {
        self.keys
    }

    /// The audit log's head as the sealed root holds it (64 hex digits).
    pub fn audit_head(&self) -> String {
        self.head().last_mac
    }

    /// Every row of the store, as stored (still sealed), into `dst`: the new store's first
    /// transaction. The caller checked this state whole in this transaction.
    fn copy_rows(&self, dst: &mut dyn Txn) -> Result<()> {
        let mut src = self.db.borrow_mut();
        let meta = src
            .meta()?
            .ok_or_else(|| tampered("the store's metadata"))?;
        dst.insert_meta(&meta)?;
        for slot in src.slots()? {
            dst.insert_slot(&slot)?;
        }
        src.each_token(
            &mut |row| match dst.insert_token(&row, integrity::bucket_of(&row.id))? {
                Inserted::Done => Ok(()),
                Inserted::ActiveTaken => Err(tampered(format_args!("token {}", row.id))),
            },
        )?;
        for (level, idx, hash) in src.nodes()? {
            dst.set_node(level, idx, Some(&hash))?;
        }
        src.each_event(None, &mut |row| dst.insert_event(&row))
    }

    /// The store's settings (checked against the root when the transaction began).
    pub fn settings(&self) -> Result<Settings> {
        let sealed = self
            .db
            .borrow_mut()
            .meta()?
            .ok_or_else(|| tampered("the store's metadata"))?
            .settings;
        open_json(
            self.keys,
            &settings_ad(self.store_id),
            &sealed,
            "the store's settings",
        )
    }

    /// Replace the store's settings: sealed again, and the root made to cover the new value.
    pub fn set_settings(&self, settings: &Settings) -> Result<()> {
        let sealed = seal_json(self.keys, &settings_ad(self.store_id), settings)?;
        self.db.borrow_mut().set_settings(&sealed)?;
        let mut st = self.state.borrow_mut();
        st.root.settings = hex(&integrity::hash_parts(&[&sealed]));
        st.changed = true;
        Ok(())
    }

    /// Note that the unlocking slot was used; written at most once a minute to keep `verify`
    /// from rewriting the slot table on every call. Not covered by the root.
    pub fn touch_slot(&self, now: Timestamp) -> Result<()> {
        // Written less than a minute ago (by this process, or as read at the transaction's
        // start): the update below would change nothing.
        if let Some(t) = self.touched_at.and_then(Cell::get)
            && t <= now
            && t >= now - 60
        {
            return Ok(());
        }
        // Written now, or already written less than a minute ago (by this process or another):
        // either way nothing needs writing for the next minute, so `verify --stream` and a
        // server do not send the no-op update with every token. (If this transaction rolls
        // back, the next touch after the minute writes it.)
        self.db.borrow_mut().touch_slot(self.slot, now)?;
        if let Some(cell) = self.touched_at {
            cell.set(Some(now));
        }
        Ok(())
    }

    // ---- token rows and the tree ----------------------------------------------------------

    /// The `(id, leaf)` pairs of one bucket, as stored.
    fn bucket_leaves(&self, bucket: u32) -> Result<Vec<(String, Hash)>> {
        let rows = self.db.borrow_mut().bucket_leaves(bucket)?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, leaf) in rows {
            let leaf = <Hash>::try_from(leaf.as_slice())
                .map_err(|_| tampered(format_args!("token {id}")))?;
            out.push((id, leaf));
        }
        Ok(out)
    }

    /// Check that a row is the one the root holds: its content gives its leaf, its bucket's
    /// leaves hash to the bucket, and the bucket's path hashes to the sealed top.
    fn check_row(&self, raw: &TokenRow) -> Result<()> {
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
        self.read_path(bucket)?;
        let top = integrity::checked_top(self, bucket, hash)?;
        let mut st = self.state.borrow_mut();
        if top != Some(st.tree) {
            return Err(tampered(format_args!(
                "token {} (it disagrees with the store's integrity root)",
                raw.id
            )));
        }
        st.checked.insert(bucket);
        Ok(())
    }

    /// Read the nodes on `bucket`'s path to the top and their siblings at once (one query on PostgreSQL rather
    /// than one per level).
    fn read_path(&self, bucket: u32) -> Result<()> {
        let positions: Vec<(u32, u32)> = (0..integrity::DEPTH)
            .flat_map(|level| {
                let idx = bucket >> level;
                [(level, idx), (level, idx ^ 1)]
            })
            .filter(|p| !self.nodes.borrow().contains_key(p))
            .collect();
        if positions.is_empty() {
            return Ok(());
        }
        let found = self.db.borrow_mut().nodes_at(&positions)?;
        let mut nodes = self.nodes.borrow_mut();
        for p in positions {
            nodes.insert(p, EMPTY);
        }
        for (level, idx, hash) in found {
            let hash = <Hash>::try_from(hash.as_slice())
                .map_err(|_| tampered("the store's token tree"))?;
            nodes.insert((level, idx), hash);
        }
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

    fn open_token(&self, raw: TokenRow) -> Result<Stored> {
        open_token(self.keys, &raw)
    }

    fn checked_token(&self, raw: TokenRow) -> Result<Stored> {
        self.check_row(&raw)?;
        self.open_token(raw)
    }

    /// The token with this public id, opened and checked, if the store has it.
    pub fn token(&self, id: &TokenId) -> Result<Option<Stored>> {
        let raw = self.db.borrow_mut().token(id.as_str())?;
        raw.map(|raw| self.checked_token(raw)).transpose()
    }

    /// Whether `token_text` is the secret of the stored token, in constant time.
    pub fn secret_matches(&self, stored: &Stored, token_text: &str) -> bool {
        self.keys.secret_matches(token_text, &stored.secret_mac)
    }

    /// The token holding `user`'s active place (it may have expired since), if any.
    pub fn active_for_user(&self, user: &str) -> Result<Option<Stored>> {
        let ix = self.keys.user_index(user);
        let raw = self.db.borrow_mut().active_token(&ix)?;
        raw.map(|raw| self.checked_token(raw)).transpose()
    }

    /// Every token, or every token of one user, opened and handed to `f` one at a time, in no
    /// set order: memory stays flat however many tokens the store holds. Stops at the first
    /// error.
    ///
    /// Every token: each row's leaf is checked as it is read, and the whole tree against the
    /// root once all are read, so a caller must not act on what it was handed before this
    /// returns `Ok` (an added row is only seen then). One user's tokens are checked one by one.
    pub fn each_token(
        &self,
        user: Option<&str>,
        f: impl FnMut(Stored) -> Result<()>,
    ) -> Result<()> {
        self.each_token_where(user, |s| Ok(Some(s)), f)
    }

    /// [`Tx::each_token`], handing `f` only what `pick` makes of each token (`None`: nothing).
    /// Over every token, `pick` runs where the token is opened, on both of the scan's threads
    /// (see [`Tx::scan_rows`]); a failure of `pick` stops the scan as a damaged row does.
    pub fn each_token_where<T: Send>(
        &self,
        user: Option<&str>,
        pick: impl Fn(Stored) -> Result<Option<T>> + Sync,
        mut f: impl FnMut(T) -> Result<()>,
    ) -> Result<()> {
        if let Some(user) = user {
            let rows = self
                .db
                .borrow_mut()
                .user_tokens(&self.keys.user_index(user))?;
            for raw in rows {
                if let Some(t) = pick(self.checked_token(raw)?)? {
                    f(t)?;
                }
            }
            return Ok(());
        }
        self.scan_rows(|keys, raw| pick(open_token(keys, raw)?), f)
    }

    /// What `pick` makes of the record of every token, for a caller that decides by the record
    /// alone (`purge`): the usage, which the root does not cover and which is checked whenever
    /// it is opened, is left sealed, saving an AEAD open and a parse a row.
    pub fn each_record_where<T: Send>(
        &self,
        pick: impl Fn(Record) -> Result<Option<T>> + Sync,
        f: impl FnMut(T) -> Result<()>,
    ) -> Result<()> {
        self.scan_rows(|keys, raw| pick(open_record(keys, raw)?), f)
    }

    /// Every row, each one's leaf checked and `open` applied, `f` handed what it gives (in no
    /// set order), and the whole tree checked against the root at the end.
    ///
    /// The checking and opening (a SHA-256, AEAD opens and a parse a row, more than the reading
    /// costs) are shared with a second thread, a batch of rows at a time: this thread reads the
    /// rows, hands each batch over, and opens one itself whenever the other has two waiting.
    /// A scan of one batch or less, on one CPU, or where the system refuses a thread, stays on
    /// this thread.
    fn scan_rows<T: Send>(
        &self,
        open: impl Fn(&Keys, &TokenRow) -> Result<Option<T>> + Sync,
        mut f: impl FnMut(T) -> Result<()>,
    ) -> Result<()> {
        let keys = self.keys;
        let check = |buckets: &mut Buckets, raw: &TokenRow| -> Result<Option<T>> {
            let leaf = raw.leaf();
            if raw.leaf.as_slice() != leaf {
                return Err(tampered(format_args!("token {}", raw.id)));
            }
            buckets
                .entry(integrity::bucket_of(&raw.id))
                .or_default()
                .push((raw.id.clone(), leaf));
            open(keys, raw)
        };
        let mut two = std::thread::available_parallelism().is_ok_and(|n| n.get() > 1);
        let buckets = std::thread::scope(|scope| -> Result<Buckets> {
            let mut here = Buckets::new();
            let mut beside: Option<Beside<'_, T>> = None;
            let mut batch = Vec::with_capacity(SCAN_BATCH);
            let read = self.db.borrow_mut().each_token(&mut |raw| {
                batch.push(raw);
                if batch.len() < SCAN_BATCH {
                    return Ok(());
                }
                if two && beside.is_none() {
                    beside = Beside::start(scope, &check);
                    two = beside.is_some();
                }
                let Some(b) = beside.as_mut() else {
                    open_here(&check, &mut here, &mut batch, &mut f)?;
                    return Ok(());
                };
                // While the second thread has batches enough to go on with, this one opens
                // the batch itself rather than wait.
                let full = std::mem::replace(&mut batch, Vec::with_capacity(SCAN_BATCH));
                if let Some(mut kept) = b.offer(full)? {
                    open_here(&check, &mut here, &mut kept, &mut f)?;
                    batch = kept;
                }
                b.take_ready(&mut f)
            });
            read?;
            open_here(&check, &mut here, &mut batch, &mut f)?;
            match beside {
                None => Ok(here),
                Some(b) => {
                    let mut buckets = b.finish(&mut f)?;
                    for (bucket, leaves) in here {
                        buckets.entry(bucket).or_default().extend(leaves);
                    }
                    Ok(buckets)
                }
            }
        })?;
        self.check_whole_tree(buckets)
    }

    /// The tree over every row's leaf must hash to the root (unless this transaction changed
    /// it: then the commit checks the buckets it touched).
    fn check_whole_tree(&self, mut buckets: Buckets) -> Result<()> {
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
                "the store's set of tokens (rows were added, removed or restored behind tokman's back)",
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
        let stored = self.db.borrow_mut().nodes()?;
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
        let row = TokenRow {
            id: id.to_owned(),
            user_ix: user_ix.to_vec(),
            active_ix: Some(user_ix.to_vec()),
            secret_mac: secret_mac.to_vec(),
            record: sealed,
            usage,
            leaf: leaf.to_vec(),
        };
        match self
            .db
            .borrow_mut()
            .insert_token(&row, integrity::bucket_of(id))?
        {
            Inserted::Done => {
                self.note_leaf(id, Some(leaf));
                Ok(())
            }
            Inserted::ActiveTaken => Err(Error::conflict(
                "this user already has an active token",
                "see it with `tokman list --user USER --status active`; replace it with `tokman rotate`",
            )),
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
        self.db
            .borrow_mut()
            .update_token(id, active_ix, &sealed, &leaf)?;
        self.note_leaf(id, Some(leaf));
        Ok(())
    }

    /// Record a use (or any change of usage) of a token. Usage is outside the root: it changes
    /// on every verify.
    pub fn set_usage(&self, id: &TokenId, usage: &Usage) -> Result<()> {
        let sealed = seal_json(self.keys, &usage_ad(id.as_str()), usage)?;
        self.db.borrow_mut().set_usage(id.as_str(), &sealed)
    }

    /// Delete a token's row; the root then no longer holds it, so a copy put back is refused.
    pub fn delete(&self, id: &TokenId) -> Result<()> {
        self.touch(id.as_str())?;
        self.db.borrow_mut().delete_token(id.as_str())?;
        self.note_leaf(id.as_str(), None);
        Ok(())
    }

    /// Whether a token with this id exists.
    pub fn id_taken(&self, id: &TokenId) -> Result<bool> {
        self.db.borrow_mut().token_exists(id.as_str())
    }

    // ---- unlock slots ------------------------------------------------------------------

    /// Every slot, for `key list`.
    pub fn slots(&self) -> Result<Vec<SlotInfo>> {
        let rows = self.db.borrow_mut().slots()?;
        rows.into_iter()
            .map(
                |SlotRow {
                     slot,
                     kind,
                     info,
                     last_used_at,
                     ..
                 }| {
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
                },
            )
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
        let row = new_slot_row(self.keys, master, self.store_id, slot_no, slot, label, now)?;
        self.db.borrow_mut().insert_slot(&row)?;
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
        let row = self.unlocking_row()?;
        unwrap_slot(self.store_id, &row, current)?.ok_or_else(|| slot_changed(self.slot))
    }

    /// The row of the slot that unlocked this session, as it is in this transaction.
    fn unlocking_row(&self) -> Result<SlotRow> {
        self.db
            .borrow_mut()
            .slots()?
            .into_iter()
            .find(|s| s.slot == self.slot)
            .ok_or_else(|| slot_changed(self.slot))
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
        self.db.borrow_mut().delete_slot(slot)?;
        let mut st = self.state.borrow_mut();
        st.slots_changed = true;
        st.changed = true;
        Ok(info)
    }

    /// The passphrase slot, if the store has one.
    pub fn passphrase_slot(&self) -> Result<Option<i64>> {
        Ok(self
            .db
            .borrow_mut()
            .slots()?
            .into_iter()
            .find(|s| s.kind == "passphrase")
            .map(|s| s.slot))
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
        self.db.borrow_mut().insert_event(&EventRow {
            seq,
            at: now,
            event: sealed,
            mac: mac.to_vec(),
            count: 1,
        })?;
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
        let last = self
            .db
            .borrow_mut()
            .event(head.last_seq)?
            .map(|e| (e.at, e.event));
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
                self.db.borrow_mut().set_event_count(head.last_seq, count)?;
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
        let mut out = Vec::new();
        self.db.borrow_mut().each_event(since, &mut |row| {
            let EventRow {
                seq,
                at,
                event: sealed,
                count,
                ..
            } = row;
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
            Ok(())
        })?;
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
        self.db.borrow_mut().each_event(None, &mut |row| {
            let EventRow {
                seq,
                at,
                event: sealed,
                mac,
                count: n,
            } = row;
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
            Ok(())
        })?;
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
        let last_old = self.db.borrow_mut().last_event_before(before)?;
        let Some(EventRow {
            seq, mac, count: n, ..
        }) = last_old
        else {
            return Ok(0);
        };
        let dropped = self.db.borrow_mut().delete_events_through(seq)?;
        head.base_seq = seq + 1;
        head.base_prev = hex(&mac);
        head.base_count = u64::try_from(n).map_err(|_| bad_event(seq, "edited (its count)"))?;
        self.set_head(head);
        Ok(dropped)
    }
}

impl<'a> Tx<'a> {
    /// [`Store::rekey`]'s rewriting, in this transaction, of a state checked whole: everything
    /// sealed again under `keys` (of `master`), and a new root. Hands back the transaction.
    fn reseal(
        self,
        keys: &Keys,
        master: &MasterKey,
        (how, cost): (&Unlock, KdfParams),
        new_file: Option<&KeyFileKey>,
        now: Timestamp,
    ) -> Result<(Box<dyn Txn + 'a>, Rekeyed)> {
        let infos = self.slots()?;
        let settings = self.settings()?;
        let mut tokens: Vec<Stored> = Vec::new();
        self.each_token(None, |s| {
            tokens.push(s);
            Ok(())
        })?;
        let mut events: Vec<(EventRow, SealedEvent)> = Vec::new();
        self.db.borrow_mut().each_event(None, &mut |row| {
            let event: SealedEvent = open_json(
                self.keys,
                &event_ad(row.seq, row.at),
                &row.event,
                format_args!("audit event {}", row.seq),
            )?;
            events.push((row, event));
            Ok(())
        })?;
        let (slot, store_id) = (self.slot, self.store_id);
        let mut root = self.state.into_inner().root;
        let mut db = self.db.into_inner();

        // Slots: the one that unlocked, wrapping the new key; the new key file's; no other.
        let kept = infos
            .iter()
            .find(|i| i.slot == slot)
            .cloned()
            .ok_or_else(|| Error::internal("the unlocking slot is not in the store"))?;
        let removed: Vec<SlotInfo> = infos.iter().filter(|i| i.slot != slot).cloned().collect();
        for info in &infos {
            db.delete_slot(info.slot)?;
        }
        let again = match how {
            Unlock::KeyFile(k) => NewSlot::KeyFile(k),
            Unlock::Passphrase(p) => NewSlot::Passphrase(p),
        };
        let label = kept.label.as_deref();
        db.insert_slot(&new_slot_row_costing(
            keys,
            master,
            store_id,
            slot,
            again,
            cost,
            label,
            kept.created_at,
        )?)?;
        let added = match new_file {
            Some(kf) => {
                root.last_slot += 1;
                let row = new_slot_row(
                    keys,
                    master,
                    store_id,
                    root.last_slot,
                    NewSlot::KeyFile(kf),
                    Some("rekey"),
                    now,
                )?;
                db.insert_slot(&row)?;
                Some(root.last_slot)
            }
            None => None,
        };

        let sealed_settings = seal_json(keys, &settings_ad(store_id), &settings)?;
        db.set_settings(&sealed_settings)?;

        // Tokens: new blind index, sealed again, new leaves; then the whole tree anew.
        for s in &tokens {
            db.delete_token(s.record.id.as_str())?;
        }
        let mut buckets: BTreeMap<u32, Vec<(String, Hash)>> = BTreeMap::new();
        for s in &tokens {
            let id = s.record.id.as_str();
            let user_ix = keys.user_index(&s.record.user);
            let record = seal_json(
                keys,
                &record_ad(id, &user_ix, s.active, &s.secret_mac),
                &s.record,
            )?;
            let leaf = integrity::leaf(id, &user_ix, s.active, &s.secret_mac, &record);
            let row = TokenRow {
                id: id.to_owned(),
                user_ix: user_ix.to_vec(),
                active_ix: s.active.then(|| user_ix.to_vec()),
                secret_mac: s.secret_mac.clone(),
                record,
                usage: seal_json(keys, &usage_ad(id), &s.usage)?,
                leaf: leaf.to_vec(),
            };
            let bucket = integrity::bucket_of(id);
            if db.insert_token(&row, bucket)? != Inserted::Done {
                return Err(Error::internal(format!(
                    "token {id}: two active tokens for one user while rekeying"
                )));
            }
            buckets
                .entry(bucket)
                .or_default()
                .push((id.to_owned(), leaf));
        }
        let hashes: BTreeMap<u32, Hash> = buckets
            .into_iter()
            .map(|(b, mut leaves)| (b, integrity::bucket_hash(b, &mut leaves)))
            .collect();
        let (nodes, top) = integrity::full_tree(&hashes);
        for (level, idx, _) in db.nodes()? {
            db.set_node(level, idx, None)?;
        }
        for ((level, idx), hash) in &nodes {
            db.set_node(*level, *idx, Some(&hash[..]))?;
        }

        // The chain: each event sealed again, remembering its MAC, and chained anew from the
        // same base (the MAC key is the same; the sealed bytes it covers are not).
        let mut prev =
            unhex(&root.head.base_prev).ok_or_else(|| tampered("the audit log's head"))?;
        let mut prev_count = root.head.base_count;
        if let Some(last) = events.last() {
            db.delete_events_through(last.0.seq)?;
        }
        let count = events.len() as u64;
        for (row, mut sealed) in events {
            sealed.earlier_macs.push(hex(&row.mac));
            let event = seal_json(keys, &event_ad(row.seq, row.at), &sealed)?;
            let mac = event_mac(keys, &prev, prev_count, row.seq, row.at, &event);
            db.insert_event(&EventRow {
                seq: row.seq,
                at: row.at,
                event,
                mac: mac.to_vec(),
                count: row.count,
            })?;
            prev = mac.to_vec();
            prev_count = u64::try_from(row.count).map_err(|_| bad_event(row.seq, "edited"))?;
        }
        if count > 0 {
            root.head.last_mac = hex(&prev);
        }

        root.version += 1;
        root.tree = hex(&top);
        root.slots = hex(&slots_digest(&db.slots()?));
        root.settings = hex(&integrity::hash_parts(&[&sealed_settings]));
        db.set_root(&seal_json(keys, &root_ad(store_id), &root)?)?;
        let done = Rekeyed {
            kept,
            removed,
            added,
            tokens: tokens.len() as u64,
            events: count,
            scrubbed: false,
            entry: Entry {
                seq: 0,
                at: now,
                event: Event::new(Kind::Rekey),
                count: 1,
            },
        };
        Ok((db, done))
    }

    /// Whether `head` was a head of this log before a rekey: a MAC an event kept when the
    /// chain was recomputed. Opens every event (only `--expect-head` asks, and only when the
    /// head is not in the current chain).
    pub fn held_before_rekey(&self, head: &str) -> Result<bool> {
        let head = head.trim().to_ascii_lowercase();
        let mut held = false;
        self.db.borrow_mut().each_event(None, &mut |row| {
            if held {
                return Ok(());
            }
            let sealed: SealedEvent = open_json(
                self.keys,
                &event_ad(row.seq, row.at),
                &row.event,
                format_args!("audit event {}", row.seq),
            )?;
            held = sealed.earlier_macs.contains(&head);
            Ok(())
        })?;
        Ok(held)
    }
}

fn bad_event(seq: i64, what: &str) -> Error {
    Error::corrupt(format!("audit log damaged at event {seq}: {what}"))
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

/// What the second thread of a scan hands back for a batch: the rows, for this thread to free
/// (the allocator's arenas then stay one a thread, uncontended), and what it made of them.
type Answer<T> = (Vec<TokenRow>, Result<Vec<T>>);

/// Every row's leaf by bucket, as a full scan collects them.
type Buckets = BTreeMap<u32, Vec<(String, Hash)>>;

/// Rows a scan hands the second thread at a time: enough that handing them over costs little
/// beside opening them, few enough that both threads start soon.
const SCAN_BATCH: usize = 256;

/// The second thread of a scan ([`Tx::scan_rows`]): batches of rows go to it, the rows and
/// what it made of them come back, and its buckets at the end.
struct Beside<'s, T> {
    to: Option<mpsc::SyncSender<Vec<TokenRow>>>,
    from: mpsc::Receiver<Answer<T>>,
    done: std::thread::ScopedJoinHandle<'s, Buckets>,
}

impl<'s, T: Send + 's> Beside<'s, T> {
    /// `None` when the system refuses a thread: the scan then goes on with one.
    fn start<'e, C>(scope: &'s std::thread::Scope<'s, 'e>, check: &'s C) -> Option<Self>
    where
        C: Fn(&mut Buckets, &TokenRow) -> Result<Option<T>> + Sync,
    {
        // Two batches queued at most, so the reading never runs far ahead; the answers, at
        // most one per batch sent, need no bound.
        let (to, batches) = mpsc::sync_channel::<Vec<TokenRow>>(2);
        let (answer, from) = mpsc::channel();
        let thread = std::thread::Builder::new().name("scan".into());
        let done = thread.spawn_scoped(scope, move || {
            let mut buckets = Buckets::new();
            for batch in batches {
                let mut out = Vec::with_capacity(batch.len());
                for raw in &batch {
                    match check(&mut buckets, raw) {
                        Ok(Some(t)) => out.push(t),
                        Ok(None) => {}
                        Err(e) => {
                            let _ = answer.send((batch, Err(e)));
                            return buckets;
                        }
                    }
                }
                if answer.send((batch, Ok(out))).is_err() {
                    break;
                }
            }
            buckets
        });
        Some(Beside {
            to: Some(to),
            from,
            done: done.ok()?,
        })
    }

    /// Hand over a batch, or hand it back when the thread has enough queued; if the thread
    /// has stopped, it stopped on an error, which is this.
    fn offer(&mut self, batch: Vec<TokenRow>) -> Result<Option<Vec<TokenRow>>> {
        let sent = match &self.to {
            Some(to) => to.try_send(batch),
            None => return self.failure(),
        };
        match sent {
            Ok(()) => Ok(None),
            Err(mpsc::TrySendError::Full(batch)) => Ok(Some(batch)),
            Err(mpsc::TrySendError::Disconnected(_)) => self.failure(),
        }
    }

    /// The error the thread stopped on.
    fn failure<X>(&mut self) -> Result<X> {
        self.to = None;
        for (_, answer) in &self.from {
            answer?;
        }
        Err(Error::internal("a scan's second thread stopped"))
    }

    /// `f` over what has come back so far.
    fn take_ready(&mut self, f: &mut impl FnMut(T) -> Result<()>) -> Result<()> {
        while let Ok((_, answer)) = self.from.try_recv() {
            answer?.into_iter().try_for_each(&mut *f)?;
        }
        Ok(())
    }

    /// `f` over the rest, and the buckets.
    fn finish(mut self, f: &mut impl FnMut(T) -> Result<()>) -> Result<Buckets> {
        self.to = None;
        for (_, answer) in &self.from {
            answer?.into_iter().try_for_each(&mut *f)?;
        }
        match self.done.join() {
            Ok(buckets) => Ok(buckets),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

/// A scan's rows checked and opened on this thread, `f` over what they give; `batch` is left
/// empty, to be filled again.
fn open_here<T>(
    check: &impl Fn(&mut Buckets, &TokenRow) -> Result<Option<T>>,
    here: &mut Buckets,
    batch: &mut Vec<TokenRow>,
    f: &mut impl FnMut(T) -> Result<()>,
) -> Result<()> {
    for raw in batch.drain(..) {
        if let Some(t) = check(here, &raw)? {
            f(t)?;
        }
    }
    Ok(())
}

/// A row's record and usage, opened.
fn open_token(keys: &Keys, raw: &TokenRow) -> Result<Stored> {
    let record = open_record(keys, raw)?;
    let active = raw.active_ix.is_some();
    let usage: Usage = open_json(
        keys,
        &usage_ad(&raw.id),
        &raw.usage,
        format_args!("the usage of token {}", raw.id),
    )?;
    Ok(Stored {
        record,
        usage,
        active,
        secret_mac: raw.secret_mac.clone(),
    })
}

/// A row's record, opened; its usage is left sealed.
fn open_record(keys: &Keys, raw: &TokenRow) -> Result<Record> {
    if raw.active_ix.as_ref().is_some_and(|a| *a != raw.user_ix) {
        return Err(tampered(format_args!("token {}", raw.id)));
    }
    let active = raw.active_ix.is_some();
    let record: Record = open_json(
        keys,
        &record_ad(&raw.id, &raw.user_ix, active, &raw.secret_mac),
        &raw.record,
        format_args!("token {}", raw.id),
    )?;
    if record.id.as_str() != raw.id {
        return Err(tampered(format_args!("token {}", raw.id)));
    }
    Ok(record)
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
    use super::seal::ad;
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
