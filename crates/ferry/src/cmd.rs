//! One module per subcommand.

pub mod diff;
pub mod export;
pub mod import;
pub mod lag;
pub mod migrate;
pub mod serve;
pub mod store;
pub mod switch_check;
pub mod tasks;
pub mod template;
