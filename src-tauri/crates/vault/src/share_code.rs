//! The share code: a wallet's public identity for one ledger, signed with its Ed25519 key,
//! as text to paste (and, later, as a QR code). Someone who pastes it gets the wallet's
//! address and keys without typing them; the signature and the ledger's own record of the
//! wallet's signing key together say the code is that wallet's.
//!
//! ```text
//! text   = "mwshare1:" base64url-nopad(binary)
//! binary = "MWSC" | 0x01 | address (20) | ed25519 key (32) | x25519 key (32) | role (1)
//!          | chain id (u64 BE) | issued at (unix seconds, u64 BE) | name length (1)
//!          | name (UTF-8, 1..=100 bytes) | signature (64)
//! signature = Ed25519(wallet's signing key, "medwallet/v1/share-code" | every byte before it)
//! ```
//!
//! [`ShareCode::parse`] checks the structure and that the signature verifies under the
//! key the code carries. That alone proves nothing about the address: the caller must
//! also check that the ledger's `IdentityPublished` for the address names the same
//! signing key (else the code was signed by someone else), and that the chain id is the
//! ledger's.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use crate::derive::{eip55, verify_ed25519, WalletKeys};
use crate::identity::{normalize_display_name, Role};

/// What a share code's text starts with.
pub const PREFIX: &str = "mwshare1:";
const MAGIC: [u8; 4] = *b"MWSC";
const VERSION: u8 = 1;
const CONTEXT: &[u8] = b"medwallet/v1/share-code";
/// Longest text accepted (a code with a 100-byte name is about 370 characters).
pub const MAX_TEXT_LEN: usize = 1024;
const FIXED: usize = 4 + 1 + 20 + 32 + 32 + 1 + 8 + 8 + 1;
const SIGNATURE: usize = 64;

/// Why text is not a valid share code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareCodeError {
    /// Not a share code, or damaged (cut short, a character changed).
    #[error("this is not a valid medwallet share code: {0}")]
    Malformed(&'static str),
    /// Made by a newer app.
    #[error(
        "the share code uses format version {found}; this app reads version 1: update the app"
    )]
    UnsupportedVersion {
        /// The version byte found.
        found: u8,
    },
    /// The signature does not verify: the code was changed after it was made.
    #[error("the share code's signature does not verify: it was changed after it was made")]
    BadSignature,
}

/// A verified share code (signature checked against the key it carries).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareCode {
    /// The ledger address (EIP-55).
    pub address: String,
    /// The Ed25519 key that signed it.
    pub ed25519_public: [u8; 32],
    /// The X25519 HPKE key to seal keys to.
    pub x25519_public: [u8; 32],
    /// The wallet's role.
    pub role: Role,
    /// The ledger chain it is for.
    pub chain_id: u64,
    /// When it was made (unix seconds).
    pub issued_at: u64,
    /// The name the wallet's owner gave it.
    pub display_name: String,
}

fn role_byte(role: Role) -> u8 {
    match role {
        Role::Patient => 0,
        Role::Doctor => 1,
        Role::Clinic => 2,
    }
}

impl ShareCode {
    /// Makes and signs the share code of `keys` for chain `chain_id`.
    pub fn create(
        keys: &WalletKeys,
        display_name: &str,
        chain_id: u64,
        issued_at: u64,
    ) -> crate::Result<String> {
        let name = normalize_display_name(display_name).ok_or(crate::VaultError::Crypto(
            "share code: invalid display name",
        ))?;
        let address = hex::decode(keys.address().trim_start_matches("0x"))
            .map_err(|_| crate::VaultError::Crypto("share code: address"))?;
        let mut out = Vec::with_capacity(FIXED + name.len() + SIGNATURE);
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&address);
        out.extend_from_slice(keys.ed25519_public_key());
        out.extend_from_slice(keys.x25519_public_key());
        out.push(role_byte(keys.role()));
        out.extend_from_slice(&chain_id.to_be_bytes());
        out.extend_from_slice(&issued_at.to_be_bytes());
        // A normalised name is at most 100 characters; its UTF-8 may be longer, so it is
        // cut at a character boundary to fit one length byte.
        let mut cut = name.len().min(255);
        while !name.is_char_boundary(cut) {
            cut -= 1;
        }
        out.push(cut as u8);
        out.extend_from_slice(&name.as_bytes()[..cut]);
        let mut message = CONTEXT.to_vec();
        message.extend_from_slice(&out);
        out.extend_from_slice(&keys.sign(&message)?);
        Ok(format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(out)))
    }

    /// Reads and verifies a pasted share code (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<ShareCode, ShareCodeError> {
        let text = text.trim();
        if text.len() > MAX_TEXT_LEN {
            return Err(ShareCodeError::Malformed("it is too long"));
        }
        let body = text.strip_prefix(PREFIX).ok_or(ShareCodeError::Malformed(
            "it does not start with mwshare1:",
        ))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| ShareCodeError::Malformed("a character was changed or lost"))?;
        if bytes.len() < 5 || bytes[..4] != MAGIC {
            return Err(ShareCodeError::Malformed("it is not a share code inside"));
        }
        if bytes[4] != VERSION {
            return Err(ShareCodeError::UnsupportedVersion { found: bytes[4] });
        }
        if bytes.len() < FIXED + SIGNATURE {
            return Err(ShareCodeError::Malformed("it is cut short"));
        }
        let name_len = usize::from(bytes[FIXED - 1]);
        if bytes.len() != FIXED + name_len + SIGNATURE {
            return Err(ShareCodeError::Malformed("its length is wrong"));
        }
        let (signed, signature) = bytes.split_at(FIXED + name_len);
        let field = |from: usize, len: usize| &signed[from..from + len];
        let mut ed25519_public = [0u8; 32];
        ed25519_public.copy_from_slice(field(25, 32));
        let mut message = CONTEXT.to_vec();
        message.extend_from_slice(signed);
        if !verify_ed25519(&ed25519_public, &message, signature) {
            return Err(ShareCodeError::BadSignature);
        }
        let mut x25519_public = [0u8; 32];
        x25519_public.copy_from_slice(field(57, 32));
        let role = match signed[89] {
            0 => Role::Patient,
            1 => Role::Doctor,
            2 => Role::Clinic,
            _ => return Err(ShareCodeError::Malformed("its role is unknown")),
        };
        let u64_at = |from: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(field(from, 8));
            u64::from_be_bytes(b)
        };
        let name = std::str::from_utf8(field(FIXED, name_len))
            .ok()
            .and_then(normalize_display_name)
            .ok_or(ShareCodeError::Malformed("its name is not valid text"))?;
        Ok(ShareCode {
            address: eip55(field(5, 20)),
            ed25519_public,
            x25519_public,
            role,
            chain_id: u64_at(90),
            issued_at: u64_at(98),
            display_name: name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Seed;
    use proptest::prelude::*;

    fn keys(b: u8, role: Role) -> WalletKeys {
        WalletKeys::derive(&Seed::from_bytes([b; 32]), role).unwrap()
    }

    #[test]
    fn a_code_round_trips_with_everything_it_carries() {
        let k = keys(3, Role::Doctor);
        let text = ShareCode::create(&k, "Dr. Mary Seacole", 424242, 1_700_000_000).unwrap();
        assert!(text.starts_with(PREFIX) && text.len() < 400, "{text}");
        let code = ShareCode::parse(&format!("  {text}\n")).unwrap();
        assert_eq!(code.address, k.address());
        assert_eq!(&code.ed25519_public, k.ed25519_public_key());
        assert_eq!(&code.x25519_public, k.x25519_public_key());
        assert_eq!(code.role, Role::Doctor);
        assert_eq!((code.chain_id, code.issued_at), (424242, 1_700_000_000));
        assert_eq!(code.display_name, "Dr. Mary Seacole");
    }

    #[test]
    fn damaged_and_forged_codes_are_named() {
        let text = ShareCode::create(&keys(4, Role::Patient), "Ada", 1, 2).unwrap();
        assert!(matches!(
            ShareCode::parse("hello"),
            Err(ShareCodeError::Malformed(_))
        ));
        assert!(matches!(
            ShareCode::parse(&text[..text.len() - 5]),
            Err(ShareCodeError::Malformed(_))
        ));
        // Every single changed character is caught (structure or signature).
        let body = text.len() - PREFIX.len();
        for i in (PREFIX.len()..text.len()).step_by(7) {
            let mut b = text.clone().into_bytes();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(b).unwrap();
            assert!(ShareCode::parse(&changed).is_err(), "char {i} of {body}");
        }
        // Another wallet's signature over this code's fields does not verify.
        let mut bytes = URL_SAFE_NO_PAD.decode(&text[PREFIX.len()..]).unwrap();
        let other = ShareCode::create(&keys(5, Role::Patient), "Ada", 1, 2).unwrap();
        let other = URL_SAFE_NO_PAD.decode(&other[PREFIX.len()..]).unwrap();
        let n = bytes.len();
        bytes[n - 64..].copy_from_slice(&other[other.len() - 64..]);
        let forged = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(ShareCode::parse(&forged), Err(ShareCodeError::BadSignature));
        bytes[4] = 2;
        let newer = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(
            ShareCode::parse(&newer),
            Err(ShareCodeError::UnsupportedVersion { found: 2 })
        );
    }

    proptest! {
        #[test]
        fn random_text_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let text = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&bytes));
            let _ = ShareCode::parse(&text);
            let _ = ShareCode::parse(&String::from_utf8_lossy(&bytes));
        }
    }
}
