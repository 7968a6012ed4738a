//! `ferry`: the one binary. Each subcommand lives in `cmd/`.

mod cluster_args;
mod cmd;
mod exit;
mod source_args;
mod table;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "ferry",
    version,
    about = "Migrate Apache RocketMQ clusters while the business keeps running"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Export topics, subscription groups and ACL accounts of a live cluster (or a document file) to a
    /// JSON document, or its topics and groups to an .xlsx workbook.
    Export(cmd::export::ExportArgs),
    /// Write an empty .xlsx workbook of topics and groups to fill in, for a 4.x or a 5.x target.
    Template(cmd::template::TemplateArgs),
    /// Compare a source (document or cluster) with a target: missing, different, extra.
    Diff(cmd::diff::DiffArgs),
    /// Import topics and groups from a document or a live cluster into a target cluster.
    Import(cmd::import::ImportArgs),
    /// Backlog per group, topic and queue on a cluster, with totals.
    Lag(cmd::lag::LagArgs),
    /// Whether each group's consumers and producers may switch from a source cluster to a target, and in which order.
    SwitchCheck(cmd::switch_check::SwitchCheckArgs),
    /// The tasks in Ferry's store, newest first, with their status.
    Tasks(cmd::tasks::TasksArgs),
    /// One task's items with their status and cause.
    Task(cmd::tasks::TaskArgs),
    /// Run Ferry: the NameServer front clients point at, the broker relays, the migration engine and the HTTP API.
    Serve(cmd::serve::ServeArgs),
    /// Drive seamless migrations on a running `ferry serve` through its API.
    Migrate(cmd::migrate::MigrateArgs),
    /// Work on Ferry's store: `rekey` re-encrypts its secrets under a new store key.
    Store(cmd::store::StoreCommandArgs),
}

fn main() {
    let cli = Cli::parse();
    // `ferry serve` logs what it does by default and also reads RUST_LOG, as servers do.
    let (default_log, env_vars): (&str, &[&str]) = match &cli.command {
        Command::Serve(args) => (args.log_filter(), &["FERRY_LOG", "RUST_LOG"]),
        _ => ("warn", &["FERRY_LOG"]),
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            env_vars
                .iter()
                .find_map(|var| tracing_subscriber::EnvFilter::try_from_env(var).ok())
                .unwrap_or_else(|| default_log.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let result = runtime.block_on(async {
        match cli.command {
            Command::Export(args) => cmd::export::run(args).await,
            Command::Template(args) => cmd::template::run(args),
            Command::Lag(args) => cmd::lag::run(args).await,
            Command::SwitchCheck(args) => cmd::switch_check::run(args).await,
            Command::Tasks(args) => cmd::tasks::run_tasks(args).await,
            Command::Task(args) => cmd::tasks::run_task(args).await,
            Command::Import(args) => cmd::import::run(args).await,
            Command::Diff(args) => cmd::diff::run(args).await,
            Command::Serve(args) => cmd::serve::run(args).await,
            Command::Migrate(args) => cmd::migrate::run(args).await,
            Command::Store(args) => cmd::store::run(args).await,
        }
    });
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(exit::code_of(&e));
    }
}
