//! A record's next version under a new data key, for a revocation: the content is
//! decrypted and re-encrypted chunk by chunk through a pipe (the plaintext never touches
//! the disk), the manifest resealed, the capsule wrapped for everyone still granted.

use medwallet_abe::DataKey;
use medwallet_records::cid::cid_of;
use medwallet_records::{manifest, stream, IpfsNode};
use url::Url;

use super::grant::capsule_for;
use crate::error::{Alteration, Answer, CoreError, Part, DATABASE_ROOM};
use crate::ledger::LedgerTarget;
use crate::records::{index_damaged, pipeline, write_small_objects, RecordService};
use crate::session::Owner;
use crate::store::{local_seal, remove_file, Object, RecordStore, State, StoredRecord};

impl RecordService {
    /// Makes version n+1 of a record without the people being revoked, inserts it with its
    /// upload queued, and names it in every revocation of the record that waits for one.
    /// Answers the new version.
    #[tracing::instrument(name = "make_revision", skip_all)]
    pub(crate) async fn make_revision(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        record_id: &str,
    ) -> Answer<u32> {
        let mut needed = None;
        self.revise(store, owner, ipfs, ledger, record_id, &mut needed)
            .await
            // A full disk is answered once what the version wrote is removed, with what
            // it needed: the fetched copy and the new one, and the database's room.
            .map_err(|e| e.disk_full_in(store.dir(), needed))
    }

    async fn revise(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        record_id: &str,
        needed: &mut Option<u64>,
    ) -> Answer<u32> {
        // The revocations this version is for, read before its audience: one started
        // after this point waits for the next version.
        let for_grants = store.awaiting_revision(record_id).await?;
        let row = store
            .latest(record_id)
            .await?
            .ok_or_else(|| CoreError::internal("the record to re-encrypt", "missing"))?;
        let old_dek = local_seal::open(
            &owner.local_key,
            &row.record_id,
            row.version,
            &row.sealed_dek,
        )
        .map_err(|_| index_damaged(&row))?;
        let old = manifest::open(&old_dek, &row.manifest, &row.record_id, row.version)
            .map_err(|_| index_damaged(&row))?;
        let version = row.version + 1;
        let expected = crate::ipfs::content_cid(&row.content_cid, Part::RecordIndex)?;
        let copies = match row.state {
            State::Local => 1,
            State::OnIpfs => 2,
        };
        *needed = Some(
            stream::ciphertext_len(old.size)
                .saturating_mul(copies)
                .saturating_add(DATABASE_ROOM),
        );

        // The current ciphertext: on this device until uploaded, else fetched from IPFS.
        let (ciphertext, fetched) = match row.state {
            State::Local => (
                store.object_path(record_id, row.version, Object::Content),
                None,
            ),
            State::OnIpfs => {
                let temp =
                    store.temp_path(&format!("{record_id}-v{}-{}.revise", row.version, unique()));
                let node = IpfsNode::new(ipfs)?;
                let file = tokio::fs::File::create(&temp)
                    .await
                    .map_err(|e| CoreError::disk(&temp, e))?
                    .into_std()
                    .await;
                if let Err(e) = node
                    .cat_to(&expected, file, stream::ciphertext_len(old.size))
                    .await
                {
                    remove_file(&temp);
                    return Err(e.into());
                }
                (temp.clone(), Some(temp))
            }
        };
        let new_dek = DataKey::generate(&mut medwallet_abe::rand_core::OsRng);
        // Into a temp file first: it becomes the version's content only once the manifest
        // and capsule are made too.
        let part = store.temp_path(&format!("{record_id}-v{version}-{}.content", unique()));
        let recrypted = pipeline::reencrypt_file(&old_dek, &new_dek, &ciphertext, &part).await;
        if let Some(temp) = fetched {
            remove_file(&temp);
        }
        let (decrypted, encrypted) = recrypted?;
        if decrypted.cid != expected || decrypted.plaintext_len != old.size {
            remove_file(&part);
            return Err(CoreError::altered(
                Part::Content,
                Alteration::NotRegisteredVersion,
            ));
        }

        let mut m = old.clone();
        m.version = version;
        m.content_cid = encrypted.cid.to_string();
        m.content_chunks = encrypted.chunks;
        let contract = ledger.contract.map(|c| c.to_string());
        let small = async {
            let manifest_bytes = manifest::seal(&new_dek, &m)
                .map_err(|e| CoreError::internal("sealing the manifest", e))?;
            let capsule_bytes = capsule_for(
                store,
                owner,
                contract.as_deref(),
                record_id,
                version,
                &new_dek,
            )
            .await?;
            Ok::<_, CoreError>((manifest_bytes, capsule_bytes))
        }
        .await;
        let (manifest_bytes, capsule_bytes) = match small {
            Ok(pair) => pair,
            Err(e) => {
                remove_file(&part);
                return Err(e);
            }
        };
        let content_path = store.object_path(record_id, version, Object::Content);
        let placed = match tokio::fs::rename(&part, &content_path).await {
            Ok(()) => {
                write_small_objects(store, record_id, version, &manifest_bytes, &capsule_bytes)
                    .await
            }
            Err(e) => Err(CoreError::disk(&content_path, e)),
        };
        if let Err(e) = placed {
            // Whichever step failed, nothing of version n+1 stays: not its temp file, not
            // the objects already placed (the next revision writes them anew).
            remove_file(&part);
            for object in [Object::Content, Object::Manifest, Object::Capsule] {
                remove_file(&store.object_path(record_id, version, object));
            }
            return Err(e);
        }
        let new_row = StoredRecord {
            record_id: record_id.to_owned(),
            version,
            sealed_dek: local_seal::seal(&owner.local_key, record_id, version, &new_dek)
                .map_err(|e| CoreError::internal("sealing the data key", e))?,
            manifest: manifest_bytes.clone(),
            content_cid: encrypted.cid.to_string(),
            manifest_cid: cid_of(&manifest_bytes).to_string(),
            capsule_cid: cid_of(&capsule_bytes).to_string(),
            state: State::Local,
            problem: Some("Not uploaded yet.".to_owned()),
            // The record keeps its place in the list.
            added_at: row.added_at.clone(),
            ledger: None,
            ledger_problem: None,
        };
        if let Err(e) = store.insert_revision(&new_row, &for_grants).await {
            for object in [Object::Content, Object::Manifest, Object::Capsule] {
                remove_file(&store.object_path(record_id, version, object));
            }
            return Err(e.into());
        }
        Ok(version)
    }
}

/// A random name part, so two runs never share a temp file.
fn unique() -> String {
    let mut b = [0u8; 8];
    medwallet_abe::rand_core::RngCore::fill_bytes(&mut medwallet_abe::rand_core::OsRng, &mut b);
    hex::encode(b)
}
