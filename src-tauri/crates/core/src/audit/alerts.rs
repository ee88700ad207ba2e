//! Emergency access as break-glass, the patient's side: the background pass reads the
//! wallet's `EmergencyAccess` events (owner = this wallet) from the trail's checked event
//! cache, synced from its cursor (never from block 0 again), and records each opening once
//! in `records.sqlite`. The window shows those not marked seen in a red banner; the shell
//! raises an OS notification for the openings a pass found ([`notification`]), in words
//! that name only the kind and the clinic, never a record's title.
//!
//! **Which openings notify.** Every opening found is listed in the banner until it is seen.
//! Only those at or after the time this device started watching the wallet (when its
//! records database was made, by a new wallet or a restore, or brought to this version)
//! raise a notification: a restored wallet, or the first run of this version, shows the
//! older openings in the banner without a burst of notifications. Each is found once (by
//! its transaction and log index), so a later pass, a rebuild or a restart raises nothing
//! again.

use medwallet_api::EmergencyAlert;
use medwallet_ledger::{Address, EventKind, LedgerEvent, LedgerNode, TrailFilter, TrailKey};
use url::Url;

use super::{rfc3339, AuditService};
use crate::error::{Answer, AuditError, CoreError};
use crate::ledger::{now_unix, LedgerTarget};
use crate::records::RecordService;
use crate::session::Owner;
use crate::store::emergency::{AlertRow, Opening};

/// An emergency opening a pass found for the first time, to notify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaisedAlert {
    /// The record opened (`0x` + 64 hex): for the banner and the log, never a notification.
    pub record_id: String,
    /// The staff member who opened it (EIP-55).
    pub accessor: String,
    /// The clinic, on whose behalf (EIP-55): the one party a notification names.
    pub clinic: String,
}

/// What an OS notification says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Its title.
    pub title: String,
    /// Its body.
    pub body: String,
}

/// `0x12Ab…9fCd`: an address, short enough for a notification.
fn short(address: &str) -> String {
    match (
        address.get(..6),
        address.get(address.len().saturating_sub(4)..),
    ) {
        (Some(head), Some(tail)) if address.len() > 10 => format!("{head}…{tail}"),
        _ => address.to_owned(),
    }
}

/// The notification for the openings one pass found (none: nothing to show). It says the
/// kind and the clinics only: no record title, file name or person's name.
pub fn notification(raised: &[RaisedAlert]) -> Option<Notification> {
    let first = raised.first()?;
    let mut clinics: Vec<&str> = Vec::new();
    for alert in raised {
        if !clinics.contains(&alert.clinic.as_str()) {
            clinics.push(&alert.clinic);
        }
    }
    let named = clinics
        .iter()
        .map(|c| short(c))
        .collect::<Vec<_>>()
        .join(", ");
    let body = match (raised.len(), clinics.len()) {
        (1, _) => format!(
            "A clinic's emergency staff opened a record ({})",
            short(&first.clinic)
        ),
        (n, 1) => format!("A clinic's emergency staff opened your records {n} times ({named})"),
        (n, c) => format!("Emergency staff of {c} clinics opened your records {n} times ({named})"),
    };
    Some(Notification {
        title: "Emergency access to your records".to_owned(),
        body,
    })
}

/// The ledger's other nodes in the settings (a URL that does not parse is left out: the
/// settings page refuses such URLs before they are saved).
pub(crate) fn witness_urls(settings: &medwallet_api::NodeSettings) -> Vec<Url> {
    settings
        .ledger_witnesses
        .iter()
        .filter_map(|u| Url::parse(u.trim()).ok())
        .collect()
}

fn my_address(owner: &Owner) -> Answer<Address> {
    owner
        .address
        .parse()
        .map_err(|e| CoreError::internal("the wallet's address", e))
}

impl AuditService {
    /// The patient's pass: syncs the wallet's trail (when the ledger node answers; the
    /// cache otherwise), records each emergency opening of its records once, and answers
    /// those to notify (see the module's words on which).
    pub async fn watch_emergencies(
        &self,
        records: &RecordService,
        owner: &Owner,
        ledger: &LedgerTarget,
        witnesses: &[Url],
    ) -> Answer<Vec<RaisedAlert>> {
        let Some(contract) = ledger.contract else {
            return Ok(Vec::new());
        };
        let me = my_address(owner)?;
        let cache = self.cache(&owner.wallet_id).await?;
        let witnesses: Vec<LedgerNode> = witnesses.iter().map(LedgerNode::new).collect();
        let unreadable = |e| AuditError::CacheUnreadable(Box::new(e));
        let synced = self.sync_own(&cache, &owner.wallet_id, me, ledger, contract, &witnesses);
        let synced_to = match tokio::time::timeout(super::SYNC_CEILING, synced).await {
            Ok(Ok((_, report))) => Some(report.to_block),
            // The openings cached before (by the Audit page, say) are still recorded.
            Ok(Err(e)) => {
                tracing::debug!(error = e.kind(), "emergency watch: the ledger was not read");
                None
            }
            Err(_) => {
                tracing::debug!("emergency watch: the ledger read timed out");
                None
            }
        };
        let synced_to = match synced_to {
            Some(block) => block,
            None => cache
                .newest_block(contract)
                .await
                .map_err(unreadable)?
                .unwrap_or(0),
        };
        // The openings only, selected by the cache's index (never the whole trail), as of
        // the block synced and a page at a time by key (a sync meanwhile moves no page),
        // oldest first.
        let openings = TrailFilter {
            kinds: vec![EventKind::EmergencyAccess],
            ..TrailFilter::default()
        };
        let mut events = Vec::new();
        let mut before = TrailKey::after_block(synced_to);
        loop {
            let page = cache
                .trail_page_before(contract, me, &openings, before, 1000)
                .await
                .map_err(unreadable)?;
            let Some((last, _)) = page.last() else {
                break;
            };
            before = TrailKey::of(last);
            events.extend(page);
        }
        events.reverse();
        let store = records.store(&owner.wallet_id).await?;
        let since = store.emergency_watch_since().await?;
        let now = now_unix();
        let mut raised = Vec::new();
        for (meta, event) in &events {
            let LedgerEvent::EmergencyAccess {
                record_id,
                owner: record_owner,
                accessor,
                version,
                clinic,
            } = event
            else {
                continue;
            };
            if *record_owner != me {
                continue;
            }
            let opened_at = i64::try_from(meta.block_time).unwrap_or(i64::MAX);
            let notify = opened_at >= since;
            let opening = Opening {
                contract: contract.to_checksum(None),
                record_id: record_id.to_string(),
                accessor: accessor.to_checksum(None),
                clinic: clinic.to_checksum(None),
                version: *version,
                block_number: meta.block_number,
                tx_hash: meta.tx_hash.to_string(),
                log_index: meta.log_index,
                opened_at,
            };
            if store
                .record_emergency(&opening, notify, now)
                .await?
                .is_some()
            {
                tracing::warn!(
                    record = %opening.record_id,
                    accessor = %opening.accessor,
                    clinic = %opening.clinic,
                    block = meta.block_number,
                    tx = %opening.tx_hash,
                    notify,
                    "an emergency opening of a record was found"
                );
                if notify {
                    raised.push(RaisedAlert {
                        record_id: opening.record_id,
                        accessor: opening.accessor,
                        clinic: opening.clinic,
                    });
                }
            }
        }
        Ok(raised)
    }

    /// The wallet's emergency openings not marked seen, newest first, with the titles of
    /// the records this wallet holds.
    pub async fn emergency_alerts(
        &self,
        records: &RecordService,
        owner: &Owner,
        ledger: &LedgerTarget,
    ) -> Answer<Vec<EmergencyAlert>> {
        let Some(contract) = ledger.contract else {
            return Ok(Vec::new());
        };
        let store = records.store(&owner.wallet_id).await?;
        let rows = store
            .unacknowledged_emergencies(&contract.to_checksum(None))
            .await?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        // The titles, from the records list decrypted once (only when there is something
        // to show).
        let titles = records.titles(owner).await?;
        Ok(rows
            .into_iter()
            .map(|AlertRow { id, opening, .. }| EmergencyAlert {
                id,
                record_title: titles.get(&opening.record_id).map(str::to_owned),
                record_id: opening.record_id,
                version: opening.version,
                accessor: opening.accessor,
                clinic: opening.clinic,
                time: rfc3339(u64::try_from(opening.opened_at).unwrap_or(0)),
                block_number: opening.block_number,
                tx_hash: opening.tx_hash,
            })
            .collect())
    }

    /// Marks the openings `ids` seen (an opening found after the banner was read is not
    /// among them, so it stays).
    pub async fn acknowledge_emergencies(
        &self,
        records: &RecordService,
        owner: &Owner,
        ids: &[i64],
    ) -> Answer<()> {
        let store = records.store(&owner.wallet_id).await?;
        let marked = store.acknowledge_emergencies(ids, now_unix()).await?;
        tracing::info!(marked, "emergency openings marked seen");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(clinic: &str) -> RaisedAlert {
        RaisedAlert {
            record_id: format!("0x{}", "ab".repeat(32)),
            accessor: "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".to_owned(),
            clinic: clinic.to_owned(),
        }
    }

    const CLINIC: &str = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";
    const OTHER: &str = "0x90F79bf6EB2c4f870365E785982E1f101E93b906";

    #[test]
    fn a_notification_names_the_kind_and_the_clinic_only() {
        assert_eq!(notification(&[]), None);
        let one = notification(&[alert(CLINIC)]).unwrap();
        assert_eq!(one.title, "Emergency access to your records");
        assert_eq!(
            one.body,
            "A clinic's emergency staff opened a record (0x3C44…93BC)"
        );
        assert!(!one.body.contains("0x7099"), "not the staff member");
        assert!(!one.body.contains("abab"), "not the record");
        let same = notification(&[alert(CLINIC), alert(CLINIC)]).unwrap();
        assert_eq!(
            same.body,
            "A clinic's emergency staff opened your records 2 times (0x3C44…93BC)"
        );
        let two = notification(&[alert(CLINIC), alert(OTHER), alert(CLINIC)]).unwrap();
        assert_eq!(
            two.body,
            "Emergency staff of 2 clinics opened your records 3 times (0x3C44…93BC, 0x90F7…b906)"
        );
    }
}
