//! The `table` format's layout: columns padded by display width (so CJK
//! and other wide characters align), long cells cut with `…`. A table
//! holds its rows until it is written: its widths depend on every row.

use std::io::Write;
use unicode_width::{UnicodeWidthChar as _, UnicodeWidthStr as _};

/// Widest a cell may be, in terminal columns.
pub(crate) const MAX_CELL: usize = 60;

/// Rows of text cells, the first one the header.
#[derive(Debug, Default)]
pub(crate) struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with this header row.
    pub(crate) fn new(header: impl IntoIterator<Item = String>) -> Self {
        Self { rows: vec![header.into_iter().collect()] }
    }

    /// Adds a row as given (see [`truncate`]).
    pub(crate) fn push(&mut self, cells: impl IntoIterator<Item = String>) {
        self.rows.push(cells.into_iter().collect());
    }

    /// Data rows (without the header).
    pub(crate) fn len(&self) -> usize {
        self.rows.len() - 1
    }

    /// Writes the rows, every column but the last padded to its widest
    /// cell plus two spaces; trailing spaces trimmed.
    pub(crate) fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let cols = self.rows.first().map_or(0, Vec::len);
        let widths: Vec<usize> = (0..cols)
            .map(|c| self.rows.iter().map(|r| r.get(c).map_or(0, |s| s.width())).max().unwrap_or(0))
            .collect();
        for row in &self.rows {
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if c + 1 < cols {
                    line.extend(std::iter::repeat_n(' ', widths[c] - cell.width() + 2));
                }
            }
            writeln!(out, "{}", line.trim_end())?;
        }
        Ok(())
    }
}

/// Cuts `s` to at most `max` display columns, ending in `…` when cut.
/// Control characters (a newline in a title) become spaces so a row stays
/// one line.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    let clean = |c: char| if c.is_control() { ' ' } else { c };
    if s.width() <= max && !s.chars().any(char::is_control) {
        return s.to_owned();
    }
    let mut t = String::new();
    let mut w = 0;
    let total: usize = s.chars().map(|c| clean(c).width().unwrap_or(0)).sum();
    let room = if total <= max { max } else { max - 1 };
    for c in s.chars().map(clean) {
        let cw = c.width().unwrap_or(0);
        if w + cw > room {
            break;
        }
        w += cw;
        t.push(c);
    }
    if total > max {
        t.push('…');
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide_characters_align_by_display_width() {
        let mut t = Table::new(["TITLE".to_owned(), "N".to_owned()]);
        t.push(["日本語のタイトル".to_owned(), "1".to_owned()]);
        t.push(["ascii".to_owned(), "2".to_owned()]);
        let mut out = Vec::new();
        t.write(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let cols: Vec<usize> =
            text.lines().map(|l| l[..l.rfind(' ').unwrap() + 1].width()).collect();
        assert_eq!(cols, [18, 18, 18], "{text}");
    }

    #[test]
    fn truncation_counts_columns_not_chars() {
        let wide = "漢".repeat(40);
        let cut = truncate(&wide, 60);
        assert!(cut.width() <= 60 && cut.ends_with('…'), "{cut}");
        assert_eq!(truncate("short", 60), "short");
        assert_eq!(truncate("a\nb", 60), "a b");
        let long = "x".repeat(70);
        assert_eq!(truncate(&long, 60).width(), 60);
    }
}
