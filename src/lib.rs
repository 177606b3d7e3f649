//! tokman: issue, verify, rotate and revoke API tokens from a local encrypted store.
//!
//! The library holds the rules and the store; the `tokman` binary is a thin shell over
//! [`cmd::run`]. Layers, from the inside out:
//! - [`lifecycle`]: the rules, pure functions of records and `now`;
//! - [`token`], [`duration`], [`policy`]: the values users type, parsed strictly;
//! - [`crypto`]: the only door to encryption, key derivation and MACs;
//! - [`integrity`]: the root over the whole state and its token tree, free of SQL;
//! - [`store`]: SQLite, sealed rows, unlock slots, the root and the audit chain;
//! - [`file_safety`], [`key_file`]: who may touch the store's files, and reading what unlocks it;
//! - [`ops`]: each command's transaction, joining rules and store;
//! - [`cli`], [`config`], [`prompt`], [`render`], [`cmd`]: the command line;
//! - [`manpage`]: man pages and completion scripts generated from [`cli`].
#![forbid(unsafe_code)]

pub mod audit;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod crypto;
pub mod duration;
pub mod error;
pub mod file_safety;
pub mod integrity;
pub mod key_file;
pub mod lifecycle;
pub mod manpage;
pub mod ops;
pub mod policy;
pub mod prompt;
pub mod render;
pub mod scan;
pub mod store;
pub mod text;
pub mod token;

pub use error::{Error, Result};
