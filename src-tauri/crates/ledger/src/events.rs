//! The contract's events, decoded and checked, read with `eth_getLogs` in pages.

use std::collections::{BTreeMap, HashMap, HashSet};

use alloy::primitives::{Address, Bytes, B256, U64};
use alloy::providers::Provider;
use alloy::rpc::types::{Filter, Log};
use alloy::sol_types::SolEventInterface;
use serde::Deserialize;

use crate::contract::MedwalletLedger::MedwalletLedgerEvents as Ev;
use crate::node::CALL_TIMEOUT;
use crate::{LedgerError, LedgerNode};

/// Blocks per `eth_getLogs` call; a page the node refuses is split in two.
pub const LOG_PAGE_BLOCKS: u64 = 2_000;
/// JSON-RPC batches (of headers or transactions) in flight at once.
const BATCHES_IN_FLIGHT: usize = 8;
/// Calls per JSON-RPC batch.
const CALLS_PER_BATCH: usize = 100;
/// Words in one topic position's list: nodes cap a request's size, and a long list is
/// cheap to split.
const TOPICS_PER_QUERY: usize = 100;

/// One of the contract's events, decoded. CIDs are their binary form, as sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)] // the fields are the Solidity event's, documented there
pub enum LedgerEvent {
    /// `LedgerCreated`, once at deployment.
    LedgerCreated { admin: Address, schema_version: u16 },
    /// `AdminSet`: `by` made `account` an admin, or stopped it being one.
    AdminSet {
        account: Address,
        by: Address,
        allowed: bool,
    },
    /// `ProviderAttested`: an admin attested `provider` as `name` with `role`.
    ProviderAttested {
        provider: Address,
        admin: Address,
        name: String,
        role: u8,
    },
    /// `ProviderWithdrawn`.
    ProviderWithdrawn { provider: Address, admin: Address },
    /// `IdentityPublished`.
    IdentityPublished {
        account: Address,
        hpke_key: B256,
        ed25519_key: B256,
        role: u8,
    },
    /// `AuthorityPublished`.
    AuthorityPublished {
        authority: Address,
        params_cid: Bytes,
        epoch: u32,
    },
    /// `RecordRegistered` (version 1).
    RecordRegistered {
        record_id: B256,
        owner: Address,
        version: u32,
        manifest_cid: Bytes,
        capsule_cid: Bytes,
    },
    /// `RecordUpdated`.
    RecordUpdated {
        record_id: B256,
        owner: Address,
        version: u32,
        manifest_cid: Bytes,
        capsule_cid: Bytes,
    },
    /// `AccessGranted`: `clause_hash` zero for a person, else `grantee` is the
    /// clause's authority.
    AccessGranted {
        record_id: B256,
        owner: Address,
        grantee: Address,
        clause_hash: B256,
        capsule_cid: Bytes,
        expiry: u64,
    },
    /// `AccessRevoked`.
    AccessRevoked {
        record_id: B256,
        owner: Address,
        grantee: Address,
        clause_hash: B256,
        new_capsule_cid: Bytes,
    },
    /// `KeyIssued`.
    KeyIssued {
        authority: Address,
        holder: Address,
        key_cid: Bytes,
        epoch: u32,
    },
    /// `KeyRevoked`: the holder's keys up to `epoch` count no more.
    KeyRevoked {
        authority: Address,
        holder: Address,
        epoch: u32,
    },
    /// `RecordAccessed`: `authority` and `clause_hash` zero for a person grant.
    RecordAccessed {
        record_id: B256,
        owner: Address,
        accessor: Address,
        version: u32,
        authority: Address,
        clause_hash: B256,
    },
    /// `EmergencyAccessSet`.
    EmergencyAccessSet {
        record_id: B256,
        owner: Address,
        clinic: Address,
        allowed: bool,
    },
    /// `EmergencyAccess`.
    EmergencyAccess {
        record_id: B256,
        owner: Address,
        accessor: Address,
        version: u32,
        clinic: Address,
    },
    /// `CheckInRedeemed`: `clinic` asks to check `patient` in.
    CheckInRedeemed {
        check_in_id: B256,
        patient: Address,
        clinic: Address,
    },
    /// `CheckInAnswered`: the patient allowed it until `until`, or declined.
    CheckInAnswered {
        check_in_id: B256,
        patient: Address,
        clinic: Address,
        allowed: bool,
        until: u64,
    },
    /// `RecordUploaded`: version 1 of a record `author` (a clinic) registered for `owner`.
    RecordUploaded {
        record_id: B256,
        owner: Address,
        author: Address,
        manifest_cid: Bytes,
        capsule_cid: Bytes,
    },
}

/// The kind of an event, for filters and storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum EventKind {
    LedgerCreated,
    AdminSet,
    ProviderAttested,
    ProviderWithdrawn,
    IdentityPublished,
    AuthorityPublished,
    RecordRegistered,
    RecordUpdated,
    AccessGranted,
    AccessRevoked,
    KeyIssued,
    KeyRevoked,
    RecordAccessed,
    EmergencyAccessSet,
    EmergencyAccess,
    CheckInRedeemed,
    CheckInAnswered,
    RecordUploaded,
}

impl EventKind {
    /// Every kind.
    pub const ALL: [EventKind; 18] = [
        Self::LedgerCreated,
        Self::AdminSet,
        Self::ProviderAttested,
        Self::ProviderWithdrawn,
        Self::IdentityPublished,
        Self::AuthorityPublished,
        Self::RecordRegistered,
        Self::RecordUpdated,
        Self::AccessGranted,
        Self::AccessRevoked,
        Self::KeyIssued,
        Self::KeyRevoked,
        Self::RecordAccessed,
        Self::EmergencyAccessSet,
        Self::EmergencyAccess,
        Self::CheckInRedeemed,
        Self::CheckInAnswered,
        Self::RecordUploaded,
    ];

    /// The Solidity event's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LedgerCreated => "LedgerCreated",
            Self::AdminSet => "AdminSet",
            Self::ProviderAttested => "ProviderAttested",
            Self::ProviderWithdrawn => "ProviderWithdrawn",
            Self::IdentityPublished => "IdentityPublished",
            Self::AuthorityPublished => "AuthorityPublished",
            Self::RecordRegistered => "RecordRegistered",
            Self::RecordUpdated => "RecordUpdated",
            Self::AccessGranted => "AccessGranted",
            Self::AccessRevoked => "AccessRevoked",
            Self::KeyIssued => "KeyIssued",
            Self::KeyRevoked => "KeyRevoked",
            Self::RecordAccessed => "RecordAccessed",
            Self::EmergencyAccessSet => "EmergencyAccessSet",
            Self::EmergencyAccess => "EmergencyAccess",
            Self::CheckInRedeemed => "CheckInRedeemed",
            Self::CheckInAnswered => "CheckInAnswered",
            Self::RecordUploaded => "RecordUploaded",
        }
    }
}

impl LedgerEvent {
    /// Decodes one log of our contract; `None` for a log it does not declare.
    pub fn decode(topics: &[B256], data: &[u8]) -> Option<Self> {
        Some(match Ev::decode_raw_log(topics, data).ok()? {
            Ev::LedgerCreated(e) => Self::LedgerCreated {
                admin: e.admin,
                schema_version: e.schemaVersion,
            },
            Ev::AdminSet(e) => Self::AdminSet {
                account: e.account,
                by: e.by,
                allowed: e.allowed,
            },
            Ev::ProviderAttested(e) => Self::ProviderAttested {
                provider: e.provider,
                admin: e.admin,
                name: e.name,
                role: e.role,
            },
            Ev::ProviderWithdrawn(e) => Self::ProviderWithdrawn {
                provider: e.provider,
                admin: e.admin,
            },
            Ev::IdentityPublished(e) => Self::IdentityPublished {
                account: e.account,
                hpke_key: e.hpkeKey,
                ed25519_key: e.ed25519Key,
                role: e.role,
            },
            Ev::AuthorityPublished(e) => Self::AuthorityPublished {
                authority: e.authority,
                params_cid: e.paramsCid,
                epoch: e.epoch,
            },
            Ev::RecordRegistered(e) => Self::RecordRegistered {
                record_id: e.recordId,
                owner: e.owner,
                version: e.version,
                manifest_cid: e.manifestCid,
                capsule_cid: e.capsuleCid,
            },
            Ev::RecordUpdated(e) => Self::RecordUpdated {
                record_id: e.recordId,
                owner: e.owner,
                version: e.version,
                manifest_cid: e.manifestCid,
                capsule_cid: e.capsuleCid,
            },
            Ev::AccessGranted(e) => Self::AccessGranted {
                record_id: e.recordId,
                owner: e.owner,
                grantee: e.grantee,
                clause_hash: e.clauseHash,
                capsule_cid: e.capsuleCid,
                expiry: e.expiry,
            },
            Ev::AccessRevoked(e) => Self::AccessRevoked {
                record_id: e.recordId,
                owner: e.owner,
                grantee: e.grantee,
                clause_hash: e.clauseHash,
                new_capsule_cid: e.newCapsuleCid,
            },
            Ev::KeyIssued(e) => Self::KeyIssued {
                authority: e.authority,
                holder: e.holder,
                key_cid: e.keyCid,
                epoch: e.epoch,
            },
            Ev::KeyRevoked(e) => Self::KeyRevoked {
                authority: e.authority,
                holder: e.holder,
                epoch: e.epoch,
            },
            Ev::RecordAccessed(e) => Self::RecordAccessed {
                record_id: e.recordId,
                owner: e.owner,
                accessor: e.accessor,
                version: e.version,
                authority: e.authority,
                clause_hash: e.clauseHash,
            },
            Ev::EmergencyAccessSet(e) => Self::EmergencyAccessSet {
                record_id: e.recordId,
                owner: e.owner,
                clinic: e.clinic,
                allowed: e.allowed,
            },
            Ev::EmergencyAccess(e) => Self::EmergencyAccess {
                record_id: e.recordId,
                owner: e.owner,
                accessor: e.accessor,
                version: e.version,
                clinic: e.clinic,
            },
            Ev::CheckInRedeemed(e) => Self::CheckInRedeemed {
                check_in_id: e.checkInId,
                patient: e.patient,
                clinic: e.clinic,
            },
            Ev::CheckInAnswered(e) => Self::CheckInAnswered {
                check_in_id: e.checkInId,
                patient: e.patient,
                clinic: e.clinic,
                allowed: e.allowed,
                until: e.until,
            },
            Ev::RecordUploaded(e) => Self::RecordUploaded {
                record_id: e.recordId,
                owner: e.owner,
                author: e.author,
                manifest_cid: e.manifestCid,
                capsule_cid: e.capsuleCid,
            },
        })
    }

    /// Its kind.
    pub fn kind(&self) -> EventKind {
        match self {
            Self::LedgerCreated { .. } => EventKind::LedgerCreated,
            Self::AdminSet { .. } => EventKind::AdminSet,
            Self::ProviderAttested { .. } => EventKind::ProviderAttested,
            Self::ProviderWithdrawn { .. } => EventKind::ProviderWithdrawn,
            Self::IdentityPublished { .. } => EventKind::IdentityPublished,
            Self::AuthorityPublished { .. } => EventKind::AuthorityPublished,
            Self::RecordRegistered { .. } => EventKind::RecordRegistered,
            Self::RecordUpdated { .. } => EventKind::RecordUpdated,
            Self::AccessGranted { .. } => EventKind::AccessGranted,
            Self::AccessRevoked { .. } => EventKind::AccessRevoked,
            Self::KeyIssued { .. } => EventKind::KeyIssued,
            Self::KeyRevoked { .. } => EventKind::KeyRevoked,
            Self::RecordAccessed { .. } => EventKind::RecordAccessed,
            Self::EmergencyAccessSet { .. } => EventKind::EmergencyAccessSet,
            Self::EmergencyAccess { .. } => EventKind::EmergencyAccess,
            Self::CheckInRedeemed { .. } => EventKind::CheckInRedeemed,
            Self::CheckInAnswered { .. } => EventKind::CheckInAnswered,
            Self::RecordUploaded { .. } => EventKind::RecordUploaded,
        }
    }

    /// Who must have sent the transaction: the admin at deployment, the account or
    /// authority for what it publishes, the owner for what is done to a record, the
    /// accessor for an access.
    pub fn actor(&self) -> Address {
        match *self {
            Self::LedgerCreated { admin, .. }
            | Self::ProviderAttested { admin, .. }
            | Self::ProviderWithdrawn { admin, .. } => admin,
            Self::AdminSet { by, .. } => by,
            Self::IdentityPublished { account, .. } => account,
            Self::AuthorityPublished { authority, .. }
            | Self::KeyIssued { authority, .. }
            | Self::KeyRevoked { authority, .. } => authority,
            Self::RecordRegistered { owner, .. }
            | Self::RecordUpdated { owner, .. }
            | Self::AccessGranted { owner, .. }
            | Self::AccessRevoked { owner, .. }
            | Self::EmergencyAccessSet { owner, .. } => owner,
            Self::RecordAccessed { accessor, .. } | Self::EmergencyAccess { accessor, .. } => {
                accessor
            }
            Self::CheckInRedeemed { clinic, .. } => clinic,
            Self::CheckInAnswered { patient, .. } => patient,
            Self::RecordUploaded { author, .. } => author,
        }
    }

    /// The record it is about, if any.
    pub fn record_id(&self) -> Option<B256> {
        match *self {
            Self::RecordRegistered { record_id, .. }
            | Self::RecordUpdated { record_id, .. }
            | Self::AccessGranted { record_id, .. }
            | Self::AccessRevoked { record_id, .. }
            | Self::RecordAccessed { record_id, .. }
            | Self::EmergencyAccessSet { record_id, .. }
            | Self::EmergencyAccess { record_id, .. }
            | Self::RecordUploaded { record_id, .. } => Some(record_id),
            _ => None,
        }
    }

    /// The record's owner, for events about a record.
    pub fn owner(&self) -> Option<Address> {
        match *self {
            Self::RecordRegistered { owner, .. }
            | Self::RecordUpdated { owner, .. }
            | Self::AccessGranted { owner, .. }
            | Self::AccessRevoked { owner, .. }
            | Self::RecordAccessed { owner, .. }
            | Self::EmergencyAccessSet { owner, .. }
            | Self::EmergencyAccess { owner, .. }
            | Self::RecordUploaded { owner, .. } => Some(owner),
            _ => None,
        }
    }

    /// The other party it names (grantee, key holder, clinic), if any.
    pub fn subject(&self) -> Option<Address> {
        match *self {
            Self::AccessGranted { grantee, .. } | Self::AccessRevoked { grantee, .. } => {
                Some(grantee)
            }
            Self::KeyIssued { holder, .. } | Self::KeyRevoked { holder, .. } => Some(holder),
            Self::EmergencyAccessSet { clinic, .. } => Some(clinic),
            Self::CheckInRedeemed { patient, .. } => Some(patient),
            Self::CheckInAnswered { clinic, .. } => Some(clinic),
            Self::AdminSet { account, .. } => Some(account),
            Self::ProviderAttested { provider, .. } | Self::ProviderWithdrawn { provider, .. } => {
                Some(provider)
            }
            _ => None,
        }
    }

    /// Whether the event belongs to `filter`'s selection.
    pub fn matches(&self, filter: &EventFilter) -> bool {
        match filter {
            EventFilter::All => true,
            EventFilter::Record(id) => self.record_id() == Some(*id),
            EventFilter::Wallet(a) => {
                self.actor() == *a || self.owner() == Some(*a) || self.subject() == Some(*a)
            }
        }
    }
}

/// Where and by whom an event was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventMeta {
    /// The block's number.
    pub block_number: u64,
    /// The block's hash.
    pub block_hash: B256,
    /// The block's parent hash.
    pub parent_hash: B256,
    /// The transaction.
    pub tx_hash: B256,
    /// The log's index in its block.
    pub log_index: u64,
    /// The transaction's sender (`from`), checked to be the event's actor.
    pub sender: Address,
    /// The block's timestamp (unix seconds).
    pub block_time: u64,
}

/// Which events to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventFilter {
    /// Every event of the contract.
    All,
    /// One record's trail (topic 1).
    Record(B256),
    /// A wallet's own history: events where it is the actor, the owner or the subject
    /// (three `eth_getLogs` queries, by topic position).
    Wallet(Address),
}

impl EventFilter {
    /// A stable name for the cache's sync cursors.
    pub(crate) fn key(&self) -> String {
        match self {
            Self::All => "all".into(),
            Self::Record(id) => format!("record:{id}"),
            Self::Wallet(a) => format!("wallet:{a}"),
        }
    }

    /// The `eth_getLogs` queries that select every event of `filters` (a superset: what
    /// they return is matched against the filters again). Wallets and records are asked
    /// for together, as lists of topics (a topic position matches any word of its list),
    /// so a hundred wallets cost three queries, not three hundred.
    fn topic_queries(filters: &[EventFilter], base: &Filter) -> Vec<Filter> {
        if filters.iter().any(|f| matches!(f, Self::All)) {
            return vec![base.clone()];
        }
        let mut wallets: Vec<B256> = Vec::new();
        let mut records: Vec<B256> = Vec::new();
        for f in filters {
            match *f {
                Self::All => {}
                Self::Record(id) => records.push(id),
                Self::Wallet(a) => wallets.push(a.into_word()),
            }
        }
        for words in [&mut wallets, &mut records] {
            words.sort();
            words.dedup();
        }
        let mut queries = Vec::new();
        // Topic 1 holds a record's id or the wallet of an event about no record: one list.
        let first: Vec<B256> = wallets.iter().chain(records.iter()).copied().collect();
        for chunk in first.chunks(TOPICS_PER_QUERY) {
            queries.push(base.clone().topic1(chunk.to_vec()));
        }
        for chunk in wallets.chunks(TOPICS_PER_QUERY) {
            queries.push(base.clone().topic2(chunk.to_vec()));
            queries.push(base.clone().topic3(chunk.to_vec()));
        }
        queries
    }
}

/// A decoded, checked event with its raw log (kept for the cache).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    /// Where and by whom.
    pub meta: EventMeta,
    /// What.
    pub event: LedgerEvent,
    pub(crate) topics: Vec<B256>,
    pub(crate) data: Bytes,
}

/// A log that failed a check and was kept out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedEvent {
    /// Where it was.
    pub meta: EventMeta,
    /// Why it was rejected, in words.
    pub reason: String,
}

/// The blocks a fetch saw, by number: (hash, parent hash).
pub(crate) type SeenBlocks = BTreeMap<u64, (B256, B256)>;

/// What [`LedgerNode::fetch_events`] read.
#[derive(Debug, Clone, Default)]
pub struct FetchedEvents {
    /// The checked events, in chain order.
    pub events: Vec<LoggedEvent>,
    /// Logs kept out, with the reason.
    pub rejected: Vec<RejectedEvent>,
    pub(crate) blocks: SeenBlocks,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RpcHeader {
    pub hash: B256,
    pub parent_hash: B256,
    pub number: U64,
    pub timestamp: U64,
}

/// The part of a transaction the sender check needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RpcTx {
    hash: B256,
    from: Address,
    block_hash: Option<B256>,
}

impl LedgerNode {
    /// Reads the contract's events in `from_block..=to_block` selected by `filter`: see
    /// [`fetch_events_of`](Self::fetch_events_of).
    pub async fn fetch_events(
        &self,
        contract: Address,
        from_block: u64,
        to_block: u64,
        filter: &EventFilter,
    ) -> Result<FetchedEvents, LedgerError> {
        self.fetch_events_of(contract, from_block, to_block, std::slice::from_ref(filter))
            .await
    }

    /// Reads the contract's events in `from_block..=to_block` selected by any of
    /// `filters`: `eth_getLogs` by topic in pages of [`LOG_PAGE_BLOCKS`] (a page the node
    /// refuses, e.g. for too many results, is split), then the header of each block that
    /// has such logs (its timestamp and parent) and each of their transactions (its
    /// sender), in JSON-RPC batches. Only the selected transactions are read, never a
    /// whole block's: on a ledger shared by a region, a block holds mostly other
    /// wallets' work. Every event's sender must be the actor it names, else it is
    /// rejected.
    #[tracing::instrument(
        skip_all,
        fields(contract = %contract, from_block = from_block, to_block = to_block, filters = filters.len())
    )]
    pub async fn fetch_events_of(
        &self,
        contract: Address,
        from_block: u64,
        to_block: u64,
        filters: &[EventFilter],
    ) -> Result<FetchedEvents, LedgerError> {
        let started = std::time::Instant::now();
        let result = self
            .fetch_events_here(contract, from_block, to_block, filters)
            .await;
        match &result {
            Ok(out) => tracing::debug!(
                events = out.events.len(),
                rejected = out.rejected.len(),
                blocks = out.blocks.len(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "events fetched"
            ),
            Err(e) => tracing::warn!(error = e.kind(), "fetching events failed"),
        }
        result
    }

    async fn fetch_events_here(
        &self,
        contract: Address,
        from_block: u64,
        to_block: u64,
        filters: &[EventFilter],
    ) -> Result<FetchedEvents, LedgerError> {
        if filters.is_empty() {
            return Ok(FetchedEvents::default());
        }
        let mut logs = Vec::new();
        let mut start = from_block;
        while start <= to_block {
            let end = to_block.min(start.saturating_add(LOG_PAGE_BLOCKS - 1));
            let base = Filter::new().address(contract);
            let before = logs.len();
            for query in EventFilter::topic_queries(filters, &base) {
                self.get_logs_split(&query, start, end, &mut logs).await?;
            }
            tracing::debug!(
                page_from = start,
                page_to = end,
                logs = logs.len() - before,
                "eth_getLogs page read"
            );
            if end == u64::MAX {
                break;
            }
            start = end + 1;
        }
        let mut seen = HashSet::new();
        logs.retain(|l| seen.insert((l.block_hash, l.log_index)));
        logs.sort_by_key(|l| (l.block_number, l.log_index));

        let numbers: Vec<u64> = logs
            .iter()
            .filter_map(|l| l.block_number)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let hashes: Vec<B256> = logs
            .iter()
            .filter_map(|l| l.transaction_hash)
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let headers = self.headers(&numbers).await?;
        let senders = self.senders(&hashes).await?;
        let mut out = FetchedEvents::default();
        for log in logs {
            let (Some(number), Some(hash), Some(tx_hash), Some(log_index)) = (
                log.block_number,
                log.block_hash,
                log.transaction_hash,
                log.log_index,
            ) else {
                return Err(self.inconsistent("a log without its block, transaction or index"));
            };
            let Some(block) = headers.get(&number) else {
                return Err(self.inconsistent(&format!("block {number} is missing")));
            };
            if block.hash != hash {
                return Err(self.inconsistent(&format!(
                    "a log names block {number} as {hash}, the node's block is {}",
                    block.hash
                )));
            }
            let sender = match senders.get(&tx_hash) {
                Some(&(sender, Some(in_block))) if in_block == hash => sender,
                _ => {
                    return Err(self
                        .inconsistent(&format!("transaction {tx_hash} is not in block {number}")))
                }
            };
            let meta = EventMeta {
                block_number: number,
                block_hash: hash,
                parent_hash: block.parent_hash,
                tx_hash,
                log_index,
                sender,
                block_time: block.timestamp.to::<u64>(),
            };
            let topics = log.topics().to_vec();
            let data = log.data().data.clone();
            match LedgerEvent::decode(&topics, &data) {
                None => {
                    tracing::warn!(
                        block = number,
                        tx_hash = %tx_hash,
                        log_index,
                        "a log of the contract does not decode: rejected"
                    );
                    out.rejected.push(RejectedEvent {
                        meta,
                        reason: "the log is not one of the contract's events".into(),
                    })
                }
                Some(event) if event.actor() != sender => {
                    tracing::warn!(
                        block = number,
                        tx_hash = %tx_hash,
                        kind = event.kind().as_str(),
                        actor = %event.actor(),
                        sender = %sender,
                        "an event's sender is not its actor: rejected"
                    );
                    out.rejected.push(RejectedEvent {
                        meta,
                        reason: format!(
                            "{} names {} as its actor, but the transaction was sent by {sender}",
                            event.kind().as_str(),
                            event.actor()
                        ),
                    })
                }
                Some(event) if !filters.iter().any(|f| event.matches(f)) => {}
                Some(event) => out.events.push(LoggedEvent {
                    meta,
                    event,
                    topics,
                    data,
                }),
            }
        }
        out.blocks = headers
            .into_iter()
            .map(|(n, b)| (n, (b.hash, b.parent_hash)))
            .collect();
        // Consecutive blocks must chain.
        let mut prev: Option<(u64, B256)> = None;
        for (&n, &(hash, parent)) in &out.blocks {
            if let Some((pn, ph)) = prev {
                if pn + 1 == n && ph != parent {
                    return Err(self.inconsistent(&format!(
                        "block {n}'s parent is {parent}, but block {pn} is {ph}"
                    )));
                }
            }
            prev = Some((n, hash));
        }
        Ok(out)
    }

    /// `eth_getLogs` over `from..=to`, halving the range when the node refuses it.
    async fn get_logs_split(
        &self,
        query: &Filter,
        from: u64,
        to: u64,
        out: &mut Vec<Log>,
    ) -> Result<(), LedgerError> {
        let mut ranges = vec![(from, to)];
        while let Some((a, b)) = ranges.pop() {
            let q = query.clone().from_block(a).to_block(b);
            match self.timed(self.provider().get_logs(&q)).await {
                Ok(logs) => out.extend(logs),
                Err(LedgerError::Rejected { .. }) if b > a => {
                    let mid = a + (b - a) / 2;
                    tracing::warn!(
                        from_block = a,
                        to_block = b,
                        "the node refused an eth_getLogs range: reading it in two halves"
                    );
                    ranges.push((mid + 1, b));
                    ranges.push((a, mid));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The header of block `number`, or `None` past the head.
    pub(crate) async fn header(&self, number: u64) -> Result<Option<RpcHeader>, LedgerError> {
        let call = self
            .provider()
            .client()
            .request::<_, Option<RpcHeader>>("eth_getBlockByNumber", (U64::from(number), false));
        self.timed(call).await
    }

    /// The headers of blocks `numbers`, in JSON-RPC batches, several in flight.
    #[tracing::instrument(level = "debug", skip_all, fields(blocks = numbers.len()))]
    async fn headers(&self, numbers: &[u64]) -> Result<BTreeMap<u64, RpcHeader>, LedgerError> {
        let answers = self
            .batched::<u64, Option<RpcHeader>>("eth_getBlockByNumber", numbers, |n| {
                serde_json::json!([U64::from(*n), false])
            })
            .await?;
        let mut out = BTreeMap::new();
        for (n, header) in answers {
            let header =
                header.ok_or_else(|| self.inconsistent(&format!("block {n} is missing")))?;
            if header.number.to::<u64>() != n {
                return Err(self.inconsistent(&format!("asked for block {n}, got another")));
            }
            out.insert(n, header);
        }
        Ok(out)
    }

    /// Each transaction's sender and the block the node says it is in.
    #[tracing::instrument(level = "debug", skip_all, fields(transactions = hashes.len()))]
    async fn senders(
        &self,
        hashes: &[B256],
    ) -> Result<HashMap<B256, (Address, Option<B256>)>, LedgerError> {
        let answers = self
            .batched::<B256, Option<RpcTx>>("eth_getTransactionByHash", hashes, |h| {
                serde_json::json!([h])
            })
            .await?;
        let mut out = HashMap::with_capacity(answers.len());
        for (hash, tx) in answers {
            let tx =
                tx.ok_or_else(|| self.inconsistent(&format!("transaction {hash} is missing")))?;
            if tx.hash != hash {
                return Err(
                    self.inconsistent(&format!("asked for transaction {hash}, got another"))
                );
            }
            out.insert(hash, (tx.from, tx.block_hash));
        }
        Ok(out)
    }

    /// One call of `method` per key, [`CALLS_PER_BATCH`] to a JSON-RPC batch and
    /// [`BATCHES_IN_FLIGHT`] batches at once, all within one deadline per round.
    async fn batched<K, R>(
        &self,
        method: &'static str,
        keys: &[K],
        params: impl Fn(&K) -> serde_json::Value,
    ) -> Result<Vec<(K, R)>, LedgerError>
    where
        K: Clone + Send + 'static,
        R: alloy::rpc::json_rpc::RpcRecv,
    {
        let url = self.url().as_str().to_owned();
        let mut out = Vec::with_capacity(keys.len());
        for round in keys.chunks(CALLS_PER_BATCH * BATCHES_IN_FLIGHT) {
            let mut set = tokio::task::JoinSet::new();
            for chunk in round.chunks(CALLS_PER_BATCH) {
                let provider = self.provider().clone();
                let calls: Vec<(K, serde_json::Value)> =
                    chunk.iter().map(|k| (k.clone(), params(k))).collect();
                set.spawn(async move {
                    let client = provider.client();
                    let mut batch = alloy::rpc::client::BatchRequest::new(client);
                    let mut waiting = Vec::with_capacity(calls.len());
                    for (key, p) in calls {
                        waiting.push((key, batch.add_call::<_, R>(method, &p)?));
                    }
                    batch.send().await?;
                    let mut answers = Vec::with_capacity(waiting.len());
                    for (key, answer) in waiting {
                        answers.push((key, answer.await?));
                    }
                    Ok::<_, alloy::transports::TransportError>(answers)
                });
            }
            let deadline = tokio::time::Instant::now() + CALL_TIMEOUT * 2;
            while let Some(joined) = tokio::time::timeout_at(deadline, set.join_next())
                .await
                .map_err(|_| self.timeout())?
            {
                let answers = joined
                    .map_err(|e| self.inconsistent(&format!("a batch request failed: {e}")))?
                    .map_err(|e| LedgerError::from_rpc(&url, e))?;
                out.extend(answers);
            }
        }
        Ok(out)
    }

    pub(crate) fn inconsistent(&self, detail: &str) -> LedgerError {
        LedgerError::Inconsistent {
            url: self.url().to_string(),
            detail: detail.to_owned(),
        }
    }
}
