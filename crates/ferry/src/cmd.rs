//! One module per subcommand.

pub mod export;
