//! The byte format: the only module that knows bincode.
//!
//! `MAGIC (4) | FORMAT_VERSION (1) | kind (1) | bincode 2.0.x body`
//!
//! Versions: 1 is the first format; 2 adds `FeedbackEnvelope::cut_short` as
//! the envelope's last field and the [`Message::Loss`] kind. This build writes
//! 2 and reads 1 and 2, so a car that still holds version-1 records in its
//! outbox after an update, or an older car, is still understood. Deploy the
//! cloud before the cars: a version-1 cloud refuses version-2 messages.
//!
//! The same module encodes the car's *capture drafts* ([`encode_draft`]): an
//! accepted capture written to disk before the post-trigger window ends, so a
//! kill or power cut cannot lose it. A draft may hold a whole clip and so is
//! not bound by the MQTT message limit, but by [`MAX_DRAFT_BYTES`].
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
    loss::LossReport,
    AudioClip, Consent, TelemetrySnapshot, TriggerKind, Utterance, Vehicle, MAX_MESSAGE_BYTES,
};

/// First four bytes of every qloop message.
pub const MAGIC: [u8; 4] = *b"QLP\x01";
/// The body format version this build writes and reads.
pub const FORMAT_VERSION: u8 = 2;
/// The oldest body format version this build still reads.
pub const OLDEST_READABLE_VERSION: u8 = 1;
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
    /// Car → cloud: an outbox record the car lost (format version 2).
    Loss(LossReport),
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
    /// [`Message::Loss`].
    Loss = 6,
}

impl MessageKind {
    fn from_byte(b: u8) -> Result<Self, DecodeError> {
        Ok(match b {
            1 => Self::Feedback,
            2 => Self::AudioChunk,
            3 => Self::Event,
            4 => Self::Receipt,
            5 => Self::Satisfaction,
            6 => Self::Loss,
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
            Self::Loss => "loss report",
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
            Self::Loss(_) => MessageKind::Loss,
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
        Message::Loss(m) => encode_body_into(m, &mut out),
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
    let version = bytes[4];
    if !(OLDEST_READABLE_VERSION..=FORMAT_VERSION).contains(&version) {
        return Err(DecodeError::UnsupportedVersion {
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    let kind = MessageKind::from_byte(bytes[5])?;
    let body = &bytes[HEADER_LEN..];
    Ok(match kind {
        MessageKind::Feedback if version == 1 => Message::Feedback(Box::new(
            decode_body::<FeedbackEnvelopeV1>(body, kind, config())?.into(),
        )),
        MessageKind::Loss if version == 1 => return Err(DecodeError::UnknownKind(bytes[5])),
        MessageKind::Feedback => Message::Feedback(Box::new(decode_body(body, kind, config())?)),
        MessageKind::AudioChunk => Message::AudioChunk(decode_body(body, kind, config())?),
        MessageKind::Event => Message::Event(decode_body(body, kind, config())?),
        MessageKind::Receipt => Message::Receipt(decode_body(body, kind, config())?),
        MessageKind::Satisfaction => Message::Satisfaction(decode_body(body, kind, config())?),
        MessageKind::Loss => Message::Loss(decode_body(body, kind, config())?),
    })
}

/// The envelope as format version 1 wrote it: all of today's fields but
/// `cut_short`, which version 1 did not have (so it was never cut short).
#[derive(serde::Deserialize)]
struct FeedbackEnvelopeV1 {
    feedback_id: uuid::Uuid,
    vehicle: Vehicle,
    captured_at_ms: i64,
    trigger: TriggerKind,
    locale: String,
    utterance: Option<Utterance>,
    audio: Option<AudioClip>,
    telemetry: TelemetrySnapshot,
    consent: Consent,
}

impl From<FeedbackEnvelopeV1> for FeedbackEnvelope {
    fn from(v1: FeedbackEnvelopeV1) -> Self {
        Self {
            feedback_id: v1.feedback_id,
            vehicle: v1.vehicle,
            captured_at_ms: v1.captured_at_ms,
            trigger: v1.trigger,
            locale: v1.locale,
            utterance: v1.utterance,
            audio: v1.audio,
            telemetry: v1.telemetry,
            consent: v1.consent,
            cut_short: None,
        }
    }
}

/// First four bytes of a capture draft on the car's disk.
pub const DRAFT_MAGIC: [u8; 4] = *b"QLD\x01";
/// Bytes before a draft's body: magic, format version, CRC-32 of the body.
pub const DRAFT_HEADER_LEN: usize = 9;
/// Largest draft accepted when reading: the largest clip the protocol allows
/// plus room for the largest telemetry snapshot.
pub const MAX_DRAFT_BYTES: usize = 16 * 1024 * 1024;

/// Why a draft file is not a usable draft.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DraftError {
    /// Shorter than its header.
    #[error("draft is {0} bytes, shorter than its header")]
    TooShort(usize),
    /// Larger than any draft.
    #[error("draft is {0} bytes, over the {MAX_DRAFT_BYTES}-byte limit")]
    TooLarge(usize),
    /// Wrong magic or version.
    #[error("not a capture draft of this format")]
    NotADraft,
    /// The body does not match its checksum: torn or corrupt.
    #[error("draft checksum mismatch (torn or corrupt)")]
    Checksum,
    /// The body does not decode.
    #[error("malformed draft body: {0}")]
    Body(String),
}

/// Encodes an accepted capture's envelope as a draft (audio inline, whatever
/// its size): `DRAFT_MAGIC | FORMAT_VERSION | CRC-32 of body (LE) | body`.
pub fn encode_draft(envelope: &FeedbackEnvelope) -> Vec<u8> {
    let mut body = Vec::with_capacity(1024);
    encode_body_into(envelope, &mut body);
    let mut out = Vec::with_capacity(DRAFT_HEADER_LEN + body.len());
    out.extend_from_slice(&DRAFT_MAGIC);
    out.push(FORMAT_VERSION);
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// Decodes a draft, checking its header, checksum and that the body is
/// consumed whole. Never panics; allocates at most what the bytes justify.
pub fn decode_draft(bytes: &[u8]) -> Result<FeedbackEnvelope, DraftError> {
    if bytes.len() > MAX_DRAFT_BYTES {
        return Err(DraftError::TooLarge(bytes.len()));
    }
    if bytes.len() < DRAFT_HEADER_LEN {
        return Err(DraftError::TooShort(bytes.len()));
    }
    if bytes[..4] != DRAFT_MAGIC || bytes[4] != FORMAT_VERSION {
        return Err(DraftError::NotADraft);
    }
    let crc = u32::from_le_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]);
    let body = &bytes[DRAFT_HEADER_LEN..];
    if crc32fast::hash(body) != crc {
        return Err(DraftError::Checksum);
    }
    let draft_config = bincode::config::standard().with_limit::<{ 8 * MAX_DRAFT_BYTES }>();
    decode_body(body, MessageKind::Feedback, draft_config)
        .map_err(|e| DraftError::Body(e.to_string()))
}

fn decode_body<T: DeserializeOwned>(
    body: &[u8],
    kind: MessageKind,
    config: impl bincode::config::Config,
) -> Result<T, DecodeError> {
    let (value, used) =
        bincode::serde::decode_from_slice(body, config).map_err(|e| DecodeError::Body {
            kind: kind.name(),
            reason: e.to_string(),
        })?;
    if used != body.len() {
        return Err(DecodeError::Trailing(body.len() - used, kind.name()));
    }
    Ok(value)
}
