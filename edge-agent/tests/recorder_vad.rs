//! Recording from the microphone, played from a WAV file of real synthetic
//! speech (espeak-ng): 0.5 s silence, a sentence, 2 s silence, a second
//! sentence, 0.5 s silence. The recording starts at the first word, ends on
//! the silence after it, keeps a short pre-roll, stops at the cap, and
//! reports "no speech" for silence.

use std::path::PathBuf;

use edge_agent::recorder::{
    record_utterance, AudioSource, Ended, RecordLimits, SourceError, WavSource, FRAME,
};

fn clip() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/utterance-pause-utterance.wav")
}

fn seconds(r: &edge_agent::recorder::Recording) -> f64 {
    r.samples.len() as f64 / 16_000.0
}

#[test]
fn the_recording_ends_on_the_silence_after_the_first_sentence() {
    let limits = RecordLimits {
        end_silence_ms: 800,
        ..RecordLimits::default()
    };
    let r = record_utterance(&mut WavSource::open(&clip()).unwrap(), &limits).unwrap();
    assert_eq!(r.ended, Ended::Silence);
    // The first sentence runs from 0.5 s to about 3.2 s of the file; the
    // recording starts at most the pre-roll before it and ends about 0.8 s
    // after it, well before the second sentence at 5.4 s.
    let secs = seconds(&r);
    assert!((2.6..=4.6).contains(&secs), "{secs} s");
    assert!(
        r.speech_frames > 60,
        "a sentence is many speech frames: {}",
        r.speech_frames
    );
    let wav = r.to_wav();
    let back = hound::WavReader::new(std::io::Cursor::new(wav)).unwrap();
    assert_eq!(
        (
            back.spec().sample_rate,
            back.spec().channels,
            back.duration() as usize
        ),
        (16_000, 1, r.samples.len())
    );
}

#[test]
fn a_long_end_silence_keeps_both_sentences_and_the_cap_cuts_exactly() {
    let patient = RecordLimits {
        end_silence_ms: 3_000,
        ..RecordLimits::default()
    };
    let both = record_utterance(&mut WavSource::open(&clip()).unwrap(), &patient).unwrap();
    assert_eq!(
        both.ended,
        Ended::EndOfInput,
        "the 2 s pause does not end it"
    );
    assert!(seconds(&both) > 6.5, "{}", seconds(&both));
    let capped = RecordLimits {
        max_ms: 2_000,
        ..RecordLimits::default()
    };
    let r = record_utterance(&mut WavSource::open(&clip()).unwrap(), &capped).unwrap();
    assert_eq!(r.ended, Ended::Cap);
    assert_eq!(
        r.samples.len(),
        2_000usize.div_ceil(16) * FRAME,
        "2 s in whole frames"
    );
}

/// A source of pure silence (or low noise) that never ends on its own.
struct Hiss(u64);
impl AudioSource for Hiss {
    fn read_frame(&mut self, frame: &mut [i16; FRAME]) -> Result<bool, SourceError> {
        for s in frame.iter_mut() {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *s = (self.0 % 64) as i16 - 32;
        }
        Ok(true)
    }
}

#[test]
fn nobody_speaking_ends_at_the_start_timeout_with_nothing_recorded() {
    let limits = RecordLimits {
        start_timeout_ms: 2_000,
        ..RecordLimits::default()
    };
    let r = record_utterance(&mut Hiss(0x9E37_79B9), &limits).unwrap();
    assert_eq!(
        (r.ended, r.samples.len(), r.speech_frames),
        (Ended::NoSpeech, 0, 0)
    );
}

#[test]
fn wrong_formats_and_bad_limits_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stereo.wav");
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: 44_100,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    w.write_sample(0i16).unwrap();
    w.write_sample(0i16).unwrap();
    w.finalize().unwrap();
    let err = WavSource::open(&path).err().unwrap().to_string();
    assert!(err.contains("16 kHz mono"), "{err}");
    assert!(WavSource::open(&dir.path().join("absent.wav")).is_err());
    for bad in [
        RecordLimits {
            max_ms: 10,
            ..RecordLimits::default()
        },
        RecordLimits {
            threshold: 1.5,
            ..RecordLimits::default()
        },
        RecordLimits {
            end_silence_ms: 50,
            ..RecordLimits::default()
        },
    ] {
        assert!(bad.validate().is_err(), "{bad:?}");
    }
    assert!(RecordLimits::default().validate().is_ok());
}
