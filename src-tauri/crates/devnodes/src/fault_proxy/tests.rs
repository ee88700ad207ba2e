use std::sync::atomic::AtomicUsize;

use super::*;

/// The node's answer: long enough that half of it is visibly half.
const ANSWER: &[u8] = &[b'x'; 1000];

/// A stand-in for a node: answers every request with [`ANSWER`], counting them. It
/// runs on the test's runtime (the proxy has its own).
async fn node() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(AtomicUsize::new(0));
    let counted = seen.clone();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let counted = counted.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let counted = counted.clone();
                    async move {
                        req.into_body().collect().await?;
                        counted.fetch_add(1, Ordering::SeqCst);
                        Ok::<_, hyper::Error>(Response::new(Full::new(Bytes::from_static(ANSWER))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (url, seen)
}

/// What the client got: the status and the body (or why the body broke), or why the
/// exchange broke. Each request on a connection of its own, bounded by `limit`.
async fn ask(
    proxy: &FaultProxy,
    path: &str,
    body: &str,
    limit: Duration,
) -> Result<(u16, Result<Bytes, String>), String> {
    let addr = proxy
        .url()
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let exchange = async {
        let stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
        tokio::spawn(connection);
        let req = Request::post(path)
            .header(HOST, "node")
            .body(Full::new(Bytes::from(body.to_owned())))
            .unwrap();
        let answer = sender.send_request(req).await.map_err(|e| e.to_string())?;
        let status = answer.status().as_u16();
        let body = answer
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .map_err(|e| e.to_string());
        Ok((status, body))
    };
    tokio::time::timeout(limit, exchange)
        .await
        .map_err(|_| "the client gave up".to_owned())?
}

const CALL: &str = r#"{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[]}"#;
const SECOND: Duration = Duration::from_secs(1);
const LONG: Duration = Duration::from_secs(20);

#[tokio::test]
async fn passes_requests_and_names_them() {
    let (url, seen) = node().await;
    let proxy = FaultProxy::start(Ipv4Addr::LOCALHOST, &url).unwrap();
    let batch = r#"[{"method":"eth_getLogs"},{"method":"eth_getLogs"}]"#;
    for (path, body) in [("/api/v0/pin/add?arg=x", ""), ("/", CALL), ("/", batch)] {
        let (status, body) = ask(&proxy, path, body, LONG).await.unwrap();
        assert_eq!((status, body.unwrap().as_ref()), (200, ANSWER));
    }
    assert_eq!(seen.load(Ordering::SeqCst), 3);
    let names: Vec<(String, u64)> = proxy.counts().into_iter().collect();
    assert_eq!(
        names,
        [("batch:eth_getLogs", 1), ("eth_call", 1), ("pin/add", 1)].map(|(l, n)| (l.to_owned(), n))
    );
    assert!(proxy.applied().is_empty());
}

#[tokio::test]
async fn breaks_the_nth_request_as_told() {
    let (url, seen) = node().await;
    let proxy = FaultProxy::start(Ipv4Addr::LOCALHOST, &url).unwrap();
    let rule = |nth, fault| Rule {
        label: "eth_call".into(),
        nth,
        fault,
        outage: false,
    };
    proxy.set_rules(vec![
        rule(2, Fault::Status(429)),
        rule(3, Fault::Reset),
        rule(4, Fault::Truncate),
        rule(5, Fault::ForwardThenClose),
    ]);
    let (status, _) = ask(&proxy, "/", CALL, LONG).await.unwrap();
    assert_eq!((status, seen.load(Ordering::SeqCst)), (200, 1));
    let (status, _) = ask(&proxy, "/", CALL, LONG).await.unwrap();
    assert_eq!(
        (status, seen.load(Ordering::SeqCst)),
        (429, 1),
        "made up: the node never saw it"
    );
    assert!(
        ask(&proxy, "/", CALL, LONG).await.is_err(),
        "reset before any answer"
    );
    assert_eq!(
        seen.load(Ordering::SeqCst),
        1,
        "a reset request never reaches the node"
    );
    let (status, body) = ask(&proxy, "/", CALL, LONG).await.unwrap();
    assert_eq!(status, 200);
    assert!(body.is_err(), "the answer is cut short: {body:?}");
    assert_eq!(seen.load(Ordering::SeqCst), 2);
    assert!(
        ask(&proxy, "/", CALL, LONG).await.is_err(),
        "closed without an answer"
    );
    assert_eq!(
        seen.load(Ordering::SeqCst),
        3,
        "the node did it all the same"
    );
    let (status, _) = ask(&proxy, "/", CALL, LONG).await.unwrap();
    assert_eq!(status, 200, "only the requests named are broken");
    let applied: Vec<(u64, Fault)> = proxy.applied().iter().map(|a| (a.nth, a.fault)).collect();
    assert_eq!(
        applied,
        [
            (2, Fault::Status(429)),
            (3, Fault::Reset),
            (4, Fault::Truncate),
            (5, Fault::ForwardThenClose)
        ]
    );
}

#[tokio::test]
async fn a_stall_lasts_until_the_client_gives_up_or_its_limit() {
    let (url, seen) = node().await;
    let proxy = FaultProxy::start(Ipv4Addr::LOCALHOST, &url).unwrap();
    let stall = |limit| Rule {
        label: "pin/add".into(),
        nth: 1,
        fault: Fault::Stall { limit },
        outage: false,
    };

    // The client's own deadline ends it.
    proxy.set_rules(vec![stall(LONG)]);
    let limit = Duration::from_millis(300);
    assert!(ask(&proxy, "/api/v0/pin/add", "", limit).await.is_err());
    proxy.holding_none().await;
    match proxy.applied()[0].stall {
        // Held from when the proxy had read the request: a little less than the
        // client's deadline, which started before it connected.
        Some(StallEnd::ClientClosed(held)) => assert!(held < LONG, "{held:?}"),
        other => panic!("the client's close was not seen: {other:?}"),
    }

    // A client that waits longer than the limit: the proxy closes, and says so.
    proxy.set_rules(vec![stall(Duration::from_millis(200))]);
    assert!(ask(&proxy, "/api/v0/pin/add", "", LONG).await.is_err());
    assert!(matches!(proxy.applied()[0].stall, Some(StallEnd::Limit(_))));

    // New rules end a stall held now.
    proxy.set_rules(vec![stall(LONG)]);
    let asked = ask(&proxy, "/api/v0/pin/add", "", LONG);
    let released = async {
        proxy.holding().await;
        proxy.pass();
    };
    let (answer, ()) = tokio::join!(asked, released);
    assert!(answer.is_err());
    assert_eq!(
        seen.load(Ordering::SeqCst),
        0,
        "a stalled request never reaches the node"
    );
    let (status, _) = ask(&proxy, "/api/v0/pin/add", "", SECOND * 5)
        .await
        .unwrap();
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_outage_breaks_every_later_request_until_the_rules_change() {
    let (url, _) = node().await;
    let proxy = FaultProxy::start(Ipv4Addr::LOCALHOST, &url).unwrap();
    proxy.set_rules(vec![Rule {
        label: "eth_call".into(),
        nth: 2,
        fault: Fault::Status(500),
        outage: true,
    }]);
    let status = |r: Result<(u16, _), String>| r.unwrap().0;
    assert_eq!(status(ask(&proxy, "/", CALL, LONG).await), 200);
    assert_eq!(status(ask(&proxy, "/", CALL, LONG).await), 500);
    assert_eq!(
        status(ask(&proxy, "/api/v0/id", "", LONG).await),
        500,
        "any name"
    );
    assert_eq!(proxy.applied().len(), 2);
    proxy.pass();
    assert_eq!(status(ask(&proxy, "/", CALL, LONG).await), 200);
}
