//! Validation of a node's base URL, shared by the IPFS and ledger settings.

use url::Url;

/// Why a node URL is not usable, in words for the settings form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeUrlError {
    /// Nothing was entered.
    #[error("Enter the node's URL, for example http://127.0.0.1:5001.")]
    Empty,
    /// A host and port without `http://` in front.
    #[error("Add the scheme in front: {0}")]
    MissingScheme(String),
    /// Not a URL at all.
    #[error("This is not a URL ({0}). Write it like http://127.0.0.1:5001.")]
    Malformed(String),
    /// A scheme other than http or https.
    #[error("Use http:// or https://, not {0}://.")]
    Scheme(String),
    /// A URL without a host to connect to.
    #[error("The URL has no host. Write it like http://127.0.0.1:5001.")]
    NoHost,
    /// Credentials, a query or a fragment, which a node URL never needs.
    #[error("Remove the {0} from the URL; a node URL is scheme, host, port and an optional path.")]
    Extra(&'static str),
}

/// Parses a node base URL: `http(s)://host[:port][/path]`, trimmed, nothing else.
pub fn parse_node_url(input: &str) -> Result<Url, NodeUrlError> {
    let input = input.trim();
    if input.is_empty() {
        return Err(NodeUrlError::Empty);
    }
    if !input.contains("://") {
        return Err(NodeUrlError::MissingScheme(format!("http://{input}")));
    }
    let url = Url::parse(input).map_err(|e| NodeUrlError::Malformed(e.to_string()))?;
    match url.scheme() {
        "http" | "https" => {}
        other => return Err(NodeUrlError::Scheme(other.to_owned())),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(NodeUrlError::NoHost);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(NodeUrlError::Extra("user name and password"));
    }
    if url.query().is_some() {
        return Err(NodeUrlError::Extra("query (?...)"));
    }
    if url.fragment().is_some() {
        return Err(NodeUrlError::Extra("fragment (#...)"));
    }
    Ok(url)
}

/// Whether `url` names this computer (127.0.0.0/8, ::1, `localhost`): a node there is the
/// wallet's own, and nothing sent to it leaves the computer.
pub(crate) fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_node_urls() {
        for ok in [
            "http://127.0.0.1:5001",
            " https://ipfs.example.org/ ",
            "http://[::1]:8545/rpc",
        ] {
            assert!(parse_node_url(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn names_what_is_wrong() {
        assert_eq!(parse_node_url("  "), Err(NodeUrlError::Empty));
        assert_eq!(
            parse_node_url("127.0.0.1:5001"),
            Err(NodeUrlError::MissingScheme("http://127.0.0.1:5001".into()))
        );
        assert_eq!(
            parse_node_url("localhost:5001"),
            Err(NodeUrlError::MissingScheme("http://localhost:5001".into()))
        );
        assert!(matches!(
            parse_node_url("localhost"),
            Err(NodeUrlError::MissingScheme(_))
        ));
        assert_eq!(
            parse_node_url("ftp://x:1"),
            Err(NodeUrlError::Scheme("ftp".into()))
        );
        assert!(matches!(
            parse_node_url("http://u:p@h:1"),
            Err(NodeUrlError::Extra(_))
        ));
        assert!(matches!(
            parse_node_url("http://h:1/?a=b"),
            Err(NodeUrlError::Extra(_))
        ));
        assert!(matches!(
            parse_node_url("http://h:1/#x"),
            Err(NodeUrlError::Extra(_))
        ));
        assert!(matches!(
            parse_node_url("http://h:99999"),
            Err(NodeUrlError::Malformed(_))
        ));
        assert!(matches!(
            parse_node_url("http://"),
            Err(NodeUrlError::Malformed(_) | NodeUrlError::NoHost)
        ));
    }

    #[test]
    fn never_panics_on_junk() {
        for junk in [
            "\0",
            "http://\u{202e}",
            "::::",
            "http://[",
            "http://a b",
            "😀://x",
            "http:////x",
        ] {
            // Only a panic fails this test: any Ok or Err is a fine answer.
            let _ = parse_node_url(junk);
        }
    }
}
