#![no_main]
//! Opening arbitrary bytes as a manifest never panics. The input is also tried after a
//! genuine header for the expected record, so the fuzzer reaches the AEAD and beyond.
use libfuzzer_sys::fuzz_target;
use medwallet_abe::DataKey;
use medwallet_records::manifest;

const ID: &str = "0x0101010101010101010101010101010101010101010101010101010101010101";

fuzz_target!(|data: &[u8]| {
    let key = DataKey::from_bytes([0x42; 32]);
    let _ = manifest::peek(data);
    let _ = manifest::open(&key, data, ID, 1);
    let mut framed = b"MWRM\x01".to_vec();
    framed.extend_from_slice(&[1u8; 32]);
    framed.extend_from_slice(&1u32.to_be_bytes());
    framed.extend_from_slice(data);
    let _ = manifest::open(&key, &framed, ID, 1);
});
