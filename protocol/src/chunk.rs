//! Audio that does not fit one MQTT message travels as numbered chunks that
//! the cloud reassembles and checks against the envelope's CRC-32.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{envelope::AudioPayload, error::ValidationError};

/// Audio bytes per chunk: 96 KiB leaves room for the header and ids inside
/// the 128 KiB message limit.
pub const CHUNK_DATA_BYTES: usize = 96 * 1024;

/// Most chunks one feedback may announce (96 MiB at the default chunk size,
/// far above any audio limit), so a hostile count cannot size an allocation.
pub const MAX_CHUNKS: u32 = 1024;

/// One piece of a feedback's audio.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioChunk {
    /// The feedback the audio belongs to.
    pub feedback_id: Uuid,
    /// The sending vehicle's VIN (checked against the topic).
    pub vin: String,
    /// Zero-based position.
    pub index: u32,
    /// Number of chunks in all.
    pub total: u32,
    /// The bytes.
    #[serde(with = "serde_bytes")]
    pub data: Vec<u8>,
}

/// Splits `audio` into chunks of at most `chunk_bytes` and returns the payload
/// description for the envelope together with the chunks.
pub fn split_audio(
    feedback_id: Uuid,
    vin: &str,
    audio: &[u8],
    chunk_bytes: usize,
) -> (AudioPayload, Vec<AudioChunk>) {
    let chunk_bytes = chunk_bytes.max(1);
    let mut pieces: Vec<&[u8]> = audio.chunks(chunk_bytes).collect();
    if pieces.is_empty() {
        // Empty audio still travels as one empty chunk: zero chunks is what
        // validation and reassembly refuse.
        pieces.push(&[]);
    }
    let total = pieces.len() as u32;
    let chunks = pieces
        .into_iter()
        .enumerate()
        .map(|(i, data)| AudioChunk {
            feedback_id,
            vin: vin.to_string(),
            index: i as u32,
            total,
            data: data.to_vec(),
        })
        .collect();
    let payload = AudioPayload::Chunked {
        chunks: total,
        total_bytes: audio.len() as u32,
        crc32: crc32fast::hash(audio),
    };
    (payload, chunks)
}

/// Collects chunks in any order (duplicates allowed) and yields the audio once
/// all have arrived and the CRC matches. Memory is bounded by `total_bytes`,
/// which the caller has validated against its limit.
#[derive(Debug)]
pub struct AudioReassembly {
    chunks: u32,
    total_bytes: u32,
    crc32: u32,
    parts: Vec<Option<Vec<u8>>>,
    received_bytes: usize,
}

impl AudioReassembly {
    /// Starts a reassembly for a `Chunked` payload; `max_bytes` bounds memory.
    pub fn new(payload: &AudioPayload, max_bytes: usize) -> Result<Self, ValidationError> {
        let AudioPayload::Chunked {
            chunks,
            total_bytes,
            crc32,
        } = *payload
        else {
            return Err(ValidationError::Inconsistent(
                "audio is inline, not chunked".into(),
            ));
        };
        if total_bytes as usize > max_bytes {
            return Err(ValidationError::TooLong {
                field: "audio.total_bytes",
                len: total_bytes as usize,
                max: max_bytes,
            });
        }
        if chunks == 0 || chunks > MAX_CHUNKS || chunks > total_bytes.max(1) {
            return Err(ValidationError::Inconsistent(format!(
                "{chunks} chunks for {total_bytes} bytes"
            )));
        }
        Ok(Self {
            chunks,
            total_bytes,
            crc32,
            parts: vec![None; chunks as usize],
            received_bytes: 0,
        })
    }

    /// Adds one chunk; returns true when every chunk is present.
    pub fn insert(&mut self, index: u32, data: Vec<u8>) -> Result<bool, ValidationError> {
        if index >= self.chunks {
            return Err(ValidationError::Inconsistent(format!(
                "chunk {index} of {}",
                self.chunks
            )));
        }
        let slot = &mut self.parts[index as usize];
        if slot.is_none() {
            if self.received_bytes + data.len() > self.total_bytes as usize {
                return Err(ValidationError::Inconsistent(format!(
                    "chunks exceed the announced {} bytes",
                    self.total_bytes
                )));
            }
            self.received_bytes += data.len();
            *slot = Some(data);
        }
        Ok(self.is_complete())
    }

    /// True when every chunk has arrived.
    pub fn is_complete(&self) -> bool {
        self.parts.iter().all(Option::is_some)
    }

    /// Indices still missing.
    pub fn missing(&self) -> Vec<u32> {
        (0..self.chunks)
            .filter(|i| self.parts[*i as usize].is_none())
            .collect()
    }

    /// The reassembled audio, checked for length and CRC.
    pub fn finish(self) -> Result<Vec<u8>, ValidationError> {
        if !self.is_complete() {
            return Err(ValidationError::Inconsistent(format!(
                "audio incomplete: missing chunks {:?}",
                self.missing()
            )));
        }
        let mut out = Vec::with_capacity(self.total_bytes as usize);
        for part in self.parts.into_iter().flatten() {
            out.extend_from_slice(&part);
        }
        if out.len() != self.total_bytes as usize {
            return Err(ValidationError::Inconsistent(format!(
                "reassembled {} bytes, envelope says {}",
                out.len(),
                self.total_bytes
            )));
        }
        if crc32fast::hash(&out) != self.crc32 {
            return Err(ValidationError::Inconsistent(
                "audio CRC-32 mismatch".into(),
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_reassemble_in_any_order_with_duplicates() {
        let audio: Vec<u8> = (0..250_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let (payload, chunks) = split_audio(Uuid::nil(), "V", &audio, CHUNK_DATA_BYTES);
        assert_eq!(chunks.len(), 3);
        let mut r = AudioReassembly::new(&payload, 1 << 20).unwrap();
        assert!(!r.insert(2, chunks[2].data.clone()).unwrap());
        assert!(!r.insert(2, chunks[2].data.clone()).unwrap());
        assert!(!r.insert(0, chunks[0].data.clone()).unwrap());
        assert_eq!(r.missing(), vec![1]);
        assert!(r.insert(1, chunks[1].data.clone()).unwrap());
        assert_eq!(r.finish().unwrap(), audio);
    }

    #[test]
    fn corrupted_chunk_fails_the_crc() {
        let audio = vec![5u8; 200_000];
        let (payload, mut chunks) = split_audio(Uuid::nil(), "V", &audio, CHUNK_DATA_BYTES);
        chunks[1].data[10] ^= 0xff;
        let mut r = AudioReassembly::new(&payload, 1 << 20).unwrap();
        for c in chunks {
            r.insert(c.index, c.data).unwrap();
        }
        assert!(r.finish().is_err());
    }

    #[test]
    fn announced_size_over_the_limit_is_refused_before_allocating() {
        let payload = AudioPayload::Chunked {
            chunks: 1,
            total_bytes: u32::MAX,
            crc32: 0,
        };
        assert!(AudioReassembly::new(&payload, 8 << 20).is_err());
        let payload = AudioPayload::Chunked {
            chunks: u32::MAX,
            total_bytes: 10,
            crc32: 0,
        };
        assert!(AudioReassembly::new(&payload, 8 << 20).is_err());
    }
}
