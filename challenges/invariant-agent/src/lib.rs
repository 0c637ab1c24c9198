//! `invariant-agent` (the scheme of a transaction-invariant subnet): a miner submits a WASM
//! agent that flags token transactions breaking storage invariants. The challenge runs the agent
//! in the nested sandbox once per case of a seeded, labelled case set and scores
//! `N^α · A^β · (T / L99)^γ`:
//!
//! - `N`: share of cases the agent answered (returned one valid byte within its fuel budget);
//! - `A`: share of cases answered correctly;
//! - `L99`: 99th percentile of the fuel the agent used per answered case, `T` a target fuel
//!   ([`TARGET_FUEL`]); `T / L99` is capped at 1, so beating the target earns nothing more;
//! - `α`, `β`, `γ`: the challenge's parameters, three bytes the owner registers with it
//!   ([`Exponents::from_params`]; none for `α = β = γ = 1`).
//!
//! Each epoch the challenge also scores the epoch's committed agents together, as a
//! transaction-invariant subnet scores its miners against their consensus: every agent runs on
//! the epoch's case set, a case's label is the answer at least 60 % of the agents that answered
//! it agree on ([`LABEL_QUORUM_PPB`], [`consensus_label`]; no label when neither answer reaches
//! it), and `A` becomes the share of labelled cases an agent matched ([`score_epoch_with`]).
//!
//! Agent ABI: export `platform_run` (see the SDK's `agent!`); input one [`Case`] encoded in
//! [`CASE_BYTES`] bytes; output one byte, 1 if the transaction breaks an invariant, else 0.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::format;
use alloc::vec::Vec;

use platform_challenge_sdk::host::{NestedRun, NestedStatus, params, run_nested};
use platform_challenge_sdk::rng::Rng;
use platform_challenge_sdk::{EpochInput, Input, PPB, Verdict, challenge, epoch_scorer};

/// Cases per evaluation.
pub const CASES: usize = 64;
/// Fuel budget for the agent per case.
pub const CASE_FUEL: u64 = 1_000_000;
/// Target fuel per case (`T`).
pub const TARGET_FUEL: u64 = 2_000;
/// The largest exponent the parameters may set.
pub const MAX_EXPONENT: u8 = 8;
/// Share of the answers to a case that must agree for the epoch's label to hold, in ppb (60 %).
pub const LABEL_QUORUM_PPB: u64 = 600_000_000;
/// Encoded size of a case.
pub const CASE_BYTES: usize = 2 + 8 * 5;

/// The scoring exponents: `α` of coverage `N`, `β` of accuracy `A`, `γ` of speed `T / L99`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exponents {
    /// `α`.
    pub alpha: u32,
    /// `β`.
    pub beta: u32,
    /// `γ`.
    pub gamma: u32,
}

impl Exponents {
    /// `α = β = γ = 1`: the challenge registered without parameters.
    pub const DEFAULT: Exponents = Exponents { alpha: 1, beta: 1, gamma: 1 };

    /// From the challenge's parameters: none for [`Exponents::DEFAULT`], else exactly three
    /// bytes `α β γ`, each at most [`MAX_EXPONENT`] (0 leaves that factor out).
    pub fn from_params(params: &[u8]) -> Result<Exponents, &'static str> {
        match *params {
            [] => Ok(Exponents::DEFAULT),
            [alpha, beta, gamma] if alpha.max(beta).max(gamma) <= MAX_EXPONENT => {
                Ok(Exponents { alpha: alpha.into(), beta: beta.into(), gamma: gamma.into() })
            }
            [_, _, _] => Err("the challenge's parameters set an exponent above 8"),
            _ => Err("the challenge's parameters must be empty or three bytes (alpha, beta, gamma)"),
        }
    }
}

/// What a transaction does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Moves `amount` from one account to another.
    Transfer = 0,
    /// Creates `amount` in the `to` account (admin only).
    Mint = 1,
    /// Destroys `amount` from the `from` account (admin only).
    Burn = 2,
}

/// A transaction with the balances before and after it, as a storage diff.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Case {
    /// What the transaction claims to be.
    pub kind: Kind,
    /// Whether the signer is the token admin.
    pub admin: bool,
    /// The amount.
    pub amount: u64,
    /// Sender balance before.
    pub from_before: u64,
    /// Receiver balance before.
    pub to_before: u64,
    /// Sender balance after.
    pub from_after: u64,
    /// Receiver balance after.
    pub to_after: u64,
}

impl Case {
    /// `kind u8 | admin u8 | amount | from_before | to_before | from_after | to_after` (u64 LE).
    pub fn encode(&self) -> [u8; CASE_BYTES] {
        let mut out = [0u8; CASE_BYTES];
        out[0] = self.kind as u8;
        out[1] = u8::from(self.admin);
        let words = [self.amount, self.from_before, self.to_before, self.from_after, self.to_after];
        for (i, w) in words.iter().enumerate() {
            out[2 + 8 * i..10 + 8 * i].copy_from_slice(&w.to_le_bytes());
        }
        out
    }

    /// Reads [`Case::encode`]'s bytes.
    pub fn decode(bytes: &[u8]) -> Option<Case> {
        if bytes.len() != CASE_BYTES {
            return None;
        }
        let word = |i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&bytes[2 + 8 * i..10 + 8 * i]);
            u64::from_le_bytes(w)
        };
        let kind = match bytes[0] {
            0 => Kind::Transfer,
            1 => Kind::Mint,
            2 => Kind::Burn,
            _ => return None,
        };
        Some(Case {
            kind,
            admin: bytes[1] == 1,
            amount: word(0),
            from_before: word(1),
            to_before: word(2),
            from_after: word(3),
            to_after: word(4),
        })
    }

    /// The label: whether the diff breaks an invariant (conservation of supply for transfers,
    /// no overdraft, admin-only mint and burn, balances moved by exactly `amount`).
    pub fn breaks_invariant(&self) -> bool {
        let debit = self.from_before.checked_sub(self.amount);
        let credit = self.to_before.checked_add(self.amount);
        let valid = match self.kind {
            Kind::Transfer => debit == Some(self.from_after) && credit == Some(self.to_after),
            Kind::Mint => self.admin && self.from_after == self.from_before && credit == Some(self.to_after),
            Kind::Burn => self.admin && debit == Some(self.from_after) && self.to_after == self.to_before,
        };
        !valid
    }
}

/// The seeded case set: valid transactions, about 40% of them corrupted one way or another.
pub fn cases(seed: &[u8; 32]) -> Vec<Case> {
    let mut rng = Rng::new(seed, b"invariant-agent/cases");
    (0..CASES)
        .map(|_| {
            let kind = match rng.below(3) {
                0 => Kind::Mint,
                1 => Kind::Burn,
                _ => Kind::Transfer,
            };
            let from_before = rng.below(1_000_000);
            let to_before = rng.below(1_000_000);
            let amount = rng.below(from_before.max(1));
            let mut case = Case {
                kind,
                admin: kind != Kind::Transfer,
                amount,
                from_before,
                to_before,
                from_after: if kind == Kind::Mint { from_before } else { from_before - amount },
                to_after: if kind == Kind::Burn { to_before } else { to_before + amount },
            };
            match rng.below(10) {
                0 => case.admin = false,
                1 => case.to_after += 1 + rng.below(10),
                2 => case.from_after = case.from_after.wrapping_add(1),
                3 => {
                    case.amount = case.from_before + 1 + rng.below(100);
                    case.from_after = 0;
                }
                _ => {}
            }
            case
        })
        .collect()
}

/// `N^α · A^β · (T / L99)^γ` in ppb from per-case results `(answered, correct, fuel)`, with
/// `A` the share of all cases answered correctly.
pub fn score(results: &[(bool, bool, u64)], exponents: Exponents) -> (u32, u64) {
    score_against(results, results.len(), exponents)
}

/// [`score`] with `A` the share of `labelled` cases answered correctly (a case without a label
/// is never correct, so `labelled` ≥ the correct answers).
pub fn score_against(results: &[(bool, bool, u64)], labelled: usize, exponents: Exponents) -> (u32, u64) {
    let total = results.len().max(1) as u64;
    let answered = results.iter().filter(|r| r.0).count() as u64;
    let correct = results.iter().filter(|r| r.0 && r.1).count() as u64;
    let mut fuels: Vec<u64> = results.iter().filter(|r| r.0).map(|r| r.2).collect();
    fuels.sort_unstable();
    let l99 = match fuels.len() {
        0 => u64::MAX,
        n => fuels[(n * 99).div_ceil(100) - 1],
    };
    let ratio = |num: u64, den: u64| (u128::from(num) * u128::from(PPB) / u128::from(den.max(1))) as u64;
    let speed = ratio(TARGET_FUEL, l99).min(u64::from(PPB));
    let pow = |base: u64, exp: u32| (0..exp).fold(u64::from(PPB), |acc, _| acc * base / u64::from(PPB));
    let Exponents { alpha, beta, gamma } = exponents;
    let ppb = pow(ratio(answered, total), alpha) * pow(ratio(correct, labelled as u64), beta) / u64::from(PPB)
        * pow(speed, gamma)
        / u64::from(PPB);
    (ppb as u32, l99)
}

/// The label the answers to one case agree on: `Some(flag)` when at least
/// [`LABEL_QUORUM_PPB`] of the answers given say `flag`, `None` when neither answer reaches it
/// or nobody answered. Unanswered cases (`None`) do not vote.
pub fn consensus_label(answers: impl IntoIterator<Item = Option<bool>>) -> Option<bool> {
    let (mut yes, mut no) = (0u64, 0u64);
    for answer in answers.into_iter().flatten() {
        if answer {
            yes += 1;
        } else {
            no += 1;
        }
    }
    let total = yes + no;
    let holds = |votes: u64| {
        total > 0 && u128::from(votes) * u128::from(PPB) >= u128::from(LABEL_QUORUM_PPB) * u128::from(total)
    };
    if holds(yes) {
        Some(true)
    } else if holds(no) {
        Some(false)
    } else {
        None
    }
}

/// One agent's run over the cases: per case its answer (`None` unanswered) and the fuel used.
type Answers = Vec<(Option<bool>, u64)>;

/// Runs one agent on the cases, or `None` when the module is not a usable agent.
fn answers(cases: &[Case], mut agent: impl FnMut(&[u8]) -> NestedRun) -> Option<Answers> {
    let mut out = Vec::with_capacity(cases.len());
    for case in cases {
        let run = agent(&case.encode());
        if run.status == NestedStatus::InvalidModule || run.status == NestedStatus::Unavailable {
            return None;
        }
        let answer = match (run.status, run.output.as_slice()) {
            (NestedStatus::Ok, [flag @ (0 | 1)]) => Some(*flag == 1),
            _ => None,
        };
        out.push((answer, run.fuel_used));
    }
    Some(out)
}

const NOT_AN_AGENT: &str = "the payload is not a usable agent module (see the challenge README)";

/// Runs `agent` on every case and scores it against the challenge's own labels.
pub fn evaluate_with(seed: &[u8; 32], exponents: Exponents, agent: impl FnMut(&[u8]) -> NestedRun) -> Verdict {
    let cases = cases(seed);
    let Some(answers) = answers(&cases, agent) else { return Verdict::rejected(NOT_AN_AGENT) };
    let results: Vec<(bool, bool, u64)> = answers
        .iter()
        .zip(&cases)
        .map(|(&(answer, fuel), case)| (answer.is_some(), answer == Some(case.breaks_invariant()), fuel))
        .collect();
    let (score_ppb, l99) = score(&results, exponents);
    let correct = results.iter().filter(|r| r.1).count();
    Verdict::Scored { score_ppb, detail: format!("correct={correct}/{CASES} l99_fuel={l99}").into_bytes() }
}

/// Scores `agents` agents together on the epoch's cases: each runs every case (`run(agent,
/// case)`), each case's label is their [`consensus_label`], and each agent is scored by
/// [`score_against`] the labelled cases. One verdict per agent, in order; an agent that is not a
/// usable module is rejected and does not vote.
pub fn score_epoch_with(
    seed: &[u8; 32],
    exponents: Exponents,
    agents: usize,
    mut run: impl FnMut(usize, &[u8]) -> NestedRun,
) -> Vec<Verdict> {
    let cases = cases(seed);
    let answered: Vec<Option<Answers>> = (0..agents).map(|agent| answers(&cases, |case| run(agent, case))).collect();
    let labels: Vec<Option<bool>> =
        (0..cases.len()).map(|c| consensus_label(answered.iter().flatten().map(|per_case| per_case[c].0))).collect();
    let labelled = labels.iter().filter(|l| l.is_some()).count();
    answered
        .iter()
        .map(|per_case| {
            let Some(per_case) = per_case else { return Verdict::rejected(NOT_AN_AGENT) };
            let results: Vec<(bool, bool, u64)> = per_case
                .iter()
                .zip(&labels)
                .map(|(&(answer, fuel), label)| (answer.is_some(), label.is_some() && answer == *label, fuel))
                .collect();
            let (score_ppb, l99) = score_against(&results, labelled, exponents);
            let agreed = results.iter().filter(|r| r.1).count();
            let detail = format!("agreed={agreed}/{labelled} labelled of {CASES} l99_fuel={l99}");
            Verdict::Scored { score_ppb, detail: detail.into_bytes() }
        })
        .collect()
}

/// The challenge: the payload is the agent's WASM module; the exponents come from the
/// challenge's parameters (bad ones reject every payload, saying why).
pub fn evaluate(input: &Input) -> Verdict {
    match Exponents::from_params(&params()) {
        Ok(exponents) => evaluate_with(&input.seed, exponents, |case| run_nested(input.payload, case, CASE_FUEL, 16)),
        Err(reason) => Verdict::rejected(reason),
    }
}

/// The epoch scorer: every committed agent of the epoch, scored against their consensus.
pub fn score_epoch(input: &EpochInput) -> Vec<Verdict> {
    match Exponents::from_params(&params()) {
        Ok(exponents) => score_epoch_with(&input.seed, exponents, input.answers.len(), |agent, case| {
            run_nested(input.answers[agent].payload, case, CASE_FUEL, 16)
        }),
        Err(reason) => input.answers.iter().map(|_| Verdict::rejected(reason)).collect(),
    }
}

challenge!(evaluate);
epoch_scorer!(score_epoch);

#[cfg(test)]
mod tests;
