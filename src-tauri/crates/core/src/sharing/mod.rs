//! Sharing a patient's records with people, and taking access back (DESIGN.md §7).
//!
//! **Grant** (queued in `grants`, run by the outbox with the unlocked wallet):
//! 1. the wallet publishes its identity and its authority's public parameters on the
//!    contract, once per contract ([`directory::publish_self`]);
//! 2. if the grantee holds no key from this wallet's authority, one is issued
//!    (`id:<grantee>`), sealed with HPKE to the key the grantee published
//!    (`medwallet_records::issued_key`), stored on IPFS and announced with `issueKey`;
//!    its CID is kept before the transaction, so a retry announces the same key;
//! 3. the record's data key is re-wrapped under `id:<owner> OR id:<grantee> OR ...`
//!    (everyone granted and not being revoked), the capsule stored on IPFS, and
//!    `grantAccess` sent with the expiry: the grants due to one grantee under one clause
//!    and expiry go out together (`grantAccessBatch`, as few transactions as fit).
//!
//! **Revoke** (also queued): a new version under a new data key, the content re-encrypted
//! chunk by chunk (plaintext never touches the disk; [`revision`]), its capsule without
//! the revoked people; the records outbox uploads and registers it (`updateRecord`); then
//! `revokeAccess` names its capsule, the older versions' objects are unpinned, and the
//! exposure report is computed from the ledger's events ([`exposure`]). The revocations a
//! pass finds due together run in batches ([`reencrypt`]): their records re-encrypted and
//! uploaded four at a time, their versions registered in one outbox run, one
//! `revokeAccessBatch` per grantee and clause ([`revoke`]), one garbage collection for
//! the versions they replace.
//!
//! **Expiry**: grants whose expiry passed are revoked the same way when the wallet is next
//! unlocked and online; the doctor's wallet refuses them before that ([`inbox`]).
//!
//! Each step can be run again after a failure or a crash: a key's envelope CID is kept
//! before its `issueKey`, a revision's version is kept with the revocations it is for, a
//! revocation's `revokeAccess` transaction is kept once mined (never sent again), a
//! revocation refused as `NoSuchGrant` counts as done. A crash between a mined
//! `grantAccess` and its note here re-wraps the capsule (wrapping is randomised) and
//! sends a second `AccessGranted` for the same grant: harmless, and visible in the trail.
//! So a node that is down delays work and loses none. One pass runs at a time.

pub(crate) mod emergency;
pub(crate) mod exposure;
pub(crate) mod grant;
pub(crate) mod groups;
pub(crate) mod pace;
mod pass;
pub mod reencrypt;
pub(crate) mod revision;
pub(crate) mod revoke;

use medwallet_abe::Policy;
use medwallet_api::{ClauseText, GrantState, GrantSummary, SharePreview, ShareRequest};
use medwallet_ledger::Address;
use medwallet_records::capsule;
use medwallet_vault::ShareCode;
use url::Url;

use grant::parse_clause;

use crate::error::{Answer, CoreError, SharingError, Task};
use crate::ledger::directory;
use crate::ledger::{now_unix, parse_address, rfc3339, LedgerTarget};
use crate::records::RecordService;
use crate::session::Owner;
use crate::store::grants::{GrantPhase, GrantRow};
use crate::store::RecordStore;

/// Why a sharing step waits, and whether a node itself failed (then the rest waits for
/// the next pass): the same failure as every queued step's.
pub(crate) use crate::ledger::StepFailure as Failure;

/// Who a share request names.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// A person, under the owner's authority.
    Person(Address),
    /// A role at a clinic: a clause (canonical text) under the clinic's authority.
    Clause {
        clinic: Address,
        clause: String,
        policy: Policy,
    },
    /// One of the owner's groups (`owner` is the owner's address: the group's authority).
    Group { owner: Address, name: String },
}

impl Target {
    fn grantee(&self) -> Address {
        match self {
            Target::Person(a)
            | Target::Clause { clinic: a, .. }
            | Target::Group { owner: a, .. } => *a,
        }
    }

    /// The `clause` column: the clinic's clause, or the group's name.
    fn clause(&self) -> Option<&str> {
        match self {
            Target::Person(_) => None,
            Target::Clause { clause, .. } => Some(clause),
            Target::Group { name, .. } => Some(name),
        }
    }
}

/// A pasted share code, read and its signature checked; `None` when the text is not one
/// (an address).
pub(crate) fn share_code(text: &str) -> Answer<Option<ShareCode>> {
    if !text.trim().starts_with(medwallet_vault::share_code::PREFIX) {
        return Ok(None);
    }
    Ok(Some(ShareCode::parse(text)?))
}

/// A share code is for this ledger and signed by the key its address published.
pub(crate) fn check_share_code(
    code: &ShareCode,
    published: &directory::Published,
    chain_id: u64,
) -> Answer<()> {
    if code.chain_id != chain_id {
        return Err(SharingError::ChainMismatch {
            code: code.chain_id,
            ledger: chain_id,
        }
        .into());
    }
    if code.ed25519_public != published.ed25519_key {
        return Err(SharingError::NotSignedBy {
            address: code.address.clone(),
        }
        .into());
    }
    // The ledger's event is not signed by the wallet: a node could keep its signing key
    // and swap its encryption key. The code is signed, so the code's key is the truth.
    if code.x25519_public != published.hpke_key {
        return Err(SharingError::KeyNotAsInCode {
            address: code.address.clone(),
        }
        .into());
    }
    Ok(())
}

/// A clause in plain words, and a warning when it is broad: a role with no department
/// or person to narrow it reaches everyone the clinic gives that role.
fn clause_words(clause: &str) -> (String, Option<String>) {
    let Ok(policy) = Policy::parse(clause) else {
        return (clause.to_owned(), None);
    };
    let words = policy.describe();
    let narrowed = policy
        .attributes()
        .any(|a| a.starts_with("dept:") || a.starts_with("id:"));
    let warning = (!narrowed).then(|| {
        format!("Broad: {words} at this clinic can read it, whoever they are. Add a department (AND dept:…) to narrow it.")
    });
    (words, warning)
}

/// Longest expiry the dialog accepts.
const MAX_EXPIRY_DAYS: u32 = 3650;

fn expiry_of(request: &ShareRequest, now: i64) -> Answer<Option<i64>> {
    match request.expires_in_days {
        None => Ok(None),
        Some(0) => Err(SharingError::ExpiryZero.into()),
        Some(d) if d > MAX_EXPIRY_DAYS => Err(SharingError::ExpiryTooLong { days: d }.into()),
        Some(d) => Ok(Some(now + i64::from(d) * 86_400)),
    }
}

impl RecordService {
    /// Checks a share request without sending anything: the address, the grantee's
    /// published keys (or the clinic's parameters), the policy in words.
    pub async fn preview_share(
        &self,
        owner: &Owner,
        ledger: &LedgerTarget,
        request: &ShareRequest,
    ) -> Answer<SharePreview> {
        let store = self.sharing_store(owner).await?;
        let target = self.check_request(owner, &store, request).await?;
        let grantee = target.grantee();
        let expires = expiry_of(request, now_unix())?;
        if let Target::Group { name, .. } = &target {
            return preview_group(&store, name, expires).await;
        }
        let conn = self
            .connect(owner, ledger)
            .await
            .map_err(|f| f.during(Task::PreviewShare))?;
        let lookup =
            |e: medwallet_ledger::LedgerError| CoreError::from(e).during(Task::LookUpGrantee);
        let grantee_text = grantee.to_string();
        let mut warnings = Vec::new();
        let published = directory::identity_of(&conn.reads, grantee)
            .await
            .map_err(lookup)?
            .ok_or(CoreError::NotPublished { address: grantee })?;
        let code = share_code(&request.grantee)?;
        if let Some(code) = &code {
            let chain = conn.node.status().await.map_err(lookup)?.chain_id;
            check_share_code(code, &published, chain)?;
        } else if matches!(target, Target::Person(_)) {
            // Only an address: the key the ledger node answers now must be the one already
            // noted for them, if any (a pasted share code is what replaces it).
            if store
                .expected_key(&grantee_text)
                .await?
                .is_some_and(|noted| noted != published.hpke_key)
            {
                return Err(SharingError::KeyNotAsInCode {
                    address: grantee_text,
                }
                .into());
            }
        }
        let (whom, issues_key) = match &target {
            Target::Person(_) => {
                let issued = store
                    .issued_key(&conn.contract.to_string(), &grantee_text)
                    .await?;
                let whom = match &code {
                    Some(code) => format!(
                        "{grantee_text} (\"{}\" in their share code, a name they chose)",
                        code.display_name
                    ),
                    None => grantee_text.clone(),
                };
                (whom, issued.is_none())
            }
            Target::Clause { clause, .. } => {
                if published.role != Some(medwallet_vault::Role::Clinic) {
                    return Err(SharingError::NotAClinic { address: grantee }.into());
                }
                let (words, warning) = clause_words(clause);
                if emergency::is_emergency(Some(clause)) {
                    warnings.push(emergency::warning(&grantee_text));
                } else {
                    warnings.extend(warning);
                }
                (format!("{words} at clinic {grantee_text}"), false)
            }
            Target::Group { .. } => {
                return Err(CoreError::internal("the preview", "a group target"))
            }
        };
        let mut others: Vec<String> = Vec::new();
        for id in &request.record_ids {
            let audience = store.capsule_audience(id).await?;
            let people = audience.people.into_iter();
            let roles = audience.clauses.into_iter().map(|(grantee, clause)| {
                if grantee == owner.address {
                    format!("the members of {clause}")
                } else {
                    format!("{} at clinic {grantee}", clause_words(&clause).0)
                }
            });
            for who in people.chain(roles) {
                if who != whom && !others.contains(&who) {
                    others.push(who);
                }
            }
        }
        let policy_words = if others.is_empty() {
            format!("Readable by you and by {whom} only.")
        } else {
            format!(
                "Readable by you, by {whom}, and by those you already shared with: {}.",
                others.join("; ")
            )
        };
        if expires.is_none() {
            warnings.push("No expiry: the grant lasts until you revoke it.".to_owned());
        }
        Ok(SharePreview {
            grantee: grantee_text,
            grantee_role: published
                .role
                .map(|r| r.as_str().to_owned())
                .unwrap_or_else(|| "unknown".to_owned()),
            policy_words,
            warning: (!warnings.is_empty()).then(|| warnings.join(" ")),
            expires_at: expires.map(rfc3339),
            issues_key,
            key_fingerprint: Some(medwallet_vault::key_fingerprint(
                &published.ed25519_key,
                &published.hpke_key,
            )),
            grantee_label: Some(
                directory::provider_label(&conn.node, conn.contract, grantee).await,
            ),
        })
    }

    /// Queues grants of records to a person (or a role at a clinic) and sends them now if
    /// the nodes answer (else they wait in the outbox). Answers each grant's state.
    pub async fn share(
        &self,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        request: &ShareRequest,
    ) -> Answer<Vec<GrantSummary>> {
        let store = self.sharing_store(owner).await?;
        let target = self.check_request(owner, &store, request).await?;
        let now = now_unix();
        let expires = expiry_of(request, now)?;
        let grantee = target.grantee().to_string();
        if let Some(code) = share_code(&request.grantee)? {
            // Checked against the ledger when it answers; if it does not, the grant is
            // queued by address (the code's own signature holds). The code's encryption
            // key is then noted (not before a check refused it): a key is sealed to
            // this holder only when the ledger publishes that same key.
            if let Ok(conn) = self.connect(owner, ledger).await {
                let found = directory::identity_of(&conn.reads, target.grantee()).await;
                let chain = conn.node.status().await.map(|s| s.chain_id);
                if let (Ok(Some(published)), Ok(chain)) = (found, chain) {
                    check_share_code(&code, &published, chain)?;
                }
            }
            // A person's key only: a code pasted for a role names the clinic, whose
            // parameters (not its identity key) protect the records.
            if matches!(target, Target::Person(_)) {
                store.expect_key(&grantee, &code.x25519_public).await?;
            }
        }
        for record_id in &request.record_ids {
            self.check_room(owner, &store, record_id, &target).await?;
        }
        if let (None, Target::Person(person), Some(seen)) = (
            share_code(&request.grantee)?,
            &target,
            request.seen_fingerprint.as_deref(),
        ) {
            // Only an address: keys are sealed to the keys whose fingerprint the dialog
            // showed, not to whatever the ledger node answers later; and never in place of
            // a key already noted for them (only a pasted share code replaces that).
            let conn = self
                .connect(owner, ledger)
                .await
                .map_err(|f| f.during(Task::LookUpGrantee))?;
            let published = directory::identity_of(&conn.reads, *person)
                .await
                .map_err(|e| CoreError::from(e).during(Task::LookUpGrantee))?
                .ok_or(CoreError::NotPublished { address: *person })?;
            if medwallet_vault::key_fingerprint(&published.ed25519_key, &published.hpke_key)
                != seen.trim()
            {
                return Err(SharingError::KeyChanged { address: grantee }.into());
            }
            match store.expected_key(&grantee).await? {
                Some(noted) if noted != published.hpke_key => {
                    return Err(SharingError::KeyNotAsInCode { address: grantee }.into());
                }
                Some(_) => {}
                None => store.expect_key(&grantee, &published.hpke_key).await?,
            }
        }
        for record_id in &request.record_ids {
            store
                .queue_grant(record_id, &grantee, target.clause(), expires, &rfc3339(now))
                .await?;
        }
        self.run_sharing(&store, owner, ipfs, ledger, true).await;
        let all = self.list_grants(owner).await?;
        let clause = target.clause();
        Ok(all
            .into_iter()
            .filter(|g| {
                g.grantee == grantee
                    && !g.leave
                    && g.clause
                        .as_ref()
                        .map(|c| c.clause.as_str())
                        .or(g.group.as_deref())
                        == clause
                    && request.record_ids.contains(&g.record_id)
            })
            .collect())
    }

    /// Starts taking a grant back and runs it as far as the nodes allow.
    pub async fn revoke(
        &self,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        record_id: &str,
        grantee: &str,
        clause: Option<&str>,
    ) -> Answer<GrantSummary> {
        let store = self.sharing_store(owner).await?;
        let grantee = parse_address(grantee)?.to_string();
        let clause = clause.map(parse_clause).transpose()?.map(|(c, _)| c);
        let grant = store
            .open_grant(record_id, &grantee, clause.as_deref())
            .await?
            .ok_or_else(|| SharingError::NotShared {
                grantee: grantee.clone(),
            })?;
        store.start_revoke(grant.id).await?;
        self.run_sharing(&store, owner, ipfs, ledger, true).await;
        let row = store
            .grant(grant.id)
            .await?
            .ok_or_else(|| CoreError::internal("the grant", "missing after revoke"))?;
        self.grant_summary(owner, &store, &row).await
    }

    /// The wallet's grants, newest first.
    pub async fn list_grants(&self, owner: &Owner) -> Answer<Vec<GrantSummary>> {
        let store = self.sharing_store(owner).await?;
        let rows = store.grants().await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.grant_summary(owner, &store, row).await?);
        }
        Ok(out)
    }

    /// The store of a wallet that can share (its own authority).
    pub(crate) async fn sharing_store(&self, owner: &Owner) -> Answer<RecordStore> {
        self.store(&owner.wallet_id).await
    }

    /// Refuses a grant that cannot be made now: one being revoked (it would come back
    /// with the revocation's key), or one more than a capsule can hold.
    pub(crate) async fn check_room(
        &self,
        owner: &Owner,
        store: &RecordStore,
        record_id: &str,
        target: &Target,
    ) -> Answer<()> {
        let grantee = target.grantee().to_string();
        let open = store
            .open_grant(record_id, &grantee, target.clause())
            .await?;
        if open.is_some_and(|g| g.phase == GrantPhase::Revoking) {
            return Err(SharingError::BeingRevoked.into());
        }
        let audience = store.capsule_audience(record_id).await?;
        let clinics = |extra: Option<&str>| {
            let mut c: Vec<&str> = audience
                .clauses
                .iter()
                .filter(|(g, _)| *g != owner.address)
                .map(|(g, _)| g.as_str())
                .chain(extra)
                .collect();
            c.sort_unstable();
            c.dedup();
            c.len()
        };
        let (terms, parts) = match target {
            // The owner's own term, the people, the groups, and the new one.
            Target::Person(_) | Target::Group { .. } => (
                audience.people.len() + audience.clauses.len() + 2,
                1 + clinics(None),
            ),
            Target::Clause { .. } => (0, 1 + clinics(Some(&grantee))),
        };
        if terms > medwallet_abe::MAX_POLICY_ATTRIBUTES || parts > capsule::MAX_PARTS {
            return Err(SharingError::CapsuleFull.into());
        }
        Ok(())
    }

    async fn check_request(
        &self,
        owner: &Owner,
        store: &RecordStore,
        request: &ShareRequest,
    ) -> Answer<Target> {
        owner.authority()?;
        let group = request
            .group
            .as_deref()
            .map(str::trim)
            .filter(|g| !g.is_empty());
        let target = match (group, request.clause.as_deref().map(str::trim)) {
            (Some(name), _) => Target::Group {
                owner: parse_address(&owner.address)?,
                name: groups::check_group_name(name)?,
            },
            (None, None | Some("")) => match share_code(&request.grantee)? {
                Some(code) => Target::Person(parse_address(&code.address)?),
                None => Target::Person(parse_address(&request.grantee)?),
            },
            (None, Some(text)) => {
                let grantee = parse_address(&request.grantee)?;
                let (clause, policy) = parse_clause(text)?;
                Target::Clause {
                    clinic: grantee,
                    clause,
                    policy,
                }
            }
        };
        if matches!(&target, Target::Person(a) | Target::Clause { clinic: a, .. } if a.to_string() == owner.address)
        {
            return Err(SharingError::OwnAddress.into());
        }
        if request.record_ids.is_empty() {
            return Err(SharingError::NoRecordChosen.into());
        }
        for id in &request.record_ids {
            if store.latest(id).await?.is_none() {
                return Err(SharingError::NotInWallet {
                    record_id: id.clone(),
                }
                .into());
            }
        }
        if let Target::Clause { policy, .. } = &target {
            if policy.attributes().any(|a| a.starts_with("id:")) {
                return Err(SharingError::RoleNamesPerson.into());
            }
        }
        Ok(target)
    }

    async fn grant_summary(
        &self,
        owner: &Owner,
        store: &RecordStore,
        row: &GrantRow,
    ) -> Answer<GrantSummary> {
        // A group grant names the owner as grantee; a leave names the member.
        let group =
            row.clause.is_some() && ((row.leave && !row.rotate) || row.grantee == owner.address);
        let title = match store.latest(&row.record_id).await? {
            Some(r) => self.summary(owner, &r).map(|s| s.title).unwrap_or_default(),
            None => String::new(),
        };
        let now = now_unix();
        Ok(GrantSummary {
            record_id: row.record_id.clone(),
            record_title: title,
            grantee: row.grantee.clone(),
            clause: row.clause.as_ref().filter(|_| !group).map(|c| ClauseText {
                clause: c.clone(),
                words: clause_words(c).0,
            }),
            group: row.clause.clone().filter(|_| group),
            leave: row.leave && !row.rotate,
            rotation: row.rotate,
            requested_at: row.requested_at.clone(),
            expires_at: row.expires_at.map(rfc3339),
            expired: row.expires_at.is_some_and(|t| t <= now),
            state: match row.phase {
                GrantPhase::Sending => GrantState::Sending {
                    reason: row.problem.clone(),
                },
                GrantPhase::Active => GrantState::Active,
                GrantPhase::Revoking => GrantState::Revoking {
                    reason: row.problem.clone(),
                },
                GrantPhase::Revoked => GrantState::Revoked,
            },
            tx_hash: row.grant_tx.clone(),
            exposure: row
                .exposure
                .as_deref()
                .and_then(|j| serde_json::from_str(j).ok()),
        })
    }
}

/// The preview of a grant to one of the owner's groups (nothing to look up on the ledger).
async fn preview_group(
    store: &RecordStore,
    name: &str,
    expires: Option<i64>,
) -> Answer<SharePreview> {
    let members = store
        .groups()
        .await?
        .into_iter()
        .find(|g| g.name == name)
        .map(|g| g.members)
        .unwrap_or_default();
    let mut warnings = Vec::new();
    if members.is_empty() {
        warnings.push(format!(
            "{name} has no members yet: add people to it on the Shared page."
        ));
    }
    if expires.is_none() {
        warnings.push("No expiry: the grant lasts until you revoke it.".to_owned());
    }
    let listed = if members.is_empty() {
        String::new()
    } else {
        format!(": {}", members.join(", "))
    };
    Ok(SharePreview {
        grantee: name.to_owned(),
        grantee_role: "group".to_owned(),
        policy_words: format!(
            "Readable by you and by the members of your group {name} ({} now{listed}).",
            members.len()
        ),
        warning: (!warnings.is_empty()).then(|| warnings.join(" ")),
        expires_at: expires.map(rfc3339),
        issues_key: false,
        key_fingerprint: None,
        grantee_label: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_like_wallets_do() {
        let good = "0x52908400098527886E0F7030069857D2E4169EE7";
        assert_eq!(parse_address(good).unwrap().to_string(), good);
        assert_eq!(
            parse_address(&good.to_lowercase()).unwrap().to_string(),
            good
        );
        let typo = "0x52908400098527886E0F7030069857D2E4169Ee7";
        assert!(matches!(
            parse_address(&format!(" {typo} ")),
            Err(CoreError::AddressChecksum { text }) if text == typo
        ));
        for bad in [
            "",
            "0x",
            "52908400098527886E0F7030069857D2E4169EE7",
            "0x1234",
            "0xZZ908400098527886E0F7030069857D2E4169EE7",
        ] {
            assert!(
                matches!(parse_address(bad), Err(CoreError::BadAddress { text }) if text == bad),
                "{bad}"
            );
        }
    }

    #[test]
    fn broad_roles_are_named() {
        let (words, warning) = clause_words("role:doctor");
        assert_eq!(words, "any doctor");
        assert!(warning
            .unwrap()
            .starts_with("Broad: any doctor at this clinic"));
        assert_eq!(clause_words("role:doctor AND dept:cardiology").1, None);
        assert!(clause_words("role:doctor OR role:nurse").1.is_some());
    }

    #[test]
    fn expiries_are_bounded() {
        let req = |d| ShareRequest {
            record_ids: vec![],
            grantee: String::new(),
            clause: None,
            group: None,
            expires_in_days: d,
            seen_fingerprint: None,
        };
        assert_eq!(expiry_of(&req(None), 100).unwrap(), None);
        assert_eq!(expiry_of(&req(Some(1)), 100).unwrap(), Some(100 + 86_400));
        assert!(matches!(
            expiry_of(&req(Some(0)), 100),
            Err(CoreError::Sharing(SharingError::ExpiryZero))
        ));
        assert!(matches!(
            expiry_of(&req(Some(MAX_EXPIRY_DAYS + 1)), 100),
            Err(CoreError::Sharing(SharingError::ExpiryTooLong { days })) if days == MAX_EXPIRY_DAYS + 1
        ));
    }
}
