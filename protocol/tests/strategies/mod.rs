//! Proptest strategies for every wire type, and one hand-built envelope.
//!
//! The strategies produce messages that pass [`Limits::default`]'s checks at
//! [`NOW_MS`], so a test can assert round-trip *and* validity. Shared by
//! several test binaries, each of which uses only part of it.
#![allow(dead_code)]

use proptest::collection::vec;
use proptest::prelude::*;
use qloop_protocol::{
    chunk::MAX_CHUNKS, validate::EARLIEST_MS, AudioChunk, AudioClip, AudioCodec, AudioPayload,
    Consent, CutShort, CutShortReason, Dtc, EventKind, EventReceipt, FeedbackEnvelope, Location,
    LossReport, LostMessage, Message, Sample, SignalSeries, SoftwareVersion, TelemetrySnapshot,
    TriggerKind, Utterance, Vehicle, VehicleEvent,
};
use uuid::Uuid;

/// The "received at" time every generated message is valid at (2025-06-15).
pub const NOW_MS: i64 = 1_750_000_000_000;

/// A VIN from the ISO 3779 alphabet (digits and capitals without I, O, Q).
pub fn vin() -> impl Strategy<Value = String> {
    "[0-9A-HJ-NPR-Z]{17}"
}

/// Printable text of any script, at most 16 characters (so at most 64 bytes,
/// well under the 128-byte short-string limit).
pub fn short_text() -> impl Strategy<Value = String> {
    "\\PC{0,16}"
}

/// Any UUID (the codec does not care about the version bits).
pub fn uuid() -> impl Strategy<Value = Uuid> {
    any::<u128>().prop_map(Uuid::from_u128)
}

/// Any f64 but NaN, so generated values compare equal to themselves.
pub fn comparable_f64() -> impl Strategy<Value = f64> {
    use proptest::num::f64;
    f64::POSITIVE | f64::NEGATIVE | f64::NORMAL | f64::SUBNORMAL | f64::ZERO
}

/// A vehicle with a valid VIN, model year and a few ECU versions.
pub fn vehicle() -> impl Strategy<Value = Vehicle> {
    let software = vec(
        (short_text(), short_text()).prop_map(|(ecu, version)| SoftwareVersion { ecu, version }),
        0..4,
    );
    (
        vin(),
        short_text(),
        prop_oneof![Just(0u16), 1980u16..=2100],
        software,
    )
        .prop_map(|(vin, model, year, software)| Vehicle {
            vin,
            model,
            year,
            software,
        })
}

/// Any trigger kind.
pub fn trigger() -> impl Strategy<Value = TriggerKind> {
    prop_oneof![
        Just(TriggerKind::Voice),
        Just(TriggerKind::Hmi),
        Just(TriggerKind::Button),
        Just(TriggerKind::Cli),
    ]
}

/// A transcript with an optional confidence in 0..=1.
pub fn utterance() -> impl Strategy<Value = Utterance> {
    ("\\PC{0,64}", proptest::option::of(0.0f32..=1.0)).prop_map(|(transcript, confidence)| {
        Utterance {
            transcript,
            confidence,
        }
    })
}

/// Either inline audio bytes or a consistent chunk announcement.
pub fn audio_payload() -> impl Strategy<Value = AudioPayload> {
    let inline = vec(any::<u8>(), 0..512).prop_map(AudioPayload::Inline);
    let chunked = (1u32..=8 * 1024 * 1024).prop_flat_map(|total_bytes| {
        (1..=MAX_CHUNKS.min(total_bytes), any::<u32>()).prop_map(move |(chunks, crc32)| {
            AudioPayload::Chunked {
                chunks,
                total_bytes,
                crc32,
            }
        })
    });
    prop_oneof![inline, chunked]
}

/// An audio clip in a format validation accepts.
pub fn audio_clip() -> impl Strategy<Value = AudioClip> {
    (1u32..=192_000, 1u16..=8, 0u32..=300_000, audio_payload()).prop_map(
        |(sample_rate, channels, duration_ms, payload)| AudioClip {
            codec: AudioCodec::Wav,
            sample_rate,
            channels,
            duration_ms,
            payload,
        },
    )
}

/// A position fix on the globe.
pub fn location() -> impl Strategy<Value = Location> {
    (-90.0f64..=90.0, -180.0f64..=180.0, 0.0f32..10_000.0).prop_map(|(lat, lon, accuracy_m)| {
        Location {
            lat,
            lon,
            accuracy_m,
        }
    })
}

/// A DTC with short code, ECU and status.
pub fn dtc() -> impl Strategy<Value = Dtc> {
    (
        "[BCPU][0-3][0-9A-F]{3}",
        short_text(),
        prop_oneof!["active", "stored", "pending"],
    )
        .prop_map(|(code, ecu, status)| Dtc { code, ecu, status })
}

/// A signal whose samples lie in `[start_ms, end_ms]` and have finite values.
pub fn signal(start_ms: i64, end_ms: i64) -> impl Strategy<Value = SignalSeries> {
    let sample = (start_ms..=end_ms, -1e9f64..1e9).prop_map(|(t_ms, value)| Sample { t_ms, value });
    (
        short_text(),
        proptest::option::of(short_text()),
        vec(sample, 0..8),
    )
        .prop_map(|(name, unit, samples)| SignalSeries {
            name,
            unit,
            samples,
        })
}

/// A telemetry snapshot around `captured_at_ms`, with a location only when
/// `location_consent` allows it.
pub fn telemetry(
    captured_at_ms: i64,
    location_consent: bool,
) -> impl Strategy<Value = TelemetrySnapshot> {
    (0i64..=120_000, 0i64..=60_000).prop_flat_map(move |(pre_ms, post_ms)| {
        let start = captured_at_ms - pre_ms;
        let end = captured_at_ms + post_ms;
        let location = if location_consent {
            proptest::option::of(location()).boxed()
        } else {
            Just(None).boxed()
        };
        (
            vec(signal(start, end), 0..4),
            vec(dtc(), 0..4),
            location,
            proptest::option::of(0.0f64..=10_000_000.0),
        )
            .prop_map(
                move |(signals, dtcs, location, odometer_km)| TelemetrySnapshot {
                    window_start_ms: start,
                    window_end_ms: end,
                    signals,
                    dtcs,
                    location,
                    odometer_km,
                },
            )
    })
}

/// A feedback envelope that `Limits::default().check_feedback(_, NOW_MS)` accepts.
pub fn envelope() -> impl Strategy<Value = FeedbackEnvelope> {
    let captured = (EARLIEST_MS + 120_000)..=NOW_MS;
    (any::<bool>(), any::<bool>(), captured).prop_flat_map(
        |(audio_consent, location_consent, captured_at_ms)| {
            let audio = if audio_consent {
                proptest::option::of(audio_clip()).boxed()
            } else {
                Just(None).boxed()
            };
            (
                uuid(),
                vehicle(),
                trigger(),
                prop_oneof!["[a-z]{2}-[A-Z]{2}", Just(String::new())],
                proptest::option::of(utterance()),
                audio,
                telemetry(captured_at_ms, location_consent),
            )
                .prop_map(
                    move |(feedback_id, vehicle, trigger, locale, utterance, audio, telemetry)| {
                        FeedbackEnvelope {
                            feedback_id,
                            vehicle,
                            captured_at_ms,
                            trigger,
                            locale,
                            utterance,
                            audio,
                            telemetry,
                            consent: Consent {
                                audio: audio_consent,
                                location: location_consent,
                            },
                            // Half the envelopes come from a capture the agent had to finish
                            // after a restart, so the codec sees both shapes.
                            cut_short: (feedback_id.as_bytes()[15] & 1 == 1).then_some(CutShort {
                                reason: CutShortReason::AgentStopped,
                                completed_at_ms: captured_at_ms,
                            }),
                        }
                    },
                )
        },
    )
}

/// An audio chunk with a consistent index and total.
pub fn audio_chunk() -> impl Strategy<Value = AudioChunk> {
    (1..=MAX_CHUNKS).prop_flat_map(|total| {
        (uuid(), vin(), 0..total, vec(any::<u8>(), 0..512)).prop_map(
            move |(feedback_id, vin, index, data)| AudioChunk {
                feedback_id,
                vin,
                index,
                total,
                data,
            },
        )
    })
}

/// A downlink event sent before [`NOW_MS`].
pub fn vehicle_event() -> impl Strategy<Value = VehicleEvent> {
    let kind = prop_oneof![
        Just(EventKind::Received),
        Just(EventKind::FirstResponse),
        Just(EventKind::Update),
        Just(EventKind::Resolved),
        Just(EventKind::FollowUp),
    ];
    (
        uuid(),
        proptest::option::of(uuid()),
        proptest::option::of(any::<i64>()),
        kind,
        "\\PC{0,64}",
        EARLIEST_MS..=NOW_MS,
    )
        .prop_map(
            |(event_id, feedback_id, case_number, kind, message, sent_at_ms)| VehicleEvent {
                event_id,
                feedback_id,
                case_number,
                kind,
                message,
                sent_at_ms,
            },
        )
}

/// A car's receipt of an event.
pub fn event_receipt() -> impl Strategy<Value = EventReceipt> {
    (vin(), uuid(), EARLIEST_MS..=NOW_MS).prop_map(|(vin, event_id, received_at_ms)| EventReceipt {
        vin,
        event_id,
        received_at_ms,
    })
}

/// A driver's satisfaction answer.
pub fn satisfaction() -> impl Strategy<Value = qloop_protocol::SatisfactionReply> {
    (
        vin(),
        1i64..1_000_000,
        1u8..=5,
        proptest::option::of("\\PC{0,64}"),
        EARLIEST_MS..=NOW_MS,
    )
        .prop_map(|(vin, case_number, score, comment, answered_at_ms)| {
            qloop_protocol::SatisfactionReply {
                vin,
                case_number,
                score,
                comment,
                answered_at_ms,
            }
        })
}

/// A car's report of a lost outbox record.
pub fn loss_report() -> impl Strategy<Value = LossReport> {
    let lost = prop_oneof![
        Just(LostMessage::Feedback),
        (0..MAX_CHUNKS).prop_map(|index| LostMessage::AudioChunk { index }),
        Just(LostMessage::Capture),
        Just(LostMessage::Receipt),
        Just(LostMessage::Satisfaction),
        Just(LostMessage::LossReport),
        Just(LostMessage::Unknown),
    ];
    (
        uuid(),
        vin(),
        proptest::option::of(uuid()),
        lost,
        "\\PC{0,64}",
        any::<bool>(),
        EARLIEST_MS..=NOW_MS,
    )
        .prop_map(
            |(report_id, vin, feedback_id, lost, reason, resent, detected_at_ms)| LossReport {
                report_id,
                vin,
                feedback_id,
                lost,
                reason,
                resent,
                detected_at_ms,
            },
        )
}

/// Any of the six message kinds.
pub fn message() -> impl Strategy<Value = Message> {
    prop_oneof![
        3 => envelope().prop_map(|e| Message::Feedback(Box::new(e))),
        1 => audio_chunk().prop_map(Message::AudioChunk),
        1 => vehicle_event().prop_map(Message::Event),
        1 => event_receipt().prop_map(Message::Receipt),
        1 => satisfaction().prop_map(Message::Satisfaction),
        1 => loss_report().prop_map(Message::Loss),
    ]
}

/// The VIN of [`sample_envelope`].
pub const SAMPLE_VIN: &str = "5YJ3E1EA7KF317000";

/// One fixed, valid envelope with every optional part present: the basis of the
/// wire fixture and of the validation tests, which break one field at a time.
pub fn sample_envelope() -> FeedbackEnvelope {
    let captured_at_ms = 1_717_000_000_000; // 2024-05-29
    FeedbackEnvelope {
        feedback_id: Uuid::from_u128(0x0190_a3b4_c5d6_7e8f_9a0b_1c2d_3e4f_5a6b),
        vehicle: Vehicle {
            vin: SAMPLE_VIN.into(),
            model: "Model 3".into(),
            year: 2019,
            software: vec![
                SoftwareVersion {
                    ecu: "VCFRONT".into(),
                    version: "2024.14.9".into(),
                },
                SoftwareVersion {
                    ecu: "ESP".into(),
                    version: "7.1.0".into(),
                },
            ],
        },
        captured_at_ms,
        trigger: TriggerKind::Voice,
        locale: "en-US".into(),
        utterance: Some(Utterance {
            transcript: "The brakes squeal when I stop at low speed.".into(),
            confidence: Some(0.875),
        }),
        audio: Some(AudioClip {
            codec: AudioCodec::Wav,
            sample_rate: 16_000,
            channels: 1,
            duration_ms: 2_000,
            payload: AudioPayload::Inline((0..64u8).collect()),
        }),
        telemetry: TelemetrySnapshot {
            window_start_ms: captured_at_ms - 30_000,
            window_end_ms: captured_at_ms + 10_000,
            signals: vec![
                SignalSeries {
                    name: "Vehicle.Speed".into(),
                    unit: Some("km/h".into()),
                    samples: vec![
                        Sample {
                            t_ms: captured_at_ms - 2_000,
                            value: 12.5,
                        },
                        Sample {
                            t_ms: captured_at_ms - 1_000,
                            value: 6.25,
                        },
                        Sample {
                            t_ms: captured_at_ms,
                            value: 0.0,
                        },
                    ],
                },
                SignalSeries {
                    name: "Vehicle.Chassis.Brake.PedalPosition".into(),
                    unit: None,
                    samples: vec![Sample {
                        t_ms: captured_at_ms,
                        value: 40.0,
                    }],
                },
            ],
            dtcs: vec![Dtc {
                code: "C0045".into(),
                ecu: "ESP".into(),
                status: "stored".into(),
            }],
            location: Some(Location {
                lat: 48.137_154,
                lon: 11.576_124,
                accuracy_m: 4.5,
            }),
            odometer_km: Some(48_211.3),
        },
        consent: Consent {
            audio: true,
            location: true,
        },
        cut_short: None,
    }
}
