//! Where a capture's telemetry snapshot comes from.
//!
//! [`ReplayTelemetry`] stands in for a live CAN bus: on each trigger it
//! replays the configured candump log through the DBC (and VSS mapping) with
//! the log's times shifted so its last frame lands `post_window_ms` after the
//! trigger, then cuts the snapshot `[trigger - pre, trigger + post]`. The DBC
//! and mapping are parsed once at start; each replay streams the log, so
//! memory stays within the recorder's limits.

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

use qloop_protocol::TelemetrySnapshot;

use crate::{
    config::TelemetryConfig,
    telemetry::{
        dbc::{Database, DbcError},
        replay::{replay_candump, ReplayOptions, ReplayTrigger},
        snapshot::RecorderLimits,
        vss::{MappingError, SignalMapping},
    },
};

/// Why a telemetry source could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The DBC did not load.
    #[error(transparent)]
    Dbc(#[from] DbcError),
    /// The VSS mapping did not load.
    #[error(transparent)]
    Mapping(#[from] MappingError),
    /// The candump log is not there.
    #[error("candump log {0} not found")]
    LogMissing(PathBuf),
}

/// A source of snapshots around a trigger.
pub trait TelemetrySource: Send + Sync {
    /// The snapshot around `trigger_ms` (Unix ms).
    fn snapshot(&self, trigger_ms: i64) -> Result<TelemetrySnapshot, String>;

    /// What is known at the trigger itself: the pre-trigger part of the
    /// window. It goes into the capture's draft, so a capture cut short by a
    /// kill or a power cut still carries the vehicle's state before it.
    fn snapshot_before(&self, trigger_ms: i64) -> Result<TelemetrySnapshot, String> {
        let mut snapshot = self.snapshot(trigger_ms)?;
        cut_at(&mut snapshot, trigger_ms);
        Ok(snapshot)
    }
}

/// Keeps only what happened up to `trigger_ms`.
fn cut_at(snapshot: &mut TelemetrySnapshot, trigger_ms: i64) {
    snapshot.window_end_ms = snapshot.window_end_ms.min(trigger_ms);
    snapshot.window_start_ms = snapshot.window_start_ms.min(snapshot.window_end_ms);
    for series in &mut snapshot.signals {
        series.samples.retain(|s| s.t_ms <= trigger_ms);
    }
    snapshot.signals.retain(|s| !s.samples.is_empty());
}

/// No telemetry: an empty snapshot at the trigger.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTelemetry;

impl TelemetrySource for NoTelemetry {
    fn snapshot(&self, trigger_ms: i64) -> Result<TelemetrySnapshot, String> {
        Ok(TelemetrySnapshot {
            window_start_ms: trigger_ms,
            window_end_ms: trigger_ms,
            ..TelemetrySnapshot::default()
        })
    }
}

/// A candump log replayed through a DBC as the telemetry source.
#[derive(Debug)]
pub struct ReplayTelemetry {
    db: Database,
    mapping: Option<SignalMapping>,
    log: PathBuf,
    trigger_offset_ms: Option<i64>,
    options: ReplayOptions,
    /// The first snapshot and the trigger it was taken at.
    decoded: OnceLock<Result<(i64, TelemetrySnapshot), String>>,
}

impl ReplayTelemetry {
    /// Loads the DBC and mapping; the log is decoded at the first snapshot.
    pub fn load(
        dbc: &Path,
        mapping: Option<&Path>,
        log: &Path,
        config: &TelemetryConfig,
    ) -> Result<Self, SourceError> {
        let db = Database::load(dbc)?;
        let mapping = mapping.map(SignalMapping::load).transpose()?;
        if !log.is_file() {
            return Err(SourceError::LogMissing(log.to_path_buf()));
        }
        let options = ReplayOptions {
            last_frame_at_ms: None,
            trigger: ReplayTrigger::AtLogEnd,
            pre_ms: config.pre_window_ms as i64,
            post_ms: config.post_window_ms as i64,
            max_samples_per_signal: config.max_samples_per_signal,
            limits: RecorderLimits {
                max_signals: config.max_signals,
                ..RecorderLimits::default()
            },
        };
        Ok(Self {
            db,
            mapping,
            log: log.to_path_buf(),
            trigger_offset_ms: None,
            options,
            decoded: OnceLock::new(),
        })
    }

    /// From the `[telemetry]` section, when it names a DBC and a log.
    pub fn from_config(config: &TelemetryConfig) -> Result<Option<Self>, SourceError> {
        match (&config.dbc, &config.candump_replay) {
            (Some(dbc), Some(log)) => {
                Self::load(dbc, config.mapping.as_deref(), log, config).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// Fire the trigger this many ms after the log's first frame instead of
    /// at its end (e.g. after a fault appears in the log).
    pub fn with_trigger_offset(mut self, offset_ms: Option<i64>) -> Self {
        self.trigger_offset_ms = offset_ms;
        self
    }
}

impl TelemetrySource for ReplayTelemetry {
    fn snapshot(&self, trigger_ms: i64) -> Result<TelemetrySnapshot, String> {
        // The log does not change between triggers, so it is decoded once and
        // each later snapshot is the first one moved in time: replaying a
        // whole log per trigger made 500 captures take minutes.
        let (reference_ms, first) = self
            .decoded
            .get_or_init(|| self.replay(trigger_ms).map(|s| (trigger_ms, s)))
            .clone()?;
        let mut snapshot = first;
        shift_snapshot(&mut snapshot, trigger_ms - reference_ms);
        Ok(snapshot)
    }
}

impl ReplayTelemetry {
    fn replay(&self, trigger_ms: i64) -> Result<TelemetrySnapshot, String> {
        let mut options = self.options;
        match self.trigger_offset_ms {
            // The whole log is "the past": it ends at the trigger + post window.
            None => {
                options.last_frame_at_ms = Some(trigger_ms + options.post_ms);
                options.trigger = ReplayTrigger::At(trigger_ms);
            }
            // The trigger sits inside the log: replay in log time, then
            // move the snapshot so the trigger point is `trigger_ms`.
            Some(offset) => {
                options.trigger = ReplayTrigger::AfterLogStart(offset);
                let mut outcome =
                    replay_candump(&self.db, &self.log, self.mapping.as_ref(), &options)
                        .map_err(|e| e.to_string())?;
                shift_snapshot(&mut outcome.snapshot, trigger_ms - outcome.trigger_ms);
                return Ok(outcome.snapshot);
            }
        }
        replay_candump(&self.db, &self.log, self.mapping.as_ref(), &options)
            .map(|outcome| outcome.snapshot)
            .map_err(|e| e.to_string())
    }
}

fn shift_snapshot(snapshot: &mut TelemetrySnapshot, shift_ms: i64) {
    snapshot.window_start_ms += shift_ms;
    snapshot.window_end_ms += shift_ms;
    for series in &mut snapshot.signals {
        for sample in &mut series.samples {
            sample.t_ms += shift_ms;
        }
    }
}

#[cfg(test)]
mod tests {
    use qloop_protocol::{Sample, SignalSeries};

    use super::*;

    struct Fixed(TelemetrySnapshot);

    impl TelemetrySource for Fixed {
        fn snapshot(&self, _trigger_ms: i64) -> Result<TelemetrySnapshot, String> {
            Ok(self.0.clone())
        }
    }

    #[test]
    fn the_snapshot_before_a_trigger_holds_nothing_after_it() {
        let series = |name: &str, times: &[i64]| SignalSeries {
            name: name.into(),
            unit: None,
            samples: times
                .iter()
                .map(|&t_ms| Sample { t_ms, value: 1.0 })
                .collect(),
        };
        let source = Fixed(TelemetrySnapshot {
            window_start_ms: 1_000,
            window_end_ms: 3_000,
            signals: vec![
                series("Vehicle.Speed", &[1_000, 1_900, 2_000, 2_500]),
                series("Vehicle.OnlyAfter", &[2_600]),
            ],
            ..TelemetrySnapshot::default()
        });
        let before = source.snapshot_before(2_000).unwrap();
        assert_eq!(
            (before.window_start_ms, before.window_end_ms),
            (1_000, 2_000)
        );
        assert_eq!(
            before.signals.len(),
            1,
            "a signal seen only after the trigger is gone"
        );
        let times: Vec<i64> = before.signals[0].samples.iter().map(|s| s.t_ms).collect();
        assert_eq!(times, [1_000, 1_900, 2_000]);
    }
}
