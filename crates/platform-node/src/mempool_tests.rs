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

/// Evaluations that can never be ordered (of retired submissions, or naming an epoch that
/// passed) are dropped, not kept until the pool's cap refuses new ones.
#[test]
fn evaluations_no_block_can_order_are_dropped() {
    let validator = Keypair::from_suri("//v").expect("key");
    let mut pool = Mempool::new(8, 8);
    let envelope = |n: u8| {
        platform_types::Envelope::seal(&validator, platform_types::NetUid::new(1), &submission(&validator, n.into()))
    };
    for n in 1..=4 {
        assert!(pool.add_evaluation(id(n), validator.public(), Epoch::new(u64::from(n)), envelope(n), 8));
    }
    let retired = [id(1), id(3)];
    pool.retain_evaluations(|s, epoch| !retired.contains(s) && epoch >= Epoch::new(2));
    let left: Vec<SubmissionId> = pool.evaluations().map(|((s, _), _)| *s).collect();
    assert_eq!(left, vec![id(2), id(4)]);
    assert_eq!(pool.evaluations_by(&validator.public()), 2);
}

/// Hole: the pool's evaluations were bounded in all but not per signer, so one validator
/// flooding signed evaluations of made-up submissions filled it, and the other validators'
/// evaluations were refused: their submissions never became final. Each signer now has a
/// share of the room.
#[test]
fn one_signer_cannot_crowd_out_the_others_evaluations() {
    let flooder = Keypair::from_suri("//flooder").expect("key");
    let honest = Keypair::from_suri("//honest").expect("key");
    let mut pool = Mempool::new(8, 8);
    let share = pool.evaluation_share(4);
    assert_eq!((pool.evaluation_room(), share), (32, 8));
    let envelope = |key: &Keypair, n: u64| {
        platform_types::Envelope::seal(key, platform_types::NetUid::new(1), &submission(key, n))
    };
    let made_up = |n: u64| SubmissionId(platform_types::blake2b_256(&n.to_le_bytes()));
    let kept = (0..1_000)
        .filter(|&n| pool.add_evaluation(made_up(n), flooder.public(), Epoch::new(1), envelope(&flooder, n), share))
        .count();
    assert_eq!(kept, share, "the flooder keeps its share and no more");
    for n in 0..share as u64 {
        assert!(pool.add_evaluation(made_up(10_000 + n), honest.public(), Epoch::new(1), envelope(&honest, n), share));
    }
    assert_eq!(pool.evaluations_by(&honest.public()), share);
}

/// Hole: a validator's own evaluations went through the same share as another validator's,
/// and those beyond it were refused: never gossiped, never ordered (a burst of 206 submissions
/// among 16 validators left 1 068 of 3 296 evaluations ever ordered in the simulator), so most
/// submissions never became final. Now they wait, in order, and are offered — each returned,
/// to gossip — as earlier ones are ordered.
#[test]
fn own_evaluations_beyond_the_share_wait_and_are_offered_in_order() {
    let me = Keypair::from_suri("//me").expect("key");
    let mut pool = Mempool::new(8, 8);
    let share = pool.evaluation_share(16);
    assert_eq!(share, 2);
    // Signed once each (a signature differs at every signing).
    let signed: Vec<platform_types::Envelope> = (0..10)
        .map(|n| platform_types::Envelope::seal(&me, platform_types::NetUid::new(1), &submission(&me, n)))
        .collect();
    let envelope = |n: u64| signed[n as usize].clone();
    let offered: Vec<bool> = (1..=5u8)
        .map(|n| !pool.add_own_evaluation(id(n), me.public(), Epoch::new(1), envelope(n.into()), share).is_empty())
        .collect();
    assert_eq!(offered, [true, true, false, false, false], "offered within the share, the rest waits");
    assert_eq!((pool.evaluations_by(&me.public()), pool.own_waiting()), (2, 3));
    assert!(pool.add_own_evaluation(id(3), me.public(), Epoch::new(1), envelope(3), share).is_empty(), "once");
    assert_eq!(pool.own_waiting(), 3);
    // A block (this validator's own) can order every one of them, waiting or not.
    let all: Vec<SubmissionId> = pool.evaluations().map(|((s, _), _)| *s).collect();
    assert_eq!(all, [id(1), id(2), id(3), id(4), id(5)]);

    // Ordered: the next ones are offered, oldest first, up to the share.
    pool.remove_evaluation(&id(1), &me.public());
    let next: Vec<_> = pool.offer_own(&me.public(), share);
    assert_eq!(next, vec![envelope(3)]);
    // One ordered while it waited (by this validator's own block) is not offered again.
    pool.remove_evaluation(&id(4), &me.public());
    pool.remove_evaluation(&id(2), &me.public());
    pool.remove_evaluation(&id(3), &me.public());
    assert_eq!(pool.offer_own(&me.public(), share), vec![envelope(5)]);
    assert_eq!(pool.own_waiting(), 0);
    // Those no block can order any more leave the waiting line too.
    for n in 6..=9u8 {
        pool.add_own_evaluation(id(n), me.public(), Epoch::new(1), envelope(n.into()), share);
    }
    assert_eq!(pool.own_waiting(), 3);
    pool.retain_evaluations(|s, _| *s != id(8));
    assert_eq!(pool.own_waiting(), 2);
}

/// Hole: the node remembered 65 536 checked signatures while its pool can hold four times its
/// capacity of evaluations (400 000 by default); under a backlog the rules checked again, one
/// by one, evaluations the gossip pump had checked in a batch. The memory now spans the pool.
#[test]
fn the_memory_of_checked_signatures_spans_the_pool() {
    for capacity in [1, 64, 16_384, crate::config::DEFAULT_MEMPOOL_CAPACITY] {
        let room = Mempool::new(capacity, 1).evaluation_room();
        assert!(crate::node::verified_capacity(capacity) > room, "capacity {capacity}: room {room}");
    }
}
