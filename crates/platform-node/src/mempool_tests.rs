use super::*;
use platform_types::{ChallengeId, Hash, Keypair, Payload};

fn submission(miner: &Keypair, nonce: u64) -> Submission {
    Submission {
        challenge: ChallengeId::new("c").expect("id"),
        miner: miner.public(),
        payload: Payload::Inline(vec![1]),
        payload_size: 1,
        metadata: vec![],
        nonce,
        timestamp_ms: 0,
        phase: Default::default(),
    }
}

fn id(n: u8) -> SubmissionId {
    SubmissionId(Hash::from_bytes([n; 32]))
}

#[test]
fn rate_capacity_and_duplicates_are_enforced() {
    let miner = Keypair::from_suri("//m").expect("key");
    let mut pool = Mempool::new(3, 2);
    pool.admit(id(1), submission(&miner, 1), 0, true).expect("first");
    assert_eq!(pool.admit(id(1), submission(&miner, 1), 0, true), Err(Refusal::Duplicate));
    pool.admit(id(2), submission(&miner, 2), 10, true).expect("second");
    assert_eq!(pool.admit(id(3), submission(&miner, 3), 20, true), Err(Refusal::RateLimited(2)));
    pool.admit(id(3), submission(&miner, 3), 60_000, true).expect("next window");
    assert_eq!(pool.admit(id(4), submission(&miner, 4), 60_001, false), Err(Refusal::Full(3)));
    pool.remove_submission(&id(1));
    assert_eq!(pool.submission_ids().copied().collect::<Vec<_>>(), vec![id(2), id(3)]);
}

/// Hole: acknowledged submissions could hold up to 100 000 payloads of up to 64 MiB each on
/// disk until ordered. Now their bytes are capped in all and per miner, and freed as blocks
/// order them.
#[test]
fn unordered_bytes_are_capped_in_all_and_per_miner() {
    let (a, b) = (Keypair::from_suri("//a").expect("key"), Keypair::from_suri("//b").expect("key"));
    let big = |miner: &Keypair, nonce: u64, size: u64| Submission { payload_size: size, ..submission(miner, nonce) };
    let cap = 16 * 1024 * 1024;
    let share = cap / MINER_SHARE;
    let mut pool = Mempool::new(100, 100).with_byte_cap(cap);
    let under = share - footprint(&submission(&a, 0));
    pool.admit(id(1), big(&a, 1, under / 2), 0, false).expect("half a share");
    assert!(matches!(
        pool.admit(id(2), big(&a, 2, under), 0, false),
        Err(Refusal::MinerBytes { cap: c, .. }) if c == share
    ));
    pool.admit(id(3), big(&b, 3, under / 2), 0, false).expect("another miner has its own share");
    assert_eq!(pool.bytes(), 2 * footprint(&big(&a, 1, under / 2)));
    pool.remove_submission(&id(1));
    pool.admit(id(2), big(&a, 2, under / 2), 0, false).expect("room again once ordered");

    // The whole cap: many miners, each within its share.
    let mut pool = Mempool::new(1_000, 100).with_byte_cap(cap);
    let mut refused = None;
    for n in 0..40u8 {
        let miner = Keypair::from_suri(&format!("//m{n}")).expect("key");
        if let Err(e) = pool.admit(id(n), big(&miner, 1, share / 2), 0, false) {
            refused = Some((n, e));
            break;
        }
    }
    let (n, refusal) = refused.expect("the cap is reached");
    assert!(matches!(refusal, Refusal::Bytes { cap: c, .. } if c == cap), "{refusal}");
    assert!(pool.bytes() <= cap && u64::from(n) * (share / 2) <= cap);
}

#[test]
fn a_held_submission_is_known_but_not_proposed_until_released() {
    let miner = Keypair::from_suri("//m").expect("key");
    let mut pool = Mempool::new(8, 8);
    pool.admit(id(1), submission(&miner, 1), 0, true).expect("first");
    pool.admit(id(2), submission(&miner, 2), 0, true).expect("second");
    pool.hold(id(1));
    assert!(pool.get(&id(1)).is_some());
    assert_eq!(pool.admit(id(1), submission(&miner, 1), 0, true), Err(Refusal::Duplicate));
    assert_eq!(pool.submission_ids().copied().collect::<Vec<_>>(), vec![id(2)]);
    pool.release(&id(1));
    assert_eq!(pool.submission_ids().copied().collect::<Vec<_>>(), vec![id(1), id(2)]);
    pool.hold(id(2));
    pool.remove_submission(&id(2));
    pool.admit(id(2), submission(&miner, 2), 0, false).expect("admitted again after removal");
    assert_eq!(pool.submission_ids().copied().collect::<Vec<_>>(), vec![id(1), id(2)]);
}

/// Hole: the node remembered 65 536 checked signatures while its pool can hold four times its
/// capacity of evaluations (400 000 by default); under a backlog the rules checked again, one
/// by one, evaluations the gossip pump had checked in a batch. The memory now spans the pool.
#[test]
fn the_memory_of_checked_signatures_spans_the_pool() {
    for capacity in [1, 64, 16_384, crate::config::DEFAULT_MEMPOOL_CAPACITY] {
        let room = Mempool::new(capacity, 1).evaluations.room();
        assert!(crate::node::verified_capacity(capacity) > room, "capacity {capacity}: room {room}");
    }
}
