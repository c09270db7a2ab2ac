//! One module per subcommand; each has a `run(&...Args)`.

pub mod build;
pub mod bundle;
pub mod check;
pub mod completions;
pub mod customize;
pub mod example;
pub mod fleet;
pub mod links;
pub mod man;
pub mod reference;
pub mod release;
pub mod render;
pub mod serve;
