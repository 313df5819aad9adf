//! Codec benchmark: how fast qloop's wire format (header + bincode 2.0.x)
//! encodes and decodes a realistic feedback envelope, against serde_json of
//! the same value as the named baseline.
//!
//! ```text
//! cargo run --release -p qloop-protocol --example bench_codec
//! ```
//!
//! Prints one JSON line per measurement, e.g.
//! `{"bench":"envelope_decode","codec":"bincode","per_sec":…,"bytes":…,
//!   "baseline":"serde_json","baseline_per_sec":…,"baseline_bytes":…,"ratio":…}`
//! where `ratio` is `per_sec / baseline_per_sec` (above 1: bincode is faster)
//! and `baseline_exact` says whether serde_json gave back the very same value
//! (its default float parser can be one bit off; bincode always is exact).
//! Each side runs for about `QLOOP_BENCH_SECONDS` (default 1) seconds.

use std::hint::black_box;
use std::time::{Duration, Instant};

use qloop_protocol::{
    decode, encode, AudioClip, AudioCodec, AudioPayload, Consent, Dtc, FeedbackEnvelope, Location,
    Message, Sample, SignalSeries, SoftwareVersion, TelemetrySnapshot, TriggerKind, Utterance,
    Vehicle,
};
use uuid::Uuid;

/// A snapshot as a car takes it: 40 signals × 50 samples at 10 Hz, 3 DTCs,
/// a 300-character transcript, location and odometer, no audio.
fn realistic_envelope() -> FeedbackEnvelope {
    let captured_at_ms = 1_717_000_000_000;
    let signals = (0..40)
        .map(|s| SignalSeries {
            name: format!("Vehicle.Powertrain.Signal{s:02}"),
            unit: Some("km/h".into()),
            samples: (0..50)
                .map(|i| Sample {
                    t_ms: captured_at_ms - 5_000 + i * 100,
                    value: (s as f64) * 1.5 + (i as f64).sin() * 10.0,
                })
                .collect(),
        })
        .collect();
    let transcript: String = "The brakes squeal at low speed and the dash shows a warning. "
        .chars()
        .cycle()
        .take(300)
        .collect();
    FeedbackEnvelope {
        feedback_id: Uuid::from_u128(0x0190_a3b4_c5d6_7e8f_9a0b_1c2d_3e4f_5a6b),
        vehicle: Vehicle {
            vin: "5YJ3E1EA7KF317000".into(),
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
            transcript,
            confidence: Some(0.91),
        }),
        audio: None,
        telemetry: TelemetrySnapshot {
            window_start_ms: captured_at_ms - 5_000,
            window_end_ms: captured_at_ms + 5_000,
            signals,
            dtcs: ["C0045", "U0121", "P0571"]
                .iter()
                .map(|code| Dtc {
                    code: (*code).into(),
                    ecu: "ESP".into(),
                    status: "active".into(),
                })
                .collect(),
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

/// 100 KiB of inline WAV audio with a 10-signal snapshot: with all 40 signals
/// (36 KB) the message would pass the 128 KiB broker limit, and the car would
/// send the audio as chunks instead.
fn envelope_with_audio() -> FeedbackEnvelope {
    let mut envelope = realistic_envelope();
    envelope.telemetry.signals.truncate(10);
    let audio: Vec<u8> = (0..100 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    envelope.audio = Some(AudioClip {
        codec: AudioCodec::Wav,
        sample_rate: 16_000,
        channels: 1,
        duration_ms: 3_200,
        payload: AudioPayload::Inline(audio),
    });
    envelope
}

/// Calls `f` repeatedly for about `budget` and returns calls per second.
fn per_second(budget: Duration, mut f: impl FnMut()) -> f64 {
    for _ in 0..10 {
        f(); // warm caches and the allocator
    }
    let start = Instant::now();
    let mut calls = 0u64;
    let mut batch = 1u64;
    while start.elapsed() < budget {
        for _ in 0..batch {
            f();
        }
        calls += batch;
        batch = (batch * 2).min(1024);
    }
    calls as f64 / start.elapsed().as_secs_f64()
}

/// One measurement against its baseline.
struct Comparison {
    bench: String,
    per_sec: f64,
    bytes: usize,
    baseline_per_sec: f64,
    baseline_bytes: usize,
    /// Whether the baseline gave back exactly the value it was given.
    baseline_exact: bool,
}

impl Comparison {
    fn print(&self) {
        let line = serde_json::json!({
            "bench": self.bench,
            "codec": "bincode",
            "per_sec": self.per_sec.round(),
            "bytes": self.bytes,
            "baseline": "serde_json",
            "baseline_per_sec": self.baseline_per_sec.round(),
            "baseline_bytes": self.baseline_bytes,
            "baseline_exact": self.baseline_exact,
            "ratio": (self.per_sec / self.baseline_per_sec * 100.0).round() / 100.0,
        });
        println!("{line}");
    }
}

/// Measures encode and decode of `envelope` with both codecs.
fn compare(name: &str, envelope: &FeedbackEnvelope, budget: Duration) -> [Comparison; 2] {
    let message = Message::Feedback(Box::new(envelope.clone()));
    let wire = encode(&message);
    let json = serde_json::to_vec(envelope).expect("envelope serializes to JSON");
    assert_eq!(
        decode(&wire).expect("wire decodes"),
        message,
        "bincode round trip"
    );
    // serde_json's default float parser may miss the last bit of an f64, so
    // the baseline's round trip is reported, not asserted.
    let from_json: FeedbackEnvelope = serde_json::from_slice(&json).expect("JSON decodes");
    let baseline_exact = &from_json == envelope;

    let encode_rate = per_second(budget, || {
        black_box(encode(black_box(&message)));
    });
    let json_encode_rate = per_second(budget, || {
        black_box(serde_json::to_vec(black_box(envelope)).unwrap());
    });
    let decode_rate = per_second(budget, || {
        black_box(decode(black_box(&wire)).unwrap());
    });
    let json_decode_rate = per_second(budget, || {
        black_box(serde_json::from_slice::<FeedbackEnvelope>(black_box(&json)).unwrap());
    });
    [
        Comparison {
            bench: format!("{name}_encode"),
            per_sec: encode_rate,
            bytes: wire.len(),
            baseline_per_sec: json_encode_rate,
            baseline_bytes: json.len(),
            baseline_exact,
        },
        Comparison {
            bench: format!("{name}_decode"),
            per_sec: decode_rate,
            bytes: wire.len(),
            baseline_per_sec: json_decode_rate,
            baseline_bytes: json.len(),
            baseline_exact,
        },
    ]
}

fn main() {
    let seconds: f64 = std::env::var("QLOOP_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1.0);
    let budget = Duration::from_secs_f64(seconds);
    for (name, envelope) in [
        ("envelope", realistic_envelope()),
        ("envelope_audio_100k", envelope_with_audio()),
    ] {
        for comparison in compare(name, &envelope, budget) {
            comparison.print();
        }
    }
}
