//! Changing a store's settings after `init`: which changes are allowed, and what each changed.
//!
//! A pure rule over [`Settings`], like `lifecycle`: no store, no clock. The store's maximum
//! token lifetime may only be shortened (tokens already issued keep their expiry); the other
//! settings may be set to any valid value. The notify command's text is never put in the
//! description of a change: it may hold a webhook URL with a secret in it, and the description
//! goes to the audit log and to the notify command itself.

use crate::duration::Span;
use crate::error::{Error, Lifetime, Result};
use crate::lifecycle::Settings;
use crate::policy::RateLimit;

/// What `settings set` asks for: `None` leaves a setting as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Change {
    pub max_lifetime: Option<Span>,
    /// `Some(vec![])`: no default rate limit.
    pub default_rate_limits: Option<Vec<RateLimit>>,
    /// `Some(None)`: no notify command.
    pub notify_command: Option<Option<String>>,
    pub audit_retention: Option<Span>,
}

impl Change {
    /// Whether the change names no setting at all.
    pub fn is_empty(&self) -> bool {
        *self == Change::default()
    }
}

/// The settings after `change`, and one line per setting it really changed (`field old → new`),
/// in a fixed order; no line when every value asked for is the current one. A longer maximum
/// lifetime is [`Error::TooLong`] with the current maximum.
pub fn apply(current: &Settings, change: &Change) -> Result<(Settings, Vec<String>)> {
    let mut next = current.clone();
    let mut changed = Vec::new();
    if let Some(max) = change.max_lifetime {
        if max > current.max_lifetime {
            return Err(Error::TooLong {
                what: Lifetime::StoreMaximum,
                asked: max,
                max: current.max_lifetime,
            });
        }
        if max != current.max_lifetime {
            changed.push(format!("max_lifetime {} → {max}", current.max_lifetime));
            next.max_lifetime = max;
        }
    }
    if let Some(limits) = &change.default_rate_limits {
        // Each limit once, where it was first given.
        let mut limits: Vec<_> = Vec::with_capacity(limits.len());
        for l in change.default_rate_limits.iter().flatten() {
            if !limits.contains(l) {
                limits.push(*l);
            }
        }
        if limits != current.default_rate_limits {
            changed.push(format!(
                "default_rate_limits {} → {}",
                rates(&current.default_rate_limits),
                rates(&limits)
            ));
            next.default_rate_limits = limits;
        }
    }
    if let Some(command) = &change.notify_command
        && *command != current.notify_command
    {
        changed.push(
            match (&current.notify_command, command) {
                (None, _) => "notify_command set",
                (Some(_), None) => "notify_command removed",
                (Some(_), Some(_)) => "notify_command changed",
            }
            .to_owned(),
        );
        next.notify_command.clone_from(command);
    }
    if let Some(retention) = change.audit_retention
        && retention != current.audit_retention
    {
        changed.push(format!(
            "audit_retention {} → {retention}",
            current.audit_retention
        ));
        next.audit_retention = retention;
    }
    next.check()?;
    Ok((next, changed))
}

fn rates(limits: &[RateLimit]) -> String {
    if limits.is_empty() {
        return "none".to_owned();
    }
    let shown: Vec<String> = limits.iter().map(ToString::to_string).collect();
    shown.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 24 * 3600;

    #[test]
    fn the_maximum_only_shortens() {
        let s = Settings::default();
        let longer = Change {
            max_lifetime: Some(Span::from_secs(200 * DAY)),
            ..Change::default()
        };
        match apply(&s, &longer) {
            Err(Error::TooLong { max, .. }) => assert_eq!(max, s.max_lifetime),
            other => panic!("{other:?}"),
        }
        let shorter = Change {
            max_lifetime: Some(Span::from_secs(30 * DAY)),
            ..Change::default()
        };
        let (next, changed) = apply(&s, &shorter).unwrap();
        assert_eq!(next.max_lifetime, Span::from_secs(30 * DAY));
        assert_eq!(changed, ["max_lifetime 180d → 30d"]);
        // Asking again for the 30 days it now is changes nothing; 31 days is longer.
        assert!(apply(&next, &shorter).unwrap().1.is_empty());
        let back = Change {
            max_lifetime: Some(Span::from_secs(31 * DAY)),
            ..Change::default()
        };
        assert!(apply(&next, &back).is_err());
    }

    #[test]
    fn same_values_change_nothing_and_the_command_text_is_never_described() {
        let s = Settings {
            notify_command: Some("curl https://hook.example/SECRET".into()),
            ..Settings::default()
        };
        let same = Change {
            max_lifetime: Some(s.max_lifetime),
            default_rate_limits: Some(vec![]),
            notify_command: Some(s.notify_command.clone()),
            audit_retention: Some(s.audit_retention),
        };
        assert_eq!(apply(&s, &same).unwrap(), (s.clone(), vec![]));
        let other = Change {
            notify_command: Some(Some("logger".into())),
            default_rate_limits: Some(vec![RateLimit::parse("60/min").unwrap()]),
            ..Change::default()
        };
        let (next, changed) = apply(&s, &other).unwrap();
        assert_eq!(next.notify_command.as_deref(), Some("logger"));
        assert_eq!(
            changed,
            [
                "default_rate_limits none → 60/min",
                "notify_command changed"
            ]
        );
        let removed = Change {
            notify_command: Some(None),
            ..Change::default()
        };
        assert_eq!(apply(&s, &removed).unwrap().1, ["notify_command removed"]);
        assert!(changed.iter().all(|c| !c.contains("SECRET")));
    }
}
