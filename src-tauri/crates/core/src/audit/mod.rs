//! The audit trail: the ledger's events about the unlocked wallet and its records, synced
//! into a per-wallet cache (`<data>/audit/<wallet id>.sqlite`), checked (sender = actor,
//! reorgs repaired) and shown as a timeline, or exported as CSV or a FHIR R4 bundle of
//! `AuditEvent`s.
//!
//! Reading the trail never fails because of the node: when it does not answer (or is on
//! another chain, or has no contract), the cached entries are answered with the reason in
//! `problem`.
//!
//! The trail is read from one ledger node and checked against the others in the settings
//! (`ledger_witnesses`): each entry says how many of the nodes asked hold its block with
//! the same hash, and a block they disagree about is a dispute in words, never verified.
//!
//! The window reads the trail a page at a time: the cache selects, filters, orders and
//! counts the events in SQLite ([`EventCache::trail_page`]), and only the page's entries
//! are named (record titles, attested providers) and looked up in the witnesses' verdicts.
//! The emergency openings among the matches come with every page, to be shown first. An
//! export writes the whole filtered trail, read in pages.
//!
//! The window's pages are read by offset: a page shown is a view of the trail at that
//! moment, and an entry cached between two pages may show on both (the page is read
//! again on the next move). The readers of the whole trail (an export, the emergency
//! watch) read it as of the block synced and page by key ([`TrailKey`]), so none of its
//! entries is repeated or skipped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use medwallet_api::{
    AuditAction, AuditEntry, AuditQuery, AuditTrail, ExportFormat, Party, SavedCopy, TrailPage,
};
use medwallet_ledger::{
    Address, Agreements, EventCache, EventFilter, EventKind, EventMeta, LedgerEvent, LedgerNode,
    TrailFilter, TrailKey, B256,
};
use url::Url;

use crate::ledger::directory::ProviderLabels;
use crate::ledger::EventCaches;
use crate::ledger::LedgerTarget;
use crate::records::list::Titles;
use crate::records::RecordService;
use crate::session::Owner;

pub mod alerts;
mod export;

#[cfg(test)]
use export::csv_field;
pub use export::{to_csv, to_fhir_bundle, CSV_HEADER};

use crate::error::{Answer, AuditError, CoreError, TrailGap};

/// What the trail needs besides the ledger: the wallet's records ([`AuditContext::of`])
/// and the ledger nodes to check it against ([`AuditContext::checked_against`]).
#[derive(Debug, Clone, Default)]
pub struct AuditContext {
    /// The wallet's record titles by id (read for the entries shown only).
    pub titles: Titles,
    /// Record versions whose ledger transaction still waits.
    pub pending: u32,
    /// Other nodes of the ledger (the settings' `ledger_witnesses`) whose blocks the trail
    /// is checked against; none: every entry is from one node.
    pub witnesses: Vec<Url>,
}

impl AuditContext {
    /// The titles of `owner`'s records by id, and how many versions still wait for their
    /// ledger transaction (upload or registration).
    pub async fn of(records: &RecordService, owner: &Owner) -> Answer<AuditContext> {
        let titles = records.titles(owner).await?;
        let pending = records
            .store(&owner.wallet_id)
            .await?
            .pending_versions()
            .await?;
        Ok(AuditContext {
            titles,
            pending,
            witnesses: Vec::new(),
        })
    }

    /// The same, checked against the settings' `ledger_witnesses` (a URL that does not
    /// parse is left out: the settings page refuses such URLs before they are saved).
    pub fn checked_against(mut self, settings: &medwallet_api::NodeSettings) -> Self {
        self.witnesses = alerts::witness_urls(settings);
        self
    }
}

/// Bounded: every node call has its own deadline; a whole sync gets a ceiling too.
const SYNC_CEILING: std::time::Duration = std::time::Duration::from_secs(60);

/// The audit use cases for one app data folder.
pub struct AuditService {
    /// The wallets' event caches, shared with the other rooms' ledger reads.
    events: std::sync::Arc<EventCaches>,
}

impl AuditService {
    /// The service for the app data folder `data_dir`.
    pub fn new(data_dir: &Path) -> Self {
        Self::over(EventCaches::new(data_dir))
    }

    /// The service reading through `events` (the records service's caches, so that
    /// the trail and every other ledger read share one cache and cursor per wallet).
    pub fn over(events: std::sync::Arc<EventCaches>) -> Self {
        Self { events }
    }

    pub(crate) async fn cache(&self, wallet_id: &str) -> Answer<EventCache> {
        self.events.open(wallet_id).await
    }

    /// The chain id this wallet's trail was first read from, if any.
    pub(crate) fn remembered_chain(&self, wallet_id: &str) -> Option<u64> {
        self.events.remembered_chain(wallet_id)
    }

    /// Remembers `chain_id` as the wallet's chain unless one is remembered already.
    pub(crate) fn remember_chain_once(&self, wallet_id: &str, chain_id: u64) {
        self.events.remember_chain_once(wallet_id, chain_id);
    }

    /// One page of the owner's trail, filtered, newest first, with the count and the
    /// emergency openings among the matches: synced from the ledger first when it
    /// answers, else from the cache with the reason in `problem`.
    pub async fn trail(
        &self,
        owner: &Owner,
        ledger: &LedgerTarget,
        page: &TrailPage,
        context: &AuditContext,
    ) -> Answer<AuditTrail> {
        let filter = trail_filter(&page.query)?;
        let mut trail = AuditTrail {
            pending: context.pending,
            offset: page.offset,
            ..Default::default()
        };
        let Some(synced) = self.synced(owner, ledger, context, &mut trail).await? else {
            return Ok(trail);
        };
        let Synced {
            cache,
            contract,
            me,
            ..
        } = &synced;
        let unreadable = |e| AuditError::CacheUnreadable(Box::new(e));
        let (contract, me) = (*contract, *me);
        trail.total = cache
            .trail_count(contract, me, &filter)
            .await
            .map_err(unreadable)?;
        let events = cache
            .trail_page(
                contract,
                me,
                &filter,
                page.offset,
                page.limit.min(TrailPage::MAX_LIMIT),
            )
            .await
            .map_err(unreadable)?;
        // The emergency openings among the matches, whatever the page: shown first.
        let emergency = emergencies_of(&filter);
        let openings = match &emergency {
            Some(f) => {
                trail.emergency_total = cache
                    .trail_count(contract, me, f)
                    .await
                    .map_err(unreadable)?;
                cache
                    .trail_page(contract, me, f, 0, AuditTrail::MAX_EMERGENCIES)
                    .await
                    .map_err(unreadable)?
            }
            None => Vec::new(),
        };
        let mut labels = ProviderLabels::default();
        trail.entries = synced
            .entries(&events, &context.titles, &mut labels)
            .await?;
        trail.emergencies = synced
            .entries(&openings, &context.titles, &mut labels)
            .await?;
        Ok(trail)
    }

    /// The trail's cache synced from the ledger when it answers (what happened in
    /// `trail`'s chain, block, problem and reorg), or `None` without a contract.
    async fn synced(
        &self,
        owner: &Owner,
        ledger: &LedgerTarget,
        context: &AuditContext,
        trail: &mut AuditTrail,
    ) -> Answer<Option<Synced>> {
        let me: Address = owner
            .address
            .parse()
            .map_err(|e| CoreError::internal("the wallet's address", e))?;
        let Some(contract) = ledger.contract else {
            trail.problem = Some(crate::words::trail_problem(&TrailGap::NoContract));
            return Ok(None);
        };
        let cache = self.cache(&owner.wallet_id).await?;
        let node = LedgerNode::new(&ledger.url);
        let witnesses: Vec<LedgerNode> = context.witnesses.iter().map(LedgerNode::new).collect();
        let synced = self.sync_own(&cache, &owner.wallet_id, me, ledger, contract, &witnesses);
        match tokio::time::timeout(SYNC_CEILING, synced).await {
            Ok(Ok((chain_id, report))) => {
                trail.chain_id = Some(chain_id);
                trail.synced_to_block = report.to_block;
                // The newest block read disagreeing with another node is the whole
                // trail's problem (the node read from may be on a fork), even when no
                // entry of this wallet is in that block.
                let head_disputes: Vec<medwallet_ledger::Dispute> = report
                    .witness_checks
                    .iter()
                    .filter(|c| c.block_number == report.to_block)
                    .filter_map(|c| match c.verdict {
                        medwallet_ledger::Verdict::Disagrees { their_hash } => {
                            Some(medwallet_ledger::Dispute {
                                block_number: c.block_number,
                                witness: c.witness.clone(),
                                their_hash,
                                our_hash: c.our_hash,
                            })
                        }
                        _ => None,
                    })
                    .collect();
                if let Some(first) = head_disputes.first() {
                    trail.problem = Some(crate::words::ledger_dispute(
                        first.block_number,
                        &node.label(),
                        &first.our_hash,
                        &head_disputes,
                    ));
                }
                trail.reorg = report.reorg.map(|r| {
                    format!(
                        "The ledger reorganised: blocks after {} were replaced ({} cached event(s) dropped and read again).",
                        r.common_ancestor.map_or("the start".to_owned(), |n| format!("block {n}")),
                        r.dropped_events
                    )
                });
            }
            Ok(Err(e)) => trail.problem = Some(crate::words::trail_problem(&TrailGap::Ledger(&e))),
            Err(_) => trail.problem = Some(crate::words::trail_problem(&TrailGap::TimedOut)),
        }
        if trail.synced_to_block == 0 {
            trail.synced_to_block = cache
                .newest_block(contract)
                .await
                .map_err(|e| AuditError::CacheUnreadable(Box::new(e)))?
                .unwrap_or(0);
        }
        Ok(Some(Synced {
            cache,
            contract,
            me,
            node,
            witnesses,
            named: trail.chain_id.is_some(),
        }))
    }

    /// Reads the wallet's new events into its cache, from the cursor to the node's head,
    /// checked against `witnesses`; answers the chain id and the sync's report. The chain
    /// this wallet's trail was first read from is remembered, so that a ledger URL that now
    /// leads to another network is named instead of mixed in. Used by the trail and by the
    /// patient's emergency watch ([`alerts`]), which share the cache and its cursor.
    async fn sync_own(
        &self,
        cache: &EventCache,
        wallet_id: &str,
        me: Address,
        ledger: &LedgerTarget,
        contract: Address,
        witnesses: &[LedgerNode],
    ) -> Result<(u64, medwallet_ledger::SyncReport), medwallet_ledger::LedgerError> {
        let node = LedgerNode::new(&ledger.url);
        let remembered = self.remembered_chain(wallet_id);
        let status = node.status().await?;
        let expected = ledger.chain_id.or(remembered).unwrap_or(status.chain_id);
        let status = node.check_chain(expected, contract).await?;
        let report = cache
            .sync_checked(&node, contract, &EventFilter::Wallet(me), witnesses)
            .await?;
        if remembered.is_none() {
            self.remember_chain_once(wallet_id, status.chain_id);
        }
        Ok((status.chain_id, report))
    }

    /// Writes the owner's whole filtered trail to `path` (a new file), as CSV or a FHIR
    /// R4 bundle, read from the cache a page at a time; written as `<path>.part` and
    /// renamed.
    pub async fn export(
        &self,
        owner: &Owner,
        ledger: &LedgerTarget,
        query: &AuditQuery,
        context: &AuditContext,
        format: ExportFormat,
        path: &str,
    ) -> Answer<SavedCopy> {
        let dest = PathBuf::from(path.trim());
        if dest.as_os_str().is_empty() || dest.is_dir() {
            return Err(AuditError::NoExportName.into());
        }
        let filter = trail_filter(query)?;
        let mut trail = AuditTrail::default();
        let synced = self.synced(owner, ledger, context, &mut trail).await?;
        let mut out = export::Writer::create(&dest, format, trail.chain_id).await?;
        let written: Answer<()> = async {
            if let Some(synced) = &synced {
                let mut labels = ProviderLabels::default();
                // The trail as of the block synced, a page at a time by key: what the
                // background pass caches meanwhile moves no page (an offset would repeat
                // or skip entries).
                let mut before = TrailKey::after_block(trail.synced_to_block);
                loop {
                    let events = synced
                        .cache
                        .trail_page_before(
                            synced.contract,
                            synced.me,
                            &filter,
                            before,
                            export::PAGE,
                        )
                        .await
                        .map_err(|e| AuditError::CacheUnreadable(Box::new(e)))?;
                    let Some((last, _)) = events.last() else {
                        break;
                    };
                    before = TrailKey::of(last);
                    let entries = synced
                        .entries(&events, &context.titles, &mut labels)
                        .await?;
                    out.write(&entries).await?;
                }
            }
            Ok(())
        }
        .await;
        match written {
            Ok(()) => out.finish().await,
            Err(e) => {
                out.abandon();
                Err(e)
            }
        }
    }
}

/// The trail's cache after a sync, and what naming its entries needs.
struct Synced {
    cache: EventCache,
    contract: Address,
    me: Address,
    /// The node the trail was read from.
    node: LedgerNode,
    /// The ledger's other nodes, whose verdicts each entry's block is looked up in.
    witnesses: Vec<LedgerNode>,
    /// Whether the node answered (then attested providers are named).
    named: bool,
}

impl Synced {
    /// `events` (newest first) as entries: titled, each block's agreement looked up, the
    /// attested providers named (asked of the node, once per address per `labels`).
    async fn entries(
        &self,
        events: &[(EventMeta, LedgerEvent)],
        titles: &Titles,
        labels: &mut ProviderLabels,
    ) -> Answer<Vec<AuditEntry>> {
        let blocks: Vec<u64> = events.iter().map(|(m, _)| m.block_number).collect();
        let agreements = self
            .cache
            .agreements_at(self.contract, &self.witnesses, &blocks)
            .await
            .map_err(|e| AuditError::CacheUnreadable(Box::new(e)))?;
        let checked = Checked {
            read_from: self.node.label(),
            agreements: &agreements,
        };
        let mut entries = checked_entries(events, self.me, titles, &checked);
        if self.named {
            name_providers(&self.node, self.contract, labels, &mut entries).await;
        }
        Ok(entries)
    }
}

/// The filter of the emergency openings among what `filter` selects (`None`: it selects
/// none).
fn emergencies_of(filter: &TrailFilter) -> Option<TrailFilter> {
    let kind = EventKind::EmergencyAccess;
    if (!filter.kinds.is_empty() && !filter.kinds.contains(&kind)) || filter.without.contains(&kind)
    {
        return None;
    }
    Some(TrailFilter {
        kinds: vec![kind],
        ..filter.clone()
    })
}

/// Names the parties the consortium attests ("St Mary's Hospital ✓"), asked of the node
/// the trail was just read from; an address it does not attest keeps no name.
async fn name_providers(
    node: &LedgerNode,
    contract: Address,
    labels: &mut ProviderLabels,
    entries: &mut [AuditEntry],
) {
    for entry in entries.iter_mut() {
        for party in std::iter::once(&mut entry.actor).chain(entry.subject.as_mut()) {
            if party.name.is_some() {
                continue;
            }
            party.name = labels
                .of(node, contract, &party.address)
                .await
                .and_then(|l| l.verified_name)
                .map(|name| format!("{name} ✓"));
        }
    }
}

/// What the other ledger nodes said about the cached blocks, and the node read from.
pub struct Checked<'a> {
    /// The node the trail was read from, as [`LedgerNode::label`] names it.
    pub read_from: String,
    /// The witnesses' verdicts.
    pub agreements: &'a Agreements,
}

/// `events` (newest first) as entries, each from the one node read (no other node asked).
pub fn entries(
    events: &[(EventMeta, LedgerEvent)],
    me: Address,
    titles: &Titles,
) -> Vec<AuditEntry> {
    let none = Agreements::default();
    let checked = Checked {
        read_from: String::new(),
        agreements: &none,
    };
    checked_entries(events, me, titles, &checked)
}

/// `events` (newest first) as entries, each with how many ledger nodes hold its block and
/// the dispute, if they disagree. Events that are not about a wallet (`LedgerCreated`)
/// are left out.
pub fn checked_entries(
    events: &[(EventMeta, LedgerEvent)],
    me: Address,
    titles: &Titles,
    checked: &Checked<'_>,
) -> Vec<AuditEntry> {
    let mut out = Vec::with_capacity(events.len());
    // EIP-55 needs a hash per address: once per address, not per entry.
    let mut names: HashMap<Address, Party> = HashMap::new();
    for (meta, event) in events {
        let Some(action) = action_of(event) else {
            continue;
        };
        let time = rfc3339(meta.block_time);
        let mut entry = entry(meta, event, action, time, me, titles, &mut names);
        let agreement = checked.agreements.block(meta.block_number, meta.block_hash);
        entry.nodes_asked = agreement.nodes_asked;
        entry.nodes_agreeing = agreement.nodes_agreeing;
        entry.dispute = agreement.is_disputed().then(|| {
            crate::words::ledger_dispute(
                meta.block_number,
                &checked.read_from,
                &meta.block_hash,
                &agreement.disputes,
            )
        });
        out.push(entry);
    }
    out
}

/// What the trail's filters select, for the cache: the record and actor parsed, the
/// action as the event kinds it names, the dates (UTC days, both inclusive) as block
/// times. Events that are not about a wallet (`LedgerCreated`) are never selected.
pub fn trail_filter(query: &AuditQuery) -> Answer<TrailFilter> {
    let record = match query.record_id.as_deref().map(str::trim) {
        Some(id) if !id.is_empty() => {
            Some(id.parse::<B256>().map_err(|_| AuditError::BadRecordId {
                text: id.to_owned(),
            })?)
        }
        _ => None,
    };
    let actor = match query.actor.as_deref().map(str::trim) {
        Some(a) if !a.is_empty() => Some(
            a.parse::<Address>()
                .map_err(|_| AuditError::BadActor { text: a.to_owned() })?,
        ),
        _ => None,
    };
    let from = date_bound(query.from.as_deref(), "from")?;
    let to = date_bound(query.to.as_deref(), "to")?;
    let day_start = |d: chrono::NaiveDate| {
        u64::try_from(d.and_time(chrono::NaiveTime::MIN).and_utc().timestamp()).unwrap_or(0)
    };
    Ok(TrailFilter {
        kinds: query.action.map(kinds_of).unwrap_or_default(),
        without: vec![EventKind::LedgerCreated],
        record,
        actor,
        from_time: from.map(day_start),
        // The day after `to`, at its start: `to` is inclusive.
        before_time: to.and_then(|d| d.succ_opt()).map(day_start),
    })
}

/// The event kinds an action of the trail names.
pub fn kinds_of(action: AuditAction) -> Vec<EventKind> {
    EventKind::ALL
        .into_iter()
        .filter(|k| kind_action(*k) == Some(action))
        .collect()
}

fn date_bound(value: Option<&str>, which: &'static str) -> Answer<Option<chrono::NaiveDate>> {
    match value.map(str::trim) {
        Some(d) if !d.is_empty() => chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| {
                AuditError::BadDate {
                    which,
                    text: d.to_owned(),
                }
                .into()
            }),
        _ => Ok(None),
    }
}

fn rfc3339(unix: u64) -> String {
    chrono::DateTime::from_timestamp(i64::try_from(unix).unwrap_or(i64::MAX), 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The trail's action for an event; `None` for `LedgerCreated` (not about a wallet).
pub fn action_of(event: &LedgerEvent) -> Option<AuditAction> {
    kind_action(event.kind())
}

/// The trail's action for an event kind; `None` for `LedgerCreated`.
fn kind_action(kind: EventKind) -> Option<AuditAction> {
    Some(match kind {
        EventKind::LedgerCreated => return None,
        EventKind::RecordRegistered => AuditAction::Uploaded,
        EventKind::RecordUpdated => AuditAction::Updated,
        EventKind::AccessGranted => AuditAction::Granted,
        EventKind::AccessRevoked => AuditAction::Revoked,
        EventKind::KeyIssued => AuditAction::KeyIssued,
        EventKind::KeyRevoked => AuditAction::KeyRevoked,
        EventKind::RecordAccessed => AuditAction::Accessed,
        EventKind::EmergencyAccess => AuditAction::EmergencyAccess,
        EventKind::EmergencyAccessSet => AuditAction::EmergencyAccessSet,
        EventKind::IdentityPublished => AuditAction::IdentityPublished,
        EventKind::AuthorityPublished => AuditAction::AuthorityPublished,
        EventKind::RecordUploaded => AuditAction::UploadedFor,
        EventKind::CheckInAnswered => AuditAction::CheckInAnswered,
        EventKind::CheckInRedeemed => AuditAction::CheckedIn,
        EventKind::AdminSet | EventKind::ProviderAttested | EventKind::ProviderWithdrawn => {
            AuditAction::Attested
        }
    })
}

fn party(address: Address, me: Address) -> Party {
    Party {
        address: address.to_checksum(None),
        name: (address == me).then(|| "You".to_owned()),
    }
}

fn short(hash: &B256) -> String {
    let s = hash.to_string();
    format!("{}…{}", &s[..8], &s[s.len() - 4..])
}

fn clause(hash: &B256) -> Option<String> {
    (!hash.is_zero()).then(|| format!("clause {}", short(hash)))
}

fn until(expiry: u64) -> Option<String> {
    (expiry != 0).then(|| format!("until {}", &rfc3339(expiry)[..10]))
}

fn detail_of(event: &LedgerEvent) -> Option<String> {
    let parts: Vec<Option<String>> = match event {
        LedgerEvent::LedgerCreated { .. } | LedgerEvent::AuthorityPublished { .. } => vec![],
        LedgerEvent::IdentityPublished { role, .. } => vec![Some(
            match role {
                0 => "as a patient",
                1 => "as a doctor",
                2 => "as a clinic",
                _ => "with an unknown role",
            }
            .to_owned(),
        )],
        LedgerEvent::RecordRegistered { version, .. }
        | LedgerEvent::RecordUpdated { version, .. } => vec![Some(format!("version {version}"))],
        LedgerEvent::AccessGranted {
            clause_hash,
            expiry,
            ..
        } => vec![clause(clause_hash), until(*expiry)],
        LedgerEvent::AccessRevoked { clause_hash, .. } => vec![clause(clause_hash)],
        LedgerEvent::KeyIssued { epoch, .. } | LedgerEvent::KeyRevoked { epoch, .. } => {
            vec![Some(format!("epoch {epoch}"))]
        }
        LedgerEvent::RecordAccessed {
            version,
            clause_hash,
            authority,
            ..
        } => vec![
            Some(format!("version {version}")),
            clause(clause_hash),
            // A zero clause under a non-zero "authority" was a schema-4 check-in code's.
            (clause_hash.is_zero() && !authority.is_zero())
                .then(|| "through a check-in code".to_owned()),
        ],
        LedgerEvent::AdminSet { allowed, .. } => vec![Some(
            if *allowed {
                "as an admin"
            } else {
                "no longer an admin"
            }
            .to_owned(),
        )],
        LedgerEvent::ProviderAttested { name, role, .. } => vec![Some(format!(
            "as {} ({})",
            if *role == 1 { "a doctor" } else { "a clinic" },
            if medwallet_ledger::is_plain_name(name) {
                name.as_str()
            } else {
                "a name with hidden characters, not shown"
            }
        ))],
        LedgerEvent::ProviderWithdrawn { .. } => vec![Some("withdrawn".to_owned())],
        LedgerEvent::RecordUploaded { .. } => vec![Some("version 1".to_owned())],
        LedgerEvent::CheckInAnswered { allowed, until, .. } => vec![Some(if *allowed {
            format!("allowed until {}", rfc3339(*until))
        } else {
            "declined".to_owned()
        })],
        LedgerEvent::CheckInRedeemed { check_in_id, .. } => {
            vec![Some(format!("check-in {}", short(check_in_id)))]
        }
        LedgerEvent::EmergencyAccess { version, .. } => vec![Some(format!("version {version}"))],
        LedgerEvent::EmergencyAccessSet { allowed, .. } => vec![Some(
            if *allowed { "allowed" } else { "withdrawn" }.to_owned(),
        )],
    };
    let words: Vec<String> = parts.into_iter().flatten().collect();
    (!words.is_empty()).then(|| words.join(", "))
}

fn subject_of(event: &LedgerEvent) -> Option<Address> {
    match event {
        LedgerEvent::EmergencyAccess { clinic, .. } => Some(*clinic),
        LedgerEvent::RecordUploaded { owner, .. } => Some(*owner),
        LedgerEvent::RecordAccessed { authority, .. } if !authority.is_zero() => Some(*authority),
        other => other.subject(),
    }
}

fn entry(
    meta: &EventMeta,
    event: &LedgerEvent,
    action: AuditAction,
    time: String,
    me: Address,
    titles: &Titles,
    names: &mut HashMap<Address, Party>,
) -> AuditEntry {
    let record_id = event.record_id().map(|r| r.to_string());
    let mut named = |a: Address| names.entry(a).or_insert_with(|| party(a, me)).clone();
    AuditEntry {
        action,
        actor: named(event.actor()),
        subject: subject_of(event).map(&mut named),
        record_title: record_id
            .as_ref()
            .and_then(|id| titles.get(id))
            .map(str::to_owned),
        record_id,
        detail: detail_of(event),
        time,
        block_number: meta.block_number,
        tx_hash: meta.tx_hash.to_string(),
        log_index: meta.log_index,
        nodes_agreeing: 1,
        nodes_asked: 1,
        dispute: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use medwallet_ledger::Bytes;

    fn meta(block: u64, time: u64) -> EventMeta {
        EventMeta {
            block_number: block,
            block_hash: B256::repeat_byte(1),
            parent_hash: B256::repeat_byte(2),
            tx_hash: B256::repeat_byte(block as u8),
            log_index: 0,
            sender: Address::repeat_byte(0xaa),
            block_time: time,
        }
    }

    /// Four events, newest first (as the cache answers a page).
    fn events(me: Address, doctor: Address, record: B256) -> Vec<(EventMeta, LedgerEvent)> {
        let mut oldest_first = vec![
            (
                meta(1, 1_700_000_000),
                LedgerEvent::LedgerCreated {
                    admin: doctor,
                    schema_version: 1,
                },
            ),
            (
                meta(2, 1_767_225_600), // 2026-01-01
                LedgerEvent::RecordRegistered {
                    record_id: record,
                    owner: me,
                    version: 1,
                    manifest_cid: Bytes::from_static(b"m"),
                    capsule_cid: Bytes::from_static(b"c"),
                },
            ),
            (
                meta(3, 1_767_312_000), // 2026-01-02
                LedgerEvent::AccessGranted {
                    record_id: record,
                    owner: me,
                    grantee: doctor,
                    clause_hash: B256::repeat_byte(0xcd),
                    capsule_cid: Bytes::from_static(b"c2"),
                    expiry: 1_796_083_200, // 2026-12-01
                },
            ),
            (
                meta(4, 1_767_398_400), // 2026-01-03
                LedgerEvent::RecordAccessed {
                    record_id: record,
                    owner: me,
                    accessor: doctor,
                    version: 1,
                    authority: Address::ZERO,
                    clause_hash: B256::ZERO,
                },
            ),
        ];
        oldest_first.reverse();
        oldest_first
    }

    #[test]
    fn events_map_to_entries_newest_first_with_names_titles_and_words() {
        let (me, doctor, record) = (
            Address::repeat_byte(0xaa),
            Address::repeat_byte(0xbb),
            B256::repeat_byte(7),
        );
        let titles = Titles::from(HashMap::from([(
            record.to_string(),
            "Blood test, \"March\"".to_owned(),
        )]));
        let all = entries(&events(me, doctor, record), me, &titles);
        let actions: Vec<_> = all.iter().map(|e| e.action).collect();
        assert_eq!(
            actions,
            [
                AuditAction::Accessed,
                AuditAction::Granted,
                AuditAction::Uploaded
            ]
        );
        let up = &all[2];
        assert_eq!(up.actor.name.as_deref(), Some("You"));
        assert_eq!(up.actor.address, me.to_checksum(None));
        assert_eq!(up.record_title.as_deref(), Some("Blood test, \"March\""));
        assert_eq!(up.detail.as_deref(), Some("version 1"));
        assert_eq!(up.time, "2026-01-01T00:00:00Z");
        assert_eq!(
            (up.block_number, up.tx_hash.as_str()),
            (2, B256::repeat_byte(2).to_string().as_str())
        );
        let granted = &all[1];
        assert_eq!(granted.subject.as_ref().unwrap().name, None);
        let detail = granted.detail.as_deref().unwrap();
        assert!(
            detail.contains("clause 0xcdcdcd") && detail.contains("until 2026-12-01"),
            "{detail}"
        );
        assert_eq!(all[0].actor.name, None);
    }

    #[test]
    fn the_filters_become_the_caches_selection() {
        let (doctor, record) = (Address::repeat_byte(0xbb), B256::repeat_byte(7));
        let plain = trail_filter(&AuditQuery::default()).unwrap();
        assert_eq!(
            plain,
            TrailFilter {
                without: vec![EventKind::LedgerCreated],
                ..Default::default()
            }
        );
        let granted = trail_filter(&AuditQuery {
            action: Some(AuditAction::Granted),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(granted.kinds, [EventKind::AccessGranted]);
        let attested = trail_filter(&AuditQuery {
            action: Some(AuditAction::Attested),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            attested.kinds,
            [
                EventKind::AdminSet,
                EventKind::ProviderAttested,
                EventKind::ProviderWithdrawn
            ]
        );
        let by = trail_filter(&AuditQuery {
            actor: Some(format!(" {} ", doctor.to_string().to_lowercase())),
            record_id: Some(record.to_string()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!((by.actor, by.record), (Some(doctor), Some(record)));
        // One UTC day, both ends inclusive: [2026-01-02 00:00, 2026-01-03 00:00).
        let day = trail_filter(&AuditQuery {
            from: Some("2026-01-02".into()),
            to: Some("2026-01-02".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            (day.from_time, day.before_time),
            (Some(1_767_312_000), Some(1_767_398_400))
        );
        assert!(matches!(
            trail_filter(&AuditQuery {
                from: Some("yesterday".into()),
                ..Default::default()
            }),
            Err(CoreError::Audit(AuditError::BadDate { which: "from", text })) if text == "yesterday"
        ));
        assert!(matches!(
            trail_filter(&AuditQuery {
                actor: Some("0x1234".into()),
                ..Default::default()
            }),
            Err(CoreError::Audit(AuditError::BadActor { .. }))
        ));
        // Every action names at least one kind, each kind one action at most, and the
        // emergency openings of a filter keep its other conditions.
        for action in AuditAction::ALL {
            let kinds = kinds_of(action);
            assert!(!kinds.is_empty(), "{action:?}");
            assert!(kinds.iter().all(|k| kind_action(*k) == Some(action)));
        }
        assert_eq!(kind_action(EventKind::LedgerCreated), None);
        let emergencies = emergencies_of(&by).unwrap();
        assert_eq!(emergencies.kinds, [EventKind::EmergencyAccess]);
        assert_eq!(emergencies.actor, Some(doctor));
        assert!(emergencies_of(&granted).is_none());
    }

    #[test]
    fn entries_say_how_many_nodes_hold_their_block_and_a_dispute_in_words() {
        use medwallet_ledger::Verdict;
        let (me, doctor, record) = (
            Address::repeat_byte(0xaa),
            Address::repeat_byte(0xbb),
            B256::repeat_byte(7),
        );
        let ours = B256::repeat_byte(1); // every block's hash in `meta`
        let theirs = B256::repeat_byte(0xcd);
        let (w1, w2) = ("http://127.0.0.3:8545", "http://127.0.0.4:8545");
        let mut agreements = Agreements::new(vec![w1.into(), w2.into()]);
        // Block 2: both agree. Block 3: one agrees, one is down. Block 4: one disputes.
        agreements.insert(2, w1.into(), ours, Verdict::Agrees);
        agreements.insert(2, w2.into(), ours, Verdict::Agrees);
        agreements.insert(3, w1.into(), ours, Verdict::Agrees);
        let down = Verdict::Down {
            error: "unreachable".into(),
        };
        agreements.insert(3, w2.into(), ours, down);
        agreements.insert(4, w1.into(), ours, Verdict::Agrees);
        let disputed = Verdict::Disagrees { their_hash: theirs };
        agreements.insert(4, w2.into(), ours, disputed);
        let checked = Checked {
            read_from: "http://127.0.0.2:8545".into(),
            agreements: &agreements,
        };
        let all = checked_entries(
            &events(me, doctor, record),
            me,
            &Titles::default(),
            &checked,
        );
        let by_block = |n: u64| all.iter().find(|e| e.block_number == n).unwrap();
        let two = by_block(2);
        assert_eq!(
            (two.nodes_agreeing, two.nodes_asked, &two.dispute),
            (3, 3, &None)
        );
        let three = by_block(3);
        assert_eq!((three.nodes_agreeing, three.nodes_asked), (2, 3));
        assert!(three.dispute.is_none());
        let four = by_block(4);
        assert_eq!(four.nodes_agreeing, 2);
        let dispute = four.dispute.as_deref().expect("block 4 is disputed");
        assert!(
            dispute.starts_with("Ledger nodes disagree at block 4: http://127.0.0.2:8545 says 0x01010101…0101, http://127.0.0.4:8545 says 0xcdcdcdcd…cdcd"),
            "{dispute}"
        );

        // Without other nodes: each entry is from one node.
        let alone = entries(&events(me, doctor, record), me, &Titles::default());
        assert!(alone
            .iter()
            .all(|e| (e.nodes_agreeing, e.nodes_asked) == (1, 1) && e.dispute.is_none()));
    }

    #[test]
    fn settings_name_the_nodes_to_check_against() {
        let settings = medwallet_api::NodeSettings {
            ledger_witnesses: vec!["http://127.0.0.3:8545".into(), "not a url".into()],
            ..Default::default()
        };
        let context = AuditContext::default().checked_against(&settings);
        assert_eq!(
            context.witnesses,
            vec![Url::parse("http://127.0.0.3:8545").unwrap()]
        );
    }

    /// RFC 4180, enough to read our own output back.
    fn parse_csv(text: &str) -> Vec<Vec<String>> {
        let (mut rows, mut row, mut field) = (Vec::new(), Vec::new(), String::new());
        let mut chars = text.chars().peekable();
        let mut quoted = false;
        while let Some(c) = chars.next() {
            match (quoted, c) {
                (true, '"') if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                (true, '"') => quoted = false,
                (true, c) => field.push(c),
                (false, '"') => quoted = true,
                (false, ',') => row.push(std::mem::take(&mut field)),
                (false, '\r') => {}
                (false, '\n') => {
                    row.push(std::mem::take(&mut field));
                    rows.push(std::mem::take(&mut row));
                }
                (false, c) => field.push(c),
            }
        }
        rows
    }

    #[test]
    fn csv_export_reads_back() {
        let (me, doctor, record) = (
            Address::repeat_byte(0xaa),
            Address::repeat_byte(0xbb),
            B256::repeat_byte(7),
        );
        let titles = Titles::from(HashMap::from([(
            record.to_string(),
            "Blood test, \"March\"\nline 2".to_owned(),
        )]));
        let all = entries(&events(me, doctor, record), me, &titles);
        let rows = parse_csv(&to_csv(&all));
        assert_eq!(rows[0].join(","), CSV_HEADER);
        assert_eq!(rows.len(), 4);
        let up = &rows[3];
        assert_eq!(up[1], "uploaded");
        assert_eq!(up[3], "You");
        assert_eq!(up[5], record.to_string());
        assert_eq!(up[6], "Blood test, \"March\"\nline 2");
        assert_eq!(up[8], "2");
        assert_eq!(up[9], all[2].tx_hash);
        assert_eq!(rows[2][4], doctor.to_checksum(None));
        assert_eq!(csv_field("=SUM(A1)"), "\"'=SUM(A1)\"");
    }

    #[test]
    fn fhir_bundle_has_the_audit_event_shape() {
        let (me, doctor, record) = (
            Address::repeat_byte(0xaa),
            Address::repeat_byte(0xbb),
            B256::repeat_byte(7),
        );
        let all = entries(&events(me, doctor, record), me, &Titles::default());
        let b = to_fhir_bundle(&all, Some(31337));
        assert_eq!(b["resourceType"], "Bundle");
        assert_eq!(b["type"], "collection");
        let entries = b["entry"].as_array().unwrap();
        assert_eq!(entries.len(), 3);
        let up = &entries[2]["resource"];
        assert_eq!(up["resourceType"], "AuditEvent");
        assert_eq!(
            up["type"]["system"],
            "http://dicom.nema.org/resources/ontology/DCM"
        );
        assert_eq!(up["type"]["code"], "110110");
        assert_eq!(up["action"], "C");
        assert_eq!(up["outcome"], "0");
        assert_eq!(up["recorded"], "2026-01-01T00:00:00Z");
        assert_eq!(
            up["agent"][0]["who"]["identifier"]["value"],
            me.to_checksum(None)
        );
        assert_eq!(up["agent"][0]["who"]["display"], "You");
        assert_eq!(
            up["source"]["observer"]["display"],
            "medwallet ledger, chain 31337"
        );
        assert_eq!(
            up["entity"][0]["what"]["identifier"]["value"],
            record.to_string()
        );
        let details = up["entity"][0]["detail"].as_array().unwrap();
        assert!(details
            .iter()
            .any(|d| d["type"] == "tx" && d["valueString"] == all[2].tx_hash));
        assert!(details
            .iter()
            .any(|d| d["type"] == "block" && d["valueString"] == "2"));
        assert_eq!(entries[0]["resource"]["action"], "R");
        assert_eq!(
            entries[1]["resource"]["agent"][1]["who"]["identifier"]["value"],
            doctor.to_checksum(None)
        );
    }

    #[tokio::test]
    async fn an_export_written_in_pages_is_the_whole_trail() {
        let (me, doctor, record) = (
            Address::repeat_byte(0xaa),
            Address::repeat_byte(0xbb),
            B256::repeat_byte(7),
        );
        let all = entries(&events(me, doctor, record), me, &Titles::default());
        let dir = tempfile::tempdir().unwrap();
        for format in [ExportFormat::Csv, ExportFormat::FhirBundle] {
            let dest = dir.path().join(format!("{format:?}"));
            let mut out = export::Writer::create(&dest, format, Some(31337))
                .await
                .unwrap();
            // One entry, then two: pages of any size make the same file.
            out.write(&all[..1]).await.unwrap();
            out.write(&[]).await.unwrap();
            out.write(&all[1..]).await.unwrap();
            let saved = out.finish().await.unwrap();
            let bytes = std::fs::read(&dest).unwrap();
            assert_eq!(saved.size, bytes.len() as u64);
            match format {
                ExportFormat::Csv => assert_eq!(String::from_utf8(bytes).unwrap(), to_csv(&all)),
                ExportFormat::FhirBundle => {
                    let mut read: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                    let mut whole = to_fhir_bundle(&all, Some(31337));
                    read["timestamp"] = serde_json::Value::Null;
                    whole["timestamp"] = serde_json::Value::Null;
                    assert_eq!(read, whole);
                }
            }
        }
        // Given up: nothing is left, not even the part.
        let dest = dir.path().join("abandoned.csv");
        let out = export::Writer::create(&dest, ExportFormat::Csv, None)
            .await
            .unwrap();
        out.abandon();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
