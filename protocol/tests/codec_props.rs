//! Properties of the byte format: valid messages round-trip, and no input —
//! truncated, bit-flipped, random, oversized or lying about a length — makes
//! `decode` panic or accept garbage.

mod strategies;

use proptest::collection::vec;
use proptest::prelude::*;
use qloop_protocol::{
    codec::HEADER_LEN, decode, encode, AudioPayload, DecodeError, Limits, Message, SoftwareVersion,
    FORMAT_VERSION, MAGIC, MAX_MESSAGE_BYTES,
};
use strategies::{message, sample_envelope, NOW_MS};

/// Writes `n` the way bincode's standard config writes lengths and integers.
fn bincode_varint(n: u64) -> Vec<u8> {
    match n {
        0..=250 => vec![n as u8],
        251..=0xffff => [&[251u8][..], &(n as u16).to_le_bytes()].concat(),
        0x1_0000..=0xffff_ffff => [&[252u8][..], &(n as u32).to_le_bytes()].concat(),
        _ => [&[253u8][..], &n.to_le_bytes()].concat(),
    }
}

/// A header for `kind` followed by `body`.
fn with_header(kind: u8, body: &[u8]) -> Vec<u8> {
    [&MAGIC[..], &[FORMAT_VERSION, kind], body].concat()
}

/// Checks what a successful decode must satisfy: encoding it again gives
/// bytes that decode to a message which encodes the same way (a fixed point;
/// bytes rather than values are compared so NaN payloads do not mislead).
fn assert_reencoding_is_stable(message: &Message) {
    let again = encode(message);
    let decoded_again = decode(&again).expect("a re-encoded message decodes");
    assert_eq!(encode(&decoded_again), again);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn valid_messages_round_trip_and_pass_validation(message in message()) {
        let bytes = encode(&message);
        prop_assert_eq!(&bytes[..4], &MAGIC[..]);
        prop_assert_eq!(bytes[4], FORMAT_VERSION);
        prop_assert_eq!(bytes[5], message.kind() as u8);
        let decoded = decode(&bytes).unwrap();
        prop_assert_eq!(&decoded, &message);
        let limits = Limits::default();
        let verdict = match &decoded {
            Message::Feedback(env) => limits.check_feedback(env, NOW_MS),
            Message::AudioChunk(chunk) => limits.check_chunk(chunk),
            Message::Event(event) => limits.check_event(event, NOW_MS),
            Message::Receipt(receipt) => limits.check_receipt(receipt, NOW_MS),
            Message::Satisfaction(reply) => limits.check_satisfaction(reply, NOW_MS),
            Message::Loss(report) => limits.check_loss(report, NOW_MS),
        };
        prop_assert_eq!(verdict, Ok(()));
        prop_assert_eq!(limits.check_encoded(&bytes), Ok(()));
    }

    #[test]
    fn every_truncation_of_a_valid_message_is_an_error(message in message()) {
        let bytes = encode(&message);
        for len in 0..bytes.len() {
            let result = decode(&bytes[..len]);
            prop_assert!(result.is_err(), "prefix of {} of {} bytes decoded: {:?}", len, bytes.len(), result);
            if len < HEADER_LEN {
                prop_assert_eq!(result.unwrap_err(), DecodeError::TooShort { len, header: HEADER_LEN });
            }
        }
    }

    #[test]
    fn bit_flips_never_panic_and_accepted_flips_reencode_stably(
        message in message(),
        flips in vec((any::<prop::sample::Index>(), 0u8..8), 1..8),
    ) {
        let mut bytes = encode(&message);
        for (at, bit) in flips {
            let i = at.index(bytes.len());
            bytes[i] ^= 1 << bit;
        }
        if let Ok(decoded) = decode(&bytes) {
            assert_reencoding_is_stable(&decoded);
        }
    }

    #[test]
    fn random_bytes_never_panic(bytes in vec(any::<u8>(), 0..2048)) {
        if let Ok(decoded) = decode(&bytes) {
            assert_reencoding_is_stable(&decoded);
        }
    }

    #[test]
    fn random_bodies_behind_a_valid_header_never_panic(kind in 1u8..=6, body in vec(any::<u8>(), 0..2048)) {
        if let Ok(decoded) = decode(&with_header(kind, &body)) {
            prop_assert_eq!(decoded.kind() as u8, kind);
            assert_reencoding_is_stable(&decoded);
        }
    }

    #[test]
    fn trailing_bytes_are_rejected(message in message(), extra in vec(any::<u8>(), 1..16)) {
        let mut bytes = encode(&message);
        bytes.extend_from_slice(&extra);
        prop_assert_eq!(decode(&bytes), Err(DecodeError::Trailing(extra.len(), message.kind().name())));
    }
}

/// The body of a feedback up to and including its VIN: the 16-byte UUID
/// (serde writes it as a length-prefixed byte string) and the VIN string.
fn feedback_body_up_to_vin() -> Vec<u8> {
    let vin = b"5YJ3E1EA7KF317000";
    [&[16u8][..], &[0xab; 16], &[vin.len() as u8], vin].concat()
}

#[test]
fn a_string_length_of_two_to_the_60_is_rejected_as_over_the_limit() {
    let body = [&[16u8][..], &[0xab; 16], &bincode_varint(1 << 60)].concat();
    let err = decode(&with_header(1, &body)).unwrap_err();
    assert!(
        matches!(&err, DecodeError::Body { kind: "feedback", reason } if reason.contains("Limit")),
        "{err:?}"
    );
}

#[test]
fn a_string_length_of_two_to_the_31_is_rejected_as_over_the_limit() {
    let body = [&[16u8][..], &[0xab; 16], &bincode_varint(1 << 31)].concat();
    let err = decode(&with_header(1, &body)).unwrap_err();
    assert!(
        matches!(&err, DecodeError::Body { kind: "feedback", reason } if reason.contains("Limit")),
        "{err:?}"
    );
}

#[test]
fn an_audio_chunk_announcing_two_to_the_60_bytes_is_rejected_as_over_the_limit() {
    // AudioChunk: uuid, vin, index, total, data (length-prefixed bytes).
    let body = [
        feedback_body_up_to_vin(),
        vec![0, 1],
        bincode_varint(1 << 60),
    ]
    .concat();
    let err = decode(&with_header(2, &body)).unwrap_err();
    assert!(
        matches!(&err, DecodeError::Body { kind: "audio chunk", reason } if reason.contains("Limit")),
        "{err:?}"
    );
}

#[test]
fn a_software_list_announcing_two_to_the_60_entries_ends_in_an_error() {
    // Vehicle: vin, model "" (0), year 0, then the software list length.
    let body = [
        feedback_body_up_to_vin(),
        vec![0, 0],
        bincode_varint(1 << 60),
    ]
    .concat();
    let err = decode(&with_header(1, &body)).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::Body {
                kind: "feedback",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_signal_list_announcing_two_to_the_31_entries_ends_in_an_error() {
    let mut envelope = sample_envelope();
    envelope.telemetry.signals.clear();
    envelope.telemetry.dtcs.clear();
    envelope.telemetry.location = None;
    envelope.telemetry.odometer_km = None;
    let honest = encode(&Message::Feedback(Box::new(envelope)));
    // The body ends with: signals len 0, dtcs len 0, location None, odometer
    // None, consent (2 bools), cut_short None. Replace the signal count with 2^31.
    let tail = [0u8, 0, 0, 0, 1, 1, 0];
    assert!(honest.ends_with(&tail));
    let lying = [
        &honest[..honest.len() - tail.len()],
        &bincode_varint(1 << 31),
        &tail[1..],
    ]
    .concat();
    let err = decode(&lying).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::Body {
                kind: "feedback",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn messages_over_the_broker_limit_are_rejected_before_decoding() {
    let mut envelope = sample_envelope();
    envelope.audio.as_mut().unwrap().payload = AudioPayload::Inline(vec![7; 200 * 1024]);
    let bytes = encode(&Message::Feedback(Box::new(envelope)));
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::TooLarge {
            len: bytes.len(),
            max: MAX_MESSAGE_BYTES
        })
    );
    assert!(Limits::default().check_encoded(&bytes).is_err());
}

#[test]
fn a_message_of_exactly_the_broker_limit_decodes_and_one_byte_more_does_not() {
    let mut envelope = sample_envelope();
    let fixed = encode(&Message::Feedback(Box::new(envelope.clone()))).len() - 64 - 1;
    // Inline audio of n > 65535 bytes costs n plus a 5-byte length (252, u32).
    let audio_len = MAX_MESSAGE_BYTES - fixed - 5;
    envelope.audio.as_mut().unwrap().payload = AudioPayload::Inline(vec![1; audio_len]);
    let message = Message::Feedback(Box::new(envelope));
    let bytes = encode(&message);
    assert_eq!(bytes.len(), MAX_MESSAGE_BYTES);
    assert_eq!(decode(&bytes), Ok(message));
    let mut over = bytes;
    over.push(0);
    assert_eq!(
        decode(&over),
        Err(DecodeError::TooLarge {
            len: MAX_MESSAGE_BYTES + 1,
            max: MAX_MESSAGE_BYTES
        })
    );
}

#[test]
fn a_full_size_message_of_empty_strings_decodes() {
    // Each empty string is 1 byte on the wire but 8 against bincode's limit:
    // the worst ratio a message can have. It must still decode (validation,
    // not the codec, refuses 60 000 software entries, and says which field).
    let mut envelope = sample_envelope();
    envelope.audio = None;
    let fixed = encode(&Message::Feedback(Box::new(envelope.clone()))).len();
    let entries = (MAX_MESSAGE_BYTES - fixed - 8) / 2;
    envelope.vehicle.software = vec![
        SoftwareVersion {
            ecu: String::new(),
            version: String::new()
        };
        entries
    ];
    let message = Message::Feedback(Box::new(envelope));
    let bytes = encode(&message);
    assert!(
        bytes.len() > MAX_MESSAGE_BYTES - 64 && bytes.len() <= MAX_MESSAGE_BYTES,
        "{}",
        bytes.len()
    );
    assert_eq!(decode(&bytes), Ok(message));
}

#[test]
fn wrong_magic_is_reported_with_the_bytes_found() {
    let mut bytes = encode(&Message::Feedback(Box::new(sample_envelope())));
    bytes[..4].copy_from_slice(b"MQTT");
    assert_eq!(
        decode(&bytes),
        Err(DecodeError::BadMagic { found: *b"MQTT" })
    );
}

#[test]
fn another_format_version_is_reported_as_unsupported() {
    let mut bytes = encode(&Message::Feedback(Box::new(sample_envelope())));
    for version in [0, FORMAT_VERSION + 1, 255] {
        bytes[4] = version;
        assert_eq!(
            decode(&bytes),
            Err(DecodeError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION
            })
        );
    }
}

#[test]
fn unknown_kind_bytes_are_reported() {
    let mut bytes = encode(&Message::Feedback(Box::new(sample_envelope())));
    for kind in [0, 7, 200] {
        bytes[5] = kind;
        assert_eq!(decode(&bytes), Err(DecodeError::UnknownKind(kind)));
    }
}

#[test]
fn a_loss_report_under_format_version_1_is_an_unknown_kind() {
    // Version 1 had no loss reports: a v1 header with kind 6 is not one.
    let mut bytes = encode(&Message::Feedback(Box::new(sample_envelope())));
    bytes[4] = 1;
    bytes[5] = 6;
    assert_eq!(decode(&bytes), Err(DecodeError::UnknownKind(6)));
}

#[test]
fn a_v1_envelope_decodes_with_no_cut_short_and_a_v2_body_under_a_v1_header_fails() {
    let envelope = sample_envelope();
    let v2 = encode(&Message::Feedback(Box::new(envelope.clone())));
    // A v1 body is the v2 body without its last byte (cut_short None).
    let mut v1 = v2[..v2.len() - 1].to_vec();
    v1[4] = 1;
    assert_eq!(decode(&v1), Ok(Message::Feedback(Box::new(envelope))));
    let mut mislabelled = v2.clone();
    mislabelled[4] = 1;
    assert_eq!(
        decode(&mislabelled),
        Err(DecodeError::Trailing(1, "feedback"))
    );
}

#[test]
fn drafts_round_trip_and_torn_or_flipped_drafts_are_errors() {
    use qloop_protocol::{decode_draft, encode_draft, DraftError};
    let mut envelope = sample_envelope();
    // A draft carries the whole clip, larger than one MQTT message.
    envelope.audio.as_mut().unwrap().payload =
        AudioPayload::Inline(vec![7u8; 3 * MAX_MESSAGE_BYTES]);
    let draft = encode_draft(&envelope);
    assert_eq!(decode_draft(&draft), Ok(envelope));
    for len in [0, 5, 9, draft.len() / 2, draft.len() - 1] {
        assert!(decode_draft(&draft[..len]).is_err(), "torn at {len}");
    }
    let mut flipped = draft.clone();
    flipped[draft.len() / 3] ^= 0x10;
    assert_eq!(decode_draft(&flipped), Err(DraftError::Checksum));
    assert_eq!(
        decode_draft(b"QLP\x01\x02\x01body"),
        Err(DraftError::NotADraft)
    );
}

#[test]
fn a_body_decoded_as_the_wrong_kind_is_an_error() {
    let mut bytes = encode(&Message::Feedback(Box::new(sample_envelope())));
    bytes[5] = 4; // receipt: the envelope body is not a receipt (or leaves bytes over)
    assert!(decode(&bytes).is_err());
}
