//! Quick unlock: the vault key kept in the OS keyring (Secret Service on Linux) after the user
//! opts in, so that unlocking does not need the passphrase while the OS session is unlocked.
//!
//! Uses `keyring-core` (the API of keyring 4.x) with an explicit store instead of the global
//! default store, so that tests and several vaults in one process do not interfere.
//! Every call blocks on D-Bus; the vault calls them from a blocking thread.

use std::sync::{Arc, Mutex};

use keyring_core::api::CredentialStore;
use keyring_core::{Entry, Error as KeyringError};
use zeroize::Zeroizing;

use crate::error::{Result, VaultError};

/// The keyring "service" under which vault keys are stored (the user is the wallet id).
pub const KEYRING_SERVICE: &str = "medwallet-vault";

#[derive(Debug)]
enum Backend {
    /// The platform store, connected on first use and again after a failure (the keyring
    /// daemon may start after the app).
    Platform(Mutex<Option<Arc<CredentialStore>>>),
    /// A store chosen by the caller (e.g. `keyring_core::mock::Store` in tests).
    Custom(Arc<CredentialStore>),
    /// No keyring: every quick-unlock call reports it as unavailable.
    Unavailable(String),
}

/// Where quick unlock keeps vault keys. Cheap to clone.
#[derive(Clone, Debug)]
pub struct QuickUnlockStore {
    backend: Arc<Backend>,
    service: String,
}

impl QuickUnlockStore {
    /// The OS keyring: the Secret Service (GNOME Keyring, KWallet) on Linux and BSD. Other
    /// platforms report quick unlock as unavailable until their store is wired in.
    pub fn platform() -> Self {
        Self {
            backend: Arc::new(Backend::Platform(Mutex::new(None))),
            service: KEYRING_SERVICE.to_owned(),
        }
    }

    /// A caller-chosen keyring-core store, e.g. `keyring_core::mock::Store::new()?`.
    pub fn with_store(store: Arc<CredentialStore>) -> Self {
        Self {
            backend: Arc::new(Backend::Custom(store)),
            service: KEYRING_SERVICE.to_owned(),
        }
    }

    /// No keyring at all (quick unlock turned off by policy, or headless use).
    pub fn unavailable(reason: &str) -> Self {
        Self {
            backend: Arc::new(Backend::Unavailable(reason.to_owned())),
            service: KEYRING_SERVICE.to_owned(),
        }
    }

    /// Uses another service name (isolates tests that share a real keyring).
    pub fn with_service(mut self, service: &str) -> Self {
        self.service = service.to_owned();
        self
    }

    /// Connects if needed; `Err(KeyringUnavailable)` says why quick unlock cannot be offered.
    /// Blocking.
    pub fn check_available(&self) -> Result<()> {
        self.store().map(|_| ())
    }

    fn store(&self) -> Result<Arc<CredentialStore>> {
        match &*self.backend {
            Backend::Custom(s) => Ok(s.clone()),
            Backend::Unavailable(why) => Err(VaultError::KeyringUnavailable(why.clone())),
            Backend::Platform(cell) => {
                let mut guard = cell
                    .lock()
                    .map_err(|_| VaultError::KeyringUnavailable("keyring lock poisoned".into()))?;
                if let Some(s) = guard.as_ref() {
                    return Ok(s.clone());
                }
                let s = connect_platform()?;
                *guard = Some(s.clone());
                Ok(s)
            }
        }
    }

    fn entry(&self, wallet_id: &str) -> Result<Entry> {
        let store = self.store()?;
        Entry::new_in_store(&store, &self.service, wallet_id).map_err(unavailable)
    }

    /// Saves `vault_key` for `wallet_id`, replacing any previous one. Blocking.
    pub(crate) fn save(&self, wallet_id: &str, vault_key: &[u8; 32]) -> Result<()> {
        self.entry(wallet_id)?
            .set_secret(vault_key)
            .map_err(unavailable)
    }

    /// The saved vault key, `None` if there is none. Blocking.
    pub(crate) fn load(&self, wallet_id: &str) -> Result<Option<Zeroizing<[u8; 32]>>> {
        match self.entry(wallet_id)?.get_secret() {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                let mut key = Zeroizing::new([0u8; 32]);
                if bytes.len() != key.len() {
                    // Not something we wrote: treat like a key that no longer fits.
                    return Err(VaultError::QuickUnlockStale);
                }
                key.copy_from_slice(&bytes);
                Ok(Some(key))
            }
            Err(KeyringError::NoEntry) => Ok(None),
            Err(KeyringError::BadEncoding(_)) | Err(KeyringError::BadDataFormat(_, _)) => {
                Err(VaultError::QuickUnlockStale)
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    /// Deletes the saved key; no key is fine. Blocking.
    pub(crate) fn delete(&self, wallet_id: &str) -> Result<()> {
        match self.entry(wallet_id)?.delete_credential() {
            Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

fn unavailable(e: KeyringError) -> VaultError {
    VaultError::KeyringUnavailable(e.to_string())
}

#[cfg(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
))]
fn connect_platform() -> Result<Arc<CredentialStore>> {
    let store = zbus_secret_service_keyring_store::Store::new().map_err(unavailable)?;
    Ok(store)
}

#[cfg(not(all(
    unix,
    not(any(target_os = "macos", target_os = "ios", target_os = "android"))
)))]
fn connect_platform() -> Result<Arc<CredentialStore>> {
    Err(VaultError::KeyringUnavailable(
        "no keyring store is wired in for this platform yet".into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_store_round_trip_and_delete() {
        let q = QuickUnlockStore::with_store(keyring_core::mock::Store::new().unwrap());
        assert!(q.load("w1").unwrap().is_none());
        q.save("w1", &[5u8; 32]).unwrap();
        assert_eq!(*q.load("w1").unwrap().unwrap(), [5u8; 32]);
        q.delete("w1").unwrap();
        assert!(q.load("w1").unwrap().is_none());
        q.delete("w1").unwrap();
    }

    #[test]
    fn unavailable_store_is_typed() {
        let q = QuickUnlockStore::unavailable("no D-Bus session");
        assert!(matches!(
            q.save("w1", &[0u8; 32]),
            Err(VaultError::KeyringUnavailable(ref m)) if m.contains("D-Bus")
        ));
        assert!(matches!(
            q.check_available(),
            Err(VaultError::KeyringUnavailable(_))
        ));
    }
}
