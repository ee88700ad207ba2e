//! Node health: what the status bar shows.
//!
//! Both nodes are checked at once, each within its client's deadline, so a dead
//! node costs at most a few seconds and never blocks the other's result.

use medwallet_api::{
    HealthReport, IpfsHealth, IpfsStatus, LedgerHealth, LedgerStatus, NodeProblem, NodeSettings,
};
use medwallet_ledger::contract::is_supported_schema;
use medwallet_ledger::{Address, ContractStatus, LedgerError, LedgerNode};
use medwallet_records::{IpfsError, IpfsNode};

use crate::node_url::parse_node_url;

/// Checks both nodes named in `settings`.
pub async fn check_health(settings: &NodeSettings) -> HealthReport {
    let (ipfs, ledger) = tokio::join!(
        ipfs_health(&settings.ipfs_url),
        ledger_health(&settings.ledger_url, settings.contract_address.as_deref())
    );
    HealthReport {
        ipfs,
        ledger,
        checked_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    }
}

async fn ipfs_health(url: &str) -> IpfsHealth {
    let status = match parse_node_url(url) {
        Err(e) => IpfsStatus::Down {
            problem: NodeProblem::InvalidUrl,
            reason: format!("The IPFS URL is not valid. {e}"),
        },
        Ok(parsed) => match IpfsNode::new(&parsed) {
            Err(e) => ipfs_down(&e),
            Ok(node) => match node.info().await {
                Ok(info) => IpfsStatus::Up {
                    version: info.version,
                    peer_id: info.peer_id,
                },
                Err(e) => ipfs_down(&e),
            },
        },
    };
    IpfsHealth {
        url: url.to_owned(),
        status,
    }
}

async fn ledger_health(url: &str, contract: Option<&str>) -> LedgerHealth {
    let status = match parse_node_url(url) {
        Err(e) => LedgerStatus::Down {
            problem: NodeProblem::InvalidUrl,
            reason: format!("The ledger URL is not valid. {e}"),
        },
        Ok(parsed) => {
            let node = LedgerNode::new(&parsed);
            match node.status().await {
                Err(e) => ledger_down(&e),
                Ok(chain) => {
                    let contract_deployed = match contract.map(str::parse::<Address>) {
                        None => None,
                        Some(Err(_)) => Some(false),
                        Some(Ok(address)) => Some(matches!(
                            node.contract_status(address).await,
                            Ok(ContractStatus::Deployed { schema_version })
                                if is_supported_schema(schema_version)
                        )),
                    };
                    LedgerStatus::Up {
                        chain_id: chain.chain_id,
                        block_height: chain.block_height,
                        contract_deployed,
                    }
                }
            }
        }
    };
    LedgerHealth {
        url: url.to_owned(),
        status,
    }
}

/// An IPFS failure in the user's words: what happened, then what to do.
fn ipfs_down(err: &IpfsError) -> IpfsStatus {
    let (problem, reason) = match err {
        IpfsError::InvalidUrl { reason, .. } => {
            (NodeProblem::InvalidUrl, format!("The IPFS URL cannot be used ({reason}). Fix it in Settings."))
        }
        IpfsError::Unreachable { detail, .. } => (
            NodeProblem::Unreachable,
            format!("Nothing answered ({detail}). Start the IPFS node or check its URL in Settings."),
        ),
        IpfsError::NotIpfs { detail, .. } => (
            NodeProblem::WrongService,
            format!("Something answered, but it is not an IPFS node ({detail}). Check the URL in Settings."),
        ),
        IpfsError::Api { message, .. } => {
            (NodeProblem::Refused, format!("The IPFS node refused the request: {message}."))
        }
        // Credentials refused, or a certificate or TLS that is not right: a node that
        // answers, but is not to be used as it is set.
        IpfsError::Unauthorized { .. } | IpfsError::Tls { .. } => {
            (NodeProblem::Refused, crate::words::ipfs_told(err))
        }
        IpfsError::Setup { .. } => (NodeProblem::InvalidUrl, crate::words::ipfs_told(err)),
        // `info` neither stores nor fetches data, so these cannot come from it; if one
        // ever does, the node answered something unexpected.
        other => (
            NodeProblem::Refused,
            format!("The IPFS node answered unexpectedly: {other}."),
        ),
    };
    IpfsStatus::Down { problem, reason }
}

/// A ledger failure in the user's words.
fn ledger_down(err: &LedgerError) -> LedgerStatus {
    let (problem, reason) = match err {
        LedgerError::Unreachable { detail, .. } => (
            NodeProblem::Unreachable,
            format!("Nothing answered ({detail}). Start the ledger node or check its URL in Settings."),
        ),
        LedgerError::NotEvm { detail, .. } => (
            NodeProblem::WrongService,
            format!("Something answered, but it is not an Ethereum JSON-RPC node ({detail}). Check the URL in Settings."),
        ),
        LedgerError::Unauthorized { .. } | LedgerError::Tls { .. } => (
            NodeProblem::Refused,
            crate::words::ledger_told(err),
        ),
        other => (NodeProblem::Refused, other.to_string()),
    };
    LedgerStatus::Down { problem, reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn malformed_urls_are_reported_not_fetched() {
        let report = check_health(&NodeSettings {
            ipfs_url: "not a url".into(),
            ledger_url: "".into(),
            contract_address: None,
            ..Default::default()
        })
        .await;
        assert!(matches!(&report.ipfs.status,
            IpfsStatus::Down { problem: NodeProblem::InvalidUrl, reason } if reason.contains("not valid")));
        assert!(matches!(&report.ledger.status,
            LedgerStatus::Down { problem: NodeProblem::InvalidUrl, reason } if reason.contains("not valid")));
    }
}
