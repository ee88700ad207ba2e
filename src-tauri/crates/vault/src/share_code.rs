//! The share code: a wallet's public identity for one ledger, signed with its Ed25519 key,
//! as text to paste or a QR code to show. Someone who reads it gets the wallet's address
//! and keys without typing them; the signature and the ledger's own record of the
//! wallet's signing key together say the code is that wallet's.
//!
//! ```text
//! text   = "mwshare1:" base64url-nopad(binary)
//! binary = "MWSC" | version (1 or 3) | address (20) | ed25519 key (32) | x25519 key (32)
//!          | role (1) | chain id (u64 BE) | issued at (unix seconds, u64 BE)
//!          | name length (1) | name (UTF-8, 1..=100 bytes)
//!          | version 3 only: check-in flag (1): 0, or 1 followed by
//!                            check-in nonce (32) | code expiry (unix seconds, u64 BE)
//!                            | ledger signature (65: r, s, v)
//!          | signature (64)
//! signature = Ed25519(wallet's signing key, "medwallet/v1/share-code" | every byte before it)
//! ```
//!
//! A code with a check-in (version 3, flag 1) is a patient's one-time request for a
//! front desk to check them in: a nonce and a short expiry signed with the patient's
//! ledger key, which the contract checks when the desk redeems it. It holds no key and
//! grants nothing: the patient's wallet shows who redeemed it and the patient allows (or
//! declines) there. Version 2 codes (a throwaway wallet's seed, which was a bearer key)
//! are refused.
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
/// The version that may carry a check-in.
const VERSION_CHECK_IN: u8 = 3;
/// The version whose check-in was a throwaway wallet's seed, no longer read.
const VERSION_SEED_CHECK_IN: u8 = 2;
const CHECK_IN: usize = 32 + 8 + 65;
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
        "the share code uses format version {found}; this app reads versions 1 and 3: update the app"
    )]
    UnsupportedVersion {
        /// The version byte found.
        found: u8,
    },
    /// A check-in code of the old kind, which carried a key: no longer accepted.
    #[error("this check-in code was made by an older medwallet; the patient makes a new one")]
    OldCheckIn,
    /// The signature does not verify: the code was changed after it was made.
    #[error("the share code's signature does not verify: it was changed after it was made")]
    BadSignature,
}

/// The one-time check-in a patient's code carries: a nonce and an expiry signed with the
/// patient's ledger key (secp256k1, made and checked by the ledger crate). Not a secret:
/// it lets whoever reads it ask the patient, nothing more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckIn {
    /// The check-in's nonce (its id on the ledger is bound to the patient and it).
    pub nonce: [u8; 32],
    /// Unix seconds after which the ledger refuses to redeem it.
    pub expires_at: u64,
    /// The patient's ledger signature (r, s, v) over the nonce, expiry, chain and contract.
    pub signature: [u8; 65],
}

impl CheckIn {
    /// A fresh random nonce for a check-in.
    pub fn new_nonce() -> crate::Result<[u8; 32]> {
        let mut nonce = [0u8; 32];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce)
            .map_err(|_| crate::VaultError::Crypto("random check-in nonce"))?;
        Ok(nonce)
    }
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
    /// A patient's one-time check-in, if the code carries one.
    pub check_in: Option<CheckIn>,
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
        Self::create_with(keys, display_name, chain_id, issued_at, None)
    }

    /// Makes and signs a share code that may carry a check-in (format version 2 if so).
    pub fn create_with(
        keys: &WalletKeys,
        display_name: &str,
        chain_id: u64,
        issued_at: u64,
        check_in: Option<&CheckIn>,
    ) -> crate::Result<String> {
        let name = normalize_display_name(display_name).ok_or(crate::VaultError::Crypto(
            "share code: invalid display name",
        ))?;
        let address = hex::decode(keys.address().trim_start_matches("0x"))
            .map_err(|_| crate::VaultError::Crypto("share code: address"))?;
        let mut out = Vec::with_capacity(FIXED + name.len() + SIGNATURE);
        out.extend_from_slice(&MAGIC);
        out.push(if check_in.is_some() {
            VERSION_CHECK_IN
        } else {
            VERSION
        });
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
        if let Some(check_in) = check_in {
            out.push(1);
            out.extend_from_slice(&check_in.nonce);
            out.extend_from_slice(&check_in.expires_at.to_be_bytes());
            out.extend_from_slice(&check_in.signature);
        }
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
        let version = bytes[4];
        if version == VERSION_SEED_CHECK_IN {
            return Err(ShareCodeError::OldCheckIn);
        }
        if version != VERSION && version != VERSION_CHECK_IN {
            return Err(ShareCodeError::UnsupportedVersion { found: version });
        }
        if bytes.len() < FIXED + SIGNATURE {
            return Err(ShareCodeError::Malformed("it is cut short"));
        }
        let name_len = usize::from(bytes[FIXED - 1]);
        // Version 3 has a flag byte after the name, and the check-in if the flag is 1.
        let extra = match (version, bytes.get(FIXED + name_len)) {
            (VERSION, _) => 0,
            (_, Some(0)) => 1,
            (_, Some(1)) => 1 + CHECK_IN,
            (_, Some(_)) => return Err(ShareCodeError::Malformed("its check-in flag is unknown")),
            (_, None) => return Err(ShareCodeError::Malformed("it is cut short")),
        };
        if bytes.len() != FIXED + name_len + extra + SIGNATURE {
            return Err(ShareCodeError::Malformed("its length is wrong"));
        }
        let (signed, signature) = bytes.split_at(FIXED + name_len + extra);
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
        let check_in = (extra > 1).then(|| {
            let from = FIXED + name_len + 1;
            let mut nonce = [0u8; 32];
            nonce.copy_from_slice(field(from, 32));
            let mut signature = [0u8; 65];
            signature.copy_from_slice(field(from + 40, 65));
            CheckIn {
                nonce,
                expires_at: u64_at(from + 32),
                signature,
            }
        });
        Ok(ShareCode {
            address: eip55(field(5, 20)),
            ed25519_public,
            x25519_public,
            role,
            chain_id: u64_at(90),
            issued_at: u64_at(98),
            display_name: name,
            check_in,
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
        bytes[4] = 9;
        let newer = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&bytes));
        assert_eq!(
            ShareCode::parse(&newer),
            Err(ShareCodeError::UnsupportedVersion { found: 9 })
        );
    }

    #[test]
    fn a_check_in_round_trips_and_is_signed() {
        let k = keys(6, Role::Patient);
        let check_in = CheckIn {
            nonce: CheckIn::new_nonce().unwrap(),
            expires_at: 1_700_000_900,
            signature: [0x5a; 65],
        };
        let text =
            ShareCode::create_with(&k, "Ada", 424242, 1_700_000_000, Some(&check_in)).unwrap();
        assert!(text.len() < 500, "{}", text.len());
        let code = ShareCode::parse(&text).unwrap();
        assert_eq!(code.check_in.as_ref(), Some(&check_in));
        // A code without a check-in still reads as version 1.
        let plain = ShareCode::create(&k, "Ada", 424242, 1_700_000_000).unwrap();
        assert_eq!(ShareCode::parse(&plain).unwrap().check_in, None);
        // The nonce, the expiry and the ledger signature are signed: changing any is caught.
        let bytes = URL_SAFE_NO_PAD.decode(&text[PREFIX.len()..]).unwrap();
        let at = bytes.len() - 64 - CHECK_IN;
        for i in [at, at + 31, at + 32, at + 39, at + 40, at + 104, at - 1] {
            let mut changed = bytes.clone();
            changed[i] ^= 1;
            let changed = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&changed));
            assert!(ShareCode::parse(&changed).is_err(), "byte {i}");
        }
        // Cut before the flag, or with an unknown flag.
        let name_end = at - 1;
        let mut unknown = bytes.clone();
        unknown[name_end] = 7;
        let unknown = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&unknown));
        assert!(matches!(
            ShareCode::parse(&unknown),
            Err(ShareCodeError::Malformed(_))
        ));
        // A code of the old kind (version 2, a throwaway wallet's seed) is refused by name.
        let mut old = bytes.clone();
        old[4] = 2;
        let old = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&old));
        assert_eq!(ShareCode::parse(&old), Err(ShareCodeError::OldCheckIn));
    }

    proptest! {
        #[test]
        fn random_text_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let text = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&bytes));
            // Only a panic fails this property: any Ok or Err is a fine answer.
            let _ = ShareCode::parse(&text);
            let _ = ShareCode::parse(&String::from_utf8_lossy(&bytes));
        }
    }
}
