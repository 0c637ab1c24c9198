//! The network at size, in the whole-node simulator (`platform_node::sim::scale`): n validators
//! (4, 16, 64, 128 — the chain's default `MaxAllowedValidators`) with the node's default timing,
//! 50 ms links (45–55 ms), a challenge, six submissions evaluated by everyone, an epoch a second.
//! For each n: commit latency (first proposal to each validator's commit: p50, p99, most; virtual
//! time, so the links' share), bytes and messages each validator sends per block, and the real
//! time spent per validator per block (every core's whole work, one thread), with n = 4 as the
//! baseline of the same run; then each validator's work per submission at each size up to 64
//! (the same run again with [`LOAD`] submissions handed in as the window opens, measured until
//! every validator's evaluation of them is ordered: the difference in a validator's CPU over as
//! many heights, per submission — relaying, ordering, evaluating it, and checking and ordering
//! every validator's evaluation of it); then simulated seeds per second of the checking sweep
//! (every behaviour, a restart, moving cuts) at n = 4 and n = 16.
//!
//! ```sh
//! cargo bench -p platform-benches --bench scale            # every size
//! cargo bench -p platform-benches --bench scale -- 4 16    # only these sizes
//! ```

use std::time::{Duration, Instant};

use platform_node::config::DEFAULT_MEMPOOL_CAPACITY;
use platform_node::sim::scale::{Scale, measure};
use platform_node::sim::{Behaviour, Scenario, run};

/// The allocator `validator-node` runs on (its `main.rs`), so that the work per validator is
/// what a validator's process spends.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Heights measured at each size.
const HEIGHTS: u64 = 20;

/// Submissions of the loaded run at each size.
const LOAD: usize = 200;

/// The largest size loaded. At 128 validators the load's 26 368 evaluations need more blocks
/// (each holds what fits in its 600 KiB budget) than fit in the epoch or two of the
/// simulator's (one second each) that a submission not yet final stays in the state: about half
/// are never ordered, and the difference would not be the load's whole work
/// (docs/benchmarks.md).
const LOADED_UP_TO: usize = 64;

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` does not: then only n = 4 runs,
    // as a check that the measurement works, without the sweeps (the test command runs those).
    let bench = std::env::args().any(|a| a == "--bench");
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = match (bench, sizes.is_empty()) {
        (false, _) => vec![4],
        (true, true) => vec![4, 16, 64, 128],
        (true, false) => sizes,
    };
    let link = (Duration::from_millis(45), Duration::from_millis(55));
    // The node's own pool sizes: evaluations of the load are not held back for room.
    let unloaded = |n: usize| Scale {
        validators: n,
        link,
        heights: HEIGHTS,
        seed: 1,
        submissions: 0,
        pool: DEFAULT_MEMPOOL_CAPACITY,
    };
    println!(
        "| validators | commit p50 | commit p99 | commit max | block time | bytes / validator / block | messages / validator / block | CPU / validator / block | CPU ratio to n = {} | evaluations |",
        sizes[0]
    );
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let mut baseline = None;
    // Per size: CPU per validator over the window without the load, to subtract.
    let mut idle = Vec::new();
    for &n in &sizes {
        let started = Instant::now();
        let figures = match measure(&unloaded(n)) {
            Ok(figures) => figures,
            Err(stuck) => {
                println!("| {n} | stuck: {stuck} |");
                assert!(bench, "the network of {n} did not commit: {stuck}");
                continue;
            }
        };
        let cpu = figures.cpu_per_validator_per_block;
        let base = *baseline.get_or_insert(cpu);
        println!(
            "| {n} | {} ms | {} ms | {} ms | {} ms | {} | {} | {:.2} ms | {:.1} | {} |",
            figures.commit_p50.as_millis(),
            figures.commit_p99.as_millis(),
            figures.commit_max.as_millis(),
            (figures.virtual_time / figures.heights as u32).as_millis(),
            figures.bytes_per_validator_per_block,
            figures.messages_per_validator_per_block,
            cpu.as_secs_f64() * 1e3,
            cpu.as_secs_f64() / base.as_secs_f64(),
            figures.evaluations,
        );
        eprintln!("n = {n}: {:.1} s", started.elapsed().as_secs_f64());
        idle.push((n, cpu));
    }
    if !bench {
        return;
    }
    println!();
    println!(
        "| validators | heights | submissions ordered (the set-up's six and the load) | evaluations ordered | CPU / validator over those heights, loaded | without the load | CPU / validator / submission | ratio to n = {} |",
        sizes[0]
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut baseline = None;
    for (n, idle_per_block) in idle.into_iter().filter(|(n, _)| *n <= LOADED_UP_TO) {
        let started = Instant::now();
        let scale = Scale { submissions: LOAD, ..unloaded(n) };
        let figures = match measure(&scale) {
            Ok(figures) => figures,
            Err(stuck) => {
                println!("| {n} | stuck: {stuck} |");
                continue;
            }
        };
        // Measured until the load was all evaluated and ordered: as many heights unloaded.
        let heights = figures.heights as u32;
        let (loaded, idle_cpu) = (figures.cpu_per_validator_per_block * heights, idle_per_block * heights);
        let per_submission = loaded.saturating_sub(idle_cpu) / LOAD as u32;
        let base = *baseline.get_or_insert(per_submission);
        println!(
            "| {n} | {heights} | {} of {} | {} of {} | {:.1} ms | {:.1} ms | **{:.0} µs** | {:.1} |",
            figures.submissions,
            LOAD + 6,
            figures.evaluations,
            n * (LOAD + 6),
            loaded.as_secs_f64() * 1e3,
            idle_cpu.as_secs_f64() * 1e3,
            per_submission.as_secs_f64() * 1e6,
            per_submission.as_secs_f64() / base.as_secs_f64(),
        );
        eprintln!("n = {n}, loaded: {:.1} s", started.elapsed().as_secs_f64());
    }
    println!();
    println!("| sweep | seeds | runs | seconds | seeds / s |");
    println!("|---|---|---|---|---|");
    for (n, f, seeds) in [(4usize, 1usize, 20u64), (16, 5, 2)] {
        let started = Instant::now();
        let mut broke = 0;
        for seed in 0..seeds {
            for behaviour in Behaviour::ALL {
                let scenario = Scenario {
                    validators: n,
                    byzantine: f,
                    behaviour,
                    seed,
                    epochs: 2,
                    restart: true,
                    partitions: true,
                    set_change: true,
                    tempo_change: false,
                    loss_permille: 10,
                };
                broke += usize::from(run(&scenario).is_err());
            }
        }
        let took = started.elapsed().as_secs_f64();
        let runs = seeds as usize * Behaviour::ALL.len();
        println!("| n = {n}, f = {f} ({broke} broke) | {seeds} | {runs} | {took:.1} | {:.2} |", seeds as f64 / took);
    }
}
