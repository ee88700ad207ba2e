//! medwallet's keys at rest.
//!
//! A wallet is one 256-bit random seed ([`Seed`]); every key is derived from it with HKDF-SHA256
//! and per-purpose labels ([`WalletKeys`]). The seed is the 24-word recovery phrase of the
//! [`EmergencyKit`], so restoring the phrase restores the same address and keys.
//!
//! At rest, a [`Vault`] (one SQLite file, several wallets) keeps each wallet's seed and other
//! secrets encrypted with AES-256-GCM under a random vault key, which is wrapped by
//! Argon2id(passphrase) and, if the user opts in, also kept in the OS keyring for quick
//! unlock. Unlocking gives an [`Unlocked`] session that locks itself after an idle time and
//! wipes its secrets when locked or dropped.
//!
//! ```no_run
//! # async fn demo() -> Result<(), medwallet_vault::VaultError> {
//! use medwallet_vault::{NewWallet, Role, Vault};
//! let vault = Vault::open("/path/to/vault.sqlite").await?;
//! let created = vault
//!     .create_wallet(NewWallet {
//!         role: Role::Patient,
//!         display_name: "Ada",
//!         passphrase: "orbit lantern velvet quarry",
//!         accept_weak: false,
//!     })
//!     .await?;
//! let html = created.kit.to_html(); // print it
//! let positions = created.kit.confirmation_positions(3)?; // ask these words back
//! # let _ = (html, positions);
//! # Ok(()) }
//! ```
//!
//! This crate does not depend on tauri; async functions need a tokio runtime.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod derive;
pub mod error;
pub mod identity;
pub mod kdf;
pub mod keyring;
pub mod kit;
pub mod phrase;
mod seal;
pub mod seed;
pub mod session;
pub mod share_code;
pub mod store;
pub mod strength;
pub mod vault;

pub use derive::{
    eip55, hpke_open, hpke_seal, verify_ed25519, HpkeAead, HpkeKdf, HpkeKem, HpkePrivateKey,
    HpkePublicKey, WalletKeys,
};
pub use error::{Result, VaultError};
pub use identity::{key_fingerprint, PublicIdentity, Role};
pub use kdf::{calibrate, KdfParams};
pub use keyring::QuickUnlockStore;
pub use kit::EmergencyKit;
pub use phrase::{PhraseError, RecoveryPhrase, UnknownWord};
pub use seed::Seed;
pub use session::{Clock, ManualClock, SystemClock, Unlocked};
pub use share_code::{CheckIn, ShareCode, ShareCodeError};
pub use store::{WalletId, WalletInfo, SCHEMA_VERSION};
pub use strength::{passphrase_strength, Strength};
pub use vault::{failure_delay, CreatedWallet, NewWallet, Vault, VaultOptions};
