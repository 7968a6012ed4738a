//! `ferry store`: work on the store itself. `ferry store rekey` re-encrypts every secret the store
//! holds under a new store key (or, for a store kept without one, encrypts them), in one
//! transaction; run it with `ferry serve` stopped, then start it with the new key.

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use ferry_console::ServeConfig;
use ferry_control::store::{StoreKey, STORE_KEY_DOC, STORE_KEY_ENV};
use ferry_control::Store;

use crate::cmd::tasks::StoreArgs;
use crate::exit::Usage;

#[derive(Args)]
pub struct StoreCommandArgs {
    #[command(subcommand)]
    command: StoreCommand,
}

#[derive(Subcommand)]
enum StoreCommand {
    /// Re-encrypt every cluster secret key in the store under a new store key, in one transaction
    /// (plain-text secrets of a store kept without a key are encrypted too). The old key is the one
    /// `ferry serve` runs with: FERRY_STORE_KEY, else [store] key_file of --config. Stop `ferry
    /// serve` first, and start it again with the new key. Safe to run twice.
    Rekey(RekeyArgs),
}

#[derive(Args)]
pub struct RekeyArgs {
    /// The new key: a file holding 32 random bytes in base64 (`head -c 32 /dev/urandom | base64`).
    #[arg(long, value_name = "FILE")]
    new_key_file: PathBuf,
    /// The ferry.toml `ferry serve` runs with: its [store] path and key_file (the old key).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArgs,
}

pub async fn run(args: StoreCommandArgs) -> Result<()> {
    match args.command {
        StoreCommand::Rekey(args) => rekey(args).await,
    }
}

async fn rekey(args: RekeyArgs) -> Result<()> {
    let config = match &args.config {
        Some(path) => ServeConfig::load(path).map_err(|e| Usage(e.to_string()))?,
        None => ServeConfig::default(),
    };
    // Found as `ferry serve` finds it: --store (or FERRY_STORE), then the file, then the default.
    let location = args.store.location_or(config.store.as_ref())?;
    if location.file().is_some_and(|path| !path.exists()) {
        return Err(Usage(format!("no store at {location}: nothing to re-key")).into());
    }
    let old = StoreKey::resolve(config.store_key_file.as_deref()).map_err(|e| Usage(e.to_string()))?;
    let new = StoreKey::from_file(&args.new_key_file).map_err(|e| Usage(e.to_string()))?;
    let store = Store::open_location(&location).await?;
    let done = store.rekey(old.as_ref().map(|(key, _)| key), &new).await;
    store.close().await;
    let done = done?;
    let from = match &old {
        Some((_, source)) => format!("the old key ({source})"),
        None => "no key".to_string(),
    };
    println!(
        "store {location}: {} secret keys re-encrypted from {from} under {}, {} encrypted that were in plain \
         text, {} already under the new key",
        done.reencrypted,
        args.new_key_file.display(),
        done.encrypted,
        done.already
    );
    println!(
        "Start `ferry serve` with the new key: [store] key_file = \"{}\", or {STORE_KEY_ENV} set to its content \
         ({STORE_KEY_DOC}).{}",
        args.new_key_file.display(),
        if done.reencrypted > 0 { " The old key no longer opens this store's secrets." } else { "" }
    );
    Ok(())
}
