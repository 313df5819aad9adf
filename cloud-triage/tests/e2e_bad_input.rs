//! Hostile and broken uplink messages get a recorded, logged rejection; the
//! service keeps running and every valid feedback sent among them is stored.

mod common_env;

use std::time::Duration;

use common_env::{embedded_service, envelope, eventually, raw_client};
use qloop_protocol::{encode, topic::feedback_topic, Message};
use rumqttc::QoS;

const VIN_A: &str = "5YJ3E1EA7KF317000";
const VIN_B: &str = "KNAFX4A61F5300001";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_messages_are_rejected_and_valid_ones_among_them_all_arrive() {
    let dir = tempfile::tempdir().unwrap();
    let service = embedded_service(dir.path()).await;
    let client = raw_client(&service.mqtt_url, "bad-input-sender").await;
    let topic = feedback_topic(VIN_A);

    let valid = encode(&Message::Feedback(Box::new(envelope(
        VIN_A,
        "the wipers stop mid-sweep",
    ))));
    let mut wrong_version = valid.clone();
    wrong_version[4] = 99;
    let mismatched = encode(&Message::Feedback(Box::new(envelope(
        VIN_B,
        "sent on the wrong topic",
    ))));
    let mut oversized = valid.clone();
    oversized.resize(qloop_protocol::MAX_MESSAGE_BYTES + 1, 0);
    let random: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let bad: Vec<Vec<u8>> = vec![
        valid[..valid.len() / 2].to_vec(),
        wrong_version,
        mismatched,
        oversized,
        random,
        Vec::new(),
    ];

    let mut sent_valid = Vec::new();
    for (i, payload) in bad.iter().enumerate() {
        client
            .publish(&topic, QoS::AtLeastOnce, false, payload.clone())
            .await
            .unwrap();
        let env = envelope(VIN_A, &format!("valid feedback number {i}"));
        sent_valid.push(env.feedback_id);
        client
            .publish(
                &topic,
                QoS::AtLeastOnce,
                false,
                encode(&Message::Feedback(Box::new(env))),
            )
            .await
            .unwrap();
    }
    // A payload on a topic that is not a vehicle's feedback topic is ignored by the filter.
    let store = service.store.clone();
    let settled = eventually(Duration::from_secs(20), || {
        let store = store.clone();
        async move {
            let c = store.counts().await.unwrap();
            c.feedback == 6 && c.rejected == 6
        }
    })
    .await;
    let counts = service.store.counts().await.unwrap();
    assert!(
        settled,
        "expected 6 feedback and 6 rejected, got {counts:?}"
    );
    assert!(
        (1..=6).contains(&counts.cases),
        "similar valid feedback may share a case: {counts:?}"
    );
    for id in sent_valid {
        let stored = service.store.get_feedback(id).await.unwrap();
        assert!(
            stored.is_some_and(|f| f.case_id.is_some()),
            "valid feedback {id} stored with its case"
        );
    }
    let health = reqwest::get(format!("http://{}/healthz", service.http_addr))
        .await
        .unwrap();
    assert_eq!(
        health.status(),
        200,
        "service still healthy after bad input"
    );
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_wav_clip_is_dropped_and_the_words_and_telemetry_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let service = embedded_service(dir.path()).await;
    let client = raw_client(&service.mqtt_url, "broken-wav-sender").await;

    // A RIFF header whose format chunk is cut off, then noise.
    let mut broken = b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec();
    broken.extend((0..512u32).map(|i| (i.wrapping_mul(2654435761) >> 7) as u8));
    let mut env = envelope(VIN_A, "the horn sounds weak");
    env.audio = Some(qloop_protocol::AudioClip {
        codec: qloop_protocol::AudioCodec::Wav,
        sample_rate: 16_000,
        channels: 1,
        duration_ms: 1_000,
        payload: qloop_protocol::AudioPayload::Inline(broken),
    });
    let id = env.feedback_id;
    client
        .publish(
            feedback_topic(VIN_A),
            QoS::AtLeastOnce,
            false,
            encode(&Message::Feedback(Box::new(env))),
        )
        .await
        .unwrap();

    let store = service.store.clone();
    let stored = eventually(Duration::from_secs(20), || {
        let store = store.clone();
        async move { store.get_feedback(id).await.unwrap().is_some() }
    })
    .await;
    assert!(stored, "the feedback is stored despite its broken clip");
    let feedback = service.store.get_feedback(id).await.unwrap().unwrap();
    assert_eq!(feedback.transcript.as_deref(), Some("the horn sounds weak"));
    assert_ne!(
        feedback.audio.status, "stored",
        "the broken clip is not kept"
    );
    assert!(feedback.audio.path.is_none());
    assert_eq!(
        feedback.telemetry["signals"].as_array().map(Vec::len),
        Some(1),
        "telemetry kept"
    );
    assert!(feedback.case_id.is_some(), "it still opens a case");
    service.shutdown().await;
}
