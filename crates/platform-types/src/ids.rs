//! Identifiers and counters as distinct types, so a height is never passed where a view is
//! expected. None converts silently: build them with `new` and read them with `get`.

use std::fmt;
use std::sync::Arc;

use parity_scale_codec::{Decode, Encode};

use crate::error::DecodeError;
use crate::hash::Hash;

macro_rules! counter {
    ($(#[$doc:meta])* $name:ident($inner:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Encode, Decode)]
        pub struct $name($inner);

        impl $name {
            /// Wraps a raw value.
            pub const fn new(value: $inner) -> Self {
                $name(value)
            }

            /// The raw value.
            pub const fn get(self) -> $inner {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }
    };
}

counter!(
    /// Height of a block in the validators' chain (the first block is height 1).
    Height(u64)
);
counter!(
    /// Consensus view (round) within a height; the leader rotates with it.
    View(u64)
);
counter!(
    /// Bittensor epoch number of the subnet (one per tempo).
    Epoch(u64)
);
counter!(
    /// A neuron's uid on a subnet.
    Uid(u16)
);
counter!(
    /// A Bittensor subnet id.
    NetUid(u16)
);
counter!(
    /// A Bittensor mechanism id within a subnet (0 is the main mechanism).
    MechanismId(u8)
);

impl Height {
    /// The next height. Saturates: heights never wrap.
    pub const fn next(self) -> Height {
        Height(self.0.saturating_add(1))
    }
}

impl View {
    /// The next view. Saturates: views never wrap.
    pub const fn next(self) -> View {
        View(self.0.saturating_add(1))
    }
}

/// Id of a submission: blake2b-256 of its signed envelope's payload bytes.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Encode, Decode)]
pub struct SubmissionId(pub Hash);

impl fmt::Display for SubmissionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Id of a challenge: a short slug chosen by the owner, `[a-z0-9][a-z0-9_-]{0,63}`. Shared,
/// not copied, when cloned (every committed submission holds its challenge's id). Encodes as a
/// string.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ChallengeId(Arc<str>);

impl Encode for ChallengeId {
    fn size_hint(&self) -> usize {
        self.0.size_hint()
    }

    fn encode_to<T: parity_scale_codec::Output + ?Sized>(&self, dest: &mut T) {
        self.0.as_ref().encode_to(dest);
    }
}

impl Decode for ChallengeId {
    fn decode<I: parity_scale_codec::Input>(input: &mut I) -> Result<Self, parity_scale_codec::Error> {
        Ok(ChallengeId(String::decode(input)?.into()))
    }
}

impl ChallengeId {
    /// The longest id accepted.
    pub const MAX_LEN: usize = 64;

    /// Validates a slug.
    pub fn new(id: &str) -> Result<Self, DecodeError> {
        let invalid = |reason| DecodeError::Invalid { field: "challenge_id", reason };
        let first = id.bytes().next().ok_or(invalid("empty"))?;
        if id.len() > Self::MAX_LEN {
            return Err(DecodeError::TooLarge { field: "challenge_id", size: id.len(), max: Self::MAX_LEN });
        }
        if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
            return Err(invalid("must start with a lowercase letter or digit"));
        }
        let allowed = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_';
        if !id.bytes().all(allowed) {
            return Err(invalid("only lowercase letters, digits, '-' and '_' are allowed"));
        }
        Ok(ChallengeId(id.into()))
    }

    /// The slug.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ChallengeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_ids_are_validated() {
        assert!(ChallengeId::new("regression").is_ok());
        assert!(ChallengeId::new("matmul-proof_2").is_ok());
        for bad in ["", "-lead", "Upper", "has space", "dot.ted", &"a".repeat(65)] {
            assert!(ChallengeId::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn counters_saturate_and_display() {
        assert_eq!(Height::new(u64::MAX).next(), Height::new(u64::MAX));
        assert_eq!(View::new(1).next().get(), 2);
        assert_eq!(format!("{:?}", Uid::new(7)), "Uid(7)");
        assert_eq!(Epoch::new(3).to_string(), "3");
    }
}
