//! What can be wrong with a workbook: one [`Problem`] per bad cell or missing column, all of them
//! collected before anything is refused.

use std::fmt;

/// What is wrong with one cell. Shown after the column's name: `read queues "abc" is not a
/// whole number`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CellProblem {
    /// A required cell is empty.
    Empty,
    NotWholeNumber(String),
    OutOfRange {
        value: i64,
        min: i64,
        max: i64,
    },
    NotBool(String),
    BadPerm(String),
    NotOneOf {
        value: String,
        allowed: Vec<&'static str>,
    },
    /// A name RocketMQ refuses (characters, length).
    BadName {
        value: String,
        why: String,
    },
    /// The same name (and broker, for topics) as an earlier row.
    Duplicate {
        value: String,
        first_row: u32,
    },
    /// A topic with one row for every master (no broker) and rows for single brokers; `broker` is
    /// this row's.
    MixedBrokerRows {
        topic: String,
        first_row: u32,
        broker: Option<String>,
    },
    /// A topic-wide value that differs between the rows of one topic.
    Disagrees {
        value: String,
        first_row: u32,
        first_value: String,
    },
    BadAttributes(String),
    BadJson(String),
    /// The cell holds a spreadsheet error such as `#VALUE!`.
    FormulaError(String),
    /// The cell holds a date or time where none belongs.
    Date(String),
    /// The cell lies beyond what Ferry reads of a sheet (the why); refuses the whole sheet.
    TooFar(String),
}

impl fmt::Display for CellProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CellProblem::Empty => write!(f, "is empty"),
            CellProblem::NotWholeNumber(v) => write!(f, "{v:?} is not a whole number"),
            CellProblem::OutOfRange { value, min, max } => {
                write!(f, "{value} is out of range: from {min} to {max}")
            }
            CellProblem::NotBool(v) => write!(f, "{v:?} is not TRUE or FALSE (yes/no and 1/0 are taken too)"),
            CellProblem::BadPerm(v) => write!(
                f,
                "{v:?} is not 6 (read and write, rw), 4 (read only, r) or 2 (write only, w)"
            ),
            CellProblem::NotOneOf { value, allowed } => {
                write!(f, "{value:?} is not one of {}", allowed.join(", "))
            }
            CellProblem::BadName { value, why } => write!(f, "{value:?} {why}"),
            CellProblem::Duplicate { value, first_row } => write!(f, "{value:?} is already on row {first_row}"),
            CellProblem::MixedBrokerRows { topic, first_row, broker } => {
                match broker {
                    Some(b) => write!(
                        f,
                        "{b:?} conflicts with row {first_row}, where topic {topic:?} has no broker (every master)"
                    )?,
                    None => write!(f, "is empty but row {first_row} gives topic {topic:?} a broker")?,
                }
                write!(f, ": give each row of a topic a broker, or the topic one row without one")
            }
            CellProblem::Disagrees { value, first_row, first_value } => write!(
                f,
                "{value:?} differs from row {first_row} ({first_value:?}): all rows of one topic must agree on it"
            ),
            CellProblem::BadAttributes(why) => write!(f, "{why}"),
            CellProblem::BadJson(why) => write!(f, "{why}"),
            CellProblem::FormulaError(e) => write!(f, "holds the error {e}"),
            CellProblem::Date(v) => write!(f, "holds a date or time ({v})"),
            CellProblem::TooFar(why) => write!(f, "{why}"),
        }
    }
}

/// One thing wrong with a workbook, and where. Displays as `Topics!C7: read queues "abc" is not
/// a whole number`: the sheet, the cell (column letter and row number as the spreadsheet shows
/// them), the column's name and the problem.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("{sheet}!{column}{row}: {header} {problem}")]
    Cell {
        sheet: String,
        /// 1-based, as the spreadsheet shows it.
        row: u32,
        /// `A`, `B`, ... `AA`.
        column: String,
        /// The column's name, in lower case (`read queues`).
        header: String,
        problem: CellProblem,
    },
    #[error("{sheet}: required column \"{header}\" is missing (headers are read from row {row})")]
    MissingColumn { sheet: String, row: u32, header: String },
    #[error("{sheet}!{column}{row}: column \"{header}\" appears twice (first in column {first})")]
    DuplicateColumn { sheet: String, row: u32, column: String, header: String, first: String },
    #[error("the workbook has no sheet named Topics or Groups (its sheets: {found})")]
    NoSheet { found: String },
}

impl Problem {
    /// A problem confined to its row (the other rows can still be read).
    pub fn is_row_problem(&self) -> bool {
        matches!(self, Problem::Cell { problem, .. } if !matches!(problem, CellProblem::TooFar(_)))
    }

    /// The 1-based row of a cell problem.
    pub fn row(&self) -> Option<u32> {
        match self {
            Problem::Cell { row, .. } => Some(*row),
            _ => None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum XlsxError {
    #[error("{source_name}: not an .xlsx workbook Ferry can read: {detail}")]
    Unreadable { source_name: String, detail: String },
    /// Every problem found, in sheet and row order. Nothing of the workbook was taken.
    #[error("{source_name}: {}; nothing was read from the workbook:\n{}", count(problems.len()), list(problems))]
    Invalid { source_name: String, problems: Vec<Problem> },
    #[error("writing the workbook: {0}")]
    Write(#[from] rust_xlsxwriter::XlsxError),
}

impl XlsxError {
    /// Whether reading only the valid rows would get past every problem (no column or sheet is
    /// missing).
    pub fn only_row_problems(&self) -> bool {
        match self {
            XlsxError::Invalid { problems, .. } => problems.iter().all(Problem::is_row_problem),
            _ => false,
        }
    }
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 problem".into()
    } else {
        format!("{n} problems")
    }
}

fn list(problems: &[Problem]) -> String {
    problems.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n")
}
