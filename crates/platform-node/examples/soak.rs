//! The soak benchmark: one validator's `data/` driven through a long history by a fast path
//! (`platform_node::soak`), measuring disk, memory, restart time and the decoding side of state
//! sync as the history grows.
//!
//! ```text
//! cargo run --release -p platform-node --example soak -- --submissions 1000000 --per-block 10
//! ```

use clap::Parser;
use platform_node::soak::{SoakConfig, run};

#[derive(Parser, Debug)]
#[command(about = "Drive one validator's store through a long history and measure it")]
struct Args {
    /// Submissions committed over the run.
    #[arg(long, default_value_t = 100_000)]
    submissions: u64,
    /// Submissions per block.
    #[arg(long, default_value_t = 10)]
    per_block: u64,
    /// Distinct miners.
    #[arg(long, default_value_t = 200)]
    miners: u32,
    /// Committed blocks kept below the newest snapshot (0: keep every block).
    #[arg(long, default_value_t = 100_000)]
    retain_blocks: u64,
    /// Blocks per epoch (each epoch's first block commits its weights; submissions then retire).
    #[arg(long, default_value_t = 1_000)]
    epoch_blocks: u64,
    /// Where the data directory goes (default: a temporary directory, deleted at the end).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
    /// Only recover the state from this data directory and print `height millis rss_bytes`
    /// (what the soak runs in a fresh process at each sample).
    #[arg(long)]
    recover: Option<std::path::PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(dir) = &args.recover {
        let (height, took, rss) = platform_node::soak::recover(dir)?;
        println!("{height} {} {rss}", took.as_millis());
        return Ok(());
    }
    let temp = tempfile::tempdir()?;
    let dir = args.dir.clone().unwrap_or_else(|| temp.path().join("data"));
    let cfg = SoakConfig {
        submissions: args.submissions,
        per_block: args.per_block,
        miners: args.miners,
        retain_blocks: args.retain_blocks,
        epoch_blocks: args.epoch_blocks,
        dir,
        samples: vec![10, 50, 100],
    };
    println!(
        "soak: {} submissions, {} per block, {} miners, retain_blocks {}, {} blocks per epoch",
        cfg.submissions, cfg.per_block, cfg.miners, cfg.retain_blocks, cfg.epoch_blocks
    );
    println!(
        "| % | height | submissions | disk | RSS after restart | RSS of the run | state (snapshot) | restart | snapshot decode | new validator start | oldest block |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let started = std::time::Instant::now();
    let me = std::env::current_exe()?;
    // Each restart in a fresh process, as a validator restarts.
    let restart = |dir: &std::path::Path| -> anyhow::Result<platform_node::soak::Probe> {
        let out = std::process::Command::new(&me).arg("--recover").arg(dir).output()?;
        anyhow::ensure!(out.status.success(), "recover: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout)?;
        let fields: Vec<u64> = text.split_whitespace().map(str::parse).collect::<Result<_, _>>()?;
        anyhow::ensure!(fields.len() == 3, "recover printed {text:?}");
        Ok((fields[0], std::time::Duration::from_millis(fields[1]), fields[2]))
    };
    run(&cfg, restart, |s| {
        let mib = |b: u64| b as f64 / 1048576.0;
        println!(
            "| {} | {} | {} | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.2} s | {:.2} s | {:.2} s | {} |",
            s.percent,
            s.height,
            s.submissions,
            mib(s.disk_bytes),
            mib(s.restarted_rss_bytes),
            mib(s.rss_bytes),
            mib(s.state_bytes),
            s.restart.as_secs_f64(),
            s.restore.as_secs_f64(),
            s.joiner_start.as_secs_f64(),
            s.first_block
        );
    })?;
    println!("took {:.0} s", started.elapsed().as_secs_f64());
    Ok(())
}
