//! The consortium's admins vouch for providers: attests a clinic's or a doctor's address
//! with its name, withdraws an attestation, or names another admin. Wallets then show
//! "St Mary's Hospital ✓" instead of "unverified: 0x…" for that address.
//!
//! ```text
//! cargo run -p medwallet-ledger --example attest -- <json-rpc-url> <contract> <admin-key-file> clinic <address> "<name>"
//! cargo run -p medwallet-ledger --example attest -- <json-rpc-url> <contract> <admin-key-file> doctor <address> "<name>"
//! cargo run -p medwallet-ledger --example attest -- <json-rpc-url> <contract> <admin-key-file> withdraw <address>
//! cargo run -p medwallet-ledger --example attest -- <json-rpc-url> <contract> <admin-key-file> admin <address>
//! ```
//!
//! The key file is the operator's (`deploy` made it), or another admin's. Check the
//! address with the provider itself (its Keys page) before attesting it: the ledger then
//! vouches for it to every patient.

use std::process::ExitCode;

use medwallet_ledger::{Address, LedgerNode, PrivateKeySigner};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("attest: {message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str =
    "usage: attest <json-rpc-url> <contract> <admin-key-file> (clinic|doctor) <address> <name>\n\
     \u{20}      attest <json-rpc-url> <contract> <admin-key-file> (withdraw|admin) <address>";

async fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (url, contract, key_file, what, provider, name) = match args.as_slice() {
        [u, c, k, w, p] => (u, c, k, w.as_str(), p, None),
        [u, c, k, w, p, n] => (u, c, k, w.as_str(), p, Some(n.as_str())),
        _ => return Err(USAGE.into()),
    };
    let url = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    let contract: Address = contract
        .parse()
        .map_err(|_| format!("{contract} is not an address"))?;
    let provider: Address = provider
        .parse()
        .map_err(|_| format!("{provider} is not an address"))?;
    let signer: PrivateKeySigner = std::fs::read_to_string(key_file)
        .map_err(|e| format!("cannot read {key_file}: {e}"))?
        .trim()
        .parse()
        .map_err(|_| format!("{key_file} does not hold a private key in hex"))?;
    let node = LedgerNode::new(&url);
    let client = node
        .client(signer, contract)
        .await
        .map_err(|e| e.to_string())?;
    let receipt = match (what, name) {
        ("clinic", Some(name)) => client.attest_provider(provider, name, 2).await,
        ("doctor", Some(name)) => client.attest_provider(provider, name, 1).await,
        ("withdraw", None) => client.withdraw_provider(provider).await,
        ("admin", None) => client.set_admin(provider, true).await,
        _ => return Err(USAGE.into()),
    }
    .map_err(|e| e.to_string())?;
    let now = node
        .provider_of(contract, provider)
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "done in block {} (tx {}); {provider} now reads as {}",
        receipt.block_number,
        receipt.tx_hash,
        match now {
            Some(p) => format!(
                "{} ({})",
                p.name,
                if p.role == 1 { "doctor" } else { "clinic" }
            ),
            None => "unverified".to_owned(),
        }
    );
    Ok(())
}
