//! Wire formats. Every object starts with a kind tag and a format version, then fixed-size
//! or length-prefixed fields (big-endian lengths); decoders check every length, reject
//! trailing bytes, and decode points with on-curve and subgroup checks. Points are
//! compressed (48 bytes in G1, 96 in G2) and never the identity (rejected with
//! [`DecodeError::Identity`]; encoders never produce it, see `MasterKey::from_scalars`,
//! `MasterKey::issue_key` and `wrap_key`), scalars are 32 bytes big-endian and canonical.
//!
//! ```text
//! public params : A1 01 | label: u16 len + UTF-8 | h^a1, h^a2, K1, K2 : 4 × G2
//! master key    : A2 01 | label: u16 len + UTF-8 | a1 a2 b1 b2 d1 d2 d3 : 7 × scalar
//! user key      : A3 01 | public params: u16 len + encoding | n: u16 | n × (attr: u16 len + UTF-8,
//!                 3 × G1), attributes strictly increasing | sk0: 3 × G2 | sk': 3 × G1
//! ciphertext    : A4 01 | authority id: 32 | policy: u16 len + UTF-8 | ct0: 3 × G2 |
//!                 n: u16 | n × 3 × G1 | masked sigma: 32 | AES-256-GCM(DEK) + tag: 48
//! ```

use blstrs::{G1Affine, G2Affine, Scalar};
use ff::Field;
use group::prime::PrimeCurveAffine;
use zeroize::Zeroizing;

use crate::error::DecodeError;
use crate::fame::{
    MasterKey, PublicParams, Secret, UserKey, MAX_ATTRIBUTE_LEN, MAX_KEY_ATTRIBUTES, MAX_LABEL_LEN,
};
use crate::hash::{sha256, LABEL_AUTHORITY_ID};
use crate::kem::{Ciphertext, SEALED_LEN};
use crate::policy::{Policy, MAX_POLICY_ATTRIBUTES, MAX_POLICY_LEN};

/// The format version this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;
pub(crate) const TAG_PUBLIC_PARAMS: u8 = 0xA1;
pub(crate) const TAG_MASTER_KEY: u8 = 0xA2;
pub(crate) const TAG_USER_KEY: u8 = 0xA3;
pub(crate) const TAG_CIPHERTEXT: u8 = 0xA4;

pub(crate) struct Writer(pub(crate) Vec<u8>);

impl Writer {
    pub(crate) fn new(tag: u8) -> Writer {
        Writer(vec![tag, FORMAT_VERSION])
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    fn u16(&mut self, x: usize) {
        // Callers enforce the limits (all below 65 536) before encoding.
        self.bytes(&(x.min(u16::MAX as usize) as u16).to_be_bytes());
    }
    fn text(&mut self, s: &str) {
        self.u16(s.len());
        self.bytes(s.as_bytes());
    }
    fn g1(&mut self, p: &G1Affine) {
        self.bytes(&p.to_compressed());
    }
    fn g2(&mut self, p: &G2Affine) {
        self.bytes(&p.to_compressed());
    }
}

pub(crate) struct Reader<'a> {
    data: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    /// Checks the tag and version.
    pub(crate) fn new(data: &'a [u8], tag: u8, what: &'static str) -> Result<Self, DecodeError> {
        let mut r = Reader { data, what };
        let found = r.u8()?;
        if found != tag {
            return Err(DecodeError::WrongKind {
                expected: what,
                found,
            });
        }
        let version = r.u8()?;
        if version != FORMAT_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                what,
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        Ok(r)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.data.len() < n {
            return Err(DecodeError::Truncated { what: self.what });
        }
        let (head, tail) = self.data.split_at(n);
        self.data = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<usize, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?) as usize)
    }

    fn text(&mut self, field: &'static str, max: usize) -> Result<&'a str, DecodeError> {
        let n = self.u16()?;
        if n > max {
            return Err(DecodeError::OutOfRange { what: field });
        }
        std::str::from_utf8(self.take(n)?).map_err(|_| DecodeError::NotUtf8 { what: field })
    }

    fn g1(&mut self, field: &'static str) -> Result<G1Affine, DecodeError> {
        let b: [u8; 48] = self.array()?;
        let p = Option::<G1Affine>::from(G1Affine::from_compressed_unchecked(&b))
            .ok_or(DecodeError::InvalidPoint { what: field })?;
        if bool::from(p.is_identity()) {
            return Err(DecodeError::Identity { what: field });
        }
        if !bool::from(p.is_torsion_free()) {
            return Err(DecodeError::NotInSubgroup { what: field });
        }
        Ok(p)
    }

    fn g2(&mut self, field: &'static str) -> Result<G2Affine, DecodeError> {
        let b: [u8; 96] = self.array()?;
        let p = Option::<G2Affine>::from(G2Affine::from_compressed_unchecked(&b))
            .ok_or(DecodeError::InvalidPoint { what: field })?;
        if bool::from(p.is_identity()) {
            return Err(DecodeError::Identity { what: field });
        }
        if !bool::from(p.is_torsion_free()) {
            return Err(DecodeError::NotInSubgroup { what: field });
        }
        Ok(p)
    }

    fn scalar(&mut self, field: &'static str) -> Result<Scalar, DecodeError> {
        let mut b = Zeroizing::new(self.array::<32>()?);
        let s = Option::<Scalar>::from(Scalar::from_bytes_be(&b))
            .ok_or(DecodeError::InvalidScalar { what: field });
        b.iter_mut().for_each(|x| *x = 0);
        s
    }

    fn remaining(&self) -> usize {
        self.data.len()
    }

    pub(crate) fn finish(self) -> Result<(), DecodeError> {
        if self.data.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes {
                what: self.what,
                extra: self.data.len(),
            })
        }
    }
}

// ---- public parameters ----

pub(crate) fn encode_public_params(pp: &PublicParams) -> Vec<u8> {
    let mut w = Writer::new(TAG_PUBLIC_PARAMS);
    w.text(&pp.label);
    for p in pp.h_a.iter().chain(&pp.k) {
        w.g2(p);
    }
    w.0
}

pub(crate) fn authority_id(pp: &PublicParams) -> [u8; 32] {
    sha256(&[LABEL_AUTHORITY_ID, &encode_public_params(pp)])
}

pub(crate) fn decode_public_params(data: &[u8]) -> Result<PublicParams, DecodeError> {
    let mut r = Reader::new(data, TAG_PUBLIC_PARAMS, "public parameters")?;
    let label = r.text("authority label", MAX_LABEL_LEN)?.to_owned();
    let h_a = [r.g2("h^a1")?, r.g2("h^a2")?];
    let k = [r.g2("K1")?, r.g2("K2")?];
    r.finish()?;
    Ok(PublicParams::from_parts(label, h_a, k))
}

// ---- master key ----

pub(crate) fn encode_master_key(msk: &MasterKey) -> Zeroizing<Vec<u8>> {
    let mut w = Writer::new(TAG_MASTER_KEY);
    w.text(&msk.pp.label);
    for s in &msk.s {
        w.bytes(&s.0.to_bytes_be());
    }
    Zeroizing::new(w.0)
}

pub(crate) fn decode_master_key(data: &[u8]) -> Result<MasterKey, DecodeError> {
    let mut r = Reader::new(data, TAG_MASTER_KEY, "master key")?;
    let label = r.text("authority label", MAX_LABEL_LEN)?.to_owned();
    let mut s = [Secret(Scalar::ZERO); 7];
    for (k, slot) in s.iter_mut().enumerate() {
        let x = r.scalar("master scalar")?;
        // a1, a2, b1, b2 must be invertible / non-zero.
        if k < 4 && bool::from(x.is_zero()) {
            return Err(DecodeError::InvalidScalar {
                what: "master scalar",
            });
        }
        *slot = Secret(x);
    }
    r.finish()?;
    MasterKey::from_scalars(label, s).map_err(|_| DecodeError::InvalidScalar {
        what: "master scalar",
    })
}

// ---- user key ----

pub(crate) fn encode_user_key(uk: &UserKey) -> Zeroizing<Vec<u8>> {
    let mut w = Writer::new(TAG_USER_KEY);
    let pp = encode_public_params(&uk.pp);
    w.u16(pp.len());
    w.bytes(&pp);
    w.u16(uk.attrs.len());
    for (a, parts) in &uk.attrs {
        w.text(a);
        for p in parts {
            w.g1(&p.0);
        }
    }
    for p in &uk.sk0 {
        w.g2(&p.0);
    }
    for p in &uk.skp {
        w.g1(&p.0);
    }
    Zeroizing::new(w.0)
}

pub(crate) fn decode_user_key(data: &[u8]) -> Result<UserKey, DecodeError> {
    let mut r = Reader::new(data, TAG_USER_KEY, "user key")?;
    let pp_len = r.u16()?;
    let pp = decode_public_params(r.take(pp_len)?)?;
    let n = r.u16()?;
    if n == 0 || n > MAX_KEY_ATTRIBUTES {
        return Err(DecodeError::OutOfRange {
            what: "attribute count",
        });
    }
    // Each attribute takes at least 2 + 1 + 3 * 48 bytes: refuse impossible counts before
    // allocating.
    if r.remaining() < n * (3 + 3 * 48) {
        return Err(DecodeError::Truncated { what: "user key" });
    }
    let mut uk = UserKey {
        pp,
        attrs: Vec::with_capacity(n),
        sk0: [Secret(G2Affine::default()); 3],
        skp: [Secret(G1Affine::default()); 3],
    };
    for _ in 0..n {
        let a = r.text("attribute", MAX_ATTRIBUTE_LEN)?;
        if a.is_empty() {
            return Err(DecodeError::OutOfRange { what: "attribute" });
        }
        if let Some((prev, _)) = uk.attrs.last() {
            if prev.as_str() >= a {
                return Err(DecodeError::OutOfRange {
                    what: "attribute order (must be sorted, without duplicates)",
                });
            }
        }
        let parts = [
            Secret(r.g1("attribute key")?),
            Secret(r.g1("attribute key")?),
            Secret(r.g1("attribute key")?),
        ];
        uk.attrs.push((a.to_owned(), parts));
    }
    for slot in uk.sk0.iter_mut() {
        *slot = Secret(r.g2("sk0")?);
    }
    for slot in uk.skp.iter_mut() {
        *slot = Secret(r.g1("sk'")?);
    }
    r.finish()?;
    Ok(uk)
}

// ---- ciphertext ----

/// Everything but the sealed DEK; this is the AES-GCM associated data, so the tag covers
/// every other byte of the ciphertext.
pub(crate) fn encode_ciphertext_header(ct: &Ciphertext) -> Vec<u8> {
    let mut w = Writer::new(TAG_CIPHERTEXT);
    w.bytes(&ct.authority);
    w.text(&ct.policy_text);
    for p in &ct.core.ct0 {
        w.g2(p);
    }
    w.u16(ct.core.rows.len());
    for row in &ct.core.rows {
        for p in row {
            w.g1(p);
        }
    }
    w.bytes(&ct.masked_sigma);
    w.0
}

pub(crate) fn encode_ciphertext(ct: &Ciphertext) -> Vec<u8> {
    let mut out = encode_ciphertext_header(ct);
    out.extend_from_slice(&ct.sealed);
    out
}

pub(crate) fn decode_ciphertext(data: &[u8]) -> Result<Ciphertext, DecodeError> {
    let mut r = Reader::new(data, TAG_CIPHERTEXT, "ciphertext")?;
    let authority: [u8; 32] = r.array()?;
    let policy_text = r.text("policy", MAX_POLICY_LEN)?.to_owned();
    let policy = Policy::parse(&policy_text)?;
    let ct0 = [r.g2("ct0")?, r.g2("ct0")?, r.g2("ct0")?];
    let n = r.u16()?;
    let expected = policy.leaves.len();
    if n != expected || n > MAX_POLICY_ATTRIBUTES {
        return Err(DecodeError::RowCount { expected, found: n });
    }
    let mut rows = Vec::with_capacity(n);
    for _ in 0..n {
        rows.push([
            r.g1("ciphertext row")?,
            r.g1("ciphertext row")?,
            r.g1("ciphertext row")?,
        ]);
    }
    let masked_sigma: [u8; 32] = r.array()?;
    let sealed: [u8; SEALED_LEN] = r.array()?;
    r.finish()?;
    Ok(Ciphertext {
        authority,
        policy_text,
        policy,
        core: crate::fame::CtCore { ct0, rows },
        masked_sigma,
        sealed,
    })
}

impl PublicParams {
    /// The wire encoding (publishable, e.g. on IPFS).
    pub fn to_bytes(&self) -> Vec<u8> {
        encode_public_params(self)
    }

    /// Decodes and validates public parameters.
    pub fn from_bytes(bytes: &[u8]) -> Result<PublicParams, DecodeError> {
        decode_public_params(bytes)
    }
}

impl MasterKey {
    /// The wire encoding; secret, zeroed when dropped. The wallet can instead keep the seed
    /// and call [`MasterKey::from_seed`].
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        encode_master_key(self)
    }

    /// Decodes a master key and recomputes its public parameters.
    pub fn from_bytes(bytes: &[u8]) -> Result<MasterKey, DecodeError> {
        decode_master_key(bytes)
    }
}

impl UserKey {
    /// The wire encoding; secret, zeroed when dropped.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        encode_user_key(self)
    }

    /// Decodes and validates a user key (points in the subgroup, attributes sorted).
    pub fn from_bytes(bytes: &[u8]) -> Result<UserKey, DecodeError> {
        decode_user_key(bytes)
    }
}
