//! Quick unlock against a real Secret Service (gnome-keyring over D-Bus). Run with:
//!
//! ```text
//! scripts/with-secret-service cargo test -p medwallet-vault --test keyring
//! ```
//!
//! Where no Secret Service can be reached these tests FAIL and say why: they never pass
//! without having talked to a real keyring.

use std::sync::Arc;

use keyring_core::api::CredentialStore;
use keyring_core::Entry;
use medwallet_vault::{NewWallet, QuickUnlockStore, Role, Vault, VaultError, VaultOptions};

const PASS: &str = "orbit lantern velvet quarry";

fn unique_service() -> String {
    let mut b = [0u8; 8];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut b).unwrap();
    format!("medwallet-vault-test-{}", hex::encode(b))
}

/// The platform keyring, or a failing test that explains how to get one.
fn require_secret_service(service: &str) -> QuickUnlockStore {
    let q = QuickUnlockStore::platform().with_service(service);
    if let Err(e) = q.check_available() {
        panic!(
            "No Secret Service is reachable, so the keyring tests cannot run ({e}). They need \
             gnome-keyring-daemon in a D-Bus session: run \
             `scripts/with-secret-service cargo test -p medwallet-vault --test keyring`."
        );
    }
    q
}

async fn vault_with(q: QuickUnlockStore, dir: &tempfile::TempDir) -> Vault {
    let opts = VaultOptions {
        quick_unlock: q,
        ..VaultOptions::insecure_fast_kdf_for_tests()
    };
    Vault::open_with(dir.path().join("vault.sqlite"), opts)
        .await
        .unwrap()
}

fn new_wallet() -> NewWallet<'static> {
    NewWallet {
        role: Role::Patient,
        display_name: "Ada",
        passphrase: PASS,
        accept_weak: false,
    }
}

fn direct_entry(service: &str, user: &str) -> Entry {
    let store: Arc<CredentialStore> = zbus_secret_service_keyring_store::Store::new().unwrap();
    Entry::new_in_store(&store, service, user).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn quick_unlock_round_trip_in_real_secret_service() {
    let service = unique_service();
    let q = require_secret_service(&service);
    let dir = tempfile::tempdir().unwrap();
    let vault = vault_with(q, &dir).await;
    let mut s = vault.create_wallet(new_wallet()).await.unwrap().session;
    let id = s.wallet_id().clone();

    vault.enable_quick_unlock(&mut s).await.unwrap();
    // The item really is in the Secret Service, under our service and the wallet id.
    let stored = direct_entry(&service, id.as_str()).get_secret().unwrap();
    assert_eq!(stored.len(), 32);

    let mut q = vault.quick_unlock(&id).await.unwrap();
    assert_eq!(q.identity(), s.identity());
    assert_eq!(
        q.keys().unwrap().ledger_secret_key(),
        s.keys().unwrap().ledger_secret_key()
    );

    vault.disable_quick_unlock(&id).await.unwrap();
    assert!(matches!(
        direct_entry(&service, id.as_str()).get_secret(),
        Err(keyring_core::Error::NoEntry)
    ));
    assert!(matches!(
        vault.quick_unlock(&id).await,
        Err(VaultError::QuickUnlockNotEnabled)
    ));
    // The passphrase still works.
    vault.unlock(&id, PASS).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn stale_key_in_secret_service_is_detected_and_removed() {
    let service = unique_service();
    let q = require_secret_service(&service);
    let dir = tempfile::tempdir().unwrap();
    let vault = vault_with(q, &dir).await;
    let mut s = vault.create_wallet(new_wallet()).await.unwrap().session;
    let id = s.wallet_id().clone();
    vault.enable_quick_unlock(&mut s).await.unwrap();

    // Another key under the same entry, as after replacing the vault file.
    direct_entry(&service, id.as_str())
        .set_secret(&[0x42u8; 32])
        .unwrap();
    assert!(matches!(
        vault.quick_unlock(&id).await,
        Err(VaultError::QuickUnlockStale)
    ));
    assert!(!vault.wallet(&id).await.unwrap().quick_unlock);
    assert!(matches!(
        direct_entry(&service, id.as_str()).get_secret(),
        Err(keyring_core::Error::NoEntry)
    ));

    // Deleting a wallet removes its keyring entry too.
    vault.enable_quick_unlock(&mut s).await.unwrap();
    vault.delete_wallet(&id, "Ada").await.unwrap();
    assert!(matches!(
        direct_entry(&service, id.as_str()).get_secret(),
        Err(keyring_core::Error::NoEntry)
    ));
}

/// Runs [`unavailable_child`] in a child process whose D-Bus address leads nowhere, so the
/// platform keyring is really unreachable there (an env change here would race other tests).
#[test]
fn unreachable_secret_service_is_reported_and_passphrase_still_works() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["--exact", "unavailable_child", "--ignored", "--nocapture"])
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/medwallet-no-bus",
        )
        .env("MEDWALLET_KEYRING_CHILD", "1")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child failed:\n{text}");
    assert!(text.contains("1 passed"), "child test did not run:\n{text}");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "run by unreachable_secret_service_is_reported_and_passphrase_still_works"]
async fn unavailable_child() {
    assert_eq!(
        std::env::var("MEDWALLET_KEYRING_CHILD").as_deref(),
        Ok("1"),
        "only meant to run as the child process"
    );
    let q = QuickUnlockStore::platform().with_service(&unique_service());
    assert!(matches!(
        q.check_available(),
        Err(VaultError::KeyringUnavailable(_))
    ));
    let dir = tempfile::tempdir().unwrap();
    let vault = vault_with(q, &dir).await;
    let mut s = vault.create_wallet(new_wallet()).await.unwrap().session;
    let id = s.wallet_id().clone();
    match vault.enable_quick_unlock(&mut s).await {
        Err(e @ VaultError::KeyringUnavailable(_)) => {
            assert!(e.to_string().contains("Unlock with your passphrase"), "{e}")
        }
        other => panic!("expected KeyringUnavailable, got {other:?}"),
    }
    assert!(!vault.wallet(&id).await.unwrap().quick_unlock);
    vault.unlock(&id, PASS).await.unwrap();
}
