//! Unit tests of the VIN and satisfaction checks; the envelope checks are
//! tested through the public API in `protocol/tests/validation.rs`.

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
