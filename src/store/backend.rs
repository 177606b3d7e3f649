//! The storage seam: the few row operations tokman needs from a database, and nothing more.
//!
//! A backend stores sealed rows and opaque blobs; it never sees a key, never opens a value and
//! decides nothing. Sealing, unlock slots, the audit chain and the integrity root are written
//! once, above this trait, in [`crate::store`]. Each backend keeps its own SQL: SQLite in
//! `store/sqlite`, PostgreSQL in `store/postgres`.
//!
//! What every backend guarantees:
//! - a [`Mode::Write`] transaction is serialized against every other writer, from this or any
//!   other process or host, from its first statement on (SQLite's `BEGIN IMMEDIATE`; a row lock
//!   on PostgreSQL), so a read-then-write inside it is never raced;
//! - a [`Mode::Read`] transaction sees one consistent snapshot;
//! - a transaction dropped without [`Txn::commit`] changes nothing;
//! - at most one token row per `user_ix` has `active_ix` set, enforced by the database itself.

use crate::error::Result;

/// What a transaction is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Read,
    Write,
}

/// The store's one metadata row.
#[derive(Debug, Clone)]
pub struct MetaRow {
    pub prefix: String,
    pub store_id: Vec<u8>,
    pub settings: Vec<u8>,
    pub root: Vec<u8>,
}

/// One unlock slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRow {
    pub slot: i64,
    pub kind: String,
    pub kdf: Option<String>,
    pub salt: Option<Vec<u8>>,
    pub wrapped: Vec<u8>,
    pub info: Vec<u8>,
    pub last_used_at: Option<i64>,
}

/// One token row as stored: public id, blind indexes, keyed secret hash, sealed values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRow {
    pub id: String,
    pub user_ix: Vec<u8>,
    pub active_ix: Option<Vec<u8>>,
    pub secret_mac: Vec<u8>,
    pub record: Vec<u8>,
    pub usage: Vec<u8>,
    pub leaf: Vec<u8>,
}

/// One audit event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub seq: i64,
    pub at: i64,
    pub event: Vec<u8>,
    pub mac: Vec<u8>,
    pub count: i64,
}

/// What inserting a token row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Done,
    /// The one-active index refused it: another row holds the user's active place.
    ActiveTaken,
}

/// A transaction begun by an upgrade, with what the upgrade changed beyond the format.
pub type Upgrading<'a> = (Box<dyn Txn + 'a>, Vec<String>);

/// A connection to a store's database.
pub trait Engine {
    /// Begin a transaction.
    fn begin(&mut self, mode: Mode) -> Result<Box<dyn Txn + '_>>;
    /// The schema version the database holds, as read when it was opened.
    fn version(&self) -> i32;
    /// Rid the database's files of content deleted or overwritten by committed transactions
    /// (after `key rekey`: old sealed values left in free pages or an old log), as far as the
    /// database allows; whether it got all of it. Nothing may be in a transaction.
    fn scrub(&mut self) -> Result<bool> {
        Ok(false)
    }
    /// Bring an older schema to this version inside a new write transaction, which is handed
    /// back (with what the upgrade changed beyond the format) for the caller to check, record
    /// and commit; `None` when the schema is current (after any change that needs no event,
    /// committed on its own) or another process upgraded it first. Called only by commands that
    /// write. Only SQLite stores have older versions.
    fn upgrade(
        &mut self,
        _keys: &crate::crypto::Keys,
        _store_id: &[u8],
        _prefix: &crate::token::Prefix,
    ) -> Result<Option<Upgrading<'_>>> {
        Ok(None)
    }
    /// Close the database for a process that exits right after: what closing must do on disk
    /// is done, and what only frees memory may be left to the exit.
    fn close_before_exit(self: Box<Self>) {}
}

/// One transaction. Every method is a statement or two; none decides anything.
pub trait Txn {
    /// `(prefix, store_id)`: the part of the metadata row every schema version has.
    fn identity(&mut self) -> Result<Option<(String, Vec<u8>)>>;
    fn meta(&mut self) -> Result<Option<MetaRow>>;
    fn insert_meta(&mut self, meta: &MetaRow) -> Result<()>;
    fn set_root(&mut self, sealed: &[u8]) -> Result<()>;
    fn set_settings(&mut self, sealed: &[u8]) -> Result<()>;
    /// Record the store's schema version (`key rekey` and a copy of a rekeyed store raise it).
    fn set_version(&mut self, version: i32) -> Result<()>;

    /// Every slot, by number.
    fn slots(&mut self) -> Result<Vec<SlotRow>>;
    fn insert_slot(&mut self, row: &SlotRow) -> Result<()>;
    fn delete_slot(&mut self, slot: i64) -> Result<()>;
    /// Set a slot's last use to `now` unless it was set less than a minute before; returns
    /// whether it wrote.
    fn touch_slot(&mut self, slot: i64, now: i64) -> Result<bool>;

    fn token(&mut self, id: &str) -> Result<Option<TokenRow>>;
    fn active_token(&mut self, user_ix: &[u8]) -> Result<Option<TokenRow>>;
    fn user_tokens(&mut self, user_ix: &[u8]) -> Result<Vec<TokenRow>>;
    /// Every token row, handed over one at a time (memory stays flat); stops at an error.
    fn each_token(&mut self, f: &mut dyn FnMut(TokenRow) -> Result<()>) -> Result<()>;
    /// The `(id, leaf)` pairs of one bucket of the integrity tree.
    fn bucket_leaves(&mut self, bucket: u32) -> Result<Vec<(String, Vec<u8>)>>;
    fn insert_token(&mut self, row: &TokenRow, bucket: u32) -> Result<Inserted>;
    fn update_token(
        &mut self,
        id: &str,
        active_ix: Option<&[u8]>,
        record: &[u8],
        leaf: &[u8],
    ) -> Result<()>;
    fn set_usage(&mut self, id: &str, usage: &[u8]) -> Result<()>;
    fn delete_token(&mut self, id: &str) -> Result<()>;
    fn token_exists(&mut self, id: &str) -> Result<bool>;
    fn count_tokens(&mut self) -> Result<u64>;

    /// An inner node of the integrity tree; `None` is the empty node.
    fn node(&mut self, level: u32, idx: u32) -> Result<Option<Vec<u8>>>;
    /// Store a node, or remove it (`None`: it became empty).
    fn set_node(&mut self, level: u32, idx: u32, hash: Option<&[u8]>) -> Result<()>;
    fn nodes(&mut self) -> Result<Vec<(u32, u32, Vec<u8>)>>;
    /// The nodes at these `(level, idx)` positions that are not empty, in any order: the
    /// siblings on one bucket's path, read at once where the database can.
    fn nodes_at(&mut self, positions: &[(u32, u32)]) -> Result<Vec<(u32, u32, Vec<u8>)>> {
        let mut out = Vec::new();
        for &(level, idx) in positions {
            if let Some(hash) = self.node(level, idx)? {
                out.push((level, idx, hash));
            }
        }
        Ok(out)
    }

    /// The newest event (its `event` blob may be left empty).
    fn audit_tail(&mut self) -> Result<Option<EventRow>>;
    fn event(&mut self, seq: i64) -> Result<Option<EventRow>>;
    fn insert_event(&mut self, row: &EventRow) -> Result<()>;
    fn set_event_count(&mut self, seq: i64, count: i64) -> Result<()>;
    /// Events in order of `seq`, those at or after `since` when given.
    fn each_event(
        &mut self,
        since: Option<i64>,
        f: &mut dyn FnMut(EventRow) -> Result<()>,
    ) -> Result<()>;
    /// The newest event older than `at` (its `event` blob may be left empty).
    fn last_event_before(&mut self, at: i64) -> Result<Option<EventRow>>;
    /// Delete the events up to and including `seq`; returns how many.
    fn delete_events_through(&mut self, seq: i64) -> Result<u64>;
    fn count_events(&mut self) -> Result<u64>;

    fn commit(self: Box<Self>) -> Result<()>;
}
