//! A record's next version under a new data key, for a revocation: the content is
//! decrypted and re-encrypted chunk by chunk through a pipe (the plaintext never touches
//! the disk), the manifest resealed, the capsule wrapped for everyone still granted.

use medwallet_abe::DataKey;
use medwallet_records::cid::{cid_of, Cid};
use medwallet_records::{manifest, stream, IpfsNode};
use url::Url;

use super::super::store::{self, Object, RecordStore, State, StoredRecord};
use super::super::{
    errors, internal, local_seal, node_error, stream_error, Answer, LedgerTarget, Owner,
    RecordService,
};
use super::grant::capsule_for;

impl RecordService {
    /// Makes version n+1 of a record without the people being revoked, inserts it with its
    /// upload queued, and names it in every revocation of the record that waits for one.
    /// Answers the new version.
    pub(super) async fn make_revision(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        record_id: &str,
    ) -> Answer<u32> {
        // The revocations this version is for, read before its audience: one started
        // after this point waits for the next version.
        let for_grants = store
            .awaiting_revision(record_id)
            .await
            .map_err(errors::store_error)?;
        let row = store
            .latest(record_id)
            .await
            .map_err(errors::store_error)?
            .ok_or_else(|| internal("the record to re-encrypt", "missing"))?;
        let old_dek = local_seal::open(
            &owner.local_key,
            &row.record_id,
            row.version,
            &row.sealed_dek,
        )
        .map_err(|_| errors::local_index_damaged(&row.record_id))?;
        let old = manifest::open(&old_dek, &row.manifest, &row.record_id, row.version)
            .map_err(|_| errors::local_index_damaged(&row.record_id))?;
        let version = row.version + 1;
        let expected: Cid = row
            .content_cid
            .parse()
            .map_err(|e| errors::altered("record index", &format!("content CID: {e}")))?;

        // The current ciphertext: on this device until uploaded, else fetched from IPFS.
        let (ciphertext, fetched) = match row.state {
            State::Local => (
                store.object_path(record_id, row.version, Object::Content),
                None,
            ),
            State::OnIpfs => {
                let temp =
                    store.temp_path(&format!("{record_id}-v{}-{}.revise", row.version, unique()));
                let file =
                    std::fs::File::create(&temp).map_err(|e| errors::disk_error(&temp, &e))?;
                let node = IpfsNode::new(ipfs).map_err(|e| node_error(&e))?;
                if let Err(e) = node
                    .cat_to(&expected, file, stream::ciphertext_len(old.size))
                    .await
                {
                    let _ = std::fs::remove_file(&temp);
                    return Err(node_error(&e));
                }
                (temp.clone(), Some(temp))
            }
        };
        let new_dek = DataKey::generate(&mut medwallet_abe::rand_core::OsRng);
        let part = store.temp_path(&format!("{record_id}-v{version}-{}.content", unique()));
        let (old_key, new_key) = (
            DataKey::from_bytes(*old_dek.as_bytes()),
            DataKey::from_bytes(*new_dek.as_bytes()),
        );
        let out_path = part.clone();
        let recrypted = tokio::task::spawn_blocking(move || {
            reencrypt(&old_key, &new_key, &ciphertext, &out_path)
        })
        .await
        .map_err(|e| internal("the re-encryption task", e));
        if let Some(temp) = fetched {
            let _ = std::fs::remove_file(temp);
        }
        let (decrypted, encrypted) = match recrypted.and_then(|r| r) {
            Ok(pair) => pair,
            Err(e) => {
                let _ = std::fs::remove_file(&part);
                return Err(e);
            }
        };
        if decrypted.cid != expected || decrypted.plaintext_len != old.size {
            let _ = std::fs::remove_file(&part);
            return Err(errors::altered(
                "content",
                "it does not match the registered version, so it was not re-encrypted",
            ));
        }

        let mut m = old.clone();
        m.version = version;
        m.content_cid = encrypted.cid.to_string();
        m.content_chunks = encrypted.chunks;
        let manifest_bytes =
            manifest::seal(&new_dek, &m).map_err(|e| internal("sealing the manifest", e))?;
        let contract = ledger.contract.map(|c| c.to_string());
        let capsule_bytes = capsule_for(
            store,
            owner,
            contract.as_deref(),
            record_id,
            version,
            &new_dek,
        )
        .await?;
        let content_path = store.object_path(record_id, version, Object::Content);
        std::fs::rename(&part, &content_path).map_err(|e| errors::disk_error(&content_path, &e))?;
        for (object, bytes) in [
            (Object::Manifest, &manifest_bytes),
            (Object::Capsule, &capsule_bytes),
        ] {
            let path = store.object_path(record_id, version, object);
            store::write_atomically(&path, bytes).map_err(|e| errors::disk_error(&path, &e))?;
        }
        let new_row = StoredRecord {
            record_id: record_id.to_owned(),
            version,
            sealed_dek: local_seal::seal(&owner.local_key, record_id, version, &new_dek)
                .map_err(|e| internal("sealing the data key", e))?,
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
                let _ = std::fs::remove_file(store.object_path(record_id, version, object));
            }
            return Err(errors::store_error(e));
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

/// Decrypts `src` under `old` and encrypts the plaintext under `new` into `dst`, through
/// an in-process pipe: the decrypting thread writes each authenticated chunk, this thread
/// encrypts it. Both results are answered; the caller compares the decrypted CID.
fn reencrypt(
    old: &DataKey,
    new: &DataKey,
    src: &std::path::Path,
    dst: &std::path::Path,
) -> Answer<(stream::Decrypted, stream::Encrypted)> {
    let input = std::fs::File::open(src).map_err(|e| errors::disk_error(src, &e))?;
    let output = std::fs::File::create(dst).map_err(|e| errors::disk_error(dst, &e))?;
    let (reader, writer) = std::io::pipe().map_err(|e| internal("a pipe", e))?;
    let old = DataKey::from_bytes(*old.as_bytes());
    let decrypting = std::thread::spawn(move || {
        let r = stream::decrypt(
            &old,
            std::io::BufReader::with_capacity(1 << 20, input),
            writer,
        );
        // `writer` is dropped here, so the encrypting side sees the end.
        r
    });
    let mut out = std::io::BufWriter::with_capacity(1 << 20, output);
    let never = std::sync::atomic::AtomicBool::new(false);
    let encrypted = stream::encrypt(new, reader, &mut out, &mut |_| {}, &never);
    let decrypted = decrypting
        .join()
        .map_err(|_| internal("the decrypting thread", "panicked"))?;
    // A decryption failure is the cause; the encryption then saw a broken pipe or a cut.
    let decrypted = decrypted.map_err(|e| stream_error(e, "content"))?;
    let encrypted = encrypted.map_err(|e| internal("re-encrypting", e))?;
    let file = out
        .into_inner()
        .map_err(|e| errors::disk_error(dst, e.error()))?;
    file.sync_all().map_err(|e| errors::disk_error(dst, &e))?;
    Ok((decrypted, encrypted))
}
