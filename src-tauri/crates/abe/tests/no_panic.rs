//! Random bytes fed to every decoder and to the policy parser: typed errors, never a panic.

use medwallet_abe::{Ciphertext, MasterKey, Policy, PublicParams, UserKey};
use proptest::prelude::*;

fn all_decoders(bytes: &[u8]) {
    let _ = PublicParams::from_bytes(bytes);
    let _ = MasterKey::from_bytes(bytes);
    let _ = UserKey::from_bytes(bytes);
    let _ = Ciphertext::from_bytes(bytes);
    if let Ok(s) = std::str::from_utf8(bytes) {
        if let Ok(p) = Policy::parse(s) {
            let _ = p.describe();
            let _ = p.to_string();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        all_decoders(&bytes);
    }

    /// Random bytes behind a valid tag and version reach the field decoders.
    #[test]
    fn decoders_never_panic_past_the_header(tag in 0xA1u8..=0xA4, rest in prop::collection::vec(any::<u8>(), 0..800)) {
        let mut bytes = vec![tag, 1];
        bytes.extend(rest);
        all_decoders(&bytes);
    }

    #[test]
    fn parser_never_panics(text in "[()\" a-zA-Z:0-9\t]{0,200}") {
        if let Ok(p) = Policy::parse(&text) {
            let _ = p.describe();
            prop_assert_eq!(Policy::parse(&p.to_string()).unwrap(), p);
        }
    }

    #[test]
    fn parser_never_panics_on_any_string(text in any::<String>()) {
        let _ = Policy::parse(&text);
    }
}

/// Writes valid encodings as seed inputs for the cargo-fuzz targets (`fuzz/corpus/<target>/`,
/// git-ignored), so that fuzzing starts past the tag/length checks and reaches the point,
/// scalar and policy decoders. Run before fuzzing (see SECURITY.md):
/// `cargo test -p medwallet-abe --test no_panic -- --ignored write_fuzz_seeds`.
#[test]
#[ignore]
fn write_fuzz_seeds() {
    use medwallet_abe::{wrap_key, DataKey};
    use rand_chacha::rand_core::SeedableRng;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let write = |target: &str, name: &str, bytes: &[u8]| {
        let d = dir.join(target);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join(name), bytes).unwrap();
    };
    let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(99);
    let msk = MasterKey::from_seed(&[5; 32], "clinic:seed").unwrap();
    write("decode_master_key", "msk", &msk.to_bytes());
    write(
        "decode_public_params",
        "pp",
        &msk.public_params().to_bytes(),
    );
    for (i, attrs) in [&["a"][..], &["a", "b", "role:doctor"]].iter().enumerate() {
        let uk = msk.issue_key(attrs, &mut rng).unwrap();
        write("decode_user_key", &format!("uk{i}"), &uk.to_bytes());
    }
    for (i, p) in ["a", "a OR b", "(a AND b) OR \"role:doctor\""]
        .iter()
        .enumerate()
    {
        let policy = Policy::parse(p).unwrap();
        write("policy_parse", &format!("p{i}"), p.as_bytes());
        let ct = wrap_key(
            msk.public_params(),
            &policy,
            &DataKey::from_bytes([1; 32]),
            &mut rng,
        );
        write("decode_ciphertext", &format!("ct{i}"), &ct.to_bytes());
    }
}
