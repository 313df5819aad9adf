//! The five fixture vehicles drive real edge-agent sends: each loads, its
//! replayed CAN log yields a telemetry snapshot, and a capture is published
//! to an embedded broker and acknowledged.

mod uplink_support;

use std::{path::Path, sync::Arc, time::Duration};

use edge_agent::{
    capture::{CaptureRequest, Capturer, ReplayTelemetry, TelemetrySource},
    outbox::Outbox,
    send_once, FixtureVehicle,
};
use qloop_protocol::{decode, Message};

fn repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn fixtures() -> Vec<FixtureVehicle> {
    FixtureVehicle::load_dir(&repo().join("fixtures/vehicles"), &repo()).unwrap()
}

#[test]
fn five_fixture_vehicles_load_with_ten_transcripts_each() {
    let vehicles = fixtures();
    assert_eq!(vehicles.len(), 5);
    for v in &vehicles {
        assert_eq!(v.transcripts.len(), 10, "{}", v.path.display());
        let t = &v.config.telemetry;
        assert!(t.dbc.as_ref().unwrap().is_file(), "{}", v.path.display());
        assert!(t.candump_replay.as_ref().unwrap().is_file());
    }
}

#[test]
fn each_fixture_capture_carries_a_snapshot_of_its_replayed_log() {
    for v in fixtures() {
        let dir = tempfile::tempdir().unwrap();
        let (outbox, _) = Outbox::open_shared(
            dir.path(),
            v.config.outbox.quota_bytes,
            v.config.outbox.quota_rule,
        )
        .unwrap();
        let replay = ReplayTelemetry::from_config(&v.config.telemetry)
            .unwrap()
            .unwrap();
        let telemetry: Arc<dyn TelemetrySource> = Arc::new(replay);
        let capturer = Capturer::new(Arc::new(v.config.clone()), outbox.clone(), telemetry);
        let done = capturer
            .capture(CaptureRequest::transcript(v.transcripts[0].clone()))
            .unwrap();
        let bytes = outbox.lock().unwrap().read(done.entries[0]).unwrap();
        let Message::Feedback(env) = decode(&bytes).unwrap() else {
            panic!("first entry is the envelope");
        };
        assert_eq!(env.vehicle.vin, v.config.vehicle.vin);
        assert!(
            !env.telemetry.signals.is_empty(),
            "{}: no signals",
            v.path.display()
        );
        assert!(env.telemetry.window_start_ms <= env.captured_at_ms);
        assert_eq!(env.telemetry.dtcs.len(), v.config.vehicle.dtcs.len());
    }
}

#[test]
fn the_brake_fluid_fixture_snapshot_names_vss_paths() {
    let v = FixtureVehicle::load(
        &repo().join("fixtures/vehicles/model3-brake-fluid.toml"),
        &repo(),
    )
    .unwrap();
    let replay = ReplayTelemetry::from_config(&v.config.telemetry)
        .unwrap()
        .unwrap();
    let snapshot = replay.snapshot(edge_agent::capture::now_ms()).unwrap();
    assert!(
        snapshot
            .signals
            .iter()
            .any(|s| s.name.starts_with("Vehicle.")),
        "{:?}",
        snapshot.signals.iter().map(|s| &s.name).collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn every_fixture_vehicle_sends_and_is_acknowledged_by_an_embedded_broker() {
    let port = uplink_support::free_port();
    uplink_support::start_rumqttd(port);
    for v in fixtures() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = uplink_support::config(port, dir.path());
        config.vehicle = v.config.vehicle.clone();
        config.telemetry = v.config.telemetry.clone();
        config.broker.client_id = String::new();
        let request = CaptureRequest::transcript(v.transcripts[1].clone());
        let report = send_once(&config, request, Duration::from_secs(15))
            .await
            .unwrap();
        assert_eq!(report.feedback_ids.len(), 1);
        assert!(report.acknowledged as usize >= report.entries_committed);
    }
}

/// Runs the `edge-agent replay` binary; returns its exit status, stdout, stderr.
fn replay_binary(args: &[&std::ffi::OsStr]) -> (std::process::ExitStatus, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .arg("replay")
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status, text(out.stdout), text(out.stderr))
}

#[test]
fn the_replay_command_sends_a_fixture_vehicle_and_reports_it_as_json() {
    let port = uplink_support::free_port();
    uplink_support::start_rumqttd(port);
    let dir = tempfile::tempdir().unwrap();
    let fixture = repo().join("fixtures/vehicles/model3-normal.toml");
    let url = format!("mqtt://127.0.0.1:{port}");
    let run = |outbox: &str, spoken: Option<std::path::PathBuf>| {
        let mut args: Vec<std::ffi::OsString> = vec![
            "--fixture".into(),
            fixture.clone().into(),
            "--repo-root".into(),
            repo().into(),
            "--broker".into(),
            url.clone().into(),
            "--outbox".into(),
            dir.path().join(outbox).into(),
        ];
        if let Some(clip) = spoken {
            args.extend(["--spoken".into(), clip.into()]);
        }
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let (status, stdout, stderr) = replay_binary(&args);
        assert!(status.success(), "{stderr}");
        serde_json::from_str::<edge_agent::cmd::replay::ReplayReport>(stdout.trim()).unwrap()
    };

    let vehicle = FixtureVehicle::load(&fixture, &repo()).unwrap();
    let report = run("typed", None);
    assert_eq!(report.vin, vehicle.config.vehicle.vin);
    assert_eq!(report.model, vehicle.config.vehicle.model);
    assert_eq!(report.feedback_ids.len(), vehicle.transcripts.len());
    let distinct: std::collections::BTreeSet<_> = report.feedback_ids.iter().collect();
    assert_eq!(distinct.len(), report.feedback_ids.len());
    assert!(report.acknowledged as usize >= report.feedback_ids.len());

    let spoken = run("spoken", Some(repo().join("speech/fixtures/noisy/11.wav")));
    assert_eq!(spoken.feedback_ids.len(), 1, "one clip, no transcripts");
    assert!(spoken.acknowledged >= 1);
}

#[test]
fn the_replay_command_names_a_missing_fixture_and_fails() {
    let missing = repo().join("fixtures/vehicles/no-such-car.toml");
    let (status, stdout, stderr) = replay_binary(&[
        "--fixture".as_ref(),
        missing.as_os_str(),
        "--broker".as_ref(),
        "mqtt://127.0.0.1:1".as_ref(),
    ]);
    assert!(!status.success());
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("no-such-car.toml"), "{stderr}");
}
