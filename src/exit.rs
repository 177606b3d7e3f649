//! The command line's exit codes: the one place that maps the library's kinds of failure and
//! `verify`'s outcomes to them. The table in `--help` (`cli::exit_codes_text`) says the same,
//! and a test below holds the two together.

use tokman::error::ErrorKind;
use tokman::lifecycle::Outcome;

/// The exit code of a failed command; a closed stdout is a quiet success (`tokman list |
/// head -1`).
pub fn of_error(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::BrokenPipe => 0,
        ErrorKind::InvalidToken => 1,
        ErrorKind::Usage => 2,
        ErrorKind::Expired => 3,
        ErrorKind::Revoked => 4,
        ErrorKind::Denied => 5,
        ErrorKind::RateLimited => 6,
        ErrorKind::Conflict => 7,
        ErrorKind::NotFound => 8,
        ErrorKind::StoreMissing | ErrorKind::StoreUnavailable => 10,
        ErrorKind::Locked => 11,
        ErrorKind::Corrupt => 12,
        ErrorKind::Internal => 70,
        ErrorKind::Unprinted => 74,
    }
}

/// `verify`'s exit code: its whole answer for a script.
pub fn of_outcome(outcome: Outcome) -> i32 {
    match outcome {
        Outcome::Valid => 0,
        Outcome::Invalid | Outcome::Malformed => 1,
        Outcome::Expired => 3,
        Outcome::Revoked => 4,
        Outcome::Denied => 5,
        Outcome::RateLimited => 6,
        Outcome::UsageExceeded => 9,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{exit_codes_text, verify_exit_codes_text};

    /// The text of `code`'s line in a help table, without the code.
    fn line(table: &str, code: i32) -> Option<&str> {
        table
            .lines()
            .find_map(|l| l.trim_start().strip_prefix(&format!("{code:<3} ")))
    }

    #[test]
    fn every_kind_has_its_code_in_the_help_table_with_its_meaning() {
        let meaning = |kind| match kind {
            ErrorKind::BrokenPipe => "success",
            ErrorKind::InvalidToken => "token invalid",
            ErrorKind::Usage => "usage error",
            ErrorKind::Expired => "expired",
            ErrorKind::Revoked => "revoked",
            ErrorKind::Denied => "denied",
            ErrorKind::RateLimited => "rate limited",
            ErrorKind::Conflict => "conflict",
            ErrorKind::NotFound => "not found",
            ErrorKind::StoreMissing => "store missing",
            ErrorKind::StoreUnavailable => "unreadable or unsafe",
            ErrorKind::Locked => "store locked",
            ErrorKind::Corrupt => "corrupt",
            ErrorKind::Internal => "internal error",
            ErrorKind::Unprinted => "could not be written",
        };
        for kind in ErrorKind::ALL {
            let code = of_error(kind);
            let text = line(exit_codes_text(), code)
                .unwrap_or_else(|| panic!("{kind:?}: exit {code} is not in the help table"));
            assert!(
                text.contains(meaning(kind)),
                "{kind:?}: exit {code} reads {text:?}, not {:?}",
                meaning(kind)
            );
        }
    }

    #[test]
    fn every_outcome_has_its_code_in_both_help_tables_with_its_meaning() {
        let meaning = |outcome| match outcome {
            Outcome::Valid => "valid",
            Outcome::Invalid | Outcome::Malformed => "invalid",
            Outcome::Expired => "expired",
            Outcome::Revoked => "revoked",
            Outcome::Denied => "denied",
            Outcome::RateLimited => "rate limited",
            Outcome::UsageExceeded => "usage exceeded",
        };
        for outcome in Outcome::ALL {
            let code = of_outcome(outcome);
            for table in [exit_codes_text(), verify_exit_codes_text()] {
                let text = line(table, code)
                    .unwrap_or_else(|| panic!("{outcome:?}: exit {code} is not in {table}"));
                assert!(
                    text.contains(meaning(outcome)),
                    "{outcome:?}: exit {code} reads {text:?}"
                );
            }
        }
    }
}
