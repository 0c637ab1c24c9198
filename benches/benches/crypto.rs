//! Signing and verification through Platform's envelope against raw schnorrkel.
#![allow(missing_docs)] // criterion_group! generates undocumented public functions

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use platform_types::{
    ChallengeId, Codec, Envelope, Keypair, NetUid, Payload, Signed, Submission, WireMessage, limits, signing_bytes,
};
use schnorrkel::{ExpansionMode, MiniSecretKey, signing_context};
use std::hint::black_box;

const NETUID: NetUid = NetUid::new(100);

fn submission(keypair: &Keypair, size: usize) -> Submission {
    Submission {
        challenge: ChallengeId::new("regression").expect("id"),
        miner: keypair.public(),
        payload: Payload::Inline(vec![7; size]),
        payload_size: size as u64,
        metadata: vec![("model".into(), "v1".into())],
        nonce: 1,
        timestamp_ms: 1_764_000_000_000,
        phase: Default::default(),
    }
}

fn sign_verify(c: &mut Criterion) {
    let keypair = Keypair::from_suri("//Alice").expect("alice");
    let raw = MiniSecretKey::from_bytes(&[1; 32]).expect("seed").expand_to_keypair(ExpansionMode::Ed25519);
    let message = submission(&keypair, 256);
    let payload = message.to_bytes();
    let signed_bytes = signing_bytes(message.kind(), NETUID, &payload);
    let context = signing_context(b"substrate");
    let raw_signature = raw.sign(context.bytes(&signed_bytes));
    let envelope = Envelope::seal(&keypair, NETUID, &message);
    let wire = envelope.to_bytes();

    let mut group = c.benchmark_group("sign_verify");
    group.bench_function("baseline_schnorrkel_sign", |b| b.iter(|| raw.sign(context.bytes(black_box(&signed_bytes)))));
    group.bench_function("envelope_seal", |b| b.iter(|| Envelope::seal(&keypair, NETUID, black_box(&message))));
    group.bench_function("baseline_schnorrkel_verify", |b| {
        b.iter(|| raw.public.verify(context.bytes(black_box(&signed_bytes)), &raw_signature))
    });
    group.bench_function("envelope_decode_open", |b| {
        b.iter(|| {
            let envelope = Envelope::from_bytes(black_box(&wire), limits::MAX_ENVELOPE_BYTES).expect("decode");
            let opened: Signed<Submission> = envelope.open(NETUID).expect("open");
            opened
        })
    });
    group.finish();
}

fn encode_decode(c: &mut Criterion) {
    let keypair = Keypair::from_suri("//Alice").expect("alice");
    let mut group = c.benchmark_group("envelope_codec");
    for size in [256usize, 64 * 1024] {
        let envelope = Envelope::seal(&keypair, NETUID, &submission(&keypair, size));
        let wire = envelope.to_bytes();
        group.throughput(Throughput::Bytes(wire.len() as u64));
        group.bench_with_input(BenchmarkId::new("baseline_memcpy", size), &wire, |b, wire| {
            b.iter(|| black_box(wire).clone())
        });
        group.bench_with_input(BenchmarkId::new("encode", size), &envelope, |b, e| b.iter(|| black_box(e).to_bytes()));
        group.bench_with_input(BenchmarkId::new("decode", size), &wire, |b, wire| {
            b.iter(|| Envelope::from_bytes(black_box(wire), limits::MAX_ENVELOPE_BYTES).expect("decode"))
        });
        group.bench_with_input(BenchmarkId::new("decode_payload", size), &envelope, |b, e| {
            b.iter(|| Submission::from_bytes(black_box(&e.payload)).expect("decode"))
        });
    }
    group.finish();
}

/// Batches of submissions as admission and the gossip pump check them: 1, 4, 16, 64 and 1 024 from
/// at most 4 miners (signers repeat, as they do on a subnet; the small batches are what admission's
/// verifier gathers when submissions trickle in), and 1 024 from 1 024 distinct signers (the case
/// where grouping by signer cannot help). The envelope layer's batch check (signer keys remembered,
/// each signer's key one term of the batch equation) against raw schnorrkel's with the keys already
/// decompressed and one term per signature, in the same run.
fn batch_verify(c: &mut Criterion) {
    let context = signing_context(b"substrate");
    for (size, signers) in [(1usize, 1usize), (4, 4), (16, 4), (64, 4), (1024, 4), (1024, 1024)] {
        let miners: Vec<Keypair> =
            (0..signers).map(|i| Keypair::from_suri(&format!("//Miner{i}")).expect("key")).collect();
        let envelopes: Vec<Envelope> = (0..size)
            .map(|i| {
                let miner = &miners[i % miners.len()];
                Envelope::seal(miner, NETUID, &Submission { nonce: i as u64, ..submission(miner, 64) })
            })
            .collect();
        let refs: Vec<&Envelope> = envelopes.iter().collect();
        let messages: Vec<Vec<u8>> = envelopes.iter().map(|e| signing_bytes(e.kind, NETUID, &e.payload)).collect();
        let signatures: Vec<schnorrkel::Signature> =
            envelopes.iter().map(|e| schnorrkel::Signature::from_bytes(e.signature.as_bytes()).expect("sig")).collect();
        let keys: Vec<schnorrkel::PublicKey> =
            envelopes.iter().map(|e| schnorrkel::PublicKey::from_bytes(e.signer.as_bytes()).expect("key")).collect();
        let mut group = c.benchmark_group(format!("verify_batch_{size}_from_{signers}_signers"));
        group.throughput(Throughput::Elements(size as u64));
        group.bench_function("baseline_schnorrkel_keys_decompressed_one_term_each", |b| {
            b.iter(|| {
                let transcripts = messages.iter().map(|m| context.bytes(m));
                schnorrkel::verify_batch(transcripts, &signatures, black_box(&keys), false).expect("valid")
            })
        });
        group.bench_function("envelope_verify_batch", |b| {
            b.iter(|| Envelope::verify_batch(black_box(&refs), NETUID).expect("valid"))
        });
        group.finish();
    }
}

/// One drand-timelocked weights commit (the SCALE payload, BF-IBE to quicknet's key for a round,
/// AES-GCM, compressed) for 256 and 4 096 uids, against one sr25519 signature in the same run.
fn timelocked_commit(c: &mut Criterion) {
    use platform_chain::{WeightVector, tlock};
    use platform_types::MechanismId;
    let keypair = Keypair::from_suri("//Alice").expect("alice");
    let raw = MiniSecretKey::from_bytes(&[1; 32]).expect("seed").expand_to_keypair(ExpansionMode::Ed25519);
    let context = signing_context(b"substrate");
    let message = [7u8; 256];
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1);
    let mut group = c.benchmark_group("timelocked_commit");
    group.sample_size(20);
    group.bench_function("baseline_sr25519_sign", |b| b.iter(|| raw.sign(context.bytes(black_box(&message)))));
    for uids in [256u16, 4096] {
        let weights = WeightVector {
            netuid: NETUID,
            mechanism: MechanismId::new(0),
            uids: (0..uids).collect(),
            values: (0..uids).map(|u| u | 1).collect(),
            version_key: 1,
        };
        group.bench_with_input(BenchmarkId::new("commit", uids), &weights, |b, w| {
            b.iter(|| tlock::weights_commit(&keypair.public(), black_box(w), 25_000_000, &mut rng).expect("commit"))
        });
    }
    group.finish();
}

criterion_group!(benches, sign_verify, encode_decode, batch_verify, timelocked_commit);
criterion_main!(benches);
