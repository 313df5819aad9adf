//! Messages of one chunked clip handled at the same time (issue 21, item
//! 4.2: "audio file …/chunk-0000: No such file or directory", once in a
//! kill -9 campaign, gone on retry).
//!
//! The ingest pipeline runs several handlers at once, and after a restart
//! the broker redelivers whatever was not acknowledged: the last chunk, the
//! envelope, a chunk the car sent twice. Each of them finds every chunk in
//! and reassembles the clip. Every delivery here must succeed the first
//! time, leave one whole clip, and leave no chunk files behind.

#[path = "store_suite/support.rs"]
#[allow(dead_code)]
mod support;

use std::{path::Path, sync::Arc};

use cloud_triage::{audio::AudioFiles, ingest::IngestHandler};
use qloop_protocol::{
    encode, split_audio, topic::feedback_topic, AudioClip, AudioCodec, FeedbackEnvelope, Message,
};
use uuid::Uuid;

use support::{envelope, TestDb, VIN};

/// Feedbacks raced per backend; the race was lost in most of them before the fix.
const ROUNDS: usize = 30;
/// Bytes per chunk: a 0.2 s clip makes 7 chunks.
const CHUNK_BYTES: usize = 1_000;

/// A 0.2 s, 16 kHz mono, 16-bit WAV file that differs per `seed`.
fn wav(seed: usize) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut out = std::io::Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut out, spec).unwrap();
    for i in 0..3_200 {
        writer
            .write_sample(((i * (seed + 3)) % 4_000) as i16 - 2_000)
            .unwrap();
    }
    writer.finalize().unwrap();
    out.into_inner()
}

/// An envelope announcing `clip` in chunks, and the chunk messages.
fn chunked_feedback(clip: &[u8]) -> (FeedbackEnvelope, Vec<Vec<u8>>) {
    let mut env = envelope(VIN, "the wipers squeak");
    let (payload, chunks) = split_audio(env.feedback_id, VIN, clip, CHUNK_BYTES);
    env.audio = Some(AudioClip {
        codec: AudioCodec::Wav,
        sample_rate: 16_000,
        channels: 1,
        duration_ms: 200,
        payload,
    });
    let chunks = chunks
        .into_iter()
        .map(|c| encode(&Message::AudioChunk(c)))
        .collect();
    (env, chunks)
}

/// Handles every message in `batch` at once, each on its own task; the
/// errors, if any.
async fn all_at_once(handler: &IngestHandler, batch: &[&Vec<u8>]) -> Vec<String> {
    let tasks: Vec<_> = batch
        .iter()
        .map(|payload| {
            let (handler, payload) = (handler.clone(), (*payload).clone());
            tokio::spawn(async move { handler.handle(&feedback_topic(VIN), &payload).await })
        })
        .collect();
    let mut errors = Vec::new();
    for task in tasks {
        if let Err(e) = task.await.unwrap() {
            errors.push(e.to_string());
        }
    }
    errors
}

/// Files left in the audio directory of `feedback_id` (its chunks).
fn chunk_files(audio_dir: &Path, feedback_id: Uuid) -> Vec<String> {
    match std::fs::read_dir(audio_dir.join("audio").join(feedback_id.to_string())) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// The envelope and all but the last chunk arrive; then the last chunk,
/// the same chunk again and the envelope again are handled at once (the
/// redeliveries after a restart); then an early chunk comes once more.
async fn redelivered_chunks_and_envelope_handled_at_once_store_one_clip(db: &TestDb) {
    let audio_dir = tempfile::tempdir().unwrap();
    let handler = IngestHandler::new(
        db.store.clone(),
        AudioFiles::new(audio_dir.path()).unwrap(),
        Arc::default(),
    );
    let topic = feedback_topic(VIN);
    let (mut errors, mut leftovers) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        let clip = wav(round);
        let (env, chunks) = chunked_feedback(&clip);
        let envelope = encode(&Message::Feedback(Box::new(env.clone())));
        handler.handle(&topic, &envelope).await.unwrap();
        let (last, first) = (chunks.last().unwrap(), chunks.first().unwrap());
        for chunk in &chunks[..chunks.len() - 1] {
            handler.handle(&topic, chunk).await.unwrap();
        }

        for e in all_at_once(&handler, &[last, last, &envelope]).await {
            errors.push(format!("round {round}: {e}"));
        }
        // A chunk the car sent again arrives after the clip is whole.
        if let Err(e) = handler.handle(&topic, first).await {
            errors.push(format!("round {round}, late chunk: {e}"));
        }

        let fb = db
            .store
            .get_feedback(env.feedback_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(fb.audio.status, "complete", "round {round}");
        let path = fb.audio.path.expect("a complete clip has a path");
        assert_eq!(std::fs::read(&path).unwrap(), clip, "round {round}");
        let left = chunk_files(audio_dir.path(), env.feedback_id);
        if !left.is_empty() {
            leftovers.push(format!("round {round}: {left:?}"));
        }
    }
    assert!(
        errors.is_empty(),
        "{} of {} deliveries failed:\n{}",
        errors.len(),
        ROUNDS * 4,
        errors.join("\n")
    );
    assert!(
        leftovers.is_empty(),
        "chunk files left behind after the clip was whole:\n{}",
        leftovers.join("\n")
    );
}
on_both_backends!(redelivered_chunks_and_envelope_handled_at_once_store_one_clip);

/// Two chunks complete the clip at the same time: both are recorded before
/// either checks, so both reassemble.
async fn the_last_two_chunks_handled_at_once_store_one_clip(db: &TestDb) {
    let audio_dir = tempfile::tempdir().unwrap();
    let handler = IngestHandler::new(
        db.store.clone(),
        AudioFiles::new(audio_dir.path()).unwrap(),
        Arc::default(),
    );
    let topic = feedback_topic(VIN);
    let mut errors = Vec::new();
    for round in 0..ROUNDS {
        let clip = wav(round);
        let (env, chunks) = chunked_feedback(&clip);
        let envelope = encode(&Message::Feedback(Box::new(env.clone())));
        handler.handle(&topic, &envelope).await.unwrap();
        let n = chunks.len();
        for chunk in &chunks[..n - 2] {
            handler.handle(&topic, chunk).await.unwrap();
        }
        for e in all_at_once(&handler, &[&chunks[n - 2], &chunks[n - 1]]).await {
            errors.push(format!("round {round}: {e}"));
        }
        let fb = db
            .store
            .get_feedback(env.feedback_id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(fb.audio.status, "complete", "round {round}");
        assert_eq!(std::fs::read(fb.audio.path.unwrap()).unwrap(), clip);
        assert_eq!(
            chunk_files(audio_dir.path(), env.feedback_id),
            Vec::<String>::new()
        );
    }
    assert!(
        errors.is_empty(),
        "{} of {} concurrent deliveries failed:\n{}",
        errors.len(),
        ROUNDS * 2,
        errors.join("\n")
    );
}
on_both_backends!(the_last_two_chunks_handled_at_once_store_one_clip);

/// Two processes on one audio directory (two `AudioFiles`, so no lock in
/// common) write the same chunk and reassemble the same clip at once: each
/// write and each reassembly succeeds, and the clip is whole.
#[test]
fn two_writers_without_a_common_lock_write_and_reassemble_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let limits = qloop_protocol::Limits::default();
    let mut errors = Vec::new();
    for round in 0..ROUNDS * 4 {
        let clip = wav(round);
        let feedback_id = Uuid::now_v7();
        let (payload, chunks) = split_audio(feedback_id, VIN, &clip, CHUNK_BYTES);
        let processes = [
            AudioFiles::new(dir.path()).unwrap(),
            AudioFiles::new(dir.path()).unwrap(),
        ];
        let mut paths = Vec::new();
        for c in &chunks[..chunks.len() - 1] {
            let path = processes[0]
                .write_chunk(feedback_id, c.index, &c.data)
                .unwrap();
            paths.push((c.index, path.display().to_string()));
        }
        let last = chunks.last().unwrap();
        let start = std::sync::Barrier::new(2);
        let results: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = processes
                .iter()
                .map(|files| {
                    let (start, payload, limits) = (&start, &payload, &limits);
                    let mut paths = paths.clone();
                    s.spawn(move || {
                        start.wait();
                        let path = files.write_chunk(feedback_id, last.index, &last.data)?;
                        paths.push((last.index, path.display().to_string()));
                        files.assemble(feedback_id, payload, &paths, limits)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for result in results {
            match result {
                Ok((path, bytes)) => {
                    assert_eq!(bytes, clip.len() as u64);
                    assert_eq!(std::fs::read(path).unwrap(), clip);
                }
                Err(e) => errors.push(format!("round {round}: {e}")),
            }
        }
    }
    assert!(
        errors.is_empty(),
        "{} of {} writes and reassemblies failed:\n{}",
        errors.len(),
        ROUNDS * 8,
        errors.join("\n")
    );
}
