//! The daemon end to end through its control socket, with an embedded broker:
//! triggers are accepted then stored and published, bad lines get error
//! replies without killing the session, subscribers see downlink events and
//! the car's receipt goes back up, and shutdown is clean.

#[path = "uplink_support/mod.rs"]
mod uplink_support;

use std::time::Duration;

use edge_agent::{
    cmd::run::serve,
    control::{client::ControlClient, ControlReply, ControlRequest},
};
use qloop_protocol::{decode, encode, topic, EventKind, Message, VehicleEvent};
use rumqttc::{AsyncClient, Event, Incoming, MqttOptions, QoS};
use tokio::{io::AsyncWriteExt, net::UnixStream, sync::oneshot};
use uuid::Uuid;

async fn next(client: &mut ControlClient) -> ControlReply {
    tokio::time::timeout(Duration::from_secs(10), client.next())
        .await
        .expect("a reply in time")
        .unwrap()
}

/// One daemon session from start to stop: each step depends on the state
/// the previous ones left (what the outbox holds, which client subscribed),
/// so it is one test of over 80 lines rather than several that would each
/// rebuild that state.
#[tokio::test]
async fn the_daemon_serves_triggers_status_errors_and_events_then_stops_cleanly() {
    let port = uplink_support::free_port();
    uplink_support::start_rumqttd(port);
    let dir = tempfile::tempdir().unwrap();
    let mut config = uplink_support::config(port, &dir.path().join("outbox"));
    config.control.socket = dir.path().join("edge.sock");
    config.telemetry.post_window_ms = 100;
    let vin = config.vehicle.vin.clone();

    // The "cloud": sees everything the car publishes.
    let mut options = MqttOptions::new("qloop-test-cloud", "127.0.0.1", port);
    options.set_max_packet_size(256 * 1024, 256 * 1024);
    let (cloud, mut cloud_loop) = AsyncClient::new(options, 16);
    cloud
        .subscribe(topic::feedback_topic(&vin), QoS::AtLeastOnce)
        .await
        .unwrap();
    loop {
        if let Event::Incoming(Incoming::SubAck(_)) = cloud_loop.poll().await.unwrap() {
            break;
        }
    }
    let (uplinked_tx, mut uplinked) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(event) = cloud_loop.poll().await {
            if let Event::Incoming(Incoming::Publish(p)) = event {
                let _ = uplinked_tx.send(decode(&p.payload).unwrap());
            }
        }
    });

    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let daemon = tokio::spawn(serve(config.clone(), async {
        let _ = stop_rx.await;
    }));
    uplink_support::wait_for_socket(&config.control.socket).await;
    let mut client = ControlClient::connect(&config.control.socket)
        .await
        .unwrap();

    // Trigger → accepted → stored → published.
    client
        .send(&ControlRequest::Trigger {
            transcript: Some("the brakes squeal when I stop at lights".into()),
            confidence: Some(0.92),
            audio: None,
            trigger: Some("voice".into()),
        })
        .await
        .unwrap();
    let ControlReply::Accepted { feedback_id } = next(&mut client).await else {
        panic!("expected accepted");
    };
    assert!(
        matches!(next(&mut client).await, ControlReply::Stored { feedback_id: id, entries: 1 } if id == feedback_id)
    );
    let published = tokio::time::timeout(Duration::from_secs(10), uplinked.recv())
        .await
        .unwrap()
        .unwrap();
    let Message::Feedback(env) = published else {
        panic!("expected the envelope");
    };
    assert_eq!(env.feedback_id, feedback_id);
    assert_eq!(
        env.transcript(),
        Some("the brakes squeal when I stop at lights")
    );

    // Bad input gets an error, and the session goes on.
    client
        .send(&ControlRequest::Trigger {
            transcript: None,
            confidence: None,
            audio: None,
            trigger: None,
        })
        .await
        .unwrap();
    assert!(matches!(
        next(&mut client).await,
        ControlReply::Error { .. }
    ));
    let mut raw = UnixStream::connect(&config.control.socket).await.unwrap();
    raw.write_all(b"{not json\n").await.unwrap();
    raw.write_all(&vec![b'x'; 70 * 1024]).await.unwrap();
    raw.write_all(b"\n{\"type\":\"status\"}\n").await.unwrap();
    let mut raw = tokio::io::BufReader::new(raw);
    let mut lines = Vec::new();
    for _ in 0..3 {
        let mut line = String::new();
        tokio::io::AsyncBufReadExt::read_line(&mut raw, &mut line)
            .await
            .unwrap();
        lines.push(serde_json::from_str::<ControlReply>(&line).unwrap());
    }
    assert!(matches!(lines[0], ControlReply::Error { .. }), "bad JSON");
    assert!(matches!(&lines[1], ControlReply::Error { message } if message.contains("limit")));
    assert!(matches!(
        lines[2],
        ControlReply::Status {
            connected: true,
            ..
        }
    ));

    // A subscriber sees the downlink event; the receipt goes up.
    client.send(&ControlRequest::Subscribe).await.unwrap();
    assert_eq!(next(&mut client).await, ControlReply::Subscribed);
    let event = VehicleEvent {
        event_id: Uuid::now_v7(),
        feedback_id: Some(feedback_id),
        case_number: Some(7),
        kind: EventKind::Received,
        message: "Thanks, your feedback is case 7".into(),
        sent_at_ms: edge_agent::capture::now_ms(),
    };
    cloud
        .publish(
            topic::events_topic(&vin),
            QoS::AtLeastOnce,
            false,
            encode(&Message::Event(event.clone())),
        )
        .await
        .unwrap();
    let ControlReply::Event(view) = next(&mut client).await else {
        panic!("expected the event");
    };
    assert_eq!((view.event_id, view.case_number), (event.event_id, Some(7)));
    let receipt = tokio::time::timeout(Duration::from_secs(10), uplinked.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(receipt, Message::Receipt(r) if r.event_id == event.event_id && r.vin == vin));

    // The driver answers the follow-up on the HMI; the answer goes up.
    client
        .send(&ControlRequest::Satisfaction {
            case_number: 7,
            score: 2,
            comment: Some("still squeaks".into()),
        })
        .await
        .unwrap();
    assert_eq!(
        next(&mut client).await,
        ControlReply::SatisfactionStored { case_number: 7 }
    );
    let answer = tokio::time::timeout(Duration::from_secs(10), uplinked.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(
        matches!(&answer, Message::Satisfaction(a) if a.case_number == 7 && a.score == 2 && a.vin == vin
            && a.comment.as_deref() == Some("still squeaks")),
        "{answer:?}"
    );
    client
        .send(&ControlRequest::Satisfaction {
            case_number: 7,
            score: 9,
            comment: None,
        })
        .await
        .unwrap();
    assert!(
        matches!(next(&mut client).await, ControlReply::Error { message } if message.contains("score")),
        "a score outside 1..=5 is refused on the car"
    );

    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(10), daemon)
        .await
        .expect("daemon stops")
        .unwrap()
        .unwrap();
    assert!(
        !config.control.socket.exists(),
        "socket removed on shutdown"
    );
}
