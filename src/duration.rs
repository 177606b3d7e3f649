//! Durations as users write them: a whole number greater than zero and one unit, `90s`, `15m`,
//! `12h`, `30d`. Nothing fancier (no `1h30m`, no fractions, no `w`), so a typo is an error
//! rather than a surprise.
//!
//! This module owns parsing, printing and bounding spans; it does no clock arithmetic itself.
//!
//! Must never: accept a zero, negative or over-long span from the user or from storage, or panic
//! on any input.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::policy::quote;

/// Largest unit first, so `Display` picks the largest one that divides exactly. Weeks are read
/// but never written: `14d` reads better in a table than `2w`.
const UNITS: [(char, i64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];
/// Every unit a user may write, with its length in seconds.
const INPUT_UNITS: [(&str, i64); 6] = [
    ("w", 604_800),
    ("d", 86_400),
    ("h", 3_600),
    ("min", 60),
    ("m", 60),
    ("s", 1),
];
/// About a century: long enough for any real use, short enough that no date overflows.
const MAX_DAYS: i64 = 36_500;
const MAX_SECS: i64 = MAX_DAYS * 86_400;

/// A positive span of time as the user writes it: `90s`, `15m`, `12h`, `30d`. Held in seconds.
///
/// Serialised as its number of seconds; deserialising checks it is within 1 s ..= 36500 d, since
/// spans are read back from storage.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct Span(i64);

fn invalid(s: &str) -> Error {
    Error::usage(format!(
        "invalid duration `{}`: expected a whole number and a unit: 90s, 15m (or 15min), 12h, 30d or 2w",
        quote(s)
    ))
}

fn too_long(s: &str) -> Error {
    Error::usage(format!(
        "invalid duration `{}`: too long: at most {MAX_DAYS}d",
        quote(s)
    ))
}

impl Span {
    /// Strict on the inside, lenient only about surrounding whitespace.
    pub fn parse(s: &str) -> Result<Span> {
        let t = s.trim();
        let Some(&(unit, secs)) = INPUT_UNITS.iter().find(|(u, _)| t.ends_with(u)) else {
            return Err(invalid(t));
        };
        // The unit is ASCII, so this slice ends on a character boundary.
        let digits = t.get(..t.len() - unit.len()).unwrap_or_default();
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(t));
        }
        // Only digits are left, so the one way `parse` fails is a number too big for an i64.
        let n: i64 = digits.parse().map_err(|_| too_long(t))?;
        if n == 0 {
            return Err(Error::usage(format!(
                "invalid duration `{}`: must be greater than zero",
                quote(t)
            )));
        }
        match n.checked_mul(secs) {
            Some(total) if total <= MAX_SECS => Ok(Span(total)),
            _ => Err(too_long(t)),
        }
    }

    /// For constants (`180d`); the caller guarantees `secs > 0`.
    pub const fn from_secs(secs: i64) -> Span {
        Span(secs)
    }

    pub fn as_secs(&self) -> i64 {
        self.0
    }

    /// Saturates rather than panics should a constant ever be out of chrono's range.
    pub fn to_delta(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::try_seconds(self.0).unwrap_or(if self.0 < 0 {
            chrono::TimeDelta::MIN
        } else {
            chrono::TimeDelta::MAX
        })
    }
}

impl fmt::Display for Span {
    /// The largest unit that divides it exactly (15552000 s is `180d`), so it reads back as the
    /// same span and as the user would have written it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (unit, secs) = UNITS
            .iter()
            .find(|(_, secs)| self.0 % secs == 0)
            .copied()
            .unwrap_or(('s', 1));
        write!(f, "{}{unit}", self.0 / secs)
    }
}

impl FromStr for Span {
    type Err = Error;
    fn from_str(s: &str) -> Result<Span> {
        Span::parse(s)
    }
}

impl TryFrom<i64> for Span {
    type Error = String;
    fn try_from(secs: i64) -> std::result::Result<Span, String> {
        if (1..=MAX_SECS).contains(&secs) {
            Ok(Span(secs))
        } else {
            Err(format!(
                "invalid duration of {secs} seconds: expected 1 to {MAX_SECS}"
            ))
        }
    }
}

impl From<Span> for i64 {
    fn from(span: Span) -> i64 {
        span.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn units() {
        assert_eq!(Span::parse("90s").unwrap().as_secs(), 90);
        assert_eq!(Span::parse("15m").unwrap().as_secs(), 900);
        assert_eq!(Span::parse("12h").unwrap().as_secs(), 43_200);
        assert_eq!(Span::parse("30d").unwrap().as_secs(), 2_592_000);
        assert_eq!(Span::parse(" 1d\n").unwrap().as_secs(), 86_400);
        assert_eq!(Span::parse("007m").unwrap().as_secs(), 420);
        assert_eq!("36500d".parse::<Span>().unwrap().as_secs(), MAX_SECS);
        assert_eq!(Span::parse("3153600000s").unwrap().as_secs(), MAX_SECS);
        assert_eq!(Span::parse("15min").unwrap().as_secs(), 900);
        assert_eq!(Span::parse("2w").unwrap().as_secs(), 14 * 86_400);
        assert_eq!(Span::parse("2w").unwrap().to_string(), "14d");
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "", " ", "d", "s1", "-1d", "+1d", "1.5h", "1 d", "1W", "1D", "1M", "1h30m", "1", "١d",
            "min", "1mins", "1mn", "1 min", "1minute", "1wk", "1m in", "1d1", "1dd", "0x1d",
            "1_000s", "1é", "\u{0}1d", "1d\u{0}",
        ] {
            let e = Span::parse(bad).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Usage, "{bad:?}");
            assert!(
                e.to_string().contains("expected a whole number and a unit"),
                "{e}"
            );
        }
        assert_eq!(
            Span::parse("3x").unwrap_err().to_string(),
            "invalid duration `3x`: expected a whole number and a unit: 90s, 15m (or 15min), 12h, 30d or 2w"
        );
        for zero in ["0s", "0d", "000m"] {
            let e = Span::parse(zero).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Usage);
            assert!(e.to_string().ends_with("must be greater than zero"), "{e}");
        }
        for long in ["36501d", "876001h", "3153600001s", "99999999999999999999d"] {
            let e = Span::parse(long).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Usage);
            assert!(e.to_string().ends_with("too long: at most 36500d"), "{e}");
        }
    }

    #[test]
    fn displays_in_the_largest_exact_unit() {
        assert_eq!(Span::from_secs(180 * 86_400).to_string(), "180d");
        assert_eq!(Span::from_secs(5_400).to_string(), "90m");
        assert_eq!(Span::from_secs(90).to_string(), "90s");
        assert_eq!(Span::from_secs(7_200).to_string(), "2h");
        assert_eq!(Span::from_secs(86_401).to_string(), "86401s");
    }

    #[test]
    fn deltas_and_serde() {
        assert_eq!(
            Span::from_secs(90).to_delta(),
            chrono::TimeDelta::seconds(90)
        );
        assert_eq!(Span::from_secs(i64::MAX).to_delta(), chrono::TimeDelta::MAX);
        let span = Span::parse("30d").unwrap();
        assert_eq!(serde_json::to_string(&span).unwrap(), "2592000");
        assert_eq!(serde_json::from_str::<Span>("2592000").unwrap(), span);
        for bad in ["0", "-5", "3153600001", "\"30d\""] {
            assert!(serde_json::from_str::<Span>(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = Span::parse(&s);
        }

        #[test]
        fn near_misses_never_panic(s in "[ +\\-0-9.]{0,25}[smhdwSMHD ]{0,2}") {
            if let Ok(span) = Span::parse(&s) {
                prop_assert!((1..=MAX_SECS).contains(&span.as_secs()));
                prop_assert_eq!(Span::parse(&span.to_string()).unwrap(), span);
            }
        }

        #[test]
        fn round_trips(n in 1i64..=MAX_SECS) {
            let span = Span::from_secs(n);
            prop_assert_eq!(Span::parse(&span.to_string()).unwrap(), span);
            let json = serde_json::to_string(&span).unwrap();
            prop_assert_eq!(serde_json::from_str::<Span>(&json).unwrap(), span);
        }

        #[test]
        fn every_unit_multiplies(n in 1i64..=36_500, u in 0usize..4) {
            let (unit, secs) = UNITS[u];
            prop_assert_eq!(Span::parse(&format!("{n}{unit}")).unwrap().as_secs(), n * secs);
        }
    }
}
