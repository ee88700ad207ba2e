//! The wallet seed: 256 random bits from which every key is derived.

use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

use crate::error::{Result, VaultError};

/// Length of the seed in bytes (256 bits).
pub const SEED_LEN: usize = 32;

/// The wallet's 256-bit master secret. Not `Clone`; zeroized on drop; `Debug` is redacted.
pub struct Seed(Zeroizing<[u8; SEED_LEN]>);

impl Seed {
    /// A fresh seed from the operating system's CSPRNG (ring `SystemRandom`).
    pub fn generate() -> Result<Self> {
        let mut bytes = Zeroizing::new([0u8; SEED_LEN]);
        fill_random(bytes.as_mut())?;
        Ok(Self(bytes))
    }

    /// A seed from known bytes (restore from the Emergency Kit, test vectors).
    pub fn from_bytes(bytes: [u8; SEED_LEN]) -> Self {
        let mut s = Zeroizing::new([0u8; SEED_LEN]);
        s.copy_from_slice(&bytes);
        // `bytes` was moved in by value; the caller's copy is theirs to wipe.
        Self(s)
    }

    /// The raw bytes. Keep any copy in a `Zeroizing`.
    pub fn as_bytes(&self) -> &[u8; SEED_LEN] {
        &self.0
    }
}

impl std::fmt::Debug for Seed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Seed([redacted])")
    }
}

/// Fills `buf` from ring's `SystemRandom` (getrandom on Linux).
pub(crate) fn fill_random(buf: &mut [u8]) -> Result<()> {
    SystemRandom::new()
        .fill(buf)
        .map_err(|_| VaultError::Crypto("the system random generator failed"))
}

/// `n` random bytes.
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    fill_random(&mut b)?;
    Ok(b)
}

/// A uniformly random integer in `0..bound` (rejection sampling, no modulo bias).
pub(crate) fn random_below(bound: u32) -> Result<u32> {
    if bound <= 1 {
        return Ok(0);
    }
    let zone = u32::MAX - (u32::MAX % bound);
    loop {
        let v = u32::from_le_bytes(random_bytes::<4>()?);
        if v < zone {
            return Ok(v % bound);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_seeds_differ_and_debug_is_redacted() {
        let a = Seed::generate().unwrap();
        let b = Seed::generate().unwrap();
        assert_ne!(a.as_bytes(), b.as_bytes());
        assert_eq!(format!("{a:?}"), "Seed([redacted])");
    }

    #[test]
    fn random_below_stays_in_range() {
        for _ in 0..200 {
            assert!(random_below(24).unwrap() < 24);
        }
        assert_eq!(random_below(1).unwrap(), 0);
    }
}
