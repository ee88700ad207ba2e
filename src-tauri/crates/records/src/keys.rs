//! Key derivation from a record's data key, and randomness.
//!
//! One DEK per record version feeds three independent uses; each gets its own key by
//! HKDF-SHA256 with a label of its own, so no two uses ever share a key:
//!
//! | label (HKDF info)                      | salt                | key for                  |
//! |----------------------------------------|---------------------|--------------------------|
//! | `medwallet/v1/record-content`          | content header nonce| content chunks (AES-GCM) |
//! | `medwallet/v1/record-content-header`   | content header nonce| content header MAC (HMAC)|
//! | `medwallet/v1/record-manifest`         | none                | manifest (AES-GCM)       |
//! | `medwallet/v1/record-capsule`          | none                | capsule binding (HMAC)   |

use medwallet_abe::DataKey;
use ring::{aead, hkdf, hmac, rand};

pub(crate) const LABEL_CONTENT: &[u8] = b"medwallet/v1/record-content";
pub(crate) const LABEL_CONTENT_HEADER: &[u8] = b"medwallet/v1/record-content-header";
pub(crate) const LABEL_MANIFEST: &[u8] = b"medwallet/v1/record-manifest";
pub(crate) const LABEL_CAPSULE: &[u8] = b"medwallet/v1/record-capsule";

fn prk(dek: &DataKey, salt: &[u8]) -> hkdf::Prk {
    hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(dek.as_bytes())
}

/// An AES-256-GCM key: HKDF(ikm = DEK, salt, info = label).
pub(crate) fn aead_key(dek: &DataKey, salt: &[u8], label: &[u8]) -> aead::LessSafeKey {
    let info = [label];
    // `expand` fails only for an output longer than 255 hash blocks and `UnboundKey`
    // only for a wrong key length; both are fixed here (32 bytes), so neither happens.
    let prk = prk(dek, salt);
    let okm = prk
        .expand(&info, &aead::AES_256_GCM)
        .expect("32-byte HKDF output");
    aead::LessSafeKey::new(aead::UnboundKey::from(okm))
}

/// An HMAC-SHA256 key: HKDF(ikm = DEK, salt, info = label).
pub(crate) fn mac_key(dek: &DataKey, salt: &[u8], label: &[u8]) -> hmac::Key {
    let info = [label];
    let prk = prk(dek, salt);
    let okm = prk
        .expand(&info, hmac::HMAC_SHA256)
        .expect("32-byte HKDF output");
    hmac::Key::from(okm)
}

/// Fills `out` from the operating system's generator.
pub(crate) fn random(out: &mut [u8]) -> Result<(), ring::error::Unspecified> {
    rand::SecureRandom::fill(&rand::SystemRandom::new(), out)
}

/// The system generator as a `rand_core` generator, for the abe crate's API.
///
/// `RngCore::fill_bytes` cannot fail, but the system generator can (in principle). A
/// failure is recorded instead of panicking and the caller checks [`Self::failed`]
/// before using anything drawn: the output is then discarded.
#[derive(Default)]
pub(crate) struct SystemRng {
    failed: bool,
}

impl SystemRng {
    pub(crate) fn failed(&self) -> bool {
        self.failed
    }
}

impl medwallet_abe::rand_core::RngCore for SystemRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }

    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if random(dest).is_err() {
            self.failed = true;
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), medwallet_abe::rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl medwallet_abe::rand_core::CryptoRng for SystemRng {}
