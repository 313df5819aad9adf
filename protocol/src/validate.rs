//! Semantic checks on decoded messages: the codec guarantees shape, this
//! module guarantees sense (VIN alphabet, sizes, timestamps, finite numbers).

use crate::{
    chunk::{AudioChunk, CHUNK_DATA_BYTES, MAX_CHUNKS},
    envelope::{AudioPayload, FeedbackEnvelope},
    error::ValidationError,
    event::{EventReceipt, SatisfactionReply, VehicleEvent},
    loss::{LossReport, LostMessage, MAX_LOSS_REASON_BYTES},
    MAX_MESSAGE_BYTES,
};

/// 2000-01-01T00:00:00Z in Unix ms: nothing qloop receives is older.
pub const EARLIEST_MS: i64 = 946_684_800_000;

/// Size and time bounds applied to every message.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Longest transcript, bytes.
    pub max_transcript_bytes: usize,
    /// Longest short string (model, ECU, locale, DTC, signal name), bytes.
    pub max_short_string: usize,
    /// Most software entries.
    pub max_software: usize,
    /// Most signals in a snapshot.
    pub max_signals: usize,
    /// Most samples in one signal.
    pub max_samples_per_signal: usize,
    /// Most DTCs.
    pub max_dtcs: usize,
    /// Largest reassembled audio, bytes.
    pub max_audio_bytes: usize,
    /// Longest audio, ms.
    pub max_audio_ms: u32,
    /// Longest telemetry window, ms.
    pub max_window_ms: i64,
    /// How far in the future a car clock may be, ms.
    pub max_clock_skew_ms: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_transcript_bytes: 8 * 1024,
            max_short_string: 128,
            max_software: 64,
            max_signals: 1024,
            max_samples_per_signal: 10_000,
            max_dtcs: 256,
            max_audio_bytes: 8 * 1024 * 1024,
            max_audio_ms: 5 * 60 * 1000,
            max_window_ms: 10 * 60 * 1000,
            max_clock_skew_ms: 24 * 3600 * 1000,
        }
    }
}

/// Checks a VIN: 17 characters of `0-9 A-Z` without `I`, `O`, `Q` (ISO 3779).
pub fn validate_vin(vin: &str) -> Result<(), ValidationError> {
    let err = |reason| ValidationError::Vin {
        vin: vin.chars().take(32).collect(),
        reason,
    };
    if vin.len() != 17 {
        return Err(err("must be 17 characters"));
    }
    if !vin
        .bytes()
        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
    {
        return Err(err("only digits and upper-case letters are allowed"));
    }
    if vin.bytes().any(|b| matches!(b, b'I' | b'O' | b'Q')) {
        return Err(err("letters I, O and Q are not used in VINs"));
    }
    Ok(())
}

impl Limits {
    fn short(&self, field: &'static str, s: &str) -> Result<(), ValidationError> {
        max_len(field, s.len(), self.max_short_string)
    }

    fn time(&self, field: &'static str, value_ms: i64, now_ms: i64) -> Result<(), ValidationError> {
        let max_ms = now_ms.saturating_add(self.max_clock_skew_ms);
        if value_ms < EARLIEST_MS || value_ms > max_ms {
            return Err(ValidationError::Timestamp {
                field,
                value_ms,
                min_ms: EARLIEST_MS,
                max_ms,
            });
        }
        Ok(())
    }

    /// Checks a feedback envelope received at `now_ms`.
    pub fn check_feedback(
        &self,
        env: &FeedbackEnvelope,
        now_ms: i64,
    ) -> Result<(), ValidationError> {
        validate_vin(&env.vehicle.vin)?;
        self.short("vehicle.model", &env.vehicle.model)?;
        if env.vehicle.year != 0 && !(1980..=2100).contains(&env.vehicle.year) {
            return Err(ValidationError::OutOfRange {
                field: "vehicle.year",
                value: env.vehicle.year.into(),
            });
        }
        max_len(
            "vehicle.software",
            env.vehicle.software.len(),
            self.max_software,
        )?;
        for sw in &env.vehicle.software {
            self.short("vehicle.software.ecu", &sw.ecu)?;
            self.short("vehicle.software.version", &sw.version)?;
        }
        self.time("captured_at_ms", env.captured_at_ms, now_ms)?;
        if let Some(cut) = &env.cut_short {
            self.time("cut_short.completed_at_ms", cut.completed_at_ms, now_ms)?;
        }
        self.short("locale", &env.locale)?;
        if let Some(u) = &env.utterance {
            max_len(
                "utterance.transcript",
                u.transcript.len(),
                self.max_transcript_bytes,
            )?;
            if let Some(c) = u.confidence {
                if !(0.0..=1.0).contains(&c) {
                    return Err(ValidationError::OutOfRange {
                        field: "utterance.confidence",
                        value: c.into(),
                    });
                }
            }
        }
        if let Some(a) = &env.audio {
            if !env.consent.audio {
                return Err(ValidationError::Inconsistent(
                    "audio sent without audio consent".into(),
                ));
            }
            if a.duration_ms > self.max_audio_ms {
                return Err(ValidationError::TooLong {
                    field: "audio.duration_ms",
                    len: a.duration_ms as usize,
                    max: self.max_audio_ms as usize,
                });
            }
            if a.sample_rate == 0 || a.sample_rate > 192_000 || a.channels == 0 || a.channels > 8 {
                return Err(ValidationError::Inconsistent(format!(
                    "audio format {} Hz x {} channels",
                    a.sample_rate, a.channels
                )));
            }
            match &a.payload {
                AudioPayload::Inline(bytes) => {
                    max_len("audio.payload", bytes.len(), self.max_audio_bytes)?
                }
                AudioPayload::Chunked {
                    chunks,
                    total_bytes,
                    ..
                } => {
                    max_len(
                        "audio.total_bytes",
                        *total_bytes as usize,
                        self.max_audio_bytes,
                    )?;
                    if *chunks == 0 || *chunks > MAX_CHUNKS || *chunks > (*total_bytes).max(1) {
                        return Err(ValidationError::Inconsistent(format!(
                            "{chunks} chunks for {total_bytes} audio bytes"
                        )));
                    }
                }
            }
        }
        self.check_telemetry(env, now_ms)
    }

    fn check_telemetry(&self, env: &FeedbackEnvelope, now_ms: i64) -> Result<(), ValidationError> {
        let t = &env.telemetry;
        if t.window_start_ms != 0 || t.window_end_ms != 0 {
            self.time("telemetry.window_start_ms", t.window_start_ms, now_ms)?;
            self.time("telemetry.window_end_ms", t.window_end_ms, now_ms)?;
            if t.window_end_ms < t.window_start_ms {
                return Err(ValidationError::Inconsistent(
                    "telemetry window ends before it starts".into(),
                ));
            }
            if t.window_end_ms - t.window_start_ms > self.max_window_ms {
                return Err(ValidationError::TooLong {
                    field: "telemetry.window",
                    len: (t.window_end_ms - t.window_start_ms) as usize,
                    max: self.max_window_ms as usize,
                });
            }
        }
        max_len("telemetry.signals", t.signals.len(), self.max_signals)?;
        for s in &t.signals {
            self.short("telemetry.signals.name", &s.name)?;
            if let Some(u) = &s.unit {
                self.short("telemetry.signals.unit", u)?;
            }
            max_len(
                "telemetry.signals.samples",
                s.samples.len(),
                self.max_samples_per_signal,
            )?;
            for sample in &s.samples {
                if !sample.value.is_finite() {
                    return Err(ValidationError::OutOfRange {
                        field: "telemetry.signals.samples.value",
                        value: sample.value,
                    });
                }
                if sample.t_ms < t.window_start_ms || sample.t_ms > t.window_end_ms {
                    return Err(ValidationError::Inconsistent(format!(
                        "sample of {} at {} ms is outside the window",
                        s.name, sample.t_ms
                    )));
                }
            }
        }
        max_len("telemetry.dtcs", t.dtcs.len(), self.max_dtcs)?;
        for d in &t.dtcs {
            self.short("telemetry.dtcs.code", &d.code)?;
            self.short("telemetry.dtcs.ecu", &d.ecu)?;
            self.short("telemetry.dtcs.status", &d.status)?;
        }
        if let Some(loc) = &t.location {
            if !env.consent.location {
                return Err(ValidationError::Inconsistent(
                    "location sent without location consent".into(),
                ));
            }
            if !(-90.0..=90.0).contains(&loc.lat) {
                return Err(ValidationError::OutOfRange {
                    field: "telemetry.location.lat",
                    value: loc.lat,
                });
            }
            if !(-180.0..=180.0).contains(&loc.lon) {
                return Err(ValidationError::OutOfRange {
                    field: "telemetry.location.lon",
                    value: loc.lon,
                });
            }
            if !loc.accuracy_m.is_finite() || loc.accuracy_m < 0.0 {
                return Err(ValidationError::OutOfRange {
                    field: "telemetry.location.accuracy_m",
                    value: loc.accuracy_m.into(),
                });
            }
        }
        if let Some(km) = t.odometer_km {
            if !km.is_finite() || !(0.0..=10_000_000.0).contains(&km) {
                return Err(ValidationError::OutOfRange {
                    field: "telemetry.odometer_km",
                    value: km,
                });
            }
        }
        Ok(())
    }

    /// Checks an audio chunk.
    pub fn check_chunk(&self, chunk: &AudioChunk) -> Result<(), ValidationError> {
        validate_vin(&chunk.vin)?;
        if chunk.total == 0 || chunk.total > MAX_CHUNKS || chunk.index >= chunk.total {
            return Err(ValidationError::Inconsistent(format!(
                "chunk {} of {}",
                chunk.index, chunk.total
            )));
        }
        max_len("audio_chunk.data", chunk.data.len(), CHUNK_DATA_BYTES)
    }

    /// Checks a downlink event.
    pub fn check_event(&self, event: &VehicleEvent, now_ms: i64) -> Result<(), ValidationError> {
        self.time("event.sent_at_ms", event.sent_at_ms, now_ms)?;
        max_len(
            "event.message",
            event.message.len(),
            self.max_transcript_bytes,
        )
    }

    /// Checks an event receipt.
    pub fn check_receipt(
        &self,
        receipt: &EventReceipt,
        now_ms: i64,
    ) -> Result<(), ValidationError> {
        validate_vin(&receipt.vin)?;
        self.time("receipt.received_at_ms", receipt.received_at_ms, now_ms)
    }

    /// Checks a driver's satisfaction answer: VIN, a score of 1 to 5, a
    /// case number, a comment of at most 1,000 characters, a sane time.
    pub fn check_satisfaction(
        &self,
        reply: &SatisfactionReply,
        now_ms: i64,
    ) -> Result<(), ValidationError> {
        validate_vin(&reply.vin)?;
        if !(1..=5).contains(&reply.score) {
            return Err(ValidationError::OutOfRange {
                field: "satisfaction.score",
                value: f64::from(reply.score),
            });
        }
        if reply.case_number < 1 {
            return Err(ValidationError::OutOfRange {
                field: "satisfaction.case_number",
                value: reply.case_number as f64,
            });
        }
        if let Some(c) = &reply.comment {
            max_len("satisfaction.comment", c.chars().count(), MAX_COMMENT_CHARS)?;
        }
        self.time("satisfaction.answered_at_ms", reply.answered_at_ms, now_ms)
    }

    /// Checks a car's loss report received at `now_ms`.
    pub fn check_loss(&self, report: &LossReport, now_ms: i64) -> Result<(), ValidationError> {
        validate_vin(&report.vin)?;
        max_len("loss.reason", report.reason.len(), MAX_LOSS_REASON_BYTES)?;
        if let LostMessage::AudioChunk { index } = report.lost {
            if index >= MAX_CHUNKS {
                return Err(ValidationError::OutOfRange {
                    field: "loss.lost.index",
                    value: f64::from(index),
                });
            }
        }
        self.time("loss.detected_at_ms", report.detected_at_ms, now_ms)
    }

    /// Checks that an encoded message fits the broker limit.
    pub fn check_encoded(&self, bytes: &[u8]) -> Result<(), ValidationError> {
        max_len("message", bytes.len(), MAX_MESSAGE_BYTES)
    }
}

/// Longest comment with a satisfaction answer, characters.
pub const MAX_COMMENT_CHARS: usize = 1_000;

fn max_len(field: &'static str, len: usize, max: usize) -> Result<(), ValidationError> {
    if len > max {
        return Err(ValidationError::TooLong { field, len, max });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vin_alphabet_and_length_are_enforced() {
        assert!(validate_vin("5YJ3E1EA7KF317000").is_ok());
        assert!(validate_vin("5YJ3E1EA7KF31700").is_err(), "16 characters");
        assert!(validate_vin("5YJ3E1EA7KF3170000").is_err(), "18 characters");
        assert!(validate_vin("5YJ3E1EA7KF31700O").is_err(), "letter O");
        assert!(validate_vin("5yj3e1ea7kf317000").is_err(), "lower case");
        assert!(validate_vin("5YJ3E1EA7KF31700é").is_err(), "non-ASCII");
    }

    #[test]
    fn satisfaction_answers_are_checked_field_by_field() {
        let now = 1_790_000_000_000;
        let ok = SatisfactionReply {
            vin: "5YJ3E1EA7KF317000".into(),
            case_number: 7,
            score: 4,
            comment: Some("fixed".into()),
            answered_at_ms: now,
        };
        let limits = Limits::default();
        assert!(limits.check_satisfaction(&ok, now).is_ok());
        for (bad, field) in [
            (
                SatisfactionReply {
                    score: 0,
                    ..ok.clone()
                },
                "score",
            ),
            (
                SatisfactionReply {
                    score: 6,
                    ..ok.clone()
                },
                "score",
            ),
            (
                SatisfactionReply {
                    case_number: 0,
                    ..ok.clone()
                },
                "case_number",
            ),
            (
                SatisfactionReply {
                    comment: Some("x".repeat(1_001)),
                    ..ok.clone()
                },
                "comment",
            ),
            (
                SatisfactionReply {
                    vin: "nope".into(),
                    ..ok.clone()
                },
                "VIN",
            ),
            (
                SatisfactionReply {
                    answered_at_ms: now + 2 * 86_400_000,
                    ..ok.clone()
                },
                "answered_at_ms",
            ),
        ] {
            let err = limits
                .check_satisfaction(&bad, now)
                .unwrap_err()
                .to_string();
            assert!(err.contains(field), "{err}");
        }
    }
}
