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
    Upgrade,
    Copy,
    Update,
    Expiring,
    Settings,
    Rekey,
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
            Kind::Upgrade => "upgrade",
            Kind::Copy => "copy",
            Kind::Update => "update",
            Kind::Expiring => "expiring",
            Kind::Settings => "settings",
            Kind::Rekey => "rekey",
        }
    }
}

impl Kind {
    /// Every kind, in the order `audit --help` lists them.
    pub const ALL: [Kind; 15] = [
        Kind::Init,
        Kind::Generate,
        Kind::Rotate,
        Kind::Revoke,
        Kind::Purge,
        Kind::KeyAdd,
        Kind::KeyRemove,
        Kind::KeyPassphrase,
        Kind::VerifyRefused,
        Kind::Update,
        Kind::Expiring,
        Kind::Settings,
        Kind::Rekey,
        Kind::Upgrade,
        Kind::Copy,
    ];
}

/// Which events `audit` shows: every condition given must hold (they AND together).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// At or after this instant.
    pub since: Option<Timestamp>,
    /// Of one of these kinds (any kind when empty).
    pub kinds: Vec<Kind>,
    /// About this user (an already normalised name).
    pub user: Option<String>,
    /// About this token.
    pub id: Option<TokenId>,
}

impl Filter {
    pub fn matches(&self, e: &Entry) -> bool {
        self.since.is_none_or(|t| e.at >= t)
            && (self.kinds.is_empty() || self.kinds.contains(&e.event.event))
            && self
                .user
                .as_ref()
                .is_none_or(|u| e.event.user.as_ref() == Some(u))
            && self
                .id
                .as_ref()
                .is_none_or(|id| e.event.id.as_ref() == Some(id))
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
    /// How many refused verifies this event stands for (1 for every other event).
    pub count: u64,
}

/// The result of walking the chain with `audit --check`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intact {
    pub events: u64,
    /// The MAC of the newest event, 64 hex digits: pin it elsewhere and compare later.
    pub head: String,
    /// Every earlier head the kept log still holds, oldest first (the newest is `head`).
    pub earlier: Vec<String>,
}

impl Intact {
    /// Whether `head` is this log's head or an earlier one of it: the log only grew since.
    pub fn descends_from(&self, head: &str) -> bool {
        let head = head.trim().to_ascii_lowercase();
        // A new log chains to all zeros: that is no head anyone noted.
        let genesis = head.bytes().all(|b| b == b'0');
        self.head == head || (!genesis && self.earlier.contains(&head))
    }
}
