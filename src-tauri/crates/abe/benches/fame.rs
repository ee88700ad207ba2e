//! FAME (this crate) against rabe's AC17 (the same scheme family over BN254 with the `bn`
//! fork), for AND policies of 1, 10 and 50 attributes.
//!
//! Run: `cargo bench -p medwallet-abe --bench fame -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use medwallet_abe::{unwrap_key, wrap_key, DataKey, MasterKey, Policy};
use rabe::schemes::ac17;
use rabe::utils::policy::pest::PolicyLanguage;

const SIZES: [usize; 3] = [1, 10, 50];

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("attr{i}")).collect()
}

/// rabe's Lewko-Waters code only takes binary ANDs: `"a0" and ("a1" and (...))`.
fn rabe_policy(n: usize) -> String {
    let attrs = names(n);
    let mut text = format!("\"{}\"", attrs[n - 1]);
    for a in attrs[..n - 1].iter().rev() {
        text = format!("(\"{a}\" and {text})");
    }
    text
}

fn sizes() {
    let mut rng = rand_core::OsRng;
    let msk = MasterKey::from_seed(&[1; 32], "bench").unwrap();
    let (pk, rmsk) = ac17::setup();
    println!("ciphertext sizes (bytes) for a 32-byte data key:");
    println!(
        "n | ours (wire) | rabe ac17 (bincode) | rabe ac17 (serde_json) | ours / rabe bincode"
    );
    for n in SIZES {
        let attrs = names(n);
        let policy = Policy::parse(&attrs.join(" AND ")).unwrap();
        let ct = wrap_key(
            msk.public_params(),
            &policy,
            &DataKey::from_bytes([7; 32]),
            &mut rng,
        );
        let ours = ct.to_bytes().len();
        let rct = ac17::cp_encrypt(
            &pk,
            &rabe_policy(n),
            &[7u8; 32],
            PolicyLanguage::HumanPolicy,
        )
        .unwrap();
        let rb = bincode::serialize(&rct).unwrap().len();
        let rj = serde_json::to_vec(&rct).unwrap().len();
        println!(
            "{n} | {ours} | {rb} | {rj} | {:.2}",
            ours as f64 / rb as f64
        );
        // Both decrypt.
        let refs: Vec<&str> = attrs.iter().map(String::as_str).collect();
        let rsk = ac17::cp_keygen(&rmsk, &refs).unwrap();
        assert_eq!(ac17::cp_decrypt(&rsk, &rct).unwrap(), vec![7u8; 32]);
        let uk = msk.issue_key(&attrs, &mut rng).unwrap();
        assert_eq!(unwrap_key(&uk, &ct).unwrap().as_bytes(), &[7u8; 32]);
    }
}

fn bench(c: &mut Criterion) {
    sizes();
    let mut rng = rand_core::OsRng;

    let mut g = c.benchmark_group("setup");
    g.bench_function("ours", |b| {
        b.iter(|| MasterKey::from_seed(black_box(&[1; 32]), "bench").unwrap())
    });
    g.bench_function("rabe", |b| b.iter(ac17::setup));
    g.finish();

    let msk = MasterKey::from_seed(&[1; 32], "bench").unwrap();
    let (pk, rmsk) = ac17::setup();

    let mut g = c.benchmark_group("keygen");
    for n in SIZES {
        let attrs = names(n);
        let refs: Vec<&str> = attrs.iter().map(String::as_str).collect();
        g.bench_with_input(BenchmarkId::new("ours", n), &n, |b, _| {
            b.iter(|| msk.issue_key(black_box(&attrs), &mut rng).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("rabe", n), &n, |b, _| {
            b.iter(|| ac17::cp_keygen(&rmsk, black_box(&refs)).unwrap())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("encrypt");
    for n in SIZES {
        let policy = Policy::parse(&names(n).join(" AND ")).unwrap();
        let rp = rabe_policy(n);
        let dek = DataKey::from_bytes([7; 32]);
        g.bench_with_input(BenchmarkId::new("ours", n), &n, |b, _| {
            b.iter(|| wrap_key(msk.public_params(), black_box(&policy), &dek, &mut rng))
        });
        g.bench_with_input(BenchmarkId::new("rabe", n), &n, |b, _| {
            b.iter(|| {
                ac17::cp_encrypt(&pk, black_box(&rp), &[7u8; 32], PolicyLanguage::HumanPolicy)
                    .unwrap()
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("decrypt");
    for n in SIZES {
        let attrs = names(n);
        let refs: Vec<&str> = attrs.iter().map(String::as_str).collect();
        let policy = Policy::parse(&attrs.join(" AND ")).unwrap();
        let ct = wrap_key(
            msk.public_params(),
            &policy,
            &DataKey::from_bytes([7; 32]),
            &mut rng,
        );
        let uk = msk.issue_key(&attrs, &mut rng).unwrap();
        let rct = ac17::cp_encrypt(
            &pk,
            &rabe_policy(n),
            &[7u8; 32],
            PolicyLanguage::HumanPolicy,
        )
        .unwrap();
        let rsk = ac17::cp_keygen(&rmsk, &refs).unwrap();
        g.bench_with_input(BenchmarkId::new("ours", n), &n, |b, _| {
            b.iter(|| unwrap_key(&uk, black_box(&ct)).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("rabe", n), &n, |b, _| {
            b.iter(|| ac17::cp_decrypt(&rsk, black_box(&rct)).unwrap())
        });
        // Decoding (point decompression and subgroup checks) is linear in the policy size;
        // shown separately so the decrypt numbers stay comparable with rabe's.
        let bytes = ct.to_bytes();
        g.bench_with_input(BenchmarkId::new("ours-decode-ct", n), &n, |b, _| {
            b.iter(|| medwallet_abe::Ciphertext::from_bytes(black_box(&bytes)).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
