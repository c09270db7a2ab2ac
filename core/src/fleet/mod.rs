//! Fleet netboot: many machines from one inventory, served by any static web server. The inventory
//! ([`inventory`]) is validated as a whole ([`validate`]); the tree ([`tree`]) matches machines by MAC in iPXE
//! itself, so no server of ours runs. [`diff`] says which hosts two inventories boot differently.

pub mod dhcp;
pub mod diff;
pub mod index;
pub mod inventory;
pub mod tree;
pub mod validate;

pub use inventory::{Defaults, HostEntry, Inventory};
pub use validate::{Host, ValidInventory};
