//! How each node is reached: the CA certificate trusted for `https://` nodes (the
//! settings), the credentials each node wants (the unlocked wallet's vault), written
//! into `medwallet_net::book`, which every node client made from a URL consults.
//!
//! Credentials are the node operators' tokens, not the wallet's keys: they are kept in
//! the vault (sealed under the vault key, bound to the wallet), never in
//! `settings.sqlite`, never answered to the webview (the settings name the nodes that
//! have some, and their kind). Once a wallet unlocks they stay in this process's book
//! after it locks, so the outbox, which runs while locked, keeps reaching a node that
//! wants a token; another wallet's unlock replaces them.

use std::collections::{BTreeMap, HashMap};

use medwallet_api::{CredentialInput, NodeCredentialInfo, NodeSettings};
use medwallet_net::{book, Credentials, NodeAccess};
use serde::{Deserialize, Serialize};
use url::Url;
use zeroize::Zeroize;

use crate::error::{Answer, CoreError};
use crate::node_url::parse_node_url;
use crate::wallet::WalletService;

/// The vault secret holding a wallet's node credentials.
const PURPOSE: &str = "node-credentials";

/// A wallet's node credentials, by origin (`https://host:port`).
#[derive(Default, Serialize, Deserialize)]
pub(crate) struct NodeCredentials(BTreeMap<String, Stored>);

#[derive(Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Stored {
    Bearer { token: String },
    Basic { user: String, password: String },
}

impl Drop for Stored {
    fn drop(&mut self) {
        match self {
            Stored::Bearer { token } => token.zeroize(),
            Stored::Basic { user, password } => {
                user.zeroize();
                password.zeroize();
            }
        }
    }
}

impl std::fmt::Debug for NodeCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl NodeCredentials {
    /// The unlocked wallet's credentials from its vault (none stored: empty).
    pub(crate) async fn load(wallets: &mut WalletService) -> Answer<Self> {
        let Some(bytes) = wallets.secret(PURPOSE).await? else {
            return Ok(Self::default());
        };
        serde_json::from_slice(&bytes)
            .map_err(|_| CoreError::internal("node credentials", "unreadable"))
    }

    /// Stores them in the unlocked wallet's vault.
    pub(crate) async fn save(&self, wallets: &mut WalletService) -> Answer<()> {
        if self.0.is_empty() {
            return wallets.set_secret(PURPOSE, None).await;
        }
        let bytes = zeroize::Zeroizing::new(
            serde_json::to_vec(self)
                .map_err(|_| CoreError::internal("node credentials", "json"))?,
        );
        wallets.set_secret(PURPOSE, Some(&bytes)).await
    }

    /// Sets (or forgets) the credentials for the node at `node` (any URL of it).
    pub(crate) fn set(&mut self, node: &str, input: &CredentialInput) -> Answer<()> {
        let url =
            parse_node_url(node).map_err(|_| CoreError::BadCredential { what: "node URL" })?;
        let origin = book::origin(&url);
        let header_safe = |text: &str, what: &'static str| {
            let ok = !text.is_empty()
                && text.len() <= 4096
                && text.bytes().all(|b| (0x20..0x7f).contains(&b));
            if ok {
                Ok(())
            } else {
                Err(CoreError::BadCredential { what })
            }
        };
        match input {
            CredentialInput::None => {
                self.0.remove(&origin);
            }
            CredentialInput::Bearer { token } => {
                header_safe(token.trim(), "token")?;
                self.0.insert(
                    origin,
                    Stored::Bearer {
                        token: token.trim().to_owned(),
                    },
                );
            }
            CredentialInput::Basic { user, password } => {
                header_safe(user, "user name")?;
                if user.contains(':') {
                    return Err(CoreError::BadCredential { what: "user name" });
                }
                header_safe(password, "password")?;
                self.0.insert(
                    origin,
                    Stored::Basic {
                        user: user.clone(),
                        password: password.clone(),
                    },
                );
            }
        }
        Ok(())
    }

    /// Which nodes have credentials, and of what kind: what the settings show.
    pub(crate) fn info(&self) -> Vec<NodeCredentialInfo> {
        self.0
            .iter()
            .map(|(node, stored)| NodeCredentialInfo {
                node: node.clone(),
                kind: match stored {
                    Stored::Bearer { .. } => "bearer",
                    Stored::Basic { .. } => "basic",
                }
                .to_owned(),
            })
            .collect()
    }

    fn get(&self, origin: &str) -> Option<Credentials> {
        self.0.get(origin).map(|s| match s {
            Stored::Bearer { token } => Credentials::Bearer(token.clone()),
            Stored::Basic { user, password } => Credentials::Basic {
                user: user.clone(),
                password: password.clone(),
            },
        })
    }
}

/// Writes the book: every node the settings name, and every node with credentials,
/// gets its credentials and, over `https://`, the imported CA.
pub(crate) fn apply(
    settings: &NodeSettings,
    extra_ca_pem: Option<&[u8]>,
    credentials: &NodeCredentials,
) {
    book::replace(entries(settings, extra_ca_pem, credentials));
}

fn entries(
    settings: &NodeSettings,
    extra_ca_pem: Option<&[u8]>,
    credentials: &NodeCredentials,
) -> HashMap<String, NodeAccess> {
    let urls = [&settings.ipfs_url, &settings.ledger_url]
        .into_iter()
        .chain(&settings.replicas)
        .chain(&settings.ledger_witnesses)
        .filter_map(|u| Url::parse(u).ok())
        .map(|u| book::origin(&u))
        .chain(credentials.0.keys().cloned());
    let mut entries = HashMap::new();
    for origin in urls {
        // A token never crosses the network in clear: not to a plain http:// node
        // unless it is this computer or a host the user allowed (the settings refuse
        // such a URL, but the run command's defaults are not settings the user saved).
        let in_clear = Url::parse(&origin)
            .ok()
            .and_then(|u| crate::settings::plain_http_refused(&u, &settings.plain_http_hosts))
            .is_some();
        let access = NodeAccess {
            credentials: credentials.get(&origin).filter(|_| !in_clear),
            extra_ca_pem: extra_ca_pem
                .filter(|_| origin.starts_with("https://"))
                .map(<[u8]>::to_vec),
        };
        entries.insert(origin, access);
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_checked_keyed_by_origin_and_shown_without_the_secret() {
        let mut c = NodeCredentials::default();
        let bearer = CredentialInput::Bearer {
            token: " s3cret-token ".into(),
        };
        c.set("https://node.example:5001/api", &bearer).unwrap();
        c.set(
            "https://rpc.example",
            &CredentialInput::Basic {
                user: "clinic".into(),
                password: "pw".into(),
            },
        )
        .unwrap();
        let info = c.info();
        assert_eq!(info.len(), 2);
        assert_eq!(info[0].node, "https://node.example:5001");
        let shown = format!("{info:?} {c:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains("pw\""),
            "{shown}"
        );
        for bad in [
            CredentialInput::Bearer { token: " ".into() },
            CredentialInput::Bearer {
                token: "a\r\nX-Injected: 1".into(),
            },
            CredentialInput::Basic {
                user: "a:b".into(),
                password: "p".into(),
            },
        ] {
            assert!(matches!(
                c.set("https://node.example:5001", &bad),
                Err(CoreError::BadCredential { .. })
            ));
        }
        c.set("https://node.example:5001", &CredentialInput::None)
            .unwrap();
        assert_eq!(c.info().len(), 1);
    }

    #[test]
    fn the_book_gets_credentials_and_the_ca_over_https_only() {
        let mut c = NodeCredentials::default();
        c.set(
            "https://apply-test.example:5001",
            &CredentialInput::Bearer { token: "t".into() },
        )
        .unwrap();
        let settings = NodeSettings {
            ipfs_url: "https://apply-test.example:5001".into(),
            ledger_url: "http://127.0.0.1:18545".into(),
            ..NodeSettings::default()
        };
        // (The book itself is the process's: other tests write it too.)
        let book = entries(&settings, Some(b"pem"), &c);
        let ipfs = &book["https://apply-test.example:5001"];
        assert_eq!(ipfs.credentials, Some(Credentials::Bearer("t".into())));
        assert_eq!(ipfs.extra_ca_pem.as_deref(), Some(&b"pem"[..]));
        assert_eq!(book["http://127.0.0.1:18545"], NodeAccess::default());
        // Never to a plain http:// node on the network, unless allowed by name.
        let mut plain = NodeCredentials::default();
        let token = CredentialInput::Bearer { token: "t".into() };
        plain.set("http://10.0.0.7:5001", &token).unwrap();
        let s = NodeSettings::default();
        assert_eq!(
            entries(&s, None, &plain)["http://10.0.0.7:5001"].credentials,
            None
        );
        let allowed = NodeSettings {
            plain_http_hosts: vec!["10.0.0.7".into()],
            ..NodeSettings::default()
        };
        assert!(entries(&allowed, None, &plain)["http://10.0.0.7:5001"]
            .credentials
            .is_some());
    }
}
