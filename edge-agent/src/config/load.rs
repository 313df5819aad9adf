//! Layering: the embedded default, then an optional file, then the
//! environment (`QLOOP_EDGE__SECTION__KEY=value`), then validation.
//!
//! Layers are merged as TOML tables key by key, so a file or a variable only
//! changes what it names. The merged document is parsed once, so a type error
//! names the key it is in, wherever the value came from.

use std::path::{Path, PathBuf};

use thiserror::Error;
use toml::{Table, Value};

use super::Config;

/// The documented default configuration, embedded in the binary.
pub const DEFAULT_CONFIG_TOML: &str = include_str!("../../default-config.toml");

/// Prefix of environment overrides: `QLOOP_EDGE__BROKER__URL` sets `broker.url`.
pub const ENV_PREFIX: &str = "QLOOP_EDGE__";

/// Why a configuration could not be loaded.
#[derive(Debug, Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A layer is not valid TOML or does not fit the schema.
    #[error("config {origin}: {message}")]
    Parse {
        /// Which layer (file path, "environment", "merged").
        origin: String,
        /// The parser's message, naming the key.
        message: String,
    },
    /// An environment variable names no valid key.
    #[error("environment variable {var}: {reason}")]
    Env {
        /// The variable.
        var: String,
        /// What is wrong.
        reason: String,
    },
    /// A value parsed but is not acceptable.
    #[error("config key `{key}`: {reason}")]
    Invalid {
        /// Dotted key, e.g. `broker.url`.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl Config {
    /// Loads default → `file` → process environment, and validates.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let text = match file {
            Some(path) => Some((
                path.display().to_string(),
                std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_path_buf(),
                    source,
                })?,
            )),
            None => None,
        };
        let layers: Vec<(String, String)> = text.into_iter().collect();
        Self::from_layers(&layers, std::env::vars())
    }

    /// The embedded default alone (no file, no environment), validated.
    pub fn embedded_default() -> Result<Self, ConfigError> {
        Self::from_layers(&[], std::iter::empty())
    }

    /// Loads the default, then each `(origin, toml_text)` layer in order, then
    /// the `QLOOP_EDGE__*` variables among `env`, and validates.
    pub fn from_layers(
        layers: &[(String, String)],
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut merged = parse_table("embedded default", DEFAULT_CONFIG_TOML)?;
        for (origin, text) in layers {
            merge(&mut merged, parse_table(origin, text)?);
        }
        apply_env(&mut merged, env)?;
        let config = from_table(merged)?;
        config.validate()?;
        Ok(config)
    }
}

/// Parses a TOML document into a table, naming its origin on error.
pub(crate) fn parse_table(origin: &str, text: &str) -> Result<Table, ConfigError> {
    text.parse::<Table>().map_err(|e| ConfigError::Parse {
        origin: origin.to_string(),
        message: e.to_string(),
    })
}

/// Parses a merged table into the typed config (errors name the key).
pub(crate) fn from_table(table: Table) -> Result<Config, ConfigError> {
    // Round-trip through text so the parser reports the key path of errors.
    let text = toml::to_string(&table).map_err(|e| ConfigError::Parse {
        origin: "merged".into(),
        message: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        origin: "merged".into(),
        message: e.to_string(),
    })
}

/// Lays `top` over `base`: tables merge key by key, everything else replaces.
pub(crate) fn merge(base: &mut Table, top: Table) {
    for (key, value) in top {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(b)), Value::Table(t)) => merge(b, t),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

fn apply_env(
    table: &mut Table,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    for (var, raw) in env {
        let Some(path) = var.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let keys: Vec<String> = path.split("__").map(|k| k.to_ascii_lowercase()).collect();
        if keys.len() < 2 || keys.iter().any(String::is_empty) {
            return Err(ConfigError::Env {
                var,
                reason: "expected QLOOP_EDGE__SECTION__KEY".into(),
            });
        }
        let mut node = &mut *table;
        for key in &keys[..keys.len() - 1] {
            node = match node.get_mut(key) {
                Some(Value::Table(t)) => t,
                _ => {
                    return Err(ConfigError::Env {
                        var,
                        reason: format!("`{key}` is not a config section"),
                    })
                }
            };
        }
        node.insert(keys[keys.len() - 1].clone(), env_value(&raw));
    }
    Ok(())
}

/// Reads a variable as a TOML value when it is one, else as a string.
fn env_value(raw: &str) -> Value {
    format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn embedded_default_is_valid() {
        let config = Config::embedded_default().unwrap();
        assert_eq!(config.broker.url, "mqtt://127.0.0.1:1883");
        assert_eq!(
            config.broker.effective_client_id(&config.vehicle.vin),
            "qloop-edge-5YJ3E1EA7KF317000"
        );
    }

    #[test]
    fn file_changes_only_the_keys_it_names_and_env_wins_over_file() {
        let file = "[broker]\nurl = \"mqtt://10.0.0.1:1884\"\nkeepalive_s = 60\n";
        let config = Config::from_layers(
            &[("f.toml".into(), file.into())],
            env(&[
                ("QLOOP_EDGE__BROKER__KEEPALIVE_S", "90"),
                ("QLOOP_EDGE__AUDIO__ALLOWED_RATES", "[16000]"),
                ("UNRELATED", "x"),
            ]),
        )
        .unwrap();
        assert_eq!(config.broker.url, "mqtt://10.0.0.1:1884");
        assert_eq!(config.broker.keepalive_s, 90);
        assert_eq!(config.audio.allowed_rates, vec![16000]);
        assert_eq!(config.vehicle.model, "Model 3", "untouched default");
    }

    #[test]
    fn type_errors_and_unknown_keys_name_the_key() {
        let err = Config::from_layers(&[], env(&[("QLOOP_EDGE__BROKER__KEEPALIVE_S", "soon")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("keepalive_s"), "{err}");
        let err = Config::from_layers(&[("f".into(), "[broker]\nurll = \"x\"\n".into())], [])
            .unwrap_err()
            .to_string();
        assert!(err.contains("urll"), "{err}");
    }

    #[test]
    fn env_variable_for_a_missing_section_is_refused() {
        let err = Config::from_layers(&[], env(&[("QLOOP_EDGE__NOPE__X", "1")])).unwrap_err();
        assert!(matches!(err, ConfigError::Env { .. }), "{err}");
    }
}
