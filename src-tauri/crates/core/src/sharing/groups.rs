//! The patient's groups: attributes under its own authority (`careteam`, `family`) that
//! several people hold. Members hold `<name>#<epoch>`; removing a member moves the group
//! to the next epoch, re-issues keys to the others and re-encrypts every record shared
//! with the group (a `leave` per record, run like a revocation), so the removed member's
//! key opens none of the new versions.

use medwallet_api::GroupSummary;
use url::Url;

use super::Failure;
use crate::error::{Answer, SharingError};
use crate::ledger::directory::Connected;
use crate::ledger::{now_unix, parse_address, rfc3339, LedgerTarget};
use crate::records::RecordService;
use crate::session::Owner;
use crate::store::RecordStore;

/// Longest group name.
const MAX_GROUP_NAME: usize = 32;

/// A group's name: a lower-case letter, then letters, digits or '-', at most 32; it
/// cannot look like another kind of attribute (no ':' or '#').
pub(crate) fn check_group_name(name: &str) -> Answer<String> {
    let n = name.trim().to_owned();
    let mut chars = n.chars();
    let ok = chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && n.len() <= MAX_GROUP_NAME;
    if !ok {
        return Err(SharingError::BadGroupName {
            name: name.trim().to_owned(),
        }
        .into());
    }
    Ok(n)
}

/// A group's attribute at `epoch`, quoted for the policy language ('#' is not bare).
pub(crate) fn group_term(name: &str, epoch: u32) -> String {
    format!("\"{name}#{epoch}\"")
}

impl RecordService {
    /// The wallet's groups.
    pub async fn list_groups(&self, owner: &Owner) -> Answer<Vec<GroupSummary>> {
        let store = self.sharing_store(owner).await?;
        Ok(store
            .groups()
            .await?
            .into_iter()
            .map(|g| GroupSummary {
                name: g.name,
                epoch: g.epoch,
                members: g.members,
            })
            .collect())
    }

    /// Adds `member` to `group` (creating it); their key from this wallet then holds the
    /// group's attribute (issued now if the nodes answer, else by the outbox).
    pub async fn add_group_member(
        &self,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        group: &str,
        member: &str,
    ) -> Answer<Vec<GroupSummary>> {
        owner.authority()?;
        let group = check_group_name(group)?;
        let member = parse_address(member)?.to_string();
        if member == owner.address {
            return Err(SharingError::SelfInGroup.into());
        }
        let store = self.sharing_store(owner).await?;
        store.add_member(&group, &member, now_unix()).await?;
        self.run_sharing(&store, owner, ipfs, ledger, true).await;
        self.list_groups(owner).await
    }

    /// Removes `member` from `group`: the next epoch, new keys for the others, and the
    /// group's records re-encrypted (run now as far as the nodes allow).
    pub async fn remove_group_member(
        &self,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        group: &str,
        member: &str,
    ) -> Answer<Vec<GroupSummary>> {
        owner.authority()?;
        let group = check_group_name(group)?;
        let member = parse_address(member)?.to_string();
        let store = self.sharing_store(owner).await?;
        let now = now_unix();
        let removed = store
            .remove_member(&group, &member, &owner.address, now, &rfc3339(now))
            .await?;
        if !removed {
            return Err(SharingError::NotAMember { member, group }.into());
        }
        self.run_sharing(&store, owner, ipfs, ledger, true).await;
        self.list_groups(owner).await
    }

    /// Re-issues keys whose attributes no longer match the holder's memberships (a new
    /// member, or the others after a removal). Answers the first failure.
    pub(crate) async fn sync_group_keys(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        conn: &Connected,
    ) -> Result<(), Failure> {
        let mut members: Vec<String> = store
            .groups()
            .await
            .map_err(Failure::store)?
            .into_iter()
            .flat_map(|g| g.members)
            .collect();
        members.sort();
        members.dedup();
        for member in members {
            let holder = parse_address(&member).map_err(Failure::waiting)?;
            self.ensure_person_key(store, owner, ipfs, conn, holder)
                .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_are_checked() {
        assert_eq!(check_group_name(" careteam ").unwrap(), "careteam");
        assert_eq!(check_group_name("family-2").unwrap(), "family-2");
        for bad in [
            "",
            "Careteam",
            "2team",
            "role:doctor",
            "care#1",
            "care team",
            &"a".repeat(33),
        ] {
            assert!(
                matches!(
                    check_group_name(&format!(" {bad} ")),
                    Err(crate::CoreError::Sharing(SharingError::BadGroupName { name })) if name == bad
                ),
                "{bad}"
            );
        }
        let term = group_term("careteam", 3);
        assert_eq!(
            medwallet_abe::Policy::parse(&term)
                .unwrap()
                .attributes()
                .collect::<Vec<_>>(),
            vec!["careteam#3"]
        );
    }
}
