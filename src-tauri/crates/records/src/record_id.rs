//! Record ids: `0x` and 64 lowercase hex digits (32 bytes), the same id the ledger uses.
//!
//! The text form is what callers pass around; the wire formats carry the 32 bytes. Only
//! the lowercase form is accepted, so each id has exactly one spelling and ids compare
//! as strings.

/// Length of a record id in text form (`0x` + 64 hex digits).
pub const RECORD_ID_LEN: usize = 66;

/// The 32 bytes of a record id, or `None` if `id` is not `0x` + 64 lowercase hex digits.
pub fn parse_record_id(id: &str) -> Option<[u8; 32]> {
    let hex = id.strip_prefix("0x")?.as_bytes();
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        *o = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(out)
}

/// The text form of 32 id bytes.
pub fn format_record_id(bytes: &[u8; 32]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(RECORD_ID_LEN);
    s.push_str("0x");
    for b in bytes {
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 15)] as char);
    }
    s
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        let id = format!("0x{}", "0123456789abcdef".repeat(4));
        let bytes = parse_record_id(&id).unwrap();
        assert_eq!(bytes[0], 0x01);
        assert_eq!(format_record_id(&bytes), id);
        for bad in [
            "",
            "0x",
            &id[..65],
            &format!("{id}0"),
            &id.to_uppercase(),
            &format!("0X{}", &id[2..]),
            &format!("0x{}", "g".repeat(64)),
            &format!("0x{}é", &"a".repeat(62)),
        ] {
            assert_eq!(parse_record_id(bad), None, "{bad}");
        }
    }
}
