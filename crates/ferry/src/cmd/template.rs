//! `ferry template`: an empty `.xlsx` workbook of topics and consumer groups to fill in and import
//! with `ferry import --from FILE.xlsx`, laid out for a 4.x or a 5.x target (5.x adds the topic's
//! message type and the group's consume-orderly flag).

use std::path::PathBuf;

use anyhow::Result;
use clap::Args;
use ferry_metadata::xlsx::{self, Flavor};

use crate::cmd::export::write_atomically;
use crate::exit::Usage;

#[derive(Args)]
pub struct TemplateArgs {
    /// The target's RocketMQ line: `4.x`, or `5.x` (adds the message type column:
    /// NORMAL, FIFO, DELAY, TRANSACTION).
    #[arg(long, value_parser = |s: &str| s.parse::<Flavor>())]
    target: Flavor,
    /// The file to write; default `ferry-template-4.x.xlsx` or `ferry-template-5.x.xlsx`.
    #[arg(long, short = 'o')]
    output: Option<PathBuf>,
    /// Replace the file if it exists (it may be a workbook someone filled in).
    #[arg(long)]
    force: bool,
}

pub fn run(args: TemplateArgs) -> Result<()> {
    let default = format!("ferry-template-{}.xlsx", args.target.label());
    let output = match args.output {
        Some(o) if o.is_dir() => o.join(default),
        Some(o) => o,
        None => PathBuf::from(default),
    };
    if output.exists() && !args.force {
        return Err(Usage(format!("{} exists; pass --force to replace it", output.display())).into());
    }
    let bytes = xlsx::template(args.target)?;
    write_atomically(&output, &bytes, false)?;
    println!(
        "wrote a {} template to {}: fill in the {} and {} sheets (headers in row 1, see the {} sheet), then \
         ferry import -n NAMESRV -c CLUSTER --from {}",
        args.target.label(),
        output.display(),
        xlsx::TOPICS_SHEET,
        xlsx::GROUPS_SHEET,
        xlsx::README_SHEET,
        output.display(),
    );
    Ok(())
}
