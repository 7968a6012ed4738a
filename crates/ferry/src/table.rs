//! The command line's one table printer: each column as wide as its widest cell, two spaces
//! between columns, numbers right-aligned where asked. A left-aligned last column is not padded,
//! and a cell of several lines there continues under it (check reports, reasons).

pub struct Table {
    header: Vec<String>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&str]) -> Table {
        Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            right: vec![false; header.len()],
            rows: Vec::new(),
        }
    }

    /// Right-aligns the columns at these places (counted from 0).
    pub fn right(mut self, columns: &[usize]) -> Table {
        for &c in columns {
            self.right[c] = true;
        }
        self
    }

    /// Adds a row; missing cells are empty, extra ones are dropped.
    pub fn row(&mut self, mut cells: Vec<String>) {
        cells.resize(self.header.len(), String::new());
        self.rows.push(cells);
    }

    pub fn with_rows(mut self, rows: impl IntoIterator<Item = Vec<String>>) -> Table {
        for r in rows {
            self.row(r);
        }
        self
    }

    pub fn render(&self) -> String {
        let n = self.header.len();
        let width = |cell: &str| cell.lines().map(|l| l.chars().count()).max().unwrap_or(0);
        let mut widths: Vec<usize> = self.header.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(width(cell));
            }
        }
        let indent: usize = widths[..n - 1].iter().map(|w| w + 2).sum();
        let mut out = String::new();
        for cells in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in cells.iter().enumerate() {
                let w = widths[i];
                if self.right[i] {
                    line.push_str(&format!("{cell:>w$}  "));
                } else if i + 1 < n {
                    line.push_str(&format!("{cell:w$}  "));
                } else {
                    let mut lines = cell.lines();
                    line.push_str(lines.next().unwrap_or(""));
                    for l in lines {
                        line.push('\n');
                        line.push_str(&" ".repeat(indent));
                        line.push_str(l);
                    }
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    pub fn print(&self) {
        print!("{}", self.render());
    }
}

/// Prints a table of left-aligned columns.
pub fn print(header: &[&str], rows: Vec<Vec<String>>) {
    Table::new(header).with_rows(rows).print();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fit_their_widest_cell_and_the_last_runs_free() {
        let mut t = Table::new(&["TOPIC", "QUEUES", "STATE"]).right(&[1]);
        t.row(vec!["orders".into(), "16".into(), "ready".into()]);
        t.row(vec!["a".into(), "4".into(), "blocked:\nsource-backlog-zero".into()]);
        t.row(vec!["short".into()]);
        assert_eq!(
            t.render(),
            "TOPIC   QUEUES  STATE\n\
             orders      16  ready\n\
             a            4  blocked:\n                \
             source-backlog-zero\n\
             short\n"
        );
        let numbers =
            Table::new(&["GROUP", "LAG"]).right(&[1]).with_rows([vec!["g".into(), "1234567".into()]]);
        assert_eq!(numbers.render(), "GROUP      LAG\ng      1234567\n");
    }
}
