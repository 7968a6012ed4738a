//! Reading a workbook within bounds. A workbook is a ZIP of XML parts, and a few KB of it can
//! describe a sheet of 1,048,576 rows by 16,384 columns or unpack to gigabytes; so nothing here
//! builds a grid of a sheet's used area. The parts are first unpacked once into nothing, to
//! measure them ([`MAX_UNPACKED`]); then a sheet's cells are streamed one by one and only the
//! non-empty ones in the first [`MAX_COLUMNS`] columns are kept, at most [`MAX_CELLS`] of them,
//! none past row [`MAX_ROWS`].

use std::io::{Cursor, Read};

use calamine::{Data, DataRef, Xlsx};

use super::columns::letter;
use super::error::{CellProblem, Problem};

/// What all the parts of a workbook may unpack to together: 64 MiB, several times what a
/// workbook of [`MAX_ROWS`] topics with every column takes.
pub const MAX_UNPACKED: u64 = 64 * 1024 * 1024;
/// Rows of a sheet, the header row included. No cluster has 100,000 topics or groups.
pub const MAX_ROWS: u32 = 100_000;
/// Columns read, A to BL: Ferry's columns (13 at most on a sheet) with room for others between
/// them. Cells further right are not kept (a warning says how many there were).
pub const MAX_COLUMNS: u32 = 64;
/// Non-empty cells kept from one sheet (in the first [`MAX_COLUMNS`] columns).
pub const MAX_CELLS: usize = 1_500_000;

/// Unpacks every part of the workbook into nothing, to refuse one that would unpack to more than
/// [`MAX_UNPACKED`] before calamine reads its shared strings, styles and sheets into memory. The
/// sizes the ZIP declares are not trusted: the bytes are counted as they come out.
pub(crate) fn check_unpacked_size(bytes: &[u8]) -> Result<(), String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| e.to_string())?;
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).map_err(|e| e.to_string())?;
        let name = part.name().to_string();
        let left = MAX_UNPACKED - total;
        let n = std::io::copy(&mut (&mut part).take(left + 1), &mut std::io::sink())
            .map_err(|e| format!("{name}: {e}"))?;
        if n > left {
            return Err(format!(
                "it unpacks to more than {} MiB (at {name}); Ferry reads workbooks up to that size",
                MAX_UNPACKED / (1024 * 1024)
            ));
        }
        total += n;
    }
    Ok(())
}

/// Runs some of calamine's reading, turning a panic in it into the reason the workbook is refused.
/// calamine is fuzzed here (fuzz/fuzz_targets/read_xlsx*.rs) and has panicked on malformed XML
/// before (0.30 on a shared-string index past the table); a file must not take the process down.
/// What the closure borrows is dropped unused after a panic, so it is unwind safe in effect.
pub(crate) fn unpanicked<T>(read: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).map_err(|panic| {
        let why = match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
            (Some(s), _) => s.to_string(),
            (_, Some(s)) => s.clone(),
            _ => "a panic without a message".to_string(),
        };
        format!("the workbook is malformed (the reader failed: {why})")
    })
}

/// The kept cells of one sheet: rows in order, each with its non-empty cells in column order.
#[derive(Debug, Default)]
pub(crate) struct Grid {
    /// (0-based row, cells as (0-based column, value)).
    pub rows: Vec<(u32, Vec<(u32, Data)>)>,
    /// Non-empty cells right of the columns read: how many, and the first one's place (`ZZ7`).
    pub ignored: Option<(usize, String)>,
}

/// Streams the cells of `sheet` into a [`Grid`]. A non-empty cell past [`MAX_ROWS`], or more than
/// [`MAX_CELLS`] cells, refuses the sheet with a problem naming the cell.
pub(crate) fn read_sheet<RS: Read + std::io::Seek>(
    workbook: &mut Xlsx<RS>,
    sheet: &str,
) -> Result<Result<Grid, Problem>, calamine::XlsxError> {
    let mut reader = workbook.worksheet_cells_reader(sheet)?;
    let mut cells: Vec<(u32, u32, Data)> = Vec::new();
    let mut ignored: Option<(usize, String)> = None;
    let too_large = |row: u32, col: u32, why: String| Problem::Cell {
        sheet: sheet.to_string(),
        row: row.saturating_add(1),
        column: letter(col),
        header: "cell".to_string(),
        problem: CellProblem::TooFar(why),
    };
    while let Some(cell) = reader.next_cell()? {
        let (row, col) = cell.get_position();
        let value = cell.get_value();
        if matches!(value, DataRef::Empty) {
            continue;
        }
        if row >= MAX_ROWS {
            return Ok(Err(too_large(
                row,
                col,
                format!("is past row {MAX_ROWS}; Ferry reads at most {MAX_ROWS} rows of a sheet"),
            )));
        }
        if col >= MAX_COLUMNS {
            match &mut ignored {
                Some((n, _)) => *n += 1,
                None => ignored = Some((1, format!("{}{}", letter(col), row + 1))),
            }
            continue;
        }
        if cells.len() == MAX_CELLS {
            return Ok(Err(too_large(
                row,
                col,
                format!("is one more than the {MAX_CELLS} cells Ferry reads of a sheet"),
            )));
        }
        cells.push((row, col, Data::from(value.clone())));
    }
    // Sheets list rows and cells in order; a hand-made one need not.
    cells.sort_by_key(|(row, col, _)| (*row, *col));
    let mut rows: Vec<(u32, Vec<(u32, Data)>)> = Vec::new();
    for (row, col, value) in cells {
        match rows.last_mut() {
            Some((r, cells)) if *r == row => {
                // A cell given twice: the later one wins, as in the grid calamine builds.
                match cells.last_mut() {
                    Some((c, v)) if *c == col => *v = value,
                    _ => cells.push((col, value)),
                }
            }
            _ => rows.push((row, vec![(col, value)])),
        }
    }
    Ok(Ok(Grid { rows, ignored }))
}
