//! Full pages: the sidebar's pages and the full-window screens.

pub mod audit;
pub mod front_desk;
pub mod keys;
pub mod kit;
pub mod onboarding;
pub mod records;
pub mod settings;
pub mod shared;
pub mod shared_with_me;
pub mod staff;
pub mod unlock;
pub mod wallets;
