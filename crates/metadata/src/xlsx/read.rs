//! Reading a workbook into a [`Document`]: headers matched by name, every cell checked, every
//! problem collected with its place. Any problem refuses the workbook, unless only the valid rows
//! are asked for; then a topic or group with any bad row is left out whole, and the problems are
//! handed back to be reported.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};
use chrono::Utc;
use ferry_remoting::body::{SubscriptionGroupConfig, TopicConfig};
use serde_json::{Map, Value};

use super::columns::{letter, Column, Field, Kind, GROUP_COLUMNS, TOPIC_COLUMNS};
use super::error::{CellProblem, Problem, XlsxError};
use super::grid::Grid;
use super::{GROUPS_SHEET, TOPICS_SHEET};
use crate::document::{
    ApacheMetadata, Document, FerryDetail, GroupEntry, Skipped, SourceCluster, TopicEntry, TopicOnBroker,
    FORMAT_VERSION,
};
use crate::system::namespace_of;

/// `TopicValidator.TOPIC_MAX_LENGTH`.
const TOPIC_MAX_LENGTH: usize = 127;
/// `Validators.CHARACTER_MAX_LENGTH`.
const GROUP_MAX_LENGTH: usize = 255;
/// The 5.x topic attribute the Message type column holds.
const MESSAGE_TYPE: &str = "message.type";
/// Group config keys with a column of their own, which the JSON column must not repeat.
const NAMED_GROUP_KEYS: &[&str] = &[
    "groupName",
    "consumeEnable",
    "consumeFromMinEnable",
    "consumeBroadcastEnable",
    "retryQueueNums",
    "retryMaxTimes",
    "brokerId",
    "whichBrokerWhenConsumeSlowly",
    "notifyConsumerIdsChangedEnable",
    "groupSysFlag",
    "consumeMessageOrderly",
    "attributes",
];

#[derive(Clone, Copy, Debug, Default)]
pub struct ReadOptions {
    /// Take the valid rows and hand back the problems of the others, instead of refusing the
    /// workbook. Missing columns and sheets still refuse it.
    pub valid_rows_only: bool,
}

#[derive(Debug)]
pub struct WorkbookRead {
    /// The topics and groups read, as a Ferry document (no ACL, no source cluster).
    pub document: Document,
    /// With `valid_rows_only`: the problems of the rows left out, in sheet and row order.
    pub skipped: Vec<Problem>,
    /// What was read but is worth telling: ignored columns, valid rows left out with their
    /// topic or group.
    pub warnings: Vec<String>,
}

/// Reads the Topics and Groups sheets of an `.xlsx` workbook (sheet names in any case; other
/// sheets are ignored). `source_name` names the workbook in errors.
pub fn read_workbook(
    bytes: &[u8],
    source_name: &str,
    options: ReadOptions,
) -> Result<WorkbookRead, XlsxError> {
    let unreadable = |detail: String| XlsxError::Unreadable { source_name: source_name.to_string(), detail };
    super::grid::check_unpacked_size(bytes).map_err(unreadable)?;
    let mut workbook: Xlsx<_> =
        super::grid::unpanicked(|| calamine::open_workbook_from_rs(Cursor::new(bytes)))
            .map_err(unreadable)?
            .map_err(|e: calamine::XlsxError| unreadable(e.to_string()))?;
    let names = workbook.sheet_names();
    let find = |wanted: &str| names.iter().find(|n| n.trim().eq_ignore_ascii_case(wanted)).cloned();
    let (topics_sheet, groups_sheet) = (find(TOPICS_SHEET), find(GROUPS_SHEET));
    if topics_sheet.is_none() && groups_sheet.is_none() {
        return Err(XlsxError::Invalid {
            source_name: source_name.to_string(),
            problems: vec![Problem::NoSheet { found: names.join(", ") }],
        });
    }
    let mut sheet_problems = Vec::new();
    let mut warnings = Vec::new();
    let mut grid_of = |name: &Option<String>| -> Result<Option<(String, Grid)>, XlsxError> {
        let Some(n) = name else { return Ok(None) };
        let read = super::grid::unpanicked(|| super::grid::read_sheet(&mut workbook, n))
            .map_err(|why| unreadable(format!("sheet {n}: {why}")))?;
        match read {
            Ok(Ok(grid)) => {
                if let Some((count, first)) = &grid.ignored {
                    warnings.push(format!(
                        "{n}!{first}: {count} cell{} right of column {} {} not read",
                        if *count == 1 { "" } else { "s" },
                        letter(super::grid::MAX_COLUMNS - 1),
                        if *count == 1 { "is" } else { "are" },
                    ));
                }
                Ok(Some((n.clone(), grid)))
            }
            Ok(Err(problem)) => {
                sheet_problems.push(problem);
                Ok(None)
            }
            Err(e) => Err(unreadable(format!("sheet {n}: {e}"))),
        }
    };
    let topics_grid = grid_of(&topics_sheet)?;
    let groups_grid = grid_of(&groups_sheet)?;
    if !sheet_problems.is_empty() {
        return Err(XlsxError::Invalid { source_name: source_name.to_string(), problems: sheet_problems });
    }

    let mut problems = Vec::new();
    let topics = match &topics_grid {
        Some((name, grid)) => read_topics(name, grid, &mut problems, &mut warnings),
        None => Items::default(),
    };
    let groups = match &groups_grid {
        Some((name, grid)) => read_groups(name, grid, &mut problems, &mut warnings),
        None => Items::default(),
    };

    let refused =
        !problems.is_empty() && (!options.valid_rows_only || !problems.iter().all(Problem::is_row_problem));
    if refused {
        return Err(XlsxError::Invalid { source_name: source_name.to_string(), problems });
    }
    warnings.extend(topics.left_out.iter().cloned());
    warnings.extend(groups.left_out.iter().cloned());
    Ok(WorkbookRead { document: document(topics.items, groups.items), skipped: problems, warnings })
}

/// The valid items of one sheet, and the valid rows left out because another row of their item
/// has a problem.
struct Items<T> {
    items: Vec<T>,
    left_out: Vec<String>,
}

impl<T> Default for Items<T> {
    fn default() -> Self {
        Items { items: Vec::new(), left_out: Vec::new() }
    }
}

/// Where each known column is, and the data rows.
struct Sheet<'a> {
    name: &'a str,
    columns: &'static [Column],
    /// Field -> absolute column index.
    at: BTreeMap<Field, u32>,
    /// (row index, the row's non-empty cells as (column index, value), in column order).
    rows: Vec<(u32, &'a [(u32, Data)])>,
}

impl<'a> Sheet<'a> {
    /// Finds the header row (the first row with anything in it) and the columns it names.
    /// `None` when the sheet is empty or a required column is missing (reported).
    fn read(
        name: &'a str,
        grid: &'a Grid,
        columns: &'static [Column],
        problems: &mut Vec<Problem>,
        warnings: &mut Vec<String>,
    ) -> Option<Sheet<'a>> {
        let header_at = grid.rows.iter().position(|(_, cells)| cells.iter().any(|(_, d)| !blank(d)))?;
        let (header_row, header_cells) = &grid.rows[header_at];
        let header_row = *header_row;
        let mut at = BTreeMap::new();
        let before = problems.len();
        for (col, cell) in header_cells {
            let col = *col;
            let text = shown(cell);
            if text.is_empty() {
                continue;
            }
            match super::columns::column_for(columns, &text) {
                Some(c) => {
                    if let Some(first) = at.get(&c.field) {
                        problems.push(Problem::DuplicateColumn {
                            sheet: name.to_string(),
                            row: header_row + 1,
                            column: letter(col),
                            header: c.header.to_string(),
                            first: letter(*first),
                        });
                    } else {
                        at.insert(c.field, col);
                    }
                }
                None => warnings.push(format!(
                    "{name}!{}{}: column {text:?} is not one Ferry reads; it is ignored",
                    letter(col),
                    header_row + 1
                )),
            }
        }
        for c in columns.iter().filter(|c| c.required && !at.contains_key(&c.field)) {
            problems.push(Problem::MissingColumn {
                sheet: name.to_string(),
                row: header_row + 1,
                header: c.header.to_string(),
            });
        }
        if problems.len() > before {
            return None;
        }
        let data = grid.rows[header_at + 1..]
            .iter()
            .map(|(row, cells)| (*row, cells.as_slice()))
            .filter(|(_, cells)| cells.iter().any(|(col, d)| !blank(d) && at.values().any(|c| c == col)))
            .collect();
        Some(Sheet { name, columns, at, rows: data })
    }

    fn cells(&self, row: u32, cells: &'a [(u32, Data)]) -> Cells<'_, 'a> {
        Cells { sheet: self, row, cells, problems: Vec::new() }
    }

    /// `Topics!C7`.
    fn cell_ref(&self, row: u32, field: Field) -> String {
        let col = self.at.get(&field).copied().unwrap_or_default();
        format!("{}!{}{}", self.name, letter(col), row + 1)
    }

    fn problem(&self, row: u32, field: Field, problem: CellProblem) -> Problem {
        let col = self.at.get(&field).copied().unwrap_or_default();
        let header = self.columns.iter().find(|c| c.field == field).map(|c| c.header).unwrap_or_default();
        Problem::Cell {
            sheet: self.name.to_string(),
            row: row + 1,
            column: letter(col),
            header: header.to_lowercase(),
            problem,
        }
    }
}

/// One data row being read; problems pile up in `problems`.
struct Cells<'s, 'a> {
    sheet: &'s Sheet<'a>,
    row: u32,
    /// The row's non-empty cells, (column index, value) in column order.
    cells: &'a [(u32, Data)],
    problems: Vec<Problem>,
}

impl<'a> Cells<'_, 'a> {
    fn get(&self, field: Field) -> Option<&'a Data> {
        let col = *self.sheet.at.get(&field)?;
        let at = self.cells.binary_search_by_key(&col, |(c, _)| *c).ok()?;
        Some(&self.cells[at].1).filter(|d| !blank(d))
    }

    fn fail(&mut self, field: Field, problem: CellProblem) {
        self.problems.push(self.sheet.problem(self.row, field, problem));
    }

    fn kind(&self, field: Field) -> Kind {
        self.sheet.columns.iter().find(|c| c.field == field).map(|c| c.kind).unwrap_or(Kind::Text)
    }

    /// The trimmed text of a cell; `None` when empty or not text (reported).
    fn text(&mut self, field: Field) -> Option<String> {
        let d = self.get(field)?;
        match d {
            Data::Error(e) => {
                let e = e.to_string();
                self.fail(field, CellProblem::FormulaError(e));
                None
            }
            Data::DateTime(_) | Data::DateTimeIso(_) | Data::DurationIso(_) => {
                let v = shown(d);
                self.fail(field, CellProblem::Date(v));
                None
            }
            _ => Some(shown(d)),
        }
    }

    /// A name: required, and one RocketMQ takes.
    fn name(&mut self, field: Field, max: usize) -> Option<String> {
        if self.get(field).is_none() {
            self.fail(field, CellProblem::Empty);
            return None;
        }
        let value = self.text(field)?;
        let why = if value.len() > max {
            Some(format!("is {} characters long; at most {max} are allowed", value.len()))
        } else if !value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-')) {
            Some("has characters other than letters, digits, %, |, _ and -".to_string())
        } else {
            None
        };
        match why {
            Some(why) => {
                self.fail(field, CellProblem::BadName { value, why });
                None
            }
            None => Some(value),
        }
    }

    /// A whole number in the column's range; `default` when empty (`None`: required).
    fn whole(&mut self, field: Field, default: Option<i64>) -> Option<i64> {
        let Some(d) = self.get(field) else {
            if default.is_none() {
                self.fail(field, CellProblem::Empty);
            }
            return default;
        };
        let n = match d {
            Data::Int(i) => Some(*i),
            Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(*f as i64),
            Data::String(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        let Some(n) = n else {
            let problem = match d {
                Data::Error(e) => CellProblem::FormulaError(e.to_string()),
                _ => CellProblem::NotWholeNumber(shown(d)),
            };
            self.fail(field, problem);
            return None;
        };
        if let Kind::Whole(min, max) = self.kind(field) {
            if !(min..=max).contains(&n) {
                self.fail(field, CellProblem::OutOfRange { value: n, min, max });
                return None;
            }
        }
        Some(n)
    }

    fn boolean(&mut self, field: Field, default: bool) -> Option<bool> {
        self.optional_boolean(field).map(|b| b.unwrap_or(default))
    }

    /// `Some(None)` when empty; `None` when bad (reported).
    fn optional_boolean(&mut self, field: Field) -> Option<Option<bool>> {
        let Some(d) = self.get(field) else { return Some(None) };
        let b = match d {
            Data::Bool(b) => Some(*b),
            Data::Int(1) => Some(true),
            Data::Int(0) => Some(false),
            Data::Float(f) if *f == 1.0 => Some(true),
            Data::Float(f) if *f == 0.0 => Some(false),
            Data::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "y" | "1" => Some(true),
                "false" | "no" | "n" | "0" => Some(false),
                _ => None,
            },
            _ => None,
        };
        if b.is_none() {
            let v = shown(d);
            self.fail(field, CellProblem::NotBool(v));
            return None;
        }
        Some(b)
    }

    /// `PermName`: 6 read and write, 4 read only, 2 write only; numbers or words.
    fn perm(&mut self, field: Field) -> Option<i32> {
        let Some(d) = self.get(field) else { return Some(6) };
        let text = shown(d);
        let words = text.to_ascii_lowercase().replace([' ', '_'], "-");
        let perm = match words.as_str() {
            "6" | "rw" | "r+w" | "r/w" | "read+write" | "read-write" | "read/write" | "readwrite"
            | "read-and-write" => Some(6),
            "4" | "r" | "read" | "read-only" | "readonly" => Some(4),
            "2" | "w" | "write" | "write-only" | "writeonly" => Some(2),
            _ => None,
        };
        if perm.is_none() {
            self.fail(field, CellProblem::BadPerm(text));
        }
        perm
    }

    /// One of the column's words, in upper case; `None` when empty or bad (bad is reported).
    fn one_of(&mut self, field: Field) -> Option<String> {
        let text = self.text(field)?;
        let Kind::OneOf(offered, more) = self.kind(field) else { return Some(text) };
        let upper = text.to_ascii_uppercase();
        if offered.iter().chain(more).any(|w| *w == upper) {
            Some(upper)
        } else {
            let allowed = offered.iter().chain(more).copied().collect();
            self.fail(field, CellProblem::NotOneOf { value: text, allowed });
            None
        }
    }

    /// `key=value` pairs separated by commas, semicolons or line breaks.
    fn attributes(&mut self, field: Field, forbidden: &[&str]) -> Option<BTreeMap<String, String>> {
        if self.get(field).is_none() {
            return Some(BTreeMap::new());
        }
        let text = self.text(field)?;
        let mut out = BTreeMap::new();
        for part in text.split([',', ';', '\n']).map(str::trim).filter(|p| !p.is_empty()) {
            let why = match part.split_once('=') {
                None => Some(format!("{part:?} is not key=value")),
                Some((k, v)) => {
                    let key = k.trim().trim_start_matches('+').to_string();
                    if key.is_empty() {
                        Some(format!("{part:?} has no key"))
                    } else if forbidden.contains(&key.as_str()) {
                        Some(format!("{key} has a column of its own"))
                    } else if out.insert(key.clone(), v.trim().to_string()).is_some() {
                        Some(format!("{key} is given twice"))
                    } else {
                        None
                    }
                }
            };
            if let Some(why) = why {
                self.fail(field, CellProblem::BadAttributes(why));
                return None;
            }
        }
        Some(out)
    }

    /// A JSON object of config fields without a column of their own.
    fn json(&mut self, field: Field) -> Option<Map<String, Value>> {
        if self.get(field).is_none() {
            return Some(Map::new());
        }
        let text = self.text(field)?;
        let why = match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => match map.keys().find(|k| NAMED_GROUP_KEYS.contains(&k.as_str())) {
                Some(k) => format!("holds {k}, which has a column of its own"),
                None => return Some(map),
            },
            Ok(_) => "is not a JSON object ({...})".to_string(),
            Err(e) => format!("is not valid JSON: {e}"),
        };
        self.fail(field, CellProblem::BadJson(why));
        None
    }
}

/// A cell as text, as the spreadsheet shows it (whole numbers without `.0`).
fn shown(d: &Data) -> String {
    match d {
        Data::String(s) => s.trim().to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Bool(true) => "TRUE".into(),
        Data::Bool(false) => "FALSE".into(),
        Data::Empty => String::new(),
        other => other.to_string(),
    }
}

fn blank(d: &Data) -> bool {
    match d {
        Data::Empty => true,
        Data::String(s) => s.trim().is_empty(),
        _ => false,
    }
}

/// One valid topic row.
struct TopicRow {
    name: String,
    broker: Option<String>,
    read: i32,
    write: i32,
    perm: i32,
    wide: TopicWide,
}

/// What all rows of one topic must agree on.
#[derive(Clone, PartialEq)]
struct TopicWide {
    order: bool,
    message_type: Option<String>,
    filter_type: String,
    sys_flag: i32,
    attributes: BTreeMap<String, String>,
}

impl TopicWide {
    /// Fields that differ from `first`, with both values as shown.
    fn differences(&self, first: &TopicWide) -> Vec<(Field, String, String)> {
        let attrs = |a: &BTreeMap<String, String>| {
            a.iter()
                .filter(|(k, _)| *k != MESSAGE_TYPE)
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let bool_text = |b: bool| if b { "TRUE" } else { "FALSE" }.to_string();
        let mut out = Vec::new();
        let mut push = |f: Field, mine: String, theirs: String| {
            if mine != theirs {
                out.push((f, mine, theirs));
            }
        };
        push(Field::Order, bool_text(self.order), bool_text(first.order));
        push(
            Field::MessageType,
            self.message_type.clone().unwrap_or_default(),
            first.message_type.clone().unwrap_or_default(),
        );
        push(Field::FilterType, self.filter_type.clone(), first.filter_type.clone());
        push(Field::TopicSysFlag, self.sys_flag.to_string(), first.sys_flag.to_string());
        push(Field::TopicAttributes, attrs(&self.attributes), attrs(&first.attributes));
        out
    }
}

/// Rows of one sheet read, before items are formed: each row's name (when readable), its
/// broker (topics), and its value when every cell is valid.
struct RowRead<T> {
    row: u32,
    key: Option<(String, Option<String>)>,
    value: Option<T>,
}

fn read_topics(
    name: &str,
    grid: &Grid,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<String>,
) -> Items<TopicEntry> {
    let Some(sheet) = Sheet::read(name, grid, TOPIC_COLUMNS, problems, warnings) else {
        return Items::default();
    };
    let mut found = Vec::new();
    let mut rows = Vec::new();
    for (row, cells) in &sheet.rows {
        let mut c = sheet.cells(*row, cells);
        let topic = c.name(Field::TopicName, TOPIC_MAX_LENGTH);
        let broker_ok = c.get(Field::Broker).is_none() || c.text(Field::Broker).is_some();
        let broker = c.get(Field::Broker).map(shown);
        let read = c.whole(Field::ReadQueues, None);
        let write = c.whole(Field::WriteQueues, None);
        let perm = c.perm(Field::Perm);
        let order = c.boolean(Field::Order, false);
        let message_type_ok = c.get(Field::MessageType).is_none() || c.one_of(Field::MessageType).is_some();
        let message_type = c.get(Field::MessageType).map(|d| shown(d).to_ascii_uppercase());
        let filter_ok = c.get(Field::FilterType).is_none() || c.one_of(Field::FilterType).is_some();
        let filter_type = c
            .get(Field::FilterType)
            .map(|d| shown(d).to_ascii_uppercase())
            .unwrap_or_else(|| "SINGLE_TAG".into());
        let sys_flag = c.whole(Field::TopicSysFlag, Some(0));
        let attributes = c.attributes(Field::TopicAttributes, &[MESSAGE_TYPE]);
        if let (Some(true), Some(t)) = (order, message_type.as_deref()) {
            if message_type_ok && t != "FIFO" {
                warnings.push(format!(
                    "{}: topic {:?} is ordered but its message type is {t}; 5.x ordered topics are FIFO",
                    sheet.cell_ref(*row, Field::MessageType),
                    topic.as_deref().unwrap_or_default()
                ));
            }
        }
        let key = match (&topic, broker_ok) {
            (Some(t), true) => Some((t.clone(), broker.clone())),
            _ => None,
        };
        let value = match (topic, read, write, perm, order, sys_flag, attributes) {
            (
                Some(name),
                Some(read),
                Some(write),
                Some(perm),
                Some(order),
                Some(sys_flag),
                Some(mut attributes),
            ) if c.problems.is_empty() && broker_ok && message_type_ok && filter_ok => {
                if let Some(t) = &message_type {
                    attributes.insert(MESSAGE_TYPE.to_string(), t.clone());
                }
                Some(TopicRow {
                    name,
                    broker,
                    read: read as i32,
                    write: write as i32,
                    perm,
                    wide: TopicWide {
                        order,
                        message_type,
                        filter_type,
                        sys_flag: sys_flag as i32,
                        attributes,
                    },
                })
            }
            _ => None,
        };
        found.append(&mut c.problems);
        rows.push(RowRead { row: *row, key, value });
    }

    // Across rows: duplicates, a topic both on every master and on single brokers, and
    // topic-wide values that differ between a topic's rows.
    struct Seen {
        first_row: u32,
        every_master: bool,
        brokers: HashMap<String, u32>,
        first_valid: Option<(u32, TopicWide)>,
    }
    let mut seen: HashMap<String, Seen> = HashMap::new();
    for r in &rows {
        let Some((topic, broker)) = &r.key else { continue };
        let Some(s) = seen.get_mut(topic) else {
            let brokers = broker.iter().map(|b| (b.clone(), r.row)).collect();
            let first_valid = r.value.as_ref().map(|v| (r.row, v.wide.clone()));
            seen.insert(
                topic.clone(),
                Seen { first_row: r.row, every_master: broker.is_none(), brokers, first_valid },
            );
            continue;
        };
        let problem = match (s.every_master, broker) {
            (true, None) => Some((
                Field::TopicName,
                CellProblem::Duplicate { value: topic.clone(), first_row: s.first_row + 1 },
            )),
            (true, Some(b)) => Some((
                Field::Broker,
                CellProblem::MixedBrokerRows {
                    topic: topic.clone(),
                    first_row: s.first_row + 1,
                    broker: Some(b.clone()),
                },
            )),
            (false, None) => Some((
                Field::Broker,
                CellProblem::MixedBrokerRows {
                    topic: topic.clone(),
                    first_row: s.first_row + 1,
                    broker: None,
                },
            )),
            (false, Some(b)) => match s.brokers.get(b) {
                Some(first) => {
                    Some((Field::Broker, CellProblem::Duplicate { value: b.clone(), first_row: first + 1 }))
                }
                None => {
                    s.brokers.insert(b.clone(), r.row);
                    None
                }
            },
        };
        if let Some((field, p)) = problem {
            found.push(sheet.problem(r.row, field, p));
            continue;
        }
        if let Some(v) = &r.value {
            match &s.first_valid {
                None => s.first_valid = Some((r.row, v.wide.clone())),
                Some((first_row, first)) => {
                    for (field, mine, theirs) in v.wide.differences(first) {
                        found.push(sheet.problem(
                            r.row,
                            field,
                            CellProblem::Disagrees {
                                value: mine,
                                first_row: first_row + 1,
                                first_value: theirs,
                            },
                        ));
                    }
                }
            }
        }
    }

    let (items, left_out) = keep_whole_items(&sheet, "topic", rows, &found);
    let topics = topic_entries(items);
    sort(&mut found);
    problems.extend(found);
    Items { items: topics, left_out }
}

/// Rows grouped by name, in sheet order, leaving out every item that has a row with a problem
/// (and saying which valid rows went with it).
fn keep_whole_items<T>(
    sheet: &Sheet,
    what: &str,
    rows: Vec<RowRead<T>>,
    problems: &[Problem],
) -> (Vec<Vec<T>>, Vec<String>) {
    let bad_rows: BTreeSet<u32> = problems.iter().filter_map(Problem::row).collect();
    let mut bad_names: BTreeMap<String, u32> = BTreeMap::new();
    for r in &rows {
        if let Some((name, _)) = &r.key {
            if bad_rows.contains(&(r.row + 1)) {
                bad_names.entry(name.clone()).or_insert(r.row + 1);
            }
        }
    }
    let mut order: Vec<String> = Vec::new();
    let mut grouped: HashMap<String, Vec<T>> = HashMap::new();
    let mut left_out = Vec::new();
    for r in rows {
        let (Some((name, _)), Some(value)) = (r.key, r.value) else { continue };
        if bad_rows.contains(&(r.row + 1)) {
            continue;
        }
        if let Some(bad) = bad_names.get(&name) {
            left_out.push(format!(
                "{} row {}: {what} {name:?} is left out: its row {bad} has problems",
                sheet.name,
                r.row + 1
            ));
            continue;
        }
        if !grouped.contains_key(&name) {
            order.push(name.clone());
        }
        grouped.entry(name).or_default().push(value);
    }
    let items = order.into_iter().map(|n| grouped.remove(&n).unwrap_or_default()).collect();
    (items, left_out)
}

fn topic_entries(items: Vec<Vec<TopicRow>>) -> Vec<TopicEntry> {
    items
        .into_iter()
        .filter_map(|rows| {
            let first = rows.first()?;
            let every_master = first.broker.is_none();
            let brokers: Vec<TopicOnBroker> = if every_master {
                Vec::new()
            } else {
                rows.iter()
                    .map(|r| TopicOnBroker {
                        broker: r.broker.clone().unwrap_or_default(),
                        read_queue_nums: r.read,
                        write_queue_nums: r.write,
                        perm: r.perm,
                    })
                    .collect()
            };
            Some(TopicEntry {
                name: first.name.clone(),
                namespace: namespace_of(&first.name).map(str::to_string),
                read_queue_nums: rows.iter().map(|r| r.read).sum(),
                write_queue_nums: rows.iter().map(|r| r.write).sum(),
                perm: first.perm,
                order: first.wide.order,
                topic_sys_flag: first.wide.sys_flag,
                topic_filter_type: first.wide.filter_type.clone(),
                message_type: first.wide.message_type.clone(),
                attributes: first.wide.attributes.clone(),
                brokers,
            })
        })
        .collect()
}

fn read_groups(
    name: &str,
    grid: &Grid,
    problems: &mut Vec<Problem>,
    warnings: &mut Vec<String>,
) -> Items<GroupEntry> {
    let Some(sheet) = Sheet::read(name, grid, GROUP_COLUMNS, problems, warnings) else {
        return Items::default();
    };
    let mut found = Vec::new();
    let mut rows = Vec::new();
    let defaults = SubscriptionGroupConfig::default();
    for (row, cells) in &sheet.rows {
        let mut c = sheet.cells(*row, cells);
        let group = c.name(Field::GroupName, GROUP_MAX_LENGTH);
        let consume_enable = c.boolean(Field::ConsumeEnable, defaults.consume_enable);
        let broadcast = c.boolean(Field::ConsumeBroadcast, defaults.consume_broadcast_enable);
        let orderly = c.optional_boolean(Field::ConsumeOrderly);
        let retry_max = c.whole(Field::RetryMaxTimes, Some(defaults.retry_max_times.into()));
        let retry_queues = c.whole(Field::RetryQueues, Some(defaults.retry_queue_nums.into()));
        let broker_id = c.whole(Field::BrokerId, Some(defaults.broker_id));
        let slow = c.whole(Field::SlowBrokerId, Some(defaults.which_broker_when_consume_slowly));
        let from_min = c.boolean(Field::ConsumeFromMin, defaults.consume_from_min_enable);
        let notify = c.boolean(Field::NotifyIdsChanged, defaults.notify_consumer_ids_changed_enable);
        let sys_flag = c.whole(Field::GroupSysFlag, Some(defaults.group_sys_flag.into()));
        let attributes = c.attributes(Field::GroupAttributes, &[]);
        let extra = c.json(Field::OtherFields);
        let key = group.clone().map(|g| (g, None));
        let value = (|| {
            if !c.problems.is_empty() {
                return None;
            }
            let group_name = group?;
            Some(GroupEntry {
                name: group_name.clone(),
                namespace: namespace_of(&group_name).map(str::to_string),
                brokers: Vec::new(),
                config: SubscriptionGroupConfig {
                    group_name,
                    consume_enable: consume_enable?,
                    consume_from_min_enable: from_min?,
                    consume_broadcast_enable: broadcast?,
                    retry_queue_nums: retry_queues? as i32,
                    retry_max_times: retry_max? as i32,
                    broker_id: broker_id?,
                    which_broker_when_consume_slowly: slow?,
                    notify_consumer_ids_changed_enable: notify?,
                    group_sys_flag: sys_flag? as i32,
                    consume_message_orderly: orderly?,
                    attributes: attributes?,
                    extra: extra?,
                },
            })
        })();
        found.append(&mut c.problems);
        rows.push(RowRead { row: *row, key, value });
    }
    let mut first: HashMap<String, u32> = HashMap::new();
    for r in &rows {
        let Some((group, _)) = &r.key else { continue };
        match first.get(group) {
            Some(f) => found.push(sheet.problem(
                r.row,
                Field::GroupName,
                CellProblem::Duplicate { value: group.clone(), first_row: f + 1 },
            )),
            None => {
                first.insert(group.clone(), r.row);
            }
        }
    }
    let (items, left_out) = keep_whole_items(&sheet, "group", rows, &found);
    sort(&mut found);
    problems.extend(found);
    Items { items: items.into_iter().filter_map(|mut g| g.pop()).collect(), left_out }
}

/// Row order, then column order, within one sheet.
fn sort(problems: &mut [Problem]) {
    problems.sort_by_key(|p| match p {
        Problem::Cell { row, column, .. } => (*row, column.len(), column.clone()),
        _ => (0, 0, String::new()),
    });
}

/// The document of the topics and groups read. Queue numbers of a row without a broker are per
/// master; `metadata` (the Apache section, for other tools) holds them as they are, and sums for
/// topics given per broker.
fn document(topics: Vec<TopicEntry>, groups: Vec<GroupEntry>) -> Document {
    let topic_config_table = topics
        .iter()
        .map(|t| {
            let config = TopicConfig {
                topic_name: t.name.clone(),
                read_queue_nums: t.read_queue_nums,
                write_queue_nums: t.write_queue_nums,
                perm: t.perm,
                topic_filter_type: t.topic_filter_type.clone(),
                topic_sys_flag: t.topic_sys_flag,
                order: t.order,
                attributes: t.attributes.clone(),
                extra: Map::new(),
            };
            (t.name.clone(), config)
        })
        .collect();
    let subscription_group_table = groups.iter().map(|g| (g.name.clone(), g.config.clone())).collect();
    let namespaces: BTreeSet<String> = topics
        .iter()
        .filter_map(|t| t.namespace.clone())
        .chain(groups.iter().filter_map(|g| g.namespace.clone()))
        .collect();
    let now = Utc::now();
    Document {
        configs: Value::Object(Map::new()),
        metadata: ApacheMetadata {
            topic_config_table,
            subscription_group_table,
            export_time: Some(now.timestamp_millis()),
        },
        metrics: Value::Object(Map::new()),
        ferry: Some(FerryDetail {
            format_version: FORMAT_VERSION,
            exported_by: format!("ferry {}", env!("CARGO_PKG_VERSION")),
            export_time: now,
            source: SourceCluster::default(),
            topics,
            groups,
            acl: None,
            namespaces: namespaces.into_iter().collect(),
            skipped: Skipped::default(),
            warnings: Vec::new(),
        }),
    }
}
