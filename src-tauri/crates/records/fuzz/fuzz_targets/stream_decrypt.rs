#![no_main]
//! Decrypting arbitrary bytes never panics, and whatever decrypts re-encrypts (under
//! the same key) to a stream of the same length and chunk count.
use libfuzzer_sys::fuzz_target;
use medwallet_abe::DataKey;
use medwallet_records::stream;

fuzz_target!(|data: &[u8]| {
    let key = DataKey::from_bytes([0x42; 32]);
    let mut out = Vec::new();
    if let Ok(d) = stream::decrypt(&key, data, &mut out) {
        assert_eq!(d.plaintext_len, out.len() as u64);
        assert_eq!(stream::ciphertext_len(d.plaintext_len), data.len() as u64);
        assert_eq!(d.cid, medwallet_records::cid_of(data));
    }
});
