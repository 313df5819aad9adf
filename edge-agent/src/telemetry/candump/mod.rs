//! Parser for the log format of `candump -l` (and `-L`): one frame per line,
//! `(seconds.fraction) iface id#data`.
//!
//! Accepted forms, as can-utils' `parse_canframe` (the parser `canplayer`
//! uses) accepts them:
//! - `123#11223344`: standard 11-bit id (exactly 3 hex digits), 0–8 data bytes;
//! - `12345678#…`: extended 29-bit id (exactly 8 hex digits);
//! - `123#R`, `123#R5`: remote frame, optionally with its requested length;
//! - `123##1112233`: CAN FD, the hex digit after `##` is the flags nibble
//!   (validated, then dropped: qloop decodes payloads only), up to 64 bytes;
//! - `123#`: empty data; `123#1122334455667788_E`: classic frame with a
//!   raw DLC 9–F after `_` (validated, then dropped);
//! - an optional trailing ` T` or ` R` direction column.
//!
//! Dots between whole bytes (`123#11.22.33`) are accepted and ignored, as
//! `parse_canframe` does; a dot inside a byte (`1.1`) is an error. `candump`
//! never writes dots, so [`CanFrame::to_candump_line`] never does either.
//! Error frames (id with the 0x20000000 error flag) and CAN XL (`###`) are
//! refused with their own error. Lines longer than [`MAX_LINE_BYTES`] are
//! refused without being held in memory.

mod parse;
mod reader;

pub use parse::parse_line;
pub use reader::CandumpReader;

/// Longest line accepted, bytes (a CAN FD frame of 64 bytes needs ~170).
pub const MAX_LINE_BYTES: usize = 512;
/// Most data bytes in a CAN FD frame.
pub const MAX_FD_BYTES: usize = 64;
/// Most data bytes in a classic CAN frame.
pub const MAX_CLASSIC_BYTES: usize = 8;
/// Longest interface name (Linux `IFNAMSIZ` minus the terminating NUL).
pub const MAX_IFACE_BYTES: usize = 15;
/// SocketCAN's error-frame flag in a logged id.
const ERROR_FRAME_FLAG: u32 = 0x2000_0000;

/// One CAN frame read from a candump log.
#[derive(Debug, Clone, PartialEq)]
pub struct CanFrame {
    /// Reception time, seconds since the Unix epoch (or since boot, as logged).
    pub t: f64,
    /// Interface name, e.g. `can0`.
    pub iface: String,
    /// Arbitration id: 11 bits for standard frames, 29 bits for extended.
    pub id: u32,
    /// Whether the id is a 29-bit extended id.
    pub extended: bool,
    /// Whether this is a CAN FD frame.
    pub fd: bool,
    /// Whether this is a remote transmission request.
    pub rtr: bool,
    /// Payload bytes (empty for remote frames).
    pub data: Vec<u8>,
}

/// Why one candump line could not be read; names the column at fault.
#[derive(Debug, thiserror::Error)]
pub enum CandumpError {
    /// The line is longer than [`MAX_LINE_BYTES`].
    #[error("line is {len} bytes, longer than the {max}-byte limit")]
    LineTooLong {
        /// Bytes in the line (at least `max + 1` when cut while streaming).
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The line is not UTF-8 text.
    #[error("line is not UTF-8 text")]
    NotUtf8,
    /// A column is missing.
    #[error("missing {0} column")]
    MissingColumn(&'static str),
    /// The timestamp column is not `(seconds.fraction)`.
    #[error("timestamp column: {0}")]
    Timestamp(String),
    /// The interface column is not a valid interface name.
    #[error("interface column: {0}")]
    Interface(String),
    /// The id part of the frame column is malformed.
    #[error("frame column: id {text:?}: {reason}")]
    Id {
        /// The id text as found (at most 16 characters kept).
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The frame is a SocketCAN error frame, not a data frame.
    #[error("frame column: error frame (id {0:#010x}), not a data frame")]
    ErrorFrame(u32),
    /// The frame is CAN XL (`###`), which qloop does not read.
    #[error("frame column: CAN XL frames are not supported")]
    CanXl,
    /// The data part of the frame column is malformed.
    #[error("frame column: data: {0}")]
    Data(String),
    /// More data bytes than the frame kind allows.
    #[error("frame column: {len} data bytes, more than {max} allowed for this frame kind")]
    DataTooLong {
        /// Bytes found.
        len: usize,
        /// Bytes allowed.
        max: usize,
    },
    /// Something follows the frame column other than a `T`/`R` direction.
    #[error("unexpected column after the frame: {0:?}")]
    TrailingColumn(String),
    /// Reading the log failed.
    #[error("reading the log: {0}")]
    Io(#[from] std::io::Error),
}

impl CanFrame {
    /// Formats the frame as a `candump -l` line (FD flags 0, no direction).
    pub fn to_candump_line(&self) -> String {
        use std::fmt::Write as _;
        let mut line = format!("({:.6}) {} ", self.t, self.iface);
        if self.extended {
            let _ = write!(line, "{:08X}#", self.id);
        } else {
            let _ = write!(line, "{:03X}#", self.id);
        }
        if self.rtr {
            line.push('R');
            return line;
        }
        if self.fd {
            line.push_str("#0");
        }
        for byte in &self.data {
            let _ = write!(line, "{byte:02X}");
        }
        line
    }
}
