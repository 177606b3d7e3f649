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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_control_characters_only() {
        assert_eq!(escape("alice"), "alice");
        assert_eq!(escape("a\u{1b}[31mb\n"), "a\\u{1b}[31mb\\n");
        assert_eq!(escape("ünïcode"), "ünïcode");
        assert!(matches!(escape("plain text"), Cow::Borrowed(_)));
    }

    #[test]
    fn escapes_format_characters_as_controls_are() {
        assert_eq!(escape("alice\u{202e}"), "alice\\u{202e}");
        assert_eq!(
            escape("\u{2066}x\u{2067}y\u{2068}z\u{2069}"),
            "\\u{2066}x\\u{2067}y\\u{2068}z\\u{2069}"
        );
        for c in [
            '\u{200b}', '\u{200c}', '\u{200d}', '\u{200e}', '\u{200f}', '\u{2060}',
        ] {
            assert_eq!(
                escape(&format!("a{c}b")),
                format!("a\\u{{{:x}}}b", u32::from(c))
            );
        }
        assert_eq!(escape("\u{feff}bom"), "\\u{feff}bom");
        assert_eq!(escape("soft\u{ad}hyphen"), "soft\\u{ad}hyphen");
        assert_eq!(escape("tag\u{e0041}"), "tag\\u{e0041}");
        assert_eq!(
            escape("line\u{2028}para\u{2029}"),
            "line\\u{2028}para\\u{2029}"
        );
        // Visible non-ASCII is itself: letters, marks, emoji, right-to-left letters.
        for s in ["Ελένη", "e\u{301}", "🦀", "שלום", "مرحبا", "日本語"] {
            assert_eq!(escape(s), s);
        }
    }

    #[test]
    fn the_format_table_is_sorted_and_bounded() {
        for w in FORMAT.windows(2) {
            assert!(w[0].0 <= w[0].1 && w[0].1 < w[1].0, "{w:x?}");
        }
        let count: u32 = FORMAT.iter().map(|(lo, hi)| hi - lo + 1).sum();
        assert_eq!(count, 170, "Unicode 15.1 has 170 Cf code points");
        for (lo, hi) in FORMAT {
            for c in [lo, hi] {
                assert!(is_format(char::from_u32(c).unwrap()), "{c:x}");
            }
            for c in [lo - 1, hi + 1] {
                let c = char::from_u32(c).unwrap();
                assert!(!is_format(c), "{:x}", u32::from(c));
            }
        }
        assert!(!is_format('a') && !is_format('\u{1b}') && !is_format(char::MAX));
    }

    #[test]
    fn descriptions_keep_emoji_joiners_and_nothing_else() {
        let family = "👩\u{200d}👩\u{200d}👧";
        assert_eq!(escape_description(family), family);
        assert_eq!(escape(family), "👩\\u{200d}👩\\u{200d}👧");
        assert_eq!(escape_description("a\u{202e}b\nc"), "a\\u{202e}b\\nc");
    }

    #[test]
    fn stderr_keeps_line_breaks_and_escapes_the_rest() {
        assert_eq!(
            for_stderr("error: bad `x\u{202e}\u{1b}[2J`\n\nUsage: tokman\n"),
            "error: bad `x\\u{202e}\\u{1b}[2J`\n\nUsage: tokman\n"
        );
        assert_eq!(for_stderr("tab\there\r"), "tab\\there\\r");
    }

    #[test]
    fn shown_text_never_holds_a_token() {
        let token = "tm_4f7k2m9q0xyz_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm";
        for f in [escape, escape_description, for_stderr] {
            assert_eq!(
                f(&format!("user {token}\u{202e}")),
                "user tm_4f7k2m9q0xyz_…\\u{202e}"
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn nothing_hidden_survives_escaping(s in "\\PC*|[\u{0}-\u{40}\u{200b}-\u{206f}\u{feff}]*") {
            for f in [escape, escape_description, for_stderr] {
                let shown = f(&s);
                proptest::prop_assert!(
                    shown.chars().all(|c| !hidden(c) || c == ZWJ || c == '\n'),
                    "{:?}",
                    shown
                );
                // Escaping is stable: shown text shown again is the same.
                proptest::prop_assert_eq!(f(&shown), shown.clone());
            }
            proptest::prop_assert!(!escape(&s).contains(ZWJ) && !escape(&s).contains('\n'));
        }
    }

    #[test]
    fn rfc3339_is_utc_seconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
