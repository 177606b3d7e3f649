//! The events of the audit log and their JSON shape.
//!
//! The chain itself (sealing, MACs, the head) lives with the rest of the SQL in `store`. An event
//! never holds a secret or a presented token: only public ids, user names (sealed in the store),
//! short details and the unlock slot that acted.

use serde::{Deserialize, Serialize};

use crate::lifecycle::Timestamp;
use crate::token::TokenId;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Init,
    Generate,
    Rotate,
    Revoke,
    Purge,
    KeyAdd,
    KeyRemove,
    KeyPassphrase,
    VerifyRefused,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Init => "init",
            Kind::Generate => "generate",
            Kind::Rotate => "rotate",
            Kind::Revoke => "revoke",
            Kind::Purge => "purge",
            Kind::KeyAdd => "key_add",
            Kind::KeyRemove => "key_remove",
            Kind::KeyPassphrase => "key_passphrase",
            Kind::VerifyRefused => "verify_refused",
        }
    }
}

/// An event as recorded (sealed) in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub event: Kind,
    pub id: Option<TokenId>,
    pub user: Option<String>,
    pub detail: Option<String>,
    pub slot: Option<i64>,
}

impl Event {
    pub fn new(kind: Kind) -> Event {
        Event {
            event: kind,
            id: None,
            user: None,
            detail: None,
            slot: None,
        }
    }

    pub fn token(mut self, id: &TokenId, user: &str) -> Event {
        self.id = Some(id.clone());
        self.user = Some(user.to_owned());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Event {
        self.detail = Some(detail.into());
        self
    }
}

/// An event with its place in the chain: what `audit --json` prints and `notify-command` gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub seq: i64,
    pub at: Timestamp,
    pub event: Event,
}

/// The result of walking the chain with `audit --check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intact {
    pub events: u64,
    /// The MAC of the newest event, 64 hex digits: pin it elsewhere and compare later.
    pub head: String,
}
