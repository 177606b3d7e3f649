//! Text for people: times in RFC 3339 and the one escaper every front end shows user-given
//! text through (tokens redacted, control and format characters escaped). Shared by the rules
//! (audit details, quoted values in messages) and every front end.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::lifecycle::Timestamp;

/// RFC 3339 in UTC, seconds precision: `2026-11-23T10:00:00Z`.
pub fn rfc3339(t: Timestamp) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| t.to_string())
}

/// Unicode general category Cf ("format"): bidi embeddings, overrides and isolates
/// (U+202A–202E, U+2066–2069), zero-width spaces, joiners and marks (U+200B–200F, U+2060,
/// U+FEFF), the soft hyphen, tags, and the rest. Invisible, and some reorder the text around
/// them, so a table row or a message could be made to read as something else.
///
/// The 21 ranges (170 code points) of `DerivedGeneralCategory.txt` of Unicode 15.1, which 16.0
/// leaves unchanged; std has no category API, and a crate for one table is not worth its
/// weight. Checked against Python's `unicodedata` (Unicode 14.0), which differs only by
/// U+13439–1343F, added in 15.0.
const FORMAT: [(u32, u32); 21] = [
    (0x00AD, 0x00AD),
    (0x0600, 0x0605),
    (0x061C, 0x061C),
    (0x06DD, 0x06DD),
    (0x070F, 0x070F),
    (0x0890, 0x0891),
    (0x08E2, 0x08E2),
    (0x180E, 0x180E),
    (0x200B, 0x200F),
    (0x202A, 0x202E),
    (0x2060, 0x2064),
    (0x2066, 0x206F),
    (0xFEFF, 0xFEFF),
    (0xFFF9, 0xFFFB),
    (0x110BD, 0x110BD),
    (0x110CD, 0x110CD),
    (0x13430, 0x1343F),
    (0x1BCA0, 0x1BCA3),
    (0x1D173, 0x1D17A),
    (0xE0001, 0xE0001),
    (0xE0020, 0xE007F),
];

const ZWJ: char = '\u{200d}';

/// Whether `c` is a format character (Unicode category Cf).
pub fn is_format(c: char) -> bool {
    let c = u32::from(c);
    FORMAT
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Whether a character is shown escaped rather than as itself: control characters (Cc:
/// terminal escapes, line breaks, NUL), format characters (Cf), and the line and paragraph
/// separators U+2028/U+2029, which some terminals break lines at.
fn hidden(c: char) -> bool {
    c.is_control() || is_format(c) || c == '\u{2028}' || c == '\u{2029}'
}

/// What [`shown`] leaves as it is, of what it would otherwise escape.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keep {
    Nothing,
    /// Emoji joiners, in a description (the one place the name rules allow them).
    Zwj,
    /// Line breaks, in a whole multi-line message for stderr.
    Newline,
}

/// The one escaper: token-shaped text redacted ([`crate::token::redact`]), then every hidden
/// character written as Rust writes it (`\u{202e}`, `\u{1b}`, `\n`), so it is seen, not
/// obeyed. Pure ASCII in, the same ASCII out; nothing else is changed.
fn shown(s: &str, keep: Keep) -> Cow<'_, str> {
    let s = crate::token::redact(s);
    let escaped = |c: char| {
        hidden(c) && !(keep == Keep::Zwj && c == ZWJ) && !(keep == Keep::Newline && c == '\n')
    };
    if !s.chars().any(escaped) {
        return s;
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if escaped(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Text a user gave (a user name, token name, reason, label, audit detail), as every table and
/// message shows it: tokens redacted, control and format characters escaped. `--json` keeps
/// the exact string instead.
pub fn escape(s: &str) -> Cow<'_, str> {
    shown(s, Keep::Nothing)
}

/// A description as tables show it: as [`escape`], except that emoji joiners (U+200D), which
/// descriptions may hold, stay joiners; they join glyphs and cannot reorder text.
pub fn escape_description(s: &str) -> Cow<'_, str> {
    shown(s, Keep::Zwj)
}

/// A whole message for stderr, perhaps of several lines (clap's usage errors are): as
/// [`escape`], except that its line breaks stay line breaks. Every write to stderr goes through
/// this, by the command line's `write_stderr`.
pub fn for_stderr(s: &str) -> Cow<'_, str> {
    shown(s, Keep::Newline)
}
