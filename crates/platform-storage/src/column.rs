//! The columns (RocksDB column families) the data is split into.

/// A named keyspace. Keys in different columns never collide.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum Column {
    /// Committed blocks by height.
    Blocks,
    /// Quorum certificates and checkpoints.
    Certificates,
    /// The challenge registry and other applied application state.
    Registry,
    /// Content-addressed blobs (WASM modules, large payloads) by hash.
    Blobs,
    /// Accepted submissions.
    Submissions,
    /// Signed evaluations.
    Evaluations,
    /// Agreed weights and the chain's answers.
    Weights,
    /// The runtime's audit log.
    Audit,
    /// Consensus safety data (last voted height, view, value).
    Consensus,
    /// Store metadata (schema version) and small node settings.
    Metadata,
}

impl Column {
    /// Every column, in a fixed order.
    pub const ALL: [Column; 10] = [
        Column::Blocks,
        Column::Certificates,
        Column::Registry,
        Column::Blobs,
        Column::Submissions,
        Column::Evaluations,
        Column::Weights,
        Column::Audit,
        Column::Consensus,
        Column::Metadata,
    ];

    /// The column family name on disk.
    pub const fn name(self) -> &'static str {
        match self {
            Column::Blocks => "blocks",
            Column::Certificates => "certificates",
            Column::Registry => "registry",
            Column::Blobs => "blobs",
            Column::Submissions => "submissions",
            Column::Evaluations => "evaluations",
            Column::Weights => "weights",
            Column::Audit => "audit",
            Column::Consensus => "consensus",
            Column::Metadata => "metadata",
        }
    }

    pub(crate) const fn index(self) -> usize {
        self as usize
    }
}
