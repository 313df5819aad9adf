//! Wire types shared by the car (`edge-agent`) and the cloud (`cloud-triage`).
//!
//! # Layout
//! - [`envelope`]: the feedback envelope a car sends, with vehicle, utterance,
//!   audio and telemetry snapshot.
//! - [`event`]: downlink events the cloud sends to a car, and the car's receipts.
//! - [`loss`]: the car's report of an outbox record it lost.
//! - [`chunk`]: splitting audio that does not fit one MQTT message, and
//!   reassembling it.
//! - [`topic`]: MQTT topic names and parsing.
//! - [`codec`]: the one place that knows the byte format (header + bincode 2.0.x).
//! - [`validate`]: semantic checks on decoded messages (VIN, sizes, timestamps).
//! - [`wav`]: what a WAV clip on the wire must be (16-bit PCM, whole).
//! - [`link`]: how both ends reach the broker (broker URL, reconnect backoff).
//! - [`error`]: typed errors for all of the above.
//! - `testing` (feature `test-support`): valid envelopes for tests.
//!
//! Every message on the wire is `MAGIC (4) | version (1) | kind (1) | body`.
//! Decoding never panics, refuses input over [`MAX_MESSAGE_BYTES`], and never
//! allocates more than [`codec::MAX_DECODE_ALLOCATION_BYTES`] for one field.

#![forbid(unsafe_code)]

pub mod chunk;
pub mod codec;
pub mod envelope;
pub mod error;
pub mod event;
pub mod link;
pub mod loss;
#[cfg(any(test, feature = "test-support"))]
pub mod testing;
pub mod topic;
pub mod validate;
pub mod wav;

pub use chunk::{split_audio, AudioChunk, AudioReassembly};
pub use codec::{
    decode, decode_draft, encode, encode_draft, DraftError, Message, MessageKind, FORMAT_VERSION,
    MAGIC, MAX_DRAFT_BYTES,
};
pub use envelope::*;
pub use error::{DecodeError, ValidationError};
pub use event::{EventKind, EventReceipt, SatisfactionReply, VehicleEvent};
pub use loss::{LossReport, LostMessage};
pub use validate::{validate_vin, Limits};

/// The largest MQTT message qloop sends or accepts (AWS IoT Core's broker limit).
pub const MAX_MESSAGE_BYTES: usize = 128 * 1024;

/// Environment variable naming the shared data folder (DBC files, candump
/// logs, complaints, recalls) when it is not `../shared/data` beside the
/// repository, e.g. for a clone made elsewhere; `scripts/test.sh` sets it.
pub const SHARED_DATA_ENV: &str = "QLOOP_SHARED_DATA";

/// The shared data folder: `$QLOOP_SHARED_DATA`, else `../shared/data`
/// beside this repository. Used by tests, benchmarks and the fixture
/// vehicles' relative paths; the data is not part of the repository.
pub fn shared_data() -> std::path::PathBuf {
    std::env::var_os(SHARED_DATA_ENV).map_or_else(
        || std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"),
        std::path::PathBuf::from,
    )
}
