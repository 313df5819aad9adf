//! The on-disk record: one file per message.
//!
//! Version 2 (written by this build):
//!
//! ```text
//! offset size field
//!      0    4 magic  b"QLOB"
//!      4    1 record format version (2)
//!      5    1 message kind (qloop_protocol::MessageKind byte)
//!      6    2 reserved, zero
//!      8    8 sequence number, little endian (also the file name)
//!     16    4 payload length, little endian
//!     20    4 CRC-32 (IEEE) of the payload, little endian
//!     24   16 feedback id the message belongs to (all zero: none)
//!     40    4 audio chunk index, little endian (u32::MAX: not a chunk)
//!     44    4 CRC-32 (IEEE) of bytes 0..44, little endian
//!     48    … payload: the encoded qloop_protocol message
//! ```
//!
//! Version 1 records (24-byte header, the first 24 bytes above) are still
//! read, so an outbox written before an update drains after it.
//!
//! A record is valid only when every field checks out and the file is exactly
//! header + length bytes long, so truncation and bit flips are both caught.
//! The header has its own checksum so that when the payload is torn (the
//! usual damage: a file cut short), [`describe`] can still say which feedback
//! and which audio chunk were lost, and the agent can report or resend it.

use qloop_protocol::{decode, Message, MessageKind, MAGIC, MAX_MESSAGE_BYTES};
use uuid::Uuid;

/// First bytes of every outbox record.
pub const RECORD_MAGIC: [u8; 4] = *b"QLOB";
/// Record format this build writes.
pub const RECORD_VERSION: u8 = 2;
/// Bytes before the payload in the format this build writes.
pub const RECORD_HEADER_LEN: usize = 48;
/// Bytes before the payload in version 1 records.
pub const V1_HEADER_LEN: usize = 24;
/// Largest record file accepted when reading.
pub const MAX_RECORD_BYTES: usize = RECORD_HEADER_LEN + MAX_MESSAGE_BYTES;
/// Chunk index field value of a record that is not an audio chunk.
const NO_CHUNK: u32 = u32::MAX;

/// What a record says it holds: read from a message when writing, from the
/// header when the payload can no longer be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecordSubject {
    /// The message kind, when known.
    pub kind: Option<MessageKind>,
    /// The feedback it belongs to (envelopes and audio chunks).
    pub feedback_id: Option<Uuid>,
    /// The audio chunk's index.
    pub chunk: Option<u32>,
}

impl RecordSubject {
    /// What an encoded message is about; `None` when it does not decode.
    pub fn of_message(payload: &[u8]) -> Option<Self> {
        let message = decode(payload).ok()?;
        let (feedback_id, chunk) = match &message {
            Message::Feedback(env) => (Some(env.feedback_id), None),
            Message::AudioChunk(c) => (Some(c.feedback_id), Some(c.index)),
            Message::Loss(report) => (report.feedback_id, None),
            Message::Event(_) | Message::Receipt(_) | Message::Satisfaction(_) => (None, None),
        };
        Some(Self {
            kind: Some(message.kind()),
            feedback_id,
            chunk,
        })
    }
}

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
    /// The version-2 header does not match its own checksum.
    #[error("header checksum mismatch")]
    HeaderChecksum,
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
    kind_of_byte(payload[5])
}

/// Builds the record bytes for `payload` with sequence number `seq`.
pub fn encode_record(
    seq: u64,
    kind: MessageKind,
    subject: RecordSubject,
    payload: &[u8],
) -> Vec<u8> {
    let mut out = Vec::with_capacity(RECORD_HEADER_LEN + payload.len());
    out.extend_from_slice(&RECORD_MAGIC);
    out.push(RECORD_VERSION);
    out.push(kind as u8);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(subject.feedback_id.unwrap_or(Uuid::nil()).as_bytes());
    out.extend_from_slice(&subject.chunk.unwrap_or(NO_CHUNK).to_le_bytes());
    let header_crc = crc32fast::hash(&out[..44]);
    out.extend_from_slice(&header_crc.to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// What a (possibly damaged) record says it held, as far as its header can
/// be trusted: everything for an intact version-2 header, the kind byte alone
/// for a version-1 header, nothing otherwise.
pub fn describe(bytes: &[u8]) -> RecordSubject {
    if bytes.len() < 6 || bytes[..4] != RECORD_MAGIC {
        return RecordSubject::default();
    }
    let kind = kind_of_byte(bytes[5]);
    if bytes[4] != RECORD_VERSION || bytes.len() < RECORD_HEADER_LEN {
        return RecordSubject {
            kind: if bytes[4] == 1 { kind } else { None },
            ..RecordSubject::default()
        };
    }
    let stored_crc = u32::from_le_bytes(bytes[44..48].try_into().expect("4 bytes"));
    if crc32fast::hash(&bytes[..44]) != stored_crc {
        return RecordSubject::default();
    }
    let id = Uuid::from_bytes(bytes[24..40].try_into().expect("16 bytes"));
    let chunk = u32::from_le_bytes(bytes[40..44].try_into().expect("4 bytes"));
    RecordSubject {
        kind,
        feedback_id: (!id.is_nil()).then_some(id),
        chunk: (chunk != NO_CHUNK).then_some(chunk),
    }
}

fn kind_of_byte(b: u8) -> Option<MessageKind> {
    Some(match b {
        1 => MessageKind::Feedback,
        2 => MessageKind::AudioChunk,
        3 => MessageKind::Event,
        4 => MessageKind::Receipt,
        5 => MessageKind::Satisfaction,
        6 => MessageKind::Loss,
        _ => return None,
    })
}

/// Checks a record read from the file named for `seq`; returns the payload.
pub fn decode_record(seq: u64, bytes: &[u8]) -> Result<&[u8], RecordDefect> {
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(RecordDefect::Oversized(bytes.len() as u64));
    }
    if bytes.len() < V1_HEADER_LEN {
        return Err(RecordDefect::TruncatedHeader(bytes.len()));
    }
    if bytes[..4] != RECORD_MAGIC {
        return Err(RecordDefect::BadMagic);
    }
    let header_len = match bytes[4] {
        1 => V1_HEADER_LEN,
        RECORD_VERSION => RECORD_HEADER_LEN,
        other => return Err(RecordDefect::Version(other)),
    };
    if bytes.len() < header_len {
        return Err(RecordDefect::TruncatedHeader(bytes.len()));
    }
    if header_len == RECORD_HEADER_LEN {
        let stored = u32::from_le_bytes(bytes[44..48].try_into().expect("4 bytes"));
        if crc32fast::hash(&bytes[..44]) != stored {
            return Err(RecordDefect::HeaderChecksum);
        }
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
    let payload = &bytes[header_len..];
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
    kind_of_byte(*bytes.get(5)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload() -> Vec<u8> {
        let mut p = MAGIC.to_vec();
        p.extend_from_slice(&[1, 2, 9, 9, 9]);
        p
    }

    fn subject() -> RecordSubject {
        RecordSubject {
            kind: Some(MessageKind::AudioChunk),
            feedback_id: Some(Uuid::from_u128(0x0191_2345_6789_7abc_8def_0123_4567_89ab)),
            chunk: Some(3),
        }
    }

    #[test]
    fn a_record_reads_back_its_payload() {
        let rec = encode_record(7, MessageKind::AudioChunk, subject(), &payload());
        assert_eq!(decode_record(7, &rec).unwrap(), payload().as_slice());
        assert_eq!(record_kind(&rec), Some(MessageKind::AudioChunk));
    }

    #[test]
    fn a_torn_record_still_names_its_feedback_and_chunk() {
        let rec = encode_record(7, MessageKind::AudioChunk, subject(), &payload());
        for len in RECORD_HEADER_LEN..rec.len() {
            assert!(decode_record(7, &rec[..len]).is_err());
            assert_eq!(describe(&rec[..len]), subject(), "cut at {len}");
        }
        // A header that lies is not believed.
        let mut bad = rec.clone();
        bad[30] ^= 1;
        assert_eq!(describe(&bad), RecordSubject::default());
    }

    #[test]
    fn a_version_1_record_is_still_read() {
        let p = payload();
        let mut rec = RECORD_MAGIC.to_vec();
        rec.extend_from_slice(&[1, MessageKind::AudioChunk as u8, 0, 0]);
        rec.extend_from_slice(&9u64.to_le_bytes());
        rec.extend_from_slice(&(p.len() as u32).to_le_bytes());
        rec.extend_from_slice(&crc32fast::hash(&p).to_le_bytes());
        rec.extend_from_slice(&p);
        assert_eq!(decode_record(9, &rec).unwrap(), p.as_slice());
        assert_eq!(describe(&rec).kind, Some(MessageKind::AudioChunk));
    }

    #[test]
    fn every_single_bit_flip_is_detected() {
        let rec = encode_record(3, MessageKind::Feedback, subject(), &payload());
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
        let rec = encode_record(3, MessageKind::Feedback, subject(), &payload());
        for len in 0..rec.len() {
            assert!(decode_record(3, &rec[..len]).is_err(), "len {len}");
        }
    }
}
