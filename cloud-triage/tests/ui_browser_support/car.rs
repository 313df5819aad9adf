//! The car's side of the journey: it reports what its driver said, with a
//! voice clip and telemetry around the trigger, over MQTT, and hears what
//! the cloud sends back on its events topic.

use std::time::Duration;

use cloud_triage::service::Service;
use qloop_protocol::{
    decode, testing::EnvelopeBuilder, topic, AudioClip, AudioCodec, AudioPayload, EventKind,
    FeedbackEnvelope, Message, Sample, SignalSeries, VehicleEvent,
};
use rumqttc::{Event, Incoming, MqttOptions, QoS};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

use crate::common_env::{publish_and_wait_for_case, raw_client};

/// Length of the driver's clip.
pub const CLIP_MS: u32 = 1_500;
/// Names of the signals every report carries, around the trigger.
pub const SIGNALS: [&str; 2] = ["Vehicle.Speed", "Chassis.Brake.PedalPosition"];

/// One car connected to the service's broker.
pub struct Car {
    /// Its VIN.
    pub vin: String,
    sender: rumqttc::AsyncClient,
    events: UnboundedReceiver<VehicleEvent>,
}

impl Car {
    /// Connects as `vin`, subscribed to its events topic.
    pub async fn connect(service: &Service, vin: &str) -> Car {
        let broker = cloud_triage::mqtt::BrokerUrl::parse(&service.mqtt_url).unwrap();
        let (listener, mut eventloop) = rumqttc::AsyncClient::new(
            MqttOptions::new(format!("car-{vin}"), broker.host, broker.port),
            32,
        );
        listener
            .subscribe(topic::events_topic(vin), QoS::AtLeastOnce)
            .await
            .unwrap();
        let (seen, events) = unbounded_channel();
        tokio::spawn(async move {
            // Keeps the client (and its subscription) alive with the loop.
            let _listener = listener;
            while let Ok(event) = eventloop.poll().await {
                if let Event::Incoming(Incoming::Publish(p)) = event {
                    if let Ok(Message::Event(ev)) = decode(&p.payload) {
                        let _ = seen.send(ev);
                    }
                }
            }
        });
        // The subscription is acknowledged before anything is reported.
        tokio::time::sleep(Duration::from_millis(300)).await;
        Car {
            vin: vin.into(),
            sender: raw_client(&service.mqtt_url, &format!("head-unit-{vin}")).await,
            events,
        }
    }

    /// Publishes `env` and waits for the case it joins.
    pub async fn report(&self, service: &Service, env: FeedbackEnvelope) -> i64 {
        publish_and_wait_for_case(&service.store, &self.sender, env).await
    }

    /// The next event of `kind` the car receives (others are passed over),
    /// within 20 s.
    pub async fn next_event(&mut self, kind: EventKind) -> VehicleEvent {
        loop {
            let event = tokio::time::timeout(Duration::from_secs(20), self.events.recv())
                .await
                .unwrap_or_else(|_| panic!("{} heard no {kind:?} event in 20 s", self.vin))
                .expect("the car's event loop runs");
            if event.kind == kind {
                return event;
            }
        }
    }
}

/// What the driver of `vin` said in `words`, spoken now: the transcript
/// (high confidence, so the cloud keeps it), a WAV clip of [`CLIP_MS`],
/// and the [`SIGNALS`] sampled every 100 ms in the 3 s before the trigger
/// and the 1 s after it.
pub fn spoken_feedback(vin: &str, words: &str) -> FeedbackEnvelope {
    let now = cloud_triage::now_ms();
    let times: Vec<i64> = (-30..=10).map(|i| now + i * 100).collect();
    let speed: Vec<(i64, f64)> = times
        .iter()
        .map(|&t| (t, 80.0 - ((t - now + 3_000) as f64 / 4_000.0) * 40.0))
        .collect();
    let mut env = EnvelopeBuilder::new(vin, words, now)
        .confidence(0.92)
        .window(now - 3_000, now + 1_000)
        .speed(&speed)
        .software("VCFRONT", "2026.20.1")
        .dtc("C0045", "ABS", "active")
        .consent(true, false)
        .build();
    env.telemetry.signals.push(SignalSeries {
        name: SIGNALS[1].into(),
        unit: Some("%".into()),
        samples: times
            .iter()
            .map(|&t| Sample {
                t_ms: t,
                value: if t < now - 800 { 5.0 } else { 65.0 },
            })
            .collect(),
    });
    env.audio = Some(AudioClip {
        codec: AudioCodec::Wav,
        sample_rate: 16_000,
        channels: 1,
        duration_ms: CLIP_MS,
        payload: AudioPayload::Inline(tone_wav(CLIP_MS)),
    });
    env
}

/// A 16 kHz mono 16-bit WAV file of a 440 Hz tone, `ms` long.
fn tone_wav(ms: u32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut out, spec).unwrap();
    for i in 0..(16 * ms) {
        let t = f64::from(i) / 16_000.0;
        let sample = (t * 440.0 * std::f64::consts::TAU).sin() * 6_000.0;
        writer.write_sample(sample as i16).unwrap();
    }
    writer.finalize().unwrap();
    out.into_inner()
}
