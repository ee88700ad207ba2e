use super::testing::{HttpStub, Leaf, ProxyOptions, TestCa, TlsProxy, Validity};
use super::*;

fn bearer(token: &str) -> Option<Credentials> {
    Some(Credentials::Bearer(token.into()))
}

#[test]
fn debug_output_holds_no_secret() {
    let access = NodeAccess {
        credentials: bearer("s3cret-token"),
        extra_ca_pem: Some(b"-----BEGIN CERTIFICATE-----".to_vec()),
    };
    let basic = Credentials::Basic {
        user: "alice-user".into(),
        password: "hunter2-pass".into(),
    };
    let printed = format!("{access:?} {basic:?} {:?}", access.clone());
    for secret in ["s3cret-token", "alice-user", "hunter2-pass", "BEGIN"] {
        assert!(!printed.contains(secret), "{printed}");
    }
    assert!(printed.contains("<redacted>"), "{printed}");
}

#[test]
fn credentials_become_a_sensitive_header() {
    let value = Credentials::Bearer("abc".into()).header_value().unwrap();
    assert!(value.is_sensitive());
    assert_eq!(value.to_str().unwrap(), "Bearer abc");
    let value = Credentials::Basic {
        user: "Aladdin".into(),
        password: "open sesame".into(),
    }
    .header_value()
    .unwrap();
    // RFC 7617's example.
    assert_eq!(
        value.to_str().unwrap(),
        "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    );
    assert_eq!(
        Credentials::Bearer("a\nb".into())
            .header_value()
            .unwrap_err(),
        NetError::BadCredentials
    );
    assert_eq!(
        Credentials::Basic {
            user: "a:b".into(),
            password: "c".into()
        }
        .header_value()
        .unwrap_err(),
        NetError::BadCredentials
    );
    let err = http_client(&NodeAccess {
        credentials: bearer("tab\tand\u{7f}"),
        extra_ca_pem: None,
    })
    .unwrap_err();
    assert_eq!(err, NetError::BadCredentials);
    assert!(!err.to_string().contains("tab"));
}

#[test]
fn a_bad_extra_ca_is_a_typed_error() {
    let with_pem = |pem: &[u8]| NodeAccess {
        credentials: None,
        extra_ca_pem: Some(pem.to_vec()),
    };
    let err = http_client(&with_pem(b"not a certificate")).unwrap_err();
    assert_eq!(err, NetError::NoCaCertificate);
    let err = http_client(&with_pem(
        b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n",
    ))
    .unwrap_err();
    assert!(matches!(err, NetError::BadCaPem(_)), "{err:?}");
    // Valid PEM around bytes that are no certificate.
    let err = http_client(&with_pem(
        b"-----BEGIN CERTIFICATE-----\naGVsbG8=\n-----END CERTIFICATE-----\n",
    ))
    .unwrap_err();
    assert!(matches!(err, NetError::BadCa(_)), "{err:?}");
    // A key alone is not a certificate.
    let key = rcgen::KeyPair::generate().unwrap().serialize_pem();
    let err = http_client(&with_pem(key.as_bytes())).unwrap_err();
    assert_eq!(err, NetError::NoCaCertificate);
    http_client(&with_pem(&TestCa::new().pem())).unwrap();
    http_client(&NodeAccess::default()).unwrap();
}

#[test]
fn statuses_and_tls_errors_are_sorted() {
    use rustls::CertificateError as C;
    assert_eq!(
        status_problem(StatusCode::UNAUTHORIZED),
        Some(NetProblem::Unauthorized)
    );
    assert_eq!(
        status_problem(StatusCode::FORBIDDEN),
        Some(NetProblem::Unauthorized)
    );
    assert_eq!(status_problem(StatusCode::INTERNAL_SERVER_ERROR), None);
    let cert = |c| tls_problem(&rustls::Error::InvalidCertificate(c));
    assert_eq!(cert(C::UnknownIssuer), TlsProblem::Untrusted);
    assert_eq!(cert(C::BadSignature), TlsProblem::Untrusted);
    assert_eq!(cert(C::Expired), TlsProblem::Expired);
    assert_eq!(cert(C::NotValidYet), TlsProblem::Expired);
    assert_eq!(cert(C::NotValidForName), TlsProblem::WrongHost);
    assert!(matches!(cert(C::Revoked), TlsProblem::Other(_)));
    assert_eq!(
        tls_problem(&rustls::Error::InvalidMessage(
            rustls::InvalidMessage::InvalidContentType
        )),
        TlsProblem::NotTls
    );
    // Found inside an io::Error, as tokio-rustls reports it.
    let io = std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        rustls::Error::InvalidCertificate(C::UnknownIssuer),
    );
    assert_eq!(find_tls(&io).map(tls_problem), Some(TlsProblem::Untrusted));
}

/// A plain upstream, a TLS proxy in front with a token, and a client asking it.
struct Setup {
    ca: TestCa,
    upstream: HttpStub,
}

const ANSWER: &str = r#"{"ID":"12D3KooTest"}"#;

impl Setup {
    fn new() -> Setup {
        Setup {
            ca: TestCa::new(),
            upstream: HttpStub::start(200, ANSWER).unwrap(),
        }
    }

    fn proxy(&self, leaf: Leaf, token: Option<&str>) -> TlsProxy {
        TlsProxy::start_with(
            self.upstream.addr(),
            &self.ca,
            ProxyOptions {
                leaf,
                token: token.map(Into::into),
            },
        )
        .unwrap()
    }

    fn trusting(&self, credentials: Option<Credentials>) -> reqwest::Client {
        http_client(&NodeAccess {
            credentials,
            extra_ca_pem: Some(self.ca.pem()),
        })
        .unwrap()
    }
}

async fn ask(client: &reqwest::Client, base: &url::Url) -> Result<reqwest::Response, NetProblem> {
    let url = base.join("api/v0/id").unwrap();
    match client.post(url).send().await {
        Err(e) => Err(classify(&e)),
        Ok(answer) => match status_problem(answer.status()) {
            Some(problem) => Err(problem),
            None => Ok(answer),
        },
    }
}

#[tokio::test]
async fn a_trusted_proxy_with_the_right_token_answers() {
    let s = Setup::new();
    let proxy = s.proxy(Leaf::default(), Some("t0ken"));
    let client = s.trusting(bearer("t0ken"));
    // Twice: the second request on a new connection, checked again.
    for _ in 0..2 {
        let answer = ask(&client, &proxy.url()).await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(answer.text().await.unwrap(), ANSWER);
    }
    // By name too.
    let by_name = url::Url::parse(&format!("https://localhost:{}/", proxy.addr().port())).unwrap();
    ask(&client, &by_name).await.unwrap();
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_unauthorized() {
    let s = Setup::new();
    let proxy = s.proxy(Leaf::default(), Some("t0ken"));
    for credentials in [bearer("wrong"), None, bearer("t0ken-and-more")] {
        let err = ask(&s.trusting(credentials), &proxy.url())
            .await
            .unwrap_err();
        assert_eq!(err, NetProblem::Unauthorized);
    }
    let basic = Credentials::Basic {
        user: "u".into(),
        password: "t0ken".into(),
    };
    let err = ask(&s.trusting(Some(basic)), &proxy.url())
        .await
        .unwrap_err();
    assert_eq!(err, NetProblem::Unauthorized);
}

#[tokio::test]
async fn an_unknown_ca_is_untrusted() {
    let s = Setup::new();
    let proxy = s.proxy(Leaf::default(), None);
    let err = ask(&http_client(&NodeAccess::default()).unwrap(), &proxy.url())
        .await
        .unwrap_err();
    assert_eq!(err, NetProblem::Tls(TlsProblem::Untrusted));
    // Another CA given as the extra one does not help.
    let other = http_client(&NodeAccess {
        credentials: None,
        extra_ca_pem: Some(TestCa::new().pem()),
    })
    .unwrap();
    let err = ask(&other, &proxy.url()).await.unwrap_err();
    assert_eq!(err, NetProblem::Tls(TlsProblem::Untrusted));
}

#[tokio::test]
async fn expired_and_future_certificates_are_expired() {
    let s = Setup::new();
    for validity in [Validity::Expired, Validity::NotYetValid] {
        let proxy = s.proxy(
            Leaf {
                validity,
                ..Leaf::default()
            },
            None,
        );
        let err = ask(&s.trusting(None), &proxy.url()).await.unwrap_err();
        assert_eq!(err, NetProblem::Tls(TlsProblem::Expired), "{validity:?}");
    }
}

#[tokio::test]
async fn a_certificate_for_another_host_is_the_wrong_host() {
    let s = Setup::new();
    let proxy = s.proxy(
        Leaf {
            hosts: vec!["node.example".into()],
            ..Leaf::default()
        },
        None,
    );
    let err = ask(&s.trusting(None), &proxy.url()).await.unwrap_err();
    assert_eq!(err, NetProblem::Tls(TlsProblem::WrongHost));
}

#[tokio::test]
async fn a_plain_http_server_on_an_https_url_is_not_tls() {
    let s = Setup::new();
    let mut url = s.upstream.url();
    url.set_scheme("https").unwrap();
    let err = ask(&s.trusting(None), &url).await.unwrap_err();
    assert_eq!(err, NetProblem::Tls(TlsProblem::NotTls));
    // The same server over http answers.
    ask(&s.trusting(None), &s.upstream.url()).await.unwrap();
}

#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = http_client(&NodeAccess::default()).unwrap();
    for scheme in ["http", "https"] {
        let url = url::Url::parse(&format!("{scheme}://127.0.0.1:{port}/")).unwrap();
        let err = ask(&client, &url).await.unwrap_err();
        assert!(matches!(err, NetProblem::Unreachable(_)), "{err:?}");
    }
}

#[tokio::test]
async fn redirects_are_not_followed() {
    // A 3xx answer comes back as is: nothing is sent to the place it points at.
    let elsewhere = HttpStub::start(200, ANSWER).unwrap();
    let target = elsewhere.url().join("api/v0/id").unwrap();
    let stub = HttpStub::start_with(302, &[("Location", target.as_str())], "").unwrap();
    let client = http_client(&NodeAccess::default()).unwrap();
    let answer = ask(&client, &stub.url()).await.unwrap();
    assert_eq!(answer.status(), StatusCode::FOUND);
    // Where it points answers, so a client following it would have got a 200.
    assert_eq!(
        ask(&client, &elsewhere.url()).await.unwrap().status(),
        StatusCode::OK
    );
}

#[test]
fn a_plain_reqwest_client_builds_once_the_provider_is_installed() {
    // reqwest is built with rustls and no provider of its own here: a default client
    // (as alloy and WebDriver clients make) needs the process default.
    install_crypto_provider();
    install_crypto_provider();
    assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    reqwest::Client::builder().build().unwrap();
}
