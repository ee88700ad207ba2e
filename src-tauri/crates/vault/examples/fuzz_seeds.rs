//! Writes the seed corpus of vault's fuzz target (`fuzz/corpus/share_code_parse/`) with
//! `ShareCode::create_with`: codes of each role, with and without a check-in, as text and
//! as the binary behind the prefix (the target reads its input both ways).
//!
//! `cargo run -p medwallet-vault --example fuzz_seeds -- src-tauri/crates/vault/fuzz/corpus`
//! (deterministic: the same files every time).

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use medwallet_vault::{share_code::PREFIX, CheckIn, Role, Seed, ShareCode, WalletKeys};

fn main() {
    let out = std::env::args()
        .nth(1)
        .expect("usage: fuzz_seeds CORPUS_DIR");
    let dir = Path::new(&out).join("share_code_parse");
    std::fs::create_dir_all(&dir).expect("create the corpus folder");
    let check_in = CheckIn {
        nonce: [7; 32],
        expires_at: 1_767_225_600,
        signature: [9; 65],
    };
    let cases = [
        ("patient", Role::Patient, "Ada Lovelace", None),
        ("patient-check-in", Role::Patient, "Ada", Some(&check_in)),
        ("doctor", Role::Doctor, "Dr. Okafor", None),
        ("clinic", Role::Clinic, "St. Mary's — Cardiology", None),
    ];
    for (i, (name, role, display, check_in)) in cases.into_iter().enumerate() {
        let keys = WalletKeys::derive(&Seed::from_bytes([i as u8 + 1; 32]), role).expect("keys");
        let code = ShareCode::create_with(&keys, display, 31337, 1_767_000_000, check_in)
            .expect("a share code");
        std::fs::write(dir.join(format!("{name}-text")), &code).expect("write a seed");
        let binary = URL_SAFE_NO_PAD
            .decode(code.strip_prefix(PREFIX).expect("the prefix"))
            .expect("base64url");
        std::fs::write(dir.join(format!("{name}-binary")), binary).expect("write a seed");
    }
}
