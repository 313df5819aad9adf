//! Fuzzes `qloop_protocol::decode_draft`, the decoder of the capture drafts
//! a car reads back from its own disk after a crash or power cut (a torn or
//! rotten file is outside input too). Whatever the input: no panic, no
//! unbounded allocation; a draft that decodes re-encodes to a draft that
//! decodes to the same envelope bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qloop_protocol::{decode_draft, encode_draft};

fuzz_target!(|bytes: &[u8]| {
    let Ok(envelope) = decode_draft(bytes) else {
        return;
    };
    let again = encode_draft(&envelope);
    let decoded = decode_draft(&again).expect("a re-encoded draft decodes");
    assert_eq!(encode_draft(&decoded), again);
});
