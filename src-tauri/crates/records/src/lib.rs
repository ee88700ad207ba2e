//! medwallet records: the record format and the IPFS node that stores it.
//!
//! A record version is three objects on IPFS, each in its own versioned wire format
//! (byte by byte in `FORMAT.md`):
//!
//! - [`stream`]: the content, encrypted in 64 KiB chunks (STREAM with AES-256-GCM) under
//!   a fresh data key (DEK);
//! - [`manifest`]: the metadata (title, category, date, author, size, content CID, ...),
//!   sealed under the same DEK, bound to the record id and version;
//! - [`capsule`]: the DEK wrapped with CP-ABE ([`medwallet_abe`]) under the record's
//!   sharing policy, bound to the record id and version.
//!
//! Sharing adds [`issued_key`]: an attribute key sealed to its holder with HPKE.
//!
//! [`cid`] computes, streaming, the CID an IPFS node gives each object, so every CID a
//! node answers is checked, and [`ipfs`] (feature `ipfs`, on by default) talks to the
//! node over its Kubo RPC API, with reqwest and the TLS and credentials of
//! `medwallet-net` (without the feature, no HTTP stack is built). Nothing here panics on outside input: decoders return typed errors, and each
//! has a property test and a fuzz target (`fuzz/`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod capsule;
pub mod cid;
#[cfg(feature = "ipfs")]
pub mod ipfs;
pub mod issued_key;
mod keys;
pub mod manifest;
mod record_id;
pub mod stream;

pub use capsule::CapsuleError;
pub use cid::{cid_of, Cid, CidBuilder, CidError};
#[cfg(feature = "ipfs")]
pub use ipfs::{IpfsError, IpfsNode, NodeInfo};
pub use issued_key::{IssuedKey, IssuedKeyError, IssuerNote};
pub use manifest::{Manifest, ManifestError};
pub use record_id::{format_record_id, parse_record_id, RECORD_ID_LEN};
pub use stream::{Decrypted, Encrypted, StreamError, CHUNK_SIZE};

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;

    use medwallet_abe::{DataKey, MasterKey, Policy};

    use crate::manifest::tests::{sample, ID};
    use crate::{capsule, manifest, stream, CapsuleError, ManifestError};

    /// The whole record with two DEKs: a capsule moved from record A to record B with a
    /// header forged by someone who can read A (so its binding MAC is valid) yields A's
    /// DEK, and B's manifest then refuses to open.
    #[test]
    fn a_forged_capsule_from_another_record_does_not_open_the_manifest() {
        let mut rng = crate::keys::SystemRng::default();
        let clinic = MasterKey::from_seed(&[5; 32], "clinic").unwrap();
        let policy = Policy::parse("role:doctor").unwrap();
        let doctor = clinic.issue_key(&["role:doctor"], &mut rng).unwrap();
        let (dek_a, dek_b) = (DataKey::from_bytes([1; 32]), DataKey::from_bytes([2; 32]));
        let id_b = format!("0x{}", "bb".repeat(32));

        // Record B: content, manifest and capsule under DEK B.
        let mut content = Vec::new();
        let enc = stream::encrypt(
            &dek_b,
            &b"B's lab result"[..],
            &mut content,
            &mut |_| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        let mut m = sample();
        m.record_id = id_b.clone();
        m.size = 14;
        m.content_chunks = 1;
        m.content_cid = enc.cid.to_string();
        let manifest_b = manifest::seal(&dek_b, &m).unwrap();

        // An attacker who reads record A re-wraps A's DEK as a capsule "for B": a valid
        // capsule in every byte, binding MAC included (it is keyed by the DEK inside).
        let forged = capsule::wrap(clinic.public_params(), &policy, &dek_a, &id_b, 1).unwrap();
        let got = capsule::unwrap(&doctor, &forged, &id_b, 1).unwrap();
        assert_eq!(got, dek_a);
        // B's manifest refuses the wrong DEK, and so does B's content.
        assert_eq!(
            manifest::open(&got, &manifest_b, &id_b, 1),
            Err(ManifestError::WrongKeyOrTampered)
        );
        assert!(matches!(
            stream::decrypt(&got, &content[..], Vec::new()),
            Err(stream::StreamError::WrongKey)
        ));

        // Without A's DEK, rewriting A's capsule header to say B fails the binding.
        let capsule_a = capsule::wrap(clinic.public_params(), &policy, &dek_a, ID, 1).unwrap();
        let mut moved = capsule_a.clone();
        moved[5..37].copy_from_slice(&crate::parse_record_id(&id_b).unwrap());
        assert_eq!(
            capsule::unwrap(&doctor, &moved, &id_b, 1),
            Err(CapsuleError::Tampered)
        );

        // The genuine capsule of B opens B.
        let capsule_b = capsule::wrap(clinic.public_params(), &policy, &dek_b, &id_b, 1).unwrap();
        let dek = capsule::unwrap(&doctor, &capsule_b, &id_b, 1).unwrap();
        assert_eq!(manifest::open(&dek, &manifest_b, &id_b, 1).unwrap(), m);
    }
}
