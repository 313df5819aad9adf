//! Reconnect backoff: exponential from `min` to `max`, plus random jitter
//! so that a fleet (or a pool of triage workers) that lost the broker
//! together does not come back in lockstep.
//!
//! The jitter needs no cryptographic randomness, so it comes from a
//! SplitMix64 generator seeded by the standard library's per-process random
//! hasher keys: no dependency for the wire crate, and a fixed seed
//! ([`Backoff::with_seed`]) makes tests deterministic.

use std::{
    hash::{BuildHasher, Hasher},
    time::Duration,
};

/// Jitter when none is chosen: up to half the base delay.
pub const DEFAULT_JITTER_PERCENT: u32 = 50;

/// Exponential backoff with jitter.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
    jitter_percent: u32,
    rng: SplitMix64,
}

impl Backoff {
    /// A backoff starting at `min`, doubling up to `max` (`max` below `min`
    /// counts as `min`), each delay plus up to 50 % random jitter.
    pub fn new(min: Duration, max: Duration) -> Self {
        let max = max.max(min);
        Self {
            min,
            max,
            next: min,
            jitter_percent: DEFAULT_JITTER_PERCENT,
            rng: SplitMix64::from_entropy(),
        }
    }

    /// The same with up to `percent` % jitter instead (at most 100).
    pub fn with_jitter_percent(mut self, percent: u32) -> Self {
        self.jitter_percent = percent.min(100);
        self
    }

    /// The same with a fixed random seed (deterministic tests).
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.rng = SplitMix64(seed);
        self
    }

    /// The wait before the next attempt: the base delay plus jitter; each
    /// call doubles the base, up to `max`.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        let base_ms = u64::try_from(base.as_millis()).unwrap_or(u64::MAX);
        let most_ms = base_ms / 100 * u64::from(self.jitter_percent)
            + base_ms % 100 * u64::from(self.jitter_percent) / 100;
        base.saturating_add(Duration::from_millis(self.rng.below_or_at(most_ms)))
    }

    /// Back to `min` after a successful connection.
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, good enough for jitter.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    /// Seeded from `RandomState`, whose keys are random per process.
    fn from_entropy() -> Self {
        Self(
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish(),
        )
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..=most`, by Lemire's multiply-shift (the bias is
    /// below 2^-64 per value, irrelevant for jitter).
    fn below_or_at(&mut self, most: u64) -> u64 {
        match most.checked_add(1) {
            Some(n) => ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64,
            None => self.next_u64(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn delays_double_up_to_the_cap_with_at_most_half_jitter_and_reset() {
        let mut b = Backoff::new(ms(100), ms(1000)).with_seed(7);
        for base in [100, 200, 400, 800, 1000, 1000] {
            let d = b.next_delay();
            assert!(d >= ms(base) && d <= ms(base + base / 2), "{d:?} vs {base}");
        }
        b.reset();
        let d = b.next_delay();
        assert!(d >= ms(100) && d <= ms(150), "{d:?}");
    }

    #[test]
    fn a_quarter_jitter_stays_within_a_quarter_and_is_not_constant() {
        let mut seen = std::collections::BTreeSet::new();
        for seed in 0..200 {
            let d = Backoff::new(ms(200), ms(10_000))
                .with_jitter_percent(25)
                .with_seed(seed)
                .next_delay();
            assert!(d >= ms(200) && d <= ms(250), "{d:?}");
            seen.insert(d);
        }
        assert!(seen.len() > 20, "jitter spreads the delays: {seen:?}");
    }

    #[test]
    fn no_jitter_gives_the_exact_exponential_series() {
        let mut b = Backoff::new(ms(10), ms(50)).with_jitter_percent(0);
        let delays: Vec<u128> = (0..5).map(|_| b.next_delay().as_millis()).collect();
        assert_eq!(delays, [10, 20, 40, 50, 50]);
    }

    #[test]
    fn unseeded_backoffs_do_not_all_wait_alike() {
        let delays: std::collections::BTreeSet<Duration> = (0..50)
            .map(|_| {
                Backoff::new(ms(1_000), ms(1_000))
                    .with_jitter_percent(25)
                    .next_delay()
            })
            .collect();
        assert!(delays.len() > 10, "{delays:?}");
    }

    #[test]
    fn the_same_seed_gives_the_same_delays() {
        let series = |seed| {
            let mut b = Backoff::new(ms(100), ms(10_000)).with_seed(seed);
            (0..8).map(|_| b.next_delay()).collect::<Vec<_>>()
        };
        assert_eq!(series(42), series(42));
        assert_ne!(series(42), series(43));
    }

    #[test]
    fn odd_bounds_do_not_panic_or_overflow() {
        // max below min: min is the cap.
        let mut b = Backoff::new(ms(500), ms(10)).with_jitter_percent(0);
        assert_eq!(b.next_delay(), ms(500));
        assert_eq!(b.next_delay(), ms(500));
        // Zero: no wait, ever.
        let mut b = Backoff::new(Duration::ZERO, Duration::ZERO);
        assert_eq!(b.next_delay(), Duration::ZERO);
        // Huge: doubling saturates instead of overflowing.
        let mut b = Backoff::new(Duration::MAX / 4, Duration::MAX).with_jitter_percent(100);
        for _ in 0..4 {
            assert!(b.next_delay() >= Duration::MAX / 4);
        }
        // A jitter over 100 % is clamped to 100 %.
        let mut b = Backoff::new(ms(100), ms(100)).with_jitter_percent(1_000);
        for _ in 0..100 {
            assert!(b.next_delay() <= ms(200));
        }
    }
}
