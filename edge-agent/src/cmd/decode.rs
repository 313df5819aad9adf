//! `edge-agent decode --dbc DBC --candump LOG`: decodes a candump log with a
//! DBC and prints one JSON line per log line:
//!
//! - a decoded frame: `{"t": 1.5, "id": 291, "message": "Name", "signals": {"S": 1.0}}`
//! - an id the DBC lacks: `{"t": 1.5, "id": 291, "message": null, "signals": {}}`
//! - a frame that does not decode: `{"t": 1.5, "id": 291, "error": "Wrong data size: …"}`
//! - a line that is not a frame: `{"line": 7, "error": "frame column: …"}`
//!
//! Blank lines print nothing. The log is streamed: memory does not grow with
//! its length. A non-finite float signal prints as `null`.

use std::fs::File;
use std::io::{BufReader, Write};
use std::path::Path;

use anyhow::Context as _;
use serde_json::{json, Map, Value};

use crate::telemetry::candump::CandumpReader;
use crate::telemetry::dbc::{Database, FrameDecode};

/// What a decode run saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeStats {
    /// Frames read.
    pub frames: u64,
    /// Frames that decoded.
    pub decoded: u64,
    /// Frames whose id the DBC lacks.
    pub unknown: u64,
    /// Frames with a known id that did not decode.
    pub decode_errors: u64,
    /// Lines that were not candump frames.
    pub bad_lines: u64,
}

/// Decodes `candump` with `dbc`, writing JSON lines to `out`.
pub fn run(dbc: &Path, candump: &Path, out: &mut impl Write) -> anyhow::Result<DecodeStats> {
    let db = Database::load(dbc).with_context(|| format!("loading DBC {}", dbc.display()))?;
    let file = File::open(candump)
        .with_context(|| format!("opening candump log {}", candump.display()))?;
    let mut stats = DecodeStats::default();
    for (line, frame) in CandumpReader::new(BufReader::new(file)) {
        let record = match frame {
            Err(error) => {
                if matches!(error, crate::telemetry::candump::CandumpError::Io(_)) {
                    return Err(error)
                        .with_context(|| format!("reading {} at line {line}", candump.display()));
                }
                stats.bad_lines += 1;
                json!({ "line": line, "error": error.to_string() })
            }
            Ok(frame) => {
                stats.frames += 1;
                match db.decode(&frame) {
                    FrameDecode::Unknown => {
                        stats.unknown += 1;
                        json!({ "t": frame.t, "id": frame.id, "message": null, "signals": {} })
                    }
                    FrameDecode::Error(error) => {
                        stats.decode_errors += 1;
                        json!({ "t": frame.t, "id": frame.id, "error": error })
                    }
                    FrameDecode::Decoded { message, signals } => {
                        stats.decoded += 1;
                        let signals: Map<String, Value> = signals
                            .into_iter()
                            .map(|(name, value)| (name, json!(value)))
                            .collect();
                        json!({ "t": frame.t, "id": frame.id, "message": message, "signals": signals })
                    }
                }
            }
        };
        serde_json::to_writer(&mut *out, &record).context("writing decode output")?;
        out.write_all(b"\n").context("writing decode output")?;
    }
    out.flush().context("writing decode output")?;
    Ok(stats)
}
