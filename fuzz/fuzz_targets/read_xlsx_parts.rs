//! The XML inside a workbook, which mutated ZIP bytes rarely reach (every part carries a CRC):
//! the input is a Topics sheet's XML and the shared strings' XML, separated by the line
//! `--ferry-part--`, packed here with the rest of a real workbook of one sheet, Topics (styles,
//! the workbook's own parts, as rust_xlsxwriter writes them for Ferry), into a valid ZIP and read
//! both ways. No input may panic; a workbook that is read must write and read back.
#![no_main]

use std::io::{Cursor, Read, Write};
use std::sync::OnceLock;

use ferry_metadata::xlsx::{read_workbook, write_document, ReadOptions};
use libfuzzer_sys::fuzz_target;

const SEPARATOR: &[u8] = b"\n--ferry-part--\n";
const SHEET: &str = "xl/worksheets/sheet1.xml";
const STRINGS: &str = "xl/sharedStrings.xml";

/// Every part of a one-sheet workbook but the two the input gives.
fn base() -> &'static Vec<(String, Vec<u8>)> {
    static BASE: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.set_name("Topics").unwrap();
        ws.write_string(0, 0, "Topic").unwrap();
        let bytes = wb.save_to_buffer().expect("a workbook");
        let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).expect("the template is a ZIP");
        (0..zip.len())
            .map(|i| {
                let mut part = zip.by_index(i).unwrap();
                let mut content = Vec::new();
                part.read_to_end(&mut content).unwrap();
                (part.name().to_string(), content)
            })
            .filter(|(name, _)| name != SHEET && name != STRINGS)
            .collect()
    })
}

fn pack(sheet: &[u8], strings: &[u8]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let stored = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, content) in
        base().iter().map(|(n, c)| (n.as_str(), c.as_slice())).chain([(SHEET, sheet), (STRINGS, strings)])
    {
        zip.start_file(name, stored).unwrap();
        zip.write_all(content).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

fuzz_target!(|data: &[u8]| {
    let (sheet, strings) = match data.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
        Some(at) => (&data[..at], &data[at + SEPARATOR.len()..]),
        None => (data, &b"<sst xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"/>"[..]),
    };
    let bytes = pack(sheet, strings);
    for valid_rows_only in [false, true] {
        if let Ok(read) = read_workbook(&bytes, "fuzz.xlsx", ReadOptions { valid_rows_only }) {
            let written = write_document(&read.document).expect("a document read from a workbook writes");
            read_workbook(&written.bytes, "again.xlsx", ReadOptions::default())
                .unwrap_or_else(|e| panic!("a workbook Ferry writes reads back: {e}"));
        }
    }
});
