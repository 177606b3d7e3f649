//! Every JSON document tokman prints, as typed views: the contract's keys in one place, each
//! document a struct. Absent values are `null` or `[]`, never missing keys. Times are RFC 3339.

use serde::Serialize;

use tokman::audit::Entry;
use tokman::lifecycle::{Outcome, Record, Timestamp, Usage};
use tokman::policy::{IpAllow, Origin, RateLimit, Scope};
use tokman::service::Verdict;
use tokman::store::SlotInfo;
use tokman::text::rfc3339;
use tokman::token::TokenId;

/// A token record (`list --json` is an array of them, `inspect --json` one).
#[derive(Serialize)]
pub struct TokenRecord<'a> {
    pub id: &'a TokenId,
    pub user: &'a str,
    pub name: Option<&'a str>,
    pub description: Option<&'a str>,
    pub scopes: &'a [Scope],
    pub status: &'static str,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub revoke_reason: Option<&'a str>,
    pub last_used_at: Option<String>,
    pub use_count: u64,
    pub rate_limits: &'a [RateLimit],
    pub allowed_ips: &'a [IpAllow],
    pub allowed_origins: &'a [Origin],
    pub rotated_from: Option<&'a TokenId>,
    pub rotated_to: Option<&'a TokenId>,
    pub grace_until: Option<String>,
    pub max_uses: Option<u64>,
    pub uses_left: Option<u64>,
}

impl<'a> TokenRecord<'a> {
    pub fn new(r: &'a Record, usage: Option<&'a Usage>, now: Timestamp) -> Self {
        TokenRecord {
            id: &r.id,
            user: &r.user,
            name: r.name.as_deref(),
            description: r.description.as_deref(),
            scopes: &r.scopes,
            status: r.status(now).as_str(),
            created_at: rfc3339(r.created_at),
            expires_at: rfc3339(r.expires_at),
            // A rotating token's revocation is scheduled, not done: `grace_until` says when.
            revoked_at: r
                .revoked_at
                .filter(|_| r.status(now) != tokman::lifecycle::Status::Rotating)
                .map(rfc3339),
            revoke_reason: r.revoke_reason.as_deref(),
            last_used_at: usage.and_then(|u| u.last_used_at).map(rfc3339),
            use_count: usage.map_or(0, |u| u.use_count),
            rate_limits: &r.rate_limits,
            allowed_ips: &r.allowed_ips,
            allowed_origins: &r.allowed_origins,
            rotated_from: r.rotated_from.as_ref(),
            rotated_to: r.rotated_to.as_ref(),
            grace_until: r.grace_until.map(rfc3339),
            max_uses: r.max_uses,
            uses_left: r.uses_left(usage.unwrap_or(&Usage::default())),
        }
    }
}

/// `generate --json` / `rotate --json`: the new token's record plus the token, shown once.
#[derive(Serialize)]
pub struct NewToken<'a> {
    #[serde(flatten)]
    pub record: TokenRecord<'a>,
    pub token: &'a str,
}

/// An audit event, as `audit --json` and the notify command see it.
#[derive(Serialize)]
pub struct Event<'a> {
    pub seq: i64,
    pub at: String,
    pub event: &'static str,
    pub id: Option<&'a TokenId>,
    pub user: Option<&'a str>,
    pub detail: Option<&'a str>,
    pub slot: Option<i64>,
    pub count: u64,
}

impl<'a> Event<'a> {
    pub fn new(e: &'a Entry) -> Self {
        Event {
            seq: e.seq,
            at: rfc3339(e.at),
            event: e.event.event.as_str(),
            id: e.event.id.as_ref(),
            user: e.event.user.as_deref(),
            detail: e.event.detail.as_deref(),
            slot: e.event.slot,
            count: e.count,
        }
    }
}

/// One unlock slot, for `key list --json`.
#[derive(Serialize)]
pub struct Slot<'a> {
    pub slot: i64,
    pub kind: &'a str,
    pub label: Option<&'a str>,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

impl<'a> Slot<'a> {
    pub fn new(s: &'a SlotInfo) -> Self {
        Slot {
            slot: s.slot,
            kind: &s.kind,
            label: s.label.as_deref(),
            created_at: rfc3339(s.created_at),
            last_used_at: s.last_used_at.map(rfc3339),
        }
    }
}

/// `verify --json` (and each line of `verify --stream`), whatever the outcome.
#[derive(Serialize)]
pub struct VerifyResult<'a> {
    pub valid: bool,
    pub outcome: &'static str,
    pub reason: String,
    pub id: Option<&'a TokenId>,
    pub user: Option<&'a str>,
    pub scopes: Option<&'a [Scope]>,
    pub expires_at: Option<String>,
    pub uses_left: Option<u64>,
}

impl<'a> VerifyResult<'a> {
    pub fn new(v: &'a Verdict, reason: String) -> Self {
        let r = v.record.as_ref();
        VerifyResult {
            valid: v.outcome == Outcome::Valid,
            outcome: v.outcome.as_str(),
            reason,
            id: r.map(|r| &r.id),
            user: r.map(|r| r.user.as_str()),
            scopes: r.map(|r| r.scopes.as_slice()),
            expires_at: r.map(|r| rfc3339(r.expires_at)),
            uses_left: v.uses_left,
        }
    }

    /// The store could not be opened or unlocked: outcome `error`, with the error's reason.
    pub fn error(reason: String) -> Self {
        VerifyResult {
            valid: false,
            outcome: "error",
            reason,
            id: None,
            user: None,
            scopes: None,
            expires_at: None,
            uses_left: None,
        }
    }
}

/// `purge --json`.
#[derive(Serialize)]
pub struct Purge<'a> {
    pub purged: usize,
    pub ids: &'a [TokenId],
    pub dry_run: bool,
}

/// `audit --check --json`.
#[derive(Serialize)]
pub struct AuditCheck<'a> {
    pub intact: bool,
    pub events: u64,
    pub tokens: u64,
    pub head: &'a str,
}

/// `info --json`.
#[derive(Serialize)]
pub struct Info<'a> {
    pub store: String,
    pub backend: &'static str,
    pub schema_version: i32,
    pub prefix: &'a str,
    pub tokens: u64,
    pub tokens_by_status: Option<ByStatus>,
    pub slots: Vec<InfoSlot<'a>>,
    pub events: u64,
    pub audit_head: Option<&'a str>,
}

#[derive(Serialize)]
pub struct ByStatus {
    pub active: u64,
    pub rotating: u64,
    pub expired: u64,
    pub revoked: u64,
}

#[derive(Serialize)]
pub struct InfoSlot<'a> {
    pub slot: i64,
    pub kind: &'a str,
}

/// `scan --json`.
#[derive(Serialize)]
pub struct Scan<'a> {
    pub hits: Vec<ScanHit<'a>>,
    pub files: u64,
    pub binary_skipped: u64,
    pub errors: Vec<ScanError<'a>>,
    pub revoked: &'a [String],
}

#[derive(Serialize)]
pub struct ScanHit<'a> {
    pub file: std::borrow::Cow<'a, str>,
    pub line: u64,
    pub column: u64,
    pub id: &'a TokenId,
    pub user: Option<&'a str>,
    pub status: Option<&'static str>,
}

#[derive(Serialize)]
pub struct ScanError<'a> {
    pub path: std::borrow::Cow<'a, str>,
    pub error: std::borrow::Cow<'a, str>,
}

/// SARIF 2.1.0 (`scan --sarif`), in the shape gitleaks writes: one run, one rule.
pub mod sarif {
    use serde::Serialize;

    #[derive(Serialize)]
    pub struct Log<'a> {
        #[serde(rename = "$schema")]
        pub schema: &'static str,
        pub version: &'static str,
        pub runs: Vec<Run<'a>>,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Run<'a> {
        pub tool: Tool,
        pub column_kind: &'static str,
        pub results: Vec<Result<'a>>,
    }

    #[derive(Serialize)]
    pub struct Tool {
        pub driver: Driver,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Driver {
        pub name: &'static str,
        pub version: &'static str,
        pub information_uri: &'static str,
        pub rules: Vec<Rule>,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Rule {
        pub id: &'static str,
        pub name: &'static str,
        pub short_description: Text,
        pub full_description: Text,
        pub help: Text,
        pub default_configuration: Configuration,
    }

    #[derive(Serialize)]
    pub struct Configuration {
        pub level: &'static str,
    }

    #[derive(Serialize)]
    pub struct Text {
        pub text: String,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Result<'a> {
        pub rule_id: &'static str,
        pub level: &'static str,
        pub message: Text,
        pub locations: Vec<Location>,
        pub partial_fingerprints: Fingerprints<'a>,
    }

    #[derive(Serialize)]
    pub struct Fingerprints<'a> {
        #[serde(rename = "tokmanTokenId/v1")]
        pub token_id: &'a str,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Location {
        pub physical_location: PhysicalLocation,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct PhysicalLocation {
        pub artifact_location: ArtifactLocation,
        pub region: Region,
    }

    #[derive(Serialize)]
    pub struct ArtifactLocation {
        pub uri: String,
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Region {
        pub start_line: u64,
        pub start_column: u64,
        pub end_line: u64,
        pub end_column: u64,
    }
}

/// `settings --json`: the store's settings, durations as `init` takes them (`180d`).
#[derive(Serialize)]
pub struct Settings<'a> {
    pub max_lifetime: String,
    pub default_rate_limits: &'a [RateLimit],
    pub notify_command: Option<&'a str>,
    pub audit_retention: String,
}

impl<'a> Settings<'a> {
    pub fn new(s: &'a tokman::lifecycle::Settings) -> Self {
        Settings {
            max_lifetime: s.max_lifetime.to_string(),
            default_rate_limits: &s.default_rate_limits,
            notify_command: s.notify_command.as_deref(),
            audit_retention: s.audit_retention.to_string(),
        }
    }
}
