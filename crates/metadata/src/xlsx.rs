//! `.xlsx` workbooks of topics and consumer groups, read into and written from the same
//! [`Document`](crate::Document) a JSON export gives, so import, diff and plan take either.
//!
//! A workbook has a `Topics` sheet and a `Groups` sheet (either may be missing), plus a read-me
//! sheet that is not read. The first non-empty row of a sheet holds the headers, matched by name
//! in any order and case; the columns are in docs/metadata-format.md. Every problem is collected
//! with its sheet, row, column letter and column name, and any problem refuses the workbook
//! unless only the valid rows are asked for. ACL accounts are never written to a workbook.

mod columns;
mod error;
mod grid;
mod read;
mod write;

#[cfg(test)]
mod tests;

pub use error::{CellProblem, Problem, XlsxError};
pub use grid::{MAX_CELLS, MAX_COLUMNS, MAX_ROWS, MAX_UNPACKED};
pub use read::{read_workbook, ReadOptions, WorkbookRead};
pub use write::{plain_workbook, template, write_document, Cell, Flavor, Written};

/// The sheet of topics.
pub const TOPICS_SHEET: &str = "Topics";
/// The sheet of consumer groups.
pub const GROUPS_SHEET: &str = "Groups";
/// The sheet that explains the columns; never read.
pub const README_SHEET: &str = "Read me";

/// Whether a file is a workbook rather than JSON: an `.xlsx` name, or the ZIP signature.
pub fn looks_like_xlsx(name: &std::path::Path, bytes: &[u8]) -> bool {
    name.extension().is_some_and(|e| e.eq_ignore_ascii_case("xlsx")) || bytes.starts_with(b"PK\x03\x04")
}
