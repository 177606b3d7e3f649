//! Rendering: the JSON documents of the contract, tables, relative times, and the one-time box
//! around a new token.
//!
//! Text a user typed (names, descriptions, reasons, user names) may hold escape sequences, bidi
//! controls or a pasted token; [`escape`] (the one escaper, which `policy::quote` and stderr use
//! too) redacts and escapes it before it reaches a terminal, while `--json` keeps the exact
//! string. Nothing here decides anything or touches the store.

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use comfy_table::{Cell, Color, ContentArrangement, Table};
use serde_json::{Value, json};

use crate::audit::Entry;
use crate::lifecycle::{Record, Status, Timestamp, Usage};
use crate::store::SlotInfo;

/// RFC 3339 in UTC, seconds precision: `2026-11-23T10:00:00Z`.
pub fn rfc3339(t: Timestamp) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|d| d.to_rfc3339_opts(SecondsFormat::Secs, true))
        .unwrap_or_else(|| t.to_string())
}

fn opt_time(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Null, |t| Value::String(rfc3339(t)))
}

/// "in 12 days", "3 hours ago", "just now".
pub fn relative(t: Timestamp, now: Timestamp) -> String {
    let delta = t.saturating_sub(now);
    let secs = delta.unsigned_abs();
    if secs < 10 {
        return "just now".into();
    }
    let (per, unit) = match secs {
        s if s < 90 => (1, "second"),
        s if s < 90 * 60 => (60, "minute"),
        s if s < 48 * 3600 => (3600, "hour"),
        s if s < 60 * 86400 => (86400, "day"),
        s if s < 730 * 86400 => (30 * 86400, "month"),
        _ => (365 * 86400, "year"),
    };
    // Rounded, not truncated: a 30-day token listed a second later is "in 30 days", not 29.
    let n = (secs + per / 2) / per;
    let plural = if n == 1 { "" } else { "s" };
    if delta > 0 {
        format!("in {n} {unit}{plural}")
    } else {
        format!("{n} {unit}{plural} ago")
    }
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
/// this, by `cmd::write_stderr`.
pub fn for_stderr(s: &str) -> Cow<'_, str> {
    shown(s, Keep::Newline)
}

/// A token record as the contract's JSON: every key present, absent values `null` or `[]`.
pub fn record_json(r: &Record, usage: Option<&Usage>, now: Timestamp) -> Value {
    json!({
        "id": r.id,
        "user": r.user,
        "name": r.name,
        "description": r.description,
        "scopes": r.scopes,
        "status": r.status(now).as_str(),
        "created_at": rfc3339(r.created_at),
        "expires_at": rfc3339(r.expires_at),
        "revoked_at": opt_time(r.revoked_at),
        "revoke_reason": r.revoke_reason,
        "last_used_at": opt_time(usage.and_then(|u| u.last_used_at)),
        "use_count": usage.map_or(0, |u| u.use_count),
        "rate_limits": r.rate_limits,
        "allowed_ips": r.allowed_ips,
        "allowed_origins": r.allowed_origins,
        "rotated_from": r.rotated_from,
        "rotated_to": r.rotated_to,
    })
}

/// An audit event as `audit --json` and `notify-command` see it.
pub fn entry_json(e: &Entry) -> Value {
    json!({
        "seq": e.seq,
        "at": rfc3339(e.at),
        "event": e.event.event.as_str(),
        "id": e.event.id,
        "user": e.event.user,
        "detail": e.event.detail,
        "slot": e.event.slot,
        "count": e.count,
    })
}

pub fn slot_json(s: &SlotInfo) -> Value {
    json!({
        "slot": s.slot,
        "kind": s.kind,
        "label": s.label,
        "created_at": rfc3339(s.created_at),
        "last_used_at": opt_time(s.last_used_at),
    })
}

/// How tables look: boxed and fitted to the terminal, or plain columns for a pipe.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub terminal: bool,
    pub color: bool,
}

fn table(style: Style, header: &[&str]) -> Table {
    let mut t = Table::new();
    if style.terminal {
        t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
        // Fit to the terminal, unless it reports no width (0 columns, as some ptys do):
        // fitting to that would squeeze every column to one letter.
        if t.width().is_some_and(|w| w >= 20) {
            t.set_content_arrangement(ContentArrangement::Dynamic);
        }
    } else {
        t.load_style(comfy_table::presets::NOTHING);
        t.force_no_tty();
    }
    t.set_header(header.iter().map(Cell::new).collect::<Vec<_>>());
    if !style.terminal {
        // Columns two spaces apart, from the first character of the line, like `ps`.
        for column in t.column_iter_mut() {
            column.set_padding((0, 2));
        }
    }
    t
}

/// The table as text; for a pipe, without the padding that would end every line in spaces.
fn finish(t: &Table, style: Style) -> String {
    let text = t.to_string();
    if style.terminal {
        return text;
    }
    text.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

fn status_cell(status: Status, style: Style) -> Cell {
    let cell = Cell::new(status.as_str());
    if !style.color {
        return cell;
    }
    match status {
        Status::Active => cell.fg(Color::Green),
        Status::Expired => cell.fg(Color::Yellow),
        Status::Revoked => cell.fg(Color::Red),
    }
}

fn dash(s: Option<&str>) -> String {
    s.map_or_else(|| "-".to_owned(), |s| escape(s).into_owned())
}

/// The `list` table: id, user, name, status, scopes, expires, last used.
pub fn token_table(rows: &[(Record, Usage)], now: Timestamp, style: Style) -> String {
    let mut t = table(
        style,
        &[
            "ID",
            "USER",
            "NAME",
            "STATUS",
            "SCOPES",
            "EXPIRES",
            "LAST USED",
        ],
    );
    for (r, u) in rows {
        let scopes: Vec<&str> = r.scopes.iter().map(|s| s.as_str()).collect();
        let expires = match r.status(now) {
            Status::Revoked => format!("revoked {}", relative(r.revoked_at.unwrap_or(now), now)),
            _ => relative(r.expires_at, now),
        };
        t.add_row(vec![
            Cell::new(r.id.as_str()),
            Cell::new(escape(&r.user)),
            Cell::new(dash(r.name.as_deref())),
            status_cell(r.status(now), style),
            Cell::new(if scopes.is_empty() {
                "-".into()
            } else {
                scopes.join(" ")
            }),
            Cell::new(expires),
            Cell::new(
                u.last_used_at
                    .map_or_else(|| "never".into(), |t| relative(t, now)),
            ),
        ]);
    }
    finish(&t, style)
}

/// Every field of one token, one per line (`inspect`).
pub fn token_details(r: &Record, u: &Usage, now: Timestamp) -> String {
    let list = |v: Vec<String>| {
        if v.is_empty() {
            "-".to_owned()
        } else {
            v.join(", ")
        }
    };
    let when = |t: Timestamp| format!("{} ({})", rfc3339(t), relative(t, now));
    let rows: Vec<(&str, String)> = vec![
        ("id", r.id.to_string()),
        ("user", escape(&r.user).into_owned()),
        ("name", dash(r.name.as_deref())),
        (
            "description",
            r.description
                .as_deref()
                .map_or_else(|| "-".to_owned(), |d| escape_description(d).into_owned()),
        ),
        ("status", r.status(now).as_str().to_owned()),
        (
            "scopes",
            list(r.scopes.iter().map(|s| s.to_string()).collect()),
        ),
        ("created", when(r.created_at)),
        ("expires", when(r.expires_at)),
        ("revoked", r.revoked_at.map_or_else(|| "-".into(), when)),
        ("revoke reason", dash(r.revoke_reason.as_deref())),
        (
            "last used",
            u.last_used_at.map_or_else(|| "never".into(), when),
        ),
        ("use count", u.use_count.to_string()),
        (
            "rate limits",
            list(r.rate_limits.iter().map(|l| l.to_string()).collect()),
        ),
        (
            "allowed ips",
            list(r.allowed_ips.iter().map(|l| l.to_string()).collect()),
        ),
        (
            "allowed origins",
            list(r.allowed_origins.iter().map(|l| l.to_string()).collect()),
        ),
        (
            "rotated from",
            r.rotated_from
                .as_ref()
                .map_or_else(|| "-".into(), |i| i.to_string()),
        ),
        (
            "rotated to",
            r.rotated_to
                .as_ref()
                .map_or_else(|| "-".into(), |i| i.to_string()),
        ),
    ];
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(k, v)| format!("{k:>width$}  {v}\n"))
        .collect()
}

/// The audit table: time, event, token id, user, detail.
pub fn audit_table(entries: &[Entry], now: Timestamp, style: Style) -> String {
    let mut t = table(
        style,
        &["SEQ", "TIME", "EVENT", "TOKEN", "USER", "DETAIL", "SLOT"],
    );
    for e in entries {
        t.add_row(vec![
            e.seq.to_string(),
            format!("{} ({})", rfc3339(e.at), relative(e.at, now)),
            e.event.event.as_str().to_owned(),
            e.event
                .id
                .as_ref()
                .map_or_else(|| "-".into(), |i| i.to_string()),
            dash(e.event.user.as_deref()),
            dash(e.event.detail.as_deref()),
            e.event.slot.map_or_else(|| "-".into(), |s| s.to_string()),
        ]);
    }
    finish(&t, style)
}

pub fn slot_table(slots: &[SlotInfo], now: Timestamp, style: Style) -> String {
    let mut t = table(style, &["SLOT", "KIND", "LABEL", "CREATED", "LAST USED"]);
    for s in slots {
        t.add_row(vec![
            s.slot.to_string(),
            s.kind.clone(),
            dash(s.label.as_deref()),
            relative(s.created_at, now),
            s.last_used_at
                .map_or_else(|| "never".into(), |t| relative(t, now)),
        ]);
    }
    finish(&t, style)
}

/// The box a new token is shown in on a terminal, the one time it is shown.
pub fn token_box(token: &str, r: &Record, now: Timestamp) -> String {
    let scopes: Vec<&str> = r.scopes.iter().map(|s| s.as_str()).collect();
    let notice = "This is the only time this token is shown. Store it now.";
    let width = token.len().max(notice.len());
    let bar = "─".repeat(width + 2);
    let mut out = format!(
        "┌{bar}┐\n│ {notice:<width$} │\n│ {:<width$} │\n│ {token:<width$} │\n└{bar}┘\n",
        ""
    );
    out.push_str(&format!("  id       {}\n", r.id));
    out.push_str(&format!("  user     {}\n", escape(&r.user)));
    if let Some(name) = &r.name {
        out.push_str(&format!("  name     {}\n", escape(name)));
    }
    out.push_str(&format!(
        "  scopes   {}\n",
        if scopes.is_empty() {
            "-".into()
        } else {
            scopes.join(" ")
        }
    ));
    out.push_str(&format!(
        "  expires  {} ({})\n",
        rfc3339(r.expires_at),
        relative(r.expires_at, now)
    ));
    let joined = |items: Vec<String>| items.join(" ");
    if !r.rate_limits.is_empty() {
        let limits = joined(r.rate_limits.iter().map(|l| l.to_string()).collect());
        out.push_str(&format!("  limits   {limits}\n"));
    }
    if !r.allowed_ips.is_empty() {
        let ips = joined(r.allowed_ips.iter().map(|l| l.to_string()).collect());
        out.push_str(&format!("  ips      {ips}\n"));
    }
    if !r.allowed_origins.is_empty() {
        let origins = joined(r.allowed_origins.iter().map(|l| l.to_string()).collect());
        out.push_str(&format!("  origins  {origins}\n"));
    }
    out
}

/// The one line on stderr when a new token goes to a pipe.
pub fn issued_summary(verb: &str, r: &Record, now: Timestamp) -> String {
    format!(
        "{verb} {} for {}, expires {} ({})",
        r.id,
        escape(&r.user),
        rfc3339(r.expires_at),
        relative(r.expires_at, now)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_times_read_naturally() {
        let now = 1_800_000_000;
        assert_eq!(relative(now, now), "just now");
        assert_eq!(relative(now + 12 * 86400, now), "in 12 days");
        assert_eq!(relative(now - 3 * 3600, now), "3 hours ago");
        assert_eq!(relative(now - 3600, now), "60 minutes ago");
        assert_eq!(relative(now + 180 * 86400, now), "in 6 months");
        assert_eq!(relative(now - 86400 * 800, now), "2 years ago");
        assert_eq!(relative(now + 1, now), "just now");
        assert_eq!(relative(now + 30 * 86400 - 1, now), "in 30 days");
        assert_eq!(relative(now + 180 * 86400 - 5, now), "in 6 months");
    }

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
    fn the_token_box_shows_policy_only_when_there_is_some() {
        use crate::lifecycle::{Request, Settings, issue};
        use crate::policy::{IpAllow, Origin, RateLimit};
        let now = 1_800_000_000;
        let id = crate::token::TokenId::parse("tm_aaaaaaaaaaaa").unwrap();
        let mut req = Request {
            user: "alice".into(),
            ..Request::default()
        };
        let plain = issue(&Settings::default(), req.clone(), id.clone(), now).unwrap();
        let text = token_box("TOKEN", &plain, now);
        assert!(!text.contains("limits") && !text.contains("ips") && !text.contains("origins"));
        req.rate_limits = Some(vec![RateLimit::parse("60/min").unwrap()]);
        req.allowed_ips = vec![IpAllow::parse("10.0.0.0/8").unwrap()];
        req.allowed_origins = vec![Origin::parse("https://app.example.com").unwrap()];
        let full = issue(&Settings::default(), req, id, now).unwrap();
        let text = token_box("TOKEN", &full, now);
        assert!(text.contains("limits   60/min"), "{text}");
        assert!(text.contains("ips      10.0.0.0/8"), "{text}");
        assert!(text.contains("origins  https://app.example.com"), "{text}");
    }

    #[test]
    fn rfc3339_is_utc_seconds() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
