#![no_main]
//! Unwrapping arbitrary bytes as a capsule never panics. Inputs are tried as they are
//! and after a genuine capsule header for the key's authority, so the fuzzer reaches
//! the abe decoder and the binding check.
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use medwallet_abe::{rand_core, MasterKey, UserKey};
use medwallet_records::capsule;

const ID: &str = "0x0101010101010101010101010101010101010101010101010101010101010101";

/// A deterministic generator: the fuzz target must not depend on OS randomness.
struct Counter(u64);
impl rand_core::RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        self.next_u64() as u32
    }
    fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for b in dest {
            *b = (self.next_u64() >> 56) as u8;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl rand_core::CryptoRng for Counter {}

fn key() -> &'static (UserKey, [u8; 32]) {
    static KEY: OnceLock<(UserKey, [u8; 32])> = OnceLock::new();
    KEY.get_or_init(|| {
        let msk = MasterKey::from_seed(&[3; 32], "fuzz").unwrap();
        let uk = msk.issue_key(&["a", "b"], &mut Counter(1)).unwrap();
        (uk, msk.public_params().authority_id())
    })
}

fuzz_target!(|data: &[u8]| {
    let (uk, authority) = key();
    let _ = capsule::inspect(data);
    let _ = capsule::unwrap(uk, data, ID, 1);
    let mut framed = b"MWRK\x01".to_vec();
    framed.extend_from_slice(&[1u8; 32]);
    framed.extend_from_slice(&1u32.to_be_bytes());
    framed.extend_from_slice(&1u16.to_be_bytes());
    framed.extend_from_slice(authority);
    framed.extend_from_slice(&(data.len().saturating_sub(32) as u32).to_be_bytes());
    framed.extend_from_slice(data);
    let _ = capsule::unwrap(uk, &framed, ID, 1);
});
