//! medwallet's use cases, tying the library crates together without tauri. One room per
//! capability:
//!
//! | module | what it does |
//! |---|---|
//! | [`app`] | one data folder's state, one method per IPC command; the wallet with its nodes |
//! | [`session`] | the unlocked wallet's keys, as the use cases need them |
//! | [`ledger`] | the ledger target, connecting as the wallet, the published directory |
//! | [`store`] | `records.sqlite`: records, grants, front-desk and staff tables |
//! | [`records`] | a patient's own records: add (one pipeline), outbox, list, open |
//! | [`sharing`] | grants, revocations, revisions, exposure reports, groups, emergency |
//! | [`inbox`] | what others shared with this wallet (the doctor's side) |
//! | `ipfs` | small objects fetched with their CID checked, unpinning |
//! | [`front_desk`] | check-in codes, records made for a patient, verifying a file |
//! | [`staff`] | a clinic's staff keys and its authority's epochs |
//! | [`audit`] | the trail read back from the ledger, filters and exports; a patient's emergency alerts |
//! | [`rebuild`] | a wallet brought back from the ledger and IPFS (restore, on demand) |
//! | [`data_folder`] | the data folder at start: one process at a time (`medwallet.lock`), writable, damaged databases kept aside |
//! | [`background`] | the periodic pass: outbox, sharing work, emergency watch, auto-lock |
//! | `node_access` | how each node is reached: the trusted CA, the wallet's node credentials (vault), written into `medwallet_net::book` |
//! | [`wallet`], [`settings`], [`health`], [`node_url`], [`qr`] | the rest |
//! | [`error`] | every failure as data ([`CoreError`]), what each use case answers |
//! | `words` | every failure in the user's words, in one place (`From<CoreError> for UserError`) |
//!
//! The Tauri shell calls these from one-line commands; tests call them directly against
//! real nodes.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod app;
pub mod audit;
pub mod background;
pub mod data_folder;
pub mod error;
pub mod front_desk;
pub mod health;
pub mod inbox;
pub(crate) mod ipfs;
pub(crate) mod ledger;
pub(crate) mod node_access;
pub mod node_url;
pub mod qr;
pub mod rebuild;
pub mod records;
pub mod session;
pub mod settings;
pub mod sharing;
pub mod staff;
pub(crate) mod store;
pub mod wallet;
pub(crate) mod words;

pub use app::{App, Session};
pub use audit::AuditService;
pub use error::{
    Alteration, AuditError, CidRef, CoreError, FrontDeskError, InboxError, KeyProblem,
    LocalDatabase, Part, RebuildError, RecordsError, Route, SharingError, StaffError, StartupError,
    Task, WalletError,
};
pub use front_desk::{OfferedCheckIn, MAX_CHECK_IN_MINUTES, MIN_CHECK_IN_MINUTES};
pub use health::check_health;
pub use ledger::LedgerTarget;
pub use rebuild::RebuildService;
pub use records::RecordService;
pub use session::Owner;
pub use settings::{Defaults, SettingsStore, StoreError};
pub use wallet::WalletService;

pub use error::Answer;
