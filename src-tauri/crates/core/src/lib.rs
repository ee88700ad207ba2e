//! medwallet's use cases, tying the library crates together without tauri: node
//! settings, node health, and (with later issues) upload, share, revoke and audit.
//!
//! The Tauri shell calls these functions from thin commands; tests call them
//! directly against real nodes.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod audit;
pub mod health;
pub mod node_url;
pub mod qr;
pub mod records;
pub mod settings;
pub mod wallet;

pub use audit::AuditService;
pub use health::check_health;
pub use records::{LedgerTarget, Owner, RecordService};
pub use settings::{Defaults, SettingsStore, StoreError};
pub use wallet::WalletService;
