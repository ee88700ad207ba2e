//! Reusable pieces of the window.

pub mod status_bar;
