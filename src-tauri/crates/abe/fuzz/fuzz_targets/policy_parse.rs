#![no_main]
use libfuzzer_sys::fuzz_target;
use medwallet_abe::Policy;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(p) = Policy::parse(text) {
            let canonical = p.to_string();
            assert_eq!(Policy::parse(&canonical).ok(), Some(p.clone()));
            let _ = p.describe();
        }
    }
});
