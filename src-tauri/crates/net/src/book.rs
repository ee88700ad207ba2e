//! The access book: which [`NodeAccess`] each node origin is reached with.
//!
//! Node clients are made in many places from a URL alone (`IpfsNode::new`,
//! `LedgerNode::new`), and a node's credentials and trusted CA are the app's settings
//! and vault, not the caller's. The app writes the book when its settings change and
//! when a wallet unlocks ([`replace`]); every client made from a URL looks its origin up
//! ([`access_for`]). An origin is scheme, host and port: `https://node.example:5001`;
//! a path does not change who the node is.
//!
//! The book lives as long as the process and holds credentials in memory (zeroized when
//! replaced); it never holds a wallet's keys.

use std::collections::HashMap;
use std::sync::RwLock;

use url::Url;

use crate::NodeAccess;

static BOOK: RwLock<Option<HashMap<String, NodeAccess>>> = RwLock::new(None);

/// A URL's origin as the book keys it: `scheme://host:port`, the port always spelled.
pub fn origin(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port_or_known_default() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    }
}

/// Replaces the whole book (the app recomputes it from settings and the vault).
pub fn replace(entries: HashMap<String, NodeAccess>) {
    let mut book = BOOK.write().unwrap_or_else(|p| p.into_inner());
    *book = Some(entries);
}

/// The access for `url`'s origin; the default (no credentials, the system's roots only)
/// for a node the book does not name.
pub fn access_for(url: &Url) -> NodeAccess {
    let book = BOOK.read().unwrap_or_else(|p| p.into_inner());
    book.as_ref()
        .and_then(|b| b.get(&origin(url)))
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Credentials;

    #[test]
    fn origins_spell_the_port_and_ignore_the_path() {
        let o = |s: &str| origin(&Url::parse(s).unwrap());
        assert_eq!(o("https://node.example/api"), "https://node.example:443");
        assert_eq!(o("http://127.0.0.2:5001/"), "http://127.0.0.2:5001");
        assert_ne!(o("http://127.0.0.2:5001"), o("https://127.0.0.2:5001"));
    }

    #[test]
    fn a_url_gets_its_origins_access_and_others_none() {
        let url = Url::parse("https://book-test.example:5001/rpc").unwrap();
        let access = NodeAccess {
            credentials: Some(Credentials::Bearer("t".into())),
            extra_ca_pem: None,
        };
        replace(HashMap::from([(origin(&url), access.clone())]));
        assert_eq!(access_for(&url), access);
        let other = Url::parse("https://book-test.example:5002").unwrap();
        assert_eq!(access_for(&other), NodeAccess::default());
    }
}
