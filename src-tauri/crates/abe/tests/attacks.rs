//! Known attacks on CP-ABE deployments, run against the public API (see SECURITY.md).
//!
//! Algebraic variants that need the crate's internals (the rabe-style known-discrete-log
//! attack, collusion checked on the GT value itself) are unit tests in `src/fame.rs`,
//! `src/hash.rs` and `src/kem.rs`.

use medwallet_abe::{
    unwrap_key, wrap_key, AbeError, Ciphertext, DataKey, DecodeError, MasterKey, Policy,
    PublicParams, UserKey,
};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

const G1_LEN: usize = 48;
const G2_LEN: usize = 96;

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn clinic() -> MasterKey {
    MasterKey::from_seed(&[21; 32], "clinic:attacks").unwrap()
}

fn wrap(msk: &MasterKey, policy: &str, dek: u8, seed: u64) -> Ciphertext {
    wrap_key(
        msk.public_params(),
        &Policy::parse(policy).unwrap(),
        &DataKey::from_bytes([dek; 32]),
        &mut rng(seed),
    )
}

/// The compressed encoding of the identity (point at infinity): infinity and compression
/// flags set, everything else zero.
fn identity(len: usize) -> Vec<u8> {
    let mut b = vec![0u8; len];
    b[0] = 0xc0;
    b
}

// ---- wire-format surgery (layouts from `src/format.rs`) ----

/// A ciphertext split into its fields.
#[derive(Clone)]
struct CtParts {
    authority: Vec<u8>,
    policy: String,
    ct0: Vec<u8>,
    rows: Vec<Vec<u8>>,
    masked: Vec<u8>,
    sealed: Vec<u8>,
}

fn u16_at(b: &[u8], at: usize) -> usize {
    u16::from_be_bytes([b[at], b[at + 1]]) as usize
}

fn split_ct(b: &[u8]) -> CtParts {
    let authority = b[2..34].to_vec();
    let plen = u16_at(b, 34);
    let policy = String::from_utf8(b[36..36 + plen].to_vec()).unwrap();
    let mut at = 36 + plen;
    let ct0 = b[at..at + 3 * G2_LEN].to_vec();
    at += 3 * G2_LEN;
    let n = u16_at(b, at);
    at += 2;
    let rows = (0..n)
        .map(|i| b[at + i * 3 * G1_LEN..at + (i + 1) * 3 * G1_LEN].to_vec())
        .collect();
    at += n * 3 * G1_LEN;
    let masked = b[at..at + 32].to_vec();
    let sealed = b[at + 32..].to_vec();
    assert_eq!(sealed.len(), 48);
    CtParts {
        authority,
        policy,
        ct0,
        rows,
        masked,
        sealed,
    }
}

fn join_ct(p: &CtParts) -> Vec<u8> {
    let mut out = vec![0xA4, 1];
    out.extend_from_slice(&p.authority);
    out.extend_from_slice(&(p.policy.len() as u16).to_be_bytes());
    out.extend_from_slice(p.policy.as_bytes());
    out.extend_from_slice(&p.ct0);
    out.extend_from_slice(&(p.rows.len() as u16).to_be_bytes());
    for r in &p.rows {
        out.extend_from_slice(r);
    }
    out.extend_from_slice(&p.masked);
    out.extend_from_slice(&p.sealed);
    out
}

/// `(offset, len, field)` of each group element in an encoding.
type Points = Vec<(usize, usize, &'static str)>;

/// Offsets of every group element in a user-key encoding.
fn user_key_points(b: &[u8]) -> Points {
    let pp_len = u16_at(b, 2);
    let mut out: Points = public_params_points(&b[4..4 + pp_len])
        .into_iter()
        .map(|(o, l, w)| (o + 4, l, w))
        .collect();
    let mut at = 4 + pp_len;
    let n = u16_at(b, at);
    at += 2;
    for _ in 0..n {
        at += 2 + u16_at(b, at);
        for _ in 0..3 {
            out.push((at, G1_LEN, "attribute key"));
            at += G1_LEN;
        }
    }
    for _ in 0..3 {
        out.push((at, G2_LEN, "sk0"));
        at += G2_LEN;
    }
    for _ in 0..3 {
        out.push((at, G1_LEN, "sk'"));
        at += G1_LEN;
    }
    assert_eq!(at, b.len());
    out
}

fn public_params_points(b: &[u8]) -> Points {
    let at = 4 + u16_at(b, 2);
    let names = ["h^a1", "h^a2", "K1", "K2"];
    let out: Vec<_> = (0..4)
        .map(|k| (at + k * G2_LEN, G2_LEN, names[k]))
        .collect();
    assert_eq!(at + 4 * G2_LEN, b.len());
    out
}

fn ciphertext_points(b: &[u8]) -> Points {
    let mut at = 36 + u16_at(b, 34);
    let mut out = Vec::new();
    for _ in 0..3 {
        out.push((at, G2_LEN, "ct0"));
        at += G2_LEN;
    }
    let n = u16_at(b, at);
    at += 2;
    for _ in 0..3 * n {
        out.push((at, G1_LEN, "ciphertext row"));
        at += G1_LEN;
    }
    assert_eq!(at + 32 + 48, b.len());
    out
}

// ---- identity points ----

/// Every group element of every encoding, replaced by the identity, is refused with the
/// typed `Identity` error naming the field, before any other use of the object. Accepting
/// it would be unsafe at least for public parameters: `K1 = K2 = 1` makes the key of every
/// ciphertext encrypted to them `e(g^{s1}, 1) e(g^{s2}, 1) = 1`, i.e. public.
#[test]
fn identity_in_every_position_of_every_encoding_is_rejected() {
    let mut rng = rng(1);
    let msk = clinic();
    let pp = msk.public_params().to_bytes();
    let uk = msk
        .issue_key(&["a", "b", "role:doctor"], &mut rng)
        .unwrap()
        .to_bytes()
        .to_vec();
    let ct = wrap(&msk, "(a AND b) OR role:doctor", 1, 2).to_bytes();

    let mut checked = 0;
    let cases: [(&str, &Vec<u8>, Points); 3] = [
        ("public params", &pp, public_params_points(&pp)),
        ("user key", &uk, user_key_points(&uk)),
        ("ciphertext", &ct, ciphertext_points(&ct)),
    ];
    for (kind, bytes, points) in cases {
        for (at, len, field) in points {
            let mut bad = bytes.clone();
            bad[at..at + len].copy_from_slice(&identity(len));
            let err = match kind {
                "public params" => PublicParams::from_bytes(&bad).err(),
                "user key" => UserKey::from_bytes(&bad).err(),
                _ => Ciphertext::from_bytes(&bad).err(),
            };
            assert_eq!(
                err,
                Some(DecodeError::Identity { what: field }),
                "{kind}: identity at byte {at}"
            );
            checked += 1;
        }
    }
    // 4 (pp) + 4 + 9 + 3 + 3 (user key) + 3 + 9 (ciphertext).
    assert_eq!(checked, 35);
}

/// The master key has no points but scalars: zero `a_t`/`b_t` (which KeyGen inverts or
/// which would make `h^{a_t}` the identity) are refused; zero `d`s are legal (FAME samples
/// them from Z_p) but `d_t a_t + d3 = 0` would make `K_t` the identity and is refused too.
#[test]
fn zero_and_degenerate_master_scalars_are_rejected() {
    let msk = clinic();
    let bytes = msk.to_bytes().to_vec();
    let at = 4 + u16_at(&bytes, 2);
    for k in 0..7 {
        let mut bad = bytes.clone();
        bad[at + 32 * k..at + 32 * (k + 1)].fill(0);
        let r = MasterKey::from_bytes(&bad);
        if k < 4 {
            assert!(
                matches!(r, Err(DecodeError::InvalidScalar { .. })),
                "scalar {k}"
            );
        } else {
            assert!(r.is_ok(), "d scalar {k} may be zero");
        }
    }
    // a1 = 1, d1 = r - 1, d3 = 1: d1 a1 + d3 = 0, so K1 would be the identity.
    let mut bad = bytes.clone();
    let one = {
        let mut b = [0u8; 32];
        b[31] = 1;
        b
    };
    // r - 1, big-endian.
    let r_minus_1 = hex32("73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000000");
    bad[at..at + 32].copy_from_slice(&one); // a1
    bad[at + 4 * 32..at + 5 * 32].copy_from_slice(&r_minus_1); // d1
    bad[at + 6 * 32..at + 7 * 32].copy_from_slice(&one); // d3
    assert!(matches!(
        MasterKey::from_bytes(&bad),
        Err(DecodeError::InvalidScalar { .. })
    ));
}

fn hex32(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

// ---- collusion ----

/// Three users, none satisfying `(a AND b) OR (c AND d)` alone, pool their keys by
/// splicing their encodings: every combination of whose `sk0`, whose `sk'` and whose
/// attribute parts fails, including a pooled key that holds every attribute.
#[test]
fn collusion_of_users_by_splicing_key_encodings_fails() {
    let mut rng = rng(3);
    let msk = clinic();
    let ct = wrap(&msk, "(a AND b) OR (c AND d)", 7, 4);
    let users = [
        msk.issue_key(&["a", "c"], &mut rng).unwrap(),
        msk.issue_key(&["b"], &mut rng).unwrap(),
        msk.issue_key(&["d", "x"], &mut rng).unwrap(),
    ];
    for u in &users {
        assert_eq!(unwrap_key(u, &ct), Err(AbeError::PolicyNotSatisfied));
    }
    // Each user's encoding: attribute entries (name, 3 points) plus sk0 and sk'.
    struct Parts {
        pp: Vec<u8>,
        attrs: Vec<(String, Vec<u8>)>,
        sk0: Vec<u8>,
        skp: Vec<u8>,
    }
    let parse = |uk: &UserKey| -> Parts {
        let b = uk.to_bytes().to_vec();
        let pp_len = u16_at(&b, 2);
        let pp = b[4..4 + pp_len].to_vec();
        let mut at = 4 + pp_len;
        let n = u16_at(&b, at);
        at += 2;
        let mut attrs = Vec::new();
        for _ in 0..n {
            let l = u16_at(&b, at);
            let name = String::from_utf8(b[at + 2..at + 2 + l].to_vec()).unwrap();
            at += 2 + l;
            attrs.push((name, b[at..at + 3 * G1_LEN].to_vec()));
            at += 3 * G1_LEN;
        }
        let sk0 = b[at..at + 3 * G2_LEN].to_vec();
        let skp = b[at + 3 * G2_LEN..].to_vec();
        Parts {
            pp,
            attrs,
            sk0,
            skp,
        }
    };
    let parts: Vec<Parts> = users.iter().map(parse).collect();
    let build = |attrs: &[(String, Vec<u8>)], sk0: &[u8], skp: &[u8]| -> UserKey {
        let mut attrs = attrs.to_vec();
        attrs.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = vec![0xA3, 1];
        out.extend_from_slice(&(parts[0].pp.len() as u16).to_be_bytes());
        out.extend_from_slice(&parts[0].pp);
        out.extend_from_slice(&(attrs.len() as u16).to_be_bytes());
        for (name, pts) in &attrs {
            out.extend_from_slice(&(name.len() as u16).to_be_bytes());
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(pts);
        }
        out.extend_from_slice(sk0);
        out.extend_from_slice(skp);
        UserKey::from_bytes(&out).unwrap()
    };
    let pooled: Vec<(String, Vec<u8>)> = parts.iter().flat_map(|p| p.attrs.clone()).collect();
    let mut tried = 0;
    for sk0_from in &parts {
        for skp_from in &parts {
            // Everything pooled, and each minimal satisfying subset.
            for want in [&["a", "b", "c", "d", "x"][..], &["a", "b"], &["c", "d"]] {
                let attrs: Vec<_> = pooled
                    .iter()
                    .filter(|(n, _)| want.contains(&n.as_str()))
                    .cloned()
                    .collect();
                let forged = build(&attrs, &sk0_from.sk0, &skp_from.skp);
                assert_eq!(unwrap_key(&forged, &ct), Err(AbeError::Rejected));
                tried += 1;
            }
        }
    }
    assert_eq!(tried, 27);
    // Sanity: the splicing itself is sound (a user's own parts re-assembled still work).
    let own = build(&parts[0].attrs, &parts[0].sk0, &parts[0].skp);
    let ct_ac = wrap(&msk, "a AND c", 8, 5);
    assert_eq!(
        unwrap_key(&own, &ct_ac).unwrap(),
        DataKey::from_bytes([8; 32])
    );
}

// ---- another authority ----

/// A key of authority B for the same attribute names, with its embedded public parameters
/// replaced by authority A's (so the authority check passes), cannot open A's ciphertext:
/// B's attribute hashes carry B's id as RFC 9380 `aug` and B's master secrets.
#[test]
fn key_of_another_authority_relabelled_in_its_encoding_fails() {
    let mut rng = rng(6);
    let a = MasterKey::from_seed(&[1; 32], "patient:0xaaaa").unwrap();
    let b = MasterKey::from_seed(&[2; 32], "patient:0xbbbb").unwrap();
    let ct = wrap(&a, "careteam OR family", 3, 7);
    let kb = b.issue_key(&["careteam", "family"], &mut rng).unwrap();
    assert_eq!(unwrap_key(&kb, &ct), Err(AbeError::WrongAuthority));

    let kb_bytes = kb.to_bytes().to_vec();
    let pp_len = u16_at(&kb_bytes, 2);
    let pp_a = a.public_params().to_bytes();
    let mut forged = vec![0xA3, 1];
    forged.extend_from_slice(&(pp_a.len() as u16).to_be_bytes());
    forged.extend_from_slice(&pp_a);
    forged.extend_from_slice(&kb_bytes[4 + pp_len..]);
    let forged = UserKey::from_bytes(&forged).unwrap();
    assert_eq!(forged.authority_id(), a.public_params().authority_id());
    assert_eq!(unwrap_key(&forged, &ct), Err(AbeError::Rejected));
    // And the same same-named parameters with another seed are another authority.
    let a2 = MasterKey::from_seed(&[3; 32], "patient:0xaaaa").unwrap();
    assert_ne!(
        a2.public_params().authority_id(),
        a.public_params().authority_id()
    );
}

// ---- re-targeted ciphertexts ----

/// A ciphertext for `a AND b` re-targeted to a policy the attacker satisfies: rows dropped
/// (`a`), the operator flipped (`a OR b`, same matrix size but other shares) or the
/// attributes renamed. The attacker holds only `a`. All are rejected.
#[test]
fn ciphertext_retargeted_to_another_policy_is_rejected() {
    let mut rng = rng(8);
    let msk = clinic();
    let ct = wrap(&msk, "a AND b", 4, 9);
    let only_a = msk.issue_key(&["a"], &mut rng).unwrap();
    let holds_c = msk.issue_key(&["a", "c"], &mut rng).unwrap();
    assert_eq!(unwrap_key(&only_a, &ct), Err(AbeError::PolicyNotSatisfied));
    let parts = split_ct(&ct.to_bytes());
    assert_eq!(parts.rows.len(), 2);

    let mut attempts: Vec<CtParts> = Vec::new();
    // Drop row b, keep row a (row 0 is `a`, see `Policy::attributes` order).
    for keep in 0..2 {
        let mut p = parts.clone();
        p.policy = "a".into();
        p.rows = vec![parts.rows[keep].clone()];
        attempts.push(p);
    }
    // AND -> OR with the same rows.
    let mut p = parts.clone();
    p.policy = "a OR b".into();
    attempts.push(p);
    // Rename b to c (the attacker holds c).
    let mut p = parts.clone();
    p.policy = "a AND c".into();
    attempts.push(p);
    // Wrap the original in an OR with an attribute the attacker holds.
    let mut p = parts.clone();
    p.policy = "(a AND b) OR c".into();
    p.rows.push(parts.rows[0].clone());
    attempts.push(p);

    for p in attempts {
        let ct = Ciphertext::from_bytes(&join_ct(&p)).unwrap();
        for uk in [&only_a, &holds_c] {
            let r = unwrap_key(uk, &ct);
            assert!(
                matches!(r, Err(AbeError::Rejected | AbeError::PolicyNotSatisfied)),
                "{}: {r:?}",
                p.policy
            );
        }
    }
}

/// "Swapped capsule": the parts of two ciphertexts mixed. The attacker can open `ct_a`
/// (policy `a`) but not `ct_b` (policy `b`); any mix of `ct0`, rows, masked sigma, sealed
/// DEK and policy taken from either ciphertext fails, and `ct_b`'s DEK never comes out.
#[test]
fn swapped_capsule_parts_are_rejected() {
    let mut rng = rng(10);
    let msk = clinic();
    let ct_a = split_ct(&wrap(&msk, "a", 0xaa, 11).to_bytes());
    let ct_b = split_ct(&wrap(&msk, "b", 0xbb, 12).to_bytes());
    let uk = msk.issue_key(&["a"], &mut rng).unwrap();
    let pick = |bit: bool| if bit { &ct_b } else { &ct_a };
    let mut opened = 0;
    for mask in 0u8..32 {
        let p = CtParts {
            authority: ct_a.authority.clone(),
            policy: pick(mask & 1 != 0).policy.clone(),
            ct0: pick(mask & 2 != 0).ct0.clone(),
            rows: pick(mask & 4 != 0).rows.clone(),
            masked: pick(mask & 8 != 0).masked.clone(),
            sealed: pick(mask & 16 != 0).sealed.clone(),
        };
        let ct = Ciphertext::from_bytes(&join_ct(&p)).unwrap();
        match unwrap_key(&uk, &ct) {
            Ok(dek) => {
                assert_eq!(mask, 0, "only the untouched ct_a opens");
                assert_eq!(dek, DataKey::from_bytes([0xaa; 32]));
                opened += 1;
            }
            Err(e) => assert!(
                matches!(e, AbeError::Rejected | AbeError::PolicyNotSatisfied),
                "{mask:05b}: {e:?}"
            ),
        }
    }
    assert_eq!(opened, 1);
}

/// A ciphertext's rows replayed under another ciphertext's `ct0` for the *same* policy (so
/// the matrix matches): the mixed coins give neither ciphertext's key.
#[test]
fn ct0_replayed_with_rows_of_another_ciphertext_same_policy_is_rejected() {
    let mut rng = rng(13);
    let msk = clinic();
    let c1 = split_ct(&wrap(&msk, "a OR b", 1, 14).to_bytes());
    let c2 = split_ct(&wrap(&msk, "a OR b", 2, 15).to_bytes());
    let uk = msk.issue_key(&["a"], &mut rng).unwrap();
    for (ct0, masked, sealed) in [
        (&c1.ct0, &c1.masked, &c1.sealed),
        (&c1.ct0, &c2.masked, &c2.sealed),
        (&c2.ct0, &c2.masked, &c2.sealed),
        (&c2.ct0, &c1.masked, &c1.sealed),
    ] {
        let mut p = c1.clone();
        // Row for `a` from c2, row for `b` from c1.
        p.rows[0] = c2.rows[0].clone();
        p.ct0 = ct0.clone();
        p.masked = masked.clone();
        p.sealed = sealed.clone();
        let ct = Ciphertext::from_bytes(&join_ct(&p)).unwrap();
        let r = unwrap_key(&uk, &ct);
        // Only (c2.ct0, c2 row a, c2 masked, c2 sealed) is consistent for a holder of `a`,
        // but the header differs from c2's (row b is c1's), so the AEAD tag fails.
        assert_eq!(r, Err(AbeError::Rejected));
    }
}
