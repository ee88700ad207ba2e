//! Every key of a wallet, derived from its seed with HKDF-SHA256 and one label per purpose.
//!
//! Domain separation by label means that no two purposes ever share key material, and that a
//! future purpose can be added with a new label without changing existing keys: the same seed
//! restored from the Emergency Kit always gives the same keys and the same address.

use hpke::{Deserializable, Kem as _, Serializable};
use k256::elliptic_curve::sec1::ToEncodedPoint;
use ring::hkdf;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use sha3::{Digest, Keccak256};
use zeroize::Zeroizing;

use crate::error::{Result, VaultError};
use crate::identity::{PublicIdentity, Role};
use crate::seed::Seed;

/// HKDF label of the Ed25519 signing key.
pub const LABEL_ED25519: &str = "medwallet/v1/ed25519-signing";
/// HKDF label of the X25519 HPKE key (the derived bytes are the RFC 9180 `DeriveKeyPair` ikm).
pub const LABEL_X25519: &str = "medwallet/v1/x25519-hpke";
/// HKDF label of the secp256k1 ledger account key (followed by a 4-byte retry counter).
pub const LABEL_SECP256K1: &str = "medwallet/v1/secp256k1-ledger";
/// HKDF label of the seed of the wallet's own CP-ABE authority (patients and clinics).
pub const LABEL_ABE_AUTHORITY: &str = "medwallet/v1/abe-authority-seed";
/// HKDF label of the key that seals this device's record index (data keys, manifests).
pub const LABEL_LOCAL_RECORDS: &str = "medwallet/v1/local-records";

/// HKDF-Extract salt. The seed is already uniform, so a fixed, public salt is enough; it only
/// separates medwallet's derivations from any other use of the same bytes.
const HKDF_SALT: &[u8] = b"medwallet/v1/hkdf-extract";

/// Bound on the secp256k1 retry counter. A 32-byte HKDF output is out of range with
/// probability about 2^-128, so even one retry will never be seen in practice.
const MAX_SECP256K1_TRIES: u32 = 16;

/// The HPKE KEM wallets use: DHKEM(X25519, HKDF-SHA256).
pub type HpkeKem = hpke::kem::X25519HkdfSha256;
/// The HPKE KDF wallets use: HKDF-SHA256.
pub type HpkeKdf = hpke::kdf::HkdfSha256;
/// The HPKE AEAD wallets use: AES-256-GCM.
pub type HpkeAead = hpke::aead::AesGcm256;
/// The wallet's HPKE private key type.
pub type HpkePrivateKey = <HpkeKem as hpke::Kem>::PrivateKey;
/// The HPKE public key type.
pub type HpkePublicKey = <HpkeKem as hpke::Kem>::PublicKey;

struct Len32;
impl hkdf::KeyType for Len32 {
    fn len(&self) -> usize {
        32
    }
}

/// HKDF-SHA256(seed, salt, info = concatenation of `info`) -> 32 bytes.
fn hkdf32(seed: &Seed, info: &[&[u8]]) -> Result<Zeroizing<[u8; 32]>> {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, HKDF_SALT).extract(seed.as_bytes());
    let okm = prk
        .expand(info, Len32)
        .map_err(|_| VaultError::Crypto("HKDF expand"))?;
    let mut out = Zeroizing::new([0u8; 32]);
    okm.fill(out.as_mut())
        .map_err(|_| VaultError::Crypto("HKDF fill"))?;
    Ok(out)
}

/// Every secret key of a wallet, in memory only while it is unlocked.
///
/// Private key bytes live in `Zeroizing` buffers and are wiped on drop. Library key objects
/// (ring's `Ed25519KeyPair`, hpke's private key) are rebuilt on each use and dropped at once,
/// because not all of them wipe themselves. Not `Clone`; `Debug` is redacted.
pub struct WalletKeys {
    role: Role,
    ed25519_seed: Zeroizing<[u8; 32]>,
    ed25519_public: [u8; 32],
    x25519_secret: Zeroizing<[u8; 32]>,
    x25519_public: [u8; 32],
    ledger_secret: Zeroizing<[u8; 32]>,
    address: String,
    abe_authority_seed: Option<Zeroizing<[u8; 32]>>,
    local_records_key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for WalletKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalletKeys")
            .field("role", &self.role)
            .field("address", &self.address)
            .field("secrets", &"[redacted]")
            .finish()
    }
}

impl WalletKeys {
    /// Derives every key of a wallet of `role` from `seed`.
    pub fn derive(seed: &Seed, role: Role) -> Result<Self> {
        // Ed25519: the 32-byte RFC 8032 private key is the HKDF output itself.
        let ed25519_seed = hkdf32(seed, &[LABEL_ED25519.as_bytes()])?;
        let ed_pair = Ed25519KeyPair::from_seed_unchecked(ed25519_seed.as_ref())
            .map_err(|_| VaultError::Crypto("Ed25519 key from seed"))?;
        let mut ed25519_public = [0u8; 32];
        ed25519_public.copy_from_slice(ed_pair.public_key().as_ref());

        // X25519: RFC 9180 DeriveKeyPair with our HKDF output as ikm.
        let ikm = hkdf32(seed, &[LABEL_X25519.as_bytes()])?;
        let (sk, pk) = HpkeKem::derive_keypair(ikm.as_ref());
        let mut x25519_secret = Zeroizing::new([0u8; 32]);
        x25519_secret.copy_from_slice(&sk.to_bytes());
        drop(sk);
        let mut x25519_public = [0u8; 32];
        x25519_public.copy_from_slice(&pk.to_bytes());

        let (ledger_secret, address) = derive_ledger_account(seed)?;

        let abe_authority_seed = if role.has_abe_authority() {
            Some(hkdf32(seed, &[LABEL_ABE_AUTHORITY.as_bytes()])?)
        } else {
            None
        };

        let local_records_key = hkdf32(seed, &[LABEL_LOCAL_RECORDS.as_bytes()])?;

        Ok(Self {
            role,
            ed25519_seed,
            ed25519_public,
            x25519_secret,
            x25519_public,
            ledger_secret,
            address,
            abe_authority_seed,
            local_records_key,
        })
    }

    /// The role these keys were derived for.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The public identity of these keys under `display_name`.
    pub fn public_identity(&self, display_name: &str) -> PublicIdentity {
        PublicIdentity {
            address: self.address.clone(),
            ed25519_public: hex::encode(self.ed25519_public),
            x25519_public: hex::encode(self.x25519_public),
            role: self.role,
            display_name: display_name.to_owned(),
        }
    }

    /// Signs `message` with the wallet's Ed25519 key (64-byte signature).
    pub fn sign(&self, message: &[u8]) -> Result<[u8; 64]> {
        let pair = Ed25519KeyPair::from_seed_unchecked(self.ed25519_seed.as_ref())
            .map_err(|_| VaultError::Crypto("Ed25519 key from seed"))?;
        let mut sig = [0u8; 64];
        sig.copy_from_slice(pair.sign(message).as_ref());
        Ok(sig)
    }

    /// The Ed25519 verification key.
    pub fn ed25519_public_key(&self) -> &[u8; 32] {
        &self.ed25519_public
    }

    /// The X25519 HPKE public key.
    pub fn x25519_public_key(&self) -> &[u8; 32] {
        &self.x25519_public
    }

    /// The HPKE private key, for callers that run their own HPKE contexts. Drop it promptly.
    pub fn hpke_private_key(&self) -> Result<HpkePrivateKey> {
        HpkePrivateKey::from_bytes(self.x25519_secret.as_ref())
            .map_err(|_| VaultError::Crypto("HPKE private key"))
    }

    /// Opens a single-shot HPKE (base mode) message sent to this wallet with [`hpke_seal`].
    pub fn hpke_open(
        &self,
        encapped_key: &[u8],
        ciphertext: &[u8],
        info: &[u8],
        aad: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>> {
        hpke_open(&self.x25519_secret, encapped_key, ciphertext, info, aad)
    }

    /// The X25519 HPKE private key bytes, for a use case that outlives these keys (the
    /// records owner, itself zeroized on drop). Keep it in a `Zeroizing` buffer.
    pub fn x25519_secret(&self) -> &[u8; 32] {
        &self.x25519_secret
    }

    /// The secp256k1 private key of the ledger account (32 bytes, big-endian scalar).
    pub fn ledger_secret_key(&self) -> &[u8; 32] {
        &self.ledger_secret
    }

    /// The ledger address, EIP-55 checksummed.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The 32-byte seed of the wallet's CP-ABE authority; `None` for doctors.
    pub fn abe_authority_seed(&self) -> Option<&[u8; 32]> {
        self.abe_authority_seed.as_deref()
    }

    /// The key that seals the wallet's record index on this device (the records' data keys
    /// and manifests in `records.sqlite`). Derived, so a restored wallet reads its index.
    pub fn local_records_key(&self) -> &[u8; 32] {
        &self.local_records_key
    }
}

/// HKDF with a counter until the output is a valid secp256k1 scalar (1..n-1).
fn derive_ledger_account(seed: &Seed) -> Result<(Zeroizing<[u8; 32]>, String)> {
    for counter in 0..MAX_SECP256K1_TRIES {
        let okm = hkdf32(seed, &[LABEL_SECP256K1.as_bytes(), &counter.to_be_bytes()])?;
        if let Ok(sk) = k256::SecretKey::from_slice(okm.as_ref()) {
            let address = ethereum_address(&sk.public_key());
            return Ok((okm, address));
        }
    }
    Err(VaultError::Crypto("no valid secp256k1 key after retries"))
}

/// Keccak-256 of the 64-byte uncompressed public key, last 20 bytes, EIP-55 text.
pub(crate) fn ethereum_address(pk: &k256::PublicKey) -> String {
    let point = pk.to_encoded_point(false);
    let bytes = point.as_bytes();
    // Uncompressed SEC1 is 0x04 || X || Y; the address hashes X || Y.
    let hash = Keccak256::digest(bytes.get(1..).unwrap_or_default());
    eip55(&hash[12..32])
}

/// EIP-55 mixed-case checksum encoding of a 20-byte address.
pub fn eip55(address: &[u8]) -> String {
    let lower = hex::encode(address);
    let hash = Keccak256::digest(lower.as_bytes());
    let mut out = String::with_capacity(2 + lower.len());
    out.push_str("0x");
    for (i, c) in lower.chars().enumerate() {
        let nibble = (hash[i / 2] >> (if i % 2 == 0 { 4 } else { 0 })) & 0x0f;
        if c.is_ascii_alphabetic() && nibble >= 8 {
            out.push(c.to_ascii_uppercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Verifies an Ed25519 signature made by [`WalletKeys::sign`].
pub fn verify_ed25519(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    UnparsedPublicKey::new(&ED25519, public_key)
        .verify(message, signature)
        .is_ok()
}

/// Opens a single-shot HPKE (base mode) message sealed with [`hpke_seal`] to the wallet
/// whose X25519 private key is `private_key`.
pub fn hpke_open(
    private_key: &[u8; 32],
    encapped_key: &[u8],
    ciphertext: &[u8],
    info: &[u8],
    aad: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let sk = HpkePrivateKey::from_bytes(private_key)
        .map_err(|_| VaultError::Crypto("HPKE private key"))?;
    let enc = <HpkeKem as hpke::Kem>::EncappedKey::from_bytes(encapped_key)
        .map_err(|_| VaultError::Crypto("HPKE encapsulated key is malformed"))?;
    let pt = hpke::single_shot_open::<HpkeAead, HpkeKdf, HpkeKem>(
        &hpke::OpModeR::Base,
        &sk,
        &enc,
        info,
        ciphertext,
        aad,
    )
    .map_err(|_| VaultError::Crypto("HPKE message does not open with this wallet's key"))?;
    Ok(Zeroizing::new(pt))
}

/// Seals `plaintext` to a wallet's X25519 public key (HPKE base mode, single shot).
/// Returns `(encapsulated_key, ciphertext)`.
pub fn hpke_seal(
    recipient_x25519_public: &[u8],
    info: &[u8],
    plaintext: &[u8],
    aad: &[u8],
) -> Result<(Vec<u8>, Vec<u8>)> {
    let pk = HpkePublicKey::from_bytes(recipient_x25519_public)
        .map_err(|_| VaultError::Crypto("recipient HPKE public key is malformed"))?;
    let (enc, ct) = hpke::single_shot_seal::<HpkeAead, HpkeKdf, HpkeKem>(
        &hpke::OpModeS::Base,
        &pk,
        info,
        plaintext,
        aad,
    )
    .map_err(|_| VaultError::Crypto("HPKE seal"))?;
    Ok((enc.to_bytes().to_vec(), ct))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed test seed: bytes 0x00, 0x01, ..., 0x1f.
    fn test_seed() -> Seed {
        let mut b = [0u8; 32];
        for (i, x) in b.iter_mut().enumerate() {
            *x = i as u8;
        }
        Seed::from_bytes(b)
    }

    #[test]
    fn eip55_matches_the_spec_examples() {
        for s in [
            "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
            "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
            "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB",
            "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb",
        ] {
            let raw = hex::decode(s[2..].to_lowercase()).unwrap();
            assert_eq!(eip55(&raw), s);
        }
    }

    #[test]
    fn address_of_private_key_one_is_the_known_one() {
        let mut one = [0u8; 32];
        one[31] = 1;
        let sk = k256::SecretKey::from_slice(&one).unwrap();
        assert_eq!(
            ethereum_address(&sk.public_key()),
            "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
        );
    }

    #[test]
    fn derivation_is_deterministic_and_role_dependent() {
        let a = WalletKeys::derive(&test_seed(), Role::Patient).unwrap();
        let b = WalletKeys::derive(&test_seed(), Role::Doctor).unwrap();
        assert_eq!(a.address(), b.address());
        assert_eq!(a.ed25519_public_key(), b.ed25519_public_key());
        assert!(a.abe_authority_seed().is_some());
        assert!(b.abe_authority_seed().is_none());
        // Distinct labels give distinct keys.
        assert_ne!(a.ledger_secret_key(), a.abe_authority_seed().unwrap());
        assert_ne!(a.local_records_key(), a.abe_authority_seed().unwrap());
        assert!(format!("{a:?}").contains("[redacted]"));
    }

    #[test]
    fn fixed_seed_gives_pinned_public_keys() {
        let k = WalletKeys::derive(&test_seed(), Role::Patient).unwrap();
        let id = k.public_identity("Test");
        // Computed once and pinned: a change here means every existing wallet would restore to
        // different keys. Ed25519, X25519 (RFC 9180 DeriveKeyPair), the ledger key and the ABE
        // seed were cross-checked with Python's `cryptography` + hmac, independently of this code.
        assert_eq!(id.address, PINNED_ADDRESS);
        assert_eq!(id.ed25519_public, PINNED_ED25519);
        assert_eq!(id.x25519_public, PINNED_X25519);
        assert_eq!(hex::encode(k.ledger_secret_key()), PINNED_LEDGER_SECRET);
        assert_eq!(
            hex::encode(k.abe_authority_seed().unwrap()),
            PINNED_ABE_SEED
        );
        assert_eq!(hex::encode(k.local_records_key()), PINNED_LOCAL_RECORDS_KEY);
    }

    const PINNED_ADDRESS: &str = "0x12A399670A6f4061028326f4c33eA307d7C56148";
    const PINNED_ED25519: &str = "bf2efb00d42bced3c386547483e07b2f4997ff5ba1e6630d8ca014b4fa6b6464";
    const PINNED_X25519: &str = "fd04c4c404132368dc9a0f5ebad72751e0ca9ac00dc947c0a0d699dc9d66c75f";
    const PINNED_LEDGER_SECRET: &str =
        "09457742d78246794121f9405edb1bbb9b50278334bbde7fe2c346ee16d8e9b7";
    // HKDF-SHA256(salt "medwallet/v1/hkdf-extract", ikm 00..1f, info LABEL_LOCAL_RECORDS), by
    // Python's hmac.
    const PINNED_LOCAL_RECORDS_KEY: &str =
        "a8f838ca020a29088455c5bbd4cb7dbc7622ac7dfd6cd79677091e8273a4cc69";
    const PINNED_ABE_SEED: &str =
        "fc6f449b23c7ccc8e1062b54d5c057090c3b3f0869336d3aeb2fab45f5ac8a9d";

    #[test]
    fn ed25519_sign_verify_with_derived_key() {
        let k = WalletKeys::derive(&test_seed(), Role::Doctor).unwrap();
        let sig = k.sign(b"record manifest").unwrap();
        assert!(verify_ed25519(
            k.ed25519_public_key(),
            b"record manifest",
            &sig
        ));
        assert!(!verify_ed25519(
            k.ed25519_public_key(),
            b"record manifesT",
            &sig
        ));
    }

    #[test]
    fn hpke_round_trip_with_derived_key() {
        let k = WalletKeys::derive(&test_seed(), Role::Clinic).unwrap();
        let (enc, ct) =
            hpke_seal(k.x25519_public_key(), b"info", b"attribute key", b"aad").unwrap();
        let pt = k.hpke_open(&enc, &ct, b"info", b"aad").unwrap();
        assert_eq!(pt.as_slice(), b"attribute key");
        assert!(k.hpke_open(&enc, &ct, b"info", b"other aad").is_err());
        // The private key's public half is the published key.
        let sk = k.hpke_private_key().unwrap();
        let pk = <HpkeKem as hpke::Kem>::sk_to_pk(&sk);
        assert_eq!(pk.to_bytes().as_slice(), k.x25519_public_key());
    }
}
