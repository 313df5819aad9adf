//! Errors of the speech layer, one enum chained from the layers below it.

use std::path::PathBuf;

use thiserror::Error;

/// Why reading a CTranslate2 `model.bin` failed. The reader checks every
/// length against the bytes that are left, so a corrupt file ends here.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum FormatError {
    /// The file ends before a field it announces.
    #[error("truncated at byte {offset}: {what} needs {needed} bytes, {left} left")]
    Truncated {
        /// Where the field starts.
        offset: usize,
        /// Which field.
        what: &'static str,
        /// Bytes it needs.
        needed: usize,
        /// Bytes left in the file.
        left: usize,
    },
    /// A binary version this reader does not know.
    #[error("binary version {0} is not supported (1..=6)")]
    Version(u32),
    /// A name that is not UTF-8 or lacks its terminating NUL.
    #[error("bad string at byte {0}")]
    BadString(usize),
    /// A data type id CTranslate2 does not define.
    #[error("variable {name}: unknown data type id {id}")]
    DType {
        /// The variable.
        name: String,
        /// The id found.
        id: u8,
    },
    /// The byte count does not match the shape and data type.
    #[error("variable {name}: {bytes} bytes for shape {shape:?} of {dtype}")]
    Size {
        /// The variable.
        name: String,
        /// Its shape.
        shape: Vec<usize>,
        /// Its data type.
        dtype: &'static str,
        /// The byte count found.
        bytes: usize,
    },
    /// Bytes after the aliases.
    #[error("{0} unexpected bytes after the aliases")]
    Trailing(usize),
    /// Two variables or aliases with one name.
    #[error("name {0} defined twice")]
    Duplicate(String),
    /// An alias of a variable that does not exist.
    #[error("alias {alias} names the missing variable {target}")]
    DanglingAlias {
        /// The alias.
        alias: String,
        /// The variable it names.
        target: String,
    },
}

/// Why loading or running the speech model failed.
#[derive(Debug, Error)]
pub enum SpeechError {
    /// A model file is missing or unreadable.
    #[error("model file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The model folder could not be found or fetched.
    #[error("speech model not available: {0}")]
    Missing(String),
    /// `model.bin` is not a readable CTranslate2 model.
    #[error("model.bin: {0}")]
    Format(#[from] FormatError),
    /// The weights are readable but not a Whisper model qloop can run.
    #[error("model does not fit Whisper: {0}")]
    Mapping(String),
    /// The tokenizer could not be loaded or could not decode.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// The audio is not a clip qloop can transcribe.
    #[error("audio: {0}")]
    Audio(String),
    /// The tensor computation failed.
    #[error("inference: {0}")]
    Inference(#[from] candle_core::Error),
    /// The transcription thread is gone.
    #[error("the transcription thread stopped")]
    Stopped,
}
