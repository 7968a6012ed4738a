//! Arbitrary bytes into the metadata document reader (Ferry's JSON, Apache's export.sh and
//! `mqadmin exportMetadata` files, fastjson's looser syntax): no input may panic, every refusal
//! must say something, and a document that is read must write and read back to the same text.
#![no_main]

use ferry_metadata::Document;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Document::from_json(data, "fuzz.json") {
        Ok(doc) => {
            let text = doc.to_json_pretty();
            let again = Document::from_json(text.as_bytes(), "again.json")
                .unwrap_or_else(|e| panic!("a document Ferry writes reads back: {e}\n{text}"));
            assert_eq!(again.to_json_pretty(), text, "written twice, the same");
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
