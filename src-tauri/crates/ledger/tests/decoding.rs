//! Outside data never panics: any log (under every event signature of the contract, with
//! random topics and data) and any revert data (under every error selector) decodes to a
//! typed value or to nothing. Among them the registry's `ProviderAttested`, whose name is
//! free text from an admin, and the check-in events.

use alloy::primitives::B256;
use medwallet_ledger::contract::MedwalletLedger::{MedwalletLedgerErrors, MedwalletLedgerEvents};
use medwallet_ledger::{LedgerEvent, Revert};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn any_log_under_any_event_signature_decodes_or_is_none(
        which in 0usize..64,
        topics in proptest::collection::vec(any::<[u8; 32]>(), 0..5),
        data in proptest::collection::vec(any::<u8>(), 0..600),
    ) {
        let signatures = MedwalletLedgerEvents::SELECTORS;
        let mut all = vec![B256::from(signatures[which % signatures.len()])];
        all.extend(topics.into_iter().map(B256::from));
        let _ = LedgerEvent::decode(&all, &data);
    }

    #[test]
    fn any_revert_data_under_any_error_selector_decodes(
        which in 0usize..64,
        data in proptest::collection::vec(any::<u8>(), 0..300),
    ) {
        let selectors = MedwalletLedgerErrors::SELECTORS;
        let mut bytes = selectors[which % selectors.len()].to_vec();
        bytes.extend_from_slice(&data);
        let decoded = Revert::decode(&bytes);
        // Every decoded reason has words.
        prop_assert!(!decoded.to_string().is_empty());
    }

    #[test]
    fn any_bytes_as_revert_data_decode(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = Revert::decode(&data).to_string();
    }
}

#[test]
fn a_provider_attested_event_round_trips_with_its_free_text_name() {
    use alloy::primitives::Address;
    use alloy::sol_types::SolEvent;
    use medwallet_ledger::contract::MedwalletLedger::ProviderAttested;

    for name in ["St Mary's Hospital", "", "\u{202e}evil\n", &"é".repeat(40)] {
        let event = ProviderAttested {
            provider: Address::repeat_byte(1),
            admin: Address::repeat_byte(2),
            name: name.to_owned(),
            role: 2,
        };
        let encoded = event.encode_log_data();
        let decoded = LedgerEvent::decode(encoded.topics(), &encoded.data).unwrap();
        assert_eq!(
            decoded,
            LedgerEvent::ProviderAttested {
                provider: event.provider,
                admin: event.admin,
                name: name.to_owned(),
                role: 2,
            }
        );
    }
}

#[test]
fn names_with_hidden_characters_are_not_plain() {
    use medwallet_ledger::is_plain_name;
    assert!(is_plain_name("St Mary's Hospital"));
    assert!(is_plain_name(&"é".repeat(32)));
    for hidden in [
        "",
        "a\nb",
        "St\u{200b}Mary",
        "\u{061c}x",
        "x\u{feff}",
        "\u{202e}latipsoH",
        "x\u{2066}y",
        &"x".repeat(65),
    ] {
        assert!(!is_plain_name(hidden), "{hidden:?}");
    }
}
