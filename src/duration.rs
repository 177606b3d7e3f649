//! Durations as users write them: a whole number greater than zero and one unit, `90s`, `15m`,
//! `12h`, `30d`. Nothing fancier (no `1h30m`, no fractions), so a typo is an error rather than
//! a surprise.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

const UNITS: [(char, i64); 4] = [('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)];
/// About a century: long enough for any real use, short enough that no date overflows.
const MAX_DAYS: i64 = 36_500;

/// A positive span of time, in seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Span(i64);

fn invalid(s: &str) -> Error {
    Error::usage(format!(
        "invalid duration `{}`: expected a whole number and a unit: 90s, 15m, 12h or 30d",
        crate::render::escape(s)
    ))
}

impl Span {
    pub fn parse(s: &str) -> Result<Span> {
        let t = s.trim();
        let Some(unit) = t.chars().last() else {
            return Err(invalid(s));
        };
        let Some(&(_, secs)) = UNITS.iter().find(|(c, _)| *c == unit) else {
            return Err(invalid(s));
        };
        let digits = &t[..t.len() - 1];
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid(s));
        }
        let too_long = || Error::usage(format!("duration `{t}` is too long: at most {MAX_DAYS}d"));
        let n: i64 = digits.parse().map_err(|_| too_long())?;
        if n == 0 {
            return Err(Error::usage(format!(
                "duration `{t}` must be greater than zero"
            )));
        }
        let total = n.checked_mul(secs).ok_or_else(too_long)?;
        if total > MAX_DAYS * 86_400 {
            return Err(too_long());
        }
        Ok(Span(total))
    }

    /// For constants; the caller guarantees `secs > 0`.
    pub const fn from_secs(secs: i64) -> Span {
        Span(secs)
    }

    pub fn as_secs(&self) -> i64 {
        self.0
    }

    pub fn to_delta(&self) -> chrono::TimeDelta {
        chrono::TimeDelta::seconds(self.0)
    }
}

impl fmt::Display for Span {
    /// The largest unit that divides it exactly: 15552000 s is `180d`.
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
        assert_eq!(Span::parse(" 1d ").unwrap().as_secs(), 86_400);
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "",
            "d",
            "0s",
            "0d",
            "-1d",
            "+1d",
            "1.5h",
            "1 d",
            "1w",
            "1D",
            "1h30m",
            "1",
            "s1",
            "١d",
            "99999999999999999999d",
            "36501d",
        ] {
            let e = Span::parse(bad).unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
        }
        assert!(
            Span::parse("0s")
                .unwrap_err()
                .to_string()
                .contains("greater than zero")
        );
        assert!(Span::parse("36500d").is_ok());
    }

    #[test]
    fn displays_in_the_largest_exact_unit() {
        assert_eq!(Span::from_secs(180 * 86_400).to_string(), "180d");
        assert_eq!(Span::from_secs(5_400).to_string(), "90m");
        assert_eq!(Span::from_secs(90).to_string(), "90s");
        assert_eq!(Span::from_secs(7_200).to_string(), "2h");
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = Span::parse(&s);
        }

        #[test]
        fn round_trips(n in 1i64..=36_500 * 86_400) {
            let span = Span::from_secs(n);
            prop_assert_eq!(Span::parse(&span.to_string()).unwrap(), span);
        }
    }
}
