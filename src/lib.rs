//! tokman: issue, verify, rotate and revoke API tokens from a local encrypted store.
//!
//! The library holds the rules and the store, and knows nothing of any front end: no flags, no
//! exit codes, no terminal. The `tokman` binary (`src/main.rs` and the command-line modules it
//! declares beside it: `cli`, `cmd`, `config`, `prompt`, `render`, `manpage`) is one front end
//! over it. Layers, from the inside out:
//! - [`lifecycle`]: the rules, pure functions of records and `now`;
//! - [`token`], [`duration`], [`policy`]: the values users type, parsed strictly;
//! - [`crypto`]: the only door to encryption, key derivation and MACs;
//! - [`integrity`]: the root over the whole state and its token tree, free of SQL;
//! - [`store`]: sealed rows, unlock slots, the root and the audit chain, over one storage seam
//!   that SQLite and PostgreSQL implement;
//! - [`file_safety`], [`key_file`]: who may touch the store's files, and reading what unlocks it;
//! - [`service`]: the one door to an unlocked store, an operation per method, joining rules
//!   and store;
//! - [`settings`]: the rule for changing a store's settings after `init`;
//! - [`scan`]: finding tokens in files, trees and staged changes;
//! - [`text`]: times and the one escaper for text shown to people.
#![forbid(unsafe_code)]

pub mod audit;
pub mod crypto;
pub mod duration;
pub mod error;
pub mod file_safety;
pub mod integrity;
pub mod key_file;
pub mod lifecycle;
pub mod policy;
pub mod scan;
pub mod service;
pub mod settings;
pub mod store;
pub mod text;
pub mod token;

pub use error::{Error, Result};
