//! Records a clinic makes for a checked-in patient: encrypted at the desk under the
//! patient's authority for the patient alone (`id:<patient>`), registered with
//! `registerRecordFor` (the patient owns it, the clinic is its author), and taken into
//! the patient's wallet by its next pass, which finds `RecordUploaded` naming it.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use medwallet_abe::{rand_core::OsRng, DataKey, Policy, PublicParams};
use medwallet_api::{RecordMetadata, UploadedForPatient};
use medwallet_ledger::{Address, Bytes, EventFilter, EventMeta, LedgerEvent, B256};
use medwallet_records::cid::Cid;
use medwallet_records::{capsule, manifest, stream, IpfsNode};
use medwallet_vault::Role;
use url::Url;

use crate::error::{Answer, CoreError, FrontDeskError, Part, Task};
use crate::ipfs::{content_cid, fetch_small, ledger_cid};
use crate::ledger::directory::{self, Connected};
use crate::ledger::{
    b256, chain_time, id_attribute, now_unix, rfc3339, LedgerTarget, StepFailure as Failure,
};
use crate::records::pipeline::{self, SourceFile};
use crate::records::{inspect, RecordService};
use crate::session::Owner;
use crate::store::remove_file;
use crate::store::{local_seal, RecordStore, State, StoredRecord};

impl RecordService {
    /// Encrypts the file at `path` for the patient of check-in `check_in_id` (who allowed
    /// it, until a time not yet past) and registers it as theirs, with this clinic as its
    /// author.
    pub async fn upload_for_patient(
        &self,
        owner: &Owner,
        ipfs: &Url,
        ledger: &LedgerTarget,
        check_in_id: &str,
        path: &str,
        metadata: &RecordMetadata,
    ) -> Answer<UploadedForPatient> {
        if owner.role != Role::Clinic {
            return Err(FrontDeskError::OnlyClinicsUpload.into());
        }
        let mut metadata = inspect::validate(metadata)?;
        if metadata.author.trim().is_empty() {
            metadata.author = owner.display_name.clone();
        }
        let store = self.store(&owner.wallet_id).await?;
        let row = self.desk_row(&store, check_in_id).await?;
        let conn = self
            .connect(owner, ledger)
            .await
            .map_err(|f| f.during(Task::UploadForPatient))?;
        directory::publish_self(&store, owner, ipfs, &conn)
            .await
            .map_err(|f| f.during(Task::Publish))?;
        let now = now_unix().max(chain_time(&conn.node).await);
        let until = self.allowed_until(&conn, &row).await?.unwrap_or(0);
        if until <= now {
            return Err(FrontDeskError::UploadExpired {
                patient_name: row.patient_name.clone(),
                at: until,
            }
            .into());
        }
        let patient: Address = row
            .patient
            .parse()
            .map_err(|_| CoreError::internal("the patient's address", &row.patient))?;
        let check_in = b256(&row.check_in_id)?;
        let params = directory::authority_params(&conn.reads, ipfs, patient)
            .await
            .map_err(|f| f.during(Task::PatientKeys))?
            .ok_or(FrontDeskError::PatientNotPublished { patient })?;
        let params = PublicParams::from_bytes(&params)
            .map_err(|e| CoreError::internal("the patient's parameters", e))?;
        let policy = Policy::parse(&id_attribute(&row.patient))
            .map_err(|e| CoreError::internal("the patient's policy", e))?;

        let (content, encrypted, manifest_bytes, capsule_bytes, (record_id, nonce)) =
            encrypt_for(&store, &params, &policy, path, &metadata, &owner.address).await?;
        let uploaded = self
            .send_for(
                ipfs,
                &conn,
                check_in,
                &content,
                &encrypted.cid,
                manifest_bytes,
                capsule_bytes,
                &nonce,
            )
            .await;
        // The encrypted copy was only for the upload (it is on IPFS now, or the desk
        // makes it again); the temp folder is swept at the next start anyway.
        remove_file(&content);
        let tx = uploaded?;
        Ok(UploadedForPatient {
            record_id,
            title: metadata.title,
            patient: row.patient,
            tx_hash: tx,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn send_for(
        &self,
        ipfs: &Url,
        conn: &Connected,
        check_in: B256,
        content: &std::path::Path,
        content_cid: &Cid,
        manifest_bytes: Vec<u8>,
        capsule_bytes: Vec<u8>,
        nonce: &str,
    ) -> Answer<String> {
        let node = IpfsNode::new(ipfs)?;
        node.add_file(
            content,
            content_cid,
            |_| {},
            Arc::new(AtomicBool::new(false)),
        )
        .await?;
        let put = |f: Failure| f.during(Task::StoreForPatient);
        let manifest_cid = directory::put(ipfs, manifest_bytes).await.map_err(put)?;
        let capsule_cid = directory::put(ipfs, capsule_bytes).await.map_err(put)?;
        let receipt = conn
            .client
            .register_record_for(
                b256(nonce)?,
                check_in,
                &manifest_cid.to_bytes(),
                &capsule_cid.to_bytes(),
            )
            .await
            .map_err(|e| CoreError::from(e).during(Task::RegisterForPatient))?;
        Ok(receipt.tx_hash.to_string())
    }

    /// The patient's side, run by its sharing pass: takes the records clinics registered
    /// for it into its list (decrypted with its own key, checked like any record).
    pub(crate) async fn adopt_uploads(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        conn: &Connected,
    ) -> Result<(), Failure> {
        let events = conn
            .reads
            .events(&EventFilter::Wallet(conn.me))
            .await
            .map_err(Failure::ledger)?;
        let mut problem = None;
        // Only from a desk the patient allowed to check them in (the contract takes no
        // other): one this device allowed, or, for a check-in this device has no record of
        // (made before a restore), one whose allow is on the ledger. What this device
        // holds wins: a node cannot turn a declined or unanswered check-in into an allow.
        let offers = store.offers().await.map_err(Failure::store)?;
        let mut allowed: Vec<String> = offers
            .iter()
            .filter(|o| o.state == "allowed")
            .filter_map(|o| o.clinic.clone())
            .collect();
        allowed.extend(events.iter().filter_map(|e| {
            match e.event {
                LedgerEvent::CheckInAnswered {
                    check_in_id,
                    patient,
                    clinic,
                    allowed: true,
                    ..
                } if patient == conn.me
                    && !offers
                        .iter()
                        .any(|o| o.check_in_id == check_in_id.to_string()) =>
                {
                    Some(clinic.to_string())
                }
                _ => None,
            }
        }));
        for e in &events {
            let LedgerEvent::RecordUploaded {
                record_id,
                owner: o,
                author,
                manifest_cid,
                capsule_cid,
            } = &e.event
            else {
                continue;
            };
            let id = record_id.to_string();
            if *o != conn.me || store.latest(&id).await.map_err(Failure::store)?.is_some() {
                continue;
            }
            if !allowed
                .iter()
                .any(|c| c.eq_ignore_ascii_case(&author.to_string()))
            {
                problem.get_or_insert(FrontDeskError::AuthorNotAllowed { author: *author });
                continue;
            }
            // Only a clinic (by the role it published) makes records for a patient; a
            // wallet that redeemed a check-in without being one is not followed.
            if !directory::is_clinic(&conn.reads, *author)
                .await
                .map_err(Failure::ledger)?
            {
                problem.get_or_insert(FrontDeskError::AuthorNotAClinic { author: *author });
                continue;
            }
            let adopted = self
                .adopt(
                    store,
                    owner,
                    ipfs,
                    *record_id,
                    manifest_cid,
                    capsule_cid,
                    &e.meta,
                )
                .await;
            match adopted {
                Ok(()) => {
                    let label = directory::provider_label(&conn.node, conn.contract, *author).await;
                    store
                        .set_uploaded_by(&id, &author.to_string(), label.verified_name.as_deref())
                        .await
                        .map_err(Failure::store)?
                }
                // One record that does not open (a node down, or a clinic's mistake) does
                // not hold back the others; it is tried again on the next pass.
                Err(e) => {
                    problem.get_or_insert(FrontDeskError::NotAdopted {
                        author: *author,
                        source: Box::new(e),
                    });
                }
            }
        }
        problem.map_or(Ok(()), |p| Err(Failure::waiting(p)))
    }

    #[allow(clippy::too_many_arguments)]
    async fn adopt(
        &self,
        store: &RecordStore,
        owner: &Owner,
        ipfs: &Url,
        record_id: B256,
        manifest_cid: &Bytes,
        capsule_cid: &Bytes,
        meta: &EventMeta,
    ) -> Answer<()> {
        let id = record_id.to_string();
        let (manifest_cid, capsule_cid) = (ledger_cid(manifest_cid)?, ledger_cid(capsule_cid)?);
        let node = IpfsNode::new(ipfs)?;
        let capsule_bytes = fetch_small(&node, &capsule_cid, Part::Capsule).await?;
        let dek = capsule::unwrap(&owner.own_key()?, &capsule_bytes, &id, 1)
            .map_err(CoreError::capsule)?;
        let manifest_bytes = fetch_small(&node, &manifest_cid, Part::Manifest).await?;
        let m = manifest::open(&dek, &manifest_bytes, &id, 1).map_err(CoreError::manifest)?;
        let content_cid = content_cid(&m.content_cid, Part::Manifest)?;
        // Kept on this wallet's node too, not only on the clinic's.
        for cid in [&content_cid, &manifest_cid, &capsule_cid] {
            node.pin(cid).await?;
        }
        let row = StoredRecord {
            sealed_dek: local_seal::seal(&owner.local_key, &id, 1, &dek)
                .map_err(|e| CoreError::internal("sealing the data key", e))?,
            record_id: id.clone(),
            version: 1,
            manifest: manifest_bytes,
            content_cid: m.content_cid,
            manifest_cid: manifest_cid.to_string(),
            capsule_cid: capsule_cid.to_string(),
            state: State::OnIpfs,
            problem: None,
            added_at: rfc3339(i64::try_from(meta.block_time).unwrap_or(0)),
            ledger: None,
            ledger_problem: None,
        };
        store.insert(&row).await?;
        if let Err(e) = store
            .registered(&id, 1, &meta.tx_hash.to_string(), meta.block_number)
            .await
        {
            // Not half adopted: the next pass tries again from the start.
            if let Err(undo) = store.delete(&id, 1).await {
                tracing::warn!(record = %id, error = undo.kind(), "a half-adopted record could not be removed; the next pass adopts it again");
            }
            return Err(e.into());
        }
        Ok(())
    }
}

/// Encrypts a file for the patient into a temporary file, through the same pipeline as
/// every record: answers its path, the content's summary, the sealed manifest, the
/// capsule and the new record id.
async fn encrypt_for(
    store: &RecordStore,
    params: &PublicParams,
    policy: &Policy,
    path: &str,
    metadata: &RecordMetadata,
    author: &str,
) -> Answer<(
    std::path::PathBuf,
    stream::Encrypted,
    Vec<u8>,
    Vec<u8>,
    (String, String),
)> {
    let source = tokio::task::spawn_blocking({
        let path = path.to_owned();
        move || SourceFile::open(&path)
    })
    .await
    .map_err(|e| CoreError::internal("reading the file", e))??;
    let (record_id, nonce) = pipeline::new_record_id(author)?;
    let dek = DataKey::generate(&mut OsRng);
    let out = store.temp_path(&format!("{record_id}.for-patient"));
    let encrypted = pipeline::encrypt_file(
        &dek,
        &source,
        &out,
        |_| {},
        Arc::new(AtomicBool::new(false)),
    )
    .await?;
    let m = pipeline::manifest_for(
        &record_id,
        1,
        metadata,
        &source,
        &encrypted,
        &rfc3339(now_unix()),
    );
    match pipeline::seal_objects(&dek, &m, params, policy) {
        Ok((sealed, capsule)) => Ok((out, encrypted, sealed, capsule, (record_id, nonce))),
        Err(e) => {
            remove_file(&out);
            Err(e)
        }
    }
}
