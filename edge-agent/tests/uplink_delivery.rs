//! The uplink against real MQTT peers: deletion strictly after PUBACK,
//! delivery of what was committed while the broker was down, chunked audio
//! arriving whole, and downlink events reaching the agent.

mod uplink_support;

use std::{sync::Arc, time::Duration};

use edge_agent::{
    capture::{CaptureRequest, Capturer, NoTelemetry},
    outbox::{Outbox, SharedOutbox},
    uplink::{self, UplinkHandle, UplinkSettings},
    Config,
};
use qloop_protocol::{
    decode, encode, topic, AudioPayload, AudioReassembly, EventKind, EventReceipt, Message,
    VehicleEvent,
};
use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};
use tokio::{net::TcpListener, sync::oneshot};
use uplink_support::*;
use uuid::Uuid;

fn open(config: &Config) -> SharedOutbox {
    Outbox::open_shared(
        &config.outbox.dir,
        config.outbox.quota_bytes,
        config.outbox.quota_rule,
    )
    .unwrap()
    .0
}

fn receipt(n: u8) -> Vec<u8> {
    encode(&Message::Receipt(EventReceipt {
        vin: "5YJ3E1EA7KF317000".into(),
        event_id: Uuid::from_bytes([n; 16]),
        received_at_ms: 1_700_000_000_000,
    }))
}

fn start_uplink(
    config: &Config,
    outbox: &SharedOutbox,
    events: Option<tokio::sync::mpsc::Sender<VehicleEvent>>,
) -> (UplinkHandle, oneshot::Sender<()>) {
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let settings = UplinkSettings {
        broker: config.broker.clone(),
        vin: config.vehicle.vin.clone(),
    };
    let handle = uplink::spawn(settings, outbox.clone(), events, async {
        let _ = stop_rx.await;
    })
    .unwrap();
    handle.wake();
    (handle, stop_tx)
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..200 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting until {what}");
}

/// A 16 kHz mono WAV of `seconds` of a tone.
fn wav(seconds: u32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut cursor = std::io::Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut cursor, spec).unwrap();
    for i in 0..16_000 * seconds {
        writer.write_sample(((i % 200) as i16 - 100) * 100).unwrap();
    }
    writer.finalize().unwrap();
    cursor.into_inner()
}

#[tokio::test]
async fn an_entry_stays_in_the_outbox_until_its_puback_arrives() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let config = config(port, dir.path());
    let outbox = open(&config);
    let (first, second) = {
        let mut o = outbox.lock().unwrap();
        (
            o.commit(&receipt(1)).unwrap(),
            o.commit(&receipt(2)).unwrap(),
        )
    };
    let (handle, stop) = start_uplink(&config, &outbox, None);
    let mut session = accept_withholding(&listener).await;
    let p1 = session.next_publish().await;
    let p2 = session.next_publish().await;
    assert_eq!(p1.payload, receipt(1), "published in outbox order");
    assert_eq!(p2.payload, receipt(2));

    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        outbox.lock().unwrap().len(),
        2,
        "nothing deleted without PUBACK"
    );

    session.puback(p2.pkid).await;
    eventually("the second entry is deleted", || {
        outbox.lock().unwrap().pending().collect::<Vec<_>>() == vec![first]
    })
    .await;
    session.puback(p1.pkid).await;
    eventually("the outbox is empty", || outbox.lock().unwrap().is_empty()).await;
    assert_eq!(handle.status().acknowledged, 2);
    assert!(second > first);
    let _ = stop.send(());
    handle.join().await;
}

#[tokio::test]
async fn entries_committed_while_the_broker_is_down_are_delivered_once_it_starts() {
    let port = free_port();
    let dir = tempfile::tempdir().unwrap();
    let config = config(port, dir.path());
    let outbox = open(&config);
    for n in 0..3 {
        outbox.lock().unwrap().commit(&receipt(n)).unwrap();
    }
    let (handle, stop) = start_uplink(&config, &outbox, None);
    eventually("a connection error is reported", || {
        handle.status().last_error.is_some()
    })
    .await;
    assert!(!handle.status().connected);
    assert_eq!(
        outbox.lock().unwrap().len(),
        3,
        "kept while the broker is down"
    );

    start_rumqttd(port);
    assert!(
        handle
            .wait_until_empty(&outbox, Duration::from_secs(15))
            .await
    );
    let status = handle.status();
    assert!(status.connected);
    assert_eq!(status.acknowledged, 3);
    let _ = stop.send(());
    handle.join().await;
}

#[tokio::test]
async fn a_capture_with_long_audio_arrives_as_chunks_that_reassemble_to_the_clip() {
    let port = free_port();
    start_rumqttd(port);
    let dir = tempfile::tempdir().unwrap();
    let config = config(port, dir.path());
    let clip = wav(10); // 320 KB: over one message
    let wav_path = dir.path().join("clip.wav");
    std::fs::write(&wav_path, &clip).unwrap();

    let mut options = MqttOptions::new("qloop-test-cloud", "127.0.0.1", port);
    options.set_max_packet_size(256 * 1024, 256 * 1024);
    let (cloud, mut cloud_loop) = AsyncClient::new(options, 16);
    cloud
        .subscribe(topic::feedback_filter(), QoS::AtLeastOnce)
        .await
        .unwrap();
    loop {
        if let Event::Incoming(Incoming::SubAck(_)) = cloud_loop.poll().await.unwrap() {
            break;
        }
    }

    let outbox = open(&config);
    let capturer = Capturer::new(
        Arc::new(config.clone()),
        outbox.clone(),
        Arc::new(NoTelemetry),
    );
    let request = CaptureRequest {
        audio: Some(wav_path),
        ..CaptureRequest::transcript("the screen freezes when I connect my phone")
    };
    let committed = capturer.capture(request).unwrap();
    assert!(committed.audio_chunks >= 4, "{committed:?}");
    let (handle, stop) = start_uplink(&config, &outbox, None);

    let mut envelope = None;
    let mut chunks = Vec::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        while envelope.is_none() || chunks.len() < committed.audio_chunks {
            if let Event::Incoming(Incoming::Publish(p)) = cloud_loop.poll().await.unwrap() {
                assert!(p.payload.len() <= qloop_protocol::MAX_MESSAGE_BYTES);
                match decode(&p.payload).unwrap() {
                    Message::Feedback(env) => envelope = Some(env),
                    Message::AudioChunk(c) => chunks.push(c),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
    })
    .await
    .expect("all messages arrive");
    let envelope = envelope.unwrap();
    assert_eq!(envelope.feedback_id, committed.feedback_id);
    let audio = envelope.audio.unwrap();
    assert!(matches!(audio.payload, AudioPayload::Chunked { .. }));
    assert_eq!(audio.duration_ms, 10_000);
    let mut reassembly = AudioReassembly::new(&audio.payload, 8 << 20).unwrap();
    for chunk in chunks {
        reassembly.insert(chunk.index, chunk.data).unwrap();
    }
    assert_eq!(reassembly.finish().unwrap(), clip);
    assert!(
        handle
            .wait_until_empty(&outbox, Duration::from_secs(10))
            .await
    );
    let _ = stop.send(());
    handle.join().await;
}

#[tokio::test]
async fn events_for_the_vehicle_reach_the_event_channel_and_others_are_dropped() {
    let port = free_port();
    start_rumqttd(port);
    let dir = tempfile::tempdir().unwrap();
    let config = config(port, dir.path());
    let outbox = open(&config);
    let (events_tx, mut events_rx) = tokio::sync::mpsc::channel(8);
    let (handle, stop) = start_uplink(&config, &outbox, Some(events_tx));
    eventually("connected", || handle.status().connected).await;

    let (cloud, mut cloud_loop) =
        AsyncClient::new(MqttOptions::new("qloop-test-sender", "127.0.0.1", port), 16);
    tokio::spawn(async move { while cloud_loop.poll().await.is_ok() {} });
    let event = VehicleEvent {
        event_id: Uuid::now_v7(),
        feedback_id: None,
        case_number: Some(42),
        kind: EventKind::Received,
        message: "Thanks, your feedback is case 42".into(),
        sent_at_ms: edge_agent::capture::now_ms(),
    };
    let events_topic = topic::events_topic(&config.vehicle.vin);
    let received = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            // Garbage first: it must be dropped, not forwarded or fatal.
            cloud
                .publish(
                    &events_topic,
                    QoS::AtLeastOnce,
                    false,
                    b"not qloop".to_vec(),
                )
                .await
                .unwrap();
            let bytes = encode(&Message::Event(event.clone()));
            cloud
                .publish(&events_topic, QoS::AtLeastOnce, false, bytes)
                .await
                .unwrap();
            // Until the agent's SUBSCRIBE is through, publishes go nowhere.
            if let Ok(Some(got)) =
                tokio::time::timeout(Duration::from_millis(300), events_rx.recv()).await
            {
                return got;
            }
        }
    })
    .await
    .expect("the event arrives");
    assert_eq!(received, event);
    let _ = stop.send(());
    handle.join().await;
}
