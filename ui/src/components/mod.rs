//! Reusable pieces of the window.

pub mod form;
pub mod identity;
pub mod status_bar;
pub mod strength_meter;
