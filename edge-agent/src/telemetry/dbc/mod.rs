//! DBC databases: load a file with the `can-dbc` parser, check every
//! message's layout, and decode CAN frames into physical signal values the
//! way cantools (the reference DBC library) does.
//!
//! # Layout
//! - [`source`]: file bytes to text (UTF-8, else Windows-1252) and the raw
//!   `BO_` ids that `can-dbc` truncates.
//! - [`layout`]: checked message and signal layouts (bit positions, kinds,
//!   multiplexing); what cannot decode is a [`LayoutIssue`].
//! - `build`: joins `SG_` with `SIG_VALTYPE_`, `VAL_` and `SG_MUL_VAL_`.
//! - [`decode`]: bit extraction and scaling.
//!
//! Frame-id matching follows cantools: a DBC id with bit 31 set is an
//! extended id; lookups use the id without that flag, preferring a message
//! of the frame's own kind (standard/extended) and falling back to the other,
//! as cantools' single id table does. When two messages share an id and
//! kind, the later one in the file wins (cantools does the same).

mod build;
pub mod decode;
pub mod layout;
pub mod source;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use layout::{LayoutIssue, MessageLayout, SignalLayout};

use super::candump::CanFrame;

/// Why a DBC database could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DbcError {
    /// The file could not be read.
    #[error("reading DBC {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`source::MAX_DBC_BYTES`].
    #[error("DBC {path} is {len} bytes, more than the {max}-byte limit")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The text is not valid DBC syntax; the message names line and column.
    #[error("DBC syntax: {0}")]
    Syntax(String),
}

/// What a frame decodes to.
#[derive(Debug, Clone, PartialEq)]
pub enum FrameDecode {
    /// The database has no message with this id.
    Unknown,
    /// The frame decoded.
    Decoded {
        /// Message name.
        message: String,
        /// `(signal name, physical value)` for every present signal, DBC order.
        signals: Vec<(String, f64)>,
    },
    /// The id is known but the frame does not decode (e.g. too short).
    Error(String),
}

/// A loaded DBC database, ready to decode frames.
#[derive(Debug, Clone)]
pub struct Database {
    messages: Vec<MessageLayout>,
    by_id: HashMap<u32, Vec<usize>>,
    issues: Vec<LayoutIssue>,
}

impl Database {
    /// Loads a DBC file (UTF-8 or Windows-1252).
    pub fn load(path: &Path) -> Result<Database, DbcError> {
        let read_err = |source| DbcError::Read {
            path: path.to_path_buf(),
            source,
        };
        let len = std::fs::metadata(path).map_err(read_err)?.len();
        if len > source::MAX_DBC_BYTES as u64 {
            return Err(DbcError::TooLarge {
                path: path.to_path_buf(),
                len,
                max: source::MAX_DBC_BYTES,
            });
        }
        let bytes = std::fs::read(path).map_err(read_err)?;
        Self::from_str(&source::decode_text(&bytes))
    }

    /// Parses DBC text.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str) -> Result<Database, DbcError> {
        let text = source::normalise(text);
        let dbc =
            can_dbc::Dbc::try_from(text.as_ref()).map_err(|e| DbcError::Syntax(e.to_string()))?;
        let raw_ids = source::raw_message_ids(&text);
        let (messages, mut issues) = build::build_messages(&dbc, &raw_ids);
        let mut by_id: HashMap<u32, Vec<usize>> = HashMap::new();
        for (index, message) in messages.iter().enumerate() {
            let slot = by_id.entry(message.id).or_default();
            if let Some(earlier) = slot
                .iter_mut()
                .find(|i| messages[**i].extended == message.extended)
            {
                issues.push(LayoutIssue {
                    message: messages[*earlier].name.clone(),
                    problem: format!(
                        "is overridden by the later message {} with the same id",
                        message.name
                    ),
                    message_dropped: false,
                });
                *earlier = index;
            } else {
                slot.push(index);
            }
        }
        Ok(Database {
            messages,
            by_id,
            issues,
        })
    }

    /// Messages that decode, in file order (a message overridden by a later
    /// one with the same id is listed but never chosen).
    pub fn messages(&self) -> &[MessageLayout] {
        &self.messages
    }

    /// What the loader left out or flagged, sorted by message.
    pub fn issues(&self) -> &[LayoutIssue] {
        &self.issues
    }

    /// The message a frame id selects (see the module doc for the rule).
    pub fn message_for(&self, id: u32, extended: bool) -> Option<&MessageLayout> {
        let candidates = self.by_id.get(&id)?;
        let index = candidates
            .iter()
            .find(|i| self.messages[**i].extended == extended)
            .or_else(|| candidates.first())?;
        self.messages.get(*index)
    }

    /// Decodes one frame.
    pub fn decode(&self, frame: &CanFrame) -> FrameDecode {
        let Some(message) = self.message_for(frame.id, frame.extended) else {
            return FrameDecode::Unknown;
        };
        if frame.rtr {
            return FrameDecode::Error("remote frame carries no data to decode".into());
        }
        match decode::decode_message(message, &frame.data) {
            Ok(signals) => FrameDecode::Decoded {
                message: message.name.clone(),
                signals,
            },
            Err(error) => FrameDecode::Error(error),
        }
    }

    /// The label of a signal's value (`VAL_`), if the DBC names it.
    pub fn choice_label(&self, message: &str, signal: &str, raw: i64) -> Option<&str> {
        let message = self.messages.iter().rev().find(|m| m.name == message)?;
        let signal = message.signals.iter().find(|s| s.name == signal)?;
        signal
            .choices
            .binary_search_by_key(&raw, |(value, _)| *value)
            .ok()
            .map(|i| signal.choices[i].1.as_str())
    }
}
