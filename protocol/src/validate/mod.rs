//! Semantic checks on decoded messages: the codec guarantees shape, this
//! module guarantees sense (VIN alphabet, sizes, timestamps, finite numbers).
//!
//! # Layout
//! - this file: [`Limits`], the VIN check and the small messages (chunk,
//!   event, receipt, satisfaction answer, loss report).
//! - `feedback`: the feedback envelope and its telemetry snapshot.

mod feedback;

use crate::{
    chunk::{AudioChunk, CHUNK_DATA_BYTES, MAX_CHUNKS},
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
mod tests;
