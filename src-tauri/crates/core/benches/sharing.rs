//! Sharing against real nodes (js-ipfs and anvil with the contract, started here):
//!
//! 1. `person/grant 10 MiB`: a first share of a 10 MiB record with a person: their key
//!    issued (HPKE-sealed, on IPFS, `issueKey`), the capsule re-wrapped and stored,
//!    `grantAccess`. A new person each iteration.
//! 2. `person/revoke 10 MiB`: the revocation: the content decrypted and re-encrypted under
//!    a new key (10 MiB), the new version's three objects added and pinned, `updateRecord`,
//!    `revokeAccess`, the old version unpinned, the exposure report read from the ledger.
//!    Its peer in the same run, `peer/ring open+seal 10 MiB`, is the cryptography it
//!    cannot avoid: ring's AES-256-GCM opening and sealing the same 10 MiB in 64 KiB
//!    chunks in memory.
//! 3. `group/add member (100 records)`: 100 records shared with one group (`careteam`);
//!    adding a person is one key (the group's attribute) that opens all 100.
//! 4. `group/remove member (100 records)`: removing one: the next epoch, new keys for the
//!    other members (the ten or so the previous benchmark added stay), and all 100
//!    records re-encrypted, uploaded and registered as new versions.
//!
//! 5. `front_desk/check in (1 record)`: the patient makes a check-in code for one record
//!    (its ledger signature); the desk reads it from its QR picture and redeems it
//!    (signatures, ledger identity, `redeemCheckIn`); the patient's pass sees it and the
//!    patient allows (`answerCheckIn`, a key issued to the desk, the capsule re-wrapped,
//!    `grantAccess`); the desk lists it (the granted record's title decrypted). A new
//!    check-in each iteration.
//! 6. `front_desk/upload 10 MiB for a patient`: a desk encrypts 10 MiB under the patient's
//!    authority, adds and pins the three objects, `registerRecordFor`. Its peer,
//!    `peer/ring seal+SHA-256 10 MiB`, is the pipeline's own cryptography: AES-256-GCM in
//!    64 KiB chunks and the SHA-256 of the result, in memory.
//! 7. `front_desk/verify a 10 MiB document`: the desk compares a document with the record
//!    a checked-in patient granted: `logAccess`, the 10 MiB fetched, decrypted and
//!    hashed. Peer: `peer/ring open+SHA-256 10 MiB`.
//! 8. `qr/read a check-in picture` against `qr/decode the PNG only`.
//!
//! Run: `cargo bench -p medwallet-core --bench sharing` (needs the node tools:
//! `MEDWALLET_NODE_TOOLS`, set by `scripts/lib.sh`).

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::meta;
use criterion::{Criterion, SamplingMode};
use medwallet_abe::rand_core::{OsRng, RngCore};
use medwallet_api::ShareRequest;
use medwallet_core::{LedgerTarget, Owner, RecordService};
use medwallet_devnodes::{Anvil, Ipfs};
use medwallet_vault::{Role, WalletKeys};
use ring::aead;
use url::Url;

const MIB: usize = 1024 * 1024;
const CHUNK: usize = 64 * 1024;
const GROUP_RECORDS: usize = 100;

struct Bench {
    root: PathBuf,
    ipfs: Url,
    ledger: LedgerTarget,
    patient: Owner,
    service: RecordService,
    _nodes: (Ipfs, Anvil),
}

/// This bench's wallets' seeds start with this byte.
const SEED: u8 = 0x42;

fn keys(n: u32, role: Role) -> WalletKeys {
    common::keys(SEED, n, role)
}

fn wallet(n: u32, role: Role) -> Owner {
    common::wallet(SEED, n, role)
}

impl Bench {
    async fn start(root: &Path) -> Self {
        let (ipfs, ledger, nodes) = common::start_nodes(root).await;
        Self {
            root: root.to_owned(),
            ipfs,
            ledger,
            patient: wallet(0, Role::Patient),
            service: RecordService::new(&root.join("patient")),
            _nodes: nodes,
        }
    }

    async fn add(&self, name: &str, bytes: &[u8]) -> String {
        let path = self.root.join(name);
        std::fs::write(&path, bytes).unwrap();
        let quiet: medwallet_core::records::Progress = Arc::new(|_| {});
        self.service
            .add(
                &self.patient,
                &self.ipfs,
                &self.ledger,
                name,
                &path.display().to_string(),
                &meta(name),
                quiet,
            )
            .await
            .unwrap()
            .id
    }

    /// A person whose wallet has published its keys.
    async fn person(&self, n: u32) -> Owner {
        let who = wallet(n, Role::Doctor);
        RecordService::new(&self.root.join(format!("person-{n}")))
            .list_shared(&who, &self.ipfs, &self.ledger)
            .await
            .unwrap();
        who
    }

    async fn share(&self, request: &ShareRequest) {
        let grants = self
            .service
            .share(&self.patient, &self.ipfs, &self.ledger, request)
            .await
            .unwrap();
        assert!(
            grants
                .iter()
                .all(|g| g.state == medwallet_api::GrantState::Active),
            "{grants:?}"
        );
    }
}

fn to(record: &str, grantee: &str) -> ShareRequest {
    ShareRequest {
        record_ids: vec![record.to_owned()],
        grantee: grantee.to_owned(),
        clause: None,
        group: None,
        expires_in_days: None,
        seen_fingerprint: None,
    }
}

fn random(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    OsRng.fill_bytes(&mut v);
    v
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bench = rt.block_on(Bench::start(dir.path()));
    let big = rt.block_on(bench.add("big.bin", &random(10 * MIB)));
    let mut people = 1u32..;
    let mut c = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(5));

    let mut person = c.benchmark_group("person");
    person.sampling_mode(SamplingMode::Flat);
    person.bench_function("grant 10 MiB", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut took = Duration::ZERO;
                for _ in 0..iters {
                    let who = bench.person(people.next().unwrap()).await;
                    let start = Instant::now();
                    bench.share(&to(&big, &who.address)).await;
                    took += start.elapsed();
                }
                took
            })
        })
    });
    person.bench_function("revoke 10 MiB", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut took = Duration::ZERO;
                for _ in 0..iters {
                    let who = bench.person(people.next().unwrap()).await;
                    bench.share(&to(&big, &who.address)).await;
                    let start = Instant::now();
                    let g = bench
                        .service
                        .revoke(
                            &bench.patient,
                            &bench.ipfs,
                            &bench.ledger,
                            &big,
                            &who.address,
                            None,
                        )
                        .await
                        .unwrap();
                    took += start.elapsed();
                    assert_eq!(g.state, medwallet_api::GrantState::Revoked, "{g:?}");
                }
                took
            })
        })
    });
    person.finish();

    // The peer: the cryptography of a revocation alone, in memory.
    let mut peer = c.benchmark_group("peer");
    let old = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, &[1; 32]).unwrap());
    let new = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, &[2; 32]).unwrap());
    let mut sealed: Vec<Vec<u8>> = random(10 * MIB)
        .chunks(CHUNK)
        .enumerate()
        .map(|(i, chunk)| {
            let mut c = chunk.to_vec();
            old.seal_in_place_append_tag(nonce(i), aead::Aad::empty(), &mut c)
                .unwrap();
            c
        })
        .collect();
    peer.bench_function("ring open+seal 10 MiB", |b| {
        b.iter(|| {
            for (i, chunk) in sealed.iter_mut().enumerate() {
                let mut c = chunk.clone();
                let plain = old
                    .open_in_place(nonce(i), aead::Aad::empty(), &mut c)
                    .unwrap();
                let mut out = plain.to_vec();
                new.seal_in_place_append_tag(nonce(i), aead::Aad::empty(), &mut out)
                    .unwrap();
                std::hint::black_box(&out);
            }
        })
    });
    peer.finish();

    front_desk(&rt, &bench, &mut c);

    // 100 records shared with one group.
    let records: Vec<String> = rt.block_on(async {
        let mut ids = Vec::new();
        for i in 0..GROUP_RECORDS {
            ids.push(bench.add(&format!("note-{i}.txt"), &random(4096)).await);
        }
        let first = bench.person(people.next().unwrap()).await;
        bench
            .service
            .add_group_member(
                &bench.patient,
                &bench.ipfs,
                &bench.ledger,
                "careteam",
                &first.address,
            )
            .await
            .unwrap();
        bench
            .share(&ShareRequest {
                record_ids: ids.clone(),
                grantee: String::new(),
                clause: None,
                group: Some("careteam".to_owned()),
                expires_in_days: None,
                seen_fingerprint: None,
            })
            .await;
        ids
    });
    assert_eq!(records.len(), GROUP_RECORDS);
    let mut group = c.benchmark_group("group");
    // One iteration per sample: each removal re-keys every member, and the members the
    // add benchmark made stay (about ten).
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_millis(1));
    group.bench_function("add member (100 records)", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut took = Duration::ZERO;
                for _ in 0..iters {
                    let who = bench.person(people.next().unwrap()).await;
                    let start = Instant::now();
                    bench
                        .service
                        .add_group_member(
                            &bench.patient,
                            &bench.ipfs,
                            &bench.ledger,
                            "careteam",
                            &who.address,
                        )
                        .await
                        .unwrap();
                    took += start.elapsed();
                }
                took
            })
        })
    });
    group.bench_function("remove member (100 records)", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut took = Duration::ZERO;
                for _ in 0..iters {
                    let who = bench.person(people.next().unwrap()).await;
                    bench
                        .service
                        .add_group_member(
                            &bench.patient,
                            &bench.ipfs,
                            &bench.ledger,
                            "careteam",
                            &who.address,
                        )
                        .await
                        .unwrap();
                    let start = Instant::now();
                    bench
                        .service
                        .remove_group_member(
                            &bench.patient,
                            &bench.ipfs,
                            &bench.ledger,
                            "careteam",
                            &who.address,
                        )
                        .await
                        .unwrap();
                    took += start.elapsed();
                }
                took
            })
        })
    });
    group.finish();
    c.final_summary();
}

/// The front desk: a check-in, an upload for the patient, a verification, the QR code.
fn front_desk(rt: &tokio::runtime::Runtime, bench: &Bench, c: &mut Criterion) {
    use medwallet_api::VerifyOutcome;
    use medwallet_vault::ShareCode;

    let clinic = wallet(1, Role::Clinic);
    let desk = RecordService::new(&bench.root.join("clinic"));
    let patient_keys = keys(0, Role::Patient);
    let small = rt.block_on(bench.add("result.txt", &random(4096)));
    let document = random(10 * MIB);
    let shown = rt.block_on(bench.add("scan.bin", &document));
    let code_for = |records: &[String]| {
        rt.block_on(async {
            let offered = bench
                .service
                .offer_check_in(&bench.patient, &bench.ipfs, &bench.ledger, records, 1440)
                .await
                .unwrap();
            ShareCode::create_with(
                &patient_keys,
                "Bench",
                offered.chain_id,
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs(),
                Some(&offered.check_in),
            )
            .unwrap()
        })
    };
    // The patient allows every desk that asked (its pass, then Allow on each).
    let allow_all = || {
        rt.block_on(async {
            bench
                .service
                .sync_sharing(&bench.patient, &bench.ipfs, &bench.ledger, true)
                .await;
            for ask in bench
                .service
                .check_in_asks(&bench.patient, &bench.ledger)
                .await
                .unwrap()
                .into_iter()
                .filter(|a| a.state == "asked")
            {
                bench
                    .service
                    .answer_check_in(
                        &bench.patient,
                        &bench.ipfs,
                        &bench.ledger,
                        &ask.check_in_id,
                        &ask.clinic.address,
                        true,
                    )
                    .await
                    .unwrap();
            }
        })
    };
    // The picture a desk reads: a code granting one record (as in the check-in below).
    let picture = medwallet_core::qr::png(&code_for(std::slice::from_ref(&small)), 4).unwrap();

    let mut desk_group = c.benchmark_group("front_desk");
    desk_group.sample_size(10);
    // Ten samples of one check-in each, each granting a record of its own (untimed), so
    // no capsule grows with the codes of the iterations before.
    desk_group.sampling_mode(SamplingMode::Flat);
    desk_group.measurement_time(Duration::from_millis(1));
    let mut fresh = 0u32;
    desk_group.bench_function("check in (1 record)", |b| {
        b.iter_custom(|iters| {
            let mut took = Duration::ZERO;
            for _ in 0..iters {
                fresh += 1;
                let record = rt.block_on(bench.add(&format!("visit-{fresh}.txt"), &random(4096)));
                let start = Instant::now();
                let code = code_for(std::slice::from_ref(&record));
                let read =
                    medwallet_core::qr::read(&medwallet_core::qr::png(&code, 4).unwrap()).unwrap();
                rt.block_on(desk.check_in(&clinic, &bench.ipfs, &bench.ledger, &read))
                    .unwrap();
                allow_all();
                let session = rt
                    .block_on(desk.list_check_ins(&clinic, &bench.ipfs, &bench.ledger))
                    .unwrap()
                    .remove(0);
                took += start.elapsed();
                assert_eq!(session.records.len(), 1);
            }
            took
        })
    });
    // One check-in for the uploads and verifications: a day long.
    let session = rt
        .block_on(desk.check_in(
            &clinic,
            &bench.ipfs,
            &bench.ledger,
            &code_for(std::slice::from_ref(&shown)),
        ))
        .unwrap();
    allow_all();
    let upload = bench.root.join("upload.bin");
    std::fs::write(&upload, &document).unwrap();
    let upload = upload.display().to_string();
    desk_group.bench_function("upload 10 MiB for a patient", |b| {
        b.iter(|| {
            rt.block_on(desk.upload_for_patient(
                &clinic,
                &bench.ipfs,
                &bench.ledger,
                &session.check_in_id,
                &upload,
                &meta("Upload"),
            ))
            .unwrap()
        })
    });
    desk_group.bench_function("verify a 10 MiB document", |b| {
        b.iter(|| {
            let v = rt
                .block_on(desk.verify(&clinic, &bench.ipfs, &bench.ledger, None, Some(&upload)))
                .unwrap();
            assert_eq!(v.outcome, VerifyOutcome::Registered, "{v:?}");
        })
    });
    desk_group.finish();

    let mut peer = c.benchmark_group("peer");
    peer.sample_size(10);
    let key = aead::LessSafeKey::new(aead::UnboundKey::new(&aead::AES_256_GCM, &[7; 32]).unwrap());
    peer.bench_function("ring seal+SHA-256 10 MiB", |b| {
        b.iter(|| {
            let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
            for (i, chunk) in document.chunks(CHUNK).enumerate() {
                let mut out = chunk.to_vec();
                key.seal_in_place_append_tag(nonce(i), aead::Aad::empty(), &mut out)
                    .unwrap();
                hash.update(&out);
            }
            std::hint::black_box(hash.finish());
        })
    });
    let sealed: Vec<Vec<u8>> = document
        .chunks(CHUNK)
        .enumerate()
        .map(|(i, chunk)| {
            let mut out = chunk.to_vec();
            key.seal_in_place_append_tag(nonce(i), aead::Aad::empty(), &mut out)
                .unwrap();
            out
        })
        .collect();
    peer.bench_function("ring open+SHA-256 10 MiB", |b| {
        b.iter(|| {
            let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
            for (i, chunk) in sealed.iter().enumerate() {
                let mut c = chunk.clone();
                let plain = key
                    .open_in_place(nonce(i), aead::Aad::empty(), &mut c)
                    .unwrap();
                hash.update(plain);
            }
            std::hint::black_box(hash.finish());
        })
    });
    peer.finish();

    let mut qr = c.benchmark_group("qr");
    qr.bench_function("read a check-in picture", |b| {
        b.iter(|| medwallet_core::qr::read(&picture).unwrap())
    });
    qr.bench_function("decode the PNG only", |b| {
        b.iter(|| image::load_from_memory(&picture).unwrap().to_luma8())
    });
    qr.finish();
}

fn nonce(i: usize) -> aead::Nonce {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&(i as u64).to_be_bytes());
    aead::Nonce::assume_unique_for_key(n)
}
