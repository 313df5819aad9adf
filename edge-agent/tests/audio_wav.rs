//! WAV acceptance: good clips pass with the right facts, every broken or
//! unsupported one gets its typed error, and none panics.

use edge_agent::{
    audio::{load_wav, validate_wav, AudioError},
    Config,
};

fn audio_config() -> edge_agent::config::AudioConfig {
    Config::embedded_default().unwrap().audio
}

fn wav(rate: u32, channels: u16, bits: u16, format: hound::SampleFormat, frames: u32) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: bits,
        sample_format: format,
    };
    let mut cursor = std::io::Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut cursor, spec).unwrap();
    for i in 0..frames * channels as u32 {
        match (format, bits) {
            (hound::SampleFormat::Float, _) => writer.write_sample(0.1f32).unwrap(),
            (_, 8) => writer.write_sample((i % 100) as i8).unwrap(),
            (_, 16) => writer.write_sample((i % 1000) as i16).unwrap(),
            _ => writer.write_sample(i as i32 % 1000).unwrap(),
        }
    }
    writer.finalize().unwrap();
    cursor.into_inner()
}

fn pcm16(rate: u32, channels: u16, frames: u32) -> Vec<u8> {
    wav(rate, channels, 16, hound::SampleFormat::Int, frames)
}

#[test]
fn a_16_bit_stereo_clip_is_accepted_with_its_rate_and_duration() {
    let bytes = pcm16(16_000, 2, 24_000);
    let clip = validate_wav(bytes.clone(), &audio_config()).unwrap();
    assert_eq!(
        (clip.sample_rate, clip.channels, clip.duration_ms),
        (16_000, 2, 1500)
    );
    assert_eq!(clip.bytes, bytes);
}

#[test]
fn a_clip_file_is_read_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clip.wav");
    std::fs::write(&path, pcm16(8_000, 1, 8_000)).unwrap();
    assert_eq!(load_wav(&path, &audio_config()).unwrap().duration_ms, 1000);
    let missing = load_wav(&dir.path().join("nope.wav"), &audio_config());
    assert!(matches!(missing, Err(AudioError::Io { .. })));
}

#[test]
fn float_8_bit_24_bit_and_odd_rates_are_unsupported() {
    let config = audio_config();
    for bytes in [
        wav(16_000, 1, 32, hound::SampleFormat::Float, 100),
        wav(16_000, 1, 8, hound::SampleFormat::Int, 100),
        wav(16_000, 1, 24, hound::SampleFormat::Int, 100),
        pcm16(12_345, 1, 100),
        pcm16(96_000, 1, 100),
        pcm16(16_000, 3, 100),
    ] {
        let err = validate_wav(bytes, &config).unwrap_err();
        assert!(matches!(err, AudioError::Unsupported(_)), "{err}");
    }
}

#[test]
fn a_clip_over_the_duration_limit_is_refused() {
    let mut config = audio_config();
    config.max_duration_s = 1;
    let err = validate_wav(pcm16(8_000, 1, 8_001 + 8_000 / 2), &config).unwrap_err();
    assert!(matches!(err, AudioError::TooLong { .. }), "{err}");
}

#[test]
fn truncated_data_is_reported_as_truncation() {
    let bytes = pcm16(16_000, 1, 1600);
    for cut in [10, 1000, 3199] {
        let short = bytes[..bytes.len() - cut].to_vec();
        let err = validate_wav(short, &audio_config()).unwrap_err();
        assert!(matches!(err, AudioError::Truncated(_)), "cut {cut}: {err}");
    }
}

#[test]
fn garbage_and_cut_headers_are_malformed_not_panics() {
    let good = pcm16(16_000, 1, 100);
    let mut inputs: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"RIFF".to_vec(),
        b"not a wav file at all, just text".to_vec(),
        good[..30].to_vec(),
    ];
    let mut wrong_magic = good.clone();
    wrong_magic[8..12].copy_from_slice(b"AVI ");
    inputs.push(wrong_magic);
    for bytes in inputs {
        let err = validate_wav(bytes, &audio_config()).unwrap_err();
        assert!(
            matches!(err, AudioError::Malformed(_) | AudioError::Truncated(_)),
            "{err}"
        );
    }
}

#[test]
fn a_header_that_claims_a_giant_data_chunk_cannot_force_an_allocation() {
    let mut bytes = pcm16(16_000, 1, 100);
    // data chunk size at offset 40 in hound's canonical header: claim 2 GiB.
    bytes[40..44].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
    let err = validate_wav(bytes, &audio_config()).unwrap_err();
    assert!(
        matches!(
            err,
            AudioError::TooLong { .. } | AudioError::Truncated(_) | AudioError::Malformed(_)
        ),
        "{err}"
    );
}

#[test]
fn a_file_larger_than_any_allowed_clip_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.wav");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(1 << 32).unwrap(); // sparse 4 GiB
    let err = load_wav(&path, &audio_config()).unwrap_err();
    assert!(matches!(err, AudioError::TooLarge { .. }), "{err}");
}
