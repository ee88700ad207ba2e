//! Integration tests of the vault file: create, unlock, restore, passphrase change, failure
//! delay, several wallets, quick unlock (mock keyring), and bad files (truncated, edited,
//! newer schema, foreign). Each test uses its own temporary directory.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use medwallet_vault::kdf::KdfParams;
use medwallet_vault::{
    ManualClock, NewWallet, QuickUnlockStore, RecoveryPhrase, Role, Vault, VaultError, VaultOptions,
};

const PASS: &str = "orbit lantern velvet quarry";
const PASS2: &str = "meadow copper falcon drizzle";

fn fast() -> VaultOptions {
    VaultOptions::insecure_fast_kdf_for_tests()
}

fn new<'a>(role: Role, name: &'a str, pass: &'a str) -> NewWallet<'a> {
    NewWallet {
        role,
        display_name: name,
        passphrase: pass,
        accept_weak: false,
    }
}

fn vault_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("vault.sqlite")
}

fn file_bytes(p: &Path) -> Vec<u8> {
    std::fs::read(p).unwrap()
}

#[tokio::test]
async fn create_unlock_and_keys_match() {
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::open_with(vault_path(&dir), fast()).await.unwrap();
    let created = vault
        .create_wallet(new(Role::Patient, "Ada", PASS))
        .await
        .unwrap();
    let mut s1 = created.session;
    let id = s1.wallet_id().clone();
    assert_eq!(created.kit.words().len(), 24);
    assert_eq!(created.kit.identity(), s1.identity());
    let addr = s1.identity().address.clone();
    assert!(addr.starts_with("0x") && addr.len() == 42);
    assert!(s1.keys().unwrap().abe_authority_seed().is_some());

    let mut s2 = vault.unlock(&id, PASS).await.unwrap();
    assert_eq!(s2.identity(), s1.identity());
    assert_eq!(
        s2.keys().unwrap().ledger_secret_key(),
        s1.keys().unwrap().ledger_secret_key()
    );

    let info = vault.wallet(&id).await.unwrap();
    assert_eq!(info.identity.display_name, "Ada");
    assert_eq!(info.kdf, KdfParams::insecure_for_tests());
    assert!(!info.quick_unlock);
    vault.close().await;

    // Only ciphertext on disk: the seed (as the phrase's entropy) never appears in the file.
    let bytes = file_bytes(&vault_path(&dir));
    let seed = RecoveryPhrase::parse(&created.kit.words().join(" "))
        .unwrap()
        .to_seed();
    assert!(!bytes.windows(32).any(|w| w == seed.as_bytes()));
}

#[tokio::test]
async fn restore_gives_same_address_and_keys_and_refuses_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let v1 = Vault::open_with(dir.path().join("a.sqlite"), fast())
        .await
        .unwrap();
    let created = v1
        .create_wallet(new(Role::Clinic, "Clinic", PASS))
        .await
        .unwrap();
    let phrase = created.kit.words().join(" ");
    let mut original = created.session;

    // Into a new vault file, as the error messages advise.
    let v2 = Vault::open_with(dir.path().join("b.sqlite"), fast())
        .await
        .unwrap();
    let mut restored = v2
        .restore_wallet(&phrase, new(Role::Clinic, "Clinic again", PASS2))
        .await
        .unwrap();
    assert_eq!(restored.identity().address, original.identity().address);
    assert_eq!(
        restored.identity().x25519_public,
        original.identity().x25519_public
    );
    assert_eq!(
        restored.keys().unwrap().abe_authority_seed(),
        original.keys().unwrap().abe_authority_seed()
    );
    let sig = restored.keys().unwrap().sign(b"m").unwrap();
    assert!(medwallet_vault::verify_ed25519(
        original.keys().unwrap().ed25519_public_key(),
        b"m",
        &sig
    ));

    match v2
        .restore_wallet(&phrase, new(Role::Clinic, "Dup", PASS2))
        .await
    {
        Err(VaultError::WalletExists { display_name, .. }) => {
            assert_eq!(display_name, "Clinic again")
        }
        other => panic!("expected WalletExists, got {other:?}"),
    }
    // A typo is named precisely.
    let mut words: Vec<&str> = phrase.split(' ').collect();
    words[6] = "qwertz";
    match v2
        .restore_wallet(&words.join(" "), new(Role::Clinic, "X", PASS2))
        .await
    {
        Err(VaultError::Phrase(e)) => assert!(e.to_string().contains("Word 7 (\"qwertz\")")),
        other => panic!("expected phrase error, got {other:?}"),
    }
}

#[tokio::test]
async fn weak_and_empty_passphrases() {
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::open_with(vault_path(&dir), fast()).await.unwrap();
    match vault
        .create_wallet(new(Role::Doctor, "Bob", "password1"))
        .await
    {
        Err(VaultError::WeakPassphrase(s)) => assert!(s.score < 3),
        other => panic!("expected WeakPassphrase, got {other:?}"),
    }
    assert!(matches!(
        vault.create_wallet(new(Role::Doctor, "Bob", "  ")).await,
        Err(VaultError::EmptyPassphrase)
    ));
    assert!(matches!(
        vault.create_wallet(new(Role::Doctor, " ", PASS)).await,
        Err(VaultError::InvalidDisplayName)
    ));
    let mut w = new(Role::Doctor, "Bob", "password1");
    w.accept_weak = true;
    let created = vault.create_wallet(w).await.unwrap();
    assert!(created.session.identity().role == Role::Doctor);
    assert_eq!(vault.list_wallets().await.unwrap().len(), 1);
}

#[tokio::test]
async fn wrong_passphrase_delay_grows_persists_and_resets() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000),
    ));
    let opts = VaultOptions {
        clock: clock.clone(),
        ..fast()
    };
    let vault = Vault::open_with(vault_path(&dir), opts.clone())
        .await
        .unwrap();
    let id = vault
        .create_wallet(new(Role::Patient, "Ada", PASS))
        .await
        .unwrap()
        .session
        .wallet_id()
        .clone();

    for n in 1..=3u32 {
        match vault.unlock(&id, "wrong").await {
            Err(VaultError::WrongPassphrase {
                failed_attempts,
                retry_after,
            }) => {
                assert_eq!(failed_attempts, n);
                assert_eq!(retry_after, Duration::ZERO);
            }
            other => panic!("attempt {n}: {other:?}"),
        }
    }
    match vault.unlock(&id, "wrong").await {
        Err(VaultError::WrongPassphrase {
            failed_attempts: 4,
            retry_after,
        }) => assert_eq!(retry_after, Duration::from_secs(2)),
        other => panic!("attempt 4: {other:?}"),
    }
    // Too soon: refused without checking, even with the right passphrase.
    match vault.unlock(&id, PASS).await {
        Err(e @ VaultError::TooManyAttempts { retry_after }) => {
            assert_eq!(retry_after, Duration::from_secs(2));
            assert!(e.to_string().contains("wait 2 s"), "{e}");
        }
        other => panic!("expected TooManyAttempts, got {other:?}"),
    }
    assert_eq!(
        vault.retry_after(&id).await.unwrap(),
        Duration::from_secs(2)
    );
    clock.advance(Duration::from_secs(2));
    match vault.unlock(&id, "wrong").await {
        Err(VaultError::WrongPassphrase {
            failed_attempts: 5,
            retry_after,
        }) => assert_eq!(retry_after, Duration::from_secs(4)),
        other => panic!("attempt 5: {other:?}"),
    }

    // The counter is in the file: it survives closing and reopening.
    vault.close().await;
    let vault = Vault::open_with(vault_path(&dir), opts).await.unwrap();
    assert_eq!(
        vault.retry_after(&id).await.unwrap(),
        Duration::from_secs(4)
    );
    clock.advance(Duration::from_secs(4));
    vault.unlock(&id, PASS).await.unwrap();
    // A success resets the counter.
    match vault.unlock(&id, "wrong").await {
        Err(VaultError::WrongPassphrase {
            failed_attempts: 1, ..
        }) => {}
        other => panic!("after reset: {other:?}"),
    }
}

#[tokio::test]
async fn change_passphrase_rewraps_only_the_vault_key() {
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::open_with(vault_path(&dir), fast()).await.unwrap();
    let mut s = vault
        .create_wallet(new(Role::Patient, "Ada", PASS))
        .await
        .unwrap()
        .session;
    let id = s.wallet_id().clone();
    vault
        .put_secret(&mut s, "attr-key/clinic-1", b"k1")
        .await
        .unwrap();

    assert!(matches!(
        vault.change_passphrase(&id, "wrong", PASS2, false).await,
        Err(VaultError::WrongPassphrase { .. })
    ));
    assert!(matches!(
        vault.change_passphrase(&id, PASS, "abc", false).await,
        Err(VaultError::WeakPassphrase(_))
    ));
    let sealed_before = seed_column(&vault_path(&dir), &id.to_string()).await;
    vault
        .change_passphrase(&id, PASS, PASS2, false)
        .await
        .unwrap();
    let sealed_after = seed_column(&vault_path(&dir), &id.to_string()).await;
    assert_eq!(sealed_before, sealed_after, "data must not be re-encrypted");

    assert!(matches!(
        vault.unlock(&id, PASS).await,
        Err(VaultError::WrongPassphrase { .. })
    ));
    let mut s2 = vault.unlock(&id, PASS2).await.unwrap();
    assert_eq!(
        vault
            .get_secret(&mut s2, "attr-key/clinic-1")
            .await
            .unwrap()
            .unwrap()
            .as_slice(),
        b"k1"
    );
}

async fn seed_column(path: &Path, id: &str) -> Vec<u8> {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let v: Vec<u8> = sqlx::query_scalar("SELECT sealed_seed FROM wallets WHERE id = ?")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    v
}

async fn exec(path: &Path, sql: &str) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    sqlx::query(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

#[tokio::test]
async fn several_wallets_list_get_delete_with_confirmation() {
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::open_with(vault_path(&dir), fast()).await.unwrap();
    let a = vault
        .create_wallet(new(Role::Patient, "Ada", PASS))
        .await
        .unwrap();
    let b = vault
        .create_wallet(new(Role::Doctor, "Dr Bob", PASS2))
        .await
        .unwrap();
    let list = vault.list_wallets().await.unwrap();
    assert_eq!(list.len(), 2);
    let (ida, idb) = (a.session.wallet_id().clone(), b.session.wallet_id().clone());
    assert!(list.iter().any(|w| w.id == ida) && list.iter().any(|w| w.id == idb));
    // Wallets do not share passphrases.
    assert!(vault.unlock(&idb, PASS).await.is_err());

    match vault.delete_wallet(&idb, "Dr  Bob").await {
        Err(VaultError::DeleteConfirmationMismatch { expected }) => assert_eq!(expected, "Dr Bob"),
        other => panic!("{other:?}"),
    }
    assert_eq!(vault.list_wallets().await.unwrap().len(), 2);
    vault.delete_wallet(&idb, "Dr Bob").await.unwrap();
    let list = vault.list_wallets().await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].id, ida);
    assert!(matches!(
        vault.unlock(&idb, PASS2).await,
        Err(VaultError::WalletNotFound(_))
    ));
}

#[tokio::test]
async fn secrets_round_trip_and_are_bound_to_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = vault_path(&dir);
    let vault = Vault::open_with(&path, fast()).await.unwrap();
    let mut s = vault
        .create_wallet(new(Role::Patient, "Ada", PASS))
        .await
        .unwrap()
        .session;
    vault.put_secret(&mut s, "a", b"alpha").await.unwrap();
    vault.put_secret(&mut s, "b", b"beta").await.unwrap();
    assert!(vault.get_secret(&mut s, "none").await.unwrap().is_none());
    // Move b's ciphertext under a: the associated data (purpose) catches it.
    exec(
        &path,
        "UPDATE secrets SET ciphertext = (SELECT ciphertext FROM secrets WHERE purpose = 'b') \
         WHERE purpose = 'a'",
    )
    .await;
    assert!(matches!(
        vault.get_secret(&mut s, "a").await,
        Err(VaultError::Tampered { .. })
    ));
    assert!(vault.delete_secret(&mut s, "a").await.unwrap());
    s.lock();
    assert!(matches!(
        vault.put_secret(&mut s, "c", b"x").await,
        Err(VaultError::Locked)
    ));
}

#[tokio::test]
async fn edited_identity_or_ciphertext_is_tampering() {
    for (what, sql) in [
        (
            "display name",
            "UPDATE wallets SET display_name = 'Mallory'",
        ),
        (
            "address",
            "UPDATE wallets SET address = '0x0000000000000000000000000000000000000001'",
        ),
        ("role", "UPDATE wallets SET role = 'doctor'"),
        ("seed ciphertext", "FLIP"),
        ("kdf floor", "UPDATE wallets SET kdf_m_cost_kib = 8"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = vault_path(&dir);
        let vault = Vault::open_with(&path, fast()).await.unwrap();
        let id = vault
            .create_wallet(new(Role::Patient, "Ada", PASS))
            .await
            .unwrap()
            .session
            .wallet_id()
            .clone();
        if sql == "FLIP" {
            let mut seed = seed_column(&path, id.as_str()).await;
            seed[21] ^= 0x40;
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", path.display()))
                .await
                .unwrap();
            sqlx::query("UPDATE wallets SET sealed_seed = ?")
                .bind(seed)
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        } else {
            exec(&path, sql).await;
        }
        match vault.unlock(&id, PASS).await {
            Err(e @ VaultError::Tampered { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("Emergency Kit"), "{what}: {msg}");
                assert!(msg.contains("new vault file"), "{what}: {msg}");
            }
            other => panic!("{what}: expected Tampered, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn truncated_file_is_named_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = vault_path(&dir);
    let vault = Vault::open_with(&path, fast()).await.unwrap();
    vault
        .create_wallet(new(Role::Patient, "Ada", PASS))
        .await
        .unwrap();
    vault.close().await;
    let full = file_bytes(&path);
    for keep in [full.len() / 2, 50, 0] {
        std::fs::write(&path, &full[..keep]).unwrap();
        match Vault::open_with(&path, fast()).await {
            Err(e @ VaultError::Truncated { .. }) => {
                assert!(e.to_string().contains("Emergency Kit"), "{e}");
            }
            other => panic!("keep {keep}: expected Truncated, got {other:?}"),
        }
        assert_eq!(file_bytes(&path), &full[..keep], "file must not be changed");
    }
}

#[tokio::test]
async fn newer_schema_is_named_and_left_untouched() {
    for sql in [
        "PRAGMA user_version = 2",
        "UPDATE meta SET value = '2' WHERE key = 'schema'",
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (2, 'future', 1, x'00', 0)",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = vault_path(&dir);
        let vault = Vault::open_with(&path, fast()).await.unwrap();
        vault
            .create_wallet(new(Role::Patient, "Ada", PASS))
            .await
            .unwrap();
        vault.close().await;
        exec(&path, sql).await;
        let before = file_bytes(&path);
        match Vault::open_with(&path, fast()).await {
            Err(e @ VaultError::NewerSchema { .. }) => {
                assert!(e.to_string().contains("newer version of medwallet"), "{e}");
            }
            other => panic!("{sql}: expected NewerSchema, got {other:?}"),
        }
        assert_eq!(file_bytes(&path), before, "{sql}: file must not be changed");
    }
}

#[tokio::test]
async fn edited_migration_and_foreign_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = vault_path(&dir);
    Vault::open_with(&path, fast()).await.unwrap().close().await;
    exec(
        &path,
        "UPDATE _sqlx_migrations SET checksum = x'0102' WHERE version = 1",
    )
    .await;
    assert!(matches!(
        Vault::open_with(&path, fast()).await,
        Err(VaultError::Corrupt { .. })
    ));

    let other = dir.path().join("other.sqlite");
    exec_create(&other, "CREATE TABLE notes (t TEXT)").await;
    assert!(matches!(
        Vault::open_with(&other, fast()).await,
        Err(VaultError::NotAVault { .. })
    ));
    let text = dir.path().join("text.sqlite");
    std::fs::write(&text, vec![b'x'; 4096]).unwrap();
    assert!(matches!(
        Vault::open_with(&text, fast()).await,
        Err(VaultError::NotAVault { .. })
    ));
}

async fn exec_create(path: &Path, sql: &str) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=rwc", path.display()))
        .await
        .unwrap();
    sqlx::query(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

#[tokio::test]
async fn quick_unlock_with_mock_keyring_and_unavailable_keyring() {
    let dir = tempfile::tempdir().unwrap();
    let opts = VaultOptions {
        quick_unlock: QuickUnlockStore::with_store(keyring_core::mock::Store::new().unwrap()),
        ..fast()
    };
    let vault = Vault::open_with(vault_path(&dir), opts).await.unwrap();
    let mut s = vault
        .create_wallet(new(Role::Patient, "Ada", PASS))
        .await
        .unwrap()
        .session;
    let id = s.wallet_id().clone();
    assert!(matches!(
        vault.quick_unlock(&id).await,
        Err(VaultError::QuickUnlockNotEnabled)
    ));
    vault.enable_quick_unlock(&mut s).await.unwrap();
    assert!(vault.wallet(&id).await.unwrap().quick_unlock);
    let q = vault.quick_unlock(&id).await.unwrap();
    assert_eq!(q.identity(), s.identity());
    vault.disable_quick_unlock(&id).await.unwrap();
    assert!(matches!(
        vault.quick_unlock(&id).await,
        Err(VaultError::QuickUnlockNotEnabled)
    ));
    vault.close().await;

    // No keyring: quick unlock says so (typed), the passphrase still works.
    let vault = Vault::open_with(vault_path(&dir), fast()).await.unwrap();
    let mut s = vault.unlock(&id, PASS).await.unwrap();
    match vault.enable_quick_unlock(&mut s).await {
        Err(e @ VaultError::KeyringUnavailable(_)) => {
            assert!(e.to_string().contains("passphrase"), "{e}")
        }
        other => panic!("expected KeyringUnavailable, got {other:?}"),
    }
}

#[tokio::test]
async fn auto_lock_through_the_vault_with_fake_clock() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(SystemTime::UNIX_EPOCH));
    let opts = VaultOptions {
        clock: clock.clone(),
        idle_timeout: Duration::from_secs(120),
        ..fast()
    };
    let vault = Vault::open_with(vault_path(&dir), opts).await.unwrap();
    let mut s = vault
        .create_wallet(new(Role::Patient, "Ada", PASS))
        .await
        .unwrap()
        .session;
    clock.advance(Duration::from_secs(119));
    vault.put_secret(&mut s, "x", b"1").await.unwrap();
    clock.advance(Duration::from_secs(119));
    assert!(!s.tick());
    clock.advance(Duration::from_secs(2));
    assert!(s.tick());
    assert!(matches!(
        vault.get_secret(&mut s, "x").await,
        Err(VaultError::Locked)
    ));
}

/// One full unlock at the real floor (64 MiB, 3 passes): the production path, not the test
/// parameters.
#[tokio::test]
async fn unlock_at_the_real_kdf_floor() {
    let dir = tempfile::tempdir().unwrap();
    let opts = VaultOptions {
        quick_unlock: QuickUnlockStore::unavailable("test"),
        ..VaultOptions::default()
    };
    assert_eq!(opts.kdf, KdfParams::FLOOR);
    assert_eq!(KdfParams::FLOOR.m_cost_kib, 64 * 1024);
    assert_eq!(KdfParams::FLOOR.t_cost, 3);
    let vault = Vault::open_with(vault_path(&dir), opts).await.unwrap();
    let id = vault
        .create_wallet(new(Role::Doctor, "Dr Bob", PASS))
        .await
        .unwrap()
        .session
        .wallet_id()
        .clone();
    assert_eq!(vault.wallet(&id).await.unwrap().kdf, KdfParams::FLOOR);
    vault.unlock(&id, PASS).await.unwrap();

    // A vault opened with the real floor refuses wallets wrapped with test parameters.
    let dir2 = tempfile::tempdir().unwrap();
    let weak = Vault::open_with(vault_path(&dir2), fast()).await.unwrap();
    let id2 = weak
        .create_wallet(new(Role::Doctor, "Dr Bob", PASS))
        .await
        .unwrap()
        .session
        .wallet_id()
        .clone();
    weak.close().await;
    let strict = Vault::open_with(
        vault_path(&dir2),
        VaultOptions {
            quick_unlock: QuickUnlockStore::unavailable("test"),
            ..VaultOptions::default()
        },
    )
    .await
    .unwrap();
    assert!(matches!(
        strict.unlock(&id2, PASS).await,
        Err(VaultError::Tampered { .. })
    ));
}

#[test]
fn calibrate_returns_at_least_the_floor() {
    let p = medwallet_vault::calibrate().unwrap();
    assert!(p.at_least(&KdfParams::FLOOR), "{p:?}");
    assert!(p.at_most(&KdfParams::CEILING), "{p:?}");
}
