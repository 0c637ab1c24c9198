//! A validator's committed history fetched over its HTTP API into a store, for the public audit
//! (`validator-node audit --from URL`): the genesis validator set it vouches for, or its newest
//! snapshot when its early blocks are pruned; every committed block with its certificate; the
//! bodies of the submissions the blocks order and the blobs they reference; the challenge
//! modules whose hashes the owner signed.
//!
//! Nothing fetched is believed here: bytes are stored as served, except that every blob must
//! hash to the hash asked for and every block must be the next height. The audit
//! ([`crate::audit::replay`]) then checks each block's certificate against the validator set in
//! force, so a source that lies (a forged block, a rewritten history, a genesis of its own)
//! fails it loudly. A fetch cut short resumes where the store ends.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::{Context as _, bail};
use platform_app::Snapshot;
use platform_types::{
    Action, Codec, Hash, NetUid, Payload, Submission, SubmissionId, SudoAction, SudoCommand, SyncResponse, blake2b_256,
};
use serde::Serialize;
use serde_json::json;

use crate::records::Records;

/// The most one answer may carry (64 blocks of up to a few MiB each, or a batch of bodies).
const MAX_ANSWER_BYTES: u64 = 512 * 1024 * 1024;

/// Submission bodies asked for at once.
const BODIES_PER_REQUEST: usize = 256;

/// A validator's HTTP API.
pub struct Source {
    base: String,
    agent: ureq::Agent,
}

impl Source {
    /// The API at `base` (e.g. `http://127.0.0.1:8080`).
    pub fn new(base: &str) -> Source {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(120)))
            .http_status_as_error(false)
            .build()
            .new_agent();
        Source { base: base.trim_end_matches('/').to_owned(), agent }
    }

    /// Where it is.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The answer to `query` (`POST /sync`, docs/openapi.yaml's `SyncQuery`).
    fn ask(&self, query: &serde_json::Value) -> anyhow::Result<SyncResponse> {
        let url = format!("{}/sync", self.base);
        let mut response = self.agent.post(&url).send_json(query).with_context(|| format!("POST {url}"))?;
        if !response.status().is_success() {
            let text = response.body_mut().read_to_string().unwrap_or_default();
            bail!("POST {url}: {} {}", response.status(), text.trim());
        }
        let bytes = response.body_mut().with_config().limit(MAX_ANSWER_BYTES).read_to_vec()?;
        SyncResponse::from_bytes(&bytes).with_context(|| format!("POST {url}: not a sync answer"))
    }

    /// The blob `hash` (`GET /blobs/{hash}`), checked against its hash; `None` when not served.
    fn blob(&self, hash: &Hash) -> anyhow::Result<Option<Vec<u8>>> {
        let url = format!("{}/blobs/{hash}", self.base);
        let mut response = self.agent.get(&url).call().with_context(|| format!("GET {url}"))?;
        if response.status() == 404 {
            return Ok(None);
        }
        if !response.status().is_success() {
            bail!("GET {url}: {}", response.status());
        }
        let bytes = response.body_mut().with_config().limit(MAX_ANSWER_BYTES).read_to_vec()?;
        if blake2b_256(&bytes) != *hash {
            bail!("GET {url}: the source served bytes that do not hash to {hash}");
        }
        Ok(Some(bytes))
    }
}

/// What a fetch stored.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Fetched {
    /// Where the history starts: `genesis`, or `snapshot of the state after block H`.
    pub started_from: String,
    /// Blocks fetched now.
    pub blocks: u64,
    /// The last height stored.
    pub last_height: u64,
    /// Submission bodies fetched.
    pub bodies: u64,
    /// Bodies of ordered submissions the source did not serve (pruned there, say).
    pub bodies_missing: u64,
    /// Blobs (modules, payloads) fetched.
    pub blobs: u64,
    /// Blobs the source did not serve.
    pub blobs_missing: u64,
}

/// Fetches `source`'s committed history of `netuid` into `records` (empty, or holding an
/// earlier fetch, which is continued); see the module documentation.
pub fn fetch(source: &Source, records: &Records, netuid: NetUid) -> anyhow::Result<Fetched> {
    let mut fetched = Fetched::default();
    let stored = records.last_height().context("the store")?;
    let mut from = stored + 1;
    if records.genesis().map_err(anyhow::Error::msg)?.is_none() {
        match source.ask(&json!({ "genesis": {} }))? {
            SyncResponse::Genesis(Some(set)) => records.put_genesis(&set)?,
            SyncResponse::Genesis(None) => bail!("{} vouches for no genesis validator set yet", source.base),
            _ => bail!("{} answered the genesis request with something else", source.base),
        }
    }
    fetched.started_from = "genesis".into();
    // The answer to the first block request, when it is already in hand.
    let mut answered = None;
    if stored == 0 {
        let blocks = blocks_from(source, 1)?;
        let first = blocks.first().map(|(b, _)| b.header.height.get());
        answered = Some(blocks);
        if let Some(first) = first.filter(|&h| h > 1) {
            // Block 1 is pruned there: start from its snapshot.
            let Some(height) = fetch_snapshot(source, records)? else {
                bail!("{} no longer holds block 1 (its history starts at {first}) and offers no snapshot", source.base);
            };
            fetched.started_from = format!("snapshot of the state after block {height}");
            from = height + 1;
            answered = None;
        }
    } else if let Some(first) = records.first_height().filter(|&h| h > 1) {
        fetched.started_from = format!("snapshot below height {first}");
    }
    let mut bodies: BTreeSet<SubmissionId> = BTreeSet::new();
    let mut blobs: BTreeSet<Hash> = BTreeSet::new();
    loop {
        let blocks = match answered.take() {
            Some(blocks) => blocks,
            None => blocks_from(source, from)?,
        };
        if blocks.is_empty() {
            break;
        }
        for (block, certificate) in blocks {
            let height = block.header.height.get();
            if height != from {
                bail!("{} answered blocks from {from} with block {height}: not its history in order", source.base);
            }
            for action in &block.actions {
                match action {
                    Action::Submission(id) if !records.has_submission(id) => {
                        bodies.insert(*id);
                    }
                    Action::Sudo(envelope) => {
                        if let Ok(signed) = envelope.open::<SudoAction>(netuid)
                            && let SudoCommand::AddChallenge(spec) | SudoCommand::UpdateChallenge(spec) =
                                signed.message.command
                        {
                            blobs.insert(spec.module_hash);
                        }
                    }
                    _ => {}
                }
            }
            records.put_block(&block, &certificate)?;
            fetched.blocks += 1;
            fetched.last_height = height;
            from += 1;
        }
    }
    fetched.last_height = fetched.last_height.max(stored);
    let wanted: Vec<SubmissionId> = bodies.into_iter().collect();
    for batch in wanted.chunks(BODIES_PER_REQUEST) {
        let envelopes =
            match source.ask(&json!({ "submissions": batch.iter().map(|id| id.to_string()).collect::<Vec<_>>() }))? {
                SyncResponse::Submissions(envelopes) => envelopes,
                _ => bail!("{} answered a request for submissions with something else", source.base),
            };
        let mut found = Vec::new();
        for envelope in envelopes {
            let id = SubmissionId(envelope.payload_hash());
            if !batch.contains(&id) {
                continue;
            }
            if let Ok(Submission { payload: Payload::Blob(hash), .. }) = Submission::from_bytes(&envelope.payload) {
                blobs.insert(hash);
            }
            found.push((id, envelope.to_bytes()));
        }
        records.put_submissions(found.iter().map(|(id, bytes)| (id, bytes.as_slice())))?;
        fetched.bodies += found.len() as u64;
        fetched.bodies_missing += (batch.len() - found.len()) as u64;
    }
    for hash in blobs {
        if records.blob(&hash).is_some() {
            continue;
        }
        match source.blob(&hash)? {
            Some(bytes) => {
                records.put_blob(&hash, &bytes)?;
                fetched.blobs += 1;
            }
            None => fetched.blobs_missing += 1,
        }
    }
    Ok(fetched)
}

/// The committed blocks `source` serves from height `from` (at most 64).
fn blocks_from(
    source: &Source,
    from: u64,
) -> anyhow::Result<Vec<(platform_types::Block, platform_types::QuorumCertificate)>> {
    match source.ask(&json!({ "blocks": { "from": from } }))? {
        SyncResponse::Blocks(blocks) => Ok(blocks),
        _ => bail!("{} answered a block request with something else", source.base),
    }
}

/// The source's newest snapshot, stored whole (each chunk checked against its manifest); the
/// height of its state (the blocks after it follow), or `None` when it offers none.
fn fetch_snapshot(source: &Source, records: &Records) -> anyhow::Result<Option<u64>> {
    let (_, manifest) = match source.ask(&json!({ "snapshot": {} }))? {
        SyncResponse::Snapshot(Some(offer)) => *offer,
        SyncResponse::Snapshot(None) => return Ok(None),
        _ => bail!("{} answered a snapshot request with something else", source.base),
    };
    let mut chunks = Vec::with_capacity(manifest.chunks.len());
    for index in 0..manifest.chunks.len() {
        let query = json!({ "chunk": { "height": manifest.height.get(), "index": index } });
        match source.ask(&query)? {
            SyncResponse::Chunk(Some(chunk)) if manifest.check_chunk(index, &chunk).is_ok() => chunks.push(chunk),
            _ => bail!("{} did not serve chunk {index} of its snapshot at height {}", source.base, manifest.height),
        }
    }
    let captured = manifest.captured.get();
    records.put_snapshot(&Snapshot { manifest, chunks: chunks.into() })?;
    Ok(Some(captured))
}

/// The file a fetch leaves in the directory it fetches into, naming its source: a later fetch
/// continues only a fetch (never a validator's own store).
pub const SOURCE_FILE: &str = "audit-source";

/// Fetches `source`'s history into the data directory `dir` (its store under `db/`, as a
/// validator's), which must be new, empty, or an earlier fetch from the same source.
pub fn fetch_dir(source: &Source, dir: &std::path::Path, netuid: NetUid) -> anyhow::Result<Fetched> {
    let marker = dir.join(SOURCE_FILE);
    let empty = !dir.exists() || dir.read_dir().with_context(|| dir.display().to_string())?.next().is_none();
    if !empty {
        match std::fs::read_to_string(&marker) {
            Ok(text) if text.trim() == source.base => {}
            Ok(text) => bail!("{} holds a fetch from {}, not from {}", dir.display(), text.trim(), source.base),
            Err(_) => bail!(
                "{} is not empty and holds no earlier fetch (a validator's own directory is audited without --from)",
                dir.display()
            ),
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    std::fs::write(&marker, format!("{}\n", source.base)).with_context(|| marker.display().to_string())?;
    let store = platform_storage::RocksStore::open(&dir.join("db"))
        .with_context(|| format!("cannot open a store in {}", dir.display()))?;
    fetch(source, &Records::new(std::sync::Arc::new(store)), netuid)
}
