//! The on-disk record: one file per message.
//!
//! ```text
//! offset size field
//!      0    4 magic  b"QLOB"
//!      4    1 record format version (1)
//!      5    1 message kind (qloop_protocol::MessageKind byte)
//!      6    2 reserved, zero
//!      8    8 sequence number, little endian (also the file name)
//!     16    4 payload length, little endian
//!     20    4 CRC-32 (IEEE) of the payload, little endian
//!     24    … payload: the encoded qloop_protocol message
//! ```
//!
//! A record is valid only when every field checks out and the file is exactly
//! header + length bytes long, so truncation and bit flips are both caught.

use qloop_protocol::{MessageKind, MAGIC, MAX_MESSAGE_BYTES};

/// First bytes of every outbox record.
pub const RECORD_MAGIC: [u8; 4] = *b"QLOB";
/// Record format this build writes and reads.
pub const RECORD_VERSION: u8 = 1;
/// Bytes before the payload.
pub const RECORD_HEADER_LEN: usize = 24;
/// Largest record file accepted when reading.
pub const MAX_RECORD_BYTES: usize = RECORD_HEADER_LEN + MAX_MESSAGE_BYTES;

/// Why a record file is not a valid record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordDefect {
    /// Shorter than the header.
    #[error("truncated header: {0} bytes")]
    TruncatedHeader(usize),
    /// Larger than any valid record.
    #[error("file of {0} bytes is larger than any record")]
    Oversized(u64),
    /// Wrong magic.
    #[error("bad magic")]
    BadMagic,
    /// Unknown record version.
    #[error("unknown record version {0}")]
    Version(u8),
    /// The header's length disagrees with the file.
    #[error("header says {declared} payload bytes, file holds {actual}")]
    Length {
        /// Length in the header.
        declared: usize,
        /// Bytes present.
        actual: usize,
    },
    /// The payload does not match its checksum.
    #[error("checksum mismatch")]
    Checksum,
    /// The header's kind byte is not the payload's message kind.
    #[error("kind byte {0} does not match the payload")]
    Kind(u8),
    /// The header's sequence number is not the file name's.
    #[error("sequence {header} in header, {name} in file name")]
    Sequence {
        /// In the header.
        header: u64,
        /// In the file name.
        name: u64,
    },
}

/// The message kind of an encoded qloop message, if it looks like one.
pub fn message_kind(payload: &[u8]) -> Option<MessageKind> {
    if payload.len() < 6 || payload[..4] != MAGIC {
        return None;
    }
    Some(match payload[5] {
        1 => MessageKind::Feedback,
        2 => MessageKind::AudioChunk,
        3 => MessageKind::Event,
        4 => MessageKind::Receipt,
        5 => MessageKind::Satisfaction,
        _ => return None,
    })
}

/// Builds the record bytes for `payload` with sequence number `seq`.
pub fn encode_record(seq: u64, kind: MessageKind, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(RECORD_HEADER_LEN + payload.len());
    out.extend_from_slice(&RECORD_MAGIC);
    out.push(RECORD_VERSION);
    out.push(kind as u8);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Checks a record read from the file named for `seq`; returns the payload.
pub fn decode_record(seq: u64, bytes: &[u8]) -> Result<&[u8], RecordDefect> {
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(RecordDefect::Oversized(bytes.len() as u64));
    }
    if bytes.len() < RECORD_HEADER_LEN {
        return Err(RecordDefect::TruncatedHeader(bytes.len()));
    }
    if bytes[..4] != RECORD_MAGIC {
        return Err(RecordDefect::BadMagic);
    }
    if bytes[4] != RECORD_VERSION {
        return Err(RecordDefect::Version(bytes[4]));
    }
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
    let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    let header_seq = u64_at(8);
    if header_seq != seq {
        return Err(RecordDefect::Sequence {
            header: header_seq,
            name: seq,
        });
    }
    let declared = u32_at(16) as usize;
    let payload = &bytes[RECORD_HEADER_LEN..];
    if declared != payload.len() {
        return Err(RecordDefect::Length {
            declared,
            actual: payload.len(),
        });
    }
    if crc32fast::hash(payload) != u32_at(20) {
        return Err(RecordDefect::Checksum);
    }
    // The kind byte is outside the checksum; it must agree with the payload's.
    if message_kind(payload).map(|k| k as u8) != Some(bytes[5]) {
        return Err(RecordDefect::Kind(bytes[5]));
    }
    Ok(payload)
}

/// The kind byte stored in a record header (valid records only).
pub fn record_kind(bytes: &[u8]) -> Option<MessageKind> {
    message_kind(bytes.get(RECORD_HEADER_LEN..)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> Vec<u8> {
        let mut p = MAGIC.to_vec();
        p.extend_from_slice(&[1, 2, 9, 9, 9]);
        p
    }

    #[test]
    fn a_record_reads_back_its_payload() {
        let rec = encode_record(7, MessageKind::AudioChunk, &payload());
        assert_eq!(decode_record(7, &rec).unwrap(), payload().as_slice());
        assert_eq!(record_kind(&rec), Some(MessageKind::AudioChunk));
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let rec = encode_record(3, MessageKind::Feedback, &payload());
        for byte in 0..rec.len() {
            if (6..8).contains(&byte) {
                continue; // reserved bytes carry no meaning
            }
            for bit in 0..8 {
                let mut bad = rec.clone();
                bad[byte] ^= 1 << bit;
                assert!(decode_record(3, &bad).is_err(), "byte {byte} bit {bit}");
            }
        }
    }

    #[test]
    fn truncation_at_any_point_is_detected() {
        let rec = encode_record(3, MessageKind::Feedback, &payload());
        for len in 0..rec.len() {
            assert!(decode_record(3, &rec[..len]).is_err(), "len {len}");
        }
    }
}
