//! Typed errors of the protocol layer.

use thiserror::Error;

/// Why a byte string is not a qloop message.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer bytes than the fixed header.
    #[error("message is {len} bytes, shorter than the {header}-byte header")]
    TooShort {
        /// Bytes received.
        len: usize,
        /// Bytes the header needs.
        header: usize,
    },
    /// Larger than the broker limit.
    #[error("message is {len} bytes, over the {max}-byte limit")]
    TooLarge {
        /// Bytes received.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The first four bytes are not the qloop magic.
    #[error("bad magic {found:02x?}: not a qloop message")]
    BadMagic {
        /// The bytes found.
        found: [u8; 4],
    },
    /// A format version this build does not speak.
    #[error("unsupported format version {found} (this build speaks {supported})")]
    UnsupportedVersion {
        /// Version in the header.
        found: u8,
        /// Version this build speaks.
        supported: u8,
    },
    /// An unknown message kind byte.
    #[error("unknown message kind {0}")]
    UnknownKind(u8),
    /// The body does not decode as the kind's type.
    #[error("malformed {kind} body: {reason}")]
    Body {
        /// Which message kind was being decoded.
        kind: &'static str,
        /// What the decoder reported.
        reason: String,
    },
    /// Bytes left over after the body.
    #[error("{0} trailing bytes after the {1} body")]
    Trailing(usize, &'static str),
}

/// Why a decoded message is not acceptable.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum ValidationError {
    /// The VIN is not 17 characters of the VIN alphabet.
    #[error("invalid VIN {vin:?}: {reason}")]
    Vin {
        /// The VIN as received (truncated to 32 characters).
        vin: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The VIN in the body is not the one in the topic.
    #[error("VIN {body:?} in the message does not match VIN {topic:?} in the topic")]
    VinMismatch {
        /// VIN in the message body.
        body: String,
        /// VIN in the topic.
        topic: String,
    },
    /// A field is longer than its limit.
    #[error("{field} has {len} items/bytes, over the limit of {max}")]
    TooLong {
        /// The field's path.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A timestamp outside the accepted range.
    #[error("{field} = {value_ms} ms is outside [{min_ms}, {max_ms}]")]
    Timestamp {
        /// The field's path.
        field: &'static str,
        /// Its value (Unix milliseconds).
        value_ms: i64,
        /// Earliest accepted.
        min_ms: i64,
        /// Latest accepted.
        max_ms: i64,
    },
    /// A number that is not finite or out of range.
    #[error("{field} = {value} is out of range")]
    OutOfRange {
        /// The field's path.
        field: &'static str,
        /// The value.
        value: f64,
    },
    /// Fields that contradict each other.
    #[error("inconsistent message: {0}")]
    Inconsistent(String),
    /// A topic that is not a qloop vehicle topic.
    #[error("topic {0:?} is not a qloop vehicle topic")]
    Topic(String),
}
