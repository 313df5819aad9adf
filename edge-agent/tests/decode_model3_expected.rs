//! The Tesla Model 3 drive logs decode to cantools' values for every frame
//! (the signals of interest in `*.expected.jsonl`), including the heavily
//! multiplexed Model3CAN.dbc.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;

use edge_agent::telemetry::candump::CandumpReader;
use edge_agent::telemetry::dbc::{Database, FrameDecode};
use serde_json::Value;

fn model3() -> PathBuf {
    qloop_protocol::shared_data().join("can/tesla-model3")
}

fn check_log(db: &Database, log: &str) -> usize {
    let frames = CandumpReader::new(BufReader::new(
        File::open(model3().join(format!("{log}.log"))).unwrap(),
    ));
    let expected =
        BufReader::new(File::open(model3().join(format!("{log}.expected.jsonl"))).unwrap());
    let mut compared = 0;
    for ((line, frame), reference) in frames.zip(expected.lines()) {
        let frame = frame.unwrap_or_else(|e| panic!("{log}:{line}: {e}"));
        let reference: Value = serde_json::from_str(&reference.unwrap()).unwrap();
        assert_eq!(
            u64::from(frame.id),
            reference["id"].as_u64().unwrap(),
            "{log}:{line}"
        );
        assert!(
            (frame.t - reference["ts"].as_f64().unwrap()).abs() < 1e-6,
            "{log}:{line}"
        );
        let FrameDecode::Decoded { message, signals } = db.decode(&frame) else {
            panic!("{log}:{line}: does not decode");
        };
        assert_eq!(
            message,
            reference["message"].as_str().unwrap(),
            "{log}:{line}"
        );
        for (name, expected) in reference["signals"].as_object().unwrap() {
            let expected = expected.as_f64().unwrap();
            let actual = signals
                .iter()
                .find(|(n, _)| n == name)
                .unwrap_or_else(|| panic!("{log}:{line}: {name} missing"))
                .1;
            assert!(
                (expected - actual).abs() <= 1e-6 * expected.abs().max(actual.abs()),
                "{log}:{line}: {name} = {actual}, cantools {expected}"
            );
        }
        compared += 1;
    }
    compared
}

#[test]
fn model3_drive_logs_decode_to_cantools_values_on_every_frame() {
    let db = Database::load(&model3().join("Model3CAN.dbc")).unwrap();
    assert_eq!(check_log(&db, "drive-normal"), 32_460);
    assert_eq!(check_log(&db, "drive-brake-fluid-low"), 32_460);
}

#[test]
fn brake_fluid_level_reads_low_only_after_36_seconds() {
    let db = Database::load(&model3().join("Model3CAN.dbc")).unwrap();
    let log = File::open(model3().join("drive-brake-fluid-low.log")).unwrap();
    let mut start = None;
    let mut first_low = None;
    for (_, frame) in CandumpReader::new(BufReader::new(log)) {
        let frame = frame.unwrap();
        let t0 = *start.get_or_insert(frame.t);
        if let FrameDecode::Decoded { signals, .. } = db.decode(&frame) {
            let level = signals.iter().find(|(n, _)| n == "VCFRONT_brakeFluidLevel");
            if level.is_some_and(|(_, v)| *v == 1.0) && first_low.is_none() {
                first_low = Some(frame.t - t0);
            }
        }
    }
    assert_eq!(
        db.choice_label("ID321VCFRONT_sensors", "VCFRONT_brakeFluidLevel", 1),
        Some("LOW")
    );
    let first_low = first_low.expect("the fluid goes low");
    assert!(
        (36.0..37.5).contains(&first_low),
        "first LOW at {first_low} s"
    );
}
