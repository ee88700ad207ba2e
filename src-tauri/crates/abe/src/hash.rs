//! Hashing: domain-separation tags, hash to G1 (RFC 9380), HKDF-SHA-256 derivations and
//! unbiased reduction of wide outputs to scalars.
//!
//! Every use has its own tag or label, and every input that depends on an authority starts
//! with that authority's id (SHA-256 of its encoded public parameters), so an attribute hash,
//! derived coin or key of one authority never equals one of another.

use blstrs::{G1Projective, Scalar};
use ring::{digest, hkdf};

/// RFC 9380 DST for attribute hashes `H(y ℓ t)` (FAME Section 3 `H(y1t)`, ...).
pub(crate) const DST_ATTRIBUTE: &[u8] =
    b"MEDWALLET-ABE-V01-FAME-ATTRIBUTE-CS01-with-BLS12381G1_XMD:SHA-256_SSWU_RO_";
/// RFC 9380 DST for matrix-column hashes `H(0 j ℓ t)` (FAME Section 3).
pub(crate) const DST_COLUMN: &[u8] =
    b"MEDWALLET-ABE-V01-FAME-COLUMN-CS01-with-BLS12381G1_XMD:SHA-256_SSWU_RO_";

/// Prefix of the authority id hash.
pub(crate) const LABEL_AUTHORITY_ID: &[u8] = b"medwallet-abe/v1/authority-id";
/// HKDF salt for master-key scalars derived from a seed.
pub(crate) const LABEL_MASTER: &[u8] = b"medwallet-abe/v1/master-key";
/// HKDF salt for the FO coins `(s1, s2)` derived from sigma.
pub(crate) const LABEL_COINS: &[u8] = b"medwallet-abe/v1/fo-coins";
/// HKDF salt for the mask of sigma derived from the GT element.
pub(crate) const LABEL_MASK: &[u8] = b"medwallet-abe/v1/gt-mask";
/// HKDF salt for the AES-256-GCM key derived from sigma.
pub(crate) const LABEL_WRAP: &[u8] = b"medwallet-abe/v1/dek-wrap";

/// `H(attribute, ℓ, t)` for an authority: `msg = ℓ || t || attribute`, `aug = authority id`.
pub(crate) fn hash_attribute(authority: &[u8; 32], attribute: &str, l: u8, t: u8) -> G1Projective {
    let mut msg = Vec::with_capacity(2 + attribute.len());
    msg.push(l);
    msg.push(t);
    msg.extend_from_slice(attribute.as_bytes());
    G1Projective::hash_to_curve(&msg, DST_ATTRIBUTE, authority)
}

/// `H(0 j ℓ t)` for an authority and a 0-based column `j`.
pub(crate) fn hash_column(authority: &[u8; 32], j: u32, l: u8, t: u8) -> G1Projective {
    let mut msg = [0u8; 6];
    msg[0] = l;
    msg[1] = t;
    msg[2..].copy_from_slice(&j.to_be_bytes());
    G1Projective::hash_to_curve(&msg, DST_COLUMN, authority)
}

/// SHA-256 of `parts` concatenated.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

struct Len(usize);
impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-SHA-256 (RFC 5869) with `salt`, `ikm` and `info` parts, filling `out`
/// (at most 255 * 32 bytes, which every caller here stays far below).
pub(crate) fn hkdf(salt: &[u8], ikm: &[u8], info: &[&[u8]], out: &mut [u8]) {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm);
    let filled = prk
        .expand(info, Len(out.len()))
        .and_then(|okm| okm.fill(out));
    // Only fails for an output longer than 8160 bytes; callers use at most 128.
    debug_assert!(filled.is_ok());
    if filled.is_err() {
        out.iter_mut().for_each(|b| *b = 0);
    }
}

/// Reduces 64 uniform bytes (big-endian) modulo the group order `r`. The bias is below
/// `2^-250` (64 bytes vs a 255-bit order), unlike reducing 32 bytes. Uses only constant-time
/// field arithmetic: `x = Σ limb_k · 2^(64k)`.
pub(crate) fn scalar_from_wide(bytes: &[u8; 64]) -> Scalar {
    let two64 = Scalar::from(u64::MAX) + Scalar::from(1u64);
    let mut acc = Scalar::from(0u64);
    for chunk in bytes.chunks_exact(8) {
        let mut limb = [0u8; 8];
        limb.copy_from_slice(chunk);
        acc = acc * two64 + Scalar::from(u64::from_be_bytes(limb));
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff::Field;

    #[test]
    fn wide_reduction_matches_integer_arithmetic() {
        let mut b = [0u8; 64];
        b[63] = 5;
        assert_eq!(scalar_from_wide(&b), Scalar::from(5u64));
        b[55] = 1; // 2^64
        assert_eq!(
            scalar_from_wide(&b),
            Scalar::from(5u64) + Scalar::from(u64::MAX) + Scalar::ONE
        );
        // r itself (big-endian, padded) reduces to zero.
        let mut r = [0u8; 64];
        r[32..].copy_from_slice(&(-Scalar::ONE).to_bytes_be()); // r - 1
        assert_eq!(scalar_from_wide(&r) + Scalar::ONE, Scalar::ZERO);
    }

    #[test]
    fn tags_are_distinct() {
        let a = [1u8; 32];
        let b = [2u8; 32];
        assert_ne!(hash_attribute(&a, "x", 1, 1), hash_attribute(&b, "x", 1, 1));
        assert_ne!(hash_attribute(&a, "x", 1, 1), hash_attribute(&a, "x", 1, 2));
        assert_ne!(
            hash_column(&a, 0, 1, 1),
            hash_attribute(&a, "\0\0\0\0", 1, 1)
        );
    }
}
