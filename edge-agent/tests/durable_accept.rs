//! `accepted` means on disk: a capture the agent accepted survives a kill or
//! a power cut inside the post-trigger window, and is sent marked cut short
//! with the telemetry it had; torn records are reported to the cloud, and a
//! torn audio chunk is made again from the capture's kept source.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use edge_agent::{
    capture::{finish_drafts, CaptureRequest, Capturer, TelemetrySource},
    control::{client::ControlClient, ControlReply, ControlRequest},
    outbox::{drafts::SOURCE_EXT, EntryId, Outbox, QuotaRule},
    Config,
};
use qloop_protocol::{
    decode, AudioPayload, CutShortReason, FeedbackEnvelope, LostMessage, Message, Sample,
    SignalSeries, TelemetrySnapshot, TriggerKind,
};
use uuid::Uuid;

const QUOTA: u64 = 64 * 1024 * 1024;

/// A CAN bus stand-in: one speed sample every 100 ms from 10 s before to
/// 5 s after whatever trigger it is asked about.
struct Speedometer;

impl TelemetrySource for Speedometer {
    fn snapshot(&self, trigger_ms: i64) -> Result<TelemetrySnapshot, String> {
        Ok(TelemetrySnapshot {
            window_start_ms: trigger_ms - 10_000,
            window_end_ms: trigger_ms + 5_000,
            signals: vec![SignalSeries {
                name: "Vehicle.Speed".into(),
                unit: Some("km/h".into()),
                samples: (-100..=50)
                    .map(|i| Sample {
                        t_ms: trigger_ms + i * 100,
                        value: 50.0 + i as f64,
                    })
                    .collect(),
            }],
            ..TelemetrySnapshot::default()
        })
    }
}

/// A 16 kHz mono 16-bit WAV of `seconds` of a tone: 5 s is two chunks.
fn tone_wav(dir: &Path, seconds: u32) -> PathBuf {
    let samples = 16_000 * seconds;
    let data_len = samples * 2;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&16_000u32.to_le_bytes());
    wav.extend_from_slice(&32_000u32.to_le_bytes());
    wav.extend_from_slice(&2u16.to_le_bytes());
    wav.extend_from_slice(&16u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for n in 0..samples {
        let v = ((n as f32 * 0.07).sin() * 8_000.0) as i16;
        wav.extend_from_slice(&v.to_le_bytes());
    }
    let path = dir.join(format!("tone-{seconds}s.wav"));
    std::fs::write(&path, wav).unwrap();
    path
}

fn config(outbox: &Path) -> Config {
    let mut config = Config::embedded_default().unwrap();
    config.outbox.dir = outbox.to_path_buf();
    config
}

fn capturer(config: &Config) -> Capturer {
    let (outbox, _) =
        Outbox::open_shared(&config.outbox.dir, QUOTA, QuotaRule::EvictAudioFirst).unwrap();
    Capturer::new(Arc::new(config.clone()), outbox, Arc::new(Speedometer))
}

/// Every pending message of the outbox at `dir`, decoded, oldest first.
fn messages(outbox: &mut Outbox) -> Vec<(EntryId, Message)> {
    let ids: Vec<EntryId> = outbox.pending().collect();
    ids.into_iter()
        .map(|id| (id, decode(&outbox.read(id).unwrap()).unwrap()))
        .collect()
}

fn envelopes(messages: &[(EntryId, Message)]) -> Vec<FeedbackEnvelope> {
    messages
        .iter()
        .filter_map(|(_, m)| match m {
            Message::Feedback(env) => Some((**env).clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn an_accepted_capture_whose_agent_stopped_is_sent_cut_short_with_its_words_clip_and_pre_trigger_telemetry(
) {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(&tmp.path().join("outbox"));
    let clip = tone_wav(tmp.path(), 5);
    let accepted = capturer(&config)
        .accept(CaptureRequest {
            trigger: TriggerKind::Voice,
            transcript: Some("the car brakes by itself on the motorway".into()),
            confidence: Some(0.9),
            audio: Some(clip),
        })
        .unwrap();
    // The agent dies here: nothing is committed, the process state is gone.
    let (feedback_id, trigger_ms) = (accepted.feedback_id, accepted.captured_at_ms);
    drop(accepted);

    let (mut outbox, _) =
        Outbox::open(&config.outbox.dir, QUOTA, QuotaRule::EvictAudioFirst).unwrap();
    assert!(outbox.is_empty(), "nothing was committed before the stop");
    let finished = finish_drafts(&mut outbox, trigger_ms + 60_000).unwrap();
    assert_eq!(finished.completed, 1);

    let all = messages(&mut outbox);
    let envelopes = envelopes(&all);
    assert_eq!(envelopes.len(), 1);
    let env = &envelopes[0];
    assert_eq!(env.feedback_id, feedback_id);
    assert_eq!(
        env.transcript(),
        Some("the car brakes by itself on the motorway")
    );
    let cut = env.cut_short.expect("marked cut short");
    assert_eq!(cut.reason, CutShortReason::AgentStopped);
    assert_eq!(cut.completed_at_ms, trigger_ms + 60_000);
    let speed = &env.telemetry.signals[0].samples;
    assert_eq!(
        speed.len(),
        101,
        "the 10 s before the trigger, every 100 ms"
    );
    assert!(speed.iter().all(|s| s.t_ms <= trigger_ms));
    let Some(AudioPayload::Chunked { chunks, .. }) = env.audio.as_ref().map(|a| &a.payload) else {
        panic!("a 5 s clip travels in chunks");
    };
    let sent_chunks = all
        .iter()
        .filter(|(_, m)| matches!(m, Message::AudioChunk(c) if c.feedback_id == feedback_id))
        .count();
    assert_eq!(sent_chunks as u32, *chunks);
    // The draft became the chunks' source and nothing is pending twice.
    assert!(outbox.drafts().pending().unwrap().is_empty());
    assert_eq!(outbox.drafts().sources().unwrap(), [feedback_id]);
    let again = finish_drafts(&mut outbox, trigger_ms + 61_000).unwrap();
    assert_eq!(again.completed, 0);
    assert_eq!(messages(&mut outbox).len(), all.len());
}

#[test]
fn a_completed_capture_leaves_no_draft_and_its_source_goes_with_its_last_chunk() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(&tmp.path().join("outbox"));
    let capturer = capturer(&config);
    let words = capturer.capture(CaptureRequest::transcript("the screen froze"));
    assert!(words.is_ok());
    let clip = tone_wav(tmp.path(), 5);
    let committed = capturer
        .capture(CaptureRequest {
            audio: Some(clip),
            ..CaptureRequest::transcript("the wipers never stop")
        })
        .unwrap();
    assert!(committed.audio_chunks >= 2);

    let (mut outbox, _) =
        Outbox::open(&config.outbox.dir, QUOTA, QuotaRule::EvictAudioFirst).unwrap();
    let all = messages(&mut outbox);
    assert!(envelopes(&all).iter().all(|e| e.cut_short.is_none()));
    assert!(outbox.drafts().pending().unwrap().is_empty());
    assert_eq!(outbox.drafts().sources().unwrap(), [committed.feedback_id]);
    // The broker acknowledges everything: the source is deleted with the last chunk.
    for (id, _) in &all {
        outbox.remove(*id).unwrap();
    }
    assert!(outbox.drafts().sources().unwrap().is_empty());
}

#[test]
fn a_torn_audio_chunk_is_made_again_from_its_source_and_reported_as_resent() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(&tmp.path().join("outbox"));
    let clip = tone_wav(tmp.path(), 5);
    let committed = capturer(&config)
        .capture(CaptureRequest {
            audio: Some(clip),
            ..CaptureRequest::transcript("a rattle from the dashboard")
        })
        .unwrap();
    let (mut outbox, _) =
        Outbox::open(&config.outbox.dir, QUOTA, QuotaRule::EvictAudioFirst).unwrap();
    let before = messages(&mut outbox);
    let (torn_id, original) = before
        .iter()
        .find_map(|(id, m)| match m {
            Message::AudioChunk(c) if c.index == 1 => Some((*id, c.clone())),
            _ => None,
        })
        .expect("chunk 1");
    drop(outbox);
    // A power cut on storage that lied about its fsync: the file is cut short.
    let path = config.outbox.dir.join(format!("{:020}.qlm", torn_id.0));
    let len = std::fs::metadata(&path).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(len / 2)
        .unwrap();

    let (mut outbox, recovery) =
        Outbox::open(&config.outbox.dir, QUOTA, QuotaRule::EvictAudioFirst).unwrap();
    assert_eq!(recovery.quarantined, 1);
    let reported = outbox
        .report_losses(&config.vehicle.vin, 1_800_000_000_000)
        .unwrap();
    assert_eq!((reported.reported, reported.resent), (1, 1));
    let after = messages(&mut outbox);
    let remade = after
        .iter()
        .find_map(|(_, m)| match m {
            Message::AudioChunk(c) if c.index == 1 => Some(c.clone()),
            _ => None,
        })
        .expect("chunk 1 is pending again");
    assert_eq!(remade, original, "byte for byte the chunk that was torn");
    let report = after
        .iter()
        .find_map(|(_, m)| match m {
            Message::Loss(r) => Some(r.clone()),
            _ => None,
        })
        .expect("a loss report");
    assert_eq!(report.feedback_id, Some(committed.feedback_id));
    assert_eq!(report.lost, LostMessage::AudioChunk { index: 1 });
    assert!(report.resent);
    assert!(report.reason.contains("unreadable"), "{}", report.reason);
}

#[test]
fn a_torn_envelope_and_a_torn_draft_are_reported_with_their_feedback_ids() {
    let tmp = tempfile::tempdir().unwrap();
    let config = config(&tmp.path().join("outbox"));
    let capturer = capturer(&config);
    let committed = capturer
        .capture(CaptureRequest::transcript("the door handle is frozen"))
        .unwrap();
    let pending = capturer
        .accept(CaptureRequest::transcript("the lane assist pulls left"))
        .unwrap();
    let draft = config
        .outbox
        .dir
        .join("drafts")
        .join(format!("{}.qld", pending.feedback_id));
    let bytes = std::fs::read(&draft).unwrap();
    std::fs::write(&draft, &bytes[..bytes.len() - 3]).unwrap();
    let record = config
        .outbox
        .dir
        .join(format!("{:020}.qlm", committed.entries[0].0));
    let bytes = std::fs::read(&record).unwrap();
    std::fs::write(&record, &bytes[..60]).unwrap();

    let (mut outbox, recovery) =
        Outbox::open(&config.outbox.dir, QUOTA, QuotaRule::EvictAudioFirst).unwrap();
    assert_eq!(recovery.quarantined, 1);
    let finished = finish_drafts(&mut outbox, 1_800_000_000_000).unwrap();
    assert_eq!(finished.unreadable, 1);
    let reported = outbox
        .report_losses(&config.vehicle.vin, 1_800_000_000_000)
        .unwrap();
    assert_eq!(reported.reported, 2);
    let mut losses: Vec<(Option<Uuid>, LostMessage)> = messages(&mut outbox)
        .into_iter()
        .filter_map(|(_, m)| match m {
            Message::Loss(r) => Some((r.feedback_id, r.lost)),
            _ => None,
        })
        .collect();
    losses.sort_by_key(|(_, lost)| lost.as_str());
    assert_eq!(
        losses,
        [
            (Some(pending.feedback_id), LostMessage::Capture),
            (Some(committed.feedback_id), LostMessage::Feedback),
        ]
    );
    assert!(outbox.unreported_losses().is_empty());
}

/// The agent binary, started with its state in `dir` and no reachable broker
/// (the car is offline), a 5 s post-trigger window.
fn start_agent(dir: &Path) -> Child {
    let dead_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    Command::new(env!("CARGO_BIN_EXE_edge-agent"))
        .arg("run")
        .env("QLOOP_EDGE__OUTBOX__DIR", dir.join("outbox"))
        .env("QLOOP_EDGE__CONTROL__SOCKET", dir.join("edge.sock"))
        .env(
            "QLOOP_EDGE__BROKER__URL",
            format!("mqtt://127.0.0.1:{dead_port}"),
        )
        .env("QLOOP_EDGE__TELEMETRY__POST_WINDOW_MS", "5000")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("edge-agent starts")
}

async fn connect(socket: &Path) -> ControlClient {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match ControlClient::connect(socket).await {
            Ok(client) => return client,
            Err(e) if Instant::now() > deadline => panic!("control socket: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
}

#[tokio::test]
async fn a_kill_9_inside_the_post_trigger_window_loses_no_accepted_capture() {
    let tmp = tempfile::tempdir().unwrap();
    let socket = tmp.path().join("edge.sock");
    let mut agent = start_agent(tmp.path());
    let mut client = connect(&socket).await;
    let accepted = Arc::new(Mutex::new(Vec::new()));
    for words in ["the brakes grab on their own", "the steering went heavy"] {
        client
            .send(&ControlRequest::Trigger {
                transcript: Some(words.into()),
                confidence: Some(0.8),
                audio: None,
                trigger: Some("voice".into()),
            })
            .await
            .unwrap();
        let reply = tokio::time::timeout(Duration::from_secs(10), client.next())
            .await
            .unwrap()
            .unwrap();
        let ControlReply::Accepted { feedback_id } = reply else {
            panic!("expected accepted, got {reply:?}");
        };
        accepted.lock().unwrap().push(feedback_id);
    }
    // Killed inside the 5 s window, as when the driver switches the car off.
    agent.kill().unwrap();
    agent.wait().unwrap();

    // The agent comes back (still offline) and completes what it accepted.
    let _ = std::fs::remove_file(&socket);
    let mut agent = start_agent(tmp.path());
    let mut client = connect(&socket).await;
    client.send(&ControlRequest::Status).await.unwrap();
    let status = tokio::time::timeout(Duration::from_secs(10), client.next())
        .await
        .unwrap()
        .unwrap();
    let ControlReply::Status { outbox_entries, .. } = status else {
        panic!("expected status, got {status:?}");
    };
    assert_eq!(outbox_entries, 2);
    agent.kill().unwrap();
    agent.wait().unwrap();

    let (mut outbox, _) = Outbox::open(
        &tmp.path().join("outbox"),
        QUOTA,
        QuotaRule::EvictAudioFirst,
    )
    .unwrap();
    let mut sent: Vec<Uuid> = envelopes(&messages(&mut outbox))
        .into_iter()
        .inspect(|e| assert!(e.cut_short.is_some(), "{} not marked", e.feedback_id))
        .map(|e| e.feedback_id)
        .collect();
    sent.sort();
    let mut expected = accepted.lock().unwrap().clone();
    expected.sort();
    assert_eq!(sent, expected);
    assert!(outbox.drafts().pending().unwrap().is_empty());
    assert!(std::fs::read_dir(outbox.drafts().dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .all(|e| !e.file_name().to_string_lossy().ends_with(SOURCE_EXT)));
}
