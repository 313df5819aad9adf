//! The telemetry recorder: decoded frames go into per-signal rings, and a
//! trigger cuts a [`TelemetrySnapshot`] of the window around it.
//!
//! Naming: with a [`SignalMapping`], a mapped signal is recorded under each
//! VSS path it feeds, with the VSS unit and value transform. Any other
//! signal is recorded as `Message.Signal` with its DBC unit (unless
//! [`RecorderLimits::keep_unmapped`] is off).
//!
//! Sizing rule, so the envelope passes `qloop_protocol::Limits` and fits
//! the 128 KiB broker limit: per signal at most `max_samples_per_signal`
//! samples inside the window (evenly downsampled, first and last kept), at
//! most 1024 signals, and signals are added — VSS paths first, then DBC
//! names, each alphabetically — until the estimated encoded size would pass
//! [`RecorderLimits::max_snapshot_bytes`]; the rest are left out.

use qloop_protocol::{Sample, SignalSeries, TelemetrySnapshot};

use super::candump::CanFrame;
use super::dbc::{Database, FrameDecode};
use super::ring::{RingCounters, RingLimits, RingSet};
use super::vss::SignalMapping;

/// Most signals in one snapshot (the protocol's limit).
pub const MAX_SNAPSHOT_SIGNALS: usize = 1024;
/// Longest window, ms (the protocol's limit: 10 minutes).
pub const MAX_WINDOW_MS: i64 = 10 * 60 * 1000;
/// Estimated encoded bytes of one sample (varint time + f64 value).
const SAMPLE_BYTES: usize = 17;
/// Estimated encoded bytes of a series besides its name, unit and samples.
const SERIES_OVERHEAD_BYTES: usize = 16;

/// Bounds of a [`TelemetryRecorder`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecorderLimits {
    /// Most samples kept per signal in the rings.
    pub max_samples_per_signal: usize,
    /// Age beyond which ring samples are dropped, ms.
    pub max_age_ms: i64,
    /// Most distinct signals kept in the rings.
    pub max_signals: usize,
    /// Budget for the snapshot's signals, estimated encoded bytes.
    pub max_snapshot_bytes: usize,
    /// Whether signals without a VSS mapping are kept under their DBC names.
    pub keep_unmapped: bool,
}

impl Default for RecorderLimits {
    fn default() -> Self {
        Self {
            max_samples_per_signal: 1_000,
            max_age_ms: 120_000,
            max_signals: 512,
            max_snapshot_bytes: 64 * 1024,
            keep_unmapped: true,
        }
    }
}

/// What a snapshot left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SnapshotTrim {
    /// Signals left out by the byte budget or the signal cap.
    pub signals_dropped: usize,
    /// Samples removed by downsampling.
    pub samples_downsampled: usize,
}

/// Keeps recent signal values and cuts snapshots around triggers.
#[derive(Debug, Clone)]
pub struct TelemetryRecorder {
    limits: RecorderLimits,
    mapping: Option<SignalMapping>,
    rings: RingSet,
    last_trim: SnapshotTrim,
}

impl TelemetryRecorder {
    /// A recorder, naming signals through `mapping` when given.
    pub fn new(limits: RecorderLimits, mapping: Option<SignalMapping>) -> Self {
        let rings = RingSet::new(RingLimits {
            max_samples_per_signal: limits.max_samples_per_signal,
            max_age_ms: limits.max_age_ms,
            max_signals: limits.max_signals,
        });
        Self {
            limits,
            mapping,
            rings,
            last_trim: SnapshotTrim::default(),
        }
    }

    /// Decodes a frame with `db` and records its signals at `t_ms`.
    pub fn record_frame(&mut self, t_ms: i64, db: &Database, frame: &CanFrame) -> FrameDecode {
        let decoded = db.decode(frame);
        if let FrameDecode::Decoded { message, signals } = &decoded {
            let layout = db.message_for(frame.id, frame.extended);
            for (name, value) in signals {
                let unit = layout
                    .and_then(|m| m.signals.iter().find(|s| &s.name == name))
                    .map(|s| s.unit.as_str())
                    .filter(|u| !u.is_empty());
                self.record_decoded(t_ms, message, name, unit, *value);
            }
        }
        decoded
    }

    /// Records one decoded DBC signal value, mapped to VSS when a mapping
    /// names it.
    pub fn record_decoded(
        &mut self,
        t_ms: i64,
        message: &str,
        signal: &str,
        dbc_unit: Option<&str>,
        value: f64,
    ) {
        let mut mapped = false;
        if let Some(mapping) = &self.mapping {
            for entry in mapping.lookup_all(signal) {
                mapped = true;
                if let Some(vss_value) = entry.apply(value) {
                    let sample = Sample {
                        t_ms,
                        value: vss_value,
                    };
                    self.rings
                        .push(&entry.vss_path, entry.unit.as_deref(), sample);
                }
            }
        }
        if !mapped && (self.mapping.is_none() || self.limits.keep_unmapped) {
            let name = format!("{message}.{signal}");
            self.rings.push(&name, dbc_unit, Sample { t_ms, value });
        }
    }

    /// Records a value under a name of the caller's choosing.
    pub fn record_signal(&mut self, name: &str, unit: Option<&str>, t_ms: i64, value: f64) {
        self.rings.push(name, unit, Sample { t_ms, value });
    }

    /// The rings, for inspection.
    pub fn rings(&self) -> &RingSet {
        &self.rings
    }

    /// What the rings refused or evicted so far.
    pub fn counters(&self) -> RingCounters {
        self.rings.counters()
    }

    /// What the last snapshot left out.
    pub fn last_trim(&self) -> SnapshotTrim {
        self.last_trim
    }

    /// The window `[trigger - pre, trigger + post]` (clamped to 10 minutes
    /// in total, pre first) with at most `max_samples_per_signal` samples
    /// per signal. DTCs, location and odometer are left empty for the
    /// caller to fill.
    pub fn snapshot(
        &mut self,
        trigger_ms: i64,
        pre_ms: i64,
        post_ms: i64,
        max_samples_per_signal: usize,
    ) -> TelemetrySnapshot {
        let pre_ms = pre_ms.clamp(0, MAX_WINDOW_MS);
        let post_ms = post_ms.clamp(0, MAX_WINDOW_MS - pre_ms);
        let start = trigger_ms.saturating_sub(pre_ms);
        let end = trigger_ms.saturating_add(post_ms);
        let mut names: Vec<(bool, &str)> = self
            .rings
            .iter()
            .map(|(name, _)| (!self.is_vss_path(name), name))
            .collect();
        names.sort_unstable();
        let mut trim = SnapshotTrim::default();
        let mut budget = self.limits.max_snapshot_bytes;
        let mut signals = Vec::new();
        for (_, name) in names {
            let Some(ring) = self.rings.get(name) else {
                continue;
            };
            let inside: Vec<Sample> = ring.window(start, end).collect();
            if inside.is_empty() {
                continue;
            }
            let samples = downsample(&inside, max_samples_per_signal.max(1));
            let unit = ring.unit().map(str::to_string);
            let cost = SERIES_OVERHEAD_BYTES
                + name.len()
                + unit.as_ref().map_or(0, String::len)
                + samples.len() * SAMPLE_BYTES;
            if cost > budget || signals.len() == MAX_SNAPSHOT_SIGNALS {
                trim.signals_dropped += 1;
                continue;
            }
            budget -= cost;
            trim.samples_downsampled += inside.len() - samples.len();
            signals.push(SignalSeries {
                name: name.to_string(),
                unit,
                samples,
            });
        }
        self.last_trim = trim;
        TelemetrySnapshot {
            window_start_ms: start,
            window_end_ms: end,
            signals,
            dtcs: Vec::new(),
            location: None,
            odometer_km: None,
        }
    }

    fn is_vss_path(&self, name: &str) -> bool {
        self.mapping
            .as_ref()
            .is_some_and(|m| m.entries().iter().any(|e| e.vss_path == name))
    }
}

/// Picks `cap` samples spread evenly over `samples`, keeping both ends.
pub fn downsample(samples: &[Sample], cap: usize) -> Vec<Sample> {
    let n = samples.len();
    if n <= cap {
        return samples.to_vec();
    }
    if cap == 1 {
        return vec![samples[n - 1]];
    }
    (0..cap)
        .map(|i| samples[(i * (n - 1) + (cap - 1) / 2) / (cap - 1)])
        .collect()
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
