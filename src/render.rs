//! Rendering: the JSON documents of the contract, tables, relative times, and the one-time box
//! around a new token.
//!
//! Text a user typed (names, descriptions, reasons, user names) may hold escape sequences, bidi
//! controls or a pasted token; [`escape`] (the one escaper, which `policy::quote` and stderr use
//! too) redacts and escapes it before it reaches a terminal, while `--json` keeps the exact
//! string. Nothing here decides anything or touches the store.

use comfy_table::{Color, Table};

use tokman::audit::Entry;
use tokman::lifecycle::{Record, Status, Timestamp, Usage};
use tokman::store::SlotInfo;
pub use tokman::text::{escape, escape_description, for_stderr, rfc3339};

mod fit;

use fit::{Column, Fit, Shown};

/// "in 12 days", "3 hours ago": how far `t` is from `now`, rounded to the nearest unit.
/// A moment under ten seconds past is "just now"; a future one is always "in …", to the second
/// ("in 2 seconds"), since something about to expire must not read as if it had.
pub fn relative(t: Timestamp, now: Timestamp) -> String {
    let delta = t.saturating_sub(now);
    let secs = delta.unsigned_abs();
    if delta <= 0 && secs < 10 {
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

/// How output looks: boxed and fitted to a terminal of known width, or plain columns for a
/// pipe.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub terminal: bool,
    pub color: bool,
    /// The terminal's width in columns, when stdout is a terminal that reports one.
    pub width: Option<u16>,
}

/// The width of the terminal on stdout, if stdout is one and it says (some ptys, as editors'
/// shells and CI runners have, report 0 columns: that is no width, not a width of 0).
pub fn terminal_width() -> Option<u16> {
    Table::new().width().filter(|&w| w > 0)
}

/// "1 token", "2,000 tokens", or "showing 50 of 2,000 tokens" when `--limit` cut the list.
pub fn count_line(shown: usize, total: usize) -> String {
    let noun = if total == 1 { "token" } else { "tokens" };
    if shown < total {
        format!(
            "showing {} of {} {noun}",
            thousands(shown),
            thousands(total)
        )
    } else {
        format!("{} {noun}", thousands(total))
    }
}

/// `2000` as `2,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A token's status as tables and `inspect` show it: the word, and for a revoked or expired
/// token when that happened ("revoked 47 seconds ago", "expired 3 days ago").
fn status_parts(r: &Record, now: Timestamp) -> Vec<String> {
    let status = r.status(now);
    let when = match status {
        Status::Active => return vec![status.as_str().to_owned()],
        Status::Rotating => {
            let ends = r.grace_until.unwrap_or(r.expires_at);
            return vec![
                status.as_str().to_owned(),
                format!("(ends {})", relative(ends, now)),
            ];
        }
        Status::Expired => r.expires_at,
        Status::Revoked => r.revoked_at.unwrap_or(now),
    };
    vec![status.as_str().to_owned(), relative(when, now)]
}

fn status_cell(r: &Record, now: Timestamp) -> Shown {
    let cell = Shown::parts(status_parts(r, now));
    match r.status(now) {
        Status::Active => cell.color(Color::Green),
        Status::Rotating => cell.color(Color::Cyan),
        Status::Expired => cell.color(Color::Yellow),
        Status::Revoked => cell.color(Color::Red),
    }
}

fn dash(s: Option<&str>) -> String {
    s.map_or_else(|| "-".to_owned(), |s| escape(s).into_owned())
}

fn scope_parts(r: &Record) -> Vec<String> {
    if r.scopes.is_empty() {
        vec!["-".to_owned()]
    } else {
        r.scopes.iter().map(|s| s.to_string()).collect()
    }
}

/// The `list` table. On a narrow terminal its columns go in this order, the least useful
/// first: NAME (an optional label), SCOPES, LAST USED, EXPIRES, STATUS, USER; ID stays. A user
/// name, a name and the scopes may wrap (scopes between scopes); an id, a time never do, and
/// STATUS breaks only between "revoked" and its time.
const TOKEN_COLUMNS: [Column; 7] = [
    Column {
        header: "ID",
        fit: Fit::Whole,
        drop: None,
    },
    Column {
        header: "USER",
        fit: Fit::Parts { cap: 16 },
        drop: Some(6),
    },
    Column {
        header: "NAME",
        fit: Fit::Parts { cap: 16 },
        drop: Some(1),
    },
    Column {
        header: "STATUS",
        fit: Fit::Parts { cap: 24 },
        drop: Some(5),
    },
    Column {
        header: "SCOPES",
        fit: Fit::Parts { cap: 64 },
        drop: Some(2),
    },
    Column {
        header: "EXPIRES",
        fit: Fit::Whole,
        drop: Some(4),
    },
    Column {
        header: "LAST USED",
        fit: Fit::Whole,
        drop: Some(3),
    },
];

/// The `list` table: id, user, name, status (with when, for a revoked or expired token),
/// scopes, expiry (always the expiry, even of a revoked token), last use.
pub fn token_table(rows: &[(Record, Usage)], now: Timestamp, style: Style) -> String {
    let cells: Vec<Vec<Shown>> = rows
        .iter()
        .map(|(r, u)| {
            vec![
                Shown::whole(r.id.as_str()),
                Shown::words(escape(&r.user)),
                Shown::words(dash(r.name.as_deref())),
                status_cell(r, now),
                Shown::parts(scope_parts(r)),
                Shown::whole(relative(r.expires_at, now)),
                Shown::whole(
                    u.last_used_at
                        .map_or_else(|| "never".into(), |t| relative(t, now)),
                ),
            ]
        })
        .collect();
    fit::draw(&TOKEN_COLUMNS, &cells, style)
}

/// Every field of one token, one per line (`inspect`): names right-aligned, then the value. On
/// a terminal a long value continues under itself, broken between its parts; when a part
/// (an id, a time, a scope) would not fit beside the names, each value goes under its name
/// instead, so that it never wraps.
pub fn token_details(r: &Record, u: &Usage, now: Timestamp, width: Option<u16>) -> String {
    let list = |v: Vec<String>| {
        if v.is_empty() {
            Shown::whole("-")
        } else {
            let mut parts = v;
            let last = parts.len() - 1;
            for p in &mut parts[..last] {
                p.push(',');
            }
            Shown::parts(parts)
        }
    };
    let when = |t: Timestamp| Shown::parts(vec![rfc3339(t), format!("({})", relative(t, now))]);
    let id = |i: Option<&tokman::token::TokenId>| Shown::whole(i.map_or("-", |i| i.as_str()));
    let rows: Vec<(&str, Shown)> = vec![
        ("id", Shown::whole(r.id.as_str())),
        ("user", Shown::words(escape(&r.user))),
        ("name", Shown::words(dash(r.name.as_deref()))),
        (
            "description",
            Shown::words(
                r.description
                    .as_deref()
                    .map_or_else(|| "-".to_owned(), |d| escape_description(d).into_owned()),
            ),
        ),
        ("status", Shown::parts(status_parts(r, now))),
        (
            "scopes",
            list(r.scopes.iter().map(|s| s.to_string()).collect()),
        ),
        ("created", when(r.created_at)),
        ("expires", when(r.expires_at)),
        (
            "revoked",
            // A rotating token's revocation is ahead of it, at its grace's end (shown below).
            r.revoked_at
                .filter(|_| r.status(now) != Status::Rotating)
                .map_or_else(|| Shown::whole("-"), when),
        ),
        (
            "revoke reason",
            Shown::words(dash(r.revoke_reason.as_deref())),
        ),
        (
            "last used",
            u.last_used_at.map_or_else(|| Shown::whole("never"), when),
        ),
        ("use count", Shown::whole(u.use_count.to_string())),
        (
            "max uses",
            Shown::whole(r.max_uses.map_or_else(
                || "-".to_owned(),
                |m| format!("{m} ({} left)", r.uses_left(u).unwrap_or(0)),
            )),
        ),
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
        ("rotated from", id(r.rotated_from.as_ref())),
        ("rotated to", id(r.rotated_to.as_ref())),
        (
            "grace until",
            r.grace_until.map_or_else(|| Shown::whole("-"), when),
        ),
    ];
    let names = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let beside = width.map(|w| usize::from(w).saturating_sub(names + 2));
    let stacked = beside.is_some_and(|b| rows.iter().any(|(_, v)| v.has_part_wider_than(b)));
    let mut out = String::new();
    for (k, v) in &rows {
        if stacked {
            let under = usize::from(width.unwrap_or(u16::MAX)).saturating_sub(2);
            out.push_str(&format!("{k}\n"));
            for line in fit::wrap_parts(v, under) {
                out.push_str(&format!("  {line}\n"));
            }
            continue;
        }
        let lines = match beside {
            Some(b) => fit::wrap_parts(v, b),
            None => vec![v.text().to_owned()],
        };
        for (i, line) in lines.iter().enumerate() {
            let k = if i == 0 { *k } else { "" };
            out.push_str(&format!("{k:>names$}  {line}\n"));
        }
    }
    out
}

/// The audit table. On a narrow terminal its columns go in this order, the least useful
/// first: SLOT, TIME (the UTC instant; WHEN says how long ago), USER, SEQ, DETAIL, WHEN, EVENT;
/// TOKEN stays. Only DETAIL and USER wrap.
const AUDIT_COLUMNS: [Column; 8] = [
    Column {
        header: "SEQ",
        fit: Fit::Whole,
        drop: Some(4),
    },
    Column {
        header: "TIME",
        fit: Fit::Whole,
        drop: Some(2),
    },
    Column {
        header: "WHEN",
        fit: Fit::Whole,
        drop: Some(6),
    },
    Column {
        header: "EVENT",
        fit: Fit::Whole,
        drop: Some(7),
    },
    Column {
        header: "TOKEN",
        fit: Fit::Whole,
        drop: None,
    },
    Column {
        header: "USER",
        fit: Fit::Parts { cap: 16 },
        drop: Some(3),
    },
    Column {
        header: "DETAIL",
        fit: Fit::Parts { cap: 16 },
        drop: Some(5),
    },
    Column {
        header: "SLOT",
        fit: Fit::Whole,
        drop: Some(1),
    },
];

/// The audit table: sequence number, time (UTC, and how long ago), event, token id, user,
/// detail, slot.
pub fn audit_table(entries: &[Entry], now: Timestamp, style: Style) -> String {
    let cells: Vec<Vec<Shown>> = entries
        .iter()
        .map(|e| {
            vec![
                Shown::whole(e.seq.to_string()),
                Shown::whole(rfc3339(e.at)),
                Shown::whole(relative(e.at, now)),
                Shown::whole(e.event.event.as_str()),
                Shown::whole(
                    e.event
                        .id
                        .as_ref()
                        .map_or_else(|| "-".into(), |i| i.to_string()),
                ),
                Shown::words(dash(e.event.user.as_deref())),
                Shown::words(dash(e.event.detail.as_deref())),
                Shown::whole(e.event.slot.map_or_else(|| "-".into(), |s| s.to_string())),
            ]
        })
        .collect();
    fit::draw(&AUDIT_COLUMNS, &cells, style)
}

/// The `key list` table. On a narrow terminal its columns go in this order: CREATED, LABEL,
/// LAST USED, KIND; SLOT (what `key remove` takes) stays.
const SLOT_COLUMNS: [Column; 5] = [
    Column {
        header: "SLOT",
        fit: Fit::Whole,
        drop: None,
    },
    Column {
        header: "KIND",
        fit: Fit::Whole,
        drop: Some(4),
    },
    Column {
        header: "LABEL",
        fit: Fit::Parts { cap: 16 },
        drop: Some(2),
    },
    Column {
        header: "CREATED",
        fit: Fit::Whole,
        drop: Some(1),
    },
    Column {
        header: "LAST USED",
        fit: Fit::Whole,
        drop: Some(3),
    },
];

pub fn slot_table(slots: &[SlotInfo], now: Timestamp, style: Style) -> String {
    let cells: Vec<Vec<Shown>> = slots
        .iter()
        .map(|s| {
            vec![
                Shown::whole(s.slot.to_string()),
                Shown::whole(s.kind.clone()),
                Shown::words(dash(s.label.as_deref())),
                Shown::whole(relative(s.created_at, now)),
                Shown::whole(
                    s.last_used_at
                        .map_or_else(|| "never".into(), |t| relative(t, now)),
                ),
            ]
        })
        .collect();
    fit::draw(&SLOT_COLUMNS, &cells, style)
}

/// The box a new token is shown in on a terminal, the one time it is shown, and a summary.
///
/// The token is always one line, whatever the terminal's width: on one too narrow for the box
/// around it, the box holds only the notice and the token follows on a line of its own, with no
/// border or indent, so that it runs past the edge (the terminal folds it) rather than be
/// broken, and a double click or a copy of the line takes exactly the token. The summary's
/// values continue under themselves when long, broken between their parts.
pub fn token_box(token: &str, r: &Record, now: Timestamp, width: Option<u16>) -> String {
    let notice = "This is the only time this token is shown. Store it now.";
    let total = width.map(usize::from);
    let inner = token.len().max(notice.len());
    let mut out = String::new();
    if total.is_none_or(|t| inner + 4 <= t) {
        let bar = "─".repeat(inner + 2);
        out.push_str(&format!(
            "┌{bar}┐\n│ {notice:<inner$} │\n│ {:<inner$} │\n│ {token:<inner$} │\n└{bar}┘\n",
            ""
        ));
    } else {
        let lines = fit::wrap(
            &Shown::words(notice),
            total.unwrap_or(0).saturating_sub(4).max(8),
        );
        let inner = lines.iter().map(|l| fit::width(l)).max().unwrap_or(0);
        let bar = "─".repeat(inner + 2);
        out.push_str(&format!("┌{bar}┐\n"));
        for line in &lines {
            out.push_str(&format!("│ {line:<inner$} │\n"));
        }
        out.push_str(&format!("└{bar}┘\n{token}\n"));
    }
    let joined = |items: Vec<String>| Shown::parts(items);
    let mut field = |label: &str, value: Shown| {
        const INDENT: usize = 11;
        let lines = match total {
            Some(t) => fit::wrap_parts(&value, t.saturating_sub(INDENT).max(1)),
            None => vec![value.text().to_owned()],
        };
        for (i, line) in lines.iter().enumerate() {
            let label = if i == 0 { label } else { "" };
            out.push_str(&format!("  {label:<8} {line}\n"));
        }
    };
    field("id", Shown::whole(r.id.as_str()));
    field("user", Shown::words(escape(&r.user)));
    if let Some(name) = &r.name {
        field("name", Shown::words(escape(name)));
    }
    field("scopes", Shown::parts(scope_parts(r)));
    field(
        "expires",
        Shown::parts(vec![
            rfc3339(r.expires_at),
            format!("({})", relative(r.expires_at, now)),
        ]),
    );
    if !r.rate_limits.is_empty() {
        field(
            "limits",
            joined(r.rate_limits.iter().map(|l| l.to_string()).collect()),
        );
    }
    if !r.allowed_ips.is_empty() {
        field(
            "ips",
            joined(r.allowed_ips.iter().map(|l| l.to_string()).collect()),
        );
    }
    if !r.allowed_origins.is_empty() {
        field(
            "origins",
            joined(r.allowed_origins.iter().map(|l| l.to_string()).collect()),
        );
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
        assert_eq!(relative(now + 30 * 86400 - 1, now), "in 30 days");
        assert_eq!(relative(now + 180 * 86400 - 5, now), "in 6 months");
    }

    #[test]
    fn relative_times_change_unit_at_each_boundary() {
        let now = 1_800_000_000;
        const MIN: i64 = 60;
        const HOUR: i64 = 3600;
        const DAY: i64 = 86400;
        let cases: [(i64, &str, &str); 14] = [
            (1, "in 1 second", "just now"),
            (2, "in 2 seconds", "just now"),
            (9, "in 9 seconds", "just now"),
            (10, "in 10 seconds", "10 seconds ago"),
            (89, "in 89 seconds", "89 seconds ago"),
            (90, "in 2 minutes", "2 minutes ago"),
            (90 * MIN - 1, "in 90 minutes", "90 minutes ago"),
            (90 * MIN, "in 2 hours", "2 hours ago"),
            (48 * HOUR - 1, "in 48 hours", "48 hours ago"),
            (48 * HOUR, "in 2 days", "2 days ago"),
            (60 * DAY - 1, "in 60 days", "60 days ago"),
            (60 * DAY, "in 2 months", "2 months ago"),
            (730 * DAY - 1, "in 24 months", "24 months ago"),
            (730 * DAY, "in 2 years", "2 years ago"),
        ];
        for (secs, future, past) in cases {
            assert_eq!(relative(now + secs, now), future, "+{secs}s");
            assert_eq!(relative(now - secs, now), past, "-{secs}s");
        }
        assert_eq!(relative(now, now), "just now");
        // Rounded to the nearest unit: half a unit rounds up.
        assert_eq!(relative(now + 2 * MIN + 29, now), "in 2 minutes");
        assert_eq!(relative(now + 2 * MIN + 30, now), "in 3 minutes");
        assert_eq!(relative(now - 3 * DAY - 11 * HOUR, now), "3 days ago");
    }

    #[test]
    fn the_count_line_groups_thousands_and_says_when_some_were_left_out() {
        assert_eq!(count_line(1, 1), "1 token");
        assert_eq!(count_line(3, 3), "3 tokens");
        assert_eq!(count_line(2000, 2000), "2,000 tokens");
        assert_eq!(count_line(50, 2000), "showing 50 of 2,000 tokens");
        assert_eq!(count_line(1, 2), "showing 1 of 2 tokens");
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }

    const NOW: Timestamp = 1_800_000_000;

    fn record(id: &str, user: &str, scopes: &[&str]) -> Record {
        use tokman::lifecycle::{Request, Settings, issue};
        let req = Request {
            user: user.into(),
            name: Some("ci deploy".into()),
            scopes: scopes
                .iter()
                .map(|s| tokman::policy::Scope::parse(s).unwrap())
                .collect(),
            expires_in: Some(tokman::duration::Span::parse("30d").unwrap()),
            ..Request::default()
        };
        let id = tokman::token::TokenId::parse(id).unwrap();
        issue(&Settings::default(), req, id, NOW - 3600).unwrap()
    }

    fn rows() -> Vec<(Record, Usage)> {
        let active = record("tm_aaaaaaaaaaaa", "alice", &["posts:read", "posts:write"]);
        let mut revoked = record("tm_bbbbbbbbbbbb", "bob", &[]);
        revoked.revoked_at = Some(NOW - 47);
        let mut expired = record("tm_cccccccccccc", "carol", &["admin"]);
        expired.expires_at = NOW - 3 * 86400;
        let used = Usage {
            use_count: 3,
            last_used_at: Some(NOW - 120),
            windows: Vec::new(),
        };
        vec![
            (active, used),
            (revoked, Usage::default()),
            (expired, Usage::default()),
        ]
    }

    fn pipe() -> Style {
        Style {
            terminal: false,
            color: false,
            width: None,
        }
    }

    fn terminal(width: u16) -> Style {
        Style {
            terminal: true,
            color: false,
            width: Some(width),
        }
    }

    #[test]
    fn status_says_since_when_and_expires_stays_the_expiry() {
        let table = token_table(&rows(), NOW, pipe());
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[2].contains("revoked 47 seconds ago"), "{table}");
        assert!(lines[2].contains("in 30 days"), "{table}");
        assert!(lines[3].contains("expired 3 days ago"), "{table}");
        assert!(
            lines[1].contains("active") && lines[1].contains("2 minutes ago"),
            "{table}"
        );
        for r in &rows() {
            let details = token_details(&r.0, &r.1, NOW, None);
            let status = details.lines().find(|l| l.contains("status")).unwrap();
            assert!(
                status.ends_with(&status_parts(&r.0, NOW).join(" ")),
                "{details}"
            );
        }
    }

    #[test]
    fn a_pipe_gets_every_column_on_one_line_whatever_the_width() {
        let table = token_table(&rows(), NOW, pipe());
        let header = table.lines().next().unwrap();
        for h in TOKEN_COLUMNS.iter().map(|c| c.header) {
            assert!(header.contains(h), "{table}");
        }
        assert_eq!(table.lines().count(), 4, "{table}");
        assert!(!table.contains('│'));
    }

    /// Every line of `text` at most `width` wide, but those `except` allows.
    #[track_caller]
    fn fits(text: &str, width: u16, except: impl Fn(&str) -> bool) {
        for line in text.lines().filter(|l| !except(l)) {
            assert!(
                fit::width(line) <= usize::from(width),
                "a line wider than {width}: {line:?} in\n{text}"
            );
        }
    }

    #[test]
    fn tables_fit_the_terminal_dropping_columns_and_never_breaking_an_id() {
        let rows = rows();
        for width in [20, 30, 40, 50, 60, 70, 80, 100, 120, 200] {
            let table = token_table(&rows, NOW, terminal(width));
            fits(&table, width.max(19), |_| false);
            for (r, _) in &rows {
                assert!(table.contains(&format!("│ {} ", r.id)), "{width}:\n{table}");
            }
            for cell in ["revoked", "expired", "in 30 days", "posts:read"] {
                // Shown whole, or not at all.
                let at = table.find(&cell[..4]);
                assert!(
                    at.is_none() || table.contains(cell),
                    "{width}: {cell}\n{table}"
                );
            }
        }
        // The order columns go in: NAME first, USER last, ID never.
        let shown = |width: u16| {
            let table = token_table(&rows, NOW, terminal(width));
            let header = table.lines().nth(1).unwrap().to_owned();
            TOKEN_COLUMNS
                .iter()
                .filter(|c| header.contains(&format!(" {} ", c.header)))
                .map(|c| c.header)
                .collect::<Vec<_>>()
        };
        assert_eq!(shown(200).len(), 7);
        assert_eq!(shown(80), ["ID", "USER", "STATUS", "EXPIRES", "LAST USED"]);
        assert_eq!(shown(40), ["ID", "USER"]);
        assert_eq!(shown(10), ["ID"]);
        // Unknown width: every column, boxed, nothing wrapped.
        let style = Style {
            width: None,
            ..terminal(1)
        };
        let table = token_table(&rows, NOW, style);
        assert_eq!(table.lines().count(), 4 + rows.len(), "{table}");
    }

    #[test]
    fn the_token_box_never_breaks_the_token() {
        let token = "tm_aaaaaaaaaaaa_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklm";
        let (r, _) = &rows()[0];
        for width in [30u16, 40, 68, 69, 80, 160] {
            let text = token_box(token, r, NOW, Some(width));
            assert_eq!(text.matches(token).count(), 1, "{text}");
            let line = text.lines().find(|l| l.contains(token)).unwrap();
            if width >= 69 {
                assert_eq!(line, format!("│ {token} │"), "{width}:\n{text}");
            } else {
                assert_eq!(line, token, "alone on its line at {width}:\n{text}");
            }
            if width >= 40 {
                fits(&text, width, |l| l == line);
            }
            assert!(text.contains("only time this"), "{text}");
            assert!(text.contains(&format!("  id       {}\n", r.id)), "{text}");
        }
        assert_eq!(
            token_box(token, r, NOW, None),
            token_box(token, r, NOW, Some(200))
        );
    }

    #[test]
    fn inspect_continues_long_values_under_themselves_and_stacks_when_narrow() {
        let (r, u) = &rows()[0];
        let wide = token_details(r, u, NOW, None);
        assert!(
            wide.starts_with("             id  tm_aaaaaaaaaaaa\n"),
            "{wide}"
        );
        assert!(wide.contains(" (in 30 days)\n"), "{wide}");
        let forty = token_details(r, u, NOW, Some(40));
        fits(&forty, 40, |_| false);
        assert!(
            forty.starts_with("             id  tm_aaaaaaaaaaaa\n"),
            "{forty}"
        );
        assert!(
            forty.contains("\n                 (in 30 days)\n"),
            "{forty}"
        );
        // Too narrow beside the names for a time: every value under its name.
        let narrow = token_details(r, u, NOW, Some(30));
        fits(&narrow, 30, |_| false);
        assert!(
            narrow.starts_with("id\n  tm_aaaaaaaaaaaa\nuser\n  alice\n"),
            "{narrow}"
        );
    }

    #[test]
    fn the_token_box_shows_policy_only_when_there_is_some() {
        use tokman::lifecycle::{Request, Settings, issue};
        use tokman::policy::{IpAllow, Origin, RateLimit};
        let now = 1_800_000_000;
        let id = tokman::token::TokenId::parse("tm_aaaaaaaaaaaa").unwrap();
        let mut req = Request {
            user: "alice".into(),
            ..Request::default()
        };
        let plain = issue(&Settings::default(), req.clone(), id.clone(), now).unwrap();
        let text = token_box("TOKEN", &plain, now, None);
        assert!(!text.contains("limits") && !text.contains("ips") && !text.contains("origins"));
        req.rate_limits = Some(vec![RateLimit::parse("60/min").unwrap()]);
        req.allowed_ips = vec![IpAllow::parse("10.0.0.0/8").unwrap()];
        req.allowed_origins = vec![Origin::parse("https://app.example.com").unwrap()];
        let full = issue(&Settings::default(), req, id, now).unwrap();
        let text = token_box("TOKEN", &full, now, None);
        assert!(text.contains("limits   60/min"), "{text}");
        assert!(text.contains("ips      10.0.0.0/8"), "{text}");
        assert!(text.contains("origins  https://app.example.com"), "{text}");
    }
}
