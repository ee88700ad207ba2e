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

    fn g1_uncompressed(x: &str, y: &str) -> G1Projective {
        let mut b = [0u8; 96];
        for (i, chunk) in [x, y].concat().as_bytes().chunks(2).enumerate() {
            b[i] = u8::from_str_radix(std::str::from_utf8(chunk).unwrap(), 16).unwrap();
        }
        G1Projective::from(
            Option::<blstrs::G1Affine>::from(blstrs::G1Affine::from_uncompressed(&b)).unwrap(),
        )
    }

    /// The rabe attack needs a hash to the group with a known discrete log (rabe maps an
    /// attribute to `g^{hash(attribute)}`). Ours is the RFC 9380 random-oracle encoding
    /// (SSWU map + cofactor clearing), checked here against RFC 9380 Appendix J.9.1, and
    /// `hash_attribute` is exactly `hash_to_curve(id || ℓ || t || attribute)` with our DST:
    /// no scalar is ever derived from the attribute, so nobody knows a discrete log.
    #[test]
    fn attribute_hash_is_rfc9380_hash_to_curve() {
        let dst = b"QUUX-V01-CS02-with-BLS12381G1_XMD:SHA-256_SSWU_RO_";
        assert_eq!(
            G1Projective::hash_to_curve(b"", dst, &[]),
            g1_uncompressed(
                "052926add2207b76ca4fa57a8734416c8dc95e24501772c814278700eed6d1e4e8cf62d9c09db0fac349612b759e79a1",
                "08ba738453bfed09cb546dbb0783dbb3a5f1f566ed67bb6be0e8c67e2e81a4cc68ee29813bb7994998f3eae0c9c6a265"
            )
        );
        assert_eq!(
            G1Projective::hash_to_curve(b"abc", dst, &[]),
            g1_uncompressed(
                "03567bc5ef9c690c2ab2ecdf6a96ef1c139cc0b2f284dca0a9a7943388a49a3aee664ba5379a7655d3c68900be2f6903",
                "0b9c15f3fe6e5cf4211f346271d7b01c8f3b28be689c8429c85b67af215533311f0b8dfaaa154fa6b88176c229f2885d"
            )
        );
        // `aug` is a prefix of the RFC 9380 message.
        let id = [0x5a; 32];
        let mut msg = id.to_vec();
        msg.extend_from_slice(&[2, 1]);
        msg.extend_from_slice(b"role:doctor");
        assert_eq!(
            hash_attribute(&id, "role:doctor", 2, 1),
            G1Projective::hash_to_curve(&msg, DST_ATTRIBUTE, &[])
        );
        let mut msg = id.to_vec();
        msg.extend_from_slice(&[3, 2, 0, 0, 0, 7]);
        assert_eq!(
            hash_column(&id, 7, 3, 2),
            G1Projective::hash_to_curve(&msg, DST_COLUMN, &[])
        );
    }

    /// No relation the code could expose: across two authorities, all `ℓ, t`, attributes
    /// and columns, the points are distinct, never the identity or `±g`, and no two differ
    /// by a small known factor (`P = k·Q`, 2 ≤ |k| ≤ 4). (A real relation would be a
    /// discrete log, which the random-oracle encoding does not give anyone.)
    #[test]
    fn attribute_and_column_points_are_unrelated() {
        use group::Group;
        let g = G1Projective::generator();
        let mut pts = Vec::new();
        for id in [[1u8; 32], [2u8; 32]] {
            for l in 1..=3 {
                for t in 1..=2 {
                    for a in ["a", "b", "role:doctor", "\0"] {
                        pts.push(hash_attribute(&id, a, l, t));
                    }
                    for j in 0..3 {
                        pts.push(hash_column(&id, j, l, t));
                    }
                }
            }
        }
        for (i, p) in pts.iter().enumerate() {
            assert!(!bool::from(p.is_identity()));
            assert!(*p != g && *p != -g);
            for q in &pts[i + 1..] {
                for k in [1u64, 2, 3, 4] {
                    let kq = q * Scalar::from(k);
                    assert!(*p != kq && *p != -kq);
                    let kp = p * Scalar::from(k);
                    assert!(*q != kp && *q != -kp);
                }
            }
        }
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
