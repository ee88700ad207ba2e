//! The public face of a wallet: safe to show, to log and to send over IPC.

use serde::{Deserialize, Serialize};

/// What the wallet is used for; it decides which keys are derived.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Holds their own records and is the ABE authority of their own domain.
    Patient,
    /// Receives attribute keys; no authority of their own.
    Doctor,
    /// Front desk; ABE authority for its staff attributes.
    Clinic,
}

impl Role {
    /// The stable text stored in the vault and bound into the associated data.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Doctor => "doctor",
            Role::Clinic => "clinic",
        }
    }

    /// Parses [`Role::as_str`] back.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "patient" => Some(Role::Patient),
            "doctor" => Some(Role::Doctor),
            "clinic" => Some(Role::Clinic),
            _ => None,
        }
    }

    /// Whether this role runs its own CP-ABE authority (patients and clinics do).
    pub fn has_abe_authority(self) -> bool {
        matches!(self, Role::Patient | Role::Clinic)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A wallet's public identity: what others need to address, verify and encrypt to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicIdentity {
    /// Ledger account, `0x` + 40 hex digits with the EIP-55 checksum capitalisation.
    pub address: String,
    /// Ed25519 signature verification key, 32 bytes as lowercase hex.
    pub ed25519_public: String,
    /// X25519 HPKE public key (RFC 9180 DHKEM(X25519, HKDF-SHA256)), 32 bytes as lowercase hex.
    pub x25519_public: String,
    /// The role the wallet was created for.
    pub role: Role,
    /// The name the user gave the wallet.
    pub display_name: String,
}

/// A wallet's public keys in a form two people can read to each other: SHA-256 over a
/// domain tag, the Ed25519 key and the X25519 key (32 bytes each), the first 16 bytes
/// (128 bits: a second preimage is out of reach even against many wallets at once) as
/// eight groups of four upper-case hex digits (`AB12 CD34 … 9F0E`). The same keys give
/// the same words on every device: the Keys page shows a wallet's own, the share dialog
/// the ones the ledger publishes for an address.
pub fn key_fingerprint(ed25519: &[u8; 32], x25519: &[u8; 32]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(b"medwallet/v1/key-fingerprint");
    ctx.update(ed25519);
    ctx.update(x25519);
    let digest = ctx.finish();
    digest.as_ref()[..16]
        .chunks(2)
        .map(|pair| format!("{:02X}{:02X}", pair[0], pair[1]))
        .collect::<Vec<_>>()
        .join(" ")
}

impl PublicIdentity {
    /// [`key_fingerprint`] of these keys; empty if a stored key is not 32 bytes of hex.
    pub fn fingerprint(&self) -> String {
        let key = |h: &str| -> Option<[u8; 32]> { hex::decode(h).ok()?.try_into().ok() };
        match (key(&self.ed25519_public), key(&self.x25519_public)) {
            (Some(ed), Some(x)) => key_fingerprint(&ed, &x),
            _ => String::new(),
        }
    }

    /// Canonical, unambiguous bytes of every field, bound into the AEAD associated data so
    /// that editing any identity column in the vault file is detected.
    pub(crate) fn canonical_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for field in [
            self.address.as_bytes(),
            self.ed25519_public.as_bytes(),
            self.x25519_public.as_bytes(),
            self.role.as_str().as_bytes(),
            self.display_name.as_bytes(),
        ] {
            push_len_prefixed(&mut out, field);
        }
        out
    }
}

/// Appends `field` with a 4-byte big-endian length, so concatenations cannot collide.
pub(crate) fn push_len_prefixed(out: &mut Vec<u8>, field: &[u8]) {
    // Fields here are short (names <= 100 chars, keys, labels); saturate rather than panic.
    let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(field);
}

/// Checks and normalises a display name: trimmed, 1..=100 characters, no control characters.
pub(crate) fn normalize_display_name(name: &str) -> Option<String> {
    let t = name.trim();
    let n = t.chars().count();
    if n == 0 || n > 100 || t.chars().any(char::is_control) {
        return None;
    }
    Some(t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_is_eight_groups_of_the_keys_hash() {
        let f = key_fingerprint(&[1; 32], &[2; 32]);
        assert_eq!(f.len(), 39);
        assert_eq!(f.split(' ').count(), 8);
        assert_ne!(f, key_fingerprint(&[1; 32], &[3; 32]));
        assert_ne!(f, key_fingerprint(&[2; 32], &[1; 32]), "the order counts");
    }

    #[test]
    fn role_round_trips_and_authority() {
        for r in [Role::Patient, Role::Doctor, Role::Clinic] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert!(Role::Patient.has_abe_authority());
        assert!(Role::Clinic.has_abe_authority());
        assert!(!Role::Doctor.has_abe_authority());
        assert_eq!(serde_json::to_string(&Role::Clinic).unwrap(), "\"clinic\"");
    }

    #[test]
    fn canonical_bytes_are_unambiguous() {
        let a = PublicIdentity {
            address: "0xab".into(),
            ed25519_public: "c".into(),
            x25519_public: "d".into(),
            role: Role::Doctor,
            display_name: "e".into(),
        };
        let mut b = a.clone();
        b.address = "0xa".into();
        b.ed25519_public = "bc".into();
        assert_ne!(a.canonical_bytes(), b.canonical_bytes());
    }

    #[test]
    fn display_names_are_checked() {
        assert_eq!(normalize_display_name("  Ada  ").as_deref(), Some("Ada"));
        assert!(normalize_display_name("   ").is_none());
        assert!(normalize_display_name("a\nb").is_none());
        assert!(normalize_display_name(&"x".repeat(101)).is_none());
    }
}
