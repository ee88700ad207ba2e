//! Large lists in the window (issue 18), measured: a patient with 10,000 records opens the
//! Records page and searches it; a patient with 100,000 events on the ledger opens the
//! Audit page and pages and filters it. Each story asserts what is shown (the counts and
//! the rows) and reports how long it took as a figure (printed, and appended to
//! `figures.txt` in the artifacts folder), never asserting on a time.
//!
//! The wallets are filled before the app starts, through the library crates the app is
//! made of (see `medwallet_e2e::seed`): 10,000 adds through the window would take hours.

use std::time::{Duration, Instant};

use medwallet_api::{Category, RecordMetadata, RecordSummary};
use medwallet_core::LedgerTarget;
use medwallet_e2e::{record_figure, seed, App, Nodes};
use medwallet_ledger::{EventCache, EventFilter, LedgerNode, PrivateKeySigner};
use medwallet_vault::{RecoveryPhrase, Role, WalletKeys};

const PASSPHRASE: &str = "orbit lantern velvet quarry mosaic";
/// How often a measured story looks at the window.
const LOOK: Duration = Duration::from_millis(10);

const RECORDS: usize = 10_000;
const WORDS: [&str; 7] = [
    "Blood panel",
    "Chest X-ray",
    "Discharge letter",
    "Lipid panel",
    "MRI knee",
    "Prescription refill",
    "Vaccination card",
];

/// The `i`-th record: titles from [`WORDS`] and its number, every category, dates over
/// four years.
fn metadata(i: usize) -> RecordMetadata {
    let day = chrono_day(i);
    RecordMetadata {
        title: format!("{} {i}", WORDS[i % WORDS.len()]),
        category: Category::ALL[i % Category::ALL.len()],
        date: day,
        author: "Dr. Seacole".to_owned(),
    }
}

/// `2022-01-01` plus `(i × 37) mod 1461` days, as `YYYY-MM-DD`.
fn chrono_day(i: usize) -> String {
    // Days from 2022-01-01 (no chrono here: a plain calendar walk).
    let mut days = (i * 37) % 1461;
    let (mut year, mut month) = (2022usize, 1usize);
    loop {
        let leap = year.is_multiple_of(4);
        let in_month = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        if days < in_month {
            return format!("{year}-{month:02}-{:02}", days + 1);
        }
        days -= in_month;
        month += 1;
        if month > 12 {
            month = 1;
            year += 1;
        }
    }
}

/// The Records page's order: by category, newest document date, newest added, then id.
fn page_order(a: &RecordSummary, b: &RecordSummary) -> std::cmp::Ordering {
    let rank = |c: Category| Category::ALL.iter().position(|x| *x == c).unwrap();
    rank(a.category)
        .cmp(&rank(b.category))
        .then_with(|| b.date.cmp(&a.date))
        .then_with(|| b.added_at.cmp(&a.added_at))
        .then_with(|| a.id.cmp(&b.id))
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

#[tokio::test]
async fn records_page_with_ten_thousand_records() {
    let nodes = Nodes::start().await;
    // No IPFS node answers this app: its records stay on this device, in the outbox
    // (and the background pass tries one upload per pass, which fails at once).
    let no_ipfs = format!(
        "http://127.0.0.1:{}",
        medwallet_devnodes::free_port().unwrap()
    );
    let ledger = LedgerTarget {
        url: nodes.ledger_url.parse().unwrap(),
        contract: Some(nodes.contract.parse().unwrap()),
        chain_id: None,
    };
    let data = tempfile::tempdir().unwrap();
    let wallet = seed::patient_wallet(data.path(), "Ada Lovelace", PASSPHRASE).await;
    let file = data.path().join("note.txt");
    std::fs::write(&file, b"A short clinical note.\n").unwrap();
    let start = Instant::now();
    let mut added = seed::add_records(
        data.path(),
        &wallet.owner,
        &no_ipfs.parse().unwrap(),
        &ledger,
        &file,
        0..RECORDS,
        metadata,
    )
    .await;
    std::fs::remove_file(&file).unwrap();
    record_figure(&format!(
        "records-seed: {RECORDS} records added through the add path (IPFS down) in {} ms",
        ms(start.elapsed())
    ));
    added.sort_by(page_order);

    let mut env: Vec<(&'static str, String)> = nodes
        .app_env()
        .into_iter()
        .filter(|(k, _)| *k != "MEDWALLET_IPFS_URL")
        .collect();
    env.push(("MEDWALLET_IPFS_URL", no_ipfs));
    env.push(("MEDWALLET_INSECURE_TEST_KDF", "1".to_owned()));
    let mut app = App::launch_in("records_ten_thousand", &env, data).await;
    app.wait_text("#unlock-title", |t| t.contains("locked"))
        .await;
    app.fill("#unlock-passphrase", PASSPHRASE).await;

    // First render: from Unlock to the first page of 100 shown with its count (the
    // wallet's list is read and decrypted once, in the shell, after the unlock).
    let all = format!("1–100 of {} records", thousands(RECORDS));
    let start = Instant::now();
    app.click("#unlock").await;
    app.wait_text_every("#records-count", LOOK, |t| t == all)
        .await;
    let first = start.elapsed();
    assert_eq!(app.find_all("li.record-row").await.len(), 100);
    let shown = app.attributes("li.record-row", "data-record-id").await;
    let expected: Vec<String> = added[..100].iter().map(|r| r.id.clone()).collect();
    assert_eq!(shown, expected, "the first page, in the page's order");
    app.wait_text("#records-local-count", |t| {
        t.starts_with(&format!(
            "{} records are on this device only",
            thousands(RECORDS)
        ))
    })
    .await;
    app.screenshot("ten-thousand").await;

    // The page again (another page, then Records): the list is not decrypted again.
    app.click("#nav-keys").await;
    app.find("#identity-address").await;
    let start = Instant::now();
    app.click("#nav-records").await;
    app.wait_text_every("#records-count", LOOK, |t| t == all)
        .await;
    let again = start.elapsed();

    // The next page.
    let start = Instant::now();
    app.click("#records-next").await;
    let second = format!("101–200 of {} records", thousands(RECORDS));
    app.wait_text_every("#records-count", LOOK, |t| t == second)
        .await;
    let next = start.elapsed();
    let shown = app.attributes("li.record-row", "data-record-id").await;
    let expected: Vec<String> = added[100..200].iter().map(|r| r.id.clone()).collect();
    assert_eq!(shown, expected, "the second page");

    // A search typed quickly, then one more keystroke: from that keystroke to the
    // filtered page (the search waits for typing to rest, 250 ms, then asks the shell).
    let matching = |q: &str| -> Vec<&RecordSummary> {
        added
            .iter()
            .filter(|r| r.title.to_lowercase().contains(q))
            .collect()
    };
    let found_text = |n: usize| {
        format!(
            "1–{} of {} found, of {}",
            n.min(100),
            if n == 1 {
                "1 record".to_owned()
            } else {
                format!("{} records", thousands(n))
            },
            thousands(RECORDS)
        )
    };
    let start = Instant::now();
    app.type_keys("#records-search", "blood panel 7").await;
    let typed = matching("blood panel 7");
    assert!(typed.len() > 100, "{}", typed.len());
    app.wait_text_every("#records-count", LOOK, |t| t == found_text(typed.len()))
        .await;
    let search = start.elapsed();
    let start = Instant::now();
    app.type_keys("#records-search", "7").await;
    let narrowed = matching("blood panel 77");
    assert!(
        narrowed.len() > 1 && narrowed.len() <= 100,
        "{}",
        narrowed.len()
    );
    app.wait_text_every("#records-count", LOOK, |t| t == found_text(narrowed.len()))
        .await;
    let keystroke = start.elapsed();
    let shown = app.attributes("li.record-row", "data-title").await;
    let expected: Vec<String> = narrowed.iter().map(|r| r.title.clone()).collect();
    assert_eq!(shown, expected, "the filtered rows, in the page's order");
    app.screenshot("searched").await;

    record_figure(&format!(
        "records-{RECORDS}: first page after unlock {} ms; page again {} ms; next page {} ms; \
         search typed ({} keys) to filtered page {} ms; one more keystroke to filtered page {} ms \
         (each includes the 250 ms debounce: search only)",
        ms(first),
        ms(again),
        ms(next),
        "blood panel 7".len(),
        ms(search),
        ms(keystroke)
    ));
    app.close().await;
}

const EVENTS: usize = 100_000;
const UPDATES: usize = 1_000;
/// The wallet's own publications (identity, authority), made by the app once unlocked.
const PUBLISHED: usize = 2;

#[tokio::test]
async fn audit_page_with_a_hundred_thousand_entries() {
    let nodes = Nodes::start().await;
    let contract = nodes.contract.parse().unwrap();
    let ledger_url: url::Url = nodes.ledger_url.parse().unwrap();
    let data = tempfile::tempdir().unwrap();
    let wallet = seed::patient_wallet(data.path(), "Ada Lovelace", PASSPHRASE).await;
    let phrase = RecoveryPhrase::parse(&wallet.words.join(" ")).unwrap();
    let keys = WalletKeys::derive(&phrase.to_seed(), Role::Patient).unwrap();
    let signer = PrivateKeySigner::from_slice(keys.ledger_secret_key()).unwrap();
    let me = keys.address().parse().unwrap();

    // The wallet's own events, real transactions on the real contract.
    let start = Instant::now();
    medwallet_ledger::testing::write_events(&ledger_url, contract, signer, EVENTS, UPDATES)
        .await
        .unwrap();
    let wrote = start.elapsed();
    // Its trail's cache, read from the node before the app starts (the first read of a
    // long history is the sync's figure, not the page's).
    std::fs::create_dir_all(data.path().join("audit")).unwrap();
    let cache = EventCache::open(
        &data
            .path()
            .join("audit")
            .join(format!("{}.sqlite", wallet.wallet_id)),
    )
    .await
    .unwrap();
    let start = Instant::now();
    cache
        .sync(
            &LedgerNode::new(&ledger_url),
            contract,
            &EventFilter::Wallet(me),
        )
        .await
        .unwrap();
    let synced = start.elapsed();
    drop(cache);
    record_figure(&format!(
        "audit-seed: {EVENTS} events written in {} ms, synced into the cache in {} ms",
        ms(wrote),
        ms(synced)
    ));

    let mut env = nodes.app_env();
    env.push(("MEDWALLET_INSECURE_TEST_KDF", "1".to_owned()));
    let mut app = App::launch_in("audit_hundred_thousand", &env, data).await;
    app.wait_text("#unlock-title", |t| t.contains("locked"))
        .await;
    app.fill("#unlock-passphrase", PASSPHRASE).await;
    app.click("#unlock").await;
    app.find("#nav-audit").await;
    // The unlocked app publishes the wallet's keys: two more events, then the trail.
    wait_for_publications(&nodes, keys.address(), PUBLISHED).await;

    let total = EVENTS + PUBLISHED;
    let first_page = format!("Showing 1–200 of {} entries", thousands(total));
    let start = Instant::now();
    app.click("#nav-audit").await;
    app.wait_text_every("#audit-count", LOOK, |t| t == first_page)
        .await;
    let first = start.elapsed();
    assert_eq!(app.find_all("li.audit-entry").await.len(), 200);
    let newest = app.wait_text("li.audit-entry", |t| !t.is_empty()).await;
    assert!(
        newest.contains("You") && newest.contains("published"),
        "{newest}"
    );
    app.screenshot("hundred-thousand").await;

    let start = Instant::now();
    app.click("#audit-next").await;
    let second = format!("Showing 201–400 of {} entries", thousands(total));
    app.wait_text_every("#audit-count", LOOK, |t| t == second)
        .await;
    let next = start.elapsed();
    assert_eq!(app.find_all("li.audit-entry").await.len(), 200);

    // Filter by action: only the updates, from the first page again.
    let start = Instant::now();
    let select = app.find("#audit-action").await;
    medwallet_e2e::thirtyfour::components::SelectElement::new(&select)
        .await
        .expect("a select")
        .select_by_value("updated")
        .await
        .expect("select the action");
    let updates = format!("Showing 1–200 of {} entries", thousands(UPDATES));
    app.wait_text_every("#audit-count", LOOK, |t| t == updates)
        .await;
    let filtered = start.elapsed();
    let actions = app.attributes("li.audit-entry", "data-action").await;
    assert_eq!(actions.len(), 200);
    assert!(actions.iter().all(|a| a == "updated"), "{actions:?}");
    app.screenshot("filtered").await;

    record_figure(&format!(
        "audit-{total}: first page {} ms; next page {} ms; filtered by action ({UPDATES} of \
         {total}) {} ms (each includes the sync from the cached head to the node's)",
        ms(first),
        ms(next),
        ms(filtered)
    ));
    app.close().await;
}

/// Waits (up to two minutes) until `address` published `count` identities or authority
/// parameters in the ledger's newest blocks.
async fn wait_for_publications(nodes: &Nodes, address: &str, count: usize) {
    let node = LedgerNode::new(&nodes.ledger_url.parse().unwrap());
    let contract = nodes.contract.parse().unwrap();
    let me: medwallet_ledger::Address = address.parse().unwrap();
    let start = Instant::now();
    loop {
        let head = node.status().await.unwrap().block_height;
        // Only the newest blocks: the publications come after the written events.
        let recent = node
            .fetch_events(
                contract,
                head.saturating_sub(50),
                head,
                &EventFilter::Wallet(me),
            )
            .await
            .unwrap()
            .events;
        let published = recent
            .iter()
            .filter(|e| {
                matches!(
                    e.event,
                    medwallet_ledger::LedgerEvent::IdentityPublished { .. }
                        | medwallet_ledger::LedgerEvent::AuthorityPublished { .. }
                )
            })
            .count();
        if published >= count {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the app did not publish the wallet's keys"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
