use std::io::Write;
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use medwallet_net::testing::{HttpStub, TestCa, TlsProxy};
use medwallet_net::Credentials;

use super::transfer::ADD_OPTIONS;
use super::*;
use crate::cid::cid_of;

#[test]
fn truncate_respects_char_boundaries() {
    assert_eq!(truncate("héllo", 2), "hé");
    assert_eq!(truncate("hi", 10), "hi");
}

#[test]
fn node_futures_are_send() {
    fn assert_send<T: Send>(_: &T) {}
    let node = IpfsNode::new(&Url::parse("http://127.0.0.1:1").unwrap()).unwrap();
    let cid = cid_of(b"");
    assert_send(&node.info());
    assert_send(&node.add_bytes(Vec::new()));
    assert_send(&node.add_file(
        Path::new("/nonexistent"),
        &cid,
        |_| {},
        Arc::new(AtomicBool::new(false)),
    ));
    assert_send(&node.cat_to(&cid, std::io::sink(), 1));
    assert_send(&node.pin(&cid));
    assert_send(&node.unpin(&cid));
    assert_send(&node.is_pinned(&cid));
    assert_send(&node.has_locally(&cid));
    assert_send(&node.swarm_peers());
    assert_send(&node.swarm_connect("/ip4/127.0.0.1/tcp/4001"));
}

#[test]
fn requests_spell_the_kubo_options() {
    let node = IpfsNode::new(&Url::parse("http://127.0.0.1:5001/ignored?x=1").unwrap()).unwrap();
    let add = node.post("add", &ADD_OPTIONS).build().unwrap();
    assert_eq!(add.method(), reqwest::Method::POST);
    assert_eq!(add.url().path(), "/api/v0/add");
    let q = add.url().query().unwrap();
    for part in [
        "cid-version=1",
        "raw-leaves=true",
        "pin=true",
        "hash=sha2-256",
        "chunker=size-262144",
        "trickle=false",
    ] {
        assert!(q.contains(part), "{q}");
    }
    let pin = node
        .post("pin/ls", &[("arg", "bafy"), ("type", "all")])
        .build()
        .unwrap();
    assert_eq!(
        pin.url().as_str(),
        "http://127.0.0.1:5001/api/v0/pin/ls?arg=bafy&type=all"
    );
    // A multiaddr's slashes are escaped in the query.
    let connect = node
        .post("swarm/connect", &[("arg", "/ip4/1.2.3.4/tcp/1/p2p/12D3")])
        .build()
        .unwrap();
    assert_eq!(
        connect.url().query(),
        Some("arg=%2Fip4%2F1.2.3.4%2Ftcp%2F1%2Fp2p%2F12D3")
    );
}

#[test]
fn urls_are_checked_and_credentials_in_them_are_not_sent() {
    for bad in ["ftp://127.0.0.1:21", "unix:/run/ipfs.sock"] {
        let err = IpfsNode::new(&Url::parse(bad).unwrap()).unwrap_err();
        assert!(matches!(err, IpfsError::InvalidUrl { .. }), "{err:?}");
    }
    let node = IpfsNode::new(&Url::parse("https://user:pw@node.example/x").unwrap()).unwrap();
    let req = node.post("id", &[]).build().unwrap();
    assert_eq!(req.url().as_str(), "https://node.example/api/v0/id");
    assert!(req.headers().get(reqwest::header::AUTHORIZATION).is_none());
    // A CA file that holds no certificate is a setup error, named by kind.
    let err = IpfsNode::with_access(
        &Url::parse("https://node.example").unwrap(),
        &NodeAccess {
            credentials: None,
            extra_ca_pem: Some(b"nothing".to_vec()),
        },
    )
    .unwrap_err();
    assert!(matches!(err, IpfsError::Setup { .. }), "{err:?}");
    assert_eq!(err.kind(), "no_ca_certificate");
}

#[test]
fn node_messages_are_sorted() {
    assert!(is_missing("Failed to get block stats: request timed out"));
    assert!(is_missing(
        "block was not found locally (offline): ipld: could not find bafy"
    ));
    assert!(is_missing("context deadline exceeded"));
    assert!(!is_missing("invalid path"));
    assert!(is_not_pinned("Failed to remove pin: bafy is not pinned"));
    assert!(is_not_pinned("not pinned or pinned indirectly"));
    assert!(honours_offline("kubo/0.29.0/"));
    assert!(honours_offline("go-ipfs/0.12.0/"));
    assert!(!honours_offline("js-ipfs/0.18.1"));
    assert!(!honours_offline(""));
}

/// One body answering `version`, `id` and `swarm/peers` at once, as Kubo spells them.
const KUBO_LIKE: &str = r#"{
    "Version": "0.29.0",
    "ID": "12D3KooWNode",
    "AgentVersion": "kubo/0.29.0/",
    "Addresses": ["/ip4/127.0.0.2/tcp/4001/p2p/12D3KooWNode", "/ip4/127.0.0.2/udp/4001/quic-v1/p2p/12D3KooWNode"],
    "Peers": [
        {"Addr": "/ip4/127.0.0.3/tcp/4001", "Peer": "12D3KooWB"},
        {"Addr": "/ip4/127.0.0.4/tcp/4001", "Peer": "12D3KooWA"},
        {"Addr": "/ip4/127.0.0.3/udp/4001/quic-v1", "Peer": "12D3KooWB"}
    ],
    "Strings": ["connect 12D3KooWB success"]
}"#;

#[tokio::test]
async fn kubo_answers_are_read() {
    let stub = HttpStub::start(200, KUBO_LIKE).unwrap();
    let node = IpfsNode::new(&stub.url()).unwrap();
    let info = node.info().await.unwrap();
    assert_eq!(info.version, "0.29.0");
    assert_eq!(info.peer_id, "12D3KooWNode");
    assert_eq!(info.agent, "kubo/0.29.0/");
    assert_eq!(info.addresses.len(), 2);
    assert!(info.addresses[0].ends_with("/p2p/12D3KooWNode"));
    assert_eq!(
        node.swarm_peers().await.unwrap(),
        vec!["12D3KooWA".to_owned(), "12D3KooWB".to_owned()]
    );
    node.swarm_connect("/ip4/127.0.0.3/tcp/4001/p2p/12D3KooWB")
        .await
        .unwrap();

    // Kubo's "no peers" and "no addresses" are nulls.
    let stub = HttpStub::start(
        200,
        r#"{"Version":"0.29.0","ID":"12D3KooWNode","Addresses":null,"Peers":null}"#,
    )
    .unwrap();
    let node = IpfsNode::new(&stub.url()).unwrap();
    assert!(node.info().await.unwrap().addresses.is_empty());
    assert!(node.swarm_peers().await.unwrap().is_empty());
}

#[tokio::test]
async fn error_answers_are_sorted() {
    // Kubo's error answer.
    let stub = HttpStub::start(
        500,
        r#"{"Message":"failed to dial: no addresses","Code":0,"Type":"error"}"#,
    )
    .unwrap();
    let node = IpfsNode::new(&stub.url()).unwrap();
    match node
        .swarm_connect("/ip4/127.0.0.3/tcp/1")
        .await
        .unwrap_err()
    {
        IpfsError::Api { message, .. } => assert_eq!(message, "failed to dial: no addresses"),
        other => panic!("{other:?}"),
    }
    // A missing block is NotFound.
    let stub = HttpStub::start(
        500,
        r#"{"Message":"block was not found locally (offline)","Code":0,"Type":"error"}"#,
    )
    .unwrap();
    let node = IpfsNode::new(&stub.url()).unwrap();
    let err = node
        .cat_to(&cid_of(b"x"), std::io::sink(), 10)
        .await
        .unwrap_err();
    assert!(matches!(err, IpfsError::NotFound { .. }), "{err:?}");
    // 401 and 403 (a proxy's, or a pinning service's) are the credentials refused.
    for status in [401, 403] {
        let stub = HttpStub::start(status, "").unwrap();
        let err = IpfsNode::new(&stub.url())
            .unwrap()
            .info()
            .await
            .unwrap_err();
        assert!(matches!(err, IpfsError::Unauthorized { .. }), "{err:?}");
        assert_eq!(err.kind(), "unauthorized");
    }
    // 429 and a 5xx without Kubo's answer (a gateway in front of the node, busy or
    // failing) are a node that does not answer now, tried again: not another server.
    for (status, body) in [(429, ""), (502, "<html>Bad Gateway</html>"), (503, "")] {
        let stub = HttpStub::start(status, body).unwrap();
        let err = IpfsNode::new(&stub.url())
            .unwrap()
            .info()
            .await
            .unwrap_err();
        assert!(
            matches!(err, IpfsError::Unreachable { .. }),
            "{status}: {err:?}"
        );
    }
    // A redirect is not followed: something else is there.
    let stub = HttpStub::start_with(302, &[("Location", "http://127.0.0.1:1/")], "").unwrap();
    let err = IpfsNode::new(&stub.url())
        .unwrap()
        .info()
        .await
        .unwrap_err();
    assert!(matches!(err, IpfsError::NotIpfs { .. }), "{err:?}");
    // A JSON answer without a version is not an IPFS node.
    let stub = HttpStub::start(200, r#"{"jsonrpc":"2.0","id":1}"#).unwrap();
    let err = IpfsNode::new(&stub.url())
        .unwrap()
        .info()
        .await
        .unwrap_err();
    assert!(matches!(err, IpfsError::NotIpfs { .. }), "{err:?}");
}

#[tokio::test]
async fn tls_and_credentials_reach_the_node_through_a_proxy() {
    let upstream = HttpStub::start(200, KUBO_LIKE).unwrap();
    let ca = TestCa::new();
    let proxy = TlsProxy::start(upstream.addr(), &ca, Some("t0ken".into())).unwrap();
    let access = |token: Option<&str>, ca_pem: Option<Vec<u8>>| NodeAccess {
        credentials: token.map(|t| Credentials::Bearer(t.into())),
        extra_ca_pem: ca_pem,
    };

    let node = IpfsNode::with_access(&proxy.url(), &access(Some("t0ken"), Some(ca.pem()))).unwrap();
    assert_eq!(node.info().await.unwrap().peer_id, "12D3KooWNode");

    let node = IpfsNode::with_access(&proxy.url(), &access(Some("wrong"), Some(ca.pem()))).unwrap();
    let err = node.info().await.unwrap_err();
    assert!(matches!(err, IpfsError::Unauthorized { .. }), "{err:?}");
    assert!(!err.to_string().contains("wrong"));
    assert!(!format!("{node:?}").contains("wrong"));

    let node = IpfsNode::with_access(&proxy.url(), &access(Some("t0ken"), None)).unwrap();
    let err = node.info().await.unwrap_err();
    assert!(
        matches!(
            &err,
            IpfsError::Tls {
                problem: TlsProblem::Untrusted,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), "tls_untrusted");
    assert!(!err.to_string().contains("t0ken"));

    // An https URL to the plain node: not TLS.
    let mut plain = upstream.url();
    plain.set_scheme("https").unwrap();
    let err = IpfsNode::new(&plain).unwrap().info().await.unwrap_err();
    assert!(
        matches!(
            &err,
            IpfsError::Tls {
                problem: TlsProblem::NotTls,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn closed_port_is_unreachable_not_a_panic() {
    // Bind then drop a listener: the port is free and nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = Url::parse(&format!("http://127.0.0.1:{port}")).unwrap();
    let node = IpfsNode::new(&url).unwrap();
    let err = node.info().await.unwrap_err();
    assert!(matches!(err, IpfsError::Unreachable { .. }), "{err:?}");
    let err = node.add_bytes(b"x".to_vec()).await.unwrap_err();
    assert!(matches!(err, IpfsError::Unreachable { .. }), "{err:?}");
    let err = node
        .cat_to(&cid_of(b"x"), std::io::sink(), 10)
        .await
        .unwrap_err();
    assert!(matches!(err, IpfsError::Unreachable { .. }), "{err:?}");
    let err = node.has_locally(&cid_of(b"x")).await.unwrap_err();
    assert!(matches!(err, IpfsError::Unreachable { .. }), "{err:?}");
}

#[tokio::test]
async fn a_missing_file_is_a_file_error() {
    let node = IpfsNode::new(&Url::parse("http://127.0.0.1:1").unwrap()).unwrap();
    let err = node
        .add_file(
            Path::new("/nonexistent/record"),
            &cid_of(b""),
            |_| {},
            Arc::new(AtomicBool::new(false)),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, IpfsError::File { .. }), "{err:?}");
}

#[tokio::test]
async fn a_failing_destination_is_a_write_error() {
    struct Broken;
    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    // block/stat and cat both answer this body: the root is "present", the content is
    // the JSON itself.
    let cid = cid_of(b"x");
    let stub = HttpStub::start(200, &format!(r#"{{"Key":"{cid}","Size":1}}"#)).unwrap();
    let node = IpfsNode::new(&stub.url()).unwrap();
    let err = node.cat_to(&cid, Broken, 1000).await.unwrap_err();
    assert!(matches!(err, IpfsError::Write(_)), "{err:?}");
    // And a destination that works gets the bytes.
    let n = node.cat_to(&cid, std::io::sink(), 1000).await.unwrap();
    assert_eq!(n, format!(r#"{{"Key":"{cid}","Size":1}}"#).len() as u64);
    let err = node
        .cat_to(&cid_of(b"x"), std::io::sink(), 5)
        .await
        .unwrap_err();
    assert!(matches!(err, IpfsError::TooLarge { .. }), "{err:?}");
}

#[tokio::test]
async fn a_node_that_answers_every_call_alike_pins_nothing() {
    let cid = cid_of(b"a record's capsule");
    // A proxy (or a broken node) that answers `{}` to everything: no block named, no pin.
    let stub = HttpStub::start(200, "{}").unwrap();
    let err = IpfsNode::new(&stub.url())
        .unwrap()
        .pin(&cid)
        .await
        .unwrap_err();
    assert!(matches!(err, IpfsError::NotIpfs { .. }), "{err:?}");
    // One that names the block but pins another root.
    let other = cid_of(b"something else");
    let body = format!(r#"{{"Key":"{cid}","Size":18,"Pins":["{other}"]}}"#);
    let stub = HttpStub::start(200, &body).unwrap();
    let err = IpfsNode::new(&stub.url())
        .unwrap()
        .pin(&cid)
        .await
        .unwrap_err();
    assert!(matches!(err, IpfsError::NotIpfs { .. }), "{err:?}");
    // Naming it (in any base) is a pin.
    let body = format!(r#"{{"Key":"{cid}","Size":18,"Pins":["{cid}"]}}"#);
    let stub = HttpStub::start(200, &body).unwrap();
    IpfsNode::new(&stub.url()).unwrap().pin(&cid).await.unwrap();
}

#[tokio::test]
async fn an_endless_answer_is_refused_not_read_into_memory() {
    let huge = format!(r#"{{"Version":"{}"}}"#, "x".repeat(2 * 1024 * 1024));
    let stub = HttpStub::start(200, &huge).unwrap();
    let err = IpfsNode::new(&stub.url())
        .unwrap()
        .info()
        .await
        .unwrap_err();
    assert!(matches!(err, IpfsError::NotIpfs { .. }), "{err:?}");
}
