//! `GET /ui/feedback/{id}/audio`: the stored clip behind the session, whole
//! or by HTTP Range, as `audio/wav`; 404 pages for a feedback without one.

use std::path::{Path, PathBuf};

use cloud_triage::store::{access::Role, AudioState};
use reqwest::{header, StatusCode};

use super::{plain, ui_support, Fleet};

/// A WAV clip on disk, as the ingest stores an inline one.
pub struct Clip {
    /// Where.
    pub path: PathBuf,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

impl Clip {
    /// The ingest's record of it.
    pub fn state(&self) -> AudioState {
        AudioState::Stored {
            path: self.path.display().to_string(),
            bytes: self.bytes.len() as u64,
        }
    }
}

/// A second of 16 kHz mono 440 Hz tone, `samples` long, written in `dir`.
pub fn wav_file(dir: &Path, samples: u32) -> Clip {
    let path = dir.join(format!("clip-{samples}.wav"));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(&path, spec).unwrap();
    for i in 0..samples {
        let phase = f64::from(i) * 440.0 * std::f64::consts::TAU / 16_000.0;
        writer.write_sample((phase.sin() * 8_000.0) as i16).unwrap();
    }
    writer.finalize().unwrap();
    let bytes = std::fs::read(&path).unwrap();
    Clip { path, bytes }
}

#[tokio::test]
async fn the_clip_is_served_whole_and_by_range_as_wav() {
    let ui = ui_support::serve_ui().await;
    let clip = wav_file(ui.dir.path(), 16_000);
    let fleet = Fleet::new(&ui.store, vec![]);
    let (id, _) = fleet.report(1, "listen to this", plain, clip.state()).await;
    let operator = ui_support::sign_in(&ui, Role::Operator, "olga").await;
    let url = format!("{}/ui/feedback/{id}/audio", ui.base);
    let client = reqwest::Client::new();

    let whole = client
        .get(&url)
        .header(header::COOKIE, &operator.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()[header::CONTENT_TYPE], "audio/wav");
    assert_eq!(whole.headers()[header::ACCEPT_RANGES], "bytes");
    assert_eq!(whole.bytes().await.unwrap(), clip.bytes);

    let part = client
        .get(&url)
        .header(header::COOKIE, &operator.cookie)
        .header(header::RANGE, "bytes=100-1099")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        part.headers()[header::CONTENT_RANGE].to_str().unwrap(),
        format!("bytes 100-1099/{}", clip.bytes.len())
    );
    assert_eq!(part.headers()[header::CONTENT_TYPE], "audio/wav");
    assert_eq!(part.bytes().await.unwrap(), clip.bytes[100..1100]);

    let beyond = client
        .get(&url)
        .header(header::COOKIE, &operator.cookie)
        .header(header::RANGE, format!("bytes={}-", clip.bytes.len() + 10))
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
}

#[tokio::test]
async fn no_clip_no_feedback_a_bad_id_or_no_session_is_refused() {
    let ui = ui_support::serve_ui().await;
    let fleet = Fleet::new(&ui.store, vec![]);
    let (silent, _) = fleet
        .report(1, "no recording", plain, AudioState::None)
        .await;
    let gone = wav_file(ui.dir.path(), 800);
    let (lost, _) = fleet.report(2, "clip deleted", plain, gone.state()).await;
    std::fs::remove_file(&gone.path).unwrap();
    let engineer = ui_support::sign_in(&ui, Role::Engineer, "alice").await;

    for id in [silent, lost, uuid::Uuid::now_v7()] {
        let page = engineer.get(&format!("/ui/feedback/{id}/audio")).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "{id}");
        assert_eq!(
            page.texts(".error"),
            [format!("an audio clip of feedback {id} not found")]
        );
    }
    let bad = engineer.get("/ui/feedback/not-a-uuid/audio").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let anonymous =
        ui_support::get_anonymous(&ui.base, &format!("/ui/feedback/{silent}/audio")).await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER, "sign in first");
}
