//! Unit tests of snapshot windows, downsampling, naming and the byte budget.

use super::*;

const T0: i64 = 1_700_000_000_000;

fn recorder(limits: RecorderLimits, mapping: Option<SignalMapping>) -> TelemetryRecorder {
    TelemetryRecorder::new(limits, mapping)
}

fn times(series: &SignalSeries) -> Vec<i64> {
    series.samples.iter().map(|s| s.t_ms).collect()
}

#[test]
fn window_holds_only_samples_between_trigger_minus_pre_and_plus_post() {
    let mut rec = recorder(RecorderLimits::default(), None);
    for i in 0..100 {
        rec.record_signal("speed", Some("km/h"), T0 + i * 100, i as f64);
    }
    let snap = rec.snapshot(T0 + 5_000, 1_000, 500, 1_000);
    assert_eq!(
        (snap.window_start_ms, snap.window_end_ms),
        (T0 + 4_000, T0 + 5_500)
    );
    assert_eq!(snap.signals.len(), 1);
    let got = times(&snap.signals[0]);
    assert_eq!(got.first(), Some(&(T0 + 4_000)));
    assert_eq!(got.last(), Some(&(T0 + 5_500)));
    assert_eq!(got.len(), 16);
    assert_eq!(snap.signals[0].unit.as_deref(), Some("km/h"));
}

#[test]
fn downsampling_spreads_evenly_and_keeps_both_ends() {
    let samples: Vec<Sample> = (0..101)
        .map(|i| Sample {
            t_ms: i,
            value: i as f64,
        })
        .collect();
    let picked = downsample(&samples, 5);
    let picked: Vec<i64> = picked.iter().map(|s| s.t_ms).collect();
    assert_eq!(picked, vec![0, 25, 50, 75, 100]);
    assert_eq!(
        downsample(&samples, 1)[0].t_ms,
        100,
        "a cap of one keeps the newest"
    );
    assert_eq!(downsample(&samples[..3], 10).len(), 3);
}

#[test]
fn snapshot_caps_samples_per_signal_and_reports_the_trim() {
    let mut rec = recorder(RecorderLimits::default(), None);
    for i in 0..500 {
        rec.record_signal("rpm", None, T0 + i * 10, 800.0);
    }
    let snap = rec.snapshot(T0 + 5_000, 10_000, 0, 50);
    assert_eq!(snap.signals[0].samples.len(), 50);
    assert_eq!(rec.last_trim().samples_downsampled, 450);
}

#[test]
fn signals_without_samples_in_the_window_are_left_out() {
    let mut rec = recorder(RecorderLimits::default(), None);
    rec.record_signal("old", None, T0, 1.0);
    rec.record_signal("new", None, T0 + 60_000, 1.0);
    let snap = rec.snapshot(T0 + 60_000, 1_000, 0, 10);
    let names: Vec<&str> = snap.signals.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["new"]);
}

#[test]
fn byte_budget_drops_whole_signals_past_the_limit() {
    let limits = RecorderLimits {
        max_snapshot_bytes: 2_000,
        ..RecorderLimits::default()
    };
    let mut rec = recorder(limits, None);
    for name in ["a", "b", "c", "d"] {
        for i in 0..50 {
            rec.record_signal(name, None, T0 + i, 1.0);
        }
    }
    // Each series costs 16 + 1 + 50 * 17 = 867 estimated bytes: two fit.
    let snap = rec.snapshot(T0 + 49, 100, 0, 50);
    let names: Vec<&str> = snap.signals.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, vec!["a", "b"]);
    assert_eq!(rec.last_trim().signals_dropped, 2);
}

#[test]
fn window_is_clamped_to_the_protocol_maximum() {
    let mut rec = recorder(RecorderLimits::default(), None);
    let snap = rec.snapshot(T0, 20 * 60_000, 5 * 60_000, 10);
    assert_eq!(snap.window_end_ms - snap.window_start_ms, MAX_WINDOW_MS);
    assert_eq!(snap.window_end_ms, T0, "pre takes the whole window first");
}

#[test]
fn mapped_signals_use_vss_paths_units_and_transforms_and_come_first() {
    let mapping = SignalMapping::from_toml(
        r#"
        [[signal]]
        dbc_signal = "DI_uiSpeed"
        vss_path = "Vehicle.Speed"
        unit = "km/h"
        [[signal]]
        dbc_signal = "DI_gear"
        vss_path = "Vehicle.Powertrain.Transmission.CurrentGear"
        map = [{ from = 4, to = 1.0 }, { from = 2, to = -1.0 }]
        "#,
    )
    .unwrap();
    let mut rec = recorder(RecorderLimits::default(), Some(mapping));
    rec.record_decoded(T0, "ID257DIspeed", "DI_uiSpeed", Some("kph"), 42.0);
    rec.record_decoded(T0, "ID118DriveSystemStatus", "DI_gear", None, 4.0);
    rec.record_decoded(T0 + 1, "ID118DriveSystemStatus", "DI_gear", None, 7.0);
    rec.record_decoded(T0, "ID118DriveSystemStatus", "DI_other", Some("x"), 3.0);
    let snap = rec.snapshot(T0, 1_000, 1_000, 10);
    let names: Vec<&str> = snap.signals.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "Vehicle.Powertrain.Transmission.CurrentGear",
            "Vehicle.Speed",
            "ID118DriveSystemStatus.DI_other"
        ]
    );
    let gear = &snap.signals[0];
    assert_eq!(
        gear.samples,
        vec![Sample {
            t_ms: T0,
            value: 1.0
        }],
        "7 is not in the map"
    );
    assert_eq!(snap.signals[1].unit.as_deref(), Some("km/h"));
    assert_eq!(snap.signals[2].unit.as_deref(), Some("x"));
}
