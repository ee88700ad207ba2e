//! Sealing a record's data key under the wallet's local records key, for this device's
//! index: AES-256-GCM (ring), a random nonce, the record id and version as associated data
//! (a sealed key copied to another row does not open).

use medwallet_abe::DataKey;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};

const DOMAIN: &[u8] = b"medwallet/v1/local-dek\0";

/// Sealing or opening failed (a wrong key, another row's value, or altered bytes).
#[derive(Debug, thiserror::Error)]
#[error("the sealed data key does not open")]
pub struct SealError;

fn aad(record_id: &str, version: u32) -> Vec<u8> {
    let mut aad = DOMAIN.to_vec();
    aad.extend_from_slice(record_id.as_bytes());
    aad.push(0);
    aad.extend_from_slice(&version.to_be_bytes());
    aad
}

fn key(local_key: &[u8; 32]) -> Result<LessSafeKey, SealError> {
    Ok(LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, local_key).map_err(|_| SealError)?,
    ))
}

/// `nonce || ciphertext || tag`.
pub fn seal(
    local_key: &[u8; 32],
    record_id: &str,
    version: u32,
    dek: &DataKey,
) -> Result<Vec<u8>, SealError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| SealError)?;
    let mut body = dek.as_bytes().to_vec();
    key(local_key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(record_id, version)),
            &mut body,
        )
        .map_err(|_| SealError)?;
    let mut out = nonce.to_vec();
    out.append(&mut body);
    Ok(out)
}

/// Opens what [`seal`] made for the same record version.
pub fn open(
    local_key: &[u8; 32],
    record_id: &str,
    version: u32,
    sealed: &[u8],
) -> Result<DataKey, SealError> {
    if sealed.len() != NONCE_LEN + 32 + 16 {
        return Err(SealError);
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError)?;
    let mut body = zeroize::Zeroizing::new(body.to_vec());
    let plain = key(local_key)?
        .open_in_place(nonce, Aad::from(aad(record_id, version)), &mut body)
        .map_err(|_| SealError)?;
    let bytes: [u8; 32] = plain.try_into().map_err(|_| SealError)?;
    Ok(DataKey::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_bind_key_record_and_version() {
        let k = [7u8; 32];
        let dek = DataKey::from_bytes([9u8; 32]);
        let sealed = seal(&k, "0xab", 1, &dek).unwrap();
        assert_eq!(open(&k, "0xab", 1, &sealed).unwrap(), dek);
        assert!(open(&[8u8; 32], "0xab", 1, &sealed).is_err());
        assert!(open(&k, "0xac", 1, &sealed).is_err());
        assert!(open(&k, "0xab", 2, &sealed).is_err());
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 1;
            assert!(open(&k, "0xab", 1, &bad).is_err(), "byte {i}");
        }
        assert!(open(&k, "0xab", 1, &sealed[..10]).is_err());
    }
}
