//! The outbox quota rule: under `evict-audio-first` the oldest audio chunks
//! (then receipts) make room and envelopes are never evicted; under `refuse`
//! nothing stored is touched. A refused batch leaves the outbox unchanged.

use edge_agent::outbox::{record::RECORD_HEADER_LEN, Outbox, OutboxError, QuotaRule};
use qloop_protocol::{
    encode, AudioChunk, Consent, FeedbackEnvelope, Message, TelemetrySnapshot, TriggerKind, Vehicle,
};
use uuid::Uuid;

const VIN: &str = "5YJ3E1EA7KF317000";

fn chunk(n: u8, len: usize) -> Vec<u8> {
    encode(&Message::AudioChunk(AudioChunk {
        feedback_id: Uuid::from_bytes([n; 16]),
        vin: VIN.into(),
        index: 0,
        total: 1,
        data: vec![n; len],
    }))
}

fn envelope(n: u8) -> Vec<u8> {
    encode(&Message::Feedback(Box::new(FeedbackEnvelope {
        feedback_id: Uuid::from_bytes([n; 16]),
        vehicle: Vehicle {
            vin: VIN.into(),
            model: "Model 3".into(),
            year: 2019,
            software: vec![],
        },
        captured_at_ms: 1_700_000_000_000,
        trigger: TriggerKind::Cli,
        locale: "en-US".into(),
        utterance: None,
        audio: None,
        telemetry: TelemetrySnapshot::default(),
        consent: Consent {
            audio: true,
            location: false,
        },
        cut_short: None,
    })))
}

fn size(message: &[u8]) -> u64 {
    (RECORD_HEADER_LEN + message.len()) as u64
}

#[test]
fn oldest_audio_chunks_are_evicted_for_a_new_envelope_but_envelopes_stay() {
    let tmp = tempfile::tempdir().unwrap();
    let (env, c1, c2) = (envelope(1), chunk(2, 1000), chunk(3, 1000));
    let quota = size(&env) + size(&c1) + size(&c2);
    let (mut outbox, _) = Outbox::open(tmp.path(), quota, QuotaRule::EvictAudioFirst).unwrap();
    let env_id = outbox.commit(&env).unwrap();
    let c1_id = outbox.commit(&c1).unwrap();
    let c2_id = outbox.commit(&c2).unwrap();

    let new_env = envelope(4);
    let new_id = outbox.commit(&new_env).unwrap();
    let left: Vec<_> = outbox.pending().collect();
    assert_eq!(
        left,
        vec![env_id, c2_id, new_id],
        "only the oldest chunk went"
    );
    assert!(!left.contains(&c1_id));
    assert_eq!(outbox.stats().evicted, 1);
    assert!(outbox.stats().bytes <= quota);
}

#[test]
fn a_batch_that_cannot_fit_without_evicting_envelopes_is_refused_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let (e1, e2) = (envelope(1), envelope(2));
    let quota = size(&e1) + size(&e2);
    let (mut outbox, _) = Outbox::open(tmp.path(), quota, QuotaRule::EvictAudioFirst).unwrap();
    outbox.commit(&e1).unwrap();
    outbox.commit(&e2).unwrap();
    let before: Vec<_> = outbox.pending().collect();
    let err = outbox.commit_all(&[envelope(3), chunk(4, 10)]).unwrap_err();
    assert!(matches!(err, OutboxError::QuotaExceeded { .. }), "{err}");
    assert_eq!(outbox.pending().collect::<Vec<_>>(), before);
}

#[test]
fn refuse_rule_keeps_stored_chunks_and_refuses_the_new_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let c1 = chunk(1, 2000);
    let (mut outbox, _) = Outbox::open(tmp.path(), size(&c1) + 10, QuotaRule::Refuse).unwrap();
    let id = outbox.commit(&c1).unwrap();
    let err = outbox.commit(&envelope(2)).unwrap_err();
    assert!(matches!(
        err,
        OutboxError::QuotaExceeded {
            rule: QuotaRule::Refuse,
            ..
        }
    ));
    assert_eq!(outbox.pending().collect::<Vec<_>>(), vec![id]);
    assert_eq!(outbox.stats().evicted, 0);
}

#[test]
fn used_bytes_are_recounted_from_disk_after_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let c1 = chunk(1, 500);
    {
        let (mut outbox, _) = Outbox::open(tmp.path(), 1 << 20, QuotaRule::Refuse).unwrap();
        outbox.commit(&c1).unwrap();
        outbox.commit(&envelope(2)).unwrap();
    }
    let (outbox, _) = Outbox::open(tmp.path(), 1 << 20, QuotaRule::Refuse).unwrap();
    assert_eq!(outbox.stats().bytes, size(&c1) + size(&envelope(2)));
    assert_eq!(outbox.len(), 2);
}
