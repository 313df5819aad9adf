//! The embedded broker keeps what cars send before ingest connects, and a
//! graceful stop acknowledges no car after the cut.

use std::net::TcpStream;

use super::*;
use qloop_protocol::topic;
use rumqttc::{AsyncClient, Event, EventLoop, Incoming, MqttOptions};

const INGEST: &str = "broker-test-ingest";

fn start() -> EmbeddedBroker {
    let filter = topic::feedback_filter();
    EmbeddedBroker::start(
        SocketAddr::from(([127, 0, 0, 1], 0)),
        IngestSession {
            client_id: INGEST,
            filter: &filter,
        },
    )
    .expect("broker starts")
}

fn client(addr: SocketAddr, id: &str, clean: bool) -> (AsyncClient, EventLoop) {
    let mut options = MqttOptions::new(id, addr.ip().to_string(), addr.port());
    options.set_clean_session(clean).set_manual_acks(!clean);
    AsyncClient::new(options, 100)
}

/// Polls until `want` matches an event; panics after 10 s or on an error.
async fn until<T>(eventloop: &mut EventLoop, mut want: impl FnMut(&Event) -> Option<T>) -> T {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            let event = eventloop.poll().await.expect("connected");
            if let Some(found) = want(&event) {
                return found;
            }
        }
    })
    .await
    .expect("in time")
}

/// A car publishes and is acknowledged; only then does ingest connect.
async fn publish_as_car(broker: &EmbeddedBroker, vin: &str, payload: &str) {
    let (car, mut car_loop) = client(broker.addr, &format!("car-{vin}"), true);
    car.publish(
        topic::feedback_topic(vin),
        rumqttc::QoS::AtLeastOnce,
        false,
        payload.as_bytes().to_vec(),
    )
    .await
    .unwrap();
    until(&mut car_loop, |e| {
        matches!(e, Event::Incoming(Incoming::PubAck(_))).then_some(())
    })
    .await;
}

#[tokio::test]
async fn what_a_car_sent_before_ingest_connected_reaches_ingest_at_qos_1() {
    let broker = start();
    publish_as_car(&broker, "WBA00000000000001", "before ingest").await;

    let (ingest, mut ingest_loop) = client(broker.internal, INGEST, false);
    let session_present = until(&mut ingest_loop, |e| match e {
        Event::Incoming(Incoming::ConnAck(ack)) => Some(ack.session_present),
        _ => None,
    })
    .await;
    assert!(session_present, "the registered session is resumed");
    ingest
        .subscribe(topic::feedback_filter(), rumqttc::QoS::AtLeastOnce)
        .await
        .unwrap();
    let publish = until(&mut ingest_loop, |e| match e {
        Event::Incoming(Incoming::Publish(p)) => Some(p.clone()),
        _ => None,
    })
    .await;
    assert_eq!(&publish.payload[..], b"before ingest");
    assert_eq!(publish.qos, rumqttc::QoS::AtLeastOnce);
}

#[tokio::test]
async fn once_closed_to_vehicles_no_car_is_acknowledged_and_the_marker_comes_last() {
    let mut broker = start();
    let (ingest, mut ingest_loop) = client(broker.internal, INGEST, false);
    ingest
        .subscribe(topic::feedback_filter(), rumqttc::QoS::AtLeastOnce)
        .await
        .unwrap();
    let (car, mut car_loop) = client(broker.addr, "car-late", true);
    until(&mut car_loop, |e| {
        matches!(e, Event::Incoming(Incoming::ConnAck(_))).then_some(())
    })
    .await;
    publish_as_car(&broker, "WBA00000000000002", "acknowledged").await;

    broker.close_to_vehicles().await;
    // The connected car is cut off, and nobody can connect again.
    car.publish(
        topic::feedback_topic("WBA00000000000003"),
        rumqttc::QoS::AtLeastOnce,
        false,
        b"after the cut".to_vec(),
    )
    .await
    .unwrap();
    let cut = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match car_loop.poll().await {
                Ok(Event::Incoming(Incoming::PubAck(_))) => return false,
                Ok(_) => {}
                Err(_) => return true,
            }
        }
    })
    .await
    .expect("in time");
    assert!(cut, "no PUBACK after the cut");
    assert!(TcpStream::connect_timeout(&broker.addr, Duration::from_secs(1)).is_err());

    broker.publish_end_marker().await.unwrap();
    let mut topics = Vec::new();
    while topics.last() != Some(&broker.end_marker().to_string()) {
        let publish = until(&mut ingest_loop, |e| match e {
            Event::Incoming(Incoming::Publish(p)) => Some(p.clone()),
            _ => None,
        })
        .await;
        ingest.ack(&publish).await.unwrap();
        topics.push(publish.topic.clone());
    }
    assert_eq!(
        topics,
        [
            topic::feedback_topic("WBA00000000000002"),
            broker.end_marker().to_string()
        ]
    );
}
