//! The case page tests' fixtures: reports of one issue that link into one
//! case, a known issue that suggests its ICA and PCA, full telemetry, and
//! moving a case through the lifecycle's use case.

use cloud_triage::{
    app::{ingest::Triaged, transition::Transition},
    domain::MatchKind,
    now_ms,
    policy::Policy,
    store::{AudioState, CaseMatch, IngestMeta, Store},
    triage::Assessment,
};
use qloop_protocol::{testing::EnvelopeBuilder, FeedbackEnvelope, Sample, SignalSeries};
use uuid::Uuid;

/// When the first report was captured.
pub const T0: i64 = 1_765_000_000_000;

/// Reports of one issue: triaged alike, so they join one case.
pub struct Fleet {
    /// The store.
    pub store: Store,
    policy: Policy,
    assessment: Assessment,
    matches: Vec<CaseMatch>,
}

/// A known issue whose containment and remedy become the case's suggested
/// ICA and PCA.
pub fn recall() -> CaseMatch {
    CaseMatch {
        doc_id: "24V-512".into(),
        kind: MatchKind::KnownIssue,
        score: 0.0325,
        similarity: Some(0.91),
        title: "Brake booster vacuum line may crack".into(),
        containment: Some("Inspect the booster vacuum line at the next visit".into()),
        remedy: Some("Replace the vacuum line with the revised part".into()),
    }
}

impl Fleet {
    /// Reports that link to one brakes case; `matches` are found for each.
    pub fn new(store: &Store, matches: Vec<CaseMatch>) -> Self {
        let mut vector = vec![0.0; qloop_models::EMBEDDING_DIM];
        vector[0] = 1.0;
        Self {
            store: store.clone(),
            policy: Policy::default(),
            assessment: Assessment {
                category: "brakes".into(),
                department: None,
                severity: "minor".into(),
                severity_reasons: vec![],
                hazard: None,
                confidence: 0.87,
                model_version: "test-model".into(),
                vector: Some(vector),
            },
            matches,
        }
    }

    /// Report `n` (its own car) saying `text`, built by `build`, with
    /// `audio`; its feedback id and case number.
    pub async fn report(
        &self,
        n: u32,
        text: &str,
        build: impl FnOnce(EnvelopeBuilder) -> FeedbackEnvelope,
        audio: AudioState,
    ) -> (Uuid, i64) {
        let at = T0 + i64::from(n) * 60_000;
        let env = build(EnvelopeBuilder::new(
            &format!("5YJ3E1EA7KF3{n:05}"),
            text,
            at,
        ));
        let meta = IngestMeta {
            received_at_ms: at + 1_000,
            envelope_bytes: 500,
            asr: None,
            audio,
        };
        let triaged = Triaged {
            assessment: &self.assessment,
            matches: &self.matches,
            policy: &self.policy,
        };
        let outcome = self
            .store
            .ingest_triaged_feedback(&env, &meta, Some(triaged))
            .await
            .unwrap();
        (outcome.feedback_id, outcome.case_id)
    }

    /// `count` plain reports; the case number.
    pub async fn reports(&self, count: u32) -> i64 {
        let mut case = 0;
        for n in 0..count {
            case = self
                .report(
                    n,
                    "the brake pedal sinks at lights",
                    plain,
                    AudioState::None,
                )
                .await
                .1;
        }
        case
    }
}

/// A report with the builder's defaults.
pub fn plain(b: EnvelopeBuilder) -> FeedbackEnvelope {
    b.build()
}

/// A full report: two signals around the trigger, a DTC, software,
/// location (shared or not), odometer, confidence.
pub fn full(location_shared: bool) -> impl FnOnce(EnvelopeBuilder) -> FeedbackEnvelope {
    move |b| {
        let t = b.clone().build().captured_at_ms;
        let mut env = b
            .window(t - 2_000, t + 1_000)
            .speed(&[
                (t - 2_000, 52.0),
                (t - 1_000, 48.5),
                (t, 40.0),
                (t + 1_000, 31.0),
            ])
            .dtc("C0045", "ABS", "active")
            .software("ABS", "4.2.1")
            .location(48.137_15, 11.575_49, 6.0)
            .odometer_km(12_345.6)
            .consent(true, location_shared)
            .confidence(0.87)
            .build();
        env.telemetry.signals.push(SignalSeries {
            name: "Vehicle.Chassis.Brake.PedalPosition".into(),
            unit: Some("percent".into()),
            samples: vec![
                Sample {
                    t_ms: t - 1_000,
                    value: 10.0,
                },
                Sample {
                    t_ms: t,
                    value: 85.0,
                },
            ],
        });
        if !location_shared {
            env.telemetry.location = None;
        }
        env
    }
}

/// Moves case `id` to `to` through the use case, as `actor`.
pub async fn move_case(
    store: &Store,
    id: i64,
    to: &str,
    message: Option<&str>,
    fields: serde_json::Value,
) {
    let t = Transition {
        to: to.into(),
        actor: "setup".into(),
        message: message.map(str::to_string),
        reason: None,
        fields: fields.as_object().cloned().unwrap_or_default(),
    };
    store
        .transition(id, &t, &Policy::default(), now_ms())
        .await
        .unwrap();
}
