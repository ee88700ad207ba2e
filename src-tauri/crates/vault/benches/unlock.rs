//! Unlock cost (Argon2id + unwrapping the vault key + opening the seed + deriving the keys),
//! with the parameters `calibrate()` picks on this machine, and at the floor for comparison.
//!
//! cargo bench -p medwallet-vault --bench unlock -- --warm-up-time 1 --measurement-time 5

use criterion::{criterion_group, criterion_main, Criterion};
use medwallet_vault::kdf::KdfParams;
use medwallet_vault::{calibrate, NewWallet, QuickUnlockStore, Role, Vault, VaultOptions};

const PASS: &str = "orbit lantern velvet quarry";

fn bench_unlock(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let calibrated = calibrate().expect("calibrate");
    eprintln!("calibrated parameters: {calibrated:?}");
    let dir = tempfile::tempdir().expect("tempdir");

    let mut group = c.benchmark_group("unlock");
    group.sample_size(10);
    for (name, kdf) in [
        ("calibrated", calibrated),
        ("floor_64MiB_t3", KdfParams::FLOOR),
    ] {
        let opts = VaultOptions {
            kdf,
            quick_unlock: QuickUnlockStore::unavailable("benchmark"),
            ..VaultOptions::default()
        };
        let path = dir.path().join(format!("{name}.sqlite"));
        let (vault, id) = rt.block_on(async {
            let vault = Vault::open_with(&path, opts).await.expect("open");
            let created = vault
                .create_wallet(NewWallet {
                    role: Role::Patient,
                    display_name: "Bench",
                    passphrase: PASS,
                    accept_weak: false,
                })
                .await
                .expect("create");
            let id = created.session.wallet_id().clone();
            (vault, id)
        });
        group.bench_function(name, |b| {
            b.iter(|| rt.block_on(vault.unlock(&id, PASS)).expect("unlock"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_unlock);
criterion_main!(benches);
