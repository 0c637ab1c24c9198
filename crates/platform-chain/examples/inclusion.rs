//! Measures the time from submitting `set_weights` to its inclusion in a block on the real
//! subtensor runtime under chopsticks, against two baselines from the same run: an RPC round
//! trip (`chain_getBlockHash` + header) and the authoring of one empty block (`dev_newBlock`).
//!
//! ```text
//! cargo run -p platform-chain --example inclusion -- [SAMPLES]
//! ```
//! Needs `tests/chopsticks/install.sh` to have run and the chain spec in `PLATFORM_CHAIN_DIR`
//! (default `../shared/chain`).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use platform_chain::{
    Chain, ConnectOptions, Head, LocalChain, LocalChainConfig, SubxtChain, WeightVector, WeightsCall,
};
use platform_types::{Keypair, MechanismId, NetUid};
use serde_json::json;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn summary(name: &str, mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let p50 = percentile(&samples, 0.5);
    println!(
        "{name:<28} p50 {:>8.2} ms   p99 {:>8.2} ms   (n = {})",
        p50.as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        samples.len()
    );
    p50
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let samples: usize = std::env::args().nth(1).map(|s| s.parse()).transpose()?.unwrap_or(30);
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let chain_dir =
        std::env::var_os("PLATFORM_CHAIN_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("../shared/chain"));
    let work = tempfile::tempdir()?;
    let config = LocalChainConfig::new(
        chain_dir.join("subtensor-raonet-spec218.json"),
        root.join("tests/chopsticks/node_modules/@acala-network/chopsticks/chopsticks.cjs"),
        work.path().to_path_buf(),
    );
    let local = LocalChain::start(&config).await?;
    let chain = SubxtChain::connect(&local.url(), ConnectOptions::default()).await?;
    let netuid = NetUid::new(config.netuid);
    let alice = Keypair::from_suri("//Alice")?;
    let validator = Keypair::from_suri("//Platform//bench-validator")?;
    let miner = Keypair::from_suri("//Platform//bench-miner")?;
    chain.burned_register(&alice, netuid, &validator.public()).await?;
    chain.burned_register(&alice, netuid, &miner.public()).await?;
    let graph = chain.metagraph(netuid, None).await?;
    let (v_uid, m_uid) = (
        graph.uid_of(&validator.public()).ok_or("validator not registered")?.get(),
        graph.uid_of(&miner.public()).ok_or("miner not registered")?.get(),
    );
    let permits: Vec<bool> = (0..graph.neurons.len() as u16).map(|uid| uid == v_uid).collect();
    local.set_storage(json!({ "SubtensorModule": { "ValidatorPermit": [[[config.netuid], permits]] } })).await?;

    let mut rpc = Vec::new();
    let mut empty = Vec::new();
    let mut weights = Vec::new();
    for i in 0..samples {
        let t = Instant::now();
        chain.block(Head::Best).await?;
        rpc.push(t.elapsed());

        let t = Instant::now();
        local.new_blocks(1).await?;
        empty.push(t.elapsed());

        let call = WeightsCall::Set(WeightVector {
            netuid,
            mechanism: MechanismId::new(0),
            uids: vec![v_uid, m_uid],
            values: vec![65535, (i as u16).wrapping_mul(977) | 1],
            version_key: 0,
        });
        let t = Instant::now();
        let inclusion = chain.submit(&validator, &call).await?;
        weights.push(t.elapsed());
        assert!(inclusion.events.iter().any(|e| e == "SubtensorModule::WeightsSet"));
    }
    println!("set_weights -> inclusion on chopsticks (spec 218, Instant block mode), {samples} samples");
    let rpc = summary("RPC round trip (baseline)", rpc);
    let empty = summary("empty block (baseline)", empty);
    let incl = summary("set_weights -> in block", weights);
    println!(
        "ratios (p50): inclusion / empty block = {:.2}x, inclusion / RPC round trip = {:.1}x",
        incl.as_secs_f64() / empty.as_secs_f64(),
        incl.as_secs_f64() / rpc.as_secs_f64()
    );
    local.stop().await;
    Ok(())
}
