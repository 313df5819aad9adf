//! Bounded ring buffers of signal samples: one ring per signal, each capped
//! by sample count and by age, and a set of rings capped by signal count.
//!
//! Memory is bounded by `max_signals × max_samples_per_signal` samples plus
//! the signal names. Pushing is O(1) (amortised for age eviction). A sample
//! older than its ring's newest one is refused: rings stay sorted by time,
//! so a window is two binary searches.

use std::collections::{HashMap, VecDeque};

use qloop_protocol::Sample;

/// Bounds of a [`RingSet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingLimits {
    /// Most samples kept per signal (at least 1).
    pub max_samples_per_signal: usize,
    /// Samples older than the ring's newest by more than this are dropped, ms.
    pub max_age_ms: i64,
    /// Most distinct signals; samples of further signals are refused.
    pub max_signals: usize,
}

/// What the rings refused or evicted, for health reporting.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RingCounters {
    /// Samples pushed out by the per-signal sample cap.
    pub evicted_by_count: u64,
    /// Samples pushed out by the age limit.
    pub evicted_by_age: u64,
    /// Samples refused because the signal cap was reached.
    pub refused_signal_cap: u64,
    /// Samples refused because they were older than their ring's newest.
    pub refused_out_of_order: u64,
    /// Samples refused because the value was NaN or infinite.
    pub refused_not_finite: u64,
}

/// The samples of one signal, oldest first.
#[derive(Debug, Clone)]
pub struct SignalRing {
    unit: Option<String>,
    samples: VecDeque<Sample>,
}

impl SignalRing {
    /// The signal's unit, as first recorded.
    pub fn unit(&self) -> Option<&str> {
        self.unit.as_deref()
    }

    /// Number of samples held.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// Whether the ring holds no samples.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// The samples with `start_ms <= t_ms <= end_ms`, oldest first.
    pub fn window(&self, start_ms: i64, end_ms: i64) -> impl Iterator<Item = Sample> + '_ {
        let first = self.samples.partition_point(|s| s.t_ms < start_ms);
        let end = self.samples.partition_point(|s| s.t_ms <= end_ms);
        self.samples.range(first..end.max(first)).copied()
    }

    /// The newest sample.
    pub fn newest(&self) -> Option<Sample> {
        self.samples.back().copied()
    }
}

/// Rings by signal name, within [`RingLimits`].
#[derive(Debug, Clone)]
pub struct RingSet {
    limits: RingLimits,
    rings: HashMap<String, SignalRing>,
    counters: RingCounters,
}

impl RingSet {
    /// An empty set; a zero sample cap is raised to 1.
    pub fn new(limits: RingLimits) -> Self {
        let limits = RingLimits {
            max_samples_per_signal: limits.max_samples_per_signal.max(1),
            max_age_ms: limits.max_age_ms.max(0),
            ..limits
        };
        Self {
            limits,
            rings: HashMap::new(),
            counters: RingCounters::default(),
        }
    }

    /// Appends one sample; returns whether it was kept.
    pub fn push(&mut self, name: &str, unit: Option<&str>, sample: Sample) -> bool {
        if !sample.value.is_finite() {
            self.counters.refused_not_finite += 1;
            return false;
        }
        let cap = self.limits.max_samples_per_signal;
        if !self.rings.contains_key(name) {
            if self.rings.len() >= self.limits.max_signals {
                self.counters.refused_signal_cap += 1;
                return false;
            }
            let ring = SignalRing {
                unit: unit.map(str::to_string),
                samples: VecDeque::with_capacity(cap.min(64)),
            };
            self.rings.insert(name.to_string(), ring);
        }
        let Some(ring) = self.rings.get_mut(name) else {
            return false;
        };
        if ring
            .samples
            .back()
            .is_some_and(|last| last.t_ms > sample.t_ms)
        {
            self.counters.refused_out_of_order += 1;
            return false;
        }
        if ring.samples.len() == cap {
            ring.samples.pop_front();
            self.counters.evicted_by_count += 1;
        }
        ring.samples.push_back(sample);
        let oldest_allowed = sample.t_ms.saturating_sub(self.limits.max_age_ms);
        while ring
            .samples
            .front()
            .is_some_and(|s| s.t_ms < oldest_allowed)
        {
            ring.samples.pop_front();
            self.counters.evicted_by_age += 1;
        }
        true
    }

    /// The ring of one signal.
    pub fn get(&self, name: &str) -> Option<&SignalRing> {
        self.rings.get(name)
    }

    /// All rings, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &SignalRing)> {
        self.rings.iter().map(|(name, ring)| (name.as_str(), ring))
    }

    /// Number of signals held.
    pub fn len(&self) -> usize {
        self.rings.len()
    }

    /// Whether no signal is held.
    pub fn is_empty(&self) -> bool {
        self.rings.is_empty()
    }

    /// What was refused or evicted so far.
    pub fn counters(&self) -> RingCounters {
        self.counters
    }

    /// The limits in force.
    pub fn limits(&self) -> RingLimits {
        self.limits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(samples: usize, age: i64, signals: usize) -> RingLimits {
        RingLimits {
            max_samples_per_signal: samples,
            max_age_ms: age,
            max_signals: signals,
        }
    }

    fn at(t_ms: i64, value: f64) -> Sample {
        Sample { t_ms, value }
    }

    #[test]
    fn sample_cap_keeps_the_newest_samples() {
        let mut rings = RingSet::new(limits(3, i64::MAX, 8));
        for t in 0..10 {
            assert!(rings.push("speed", Some("km/h"), at(t, t as f64)));
        }
        let ring = rings.get("speed").unwrap();
        let kept: Vec<i64> = ring.window(i64::MIN, i64::MAX).map(|s| s.t_ms).collect();
        assert_eq!(kept, vec![7, 8, 9]);
        assert_eq!(ring.unit(), Some("km/h"));
        assert_eq!(rings.counters().evicted_by_count, 7);
    }

    #[test]
    fn age_limit_drops_samples_older_than_the_newest_by_more_than_max_age() {
        let mut rings = RingSet::new(limits(100, 1_000, 8));
        for t in [0, 500, 1_000, 1_200, 2_100] {
            rings.push("rpm", None, at(t, 1.0));
        }
        let kept: Vec<i64> = rings
            .get("rpm")
            .unwrap()
            .window(i64::MIN, i64::MAX)
            .map(|s| s.t_ms)
            .collect();
        assert_eq!(kept, vec![1_200, 2_100]);
        assert_eq!(rings.counters().evicted_by_age, 3);
    }

    #[test]
    fn signal_cap_refuses_new_signals_and_counts_them() {
        let mut rings = RingSet::new(limits(10, 1_000, 2));
        assert!(rings.push("a", None, at(0, 1.0)));
        assert!(rings.push("b", None, at(0, 1.0)));
        assert!(!rings.push("c", None, at(0, 1.0)));
        assert!(
            rings.push("a", None, at(1, 2.0)),
            "known signals still record"
        );
        assert_eq!(rings.len(), 2);
        assert_eq!(rings.counters().refused_signal_cap, 1);
    }

    #[test]
    fn out_of_order_and_non_finite_samples_are_refused() {
        let mut rings = RingSet::new(limits(10, 1_000, 2));
        assert!(rings.push("a", None, at(10, 1.0)));
        assert!(!rings.push("a", None, at(9, 1.0)));
        assert!(rings.push("a", None, at(10, 2.0)), "equal time is in order");
        assert!(!rings.push("a", None, at(11, f64::NAN)));
        assert!(!rings.push("a", None, at(11, f64::INFINITY)));
        let c = rings.counters();
        assert_eq!((c.refused_out_of_order, c.refused_not_finite), (1, 2));
        assert_eq!(rings.get("a").unwrap().len(), 2);
    }

    #[test]
    fn window_returns_inclusive_bounds_only() {
        let mut rings = RingSet::new(limits(100, i64::MAX, 1));
        for t in (0..100).step_by(10) {
            rings.push("a", None, at(t, t as f64));
        }
        let ring = rings.get("a").unwrap();
        let inside: Vec<i64> = ring.window(20, 50).map(|s| s.t_ms).collect();
        assert_eq!(inside, vec![20, 30, 40, 50]);
        assert_eq!(ring.window(51, 59).count(), 0);
        assert_eq!(
            ring.window(60, 20).count(),
            0,
            "an inverted window is empty"
        );
    }
}
