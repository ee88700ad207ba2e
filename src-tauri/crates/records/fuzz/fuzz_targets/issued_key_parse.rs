#![no_main]
//! Decoding arbitrary bytes as an issued-key envelope never panics; whatever decodes
//! encodes back to the same bytes.
use libfuzzer_sys::fuzz_target;
use medwallet_records::IssuedKey;

fuzz_target!(|data: &[u8]| {
    if let Ok(k) = IssuedKey::from_bytes(data) {
        assert_eq!(k.to_bytes(), data);
    }
});
