//! Node health against real nodes: up, swapped (each URL points at the other kind
//! of node), and down.

use medwallet_api::{IpfsStatus, LedgerStatus, NodeProblem, NodeSettings};
use medwallet_core::check_health;
use medwallet_devnodes::{Anvil, AnvilOptions, Ipfs, IpfsOptions, NodeTools, LOCAL_CHAIN_ID};
use medwallet_ledger::{LedgerNode, PrivateKeySigner};

#[tokio::test]
async fn health_reports_real_versions_wrong_nodes_and_stopped_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let tools = NodeTools::locate().unwrap();
    let ipfs = Ipfs::start(&tools, &IpfsOptions::ephemeral(dir.path().join("ipfs"))).unwrap();
    let anvil = Anvil::start(&tools, &AnvilOptions::ephemeral(dir.path().join("anvil"))).unwrap();
    let contract = LedgerNode::new(&anvil.url().parse().unwrap())
        .deploy(PrivateKeySigner::random())
        .await
        .unwrap();

    let settings = NodeSettings {
        ipfs_url: ipfs.api_url(),
        ledger_url: anvil.url(),
        contract_address: Some(contract.to_string()),
        ..Default::default()
    };
    let report = check_health(&settings).await;
    let IpfsStatus::Up { version, peer_id } = &report.ipfs.status else {
        panic!("{report:?}")
    };
    assert!(!version.is_empty() && !peer_id.is_empty());
    assert_eq!(
        report.ledger.status,
        LedgerStatus::Up {
            chain_id: LOCAL_CHAIN_ID,
            block_height: 1,
            contract_deployed: Some(true)
        }
    );

    // A contract address with nothing there.
    let elsewhere = NodeSettings {
        contract_address: Some(format!("0x{}", "11".repeat(20))),
        ..settings.clone()
    };
    assert!(matches!(
        check_health(&elsewhere).await.ledger.status,
        LedgerStatus::Up {
            contract_deployed: Some(false),
            ..
        }
    ));

    // Each URL pointing at the other kind of node.
    let swapped = NodeSettings {
        ipfs_url: anvil.url(),
        ledger_url: ipfs.api_url(),
        contract_address: None,
        ..Default::default()
    };
    let report = check_health(&swapped).await;
    assert!(
        matches!(&report.ipfs.status, IpfsStatus::Down { problem: NodeProblem::WrongService, reason } if reason.contains("not an IPFS node")),
        "{report:?}"
    );
    assert!(
        matches!(&report.ledger.status, LedgerStatus::Down { problem: NodeProblem::WrongService, reason } if reason.contains("not an Ethereum JSON-RPC node")),
        "{report:?}"
    );

    anvil.stop();
    ipfs.stop();
    let report = check_health(&settings).await;
    assert!(
        matches!(&report.ipfs.status, IpfsStatus::Down { problem: NodeProblem::Unreachable, reason } if reason.contains("Nothing answered")),
        "{report:?}"
    );
    assert!(
        matches!(&report.ledger.status, LedgerStatus::Down { problem: NodeProblem::Unreachable, reason } if reason.contains("Nothing answered")),
        "{report:?}"
    );
}

/// Both nodes behind TLS reverse proxies (a private CA, a bearer token each): reached
/// once the CA is imported and the wallet holds the tokens; each wrong setting named in
/// its own words; no token in an answer or in a file in clear.
#[tokio::test]
async fn nodes_behind_tls_are_reached_with_the_imported_ca_and_the_vaults_tokens() {
    use medwallet_api::commands::NewWalletArgs;
    use medwallet_api::{CredentialInput, Role};
    use medwallet_core::{App, Defaults};
    use medwallet_net::testing::{Leaf, ProxyOptions, TestCa, TlsProxy, Validity};

    let dir = tempfile::tempdir().unwrap();
    let tools = NodeTools::locate().unwrap();
    let ipfs = Ipfs::start(&tools, &IpfsOptions::ephemeral(dir.path().join("ipfs"))).unwrap();
    let anvil = Anvil::start(&tools, &AnvilOptions::ephemeral(dir.path().join("anvil"))).unwrap();
    let ipfs_at: std::net::SocketAddr = ([127, 0, 0, 1], ipfs.api_port()).into();
    let anvil_at: std::net::SocketAddr = ([127, 0, 0, 1], anvil.port()).into();
    let ca = TestCa::new();
    let (ipfs_token, rpc_token) = ("ipfs-t0ken-4f9a", "rpc-t0ken-77c1");
    let ipfs_tls = TlsProxy::start(ipfs_at, &ca, Some(ipfs_token.into())).unwrap();
    let rpc_tls = TlsProxy::start(anvil_at, &ca, Some(rpc_token.into())).unwrap();
    let url = |u: url::Url| u.as_str().trim_end_matches('/').to_owned();

    std::fs::create_dir_all(dir.path().join("app")).unwrap();
    let app = App::open(
        &dir.path().join("app"),
        None,
        Defaults(NodeSettings {
            ipfs_url: url(ipfs_tls.url()),
            ledger_url: url(rpc_tls.url()),
            ..Default::default()
        }),
    )
    .await
    .unwrap();
    let reasons = |r: &medwallet_api::HealthReport| {
        let ipfs = match &r.ipfs.status {
            IpfsStatus::Down { reason, .. } => reason.clone(),
            up => format!("{up:?}"),
        };
        let ledger = match &r.ledger.status {
            LedgerStatus::Down { reason, .. } => reason.clone(),
            up => format!("{up:?}"),
        };
        (ipfs, ledger)
    };

    // The private CA is not trusted yet.
    let (i, l) = reasons(&app.health().await);
    assert!(
        i.contains("IPFS node") && i.contains("does not trust"),
        "{i}"
    );
    assert!(
        l.contains("ledger node") && l.contains("does not trust"),
        "{l}"
    );

    // Trusted, but no token yet.
    app.set_extra_ca(Some(&ca.pem())).await.unwrap();
    let (i, l) = reasons(&app.health().await);
    assert!(i.contains("refused the credentials"), "{i}");
    assert!(l.contains("refused the credentials"), "{l}");

    // The wallet keeps the tokens in its vault; a wrong one is named.
    app.create_wallet(&NewWalletArgs {
        role: Role::Patient,
        display_name: "Ada".into(),
        passphrase: "orbit violet harbour lantern quietly".into(),
        accept_weak: true,
    })
    .await
    .unwrap();
    let bearer = |t: &str| CredentialInput::Bearer { token: t.into() };
    let ipfs_url = url(ipfs_tls.url());
    let rpc_url = url(rpc_tls.url());
    app.set_node_credential(&ipfs_url, &bearer("wrong"))
        .await
        .unwrap();
    assert!(reasons(&app.health().await)
        .0
        .contains("refused the credentials"));
    app.set_node_credential(&ipfs_url, &bearer(ipfs_token))
        .await
        .unwrap();
    let settings = app
        .set_node_credential(&rpc_url, &bearer(rpc_token))
        .await
        .unwrap();
    let report = app.health().await;
    assert!(
        matches!(report.ipfs.status, IpfsStatus::Up { .. }),
        "{report:?}"
    );
    assert!(
        matches!(report.ledger.status, LedgerStatus::Up { .. }),
        "{report:?}"
    );

    // The settings name the nodes with credentials, never the tokens; neither file holds
    // them in clear.
    assert_eq!(settings.credentials.len(), 2, "{settings:?}");
    let shown = serde_json::to_string(&app.settings().await).unwrap();
    for token in [ipfs_token, rpc_token] {
        assert!(!shown.contains(token), "{shown}");
        for file in ["settings.sqlite", "vault.sqlite"] {
            let mut bytes = Vec::new();
            for entry in std::fs::read_dir(dir.path().join("app")).unwrap().flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with(file) {
                    bytes.extend(std::fs::read(entry.path()).unwrap());
                }
            }
            assert!(!bytes.is_empty(), "{file}");
            assert!(
                !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                "{token} in {file}"
            );
        }
    }

    // Locked, the outbox still reaches the nodes.
    app.lock_wallet().await;
    let report = app.health().await;
    assert!(
        matches!(report.ipfs.status, IpfsStatus::Up { .. }),
        "{report:?}"
    );

    // An expired certificate, one for another host, and no TLS at all: each its words.
    let leaf = |hosts: &[&str], validity| ProxyOptions {
        leaf: Leaf {
            hosts: hosts.iter().map(|h| (*h).to_owned()).collect(),
            validity,
        },
        token: None,
    };
    let expired =
        TlsProxy::start_with(ipfs_at, &ca, leaf(&["127.0.0.1"], Validity::Expired)).unwrap();
    let other_host =
        TlsProxy::start_with(ipfs_at, &ca, leaf(&["node.example"], Validity::Current)).unwrap();
    let no_tls = format!("https://127.0.0.1:{}", ipfs.api_port());
    let rpc_no_tls = format!("https://127.0.0.1:{}", anvil.port());
    for (ipfs_url, ledger_url, ipfs_words, ledger_words) in [
        (url(expired.url()), rpc_url.clone(), "has expired", "Up"),
        (
            url(other_host.url()),
            rpc_url.clone(),
            "for another host name",
            "Up",
        ),
        (
            no_tls,
            rpc_no_tls,
            "does not speak TLS",
            "does not speak TLS",
        ),
    ] {
        let mut s = app.settings().await;
        s.ipfs_url = ipfs_url;
        s.ledger_url = ledger_url;
        assert!(matches!(
            app.save_settings(&s).await.unwrap(),
            medwallet_api::commands::SaveOutcome::Saved { .. }
        ));
        let (i, l) = reasons(&app.health().await);
        assert!(i.contains(ipfs_words), "{i}");
        assert!(l.contains(ledger_words), "{l}");
    }
}
