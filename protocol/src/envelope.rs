//! The feedback envelope: everything a car captured around one trigger.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// One driver feedback, as captured in the car. `feedback_id` (UUIDv7, made in
/// the car) is the idempotency key from the outbox to the case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackEnvelope {
    /// UUIDv7 made in the car; the same on every retry.
    pub feedback_id: Uuid,
    /// The vehicle that sent it.
    pub vehicle: Vehicle,
    /// When the trigger happened, Unix milliseconds (UTC).
    pub captured_at_ms: i64,
    /// What started the capture.
    pub trigger: TriggerKind,
    /// BCP-47 locale of the driver's speech, e.g. `en-US`.
    pub locale: String,
    /// The words, when the head unit transcribed them.
    pub utterance: Option<Utterance>,
    /// The recorded clip, when the driver consented to audio.
    pub audio: Option<AudioClip>,
    /// Vehicle state before and after the trigger.
    pub telemetry: TelemetrySnapshot,
    /// What the driver agreed to share.
    pub consent: Consent,
    /// Set when the capture was not finished as planned: the agent stopped
    /// (kill, crash, power cut) inside the post-trigger window and sent what
    /// it had on disk when it came back. Format version 2 and later.
    pub cut_short: Option<CutShort>,
}

/// Why and where a capture ended early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutShort {
    /// What ended it.
    pub reason: CutShortReason,
    /// When the agent found the unfinished capture and completed it, Unix ms.
    pub completed_at_ms: i64,
}

/// What ended a capture early.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CutShortReason {
    /// The agent stopped before the post-trigger window ended (killed,
    /// crashed, or the power went); the telemetry stops at the trigger.
    AgentStopped,
}

impl CutShortReason {
    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AgentStopped => "agent_stopped",
        }
    }
}

/// Identity and software of the vehicle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Vehicle {
    /// ISO 3779 vehicle identification number.
    pub vin: String,
    /// Model name, e.g. `Model 3`.
    pub model: String,
    /// Model year.
    pub year: u16,
    /// Software version per ECU.
    pub software: Vec<SoftwareVersion>,
}

/// The software an ECU runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoftwareVersion {
    /// ECU name, e.g. `VCFRONT`.
    pub ecu: String,
    /// Version string.
    pub version: String,
}

/// What started a capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TriggerKind {
    /// The voice assistant heard "I want to give feedback".
    Voice,
    /// A button or menu in the HMI.
    Hmi,
    /// A hardware button.
    Button,
    /// The edge agent's command line (tests, service tools).
    Cli,
}

impl TriggerKind {
    /// Stable lowercase name for storage and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Voice => "voice",
            Self::Hmi => "hmi",
            Self::Button => "button",
            Self::Cli => "cli",
        }
    }
}

/// The head unit's transcript of the driver's words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Utterance {
    /// The transcript.
    pub transcript: String,
    /// The recogniser's confidence in 0..=1, when it gave one.
    pub confidence: Option<f32>,
}

/// An audio clip of the driver's words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioClip {
    /// How the bytes are encoded.
    pub codec: AudioCodec,
    /// Samples per second.
    pub sample_rate: u32,
    /// Channel count.
    pub channels: u16,
    /// Length in milliseconds.
    pub duration_ms: u32,
    /// The bytes, inline or sent as chunks.
    pub payload: AudioPayload,
}

/// Audio encodings qloop carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AudioCodec {
    /// A complete RIFF/WAVE file, 16-bit PCM.
    Wav,
}

/// Where the audio bytes are.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AudioPayload {
    /// In this message.
    Inline(#[serde(with = "serde_bytes")] Vec<u8>),
    /// In `chunks` separate [`crate::AudioChunk`] messages of the same feedback_id.
    Chunked {
        /// Number of chunks.
        chunks: u32,
        /// Total byte length once reassembled.
        total_bytes: u32,
        /// CRC-32 of the reassembled bytes.
        crc32: u32,
    },
}

/// Vehicle state around the trigger.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TelemetrySnapshot {
    /// Start of the window, Unix ms.
    pub window_start_ms: i64,
    /// End of the window, Unix ms.
    pub window_end_ms: i64,
    /// Signals as time series, named by VSS path (or DBC name without a mapping).
    pub signals: Vec<SignalSeries>,
    /// Diagnostic trouble codes active or stored at the trigger.
    pub dtcs: Vec<Dtc>,
    /// Where the car was, when consented.
    pub location: Option<Location>,
    /// Odometer in km.
    pub odometer_km: Option<f64>,
}

/// One signal's samples in the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignalSeries {
    /// VSS path (e.g. `Vehicle.Speed`) or DBC `Message.Signal` name.
    pub name: String,
    /// Unit, e.g. `km/h`.
    pub unit: Option<String>,
    /// Samples in time order.
    pub samples: Vec<Sample>,
}

/// One value at one time.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Unix ms.
    pub t_ms: i64,
    /// Physical value.
    pub value: f64,
}

/// A diagnostic trouble code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dtc {
    /// Code, e.g. `C0045`.
    pub code: String,
    /// ECU that set it.
    pub ecu: String,
    /// Status, e.g. `active`, `stored`, `pending`.
    pub status: String,
}

/// A position fix.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Location {
    /// Degrees north.
    pub lat: f64,
    /// Degrees east.
    pub lon: f64,
    /// Horizontal accuracy in metres.
    pub accuracy_m: f32,
}

/// What the driver agreed to share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    /// Audio may be recorded and sent.
    pub audio: bool,
    /// Location may be sent.
    pub location: bool,
}

impl FeedbackEnvelope {
    /// The transcript, if the head unit sent one.
    pub fn transcript(&self) -> Option<&str> {
        self.utterance.as_ref().map(|u| u.transcript.as_str())
    }
}
