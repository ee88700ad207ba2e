#![no_main]
//! Parsing arbitrary strings and bytes as CIDs never panics; whatever parses prints
//! to a string that parses back to the same value.
use libfuzzer_sys::fuzz_target;
use medwallet_records::Cid;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = Cid::from_bytes(data) {
        assert_eq!(Cid::parse(&c.to_string()).unwrap(), c);
        assert_eq!(Cid::from_bytes(&c.to_bytes()).unwrap(), c);
    }
    if let Ok(s) = std::str::from_utf8(data) {
        if let Ok(c) = Cid::parse(s) {
            assert_eq!(Cid::parse(&c.to_string()).unwrap(), c);
        }
    }
    // The streaming builder takes anything.
    let mut b = medwallet_records::CidBuilder::new();
    b.update(data);
    assert_eq!(b.finish(), medwallet_records::cid_of(data));
});
