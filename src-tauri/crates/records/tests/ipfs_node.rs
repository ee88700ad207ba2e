//! The IPFS client against a real js-ipfs daemon.

use medwallet_devnodes::{Anvil, AnvilOptions, Ipfs, IpfsOptions, NodeTools};
use medwallet_records::{IpfsError, IpfsNode};
use url::Url;

#[tokio::test]
async fn reads_version_and_peer_id_then_reports_a_stopped_node_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let tools = NodeTools::locate().unwrap();
    let ipfs = Ipfs::start(&tools, &IpfsOptions::ephemeral(dir.path().join("ipfs"))).unwrap();
    let url = Url::parse(&ipfs.api_url()).unwrap();
    let node = IpfsNode::new(&url).unwrap();

    let info = node.info().await.unwrap();
    // js-ipfs reports its core version (0.18.x for the 0.66 CLI package).
    assert!(
        info.version.chars().next().unwrap().is_ascii_digit(),
        "{info:?}"
    );
    assert!(
        info.peer_id.starts_with("12D3Koo") || info.peer_id.starts_with("Qm"),
        "{info:?}"
    );
    // Asking twice gives the same identity.
    assert_eq!(node.info().await.unwrap(), info);

    ipfs.stop();
    let err = node.info().await.unwrap_err();
    assert!(matches!(err, IpfsError::Unreachable { .. }), "{err:?}");
}

#[tokio::test]
async fn an_ethereum_node_is_not_mistaken_for_ipfs() {
    let dir = tempfile::tempdir().unwrap();
    let anvil = Anvil::start(
        &NodeTools::locate().unwrap(),
        &AnvilOptions::ephemeral(dir.path()),
    )
    .unwrap();
    let node = IpfsNode::new(&Url::parse(&anvil.url()).unwrap()).unwrap();
    let err = node.info().await.unwrap_err();
    assert!(matches!(err, IpfsError::NotIpfs { .. }), "{err:?}");
}
