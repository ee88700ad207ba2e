//! The issued-key envelope: an attribute key an authority issued to a holder, sealed to
//! the holder's published X25519 key with HPKE (RFC 9180 base mode, DHKEM(X25519,
//! HKDF-SHA256), HKDF-SHA256, AES-256-GCM) and stored on IPFS; `KeyIssued` on the ledger
//! names its CID.
//!
//! ```text
//! envelope = "MWIK" | 0x01 | authority address (20) | holder address (20)
//!            | encapsulated key (32) | ciphertext (the rest, 16..=MAX_CIPHERTEXT_LEN bytes)
//! HPKE info = "medwallet/v1/issued-key"
//! HPKE aad  = the first 45 bytes (magic, version, authority, holder)
//! plaintext = medwallet-abe UserKey::to_bytes()
//! ```
//!
//! The associated data binds the envelope to who issued it and to whom: an envelope
//! re-announced by another authority, or for another holder, does not open. This module
//! only encodes and decodes; the HPKE calls are the vault's (`hpke_seal`, `hpke_open`).

/// Magic bytes that open an issued-key envelope.
pub const MAGIC: [u8; 4] = *b"MWIK";
/// The envelope format version this build writes and reads.
pub const VERSION: u8 = 1;
/// The HPKE `info` string.
pub const HPKE_INFO: &[u8] = b"medwallet/v1/issued-key";
/// Magic, version, authority and holder: the associated data.
pub const HEADER_SIZE: usize = 4 + 1 + 20 + 20;
/// An X25519 encapsulated key.
pub const ENCAPPED_KEY_SIZE: usize = 32;
/// The AEAD tag length (an empty plaintext still has one).
const TAG_SIZE: usize = 16;
/// Largest ciphertext accepted (a user key with abe's most attributes is far smaller).
pub const MAX_CIPHERTEXT_LEN: usize = 256 * 1024;

/// Why bytes are not an issued-key envelope.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssuedKeyError {
    /// Not an envelope, or cut short, or too long.
    #[error("this is not an issued attribute key: {0}")]
    Malformed(&'static str),
    /// Written by a newer format version.
    #[error("the issued key uses format version {found}; this app reads version {VERSION}: update the app")]
    UnsupportedVersion {
        /// The version byte found.
        found: u8,
    },
}

/// A decoded envelope. Nothing in it is authenticated until HPKE opens it with
/// [`IssuedKey::aad`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedKey {
    /// The issuing authority's ledger address.
    pub authority: [u8; 20],
    /// The holder's ledger address.
    pub holder: [u8; 20],
    /// HPKE's encapsulated key.
    pub encapped_key: [u8; ENCAPPED_KEY_SIZE],
    /// HPKE's ciphertext of the user key.
    pub ciphertext: Vec<u8>,
}

impl IssuedKey {
    /// The associated data for an envelope from `authority` to `holder`.
    pub fn aad_for(authority: &[u8; 20], holder: &[u8; 20]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_SIZE);
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.extend_from_slice(authority);
        out.extend_from_slice(holder);
        out
    }

    /// This envelope's associated data.
    pub fn aad(&self) -> Vec<u8> {
        Self::aad_for(&self.authority, &self.holder)
    }

    /// The envelope's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.aad();
        out.extend_from_slice(&self.encapped_key);
        out.extend_from_slice(&self.ciphertext);
        out
    }

    /// Decodes an envelope; never panics.
    pub fn from_bytes(bytes: &[u8]) -> Result<IssuedKey, IssuedKeyError> {
        if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
            return Err(IssuedKeyError::Malformed("it does not start with MWIK"));
        }
        let Some(&version) = bytes.get(4) else {
            return Err(IssuedKeyError::Malformed("cut short"));
        };
        if version != VERSION {
            return Err(IssuedKeyError::UnsupportedVersion { found: version });
        }
        let rest = &bytes[5..];
        let (Some(authority), Some(holder), Some(enc)) = (
            rest.get(..20),
            rest.get(20..40),
            rest.get(40..40 + ENCAPPED_KEY_SIZE),
        ) else {
            return Err(IssuedKeyError::Malformed("cut short"));
        };
        let ciphertext = &rest[40 + ENCAPPED_KEY_SIZE..];
        if ciphertext.len() < TAG_SIZE {
            return Err(IssuedKeyError::Malformed("the sealed key is cut short"));
        }
        if ciphertext.len() > MAX_CIPHERTEXT_LEN {
            return Err(IssuedKeyError::Malformed("the sealed key is too long"));
        }
        let mut out = IssuedKey {
            authority: [0; 20],
            holder: [0; 20],
            encapped_key: [0; ENCAPPED_KEY_SIZE],
            ciphertext: ciphertext.to_vec(),
        };
        out.authority.copy_from_slice(authority);
        out.holder.copy_from_slice(holder);
        out.encapped_key.copy_from_slice(enc);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> IssuedKey {
        IssuedKey {
            authority: [1; 20],
            holder: [2; 20],
            encapped_key: [3; 32],
            ciphertext: vec![4; 100],
        }
    }

    #[test]
    fn round_trips_and_the_aad_is_the_header() {
        let k = sample();
        let bytes = k.to_bytes();
        assert_eq!(bytes.len(), HEADER_SIZE + 32 + 100);
        assert_eq!(&bytes[..HEADER_SIZE], &k.aad()[..]);
        assert_eq!(IssuedKey::from_bytes(&bytes).unwrap(), k);
    }

    #[test]
    fn bad_envelopes_are_named() {
        let bytes = sample().to_bytes();
        assert!(matches!(
            IssuedKey::from_bytes(b"MWRK\x01"),
            Err(IssuedKeyError::Malformed(_))
        ));
        let mut newer = bytes.clone();
        newer[4] = 2;
        assert_eq!(
            IssuedKey::from_bytes(&newer),
            Err(IssuedKeyError::UnsupportedVersion { found: 2 })
        );
        for cut in [0, 4, 5, 44, 45, 77, HEADER_SIZE + 32 + 15] {
            assert!(
                matches!(
                    IssuedKey::from_bytes(&bytes[..cut]),
                    Err(IssuedKeyError::Malformed(_))
                ),
                "cut at {cut}"
            );
        }
        let mut long = sample();
        long.ciphertext = vec![0; MAX_CIPHERTEXT_LEN + 1];
        assert!(IssuedKey::from_bytes(&long.to_bytes()).is_err());
    }

    proptest! {
        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            // Only a panic fails this property: any Ok or Err is a fine answer.
            let _ = IssuedKey::from_bytes(&bytes);
            let mut with_magic = b"MWIK\x01".to_vec();
            with_magic.extend_from_slice(&bytes);
            if let Ok(k) = IssuedKey::from_bytes(&with_magic) {
                prop_assert_eq!(k.to_bytes(), with_magic);
            }
        }
    }
}
