//! # medwallet-abe
//!
//! Ciphertext-policy attribute-based key wrapping for medwallet: the FAME scheme (Agrawal and
//! Chase, CCS 2017) over BLS12-381 (`blstrs`/blst), made CCA-secure with a Fujisaki-Okamoto
//! style transform, wrapping a record's 256-bit data key with AES-256-GCM (`ring`).
//!
//! ```no_run
//! use medwallet_abe::{wrap_key, unwrap_key, DataKey, MasterKey, Policy};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut rng = rand_core::OsRng;
//! let clinic = MasterKey::from_seed(&[7u8; 32], "clinic:st-mary")?;
//! let policy = Policy::parse("(role:doctor AND dept:cardiology) OR id:0x12ab")?;
//! assert_eq!(policy.describe(), "any doctor in cardiology, or the holder of 0x12ab");
//! let dek = DataKey::from_bytes([1u8; 32]);
//! let ct = wrap_key(clinic.public_params(), &policy, &dek, &mut rng);
//! let key = clinic.issue_key(&["role:doctor", "dept:cardiology"], &mut rng)?;
//! assert_eq!(unwrap_key(&key, &ct)?, dek);
//! # Ok(()) }
//! ```
//!
//! Modules: [`policy`] (language, LSSS, plain words), `fame` (the scheme's algebra and the
//! choice that avoids GT exponentiation by secrets), `kem` (the FO transform), `format`
//! (wire formats), `hash` (domain separation and KDFs).
//!
//! Authorities are separated by their id (SHA-256 of the encoded public parameters): it is
//! the `aug` prefix of every hash to G1, part of every KDF input and of the AEAD's associated
//! data, so a key of one authority never opens a ciphertext of another.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod error;
mod fame;
mod format;
mod hash;
mod kem;
pub mod policy;

pub use error::{AbeError, DecodeError, PolicyError};
pub use fame::{
    MasterKey, PublicParams, UserKey, MAX_ATTRIBUTE_LEN, MAX_KEY_ATTRIBUTES, MAX_LABEL_LEN,
};
pub use format::FORMAT_VERSION;
pub use kem::{decapsulate, encapsulate, unwrap_key, wrap_key, Ciphertext, DataKey};
pub use policy::{Policy, MAX_POLICY_ATTRIBUTES, MAX_POLICY_DEPTH, MAX_POLICY_LEN};
pub use rand_core;
