//! Workbooks made to hurt: a few KB that describe a huge sheet, or unpack to far more than they
//! weigh. Each must end in a clear answer, quickly and in little memory.

use std::io::{Cursor, Write};

use rust_xlsxwriter::Workbook;

use super::*;

/// A Topics sheet with a header row and one valid topic, and whatever `more` writes.
fn topics_and(more: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> Vec<u8> {
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Topics").unwrap();
    for (j, h) in ["Topic", "Read queues", "Write queues"].iter().enumerate() {
        ws.write_string(0, j as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "orders").unwrap();
    ws.write_number(1, 1, 4.0).unwrap();
    ws.write_number(1, 2, 4.0).unwrap();
    more(ws);
    wb.save_to_buffer().unwrap()
}

#[test]
fn a_cell_at_the_far_corner_refuses_the_sheet_naming_the_cell() {
    // A1 and XFD1048576: 17 billion cells as a grid, a few KB as a file.
    let bytes = topics_and(|ws| {
        ws.write_string(1_048_575, 16_383, "far").unwrap();
    });
    assert!(bytes.len() < 20_000, "{}", bytes.len());
    let err = read(&bytes).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("Topics!XFD1048576") && text.contains("100000 rows"), "{text}");
    assert!(!err.only_row_problems(), "valid rows only must not get past it");
}

#[test]
fn a_far_row_in_a_column_ferry_reads_is_refused_too() {
    let bytes = topics_and(|ws| {
        ws.write_string(100_000, 0, "late").unwrap();
    });
    let text = read(&bytes).unwrap_err().to_string();
    assert!(text.contains("Topics!A100001"), "{text}");
    // The last row allowed is read.
    let bytes = topics_and(|ws| {
        ws.write_string(99_999, 0, "last").unwrap();
        ws.write_number(99_999, 1, 1.0).unwrap();
        ws.write_number(99_999, 2, 1.0).unwrap();
    });
    let names: Vec<String> =
        ferry(&read(&bytes).unwrap().document).topics.iter().map(|t| t.name.clone()).collect();
    assert_eq!(names, ["orders", "last"]);
}

#[test]
fn cells_far_to_the_right_are_ignored_not_allocated() {
    // A1 and ZZ20000 used to take a grid of 20,000 x 702 cells (446 MB).
    let bytes = topics_and(|ws| {
        ws.write_string(19_999, 701, "far").unwrap();
        ws.write_string(0, 700, "Notes").unwrap();
    });
    let read = read(&bytes).unwrap();
    let topics = &ferry(&read.document).topics;
    assert_eq!(topics.len(), 1);
    assert_eq!((topics[0].name.as_str(), topics[0].read_queue_nums), ("orders", 4));
    assert!(
        read.warnings.iter().any(|w| w.starts_with("Topics!ZY1: 2 cells right of column BL are not read")),
        "{:?}",
        read.warnings
    );
}

/// A workbook with `copies` more parts, each 1 MiB of zeros (a few KB packed).
fn with_zeros(copies: usize) -> Vec<u8> {
    let base = topics_and(|_| {});
    let mut packed = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    packed.start_file("zeros.xml", options).unwrap();
    packed.write_all(&vec![0u8; 1024 * 1024]).unwrap();
    let zeros = packed.finish().unwrap().into_inner();
    let mut zeros = zip::ZipArchive::new(Cursor::new(zeros)).unwrap();

    let mut out = zip::ZipWriter::new_append(Cursor::new(base)).unwrap();
    for i in 0..copies {
        out.raw_copy_file_rename(zeros.by_index(0).unwrap(), format!("xl/media/zeros{i}.xml")).unwrap();
    }
    out.finish().unwrap().into_inner()
}

#[test]
fn a_workbook_that_unpacks_to_too_much_is_refused_before_it_is_read() {
    let small = with_zeros(8);
    assert_eq!(ferry(&read(&small).unwrap().document).topics.len(), 1);

    let bomb = with_zeros(65);
    assert!(bomb.len() < 500_000, "{}", bomb.len());
    let text = read(&bomb).unwrap_err().to_string();
    assert!(
        text.starts_with("in.xlsx: not an .xlsx workbook Ferry can read: it unpacks to more than 64 MiB (at xl/media/zeros"),
        "{text}"
    );
}

#[test]
fn a_sheet_whose_rows_come_out_of_order_reads_in_row_order() {
    // Cells given twice or out of order in the XML: the grid is built sorted, the later one wins.
    let base = topics_and(|ws| {
        ws.write_string(2, 0, "billing").unwrap();
        ws.write_number(2, 1, 2.0).unwrap();
        ws.write_number(2, 2, 2.0).unwrap();
    });
    let mut zip = zip::ZipArchive::new(Cursor::new(base)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).unwrap();
        let name = part.name().to_string();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut part, &mut text).unwrap();
        if name == "xl/worksheets/sheet1.xml" {
            // Row 3 before row 2.
            let (start, end) = (text.find("<row r=\"2\"").unwrap(), text.find("<row r=\"3\"").unwrap());
            let close = text[end..].find("</row>").unwrap() + end + "</row>".len();
            let (row2, row3) = (text[start..end].to_string(), text[end..close].to_string());
            text.replace_range(start..close, &format!("{row3}{row2}"));
        }
        out.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        out.write_all(text.as_bytes()).unwrap();
    }
    let bytes = out.finish().unwrap().into_inner();
    let names: Vec<String> =
        ferry(&read(&bytes).unwrap().document).topics.iter().map(|t| t.name.clone()).collect();
    assert_eq!(names, ["orders", "billing"]);
}

/// A workbook of one sheet, Topics, whose sheet and shared strings XML are `parts`, as the fuzz
/// target read_xlsx_parts packs its inputs: the two separated by the line `--ferry-part--`.
fn from_parts(parts: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(parts).unwrap();
    let (sheet, strings) = text.split_once("\n--ferry-part--\n").unwrap();
    let base = topics_and(|_| {});
    let mut zip = zip::ZipArchive::new(Cursor::new(base)).unwrap();
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    for i in 0..zip.len() {
        let mut part = zip.by_index(i).unwrap();
        let name = part.name().to_string();
        let mut content = Vec::new();
        std::io::Read::read_to_end(&mut part, &mut content).unwrap();
        let content = match name.as_str() {
            "xl/worksheets/sheet1.xml" => sheet.as_bytes(),
            "xl/sharedStrings.xml" => strings.as_bytes(),
            _ => &content,
        };
        out.start_file(name, zip::write::SimpleFileOptions::default()).unwrap();
        out.write_all(content).unwrap();
    }
    out.finish().unwrap().into_inner()
}

#[test]
fn a_shared_string_index_past_the_table_is_refused_not_a_panic() {
    // Found by fuzzing: calamine 0.30 indexed the shared strings unchecked and panicked, and
    // `ferry export --from`, import and diff died with exit 101.
    let bytes = from_parts(include_bytes!(
        "../../../../../fuzz/regressions/read_xlsx_parts/shared-string-index-past-the-table.parts"
    ));
    for valid_rows_only in [false, true] {
        let err = read_workbook(&bytes, "in.xlsx", ReadOptions { valid_rows_only }).unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, XlsxError::Unreadable { .. }), "{text}");
        assert!(
            text.starts_with("in.xlsx: not an .xlsx workbook Ferry can read: sheet Topics: ")
                && text.contains("shared strings"),
            "{text}"
        );
    }
    // The same sheet with an index in the table is read (a header row alone: the columns it
    // lacks are what is wrong with it).
    let text = std::str::from_utf8(include_bytes!(
        "../../../../../fuzz/regressions/read_xlsx_parts/shared-string-index-past-the-table.parts"
    ))
    .unwrap()
    .replace("<v>7</v>", "<v>0</v>");
    let err = read(&from_parts(text.as_bytes())).unwrap_err();
    assert!(matches!(err, XlsxError::Invalid { .. }), "{err}");
}

#[test]
fn a_panic_in_the_reader_is_a_malformed_workbook() {
    // Whatever calamine may still panic on is refused like any unreadable workbook.
    let why = grid::unpanicked(|| -> u32 { panic!("index out of bounds: the len is 1 but the index is 7") })
        .unwrap_err();
    assert_eq!(
        why,
        "the workbook is malformed (the reader failed: index out of bounds: the len is 1 but the index is 7)"
    );
    assert_eq!(grid::unpanicked(|| 7), Ok(7));
}
