//! Fitting a table to the terminal: which columns stay, how wide each one is, and where a cell
//! breaks over lines. comfy-table draws the result; this only decides.
//!
//! What must be copied whole (an id, a time, a status word) is never broken: on a narrow
//! terminal a table loses whole columns, the least useful first (each table says its order),
//! before anything like that would wrap. Free text (names, scopes, details) breaks between its
//! parts, and inside a part only when the part is longer than its column allows at all. The id
//! column is never dropped; if even it does not fit, it runs past the edge rather than break.
//!
//! A pipe gets every column, each cell on one line, as plain columns two spaces apart: that is
//! what scripts and `grep` read. So does a terminal whose width is unknown.

use comfy_table::{Cell, Color, Table};
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

use super::Style;

/// How a column's cells may break over lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Never: the column is as wide as its widest cell (ids, times, counts, kinds).
    Whole,
    /// Between its cells' parts; inside a part only if the part is wider than `cap`.
    Parts { cap: usize },
}

/// One column of a table.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub header: &'static str,
    pub fit: Fit,
    /// When a narrow terminal drops the column: 1 goes first, then 2, and so on. `None`: never
    /// dropped (the column that identifies a row).
    pub drop: Option<u8>,
}

/// One cell: its whole text and the parts it may break between (words, scopes, a status and
/// its time), with a colour for a terminal that shows colour.
#[derive(Debug, Clone)]
pub struct Shown {
    full: String,
    parts: Vec<String>,
    color: Option<Color>,
}

impl Shown {
    /// Text that is never broken between words (an id, "in 30 days").
    pub fn whole(s: impl Into<String>) -> Shown {
        let full = s.into();
        Shown {
            parts: vec![full.clone()],
            full,
            color: None,
        }
    }

    /// Text that may break between words.
    pub fn words(s: impl Into<String>) -> Shown {
        let full = s.into();
        let parts = full
            .split(' ')
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect();
        Shown {
            full,
            parts,
            color: None,
        }
    }

    /// Parts shown joined by a space when they fit on one line, else one or more a line.
    pub fn parts(parts: Vec<String>) -> Shown {
        Shown {
            full: parts.join(" "),
            parts,
            color: None,
        }
    }

    /// The whole text, on one line.
    pub fn text(&self) -> &str {
        &self.full
    }

    /// Whether any part is wider than `max` (and so could only be shown by breaking it).
    pub fn has_part_wider_than(&self, max: usize) -> bool {
        self.parts.iter().any(|p| width(p) > max)
    }

    pub fn color(mut self, color: Color) -> Shown {
        self.color = Some(color);
        self
    }
}

/// How many terminal columns `s` takes.
pub fn width(s: &str) -> usize {
    UnicodeWidthStr::width(s)
}

/// A table's outer width with these column widths: each column has one space of padding on
/// either side and a border after it, and there is one border before the first.
fn outer(widths: &[Option<usize>]) -> usize {
    1 + widths.iter().flatten().map(|w| w + 3).sum::<usize>()
}

/// The width of each column on a terminal `total` columns wide, `None` for a dropped one.
///
/// Each column first gets the least it can do with: its widest cell for [`Fit::Whole`], its
/// widest part (up to `cap`) for [`Fit::Parts`], and never less than its header. While that
/// is wider than the terminal, the droppable column with the lowest rank goes. What room is
/// left goes to the breakable columns, those closest to fitting on one line first.
pub fn layout(columns: &[Column], rows: &[Vec<Shown>], total: usize) -> Vec<Option<usize>> {
    let natural: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|r| width(&r[i].full))
                .fold(width(c.header), usize::max)
        })
        .collect();
    let least: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| match c.fit {
            Fit::Whole => natural[i],
            Fit::Parts { cap } => rows
                .iter()
                .flat_map(|r| r[i].parts.iter())
                .map(|p| width(p).min(cap))
                .fold(width(c.header), usize::max)
                .min(natural[i]),
        })
        .collect();
    let mut widths: Vec<Option<usize>> = least.iter().copied().map(Some).collect();
    while outer(&widths) > total {
        let next = columns
            .iter()
            .enumerate()
            .filter(|(i, c)| widths[*i].is_some() && c.drop.is_some())
            .min_by_key(|(_, c)| c.drop);
        match next {
            Some((i, _)) => widths[i] = None,
            None => break,
        }
    }
    let mut spare = total.saturating_sub(outer(&widths));
    let mut growing: Vec<usize> = (0..columns.len())
        .filter(|&i| widths[i].is_some() && matches!(columns[i].fit, Fit::Parts { .. }))
        .collect();
    // Those that need least to stop wrapping first, so that as few columns wrap as can be;
    // between equals, the more useful (never dropped, then dropped last).
    growing.sort_by_key(|&i| {
        let need = natural[i] - least[i];
        (need, std::cmp::Reverse(columns[i].drop.unwrap_or(u8::MAX)))
    });
    for i in growing {
        if let Some(w) = &mut widths[i] {
            let more = spare.min(natural[i] - *w);
            *w += more;
            spare -= more;
        }
    }
    widths
}

/// A cell's lines in a column `max` wide: its whole text when it fits, else its parts packed
/// greedily, a part wider than the column broken at its spaces and, only then, inside words.
pub fn wrap(cell: &Shown, max: usize) -> Vec<String> {
    if width(&cell.full) <= max {
        return vec![cell.full.clone()];
    }
    let mut pieces: Vec<String> = Vec::new();
    for part in &cell.parts {
        if width(part) <= max {
            pieces.push(part.clone());
            continue;
        }
        for word in part.split(' ').filter(|w| !w.is_empty()) {
            if width(word) <= max {
                pieces.push(word.to_owned());
            } else {
                pieces.extend(chunks(word, max));
            }
        }
    }
    pack(pieces, max)
}

/// As [`wrap`], except that a part is never broken: one wider than `max` has a line of its own
/// and runs past the edge (an id, a time or a scope is copied whole).
pub fn wrap_parts(cell: &Shown, max: usize) -> Vec<String> {
    if width(&cell.full) <= max {
        return vec![cell.full.clone()];
    }
    pack(cell.parts.clone(), max)
}

/// Pieces joined by spaces into lines at most `max` wide, greedily; a piece wider than that
/// alone on its line.
fn pack(pieces: Vec<String>, max: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for piece in pieces {
        if line.is_empty() {
            line = piece;
        } else if width(&line) + 1 + width(&piece) <= max {
            line.push(' ');
            line.push_str(&piece);
        } else {
            lines.push(std::mem::replace(&mut line, piece));
        }
    }
    lines.push(line);
    lines
}

/// A word too long for its column, cut into pieces at most `max` wide (a character wider than
/// that alone on its piece).
fn chunks(word: &str, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut piece = String::new();
    let mut used = 0;
    for c in word.chars() {
        let w = UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w > max && !piece.is_empty() {
            out.push(std::mem::take(&mut piece));
            used = 0;
        }
        piece.push(c);
        used += w;
    }
    if !piece.is_empty() {
        out.push(piece);
    }
    out
}

/// Draw a table: fitted and boxed on a terminal of known width, boxed at full width on one of
/// unknown width, plain columns for a pipe.
pub fn draw(columns: &[Column], rows: &[Vec<Shown>], style: Style) -> String {
    let widths: Vec<Option<usize>> = match style.width {
        Some(total) if style.terminal => layout(columns, rows, usize::from(total)),
        _ => vec![None; columns.len()],
    };
    let fitted = widths.iter().any(Option::is_some);
    let keep = |i: usize| !fitted || widths[i].is_some();
    let mut t = Table::new();
    if style.terminal {
        t.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
    } else {
        t.load_style(comfy_table::presets::NOTHING);
        t.force_no_tty();
    }
    t.set_header(
        columns
            .iter()
            .enumerate()
            .filter(|&(i, _)| keep(i))
            .map(|(_, c)| Cell::new(c.header))
            .collect::<Vec<_>>(),
    );
    for row in rows {
        t.add_row(
            row.iter()
                .enumerate()
                .filter(|&(i, _)| keep(i))
                .map(|(i, cell)| {
                    let text = match widths[i] {
                        Some(w) => wrap(cell, w).join("\n"),
                        None => cell.full.clone(),
                    };
                    match cell.color {
                        Some(color) if style.color => Cell::new(text).fg(color),
                        _ => Cell::new(text),
                    }
                })
                .collect::<Vec<_>>(),
        );
    }
    if !style.terminal {
        // Columns two spaces apart, from the first character of the line, like `ps`.
        for column in t.column_iter_mut() {
            column.set_padding((0, 2));
        }
        // Without the padding that would end every line in spaces.
        return t
            .to_string()
            .lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n");
    }
    t.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: Column = Column {
        header: "ID",
        fit: Fit::Whole,
        drop: None,
    };

    fn terminal(width: u16) -> Style {
        Style {
            terminal: true,
            color: false,
            width: Some(width),
        }
    }

    #[test]
    fn parts_pack_greedily_and_break_inside_only_what_cannot_fit() {
        let cell = Shown::parts(vec!["revoked".into(), "47 seconds ago".into()]);
        assert_eq!(wrap(&cell, 40), ["revoked 47 seconds ago"]);
        assert_eq!(wrap(&cell, 14), ["revoked", "47 seconds ago"]);
        assert_eq!(wrap(&cell, 10), ["revoked 47", "seconds", "ago"]);
        assert_eq!(
            wrap(&Shown::words("abcdefgh ij"), 3),
            ["abc", "def", "gh", "ij"]
        );
        assert_eq!(wrap(&Shown::words("日本語"), 4), ["日本", "語"]);
    }

    #[test]
    fn columns_drop_in_their_order_and_the_id_column_never() {
        let columns = [
            ID,
            Column {
                header: "A",
                fit: Fit::Whole,
                drop: Some(2),
            },
            Column {
                header: "B",
                fit: Fit::Whole,
                drop: Some(1),
            },
        ];
        let rows = vec![vec![
            Shown::whole("x".repeat(10)),
            Shown::whole("a".repeat(10)),
            Shown::whole("b".repeat(10)),
        ]];
        assert_eq!(layout(&columns, &rows, 40), [Some(10), Some(10), Some(10)]);
        assert_eq!(layout(&columns, &rows, 39), [Some(10), Some(10), None]);
        assert_eq!(layout(&columns, &rows, 27), [Some(10), Some(10), None]);
        assert_eq!(layout(&columns, &rows, 26), [Some(10), None, None]);
        assert_eq!(layout(&columns, &rows, 5), [Some(10), None, None]);
    }

    #[test]
    fn spare_room_goes_first_to_the_columns_closest_to_fitting() {
        let columns = [
            ID,
            Column {
                header: "NOTE",
                fit: Fit::Parts { cap: 8 },
                drop: Some(1),
            },
            Column {
                header: "WHO",
                fit: Fit::Parts { cap: 8 },
                drop: Some(2),
            },
        ];
        let rows = vec![vec![
            Shown::whole("id"),
            Shown::words("a b c d e f"),
            Shown::words("x y z"),
        ]];
        // Least: 2, 4 (header), 3 (header): 1 + 5 + 7 + 6 = 19. Spare room goes to WHO (two
        // short of one line, where NOTE is seven short) until it fits, then to NOTE.
        assert_eq!(layout(&columns, &rows, 20), [Some(2), Some(4), Some(4)]);
        assert_eq!(layout(&columns, &rows, 22), [Some(2), Some(5), Some(5)]);
        assert_eq!(layout(&columns, &rows, 26), [Some(2), Some(9), Some(5)]);
    }

    #[test]
    fn a_fitted_table_is_no_wider_than_the_terminal() {
        let columns = [
            ID,
            Column {
                header: "TEXT",
                fit: Fit::Parts { cap: 12 },
                drop: Some(1),
            },
        ];
        let rows = vec![vec![
            Shown::whole("tm_0123456789ab"),
            Shown::words("the quick brown fox jumps over the lazy dog"),
        ]];
        for w in [30u16, 40, 60] {
            let text = draw(&columns, &rows, terminal(w));
            assert!(text.contains("tm_0123456789ab"), "{text}");
            for line in text.lines() {
                assert!(line.chars().count() <= usize::from(w), "{w}:\n{text}");
            }
        }
        // Too narrow even for the id: it runs past the edge, whole.
        let text = draw(&columns, &rows, terminal(10));
        assert!(
            text.contains("tm_0123456789ab") && !text.contains("TEXT"),
            "{text}"
        );
    }
}
