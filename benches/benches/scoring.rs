//! One epoch of scoring at the scale: 64 validators × 4096 uids × 8 challenges, from
//! raw scores to u16 chain weights. Baseline in the same run: a plain unweighted mean per
//! submission (no stake, no outliers, no normalisation).
//!
//! `cargo bench -p platform-benches --bench scoring`
#![allow(missing_docs)] // criterion_group! generates undocumented public functions

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use platform_scoring::{ChallengeEpoch, Evaluated, Score, chain_weights, epoch_weights, score_challenge};
use platform_types::{Normalisation, ScoringConfig};
use rand::{Rng, SeedableRng};

const VALIDATORS: usize = 64;
const UIDS: u16 = 4096;
const CHALLENGES: usize = 8;

/// Honest validators agree on each score; every eighth validator reports noise.
fn submissions(rng: &mut rand::rngs::StdRng) -> Vec<Evaluated> {
    let stakes: Vec<u64> = (0..VALIDATORS).map(|_| rng.gen_range(1_000..1_000_000) * 1_000_000_000).collect();
    (0..UIDS)
        .map(|uid| {
            let truth: u32 = rng.gen_range(0..1_000_000_000);
            let scores = stakes
                .iter()
                .enumerate()
                .map(|(v, &stake)| Score {
                    stake,
                    score_ppb: if v % 8 == 7 { rng.gen_range(0..1_000_000_000) } else { truth },
                })
                .collect();
            Evaluated { uid, scores, assigned_stake: stakes.iter().sum() }
        })
        .collect()
}

fn epoch(c: &mut Criterion) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let data: Vec<Vec<Evaluated>> = (0..CHALLENGES).map(|_| submissions(&mut rng)).collect();
    let configs: Vec<ScoringConfig> = (0..CHALLENGES)
        .map(|i| ScoringConfig {
            normalisation: if i % 2 == 0 {
                Normalisation::Softmax { temperature_milli: 100 }
            } else {
                Normalisation::Linear
            },
            min_confidence_ppb: 500_000_000,
            ema_alpha_ppb: 300_000_000,
            ..ScoringConfig::default()
        })
        .collect();

    let mut group = c.benchmark_group("scoring_epoch_64v_4096uids_8challenges");
    group.sample_size(20);
    group.bench_function("baseline_unweighted_mean", |b| {
        b.iter(|| {
            let mut sum = 0u64;
            for subs in &data {
                for s in subs {
                    sum += s.scores.iter().map(|x| u64::from(x.score_ppb)).sum::<u64>() / s.scores.len() as u64;
                }
            }
            black_box(sum)
        })
    });
    group.bench_function("aggregate_normalise_chain_weights", |b| {
        b.iter(|| {
            let outcomes: Vec<_> = data
                .iter()
                .zip(&configs)
                .enumerate()
                .map(|(i, (subs, config))| {
                    let challenge = ChallengeEpoch {
                        config,
                        mechanism: (i % 2) as u8,
                        emission_share_ppb: 250_000_000,
                        submissions: subs,
                        previous: &[],
                        champion: None,
                    };
                    score_challenge(&challenge, 0)
                })
                .collect();
            for (_, shares) in epoch_weights(&outcomes, 0) {
                let (uids, weights): (Vec<u16>, Vec<f64>) = shares.into_iter().unzip();
                black_box(chain_weights(&uids, &weights).expect("weights"));
            }
        })
    });
    group.finish();
}

criterion_group!(benches, epoch);
criterion_main!(benches);
