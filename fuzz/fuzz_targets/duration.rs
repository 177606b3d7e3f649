//! Durations (`Span::parse`) and rate limits (`RateLimit::parse`), as users type them.
//!
//! - never panic, on any text or any stored JSON;
//! - what parses is within bounds, and means what its digits say (checked with u128 here);
//! - what parses prints in a form that parses back to the same value (`parse(display(x)) == x`),
//!   and survives its JSON form;
//! - errors are usage errors (exit 2) and show no control character.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokman::duration::Span;
use tokman::policy::RateLimit;

const MAX_SECS: i64 = 36_500 * 86_400;

fn unit_secs(unit: &str) -> Option<u128> {
    Some(match unit {
        "s" => 1,
        "m" | "min" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    })
}

/// The unit a duration ends with, read apart from tokman's parser: the longest known suffix.
fn split_unit(t: &str) -> (&str, &str) {
    for unit in ["min", "s", "m", "h", "d", "w"] {
        if let Some(digits) = t.strip_suffix(unit) {
            return (digits, unit);
        }
    }
    t.split_at(t.len().saturating_sub(1))
}

fn check_error(e: &tokman::Error) {
    assert_eq!(e.kind(), tokman::error::ErrorKind::Usage, "{e}");
    assert!(!e.to_string().chars().any(char::is_control), "{e:?}");
}

fn span(s: &str) {
    match Span::parse(s) {
        Ok(span) => {
            let secs = span.as_secs();
            assert!((1..=MAX_SECS).contains(&secs), "{s:?} -> {secs}");
            // The digits and the unit, read independently, give the same number of seconds.
            let t = s.trim();
            let (digits, unit) = split_unit(t);
            assert!(
                !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
                "{s:?}"
            );
            let n: u128 = digits.parse().unwrap();
            assert_eq!(n * unit_secs(unit).unwrap(), secs as u128, "{s:?}");
            let shown = span.to_string();
            assert_eq!(Span::parse(&shown).unwrap(), span, "{s:?} shown as {shown}");
            // Weeks are shown as days: "2w" reads "14d", one character longer.
            assert!(shown.len() <= t.len() + 1, "{s:?} shown longer as {shown}");
            let json = serde_json::to_string(&span).unwrap();
            assert_eq!(serde_json::from_str::<Span>(&json).unwrap(), span);
        }
        Err(e) => check_error(&e),
    }
}

fn rate_limit(s: &str) {
    match RateLimit::parse(s) {
        Ok(rl) => {
            assert!(rl.limit >= 1);
            let shown = rl.to_string();
            assert_eq!(
                RateLimit::parse(&shown).unwrap(),
                rl,
                "{s:?} shown as {shown}"
            );
            let json = serde_json::to_string(&rl).unwrap();
            assert_eq!(serde_json::from_str::<RateLimit>(&json).unwrap(), rl);
            let (n, _) = s.trim().split_once('/').unwrap();
            assert_eq!(n.parse::<u128>().unwrap(), u128::from(rl.limit), "{s:?}");
        }
        Err(e) => check_error(&e),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    span(s);
    rate_limit(s);
    // The same text as stored JSON: refused or in bounds, never a panic.
    if let Ok(span) = serde_json::from_str::<Span>(s) {
        assert!((1..=MAX_SECS).contains(&span.as_secs()));
        assert_eq!(Span::parse(&span.to_string()).unwrap(), span);
    }
    if let Ok(rl) = serde_json::from_str::<RateLimit>(s) {
        assert!(rl.limit >= 1);
        assert_eq!(RateLimit::parse(&rl.to_string()).unwrap(), rl);
    }
});
