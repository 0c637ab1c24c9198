//! Flood protection: what a peer may do, decided without I/O from an injected clock.
//!
//! - **Rate**: each peer has a token bucket of `max_messages_per_second` tokens refilled
//!   continuously; a message without a token is dropped (not forwarded, not validated).
//! - **Connections**: at most `max_connections_per_ip` open connections from one IP address.
//! - **Blacklist**: a peer that reaches `ban_after_invalid` invalid messages (or failed
//!   attempts: bad binding, wrong blob bytes) is banned for `ban_duration`; its connections
//!   should be closed and new ones refused until the ban expires, when its count restarts.
//!
//! Peers and addresses are generic keys so the state machine is tested without libp2p.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// The limits, with the seed's numbers as defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GuardLimits {
    /// Messages per second one peer may send (bucket size and refill rate).
    pub max_messages_per_second: u32,
    /// Open connections allowed from one IP address.
    pub max_connections_per_ip: u32,
    /// Inbound connections still in their handshake at once (each holds a file descriptor and
    /// costs a key exchange); beyond it a new one is closed as it arrives.
    pub max_pending_incoming: u32,
    /// Inbound connections open at once, from all addresses; beyond it a new one is closed
    /// once its handshake ends.
    pub max_incoming: u32,
    /// Invalid messages or failed attempts before a ban.
    pub ban_after_invalid: u32,
    /// How long a ban lasts.
    pub ban_duration: Duration,
}

impl Default for GuardLimits {
    fn default() -> Self {
        GuardLimits {
            max_messages_per_second: 100,
            max_connections_per_ip: 5,
            max_pending_incoming: 64,
            max_incoming: 512,
            ban_after_invalid: 10,
            ban_duration: Duration::from_secs(3600),
        }
    }
}

/// Whether a message from a peer may be processed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Process it.
    Accept,
    /// Drop it: the peer is over its rate.
    RateLimited,
    /// Drop it and disconnect: the peer is banned.
    Banned,
}

/// The application's judgement of a message, fed back to the guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Well-formed and valid.
    Valid,
    /// Invalid (bad signature, not a validator, oversized, malformed): counts toward a ban.
    Invalid,
    /// Not wrong, just not useful (a duplicate, a stale vote): no penalty.
    Ignored,
}

/// Counters for metrics, cumulative since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GuardCounters {
    /// Messages admitted.
    pub accepted: u64,
    /// Messages dropped for rate.
    pub rate_limited: u64,
    /// Messages or connections refused because the peer was banned.
    pub refused_banned: u64,
    /// Messages judged invalid.
    pub invalid: u64,
    /// Bans issued.
    pub bans: u64,
    /// Connections refused for the per-IP limit or the node's bounds on inbound connections
    /// (`max_pending_incoming`, `max_incoming`).
    pub refused_connections: u64,
}

#[derive(Debug)]
struct PeerState {
    tokens: f64,
    refilled: Instant,
    invalid: u32,
    banned_until: Option<Instant>,
}

/// Flood protection for peers `P` connecting from addresses `A`. Memory is bounded by the
/// number of peers seen; [`PeerGuard::forget`] drops a disconnected, unbanned peer.
#[derive(Debug)]
pub struct PeerGuard<P, A> {
    limits: GuardLimits,
    peers: HashMap<P, PeerState>,
    connections: HashMap<A, u32>,
    counters: GuardCounters,
}

impl<P: Eq + Hash + Clone, A: Eq + Hash + Clone> PeerGuard<P, A> {
    /// A guard with `limits`.
    pub fn new(limits: GuardLimits) -> Self {
        PeerGuard { limits, peers: HashMap::new(), connections: HashMap::new(), counters: GuardCounters::default() }
    }

    /// The limits in force.
    pub fn limits(&self) -> GuardLimits {
        self.limits
    }

    /// Cumulative counters.
    pub fn counters(&self) -> GuardCounters {
        self.counters
    }

    fn state(&mut self, peer: &P, now: Instant) -> &mut PeerState {
        let burst = f64::from(self.limits.max_messages_per_second);
        self.peers.entry(peer.clone()).or_insert(PeerState {
            tokens: burst,
            refilled: now,
            invalid: 0,
            banned_until: None,
        })
    }

    /// Whether `peer` is banned at `now` (an expired ban is lifted, and its count restarts).
    pub fn is_banned(&mut self, peer: &P, now: Instant) -> bool {
        let Some(state) = self.peers.get_mut(peer) else { return false };
        match state.banned_until {
            Some(until) if now < until => true,
            Some(_) => {
                state.banned_until = None;
                state.invalid = 0;
                false
            }
            None => false,
        }
    }

    /// Admits or drops one message from `peer` at `now`.
    pub fn admit_message(&mut self, peer: &P, now: Instant) -> Admission {
        if self.is_banned(peer, now) {
            self.counters.refused_banned += 1;
            return Admission::Banned;
        }
        let rate = f64::from(self.limits.max_messages_per_second);
        let state = self.state(peer, now);
        let elapsed = now.saturating_duration_since(state.refilled).as_secs_f64();
        state.tokens = (state.tokens + elapsed * rate).min(rate);
        state.refilled = now;
        if state.tokens >= 1.0 {
            state.tokens -= 1.0;
            self.counters.accepted += 1;
            Admission::Accept
        } else {
            self.counters.rate_limited += 1;
            Admission::RateLimited
        }
    }

    /// Records the application's verdict on a message from `peer`. Returns `true` when this
    /// verdict got the peer banned (its connections should be closed now).
    pub fn judge(&mut self, peer: &P, verdict: Verdict, now: Instant) -> bool {
        if verdict != Verdict::Invalid {
            return false;
        }
        self.counters.invalid += 1;
        let limit = self.limits.ban_after_invalid;
        let duration = self.limits.ban_duration;
        let state = self.state(peer, now);
        if state.banned_until.is_some() {
            return false;
        }
        state.invalid += 1;
        if state.invalid >= limit {
            state.banned_until = Some(now + duration);
            self.counters.bans += 1;
            return true;
        }
        false
    }

    /// Decides whether a new connection from `peer` at address `ip` may open; when it may, the
    /// connection is counted until [`PeerGuard::connection_closed`].
    pub fn connection_opened(&mut self, peer: &P, ip: &A, now: Instant) -> bool {
        if self.is_banned(peer, now) {
            self.counters.refused_banned += 1;
            return false;
        }
        let open = self.connections.entry(ip.clone()).or_insert(0);
        if *open >= self.limits.max_connections_per_ip {
            self.counters.refused_connections += 1;
            return false;
        }
        *open += 1;
        true
    }

    /// Records that a connection was refused for the node's bounds on inbound connections.
    pub fn connection_refused(&mut self) {
        self.counters.refused_connections += 1;
    }

    /// Records that a counted connection from `ip` closed.
    pub fn connection_closed(&mut self, ip: &A) {
        if let Some(open) = self.connections.get_mut(ip) {
            *open = open.saturating_sub(1);
            if *open == 0 {
                self.connections.remove(ip);
            }
        }
    }

    /// Forgets a peer that has no connection left, unless it is banned (bans outlive
    /// disconnection).
    pub fn forget(&mut self, peer: &P, now: Instant) {
        if !self.is_banned(peer, now) {
            self.peers.remove(peer);
        }
    }

    /// Peers currently tracked (for tests and metrics).
    pub fn tracked_peers(&self) -> usize {
        self.peers.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> PeerGuard<u32, &'static str> {
        PeerGuard::new(GuardLimits::default())
    }

    #[test]
    fn a_burst_over_the_rate_is_cut_and_the_bucket_refills() {
        let mut g = guard();
        let t0 = Instant::now();
        let accepted = (0..250).filter(|_| g.admit_message(&1, t0) == Admission::Accept).count();
        assert_eq!(accepted, 100);
        assert_eq!(g.counters().rate_limited, 150);
        // Half a second later, 50 more tokens.
        let t1 = t0 + Duration::from_millis(500);
        let accepted = (0..100).filter(|_| g.admit_message(&1, t1) == Admission::Accept).count();
        assert_eq!(accepted, 50);
        // Another peer is unaffected.
        assert_eq!(g.admit_message(&2, t1), Admission::Accept);
    }

    #[test]
    fn a_steady_sender_at_the_rate_is_never_cut() {
        let mut g = guard();
        let t0 = Instant::now();
        for i in 0..1000u64 {
            let now = t0 + Duration::from_millis(10 * i);
            assert_eq!(g.admit_message(&1, now), Admission::Accept, "message {i}");
        }
    }

    #[test]
    fn ten_invalid_messages_ban_for_an_hour_then_the_count_restarts() {
        let mut g = guard();
        let t0 = Instant::now();
        for i in 0..9 {
            assert!(!g.judge(&7, Verdict::Invalid, t0), "not banned after {}", i + 1);
        }
        assert!(!g.judge(&7, Verdict::Ignored, t0));
        assert!(!g.judge(&7, Verdict::Valid, t0));
        assert_eq!(g.admit_message(&7, t0), Admission::Accept);
        assert!(g.judge(&7, Verdict::Invalid, t0), "the tenth invalid message bans");
        assert_eq!(g.admit_message(&7, t0), Admission::Banned);
        assert!(!g.connection_opened(&7, &"10.0.0.1", t0 + Duration::from_secs(3599)));
        // Bans outlive disconnection.
        g.forget(&7, t0);
        assert!(g.is_banned(&7, t0 + Duration::from_secs(10)));
        // After an hour the ban lifts and the count starts again.
        let later = t0 + Duration::from_secs(3600);
        assert_eq!(g.admit_message(&7, later), Admission::Accept);
        assert!(!g.judge(&7, Verdict::Invalid, later));
        assert_eq!(g.counters().bans, 1);
    }

    #[test]
    fn the_sixth_connection_from_one_ip_is_refused() {
        let mut g = guard();
        let now = Instant::now();
        for peer in 0..5 {
            assert!(g.connection_opened(&peer, &"10.0.0.1", now));
        }
        assert!(!g.connection_opened(&5, &"10.0.0.1", now));
        assert!(g.connection_opened(&5, &"10.0.0.2", now), "another address is unaffected");
        g.connection_closed(&"10.0.0.1");
        assert!(g.connection_opened(&5, &"10.0.0.1", now), "a slot freed by a close is reusable");
        assert_eq!(g.counters().refused_connections, 1);
    }

    #[test]
    fn forgetting_disconnected_peers_bounds_memory() {
        let mut g = guard();
        let now = Instant::now();
        for peer in 0..1000 {
            g.admit_message(&peer, now);
            g.forget(&peer, now);
        }
        assert_eq!(g.tracked_peers(), 0);
    }
}
