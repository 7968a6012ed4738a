//! Writing workbooks: a document's topics and groups, or an empty template, for a 4.x or a 5.x
//! target. Bold headers with a note each, frozen header row, column widths, and dropdowns where
//! a column takes a few words. ACL accounts are never written.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use ferry_remoting::body::SubscriptionGroupConfig;
use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, DataValidationRule, Format, Note, Workbook, Worksheet,
};
use serde_json::Value;

use super::columns::{Column, Field, Kind, GROUP_COLUMNS, TOPIC_COLUMNS};
use super::error::XlsxError;
use super::{GROUPS_SHEET, README_SHEET, TOPICS_SHEET};
use crate::document::{Document, TopicEntry};

/// The last row index a worksheet has (Excel's 1,048,576 rows).
const ROW_MAX: u32 = 1_048_575;

/// Which RocketMQ line a workbook is laid out for: 5.x adds the topic's message type and the
/// group's 5.x fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    V4,
    V5,
}

impl Flavor {
    pub fn label(self) -> &'static str {
        match self {
            Flavor::V4 => "4.x",
            Flavor::V5 => "5.x",
        }
    }

    /// 5.x when the document's source is 5.x or it holds anything only 5.x has (message types,
    /// attributes, 5.x group fields), so that nothing is lost; 4.x otherwise.
    pub fn of(doc: &Document) -> Flavor {
        let version = doc.ferry.as_ref().and_then(|f| f.source.version.as_deref());
        let group_5x = |g: &SubscriptionGroupConfig| {
            g.consume_message_orderly.is_some() || !g.attributes.is_empty() || !g.extra.is_empty()
        };
        let has_5x = match &doc.ferry {
            Some(f) => {
                f.topics.iter().any(|t| t.message_type.is_some() || !t.attributes.is_empty())
                    || f.groups.iter().any(|g| group_5x(&g.config))
            }
            None => {
                doc.metadata.topic_config_table.values().any(|t| !t.attributes.is_empty())
                    || doc.metadata.subscription_group_table.values().any(group_5x)
            }
        };
        if has_5x || version.is_some_and(|v| v.starts_with("V5")) {
            Flavor::V5
        } else {
            Flavor::V4
        }
    }
}

impl FromStr for Flavor {
    type Err = String;

    fn from_str(s: &str) -> Result<Flavor, String> {
        match s.trim().to_ascii_lowercase().trim_start_matches('v') {
            "4" | "4.x" => Ok(Flavor::V4),
            "5" | "5.x" => Ok(Flavor::V5),
            other => Err(format!("{other:?} is not a RocketMQ line: 4.x or 5.x")),
        }
    }
}

/// A cell of [`plain_workbook`].
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Bool(bool),
}

impl From<&str> for Cell {
    fn from(s: &str) -> Cell {
        Cell::Text(s.to_string())
    }
}

/// A written workbook.
#[derive(Debug)]
pub struct Written {
    pub bytes: Vec<u8>,
    pub flavor: Flavor,
    pub topics: usize,
    /// Topics with queues per broker take a row per broker.
    pub topic_rows: usize,
    pub groups: usize,
    /// What the workbook does not hold or holds differently (ACL accounts, Apache sums).
    pub warnings: Vec<String>,
}

/// An empty workbook to fill in: the Topics and Groups sheets with the template's columns, and
/// a read-me sheet.
pub fn template(flavor: Flavor) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let title =
        format!("Ferry workbook of RocketMQ topics and consumer groups for a {} target", flavor.label());
    write_sheet(&mut workbook, TOPICS_SHEET, &columns(TOPIC_COLUMNS, flavor, true), &[])?;
    write_sheet(&mut workbook, GROUPS_SHEET, &columns(GROUP_COLUMNS, flavor, true), &[])?;
    write_readme(&mut workbook, &title, flavor)?;
    Ok(workbook.save_to_buffer()?)
}

/// A document's topics and groups as a workbook of its [`Flavor`]. A topic that every source
/// master has with the same queues takes one row without a broker; other topics take a row per
/// broker. Apache files (no Ferry section) give sums over the source masters: they are divided
/// by the masters' number where the file gives it, as an import would.
pub fn write_document(doc: &Document) -> Result<Written, XlsxError> {
    let flavor = Flavor::of(doc);
    let mut warnings = Vec::new();
    let (topics, topic_rows, group_rows) = match &doc.ferry {
        Some(f) => {
            let masters: BTreeSet<&str> =
                f.source.brokers.iter().filter(|b| b.master.is_some()).map(|b| b.name.as_str()).collect();
            let rows: Vec<Row> = f.topics.iter().flat_map(|t| ferry_topic_rows(t, &masters)).collect();
            let groups = f.groups.iter().map(|g| group_row(&g.config, g.config.retry_queue_nums)).collect();
            (f.topics.len(), rows, groups)
        }
        None => apache_rows(doc, &mut warnings),
    };
    if let Some(acl) = doc.ferry.as_ref().and_then(|f| f.acl.as_ref()) {
        let n = acl.accounts.len() + acl.users.len();
        if n > 0 {
            warnings.push(format!(
                "{n} ACL accounts are not written: a workbook never holds ACL accounts or secrets"
            ));
        }
    }
    let mut workbook = Workbook::new();
    write_sheet(&mut workbook, TOPICS_SHEET, &columns(TOPIC_COLUMNS, flavor, false), &topic_rows)?;
    write_sheet(&mut workbook, GROUPS_SHEET, &columns(GROUP_COLUMNS, flavor, false), &group_rows)?;
    let title = match doc.ferry.as_ref().map(|f| &f.source).filter(|s| !s.cluster.is_empty()) {
        Some(s) => format!(
            "Topics and consumer groups of RocketMQ cluster {} ({}), exported by Ferry",
            s.cluster,
            s.version.as_deref().unwrap_or("version unknown")
        ),
        None => "Topics and consumer groups, written by Ferry".to_string(),
    };
    write_readme(&mut workbook, &title, flavor)?;
    Ok(Written {
        bytes: workbook.save_to_buffer()?,
        flavor,
        topics,
        topic_rows: topic_rows.len(),
        groups: group_rows.len(),
        warnings,
    })
}

/// A workbook of the given sheets and cells as they are: no checks, no formatting. For tests
/// and scripts that produce rows of their own for `ferry import`.
pub fn plain_workbook(sheets: &[(&str, Vec<Vec<Cell>>)]) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    for (name, rows) in sheets {
        let sheet = workbook.add_worksheet();
        sheet.set_name(*name)?;
        for (i, row) in rows.iter().enumerate() {
            for (j, cell) in row.iter().enumerate() {
                write_cell(sheet, i as u32, j as u16, cell)?;
            }
        }
    }
    Ok(workbook.save_to_buffer()?)
}

type Row = BTreeMap<Field, Cell>;

fn columns(all: &'static [Column], flavor: Flavor, template: bool) -> Vec<&'static Column> {
    all.iter().filter(|c| (flavor == Flavor::V5 || !c.v5_only) && (!template || c.in_template)).collect()
}

fn number(n: impl Into<f64>) -> Cell {
    Cell::Number(n.into())
}

/// One row for the topic on every master, or a row per broker.
fn ferry_topic_rows(t: &TopicEntry, masters: &BTreeSet<&str>) -> Vec<Row> {
    let on: BTreeSet<&str> = t.brokers.iter().map(|b| b.broker.as_str()).collect();
    let same = t.brokers.windows(2).all(|w| {
        (w[0].read_queue_nums, w[0].write_queue_nums, w[0].perm)
            == (w[1].read_queue_nums, w[1].write_queue_nums, w[1].perm)
    });
    let message_type = t.message_type.clone().or_else(|| message_type_of(&t.attributes));
    let row = |broker: Option<&str>, read: i32, write: i32, perm: i32| {
        topic_row(&t.name, broker, read, write, perm, t, message_type.as_deref())
    };
    match t.brokers.first() {
        None => vec![row(None, t.read_queue_nums, t.write_queue_nums, t.perm)],
        Some(b) if same && on.len() == t.brokers.len() && on == *masters => {
            vec![row(None, b.read_queue_nums, b.write_queue_nums, b.perm)]
        }
        Some(_) => t
            .brokers
            .iter()
            .map(|b| row(Some(&b.broker), b.read_queue_nums, b.write_queue_nums, b.perm))
            .collect(),
    }
}

fn topic_row(
    name: &str,
    broker: Option<&str>,
    read: i32,
    write: i32,
    perm: i32,
    t: &TopicEntry,
    message_type: Option<&str>,
) -> Row {
    let mut row = Row::new();
    row.insert(Field::TopicName, name.into());
    row.insert(Field::ReadQueues, number(read));
    row.insert(Field::WriteQueues, number(write));
    row.insert(Field::Perm, number(perm));
    row.insert(Field::Order, Cell::Bool(t.order));
    if let Some(m) = message_type {
        row.insert(Field::MessageType, m.into());
    }
    if let Some(b) = broker {
        row.insert(Field::Broker, b.into());
    }
    row.insert(Field::FilterType, t.topic_filter_type.as_str().into());
    row.insert(Field::TopicSysFlag, number(t.topic_sys_flag));
    let others =
        attributes_text(t.attributes.iter().filter(|(k, _)| k.trim_start_matches('+') != "message.type"));
    if !others.is_empty() {
        row.insert(Field::TopicAttributes, Cell::Text(others));
    }
    row
}

fn message_type_of(attributes: &BTreeMap<String, String>) -> Option<String> {
    attributes.get("message.type").or_else(|| attributes.get("+message.type")).cloned()
}

fn attributes_text<'a>(attributes: impl Iterator<Item = (&'a String, &'a String)>) -> String {
    attributes.map(|(k, v)| format!("{}={v}", k.trim_start_matches('+'))).collect::<Vec<_>>().join(", ")
}

fn group_row(g: &SubscriptionGroupConfig, retry_queue_nums: i32) -> Row {
    let mut row = Row::new();
    row.insert(Field::GroupName, g.group_name.as_str().into());
    row.insert(Field::ConsumeEnable, Cell::Bool(g.consume_enable));
    row.insert(Field::ConsumeBroadcast, Cell::Bool(g.consume_broadcast_enable));
    if let Some(o) = g.consume_message_orderly {
        row.insert(Field::ConsumeOrderly, Cell::Bool(o));
    }
    row.insert(Field::RetryMaxTimes, number(g.retry_max_times));
    row.insert(Field::RetryQueues, number(retry_queue_nums));
    row.insert(Field::BrokerId, number(g.broker_id as f64));
    row.insert(Field::SlowBrokerId, number(g.which_broker_when_consume_slowly as f64));
    row.insert(Field::ConsumeFromMin, Cell::Bool(g.consume_from_min_enable));
    row.insert(Field::NotifyIdsChanged, Cell::Bool(g.notify_consumer_ids_changed_enable));
    row.insert(Field::GroupSysFlag, number(g.group_sys_flag));
    if !g.attributes.is_empty() {
        row.insert(Field::GroupAttributes, Cell::Text(attributes_text(g.attributes.iter())));
    }
    if !g.extra.is_empty() {
        row.insert(Field::OtherFields, Cell::Text(Value::Object(g.extra.clone()).to_string()));
    }
    row
}

/// Rows of an Apache file: totals divided by the source masters when the file says how many.
fn apache_rows(doc: &Document, warnings: &mut Vec<String>) -> (usize, Vec<Row>, Vec<Row>) {
    let masters = apache_masters(&doc.configs);
    let per = |total: i32| match masters {
        Some(m) => (total + m - 1).div_euclid(m).max(1),
        None => total,
    };
    let mut uneven = Vec::new();
    let topics: Vec<Row> = doc
        .metadata
        .topic_config_table
        .iter()
        .map(|(name, t)| {
            if masters.is_some_and(|m| t.read_queue_nums % m != 0 || t.write_queue_nums % m != 0) {
                uneven.push(name.as_str());
            }
            let entry = TopicEntry {
                name: name.clone(),
                order: t.order,
                topic_sys_flag: t.topic_sys_flag,
                topic_filter_type: t.topic_filter_type.clone(),
                attributes: t.attributes.clone(),
                ..TopicEntry::default()
            };
            let message_type = message_type_of(&t.attributes);
            topic_row(
                name,
                None,
                per(t.read_queue_nums),
                per(t.write_queue_nums),
                t.perm,
                &entry,
                message_type.as_deref(),
            )
        })
        .collect();
    let groups: Vec<Row> = doc
        .metadata
        .subscription_group_table
        .values()
        .map(|g| group_row(g, masters.map_or(1, |_| per(g.retry_queue_nums))))
        .collect();
    match masters {
        Some(m) if !uneven.is_empty() => warnings.push(format!(
            "queue numbers of {} are not multiples of the {m} source masters they were summed over; \
             rounded up per master",
            uneven.join(", ")
        )),
        None if !topics.is_empty() || !groups.is_empty() => warnings.push(
            "the file's queue numbers are sums over source masters and it does not say how many: \
             written as they are; retry queues written as 1"
                .into(),
        ),
        _ => {}
    }
    (topics.len(), topics, groups)
}

/// `clusterScale.masterBrokerSize`, or the number of `brokerConfigs`, of an export.sh file.
fn apache_masters(configs: &Value) -> Option<i32> {
    let declared =
        configs.get("clusterScale").and_then(|s| s.get("masterBrokerSize")).and_then(|v| match v {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        });
    let listed = configs.get("brokerConfigs").and_then(Value::as_object).map(|m| m.len() as i64);
    declared.or(listed).filter(|n| *n > 0).and_then(|n| i32::try_from(n).ok())
}

fn write_cell(sheet: &mut Worksheet, row: u32, col: u16, cell: &Cell) -> Result<(), XlsxError> {
    match cell {
        Cell::Empty => {}
        Cell::Text(s) => {
            sheet.write_string(row, col, s)?;
        }
        Cell::Number(n) => {
            sheet.write_number(row, col, *n)?;
        }
        Cell::Bool(b) => {
            sheet.write_boolean(row, col, *b)?;
        }
    }
    Ok(())
}

fn write_sheet(
    workbook: &mut Workbook,
    name: &str,
    columns: &[&Column],
    rows: &[Row],
) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet.set_name(name)?;
    for (j, c) in columns.iter().enumerate() {
        let j = j as u16;
        sheet.write_string_with_format(0, j, c.header, &bold)?;
        sheet.set_column_width(j, c.width)?;
        sheet.insert_note(0, j, &Note::new(note(c)).add_author_prefix(false).set_width(300))?;
        if let Some(v) = validation(c)? {
            sheet.add_data_validation(1, j, ROW_MAX, j, &v)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    for (i, row) in rows.iter().enumerate() {
        for (j, c) in columns.iter().enumerate() {
            if let Some(cell) = row.get(&c.field) {
                write_cell(sheet, i as u32 + 1, j as u16, cell)?;
            }
        }
    }
    Ok(())
}

fn note(c: &Column) -> String {
    let mut text = format!("{}: {}.", c.header, c.meaning);
    if c.required {
        text.push_str(" Required.");
    } else {
        text.push_str(&format!(" Empty: {}.", c.default));
    }
    if let Some(values) = values(c) {
        text.push_str(&format!(" Values: {values}."));
    }
    text
}

/// The values a column takes, in words, when there are few.
fn values(c: &Column) -> Option<String> {
    match c.kind {
        Kind::Whole(min, max) if max < i32::MAX as i64 => Some(format!("{min} to {max}")),
        Kind::Whole(min, _) => Some(format!("{min} or more")),
        Kind::Perm => Some("6, 4, 2 or rw, r, w".into()),
        Kind::Bool => Some("TRUE, FALSE (or yes/no, 1/0)".into()),
        Kind::OneOf(offered, more) => {
            Some(offered.iter().chain(more).copied().collect::<Vec<_>>().join(", "))
        }
        Kind::Text | Kind::Attributes | Kind::Json => None,
    }
}

/// A dropdown or range check for the column's data rows. Lists warn rather than refuse, since
/// Ferry also takes other spellings (yes/no, rw).
fn validation(c: &Column) -> Result<Option<DataValidation>, XlsxError> {
    let list = |items: &[&str]| -> Result<DataValidation, XlsxError> {
        Ok(DataValidation::new()
            .allow_list_strings(items)?
            .set_error_style(DataValidationErrorStyle::Warning)
            .set_error_message(note(c))?)
    };
    let v = match c.kind {
        Kind::Whole(min, max) => Some(
            DataValidation::new()
                .allow_whole_number(DataValidationRule::Between(
                    i32::try_from(min).unwrap_or(i32::MIN),
                    i32::try_from(max).unwrap_or(i32::MAX),
                ))
                .set_error_message(note(c))?,
        ),
        Kind::Perm => Some(list(&["6", "4", "2"])?),
        Kind::Bool => Some(list(&["TRUE", "FALSE"])?),
        Kind::OneOf(offered, _) => Some(list(offered)?),
        Kind::Text | Kind::Attributes | Kind::Json => None,
    };
    Ok(v)
}

fn write_readme(workbook: &mut Workbook, title: &str, flavor: Flavor) -> Result<(), XlsxError> {
    let bold = Format::new().set_bold();
    let wrap = Format::new().set_text_wrap();
    let sheet = workbook.add_worksheet();
    sheet.set_name(README_SHEET)?;
    sheet.write_string_with_format(0, 0, title, &bold)?;
    let lines = [
        "Import: ferry import -n NAMESRV:9876 -c CLUSTER --from THIS.xlsx (add --plan to see what it would do \
         first; ferry diff takes --from THIS.xlsx too).",
        "Only the Topics and Groups sheets are read. Headers are matched by name, in any order and any case; \
         columns other than Topic, Read queues, Write queues and Group may be left out, and an empty cell takes \
         the default below.",
        "A topic's queue numbers are per master: a row without a broker is for every master of the target; \
         for queues that differ per broker, give the topic one row per broker.",
        "Every problem is reported as sheet, cell and column (Topics!C7: read queues \"abc\" is not a whole \
         number) and nothing is imported while there is one, unless --valid-rows-only is given.",
        "ACL accounts and secrets are never written to a workbook.",
    ];
    for (i, line) in lines.iter().enumerate() {
        sheet.write_string(i as u32 + 1, 0, *line)?;
    }
    let top = lines.len() as u32 + 2;
    for (j, h) in ["Sheet", "Column", "Required", "Empty means", "Values", "Meaning"].iter().enumerate() {
        sheet.write_string_with_format(top, j as u16, *h, &bold)?;
    }
    let all = columns(TOPIC_COLUMNS, flavor, false)
        .into_iter()
        .map(|c| (TOPICS_SHEET, c))
        .chain(columns(GROUP_COLUMNS, flavor, false).into_iter().map(|c| (GROUPS_SHEET, c)));
    for (i, (sheet_name, c)) in all.enumerate() {
        let r = top + 1 + i as u32;
        sheet.write_string(r, 0, sheet_name)?;
        sheet.write_string(r, 1, c.header)?;
        sheet.write_string(r, 2, if c.required { "yes" } else { "no" })?;
        sheet.write_string(r, 3, c.default)?;
        sheet.write_string_with_format(r, 4, values(c).unwrap_or_default(), &wrap)?;
        sheet.write_string_with_format(r, 5, c.meaning, &wrap)?;
    }
    for (j, w) in [10.0, 20.0, 10.0, 14.0, 28.0, 70.0].iter().enumerate() {
        sheet.set_column_width(j as u16, *w)?;
    }
    Ok(())
}
