//! How the wallet reaches its nodes, in Settings: plain http:// to another computer is
//! refused until its host is allowed; no extra CA until one is imported; credentials for
//! a node are set, listed by node and kind (never shown again), removed, and never
//! written to the log.

use medwallet_e2e::{App, Nodes};

const PASSPHRASE: &str = "cobalt lantern orchard whistle 42";
const TOKEN: &str = "tok-7f3a9c1e-e2e-never-logged";
const PASSWORD: &str = "pw-e2e-4b8d-never-logged";

#[tokio::test]
async fn node_access_is_set_in_settings() {
    let nodes = Nodes::start().await;
    let mut app = App::launch("node_access", &nodes.app_env()).await;
    let words = app.create_wallet("patient", "Access", PASSPHRASE).await;
    app.click("#nav-settings").await;

    // Plain http:// to another computer: refused until the host is allowed, with the box
    // to tick right under the field; loopback never asks.
    assert!(!app.exists("#settings-ipfs-plain").await);
    app.fill("#ipfs-url", "http://Node.Clinic.Example:5001")
        .await;
    app.click("#settings-save").await;
    let refused = app.wait_text("#ipfs-url-error", |t| !t.is_empty()).await;
    assert!(
        refused
            .ends_with("Use https://, or tick \"allow an unencrypted connection to this host\"."),
        "{refused}"
    );
    app.click("#settings-ipfs-plain").await;
    app.wait_value("#settings-plain-hosts", |v| v == "node.clinic.example")
        .await;
    app.screenshot("plain-http-allowed").await;
    app.click("#settings-ipfs-plain").await;
    app.wait_value("#settings-plain-hosts", str::is_empty).await;
    app.fill("#ipfs-url", &nodes.ipfs_url).await;
    assert!(!app.exists("#settings-ipfs-plain").await);
    app.click("#settings-save").await;
    app.wait_text("#settings-notice", |t| t.starts_with("Saved"))
        .await;

    // No CA of the consortium's until one is imported (the import is a file dialog).
    assert_eq!(
        app.wait_text("#settings-ca", |t| !t.is_empty()).await,
        "None — only the system's certificate authorities"
    );
    assert!(!app.exists("#settings-ca-clear").await);

    // A bearer token for the IPFS node: listed by its origin and kind, the input emptied.
    app.wait_text("#settings-credentials", |t| t.contains("No node"))
        .await;
    let ipfs_origin = nodes.ipfs_url.trim_end_matches('/').to_owned();
    app.fill("#credential-token", TOKEN).await;
    app.click("#credential-save").await;
    let row = format!("#settings-credentials li[data-node=\"{ipfs_origin}\"]");
    let listed = app.wait_text(&row, |t| t.contains("Bearer token")).await;
    assert!(!listed.contains(TOKEN), "{listed}");
    assert_eq!(app.wait_value("#credential-token", |_| true).await, "");
    app.screenshot("bearer-set").await;
    app.click(&format!("{row} button")).await;
    app.wait_text("#settings-credentials", |t| t.contains("No node"))
        .await;

    // A user name and password for the ledger node.
    let select = app.find("#credential-node").await;
    medwallet_e2e::thirtyfour::components::SelectElement::new(&select)
        .await
        .expect("a select")
        .select_by_value(&nodes.ledger_url)
        .await
        .expect("select the ledger node");
    let kind = app.find("#credential-kind").await;
    medwallet_e2e::thirtyfour::components::SelectElement::new(&kind)
        .await
        .expect("a select")
        .select_by_value("basic")
        .await
        .expect("select user name and password");
    app.fill("#credential-user", "clinic").await;
    app.fill("#credential-password", PASSWORD).await;
    app.click("#credential-save").await;
    let ledger_origin = nodes.ledger_url.trim_end_matches('/').to_owned();
    let row = format!("#settings-credentials li[data-node=\"{ledger_origin}\"]");
    app.wait_text(&row, |t| t.contains("User name and password"))
        .await;
    assert_eq!(app.wait_value("#credential-password", |_| true).await, "");
    app.screenshot("basic-set").await;
    app.click(&format!("{row} button")).await;
    app.wait_text("#settings-credentials", |t| t.contains("No node"))
        .await;

    app.assert_logs_keep_secrets(&words, &[TOKEN, PASSWORD]);
    app.close().await;
}
