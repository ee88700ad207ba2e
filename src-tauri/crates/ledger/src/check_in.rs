//! Ids bound to their author, and the check-in code's signature.
//!
//! A record's id is `keccak256(abi.encode(author, nonce))` and a check-in's
//! `keccak256(abi.encode(patient, nonce))`, as the contract computes them
//! (`recordIdOf`, `checkInIdOf`): nobody can take an id another account is about to use.
//!
//! A check-in code is the patient's signature, with their ledger key, over a nonce and a
//! short expiry (`redeemCheckIn` recovers the patient's address from it). It names no
//! clinic and grants nothing: the clinic that redeems it asks, the patient answers.

use alloy::primitives::{keccak256, Address, Signature, B256, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::signers::SignerSync;

use crate::LedgerError;

fn word_of(address: Address) -> [u8; 32] {
    address.into_word().0
}

/// The id of the record `author` registers with `nonce` (the contract's `recordIdOf`).
pub fn record_id_of(author: Address, nonce: B256) -> B256 {
    let mut words = [0u8; 64];
    words[..32].copy_from_slice(&word_of(author));
    words[32..].copy_from_slice(nonce.as_slice());
    keccak256(words)
}

/// The id of the check-in `patient` signed with `nonce` (the contract's `checkInIdOf`).
pub fn check_in_id_of(patient: Address, nonce: B256) -> B256 {
    record_id_of(patient, nonce)
}

/// The digest a check-in code signs: `keccak256(abi.encode(keccak256("medwallet/v2/
/// check-in"), chain id, contract, patient, nonce, expiry))`. The chain and contract
/// make it good on one ledger only; the nonce makes it one check-in.
pub fn check_in_digest(
    chain_id: u64,
    contract: Address,
    patient: Address,
    nonce: B256,
    expiry: u64,
) -> B256 {
    let mut words = Vec::with_capacity(6 * 32);
    words.extend_from_slice(keccak256(b"medwallet/v2/check-in").as_slice());
    words.extend_from_slice(&U256::from(chain_id).to_be_bytes::<32>());
    words.extend_from_slice(&word_of(contract));
    words.extend_from_slice(&word_of(patient));
    words.extend_from_slice(nonce.as_slice());
    words.extend_from_slice(&U256::from(expiry).to_be_bytes::<32>());
    keccak256(words)
}

/// Signs check-in codes with a patient's ledger key.
pub struct CheckInSigner(PrivateKeySigner);

impl std::fmt::Debug for CheckInSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CheckInSigner")
            .field(&self.address())
            .finish()
    }
}

impl CheckInSigner {
    /// The key with secret scalar `secret` (refused if it is not a valid scalar).
    pub fn from_bytes(secret: &[u8; 32]) -> Result<Self, LedgerError> {
        PrivateKeySigner::from_bytes(&B256::from(*secret))
            .map(Self)
            .map_err(|e| LedgerError::Signer(e.to_string()))
    }

    /// The patient's address.
    pub fn address(&self) -> Address {
        self.0.address()
    }

    /// Signs the check-in `nonce`, redeemable until `expiry`, on one ledger.
    pub fn sign(
        &self,
        chain_id: u64,
        contract: Address,
        nonce: B256,
        expiry: u64,
    ) -> Result<Signature, LedgerError> {
        self.0
            .sign_hash_sync(&check_in_digest(
                chain_id,
                contract,
                self.address(),
                nonce,
                expiry,
            ))
            .map_err(|e| LedgerError::Signer(e.to_string()))
    }
}

/// The confirmation code both the desk and the patient see for a redeemed check-in
/// (`XXXX-XXXX`, 32 bits of `keccak256(check-in id, clinic, the redemption's block
/// hash)`): the patient allows only when it is the one the desk in front of them shows, so
/// a code redeemed by someone else, or a redemption a ledger node made up, is not mistaken
/// for theirs. The block hash is known only once the redemption is mined, so no address
/// can be ground in advance to match a code.
pub fn check_in_confirmation(check_in_id: B256, clinic: Address, block_hash: B256) -> String {
    let mut words = [0u8; 96];
    words[..32].copy_from_slice(check_in_id.as_slice());
    words[32..64].copy_from_slice(&word_of(clinic));
    words[64..].copy_from_slice(block_hash.as_slice());
    let h = keccak256(words);
    let hex = alloy::hex::encode_upper(&h[..4]);
    format!("{}-{}", &hex[..4], &hex[4..])
}

/// Who signed a check-in code (what `redeemCheckIn` will recover); `None` for a
/// signature that recovers no key.
pub fn check_in_signer(
    chain_id: u64,
    contract: Address,
    patient: Address,
    nonce: B256,
    expiry: u64,
    signature: &Signature,
) -> Option<Address> {
    signature
        .recover_address_from_prehash(&check_in_digest(chain_id, contract, patient, nonce, expiry))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_recovers_its_patient_and_nothing_else() {
        let signer = CheckInSigner::from_bytes(&[7u8; 32]).unwrap();
        let contract = Address::repeat_byte(0xcc);
        let nonce = B256::repeat_byte(1);
        let sig = signer.sign(31337, contract, nonce, 1_000).unwrap();
        let me = signer.address();
        assert_eq!(
            check_in_signer(31337, contract, me, nonce, 1_000, &sig),
            Some(me)
        );
        // Another chain, contract, nonce or expiry recovers someone else.
        for other in [
            check_in_signer(1, contract, me, nonce, 1_000, &sig),
            check_in_signer(31337, Address::ZERO, me, nonce, 1_000, &sig),
            check_in_signer(31337, contract, me, B256::ZERO, 1_000, &sig),
            check_in_signer(31337, contract, me, nonce, 1_001, &sig),
        ] {
            assert_ne!(other, Some(me));
        }
    }

    #[test]
    fn the_confirmation_names_the_check_in_the_clinic_and_the_block() {
        let (id, block) = (B256::repeat_byte(3), B256::repeat_byte(4));
        let a = check_in_confirmation(id, Address::repeat_byte(1), block);
        assert_eq!(a.len(), 9);
        assert_eq!(&a[4..5], "-");
        assert_ne!(a, check_in_confirmation(id, Address::repeat_byte(2), block));
        assert_ne!(
            a,
            check_in_confirmation(B256::ZERO, Address::repeat_byte(1), block)
        );
        assert_ne!(
            a,
            check_in_confirmation(id, Address::repeat_byte(1), B256::ZERO)
        );
    }

    #[test]
    fn ids_are_bound_to_their_author() {
        let nonce = B256::repeat_byte(9);
        let a = record_id_of(Address::repeat_byte(1), nonce);
        let b = record_id_of(Address::repeat_byte(2), nonce);
        assert_ne!(a, b);
        assert_eq!(a, record_id_of(Address::repeat_byte(1), nonce));
    }
}
