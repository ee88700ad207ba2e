//! The CCA-secure key wrap around FAME: a Fujisaki-Okamoto style transform.
//!
//! FAME itself is only CPA-secure: a decryption oracle could be fed modified ciphertexts.
//! We therefore derive all encryption randomness from a fresh random seed `sigma` and let
//! decryption check that the ciphertext is the one `sigma` determines:
//!
//! ```text
//! wrap(pp, policy, DEK):
//!   sigma  <- 32 random bytes
//!   s1, s2  = HKDF(sigma; info = authority id, SHA-256(policy text))   (64 bytes each, reduced)
//!   ct0, rows, Z = FAME.Enc(pp, policy; s1, s2)         Z = T1^{s1} T2^{s2} in GT
//!   masked  = sigma XOR HKDF(Z; info = authority id, SHA-256(policy text))
//!   header  = tag | version | authority id | policy | ct0 | rows | masked
//!   sealed  = AES-256-GCM(key = HKDF(sigma; authority id), nonce = 0, aad = header, DEK)
//!
//! unwrap(uk, ct):
//!   Z' = FAME.Dec(uk, ct); sigma' = masked XOR HKDF(Z'; ...)
//!   s1', s2' from sigma' as above; recompute ct0' and compare with ct0 (constant time)
//!   open sealed with HKDF(sigma'; ...) and aad = header (tag compared in constant time)
//!   release the DEK only if both checks pass; otherwise `Rejected`
//! ```
//!
//! Why this is enough while decryption stays constant in the policy size: any change to
//! `ct0`, the rows or `masked` that changes what decryption computes changes `sigma'`
//! and thus the recomputed `ct0'` (and the AEAD key); any change that does not (rows the
//! key did not use, the policy text, the authority id) is caught by the AEAD tag, which
//! covers every byte of the header with a key only `sigma` determines. Rows are not
//! re-encrypted (that would cost `O(policy)` hashes and scalar multiplications); their
//! integrity rests on the tag. The coins bind the policy and authority, so moving a
//! ciphertext to another policy or authority changes the coins as well. The nonce is fixed
//! because every AEAD key is used exactly once (a fresh `sigma` per ciphertext).
//! Both checks always run and are combined with `subtle`, so a rejection does not reveal
//! which one failed.
//!
//! The DEK is caller-supplied ([`wrap_key`]) so the app can wrap a record's existing data
//! key; [`encapsulate`] draws a fresh one.

use blstrs::{Gt, Scalar};
use rand_core::{CryptoRng, RngCore};
use ring::aead;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{AbeError, DecodeError};
use crate::fame::{self, CtCore, PublicParams, UserKey};
use crate::format;
use crate::hash::{hkdf, scalar_from_wide, sha256, LABEL_COINS, LABEL_MASK, LABEL_WRAP};
use crate::policy::{lsss, Policy};

/// Length of the sealed DEK: 32 bytes of ciphertext and a 16-byte tag.
pub(crate) const SEALED_LEN: usize = 32 + 16;

/// A 256-bit data-encryption key, zeroed on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct DataKey([u8; 32]);

impl DataKey {
    /// Wraps existing key bytes (e.g. a record's DEK).
    pub fn from_bytes(bytes: [u8; 32]) -> DataKey {
        DataKey(bytes)
    }

    /// Draws a fresh random key.
    pub fn generate<R: RngCore + CryptoRng>(rng: &mut R) -> DataKey {
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        DataKey(k)
    }

    /// The key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(..)")
    }
}

/// A wrapped data key: the FAME ciphertext for a policy under one authority, plus the
/// AES-256-GCM-sealed DEK.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ciphertext {
    pub(crate) authority: [u8; 32],
    pub(crate) policy_text: String,
    pub(crate) policy: Policy,
    pub(crate) core: CtCore,
    pub(crate) masked_sigma: [u8; 32],
    pub(crate) sealed: [u8; SEALED_LEN],
}

impl Ciphertext {
    /// The policy the key is wrapped under.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The id of the authority whose attributes the policy names.
    pub fn authority_id(&self) -> [u8; 32] {
        self.authority
    }

    /// The wire encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        format::encode_ciphertext(self)
    }

    /// Decodes and validates (lengths, points in the subgroup, the policy parses and matches
    /// the row count). Integrity is checked by [`unwrap_key`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Ciphertext, DecodeError> {
        format::decode_ciphertext(bytes)
    }
}

struct Coins([Scalar; 2]);
impl Drop for Coins {
    fn drop(&mut self) {
        let mut s = self.0.map(fame::Secret);
        s.zeroize();
        self.0 = [Scalar::from(0u64); 2];
        std::hint::black_box(&mut self.0);
    }
}

fn coins(sigma: &[u8; 32], authority: &[u8; 32], policy_hash: &[u8; 32]) -> Coins {
    let mut wide = Zeroizing::new([0u8; 128]);
    hkdf(LABEL_COINS, sigma, &[authority, policy_hash], &mut wide[..]);
    let mut a = [0u8; 64];
    let mut b = [0u8; 64];
    a.copy_from_slice(&wide[..64]);
    b.copy_from_slice(&wide[64..]);
    let c = Coins([scalar_from_wide(&a), scalar_from_wide(&b)]);
    a.zeroize();
    b.zeroize();
    c
}

/// 288-byte torus-compressed encoding of a GT element for the KDF. The identity (only
/// reachable with a malformed ciphertext) has no compressed form; it maps to zeros and the
/// resulting wrong sigma is rejected like any other.
fn gt_bytes(z: &Gt) -> Zeroizing<Vec<u8>> {
    use blstrs::Compress;
    use group::Group;
    let mut out = Zeroizing::new(Vec::with_capacity(288));
    if bool::from(z.is_identity()) || z.write_compressed(&mut *out).is_err() {
        out.clear();
        out.resize(288, 0);
    }
    out
}

fn mask(z: &Gt, authority: &[u8; 32], policy_hash: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let mut m = Zeroizing::new([0u8; 32]);
    hkdf(
        LABEL_MASK,
        &gt_bytes(z),
        &[authority, policy_hash],
        &mut m[..],
    );
    m
}

fn aead_key(sigma: &[u8; 32], authority: &[u8; 32]) -> Option<aead::LessSafeKey> {
    let mut k = Zeroizing::new([0u8; 32]);
    hkdf(LABEL_WRAP, sigma, &[authority], &mut k[..]);
    aead::UnboundKey::new(&aead::AES_256_GCM, &k[..])
        .ok()
        .map(aead::LessSafeKey::new)
}

fn xor(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (o, (x, y)) in out.iter_mut().zip(a.iter().zip(b)) {
        *o = x ^ y;
    }
    out
}

/// Wraps a caller-supplied 256-bit DEK under `policy` for the authority `pp`.
pub fn wrap_key<R: RngCore + CryptoRng>(
    pp: &PublicParams,
    policy: &Policy,
    dek: &DataKey,
    rng: &mut R,
) -> Ciphertext {
    let mut sigma = Zeroizing::new([0u8; 32]);
    let policy_text = policy.to_string();
    let policy_hash = sha256(&[policy_text.as_bytes()]);
    let authority = pp.id;
    let matrix = lsss::build(policy);
    let attributes: Vec<&str> = policy.attributes().collect();

    // A ciphertext element is the identity only with negligible probability (s1 = 0,
    // s1 + s2 = 0, a row's exponent 0); the decoder rejects such encodings, so draw a new
    // sigma rather than emit one. Loops more than once with probability ~2^-245.
    let (core, z) = loop {
        rng.fill_bytes(&mut sigma[..]);
        let c = coins(&sigma, &authority, &policy_hash);
        let (core, z) = fame::encrypt(pp, &matrix, &attributes, &c.0[0], &c.0[1]);
        if !core.has_identity() {
            break (core, z);
        }
    };
    let masked_sigma = xor(&sigma, &mask(&z, &authority, &policy_hash));

    let mut ct = Ciphertext {
        authority,
        policy_text,
        policy: policy.clone(),
        core,
        masked_sigma,
        sealed: [0u8; SEALED_LEN],
    };
    let header = format::encode_ciphertext_header(&ct);
    let mut buf = Zeroizing::new(dek.0.to_vec());
    if let Some(key) = aead_key(&sigma, &authority) {
        let nonce = aead::Nonce::assume_unique_for_key([0u8; 12]);
        if key
            .seal_in_place_append_tag(nonce, aead::Aad::from(&header), &mut *buf)
            .is_ok()
            && buf.len() == SEALED_LEN
        {
            ct.sealed.copy_from_slice(&buf);
        }
    }
    ct
}

/// Unwraps the DEK with a user key. Fails with `WrongAuthority` or `PolicyNotSatisfied`
/// before any pairing, and with `Rejected` if the ciphertext was modified in any byte.
pub fn unwrap_key(uk: &UserKey, ct: &Ciphertext) -> Result<DataKey, AbeError> {
    if uk.pp.id != ct.authority {
        return Err(AbeError::WrongAuthority);
    }
    let attributes: Vec<&str> = ct.policy.attributes().collect();
    let has = |i: usize| attributes.get(i).is_some_and(|a| uk.find(a).is_some());
    let selected = ct
        .policy
        .satisfying_leaves(&has)
        .ok_or(AbeError::PolicyNotSatisfied)?;

    let z = fame::decrypt(uk, &ct.core, &attributes, &selected);
    let policy_hash = sha256(&[ct.policy_text.as_bytes()]);
    let sigma = Zeroizing::new(xor(
        &ct.masked_sigma,
        &mask(&z, &ct.authority, &policy_hash),
    ));

    // FO re-encryption check on the constant-size part: ct0 must be what sigma' implies.
    let c = coins(&sigma, &ct.authority, &policy_hash);
    let ct0_ok = recompute_ct0_check(uk, ct, &c);

    // AEAD check over the whole header.
    let header = format::encode_ciphertext_header(ct);
    let mut buf = Zeroizing::new(ct.sealed.to_vec());
    let opened = match aead_key(&sigma, &ct.authority) {
        Some(key) => {
            let nonce = aead::Nonce::assume_unique_for_key([0u8; 12]);
            key.open_in_place(nonce, aead::Aad::from(&header), &mut buf)
                .ok()
                .and_then(|pt| <[u8; 32]>::try_from(&pt[..]).ok())
        }
        None => None,
    };
    let ok = ct0_ok & subtle::Choice::from(opened.is_some() as u8);
    match opened {
        Some(dek) if bool::from(ok) => Ok(DataKey(dek)),
        Some(mut dek) => {
            dek.zeroize();
            Err(AbeError::Rejected)
        }
        None => Err(AbeError::Rejected),
    }
}

/// Recomputes `ct0 = (h^{a1 s1}, h^{a2 s2}, h^{s1+s2})` from the re-derived coins with the
/// authority's parameters carried in the user key, and compares in constant time.
fn recompute_ct0_check(uk: &UserKey, ct: &Ciphertext, c: &Coins) -> subtle::Choice {
    let expected = fame::ct0(&uk.pp, &c.0[0], &c.0[1]);
    let mut ok = subtle::Choice::from(1u8);
    for (a, b) in expected.iter().zip(&ct.core.ct0) {
        ok &= a.to_compressed().ct_eq(&b.to_compressed());
    }
    ok
}

/// Draws a fresh DEK and wraps it: the KEM interface.
pub fn encapsulate<R: RngCore + CryptoRng>(
    pp: &PublicParams,
    policy: &Policy,
    rng: &mut R,
) -> (DataKey, Ciphertext) {
    let dek = DataKey::generate(rng);
    let ct = wrap_key(pp, policy, &dek, rng);
    (dek, ct)
}

/// Recovers the DEK of [`encapsulate`]; same as [`unwrap_key`].
pub fn decapsulate(uk: &UserKey, ct: &Ciphertext) -> Result<DataKey, AbeError> {
    unwrap_key(uk, ct)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fame::MasterKey;
    use rand_chacha::rand_core::SeedableRng;

    fn rng() -> rand_chacha::ChaCha20Rng {
        rand_chacha::ChaCha20Rng::seed_from_u64(42)
    }

    /// Two users whose attributes only together satisfy the policy: every way of mixing
    /// their key parts fails, because each key's parts are tied to its own `r1, r2`
    /// (sk0) and `σ'` (sk').
    #[test]
    fn collusion_by_mixing_key_components_fails() {
        let mut rng = rng();
        let msk = MasterKey::from_seed(&[3; 32], "clinic").unwrap();
        let policy = Policy::parse("role:doctor AND dept:cardiology").unwrap();
        let dek = DataKey::from_bytes([9; 32]);
        let ct = wrap_key(&msk.pp, &policy, &dek, &mut rng);
        let u1 = msk.issue_key(&["role:doctor"], &mut rng).unwrap();
        let u2 = msk.issue_key(&["dept:cardiology"], &mut rng).unwrap();
        assert_eq!(unwrap_key(&u1, &ct), Err(AbeError::PolicyNotSatisfied));
        assert_eq!(unwrap_key(&u2, &ct), Err(AbeError::PolicyNotSatisfied));

        let rows = |uk: &UserKey| uk.attrs.clone();
        let mut all = rows(&u1);
        all.extend(rows(&u2));
        all.sort_by(|a, b| a.0.cmp(&b.0));
        // Concatenate attribute rows; take sk0/sk' from either user, or mix them.
        for (sk0_from, skp_from) in [(&u1, &u1), (&u2, &u2), (&u1, &u2), (&u2, &u1)] {
            let forged = UserKey {
                pp: msk.pp.clone(),
                attrs: all.clone(),
                sk0: sk0_from.sk0,
                skp: skp_from.skp,
            };
            assert_eq!(unwrap_key(&forged, &ct), Err(AbeError::Rejected));
        }
        // Mixing within the attribute triple (sk_{y,1}, sk_{y,2} of one user, sk_{y,3} of
        // the other) fails too.
        let mut mixed = all.clone();
        mixed[0].1[2] = u1.attrs[0].1[2];
        let forged = UserKey {
            pp: msk.pp.clone(),
            attrs: mixed,
            sk0: u2.sk0,
            skp: u2.skp,
        };
        assert_eq!(unwrap_key(&forged, &ct), Err(AbeError::Rejected));

        // Sanity: one user holding both attributes decrypts.
        let both = msk
            .issue_key(&["role:doctor", "dept:cardiology"], &mut rng)
            .unwrap();
        assert_eq!(unwrap_key(&both, &ct).unwrap(), dek);
    }

    /// A key from another authority for the same attribute names, relabelled with this
    /// authority's parameters (so it passes the authority check), still fails: the
    /// attribute hashes and master secrets differ.
    #[test]
    fn relabelled_key_of_another_authority_fails() {
        let mut rng = rng();
        let a = MasterKey::from_seed(&[1; 32], "patient").unwrap();
        let b = MasterKey::from_seed(&[2; 32], "clinic").unwrap();
        let policy = Policy::parse("careteam").unwrap();
        let ct = wrap_key(&a.pp, &policy, &DataKey::from_bytes([5; 32]), &mut rng);
        let kb = b.issue_key(&["careteam"], &mut rng).unwrap();
        assert_eq!(unwrap_key(&kb, &ct), Err(AbeError::WrongAuthority));
        let forged = UserKey {
            pp: a.pp.clone(),
            attrs: kb.attrs.clone(),
            sk0: kb.sk0,
            skp: kb.skp,
        };
        assert_eq!(unwrap_key(&forged, &ct), Err(AbeError::Rejected));
    }

    /// The FO check alone catches a change to a row the decryptor does not use (the AEAD
    /// tag) and to a row it uses (sigma changes, so ct0 and the tag fail).
    #[test]
    fn modified_rows_are_rejected() {
        use group::Group;
        let mut rng = rng();
        let msk = MasterKey::from_seed(&[4; 32], "clinic").unwrap();
        let policy = Policy::parse("a OR b").unwrap();
        let ct = wrap_key(&msk.pp, &policy, &DataKey::from_bytes([1; 32]), &mut rng);
        let uk = msk.issue_key(&["a"], &mut rng).unwrap();
        for row in 0..2 {
            let mut bad = ct.clone();
            bad.core.rows[row][1] = (blstrs::G1Projective::from(bad.core.rows[row][1])
                + blstrs::G1Projective::generator())
            .into();
            assert_eq!(unwrap_key(&uk, &bad), Err(AbeError::Rejected));
        }
        assert!(unwrap_key(&uk, &ct).is_ok());
    }
}
