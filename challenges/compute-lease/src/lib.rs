//! `compute-lease` (the scheme of a compute-leasing subnet): miners offer workers; a miner's
//! score blends the share of leased capacity it holds (70 %) with how many of its workers pass
//! a compute check (30 %), is multiplied by its availability over a window of epochs, and
//! counts at most a capped number of workers.
//!
//! An answer lists the miner's workers: `count u16 | count × (worker id [32] | leased u8 (0/1)
//! | nonce u64)`, integers little-endian. A worker *passes* when
//! `blake2b-256("compute-lease/work" | epoch u64 | miner | worker id | nonce)` starts with
//! `difficulty` zero bits (the compute check: [`solve`] finds such a nonce).
//!
//! The epoch scorer sees every answer of the epoch, and for each answer:
//! - counts the first `max_workers` workers only (the per-miner cap);
//! - drops workers another miner also claims in the epoch (a worker serves one miner);
//! - *challenge* = passing workers / counted workers;
//! - *lease* = its passing leased workers / the most passing leased workers any answer has;
//! - *blend* = `lease_share` × lease + (1 − `lease_share`) × challenge, at most 1.0 (the cap on
//!   the summed score);
//! - *availability* = the share of the last `window` epochs (this one included) in which the
//!   miner had an answer to this challenge ordered, from the `participation` host function;
//! - score = blend × availability; the verdict's detail holds lease, challenge and
//!   availability (u32 ppb each).
//!
//! Parameters (`ChallengeSpec::params`, 8 bytes; none: the defaults): `lease_share_ppb u32 |
//! window u8 (1..=32) | max_workers u16 (1..=1000) | difficulty u8 (0..=24)`; defaults 70 %, 8
//! epochs, 100 workers, 8 bits.
//!
//! Where the subnet this models reads leases from its rental platform, the sandbox cannot reach
//! one: here a miner *states* which of its passing workers are leased. The arithmetic — blend,
//! market share, availability, caps — is what the example shows.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::collections::{BTreeMap, BTreeSet};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use platform_challenge_sdk::host::blake2b_256_parts;
use platform_challenge_sdk::{EpochInput, Input, PPB, Verdict};

/// The challenge's settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// Weight of the lease component, ppb (the challenge component has the rest).
    pub lease_share_ppb: u32,
    /// Epochs over which availability is measured.
    pub window: u8,
    /// Workers counted per answer.
    pub max_workers: u16,
    /// Leading zero bits a worker's compute check needs.
    pub difficulty: u8,
}

impl Default for Params {
    fn default() -> Self {
        Params { lease_share_ppb: 700_000_000, window: 8, max_workers: 100, difficulty: 8 }
    }
}

impl Params {
    /// Reads the registered parameters (none: the defaults).
    pub fn from_bytes(bytes: &[u8]) -> Result<Params, String> {
        if bytes.is_empty() {
            return Ok(Params::default());
        }
        let [a, b, c, d, window, w0, w1, difficulty] = bytes else {
            return Err(format!("parameters are 8 bytes, not {}", bytes.len()));
        };
        let params = Params {
            lease_share_ppb: u32::from_le_bytes([*a, *b, *c, *d]),
            window: *window,
            max_workers: u16::from_le_bytes([*w0, *w1]),
            difficulty: *difficulty,
        };
        if params.lease_share_ppb > PPB
            || !(1..=32).contains(&params.window)
            || !(1..=1000).contains(&params.max_workers)
            || params.difficulty > 24
        {
            return Err(format!("parameters out of range: {params:?}"));
        }
        Ok(params)
    }

    /// The bytes [`Params::from_bytes`] reads.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::from(self.lease_share_ppb.to_le_bytes());
        out.push(self.window);
        out.extend_from_slice(&self.max_workers.to_le_bytes());
        out.push(self.difficulty);
        out
    }
}

/// One worker a miner offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Worker {
    /// Its id.
    pub id: [u8; 32],
    /// The miner states it is leased.
    pub leased: bool,
    /// The nonce of its compute check.
    pub nonce: u64,
}

const WORKER_BYTES: usize = 32 + 1 + 8;

/// Encodes an answer.
pub fn encode(workers: &[Worker]) -> Vec<u8> {
    let mut out = Vec::with_capacity(2 + workers.len() * WORKER_BYTES);
    out.extend_from_slice(&(workers.len() as u16).to_le_bytes());
    for w in workers {
        out.extend_from_slice(&w.id);
        out.push(u8::from(w.leased));
        out.extend_from_slice(&w.nonce.to_le_bytes());
    }
    out
}

/// Decodes an answer: exactly `count` workers, distinct ids, nothing after them.
pub fn decode(payload: &[u8]) -> Result<Vec<Worker>, String> {
    let (count, rest) = payload.split_first_chunk::<2>().ok_or("payload ends before the worker count")?;
    let count = usize::from(u16::from_le_bytes(*count));
    if rest.len() != count * WORKER_BYTES {
        return Err(format!("{count} workers take {} bytes, not {}", count * WORKER_BYTES, rest.len()));
    }
    let mut seen = BTreeSet::new();
    let mut workers = Vec::with_capacity(count);
    for chunk in rest.chunks_exact(WORKER_BYTES) {
        let mut id = [0u8; 32];
        id.copy_from_slice(&chunk[..32]);
        let leased = match chunk[32] {
            0 => false,
            1 => true,
            other => return Err(format!("leased flag {other} is neither 0 nor 1")),
        };
        let mut nonce = [0u8; 8];
        nonce.copy_from_slice(&chunk[33..]);
        if !seen.insert(id) {
            return Err("a worker is listed twice".into());
        }
        workers.push(Worker { id, leased, nonce: u64::from_le_bytes(nonce) });
    }
    Ok(workers)
}

/// Whether `worker` passes the compute check of `epoch` for `miner` at `difficulty` bits.
pub fn passes(epoch: u64, miner: &[u8; 32], worker: &Worker, difficulty: u8) -> bool {
    let hash = blake2b_256_parts(&[
        b"compute-lease/work",
        &epoch.to_le_bytes(),
        miner,
        &worker.id,
        &worker.nonce.to_le_bytes(),
    ]);
    let mut zeros = 0u32;
    for byte in hash {
        zeros += byte.leading_zeros();
        if byte != 0 {
            break;
        }
    }
    zeros >= u32::from(difficulty)
}

/// A miner's tool: the first nonce with which `id` passes the check.
pub fn solve(epoch: u64, miner: &[u8; 32], id: [u8; 32], leased: bool, difficulty: u8) -> Worker {
    let mut worker = Worker { id, leased, nonce: 0 };
    while !passes(epoch, miner, &worker, difficulty) {
        worker.nonce += 1;
    }
    worker
}

fn ratio_ppb(part: u64, whole: u64) -> u64 {
    (part * u64::from(PPB)).checked_div(whole).unwrap_or(0)
}

/// Scores an epoch's answers under `params`, with each miner's participation as the
/// `participation` host function serves it.
pub fn score_epoch_with(
    input: &EpochInput,
    params: &Params,
    participation: impl Fn(&[u8; 32]) -> Option<u32>,
) -> Vec<Verdict> {
    let cap = usize::from(params.max_workers);
    let decoded: Vec<Result<Vec<Worker>, String>> = input
        .answers
        .iter()
        .map(|a| {
            decode(a.payload).map(|mut w| {
                w.truncate(cap);
                w
            })
        })
        .collect();
    // Which miners claim each worker: one claimed by two miners counts for neither.
    let mut claims: BTreeMap<[u8; 32], BTreeSet<[u8; 32]>> = BTreeMap::new();
    for (answer, workers) in input.answers.iter().zip(&decoded) {
        for w in workers.iter().flatten() {
            claims.entry(w.id).or_default().insert(answer.miner);
        }
    }
    // Per answer: (counted, passing, passing and leased).
    let tallies: Vec<Option<(u64, u64, u64)>> = input
        .answers
        .iter()
        .zip(&decoded)
        .map(|(answer, workers)| {
            let workers = workers.as_ref().ok()?;
            let own = workers.iter().filter(|w| claims.get(&w.id).is_some_and(|m| m.len() == 1));
            let (mut passing, mut leased) = (0, 0);
            for w in own {
                if passes(input.epoch, &answer.miner, w, params.difficulty) {
                    passing += 1;
                    leased += u64::from(w.leased);
                }
            }
            Some((workers.len() as u64, passing, leased))
        })
        .collect();
    let most_leased = tallies.iter().flatten().map(|t| t.2).max().unwrap_or(0);
    let window_mask = if params.window >= 32 { u32::MAX } else { (1u32 << params.window) - 1 };
    input
        .answers
        .iter()
        .zip(decoded.iter().zip(&tallies))
        .map(|(answer, (workers, tally))| {
            let (counted, passing, leased) = match (workers, tally) {
                (Err(reason), _) => return Verdict::rejected(reason.clone()),
                (Ok(_), Some(t)) => *t,
                (Ok(_), None) => return Verdict::rejected("not tallied"),
            };
            let Some(history) = participation(&answer.miner) else {
                return Verdict::rejected("no participation history was served for this miner");
            };
            let lease = ratio_ppb(leased, most_leased);
            let challenge = ratio_ppb(passing, counted);
            let share = u64::from(params.lease_share_ppb);
            let blend = ((share * lease + (u64::from(PPB) - share) * challenge) / u64::from(PPB)).min(u64::from(PPB));
            let availability = ratio_ppb(u64::from((history & window_mask).count_ones()), u64::from(params.window));
            let score = blend * availability / u64::from(PPB);
            let mut detail = Vec::with_capacity(12);
            for part in [lease, challenge, availability] {
                detail.extend_from_slice(&(part as u32).to_le_bytes());
            }
            Verdict::Scored { score_ppb: score as u32, detail }
        })
        .collect()
}

fn params() -> Result<Params, String> {
    Params::from_bytes(&platform_challenge_sdk::host::params())
}

/// The epoch scorer (what validators run).
pub fn score_epoch(input: &EpochInput) -> Vec<Verdict> {
    match params() {
        Ok(params) => score_epoch_with(input, &params, platform_challenge_sdk::host::participation),
        Err(reason) => input.answers.iter().map(|_| Verdict::rejected(reason.clone())).collect(),
    }
}

/// One answer alone (`miner-cli evaluate` without `--with`): scored as the only answer of its
/// epoch, available in this epoch only.
pub fn evaluate(input: &Input) -> Verdict {
    let params = match params() {
        Ok(params) => params,
        Err(reason) => return Verdict::rejected(reason),
    };
    let answer = platform_challenge_sdk::Answer { submission: [0; 32], miner: input.miner, payload: input.payload };
    let alone = EpochInput { seed: input.seed, epoch: input.epoch, answers: alloc::vec![answer] };
    score_epoch_with(&alone, &params, |_| Some(1)).remove(0)
}

platform_challenge_sdk::challenge!(evaluate);
platform_challenge_sdk::epoch_scorer!(score_epoch);

#[cfg(test)]
mod tests {
    use super::*;
    use platform_challenge_sdk::Answer;

    const EPOCH: u64 = 5;

    fn workers(miner: &[u8; 32], tag: u8, count: usize, leased: usize, params: &Params) -> Vec<Worker> {
        (0..count)
            .map(|i| solve(EPOCH, miner, [tag.wrapping_add(i as u8); 32], i < leased, params.difficulty))
            .collect()
    }

    fn epoch(answers: &[([u8; 32], Vec<u8>)]) -> Vec<Answer<'_>> {
        answers.iter().map(|(miner, payload)| Answer { submission: *miner, miner: *miner, payload }).collect()
    }

    fn score(answers: &[([u8; 32], Vec<u8>)], params: &Params, history: u32) -> Vec<Verdict> {
        let input = EpochInput { seed: [0; 32], epoch: EPOCH, answers: epoch(answers) };
        score_epoch_with(&input, params, |_| Some(history))
    }

    #[test]
    fn the_score_blends_lease_share_and_checks_and_scales_by_availability() {
        let p = Params::default();
        let (a, b) = ([1; 32], [2; 32]);
        // a: 4 passing workers, all leased; b: 2 leased of 4 passing.
        let answers = [(a, encode(&workers(&a, 10, 4, 4, &p))), (b, encode(&workers(&b, 100, 4, 2, &p)))];
        let all_epochs = score(&answers, &p, u32::MAX);
        assert_eq!(all_epochs[0].score_ppb(), PPB, "the biggest lessor with every check passed");
        // b: lease 0.5, challenge 1.0 → 0.7 × 0.5 + 0.3 × 1.0 = 0.65.
        assert_eq!(all_epochs[1].score_ppb(), 650_000_000);
        // Answered in 6 of the last 8 epochs: availability 0.75.
        let six_of_eight = 0b1011_1101;
        assert_eq!(score(&answers, &p, six_of_eight)[1].score_ppb(), 487_500_000);
        // Answers older than the window do not count.
        assert_eq!(score(&answers, &p, 0b1_0000_0001)[0].score_ppb(), PPB / 8);
    }

    #[test]
    fn workers_that_fail_the_check_past_the_cap_or_claimed_twice_do_not_count() {
        let p = Params { max_workers: 3, ..Params::default() };
        let (a, b) = ([1; 32], [2; 32]);
        let mut mine = workers(&a, 10, 3, 3, &p);
        mine[2].nonce = (0..).find(|n| !passes(EPOCH, &a, &Worker { nonce: *n, ..mine[2] }, p.difficulty)).unwrap();
        mine.push(solve(EPOCH, &a, [77; 32], true, p.difficulty));
        let answers = [(a, encode(&mine)), (b, encode(&workers(&b, 100, 1, 1, &p)))];
        let verdicts = score(&answers, &p, u32::MAX);
        let Verdict::Scored { detail, .. } = &verdicts[0] else { panic!("{verdicts:?}") };
        let part = |i: usize| u32::from_le_bytes(detail[4 * i..4 * i + 4].try_into().unwrap());
        assert_eq!(part(1), 666_666_666, "2 of the 3 counted pass (the 4th is past the cap)");
        assert_eq!(part(0), PPB, "2 passing leased: the most");
        assert_eq!(verdicts[1].score_ppb(), 650_000_000, "lease 0.5, challenge 1.0");
        // b claims one of a's workers: it counts for neither.
        let shared = [(a, encode(&mine)), (b, encode(&[mine[0]]))];
        let verdicts = score(&shared, &p, u32::MAX);
        let Verdict::Scored { detail, .. } = &verdicts[0] else { panic!("{verdicts:?}") };
        assert_eq!(u32::from_le_bytes(detail[4..8].try_into().unwrap()), 333_333_333, "1 of 3 still counts");
        assert_eq!(verdicts[1].score_ppb(), 0, "b's only worker is shared");
    }

    #[test]
    fn malformed_answers_parameters_and_missing_history_are_refused() {
        let p = Params::default();
        let a = [1; 32];
        let good = encode(&workers(&a, 10, 2, 1, &p));
        let mut dup = workers(&a, 10, 2, 1, &p);
        dup[1].id = dup[0].id;
        let mut flag = good.clone();
        flag[2 + 32] = 2;
        for (payload, why) in [
            (good[..good.len() - 1].to_vec(), "take"),
            (encode(&dup), "listed twice"),
            (flag, "neither 0 nor 1"),
            (Vec::new(), "worker count"),
        ] {
            match &score(&[(a, payload)], &p, 1)[0] {
                Verdict::Rejected { reason } => assert!(reason.contains(why), "{reason}"),
                other => panic!("{other:?}"),
            }
        }
        let lone = [(a, good)];
        let input = EpochInput { seed: [0; 32], epoch: EPOCH, answers: epoch(&lone) };
        assert!(matches!(&score_epoch_with(&input, &p, |_| None)[0], Verdict::Rejected { .. }));
        assert_eq!(Params::from_bytes(&p.to_bytes()), Ok(p));
        assert!(Params::from_bytes(&Params { window: 33, ..p }.to_bytes()).is_err());
        assert!(Params::from_bytes(&Params { lease_share_ppb: PPB + 1, ..p }.to_bytes()).is_err());
        assert!(Params::from_bytes(&[1, 2, 3]).is_err());
    }
}
