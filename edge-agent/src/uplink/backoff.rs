//! Reconnect backoff: exponential from `min` to `max`, plus up to 50 %
//! random jitter so a fleet that lost the broker together does not return
//! in lockstep.

use std::time::Duration;

use rand::{rngs::StdRng, Rng, SeedableRng};

/// Exponential backoff with jitter.
#[derive(Debug)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
    rng: StdRng,
}

impl Backoff {
    /// A backoff starting at `min`, doubling up to `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        Self::with_rng(min, max, StdRng::from_os_rng())
    }

    /// Same, with a given random source (deterministic tests).
    pub fn with_rng(min: Duration, max: Duration, rng: StdRng) -> Self {
        let max = max.max(min);
        Self {
            min,
            max,
            next: min,
            rng,
        }
    }

    /// The wait before the next attempt; each call doubles the base.
    pub fn next_delay(&mut self) -> Duration {
        let base = self.next;
        self.next = (self.next * 2).min(self.max);
        let jitter_ms = self.rng.random_range(0..=base.as_millis() as u64 / 2);
        base + Duration::from_millis(jitter_ms)
    }

    /// Back to `min` after a successful connection.
    pub fn reset(&mut self) {
        self.next = self.min;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_with_at_most_half_jitter_and_reset() {
        let ms = Duration::from_millis;
        let mut b = Backoff::with_rng(ms(100), ms(1000), StdRng::seed_from_u64(7));
        let bases = [100, 200, 400, 800, 1000, 1000];
        for base in bases {
            let d = b.next_delay();
            assert!(d >= ms(base) && d <= ms(base + base / 2), "{d:?} vs {base}");
        }
        b.reset();
        assert!(b.next_delay() <= ms(150));
    }
}
