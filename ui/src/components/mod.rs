//! Reusable pieces of the window.

pub mod add_records;
pub mod check_in_asks;
pub mod clipboard;
pub mod drops;
pub mod emergency_banner;
pub mod form;
pub mod format;
pub mod identity;
pub mod ledger;
pub mod node_access;
pub mod progress;
pub mod rebuild;
pub mod record_search;
pub mod record_viewer;
pub mod share_dialog;
pub mod sharing_progress;
pub mod startup_notices;
pub mod status_bar;
pub mod strength_meter;
