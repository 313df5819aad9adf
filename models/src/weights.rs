//! Where the embedding model's folder is, fetching it on first use.

use std::path::PathBuf;

use crate::error::ModelError;

/// Environment variable naming an HF-style model folder to use instead.
pub const MODEL_ENV: &str = "QLOOP_EMBEDDING_MODEL";

/// The default folder, inside this crate (git-ignored).
pub fn default_model_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("weights/all-MiniLM-L6-v2")
}

/// The embedding model's folder: `$QLOOP_EMBEDDING_MODEL` when set, else
/// the default folder, running `models/fetch.sh` when it is missing.
pub fn embedding_model_dir() -> Result<PathBuf, ModelError> {
    if let Some(dir) = std::env::var_os(MODEL_ENV) {
        let dir = PathBuf::from(dir);
        return if dir.join("model.safetensors").is_file() {
            Ok(dir)
        } else {
            Err(ModelError::Missing(format!(
                "{MODEL_ENV}={} has no model.safetensors",
                dir.display()
            )))
        };
    }
    let dir = default_model_dir();
    if dir.join("model.safetensors").is_file() {
        return Ok(dir);
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fetch.sh");
    if !script.is_file() {
        return Err(ModelError::Missing(format!(
            "{} is missing and there is no fetch script; set {MODEL_ENV}",
            dir.display()
        )));
    }
    tracing::info!(script = %script.display(), "fetching the embedding model");
    let status = std::process::Command::new("bash")
        .arg(&script)
        .status()
        .map_err(|e| ModelError::Missing(format!("running {}: {e}", script.display())))?;
    if status.success() && dir.join("model.safetensors").is_file() {
        Ok(dir)
    } else {
        Err(ModelError::Missing(format!(
            "{} failed ({status}); set {MODEL_ENV} to a model folder",
            script.display()
        )))
    }
}
