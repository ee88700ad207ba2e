#![no_main]
use libfuzzer_sys::fuzz_target;
use medwallet_abe::MasterKey;

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = MasterKey::from_bytes(data) {
        // Whatever decodes re-encodes to the same bytes (encodings are canonical).
        assert_eq!(&v.to_bytes()[..], data);
    }
});
