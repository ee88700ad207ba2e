//! End-to-end tests: one user story each, the real app against real nodes.
//! Run by scripts/test under Xvfb, one at a time.

mod audit;
mod front_desk;
mod health;
mod lists;
mod node_access;
mod records;
mod restore;
mod sharing;
mod startup;
mod wallet;
