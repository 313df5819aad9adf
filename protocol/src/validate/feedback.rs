//! The feedback envelope's checks: vehicle, times, utterance, audio and
//! telemetry snapshot.

use super::{max_len, validate_vin, Limits};
use crate::{
    chunk::MAX_CHUNKS,
    envelope::{AudioClip, AudioPayload, FeedbackEnvelope, Location},
    error::ValidationError,
};

impl Limits {
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
        if let Some(audio) = &env.audio {
            if !env.consent.audio {
                return Err(ValidationError::Inconsistent(
                    "audio sent without audio consent".into(),
                ));
            }
            self.check_audio(audio)?;
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
            check_location(loc)?;
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

    /// The clip's length, format and payload size.
    fn check_audio(&self, a: &AudioClip) -> Result<(), ValidationError> {
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
                max_len("audio.payload", bytes.len(), self.max_audio_bytes)
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
                Ok(())
            }
        }
    }
}

/// Latitude, longitude and accuracy in range.
fn check_location(loc: &Location) -> Result<(), ValidationError> {
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
    Ok(())
}
