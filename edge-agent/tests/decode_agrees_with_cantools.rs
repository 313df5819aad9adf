//! Every line of every real capture decodes as cantools 45.1.0 decoded it:
//! the same frames unknown, the same frames in error, the same signals with
//! values equal to 1e-6 relative.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use edge_agent::telemetry::candump::CandumpReader;
use edge_agent::telemetry::dbc::{Database, FrameDecode};
use serde_json::Value;

fn captures() -> PathBuf {
    qloop_protocol::shared_data().join("can/real-captures")
}

fn close(expected: f64, actual: f64) -> bool {
    expected == actual || (expected - actual).abs() <= 1e-6 * expected.abs().max(actual.abs())
}

/// Compares one capture; returns the (decoded, errors, unknown) counts.
fn compare(dbc: &str, log: &str, decodes: &str) -> (usize, usize, usize) {
    let db = Database::load(&captures().join(dbc)).expect("capture DBC loads");
    let frames = CandumpReader::new(BufReader::new(File::open(captures().join(log)).unwrap()));
    let expected =
        BufReader::new(File::open(captures().join("cantools-decodes").join(decodes)).unwrap());
    let mut counts = (0, 0, 0);
    let mut lines = 0;
    for ((line_no, frame), reference) in frames.zip(expected.lines()) {
        let reference: Value = serde_json::from_str(&reference.unwrap()).unwrap();
        let frame = frame.unwrap_or_else(|e| panic!("{log}:{line_no}: {e}"));
        assert_eq!(
            frame.to_candump_line(),
            reference["line"].as_str().unwrap(),
            "{log}:{line_no}"
        );
        assert_eq!(u64::from(frame.id), reference["id"].as_u64().unwrap());
        let context = format!("{log}:{line_no} {}", reference["line"]);
        match (db.decode(&frame), &reference["message"]) {
            (FrameDecode::Unknown, Value::Null) => counts.2 += 1,
            (FrameDecode::Error(error), Value::String(_)) => {
                let theirs = reference["error"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{context}: we err with {error}, cantools decodes"));
                assert!(theirs.ends_with(&error), "{context}: {theirs} vs {error}");
                counts.1 += 1;
            }
            (FrameDecode::Decoded { message, signals }, Value::String(name)) => {
                assert_eq!(&message, name, "{context}");
                assert!(reference.get("error").is_none(), "{context}: cantools errs");
                let theirs = reference["signals"].as_object().unwrap();
                assert_eq!(signals.len(), theirs.len(), "{context}: signal count");
                for (signal, value) in &signals {
                    let expected = theirs[signal.as_str()]
                        .as_f64()
                        .unwrap_or_else(|| panic!("{context}: {signal} missing"));
                    assert!(
                        close(expected, *value),
                        "{context}: {signal} = {value}, cantools {expected}"
                    );
                }
                counts.0 += 1;
            }
            (ours, theirs) => panic!("{context}: we got {ours:?}, cantools {theirs}"),
        }
        lines += 1;
    }
    let reference_lines =
        BufReader::new(File::open(captures().join("cantools-decodes").join(decodes)).unwrap())
            .lines()
            .count();
    assert_eq!(
        lines, reference_lines,
        "{log}: every reference line compared"
    );
    counts
}

#[test]
fn every_capture_line_decodes_as_cantools_decoded_it() {
    let summary: Value = serde_json::from_reader(
        File::open(captures().join("cantools-decodes/SUMMARY.json")).unwrap(),
    )
    .unwrap();
    let runs = summary["log_decodes"].as_array().unwrap();
    assert_eq!(runs.len(), 5);
    for run in runs {
        let (decoded, errors, unknown) = compare(
            run["dbc"].as_str().unwrap(),
            run["log"].as_str().unwrap(),
            run["out"].as_str().unwrap(),
        );
        assert_eq!(decoded as u64, run["decoded"].as_u64().unwrap(), "{run}");
        assert_eq!(
            errors as u64,
            run["decode_errors"].as_u64().unwrap(),
            "{run}"
        );
        assert_eq!(unknown as u64, run["unknown_id"].as_u64().unwrap(), "{run}");
    }
}
