use super::*;
use platform_types::{ChallengeId, EvaluationStatus};

const NETUID: NetUid = NetUid::new(1);

fn id(n: u64) -> SubmissionId {
    SubmissionId(platform_types::blake2b_256(&n.to_le_bytes()))
}

fn verdict(by: &Keypair, n: u64, epoch: u64) -> Evaluation {
    Evaluation {
        submission: id(n),
        challenge: ChallengeId::new("c").expect("id"),
        validator: by.public(),
        status: EvaluationStatus::Scored,
        score_ppb: 1,
        fuel_used: 1,
        output_hash: Hash::ZERO,
        epoch: Epoch::new(epoch),
    }
}

fn batch(by: &Keypair, ns: impl IntoIterator<Item = u64>) -> (EvaluationBatch, Envelope) {
    let batch = EvaluationBatch::new(ns.into_iter().map(|n| verdict(by, n, 1)).collect()).expect("batch");
    let envelope = Envelope::seal(by, NETUID, &batch);
    (batch, envelope)
}

fn pooled(pool: &EvaluationPool) -> Vec<Vec<SubmissionId>> {
    pool.envelopes()
        .map(|e| {
            let batch = <EvaluationBatch as platform_types::Codec>::from_bytes(&e.payload).expect("batch");
            batch.evaluations().iter().map(|v| v.submission).collect()
        })
        .collect()
}

/// Hole (kept from single evaluations): the pool was bounded in all but not per signer, so one
/// validator flooding signed evaluations of made-up submissions filled it and the others' were
/// refused. Each signer has a share of the room, counted in verdicts.
#[test]
fn one_signer_cannot_crowd_out_the_others_evaluations() {
    let flooder = Keypair::from_suri("//flooder").expect("key");
    let honest = Keypair::from_suri("//honest").expect("key");
    let mut pool = EvaluationPool::new(32);
    let share = pool.share(4);
    assert_eq!(share, 8);
    let kept = (0..100)
        .filter(|n| {
            let (b, e) = batch(&flooder, [3 * n, 3 * n + 1, 3 * n + 2]);
            pool.add(&b, e, share).is_ok()
        })
        .count();
    assert_eq!((kept, pool.held_by(&flooder.public())), (2, 6), "the flooder keeps its share and no more");
    let (b, e) = batch(&honest, 1_000..1_008);
    pool.add(&b, e, share).expect("the honest validator's share is whole");
    let (b, e) = batch(&honest, [2_000]);
    assert_eq!(pool.add(&b, e, share), Err(Refused::Full));
}

/// A batch is pooled once, and not beside another one holding a verdict of it: every verdict
/// is in one pooled batch at most, so ordering one batch tells which others fall.
#[test]
fn a_batch_overlapping_a_pooled_one_is_refused() {
    let v = Keypair::from_suri("//v").expect("key");
    let mut pool = EvaluationPool::new(64);
    let (b, e) = batch(&v, [1, 2]);
    pool.add(&b, e.clone(), 64).expect("first");
    assert_eq!(pool.add(&b, e, 64), Err(Refused::Duplicate));
    let (b, e) = batch(&v, [2, 3]);
    assert_eq!(pool.add(&b, e, 64), Err(Refused::Overlaps));
    // The same submission judged by another validator is another verdict.
    let (b, e) = batch(&Keypair::from_suri("//w").expect("key"), [2, 3]);
    pool.add(&b, e, 64).expect("another validator's");
}

/// Hole (kept): a validator's own verdicts beyond its share were refused and never ordered.
/// They wait, in order, and are signed into later batches as earlier ones are ordered; a batch
/// of its own that can no longer be ordered gives back its other verdicts, to sign again.
#[test]
fn own_verdicts_wait_for_room_and_are_signed_again_when_their_batch_falls() {
    let me = Keypair::from_suri("//me").expect("key");
    let mut pool = EvaluationPool::new(32);
    let share = pool.share(16);
    assert_eq!(share, 2);
    for n in 1..=5 {
        pool.add_own(verdict(&me, n, 1));
    }
    pool.add_own(verdict(&me, 3, 1));
    assert_eq!(pool.own_waiting(), 5, "once each");
    let first = pool.seal_own(&me, NETUID, share).expect("a batch within the share");
    assert!(pool.seal_own(&me, NETUID, share).is_none(), "the share is full");
    assert_eq!(pooled(&pool), [vec![id(1), id(2)]]);
    assert_eq!(pool.own_waiting(), 3);
    first.open::<EvaluationBatch>(NETUID).expect("signed by this validator");

    // Ordered: room for the next ones, oldest first.
    pool.remove_ordered(&[(id(1), me.public()), (id(2), me.public())], &me.public());
    pool.seal_own(&me, NETUID, share).expect("next");
    assert_eq!(pooled(&pool), [vec![id(3), id(4)]]);

    // Submission 3 retires before the batch is ordered: the batch falls, 4 is signed again
    // ahead of 5.
    pool.retain(|s, _| *s != id(3));
    assert!(pooled(&pool).is_empty());
    assert_eq!(pool.own_waiting(), 2);
    pool.seal_own(&me, NETUID, share).expect("again");
    assert_eq!(pooled(&pool), [vec![id(4), id(5)]]);
}

/// A block ordering one verdict takes out every batch holding it: the batch it came in, or
/// another validator's stale batch holding the same verdict, which no block could order now.
#[test]
fn ordered_verdicts_take_their_batches_out() {
    let me = Keypair::from_suri("//me").expect("key");
    let other = Keypair::from_suri("//other").expect("key");
    let mut pool = EvaluationPool::new(64);
    let (b, e) = batch(&other, [1, 2]);
    pool.add(&b, e, 16).expect("other's");
    for n in [1, 2, 3] {
        pool.add_own(verdict(&me, n, 1));
    }
    pool.seal_own(&me, NETUID, 16).expect("mine");
    assert_eq!(pooled(&pool).len(), 2);
    // A block ordered other's verdict on 1 (in some batch) and mine on 2, say from a batch this
    // validator signed before a restart: both pooled batches fall; my 1 and 3 are signed again.
    pool.remove_ordered(&[(id(1), other.public()), (id(2), me.public())], &me.public());
    assert!(pooled(&pool).is_empty());
    assert_eq!((pool.held_by(&other.public()), pool.held_by(&me.public())), (0, 0));
    pool.seal_own(&me, NETUID, 16).expect("again");
    assert_eq!(pooled(&pool), [vec![id(1), id(3)]]);
}

/// Verdicts no block can order (of retired submissions, or naming an epoch that passed) leave
/// with their batches, not kept until the pool's cap refuses new ones.
#[test]
fn batches_no_block_can_order_are_dropped() {
    let v = Keypair::from_suri("//v").expect("key");
    let mut pool = EvaluationPool::new(64);
    for n in 1..=4 {
        let b = EvaluationBatch::new(vec![verdict(&v, n, n)]).expect("batch");
        let e = Envelope::seal(&v, NETUID, &b);
        pool.add(&b, e, 64).expect("pooled");
    }
    let retired = [id(1), id(3)];
    pool.retain(|s, epoch| !retired.contains(s) && epoch >= Epoch::new(2));
    assert_eq!(pooled(&pool), [vec![id(2)], vec![id(4)]]);
    assert_eq!(pool.held_by(&v.public()), 2);
}
