//! Plain text tables for `status`, `ls` and `test`: columns as wide as their widest cell, in
//! display width (what a terminal shows: `✓` is one column, three bytes), two spaces apart.

use unicode_width::UnicodeWidthStr;

/// Rows of cells under a header. The last column is never padded, so lines end with text.
#[derive(Debug, Default)]
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
    /// Columns aligned to the right (numbers).
    right: Vec<usize>,
    indent: usize,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table { header: header.iter().map(|h| h.to_string()).collect(), ..Default::default() }
    }

    /// A table with no header line.
    pub fn bare() -> Table {
        Table::default()
    }

    /// Aligns column `col` (from 0) to the right.
    pub fn right(mut self, col: usize) -> Table {
        self.right.push(col);
        self
    }

    /// Starts every line with `n` spaces.
    pub fn indent(mut self, n: usize) -> Table {
        self.indent = n;
        self
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as lines, each ending in a newline.
    pub fn render(&self) -> String {
        let lines: Vec<&Vec<String>> =
            std::iter::once(&self.header).filter(|h| !h.is_empty()).chain(&self.rows).collect();
        let cols = lines.iter().map(|l| l.len()).max().unwrap_or(0);
        let widths: Vec<usize> = (0..cols)
            .map(|c| lines.iter().filter_map(|l| l.get(c)).map(|s| s.width()).max().unwrap_or(0))
            .collect();
        let mut out = String::new();
        for cells in lines {
            let mut line = " ".repeat(self.indent);
            for (c, cell) in cells.iter().enumerate() {
                if c > 0 {
                    line.push_str("  ");
                }
                let gap = " ".repeat(widths[c] - cell.width());
                let last = c + 1 == cells.len();
                if self.right.contains(&c) {
                    line.push_str(&gap);
                    line.push_str(cell);
                } else {
                    line.push_str(cell);
                    if !last {
                        line.push_str(&gap);
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_by_display_width_not_bytes() {
        let mut t = Table::new(&["CHECK", "OK", "TIME"]).right(2);
        t.row(vec!["a ✓ b".into(), "✓".into(), "1.0ms".into()]);
        t.row(vec!["a-much-longer-name".into(), "fail".into(), "12.5ms".into()]);
        let text = t.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "CHECK               OK      TIME");
        assert_eq!(lines[1], "a ✓ b               ✓      1.0ms");
        assert_eq!(lines[2], "a-much-longer-name  fail  12.5ms");
        let widths: Vec<usize> = lines.iter().map(|l| l.width()).collect();
        assert!(widths.iter().all(|w| *w == widths[0]), "{widths:?}\n{text}");
    }

    #[test]
    fn the_last_column_is_not_padded_and_rows_may_be_short() {
        let mut t = Table::bare().indent(2);
        t.row(vec!["eth0".into(), "up".into(), "10.0.0.1/24".into()]);
        t.row(vec!["a-long-iface".into(), "down".into()]);
        assert_eq!(t.render(), "  eth0          up    10.0.0.1/24\n  a-long-iface  down\n");
    }
}
