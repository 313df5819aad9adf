//! Fuzzes `qloop_protocol::decode`, the decoder of every byte string a broker
//! hands us. Whatever the input: no panic, no unbounded allocation; a message
//! that decodes passes through its validator without panicking (at a normal
//! and at extreme clocks), fits the broker limit, and re-encodes to bytes that
//! decode to a message encoding the same way.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qloop_protocol::{decode, encode, Limits, Message};

/// A realistic "received at" time (2025-06-15), plus the extremes a broken
/// clock could report, so overflow in time arithmetic would surface.
const CLOCKS_MS: [i64; 3] = [1_750_000_000_000, i64::MIN, i64::MAX];

fuzz_target!(|bytes: &[u8]| {
    let Ok(message) = decode(bytes) else {
        return;
    };
    let limits = Limits::default();
    for now_ms in CLOCKS_MS {
        // The verdict does not matter; reaching it without a panic does.
        let _ = match &message {
            Message::Feedback(envelope) => limits.check_feedback(envelope, now_ms),
            Message::AudioChunk(chunk) => limits.check_chunk(chunk),
            Message::Event(event) => limits.check_event(event, now_ms),
            Message::Receipt(receipt) => limits.check_receipt(receipt, now_ms),
            Message::Satisfaction(reply) => limits.check_satisfaction(reply, now_ms),
            Message::Loss(report) => limits.check_loss(report, now_ms),
        };
    }
    assert!(
        limits.check_encoded(bytes).is_ok(),
        "decode accepted an oversized message"
    );

    // Bytes, not values, are compared: a NaN sample is not equal to itself.
    let reencoded = encode(&message);
    let decoded_again = decode(&reencoded).expect("a re-encoded message decodes");
    assert_eq!(decoded_again.kind(), message.kind());
    assert_eq!(
        encode(&decoded_again),
        reencoded,
        "re-encoding is not a fixed point"
    );
});
