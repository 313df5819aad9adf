//! Replaying a candump log through a DBC into a [`TelemetryRecorder`], as
//! the `send` command does when no live CAN bus is at hand.
//!
//! Time base: log timestamps (seconds) become milliseconds; with
//! [`ReplayOptions::last_frame_at_ms`] every time is shifted so the log's
//! last frame lands there (a log from 2023 then reads as "just now", which
//! the protocol's timestamp validation needs). Finding the last frame takes
//! a first pass over the log; both passes stream, so memory stays bounded
//! by the recorder's limits, not by the log's length.
//!
//! Frames after `trigger + post` are not read: the snapshot is what the car
//! would have sent `post` ms after the trigger.

use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use qloop_protocol::TelemetrySnapshot;

use super::candump::CandumpReader;
use super::dbc::{Database, FrameDecode};
use super::snapshot::{RecorderLimits, SnapshotTrim, TelemetryRecorder};
use super::vss::SignalMapping;

/// Why a replay could not run.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The log could not be opened.
    #[error("opening candump log {path}: {source}")]
    Open {
        /// The log.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The log holds no readable frame.
    #[error("candump log {0} holds no readable frame")]
    NoFrames(PathBuf),
}

/// When the trigger fires, in the replay's time base.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplayTrigger {
    /// At the log's last frame.
    AtLogEnd,
    /// This many ms after the log's first frame.
    AfterLogStart(i64),
    /// At this time (ms, after rebasing).
    At(i64),
}

/// How to replay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReplayOptions {
    /// Shift times so the last frame is at this Unix ms; `None` keeps log times.
    pub last_frame_at_ms: Option<i64>,
    /// When the trigger fires.
    pub trigger: ReplayTrigger,
    /// Window before the trigger, ms.
    pub pre_ms: i64,
    /// Window after the trigger, ms.
    pub post_ms: i64,
    /// Most samples per signal in the snapshot.
    pub max_samples_per_signal: usize,
    /// Recorder bounds.
    pub limits: RecorderLimits,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        Self {
            last_frame_at_ms: None,
            trigger: ReplayTrigger::AtLogEnd,
            pre_ms: 30_000,
            post_ms: 5_000,
            max_samples_per_signal: 50,
            limits: RecorderLimits::default(),
        }
    }
}

/// Counts of what the replay read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplayStats {
    /// Frames fed to the recorder.
    pub frames: u64,
    /// Frames that decoded.
    pub decoded: u64,
    /// Frames whose id the DBC lacks.
    pub unknown: u64,
    /// Frames with a known id that did not decode.
    pub decode_errors: u64,
    /// Lines that were not candump frames.
    pub bad_lines: u64,
}

/// A replay's snapshot and what it read.
#[derive(Debug, Clone)]
pub struct ReplayOutcome {
    /// The snapshot around the trigger.
    pub snapshot: TelemetrySnapshot,
    /// The trigger time, ms in the replay's time base.
    pub trigger_ms: i64,
    /// What was read.
    pub stats: ReplayStats,
    /// What the snapshot left out.
    pub trim: SnapshotTrim,
}

fn seconds_to_ms(t: f64) -> i64 {
    (t * 1000.0).round() as i64
}

fn open(path: &Path) -> Result<CandumpReader<BufReader<File>>, ReplayError> {
    let file = File::open(path).map_err(|source| ReplayError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(CandumpReader::new(BufReader::new(file)))
}

/// Replays `candump_path` through `db` and returns the snapshot around the
/// trigger.
pub fn replay_candump(
    db: &Database,
    candump_path: &Path,
    mapping: Option<&SignalMapping>,
    options: &ReplayOptions,
) -> Result<ReplayOutcome, ReplayError> {
    let mut first_ms = None;
    let mut last_ms = None;
    for (_, frame) in open(candump_path)? {
        if let Ok(frame) = frame {
            let t = seconds_to_ms(frame.t);
            first_ms.get_or_insert(t);
            last_ms = Some(last_ms.map_or(t, |l: i64| l.max(t)));
        }
    }
    let (Some(first_ms), Some(last_ms)) = (first_ms, last_ms) else {
        return Err(ReplayError::NoFrames(candump_path.to_path_buf()));
    };
    let shift = options
        .last_frame_at_ms
        .map_or(0, |at| at.saturating_sub(last_ms));
    let trigger_ms = match options.trigger {
        ReplayTrigger::AtLogEnd => last_ms.saturating_add(shift),
        ReplayTrigger::AfterLogStart(after) => first_ms.saturating_add(shift).saturating_add(after),
        ReplayTrigger::At(at) => at,
    };
    let stop_after = trigger_ms.saturating_add(options.post_ms.max(0));
    let mut recorder = TelemetryRecorder::new(options.limits, mapping.cloned());
    let mut stats = ReplayStats::default();
    for (_, frame) in open(candump_path)? {
        let Ok(frame) = frame else {
            stats.bad_lines += 1;
            continue;
        };
        let t_ms = seconds_to_ms(frame.t).saturating_add(shift);
        if t_ms > stop_after {
            break;
        }
        stats.frames += 1;
        match recorder.record_frame(t_ms, db, &frame) {
            FrameDecode::Decoded { .. } => stats.decoded += 1,
            FrameDecode::Unknown => stats.unknown += 1,
            FrameDecode::Error(_) => stats.decode_errors += 1,
        }
    }
    let snapshot = recorder.snapshot(
        trigger_ms,
        options.pre_ms,
        options.post_ms,
        options.max_samples_per_signal,
    );
    Ok(ReplayOutcome {
        snapshot,
        trigger_ms,
        stats,
        trim: recorder.last_trim(),
    })
}
