//! Long lists, a page at a time (issue 18): a wallet's records added through the real add
//! path, paged, counted and searched from the index decrypted once; and a trail of
//! thousands of real ledger events on a real anvil, paged, counted and filtered by the
//! event cache's indexes, with its emergency openings on every page and its exports whole.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use medwallet_api::{
    AuditAction, AuditQuery, Category, ExportFormat, LedgerMark, RecordMetadata, RecordPage,
    RecordQuery, RecordStatus, RecordSummary, TrailPage,
};
use medwallet_core::audit::AuditContext;
use medwallet_core::records::Progress;
use medwallet_core::{AuditService, CoreError, LedgerTarget, Owner, RecordService, RecordsError};
use medwallet_devnodes::{Anvil, AnvilOptions, Ipfs, IpfsOptions, NodeTools};
use medwallet_ledger::{keccak256, LedgerNode, PrivateKeySigner};
use medwallet_vault::{Role, Seed, WalletKeys};
use url::Url;

const RECORDS: usize = 1_000;
const WORDS: [&str; 7] = [
    "Blood panel",
    "Chest X-ray",
    "Discharge letter",
    "Lipid panel",
    "MRI knee",
    "Prescription refill",
    "Vaccination card",
];

fn keys(seed: u8) -> WalletKeys {
    WalletKeys::derive(&Seed::from_bytes([seed; 32]), Role::Patient).unwrap()
}

fn quiet() -> Progress {
    Arc::new(|_| {})
}

/// The `i`-th record's metadata: titles from [`WORDS`] (upper and lower case), every
/// category, dates over four years.
fn metadata(i: usize) -> RecordMetadata {
    let day = chrono::NaiveDate::from_ymd_opt(2022, 1, 1).unwrap()
        + chrono::Days::new((i as u64 * 37) % 1500);
    let word = WORDS[i % WORDS.len()];
    RecordMetadata {
        title: if i.is_multiple_of(2) {
            format!("{word} {i}")
        } else {
            format!("{} {i}", word.to_uppercase())
        },
        category: Category::ALL[i % Category::ALL.len()],
        date: day.format("%Y-%m-%d").to_string(),
        author: "Dr. Seacole".to_owned(),
    }
}

/// Adds `range`'s records through the add path, several at a time.
async fn add_many(
    service: &Arc<RecordService>,
    owner: &Arc<Owner>,
    ipfs: &Url,
    ledger: &LedgerTarget,
    file: &str,
    range: std::ops::Range<usize>,
) -> Vec<RecordSummary> {
    let mut added = Vec::new();
    let mut set = tokio::task::JoinSet::new();
    for i in range {
        let (service, owner, ipfs, ledger, file) = (
            service.clone(),
            owner.clone(),
            ipfs.clone(),
            ledger.clone(),
            file.to_owned(),
        );
        set.spawn(async move {
            service
                .add(
                    &owner,
                    &ipfs,
                    &ledger,
                    &format!("add-{i}"),
                    &file,
                    &metadata(i),
                    quiet(),
                )
                .await
                .unwrap()
        });
        if set.len() >= 8 {
            added.push(set.join_next().await.unwrap().unwrap());
        }
    }
    while let Some(done) = set.join_next().await {
        added.push(done.unwrap());
    }
    added
}

/// The page's order: by category, newest document date, newest added, then id.
fn page_order(a: &RecordSummary, b: &RecordSummary) -> std::cmp::Ordering {
    let rank = |c: Category| Category::ALL.iter().position(|x| *x == c).unwrap();
    rank(a.category)
        .cmp(&rank(b.category))
        .then_with(|| b.date.cmp(&a.date))
        .then_with(|| b.added_at.cmp(&a.added_at))
        .then_with(|| a.id.cmp(&b.id))
}

async fn all_pages(
    service: &RecordService,
    owner: &Owner,
    query: &RecordQuery,
) -> Vec<RecordSummary> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let page = service
            .page(
                owner,
                &RecordQuery {
                    offset,
                    ..query.clone()
                },
                None,
            )
            .await
            .unwrap();
        if page.records.is_empty() {
            return out;
        }
        assert_eq!(page.offset, offset);
        offset += page.records.len() as u32;
        out.extend(page.records);
    }
}

#[tokio::test]
async fn a_thousand_records_are_paged_counted_and_searched() {
    let dir = tempfile::tempdir().unwrap();
    let service = Arc::new(RecordService::new(&dir.path().join("data")));
    let owner = Arc::new(Owner::new(
        &format!("{:032x}", 0x71),
        "Ada Lovelace",
        &keys(0x71),
    ));
    // No IPFS node answers: each record is encrypted and kept on this device, waiting in
    // the outbox, exactly as an add stores it while the node is down.
    let ipfs = Url::parse("http://127.0.0.1:9/").unwrap();
    let ledger = LedgerTarget {
        url: Url::parse("http://127.0.0.1:9/").unwrap(),
        contract: None,
        chain_id: None,
    };
    let file = dir.path().join("note.txt");
    std::fs::write(&file, b"A short note.\n").unwrap();
    let file = file.display().to_string();
    let mut added = add_many(&service, &owner, &ipfs, &ledger, &file, 0..RECORDS).await;
    assert_eq!(added.len(), RECORDS);
    added.sort_by(page_order);

    // The first page: 100 records in the page's order, and the counts of all of them.
    let first = service
        .page(&owner, &RecordQuery::search("", 100), None)
        .await
        .unwrap();
    assert_eq!((first.total, first.matching, first.offset), (1000, 1000, 0));
    assert_eq!(first.records.len(), 100);
    let ids = |l: &[RecordSummary]| l.iter().map(|r| r.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&first.records), ids(&added[..100]));
    let per_category = RECORDS / Category::ALL.len();
    assert_eq!(first.by_category.len(), Category::ALL.len());
    assert!(first
        .by_category
        .iter()
        .all(|c| (per_category..=per_category + 1).contains(&(c.count as usize))));
    // Every record on this device only, and why, counted by SQLite.
    assert_eq!((first.local_only, first.uploading), (1000, 0));
    assert!(first.local_reason.is_some(), "{:?}", first.local_reason);
    assert_eq!((first.single_copy, first.copies_of), (0, 0));
    assert!(first
        .records
        .iter()
        .all(|r| matches!(r.status, RecordStatus::LocalOnly { .. })
            && matches!(r.ledger, LedgerMark::Pending { .. })
            && r.copies.is_none()));

    // Page after page: every record once, in order, each as the whole list shows it.
    let paged = all_pages(&service, &owner, &RecordQuery::search("", 64)).await;
    assert_eq!(ids(&paged), ids(&added));
    let listed: HashMap<String, RecordSummary> = service
        .list(&owner)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.id.clone(), r))
        .collect();
    for r in &paged {
        assert_eq!(Some(r), listed.get(&r.id), "paged as listed");
    }
    let past = service
        .page(
            &owner,
            &RecordQuery {
                offset: 1000,
                limit: 100,
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert!(past.records.is_empty());
    assert_eq!(past.matching, 1000);
    // Only the counts; and the largest page is capped.
    let counts = service
        .page(&owner, &RecordQuery::search("", 0), None)
        .await
        .unwrap();
    assert!(counts.records.is_empty());
    assert_eq!(counts.total, 1000);
    let capped = service
        .page(&owner, &RecordQuery::search("", 10_000), None)
        .await
        .unwrap();
    assert_eq!(capped.records.len(), RecordQuery::MAX_LIMIT as usize);

    // A search matches what it always matched: the title, in any case, trimmed.
    let wanted = |search: &str, category: Option<Category>| -> Vec<String> {
        let needle = search.trim().to_lowercase();
        added
            .iter()
            .filter(|r| {
                category.is_none_or(|c| c == r.category) && r.title.to_lowercase().contains(&needle)
            })
            .map(|r| r.id.clone())
            .collect()
    };
    for (search, category) in [
        ("  blood ", None),
        ("PANEL", None),
        ("x-ray 1", None),
        ("panel", Some(Category::Imaging)),
        ("", Some(Category::Note)),
        ("7", Some(Category::LabResult)),
        ("no such title", None),
    ] {
        let query = RecordQuery {
            search: search.to_owned(),
            category,
            limit: 50,
            ..Default::default()
        };
        let expected = wanted(search, category);
        let page = service.page(&owner, &query, None).await.unwrap();
        assert_eq!(
            page.matching as usize,
            expected.len(),
            "{search:?} {category:?}"
        );
        assert_eq!(page.total, 1000);
        let counted: u32 = page.by_category.iter().map(|c| c.count).sum();
        assert_eq!(counted, page.matching);
        assert_eq!(
            ids(&all_pages(&service, &owner, &query).await),
            expected,
            "{search:?} {category:?}"
        );
    }

    // A search is at most 256 characters (trimmed): a longer one is refused, not cut.
    let longest = format!("  {}  ", "a".repeat(RecordQuery::MAX_SEARCH));
    let none = service
        .page(&owner, &RecordQuery::search(&longest, 10), None)
        .await
        .unwrap();
    assert_eq!(none.matching, 0);
    let e = service
        .page(
            &owner,
            &RecordQuery::search(&"é".repeat(RecordQuery::MAX_SEARCH + 1), 10),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            CoreError::Records(RecordsError::SearchTooLong { max: 256 })
        ),
        "{e:?}"
    );

    // A record added now is in the next page read (only it is decrypted), and its title
    // is named in the titles the other lists use.
    let more = add_many(
        &service,
        &owner,
        &ipfs,
        &ledger,
        &file,
        RECORDS..RECORDS + 1,
    )
    .await;
    let found = service
        .page(&owner, &RecordQuery::search(&more[0].title, 10), None)
        .await
        .unwrap();
    assert_eq!(found.total, 1001);
    assert_eq!(ids(&found.records), ids(&more));
    let titles = service.titles(&owner).await.unwrap();
    assert_eq!(
        titles.get(&more[0].id.to_uppercase().replace("0X", "0x")),
        Some(more[0].title.as_str())
    );
    assert!(
        !format!("{titles:?}").contains(&more[0].title),
        "no title in Debug"
    );

    // Locked: the list is forgotten; unlocked again, it is read again, the same.
    service.forget_lists().await;
    let again = service
        .page(&owner, &RecordQuery::search("", 100), None)
        .await
        .unwrap();
    assert_eq!(again.total, 1001);
    // Another wallet in the same folder has its own list.
    let other = Owner::new(&format!("{:032x}", 0x72), "Grace", &keys(0x72));
    let theirs = service
        .page(&other, &RecordQuery::search("", 100), None)
        .await
        .unwrap();
    assert_eq!((theirs.total, theirs.records.len()), (0, 0));
    service.close().await;
}

/// A ledger on a real anvil, and an IPFS node.
struct Chain {
    _dir: tempfile::TempDir,
    _anvil: Anvil,
    _ipfs: Ipfs,
    ipfs: Url,
    ledger: LedgerTarget,
    data: std::path::PathBuf,
}

impl Chain {
    async fn start() -> Chain {
        let dir = tempfile::tempdir().unwrap();
        let tools = NodeTools::locate().unwrap();
        let ipfs = Ipfs::start(&tools, &IpfsOptions::ephemeral(dir.path().join("ipfs"))).unwrap();
        let anvil =
            Anvil::start(&tools, &AnvilOptions::ephemeral(dir.path().join("anvil"))).unwrap();
        let url = Url::parse(&anvil.url()).unwrap();
        let contract = LedgerNode::new(&url)
            .deploy(PrivateKeySigner::random())
            .await
            .unwrap();
        Chain {
            ipfs: Url::parse(&ipfs.api_url()).unwrap(),
            ledger: LedgerTarget {
                url,
                contract: Some(contract),
                chain_id: Some(medwallet_devnodes::LOCAL_CHAIN_ID),
            },
            data: dir.path().join("data"),
            _dir: dir,
            _anvil: anvil,
            _ipfs: ipfs,
        }
    }
}

/// The trail's entries, page after page.
async fn whole_trail(
    audit: &AuditService,
    owner: &Owner,
    ledger: &LedgerTarget,
    query: &AuditQuery,
    context: &AuditContext,
) -> Vec<medwallet_api::AuditEntry> {
    let mut out = Vec::new();
    loop {
        let page = TrailPage {
            query: query.clone(),
            offset: out.len() as u64,
            limit: TrailPage::MAX_LIMIT,
        };
        let trail = audit.trail(owner, ledger, &page, context).await.unwrap();
        assert_eq!(trail.problem, None);
        if trail.entries.is_empty() {
            return out;
        }
        out.extend(trail.entries);
    }
}

#[tokio::test]
async fn a_trail_of_thousands_of_events_is_paged_with_its_emergencies_first() {
    const EVENTS: usize = 2_000;
    const UPDATES: usize = 100;
    let chain = Chain::start().await;
    let contract = chain.ledger.contract.unwrap();
    let keys = keys(0x73);
    let owner = Arc::new(Owner::new(&format!("{:032x}", 0x73), "Ada Lovelace", &keys));
    let me = owner.address.parse().unwrap();
    let signer = PrivateKeySigner::from_slice(keys.ledger_secret_key()).unwrap();
    // The wallet's own events, real transactions: records registered, then updates.
    medwallet_ledger::testing::write_events(
        &chain.ledger.url,
        contract,
        signer.clone(),
        EVENTS,
        UPDATES,
    )
    .await
    .unwrap();
    // A clinic's emergency staff opens one of them twice.
    let node = LedgerNode::new(&chain.ledger.url);
    let mine = node.client(signer, contract).await.unwrap();
    let clinic = node
        .client(PrivateKeySigner::random(), contract)
        .await
        .unwrap();
    let opened = medwallet_ledger::testing::record_id(me, 5);
    let emergency = keccak256("role:emergency");
    mine.grant_access(opened, clinic.address(), emergency, &[0x01; 36], 0)
        .await
        .unwrap();
    mine.set_emergency_access(opened, clinic.address(), true)
        .await
        .unwrap();
    for _ in 0..2 {
        clinic
            .log_emergency_access(opened, 1, clinic.address(), emergency)
            .await
            .unwrap();
    }
    // Three records added through the app's add path: their entries carry their titles.
    let service = Arc::new(RecordService::new(&chain.data));
    let file = chain.data.join("note.txt");
    std::fs::create_dir_all(&chain.data).unwrap();
    std::fs::write(&file, b"A short note.\n").unwrap();
    let file = file.display().to_string();
    let mut titled = Vec::new();
    for i in 0..3 {
        titled.push(
            add_many(
                &service,
                &owner,
                &chain.ipfs,
                &chain.ledger,
                &file,
                i..i + 1,
            )
            .await
            .remove(0),
        );
    }
    assert!(titled
        .iter()
        .all(|r| matches!(r.ledger, LedgerMark::Registered { .. })));
    let total = (EVENTS + 2 + 2 + 3) as u64;

    let audit = AuditService::new(&chain.data);
    let context = AuditContext::of(&service, &owner).await.unwrap();
    let first = audit
        .trail(
            &owner,
            &chain.ledger,
            &TrailPage::first(AuditQuery::default(), 100),
            &context,
        )
        .await
        .unwrap();
    assert_eq!(first.problem, None, "{:?}", first.problem);
    assert_eq!(
        (first.total, first.offset, first.entries.len()),
        (total, 0, 100)
    );
    // Newest first: the three uploads, with their titles; the openings come with the page.
    let newest: Vec<_> = first.entries[..3]
        .iter()
        .map(|e| (e.action, e.record_title.clone()))
        .collect();
    let expected: Vec<_> = titled
        .iter()
        .rev()
        .map(|r| (AuditAction::Uploaded, Some(r.title.clone())))
        .collect();
    assert_eq!(newest, expected);
    assert_eq!(first.emergency_total, 2);
    assert_eq!(first.emergencies.len(), 2);
    assert!(first
        .emergencies
        .iter()
        .all(|e| e.action == AuditAction::EmergencyAccess
            && e.record_id.as_deref() == Some(opened.to_string().as_str())));
    // The last page: short, with the openings still first.
    let last = audit
        .trail(
            &owner,
            &chain.ledger,
            &TrailPage {
                query: AuditQuery::default(),
                offset: total - 40,
                limit: 100,
            },
            &context,
        )
        .await
        .unwrap();
    assert_eq!((last.entries.len(), last.emergencies.len()), (40, 2));

    // Every entry once, newest first.
    let whole = whole_trail(
        &audit,
        &owner,
        &chain.ledger,
        &AuditQuery::default(),
        &context,
    )
    .await;
    assert_eq!(whole.len() as u64, total);
    assert!(whole
        .windows(2)
        .all(|w| w[0].block_number >= w[1].block_number));
    let distinct: HashSet<(String, AuditAction)> = whole
        .iter()
        .map(|e| (e.tx_hash.clone(), e.action))
        .collect();
    assert_eq!(distinct.len() as u64, total);
    assert_eq!(
        whole
            .iter()
            .filter(|e| e.action == AuditAction::Uploaded)
            .count(),
        EVENTS - UPDATES + 3
    );

    // Filters, counted by the cache.
    let count = |query: AuditQuery| {
        let (audit, owner, chain, context) = (&audit, &owner, &chain, &context);
        async move {
            audit
                .trail(owner, &chain.ledger, &TrailPage::first(query, 10), context)
                .await
                .unwrap()
        }
    };
    let updates = count(AuditQuery {
        action: Some(AuditAction::Updated),
        ..Default::default()
    })
    .await;
    assert_eq!(
        (updates.total, updates.emergency_total),
        (UPDATES as u64, 0)
    );
    assert!(updates.emergencies.is_empty());
    let record_0 = medwallet_ledger::testing::record_id(me, 0).to_string();
    let one = count(AuditQuery {
        record_id: Some(record_0),
        ..Default::default()
    })
    .await;
    assert_eq!(one.total, 1 + UPDATES as u64);
    let by_clinic = count(AuditQuery {
        actor: Some(clinic.address().to_string()),
        ..Default::default()
    })
    .await;
    assert_eq!((by_clinic.total, by_clinic.emergency_total), (2, 2));
    let none_yet = count(AuditQuery {
        to: Some("2001-01-01".into()),
        ..Default::default()
    })
    .await;
    assert_eq!((none_yet.total, none_yet.emergency_total), (0, 0));

    // Exports hold the whole filtered trail, read in pages.
    let csv = audit
        .export(
            &owner,
            &chain.ledger,
            &AuditQuery::default(),
            &context,
            ExportFormat::Csv,
            &chain.data.join("trail.csv").display().to_string(),
        )
        .await
        .unwrap();
    let text = std::fs::read_to_string(&csv.path).unwrap();
    assert_eq!(csv.size, text.len() as u64);
    assert_eq!(
        text.matches("\r\n").count() as u64,
        total + 1,
        "a header and a row each"
    );
    assert!(text.contains(&titled[0].title));
    let fhir = audit
        .export(
            &owner,
            &chain.ledger,
            &AuditQuery {
                action: Some(AuditAction::Updated),
                ..Default::default()
            },
            &context,
            ExportFormat::FhirBundle,
            &chain.data.join("trail.json").display().to_string(),
        )
        .await
        .unwrap();
    let bundle: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&fhir.path).unwrap()).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    let entries = bundle["entry"].as_array().unwrap();
    assert_eq!(entries.len(), UPDATES);
    assert!(entries
        .iter()
        .all(|e| e["resource"]["subtype"][0]["code"] == "updated"));
    assert!(!chain.data.join("trail.json.part").exists());

    // The records page of the same wallet: three on IPFS, held by one node.
    let page: RecordPage = service
        .page(
            &owner,
            &RecordQuery::search("", 10),
            Some(medwallet_core::records::list::Nodes {
                ipfs: &chain.ipfs,
                replicas: &[],
            }),
        )
        .await
        .unwrap();
    assert_eq!((page.total, page.single_copy, page.copies_of), (3, 3, 1));
    assert!(page
        .records
        .iter()
        .all(|r| r.copies.as_ref().is_some_and(|c| c.held_by.len() == 1)));
    service.close().await;
}
