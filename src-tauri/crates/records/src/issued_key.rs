//! The issued-key envelope: an attribute key an authority issued to a holder, sealed to
//! the holder's published X25519 key with HPKE (RFC 9180 base mode, DHKEM(X25519,
//! HKDF-SHA256), HKDF-SHA256, AES-256-GCM) and stored on IPFS; `KeyIssued` on the ledger
//! names its CID.
//!
//! ```text
//! envelope v2 = "MWIK" | 0x02 | authority address (20) | holder address (20)
//!               | encapsulated key (32) | key length (u32 BE) | key ciphertext
//!               | note encapsulated key (32) | note ciphertext (the rest)
//! envelope v1 = "MWIK" | 0x01 | authority (20) | holder (20)
//!               | encapsulated key (32) | key ciphertext (the rest)     (read, no longer written)
//! HPKE info = "medwallet/v1/issued-key"       (the key, sealed to the holder)
//!             "medwallet/v1/issued-key-note"  (the note, sealed to the authority itself)
//! HPKE aad  = the first 45 bytes (magic, version, authority, holder), for both
//! key plaintext  = medwallet-abe UserKey::to_bytes()
//! note plaintext = IssuerNote: epoch (u32 BE) | the key's attributes, one per line
//! ```
//!
//! The associated data binds the envelope to who issued it and to whom: an envelope
//! re-announced by another authority, or for another holder, does not open.
//!
//! The note is the issuer's own record of what it issued (the authority's epoch and the
//! key's attributes), sealed to the issuer's own X25519 key: a wallet restored from its
//! 24 words reads back which groups its people are in, or a clinic which roles its staff
//! hold, from the ledger's `KeyIssued` events alone. The holder cannot read it (and learns
//! nothing from it that its key does not hold). This module only encodes and decodes; the
//! HPKE calls are the vault's (`hpke_seal`, `hpke_open`).

/// Magic bytes that open an issued-key envelope.
pub const MAGIC: [u8; 4] = *b"MWIK";
/// The envelope format version this build writes.
pub const VERSION: u8 = 2;
/// The version before the issuer's note (read, not written).
pub const VERSION_WITHOUT_NOTE: u8 = 1;
/// The HPKE `info` string of the key.
pub const HPKE_INFO: &[u8] = b"medwallet/v1/issued-key";
/// The HPKE `info` string of the issuer's note.
pub const NOTE_HPKE_INFO: &[u8] = b"medwallet/v1/issued-key-note";
/// Magic, version, authority and holder: the associated data.
pub const HEADER_SIZE: usize = 4 + 1 + 20 + 20;
/// An X25519 encapsulated key.
pub const ENCAPPED_KEY_SIZE: usize = 32;
/// The AEAD tag length (an empty plaintext still has one).
const TAG_SIZE: usize = 16;
/// Largest ciphertext accepted (a user key with abe's most attributes is far smaller).
pub const MAX_CIPHERTEXT_LEN: usize = 256 * 1024;
/// Largest sealed note accepted.
pub const MAX_NOTE_LEN: usize = 64 * 1024;

/// Why bytes are not an issued-key envelope (or a note).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IssuedKeyError {
    /// Not an envelope, or cut short, or too long.
    #[error("this is not an issued attribute key: {0}")]
    Malformed(&'static str),
    /// Written by a newer format version.
    #[error("the issued key uses format version {found}; this app reads versions 1 and {VERSION}: update the app")]
    UnsupportedVersion {
        /// The version byte found.
        found: u8,
    },
}

/// A sealed part of an envelope: HPKE's encapsulated key and ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// HPKE's encapsulated key.
    pub encapped_key: [u8; ENCAPPED_KEY_SIZE],
    /// HPKE's ciphertext.
    pub ciphertext: Vec<u8>,
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
    /// The issuer's note, sealed to the issuer ([`IssuerNote`]); `None` in a version 1
    /// envelope.
    pub note: Option<Sealed>,
}

impl IssuedKey {
    /// The associated data for an envelope this build writes, from `authority` to `holder`.
    pub fn aad_for(authority: &[u8; 20], holder: &[u8; 20]) -> Vec<u8> {
        header(VERSION, authority, holder)
    }

    /// This envelope's associated data.
    pub fn aad(&self) -> Vec<u8> {
        header(self.version(), &self.authority, &self.holder)
    }

    /// The envelope's format version: 2 with a note, 1 without.
    pub fn version(&self) -> u8 {
        if self.note.is_some() {
            VERSION
        } else {
            VERSION_WITHOUT_NOTE
        }
    }

    /// The envelope's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.aad();
        out.extend_from_slice(&self.encapped_key);
        if let Some(note) = &self.note {
            let len = u32::try_from(self.ciphertext.len()).unwrap_or(u32::MAX);
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&self.ciphertext);
            out.extend_from_slice(&note.encapped_key);
            out.extend_from_slice(&note.ciphertext);
        } else {
            out.extend_from_slice(&self.ciphertext);
        }
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
        if version != VERSION && version != VERSION_WITHOUT_NOTE {
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
        let after = &rest[40 + ENCAPPED_KEY_SIZE..];
        let (ciphertext, note) = if version == VERSION_WITHOUT_NOTE {
            (after, None)
        } else {
            let Some(len) = after.get(..4) else {
                return Err(IssuedKeyError::Malformed("cut short"));
            };
            let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
            if len > MAX_CIPHERTEXT_LEN {
                return Err(IssuedKeyError::Malformed("the sealed key is too long"));
            }
            let after = &after[4..];
            let (Some(ciphertext), Some(note_enc)) =
                (after.get(..len), after.get(len..len + ENCAPPED_KEY_SIZE))
            else {
                return Err(IssuedKeyError::Malformed("cut short"));
            };
            let note_ciphertext = &after[len + ENCAPPED_KEY_SIZE..];
            if note_ciphertext.len() < TAG_SIZE {
                return Err(IssuedKeyError::Malformed("the sealed note is cut short"));
            }
            if note_ciphertext.len() > MAX_NOTE_LEN {
                return Err(IssuedKeyError::Malformed("the sealed note is too long"));
            }
            let mut encapped_key = [0; ENCAPPED_KEY_SIZE];
            encapped_key.copy_from_slice(note_enc);
            (
                ciphertext,
                Some(Sealed {
                    encapped_key,
                    ciphertext: note_ciphertext.to_vec(),
                }),
            )
        };
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
            note,
        };
        out.authority.copy_from_slice(authority);
        out.holder.copy_from_slice(holder);
        out.encapped_key.copy_from_slice(enc);
        Ok(out)
    }
}

fn header(version: u8, authority: &[u8; 20], holder: &[u8; 20]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_SIZE);
    out.extend_from_slice(&MAGIC);
    out.push(version);
    out.extend_from_slice(authority);
    out.extend_from_slice(holder);
    out
}

/// What the issuer keeps of a key it issued, sealed to itself in the envelope: its
/// authority's epoch then, and the key's attributes in the order they were issued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerNote {
    /// The authority's epoch the key was issued under.
    pub epoch: u32,
    /// The key's attributes.
    pub attributes: Vec<String>,
}

impl IssuerNote {
    /// The note's plaintext.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = self.epoch.to_be_bytes().to_vec();
        out.extend_from_slice(self.attributes.join("\n").as_bytes());
        out
    }

    /// Reads a note's plaintext (once HPKE opened it); never panics.
    pub fn from_bytes(bytes: &[u8]) -> Result<IssuerNote, IssuedKeyError> {
        let (Some(epoch), Some(rest)) = (bytes.get(..4), bytes.get(4..)) else {
            return Err(IssuedKeyError::Malformed("the note is cut short"));
        };
        let text = std::str::from_utf8(rest)
            .map_err(|_| IssuedKeyError::Malformed("the note's attributes are not UTF-8"))?;
        let attributes: Vec<String> = text.split('\n').map(str::to_owned).collect();
        if attributes.iter().any(String::is_empty) {
            return Err(IssuedKeyError::Malformed(
                "the note names an empty attribute",
            ));
        }
        Ok(IssuerNote {
            epoch: u32::from_be_bytes([epoch[0], epoch[1], epoch[2], epoch[3]]),
            attributes,
        })
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
            note: None,
        }
    }

    fn with_note() -> IssuedKey {
        IssuedKey {
            note: Some(Sealed {
                encapped_key: [5; 32],
                ciphertext: vec![6; 40],
            }),
            ..sample()
        }
    }

    #[test]
    fn round_trips_and_the_aad_is_the_header() {
        let k = sample();
        let bytes = k.to_bytes();
        assert_eq!(bytes.len(), HEADER_SIZE + 32 + 100);
        assert_eq!(bytes[4], 1);
        assert_eq!(&bytes[..HEADER_SIZE], &k.aad()[..]);
        assert_eq!(IssuedKey::from_bytes(&bytes).unwrap(), k);

        let k = with_note();
        let bytes = k.to_bytes();
        assert_eq!(bytes.len(), HEADER_SIZE + 32 + 4 + 100 + 32 + 40);
        assert_eq!(bytes[4], VERSION);
        assert_eq!(&bytes[..HEADER_SIZE], &k.aad()[..]);
        assert_eq!(k.aad(), IssuedKey::aad_for(&[1; 20], &[2; 20]));
        assert_eq!(IssuedKey::from_bytes(&bytes).unwrap(), k);
    }

    #[test]
    fn a_version_2_envelope_cut_anywhere_is_refused() {
        let bytes = with_note().to_bytes();
        for cut in 0..bytes.len() {
            // Cutting only the note's tail keeps a (shorter) valid note until it is
            // shorter than a tag.
            if let Ok(k) = IssuedKey::from_bytes(&bytes[..cut]) {
                assert!(cut >= HEADER_SIZE + 32 + 4 + 100 + 32 + 16, "cut at {cut}");
                assert_eq!(k.ciphertext, vec![4; 100]);
            }
        }
        let mut lying = bytes.clone();
        lying[HEADER_SIZE + 32..HEADER_SIZE + 36].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(IssuedKey::from_bytes(&lying).is_err());
    }

    #[test]
    fn notes_round_trip_and_bad_ones_are_named() {
        let note = IssuerNote {
            epoch: 3,
            attributes: vec!["id:0xab".into(), "careteam#2".into()],
        };
        assert_eq!(IssuerNote::from_bytes(&note.to_bytes()).unwrap(), note);
        for bad in [
            &b""[..],
            b"\0\0\0",
            b"\0\0\0\x01",
            b"\0\0\0\x01a\n\nb",
            b"\0\0\0\x01\xff",
        ] {
            assert!(IssuerNote::from_bytes(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn bad_envelopes_are_named() {
        let bytes = sample().to_bytes();
        assert!(matches!(
            IssuedKey::from_bytes(b"MWRK\x01"),
            Err(IssuedKeyError::Malformed(_))
        ));
        let mut newer = bytes.clone();
        newer[4] = 3;
        assert_eq!(
            IssuedKey::from_bytes(&newer),
            Err(IssuedKeyError::UnsupportedVersion { found: 3 })
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
            let _ = IssuerNote::from_bytes(&bytes);
            for version in [1u8, 2] {
                let mut with_magic = b"MWIK".to_vec();
                with_magic.push(version);
                with_magic.extend_from_slice(&bytes);
                if let Ok(k) = IssuedKey::from_bytes(&with_magic) {
                    prop_assert_eq!(k.to_bytes(), with_magic);
                }
            }
        }
    }
}
