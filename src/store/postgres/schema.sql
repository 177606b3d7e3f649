-- tokman store schema on PostgreSQL, version 2: the same rows as the SQLite file, in tables
-- named tokman_* so that the store can share a database with other applications.
--
-- Plaintext columns hold only what the database needs to find and constrain rows: public token
-- ids, keyed blind indexes of user names, keyed hashes of secrets, sequence numbers and event
-- times. Everything else is sealed with the row's plaintext columns bound in as associated data.
-- Kept to SQL that CockroachDB and YugabyteDB also accept (partial indexes, ON CONFLICT,
-- SELECT … FOR UPDATE), with no extension, trigger, sequence or stored procedure.

CREATE TABLE tokman_meta (
    singleton   INTEGER PRIMARY KEY CHECK (singleton = 1),
    application TEXT NOT NULL CHECK (application = 'tokman'),
    version     INTEGER NOT NULL,
    prefix      TEXT NOT NULL,
    store_id    BYTEA NOT NULL,
    settings    BYTEA NOT NULL,
    root        BYTEA NOT NULL
);

CREATE TABLE tokman_slots (
    slot         BIGINT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('passphrase', 'keyfile')),
    kdf          TEXT,
    salt         BYTEA,
    wrapped      BYTEA NOT NULL,
    info         BYTEA NOT NULL,
    last_used_at BIGINT
);

CREATE TABLE tokman_tokens (
    id         TEXT PRIMARY KEY,
    user_ix    BYTEA NOT NULL,
    active_ix  BYTEA,
    secret_mac BYTEA NOT NULL,
    record     BYTEA NOT NULL,
    usage      BYTEA NOT NULL,
    bucket     INTEGER NOT NULL,
    leaf       BYTEA NOT NULL
);

-- One active token per user, kept by the database across every host.
CREATE UNIQUE INDEX tokman_tokens_one_active ON tokman_tokens (active_ix) WHERE active_ix IS NOT NULL;
CREATE INDEX tokman_tokens_by_user ON tokman_tokens (user_ix);
CREATE INDEX tokman_tokens_by_bucket ON tokman_tokens (bucket);

CREATE TABLE tokman_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

CREATE TABLE tokman_audit (
    seq   BIGINT PRIMARY KEY,
    at    BIGINT NOT NULL,
    event BYTEA NOT NULL,
    mac   BYTEA NOT NULL,
    count BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX tokman_audit_by_time ON tokman_audit (at);
