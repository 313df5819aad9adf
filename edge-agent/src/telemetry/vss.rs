//! Mapping DBC signals to COVESA VSS paths, so a snapshot names its signals
//! the way the rest of the fleet does (`Vehicle.Speed`, not `DI_uiSpeed`).
//!
//! # File format (TOML)
//!
//! ```toml
//! source = "where the mapping comes from"   # optional, free text
//!
//! [[signal]]
//! dbc_signal = "DI_uiSpeed"          # DBC signal name (any message)
//! vss_path = "Vehicle.Speed"         # VSS path, letters/digits/_ and dots
//! unit = "km/h"                      # optional VSS unit
//!
//! [[signal]]
//! dbc_signal = "SteeringAngle129"
//! vss_path = "Vehicle.Chassis.SteeringWheel.Angle"
//! transform = { factor = 1.0, offset = 0.5, abs = false, floor = true }
//!
//! [[signal]]
//! dbc_signal = "DI_gear"
//! vss_path = "Vehicle.Powertrain.Transmission.CurrentGear"
//! map = [{ from = 4, to = 1.0 }, { from = 1, to = 0.0 }]
//! ```
//!
//! - `transform`: VSS value = floor?(factor × abs?(x) + offset), x the DBC
//!   physical value; every key optional (factor 1, offset 0, no abs, no floor).
//! - `map`: DBC value → VSS value; `from` is compared with the decoded value
//!   rounded to an integer (for enumerations the DBC value is the raw value
//!   its `VAL_` table names). A value the map lacks has no VSS value and is
//!   not recorded, as in Kuksa's dbc2vss. Booleans are 1/0.
//! - One DBC signal may feed several VSS paths; `transform` and `map` do not
//!   mix in one entry.
//!
//! `fixtures/vss/model3-vss4.0.toml` is generated from Kuksa's VSS 4.0
//! overlay by `fixtures/vss/generate_model3_mapping.py`. Signals without a
//! mapping keep their DBC names.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Largest mapping file accepted, bytes.
pub const MAX_MAPPING_BYTES: u64 = 1024 * 1024;
/// Most entries in one mapping.
pub const MAX_ENTRIES: usize = 4096;
/// Longest VSS path (the protocol's short-string limit).
pub const MAX_PATH_BYTES: usize = 128;

/// Why a mapping file was refused; names the entry and key at fault.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// The file could not be read.
    #[error("reading mapping {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is larger than [`MAX_MAPPING_BYTES`].
    #[error("mapping file is {0} bytes, more than {MAX_MAPPING_BYTES}")]
    TooLarge(u64),
    /// The TOML does not match the format.
    #[error("mapping syntax: {0}")]
    Syntax(#[from] toml::de::Error),
    /// An entry breaks a rule.
    #[error("mapping entry {index} ({vss_path}): {problem}")]
    Entry {
        /// 0-based entry index.
        index: usize,
        /// The entry's VSS path as written.
        vss_path: String,
        /// What is wrong.
        problem: String,
    },
    /// More entries than [`MAX_ENTRIES`].
    #[error("mapping has {0} entries, more than {MAX_ENTRIES}")]
    TooManyEntries(usize),
}

/// A linear transform with optional absolute value and floor.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearTransform {
    /// Multiplier applied to the DBC value.
    #[serde(default = "one")]
    pub factor: f64,
    /// Added after the multiplication.
    #[serde(default)]
    pub offset: f64,
    /// Take the absolute value of the DBC value first.
    #[serde(default)]
    pub abs: bool,
    /// Round the result down.
    #[serde(default)]
    pub floor: bool,
}

fn one() -> f64 {
    1.0
}

/// One DBC raw value and the VSS value it stands for.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueMapEntry {
    /// DBC value (an enumeration's raw value).
    pub from: i64,
    /// VSS value.
    pub to: f64,
}

/// How one DBC signal becomes one VSS signal.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappedSignal {
    /// DBC signal name.
    pub dbc_signal: String,
    /// VSS path.
    pub vss_path: String,
    /// VSS unit, if any.
    #[serde(default)]
    pub unit: Option<String>,
    /// Linear transform of the physical value.
    #[serde(default)]
    pub transform: Option<LinearTransform>,
    /// Value table from raw DBC values.
    #[serde(default)]
    pub map: Vec<ValueMapEntry>,
}

impl MappedSignal {
    /// The VSS value for a DBC physical value (`None` if the map lacks it).
    pub fn apply(&self, value: f64) -> Option<f64> {
        if !self.map.is_empty() {
            let raw = value.round();
            return self
                .map
                .iter()
                .find(|entry| entry.from as f64 == raw)
                .map(|entry| entry.to);
        }
        let Some(t) = &self.transform else {
            return Some(value);
        };
        let x = if t.abs { value.abs() } else { value };
        let y = t.factor * x + t.offset;
        Some(if t.floor { y.floor() } else { y })
    }

    fn check(&self) -> Result<(), String> {
        let name_ok = |s: &str| {
            !s.is_empty()
                && s.len() <= MAX_PATH_BYTES
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
        };
        if !name_ok(&self.dbc_signal) {
            return Err(format!(
                "dbc_signal {:?} is not a signal name",
                self.dbc_signal
            ));
        }
        if !name_ok(&self.vss_path)
            || self.vss_path.starts_with('.')
            || self.vss_path.ends_with('.')
        {
            return Err("vss_path must be dot-separated names of at most 128 bytes".into());
        }
        if self.unit.as_ref().is_some_and(|u| u.len() > MAX_PATH_BYTES) {
            return Err("unit is longer than 128 bytes".into());
        }
        if self.transform.is_some() && !self.map.is_empty() {
            return Err("transform and map cannot both be given".into());
        }
        if let Some(t) = &self.transform {
            if !t.factor.is_finite() || !t.offset.is_finite() {
                return Err("transform factor and offset must be finite".into());
            }
        }
        for (i, entry) in self.map.iter().enumerate() {
            if !entry.to.is_finite() {
                return Err(format!("map value for {} is not finite", entry.from));
            }
            if self.map[..i].iter().any(|e| e.from == entry.from) {
                return Err(format!("map lists {} twice", entry.from));
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    signal: Vec<MappedSignal>,
}

/// A loaded, checked DBC-to-VSS mapping.
#[derive(Debug, Clone, Default)]
pub struct SignalMapping {
    source: Option<String>,
    entries: Vec<MappedSignal>,
    by_signal: HashMap<String, Vec<usize>>,
}

impl SignalMapping {
    /// Loads and checks a mapping file.
    pub fn load(path: &Path) -> Result<SignalMapping, MappingError> {
        let read_err = |source| MappingError::Read {
            path: path.to_path_buf(),
            source,
        };
        let len = std::fs::metadata(path).map_err(read_err)?.len();
        if len > MAX_MAPPING_BYTES {
            return Err(MappingError::TooLarge(len));
        }
        Self::from_toml(&std::fs::read_to_string(path).map_err(read_err)?)
    }

    /// Parses and checks mapping TOML.
    pub fn from_toml(text: &str) -> Result<SignalMapping, MappingError> {
        let file: MappingFile = toml::from_str(text)?;
        if file.signal.len() > MAX_ENTRIES {
            return Err(MappingError::TooManyEntries(file.signal.len()));
        }
        let mut by_signal: HashMap<String, Vec<usize>> = HashMap::new();
        for (index, entry) in file.signal.iter().enumerate() {
            let fail = |problem| MappingError::Entry {
                index,
                vss_path: entry.vss_path.chars().take(MAX_PATH_BYTES).collect(),
                problem,
            };
            entry.check().map_err(fail)?;
            let slot = by_signal.entry(entry.dbc_signal.clone()).or_default();
            if slot
                .iter()
                .any(|i| file.signal[*i].vss_path == entry.vss_path)
            {
                return Err(fail(format!(
                    "maps {} to this path twice",
                    entry.dbc_signal
                )));
            }
            slot.push(index);
        }
        Ok(SignalMapping {
            source: file.source,
            entries: file.signal,
            by_signal,
        })
    }

    /// The first mapping of a DBC signal.
    pub fn lookup(&self, dbc_signal: &str) -> Option<&MappedSignal> {
        self.lookup_all(dbc_signal).next()
    }

    /// Every VSS signal a DBC signal feeds, in file order.
    pub fn lookup_all<'a>(
        &'a self,
        dbc_signal: &str,
    ) -> impl Iterator<Item = &'a MappedSignal> + 'a {
        self.by_signal
            .get(dbc_signal)
            .map(|v| v.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|i| &self.entries[*i])
    }

    /// All entries, in file order.
    pub fn entries(&self) -> &[MappedSignal] {
        &self.entries
    }

    /// The file's `source` note.
    pub fn source(&self) -> Option<&str> {
        self.source.as_deref()
    }
}
