//! The byte format: the only module that knows bincode.
//!
//! `MAGIC (4) | FORMAT_VERSION (1) | kind (1) | bincode 2.0.x body`
//!
//! bincode is frozen upstream (RUSTSEC-2025-0141); it is pinned to 2.0.x in the
//! workspace and used nowhere else, so a later switch of codec is a change here.
//! The decoder runs with bincode's limit set to [`MAX_DECODE_ALLOCATION_BYTES`],
//! so a hostile length prefix cannot make it allocate more than that at once.

use serde::{de::DeserializeOwned, Serialize};

use crate::{
    chunk::AudioChunk,
    envelope::FeedbackEnvelope,
    error::DecodeError,
    event::{EventReceipt, SatisfactionReply, VehicleEvent},
    MAX_MESSAGE_BYTES,
};

/// First four bytes of every qloop message.
pub const MAGIC: [u8; 4] = *b"QLP\x01";
/// The body format version this build writes and reads.
pub const FORMAT_VERSION: u8 = 1;
/// Bytes before the body.
pub const HEADER_LEN: usize = 6;

/// The most one decode may claim, and so allocate for one field, in bytes.
///
/// bincode charges its limit with the in-memory size of each value it decodes,
/// not with the bytes it reads: a length or an `i64` that took one byte on the
/// wire costs eight. Eight is the largest such ratio among our types, so this
/// limit never refuses a message that fits [`MAX_MESSAGE_BYTES`] (a limit of
/// `MAX_MESSAGE_BYTES` itself did), yet still caps what one lying length prefix
/// can make the decoder allocate before it finds the bytes missing.
pub const MAX_DECODE_ALLOCATION_BYTES: usize = 8 * MAX_MESSAGE_BYTES;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<MAX_DECODE_ALLOCATION_BYTES>()
}

/// Any qloop message.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// Car → cloud: one feedback.
    Feedback(Box<FeedbackEnvelope>),
    /// Car → cloud: one piece of a feedback's audio.
    AudioChunk(AudioChunk),
    /// Cloud → car: something for the driver.
    Event(VehicleEvent),
    /// Car → cloud: an event reached the HMI.
    Receipt(EventReceipt),
    /// Car → cloud: the driver's satisfaction with a resolved case.
    Satisfaction(SatisfactionReply),
}

/// The kind byte of the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum MessageKind {
    /// [`Message::Feedback`].
    Feedback = 1,
    /// [`Message::AudioChunk`].
    AudioChunk = 2,
    /// [`Message::Event`].
    Event = 3,
    /// [`Message::Receipt`].
    Receipt = 4,
    /// [`Message::Satisfaction`].
    Satisfaction = 5,
}

impl MessageKind {
    fn from_byte(b: u8) -> Result<Self, DecodeError> {
        Ok(match b {
            1 => Self::Feedback,
            2 => Self::AudioChunk,
            3 => Self::Event,
            4 => Self::Receipt,
            5 => Self::Satisfaction,
            other => return Err(DecodeError::UnknownKind(other)),
        })
    }

    /// Name for logs and errors.
    pub fn name(self) -> &'static str {
        match self {
            Self::Feedback => "feedback",
            Self::AudioChunk => "audio chunk",
            Self::Event => "event",
            Self::Receipt => "receipt",
            Self::Satisfaction => "satisfaction",
        }
    }
}

impl Message {
    /// The header kind of this message.
    pub fn kind(&self) -> MessageKind {
        match self {
            Self::Feedback(_) => MessageKind::Feedback,
            Self::AudioChunk(_) => MessageKind::AudioChunk,
            Self::Event(_) => MessageKind::Event,
            Self::Receipt(_) => MessageKind::Receipt,
            Self::Satisfaction(_) => MessageKind::Satisfaction,
        }
    }
}

/// Encodes a message with its header. The result may exceed
/// [`MAX_MESSAGE_BYTES`]; callers split audio first (see [`crate::split_audio`])
/// and [`crate::Limits::check_encoded`] says whether it fits.
pub fn encode(message: &Message) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(&MAGIC);
    out.push(FORMAT_VERSION);
    out.push(message.kind() as u8);
    // The body goes straight after the header, without an intermediate buffer.
    match message {
        Message::Feedback(m) => encode_body_into(m.as_ref(), &mut out),
        Message::AudioChunk(m) => encode_body_into(m, &mut out),
        Message::Event(m) => encode_body_into(m, &mut out),
        Message::Receipt(m) => encode_body_into(m, &mut out),
        Message::Satisfaction(m) => encode_body_into(m, &mut out),
    }
    out
}

fn encode_body_into<T: Serialize>(value: &T, out: &mut Vec<u8>) {
    // Encoding into a Vec only fails if serde reports an error, which our
    // plain data types never do; the limit applies to decoding only.
    bincode::serde::encode_into_std_write(value, out, bincode::config::standard())
        .expect("plain data types always serialize");
}

/// Decodes a message, checking header, size and that the body is consumed whole.
pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(DecodeError::TooLarge {
            len: bytes.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    if bytes.len() < HEADER_LEN {
        return Err(DecodeError::TooShort {
            len: bytes.len(),
            header: HEADER_LEN,
        });
    }
    let magic: [u8; 4] = [bytes[0], bytes[1], bytes[2], bytes[3]];
    if magic != MAGIC {
        return Err(DecodeError::BadMagic { found: magic });
    }
    if bytes[4] != FORMAT_VERSION {
        return Err(DecodeError::UnsupportedVersion {
            found: bytes[4],
            supported: FORMAT_VERSION,
        });
    }
    let kind = MessageKind::from_byte(bytes[5])?;
    let body = &bytes[HEADER_LEN..];
    Ok(match kind {
        MessageKind::Feedback => Message::Feedback(Box::new(decode_body(body, kind)?)),
        MessageKind::AudioChunk => Message::AudioChunk(decode_body(body, kind)?),
        MessageKind::Event => Message::Event(decode_body(body, kind)?),
        MessageKind::Receipt => Message::Receipt(decode_body(body, kind)?),
        MessageKind::Satisfaction => Message::Satisfaction(decode_body(body, kind)?),
    })
}

fn decode_body<T: DeserializeOwned>(body: &[u8], kind: MessageKind) -> Result<T, DecodeError> {
    let (value, used) =
        bincode::serde::decode_from_slice(body, config()).map_err(|e| DecodeError::Body {
            kind: kind.name(),
            reason: e.to_string(),
        })?;
    if used != body.len() {
        return Err(DecodeError::Trailing(body.len() - used, kind.name()));
    }
    Ok(value)
}
