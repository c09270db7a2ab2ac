//! The library both binaries are built from: `nixos-images-gen` (`src/main.rs`) is its `cli` and `cmd` modules,
//! and the agent (`src/bin/nixos-images-agent/`) shares its file writing (`atomic_file`).

pub mod atomic_file;
pub mod cli;
pub mod cmd;
pub mod errors;
pub mod file_copy;
pub mod output;
pub mod request_args;
pub mod splice;
pub mod tree_dir;
