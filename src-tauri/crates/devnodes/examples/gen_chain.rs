//! Generates (or finds) a benchmark ledger and loads it once to time the load:
//!
//! `cargo run --release -p medwallet-devnodes --features bench-chain --example gen_chain -- --events 1000000 [--wallets 10000] [--force]`
//!
//! The chain is kept in `~/.cache/medwallet/bench-chains/` (see
//! `medwallet_devnodes::bench_chain`); `--force` makes it again.

use std::time::Instant;

use medwallet_devnodes::bench_chain;
use medwallet_devnodes::NodeTools;
use medwallet_ledger::testing::generate::Shape;

fn main() -> Result<(), String> {
    let mut shape = Shape::MILLION;
    let mut force = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut number = |name: &str| -> Result<u64, String> {
            args.next()
                .and_then(|v| v.replace(['_', ','], "").parse().ok())
                .ok_or(format!("{name} needs a number"))
        };
        match arg.as_str() {
            "--events" => shape.events = number("--events")?,
            "--wallets" => {
                shape.wallets = u32::try_from(number("--wallets")?).map_err(|e| e.to_string())?
            }
            "--force" => force = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let tools = NodeTools::locate().map_err(|e| e.to_string())?;
    let say = |line: &str| println!("{line}");
    let rt = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    rt.block_on(async {
        if force {
            let started = Instant::now();
            bench_chain::generate_chain(&tools, shape, &say).await?;
            println!("generated in {:.1?}", started.elapsed());
        }
        let chain = bench_chain::bench_chain(&tools, shape, &say).await?;
        let height = chain
            .node()
            .status()
            .await
            .map_err(|e| e.to_string())?
            .block_height;
        println!(
            "loaded {} in {:.1} s: {} events from {} wallets, contract {}, {height} blocks; generated in {:.1} s ({} transactions), written in {:.1} s",
            bench_chain::state_file(shape).display(),
            chain.load_seconds,
            chain.meta.events,
            chain.meta.wallets,
            chain.meta.contract,
            chain.meta.generated.seconds,
            chain.meta.generated.transactions,
            chain.meta.dump_seconds,
        );
        println!("{}", serde_json::to_string_pretty(&chain.meta.generated).unwrap_or_default());
        Ok(())
    })
}
