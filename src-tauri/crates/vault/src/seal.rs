//! AES-256-GCM (ring) with associated data that binds each ciphertext to its place.
//!
//! Format of a sealed value: `version (1 byte) || nonce (12) || ciphertext || tag (16)`.
//! Nonces are random: each vault key encrypts a handful of values over its life, far below the
//! 2^32 messages at which random 96-bit nonces would start to risk a collision.

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use zeroize::Zeroizing;

use crate::error::{Result, VaultError};
use crate::identity::push_len_prefixed;
use crate::seed::random_bytes;

/// Version byte of the sealed format.
const SEAL_V1: u8 = 1;
/// Domain of all associated data, versioned with the format.
const AAD_DOMAIN: &[u8] = b"medwallet/v1/vault-aead";

/// Why a sealed value did not open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// Too short or of an unknown version.
    Malformed,
    /// Authentication failed: wrong key, or the value or its context was changed.
    Forged,
}

/// Associated data: wallet id, purpose of the column, and any further context (the canonical
/// public identity, KDF parameters), each length-prefixed.
pub(crate) fn aad(wallet_id: &str, purpose: &str, context: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 + context.len());
    push_len_prefixed(&mut out, AAD_DOMAIN);
    push_len_prefixed(&mut out, wallet_id.as_bytes());
    push_len_prefixed(&mut out, purpose.as_bytes());
    push_len_prefixed(&mut out, context);
    out
}

fn key(k: &[u8; 32]) -> Result<LessSafeKey> {
    UnboundKey::new(&AES_256_GCM, k)
        .map(LessSafeKey::new)
        .map_err(|_| VaultError::Crypto("AES-256-GCM key"))
}

/// Encrypts `plaintext` under `k` with associated data `aad`.
pub(crate) fn seal(k: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    let nonce_bytes = random_bytes::<NONCE_LEN>()?;
    let mut buf = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + 16);
    buf.push(SEAL_V1);
    buf.extend_from_slice(&nonce_bytes);
    let mut body = Zeroizing::new(plaintext.to_vec());
    key(k)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce_bytes),
            Aad::from(aad),
            &mut *body,
        )
        .map_err(|_| VaultError::Crypto("AES-256-GCM seal"))?;
    buf.extend_from_slice(&body);
    Ok(buf)
}

/// Decrypts a value made by [`seal`] with the same key and associated data.
pub(crate) fn open(
    k: &[u8; 32],
    aad: &[u8],
    sealed: &[u8],
) -> std::result::Result<Zeroizing<Vec<u8>>, OpenError> {
    let (&version, rest) = sealed.split_first().ok_or(OpenError::Malformed)?;
    if version != SEAL_V1 || rest.len() < NONCE_LEN + 16 {
        return Err(OpenError::Malformed);
    }
    let (nonce, ct) = rest.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| OpenError::Malformed)?;
    let mut buf = Zeroizing::new(ct.to_vec());
    let k = key(k).map_err(|_| OpenError::Malformed)?;
    let len = k
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .map_err(|_| OpenError::Forged)?
        .len();
    buf.truncate(len);
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_every_binding_is_checked() {
        let k = [7u8; 32];
        let a = aad("wallet-1", "seed", b"identity");
        let sealed = seal(&k, &a, b"secret").unwrap();
        assert_eq!(open(&k, &a, &sealed).unwrap().as_slice(), b"secret");

        // Other wallet, other purpose, other identity, other key: all refused.
        for other in [
            aad("wallet-2", "seed", b"identity"),
            aad("wallet-1", "other", b"identity"),
            aad("wallet-1", "seed", b"identitY"),
        ] {
            assert_eq!(open(&k, &other, &sealed).unwrap_err(), OpenError::Forged);
        }
        assert_eq!(
            open(&[8u8; 32], &a, &sealed).unwrap_err(),
            OpenError::Forged
        );

        // Every flipped byte of the body is detected.
        for i in 1..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 0x01;
            assert!(open(&k, &a, &t).is_err(), "flip at {i} not detected");
        }
        assert_eq!(
            open(&k, &a, &sealed[..10]).unwrap_err(),
            OpenError::Malformed
        );
        let mut v2 = sealed.clone();
        v2[0] = 2;
        assert_eq!(open(&k, &a, &v2).unwrap_err(), OpenError::Malformed);
    }

    #[test]
    fn nonces_are_fresh() {
        let k = [1u8; 32];
        let a = seal(&k, b"", b"x").unwrap();
        let b = seal(&k, b"", b"x").unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn aad_fields_cannot_slide() {
        assert_ne!(aad("ab", "c", b""), aad("a", "bc", b""));
    }
}
