//! Runs many seeded simulations and reports decisions, messages and safety violations.
//!
//! ```text
//! cargo run --release -p platform-consensus --example simulate -- --validators 4 --byzantine 1 --seeds 1000
//! ```
//!
//! Each seed gets: `--byzantine` faulty validators whose behaviours cycle through silent,
//! equivocator, conflicter, impersonator, stale and twin (or one chosen with `--behaviour`);
//! lossy, jittery links; a partition that cuts off a random honest validator, then moves to
//! another process, then heals; and a crash and restart of another honest validator. Exits with status 1 if any run breaks agreement, validity or
//! progress, printing the seed to reproduce it.

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use platform_consensus::simulation::{Behaviour, Scenario, run};

#[derive(Parser, Debug)]
#[command(about = "Seeded Byzantine simulations of Platform's consensus")]
struct Args {
    /// Validators in the committee.
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Faulty validators (must stay below a third of the stake for the checks to apply).
    #[arg(long, default_value_t = 1)]
    byzantine: usize,
    /// Number of seeds to run.
    #[arg(long, default_value_t = 100)]
    seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Heights each run must commit.
    #[arg(long, default_value_t = 8)]
    heights: u64,
    /// Only this faulty behaviour: silent, equivocator, conflicter, impersonator, stale, twin.
    #[arg(long)]
    behaviour: Option<String>,
    /// Message loss in parts per million.
    #[arg(long, default_value_t = 10_000)]
    loss_ppm: u32,
    /// No partition, crash or loss: the happy path.
    #[arg(long)]
    calm: bool,
    /// Print one line per seed.
    #[arg(long)]
    verbose: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let behaviours: Vec<Behaviour> = match &args.behaviour {
        Some(name) => match Behaviour::parse(name) {
            Some(b) => vec![b],
            None => {
                eprintln!("error: unknown behaviour {name:?}");
                return ExitCode::FAILURE;
            }
        },
        None => Behaviour::FAULTY.to_vec(),
    };
    if args.validators == 0 || 3 * args.byzantine >= args.validators {
        eprintln!("error: need 3 * byzantine < validators for the properties to be checked");
        return ExitCode::FAILURE;
    }
    let started = Instant::now();
    let (mut decisions, mut sent, mut delivered, mut failures) = (0u64, 0u64, 0u64, 0u64);
    let mut latencies = Vec::new();
    let mut machine_nanos = 0u128;
    for seed in args.first_seed..args.first_seed + args.seeds {
        let scenario = if args.calm {
            Scenario::calm(args.validators, args.byzantine, seed, &behaviours, args.heights)
        } else {
            Scenario::random(args.validators, args.byzantine, seed, &behaviours, args.heights, args.loss_ppm)
        };
        let report = run(&scenario);
        decisions += report.min_honest_height;
        sent += report.messages_sent;
        delivered += report.messages_delivered;
        latencies.extend(report.commit_latency_ms.iter().copied());
        machine_nanos += report.machine_nanos;
        if args.verbose || !report.violations.is_empty() {
            println!(
                "seed {seed}: behaviours {:?} heights {:?} time {} ms messages {} digest {}",
                scenario.behaviours, report.heights, report.virtual_time_ms, report.messages_delivered, report.digest
            );
        }
        for violation in &report.violations {
            failures += 1;
            println!("  VIOLATION (seed {seed}): {violation}");
        }
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    let p50 = latencies.get(latencies.len() / 2).copied().unwrap_or(0);
    println!(
        "{} seeds, n={} f={}: {decisions} decisions, {sent} messages sent ({:.0} per decision), {delivered} delivered; \
         commit latency p50 {p50} ms virtual; {failures} violations; {:.2} s wall ({:.0} decisions/s); \
         state machine CPU {:.0} us per decision per validator",
        args.seeds,
        args.validators,
        args.byzantine,
        sent as f64 / decisions.max(1) as f64,
        elapsed.as_secs_f64(),
        decisions as f64 / elapsed.as_secs_f64(),
        machine_nanos as f64 / 1e3 / decisions.max(1) as f64 / args.validators as f64
    );
    if args.calm && args.byzantine == 0 {
        // Baseline from this run: verifying every received proposal and vote one by one.
        let single = single_verify_micros();
        let received = delivered as f64 / decisions.max(1) as f64 / args.validators as f64;
        let eager = received * single;
        let measured = machine_nanos as f64 / 1e3 / decisions.max(1) as f64 / args.validators as f64;
        println!(
            "baseline: {received:.0} messages received per decision per validator x {single:.1} us per single verify = \
             {eager:.0} us; measured/baseline = {:.2}",
            measured / eager
        );
    }
    if failures > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// Microseconds per single sr25519 envelope verification on this machine, now.
fn single_verify_micros() -> f64 {
    use platform_types::{Envelope, Hash, Height, Keypair, NetUid, View, Vote, VoteKind};
    let keypair = Keypair::from_suri("//bench").expect("dev key");
    let vote = Vote { kind: VoteKind::Commit, height: Height::new(1), view: View::new(0), block_hash: Hash::ZERO };
    let envelope = Envelope::seal(&keypair, NetUid::new(1), &vote);
    let rounds = 2_000;
    let started = Instant::now();
    for _ in 0..rounds {
        assert!(envelope.verify(NetUid::new(1)).is_ok());
    }
    started.elapsed().as_secs_f64() * 1e6 / rounds as f64
}
