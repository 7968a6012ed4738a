//! One module per subcommand.

pub mod diff;
pub mod export;
pub mod import;
pub mod lag;
pub mod tasks;
