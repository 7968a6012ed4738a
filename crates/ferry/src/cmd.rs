//! One module per subcommand.

pub mod export;
pub mod lag;
