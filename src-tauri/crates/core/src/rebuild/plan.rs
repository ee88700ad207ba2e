//! What the ledger says about a wallet, folded from its events (oldest first) into what
//! a rebuild brings back: its records and their versions, its grants, the keys its
//! authority issued and the parameters it published. Pure: no node, no store.

use std::collections::BTreeMap;

use medwallet_ledger::{Address, Bytes, EventMeta, LedgerEvent, B256};

/// One version of a record, as registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VersionPlan {
    pub version: u32,
    pub manifest_cid: Bytes,
    /// The capsules the ledger names for this version, oldest first: the registration's,
    /// then each grant's and revocation's re-wrap while it was the latest version. The
    /// last is the current one.
    pub capsules: Vec<Bytes>,
    /// The registration.
    pub registered: EventMeta,
}

/// A record the wallet owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RecordPlan {
    pub id: B256,
    /// The clinic that registered it for the patient (`RecordUploaded`).
    pub uploaded_by: Option<Address>,
    pub versions: BTreeMap<u32, VersionPlan>,
}

impl RecordPlan {
    /// The latest version's number.
    pub fn latest(&self) -> u32 {
        self.versions.keys().next_back().copied().unwrap_or(1)
    }
}

/// One grant, from its `AccessGranted` to its `AccessRevoked` if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GrantPlan {
    pub record_id: B256,
    pub grantee: Address,
    pub clause_hash: B256,
    pub expiry: u64,
    /// The capsule the grant re-wrapped (it includes the grantee).
    pub capsule_cid: Bytes,
    pub granted: EventMeta,
    /// The revocation, and the record's latest version then (made without the grantee).
    pub revoked: Option<(EventMeta, u32)>,
}

/// A key this wallet's authority issued (`KeyIssued`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyPlan {
    pub holder: Address,
    pub key_cid: Bytes,
    pub issued: EventMeta,
}

/// Everything a rebuild needs from the ledger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    pub records: BTreeMap<B256, RecordPlan>,
    pub grants: Vec<GrantPlan>,
    /// Every key the wallet issued, oldest first.
    pub keys: Vec<KeyPlan>,
    /// The parameters the wallet published, oldest first.
    pub authority: Vec<(Bytes, EventMeta)>,
    /// The wallet's latest `IdentityPublished`.
    pub identity: Option<EventMeta>,
}

impl Plan {
    /// Folds `me`'s events, oldest first. Events of other wallets' records (where `me`
    /// is a grantee or an accessor) are not the wallet's to rebuild and are skipped.
    pub fn of(events: &[(EventMeta, LedgerEvent)], me: Address) -> Plan {
        let mut plan = Plan::default();
        for (meta, event) in events {
            match event {
                LedgerEvent::RecordRegistered {
                    record_id,
                    owner,
                    version,
                    manifest_cid,
                    capsule_cid,
                }
                | LedgerEvent::RecordUpdated {
                    record_id,
                    owner,
                    version,
                    manifest_cid,
                    capsule_cid,
                } if *owner == me => {
                    plan.version(*record_id, None, *version, manifest_cid, capsule_cid, meta);
                }
                LedgerEvent::RecordUploaded {
                    record_id,
                    owner,
                    author,
                    manifest_cid,
                    capsule_cid,
                } if *owner == me => {
                    plan.version(
                        *record_id,
                        Some(*author),
                        1,
                        manifest_cid,
                        capsule_cid,
                        meta,
                    );
                }
                LedgerEvent::AccessGranted {
                    record_id,
                    owner,
                    grantee,
                    clause_hash,
                    capsule_cid,
                    expiry,
                } if *owner == me => {
                    plan.rewrapped(*record_id, capsule_cid);
                    // A grant again while one is open (a new expiry) replaces it.
                    plan.grants.retain(|g| {
                        !(g.record_id == *record_id
                            && g.grantee == *grantee
                            && g.clause_hash == *clause_hash
                            && g.revoked.is_none())
                    });
                    plan.grants.push(GrantPlan {
                        record_id: *record_id,
                        grantee: *grantee,
                        clause_hash: *clause_hash,
                        expiry: *expiry,
                        capsule_cid: capsule_cid.clone(),
                        granted: *meta,
                        revoked: None,
                    });
                }
                LedgerEvent::AccessRevoked {
                    record_id,
                    owner,
                    grantee,
                    clause_hash,
                    new_capsule_cid,
                } if *owner == me => {
                    plan.rewrapped(*record_id, new_capsule_cid);
                    let latest = plan.records.get(record_id).map_or(1, RecordPlan::latest);
                    if let Some(g) = plan.grants.iter_mut().rev().find(|g| {
                        g.record_id == *record_id
                            && g.grantee == *grantee
                            && g.clause_hash == *clause_hash
                            && g.revoked.is_none()
                    }) {
                        g.revoked = Some((*meta, latest));
                    }
                }
                LedgerEvent::KeyIssued {
                    authority,
                    holder,
                    key_cid,
                    ..
                } if *authority == me => plan.keys.push(KeyPlan {
                    holder: *holder,
                    key_cid: key_cid.clone(),
                    issued: *meta,
                }),
                LedgerEvent::AuthorityPublished {
                    authority,
                    params_cid,
                    ..
                } if *authority == me => plan.authority.push((params_cid.clone(), *meta)),
                LedgerEvent::IdentityPublished { account, .. } if *account == me => {
                    plan.identity = Some(*meta);
                }
                _ => {}
            }
        }
        plan
    }

    fn version(
        &mut self,
        id: B256,
        author: Option<Address>,
        version: u32,
        manifest_cid: &Bytes,
        capsule_cid: &Bytes,
        meta: &EventMeta,
    ) {
        let record = self.records.entry(id).or_insert_with(|| RecordPlan {
            id,
            uploaded_by: author,
            versions: BTreeMap::new(),
        });
        record.versions.insert(
            version,
            VersionPlan {
                version,
                manifest_cid: manifest_cid.clone(),
                capsules: vec![capsule_cid.clone()],
                registered: *meta,
            },
        );
    }

    /// A grant or revocation re-wrapped the record's latest version under a new capsule.
    fn rewrapped(&mut self, id: B256, capsule_cid: &Bytes) {
        if let Some(v) = self
            .records
            .get_mut(&id)
            .and_then(|r| r.versions.values_mut().next_back())
        {
            if v.capsules.last() != Some(capsule_cid) {
                v.capsules.push(capsule_cid.clone());
            }
        }
    }

    /// The latest key issued to each holder, with every earlier one (oldest first).
    pub fn keys_by_holder(&self) -> BTreeMap<Address, Vec<&KeyPlan>> {
        let mut out: BTreeMap<Address, Vec<&KeyPlan>> = BTreeMap::new();
        for k in &self.keys {
            out.entry(k.holder).or_default().push(k);
        }
        out
    }
}

/// The clause texts a policy's text could have been made of: it is the OR of the
/// clauses granted under one authority, each in parentheses (`(a) OR (b AND c)`), so its
/// top-level OR terms, and their unions (a clause may itself be an OR), are the
/// candidates. Their hashes are compared with the ledger's: a match is the check.
pub(crate) fn clause_candidates(policy: &str) -> Vec<String> {
    let terms = top_level_terms(policy);
    // At most 2^10 unions; a part with more terms is tried term by term and whole.
    let mut out: Vec<String> = Vec::new();
    if terms.len() <= 10 {
        for mask in 1u32..(1 << terms.len()) {
            let chosen: Vec<&str> = terms
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, t)| t.as_str())
                .collect();
            out.push(chosen.join(" OR "));
        }
    } else {
        out.extend(terms.iter().cloned());
        out.push(policy.to_owned());
    }
    out
}

/// The terms of a policy's top-level OR, each without its enclosing parentheses.
fn top_level_terms(policy: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut depth = 0usize;
    let mut quoted = false;
    let mut start = 0;
    let bytes = policy.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => quoted = !quoted,
            b'(' if !quoted => depth += 1,
            b')' if !quoted => depth = depth.saturating_sub(1),
            b' ' if !quoted && depth == 0 && policy[i..].starts_with(" OR ") => {
                terms.push(policy[start..i].to_owned());
                i += 4;
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    terms.push(policy[start..].to_owned());
    terms.into_iter().map(|t| unwrap_parens(t.trim())).collect()
}

/// `(x)` → `x` when the parentheses enclose all of it.
fn unwrap_parens(term: &str) -> String {
    let mut t = term;
    while t.starts_with('(') && t.ends_with(')') {
        let inner = &t[1..t.len() - 1];
        let mut depth = 0i32;
        let mut quoted = false;
        let encloses = inner.chars().all(|c| {
            match c {
                '"' => quoted = !quoted,
                '(' if !quoted => depth += 1,
                ')' if !quoted => depth -= 1,
                _ => {}
            }
            depth >= 0
        });
        if !encloses {
            break;
        }
        t = inner.trim();
    }
    t.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(block: u64) -> EventMeta {
        EventMeta {
            block_number: block,
            block_hash: B256::repeat_byte(1),
            parent_hash: B256::repeat_byte(2),
            tx_hash: B256::repeat_byte(block as u8),
            log_index: 0,
            sender: Address::repeat_byte(9),
            block_time: 1_000 + block,
        }
    }

    fn cid(n: u8) -> Bytes {
        Bytes::from(vec![n])
    }

    #[test]
    fn versions_capsules_and_grants_fold_in_chain_order() {
        let me = Address::repeat_byte(1);
        let other = Address::repeat_byte(2);
        let doctor = Address::repeat_byte(3);
        let r = B256::repeat_byte(7);
        let theirs = B256::repeat_byte(8);
        let events = vec![
            (
                meta(1),
                LedgerEvent::RecordRegistered {
                    record_id: r,
                    owner: me,
                    version: 1,
                    manifest_cid: cid(1),
                    capsule_cid: cid(2),
                },
            ),
            (
                meta(2),
                LedgerEvent::AccessGranted {
                    record_id: r,
                    owner: me,
                    grantee: doctor,
                    clause_hash: B256::ZERO,
                    capsule_cid: cid(3),
                    expiry: 0,
                },
            ),
            (
                meta(3),
                LedgerEvent::RecordUpdated {
                    record_id: r,
                    owner: me,
                    version: 2,
                    manifest_cid: cid(4),
                    capsule_cid: cid(5),
                },
            ),
            (
                meta(4),
                LedgerEvent::AccessRevoked {
                    record_id: r,
                    owner: me,
                    grantee: doctor,
                    clause_hash: B256::ZERO,
                    new_capsule_cid: cid(5),
                },
            ),
            (
                meta(5),
                LedgerEvent::AccessGranted {
                    record_id: r,
                    owner: me,
                    grantee: doctor,
                    clause_hash: B256::ZERO,
                    capsule_cid: cid(6),
                    expiry: 99,
                },
            ),
            // Someone else's record shared with me: not mine to rebuild.
            (
                meta(6),
                LedgerEvent::AccessGranted {
                    record_id: theirs,
                    owner: other,
                    grantee: me,
                    clause_hash: B256::ZERO,
                    capsule_cid: cid(9),
                    expiry: 0,
                },
            ),
            (
                meta(7),
                LedgerEvent::KeyIssued {
                    authority: me,
                    holder: doctor,
                    key_cid: cid(10),
                    epoch: 1,
                },
            ),
            (
                meta(8),
                LedgerEvent::KeyIssued {
                    authority: other,
                    holder: me,
                    key_cid: cid(11),
                    epoch: 1,
                },
            ),
        ];
        let plan = Plan::of(&events, me);
        assert_eq!(plan.records.len(), 1);
        let record = &plan.records[&r];
        assert_eq!(record.latest(), 2);
        assert_eq!(record.versions[&1].capsules, vec![cid(2), cid(3)]);
        assert_eq!(record.versions[&2].capsules, vec![cid(5), cid(6)]);
        assert_eq!(plan.grants.len(), 2);
        assert_eq!(
            plan.grants[0].revoked.map(|(m, v)| (m.block_number, v)),
            Some((4, 2))
        );
        assert_eq!(plan.grants[1].revoked, None);
        assert_eq!(plan.grants[1].expiry, 99);
        assert_eq!(plan.keys.len(), 1);
        assert_eq!(plan.keys_by_holder()[&doctor].len(), 1);
    }

    #[test]
    fn a_grant_again_replaces_the_open_one() {
        let me = Address::repeat_byte(1);
        let r = B256::repeat_byte(7);
        let grant = |expiry| LedgerEvent::AccessGranted {
            record_id: r,
            owner: me,
            grantee: Address::repeat_byte(3),
            clause_hash: B256::ZERO,
            capsule_cid: cid(3),
            expiry,
        };
        let events = vec![
            (
                meta(1),
                LedgerEvent::RecordRegistered {
                    record_id: r,
                    owner: me,
                    version: 1,
                    manifest_cid: cid(1),
                    capsule_cid: cid(2),
                },
            ),
            (meta(2), grant(10)),
            (meta(3), grant(20)),
        ];
        let plan = Plan::of(&events, me);
        assert_eq!(plan.grants.len(), 1);
        assert_eq!(plan.grants[0].expiry, 20);
        assert_eq!(plan.records[&r].versions[&1].capsules, vec![cid(2), cid(3)]);
    }

    #[test]
    fn clause_candidates_cover_every_union_of_top_level_terms() {
        let c =
            clause_candidates("(role:doctor AND dept:cardiology) OR (role:nurse OR role:midwife)");
        assert!(c.contains(&"role:doctor AND dept:cardiology".to_owned()));
        assert!(c.contains(&"role:nurse OR role:midwife".to_owned()));
        let flat = clause_candidates("role:doctor OR role:nurse OR \"a OR b\"");
        assert!(flat.contains(&"role:doctor OR role:nurse".to_owned()));
        assert!(flat.contains(&"\"a OR b\"".to_owned()));
        assert_eq!(
            clause_candidates("role:doctor"),
            vec!["role:doctor".to_owned()]
        );
        assert_eq!(unwrap_parens("(a) OR (b)"), "(a) OR (b)");
        assert_eq!(unwrap_parens("((a OR b))"), "a OR b");
        // Unbalanced or odd input never panics.
        for odd in ["", ")(", "((", " OR ", "\"", "a OR", "(a OR b"] {
            let _ = clause_candidates(odd);
        }
    }
}
