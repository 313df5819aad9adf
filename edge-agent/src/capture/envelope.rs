//! The envelope: a trigger, the driver's words, an optional clip and the
//! telemetry snapshot become a validated [`FeedbackEnvelope`] and then the
//! encoded messages to commit to the outbox, envelope first.
//!
//! Size rules, applied in order until the envelope fits
//! [`MAX_MESSAGE_BYTES`]:
//! 1. audio that does not fit inline is split into chunks
//!    ([`qloop_protocol::split_audio`]), each its own outbox entry;
//! 2. telemetry is thinned: every series longer than two samples keeps every
//!    other sample (first and last kept), halving the data per round;
//! 3. when all series are down to two samples, the second half of the
//!    signals (by name) is dropped per round.
//!
//! What was thinned is reported in [`CaptureMessages`].

use qloop_protocol::{
    chunk::CHUNK_DATA_BYTES, encode, split_audio, AudioPayload, Consent, Dtc, FeedbackEnvelope,
    Limits, Message, SoftwareVersion, TelemetrySnapshot, TriggerKind, Utterance, Vehicle,
    MAX_MESSAGE_BYTES,
};
use uuid::Uuid;

use super::CaptureError;
use crate::{audio::WavClip, config::Config};

/// What the driver gave us, and what triggered it.
#[derive(Debug, Clone)]
pub struct CaptureInput {
    /// The idempotency key, chosen when the trigger is accepted.
    pub feedback_id: Uuid,
    /// What started it.
    pub trigger: TriggerKind,
    /// The transcript, when the head unit made one.
    pub transcript: Option<String>,
    /// The recogniser's confidence.
    pub confidence: Option<f32>,
    /// The clip, already validated.
    pub audio: Option<WavClip>,
    /// Vehicle state around the trigger.
    pub telemetry: TelemetrySnapshot,
    /// When the trigger happened, Unix ms.
    pub captured_at_ms: i64,
}

/// The encoded messages of one capture, envelope first.
#[derive(Debug, Clone)]
pub struct CaptureMessages {
    /// The idempotency key.
    pub feedback_id: Uuid,
    /// Encoded messages: the envelope, then audio chunks in order.
    pub messages: Vec<Vec<u8>>,
    /// Audio chunks among them.
    pub audio_chunks: usize,
    /// Telemetry samples dropped to fit.
    pub samples_dropped: usize,
    /// Telemetry signals dropped to fit.
    pub signals_dropped: usize,
}

/// Now, Unix ms.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Builds the envelope from config and input (consent applied, static DTCs
/// added to the snapshot).
pub fn build_envelope(config: &Config, input: CaptureInput) -> FeedbackEnvelope {
    let v = &config.vehicle;
    let mut telemetry = input.telemetry;
    telemetry.dtcs.extend(v.dtcs.iter().map(|d| Dtc {
        code: d.code.clone(),
        ecu: d.ecu.clone(),
        status: d.status.clone(),
    }));
    if !v.consent_location {
        telemetry.location = None;
    }
    let audio = match input.audio {
        Some(_) if !v.consent_audio => {
            tracing::info!("audio given without consent; not attached");
            None
        }
        other => other.map(WavClip::into_audio_clip),
    };
    FeedbackEnvelope {
        feedback_id: input.feedback_id,
        vehicle: Vehicle {
            vin: v.vin.clone(),
            model: v.model.clone(),
            year: v.year,
            software: v
                .software
                .iter()
                .map(|(ecu, version)| SoftwareVersion {
                    ecu: ecu.clone(),
                    version: version.clone(),
                })
                .collect(),
        },
        captured_at_ms: input.captured_at_ms,
        trigger: input.trigger,
        locale: v.locale.clone(),
        utterance: input.transcript.map(|transcript| Utterance {
            transcript,
            confidence: input.confidence,
        }),
        audio,
        telemetry,
        consent: Consent {
            audio: v.consent_audio,
            location: v.consent_location,
        },
        cut_short: None,
    }
}

/// Validates the envelope and encodes it (with chunks) so each message fits.
pub fn into_messages(mut env: FeedbackEnvelope) -> Result<CaptureMessages, CaptureError> {
    let limits = Limits::default();
    let (samples_before, signals_before) = telemetry_size(&env.telemetry);
    clamp_to_limits(&mut env.telemetry, &limits);
    limits.check_feedback(&env, now_ms())?;
    let mut chunks = Vec::new();
    let mut encoded = encode(&Message::Feedback(Box::new(env.clone())));
    if encoded.len() > MAX_MESSAGE_BYTES {
        if let Some(clip) = env.audio.as_mut() {
            if let AudioPayload::Inline(bytes) = &clip.payload {
                let (payload, parts) =
                    split_audio(env.feedback_id, &env.vehicle.vin, bytes, CHUNK_DATA_BYTES);
                clip.payload = payload;
                chunks = parts;
            }
        }
        encoded = encode(&Message::Feedback(Box::new(env.clone())));
    }
    while encoded.len() > MAX_MESSAGE_BYTES {
        if !thin_telemetry(&mut env.telemetry) {
            return Err(CaptureError::TooLarge {
                len: encoded.len(),
                max: MAX_MESSAGE_BYTES,
            });
        }
        encoded = encode(&Message::Feedback(Box::new(env.clone())));
    }
    let (samples_after, signals_after) = telemetry_size(&env.telemetry);
    let mut messages = Vec::with_capacity(1 + chunks.len());
    messages.push(encoded);
    let audio_chunks = chunks.len();
    for chunk in chunks {
        limits.check_chunk(&chunk)?;
        messages.push(encode(&Message::AudioChunk(chunk)));
    }
    Ok(CaptureMessages {
        feedback_id: env.feedback_id,
        messages,
        audio_chunks,
        samples_dropped: samples_before - samples_after,
        signals_dropped: signals_before - signals_after,
    })
}

fn telemetry_size(t: &TelemetrySnapshot) -> (usize, usize) {
    (
        t.signals.iter().map(|s| s.samples.len()).sum(),
        t.signals.len(),
    )
}

fn clamp_to_limits(t: &mut TelemetrySnapshot, limits: &Limits) {
    t.signals.truncate(limits.max_signals);
    t.dtcs.truncate(limits.max_dtcs);
    for s in &mut t.signals {
        let excess = s
            .samples
            .len()
            .saturating_sub(limits.max_samples_per_signal);
        // Keep the newest samples: those nearest the trigger's aftermath.
        s.samples.drain(..excess);
    }
}

/// One thinning round; false when there is nothing left to drop.
fn thin_telemetry(t: &mut TelemetrySnapshot) -> bool {
    if t.signals.iter().any(|s| s.samples.len() > 2) {
        for s in &mut t.signals {
            let n = s.samples.len();
            if n > 2 {
                let last = s.samples[n - 1];
                let mut i = 0;
                s.samples.retain(|_| {
                    i += 1;
                    (i - 1) % 2 == 0
                });
                if s.samples.last() != Some(&last) {
                    s.samples.push(last);
                }
            }
        }
        return true;
    }
    if t.signals.is_empty() {
        return false;
    }
    t.signals.sort_by(|a, b| a.name.cmp(&b.name));
    t.signals.truncate(t.signals.len() / 2);
    true
}

#[cfg(test)]
mod tests {
    use qloop_protocol::{decode, Sample, SignalSeries};

    use super::*;

    fn input(telemetry: TelemetrySnapshot, audio: Option<WavClip>) -> CaptureInput {
        let now = now_ms();
        CaptureInput {
            feedback_id: Uuid::now_v7(),
            trigger: TriggerKind::Voice,
            transcript: Some("the brakes squeal".into()),
            confidence: Some(0.8),
            audio,
            telemetry,
            captured_at_ms: now,
        }
    }

    fn big_snapshot(signals: usize, samples: usize) -> TelemetrySnapshot {
        let now = now_ms();
        TelemetrySnapshot {
            window_start_ms: now - 10_000,
            window_end_ms: now,
            signals: (0..signals)
                .map(|i| SignalSeries {
                    name: format!("Vehicle.Signal{i:03}"),
                    unit: None,
                    samples: (0..samples)
                        .map(|j| Sample {
                            t_ms: now - 10_000 + j as i64,
                            value: j as f64 * 0.37,
                        })
                        .collect(),
                })
                .collect(),
            ..TelemetrySnapshot::default()
        }
    }

    #[test]
    fn oversized_telemetry_is_thinned_until_the_envelope_fits() {
        let config = Config::embedded_default().unwrap();
        let env = build_envelope(&config, input(big_snapshot(200, 600), None));
        let out = into_messages(env).unwrap();
        assert_eq!(out.messages.len(), 1);
        assert!(out.messages[0].len() <= MAX_MESSAGE_BYTES);
        assert!(out.samples_dropped > 0);
        let Message::Feedback(env) = decode(&out.messages[0]).unwrap() else {
            panic!("envelope");
        };
        let first = &env.telemetry.signals[0].samples;
        assert_eq!(
            first.last().unwrap().t_ms,
            now_ms_of(first),
            "last sample kept"
        );
    }

    fn now_ms_of(samples: &[Sample]) -> i64 {
        samples.iter().map(|s| s.t_ms).max().unwrap()
    }

    #[test]
    fn audio_without_consent_is_not_attached_and_static_dtcs_are() {
        let mut config = Config::embedded_default().unwrap();
        config.vehicle.consent_audio = false;
        config.vehicle.dtcs = vec![crate::config::DtcConfig {
            code: "C0045".into(),
            ecu: "ABS".into(),
            status: "active".into(),
        }];
        let clip = WavClip {
            sample_rate: 16_000,
            channels: 1,
            duration_ms: 10,
            bytes: vec![0; 10],
        };
        let env = build_envelope(&config, input(TelemetrySnapshot::default(), Some(clip)));
        assert!(env.audio.is_none());
        assert_eq!(env.telemetry.dtcs[0].code, "C0045");
    }
}
