//! The security invariant of the wallet commands: no IPC answer carries secret material.
//!
//! Drives every wallet use case the shell's commands call (success and failure paths),
//! serializes each answer exactly as tauri does (serde_json), and checks that none contains
//! the seed (hex or base64), the ledger private key, the HPKE private key, the vault key
//! (read back from a mock keyring after quick unlock is turned on), or the recovery phrase as
//! words. The one exception is `reveal_kit`, whose answer is the phrase for the kit screen.

use hpke::Serializable;
use medwallet_api::{Role, SessionState, UnlockOutcome, UserError};
use medwallet_core::{CoreError, WalletService};
use medwallet_vault::keyring::KEYRING_SERVICE as KEYRING_SERVICE_NAME;
use medwallet_vault::{QuickUnlockStore, RecoveryPhrase, WalletKeys};

const STRONG: &str = "orbit lantern velvet quarry mosaic";
const NEW: &str = "harbor tundra pixel meadow saffron";

fn b64(bytes: &[u8], alphabet: &[u8; 64]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(alphabet[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Every way a secret could be spelled in JSON text.
fn spellings(secret: &[u8]) -> Vec<String> {
    const STD: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    // Any 8 bytes of the secret in a row, however aligned, would be a leak.
    let mut out = vec![
        hex.clone(),
        hex.to_uppercase(),
        b64(secret, STD),
        b64(secret, URL),
    ];
    // serde_json's default for byte arrays: [1,2,3,...]
    out.push(format!("{:?}", secret).replace(' ', ""));
    out.push(hex[..16].to_owned());
    out
}

struct Secrets {
    spellings: Vec<String>,
    words: Vec<String>,
}

impl Secrets {
    fn assert_clean(&self, what: &str, json: &str) {
        let lower = json.to_lowercase();
        for s in &self.spellings {
            assert!(
                !json.contains(s.as_str()) && !lower.contains(&s.to_lowercase()),
                "{what} leaks a secret: {json}"
            );
        }
        // Three recovery words in a row (any separator) would be part of the phrase.
        let tokens: Vec<&str> = lower
            .split(|c: char| !c.is_ascii_alphabetic())
            .filter(|t| !t.is_empty())
            .collect();
        for win in self.words.windows(3) {
            assert!(
                !tokens
                    .windows(3)
                    .any(|t| t[0] == win[0] && t[1] == win[1] && t[2] == win[2]),
                "{what} leaks recovery words: {json}"
            );
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap()
}

/// A use case's answer as the shell sends it: the failure in words.
fn answer<T: serde::Serialize>(value: &Result<T, CoreError>) -> String {
    json(&value.as_ref().map_err(UserError::from))
}

/// The ledger a printed kit names.
fn kit_ledger() -> Option<(u64, String)> {
    Some((
        424242,
        "0x0000000000000000000000000000000000000001".to_owned(),
    ))
}
#[tokio::test]
async fn no_ipc_answer_carries_secret_material() {
    let dir = tempfile::tempdir().unwrap();
    let store: std::sync::Arc<keyring_core::api::CredentialStore> =
        keyring_core::mock::Store::new().unwrap();
    let mut w = WalletService::open_with_keyring(
        dir.path(),
        None,
        true,
        QuickUnlockStore::with_store(store.clone()),
    )
    .await;
    let mut answers: Vec<(&str, String)> = Vec::new();

    answers.push(("session_state (empty)", json(&w.state().await)));
    answers.push(("rate_passphrase", json(&w.rate_passphrase(STRONG, "Ada"))));
    answers.push((
        "create_wallet (weak)",
        answer(
            &w.create_wallet(Role::Patient, "Ada", "password1", false)
                .await,
        ),
    ));
    let created = w.create_wallet(Role::Patient, "Ada", STRONG, false).await;
    answers.push(("create_wallet", answer(&created)));
    let created = created.unwrap();
    answers.push(("session_state (kit pending)", json(&w.state().await)));

    // The one answer that carries the phrase.
    let kit = w.reveal_kit().unwrap();
    let words = kit.words.clone();
    let seed = RecoveryPhrase::parse(&words.join(" ")).unwrap().to_seed();
    let keys = WalletKeys::derive(&seed, medwallet_vault::Role::Patient).unwrap();
    let mut secret_bytes: Vec<Vec<u8>> = vec![
        seed.as_bytes().to_vec(),
        keys.ledger_secret_key().to_vec(),
        keys.hpke_private_key().unwrap().to_bytes().to_vec(),
    ];

    let wrong: Vec<(usize, String)> = kit
        .confirm_positions
        .iter()
        .map(|p| (*p, "zoo".to_owned()))
        .collect();
    answers.push(("confirm_kit (wrong)", answer(&w.confirm_kit(&wrong))));
    answers.push(("export_kit", answer(&w.export_kit(kit_ledger()))));
    let right: Vec<(usize, String)> = kit
        .confirm_positions
        .iter()
        .map(|p| (*p, words[p - 1].clone()))
        .collect();
    answers.push(("confirm_kit", answer(&w.confirm_kit(&right))));
    answers.push(("reveal_kit (after confirmation)", answer(&w.reveal_kit())));
    answers.push(("export_kit (unlocked)", answer(&w.export_kit(kit_ledger()))));

    answers.push((
        "set_quick_unlock on",
        answer(&w.set_quick_unlock(true).await),
    ));
    let entry = keyring_core::Entry::new_in_store(&store, KEYRING_SERVICE_NAME, &created.wallet_id)
        .unwrap();
    let vault_key = entry
        .get_secret()
        .expect("the vault key is in the mock keyring");
    assert_eq!(vault_key.len(), 32);
    secret_bytes.push(vault_key);

    answers.push(("set_idle_timeout", answer(&w.set_idle_timeout(10))));
    answers.push(("set_idle_timeout (bad)", answer(&w.set_idle_timeout(0))));
    answers.push(("session_state (unlocked)", json(&w.state().await)));
    answers.push((
        "change_passphrase (wrong old)",
        answer(&w.change_passphrase("nope", NEW, false).await),
    ));
    answers.push((
        "change_passphrase",
        answer(&w.change_passphrase(STRONG, NEW, false).await),
    ));
    answers.push(("lock_wallet", json(&w.lock())));
    answers.push(("session_state (locked)", json(&w.state().await)));
    answers.push(("export_kit (locked)", answer(&w.export_kit(kit_ledger()))));
    answers.push((
        "change_passphrase (locked)",
        answer(&w.change_passphrase(NEW, STRONG, false).await),
    ));
    let refused = w.unlock(&created.wallet_id, STRONG).await;
    assert!(
        matches!(refused, Ok(UnlockOutcome::Refused { .. })),
        "{refused:?}"
    );
    answers.push(("unlock_wallet (wrong)", answer(&refused)));
    answers.push((
        "unlock_wallet (bad id)",
        answer(&w.unlock("not-an-id", NEW).await),
    ));
    answers.push((
        "quick_unlock",
        answer(&w.quick_unlock(&created.wallet_id).await),
    ));
    answers.push(("lock_wallet", json(&w.lock())));
    answers.push((
        "unlock_wallet",
        answer(&w.unlock(&created.wallet_id, NEW).await),
    ));
    answers.push((
        "set_quick_unlock off",
        answer(&w.set_quick_unlock(false).await),
    ));

    // Restore: typos, checksum, the same wallet again (refused), a second vault.
    let mut typo = words.clone();
    typo[2] = format!("{}x", typo[2]);
    answers.push((
        "restore_wallet (typo)",
        answer(
            &w.restore_wallet(&typo.join(" "), Role::Patient, "A", STRONG, false)
                .await,
        ),
    ));
    let mut swapped = words.clone();
    swapped.swap(0, 1);
    if swapped != words {
        answers.push((
            "restore_wallet (checksum)",
            answer(
                &w.restore_wallet(&swapped.join(" "), Role::Patient, "A", STRONG, false)
                    .await,
            ),
        ));
    }
    answers.push((
        "restore_wallet (exists)",
        answer(
            &w.restore_wallet(&words.join(" "), Role::Patient, "A", STRONG, false)
                .await,
        ),
    ));
    let other = tempfile::tempdir().unwrap();
    let mut w2 = WalletService::open_with(other.path(), None, true).await;
    let restored = w2
        .restore_wallet(&words.join(" "), Role::Patient, "Ada again", STRONG, false)
        .await;
    answers.push(("restore_wallet", answer(&restored)));
    assert_eq!(restored.unwrap().address, created.address);

    answers.push((
        "delete_wallet (wrong name)",
        answer(&w.delete_wallet(&created.wallet_id, "Bob").await),
    ));
    answers.push(("list", answer(&w.list().await)));
    answers.push((
        "delete_wallet",
        answer(&w.delete_wallet(&created.wallet_id, "Ada").await),
    ));
    answers.push(("session_state (after delete)", json(&w.state().await)));
    assert_eq!(w.state().await, SessionState::Empty);

    let secrets = Secrets {
        spellings: secret_bytes.iter().flat_map(|s| spellings(s)).collect(),
        words,
    };
    for (what, answer) in &answers {
        secrets.assert_clean(what, answer);
    }
    // The checker does catch the kit answer, so it would catch a leak elsewhere.
    let leaked = std::panic::catch_unwind(|| secrets.assert_clean("reveal_kit", &json(&kit)));
    assert!(leaked.is_err(), "the leak check must flag the kit answer");
}
