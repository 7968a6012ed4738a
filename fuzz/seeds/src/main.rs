//! Writes the seed corpora of the document readers' fuzz targets (`fuzz/corpus/read_json`,
//! `read_xlsx`, `read_xlsx_parts`) with Ferry's own writers: its templates, workbooks written from
//! documents, the workbooks and JSON files the project's tests read (good, bad and hostile).
//! Run from anywhere: `cargo run --manifest-path fuzz/seeds/Cargo.toml`.

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

use ferry_metadata::xlsx::{self, Cell, Flavor, ReadOptions};
use ferry_metadata::Document;

fn corpus(target: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../corpus").join(target);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn save(target: &str, name: &str, bytes: &[u8]) {
    let path = corpus(target).join(name);
    std::fs::write(&path, bytes).unwrap();
    println!("{} ({} bytes)", path.display(), bytes.len());
}

/// Topics and groups with most columns filled, as a user fills a template.
fn filled_workbook() -> Vec<u8> {
    let s = |v: &str| Cell::from(v);
    let n = Cell::Number;
    xlsx::plain_workbook(&[
        (
            "Topics",
            vec![
                vec![s("Topic"), s("Read queues"), s("Write queues"), s("Perm"), s("Order"), s("Broker")],
                vec![s("orders"), n(8.0), n(8.0), s("rw"), Cell::Bool(false), Cell::Empty],
                vec![s("shop%payments"), n(4.0), n(4.0), n(6.0), Cell::Bool(true), Cell::Empty],
                vec![s("audit"), n(2.0), n(2.0), s("r"), Cell::Bool(false), s("broker-a")],
                vec![s("audit"), n(4.0), n(4.0), s("r"), Cell::Bool(false), s("broker-b")],
            ],
        ),
        (
            "Groups",
            vec![
                vec![
                    s("Group"),
                    s("Retry max times"),
                    s("Retry queues"),
                    s("Consume enable"),
                    s("Broker id"),
                ],
                vec![s("billing"), n(16.0), n(1.0), Cell::Bool(true), n(0.0)],
                vec![s("shop%audit-readers"), n(3.0), n(1.0), s("no"), n(1.0)],
            ],
        ),
    ])
    .unwrap()
}

/// The workbook the console's API test uploads: a bad number, a bad bool, a bad group row.
fn bad_workbook() -> Vec<u8> {
    xlsx::plain_workbook(&[
        (
            "Topics",
            vec![
                vec!["Topic".into(), "Read queues".into(), "Write queues".into(), "Order".into()],
                vec!["cw-good-1".into(), Cell::Number(4.0), Cell::Number(4.0), Cell::Bool(false)],
                vec!["cw-bad-number".into(), "abc".into(), Cell::Number(4.0), Cell::Empty],
                vec!["cw-bad-bool".into(), Cell::Number(4.0), Cell::Number(4.0), "maybe".into()],
            ],
        ),
        (
            "Groups",
            vec![
                vec!["Group".into(), "Retry max times".into()],
                vec!["cw-group".into(), Cell::Number(4.0)],
                vec!["cw-group-bad".into(), "often".into()],
            ],
        ),
    ])
    .unwrap()
}

/// A cell far out (`Topics!XFD1048576`, or right of column BL), as the hostile-workbook tests.
fn far_workbook(row: u32, col: u16) -> Vec<u8> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("Topics").unwrap();
    for (j, h) in ["Topic", "Read queues", "Write queues"].iter().enumerate() {
        ws.write_string(0, j as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "orders").unwrap();
    ws.write_number(1, 1, 4.0).unwrap();
    ws.write_number(1, 2, 4.0).unwrap();
    ws.write_string(row, col, "far").unwrap();
    wb.save_to_buffer().unwrap()
}

/// A part of a workbook, by name.
fn part(workbook: &[u8], name: &str) -> Vec<u8> {
    let mut zip = zip::ZipArchive::new(Cursor::new(workbook)).unwrap();
    let mut content = Vec::new();
    zip.by_name(name).unwrap().read_to_end(&mut content).unwrap();
    content
}

const APACHE_MQADMIN: &str = r#"{"exportTime":1700000000000,"topicConfigTable":{"T":{"order":false,"perm":6,"readQueueNums":8,"topicFilterType":"SINGLE_TAG","topicName":"T","topicSysFlag":0,"writeQueueNums":8}},"subscriptionGroupTable":{"g":{"groupName":"g","retryQueueNums":2,"retryMaxTimes":16,"consumeEnable":true,"consumeBroadcastEnable":true,"whichBrokerWhenConsumeSlowly":1,"brokerId":0}}}"#;

const APACHE_EXPORT_SH: &str = r#"{
  "configs": {"brokerConfigs": {"broker-a": {"brokerClusterName": "DefaultCluster", "aclEnable": "false"}}},
  "metadata": {
    "topicConfigTable": {
      "orders": {"topicName": "orders", "readQueueNums": 16, "writeQueueNums": 16, "perm": 6, "topicFilterType": "SINGLE_TAG", "topicSysFlag": 0, "order": false},
      "%RETRY%billing": {"topicName": "%RETRY%billing", "readQueueNums": 1, "writeQueueNums": 1, "perm": 6}
    },
    "subscriptionGroupTable": {"billing": {"groupName": "billing", "retryMaxTimes": 16}}
  },
  "metrics": {"totalTopicNum": 2, "totalSubGroupNum": 1}
}"#;

/// fastjson's looser syntax: single quotes, bare keys, a trailing comma.
const FASTJSON: &str = "{topicConfigTable:{'orders':{readQueueNums:4,writeQueueNums:4,perm:6,},},subscriptionGroupTable:{\"g\":{\"retryQueueNums\":1}}}";

/// Out of range, placed by the reader (`writeQueueNums: 99999999999`, a negative queue number).
const OUT_OF_RANGE: &str = "{\"topicConfigTable\":{\n 'orders':{\"readQueueNums\":4,\"writeQueueNums\":99999999999}},\n subscriptionGroupTable:{\"g\":{\"retryQueueNums\":-1}}}";

fn main() {
    let filled = filled_workbook();
    let workbooks: Vec<(&str, Vec<u8>)> = vec![
        ("template-4.x.xlsx", xlsx::template(Flavor::V4).unwrap()),
        ("template-5.x.xlsx", xlsx::template(Flavor::V5).unwrap()),
        ("filled.xlsx", filled.clone()),
        ("bad-cells.xlsx", bad_workbook()),
        ("far-corner.xlsx", far_workbook(1_048_575, 16_383)),
        ("far-right.xlsx", far_workbook(19_999, 701)),
    ];
    let doc = xlsx::read_workbook(&filled, "filled.xlsx", ReadOptions::default()).unwrap().document;
    let apache = Document::from_json(APACHE_EXPORT_SH.as_bytes(), "export.json").unwrap();
    let written = xlsx::write_document(&doc).unwrap().bytes;
    let from_apache = xlsx::write_document(&apache).unwrap().bytes;
    for (name, bytes) in
        workbooks.iter().chain([("written.xlsx", written), ("from-apache.xlsx", from_apache)].iter())
    {
        save("read_xlsx", name, bytes);
        let mut parts = part(bytes, "xl/worksheets/sheet1.xml");
        parts.extend_from_slice(b"\n--ferry-part--\n");
        parts.extend_from_slice(&part(bytes, "xl/sharedStrings.xml"));
        save("read_xlsx_parts", &format!("{}.parts", name.trim_end_matches(".xlsx")), &parts);
    }

    save("read_json", "ferry-from-workbook.json", doc.to_json_pretty().as_bytes());
    save("read_json", "ferry-from-apache.json", apache.to_json_pretty().as_bytes());
    save("read_json", "apache-export-sh.json", APACHE_EXPORT_SH.as_bytes());
    save("read_json", "apache-mqadmin.json", APACHE_MQADMIN.as_bytes());
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(APACHE_MQADMIN.as_bytes());
    save("read_json", "bom.json", &bom);
    save("read_json", "fastjson.json", FASTJSON.as_bytes());
    save("read_json", "out-of-range.json", OUT_OF_RANGE.as_bytes());
}
