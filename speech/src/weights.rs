//! Which Whisper model, and where its folder is (fetched on first use).

use std::{fmt, path::PathBuf, str::FromStr};

use crate::error::SpeechError;

/// Environment variable naming a CTranslate2 Whisper folder to use instead.
pub const MODEL_ENV: &str = "QLOOP_SPEECH_MODEL";

/// The Whisper models `speech/fetch.sh` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ModelKind {
    /// Whisper tiny.en: English only, 39 M parameters; the default.
    #[default]
    TinyEn,
    /// Whisper base: multilingual, 74 M parameters.
    Base,
}

impl ModelKind {
    /// The name used on the command line and by `speech/fetch.sh`.
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::TinyEn => "tiny.en",
            ModelKind::Base => "base",
        }
    }

    /// The model's folder inside this crate (git-ignored).
    pub fn default_dir(self) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("weights")
            .join(format!("whisper-{}", self.name()))
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "tiny.en" => Ok(ModelKind::TinyEn),
            "base" => Ok(ModelKind::Base),
            other => Err(format!("unknown speech model {other:?} (tiny.en or base)")),
        }
    }
}

fn complete(dir: &std::path::Path) -> bool {
    ["model.bin", "config.json", "tokenizer.json"]
        .iter()
        .all(|f| dir.join(f).is_file())
}

/// The folder of `kind`: `$QLOOP_SPEECH_MODEL` when set (it then names the
/// folder whatever `kind` is), else the default folder, running
/// `speech/fetch.sh` when it is missing.
pub fn model_dir(kind: ModelKind) -> Result<PathBuf, SpeechError> {
    if let Some(dir) = std::env::var_os(MODEL_ENV) {
        let dir = PathBuf::from(dir);
        return if complete(&dir) {
            Ok(dir)
        } else {
            Err(SpeechError::Missing(format!(
                "{MODEL_ENV}={} lacks model.bin, config.json or tokenizer.json",
                dir.display()
            )))
        };
    }
    let dir = kind.default_dir();
    if complete(&dir) {
        return Ok(dir);
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fetch.sh");
    tracing::info!(script = %script.display(), model = kind.name(), "fetching the speech model");
    let status = std::process::Command::new("bash")
        .arg(&script)
        .arg(kind.name())
        .status()
        .map_err(|e| SpeechError::Missing(format!("running {}: {e}", script.display())))?;
    if status.success() && complete(&dir) {
        Ok(dir)
    } else {
        Err(SpeechError::Missing(format!(
            "{} {} failed ({status}); set {MODEL_ENV} to a model folder",
            script.display(),
            kind.name()
        )))
    }
}
