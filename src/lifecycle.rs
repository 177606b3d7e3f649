//! The rules of a token's life, as pure functions of plain values and `now`.
//!
//! One active token per user, expiry within the store's maximum lifetime, irreversible
//! revocation, rotation with lineage, and the `verify` decision (revoked → expired → denied →
//! rate limited). Nothing here reads a clock, touches SQLite or does cryptography: callers pass
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
    Expired,
    Revoked,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
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
}

impl Record {
    /// Revocation wins over expiry: a revoked token reads as revoked forever.
    pub fn status(&self, now: Timestamp) -> Status {
        if self.revoked_at.is_some() {
            Status::Revoked
        } else if now >= self.expires_at {
            Status::Expired
        } else {
            Status::Active
        }
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
        Some((_, Status::Expired | Status::Revoked)) => Ok(Holder::Retire),
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
    Ok(Record {
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
    })
}

/// Whether a revoke did anything: revoking twice is not an error, but it is worth saying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    Revoked,
    AlreadyRevoked,
}

/// Revoke now, for good. An expired token can be revoked too (it then reads as revoked).
pub fn revoke(record: &mut Record, reason: Option<String>, now: Timestamp) -> Revocation {
    if record.revoked_at.is_some() {
        return Revocation::AlreadyRevoked;
    }
    record.revoked_at = Some(now);
    record.revoke_reason = reason;
    Revocation::Revoked
}

/// Rotate: revoke `old` and return its successor, with the same user, name, description, scopes,
/// limits and allow-lists, linked both ways. Only an active token rotates.
pub fn rotate(
    settings: &Settings,
    old: &mut Record,
    new_id: TokenId,
    expires_in: Option<Span>,
    now: Timestamp,
) -> Result<Record> {
    match old.status(now) {
        Status::Revoked => {
            return Err(Error::Revoked(format!(
                "{} is revoked and cannot be rotated",
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
    let successor = Record {
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
    };
    old.revoked_at = Some(now);
    old.revoke_reason = Some(format!("rotated to {new_id}"));
    old.rotated_to = Some(new_id);
    Ok(successor)
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
}

impl Outcome {
    /// Every outcome, for a front end's tests that its mapping covers them all.
    pub const ALL: [Outcome; 7] = [
        Outcome::Valid,
        Outcome::Invalid,
        Outcome::Malformed,
        Outcome::Expired,
        Outcome::Revoked,
        Outcome::Denied,
        Outcome::RateLimited,
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
/// revoked → expired → denied (user, scope, IP, origin) → rate limited → valid.
pub fn decide(record: &Record, usage: &Usage, check: &Check, now: Timestamp) -> Decision {
    let refuse = |outcome, reason: String| Decision {
        outcome,
        reason,
        missing: None,
        usage: None,
        retry_at: None,
    };
    match record.status(now) {
        Status::Revoked => return refuse(Outcome::Revoked, format!("{} is revoked", record.id)),
        Status::Expired => {
            // The instant, not "3 days ago": the reason is also recorded in the audit log.
            let at = chrono::DateTime::from_timestamp(record.expires_at, 0).map_or_else(
                || record.expires_at.to_string(),
                |t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
            return refuse(Outcome::Expired, format!("{} expired at {at}", record.id));
        }
        Status::Active => {}
    }
    if let Some((reason, missing)) = denial(record, check) {
        return Decision {
            missing,
            ..refuse(Outcome::Denied, reason)
        };
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
        let new = rotate(&s, &mut old, id("tm_bbbbbbbbbbbb"), None, T0 + 100).unwrap();
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
        let new = rotate(&s, &mut old, id("tm_bbbbbbbbbbbb"), None, T0 + 600).unwrap();
        assert_eq!(new.expires_at - new.created_at, 3600);
        let asked = Some(Span::from_secs(2 * DAY));
        let new = rotate(&s, &mut copy, id("tm_cccccccccccc"), asked, T0 + 600).unwrap();
        assert_eq!(new.expires_at, T0 + 600 + 2 * DAY);
        // A store whose maximum has since become shorter than the original lifetime caps it.
        let mut long = issue(&s, request("long"), id("tm_dddddddddddd"), T0).unwrap();
        let shorter = Settings {
            max_lifetime: Span::from_secs(DAY),
            ..Settings::default()
        };
        let new = rotate(&shorter, &mut long, id("tm_eeeeeeeeeeee"), None, T0 + 1).unwrap();
        assert_eq!(new.expires_at, T0 + 1 + DAY);
    }

    #[test]
    fn rotate_refuses_revoked_and_expired_and_leaves_them_alone() {
        let s = Settings::default();
        let mut r = alice();
        let expired_at = r.expires_at;
        let before = r.clone();
        let err = rotate(&s, &mut r, id("tm_bbbbbbbbbbbb"), None, expired_at).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Expired);
        assert_eq!(r, before);
        revoke(&mut r, None, T0 + 1);
        let before = r.clone();
        let err = rotate(&s, &mut r, id("tm_bbbbbbbbbbbb"), None, T0 + 2).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Revoked);
        assert_eq!(r, before);
        let mut fresh = alice();
        let before = fresh.clone();
        let too_long = Some(Span::from_secs(200 * DAY));
        assert_eq!(
            rotate(&s, &mut fresh, id("tm_bbbbbbbbbbbb"), too_long, T0)
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
}
