//! The status bar shows real node health, and a node that goes away is shown as
//! such without the app crashing; bad node settings get clear messages.

use medwallet_devnodes::LOCAL_CHAIN_ID;
use medwallet_e2e::{App, Nodes};
use medwallet_records::IpfsNode;

#[tokio::test]
async fn health_bar_shows_real_nodes_then_an_unreachable_ledger() {
    let mut nodes = Nodes::start().await;
    // What the node itself says, to compare with what the app shows.
    let info = IpfsNode::new(&nodes.ipfs_url.parse().unwrap())
        .unwrap()
        .info()
        .await
        .unwrap();
    let mut app = App::launch("health_bar", &nodes.app_env()).await;

    let ipfs = app
        .wait_text("#health-ipfs", |t| t.starts_with("IPFS "))
        .await;
    assert!(ipfs.contains(&format!("IPFS {}", info.version)), "{ipfs}");
    assert!(ipfs.contains(&info.peer_id[..8]), "{ipfs}");
    let ledger = app
        .wait_text("#health-ledger", |t| t.starts_with("Ledger chain"))
        .await;
    assert!(
        ledger.contains(&format!("chain {LOCAL_CHAIN_ID}")),
        "{ledger}"
    );
    assert!(ledger.contains("contract ✓"), "{ledger}");
    app.screenshot("nodes-up").await;

    let ledger_url = nodes.ledger_url.clone();
    nodes.stop_ledger();
    app.click("#health-retry").await;
    let down = app
        .wait_text("#health-ledger", |t| t.contains("unreachable"))
        .await;
    assert_eq!(down, format!("Ledger unreachable ({ledger_url})"));
    // The app is still alive and the IPFS node is still shown as up.
    assert!(app
        .wait_text("#health-ipfs", |t| t.starts_with("IPFS "))
        .await
        .contains(&info.version));
    app.screenshot("ledger-down").await;
    app.close().await;
}

#[tokio::test]
async fn bad_node_settings_get_clear_messages() {
    let nodes = Nodes::start().await;
    let mut app = App::launch("bad_settings", &nodes.app_env()).await;
    app.wait_text("#health-ledger", |t| t.starts_with("Ledger chain"))
        .await;

    app.click("#nav-settings").await;
    // Malformed: refused field by field, nothing stored.
    app.fill("#ipfs-url", "localhost:5001").await;
    app.fill("#ledger-url", "ftp://127.0.0.1:1").await;
    app.click("#settings-save").await;
    let ipfs_error = app.wait_text("#ipfs-url-error", |t| !t.is_empty()).await;
    assert_eq!(ipfs_error, "Add the scheme in front: http://localhost:5001");
    let ledger_error = app.wait_text("#ledger-url-error", |t| !t.is_empty()).await;
    assert!(ledger_error.contains("ftp"), "{ledger_error}");
    app.screenshot("malformed-refused").await;

    // Well-formed but wrong: the ledger URL points at the IPFS node.
    app.fill("#ipfs-url", &nodes.ipfs_url).await;
    app.fill("#ledger-url", &nodes.ipfs_url).await;
    app.click("#settings-save").await;
    app.wait_text("#settings-notice", |t| t.starts_with("Saved"))
        .await;
    let wrong = app
        .wait_text("#health-ledger", |t| t.contains("not an Ethereum node"))
        .await;
    assert_eq!(
        wrong,
        format!("Ledger: not an Ethereum node ({})", nodes.ipfs_url)
    );
    app.screenshot("ledger-is-ipfs").await;

    // Points nowhere.
    let nowhere = format!(
        "http://127.0.0.1:{}",
        medwallet_devnodes::free_port().unwrap()
    );
    app.fill("#ledger-url", &nowhere).await;
    app.click("#settings-save").await;
    app.wait_text("#health-ledger", |t| {
        t == format!("Ledger unreachable ({nowhere})")
    })
    .await;

    // Back to the defaults: healthy again.
    app.click("#settings-reset").await;
    app.wait_text("#health-ledger", |t| t.starts_with("Ledger chain"))
        .await;
    app.screenshot("defaults-restored").await;

    // Diagnostics: where the log is, and a report to copy into a bug report.
    let log_path = app.wait_text("#log-path", |t| !t.is_empty()).await;
    assert_eq!(
        std::path::Path::new(&log_path),
        app.data_dir.path().join("logs"),
        "{log_path}"
    );
    let report = app
        .wait_text("#diagnostics-text", |t| t.contains("--- the last"))
        .await;
    assert!(report.starts_with("medwallet "), "{report}");
    assert!(report.contains("IPFS node http://127.0.0.1:"), "{report}");
    assert!(report.contains("medwallet starting"), "{report}");
    app.click("#copy-diagnostics").await;
    app.wait_text("#copy-diagnostics", |t| t.starts_with("Copied"))
        .await;
    app.screenshot("diagnostics").await;
    app.close().await;
}
