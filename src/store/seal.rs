//! Sealing: every private value of a store is sealed (XChaCha20-Poly1305, in `crypto`) with
//! associated data that binds it to where it lives, so a value moved to another row, column or
//! store no longer opens. The associated data of each kind of value is built here, once, for
//! every backend.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::crypto::{Keys, Unauthentic};
use crate::error::{Error, Result};
use crate::integrity::{self, Hash};
use crate::lifecycle::Timestamp;

pub(crate) fn tampered(what: impl std::fmt::Display) -> Error {
    Error::corrupt(format!(
        "integrity check failed: {what} was altered or damaged"
    ))
}

/// Associated data: length-prefixed parts, so distinct part lists never collide.
pub(crate) fn ad(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 4).sum());
    for p in parts {
        out.extend_from_slice(&(p.len() as u32).to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

pub(crate) fn seal_json<T: Serialize>(keys: &Keys, ad: &[u8], value: &T) -> Result<Vec<u8>> {
    let plain = zeroize::Zeroizing::new(serde_json::to_vec(value)?);
    Ok(keys.seal(ad, &plain))
}

pub(crate) fn open_json<T: DeserializeOwned>(
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

pub(crate) fn hex(bytes: &[u8]) -> String {
    integrity::to_hex(bytes)
}

pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    integrity::from_hex(s)
}

pub(crate) fn hash_from_hex(s: &str, what: &str) -> Result<Hash> {
    unhex(s)
        .and_then(|v| <Hash>::try_from(v.as_slice()).ok())
        .ok_or_else(|| tampered(what))
}

pub(crate) fn slot_ad(
    store_id: &[u8],
    slot: i64,
    kind: &str,
    kdf: Option<&str>,
    salt: &[u8],
) -> Vec<u8> {
    ad(&[
        b"tokman v1 slot",
        store_id,
        &slot.to_be_bytes(),
        kind.as_bytes(),
        kdf.unwrap_or("").as_bytes(),
        salt,
    ])
}

pub(crate) fn slot_info_ad(store_id: &[u8], slot: i64) -> Vec<u8> {
    ad(&[b"tokman v1 slot info", store_id, &slot.to_be_bytes()])
}

pub(crate) fn settings_ad(store_id: &[u8]) -> Vec<u8> {
    ad(&[b"tokman v1 settings", store_id])
}

pub(crate) fn root_ad(store_id: &[u8]) -> Vec<u8> {
    ad(&[b"tokman v2 root", store_id])
}

pub(crate) fn record_ad(id: &str, user_ix: &[u8], active: bool, secret_mac: &[u8]) -> Vec<u8> {
    ad(&[
        b"tokman v1 token",
        id.as_bytes(),
        user_ix,
        &[u8::from(active)],
        secret_mac,
    ])
}

pub(crate) fn usage_ad(id: &str) -> Vec<u8> {
    ad(&[b"tokman v1 usage", id.as_bytes()])
}

pub(crate) fn event_ad(seq: i64, at: Timestamp) -> Vec<u8> {
    ad(&[
        b"tokman v1 audit event",
        &seq.to_be_bytes(),
        &at.to_be_bytes(),
    ])
}
