//! The ledger client against a real anvil node and the real contract.

use std::io::{Read, Write};
use std::net::TcpListener;

use medwallet_devnodes::{Anvil, AnvilOptions, NodeTools, LOCAL_CHAIN_ID};
use medwallet_ledger::contract::EXPECTED_SCHEMA_VERSION;
use medwallet_ledger::{Address, ContractStatus, LedgerError, LedgerNode, PrivateKeySigner};
use url::Url;

fn client(anvil: &Anvil) -> LedgerNode {
    LedgerNode::new(&Url::parse(&anvil.url()).unwrap())
}

#[tokio::test]
async fn deploys_with_zero_fees_from_an_unfunded_account() {
    let dir = tempfile::tempdir().unwrap();
    let anvil = Anvil::start(
        &NodeTools::locate().unwrap(),
        &AnvilOptions::ephemeral(dir.path()),
    )
    .unwrap();
    let ledger = client(&anvil);

    let before = ledger.status().await.unwrap();
    assert_eq!(before.chain_id, LOCAL_CHAIN_ID);

    // A fresh random key has no funds: only a zero-fee transaction can succeed.
    let address = ledger.deploy(PrivateKeySigner::random()).await.unwrap();
    assert_eq!(
        ledger.contract_status(address).await.unwrap(),
        ContractStatus::Deployed {
            schema_version: EXPECTED_SCHEMA_VERSION
        }
    );
    assert!(ledger.status().await.unwrap().block_height > before.block_height);
    assert_eq!(
        ledger
            .contract_status(Address::repeat_byte(0x42))
            .await
            .unwrap(),
        ContractStatus::Missing
    );
}

#[tokio::test]
async fn a_persistent_node_keeps_the_contract_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let tools = NodeTools::locate().unwrap();
    let opts = AnvilOptions {
        persist: true,
        ..AnvilOptions::ephemeral(dir.path())
    };
    let anvil = Anvil::start(&tools, &opts).unwrap();
    let address = client(&anvil)
        .deploy(PrivateKeySigner::random())
        .await
        .unwrap();
    let port = anvil.port();
    anvil.stop();

    let anvil = Anvil::start(
        &tools,
        &AnvilOptions {
            port: Some(port),
            ..opts
        },
    )
    .unwrap();
    assert!(matches!(
        client(&anvil).contract_status(address).await.unwrap(),
        ContractStatus::Deployed { .. }
    ));
}

#[tokio::test]
async fn a_stopped_node_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let anvil = Anvil::start(
        &NodeTools::locate().unwrap(),
        &AnvilOptions::ephemeral(dir.path()),
    )
    .unwrap();
    let ledger = client(&anvil);
    ledger.status().await.unwrap();
    anvil.stop();
    let err = ledger.status().await.unwrap_err();
    assert!(matches!(err, LedgerError::Unreachable { .. }), "{err:?}");
}

/// A server that answers every request with `status`, `content_type` and `body`.
fn serve(status: &'static str, content_type: &'static str, body: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(response.as_bytes());
        }
    });
    url
}

#[tokio::test]
async fn answers_that_are_not_json_rpc_are_typed_errors() {
    let cases = [
        ("404 Not Found", "text/plain", "not found"),
        ("200 OK", "text/html", "<html></html>"),
        ("200 OK", "application/json", "{\"a\":1}"),
        ("200 OK", "application/json", "[1,2,3]"),
        (
            "200 OK",
            "application/json",
            "{\"jsonrpc\":\"2.0\",\"id\":0,\"error\":{\"code\":-32601,\"message\":\"Method not found\"}}",
        ),
    ];
    for (status, content_type, body) in cases {
        let ledger = LedgerNode::new(&Url::parse(&serve(status, content_type, body)).unwrap());
        let err = ledger.status().await.unwrap_err();
        assert!(
            matches!(err, LedgerError::NotEvm { .. }),
            "{status} {body:?} gave {err:?}"
        );
    }
}
