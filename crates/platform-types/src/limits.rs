//! Size limits enforced when decoding anything from outside. Every repeated field and byte
//! string of the wire protocol has one, so a decoded value is bounded in memory.

/// Default cap on an encoded envelope (a block of weights for thousands of uids fits easily).
pub const MAX_ENVELOPE_BYTES: usize = 4 * 1024 * 1024;
/// Largest payload carried inside a submission; larger payloads travel as blobs.
pub const MAX_INLINE_PAYLOAD_BYTES: usize = 256 * 1024;
/// Largest payload (inline or blob) a submission may declare.
pub const MAX_PAYLOAD_BYTES: u64 = 64 * 1024 * 1024;
/// Metadata entries per submission.
pub const MAX_METADATA_ENTRIES: usize = 16;
/// Length of a metadata key.
pub const MAX_METADATA_KEY_BYTES: usize = 64;
/// Length of a metadata value.
pub const MAX_METADATA_VALUE_BYTES: usize = 1024;
/// Length of a challenge's display name.
pub const MAX_NAME_BYTES: usize = 128;
/// Longest challenge parameters ([`crate::ChallengeSpec::params`]).
pub const MAX_PARAMS_BYTES: usize = 4096;
/// Longest reveal window of a two-phase challenge, in blocks: well inside the shortest block
/// retention a validator may keep, so a commitment's body is still stored when its reveal runs.
pub const MAX_REVEAL_BLOCKS: u32 = 500;
/// Validators in one set (and so votes in one certificate).
pub const MAX_VALIDATORS: usize = 256;
/// Neurons in one metagraph snapshot (a subnet has at most this many uids today).
pub const MAX_METAGRAPH_NEURONS: usize = 4096;
/// Actions in one block.
pub const MAX_BLOCK_ACTIONS: usize = 4096;
/// Verdicts in one [`crate::EvaluationBatch`].
pub const MAX_BATCH_EVALUATIONS: usize = 1024;
/// Mechanisms in one weights proposal.
pub const MAX_MECHANISMS: usize = 32;
/// Uids in one mechanism's weight vector (a subnet has at most 65536 uids).
pub const MAX_WEIGHT_UIDS: usize = 65_536;
/// Length of a libp2p peer id in a binding.
pub const MAX_PEER_ID_BYTES: usize = 128;
/// Largest WASM module a challenge may register.
pub const MAX_MODULE_BYTES: u64 = 32 * 1024 * 1024;
/// Parts per billion: the integer scale of scores and shares (1.0 = 1_000_000_000).
pub const PPB: u32 = 1_000_000_000;
