//! Writes the seed corpora of abe's fuzz targets (`fuzz/corpus/<target>/`) from abe's own
//! encoders, so each target starts from valid encodings and mutates them, instead of
//! having to find the format's structure from nothing.
//!
//! `cargo run -p medwallet-abe --example fuzz_seeds -- src-tauri/crates/abe/fuzz/corpus`
//! (deterministic: the same files every time).

use std::path::Path;

use medwallet_abe::{wrap_key, DataKey, MasterKey, Policy};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn write(dir: &Path, target: &str, name: &str, bytes: &[u8]) {
    let dir = dir.join(target);
    std::fs::create_dir_all(&dir).expect("create the corpus folder");
    std::fs::write(dir.join(name), bytes).expect("write a seed");
}

fn main() {
    let out = std::env::args()
        .nth(1)
        .expect("usage: fuzz_seeds CORPUS_DIR");
    let out = Path::new(&out);
    let mut rng = ChaCha20Rng::from_seed([5; 32]);

    let policies = [
        "careteam",
        "role:doctor OR careteam",
        "(role:doctor AND dept:cardiology) OR id:0x12ab",
        "a AND (b OR (c AND d))",
    ];
    for (i, text) in policies.iter().enumerate() {
        let canonical = Policy::parse(text).expect("a valid policy").to_string();
        write(
            out,
            "policy_parse",
            &format!("policy-{i}"),
            canonical.as_bytes(),
        );
    }

    let msk = MasterKey::from_seed(&[3; 32], "fuzz").expect("a master key");
    write(out, "decode_master_key", "master-key", &msk.to_bytes());
    write(
        out,
        "decode_public_params",
        "public-params",
        &msk.public_params().to_bytes(),
    );
    for (i, attrs) in [&["careteam"][..], &["role:doctor", "dept:cardiology"]]
        .iter()
        .enumerate()
    {
        let uk = msk.issue_key(attrs, &mut rng).expect("a user key");
        write(
            out,
            "decode_user_key",
            &format!("user-key-{i}"),
            &uk.to_bytes(),
        );
    }
    let dek = DataKey::from_bytes([0x42; 32]);
    for (i, text) in policies[..3].iter().enumerate() {
        let policy = Policy::parse(text).expect("a valid policy");
        let ct = wrap_key(msk.public_params(), &policy, &dek, &mut rng);
        write(
            out,
            "decode_ciphertext",
            &format!("ciphertext-{i}"),
            &ct.to_bytes(),
        );
    }
}
