//! Arbitrary bytes as an uploaded `.xlsx` workbook (a ZIP of XML parts), read both ways (every row
//! or only the valid ones): no input may panic or take more than the reader's bounds, and a
//! workbook that is read must write and read back.
#![no_main]

use ferry_metadata::xlsx::{read_workbook, write_document, ReadOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for valid_rows_only in [false, true] {
        match read_workbook(data, "fuzz.xlsx", ReadOptions { valid_rows_only }) {
            Ok(read) => {
                let written = write_document(&read.document).expect("a document read from a workbook writes");
                read_workbook(&written.bytes, "again.xlsx", ReadOptions::default())
                    .unwrap_or_else(|e| panic!("a workbook Ferry writes reads back: {e}"));
            }
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
});
