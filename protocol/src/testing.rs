//! Valid feedback envelopes for tests, examples and benchmarks, built
//! field by field (feature `test-support`). One builder instead of one
//! hand-written envelope per test suite: a field added to the envelope is
//! added here once.

use uuid::Uuid;

use crate::envelope::{
    Consent, Dtc, FeedbackEnvelope, Location, Sample, SignalSeries, SoftwareVersion,
    TelemetrySnapshot, TriggerKind, Utterance, Vehicle,
};

/// Builds a [`FeedbackEnvelope`] that passes [`crate::Limits::check_feedback`].
#[derive(Debug, Clone)]
pub struct EnvelopeBuilder(FeedbackEnvelope);

impl EnvelopeBuilder {
    /// A 2021 Model 3 `vin` whose driver says `transcript` at
    /// `captured_at_ms`: en-US, CLI trigger, no confidence, a telemetry
    /// window of the second before with no signals, no audio, no consent,
    /// and a new UUIDv7 feedback id.
    pub fn new(vin: &str, transcript: &str, captured_at_ms: i64) -> Self {
        Self(FeedbackEnvelope {
            feedback_id: Uuid::now_v7(),
            vehicle: Vehicle {
                vin: vin.into(),
                model: "Model 3".into(),
                year: 2021,
                software: vec![],
            },
            captured_at_ms,
            trigger: TriggerKind::Cli,
            locale: "en-US".into(),
            utterance: Some(Utterance {
                transcript: transcript.into(),
                confidence: None,
            }),
            audio: None,
            telemetry: TelemetrySnapshot {
                window_start_ms: captured_at_ms - 1_000,
                window_end_ms: captured_at_ms,
                ..Default::default()
            },
            consent: Consent {
                audio: false,
                location: false,
            },
            cut_short: None,
        })
    }

    /// What started the capture.
    pub fn trigger(mut self, trigger: TriggerKind) -> Self {
        self.0.trigger = trigger;
        self
    }

    /// The recogniser's confidence in the transcript.
    pub fn confidence(mut self, confidence: f32) -> Self {
        if let Some(u) = &mut self.0.utterance {
            u.confidence = Some(confidence);
        }
        self
    }

    /// No utterance at all (the head unit heard nothing it could write down).
    pub fn without_utterance(mut self) -> Self {
        self.0.utterance = None;
        self
    }

    /// The telemetry window, Unix ms.
    pub fn window(mut self, start_ms: i64, end_ms: i64) -> Self {
        self.0.telemetry.window_start_ms = start_ms;
        self.0.telemetry.window_end_ms = end_ms;
        self
    }

    /// A `Vehicle.Speed` series in km/h of `(t_ms, value)` samples.
    pub fn speed(mut self, samples: &[(i64, f64)]) -> Self {
        self.0.telemetry.signals.push(SignalSeries {
            name: "Vehicle.Speed".into(),
            unit: Some("km/h".into()),
            samples: samples
                .iter()
                .map(|&(t_ms, value)| Sample { t_ms, value })
                .collect(),
        });
        self
    }

    /// One more ECU software version.
    pub fn software(mut self, ecu: &str, version: &str) -> Self {
        self.0.vehicle.software.push(SoftwareVersion {
            ecu: ecu.into(),
            version: version.into(),
        });
        self
    }

    /// One more diagnostic trouble code.
    pub fn dtc(mut self, code: &str, ecu: &str, status: &str) -> Self {
        self.0.telemetry.dtcs.push(Dtc {
            code: code.into(),
            ecu: ecu.into(),
            status: status.into(),
        });
        self
    }

    /// Where the car was (needs location consent to be valid).
    pub fn location(mut self, lat: f64, lon: f64, accuracy_m: f32) -> Self {
        self.0.telemetry.location = Some(Location {
            lat,
            lon,
            accuracy_m,
        });
        self
    }

    /// The odometer reading.
    pub fn odometer_km(mut self, km: f64) -> Self {
        self.0.telemetry.odometer_km = Some(km);
        self
    }

    /// What the driver consented to send.
    pub fn consent(mut self, audio: bool, location: bool) -> Self {
        self.0.consent = Consent { audio, location };
        self
    }

    /// The envelope.
    pub fn build(self) -> FeedbackEnvelope {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Limits;

    #[test]
    fn every_built_envelope_passes_validation() {
        let t = 1_717_000_000_000;
        let plain = EnvelopeBuilder::new("5YJ3E1EA7KF317000", "the wipers squeak", t).build();
        let full = EnvelopeBuilder::new("5YJ3E1EA7KF317000", "the brakes squeal", t)
            .trigger(TriggerKind::Voice)
            .confidence(0.5)
            .window(t - 30_000, t + 10_000)
            .speed(&[(t - 500, 42.5), (t, 40.0)])
            .software("VCFRONT", "2024.14.3")
            .dtc("C0045", "ABS", "active")
            .location(48.1, 11.5, 5.0)
            .odometer_km(12_345.6)
            .consent(true, true)
            .build();
        let silent = EnvelopeBuilder::new("5YJ3E1EA7KF317000", "", t)
            .without_utterance()
            .build();
        for env in [&plain, &full, &silent] {
            Limits::default().check_feedback(env, t).unwrap();
        }
        assert_ne!(plain.feedback_id, full.feedback_id);
        assert_eq!(full.telemetry.signals[0].samples.len(), 2);
        assert!(silent.utterance.is_none());
    }
}
