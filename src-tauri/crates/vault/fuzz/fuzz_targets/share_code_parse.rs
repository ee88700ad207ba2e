#![no_main]
//! Reading arbitrary text as a share code (with or without a check-in) never panics, and
//! neither does any binary behind the code's prefix (base64url-encoded, so the fuzzer
//! reaches the structure checks and the signature).
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use libfuzzer_sys::fuzz_target;
use medwallet_vault::ShareCode;

fuzz_target!(|data: &[u8]| {
    let _ = ShareCode::parse(&String::from_utf8_lossy(data));
    let _ = ShareCode::parse(&format!("mwshare1:{}", URL_SAFE_NO_PAD.encode(data)));
});
