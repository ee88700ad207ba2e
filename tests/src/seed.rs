//! Filling an app data folder before the app starts, through the library crates the app
//! is made of: a wallet in its vault and records added by the real add path (encrypted,
//! sealed and stored exactly as the app stores them). For stories about large wallets,
//! which would take hours to fill through the window.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use medwallet_api::Role;
use medwallet_api::{RecordMetadata, RecordSummary};
use medwallet_core::records::Progress;
use medwallet_core::{LedgerTarget, Owner, RecordService, WalletService};
use url::Url;

/// A wallet made in a data folder: its id, its keys for the records, its recovery words.
pub struct Wallet {
    /// The wallet's id in the vault.
    pub wallet_id: String,
    /// What the records use cases need of it.
    pub owner: Arc<Owner>,
    /// The recovery words (to derive its ledger key).
    pub words: Vec<String>,
}

/// Creates a patient's wallet in the data folder `dir` with the tiny test KDF (the app
/// must run with `MEDWALLET_INSECURE_TEST_KDF=1` to open it).
pub async fn patient_wallet(dir: &Path, name: &str, passphrase: &str) -> Wallet {
    let mut wallets = WalletService::open_with(dir, None, true).await;
    let identity = wallets
        .create_wallet(Role::Patient, name, passphrase, false)
        .await
        .expect("a wallet");
    let words = wallets.reveal_kit().expect("the kit's words").words;
    let owner = wallets.record_owner().expect("the wallet is unlocked");
    Wallet {
        wallet_id: identity.wallet_id,
        owner: Arc::new(owner),
        words,
    }
}

/// Adds the records `range` (each with `metadata(i)`, the content of `file`) to the
/// wallet through the add path, eight at a time; answers what each add answered. With no
/// IPFS node at `ipfs`, each one waits in the outbox, as it does when the node is down.
pub async fn add_records(
    dir: &Path,
    owner: &Arc<Owner>,
    ipfs: &Url,
    ledger: &LedgerTarget,
    file: &Path,
    range: Range<usize>,
    metadata: fn(usize) -> RecordMetadata,
) -> Vec<RecordSummary> {
    let service = Arc::new(RecordService::new(dir));
    let quiet: Progress = Arc::new(|_| {});
    let file = file.display().to_string();
    let mut added = Vec::with_capacity(range.len());
    let mut set = tokio::task::JoinSet::new();
    for i in range {
        let (service, owner, ipfs, ledger, file, quiet) = (
            service.clone(),
            owner.clone(),
            ipfs.clone(),
            ledger.clone(),
            file.clone(),
            quiet.clone(),
        );
        set.spawn(async move {
            service
                .add(
                    &owner,
                    &ipfs,
                    &ledger,
                    &format!("seed-{i}"),
                    &file,
                    &metadata(i),
                    quiet,
                )
                .await
                .unwrap_or_else(|e| panic!("record {i} not added: {e}"))
        });
        if set.len() >= 8 {
            added.push(set.join_next().await.expect("a task").expect("an add"));
        }
    }
    while let Some(done) = set.join_next().await {
        added.push(done.expect("an add"));
    }
    service.close().await;
    added
}
