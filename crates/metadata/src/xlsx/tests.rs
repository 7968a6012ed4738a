//! Workbooks written, read back, and malformed on purpose (built with rust_xlsxwriter, as a
//! spreadsheet program would save them).

use std::collections::BTreeMap;

use calamine::{Data, Reader, Xlsx};
use chrono::Utc;
use ferry_remoting::body::{SubscriptionGroupConfig, TopicConfig};
use rust_xlsxwriter::Workbook;
use serde_json::json;

use super::*;
use crate::document::*;

fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn on(broker: &str, read: i32, write: i32, perm: i32) -> TopicOnBroker {
    TopicOnBroker { broker: broker.into(), read_queue_nums: read, write_queue_nums: write, perm }
}

fn topic(name: &str, read: i32, write: i32) -> TopicEntry {
    TopicEntry {
        name: name.into(),
        namespace: crate::system::namespace_of(name).map(str::to_string),
        read_queue_nums: read,
        write_queue_nums: write,
        perm: 6,
        topic_filter_type: "SINGLE_TAG".into(),
        ..TopicEntry::default()
    }
}

fn group(name: &str) -> GroupEntry {
    GroupEntry {
        name: name.into(),
        namespace: crate::system::namespace_of(name).map(str::to_string),
        brokers: vec![],
        config: SubscriptionGroupConfig { group_name: name.into(), ..SubscriptionGroupConfig::default() },
    }
}

fn doc(topics: Vec<TopicEntry>, groups: Vec<GroupEntry>, masters: &[&str], version: &str) -> Document {
    Document {
        ferry: Some(FerryDetail {
            format_version: FORMAT_VERSION,
            exported_by: "test".into(),
            export_time: Utc::now(),
            source: SourceCluster {
                namesrv_addr: "127.0.0.1:9876".into(),
                cluster: "C".into(),
                version: Some(version.into()),
                brokers: masters
                    .iter()
                    .map(|m| BrokerEntry {
                        name: m.to_string(),
                        master: Some("x:1".into()),
                        ..BrokerEntry::default()
                    })
                    .collect(),
            },
            topics,
            groups,
            acl: None,
            namespaces: vec![],
            skipped: Skipped::default(),
            warnings: vec![],
        }),
        ..Document::default()
    }
}

fn read(bytes: &[u8]) -> Result<WorkbookRead, XlsxError> {
    read_workbook(bytes, "in.xlsx", ReadOptions::default())
}

fn read_valid_rows(bytes: &[u8]) -> WorkbookRead {
    read_workbook(bytes, "in.xlsx", ReadOptions { valid_rows_only: true }).unwrap()
}

fn problems(bytes: &[u8]) -> Vec<String> {
    match read(bytes) {
        Err(XlsxError::Invalid { problems, .. }) => problems.iter().map(ToString::to_string).collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

fn ferry(d: &Document) -> &FerryDetail {
    d.ferry.as_ref().unwrap()
}

/// A workbook as a spreadsheet program saves one: sheets of plain cells.
fn workbook(sheets: &[(&str, &[&[Data]])]) -> Vec<u8> {
    let mut wb = Workbook::new();
    for (name, rows) in sheets {
        let ws = wb.add_worksheet();
        ws.set_name(*name).unwrap();
        for (i, row) in rows.iter().enumerate() {
            for (j, cell) in row.iter().enumerate() {
                let (i, j) = (i as u32, j as u16);
                match cell {
                    Data::Empty => {}
                    Data::String(s) => {
                        ws.write_string(i, j, s).unwrap();
                    }
                    Data::Float(f) => {
                        ws.write_number(i, j, *f).unwrap();
                    }
                    Data::Int(n) => {
                        ws.write_number(i, j, *n as f64).unwrap();
                    }
                    Data::Bool(b) => {
                        ws.write_boolean(i, j, *b).unwrap();
                    }
                    other => panic!("not used in tests: {other:?}"),
                }
            }
        }
    }
    wb.save_to_buffer().unwrap()
}

fn s(text: &str) -> Data {
    Data::String(text.into())
}

fn n(v: i64) -> Data {
    Data::Int(v)
}

fn b(v: bool) -> Data {
    Data::Bool(v)
}

const E: Data = Data::Empty;

fn headers(bytes: &[u8], sheet: &str) -> Vec<String> {
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    let range = wb.worksheet_range(sheet).unwrap();
    range.rows().next().unwrap().iter().map(|d| d.to_string()).collect()
}

#[test]
fn a_document_round_trips_through_a_workbook() {
    let mut fifo = topic("shop%fifo", 6, 6);
    fifo.order = true;
    fifo.message_type = Some("FIFO".into());
    fifo.attributes = attrs(&[("message.type", "FIFO")]);
    fifo.brokers = vec![on("broker-a", 4, 4, 6), on("broker-b", 2, 2, 4)];
    let mut audit = topic("audit", 3, 2);
    audit.perm = 4;
    audit.topic_filter_type = "MULTI_TAG".into();
    audit.topic_sys_flag = 1;
    audit.message_type = Some("NORMAL".into());
    audit.attributes = attrs(&[("message.type", "NORMAL"), ("reserve.time", "72")]);
    let mut billing = group("billing");
    billing.config.retry_max_times = 5;
    billing.config.retry_queue_nums = 2;
    billing.config.consume_broadcast_enable = false;
    billing.config.consume_enable = false;
    billing.config.broker_id = 1;
    billing.config.which_broker_when_consume_slowly = 0;
    billing.config.consume_message_orderly = Some(true);
    billing.config.attributes = attrs(&[("a", "b")]);
    billing.config.extra = json!({"consumeTimeoutMinute": 15, "groupRetryPolicy": {"type": "CUSTOMIZED"}})
        .as_object()
        .unwrap()
        .clone();
    let original =
        doc(vec![topic("orders", 8, 8), fifo, audit], vec![billing, group("shop%audit")], &[], "V5_3_3");

    let written = write_document(&original).unwrap();
    assert_eq!(written.flavor, Flavor::V5);
    assert_eq!((written.topics, written.topic_rows, written.groups), (3, 4, 2));
    let back = read(&written.bytes).unwrap();
    assert!(back.skipped.is_empty() && back.warnings.is_empty(), "{:?} {:?}", back.skipped, back.warnings);
    assert_eq!(ferry(&back.document).topics, ferry(&original).topics);
    assert_eq!(ferry(&back.document).groups, ferry(&original).groups);
    assert_eq!(ferry(&back.document).namespaces, vec!["shop".to_string()]);
    // The Apache section holds the same, for other tools.
    let apache = &back.document.metadata.topic_config_table["shop%fifo"];
    assert_eq!((apache.read_queue_nums, apache.order), (6, true));

    // And again: a document read from a workbook writes the same workbook content.
    let again = read(&write_document(&back.document).unwrap().bytes).unwrap();
    assert_eq!(ferry(&again.document).topics, ferry(&back.document).topics);
}

#[test]
fn a_4x_document_writes_a_4x_workbook_that_reads_back() {
    let mut billing = group("billing");
    billing.config.retry_max_times = 3;
    let original = doc(vec![topic("orders", 8, 4)], vec![billing], &[], "V4_9_8");
    let written = write_document(&original).unwrap();
    assert_eq!(written.flavor, Flavor::V4);
    let topics = headers(&written.bytes, TOPICS_SHEET);
    assert!(!topics.contains(&"Message type".to_string()), "{topics:?}");
    assert!(!headers(&written.bytes, GROUPS_SHEET).contains(&"Consume orderly".to_string()));
    let back = read(&written.bytes).unwrap();
    assert_eq!(ferry(&back.document).topics, ferry(&original).topics);
    assert_eq!(ferry(&back.document).groups, ferry(&original).groups);
}

#[test]
fn a_topic_on_every_master_alike_takes_one_row_others_a_row_per_broker() {
    let mut everywhere = topic("everywhere", 16, 16);
    everywhere.brokers = vec![on("broker-a", 8, 8, 6), on("broker-b", 8, 8, 6)];
    let mut uneven = topic("uneven", 12, 12);
    uneven.brokers = vec![on("broker-a", 8, 8, 6), on("broker-b", 4, 4, 6)];
    let mut one = topic("one", 4, 4);
    one.brokers = vec![on("broker-b", 4, 4, 6)];
    let original =
        doc(vec![everywhere, uneven.clone(), one.clone()], vec![], &["broker-a", "broker-b"], "V4_9_8");
    let written = write_document(&original).unwrap();
    assert_eq!(written.topic_rows, 4);
    let back = read(&written.bytes).unwrap();
    let topics = &ferry(&back.document).topics;
    let mut expected_everywhere = topic("everywhere", 8, 8);
    expected_everywhere.brokers = vec![];
    assert_eq!(topics, &vec![expected_everywhere, uneven, one]);
}

#[test]
fn an_apache_file_is_written_per_master() {
    let mut d = Document { configs: json!({"clusterScale": {"masterBrokerSize": 2}}), ..Document::default() };
    d.metadata.topic_config_table.insert(
        "t".into(),
        TopicConfig {
            topic_name: "t".into(),
            read_queue_nums: 16,
            write_queue_nums: 16,
            ..TopicConfig::default()
        },
    );
    d.metadata.subscription_group_table.insert(
        "g".into(),
        SubscriptionGroupConfig {
            group_name: "g".into(),
            retry_queue_nums: 2,
            ..SubscriptionGroupConfig::default()
        },
    );
    let written = write_document(&d).unwrap();
    assert!(written.warnings.is_empty(), "{:?}", written.warnings);
    let back = read(&written.bytes).unwrap();
    let f = ferry(&back.document);
    assert_eq!((f.topics[0].read_queue_nums, f.topics[0].write_queue_nums), (8, 8));
    assert_eq!(f.groups[0].config.retry_queue_nums, 1);
}

#[test]
fn acl_accounts_are_never_written() {
    let mut d = doc(vec![topic("t", 1, 1)], vec![], &[], "V4_9_8");
    d.ferry.as_mut().unwrap().acl = Some(AclExport {
        accounts: vec![AclAccount {
            access_key: "shop-app".into(),
            secret_key: Some("very-secret-key".into()),
            ..AclAccount::default()
        }],
        ..AclExport::default()
    });
    let written = write_document(&d).unwrap();
    assert!(written.warnings.iter().any(|w| w.contains("ACL")), "{:?}", written.warnings);
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(&written.bytes)).unwrap();
    for name in wb.sheet_names() {
        let range = wb.worksheet_range(&name).unwrap();
        for cell in range.used_cells() {
            let text = cell.2.to_string();
            assert!(!text.contains("very-secret-key") && !text.contains("shop-app"), "{name}: {text}");
        }
    }
}

#[test]
fn templates_have_the_columns_of_their_line_and_read_as_empty() {
    let v4 = template(Flavor::V4).unwrap();
    let v5 = template(Flavor::V5).unwrap();
    assert_eq!(
        headers(&v4, TOPICS_SHEET),
        ["Topic", "Read queues", "Write queues", "Perm", "Order", "Broker"]
    );
    assert_eq!(
        headers(&v5, TOPICS_SHEET),
        ["Topic", "Read queues", "Write queues", "Perm", "Order", "Message type", "Broker"]
    );
    assert!(headers(&v5, GROUPS_SHEET).contains(&"Consume orderly".to_string()));
    assert!(!headers(&v4, GROUPS_SHEET).contains(&"Consume orderly".to_string()));
    for bytes in [&v4, &v5] {
        let back = read(bytes).unwrap();
        assert!(ferry(&back.document).topics.is_empty() && ferry(&back.document).groups.is_empty());
        assert!(back.warnings.is_empty(), "{:?}", back.warnings);
    }
    let mut wb: Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(&v5)).unwrap();
    assert_eq!(wb.sheet_names(), [TOPICS_SHEET, GROUPS_SHEET, README_SHEET]);
    let readme = wb.worksheet_range(README_SHEET).unwrap();
    assert!(readme.used_cells().any(|c| *c.2 == "Message type"));
}

/// Columns reordered and in other cases, an unknown column, and one problem per row.
fn malformed_topics() -> Vec<u8> {
    workbook(&[
        (
            "topics",
            &[
                &[s("Write queues"), s("topic"), s("READ queues"), s("Order"), s("message TYPE"), s("Notes")],
                &[n(8), s("good-1"), n(8), b(true), s("FIFO"), s("first")],
                &[n(8), s("bad-number"), s("abc"), b(false), E, E],
                &[n(8), s("bad-bool"), n(8), s("maybe"), E, E],
                &[n(8), s("bad-type"), n(8), E, s("FAST"), E],
                &[n(4), s("good-1"), n(4), b(true), s("FIFO"), s("again")],
                &[n(8), E, n(8), E, E, s("a row without a name")],
                &[n(2000), s("too-wide"), n(8), E, E, E],
                &[s("4"), s("good-2"), Data::Float(4.0), s("no"), s("delay"), E],
                &[E, E, E, E, E, E],
                &[n(8), s("bad name"), n(8), E, E, E],
            ],
        ),
        ("Groups", &[&[s("Group"), s("Retry max times")], &[s("billing"), n(3)]]),
    ])
}

#[test]
fn every_bad_cell_is_reported_with_sheet_row_and_column() {
    assert_eq!(
        problems(&malformed_topics()),
        [
            "topics!C3: read queues \"abc\" is not a whole number",
            "topics!D4: order \"maybe\" is not TRUE or FALSE (yes/no and 1/0 are taken too)",
            "topics!E5: message type \"FAST\" is not one of NORMAL, FIFO, DELAY, TRANSACTION, UNSPECIFIED, MIXED",
            "topics!B6: topic \"good-1\" is already on row 2",
            "topics!B7: topic is empty",
            "topics!A8: write queues 2000 is out of range: from 1 to 1024",
            "topics!B11: topic \"bad name\" has characters other than letters, digits, %, |, _ and -",
        ]
    );
    let err = read(&malformed_topics()).unwrap_err();
    assert!(err.only_row_problems());
    let text = err.to_string();
    assert!(text.starts_with("in.xlsx: 7 problems; nothing was read"), "{text}");
}

#[test]
fn valid_rows_only_takes_the_valid_rows_and_reports_the_others() {
    let read = read_valid_rows(&malformed_topics());
    let f = ferry(&read.document);
    let names: Vec<&str> = f.topics.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["good-2"], "good-1 has a duplicate row, so it is left out whole");
    let good = &f.topics[0];
    assert_eq!((good.read_queue_nums, good.write_queue_nums, good.order), (4, 4, false));
    assert_eq!(good.message_type.as_deref(), Some("DELAY"));
    assert_eq!(good.attributes, attrs(&[("message.type", "DELAY")]));
    assert_eq!(f.groups.len(), 1);
    assert_eq!(f.groups[0].config.retry_max_times, 3);
    assert_eq!(read.skipped.len(), 7);
    assert_eq!(read.skipped[0].row(), Some(3));
    assert!(
        read.warnings
            .iter()
            .any(|w| w == "topics!F1: column \"Notes\" is not one Ferry reads; it is ignored"),
        "{:?}",
        read.warnings
    );
    assert!(
        read.warnings
            .iter()
            .any(|w| w == "topics row 2: topic \"good-1\" is left out: its row 6 has problems"),
        "{:?}",
        read.warnings
    );
}

#[test]
fn a_missing_required_column_refuses_the_workbook_even_for_valid_rows() {
    let bytes = workbook(&[
        ("Topics", &[&[s("Topic"), s("Read queues")], &[s("t"), n(8)]]),
        ("Groups", &[&[s("Retry max times")], &[n(3)]]),
    ]);
    let expected = [
        "Topics: required column \"Write queues\" is missing (headers are read from row 1)",
        "Groups: required column \"Group\" is missing (headers are read from row 1)",
    ];
    assert_eq!(problems(&bytes), expected);
    let err = read_workbook(&bytes, "in.xlsx", ReadOptions { valid_rows_only: true }).unwrap_err();
    assert!(!err.only_row_problems());
    assert!(err.to_string().contains(expected[0]), "{err}");
}

#[test]
fn per_broker_rows_must_agree_and_not_mix_with_every_master() {
    let bytes = workbook(&[(
        "Topics",
        &[
            &[s("Topic"), s("Read queues"), s("Write queues"), s("Broker"), s("Order"), s("Perm")],
            &[s("a"), n(8), n(8), s("broker-a"), b(true), n(6)],
            &[s("a"), n(4), n(4), s("broker-b"), b(false), s("read-only")],
            &[s("a"), n(4), n(4), s("broker-a"), b(true), n(6)],
            &[s("a"), n(4), n(4), E, b(true), n(6)],
            &[s("b"), n(4), n(4), E, E, n(5)],
            &[s("c"), n(4), n(4), E, E, s("rw")],
            &[s("c"), n(4), n(4), s("broker-a"), E, n(6)],
        ],
    )]);
    assert_eq!(
        problems(&bytes),
        [
            "Topics!E3: order \"FALSE\" differs from row 2 (\"TRUE\"): all rows of one topic must agree on it",
            "Topics!D4: broker \"broker-a\" is already on row 2",
            "Topics!D5: broker is empty but row 2 gives topic \"a\" a broker: give each row of a topic a \
             broker, or the topic one row without one",
            "Topics!F6: perm \"5\" is not 6 (read and write, rw), 4 (read only, r) or 2 (write only, w)",
            "Topics!D8: broker \"broker-a\" conflicts with row 7, where topic \"c\" has no broker (every \
             master): give each row of a topic a broker, or the topic one row without one",
        ]
    );
}

#[test]
fn per_broker_rows_read_as_queues_per_broker() {
    let bytes = workbook(&[(
        "Topics",
        &[
            &[s("Topic"), s("Read queues"), s("Write queues"), s("Broker"), s("Perm")],
            &[s("a"), n(8), n(8), s("broker-b"), n(6)],
            &[s("a"), n(4), n(2), s("broker-a"), s("r")],
        ],
    )]);
    let back = read(&bytes).unwrap();
    let t = &ferry(&back.document).topics[0];
    assert_eq!((t.read_queue_nums, t.write_queue_nums, t.perm), (12, 10, 6));
    assert_eq!(t.brokers, vec![on("broker-b", 8, 8, 6), on("broker-a", 4, 2, 4)]);
}

#[test]
fn group_cells_are_checked() {
    let bytes = workbook(&[(
        "Groups",
        &[
            &[
                s("Group"),
                s("Consume broadcast"),
                s("Retry max times"),
                s("Attributes"),
                s("Other fields (JSON)"),
            ],
            &[s("ok"), s("yes"), s(" 7 "), s("k=v; x=y"), s("{\"consumeTimeoutMinute\": 30}")],
            &[s("bad"), n(2), n(-2), s("novalue"), s("{\"retryMaxTimes\": 3}")],
            &[s("worse"), E, Data::Float(1.5), E, s("[1]")],
        ],
    )]);
    assert_eq!(
        problems(&bytes),
        [
            "Groups!B3: consume broadcast \"2\" is not TRUE or FALSE (yes/no and 1/0 are taken too)",
            "Groups!C3: retry max times -2 is out of range: from -1 to 65535",
            "Groups!D3: attributes \"novalue\" is not key=value",
            "Groups!E3: other fields (json) holds retryMaxTimes, which has a column of its own",
            "Groups!C4: retry max times \"1.5\" is not a whole number",
            "Groups!E4: other fields (json) is not a JSON object ({...})",
        ]
    );
    let read = read_valid_rows(&bytes);
    let g = &ferry(&read.document).groups;
    assert_eq!(g.len(), 1);
    assert!(g[0].config.consume_broadcast_enable);
    assert_eq!(g[0].config.retry_max_times, 7);
    assert_eq!(g[0].config.attributes, attrs(&[("k", "v"), ("x", "y")]));
    assert_eq!(g[0].config.extra["consumeTimeoutMinute"], 30);
}

#[test]
fn the_header_row_is_the_first_row_with_content() {
    let bytes = workbook(&[(
        "Topics",
        &[
            &[E, E],
            &[E, E],
            &[E, s("Topic"), s("Read queues"), s("Write queues")],
            &[E, s("t"), n(8), s("x")],
        ],
    )]);
    assert_eq!(problems(&bytes), ["Topics!D4: write queues \"x\" is not a whole number"]);
}

#[test]
fn a_duplicate_header_and_a_workbook_without_the_sheets_are_refused() {
    let bytes =
        workbook(&[("Topics", &[&[s("Topic"), s("Read queues"), s("Write queues"), s("read_queues")]])]);
    assert_eq!(problems(&bytes), ["Topics!D1: column \"Read queues\" appears twice (first in column B)"]);
    let bytes = workbook(&[("Sheet1", &[&[s("Topic")]])]);
    assert_eq!(problems(&bytes), ["the workbook has no sheet named Topics or Groups (its sheets: Sheet1)"]);
    let err = read(b"{\"not\": \"a workbook\"}").unwrap_err();
    assert!(matches!(err, XlsxError::Unreadable { .. }) && err.to_string().starts_with("in.xlsx: "), "{err}");
}

#[test]
fn plain_workbooks_hold_cells_as_given() {
    let bytes = plain_workbook(&[(
        "Topics",
        vec![
            vec!["Topic".into(), "Read queues".into(), "Write queues".into(), "Order".into()],
            vec!["t".into(), Cell::Number(3.0), Cell::Text("3".into()), Cell::Bool(true)],
        ],
    )])
    .unwrap();
    let back = read(&bytes).unwrap();
    let t = &ferry(&back.document).topics[0];
    assert_eq!((t.read_queue_nums, t.write_queue_nums, t.order), (3, 3, true));
}

mod hostile;
