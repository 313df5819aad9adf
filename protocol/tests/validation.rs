//! Semantic checks: each test breaks one field of a valid message and expects
//! the matching `ValidationError`; the untouched message is accepted.

mod strategies;

use qloop_protocol::{
    validate::EARLIEST_MS, AudioChunk, AudioPayload, EventReceipt, FeedbackEnvelope, Limits,
    Location, Sample, SignalSeries, ValidationError,
};
use strategies::{sample_envelope, NOW_MS, SAMPLE_VIN};
use uuid::Uuid;

/// Runs the default feedback checks at [`NOW_MS`].
fn check(envelope: &FeedbackEnvelope) -> Result<(), ValidationError> {
    Limits::default().check_feedback(envelope, NOW_MS)
}

/// A valid chunk of the sample feedback.
fn sample_chunk() -> AudioChunk {
    AudioChunk {
        feedback_id: Uuid::nil(),
        vin: SAMPLE_VIN.into(),
        index: 0,
        total: 2,
        data: vec![1, 2, 3],
    }
}

#[test]
fn the_sample_envelope_is_valid() {
    assert_eq!(check(&sample_envelope()), Ok(()));
}

#[test]
fn bad_vins_are_rejected_with_a_reason() {
    for (vin, reason) in [
        ("5YJ3E1EA7KF31700", "must be 17 characters"),
        ("", "must be 17 characters"),
        (
            "5YJ3E1EA7KF31700Q",
            "letters I, O and Q are not used in VINs",
        ),
        (
            "5YJ3E1EA7KF31700i",
            "only digits and upper-case letters are allowed",
        ),
        (
            "5YJ3E1EA7KF31700-",
            "only digits and upper-case letters are allowed",
        ),
    ] {
        let mut envelope = sample_envelope();
        envelope.vehicle.vin = vin.into();
        assert_eq!(
            check(&envelope),
            Err(ValidationError::Vin {
                vin: vin.into(),
                reason
            }),
            "{vin:?}"
        );
    }
}

#[test]
fn a_long_vin_is_echoed_back_truncated_to_32_characters() {
    let mut envelope = sample_envelope();
    envelope.vehicle.vin = "X".repeat(1000);
    let Err(ValidationError::Vin { vin, .. }) = check(&envelope) else {
        panic!("accepted")
    };
    assert_eq!(vin.len(), 32);
}

#[test]
fn too_many_signals_are_rejected() {
    let limits = Limits::default();
    let mut envelope = sample_envelope();
    let signal = envelope.telemetry.signals[1].clone();
    envelope.telemetry.signals = vec![signal; limits.max_signals + 1];
    assert_eq!(
        check(&envelope),
        Err(ValidationError::TooLong {
            field: "telemetry.signals",
            len: limits.max_signals + 1,
            max: limits.max_signals
        })
    );
}

#[test]
fn exactly_the_maximum_number_of_signals_is_accepted() {
    let mut envelope = sample_envelope();
    let signal = envelope.telemetry.signals[1].clone();
    envelope.telemetry.signals = vec![signal; Limits::default().max_signals];
    assert_eq!(check(&envelope), Ok(()));
}

#[test]
fn too_many_samples_in_one_signal_are_rejected() {
    let limits = Limits {
        max_samples_per_signal: 2,
        ..Limits::default()
    };
    let envelope = sample_envelope(); // its first signal has 3 samples
    assert_eq!(
        limits.check_feedback(&envelope, NOW_MS),
        Err(ValidationError::TooLong {
            field: "telemetry.signals.samples",
            len: 3,
            max: 2
        })
    );
}

#[test]
fn non_finite_sample_values_are_rejected() {
    for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut envelope = sample_envelope();
        envelope.telemetry.signals[0].samples[1].value = value;
        let err = check(&envelope).unwrap_err();
        assert!(
            matches!(
                err,
                ValidationError::OutOfRange {
                    field: "telemetry.signals.samples.value",
                    ..
                }
            ),
            "{value}: {err:?}"
        );
    }
}

#[test]
fn nan_confidence_location_and_odometer_are_rejected() {
    let mut envelope = sample_envelope();
    envelope.utterance.as_mut().unwrap().confidence = Some(f32::NAN);
    assert!(matches!(
        check(&envelope),
        Err(ValidationError::OutOfRange {
            field: "utterance.confidence",
            ..
        })
    ));

    let mut envelope = sample_envelope();
    envelope.telemetry.location = Some(Location {
        lat: f64::NAN,
        lon: 0.0,
        accuracy_m: 1.0,
    });
    assert!(matches!(
        check(&envelope),
        Err(ValidationError::OutOfRange {
            field: "telemetry.location.lat",
            ..
        })
    ));

    let mut envelope = sample_envelope();
    envelope.telemetry.location = Some(Location {
        lat: 0.0,
        lon: 0.0,
        accuracy_m: f32::NAN,
    });
    assert!(matches!(
        check(&envelope),
        Err(ValidationError::OutOfRange {
            field: "telemetry.location.accuracy_m",
            ..
        })
    ));

    let mut envelope = sample_envelope();
    envelope.telemetry.odometer_km = Some(f64::NAN);
    assert!(matches!(
        check(&envelope),
        Err(ValidationError::OutOfRange {
            field: "telemetry.odometer_km",
            ..
        })
    ));
}

#[test]
fn a_capture_before_2000_is_rejected() {
    let mut envelope = sample_envelope();
    envelope.captured_at_ms = EARLIEST_MS - 1;
    assert!(matches!(
        check(&envelope),
        Err(ValidationError::Timestamp { field: "captured_at_ms", value_ms, min_ms: EARLIEST_MS, .. })
            if value_ms == EARLIEST_MS - 1
    ));
    envelope.captured_at_ms = 0;
    assert!(matches!(
        check(&envelope),
        Err(ValidationError::Timestamp {
            field: "captured_at_ms",
            ..
        })
    ));
}

#[test]
fn a_capture_more_than_the_clock_skew_in_the_future_is_rejected() {
    let skew = Limits::default().max_clock_skew_ms;
    let mut envelope = sample_envelope();
    envelope.captured_at_ms = NOW_MS + skew;
    assert_eq!(check(&envelope), Ok(()), "exactly the allowed skew is fine");
    envelope.captured_at_ms = NOW_MS + skew + 1;
    assert_eq!(
        check(&envelope),
        Err(ValidationError::Timestamp {
            field: "captured_at_ms",
            value_ms: NOW_MS + skew + 1,
            min_ms: EARLIEST_MS,
            max_ms: NOW_MS + skew,
        })
    );
}

#[test]
fn extreme_timestamps_do_not_overflow() {
    let mut envelope = sample_envelope();
    envelope.captured_at_ms = i64::MAX;
    assert!(Limits::default()
        .check_feedback(&envelope, i64::MAX)
        .is_ok());
    envelope.captured_at_ms = i64::MIN;
    assert!(check(&envelope).is_err());
}

#[test]
fn a_telemetry_window_before_2000_or_reversed_is_rejected() {
    let mut envelope = sample_envelope();
    envelope.telemetry.window_start_ms = EARLIEST_MS - 1;
    assert!(matches!(
        check(&envelope),
        Err(ValidationError::Timestamp {
            field: "telemetry.window_start_ms",
            ..
        })
    ));

    let mut envelope = sample_envelope();
    let t = &mut envelope.telemetry;
    std::mem::swap(&mut t.window_start_ms, &mut t.window_end_ms);
    assert!(matches!(
        check(&envelope),
        Err(ValidationError::Inconsistent(_))
    ));
}

#[test]
fn a_sample_outside_the_window_is_rejected() {
    let mut envelope = sample_envelope();
    let end = envelope.telemetry.window_end_ms;
    envelope.telemetry.signals[0].samples.push(Sample {
        t_ms: end + 1,
        value: 1.0,
    });
    assert!(
        matches!(check(&envelope), Err(ValidationError::Inconsistent(m)) if m.contains("outside the window"))
    );
}

#[test]
fn audio_without_audio_consent_is_rejected() {
    let mut envelope = sample_envelope();
    envelope.consent.audio = false;
    assert_eq!(
        check(&envelope),
        Err(ValidationError::Inconsistent(
            "audio sent without audio consent".into()
        ))
    );
    envelope.audio = None;
    assert_eq!(check(&envelope), Ok(()), "no audio needs no consent");
}

#[test]
fn location_without_location_consent_is_rejected() {
    let mut envelope = sample_envelope();
    envelope.consent.location = false;
    assert_eq!(
        check(&envelope),
        Err(ValidationError::Inconsistent(
            "location sent without location consent".into()
        ))
    );
    envelope.telemetry.location = None;
    assert_eq!(check(&envelope), Ok(()), "no location needs no consent");
}

#[test]
fn chunked_audio_with_more_chunks_than_bytes_is_rejected() {
    let mut envelope = sample_envelope();
    envelope.audio.as_mut().unwrap().payload = AudioPayload::Chunked {
        chunks: 5,
        total_bytes: 4,
        crc32: 0,
    };
    assert!(matches!(
        check(&envelope),
        Err(ValidationError::Inconsistent(_))
    ));
}

#[test]
fn a_chunk_index_at_or_past_the_total_is_rejected() {
    let limits = Limits::default();
    assert_eq!(limits.check_chunk(&sample_chunk()), Ok(()));
    for (index, total) in [(2, 2), (3, 2), (0, 0), (u32::MAX, 1)] {
        let chunk = AudioChunk {
            index,
            total,
            ..sample_chunk()
        };
        assert_eq!(
            limits.check_chunk(&chunk),
            Err(ValidationError::Inconsistent(format!(
                "chunk {index} of {total}"
            ))),
            "{index}/{total}"
        );
    }
}

#[test]
fn a_chunk_with_a_bad_vin_is_rejected() {
    let chunk = AudioChunk {
        vin: "NOT-A-VIN".into(),
        ..sample_chunk()
    };
    assert!(matches!(
        Limits::default().check_chunk(&chunk),
        Err(ValidationError::Vin { .. })
    ));
}

#[test]
fn a_receipt_from_the_future_is_rejected() {
    let receipt = EventReceipt {
        vin: SAMPLE_VIN.into(),
        event_id: Uuid::nil(),
        received_at_ms: NOW_MS,
    };
    let limits = Limits::default();
    assert_eq!(limits.check_receipt(&receipt, NOW_MS), Ok(()));
    let late = EventReceipt {
        received_at_ms: NOW_MS + limits.max_clock_skew_ms + 1,
        ..receipt
    };
    assert!(matches!(
        limits.check_receipt(&late, NOW_MS),
        Err(ValidationError::Timestamp { .. })
    ));
}

#[test]
fn an_overlong_signal_name_is_rejected() {
    let mut envelope = sample_envelope();
    envelope.telemetry.signals.push(SignalSeries {
        name: "x".repeat(129),
        unit: None,
        samples: vec![],
    });
    assert_eq!(
        check(&envelope),
        Err(ValidationError::TooLong {
            field: "telemetry.signals.name",
            len: 129,
            max: 128
        })
    );
}
