//! The integrity root: one digest over the whole management state of a store, so that no edit
//! of any number of rows or cells can revive a revoked token or widen what a token may do.
//!
//! Token rows are hashed into leaves; leaves fall into one of [`BUCKETS`] buckets by their id;
//! the buckets are the leaves of a sparse binary Merkle tree of depth [`DEPTH`] whose inner nodes
//! are kept in the store. Only the tree's top hash matters: it sits, with the digests of the
//! slots and settings, the prefix and the audit head, in one sealed [`Root`] value, so a change
//! anywhere below it shows as a path that no longer hashes to the sealed top.
//!
//! Checking one token reads its bucket's leaves and the [`DEPTH`] siblings on its path:
//! O(log n) small reads, whatever the store's size. Nodes are plain SHA-256 (whoever writes the
//! store can compute them, and that is fine: they are trusted only once they hash up to the
//! sealed top). An update first proves that the old values it builds on hash to the old top,
//! so a forged node or row is never laundered into a new root.
//!
//! This module knows nothing of SQL: a backend provides [`Nodes`]; sealing the [`Root`] is the
//! store's.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Levels of the tree: 2^12 = 4,096 buckets, so a bucket holds about one token per 4,096 in the
/// store (24 at 100,000 tokens: one short range read). Fewer, fuller buckets keep the tree small:
/// a purge of 10,000 tokens rewrites at most 8,191 nodes, and a generate 12.
pub const DEPTH: u32 = 12;
/// How many buckets token rows are spread over.
pub const BUCKETS: u32 = 1 << DEPTH;

pub type Hash = [u8; 32];

/// The hash of an empty bucket and of a node with two empty children: absent nodes need no row.
pub const EMPTY: Hash = [0; 32];

/// SHA-256 over length-prefixed parts, so that distinct part lists never give one input.
pub fn hash_parts(parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().into()
}

/// The bucket a token id falls into.
pub fn bucket_of(id: &str) -> u32 {
    let h = hash_parts(&[b"tokman v2 bucket", id.as_bytes()]);
    u32::from(u16::from_be_bytes([h[0], h[1]])) >> (16 - DEPTH)
}

/// What a token row contributes to the root: everything that decides whether and for what it
/// verifies (its sealed record, its secret's hash, whether it holds its user's place), but not
/// its usage counters, which change on every verify.
pub fn leaf(id: &str, user_ix: &[u8], active: bool, secret_mac: &[u8], record: &[u8]) -> Hash {
    hash_parts(&[
        b"tokman v2 leaf",
        id.as_bytes(),
        user_ix,
        &[u8::from(active)],
        secret_mac,
        record,
    ])
}

/// The hash of one bucket from its rows' `(id, leaf)` pairs, in any order.
pub fn bucket_hash(bucket: u32, leaves: &mut [(String, Hash)]) -> Hash {
    if leaves.is_empty() {
        return EMPTY;
    }
    leaves.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut h = Sha256::new();
    h.update(b"tokman v2 bucket hash");
    h.update(bucket.to_be_bytes());
    for (id, leaf) in leaves.iter() {
        h.update((id.len() as u64).to_be_bytes());
        h.update(id.as_bytes());
        h.update(leaf);
    }
    h.finalize().into()
}

/// A node from its children; `level` is the children's level (0 for buckets).
pub fn parent(level: u32, left: &Hash, right: &Hash) -> Hash {
    if *left == EMPTY && *right == EMPTY {
        return EMPTY;
    }
    hash_parts(&[b"tokman v2 node", &level.to_be_bytes(), left, right])
}

/// Where a backend keeps the tree's nodes (levels 0 to `DEPTH - 1`; the top lives in [`Root`]).
pub trait Nodes {
    /// The node at `level`, `idx`, or [`EMPTY`] when there is none.
    fn node(&self, level: u32, idx: u32) -> Result<Hash>;
    /// Set a node; [`EMPTY`] removes it.
    fn set_node(&self, level: u32, idx: u32, hash: &Hash) -> Result<()>;
}

/// The top hash implied by `bucket` having `hash`, with the siblings the store holds now.
pub fn top_through(nodes: &impl Nodes, bucket: u32, hash: Hash) -> Result<Hash> {
    let mut idx = bucket;
    let mut h = hash;
    for level in 0..DEPTH {
        let sibling = nodes.node(level, idx ^ 1)?;
        h = if idx & 1 == 0 {
            parent(level, &h, &sibling)
        } else {
            parent(level, &sibling, &h)
        };
        idx >>= 1;
    }
    Ok(h)
}

/// As [`top_through`], and also whether the stored nodes on the path itself (the bucket's node
/// and each ancestor below the top) hold what the bucket implies. A path is proven by its
/// siblings alone; checking the path too refuses a state whose rows and root were put back
/// from an older copy while the nodes were not (one that `audit --check` refuses as well).
/// `None` when a stored path node disagrees.
pub fn checked_top(nodes: &impl Nodes, bucket: u32, hash: Hash) -> Result<Option<Hash>> {
    let mut idx = bucket;
    let mut h = hash;
    for level in 0..DEPTH {
        if nodes.node(level, idx)? != h {
            return Ok(None);
        }
        let sibling = nodes.node(level, idx ^ 1)?;
        h = if idx & 1 == 0 {
            parent(level, &h, &sibling)
        } else {
            parent(level, &sibling, &h)
        };
        idx >>= 1;
    }
    Ok(Some(h))
}

/// Apply bucket changes (`bucket -> (old hash, new hash)`) to the stored nodes. Returns the old
/// and the new top: the caller must check the old one against the sealed root before it trusts
/// the new one (a mismatch means a node or a bucket was changed behind tokman's back).
pub fn update(nodes: &impl Nodes, changes: &BTreeMap<u32, (Hash, Hash)>) -> Result<(Hash, Hash)> {
    if changes.is_empty() {
        return Err(Error::internal("an integrity update with no change"));
    }
    let mut level_changes = changes.clone();
    for level in 0..DEPTH {
        let mut next: BTreeMap<u32, (Hash, Hash)> = BTreeMap::new();
        for (&idx, &(_, new)) in &level_changes {
            nodes.set_node(level, idx, &new)?;
        }
        for (&idx, &(old, new)) in &level_changes {
            let p = idx >> 1;
            if next.contains_key(&p) {
                continue;
            }
            let sib_idx = idx ^ 1;
            let (sib_old, sib_new) = match level_changes.get(&sib_idx) {
                Some(&pair) => pair,
                None => {
                    let s = nodes.node(level, sib_idx)?;
                    (s, s)
                }
            };
            let (l_old, r_old, l_new, r_new) = if idx & 1 == 0 {
                (old, sib_old, new, sib_new)
            } else {
                (sib_old, old, sib_new, new)
            };
            next.insert(
                p,
                (parent(level, &l_old, &r_old), parent(level, &l_new, &r_new)),
            );
        }
        level_changes = next;
    }
    let (&_, &(old_top, new_top)) = level_changes
        .iter()
        .next()
        .ok_or_else(|| Error::internal("integrity update lost its top"))?;
    Ok((old_top, new_top))
}

/// Every node of the tree over `buckets` (non-empty bucket hashes), level by level, and its top:
/// the full check of `audit --check`, computed from the rows alone.
pub fn full_tree(buckets: &BTreeMap<u32, Hash>) -> (BTreeMap<(u32, u32), Hash>, Hash) {
    let mut all = BTreeMap::new();
    let mut level_nodes: BTreeMap<u32, Hash> = buckets
        .iter()
        .filter(|(_, h)| **h != EMPTY)
        .map(|(&b, &h)| (b, h))
        .collect();
    for level in 0..DEPTH {
        let mut next = BTreeMap::new();
        for (&idx, h) in &level_nodes {
            all.insert((level, idx), *h);
            let p = idx >> 1;
            if next.contains_key(&p) {
                continue;
            }
            let sib = level_nodes.get(&(idx ^ 1)).copied().unwrap_or(EMPTY);
            let node = if idx & 1 == 0 {
                parent(level, h, &sib)
            } else {
                parent(level, &sib, h)
            };
            next.insert(p, node);
        }
        level_nodes = next;
    }
    let top = level_nodes.get(&0).copied().unwrap_or(EMPTY);
    (all, top)
}

/// The head of the audit chain, as the root records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The newest event's sequence number (`base_seq - 1` when the log is empty).
    pub last_seq: i64,
    /// The newest event's MAC, hex: what `audit --check` prints.
    pub last_mac: String,
    /// How many refused verifies the newest event stands for: it may still grow, so its count is
    /// authenticated here, and by the next event's MAC once there is one.
    #[serde(default = "one")]
    pub last_count: u64,
    /// The first kept event's sequence number: retention drops the oldest.
    pub base_seq: i64,
    /// The MAC the first kept event chains to.
    pub base_prev: String,
    /// The count the first kept event's MAC covers (that of the dropped event before it).
    #[serde(default = "one")]
    pub base_count: u64,
}

fn one() -> u64 {
    1
}

/// The sealed root of a store's state. Everything here is checked when a transaction begins
/// (prefix, slots, settings, audit tail) or when a token is read (the tree).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Root {
    /// Grows by one with every committed change of the state.
    pub version: u64,
    /// Hex of the tree's top hash.
    pub tree: String,
    /// Hex of the digest of every unlock slot (all but their last-use times).
    pub slots: String,
    /// Hex of the digest of the sealed settings.
    pub settings: String,
    pub prefix: String,
    /// The highest slot number ever given: numbers are never reused.
    pub last_slot: i64,
    pub head: Head,
}

pub fn to_hex(bytes: &[u8]) -> String {
    // One allocation, not one `format!` a byte: `purge` and `audit --check` hex every event's MAC.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

pub fn from_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.is_ascii() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    #[derive(Default)]
    struct Mem(RefCell<BTreeMap<(u32, u32), Hash>>);

    impl Nodes for Mem {
        fn node(&self, level: u32, idx: u32) -> Result<Hash> {
            Ok(self.0.borrow().get(&(level, idx)).copied().unwrap_or(EMPTY))
        }
        fn set_node(&self, level: u32, idx: u32, hash: &Hash) -> Result<()> {
            let mut m = self.0.borrow_mut();
            if *hash == EMPTY {
                m.remove(&(level, idx));
            } else {
                m.insert((level, idx), *hash);
            }
            Ok(())
        }
    }

    fn h(n: u8) -> Hash {
        hash_parts(&[&[n]])
    }

    #[test]
    fn incremental_updates_agree_with_the_full_tree() {
        let nodes = Mem::default();
        let mut buckets: BTreeMap<u32, Hash> = BTreeMap::new();
        let mut top = EMPTY;
        let steps: [(u32, u8); 7] = [
            (0, 1),
            (1, 2),
            (BUCKETS - 1, 3),
            (300, 4),
            (1, 0),
            (0, 5),
            (7, 6),
        ];
        for (bucket, value) in steps {
            let old = buckets.get(&bucket).copied().unwrap_or(EMPTY);
            let new = if value == 0 { EMPTY } else { h(value) };
            let (old_top, new_top) =
                update(&nodes, &BTreeMap::from([(bucket, (old, new))])).unwrap();
            assert_eq!(old_top, top);
            buckets.insert(bucket, new);
            let (all, full) = full_tree(&buckets);
            assert_eq!(new_top, full);
            assert_eq!(*nodes.0.borrow(), all);
            assert_eq!(top_through(&nodes, bucket, new).unwrap(), full);
            top = new_top;
        }
        // Several buckets at once, siblings among them.
        let changes = BTreeMap::from([(2, (EMPTY, h(9))), (3, (EMPTY, h(10))), (0, (h(5), EMPTY))]);
        let (old_top, new_top) = update(&nodes, &changes).unwrap();
        assert_eq!(old_top, top);
        for (b, (_, new)) in &changes {
            buckets.insert(*b, *new);
        }
        assert_eq!(new_top, full_tree(&buckets).1);
    }

    #[test]
    fn a_forged_sibling_changes_the_old_top() {
        let nodes = Mem::default();
        let (_, top) = update(&nodes, &BTreeMap::from([(5, (EMPTY, h(1)))])).unwrap();
        nodes.set_node(0, 4, &h(2)).unwrap();
        let (old_top, _) = update(&nodes, &BTreeMap::from([(5, (h(1), h(3)))])).unwrap();
        assert_ne!(old_top, top);
    }

    #[test]
    fn bucket_hash_ignores_order_and_binds_ids() {
        let mut a = vec![("a".to_string(), h(1)), ("b".to_string(), h(2))];
        let mut b = vec![("b".to_string(), h(2)), ("a".to_string(), h(1))];
        assert_eq!(bucket_hash(3, &mut a), bucket_hash(3, &mut b));
        let mut c = vec![("a".to_string(), h(2)), ("b".to_string(), h(1))];
        assert_ne!(bucket_hash(3, &mut a), bucket_hash(3, &mut c));
        assert_ne!(bucket_hash(3, &mut a), bucket_hash(4, &mut a.clone()));
        assert_eq!(bucket_hash(3, &mut []), EMPTY);
    }

    #[test]
    fn buckets_cover_the_range() {
        assert!((0..1000).all(|i| bucket_of(&format!("tm_{i:012}")) < BUCKETS));
    }
}
