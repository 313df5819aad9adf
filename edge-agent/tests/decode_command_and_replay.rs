//! The `decode` command's JSON lines, and replaying the Model 3 log into a
//! snapshot that names signals by VSS path and passes protocol validation.

use std::path::{Path, PathBuf};

use edge_agent::cmd::decode::{run, DecodeStats};
use edge_agent::telemetry::dbc::Database;
use edge_agent::telemetry::replay::{replay_candump, ReplayOptions, ReplayTrigger};
use edge_agent::telemetry::vss::SignalMapping;
use serde_json::Value;

fn shared_can() -> PathBuf {
    qloop_protocol::shared_data().join("can")
}

fn mapping_file() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/vss/model3-vss4.0.toml")
}

#[test]
fn decode_prints_one_json_line_per_frame_with_unknown_and_error_forms() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("mixed.log");
    std::fs::write(
        &log,
        "(1672772583.671248) can0 260#0000000000FFEC55\n\
         (1672772583.674175) can0 3B3#0B3828\n\
         (1672772583.674381) can0 4C1#0100040900000000\n\
         not a frame\n",
    )
    .unwrap();
    let dbc = shared_can().join("real-captures/yaris09/toyota_iQ_2009_can.dbc");
    let mut out = Vec::new();
    let stats = run(&dbc, &log, &mut out).unwrap();
    assert_eq!(
        stats,
        DecodeStats {
            frames: 3,
            decoded: 1,
            unknown: 1,
            decode_errors: 1,
            bad_lines: 1
        }
    );
    let lines: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(lines[0]["message"], "NEW_MSG_6");
    assert_eq!(lines[0]["id"], 0x260);
    assert_eq!(lines[0]["t"].as_f64().unwrap(), 1672772583.671248);
    assert_eq!(
        lines[0]["signals"]["VERY_SMALL_SIGNAL2"], 1.0,
        "as cantools decodes this line"
    );
    assert_eq!(lines[1]["error"], "Wrong data size: 3 instead of 8 bytes");
    assert_eq!(lines[2]["message"], Value::Null);
    assert_eq!(lines[2]["signals"], serde_json::json!({}));
    assert_eq!(lines[3]["line"], 4);
    assert!(lines[3]["error"]
        .as_str()
        .unwrap()
        .starts_with("timestamp column"));
}

#[test]
fn decode_of_a_missing_dbc_says_which_file() {
    let err = run(
        Path::new("/nonexistent.dbc"),
        Path::new("/nonexistent.log"),
        &mut Vec::new(),
    )
    .unwrap_err();
    assert!(format!("{err:#}").contains("/nonexistent.dbc"));
}

#[test]
fn model3_mapping_names_real_dbc_signals_and_resolves_labels() {
    let mapping = SignalMapping::load(&mapping_file()).unwrap();
    let db = Database::load(&shared_can().join("tesla-model3/Model3CAN.dbc")).unwrap();
    assert_eq!(mapping.entries().len(), 32);
    for entry in mapping.entries() {
        let known = db
            .messages()
            .iter()
            .any(|m| m.signals.iter().any(|s| s.name == entry.dbc_signal));
        assert!(known, "{} is a Model3CAN.dbc signal", entry.dbc_signal);
    }
    let speed: Vec<(&str, Option<&str>)> = mapping
        .lookup_all("DI_uiSpeed")
        .map(|e| (e.vss_path.as_str(), e.unit.as_deref()))
        .collect();
    assert_eq!(
        speed,
        vec![
            ("Vehicle.OBD.Speed", Some("km/h")),
            ("Vehicle.Speed", Some("km/h"))
        ]
    );
    assert_eq!(mapping.lookup_all("VCFRONT_brakeFluidLevel").count(), 4);
    let low = mapping.lookup("VCFRONT_brakeFluidLevel").unwrap();
    assert_eq!(
        (low.apply(1.0), low.apply(2.0), low.apply(0.0)),
        (Some(1.0), Some(0.0), None),
        "LOW=1, NORMAL=2, SNA unmapped"
    );
    let gear = mapping.lookup("DI_gear").unwrap();
    assert_eq!(
        (gear.apply(4.0), gear.apply(2.0)),
        (Some(1.0), Some(-1.0)),
        "D and R"
    );
    let angle = mapping.lookup("SteeringAngle129").unwrap();
    assert_eq!(
        (angle.apply(2.5), angle.apply(-2.6)),
        (Some(3.0), Some(-3.0)),
        "floor(x+0.5)"
    );
    assert!(mapping.lookup("NotASignal").is_none());
}

#[test]
fn mapping_errors_name_the_entry() {
    let err =
        SignalMapping::from_toml("[[signal]]\ndbc_signal = \"A\"\nvss_path = \"Vehicle..\"\n")
            .unwrap_err();
    assert!(
        err.to_string().starts_with("mapping entry 0 (Vehicle..)"),
        "{err}"
    );
    let err = SignalMapping::from_toml("[[signal]]\ndbc_signal = \"A\"\nvss_path = \"V.A\"\nmap = [{ from = 1, to = 1.0 }, { from = 1, to = 0.0 }]\n").unwrap_err();
    assert!(err.to_string().contains("map lists 1 twice"), "{err}");
    assert!(
        SignalMapping::from_toml("[[signal]]\ndbc_signal = \"A\"\nvss_paht = \"V.A\"\n").is_err(),
        "typos are refused"
    );
}

#[test]
fn replay_finds_low_brake_fluid_in_a_snapshot_that_passes_protocol_validation() {
    let db = Database::load(&shared_can().join("tesla-model3/Model3CAN.dbc")).unwrap();
    let mapping = SignalMapping::load(&mapping_file()).unwrap();
    let now_ms = 1_764_800_000_000;
    let options = ReplayOptions {
        last_frame_at_ms: Some(now_ms),
        trigger: ReplayTrigger::AfterLogStart(45_000),
        pre_ms: 15_000,
        post_ms: 5_000,
        max_samples_per_signal: 50,
        ..ReplayOptions::default()
    };
    let log = shared_can().join("tesla-model3/drive-brake-fluid-low.log");
    let outcome = replay_candump(&db, &log, Some(&mapping), &options).unwrap();
    let snap = &outcome.snapshot;
    assert_eq!(snap.window_end_ms - snap.window_start_ms, 20_000);
    assert_eq!(
        outcome.stats.decode_errors + outcome.stats.unknown + outcome.stats.bad_lines,
        0
    );
    assert!(
        outcome.stats.frames < 32_460,
        "frames after trigger + post are not read"
    );
    let fluid = snap
        .signals
        .iter()
        .find(|s| s.name == "Vehicle.Chassis.Axle.Row1.Wheel.Left.Brake.IsFluidLevelLow")
        .expect("mapped by VSS path");
    assert_eq!(
        fluid.samples.first().unwrap().value,
        0.0,
        "normal 15 s before the trigger (30 s in)"
    );
    assert_eq!(
        fluid.samples.last().unwrap().value,
        1.0,
        "low at the trigger (45 s in)"
    );
    let speed = snap
        .signals
        .iter()
        .find(|s| s.name == "Vehicle.Speed")
        .unwrap();
    assert_eq!(speed.unit.as_deref(), Some("km/h"));
    assert_eq!(speed.samples.len(), 50, "downsampled to the cap");
    for series in &snap.signals {
        assert!(series
            .samples
            .iter()
            .all(
                |s| (snap.window_start_ms..=snap.window_end_ms).contains(&s.t_ms)
                    && s.value.is_finite()
            ));
    }
    let mapped_first = snap
        .signals
        .iter()
        .position(|s| !s.name.starts_with("Vehicle."))
        .unwrap_or(snap.signals.len());
    assert!(
        snap.signals[mapped_first..]
            .iter()
            .all(|s| !s.name.starts_with("Vehicle.")),
        "VSS paths come first"
    );
    check_with_protocol(snap.clone(), now_ms);
}

fn check_with_protocol(telemetry: qloop_protocol::TelemetrySnapshot, now_ms: i64) {
    use qloop_protocol::*;
    let envelope = FeedbackEnvelope {
        feedback_id: uuid::Uuid::now_v7(),
        vehicle: Vehicle {
            vin: "5YJ3E1EA7KF000001".into(),
            model: "Model 3".into(),
            year: 2019,
            software: vec![],
        },
        captured_at_ms: now_ms,
        trigger: TriggerKind::Cli,
        locale: "en-US".into(),
        utterance: None,
        audio: None,
        telemetry,
        consent: Consent {
            audio: false,
            location: false,
        },
        cut_short: None,
    };
    Limits::default().check_feedback(&envelope, now_ms).unwrap();
    let bytes = encode(&Message::Feedback(Box::new(envelope)));
    assert!(bytes.len() <= MAX_MESSAGE_BYTES, "{} bytes", bytes.len());
}
