//! The rules of a token's life, as pure functions of plain values and `now`.
//!
//! One active token per user, expiry within the store's maximum lifetime, irreversible
//! revocation, rotation with lineage, and the `verify` decision (revoked → expired → denied →
//! used up → rate limited), grace periods of rotation, settings changes and their widening, and
//! expiry reminders. Nothing here reads a clock, touches SQLite or does cryptography: callers pass
//! `now` (Unix seconds) and records, and store what comes back. That is what lets every rule be
//! tested at the exact instant it changes.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::duration::Span;
use crate::error::{Error, Lifetime, Result};
use crate::policy::{IpAllow, Origin, RateLimit, Scope, missing_scope};
use crate::token::TokenId;

/// Seconds since the Unix epoch, UTC. Plain integers keep the rules free of clock types.
pub type Timestamp = i64;

/// The default, and the largest allowed, lifetime of a token: 180 days.
pub const MAX_LIFETIME: Span = Span::from_secs(180 * 24 * 3600);

/// What a token's life looks like at a given instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Active,
    /// Rotated with a grace period that has not ended: still valid, no longer its user's
    /// active token.
    Rotating,
    Expired,
    Revoked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Rotating => "rotating",
            Status::Expired => "expired",
            Status::Revoked => "revoked",
        }
    }
}

/// Everything the store knows about a token except usage. Kept sealed in the store: the user,
/// the names, the policy and the instants that decide validity are all in here.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub id: TokenId,
    pub user: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub scopes: Vec<Scope>,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
    pub revoke_reason: Option<String>,
    pub rate_limits: Vec<RateLimit>,
    pub allowed_ips: Vec<IpAllow>,
    pub allowed_origins: Vec<Origin>,
    pub rotated_from: Option<TokenId>,
    pub rotated_to: Option<TokenId>,
    /// Rotated with a grace period: the instant it ends (then `revoked_at` takes effect).
    #[serde(default)]
    pub grace_until: Option<Timestamp>,
    /// How many valid verifies the token has in its life; `None`: no limit.
    #[serde(default)]
    pub max_uses: Option<u64>,
    /// The reminder thresholds (seconds before expiry) already sent for this token.
    #[serde(default)]
    pub reminded: Vec<i64>,
}

impl Record {
    /// Revocation wins over expiry: a revoked token reads as revoked forever. A rotation with
    /// grace records its revocation ahead, at the grace's end: until that instant the token is
    /// `rotating` (unless it expired first).
    pub fn status(&self, now: Timestamp) -> Status {
        match self.revoked_at {
            Some(at) if now >= at || self.grace_until.is_none() => Status::Revoked,
            _ if now >= self.expires_at => Status::Expired,
            Some(_) => Status::Rotating,
            None => Status::Active,
        }
    }

    /// Whether the token is valid at `now` as far as its life goes (active or rotating).
    pub fn is_live(&self, now: Timestamp) -> bool {
        matches!(self.status(now), Status::Active | Status::Rotating)
    }

    /// How many valid verifies are left under `--max-uses`, given the uses counted so far.
    pub fn uses_left(&self, usage: &Usage) -> Option<u64> {
        self.max_uses.map(|m| m.saturating_sub(usage.use_count))
    }
}

/// How a token has been used: kept apart from the record because it changes on every verify.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub use_count: u64,
    pub last_used_at: Option<Timestamp>,
    /// One window per rate limit, in the order of the record's `rate_limits`.
    pub windows: Vec<Window>,
}

/// A rate-limit window: it opens at the first counted use after the previous one closed and
/// lasts one unit of its limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    pub start: Timestamp,
    pub count: u32,
}

/// The store-wide settings fixed at `init`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    pub max_lifetime: Span,
    pub default_rate_limits: Vec<RateLimit>,
    pub notify_command: Option<String>,
    pub audit_retention: Span,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_lifetime: MAX_LIFETIME,
            default_rate_limits: Vec::new(),
            notify_command: None,
            audit_retention: Span::from_secs(400 * 24 * 3600),
        }
    }
}

impl Settings {
    /// `init --max-lifetime` may shorten the 180-day maximum, never lengthen it.
    pub fn check(&self) -> Result<()> {
        if self.max_lifetime > MAX_LIFETIME {
            return Err(Error::TooLong {
                what: Lifetime::StoreMaximum,
                asked: self.max_lifetime,
                max: MAX_LIFETIME,
            });
        }
        Ok(())
    }
}

/// What the operator asked for in `generate`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Request {
    pub user: String,
    pub name: Option<String>,
    pub description: Option<String>,
    pub scopes: Vec<Scope>,
    pub expires_in: Option<Span>,
    /// `None`: the store's defaults; `Some(vec![])`: `--no-rate-limit`.
    pub rate_limits: Option<Vec<RateLimit>>,
    pub allowed_ips: Vec<IpAllow>,
    pub allowed_origins: Vec<Origin>,
    pub max_uses: Option<u64>,
}

/// The instant a token issued `now` expires: `expires_in` may only shorten the store's maximum.
pub fn expiry(settings: &Settings, expires_in: Option<Span>, now: Timestamp) -> Result<Timestamp> {
    let lifetime = match expires_in {
        Some(span) if span > settings.max_lifetime => {
            return Err(Error::TooLong {
                what: Lifetime::Token,
                asked: span,
                max: settings.max_lifetime,
            });
        }
        Some(span) => span,
        None => settings.max_lifetime,
    };
    Ok(now.saturating_add(lifetime.as_secs()))
}

/// What a user's current token means for a new one: none in the way, an active one that
/// forbids it, or an expired one that must be retired first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holder {
    Free,
    Retire,
}

/// The one-active rule: `existing` is the user's token that still holds the active slot, if any.
pub fn may_issue(existing: Option<&Record>, now: Timestamp) -> Result<Holder> {
    match existing.map(|r| (r, r.status(now))) {
        None => Ok(Holder::Free),
        // A rotating token no longer holds the place (its successor does); if one is found
        // there, the place is given up like an expired token's.
        Some((_, Status::Expired | Status::Revoked | Status::Rotating)) => Ok(Holder::Retire),
        Some((r, Status::Active)) => Err(conflict_active(&r.id)),
    }
}

/// The conflict error of the one-active rule, naming the token in the way.
pub fn conflict_active(id: &TokenId) -> Error {
    Error::conflict(
        format!("this user already has an active token: {id}"),
        format!(
            "replace it with `tokman rotate {id}`, or revoke it first with `tokman revoke {id}`"
        ),
    )
}

/// A new token's record for `request`, issued `now`.
pub fn issue(settings: &Settings, request: Request, id: TokenId, now: Timestamp) -> Result<Record> {
    let expires_at = expiry(settings, request.expires_in, now)?;
    let record = Record {
        id,
        user: request.user,
        name: request.name,
        description: request.description,
        scopes: request.scopes,
        created_at: now,
        expires_at,
        revoked_at: None,
        revoke_reason: None,
        rate_limits: request
            .rate_limits
            .unwrap_or_else(|| settings.default_rate_limits.clone()),
        allowed_ips: request.allowed_ips,
        allowed_origins: request.allowed_origins,
        rotated_from: None,
        rotated_to: None,
        grace_until: None,
        max_uses: request.max_uses,
        reminded: Vec::new(),
    };
    check_entries(&record)?;
    Ok(record)
}

/// Whether a revoke did anything: revoking twice is not an error, but it is worth saying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    Revoked,
    AlreadyRevoked,
}

/// Revoke now, for good. An expired token can be revoked too (it then reads as revoked), and
/// so can a rotating one: its grace ends now (a reason given replaces "rotated to …").
pub fn revoke(record: &mut Record, reason: Option<String>, now: Timestamp) -> Revocation {
    if record.status(now) == Status::Revoked {
        return Revocation::AlreadyRevoked;
    }
    if record.grace_until.is_some() {
        record.grace_until = Some(now);
        if reason.is_some() {
            record.revoke_reason = reason;
        }
    } else {
        record.revoke_reason = reason;
    }
    record.revoked_at = Some(now);
    Revocation::Revoked
}

/// The longest grace a rotation may give the token it replaces.
pub const MAX_GRACE: Span = Span::from_secs(24 * 3600);

/// At most this many scopes, IP allow-list entries and origins a token.
pub const MAX_ENTRIES: usize = 64;

/// Rotate: retire `old` and return its successor, with the same user, name, description,
/// scopes, limits and allow-lists (changed by `changes`), linked both ways. Only an active
/// token rotates. Without `grace` the old token is revoked now; with it, it stays valid
/// (`rotating`) until the grace ends, at most [`MAX_GRACE`] and its own remaining life. Either
/// way the successor takes the user's active place at once.
pub fn rotate(
    settings: &Settings,
    old: &mut Record,
    new_id: TokenId,
    changes: &Changes,
    expires_in: Option<Span>,
    grace: Option<Span>,
    now: Timestamp,
) -> Result<Record> {
    match old.status(now) {
        Status::Revoked => {
            return Err(Error::Revoked(format!(
                "{} is revoked and cannot be rotated",
                old.id
            )));
        }
        Status::Rotating => {
            let to = old
                .rotated_to
                .as_ref()
                .map_or_else(String::new, |t| format!(" to {t}"));
            return Err(Error::Revoked(format!(
                "{} was already rotated{to} and is only valid until its grace ends; rotate its successor instead",
                old.id
            )));
        }
        Status::Expired => {
            return Err(Error::Expired(format!(
                "{} has expired and cannot be rotated; issue a new one with `tokman generate`",
                old.id
            )));
        }
        Status::Active => {}
    }
    let grace_end = match grace {
        None => None,
        Some(g) if g > MAX_GRACE => {
            return Err(Error::usage(format!(
                "a grace of {g} is longer than {MAX_GRACE}, the longest a rotation may give"
            )));
        }
        Some(g) => {
            let end = now.saturating_add(g.as_secs());
            if end > old.expires_at {
                return Err(Error::usage(format!(
                    "a grace of {g} is longer than {} has left: it expires at {}",
                    old.id,
                    crate::text::rfc3339(old.expires_at)
                )));
            }
            Some(end)
        }
    };
    let expires_at = match expires_in {
        Some(_) => expiry(settings, expires_in, now)?,
        // The successor lives as long as the original was given (a 1-hour token stays a 1-hour
        // token), within the store's maximum as it is now.
        None => {
            let lifetime = old
                .expires_at
                .saturating_sub(old.created_at)
                .clamp(1, settings.max_lifetime.as_secs());
            now.saturating_add(lifetime)
        }
    };
    let mut successor = Record {
        id: new_id.clone(),
        user: old.user.clone(),
        name: old.name.clone(),
        description: old.description.clone(),
        scopes: old.scopes.clone(),
        created_at: now,
        expires_at,
        revoked_at: None,
        revoke_reason: None,
        rate_limits: old.rate_limits.clone(),
        allowed_ips: old.allowed_ips.clone(),
        allowed_origins: old.allowed_origins.clone(),
        rotated_from: Some(old.id.clone()),
        rotated_to: None,
        grace_until: None,
        max_uses: old.max_uses,
        reminded: Vec::new(),
    };
    apply_settings(&mut successor, changes)?;
    old.revoked_at = Some(grace_end.unwrap_or(now));
    old.grace_until = grace_end;
    old.revoke_reason = Some(format!("rotated to {new_id}"));
    old.rotated_to = Some(new_id);
    Ok(successor)
}

/// What `update` (and `rotate`, for the successor) changes of a token's settings. `None` and
/// empty lists leave a setting as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    pub name: Option<String>,
    pub description: Option<String>,
    /// Replace the scopes.
    pub scopes: Option<Vec<Scope>>,
    pub add_scopes: Vec<Scope>,
    pub remove_scopes: Vec<Scope>,
    /// Replace the rate limits; `Some(vec![])`: no rate limit.
    pub rate_limits: Option<Vec<RateLimit>>,
    /// Replace the IP allow-list; `Some(vec![])`: clear it.
    pub allowed_ips: Option<Vec<IpAllow>>,
    /// Replace the origin allow-list; `Some(vec![])`: clear it.
    pub allowed_origins: Option<Vec<Origin>>,
    /// Expire this long from now: only ever sooner (`update` only).
    pub expires_in: Option<Span>,
    pub max_uses: Option<u64>,
}

impl Changes {
    /// Whether nothing at all was asked for.
    pub fn is_empty(&self) -> bool {
        *self == Changes::default()
    }
}

/// What an update changed: the names of the fields, and how it widens what the token may do
/// (each a short phrase; empty when it only narrows or renames).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changed {
    pub fields: Vec<&'static str>,
    pub widened: Vec<String>,
}

impl Changed {
    /// The audit detail: `changed scopes, max_uses (widens: scope posts:write)`.
    pub fn detail(&self) -> String {
        let mut d = format!("changed {}", self.fields.join(", "));
        if !self.widened.is_empty() {
            d.push_str(&format!(" (widens: {})", self.widened.join("; ")));
        }
        d
    }
}

fn check_entries(r: &Record) -> Result<()> {
    for (what, n) in [
        ("scopes", r.scopes.len()),
        ("IP allow-list entries", r.allowed_ips.len()),
        ("allowed origins", r.allowed_origins.len()),
    ] {
        if n > MAX_ENTRIES {
            return Err(Error::usage(format!(
                "a token may have at most {MAX_ENTRIES} {what}, and this would give it {n}"
            )));
        }
    }
    Ok(())
}

/// Apply every setting of `c` but the expiry to `r`.
fn apply_settings(r: &mut Record, c: &Changes) -> Result<()> {
    if let Some(name) = &c.name {
        r.name = Some(name.clone());
    }
    if let Some(description) = &c.description {
        r.description = Some(description.clone());
    }
    if let Some(scopes) = &c.scopes {
        r.scopes.clone_from(scopes);
    }
    for scope in &c.remove_scopes {
        let before = r.scopes.len();
        r.scopes.retain(|s| s != scope);
        if r.scopes.len() == before {
            return Err(Error::usage(format!(
                "{} has no scope `{scope}` to remove",
                r.id
            )));
        }
    }
    for scope in &c.add_scopes {
        if !r.scopes.contains(scope) {
            r.scopes.push(scope.clone());
        }
    }
    if let Some(limits) = &c.rate_limits {
        r.rate_limits.clone_from(limits);
    }
    if let Some(ips) = &c.allowed_ips {
        r.allowed_ips.clone_from(ips);
    }
    if let Some(origins) = &c.allowed_origins {
        r.allowed_origins.clone_from(origins);
    }
    if let Some(n) = c.max_uses {
        r.max_uses = Some(n);
    }
    check_entries(r)
}

/// Change a live (active or rotating) token's settings, keeping its secret: the new record,
/// its usage (rate-limit windows follow their limits by unit), and what changed. `expires_in`
/// only shortens, counted from `now`.
pub fn update(
    settings: &Settings,
    record: &Record,
    usage: &Usage,
    c: &Changes,
    now: Timestamp,
) -> Result<(Record, Usage, Changed)> {
    match record.status(now) {
        Status::Revoked => {
            return Err(Error::Revoked(format!(
                "{} is revoked and cannot be changed",
                record.id
            )));
        }
        Status::Expired => {
            return Err(Error::Expired(format!(
                "{} has expired and cannot be changed; issue a new one with `tokman generate`",
                record.id
            )));
        }
        Status::Active | Status::Rotating => {}
    }
    let mut after = record.clone();
    apply_settings(&mut after, c)?;
    if let Some(span) = c.expires_in {
        let at = expiry(settings, Some(span), now)?;
        if at > record.expires_at {
            return Err(Error::usage(format!(
                "an expiry {span} from now is later than {}'s, at {}: a token's life can only be shortened",
                record.id,
                crate::text::rfc3339(record.expires_at)
            )));
        }
        // A rotating token's grace never outlives it.
        if let Some(g) = after.grace_until
            && g > at
        {
            after.grace_until = Some(at);
            after.revoked_at = Some(at);
        }
        after.expires_at = at;
    }
    let windows = after
        .rate_limits
        .iter()
        .map(|limit| {
            record
                .rate_limits
                .iter()
                .position(|old| old.per == limit.per)
                .and_then(|i| usage.windows.get(i).copied())
                .unwrap_or_default()
        })
        .collect();
    let usage = Usage {
        windows,
        ..usage.clone()
    };
    let changed = Changed {
        fields: changed_fields(record, &after),
        widened: widening(record, &after),
    };
    Ok((after, usage, changed))
}

/// The names of the settings that differ between `before` and `after`.
pub fn changed_fields(before: &Record, after: &Record) -> Vec<&'static str> {
    let mut f = Vec::new();
    let mut note = |differs: bool, name| {
        if differs {
            f.push(name);
        }
    };
    note(before.name != after.name, "name");
    note(before.description != after.description, "description");
    note(before.scopes != after.scopes, "scopes");
    note(before.rate_limits != after.rate_limits, "rate_limits");
    note(before.allowed_ips != after.allowed_ips, "allowed_ips");
    note(
        before.allowed_origins != after.allowed_origins,
        "allowed_origins",
    );
    note(before.expires_at != after.expires_at, "expires_at");
    note(before.max_uses != after.max_uses, "max_uses");
    f
}

/// How `after` lets the token do more than `before` did: a scope not granted before, an
/// allow-list removed or given an entry outside it, a rate limit loosened or dropped, a higher
/// use limit. Each is a phrase for the confirmation and the audit.
pub fn widening(before: &Record, after: &Record) -> Vec<String> {
    let mut w = Vec::new();
    for scope in &after.scopes {
        if missing_scope(&before.scopes, std::slice::from_ref(scope)).is_some() {
            w.push(format!("scope {scope}"));
        }
    }
    if !before.allowed_ips.is_empty() {
        if after.allowed_ips.is_empty() {
            w.push("IP allow-list removed".to_owned());
        }
        for net in &after.allowed_ips {
            if !before.allowed_ips.iter().any(|old| old.covers(net)) {
                w.push(format!("address {net}"));
            }
        }
    }
    if !before.allowed_origins.is_empty() {
        if after.allowed_origins.is_empty() {
            w.push("origin allow-list removed".to_owned());
        }
        for origin in &after.allowed_origins {
            if !before.allowed_origins.contains(origin) {
                w.push(format!("origin {origin}"));
            }
        }
    }
    for old in &before.rate_limits {
        let kept = after
            .rate_limits
            .iter()
            .any(|new| new.per == old.per && new.limit <= old.limit);
        if !kept {
            w.push(format!("rate limit {old} loosened or removed"));
        }
    }
    if let Some(old) = before.max_uses
        && after.max_uses.is_none_or(|new| new > old)
    {
        w.push(format!("use limit raised from {old}"));
    }
    w
}

/// A reminder due for a token: the threshold it is for (the tightest one reached).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reminder {
    pub within: Span,
}

/// Whether `remind` with `thresholds` owes `record` a reminder at `now`, and the thresholds to
/// mark as sent. Only an active token is reminded; each threshold once per token; when several
/// are reached at once (a first run close to expiry), one reminder names the tightest and marks
/// them all.
pub fn reminder_due(
    record: &Record,
    thresholds: &[Span],
    now: Timestamp,
) -> Option<(Reminder, Vec<i64>)> {
    if record.status(now) != Status::Active {
        return None;
    }
    let left = record.expires_at.saturating_sub(now);
    let reached: Vec<Span> = thresholds
        .iter()
        .copied()
        .filter(|t| left <= t.as_secs())
        .collect();
    let tightest = reached
        .iter()
        .copied()
        .filter(|t| !record.reminded.contains(&t.as_secs()))
        .min()?;
    let mut marked = record.reminded.clone();
    for t in &reached {
        if !marked.contains(&t.as_secs()) {
            marked.push(t.as_secs());
        }
    }
    marked.sort_unstable();
    Some((Reminder { within: tightest }, marked))
}

/// What a service asks of a presented token in `verify`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Check {
    pub scopes: Vec<Scope>,
    pub ip: Option<IpAddr>,
    pub origin: Option<Origin>,
    pub user: Option<String>,
}

/// The verdict of `verify`, with its `outcome` name; a front end maps it to its answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Valid,
    Invalid,
    Malformed,
    Expired,
    Revoked,
    Denied,
    RateLimited,
    UsageExceeded,
}

impl Outcome {
    /// Every outcome, for a front end's tests that its mapping covers them all.
    pub const ALL: [Outcome; 8] = [
        Outcome::Valid,
        Outcome::Invalid,
        Outcome::Malformed,
        Outcome::Expired,
        Outcome::Revoked,
        Outcome::Denied,
        Outcome::RateLimited,
        Outcome::UsageExceeded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Valid => "valid",
            Outcome::Invalid => "invalid",
            Outcome::Malformed => "malformed",
            Outcome::Expired => "expired",
            Outcome::Revoked => "revoked",
            Outcome::Denied => "denied",
            Outcome::RateLimited => "rate_limited",
            Outcome::UsageExceeded => "usage_exceeded",
        }
    }
}

/// What a request left out that a token's allow-list needs (a denial fails closed): a front
/// end says how to give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// The client's address.
    Ip,
    /// The request's origin.
    Origin,
}

/// A decision on a known token whose secret matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub outcome: Outcome,
    pub reason: String,
    /// For a denial because the request gave no address or origin: which.
    pub missing: Option<Missing>,
    /// The usage to store when the token is accepted; `None` when refused (a refused attempt
    /// counts toward no limit and no `use_count`).
    pub usage: Option<Usage>,
    /// When a rate-limited token may be used again.
    pub retry_at: Option<Timestamp>,
}

/// The `verify` decision for a known token whose secret matched, in the documented order:
/// revoked → expired → denied (user, scope, IP, origin) → uses used up → rate limited → valid.
pub fn decide(record: &Record, usage: &Usage, check: &Check, now: Timestamp) -> Decision {
    let refuse = |outcome, reason: String| Decision {
        outcome,
        reason,
        missing: None,
        usage: None,
        retry_at: None,
    };
    match record.status(now) {
        Status::Revoked => return refuse(Outcome::Revoked, revoked_reason(record)),
        Status::Expired => {
            // The instant, not "3 days ago": the reason is also recorded in the audit log.
            let at = chrono::DateTime::from_timestamp(record.expires_at, 0).map_or_else(
                || record.expires_at.to_string(),
                |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
            return refuse(Outcome::Expired, format!("{} expired at {at}", record.id));
        }
        Status::Active | Status::Rotating => {}
    }
    if let Some((reason, missing)) = denial(record, check) {
        return Decision {
            missing,
            ..refuse(Outcome::Denied, reason)
        };
    }
    if let Some(max) = record.max_uses
        && usage.use_count >= max
    {
        let uses = if max == 1 { "use" } else { "uses" };
        return refuse(
            Outcome::UsageExceeded,
            format!("{} has used up its {max} {uses}", record.id),
        );
    }
    match count_use(record, usage, now) {
        Ok(next) => Decision {
            outcome: Outcome::Valid,
            reason: format!("{} is valid", record.id),
            missing: None,
            usage: Some(next),
            retry_at: None,
        },
        Err((reason, frees_at)) => Decision {
            retry_at: Some(frees_at),
            ..refuse(Outcome::RateLimited, reason)
        },
    }
}

/// Why a revoked token is refused. A token rotated away and still presented after its grace is
/// a leak signal: whoever holds it did not get the successor, so the reason (and the audit
/// event it becomes) says so.
fn revoked_reason(record: &Record) -> String {
    let id = &record.id;
    match &record.rotated_to {
        Some(to) => {
            let ended = record
                .revoked_at
                .map(crate::text::rfc3339)
                .unwrap_or_default();
            let grace = if record.grace_until.is_some() {
                "its grace ended"
            } else {
                "it was revoked"
            };
            format!(
                "{id} was rotated to {to} and {grace} at {ended}; it is still being presented, so it may have leaked"
            )
        }
        None => format!("{id} is revoked"),
    }
}

/// Why a valid token may not be used for this request, if it may not, and what the request
/// left out when that is why. Allow-lists fail closed: a token with a list needs the matching
/// address or origin to be given.
fn denial(record: &Record, check: &Check) -> Option<(String, Option<Missing>)> {
    let id = &record.id;
    if let Some(user) = &check.user
        && *user != record.user
    {
        return Some((format!("{id} belongs to another user"), None));
    }
    if let Some(scope) = missing_scope(&record.scopes, &check.scopes) {
        return Some((format!("{id} lacks the scope `{scope}`"), None));
    }
    if !record.allowed_ips.is_empty() {
        match check.ip {
            None => {
                let reason = format!("{id} is limited to certain IP addresses and none was given");
                return Some((reason, Some(Missing::Ip)));
            }
            Some(ip) if !record.allowed_ips.iter().any(|net| net.contains(ip)) => {
                return Some((format!("{id} is not allowed from {ip}"), None));
            }
            Some(_) => {}
        }
    }
    if !record.allowed_origins.is_empty() {
        match &check.origin {
            None => {
                let reason = format!("{id} is limited to certain origins and none was given");
                return Some((reason, Some(Missing::Origin)));
            }
            Some(origin) if !record.allowed_origins.contains(origin) => {
                return Some((format!("{id} is not allowed from origin {origin}"), None));
            }
            Some(_) => {}
        }
    }
    None
}

/// Count one use against every limit, or say which limit is reached and when it frees up (the
/// reason itself says no relative time: it is recorded in the audit log).
/// A window opens at the first use after the previous one closed (so a burst straddling a
/// clock boundary cannot double the allowance within one window).
fn count_use(
    record: &Record,
    usage: &Usage,
    now: Timestamp,
) -> std::result::Result<Usage, (String, Timestamp)> {
    let mut windows = Vec::with_capacity(record.rate_limits.len());
    for (i, limit) in record.rate_limits.iter().enumerate() {
        let period = limit.per.secs();
        let window = match usage.windows.get(i) {
            Some(w) if now >= w.start && now < w.start.saturating_add(period) => *w,
            _ => Window {
                start: now,
                count: 0,
            },
        };
        if window.count >= limit.limit {
            let frees_at = window.start.saturating_add(period);
            return Err((
                format!("{} is over its rate limit of {limit}", record.id),
                frees_at,
            ));
        }
        windows.push(Window {
            start: window.start,
            count: window.count + 1,
        });
    }
    Ok(Usage {
        use_count: usage.use_count.saturating_add(1),
        last_used_at: Some(now),
        windows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::policy::Per;

    const DAY: i64 = 24 * 3600;
    const T0: Timestamp = 1_800_000_000;

    fn id(s: &str) -> TokenId {
        TokenId::parse(s).unwrap()
    }

    fn request(user: &str) -> Request {
        Request {
            user: user.into(),
            ..Request::default()
        }
    }

    fn alice() -> Record {
        issue(
            &Settings::default(),
            request("alice"),
            id("tm_aaaaaaaaaaaa"),
            T0,
        )
        .unwrap()
    }

    #[test]
    fn default_lifetime_is_180_days_and_expiry_is_at_the_instant() {
        let r = alice();
        assert_eq!(r.expires_at, T0 + 180 * DAY);
        assert_eq!(r.status(r.expires_at - 1), Status::Active);
        assert_eq!(r.status(r.expires_at), Status::Expired);
        let d = decide(&r, &Usage::default(), &Check::default(), r.expires_at);
        assert_eq!(d.outcome, Outcome::Expired);
        assert_eq!(d.usage, None);
        let d = decide(&r, &Usage::default(), &Check::default(), r.expires_at - 1);
        assert_eq!(d.outcome, Outcome::Valid);
    }

    #[test]
    fn expires_in_may_shorten_but_never_lengthen() {
        let s = Settings::default();
        assert_eq!(
            expiry(&s, Some(Span::from_secs(3600)), T0).unwrap(),
            T0 + 3600
        );
        assert_eq!(expiry(&s, Some(MAX_LIFETIME), T0).unwrap(), T0 + 180 * DAY);
        let err = expiry(&s, Some(Span::from_secs(181 * DAY)), T0).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        assert_eq!(
            err.to_string(),
            "a lifetime of 181d is over this store's maximum of 180d"
        );
        let short = Settings {
            max_lifetime: Span::from_secs(30 * DAY),
            ..Settings::default()
        };
        assert_eq!(expiry(&short, None, T0).unwrap(), T0 + 30 * DAY);
        assert_eq!(
            expiry(&short, Some(Span::from_secs(31 * DAY)), T0)
                .unwrap_err()
                .kind(),
            ErrorKind::Usage
        );
    }

    #[test]
    fn max_lifetime_setting_cannot_exceed_180_days() {
        let s = Settings {
            max_lifetime: Span::from_secs(181 * DAY),
            ..Settings::default()
        };
        assert_eq!(s.check().unwrap_err().kind(), ErrorKind::Usage);
        assert!(Settings::default().check().is_ok());
    }

    #[test]
    fn one_active_token_per_user_but_expired_or_revoked_ones_step_aside() {
        let r = alice();
        assert_eq!(may_issue(None, T0).unwrap(), Holder::Free);
        let err = may_issue(Some(&r), T0 + 1).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Conflict);
        assert!(err.to_string().contains("tm_aaaaaaaaaaaa"));
        assert_eq!(may_issue(Some(&r), r.expires_at).unwrap(), Holder::Retire);
        let mut revoked = r.clone();
        revoke(&mut revoked, None, T0 + 5);
        assert_eq!(may_issue(Some(&revoked), T0 + 6).unwrap(), Holder::Retire);
    }

    #[test]
    fn revocation_is_immediate_and_irreversible() {
        let mut r = alice();
        assert_eq!(
            revoke(&mut r, Some("leaked".into()), T0 + 10),
            Revocation::Revoked
        );
        assert_eq!(r.status(T0 + 10), Status::Revoked);
        assert_eq!(
            revoke(&mut r, Some("again".into()), T0 + 20),
            Revocation::AlreadyRevoked
        );
        assert_eq!(r.revoked_at, Some(T0 + 10));
        assert_eq!(r.revoke_reason.as_deref(), Some("leaked"));
        let d = decide(&r, &Usage::default(), &Check::default(), T0 + 10);
        assert_eq!(d.outcome, Outcome::Revoked);
        // Revoked reads as revoked even after the expiry instant.
        assert_eq!(r.status(r.expires_at + 1), Status::Revoked);
    }

    #[test]
    fn rotate_keeps_settings_links_both_ways_and_revokes_the_old() {
        let s = Settings::default();
        let mut req = request("alice");
        req.name = Some("ci".into());
        req.description = Some("deploys".into());
        req.scopes = vec![Scope::parse("posts:read").unwrap()];
        req.rate_limits = Some(vec![RateLimit {
            limit: 5,
            per: Per::Min,
        }]);
        req.allowed_ips = vec![IpAllow::parse("10.0.0.0/8").unwrap()];
        req.allowed_origins = vec![Origin::parse("https://example.com").unwrap()];
        req.expires_in = Some(Span::from_secs(DAY));
        let mut old = issue(&s, req, id("tm_aaaaaaaaaaaa"), T0).unwrap();
        let new = rotate(
            &s,
            &mut old,
            id("tm_bbbbbbbbbbbb"),
            &Changes::default(),
            None,
            None,
            T0 + 100,
        )
        .unwrap();
        assert_eq!(old.status(T0 + 100), Status::Revoked);
        assert_eq!(old.rotated_to, Some(id("tm_bbbbbbbbbbbb")));
        assert_eq!(new.rotated_from, Some(id("tm_aaaaaaaaaaaa")));
        assert_eq!(
            (&new.user, &new.name, &new.description, &new.scopes),
            (&old.user, &old.name, &old.description, &old.scopes)
        );
        assert_eq!(new.rate_limits, old.rate_limits);
        assert_eq!(new.allowed_ips, old.allowed_ips);
        assert_eq!(new.allowed_origins, old.allowed_origins);
        // The successor keeps the original's lifetime (one day), not the store's maximum.
        assert_eq!(new.expires_at, T0 + 100 + DAY);
        assert_eq!(new.status(T0 + 100), Status::Active);
    }

    #[test]
    fn rotate_keeps_the_lifetime_within_the_maximum_unless_told_otherwise() {
        let s = Settings::default();
        let mut req = request("shorty");
        req.expires_in = Some(Span::from_secs(3600));
        let mut old = issue(&s, req, id("tm_aaaaaaaaaaaa"), T0).unwrap();
        let mut copy = old.clone();
        let new = rotate(
            &s,
            &mut old,
            id("tm_bbbbbbbbbbbb"),
            &Changes::default(),
            None,
            None,
            T0 + 600,
        )
        .unwrap();
        assert_eq!(new.expires_at - new.created_at, 3600);
        let asked = Some(Span::from_secs(2 * DAY));
        let new = rotate(
            &s,
            &mut copy,
            id("tm_cccccccccccc"),
            &Changes::default(),
            asked,
            None,
            T0 + 600,
        )
        .unwrap();
        assert_eq!(new.expires_at, T0 + 600 + 2 * DAY);
        // A store whose maximum has since become shorter than the original lifetime caps it.
        let mut long = issue(&s, request("long"), id("tm_dddddddddddd"), T0).unwrap();
        let shorter = Settings {
            max_lifetime: Span::from_secs(DAY),
            ..Settings::default()
        };
        let new = rotate(
            &shorter,
            &mut long,
            id("tm_eeeeeeeeeeee"),
            &Changes::default(),
            None,
            None,
            T0 + 1,
        )
        .unwrap();
        assert_eq!(new.expires_at, T0 + 1 + DAY);
    }

    #[test]
    fn rotate_refuses_revoked_and_expired_and_leaves_them_alone() {
        let s = Settings::default();
        let mut r = alice();
        let expired_at = r.expires_at;
        let before = r.clone();
        let err = rotate(
            &s,
            &mut r,
            id("tm_bbbbbbbbbbbb"),
            &Changes::default(),
            None,
            None,
            expired_at,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Expired);
        assert_eq!(r, before);
        revoke(&mut r, None, T0 + 1);
        let before = r.clone();
        let err = rotate(
            &s,
            &mut r,
            id("tm_bbbbbbbbbbbb"),
            &Changes::default(),
            None,
            None,
            T0 + 2,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Revoked);
        assert_eq!(r, before);
        let mut fresh = alice();
        let before = fresh.clone();
        let too_long = Some(Span::from_secs(200 * DAY));
        assert_eq!(
            rotate(
                &s,
                &mut fresh,
                id("tm_bbbbbbbbbbbb"),
                &Changes::default(),
                too_long,
                None,
                T0
            )
            .unwrap_err()
            .kind(),
            ErrorKind::Usage
        );
        assert_eq!(fresh, before, "a failed rotate leaves the old token valid");
    }

    #[test]
    fn store_default_rate_limits_apply_unless_overridden() {
        let s = Settings {
            default_rate_limits: vec![RateLimit {
                limit: 60,
                per: Per::Min,
            }],
            ..Settings::default()
        };
        let r = issue(&s, request("a"), id("tm_aaaaaaaaaaaa"), T0).unwrap();
        assert_eq!(r.rate_limits, s.default_rate_limits);
        let mut none = request("a");
        none.rate_limits = Some(vec![]);
        assert!(
            issue(&s, none, id("tm_aaaaaaaaaaaa"), T0)
                .unwrap()
                .rate_limits
                .is_empty()
        );
    }

    #[test]
    fn valid_use_counts_and_refusals_do_not() {
        let mut r = alice();
        r.scopes = vec![Scope::parse("posts:*").unwrap()];
        let u = Usage::default();
        let ok = decide(&r, &u, &Check::default(), T0 + 5);
        assert_eq!(ok.outcome, Outcome::Valid);
        let u1 = ok.usage.unwrap();
        assert_eq!((u1.use_count, u1.last_used_at), (1, Some(T0 + 5)));
        let want = Check {
            scopes: vec![Scope::parse("users:read").unwrap()],
            ..Check::default()
        };
        let no = decide(&r, &u1, &want, T0 + 6);
        assert_eq!(no.outcome, Outcome::Denied);
        assert!(no.reason.contains("users:read"));
        assert_eq!(no.usage, None);
    }

    #[test]
    fn rate_limit_window_allows_exactly_the_limit_then_frees_up() {
        let mut r = alice();
        r.rate_limits = vec![RateLimit {
            limit: 3,
            per: Per::Min,
        }];
        let mut u = Usage::default();
        for i in 0..3 {
            let d = decide(&r, &u, &Check::default(), T0 + i);
            assert_eq!(d.outcome, Outcome::Valid, "use {i}");
            u = d.usage.unwrap();
        }
        let d = decide(&r, &u, &Check::default(), T0 + 10);
        assert_eq!(d.outcome, Outcome::RateLimited);
        assert!(d.reason.contains("3/min"), "{}", d.reason);
        assert_eq!(d.retry_at, Some(T0 + 60), "the window opened at T0");
        assert_eq!(
            decide(&r, &u, &Check::default(), T0 + 59).outcome,
            Outcome::RateLimited
        );
        assert_eq!(
            decide(&r, &u, &Check::default(), T0 + 60).outcome,
            Outcome::Valid
        );
    }

    #[test]
    fn every_limit_must_have_room() {
        let mut r = alice();
        r.rate_limits = vec![
            RateLimit {
                limit: 100,
                per: Per::Min,
            },
            RateLimit {
                limit: 2,
                per: Per::Day,
            },
        ];
        let mut u = Usage::default();
        for i in 0..2 {
            u = decide(&r, &u, &Check::default(), T0 + i).usage.unwrap();
        }
        let d = decide(&r, &u, &Check::default(), T0 + 120);
        assert_eq!(d.outcome, Outcome::RateLimited);
        assert!(d.reason.contains("2/day"));
    }

    #[test]
    fn allow_lists_fail_closed() {
        let mut r = alice();
        r.allowed_ips = vec![IpAllow::parse("10.0.0.0/8").unwrap()];
        r.allowed_origins = vec![Origin::parse("https://app.example.com").unwrap()];
        let good = Check {
            ip: Some("10.1.2.3".parse().unwrap()),
            origin: Some(Origin::parse("https://app.example.com:443").unwrap()),
            ..Check::default()
        };
        assert_eq!(
            decide(&r, &Usage::default(), &good, T0).outcome,
            Outcome::Valid
        );
        let cases = [
            Check {
                ip: None,
                ..good.clone()
            },
            Check {
                origin: None,
                ..good.clone()
            },
            Check {
                ip: Some("192.168.0.1".parse().unwrap()),
                ..good.clone()
            },
            Check {
                origin: Some(Origin::parse("https://evil.example.com").unwrap()),
                ..good.clone()
            },
            Check {
                user: Some("bob".into()),
                ..good.clone()
            },
        ];
        let missing = [Some(Missing::Ip), Some(Missing::Origin), None, None, None];
        for (c, missing) in cases.into_iter().zip(missing) {
            let d = decide(&r, &Usage::default(), &c, T0);
            assert_eq!((d.outcome, d.missing), (Outcome::Denied, missing), "{c:?}");
        }
        let right_user = Check {
            user: Some("alice".into()),
            ..good
        };
        assert_eq!(
            decide(&r, &Usage::default(), &right_user, T0).outcome,
            Outcome::Valid
        );
    }

    #[test]
    fn order_of_checks_is_revoked_expired_denied_limited() {
        let mut r = alice();
        r.rate_limits = vec![RateLimit {
            limit: 1,
            per: Per::Day,
        }];
        let used = Usage {
            use_count: 1,
            last_used_at: Some(T0),
            windows: vec![Window {
                start: T0,
                count: 1,
            }],
        };
        let deny = Check {
            scopes: vec![Scope::parse("x").unwrap()],
            ..Check::default()
        };
        assert_eq!(
            decide(&r, &used, &Check::default(), T0 + 1).outcome,
            Outcome::RateLimited
        );
        assert_eq!(decide(&r, &used, &deny, T0 + 1).outcome, Outcome::Denied);
        assert_eq!(
            decide(&r, &used, &deny, r.expires_at).outcome,
            Outcome::Expired
        );
        revoke(&mut r, None, T0 + 1);
        assert_eq!(
            decide(&r, &used, &deny, r.expires_at).outcome,
            Outcome::Revoked
        );
    }

    fn scope(s: &str) -> Scope {
        Scope::parse(s).unwrap()
    }

    const H: i64 = 3600;

    #[test]
    fn grace_keeps_the_old_token_valid_until_the_instant_it_ends() {
        let s = Settings::default();
        let mut old = alice();
        let grace = Some(Span::from_secs(2 * H));
        let new = rotate(
            &s,
            &mut old,
            id("tm_bbbbbbbbbbbb"),
            &Changes::default(),
            None,
            grace,
            T0 + 10,
        )
        .unwrap();
        let end = T0 + 10 + 2 * H;
        assert_eq!(old.grace_until, Some(end));
        assert_eq!(old.rotated_to, Some(new.id.clone()));
        assert_eq!(old.status(T0 + 10), Status::Rotating);
        assert_eq!(old.status(end - 1), Status::Rotating);
        assert_eq!(old.status(end), Status::Revoked);
        let u = Usage::default();
        assert_eq!(
            decide(&old, &u, &Check::default(), end - 1).outcome,
            Outcome::Valid
        );
        let late = decide(&old, &u, &Check::default(), end);
        assert_eq!(late.outcome, Outcome::Revoked);
        assert!(late.reason.contains("may have leaked"), "{}", late.reason);
        assert!(late.reason.contains("tm_bbbbbbbbbbbb"), "{}", late.reason);
        // The successor is active at once; the rotating token no longer holds the place.
        assert_eq!(new.status(T0 + 10), Status::Active);
        assert_eq!(may_issue(Some(&old), T0 + 11).unwrap(), Holder::Retire);
        // A rotating token cannot be rotated again.
        let mut again = old.clone();
        let err = rotate(
            &s,
            &mut again,
            id("tm_cccccccccccc"),
            &Changes::default(),
            None,
            None,
            T0 + 20,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Revoked);
        // Revoking it ends the grace now.
        assert_eq!(
            revoke(&mut old, Some("leaked".into()), T0 + 30),
            Revocation::Revoked
        );
        assert_eq!(old.status(T0 + 30), Status::Revoked);
        assert_eq!(old.grace_until, Some(T0 + 30));
        assert_eq!(revoke(&mut old, None, T0 + 31), Revocation::AlreadyRevoked);
    }

    #[test]
    fn grace_is_at_most_a_day_and_the_old_tokens_remaining_life() {
        let s = Settings::default();
        let mut old = alice();
        let before = old.clone();
        let day = Some(Span::from_secs(24 * H));
        assert!(
            rotate(
                &s,
                &mut old.clone(),
                id("tm_bbbbbbbbbbbb"),
                &Changes::default(),
                None,
                day,
                T0
            )
            .is_ok()
        );
        let over = Some(Span::from_secs(24 * H + 1));
        let err = rotate(
            &s,
            &mut old,
            id("tm_bbbbbbbbbbbb"),
            &Changes::default(),
            None,
            over,
            T0,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        assert_eq!(old, before);
        // One hour left: a two-hour grace is refused, a one-hour one ends at the expiry.
        let near = old.expires_at - H;
        let two = Some(Span::from_secs(2 * H));
        let err = rotate(
            &s,
            &mut old,
            id("tm_bbbbbbbbbbbb"),
            &Changes::default(),
            None,
            two,
            near,
        )
        .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Usage);
        let one = Some(Span::from_secs(H));
        rotate(
            &s,
            &mut old,
            id("tm_bbbbbbbbbbbb"),
            &Changes::default(),
            None,
            one,
            near,
        )
        .unwrap();
        assert_eq!(old.grace_until, Some(old.expires_at));
        assert_eq!(old.status(old.expires_at - 1), Status::Rotating);
        assert_eq!(old.status(old.expires_at), Status::Revoked);
    }

    #[test]
    fn max_uses_allows_exactly_n_then_usage_exceeded() {
        let mut r = alice();
        r.max_uses = Some(3);
        let mut u = Usage::default();
        for i in 0..3 {
            assert_eq!(r.uses_left(&u), Some(3 - i));
            let d = decide(&r, &u, &Check::default(), T0 + 1);
            assert_eq!(d.outcome, Outcome::Valid, "use {i}");
            u = d.usage.unwrap();
        }
        assert_eq!(r.uses_left(&u), Some(0));
        let d = decide(&r, &u, &Check::default(), T0 + 2);
        assert_eq!(d.outcome, Outcome::UsageExceeded);
        assert_eq!(d.usage, None);
        assert!(d.reason.contains("used up its 3 uses"), "{}", d.reason);
        // Revoked and expired still come first; a denial too.
        let deny = Check {
            scopes: vec![scope("x")],
            ..Check::default()
        };
        assert_eq!(decide(&r, &u, &deny, T0 + 2).outcome, Outcome::Denied);
        assert_eq!(
            decide(&r, &u, &Check::default(), r.expires_at).outcome,
            Outcome::Expired
        );
        // A one-time token.
        r.max_uses = Some(1);
        let once = decide(&r, &Usage::default(), &Check::default(), T0)
            .usage
            .unwrap();
        assert_eq!(
            decide(&r, &once, &Check::default(), T0).outcome,
            Outcome::UsageExceeded
        );
        let mut none = alice();
        none.max_uses = None;
        assert_eq!(none.uses_left(&once), None);
    }

    #[test]
    fn update_changes_settings_and_says_what_widens() {
        let s = Settings::default();
        let mut r = alice();
        r.scopes = vec![scope("posts:read")];
        r.allowed_ips = vec![IpAllow::parse("10.0.0.0/8").unwrap()];
        r.rate_limits = vec![RateLimit {
            limit: 10,
            per: Per::Min,
        }];
        r.max_uses = Some(100);
        let u = Usage {
            use_count: 4,
            last_used_at: Some(T0),
            windows: vec![Window {
                start: T0,
                count: 4,
            }],
        };
        // Narrowing only: no widening, windows kept by unit.
        let narrow = Changes {
            remove_scopes: vec![scope("posts:read")],
            allowed_ips: Some(vec![IpAllow::parse("10.1.0.0/16").unwrap()]),
            rate_limits: Some(vec![
                RateLimit {
                    limit: 5,
                    per: Per::Min,
                },
                RateLimit {
                    limit: 50,
                    per: Per::Day,
                },
            ]),
            max_uses: Some(50),
            expires_in: Some(Span::from_secs(DAY)),
            name: Some("ci".into()),
            ..Changes::default()
        };
        let (after, u2, changed) = update(&s, &r, &u, &narrow, T0 + 5).unwrap();
        assert!(changed.widened.is_empty(), "{:?}", changed.widened);
        assert_eq!(
            changed.fields,
            vec![
                "name",
                "scopes",
                "rate_limits",
                "allowed_ips",
                "expires_at",
                "max_uses"
            ]
        );
        assert_eq!(after.expires_at, T0 + 5 + DAY);
        assert_eq!(
            u2.windows,
            vec![
                Window {
                    start: T0,
                    count: 4
                },
                Window::default()
            ]
        );
        assert_eq!(u2.use_count, 4);
        assert_eq!(after.id, r.id);
        // Widening: each kind is named.
        let wide = Changes {
            add_scopes: vec![scope("posts:write")],
            allowed_ips: Some(vec![]),
            rate_limits: Some(vec![]),
            max_uses: Some(1000),
            ..Changes::default()
        };
        let (_, _, changed) = update(&s, &r, &u, &wide, T0 + 5).unwrap();
        assert_eq!(changed.widened.len(), 4, "{:?}", changed.widened);
        assert!(
            changed.detail().contains("widens: scope posts:write"),
            "{}",
            changed.detail()
        );
        // A scope a wildcard already granted does not widen.
        let mut star = r.clone();
        star.scopes = vec![scope("posts:*")];
        let sub = Changes {
            scopes: Some(vec![scope("posts:write")]),
            ..Changes::default()
        };
        assert!(
            update(&s, &star, &u, &sub, T0)
                .unwrap()
                .2
                .widened
                .is_empty()
        );
        // Expiry only ever shortens; a missing scope cannot be removed.
        let later = Changes {
            expires_in: Some(Span::from_secs(180 * DAY)),
            ..Changes::default()
        };
        assert_eq!(
            update(&s, &r, &u, &later, T0 + 5).unwrap_err().kind(),
            ErrorKind::Usage
        );
        let missing = Changes {
            remove_scopes: vec![scope("nope")],
            ..Changes::default()
        };
        assert_eq!(
            update(&s, &r, &u, &missing, T0).unwrap_err().kind(),
            ErrorKind::Usage
        );
        // Nothing changes: no field named.
        let same = Changes {
            scopes: Some(r.scopes.clone()),
            ..Changes::default()
        };
        assert!(update(&s, &r, &u, &same, T0).unwrap().2.fields.is_empty());
        // Dead tokens are refused with their own kind.
        assert_eq!(
            update(&s, &r, &u, &same, r.expires_at).unwrap_err().kind(),
            ErrorKind::Expired
        );
        let mut gone = r.clone();
        revoke(&mut gone, None, T0);
        assert_eq!(
            update(&s, &gone, &u, &same, T0).unwrap_err().kind(),
            ErrorKind::Revoked
        );
        // At most 64 scopes.
        let many = Changes {
            add_scopes: (0..64).map(|i| scope(&format!("s{i}"))).collect(),
            ..Changes::default()
        };
        assert_eq!(
            update(&s, &r, &u, &many, T0).unwrap_err().kind(),
            ErrorKind::Usage
        );
    }

    #[test]
    fn rotate_applies_changes_to_the_successor_only() {
        let s = Settings::default();
        let mut old = alice();
        old.scopes = vec![scope("a"), scope("b")];
        old.max_uses = Some(10);
        let c = Changes {
            remove_scopes: vec![scope("b")],
            max_uses: Some(5),
            ..Changes::default()
        };
        let new = rotate(&s, &mut old, id("tm_bbbbbbbbbbbb"), &c, None, None, T0).unwrap();
        assert_eq!(new.scopes, vec![scope("a")]);
        assert_eq!(new.max_uses, Some(5));
        assert_eq!(old.scopes, vec![scope("a"), scope("b")]);
    }

    #[test]
    fn reminders_come_once_per_threshold_at_its_instant() {
        let r = alice(); // expires T0 + 180d
        let th = [Span::from_secs(7 * DAY), Span::from_secs(DAY)];
        let at7 = r.expires_at - 7 * DAY;
        assert_eq!(reminder_due(&r, &th, at7 - 1), None);
        let (rem, marked) = reminder_due(&r, &th, at7).unwrap();
        assert_eq!(rem.within, Span::from_secs(7 * DAY));
        assert_eq!(marked, vec![7 * DAY]);
        let mut r = r;
        r.reminded = marked;
        assert_eq!(reminder_due(&r, &th, at7 + DAY), None, "once");
        let at1 = r.expires_at - DAY;
        assert_eq!(reminder_due(&r, &th, at1 - 1), None);
        let (rem, marked) = reminder_due(&r, &th, at1).unwrap();
        assert_eq!(rem.within, Span::from_secs(DAY));
        assert_eq!(marked, vec![DAY, 7 * DAY]);
        r.reminded = marked;
        assert_eq!(reminder_due(&r, &th, r.expires_at - 1), None);
        assert_eq!(
            reminder_due(&r, &th, r.expires_at),
            None,
            "expired: no reminder"
        );
        // A first run close to expiry gives one reminder, the tightest, and marks both.
        let fresh = alice();
        let (rem, marked) = reminder_due(&fresh, &th, fresh.expires_at - H).unwrap();
        assert_eq!(rem.within, Span::from_secs(DAY));
        assert_eq!(marked, vec![DAY, 7 * DAY]);
        // Revoked or rotating tokens are not reminded.
        let mut gone = alice();
        revoke(&mut gone, None, T0);
        assert_eq!(reminder_due(&gone, &th, gone.expires_at - H), None);
    }
}
