//! What [`AudioCodec::Wav`](crate::AudioCodec::Wav) means on the wire: a
//! complete RIFF/WAVE file of 16-bit integer PCM with every sample its
//! header declares. The car checks a clip with it before sending, the
//! cloud checks what arrives (inline, or reassembled from chunks) before
//! storing it; each adds its own limits (rates, channels, length).
//!
//! Hostile input is refused with an error, never a panic, and costs no
//! allocation beyond the bytes given: the samples are counted, not kept.

use std::io::Cursor;

use thiserror::Error;

/// Why bytes are not a WAV clip qloop carries.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum WavError {
    /// Not a WAV file, or a broken header.
    #[error("not a valid WAV file: {0}")]
    Malformed(String),
    /// A WAV of a sample format qloop does not carry.
    #[error("unsupported WAV format: {0}")]
    Unsupported(String),
    /// The data ends before the header says it does.
    #[error("WAV data is truncated: {0}")]
    Truncated(String),
}

/// The format of a clip, as its header declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavFormat {
    /// Samples per second.
    pub sample_rate: u32,
    /// Interleaved channels.
    pub channels: u16,
    /// Samples per channel.
    pub frames: u32,
}

impl WavFormat {
    /// The clip's length, ms (rounded down; 0 for a rate of 0).
    pub fn duration_ms(&self) -> u64 {
        u64::from(self.frames) * 1000 / u64::from(self.sample_rate.max(1))
    }
}

fn reader(bytes: &[u8]) -> Result<hound::WavReader<Cursor<&[u8]>>, WavError> {
    hound::WavReader::new(Cursor::new(bytes)).map_err(|e| WavError::Malformed(e.to_string()))
}

/// Reads the header only: a RIFF/WAVE file of 16-bit integer PCM.
/// Cheap whatever the file's length; use it to apply limits before
/// [`check_wav`] reads the samples.
pub fn read_format(bytes: &[u8]) -> Result<WavFormat, WavError> {
    let reader = reader(bytes)?;
    let spec = reader.spec();
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        return Err(WavError::Unsupported(format!(
            "{:?} {}-bit samples (need 16-bit integer PCM)",
            spec.sample_format, spec.bits_per_sample
        )));
    }
    Ok(WavFormat {
        sample_rate: spec.sample_rate,
        channels: spec.channels,
        frames: reader.duration(),
    })
}

/// The header as in [`read_format`], and every sample it declares present.
pub fn check_wav(bytes: &[u8]) -> Result<WavFormat, WavError> {
    let format = read_format(bytes)?;
    let mut reader = reader(bytes)?;
    let declared = reader.len();
    let mut read = 0u32;
    for sample in reader.samples::<i16>() {
        sample
            .map_err(|e| WavError::Truncated(format!("{e} after {read} of {declared} samples")))?;
        read += 1;
    }
    if read != declared {
        return Err(WavError::Truncated(format!(
            "{read} of {declared} samples present"
        )));
    }
    Ok(format)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(
        rate: u32,
        channels: u16,
        bits: u16,
        format: hound::SampleFormat,
        frames: u32,
    ) -> Vec<u8> {
        let spec = hound::WavSpec {
            channels,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: format,
        };
        let mut cursor = Cursor::new(Vec::new());
        let mut writer = hound::WavWriter::new(&mut cursor, spec).unwrap();
        for i in 0..frames * u32::from(channels) {
            match (format, bits) {
                (hound::SampleFormat::Float, _) => writer.write_sample(0.25f32).unwrap(),
                (_, 8) => writer.write_sample((i % 100) as i8).unwrap(),
                (_, 16) => writer.write_sample((i % 1000) as i16).unwrap(),
                _ => writer.write_sample((i % 1000) as i32).unwrap(),
            }
        }
        writer.finalize().unwrap();
        cursor.into_inner()
    }

    fn pcm16(rate: u32, channels: u16, frames: u32) -> Vec<u8> {
        wav(rate, channels, 16, hound::SampleFormat::Int, frames)
    }

    #[test]
    fn a_whole_16_bit_clip_reports_its_format_and_length() {
        let format = check_wav(&pcm16(16_000, 2, 8_000)).unwrap();
        assert_eq!(
            format,
            WavFormat {
                sample_rate: 16_000,
                channels: 2,
                frames: 8_000
            }
        );
        assert_eq!(format.duration_ms(), 500);
        assert_eq!(
            read_format(&pcm16(44_100, 1, 44_100))
                .unwrap()
                .duration_ms(),
            1000
        );
    }

    #[test]
    fn other_sample_formats_are_unsupported_and_say_what_is_needed() {
        for bytes in [
            wav(16_000, 1, 32, hound::SampleFormat::Float, 10),
            wav(16_000, 1, 8, hound::SampleFormat::Int, 10),
            wav(16_000, 1, 24, hound::SampleFormat::Int, 10),
        ] {
            let err = check_wav(&bytes).unwrap_err();
            assert!(matches!(err, WavError::Unsupported(_)), "{err}");
            assert!(err.to_string().contains("need 16-bit integer PCM"), "{err}");
        }
    }

    #[test]
    fn cut_data_is_truncation_but_the_header_alone_still_reads() {
        let bytes = pcm16(16_000, 1, 1600);
        for cut in [1, 2, 10, 1000, 3199] {
            let short = &bytes[..bytes.len() - cut];
            assert!(read_format(short).is_ok(), "cut {cut}: the header is whole");
            let err = check_wav(short).unwrap_err();
            assert!(matches!(err, WavError::Truncated(_)), "cut {cut}: {err}");
        }
    }

    #[test]
    fn garbage_and_cut_headers_are_malformed_not_panics() {
        let good = pcm16(16_000, 1, 100);
        let mut wrong_magic = good.clone();
        wrong_magic[8..12].copy_from_slice(b"AVI ");
        let noise: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for bytes in [
            Vec::new(),
            b"RIFF".to_vec(),
            b"RIFF\x24\x00\x00\x00WAVEfmt ".to_vec(),
            b"not a wav file at all, just text".to_vec(),
            good[..30].to_vec(),
            wrong_magic,
            noise,
        ] {
            let err = check_wav(&bytes).unwrap_err();
            assert!(
                matches!(err, WavError::Malformed(_) | WavError::Truncated(_)),
                "{err}"
            );
        }
    }

    #[test]
    fn a_header_that_claims_a_giant_data_chunk_is_truncated_without_allocating() {
        let mut bytes = pcm16(16_000, 1, 100);
        // The data chunk's size at offset 40 of hound's canonical header: 2 GiB.
        bytes[40..44].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
        let format = read_format(&bytes).unwrap();
        assert!(format.duration_ms() > 60_000, "the header lies: {format:?}");
        let err = check_wav(&bytes).unwrap_err();
        assert!(matches!(err, WavError::Truncated(_)), "{err}");
    }

    #[test]
    fn every_prefix_of_a_clip_is_refused_cleanly() {
        let bytes = pcm16(8_000, 1, 20);
        for end in 0..bytes.len() {
            assert!(check_wav(&bytes[..end]).is_err(), "prefix of {end} bytes");
        }
        assert!(check_wav(&bytes).is_ok());
    }
}
