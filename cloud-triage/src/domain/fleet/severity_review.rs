//! Severity over every report of a case together: all transcripts, trouble
//! codes and active signals. Triage judges one report with the same
//! evidence ([`telemetry_evidence`]), so a signal is "active" by one test.

use std::collections::BTreeSet;

use qloop_models::severity::{self, Severity, TelemetryEvidence};
use qloop_protocol::{SignalSeries, TelemetrySnapshot};

/// Whether a signal was active in the window: any non-zero sample.
pub fn is_active(series: &SignalSeries) -> bool {
    series.samples.iter().any(|x| x.value != 0.0)
}

/// The telemetry evidence of one report: its trouble codes and the names
/// of its active signals, in the snapshot's order.
pub fn telemetry_evidence(telemetry: &TelemetrySnapshot) -> TelemetryEvidence<'_> {
    TelemetryEvidence {
        dtcs: telemetry.dtcs.iter().map(|d| d.code.as_str()).collect(),
        active_signals: telemetry
            .signals
            .iter()
            .filter(|s| is_active(s))
            .map(|s| s.name.as_str())
            .collect(),
    }
}

/// One report's words and telemetry.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReportEvidence {
    /// Its transcript, when it has one.
    pub transcript: Option<String>,
    /// Its telemetry snapshot.
    pub telemetry: TelemetrySnapshot,
}

/// The severity of all `reports` together: their transcripts read as one
/// text, and every distinct trouble code and active signal.
pub fn review(reports: &[ReportEvidence]) -> Severity {
    let mut text = String::new();
    let (mut dtcs, mut signals) = (BTreeSet::new(), BTreeSet::new());
    for r in reports {
        if let Some(t) = &r.transcript {
            text.push_str(t);
            text.push_str(". ");
        }
        let evidence = telemetry_evidence(&r.telemetry);
        dtcs.extend(evidence.dtcs);
        signals.extend(evidence.active_signals);
    }
    let evidence = TelemetryEvidence {
        dtcs: dtcs.into_iter().collect(),
        active_signals: signals.into_iter().collect(),
    };
    severity::assess(&text, &evidence)
}

#[cfg(test)]
mod tests {
    use qloop_models::severity::{MAJOR, MINOR};
    use qloop_protocol::{Dtc, Sample};

    use super::*;

    fn signal(name: &str, values: &[f64]) -> SignalSeries {
        SignalSeries {
            name: name.into(),
            unit: None,
            samples: values
                .iter()
                .enumerate()
                .map(|(i, v)| Sample {
                    t_ms: i as i64,
                    value: *v,
                })
                .collect(),
        }
    }

    fn words(text: &str) -> ReportEvidence {
        ReportEvidence {
            transcript: Some(text.into()),
            ..ReportEvidence::default()
        }
    }

    #[test]
    fn a_signal_is_active_when_any_sample_is_not_zero() {
        assert!(is_active(&signal("a", &[0.0, 0.0, 1.0])));
        assert!(is_active(&signal("a", &[-0.5])));
        assert!(!is_active(&signal("a", &[0.0, -0.0])));
        assert!(!is_active(&signal("a", &[])));
        let t = TelemetrySnapshot {
            signals: vec![signal("on", &[1.0]), signal("off", &[0.0])],
            dtcs: vec![Dtc {
                code: "C0045".into(),
                ecu: "ABS".into(),
                status: "active".into(),
            }],
            ..TelemetrySnapshot::default()
        };
        let e = telemetry_evidence(&t);
        assert_eq!(e.active_signals, ["on"]);
        assert_eq!(e.dtcs, ["C0045"]);
    }

    #[test]
    fn quiet_reports_stay_minor() {
        let r = review(&[words("the radio is quiet"), ReportEvidence::default()]);
        assert_eq!(r.level, MINOR);
        assert!(r.reasons.is_empty());
    }

    #[test]
    fn one_report_with_a_safety_sign_makes_the_case_major() {
        let plain = words("the radio is quiet");
        let r = review(&[
            plain.clone(),
            words("there was a collision on the motorway"),
        ]);
        assert_eq!(r.level, MAJOR);
        assert!(!r.reasons.is_empty());
        // The same words judged alone agree: one rule, one text.
        let alone = severity::assess(
            "there was a collision on the motorway. ",
            &TelemetryEvidence::default(),
        );
        assert_eq!(r.level, alone.level);
    }

    #[test]
    fn the_review_reads_telemetry_like_triage_does() {
        let telemetry = TelemetrySnapshot {
            signals: vec![signal("VCFRONT_crashDetected", &[0.0, 1.0])],
            ..TelemetrySnapshot::default()
        };
        let report = ReportEvidence {
            transcript: None,
            telemetry: telemetry.clone(),
        };
        let alone = severity::assess("", &telemetry_evidence(&telemetry));
        assert_eq!(alone.level, MAJOR);
        assert_eq!(review(&[report.clone(), report]).level, alone.level);
    }
}
