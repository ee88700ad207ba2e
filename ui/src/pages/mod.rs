//! Full pages: the sidebar's pages and the full-window screens.

pub mod kit;
pub mod keys;
pub mod onboarding;
pub mod settings;
pub mod unlock;
pub mod wallets;
