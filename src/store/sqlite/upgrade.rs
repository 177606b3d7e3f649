//! Upgrading a store made by an older tokman, inside the caller's transaction.
//!
//! Version 1 kept no integrity root: each row was sealed on its own and a revocation list kept
//! apart from the rows. Its checks are run one last time (a row that disagrees with the list is
//! refused), then the rows get their place in the tree and the store its first root.

use std::collections::BTreeMap;

use rusqlite::{OptionalExtension, params};

use super::super::backend::TokenRow as RawToken;
use super::super::seal::{ad, hex, open_json, record_ad, root_ad, seal_json, tampered};
use super::super::{open_record, slots_digest};
use super::{Sql, read_slot_rows, token_row as raw_token};
use crate::crypto::Keys;
use crate::error::Result;
use crate::integrity;
use crate::integrity::{Head, Root};
use crate::lifecycle::Record;
use crate::token::Prefix;

const V1_TOKEN_COLUMNS: &str = "id, user_ix, active_ix, secret_mac, record, usage, x'' AS leaf, \
     EXISTS (SELECT 1 FROM revoked r WHERE r.id = t.id)";

/// Returns what the upgrade changed beyond the format (names brought to NFC), for its event.
pub(super) fn from_v1(
    tx: &rusqlite::Transaction<'_>,
    keys: &Keys,
    store_id: &[u8],
    prefix: &Prefix,
) -> Result<Vec<String>> {
    let (meta_prefix, settings, sealed_head): (String, Vec<u8>, Vec<u8>) = tx
        .query_row(
            "SELECT prefix, settings, audit_head FROM meta WHERE singleton = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .db()?;
    if meta_prefix != prefix.as_str() {
        return Err(tampered("the store's prefix"));
    }
    let head: Head = open_json(
        keys,
        &ad(&[b"tokman v1 audit head", store_id]),
        &sealed_head,
        "the audit log's head",
    )?;

    // The rows as version 1 checked them: sealed with their columns, and agreeing with the
    // revocation list.
    let mut rows: Vec<(RawToken, Record)> = Vec::new();
    {
        let mut stmt = tx
            .prepare(&format!("SELECT {V1_TOKEN_COLUMNS} FROM tokens t"))
            .db()?;
        let found = stmt
            .query_map([], |r| Ok((raw_token(r)?, r.get::<_, bool>(7)?)))
            .db()?;
        for row in found {
            let (raw, tombstoned) = row.db()?;
            let record = open_record(keys, &raw)?;
            if tombstoned && record.revoked_at.is_none() {
                return Err(tampered(format_args!("token {}", raw.id)));
            }
            rows.push((raw, record));
        }
    }
    let renamed = normalize_names(tx, keys, &mut rows)?;
    let rows: Vec<RawToken> = rows.into_iter().map(|(raw, _)| raw).collect();

    tx.execute_batch(
        "ALTER TABLE meta RENAME COLUMN audit_head TO root;
         ALTER TABLE tokens ADD COLUMN bucket INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE tokens ADD COLUMN leaf BLOB NOT NULL DEFAULT x'';
         CREATE INDEX tokens_by_bucket ON tokens (bucket, leaf);
         CREATE TABLE nodes (
             level INTEGER NOT NULL,
             idx   INTEGER NOT NULL,
             hash  BLOB NOT NULL,
             PRIMARY KEY (level, idx)
         ) WITHOUT ROWID;
         ALTER TABLE audit ADD COLUMN count INTEGER NOT NULL DEFAULT 1;
         DROP TABLE revoked;",
    )
    .db()?;

    let mut buckets: BTreeMap<u32, Vec<(String, integrity::Hash)>> = BTreeMap::new();
    for raw in &rows {
        let leaf = raw.leaf();
        let bucket = integrity::bucket_of(&raw.id);
        tx.execute(
            "UPDATE tokens SET bucket = ?2, leaf = ?3 WHERE id = ?1",
            params![raw.id, i64::from(bucket), &leaf[..]],
        )
        .db()?;
        buckets
            .entry(bucket)
            .or_default()
            .push((raw.id.clone(), leaf));
    }
    let hashes: BTreeMap<u32, integrity::Hash> = buckets
        .into_iter()
        .map(|(b, mut leaves)| (b, integrity::bucket_hash(b, &mut leaves)))
        .collect();
    let (nodes, top) = integrity::full_tree(&hashes);
    for ((level, idx), hash) in &nodes {
        tx.execute(
            "INSERT INTO nodes (level, idx, hash) VALUES (?1, ?2, ?3)",
            params![level, idx, &hash[..]],
        )
        .db()?;
    }

    let last_slot: i64 = tx
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'slots'",
            [],
            |r| r.get(0),
        )
        .optional()
        .db()?
        .unwrap_or(0);
    let root = Root {
        version: 1,
        tree: hex(&top),
        slots: hex(&slots_digest(&read_slot_rows(tx)?)),
        settings: hex(&integrity::hash_parts(&[&settings])),
        prefix: prefix.as_str().to_owned(),
        last_slot,
        head,
    };
    tx.execute(
        "UPDATE meta SET root = ?1 WHERE singleton = 1",
        [seal_json(keys, &root_ad(store_id), &root)?],
    )
    .db()?;
    Ok(renamed)
}

/// Version 1 compared user names byte for byte; now they are compared in NFC, so `é` typed
/// composed or decomposed is one user. Rows whose name changes get the new blind index. Where
/// two of a user's tokens now both hold the active place, the newest keeps it; the other stays
/// valid until it expires or is revoked, as it was. Returns what changed, for the event.
fn normalize_names(
    tx: &rusqlite::Transaction<'_>,
    keys: &Keys,
    rows: &mut [(RawToken, Record)],
) -> Result<Vec<String>> {
    use unicode_normalization::UnicodeNormalization;
    let mut changed = Vec::new();
    for (raw, record) in rows.iter_mut() {
        let nfc: String = record.user.nfc().collect();
        if nfc != record.user {
            changed.push(format!("{} renamed to its NFC form", raw.id));
            record.user = nfc;
            let ix = keys.user_index(&record.user).to_vec();
            if raw.active_ix.is_some() {
                raw.active_ix = Some(ix.clone());
            }
            raw.user_ix = ix;
        }
    }
    // One holder per user: the newest active row keeps the place.
    let mut holders: BTreeMap<Vec<u8>, (i64, String)> = BTreeMap::new();
    for (raw, record) in rows.iter() {
        if let Some(ix) = &raw.active_ix {
            let entry = holders
                .entry(ix.clone())
                .or_insert((record.created_at, raw.id.clone()));
            if (record.created_at, raw.id.as_str()) > (entry.0, entry.1.as_str()) {
                *entry = (record.created_at, raw.id.clone());
            }
        }
    }
    for (raw, record) in rows.iter_mut() {
        let holds = raw
            .active_ix
            .as_ref()
            .is_none_or(|ix| holders.get(ix).is_some_and(|(_, id)| *id == raw.id));
        if !holds {
            changed.push(format!(
                "{} no longer holds its user's active place (a newer token of the same name does)",
                raw.id
            ));
            raw.active_ix = None;
        }
        let active = raw.active_ix.is_some();
        let resealed = seal_json(
            keys,
            &record_ad(&raw.id, &raw.user_ix, active, &raw.secret_mac),
            record,
        )?;
        raw.record = resealed;
    }
    // Move every row to its final columns in two steps, so the one-active index never sees two
    // holders at once.
    for (raw, _) in rows.iter() {
        tx.execute(
            "UPDATE tokens SET active_ix = NULL WHERE id = ?1",
            [&raw.id],
        )
        .db()?;
    }
    for (raw, _) in rows.iter() {
        tx.execute(
            "UPDATE tokens SET user_ix = ?2, active_ix = ?3, record = ?4 WHERE id = ?1",
            params![raw.id, raw.user_ix, raw.active_ix, raw.record],
        )
        .db()?;
    }
    Ok(changed)
}
