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
//!    `grantAccess` sent with the expiry.
//!
//! **Revoke** (also queued): a new version under a new data key, the content re-encrypted
//! chunk by chunk (plaintext never touches the disk; [`revision`]), its capsule without
//! the revoked people; the records outbox uploads and registers it (`updateRecord`); then
//! `revokeAccess` names its capsule, the older versions' objects are unpinned, and the
//! exposure report is computed from the ledger's events ([`exposure`]).
//!
//! **Expiry**: grants whose expiry passed are revoked the same way when the wallet is next
//! unlocked and online; the doctor's wallet refuses them before that ([`inbox`]).
//!
//! Each step can be run again after a failure or a crash: a key's envelope CID is kept
//! before its `issueKey`, a revision's version is kept with the revocations it is for, a
//! revocation refused as `NoSuchGrant` counts as done. A crash between a mined
//! `grantAccess` and its note here re-wraps the capsule (wrapping is randomised) and
//! sends a second `AccessGranted` for the same grant: harmless, and visible in the trail.
//! So a node that is down delays work and loses none. One pass runs at a time.

pub(crate) mod emergency;
pub(crate) mod exposure;
pub(crate) mod grant;
pub(crate) mod groups;
pub(crate) mod revision;
pub(crate) mod revoke;

use medwallet_abe::Policy;
use medwallet_api::{ClauseText, GrantState, GrantSummary, SharePreview, ShareRequest, UserError};
use medwallet_ledger::{Address, LedgerError};
use medwallet_records::capsule;
use medwallet_vault::{ShareCode, ShareCodeError};
use url::Url;

use grant::{not_a_clinic, parse_clause};

use crate::ledger::directory;
use crate::ledger::{chain_time, not_published, now_unix, parse_address, rfc3339, LedgerTarget};
use crate::records::RecordService;
use crate::session::Owner;
use crate::store::grants::{GrantPhase, GrantRow};
use crate::store::RecordStore;
use crate::words::{self as errors, internal};
use crate::Answer;

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
    ShareCode::parse(text).map(Some).map_err(|e| match e {
        ShareCodeError::BadSignature => UserError::new(
            "This share code was changed after it was made: its signature does not verify.",
            "Ask the person for their share code again (their Keys page), and paste all of it.",
        ),
        ShareCodeError::Malformed(why) => UserError::new(
            format!("The pasted text is not a valid medwallet share code: {why}."),
            "Copy the whole code from their Keys page, or paste their address instead.",
        ),
        ShareCodeError::UnsupportedVersion { found } => UserError::new(
            format!("This share code was made by a newer medwallet (format {found})."),
            "Update medwallet, or paste their address instead.",
        ),
    })
}

/// A share code is for this ledger and signed by the key its address published.
pub(crate) fn check_share_code(
    code: &ShareCode,
    published: &directory::Published,
    chain_id: u64,
) -> Answer<()> {
    if code.chain_id != chain_id {
        return Err(UserError::new(
            format!(
                "This share code is for ledger chain {}, but this wallet's ledger is chain {chain_id}.",
                code.chain_id
            ),
            "Ask for a code made with the same ledger (both wallets' Settings name the ledger node).",
        ));
    }
    if code.ed25519_public != published.ed25519_key {
        return Err(UserError::new(
            format!(
                "This share code was not signed by {}: the key that signed it is not the one that wallet published on the ledger.",
                code.address
            ),
            "Do not use it. Ask the person for their code through a channel you trust, or type their address.",
        ));
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
        Some(0) => Err(UserError::new(
            "An expiry of 0 days would end the grant at once.",
            "Choose at least 1 day, or no expiry.",
        )),
        Some(d) if d > MAX_EXPIRY_DAYS => Err(UserError::new(
            format!("An expiry of {d} days is more than ten years."),
            "Choose fewer days, or no expiry (you can revoke at any time).",
        )),
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
        let conn = directory::connect(owner, ledger).await.map_err(|f| {
            UserError::new(
                f.reason,
                "The share can still be queued: it is sent once the ledger answers.",
            )
        })?;
        let lookup = |e: LedgerError| {
            UserError::new(
                directory::words(&e),
                "Try again once the ledger node answers.",
            )
        };
        let grantee_text = grantee.to_string();
        let mut warnings = Vec::new();
        let published = directory::identity_of(&conn.node, conn.contract, grantee)
            .await
            .map_err(lookup)?
            .ok_or_else(|| not_published(&grantee))?;
        let code = share_code(&request.grantee)?;
        if let Some(code) = &code {
            let chain = conn.node.status().await.map_err(lookup)?.chain_id;
            check_share_code(code, &published, chain)?;
        }
        let (whom, issues_key) = match &target {
            Target::Person(_) => {
                let issued = store
                    .issued_key(&conn.contract.to_string(), &grantee_text)
                    .await
                    .map_err(errors::store_error)?;
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
                    return Err(not_a_clinic(&grantee));
                }
                let (words, warning) = clause_words(clause);
                if emergency::is_emergency(Some(clause)) {
                    warnings.push(emergency::warning(&grantee_text));
                } else {
                    warnings.extend(warning);
                }
                (format!("{words} at clinic {grantee_text}"), false)
            }
            Target::Group { .. } => return Err(internal("the preview", "a group target")),
        };
        let mut others: Vec<String> = Vec::new();
        for id in &request.record_ids {
            let audience = store
                .capsule_audience(id)
                .await
                .map_err(errors::store_error)?;
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
            // queued by address (the code's own signature holds) and keys are sealed to
            // what the ledger publishes, never to the code's.
            if let Ok(conn) = directory::connect(owner, ledger).await {
                let found =
                    directory::identity_of(&conn.node, conn.contract, target.grantee()).await;
                let chain = conn.node.status().await.map(|s| s.chain_id);
                if let (Ok(Some(published)), Ok(chain)) = (found, chain) {
                    check_share_code(&code, &published, chain)?;
                }
            }
        }
        for record_id in &request.record_ids {
            self.check_room(owner, &store, record_id, &target).await?;
        }
        for record_id in &request.record_ids {
            store
                .queue_grant(record_id, &grantee, target.clause(), expires, &rfc3339(now))
                .await
                .map_err(errors::store_error)?;
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
            .await
            .map_err(errors::store_error)?
            .ok_or_else(|| {
                UserError::new(
                    format!("This record is not shared with {grantee}."),
                    "Refresh the list of grants; it may be revoked already.",
                )
            })?;
        store
            .start_revoke(grant.id)
            .await
            .map_err(errors::store_error)?;
        self.run_sharing(&store, owner, ipfs, ledger, true).await;
        let row = store
            .grant(grant.id)
            .await
            .map_err(errors::store_error)?
            .ok_or_else(|| internal("the grant", "missing after revoke"))?;
        self.grant_summary(owner, &store, &row).await
    }

    /// The wallet's grants, newest first.
    pub async fn list_grants(&self, owner: &Owner) -> Answer<Vec<GrantSummary>> {
        let store = self.sharing_store(owner).await?;
        let rows = store.grants().await.map_err(errors::store_error)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            out.push(self.grant_summary(owner, &store, row).await?);
        }
        Ok(out)
    }

    /// Runs the unlocked wallet's sharing work: publishes its identity (and authority)
    /// on the contract, revokes expired grants, sends due grants and revocations.
    /// `force` runs every queued step now, whatever its backoff ("Sync now").
    /// Answers the first problem, if any.
    pub async fn sync_sharing(
        &self,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        force: bool,
    ) -> Option<String> {
        let store = match self.sharing_store(owner).await {
            Ok(s) => s,
            Err(e) => return Some(e.message),
        };
        self.run_sharing(&store, owner, ipfs, ledger, force).await
    }

    pub(crate) async fn run_sharing(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        force: bool,
    ) -> Option<String> {
        let _one_pass = self.sharing.lock().await;
        let now = now_unix();
        let mut problem_before = None;
        let connected = match ledger.contract {
            Some(_) => Some(directory::connect(owner, ledger).await),
            None => None,
        };
        // Expiries are the chain's: its clock counts when it is ahead of this device's.
        let chain_now = match &connected {
            Some(Ok(c)) => chain_time(&c.node).await,
            _ => 0,
        };
        if let Err(e) = store.expire_grants(now.max(chain_now)).await {
            return Some(errors::store_error(e).message);
        }
        let conn = match connected {
            None => return None,
            Some(Ok(c)) => c,
            Some(Err(f)) => {
                self.note_failures(store, &f, force).await;
                return Some(f.reason);
            }
        };
        if let Err(f) = directory::publish_self(store, owner, ipfs, &conn).await {
            self.note_failures(store, &f, force).await;
            return Some(f.reason);
        }
        match owner.role {
            medwallet_vault::Role::Patient => {
                // Records clinics made for this patient at their front desks join its
                // list; records shared with a clinic that revoked a staff key are
                // re-encrypted for its new parameters (queued before grants run).
                if let Err(f) = self.adopt_uploads(store, owner, ipfs, &conn).await {
                    problem_before = Some(f.reason);
                }
                if let Err(f) = self.sync_clinic_epochs(store, owner, ipfs, &conn).await {
                    problem_before.get_or_insert(f.reason);
                }
            }
            medwallet_vault::Role::Clinic => {
                if let Err(f) = self.sync_staff_keys(store, owner, ipfs, &conn).await {
                    problem_before = Some(f.reason);
                }
            }
            medwallet_vault::Role::Doctor => {}
        }
        // New members get keys, and after a removal the others get the next epoch's,
        // before any record is re-encrypted for it.
        if owner.authority_seed.is_some() {
            if let Err(f) = self.sync_group_keys(store, owner, ipfs, &conn).await {
                self.note_failures(store, &f, force).await;
                return Some(f.reason);
            }
        }
        let due = match store.due_grants(if force { None } else { Some(now) }).await {
            Ok(d) => d,
            Err(e) => return Some(errors::store_error(e).message),
        };
        let mut problem = problem_before;
        for grant in due {
            let outcome = match grant.phase {
                GrantPhase::Sending => self.send_grant(store, owner, ipfs, &conn, &grant).await,
                GrantPhase::Revoking => {
                    self.send_revoke(store, owner, ipfs, ledger, &conn, &grant)
                        .await
                }
                GrantPhase::Active | GrantPhase::Revoked => Ok(()),
            };
            if let Err(f) = outcome {
                let _ = store
                    .grant_failed(
                        grant.id,
                        &f.reason,
                        crate::records::outbox::backoff_until(grant.attempts),
                    )
                    .await;
                problem.get_or_insert(f.reason);
                if f.node_down {
                    break;
                }
            }
        }
        problem
    }

    /// A node failed before any grant ran: every due grant shows why it waits.
    async fn note_failures(&self, store: &RecordStore, f: &Failure, force: bool) {
        let now = now_unix();
        if let Ok(due) = store.due_grants(if force { None } else { Some(now) }).await {
            for g in due {
                let _ = store
                    .grant_failed(
                        g.id,
                        &f.reason,
                        crate::records::outbox::backoff_until(g.attempts),
                    )
                    .await;
            }
        }
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
            .await
            .map_err(errors::store_error)?;
        if open.is_some_and(|g| g.phase == GrantPhase::Revoking) {
            return Err(UserError::new(
                "Access to this record is being revoked for them right now.",
                "Share it again once the revocation is done (see the Shared page).",
            ));
        }
        let audience = store
            .capsule_audience(record_id)
            .await
            .map_err(errors::store_error)?;
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
            return Err(UserError::new(
                "This record is shared with as many people and clinics as one record can be.",
                "Share it with a group instead (one entry for many people), or revoke grants no longer needed.",
            ));
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
            return Err(UserError::new(
                "That is this wallet's own address.",
                "Enter the address of the person you share with.",
            ));
        }
        if request.record_ids.is_empty() {
            return Err(UserError::new(
                "No record is chosen.",
                "Choose at least one record to share.",
            ));
        }
        for id in &request.record_ids {
            if store
                .latest(id)
                .await
                .map_err(errors::store_error)?
                .is_none()
            {
                return Err(UserError::new(
                    format!("Record {id} is not in this wallet."),
                    "Refresh the list of records and choose again.",
                ));
            }
        }
        if let Target::Clause { policy, .. } = &target {
            if policy.attributes().any(|a| a.starts_with("id:")) {
                return Err(UserError::new(
                    "A role at a clinic cannot name a person (id:…).",
                    "Share with the person by their address instead.",
                ));
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
        let title = match store
            .latest(&row.record_id)
            .await
            .map_err(errors::store_error)?
        {
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
        .await
        .map_err(errors::store_error)?
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
        assert!(parse_address(typo)
            .unwrap_err()
            .message
            .contains("checksum"));
        for bad in [
            "",
            "0x",
            "52908400098527886E0F7030069857D2E4169EE7",
            "0x1234",
            "0xZZ908400098527886E0F7030069857D2E4169EE7",
        ] {
            assert!(
                parse_address(bad)
                    .unwrap_err()
                    .message
                    .contains("not a ledger address"),
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
        };
        assert_eq!(expiry_of(&req(None), 100).unwrap(), None);
        assert_eq!(expiry_of(&req(Some(1)), 100).unwrap(), Some(100 + 86_400));
        assert!(expiry_of(&req(Some(0)), 100).is_err());
        assert!(expiry_of(&req(Some(MAX_EXPIRY_DAYS + 1)), 100).is_err());
    }
}
