-- tokman store schema, version 2 (PRAGMA user_version = 2, PRAGMA application_id = 0x746b6d6e).
--
-- Plaintext columns hold only what SQLite needs to find and constrain rows: public token ids,
-- keyed blind indexes of user names, keyed hashes of secrets, sequence numbers and event times.
-- Everything else is sealed (XChaCha20-Poly1305) with the row's plaintext columns bound in as
-- associated data, so a value moved, swapped or edited in the file no longer opens.

-- One row: the store's identity, its sealed settings and its sealed integrity root (the top of
-- the token tree, digests of the slots and settings, the prefix and the audit chain's head).
CREATE TABLE meta (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    prefix    TEXT NOT NULL,
    store_id  BLOB NOT NULL,
    settings  BLOB NOT NULL,
    root      BLOB NOT NULL
);

-- Ways to unlock: each wraps the same master key. Slot numbers are never reused (the root
-- keeps the highest given), so "slot 2" in the audit log always means one slot.
CREATE TABLE slots (
    slot         INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('passphrase', 'keyfile')),
    kdf          TEXT,
    salt         BLOB,
    wrapped      BLOB NOT NULL,
    info         BLOB NOT NULL,
    last_used_at INTEGER
);

-- Tokens. `active_ix` equals `user_ix` while the token holds its user's one active place, and is
-- NULL once it is revoked or retired: the partial unique index makes the one-active rule a
-- property of the database, not of a read-then-write. `bucket` and `leaf` place the row in the
-- integrity tree (`leaf` is a hash of every column but `usage`; it is checked, never trusted).
CREATE TABLE tokens (
    id         TEXT PRIMARY KEY,
    user_ix    BLOB NOT NULL,
    active_ix  BLOB,
    secret_mac BLOB NOT NULL,
    record     BLOB NOT NULL,
    usage      BLOB NOT NULL,
    bucket     INTEGER NOT NULL,
    leaf       BLOB NOT NULL
) WITHOUT ROWID;

CREATE UNIQUE INDEX tokens_one_active_per_user ON tokens (active_ix) WHERE active_ix IS NOT NULL;
CREATE INDEX tokens_by_user ON tokens (user_ix);
-- Covers `leaf` (and the key, `id`): checking a token against the tree reads its bucket's leaves
-- from a page or two of this index instead of one table page per row.
CREATE INDEX tokens_by_bucket ON tokens (bucket, leaf);

-- The inner nodes of the integrity tree over token buckets (level 0 = buckets); absent = empty.
CREATE TABLE nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;

-- The audit log: each event sealed, each MAC chained to the one before (and to its count, the
-- refused verifies it stands for; the newest event's count is in the root).
CREATE TABLE audit (
    seq   INTEGER PRIMARY KEY,
    at    INTEGER NOT NULL,
    event BLOB NOT NULL,
    mac   BLOB NOT NULL,
    count INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX audit_by_time ON audit (at);
