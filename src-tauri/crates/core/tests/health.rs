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
