//! medwallet records: the record format (encrypted content, manifest, capsule) and
//! the IPFS node that stores them.
//!
//! This crate grows with the records issue; today it holds the IPFS node client
//! the app needs to show node health.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod ipfs;

pub use ipfs::{IpfsError, IpfsNode, NodeInfo};
