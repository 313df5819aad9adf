//! Fixture vehicles: `fixtures/vehicles/*.toml` hold `[vehicle]` and
//! `[telemetry]` sections like a config file, plus a top-level
//! `transcripts = [...]` list of things the driver says. Paths inside are
//! relative to the repository root, which the loader is given.

use std::path::{Path, PathBuf};

use toml::Value;

use super::{
    load::{from_table, merge, parse_table, ConfigError},
    Config, DEFAULT_CONFIG_TOML,
};

/// A vehicle from the fixtures, ready to drive an edge agent in tests/demos.
#[derive(Debug, Clone)]
pub struct FixtureVehicle {
    /// The agent configuration (embedded default overlaid by the fixture).
    pub config: Config,
    /// What the driver says, one capture each.
    pub transcripts: Vec<String>,
    /// The fixture file.
    pub path: PathBuf,
}

impl FixtureVehicle {
    /// Loads a fixture file; relative telemetry paths are resolved against
    /// `repo_root`, except that paths under `../shared/data` follow
    /// `$QLOOP_SHARED_DATA` when it is set. Other environment variables
    /// (the agent's `QLOOP_*` overrides) are not applied.
    pub fn load(path: &Path, repo_root: &Path) -> Result<Self, ConfigError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut fixture = parse_table(&origin, &text)?;
        let transcripts = match fixture.remove("transcripts") {
            Some(Value::Array(items)) => items
                .into_iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s),
                    other => Err(ConfigError::Parse {
                        origin: origin.clone(),
                        message: format!("transcripts: expected strings, found {other}"),
                    }),
                })
                .collect::<Result<Vec<_>, _>>()?,
            None => Vec::new(),
            Some(other) => {
                return Err(ConfigError::Parse {
                    origin,
                    message: format!("transcripts: expected an array, found {other}"),
                })
            }
        };
        let mut merged = parse_table("embedded default", DEFAULT_CONFIG_TOML)?;
        merge(&mut merged, fixture);
        let mut config = from_table(merged)?;
        let t = &mut config.telemetry;
        for p in [&mut t.dbc, &mut t.mapping, &mut t.candump_replay]
            .into_iter()
            .flatten()
        {
            let moved = std::env::var_os(qloop_protocol::SHARED_DATA_ENV);
            if let (Some(shared), Ok(rest)) = (moved, p.strip_prefix("../shared/data")) {
                // The shared data lives elsewhere than beside the repository.
                *p = std::path::PathBuf::from(shared).join(rest);
            } else if p.is_relative() {
                *p = repo_root.join(&*p);
            }
        }
        config.validate()?;
        Ok(Self {
            config,
            transcripts,
            path: path.to_path_buf(),
        })
    }

    /// Loads every `*.toml` in `dir`, sorted by file name.
    pub fn load_dir(dir: &Path, repo_root: &Path) -> Result<Vec<Self>, ConfigError> {
        let read_err = |source| ConfigError::Read {
            path: dir.to_path_buf(),
            source,
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(read_err)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        paths.iter().map(|p| Self::load(p, repo_root)).collect()
    }
}
