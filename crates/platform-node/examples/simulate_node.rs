//! Seeded whole-node simulations: validators' real cores linked by the simulator
//! (`platform_node::sim`), with Byzantine validators, checked for agreement, validity,
//! liveness and identical weights.
//!
//! ```text
//! cargo run -p platform-node --example simulate_node -- --validators 4 --byzantine 1 --seeds 100
//! ```
//!
//! Each seed runs every behaviour (or the one `--behaviour` names). Exits with status 1 if any
//! run breaks a promise, printing the command that replays it.

use std::process::ExitCode;
use std::time::Instant;

use clap::Parser;
use platform_node::sim::{Behaviour, Scenario, run};

#[derive(Parser, Debug)]
#[command(about = "Seeded whole-node simulations of Platform validators")]
struct Args {
    /// Validators, equal stake each.
    #[arg(long, default_value_t = 4)]
    validators: usize,
    /// Byzantine validators (below a third of the stake for the checks to be promises).
    #[arg(long, default_value_t = 1)]
    byzantine: usize,
    /// Number of seeds to run.
    #[arg(long, default_value_t = 20)]
    seeds: u64,
    /// First seed.
    #[arg(long, default_value_t = 0)]
    first_seed: u64,
    /// Epochs whose weights every honest validator must set.
    #[arg(long, default_value_t = 2)]
    epochs: usize,
    /// Only this behaviour: silent, epoch-jump, wrong-weights, equivocation, withheld-evaluations,
    /// unpublished-bodies, forged-sudo, lying-sync, replayed-submissions, gossip-flood,
    /// forged-genesis, wrong-scores.
    #[arg(long)]
    behaviour: Option<String>,
    /// No honest validator crashes and restarts from its store (by default one does).
    #[arg(long)]
    no_restart: bool,
    /// The network is never cut (by default it is cut twice, the cut moving, once any restarted
    /// validator is back: see `Scenario::partitions`).
    #[arg(long)]
    no_partitions: bool,
    /// The chain's validator set never changes (by default an honest validator loses its permit
    /// and another's stake triples at chain block 5: see `Scenario::set_change`).
    #[arg(long)]
    no_set_change: bool,
    /// The chain never changes its tempo (by default odd seeds run with dynamic tempo, the chain
    /// reporting epochs, and the tempo shortening from 9 to 4 blocks at chain block 15: see
    /// `Scenario::tempo_change`).
    #[arg(long)]
    no_tempo_change: bool,
    /// Of every thousand gossip messages, how many the links lose (each drawn per receiver).
    #[arg(long, default_value_t = 10)]
    loss_permille: u32,
    /// Runs at once, on as many threads (runs are independent; the output is the same).
    #[arg(long, default_value_t = 1)]
    jobs: usize,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let behaviours: Vec<Behaviour> = match &args.behaviour {
        None => Behaviour::ALL.to_vec(),
        Some(name) => match Behaviour::from_name(name) {
            Some(b) => vec![b],
            None => {
                let known: Vec<&str> = Behaviour::ALL.iter().map(|b| b.name()).collect();
                eprintln!("error: unknown behaviour {name:?}; known: {}", known.join(", "));
                return ExitCode::from(2);
            }
        },
    };
    if args.validators == 0 || args.byzantine >= args.validators {
        eprintln!("error: --byzantine must be below --validators");
        return ExitCode::from(2);
    }
    let started = Instant::now();
    let scenarios: Vec<Scenario> = (args.first_seed..args.first_seed + args.seeds)
        .flat_map(|seed| {
            behaviours.iter().map(move |&behaviour| Scenario {
                validators: args.validators,
                byzantine: args.byzantine,
                behaviour,
                seed,
                epochs: args.epochs,
                restart: !args.no_restart,
                partitions: !args.no_partitions,
                set_change: !args.no_set_change,
                tempo_change: !args.no_tempo_change && seed % 2 == 1,
                loss_permille: args.loss_permille,
            })
        })
        .collect();
    // Each thread takes every `jobs`-th run; the failures are printed in run order.
    let jobs = args.jobs.max(1);
    let mut failed: Vec<(usize, String)> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..jobs)
            .map(|job| {
                let scenarios = &scenarios;
                scope.spawn(move || {
                    (job..scenarios.len())
                        .step_by(jobs)
                        .filter_map(|k| run(&scenarios[k]).err().map(|v| (k, v.to_string())))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        threads.into_iter().flat_map(|t| t.join().expect("a simulation thread panicked")).collect()
    });
    failed.sort();
    let (runs, failures) = (scenarios.len() as u64, failed.len() as u64);
    for (k, violation) in &failed {
        let Scenario { behaviour, seed, .. } = &scenarios[*k];
        println!("seed {seed}, {}: {violation}", behaviour.name());
        println!(
            "  replay: cargo run -p platform-node --example simulate_node -- --validators {} --byzantine {} \
             --behaviour {} --epochs {} --seeds 1 --first-seed {seed} --loss-permille {}{}{}{}{}",
            args.validators,
            args.byzantine,
            behaviour.name(),
            args.epochs,
            args.loss_permille,
            if args.no_restart { " --no-restart" } else { "" },
            if args.no_partitions { " --no-partitions" } else { "" },
            if args.no_set_change { " --no-set-change" } else { "" },
            if args.no_tempo_change { " --no-tempo-change" } else { "" }
        );
    }
    println!(
        "{runs} runs (n = {}, f = {}, {} seeds x {} behaviours) in {:.1} s: {failures} broke a promise",
        args.validators,
        args.byzantine,
        args.seeds,
        behaviours.len(),
        started.elapsed().as_secs_f64()
    );
    if failures > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
