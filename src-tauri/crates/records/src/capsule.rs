//! The capsule: a record version's DEK wrapped with CP-ABE under the record's policy,
//! one part per authority whose attributes the policy names.
//!
//! ```text
//! capsule = "MWRK" | 0x01 | record id (32) | record version (u32 BE) | part count (u16 BE)
//!           | part * count
//!           | binding (32)
//! part    = authority id (32) | length (u32 BE) | medwallet-abe Ciphertext::to_bytes()
//! binding = HMAC-SHA256(HKDF(DEK, info = "medwallet/v1/record-capsule"),
//!                       every capsule byte before the binding)
//! ```
//!
//! Each part is a complete abe ciphertext (its own CCA transform and AEAD, bound to its
//! policy and authority). What abe cannot bind is the record: its AEAD does not cover
//! the record id and version in this header, so a capsule of record A could be given a
//! header that says record B. Two independent checks catch that:
//!
//! 1. The binding MAC: after abe releases the DEK, the MAC over the whole capsule
//!    (header included) is checked under a key derived from that DEK. Whoever rewrites
//!    the header must recompute it, which needs the DEK of A: someone who cannot read
//!    record A cannot move its capsule to record B ([`CapsuleError::Tampered`]).
//! 2. The manifest: someone who *can* read A can forge a capsule for B (as anyone could
//!    wrap any key of their choosing under B's policy), but the DEK it yields is A's,
//!    and B's manifest, sealed under B's DEK with B's id in its associated data, then
//!    does not open (`ManifestError::WrongKeyOrTampered`). The app always opens the
//!    manifest before trusting a DEK, and the ledger names which capsule belongs to
//!    which record.
//!
//! A record shared under several authorities (the owner's people, a clinic's roles) has
//! one part per authority, each wrapping the same DEK ([`wrap_parts`]).

use medwallet_abe::{AbeError, Ciphertext, DataKey, Policy, PublicParams, UserKey};
use ring::hmac;

use crate::keys;
use crate::record_id::{format_record_id, parse_record_id};

/// Magic bytes that open a capsule.
pub const MAGIC: [u8; 4] = *b"MWRK";
/// The capsule format version this build writes and reads.
pub const VERSION: u8 = 1;
/// Most parts in one capsule.
pub const MAX_PARTS: usize = 16;
/// Largest part (an abe ciphertext for the largest policy abe accepts is ~110 KiB).
pub const MAX_PART_LEN: usize = 256 * 1024;
/// Largest capsule accepted.
pub const MAX_CAPSULE_LEN: usize =
    HEADER_SIZE + MAX_PARTS * (PART_HEADER_SIZE + MAX_PART_LEN) + MAC_SIZE;
/// Fixed header: magic, version, record id, record version, part count.
pub const HEADER_SIZE: usize = 4 + 1 + 32 + 4 + 2;
const PART_HEADER_SIZE: usize = 32 + 4;
const MAC_SIZE: usize = 32;

/// Why a capsule could not be made or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CapsuleError {
    /// Not a capsule, or its structure is broken (lengths, counts, cut short).
    #[error("this is not a valid key capsule: {0}")]
    BadHeader(&'static str),
    /// Written by a newer format version.
    #[error("the key capsule uses format version {found}; this app reads version {VERSION}: update the app")]
    UnsupportedVersion {
        /// The version byte found.
        found: u8,
    },
    /// The capsule names another record or version than the one asked for.
    #[error("this key capsule belongs to record {found_record} version {found_version}, not the one asked for")]
    NotThisRecord {
        /// The record id in the capsule's header.
        found_record: String,
        /// The version in the capsule's header.
        found_version: u32,
    },
    /// No part is wrapped for the authority that issued this key.
    #[error("the record is not shared under the authority that issued this key")]
    NoPartForThisAuthority,
    /// The key's attributes do not satisfy the part's policy.
    #[error("this key's attributes do not satisfy the record's sharing policy")]
    NotAllowed,
    /// A part or the binding failed its integrity check: the capsule was changed, or
    /// moved from another record.
    #[error("the key capsule was changed or does not belong to this record")]
    Tampered,
    /// The record id given to [`wrap`] is not `0x` + 64 lowercase hex digits.
    #[error("invalid record id: it must be 0x and 64 lowercase hex digits")]
    InvalidRecordId,
    /// The operating system's random generator failed.
    #[error("the system random number generator failed")]
    Random,
}

/// What a capsule's header says, readable without a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapsuleInfo {
    /// Record id.
    pub record_id: String,
    /// Record version.
    pub version: u32,
    /// The authorities the DEK is wrapped for, one per part, in order.
    pub authorities: Vec<[u8; 32]>,
}

/// Wraps `dek` under `policy` for the authority `params`, for record `record_id`
/// version `version`.
pub fn wrap(
    params: &PublicParams,
    policy: &Policy,
    dek: &DataKey,
    record_id: &str,
    version: u32,
) -> Result<Vec<u8>, CapsuleError> {
    wrap_parts(&[(params, policy)], dek, record_id, version)
}

/// Wraps `dek` once per authority, each part under that authority's clause(s): a record
/// shared with people under the owner's authority and with a role at a clinic under the
/// clinic's. At least one part, at most [`MAX_PARTS`], each authority once.
pub fn wrap_parts(
    parts: &[(&PublicParams, &Policy)],
    dek: &DataKey,
    record_id: &str,
    version: u32,
) -> Result<Vec<u8>, CapsuleError> {
    let id = parse_record_id(record_id).ok_or(CapsuleError::InvalidRecordId)?;
    if parts.is_empty() || parts.len() > MAX_PARTS {
        return Err(CapsuleError::BadHeader("a capsule has 1 to 16 parts"));
    }
    let mut authorities: Vec<[u8; 32]> = parts.iter().map(|(p, _)| p.authority_id()).collect();
    authorities.sort_unstable();
    authorities.dedup();
    if authorities.len() != parts.len() {
        return Err(CapsuleError::BadHeader("two parts name the same authority"));
    }
    let mut rng = keys::SystemRng::default();
    let encoded: Vec<([u8; 32], Vec<u8>)> = parts
        .iter()
        .map(|(params, policy)| {
            let ct = medwallet_abe::wrap_key(params, policy, dek, &mut rng);
            (params.authority_id(), ct.to_bytes())
        })
        .collect();
    if rng.failed() {
        return Err(CapsuleError::Random);
    }

    let total: usize = encoded
        .iter()
        .map(|(_, p)| PART_HEADER_SIZE + p.len())
        .sum();
    let mut out = Vec::with_capacity(HEADER_SIZE + total + MAC_SIZE);
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.extend_from_slice(&id);
    out.extend_from_slice(&version.to_be_bytes());
    // At most MAX_PARTS (16), checked above.
    out.extend_from_slice(&(encoded.len() as u16).to_be_bytes());
    for (authority, part) in &encoded {
        out.extend_from_slice(authority);
        // An abe ciphertext is bounded by abe's own policy limits, far below u32::MAX.
        out.extend_from_slice(&(part.len() as u32).to_be_bytes());
        out.extend_from_slice(part);
    }
    let mac = hmac::sign(&binding_key(dek), &out);
    out.extend_from_slice(mac.as_ref());
    Ok(out)
}

fn binding_key(dek: &DataKey) -> hmac::Key {
    keys::mac_key(dek, &[], keys::LABEL_CAPSULE)
}

/// A parsed capsule: the header, the parts as byte ranges, and where the MAC starts.
struct Parsed<'a> {
    info: CapsuleInfo,
    parts: Vec<&'a [u8]>,
    signed: &'a [u8],
    mac: &'a [u8],
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8], CapsuleError> {
    if input.len() < n {
        return Err(CapsuleError::BadHeader("it is cut short"));
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

fn parse(bytes: &[u8]) -> Result<Parsed<'_>, CapsuleError> {
    if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
        return Err(CapsuleError::BadHeader(
            "it does not start with the capsule magic",
        ));
    }
    match bytes.get(4) {
        None => return Err(CapsuleError::BadHeader("it is cut short")),
        Some(&v) if v != VERSION => return Err(CapsuleError::UnsupportedVersion { found: v }),
        Some(_) => {}
    }
    if bytes.len() > MAX_CAPSULE_LEN {
        return Err(CapsuleError::BadHeader("it is larger than any capsule"));
    }
    let mut rest = &bytes[5..];
    let mut id = [0u8; 32];
    id.copy_from_slice(take(&mut rest, 32)?);
    let mut v = [0u8; 4];
    v.copy_from_slice(take(&mut rest, 4)?);
    let mut c = [0u8; 2];
    c.copy_from_slice(take(&mut rest, 2)?);
    let count = usize::from(u16::from_be_bytes(c));
    if count == 0 || count > MAX_PARTS {
        return Err(CapsuleError::BadHeader("its part count is out of range"));
    }
    let mut authorities = Vec::with_capacity(count);
    let mut parts = Vec::with_capacity(count);
    for _ in 0..count {
        let mut authority = [0u8; 32];
        authority.copy_from_slice(take(&mut rest, 32)?);
        let mut l = [0u8; 4];
        l.copy_from_slice(take(&mut rest, 4)?);
        let len = u32::from_be_bytes(l) as usize;
        if len > MAX_PART_LEN {
            return Err(CapsuleError::BadHeader(
                "a part is larger than any key wrap",
            ));
        }
        if authorities.contains(&authority) {
            return Err(CapsuleError::BadHeader("two parts name the same authority"));
        }
        authorities.push(authority);
        parts.push(take(&mut rest, len)?);
    }
    if rest.len() != MAC_SIZE {
        return Err(if rest.len() < MAC_SIZE {
            CapsuleError::BadHeader("it is cut short")
        } else {
            CapsuleError::BadHeader("it has bytes after its binding")
        });
    }
    Ok(Parsed {
        info: CapsuleInfo {
            record_id: format_record_id(&id),
            version: u32::from_be_bytes(v),
            authorities,
        },
        parts,
        signed: &bytes[..bytes.len() - MAC_SIZE],
        mac: rest,
    })
}

/// Reads a capsule's header (record, version, authorities) without a key. Nothing in it
/// is authenticated until [`unwrap`] succeeds.
pub fn inspect(bytes: &[u8]) -> Result<CapsuleInfo, CapsuleError> {
    parse(bytes).map(|p| p.info)
}

/// The policy of each part, by authority, in order, as text. Nothing in it is
/// authenticated: a restore uses it only to find the clause text whose hash the ledger
/// names (a match is the check).
pub fn part_policies(bytes: &[u8]) -> Result<Vec<([u8; 32], String)>, CapsuleError> {
    let parsed = parse(bytes)?;
    parsed
        .info
        .authorities
        .iter()
        .zip(&parsed.parts)
        .map(|(authority, part)| {
            let ciphertext = Ciphertext::from_bytes(part)
                .map_err(|_| CapsuleError::BadHeader("a part is not a key wrap"))?;
            Ok((*authority, ciphertext.policy().to_string()))
        })
        .collect()
}

/// Unwraps the DEK of record `record_id` version `version` with `key`.
///
/// Checks, in order: the structure, the record and version named in the header, that a
/// part is wrapped for the key's authority, that the key satisfies its policy, the abe
/// ciphertext's integrity (its CCA check), and last the binding MAC under the DEK.
pub fn unwrap(
    key: &UserKey,
    bytes: &[u8],
    record_id: &str,
    version: u32,
) -> Result<DataKey, CapsuleError> {
    let parsed = parse(bytes)?;
    if parsed.info.record_id != record_id || parsed.info.version != version {
        return Err(CapsuleError::NotThisRecord {
            found_record: parsed.info.record_id,
            found_version: parsed.info.version,
        });
    }
    let authority = key.authority_id();
    let index = parsed
        .info
        .authorities
        .iter()
        .position(|a| *a == authority)
        .ok_or(CapsuleError::NoPartForThisAuthority)?;
    // A part that does not decode, or whose ciphertext names another authority than its
    // part header, was not written by `wrap`.
    let ct = Ciphertext::from_bytes(parsed.parts[index]).map_err(|_| CapsuleError::Tampered)?;
    if ct.authority_id() != authority {
        return Err(CapsuleError::Tampered);
    }
    let dek = medwallet_abe::unwrap_key(key, &ct).map_err(|e| match e {
        AbeError::PolicyNotSatisfied => CapsuleError::NotAllowed,
        AbeError::WrongAuthority => CapsuleError::NoPartForThisAuthority,
        _ => CapsuleError::Tampered,
    })?;
    hmac::verify(&binding_key(&dek), parsed.signed, parsed.mac)
        .map_err(|_| CapsuleError::Tampered)?;
    Ok(dek)
}

#[cfg(test)]
mod tests {
    use super::*;
    use medwallet_abe::MasterKey;

    const A: &str = "0x1111111111111111111111111111111111111111111111111111111111111111";
    const B: &str = "0x2222222222222222222222222222222222222222222222222222222222222222";

    struct Fixture {
        clinic: MasterKey,
        doctor: UserKey,
        nurse: UserKey,
        policy: Policy,
    }

    fn fixture() -> Fixture {
        let mut rng = keys::SystemRng::default();
        let clinic = MasterKey::from_seed(&[7; 32], "clinic:st-mary").unwrap();
        let doctor = clinic
            .issue_key(&["role:doctor", "dept:cardiology"], &mut rng)
            .unwrap();
        let nurse = clinic.issue_key(&["role:nurse"], &mut rng).unwrap();
        let policy = Policy::parse("role:doctor AND dept:cardiology").unwrap();
        Fixture {
            clinic,
            doctor,
            nurse,
            policy,
        }
    }

    fn dek(b: u8) -> DataKey {
        DataKey::from_bytes([b; 32])
    }

    #[test]
    fn a_part_per_authority_each_opens_with_its_own_keys() {
        let f = fixture();
        let mut rng = keys::SystemRng::default();
        let patient = MasterKey::from_seed(&[9; 32], "patient:0xabc").unwrap();
        let own = Policy::parse("id:0xabc OR id:0xdef").unwrap();
        let friend = patient.issue_key(&["id:0xdef"], &mut rng).unwrap();
        let stranger = patient.issue_key(&["id:0x999"], &mut rng).unwrap();
        let c = wrap_parts(
            &[
                (patient.public_params(), &own),
                (f.clinic.public_params(), &f.policy),
            ],
            &dek(4),
            A,
            3,
        )
        .unwrap();
        assert_eq!(inspect(&c).unwrap().authorities.len(), 2);
        assert_eq!(unwrap(&friend, &c, A, 3).unwrap(), dek(4));
        assert_eq!(unwrap(&f.doctor, &c, A, 3).unwrap(), dek(4));
        assert_eq!(unwrap(&f.nurse, &c, A, 3), Err(CapsuleError::NotAllowed));
        assert_eq!(unwrap(&stranger, &c, A, 3), Err(CapsuleError::NotAllowed));
        // One authority twice, or no part at all, is refused.
        let twice = [
            (f.clinic.public_params(), &f.policy),
            (f.clinic.public_params(), &own),
        ];
        assert!(matches!(
            wrap_parts(&twice, &dek(4), A, 3),
            Err(CapsuleError::BadHeader(_))
        ));
        assert!(matches!(
            wrap_parts(&[], &dek(4), A, 3),
            Err(CapsuleError::BadHeader(_))
        ));
        // Parts are written in the order given.
        let info = inspect(&c).unwrap();
        assert_eq!(info.authorities[0], patient.public_params().authority_id());
        // Each part's policy reads back as text, by authority.
        assert_eq!(
            part_policies(&c).unwrap(),
            vec![
                (patient.public_params().authority_id(), own.to_string()),
                (
                    f.clinic.public_params().authority_id(),
                    f.policy.to_string()
                ),
            ]
        );
        assert!(part_policies(&c[..c.len() - 1]).is_err());
    }

    #[test]
    fn round_trip_and_inspect() {
        let f = fixture();
        let capsule = wrap(f.clinic.public_params(), &f.policy, &dek(1), A, 3).unwrap();
        assert_eq!(&capsule[..4], b"MWRK");
        assert_eq!(unwrap(&f.doctor, &capsule, A, 3).unwrap(), dek(1));
        let info = inspect(&capsule).unwrap();
        assert_eq!(info.record_id, A);
        assert_eq!(info.version, 3);
        assert_eq!(
            info.authorities,
            vec![f.clinic.public_params().authority_id()]
        );
    }

    #[test]
    fn policy_authority_and_record_are_checked() {
        let f = fixture();
        let capsule = wrap(f.clinic.public_params(), &f.policy, &dek(1), A, 1).unwrap();
        assert_eq!(
            unwrap(&f.nurse, &capsule, A, 1),
            Err(CapsuleError::NotAllowed)
        );
        let other = MasterKey::from_seed(&[8; 32], "patient:0xabc").unwrap();
        let stranger = other
            .issue_key(
                &["role:doctor", "dept:cardiology"],
                &mut keys::SystemRng::default(),
            )
            .unwrap();
        assert_eq!(
            unwrap(&stranger, &capsule, A, 1),
            Err(CapsuleError::NoPartForThisAuthority)
        );
        assert!(matches!(
            unwrap(&f.doctor, &capsule, B, 1),
            Err(CapsuleError::NotThisRecord {
                found_version: 1,
                ..
            })
        ));
        assert!(matches!(
            unwrap(&f.doctor, &capsule, A, 2),
            Err(CapsuleError::NotThisRecord { .. })
        ));
        assert_eq!(
            wrap(f.clinic.public_params(), &f.policy, &dek(1), "0xABC", 1),
            Err(CapsuleError::InvalidRecordId)
        );
    }

    /// Record A's capsule with its header rewritten to say record B: the binding MAC
    /// (keyed by A's DEK) fails. The manifest check that backs it up is tested in
    /// `crate::tests`.
    #[test]
    fn a_capsule_moved_to_another_record_is_detected() {
        let f = fixture();
        let capsule = wrap(f.clinic.public_params(), &f.policy, &dek(1), A, 1).unwrap();
        let mut forged = capsule.clone();
        forged[5..37].copy_from_slice(&parse_record_id(B).unwrap());
        assert_eq!(inspect(&forged).unwrap().record_id, B);
        assert_eq!(
            unwrap(&f.doctor, &forged, B, 1),
            Err(CapsuleError::Tampered)
        );
        let mut bumped = capsule.clone();
        bumped[40] = 2;
        assert_eq!(
            unwrap(&f.doctor, &bumped, A, 2),
            Err(CapsuleError::Tampered)
        );
    }

    #[test]
    fn any_changed_byte_is_refused() {
        let f = fixture();
        let capsule = wrap(f.clinic.public_params(), &f.policy, &dek(1), A, 1).unwrap();
        // Bytes of the header that are compared first give their own errors; every
        // other byte (part header, abe ciphertext, binding) gives some error.
        for pos in (HEADER_SIZE..capsule.len())
            .step_by(37)
            .chain([capsule.len() - 1])
        {
            let mut bad = capsule.clone();
            bad[pos] ^= 0x04;
            assert!(unwrap(&f.doctor, &bad, A, 1).is_err(), "byte {pos}");
        }
        // The binding alone.
        let mut bad = capsule.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(unwrap(&f.doctor, &bad, A, 1), Err(CapsuleError::Tampered));
    }

    #[test]
    fn bad_structure_is_typed() {
        let f = fixture();
        let capsule = wrap(f.clinic.public_params(), &f.policy, &dek(1), A, 1).unwrap();
        let err = |b: &[u8]| unwrap(&f.doctor, b, A, 1).unwrap_err();
        assert!(matches!(err(b""), CapsuleError::BadHeader(_)));
        assert!(matches!(err(b"MWRK"), CapsuleError::BadHeader(_)));
        assert!(matches!(err(b"%PDF"), CapsuleError::BadHeader(_)));
        let mut v = capsule.clone();
        v[4] = 7;
        assert_eq!(err(&v), CapsuleError::UnsupportedVersion { found: 7 });
        assert!(matches!(
            err(&capsule[..capsule.len() - 1]),
            CapsuleError::BadHeader(_)
        ));
        assert!(matches!(
            err(&capsule[..HEADER_SIZE + 10]),
            CapsuleError::BadHeader(_)
        ));
        let mut longer = capsule.clone();
        longer.push(0);
        assert!(matches!(err(&longer), CapsuleError::BadHeader(_)));
        let mut zero = capsule.clone();
        zero[41..43].copy_from_slice(&0u16.to_be_bytes());
        assert!(matches!(err(&zero), CapsuleError::BadHeader(_)));
        let mut many = capsule.clone();
        many[41..43].copy_from_slice(&2u16.to_be_bytes());
        assert!(matches!(err(&many), CapsuleError::BadHeader(_)));
        let mut huge_part = capsule.clone();
        huge_part[75..79].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(err(&huge_part), CapsuleError::BadHeader(_)));
    }

    #[test]
    fn a_second_part_for_the_same_authority_is_refused() {
        let f = fixture();
        let capsule = wrap(f.clinic.public_params(), &f.policy, &dek(1), A, 1).unwrap();
        let part = &capsule[HEADER_SIZE..capsule.len() - MAC_SIZE];
        let mut two = capsule[..HEADER_SIZE].to_vec();
        two[41..43].copy_from_slice(&2u16.to_be_bytes());
        two.extend_from_slice(part);
        two.extend_from_slice(part);
        two.extend_from_slice(&capsule[capsule.len() - MAC_SIZE..]);
        assert!(matches!(
            unwrap(&f.doctor, &two, A, 1),
            Err(CapsuleError::BadHeader("two parts name the same authority"))
        ));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn unwrapping_random_bytes_never_panics(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..800),
            keep_header in proptest::bool::ANY,
        ) {
            // One fixture for all cases: issuing keys is the slow part.
            static F: std::sync::OnceLock<(Vec<u8>, UserKey)> = std::sync::OnceLock::new();
            let (capsule, key) = F.get_or_init(|| {
                let f = fixture();
                let c = wrap(f.clinic.public_params(), &f.policy, &dek(1), A, 1).unwrap();
                (c, f.doctor)
            });
            let input = if keep_header {
                [&capsule[..HEADER_SIZE + 36], &bytes[..]].concat()
            } else {
                bytes
            };
            // Only a panic fails this property: any Ok or Err is a fine answer.
            let _ = unwrap(key, &input, A, 1);
            let _ = inspect(&input);
        }
    }
}
