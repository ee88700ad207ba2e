//! End-to-end tests of the key wrap: correctness against a plain boolean evaluation,
//! tampering, authority separation and malformed encodings.

use medwallet_abe::{
    decapsulate, encapsulate, unwrap_key, wrap_key, AbeError, Ciphertext, DataKey, DecodeError,
    MasterKey, Policy, PublicParams, UserKey,
};
use proptest::prelude::*;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn clinic() -> MasterKey {
    MasterKey::from_seed(&[11; 32], "clinic:st-mary").unwrap()
}

#[test]
fn issue_example_round_trip() {
    let mut rng = rng(1);
    let msk = clinic();
    let policy = Policy::parse("(role:doctor AND dept:cardiology) OR id:0x12ab34").unwrap();
    let dek = DataKey::from_bytes([0x5a; 32]);
    let ct = wrap_key(msk.public_params(), &policy, &dek, &mut rng);
    let bytes = ct.to_bytes();
    let ct = Ciphertext::from_bytes(&bytes).unwrap();
    assert_eq!(ct.policy(), &policy);

    for ok in [
        vec!["role:doctor", "dept:cardiology"],
        vec!["id:0x12ab34"],
        vec!["role:doctor", "dept:cardiology", "id:0x12ab34", "x"],
    ] {
        let uk = msk.issue_key(&ok, &mut rng).unwrap();
        let uk = UserKey::from_bytes(&uk.to_bytes()).unwrap();
        assert_eq!(unwrap_key(&uk, &ct).unwrap(), dek, "{ok:?}");
    }
    for bad in [
        vec!["role:doctor"],
        vec!["dept:cardiology", "role:nurse"],
        vec!["id:0x12ab35"],
    ] {
        let uk = msk.issue_key(&bad, &mut rng).unwrap();
        assert_eq!(unwrap_key(&uk, &ct), Err(AbeError::PolicyNotSatisfied));
    }
}

#[test]
fn encapsulate_decapsulate_and_encodings_round_trip() {
    let mut rng = rng(2);
    let msk = clinic();
    let msk2 = MasterKey::from_bytes(&msk.to_bytes()).unwrap();
    assert_eq!(msk2.public_params(), msk.public_params());
    let pp = PublicParams::from_bytes(&msk.public_params().to_bytes()).unwrap();
    assert_eq!(pp.authority_id(), msk.public_params().authority_id());
    assert_eq!(pp.label(), "clinic:st-mary");

    let policy = Policy::parse("a AND b").unwrap();
    let (dek, ct) = encapsulate(&pp, &policy, &mut rng);
    let uk = msk2.issue_key(&["b", "a", "a"], &mut rng).unwrap();
    assert_eq!(uk.attributes().collect::<Vec<_>>(), ["a", "b"]);
    assert_eq!(decapsulate(&uk, &ct).unwrap(), dek);
    // Two encapsulations differ (fresh sigma).
    let (dek2, ct2) = encapsulate(&pp, &policy, &mut rng);
    assert_ne!(dek, dek2);
    assert_ne!(ct.to_bytes(), ct2.to_bytes());
}

#[test]
fn flat_policies_of_60_attributes() {
    let mut rng = rng(3);
    let msk = clinic();
    let names: Vec<String> = (0..60).map(|i| format!("attr:{i}")).collect();
    let and = Policy::parse(&names.join(" AND ")).unwrap();
    let or = Policy::parse(&names.join(" or ")).unwrap();
    let dek = DataKey::from_bytes([7; 32]);
    let ct_and = wrap_key(msk.public_params(), &and, &dek, &mut rng);
    let ct_or = wrap_key(msk.public_params(), &or, &dek, &mut rng);
    let all = msk.issue_key(&names, &mut rng).unwrap();
    assert_eq!(unwrap_key(&all, &ct_and).unwrap(), dek);
    let most = msk.issue_key(&names[1..], &mut rng).unwrap();
    assert_eq!(
        unwrap_key(&most, &ct_and),
        Err(AbeError::PolicyNotSatisfied)
    );
    let one = msk.issue_key(&names[59..], &mut rng).unwrap();
    assert_eq!(unwrap_key(&one, &ct_or).unwrap(), dek);
    let ct_and = Ciphertext::from_bytes(&ct_and.to_bytes()).unwrap();
    assert_eq!(unwrap_key(&all, &ct_and).unwrap(), dek);
}

/// Byte regions of a ciphertext for `a OR b` (1-byte attributes, so the layout is fixed).
fn regions(len: usize) -> Vec<(&'static str, std::ops::Range<usize>)> {
    let policy_len = "a OR b".len();
    let p = 2 + 32 + 2;
    let ct0 = p + policy_len;
    let rows = ct0 + 3 * 96 + 2;
    let masked = rows + 2 * 3 * 48;
    vec![
        ("tag", 0..1),
        ("version", 1..2),
        ("authority id", 2..34),
        ("policy length", 34..36),
        ("policy", p..ct0),
        ("ct0", ct0..ct0 + 3 * 96),
        ("row count", ct0 + 288..rows),
        ("rows", rows..masked),
        ("masked sigma", masked..masked + 32),
        ("sealed DEK", masked + 32..len - 16),
        ("tag", len - 16..len),
    ]
}

#[test]
fn every_tampered_byte_region_is_rejected() {
    let mut rng = rng(4);
    let msk = clinic();
    let policy = Policy::parse("a OR b").unwrap();
    let ct = wrap_key(
        msk.public_params(),
        &policy,
        &DataKey::from_bytes([1; 32]),
        &mut rng,
    );
    let uk = msk.issue_key(&["a", "b"], &mut rng).unwrap();
    let bytes = ct.to_bytes();
    let regions = regions(bytes.len());
    assert_eq!(regions.last().unwrap().1.end, bytes.len());
    for (name, range) in regions {
        // First, last and middle byte of each region, a low and a high bit.
        for pos in [range.start, (range.start + range.end) / 2, range.end - 1] {
            for bit in [0x01u8, 0x80] {
                let mut bad = bytes.clone();
                bad[pos] ^= bit;
                match Ciphertext::from_bytes(&bad) {
                    Err(_) => {}
                    Ok(ct) => {
                        let r = unwrap_key(&uk, &ct);
                        assert!(
                            matches!(
                                r,
                                Err(AbeError::Rejected
                                    | AbeError::WrongAuthority
                                    | AbeError::PolicyNotSatisfied)
                            ),
                            "{name} byte {pos} bit {bit:#x}: {r:?}"
                        );
                    }
                }
            }
        }
    }
    assert!(unwrap_key(&uk, &ct).is_ok());
}

#[test]
fn swapped_policy_is_rejected() {
    let mut rng = rng(5);
    let msk = clinic();
    let ct = wrap_key(
        msk.public_params(),
        &Policy::parse("a AND b").unwrap(),
        &DataKey::from_bytes([1; 32]),
        &mut rng,
    );
    let uk = msk.issue_key(&["a", "b", "c"], &mut rng).unwrap();
    let bytes = ct.to_bytes();
    // Same length and row count, different policy: "a AND b" -> "a AND c", "a OR  b".
    for swap in ["a AND c", "c AND b", "b AND a"] {
        let mut bad = bytes.clone();
        let at = bytes.windows(7).position(|w| w == b"a AND b").unwrap();
        bad[at..at + 7].copy_from_slice(swap.as_bytes());
        let ct = Ciphertext::from_bytes(&bad).unwrap();
        assert_eq!(unwrap_key(&uk, &ct), Err(AbeError::Rejected), "{swap}");
    }
}

#[test]
fn key_of_another_authority_is_refused() {
    let mut rng = rng(6);
    let patient = MasterKey::from_seed(&[1; 32], "patient:0x12ab").unwrap();
    let other = MasterKey::from_seed(&[1; 32], "patient:0x99ff").unwrap();
    let policy = Policy::parse("careteam").unwrap();
    let ct = wrap_key(
        patient.public_params(),
        &policy,
        &DataKey::from_bytes([2; 32]),
        &mut rng,
    );
    let uk = other.issue_key(&["careteam"], &mut rng).unwrap();
    assert_eq!(unwrap_key(&uk, &ct), Err(AbeError::WrongAuthority));
    // Rewriting the ciphertext's authority id to the other authority does not help.
    let mut bytes = ct.to_bytes();
    bytes[2..34].copy_from_slice(&other.public_params().authority_id());
    let ct = Ciphertext::from_bytes(&bytes).unwrap();
    assert_eq!(unwrap_key(&uk, &ct), Err(AbeError::Rejected));
}

#[test]
fn truncated_and_versioned_encodings_are_typed_errors() {
    let mut rng = rng(7);
    let msk = clinic();
    let uk = msk.issue_key(&["a"], &mut rng).unwrap();
    let ct = wrap_key(
        msk.public_params(),
        &Policy::parse("a").unwrap(),
        &DataKey::from_bytes([3; 32]),
        &mut rng,
    );
    let encodings: Vec<(&str, Vec<u8>)> = vec![
        ("pp", msk.public_params().to_bytes()),
        ("msk", msk.to_bytes().to_vec()),
        ("uk", uk.to_bytes().to_vec()),
        ("ct", ct.to_bytes()),
    ];
    fn decode(kind: &str, b: &[u8]) -> Result<(), DecodeError> {
        match kind {
            "pp" => PublicParams::from_bytes(b).map(|_| ()),
            "msk" => MasterKey::from_bytes(b).map(|_| ()),
            "uk" => UserKey::from_bytes(b).map(|_| ()),
            _ => Ciphertext::from_bytes(b).map(|_| ()),
        }
    }
    for (kind, bytes) in &encodings {
        decode(kind, bytes).unwrap();
        for cut in 0..bytes.len() {
            let e = decode(kind, &bytes[..cut]).unwrap_err();
            assert!(
                matches!(
                    e,
                    DecodeError::Truncated { .. }
                        | DecodeError::Policy(_)
                        | DecodeError::NotUtf8 { .. }
                        | DecodeError::OutOfRange { .. }
                ),
                "{kind} cut at {cut}: {e:?}"
            );
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(matches!(
            decode(kind, &long),
            Err(DecodeError::TrailingBytes { extra: 1, .. })
        ));
        let mut v2 = bytes.clone();
        v2[1] = 2;
        assert!(matches!(
            decode(kind, &v2),
            Err(DecodeError::UnsupportedVersion { found: 2, .. })
        ));
    }
    // A user key is not a ciphertext.
    assert!(matches!(
        Ciphertext::from_bytes(&encodings[2].1),
        Err(DecodeError::WrongKind { found: 0xA3, .. })
    ));
}

/// An x coordinate whose point is on the curve but outside the prime-order subgroup
/// (G1's cofactor is ~2^126, so the first on-curve x found almost surely works).
fn non_subgroup_g1() -> [u8; 48] {
    for x in 1u8..=255 {
        let mut b = [0u8; 48];
        b[0] = 0x80; // compressed flag
        b[47] = x;
        if let Some(p) =
            Option::<blstrs::G1Affine>::from(blstrs::G1Affine::from_compressed_unchecked(&b))
        {
            if !bool::from(p.is_torsion_free()) {
                return b;
            }
        }
    }
    panic!("no non-subgroup point found");
}

#[test]
fn points_outside_the_subgroup_and_invalid_points_are_rejected() {
    let mut rng = rng(8);
    let msk = clinic();
    let ct = wrap_key(
        msk.public_params(),
        &Policy::parse("a OR b").unwrap(),
        &DataKey::from_bytes([3; 32]),
        &mut rng,
    );
    let bytes = ct.to_bytes();
    let row_start = regions(bytes.len())[7].1.start;
    let mut bad = bytes.clone();
    bad[row_start..row_start + 48].copy_from_slice(&non_subgroup_g1());
    assert_eq!(
        Ciphertext::from_bytes(&bad),
        Err(DecodeError::NotInSubgroup {
            what: "ciphertext row"
        })
    );
    let mut bad = bytes.clone();
    bad[row_start..row_start + 48].copy_from_slice(&[0xff; 48]);
    assert_eq!(
        Ciphertext::from_bytes(&bad),
        Err(DecodeError::InvalidPoint {
            what: "ciphertext row"
        })
    );
    // Same for a user key's attribute part.
    let uk = msk.issue_key(&["a"], &mut rng).unwrap().to_bytes().to_vec();
    let pp_len = u16::from_be_bytes([uk[2], uk[3]]) as usize;
    let attr_part = 4 + pp_len + 2 + 2 + 1;
    let mut bad = uk.clone();
    bad[attr_part..attr_part + 48].copy_from_slice(&non_subgroup_g1());
    assert!(matches!(
        UserKey::from_bytes(&bad),
        Err(DecodeError::NotInSubgroup { .. })
    ));
}

/// A random monotone formula over distinct attributes `x0..x26`, as text.
fn arb_policy() -> impl Strategy<Value = String> {
    // Shapes: a tree of depth <= 3 with 1..=27 leaves; attributes are assigned in order so
    // none repeats.
    let leaf = Just(Shape::Leaf);
    leaf.prop_recursive(3, 8, 4, |inner| {
        (any::<bool>(), prop::collection::vec(inner, 2..4))
            .prop_map(|(and, children)| Shape::Gate(and, children))
    })
    .prop_map(|shape| {
        let mut next = 0;
        render(&shape, &mut next, true)
    })
}

#[derive(Clone, Debug)]
enum Shape {
    Leaf,
    Gate(bool, Vec<Shape>),
}

fn render(s: &Shape, next: &mut usize, top: bool) -> String {
    match s {
        Shape::Leaf => {
            *next += 1;
            format!("x{}", *next - 1)
        }
        Shape::Gate(and, cs) => {
            let op = if *and { " AND " } else { " OR " };
            let inner: Vec<String> = cs.iter().map(|c| render(c, next, false)).collect();
            if top {
                inner.join(op)
            } else {
                format!("({})", inner.join(op))
            }
        }
    }
}

/// Reference evaluation, independent of the crate: evaluates the text by recursive descent
/// on the test's own shape-free grammar (same language, no validation).
fn eval(text: &str, attrs: &[String]) -> bool {
    fn expr(toks: &[&str], pos: &mut usize, attrs: &[String]) -> bool {
        let mut acc = term(toks, pos, attrs);
        while let Some(op) = toks.get(*pos).copied() {
            if op == ")" {
                break;
            }
            *pos += 1;
            let rhs = term(toks, pos, attrs);
            acc = if op == "AND" { acc && rhs } else { acc || rhs };
        }
        acc
    }
    fn term(toks: &[&str], pos: &mut usize, attrs: &[String]) -> bool {
        let t = toks[*pos];
        *pos += 1;
        if t == "(" {
            let v = expr(toks, pos, attrs);
            *pos += 1; // ")"
            v
        } else {
            attrs.iter().any(|a| a == t)
        }
    }
    let spaced = text.replace('(', " ( ").replace(')', " ) ");
    let toks: Vec<&str> = spaced.split_whitespace().collect();
    let mut pos = 0;
    expr(&toks, &mut pos, attrs)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Decryption succeeds exactly for the attribute sets the policy accepts.
    #[test]
    fn decrypts_iff_policy_satisfied(text in arb_policy(), mask in any::<u32>(), seed in any::<u64>()) {
        let mut rng = rng(seed);
        let msk = clinic();
        let policy = Policy::parse(&text).unwrap();
        let mask = mask | (1 << 31);
        let attrs: Vec<String> = (0..32).filter(|i| mask & (1u32 << i) != 0).map(|i| format!("x{i}")).collect();
        let expected = eval(&text, &attrs);
        prop_assert_eq!(policy.is_satisfied_by(&attrs), expected);
        let dek = DataKey::from_bytes([seed as u8; 32]);
        let ct = wrap_key(msk.public_params(), &policy, &dek, &mut rng);
        let uk = msk.issue_key(&attrs, &mut rng).unwrap();
        let got = unwrap_key(&uk, &ct);
        if expected {
            prop_assert_eq!(got.unwrap(), dek);
        } else {
            prop_assert_eq!(got, Err(AbeError::PolicyNotSatisfied));
        }
        // Canonical text round-trips.
        prop_assert_eq!(Policy::parse(&policy.to_string()).unwrap(), policy);
    }
}
