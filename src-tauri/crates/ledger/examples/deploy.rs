//! Deploys the ledger contract on a consortium's chain, from the operator's account,
//! which the contract records as its `admin` (the account that deployed it).
//!
//! ```text
//! cargo run -p medwallet-ledger --example deploy -- <json-rpc-url> <operator-key-file>
//! ```
//!
//! The first run with a key file that does not exist makes a new key there (mode 0600),
//! prints its address and stops: add that address to every validator's
//! `accounts-allowlist`, then run it again to deploy. The same zero-fee transaction as
//! `scripts/run`'s local deployment ([`LedgerNode::deploy`]).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::process::ExitCode;

use medwallet_ledger::{ContractStatus, LedgerNode, PrivateKeySigner};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("deploy: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, key_file] = args.as_slice() else {
        return Err("usage: deploy <json-rpc-url> <operator-key-file>".into());
    };
    let url = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    let signer: PrivateKeySigner = match std::fs::read_to_string(key_file) {
        Ok(hex) => hex
            .trim()
            .parse()
            .map_err(|_| format!("{key_file} does not hold a private key in hex"))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let signer = PrivateKeySigner::random();
            let hex: String = signer
                .to_bytes()
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(key_file)
                .and_then(|mut f| f.write_all(format!("0x{hex}\n").as_bytes()))
                .map_err(|e| format!("cannot write {key_file}: {e}"))?;
            println!(
                "new operator key in {key_file}; its address is {}\nadd it to accounts-allowlist on every validator, then run this again",
                signer.address()
            );
            return Ok(());
        }
        Err(e) => return Err(format!("cannot read {key_file}: {e}")),
    };
    let admin = signer.address();
    let node = LedgerNode::new(&url);
    let chain_id = node.status().await.map_err(|e| e.to_string())?.chain_id;
    let contract = node.deploy(signer).await.map_err(|e| e.to_string())?;
    match node
        .contract_status(contract)
        .await
        .map_err(|e| e.to_string())?
    {
        ContractStatus::Deployed { schema_version } => println!(
            "chain {chain_id}: contract {contract} (schema {schema_version}), admin {admin}\n\
             give the wallets the contract address (Settings: Ledger contract address)"
        ),
        other => return Err(format!("deployed at {contract}, but it reads as {other:?}")),
    }
    Ok(())
}
