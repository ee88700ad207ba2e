//! The check-in code's ledger key: a secp256k1 key carried in the code a patient shows,
//! whose signature lets the clinic that read the code redeem it (`redeemCheckIn`).

use alloy::primitives::{keccak256, Address, Signature, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;

use crate::LedgerError;

/// The digest `redeemCheckIn` recovers the code's address from:
/// `keccak256(abi.encode(keccak256("medwallet/v1/check-in"), chain id, contract, code,
/// clinic))`. It names the clinic (the transaction's sender), so a signature read from a
/// pending transaction redeems nothing for anyone else, and the chain and contract, so
/// it is good on one ledger only.
pub fn check_in_digest(chain_id: u64, contract: Address, code: Address, clinic: Address) -> B256 {
    let mut words = Vec::with_capacity(5 * 32);
    words.extend_from_slice(keccak256(b"medwallet/v1/check-in").as_slice());
    words.extend_from_slice(&U256::from(chain_id).to_be_bytes::<32>());
    for address in [contract, code, clinic] {
        words.extend_from_slice(address.into_word().as_slice());
    }
    keccak256(words)
}

/// A check-in code's ledger key.
pub struct CheckInKey(PrivateKeySigner);

impl std::fmt::Debug for CheckInKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CheckInKey").field(&self.address()).finish()
    }
}

impl CheckInKey {
    /// The key with secret scalar `secret` (refused if it is not a valid scalar).
    pub fn from_bytes(secret: &[u8; 32]) -> Result<Self, LedgerError> {
        PrivateKeySigner::from_bytes(&B256::from(*secret))
            .map(Self)
            .map_err(|e| LedgerError::Signer(e.to_string()))
    }

    /// The code's address: what the patient offers and grants to.
    pub fn address(&self) -> Address {
        self.0.address()
    }

    /// Signs the redemption of this code by `clinic`.
    pub fn sign_redemption(
        &self,
        chain_id: u64,
        contract: Address,
        clinic: Address,
    ) -> Result<Signature, LedgerError> {
        self.0
            .sign_hash_sync(&check_in_digest(chain_id, contract, self.address(), clinic))
            .map_err(|e| LedgerError::Signer(e.to_string()))
    }
}
