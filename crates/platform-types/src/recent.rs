//! A set that remembers at most a fixed number of keys, forgetting the oldest first: what a
//! long-running node keeps to recognise repeats without growing with its history.

use std::collections::{HashSet, VecDeque};
use std::hash::Hash;

/// The latest `capacity` keys inserted (each once), the oldest forgotten first.
#[derive(Clone, Debug)]
pub struct Recent<K> {
    capacity: usize,
    keys: HashSet<K>,
    order: VecDeque<K>,
}

impl<K: Hash + Eq + Clone> Recent<K> {
    /// Remembers at most `capacity` keys (at least one).
    pub fn new(capacity: usize) -> Self {
        Recent { capacity: capacity.max(1), keys: HashSet::new(), order: VecDeque::new() }
    }

    /// Whether `key` is remembered.
    pub fn contains(&self, key: &K) -> bool {
        self.keys.contains(key)
    }

    /// Remembers `key`, forgetting the oldest beyond the capacity; whether it was new.
    pub fn insert(&mut self, key: K) -> bool {
        if !self.keys.insert(key.clone()) {
            return false;
        }
        self.order.push_back(key);
        while self.order.len() > self.capacity {
            if let Some(old) = self.order.pop_front() {
                self.keys.remove(&old);
            }
        }
        true
    }

    /// Keys remembered.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether nothing is remembered.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_keeps_the_latest_and_forgets_the_oldest() {
        let mut recent = Recent::new(3);
        assert!(recent.insert(1) && recent.insert(2) && recent.insert(3));
        assert!(!recent.insert(2), "a repeat is not new");
        assert!(recent.insert(4));
        assert_eq!(recent.len(), 3);
        assert!(!recent.contains(&1) && recent.contains(&2) && recent.contains(&4));
        assert!(recent.insert(1), "forgotten, so new again");
    }
}
