//! The unlocked wallet as the use cases see it: its keys ([`Owner`]), wiped on drop.

use medwallet_abe::rand_core::OsRng;
use medwallet_abe::{MasterKey, Policy, UserKey};
use zeroize::Zeroizing;

use crate::error::{Answer, CoreError};

/// What the records use cases need of the unlocked wallet. Secrets are wiped on drop.
pub struct Owner {
    /// The wallet's id in the vault (its records live under `records/<id>/`).
    pub wallet_id: String,
    /// Ledger address (EIP-55): the owner's `id:` attribute.
    pub address: String,
    /// The wallet's display name (default author).
    pub display_name: String,
    pub(crate) local_key: Zeroizing<[u8; 32]>,
    pub(crate) authority_seed: Option<Zeroizing<[u8; 32]>>,
    /// The secp256k1 key that signs the wallet's ledger transactions.
    pub(crate) ledger_key: Zeroizing<[u8; 32]>,
    /// The X25519 key that opens attribute keys issued to this wallet.
    pub(crate) hpke_secret: Zeroizing<[u8; 32]>,
    /// Its public half, published on the ledger.
    pub(crate) x25519_public: [u8; 32],
    /// The Ed25519 verification key, published on the ledger.
    pub(crate) ed25519_public: [u8; 32],
    /// The role the wallet was made for.
    pub(crate) role: medwallet_vault::Role,
}

impl std::fmt::Debug for Owner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Owner")
            .field("wallet_id", &self.wallet_id)
            .field("address", &self.address)
            .field("secrets", &"[redacted]")
            .finish()
    }
}

impl Owner {
    /// Collects what the records need from an unlocked wallet's keys.
    pub fn new(wallet_id: &str, display_name: &str, keys: &medwallet_vault::WalletKeys) -> Owner {
        Owner {
            wallet_id: wallet_id.to_owned(),
            address: keys.address().to_owned(),
            display_name: display_name.to_owned(),
            local_key: Zeroizing::new(*keys.local_records_key()),
            authority_seed: keys.abe_authority_seed().map(|s| Zeroizing::new(*s)),
            ledger_key: Zeroizing::new(*keys.ledger_secret_key()),
            hpke_secret: Zeroizing::new(*keys.x25519_secret()),
            x25519_public: *keys.x25519_public_key(),
            ed25519_public: *keys.ed25519_public_key(),
            role: keys.role(),
        }
    }

    /// The owner's `id:` attribute (lower-case address).
    pub(crate) fn id_attribute(&self) -> String {
        format!("id:{}", self.address.to_lowercase())
    }

    /// The wallet's own CP-ABE authority; only patients and clinics have one.
    pub(crate) fn authority(&self) -> Answer<MasterKey> {
        self.authority_at(1)
    }

    /// The wallet's authority at `epoch`. A patient's stays at 1 (its groups have their
    /// own epochs); a clinic moves to the next each time it revokes a staff key, so the
    /// revoked key opens nothing wrapped after. Epoch 1 keeps the label it always had.
    pub(crate) fn authority_at(&self, epoch: u32) -> Answer<MasterKey> {
        let seed = self
            .authority_seed
            .as_ref()
            .ok_or(CoreError::OnlyPatients)?;
        let address = self.address.to_lowercase();
        let label = match epoch {
            0 | 1 => format!("patient:{address}"),
            n => format!("patient:{address}#{n}"),
        };
        MasterKey::from_seed(seed, &label)
            .map_err(|e| CoreError::internal("deriving the wallet's authority", e))
    }

    /// The owner's default policy: only the owner.
    pub(crate) fn own_policy(&self) -> Answer<Policy> {
        Policy::parse(&self.id_attribute())
            .map_err(|e| CoreError::internal("the owner's policy", e))
    }

    /// The owner's own attribute key (`id:<owner>`), issued by its authority.
    pub(crate) fn own_key(&self) -> Answer<UserKey> {
        self.authority()?
            .issue_key(&[self.id_attribute()], &mut OsRng)
            .map_err(|e| CoreError::internal("issuing the owner's key", e))
    }
}
