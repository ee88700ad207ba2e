//! "Check validity": is this file (or CID) a record version registered on the ledger?
//!
//! A CID, or a file that is one of a record's objects as stored on IPFS (its manifest or
//! capsule), is looked up in the ledger's registrations: anyone can check it, no key
//! needed. A manifest or capsule carries its record id, so a changed copy is recognised
//! as *altered* rather than unknown. A plain document (a PDF, a scan) can only be
//! compared with the records this wallet can read: at the front desk, those the
//! checked-in patients granted. Comparing decrypts them, so each is logged on the
//! ledger first, like any opening.

use medwallet_api::{Verdict, VerifyOutcome};
use medwallet_ledger::{Address, Bytes, EventFilter, LedgerEvent, LoggedEvent, B256};
use medwallet_records::cid::{cid_of, Cid};
use medwallet_records::{capsule, manifest, IpfsNode};
use url::Url;

use crate::error::{Answer, CoreError, FrontDeskError, Task};
use crate::inbox::{find, ledger_error, Holder};
use crate::ledger::directory;
use crate::ledger::{chain_time, now_unix, rfc3339, LedgerTarget};
use crate::records::{inspect, RecordService, MAX_VIEW_SIZE};
use crate::session::Owner;

/// One registration on the ledger: a record version's manifest and capsule.
struct Registration {
    record_id: B256,
    version: u32,
    owner: Address,
    author: Option<Address>,
    manifest: Bytes,
    capsules: Vec<Bytes>,
    at: u64,
    tx: String,
}

fn registrations(events: &[LoggedEvent]) -> Vec<Registration> {
    let mut out: Vec<Registration> = Vec::new();
    for e in events {
        let (record_id, version, owner, author, manifest, capsule) = match &e.event {
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
            } => (
                *record_id,
                *version,
                *owner,
                None,
                manifest_cid,
                capsule_cid,
            ),
            LedgerEvent::RecordUploaded {
                record_id,
                owner,
                author,
                manifest_cid,
                capsule_cid,
            } => (
                *record_id,
                1,
                *owner,
                Some(*author),
                manifest_cid,
                capsule_cid,
            ),
            // A grant or revocation re-wraps the latest version's data key: its capsule
            // belongs to that version.
            LedgerEvent::AccessGranted {
                record_id,
                capsule_cid,
                ..
            }
            | LedgerEvent::AccessRevoked {
                record_id,
                new_capsule_cid: capsule_cid,
                ..
            } => {
                if let Some(r) = out.iter_mut().rev().find(|r| r.record_id == *record_id) {
                    r.capsules.push(capsule_cid.clone());
                }
                continue;
            }
            _ => continue,
        };
        out.push(Registration {
            record_id,
            version,
            owner,
            author,
            manifest: manifest.clone(),
            capsules: vec![capsule.clone()],
            at: e.meta.block_time,
            tx: e.meta.tx_hash.to_string(),
        });
    }
    out
}

fn latest_version(all: &[Registration], record_id: B256) -> u32 {
    all.iter()
        .filter(|r| r.record_id == record_id)
        .map(|r| r.version)
        .max()
        .unwrap_or(0)
}

fn registered_by(r: &Registration) -> String {
    match r.author {
        Some(clinic) => format!("clinic {clinic} for its owner {}", r.owner),
        None => format!("its owner {}", r.owner),
    }
}

/// The verdict for an exact match with registration `r`.
fn matched(all: &[Registration], r: &Registration, what: &str) -> Verdict {
    let latest = latest_version(all, r.record_id);
    let when = rfc3339(i64::try_from(r.at).unwrap_or(0));
    let mut details = vec![
        format!(
            "It is {what} of record {} version {}.",
            r.record_id, r.version
        ),
        format!(
            "Registered by {} on {when} (transaction {}).",
            registered_by(r),
            r.tx
        ),
    ];
    let outcome = if r.version == latest {
        details.push("It is the record's latest version.".to_owned());
        VerifyOutcome::Registered
    } else {
        details.push(format!(
            "Version {latest} has replaced it since: ask the patient for the current one."
        ));
        VerifyOutcome::Superseded
    };
    Verdict {
        outcome,
        headline: match outcome {
            VerifyOutcome::Registered => format!(
                "Registered: exactly version {} as registered on the ledger on {when}.",
                r.version
            ),
            _ => format!(
                "Registered, but replaced: version {} of a record now at version {latest}.",
                r.version
            ),
        },
        details,
        record_id: Some(r.record_id.to_string()),
        version: Some(r.version),
        registered_by: Some(r.author.unwrap_or(r.owner).to_string()),
        registered_at: Some(when),
    }
}

fn unknown(headline: &str, detail: &str) -> Verdict {
    Verdict {
        outcome: VerifyOutcome::Unknown,
        headline: headline.to_owned(),
        details: vec![detail.to_owned()],
        record_id: None,
        version: None,
        registered_by: None,
        registered_at: None,
    }
}

fn altered(r: &Registration, claim: &str) -> Verdict {
    let when = rfc3339(i64::try_from(r.at).unwrap_or(0));
    Verdict {
        outcome: VerifyOutcome::Altered,
        headline: format!("Altered: {claim}; it is not what was registered."),
        details: vec![
            format!(
                "Record {} was registered by {} on {when}.",
                r.record_id,
                registered_by(r)
            ),
            "Do not rely on this copy; ask the patient to share the record from their wallet."
                .to_owned(),
        ],
        record_id: Some(r.record_id.to_string()),
        version: None,
        registered_by: Some(r.author.unwrap_or(r.owner).to_string()),
        registered_at: Some(when),
    }
}

/// Finds `cid` among the registrations' manifests and capsules.
fn by_cid(all: &[Registration], cid: &Cid) -> Option<Verdict> {
    let bytes = cid.to_bytes();
    all.iter().find_map(|r| {
        if r.manifest.as_ref() == bytes.as_slice() {
            Some(matched(all, r, "the manifest"))
        } else if r.capsules.iter().any(|c| c.as_ref() == bytes.as_slice()) {
            Some(matched(all, r, "a key capsule"))
        } else {
            None
        }
    })
}

/// The record id and version a manifest or capsule says it belongs to.
fn claimed(bytes: &[u8]) -> Option<(&'static str, B256, u32)> {
    let what = if bytes.starts_with(&manifest::MAGIC) {
        "the manifest"
    } else if bytes.starts_with(&capsule::MAGIC) {
        "a key capsule"
    } else {
        return None;
    };
    let id = B256::try_from(bytes.get(5..37)?).ok()?;
    let version = u32::from_be_bytes(bytes.get(37..41)?.try_into().ok()?);
    Some((what, id, version))
}

impl RecordService {
    /// Checks a CID or the file at `path` against the ledger (one of the two).
    pub async fn verify(
        &self,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        cid: Option<&str>,
        path: Option<&str>,
    ) -> Answer<Verdict> {
        let conn = self
            .connect(owner, ledger)
            .await
            .map_err(|f| f.during(Task::Verify))?;
        let cid_text = cid.map(str::trim).filter(|c| !c.is_empty());
        let path = path.map(str::trim).filter(|p| !p.is_empty());
        match (cid_text, path) {
            (Some(text), None) => {
                let cid: Cid = text.parse().map_err(|source| FrontDeskError::NotACid {
                    text: text.to_owned(),
                    source,
                })?;
                // A CID is not an indexed topic: the one read of every registration (into
                // the cache once, then from its cursor).
                let events = conn.reads.all().await.map_err(ledger_error)?;
                let all = registrations(&events);
                Ok(by_cid(&all, &cid).unwrap_or_else(|| {
                    unknown(
                        "Unknown: no record on this ledger names this CID.",
                        "Registrations name each version's manifest and key capsule; the content's CID is inside the encrypted manifest, so only someone the record is shared with can check it.",
                    )
                }))
            }
            (None, Some(path)) => self.verify_file(owner, ipfs, &conn, path).await,
            _ => Err(FrontDeskError::CidOrFile.into()),
        }
    }

    async fn verify_file(
        &self,
        owner: &Owner,
        ipfs: &Url,
        conn: &directory::Connected,
        path: &str,
    ) -> Answer<Verdict> {
        let source = std::path::PathBuf::from(path);
        let size = std::fs::metadata(&source)
            .map_err(|e| inspect::unreadable(&source, e))?
            .len();
        if size > MAX_VIEW_SIZE {
            return Err(FrontDeskError::TooLargeToVerify {
                path: source,
                limit: MAX_VIEW_SIZE,
            }
            .into());
        }
        let bytes = std::fs::read(&source).map_err(|e| inspect::unreadable(&source, e))?;
        // A manifest or capsule names its record: only that record's trail is read (by
        // its indexed id), never the whole ledger.
        if let Some((what, id, version)) = claimed(&bytes) {
            let events = conn
                .reads
                .events(&EventFilter::Record(id))
                .await
                .map_err(ledger_error)?;
            let all = registrations(&events);
            if let Some(v) = by_cid(&all, &cid_of(&bytes)) {
                return Ok(v);
            }
            return Ok(match all.iter().find(|r| r.record_id == id) {
                Some(r) => altered(
                    r,
                    &format!("it claims to be {what} of record {id} version {version}, but its bytes differ"),
                ),
                None => unknown(
                    &format!("Unknown: it claims to be {what} of record {id}, which is not registered on this ledger."),
                    "It may come from another ledger, or have been made up.",
                ),
            });
        }
        let name = source
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.compare_with_check_ins(owner, ipfs, conn, &bytes, &name)
            .await
    }

    /// Compares a document with the records checked-in patients granted to this desk:
    /// those of the same size are opened (each opening logged first) and compared; one of
    /// the same name but another size is named without opening it.
    async fn compare_with_check_ins(
        &self,
        owner: &Owner,
        ipfs: &Url,
        conn: &directory::Connected,
        bytes: &[u8],
        name: &str,
    ) -> Answer<Verdict> {
        let store = self.store(&owner.wallet_id).await?;
        let rows = store.desk_check_ins().await?;
        let now = now_unix().max(chain_time(&conn.node).await);
        let node = IpfsNode::new(ipfs)?;
        let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
        let mut resembling = None;
        // The patients checked in here granted this clinic itself (person grants, opened
        // with its own key): only theirs, and only while the grant lasts.
        let holder = Holder::of(owner)?;
        // Each history is brought up to the head once: this wallet's own openings (logged
        // below) change no record's versions or capsules, which is all that is read.
        let reads = conn.reads.snapshot();
        let found = find(&reads, conn.me).await.map_err(ledger_error)?;
        // The registrations of the records those patients shared.
        let mut all = Vec::new();
        for share in &found.shares {
            let events = reads
                .record(share.owner, share.record_id)
                .await
                .map_err(ledger_error)?;
            all.extend(registrations(&events));
        }
        let all = all.as_slice();
        let mut issued = std::collections::HashMap::new();
        let patients: std::collections::BTreeSet<Address> =
            rows.iter().filter_map(|r| r.patient.parse().ok()).collect();
        for patient in patients {
            for share in found
                .shares
                .iter()
                .filter(|s| !s.expired(now) && s.owner == patient)
            {
                let Some(r) = self
                    .resolve(&holder, &node, &reads, &found, &mut issued, share)
                    .await?
                else {
                    continue;
                };
                let same_size = r.manifest.size == bytes.len() as u64;
                if !same_size {
                    // The same name but another size: not that record's content, and
                    // nothing needs opening to say so.
                    if r.manifest.file_name == name {
                        if let Some(g) = all
                            .iter()
                            .find(|g| g.record_id == r.share.record_id && g.version == r.version)
                        {
                            resembling.get_or_insert((
                                g.record_id,
                                r.manifest.title.clone(),
                                r.manifest.file_name.clone(),
                            ));
                        }
                    }
                    continue;
                }
                let version = r.version;
                let record_id = r.share.record_id;
                conn.client
                    .log_access(record_id, version)
                    .await
                    .map_err(|e| CoreError::from(e).during(Task::Compare))?;
                let (plain, _) = self
                    .decrypt_resolved(owner, &node, &r, &record_id.to_string(), true)
                    .await?;
                let registration = all
                    .iter()
                    .find(|g| g.record_id == record_id && g.version == version);
                if let Some(g) = registration {
                    if ring::digest::digest(&ring::digest::SHA256, &plain).as_ref()
                        == digest.as_ref()
                    {
                        return Ok(matched(all, g, "the document"));
                    }
                    resembling.get_or_insert((
                        g.record_id,
                        r.manifest.title.clone(),
                        r.manifest.file_name.clone(),
                    ));
                }
            }
        }
        Ok(match resembling.and_then(|(id, title, file)| {
            all.iter()
                .find(|g| g.record_id == id)
                .map(|g| (g, title, file))
        }) {
            Some((g, title, file)) => altered(
                g,
                &format!(
                    "it has the name or the size of \"{title}\" ({file}), which a checked-in patient granted, but not its content (an altered copy, or another file)"
                ),
            ),
            None => unknown(
                "Unknown: no registered record this desk can read matches this file.",
                "A document is compared with the records checked-in patients granted; check the patient in with those records, or verify the record by its CID.",
            ),
        })
    }
}
