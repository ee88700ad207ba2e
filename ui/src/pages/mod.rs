//! Full pages, one per sidebar entry.

pub mod settings;
pub mod welcome;
