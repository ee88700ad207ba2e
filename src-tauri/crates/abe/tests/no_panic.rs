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
