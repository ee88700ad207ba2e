//! The sharing pass: what the background pass (every 10 s) and each sharing command run
//! with the unlocked wallet. It publishes the wallet's keys, adopts records clinics made
//! for it, notices clinics' new epochs, re-keys a clinic's staff and a patient's groups,
//! expires grants, then sends what is due: grants to one grantee under one clause in
//! batches ([`grant`](super::grant)), revocations in batches whose records are
//! re-encrypted side by side ([`reencrypt`]).

use medwallet_api::SharingWork;
use url::Url;

use super::{grant, reencrypt, revoke, Failure};
use crate::ledger::directory;
use crate::ledger::{chain_time, now_unix, LedgerTarget};
use crate::records::RecordService;
use crate::session::Owner;
use crate::store::grants::{GrantPhase, GrantRow};
use crate::store::RecordStore;

/// The due grants in batches, in the order of each batch's first grant: sends with the
/// same grantee, clause and expiry ([`grant::grant_group`]), revocations with the same
/// grantee, clause and kind ([`revoke::revoke_group`]).
fn batches(due: Vec<GrantRow>) -> Vec<(GrantPhase, Vec<GrantRow>)> {
    type Key = (String, Option<String>, Option<i64>, bool, bool);
    let mut out: Vec<(GrantPhase, Vec<GrantRow>)> = Vec::new();
    let mut index: std::collections::HashMap<(GrantPhase, Key), usize> = Default::default();
    for grant in due {
        let key: Key = match grant.phase {
            GrantPhase::Sending => {
                let (grantee, clause, expiry) = grant::grant_group(&grant);
                (grantee, clause, expiry, false, false)
            }
            GrantPhase::Revoking => {
                let (grantee, clause, leave, rotate) = revoke::revoke_group(&grant);
                (grantee, clause, None, leave, rotate)
            }
            GrantPhase::Active | GrantPhase::Revoked => continue,
        };
        let phase = grant.phase;
        match index.get(&(phase, key.clone())) {
            Some(&i) => out[i].1.push(grant),
            None => {
                index.insert((phase, key), out.len());
                out.push((phase, vec![grant]));
            }
        }
    }
    out
}

/// What the pass sends, in order.
enum Step {
    /// Grants to one grantee under one clause and expiry.
    Send(Vec<GrantRow>),
    /// Revocations: batches in a row taken together, so that their records share the
    /// lanes ([`reencrypt`]); the ledger's side is still grouped by grantee and clause.
    Revoke(Vec<GrantRow>),
}

/// The batches as the pass runs them: revocation batches next to each other in one step
/// (a send between two keeps its place: a grant and a revocation of the same grant run
/// in the order they were asked).
fn steps(batches: Vec<(GrantPhase, Vec<GrantRow>)>) -> Vec<Step> {
    let mut out: Vec<Step> = Vec::new();
    for (phase, group) in batches {
        match (phase, out.last_mut()) {
            (GrantPhase::Revoking, Some(Step::Revoke(run))) => run.extend(group),
            (GrantPhase::Revoking, _) => out.push(Step::Revoke(group)),
            (GrantPhase::Sending, _) => out.push(Step::Send(group)),
            (GrantPhase::Active | GrantPhase::Revoked, _) => {}
        }
    }
    out
}

impl RecordService {
    /// Runs the unlocked wallet's sharing work: publishes its identity (and authority)
    /// on the contract, revokes expired grants, sends due grants and revocations.
    /// `force` runs every queued step now, whatever its backoff ("Sync now").
    /// Answers the first problem, if any, in words (as the grants keep it).
    pub async fn sync_sharing(
        &self,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        force: bool,
    ) -> Option<String> {
        let store = match self.sharing_store(owner).await {
            Ok(s) => s,
            Err(e) => return Some(crate::words::reason(&e)),
        };
        self.run_sharing(&store, owner, ipfs, ledger, force).await
    }

    /// [`sync_sharing`](Self::sync_sharing) on the wallet's store.
    pub(crate) async fn run_sharing(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        force: bool,
    ) -> Option<String> {
        if force {
            // A command's pass: whatever it leaves undone, the next background pass sees.
            self.sharing_changed();
        }
        let _one_pass = self.sharing.lock().await;
        // A wallet being rebuilt from the ledger sends nothing to its contract until the
        // rebuild is done: a restored clinic would publish its first epoch's parameters
        // again, a restored patient re-encrypt for groups and clinics it has not read back.
        if let Some(contract) = ledger.contract {
            match store.rebuild_unfinished(&contract.to_string()).await {
                Ok(false) => {}
                Ok(true) => {
                    return Some(crate::words::reason(
                        &crate::error::RebuildError::Unfinished.into(),
                    ))
                }
                Err(e) => return Some(crate::words::reason(&e.into())),
            }
        }
        let now = now_unix();
        let mut problem_before = None;
        let connected = match ledger.contract {
            Some(_) => Some(self.connect(owner, ledger).await),
            None => None,
        };
        // Expiries are the chain's: its clock counts when it is ahead of this device's.
        let chain_now = match &connected {
            Some(Ok(c)) => chain_time(&c.node).await,
            _ => 0,
        };
        if let Err(e) = store.expire_grants(now.max(chain_now)).await {
            return Some(crate::words::reason(&e.into()));
        }
        let conn = match connected {
            None => return None,
            Some(Ok(c)) => c,
            Some(Err(f)) => {
                self.note_failures(store, &f, force).await;
                return Some(f.reason());
            }
        };
        if let Err(f) = directory::publish_self(store, owner, ipfs, &conn).await {
            self.note_failures(store, &f, force).await;
            return Some(f.reason());
        }
        match owner.role {
            medwallet_vault::Role::Patient => {
                // Records clinics made for this patient at their front desks join its
                // list; records shared with a clinic that revoked a staff key are
                // re-encrypted for its new parameters (queued before grants run).
                // A desk that redeemed one of its check-in codes: the patient is asked.
                if let Err(f) = self.sync_check_in_asks(store, &conn).await {
                    problem_before = Some(f.reason());
                }
                if let Err(f) = self.send_check_in_answers(store, &conn).await {
                    problem_before.get_or_insert(f.reason());
                }
                if let Err(f) = self.adopt_uploads(store, owner, ipfs, &conn).await {
                    problem_before.get_or_insert(f.reason());
                }
                if let Err(f) = self.sync_clinic_epochs(store, owner, ipfs, &conn).await {
                    problem_before.get_or_insert(f.reason());
                }
            }
            medwallet_vault::Role::Clinic => {
                if let Err(f) = self.sync_staff_keys(store, owner, ipfs, &conn).await {
                    problem_before = Some(f.reason());
                }
            }
            medwallet_vault::Role::Doctor => {}
        }
        // New members get keys, and after a removal the others get the next epoch's,
        // before any record is re-encrypted for it.
        if owner.authority_seed.is_some() {
            if let Err(f) = self.sync_group_keys(store, owner, ipfs, &conn).await {
                self.note_failures(store, &f, force).await;
                return Some(f.reason());
            }
        }
        let due = match store.due_grants(if force { None } else { Some(now) }).await {
            Ok(d) => d,
            Err(e) => return Some(crate::words::reason(&e.into())),
        };
        let mut problem = problem_before;
        // The records this pass re-encrypts, counted for the window's progress bar.
        let tally = self.tally(
            &owner.wallet_id,
            SharingWork::Reencrypting,
            reencrypt::records_in(due.iter().filter(|g| g.phase == GrantPhase::Revoking)),
        );
        for step in steps(batches(due)) {
            let failures = match step {
                // Grants of many records to one grantee go out together.
                Step::Send(group) => {
                    let outcomes = self.send_grants(store, owner, ipfs, &conn, &group).await;
                    group
                        .into_iter()
                        .zip(outcomes)
                        .filter_map(|(grant, outcome)| match outcome {
                            Some(Err(f)) => Some((grant, f)),
                            _ => None,
                        })
                        .collect()
                }
                // Revocations too, their records re-encrypted side by side.
                Step::Revoke(grants) => {
                    self.run_revocations(store, owner, ipfs, ledger, &conn, grants, tally.as_ref())
                        .await
                }
            };
            let mut down = false;
            for (grant, f) in failures {
                let reason = f.reason();
                if let Err(e) = store
                    .grant_failed(
                        grant.id,
                        &reason,
                        crate::records::outbox::backoff_until(grant.attempts),
                    )
                    .await
                {
                    // The grant keeps its old reason and time; the next pass tries again.
                    tracing::warn!(grant = grant.id, record = %grant.record_id, error = e.kind(), "a grant's retry time was not saved");
                }
                problem.get_or_insert(reason);
                down |= f.node_down;
            }
            if down {
                break;
            }
        }
        problem
    }

    /// A node failed before any grant ran: every due grant shows why it waits.
    async fn note_failures(&self, store: &RecordStore, f: &Failure, force: bool) {
        let now = now_unix();
        let reason = f.reason();
        match store.due_grants(if force { None } else { Some(now) }).await {
            Ok(due) => {
                for g in due {
                    if let Err(e) = store
                        .grant_failed(
                            g.id,
                            &reason,
                            crate::records::outbox::backoff_until(g.attempts),
                        )
                        .await
                    {
                        // It keeps its old reason; the pass's problem is answered anyway.
                        tracing::warn!(grant = g.id, record = %g.record_id, error = e.kind(), "a grant's reason was not saved");
                    }
                }
            }
            Err(e) => {
                tracing::warn!(
                    error = e.kind(),
                    "the grants waiting for the node could not be read"
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grant(id: i64, phase: GrantPhase, grantee: &str) -> GrantRow {
        GrantRow::sample(id, &format!("r{id}"), grantee, phase)
    }

    #[test]
    fn revocations_next_to_each_other_run_together_and_a_send_keeps_its_place() {
        use GrantPhase::{Revoking, Sending};
        let due = vec![
            grant(1, Revoking, "a"),
            grant(2, Revoking, "b"),
            grant(3, Sending, "c"),
            grant(4, Revoking, "d"),
            grant(5, Revoking, "a"),
        ];
        let ids = |g: &[GrantRow]| g.iter().map(|g| g.id).collect::<Vec<_>>();
        let steps: Vec<(bool, Vec<i64>)> = steps(batches(due))
            .iter()
            .map(|s| match s {
                Step::Send(g) => (false, ids(g)),
                Step::Revoke(g) => (true, ids(g)),
            })
            .collect();
        // Revocations from "a" form one batch (1 and 5) at the place of its first, so
        // the step before the send holds a's and b's; d's comes after the send.
        assert_eq!(
            steps,
            vec![(true, vec![1, 5, 2]), (false, vec![3]), (true, vec![4])]
        );
    }
}
