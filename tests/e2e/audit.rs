//! A patient whose wallet has 10,000 events on the ledger opens the audit trail: the app
//! reads them from the node into its cache, checks them, and shows the newest 200, then
//! the next 200, filtered by action on request.

use medwallet_e2e::{App, Nodes};
use medwallet_ledger::PrivateKeySigner;
use medwallet_vault::{RecoveryPhrase, Role, WalletKeys};

const PASSPHRASE: &str = "orbit lantern velvet quarry mosaic";
const EVENTS: usize = 10_000;
const UPDATES: usize = 100;
/// The wallet's own publications (identity, authority), in its trail too.
const PUBLISHED: usize = 2;

#[tokio::test]
async fn ten_thousand_ledger_events_sync_and_render() {
    let nodes = Nodes::start().await;
    let mut env = nodes.app_env();
    env.push(("MEDWALLET_INSECURE_TEST_KDF", "1".to_owned()));
    let mut app = App::launch("audit_ten_thousand", &env).await;
    let words = app
        .create_wallet("patient", "Ada Lovelace", PASSPHRASE)
        .await;

    // The wallet's own ledger key, from its recovery words: the events are really its own.
    let phrase = RecoveryPhrase::parse(&words.join(" ")).unwrap();
    let keys = WalletKeys::derive(&phrase.to_seed(), Role::Patient).unwrap();
    let signer = PrivateKeySigner::from_slice(keys.ledger_secret_key()).unwrap();
    // The unlocked app publishes the wallet's identity and authority on the ledger: let
    // those two transactions land first, so the writer below owns the account's nonces.
    wait_for_own_events(&nodes, keys.address(), PUBLISHED).await;
    let from = medwallet_ledger::testing::write_events(
        &nodes.ledger_url.parse().unwrap(),
        nodes.contract.parse().unwrap(),
        signer,
        EVENTS,
        UPDATES,
    )
    .await
    .unwrap();
    assert_eq!(from.to_string(), keys.address());

    app.click("#nav-audit").await;
    let total = EVENTS + PUBLISHED;
    app.wait_text("#audit-count", |t| {
        t == format!("Showing 1–200 of {} entries", fmt_thousands(total))
    })
    .await;
    app.wait_text("#audit-chain", |t| t.contains("424242"))
        .await;
    assert_eq!(app.find_all("li.audit-entry").await.len(), 200);
    // Newest first: the updates were sent last.
    let first = app.wait_text("li.audit-entry", |t| !t.is_empty()).await;
    assert!(
        first.contains("You") && first.contains("updated"),
        "{first}"
    );
    app.screenshot("ten-thousand").await;

    // The next page: the 200 before them.
    app.click("#audit-next").await;
    app.wait_text("#audit-count", |t| t.starts_with("Showing 201–400 of"))
        .await;
    assert_eq!(app.find_all("li.audit-entry").await.len(), 200);

    // Filter by action: only the 100 updates.
    let select = app.find("#audit-action").await;
    medwallet_e2e::thirtyfour::components::SelectElement::new(&select)
        .await
        .expect("a select")
        .select_by_value("updated")
        .await
        .expect("select the action");
    app.wait_text("#audit-count", |t| t == format!("{UPDATES} entries"))
        .await;
    assert_eq!(app.find_all("li.audit-entry").await.len(), UPDATES);
    app.screenshot("filtered").await;
    app.close().await;
}

/// Waits (up to a minute) until `address` is the actor of `count` events on the ledger.
async fn wait_for_own_events(nodes: &Nodes, address: &str, count: usize) {
    use medwallet_ledger::{EventFilter, LedgerNode};
    let node = LedgerNode::new(&nodes.ledger_url.parse().unwrap());
    let contract = nodes.contract.parse().unwrap();
    let me = address.parse().unwrap();
    let start = std::time::Instant::now();
    loop {
        let head = node.status().await.unwrap().block_height;
        let events = node
            .fetch_events(contract, 0, head, &EventFilter::Wallet(me))
            .await
            .unwrap()
            .events;
        if events.iter().filter(|e| e.event.actor() == me).count() >= count {
            return;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "the app did not publish the wallet's keys: {events:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

fn fmt_thousands(n: usize) -> String {
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
