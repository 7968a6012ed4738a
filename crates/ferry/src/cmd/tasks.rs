//! `ferry tasks` and `ferry task show ID`: the tasks kept in Ferry's store (import tasks for now)
//! and the result of each of their items, as a table or JSON. Reading never creates the store.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};
use ferry_control::store::StoreLocation;
use ferry_control::task::Timestamp;
use ferry_control::{
    default_store_path, ItemCounts, ItemRecord, ItemStatus, Store, TaskId, TaskStatus, TaskSummary,
};
use serde::Serialize;

use crate::exit::Usage;
use crate::table::Table;

/// Where Ferry keeps its tasks; `#[command(flatten)]` it into every command that reads or writes them.
#[derive(Args, Clone, Debug, Default)]
pub struct StoreArgs {
    /// Ferry's store: an SQLite file (a path or sqlite://PATH), or a PostgreSQL database
    /// (postgresql://USER@HOST:PORT/DATABASE) [default: $XDG_DATA_HOME/ferry/ferry.db or ~/.local/share/ferry/ferry.db]
    #[arg(long, env = "FERRY_STORE", value_name = "PATH|URL", hide_env_values = true)]
    pub store: Option<PathBuf>,
}

impl StoreArgs {
    /// `--store` (or `FERRY_STORE`) if given, else `fallback` (ferry.toml's `[store]`), else the
    /// default file. A URL Ferry cannot use is a usage error, its password not shown.
    pub fn location_or(&self, fallback: Option<&StoreLocation>) -> Result<StoreLocation, Usage> {
        match (&self.store, fallback) {
            (Some(given), _) => StoreLocation::from_arg(given).map_err(|e| Usage(e.to_string())),
            (None, Some(location)) => Ok(location.clone()),
            (None, None) => StoreLocation::from_arg(&default_store_path()).map_err(|e| Usage(e.to_string())),
        }
    }

    /// `--store` (or `FERRY_STORE`), else the default file.
    pub fn location(&self) -> Result<StoreLocation, Usage> {
        self.location_or(None)
    }

    /// Opens the store if it exists; `None` if nothing was ever stored there (an SQLite file not
    /// there yet; a PostgreSQL database is opened, and its tables made if it has none).
    async fn open_existing(&self) -> Result<Option<Store>> {
        let location = self.location()?;
        if location.file().is_some_and(|path| !path.exists()) {
            return Ok(None);
        }
        Ok(Some(Store::open_location(&location).await?))
    }
}

#[derive(Args)]
pub struct TasksArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Only tasks with this status.
    #[arg(long, value_enum)]
    status: Option<TaskStatusArg>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct TaskArgs {
    #[command(subcommand)]
    command: TaskCommand,
}

#[derive(Subcommand)]
enum TaskCommand {
    /// Each item of one task with its status and, for a failed one, the cause.
    Show(ShowArgs),
}

#[derive(Args)]
struct ShowArgs {
    /// The task's id, as `ferry tasks` lists it.
    id: TaskId,
    #[command(flatten)]
    store: StoreArgs,
    /// Only items with this status.
    #[arg(long, value_enum)]
    status: Option<ItemStatusArg>,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Clone, Copy, ValueEnum)]
enum TaskStatusArg {
    Running,
    Succeeded,
    SomeFailed,
    AllFailed,
}

impl From<TaskStatusArg> for TaskStatus {
    fn from(s: TaskStatusArg) -> Self {
        match s {
            TaskStatusArg::Running => TaskStatus::Running,
            TaskStatusArg::Succeeded => TaskStatus::Succeeded,
            TaskStatusArg::SomeFailed => TaskStatus::SomeFailed,
            TaskStatusArg::AllFailed => TaskStatus::AllFailed,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum ItemStatusArg {
    Created,
    Updated,
    Unchanged,
    Failed,
}

impl From<ItemStatusArg> for ItemStatus {
    fn from(s: ItemStatusArg) -> Self {
        match s {
            ItemStatusArg::Created => ItemStatus::Created,
            ItemStatusArg::Updated => ItemStatus::Updated,
            ItemStatusArg::Unchanged => ItemStatus::Unchanged,
            ItemStatusArg::Failed => ItemStatus::Failed,
        }
    }
}

#[derive(Serialize)]
struct TasksReport<'a> {
    tasks: &'a [TaskSummary],
}

#[derive(Serialize)]
struct TaskReport<'a> {
    task: &'a TaskSummary,
    items: &'a [ItemRecord],
}

/// `ferry tasks`.
pub async fn run_tasks(args: TasksArgs) -> Result<()> {
    let mut tasks = match args.store.open_existing().await? {
        Some(store) => store.tasks().await?,
        None => Vec::new(),
    };
    if let Some(status) = args.status {
        let status = TaskStatus::from(status);
        tasks.retain(|t| t.status == status);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&TasksReport { tasks: &tasks })?);
    } else if tasks.is_empty() {
        println!("no tasks in {}", args.store.location()?);
    } else {
        print_tasks(&tasks);
    }
    Ok(())
}

/// `ferry task ...`.
pub async fn run_task(args: TaskArgs) -> Result<()> {
    match args.command {
        TaskCommand::Show(args) => show(args).await,
    }
}

async fn show(args: ShowArgs) -> Result<()> {
    let found = match args.store.open_existing().await? {
        Some(store) => store.task(args.id, args.status.map(ItemStatus::from)).await?,
        None => None,
    };
    let Some((task, items)) = found else {
        return Err(Usage(format!("task {} not found in {}", args.id, args.store.location()?)).into());
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&TaskReport { task: &task, items: &items })?);
    } else {
        print_task(&task, &items, args.status.map(ItemStatus::from));
    }
    Ok(())
}

fn print_tasks(tasks: &[TaskSummary]) {
    let rows: Vec<[String; 8]> = tasks
        .iter()
        .map(|t| {
            [
                t.id.to_string(),
                t.kind.clone(),
                t.target_cluster.clone(),
                imported(t.topics),
                imported(t.groups),
                imported(t.accounts),
                timestamp(t.created_at),
                t.status.to_string(),
            ]
        })
        .collect();
    let header = ["ID", "KIND", "TARGET CLUSTER", "TOPICS", "GROUPS", "ACCOUNTS", "CREATED (UTC)", "STATUS"];
    // Numbers are right-aligned.
    Table::new(&header).right(&[0, 3, 4, 5]).with_rows(rows.into_iter().map(Vec::from)).print();
}

fn print_task(t: &TaskSummary, items: &[ItemRecord], filter: Option<ItemStatus>) {
    println!("task {} ({}): {}", t.id, t.kind, t.status);
    println!("target:   {} at {}", t.target_cluster, t.target_namesrv);
    println!("source:   {}", t.source);
    println!("mode:     {}", t.mode);
    println!("created:  {} UTC", timestamp(t.created_at));
    if let Some(finished) = t.finished_at {
        println!("finished: {} UTC", timestamp(finished));
    }
    for (name, c) in [("topics", t.topics), ("groups", t.groups), ("accounts", t.accounts)] {
        println!(
            "{:9} {} of {} imported ({} unchanged), {} failed",
            format!("{name}:"),
            c.succeeded,
            c.total,
            c.unchanged,
            c.failed
        );
    }
    println!();
    if items.is_empty() {
        match filter {
            Some(status) => println!("no {status} items"),
            None => println!("no items"),
        }
        return;
    }
    let rows: Vec<[String; 6]> = items
        .iter()
        .map(|i| {
            let detail = i.cause.iter().cloned().chain(i.warnings.iter().map(|w| format!("warning: {w}")));
            [
                i.kind.to_string(),
                i.source_name.clone(),
                i.target_name.clone(),
                i.namespace.clone(),
                i.status.to_string(),
                detail.collect::<Vec<_>>().join("\n"),
            ]
        })
        .collect();
    let header = ["KIND", "SOURCE NAME", "TARGET NAME", "NAMESPACE", "STATUS", "CAUSE"];
    Table::new(&header).with_rows(rows.into_iter().map(Vec::from)).print();
}

/// `2025-05-01 10:22:03` (UTC).
fn timestamp(t: Timestamp) -> String {
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// `succeeded/total`.
fn imported(c: ItemCounts) -> String {
    format!("{}/{}", c.succeeded, c.total)
}
