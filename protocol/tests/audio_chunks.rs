//! `split_audio` and `AudioReassembly`: any audio, split at any chunk size and
//! delivered shuffled with duplicates, comes back byte for byte; missing,
//! foreign or oversized chunks are refused.

use proptest::collection::vec;
use proptest::prelude::*;
use qloop_protocol::{
    chunk::{CHUNK_DATA_BYTES, MAX_CHUNKS},
    decode, encode, split_audio, AudioPayload, AudioReassembly, Limits, Message, ValidationError,
    MAX_MESSAGE_BYTES,
};
use uuid::Uuid;

const VIN: &str = "5YJ3E1EA7KF317000";

/// Audio up to 8 KiB and a chunk size that keeps the count within `MAX_CHUNKS`.
fn audio_and_chunk_size() -> impl Strategy<Value = (Vec<u8>, usize)> {
    vec(any::<u8>(), 0..8192).prop_flat_map(|audio| {
        let smallest = audio.len().div_ceil(MAX_CHUNKS as usize).max(1);
        let chunk_size = smallest..=audio.len().max(1) + 16;
        (Just(audio), chunk_size)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_audio_split_shuffled_and_duplicated_reassembles_to_the_original(
        (audio, chunk_size) in audio_and_chunk_size(),
        duplicates in vec(any::<prop::sample::Index>(), 0..8),
        seed in any::<u64>(),
    ) {
        let (payload, chunks) = split_audio(Uuid::nil(), VIN, &audio, chunk_size);
        let AudioPayload::Chunked { chunks: count, total_bytes, .. } = payload else { panic!("inline payload") };
        prop_assert_eq!(count as usize, chunks.len());
        prop_assert_eq!(total_bytes as usize, audio.len());
        for chunk in &chunks {
            prop_assert!(chunk.data.len() <= chunk_size);
            prop_assert_eq!(chunk.total, count);
            prop_assert_eq!(Limits::default().check_chunk(chunk), Ok(()));
        }

        let mut delivery: Vec<_> = chunks.clone();
        for d in &duplicates {
            delivery.push(chunks[d.index(chunks.len())].clone());
        }
        shuffle(&mut delivery, seed);

        let mut reassembly = AudioReassembly::new(&payload, 1 << 20).unwrap();
        let mut completed_at = None;
        for (i, chunk) in delivery.iter().enumerate() {
            if reassembly.insert(chunk.index, chunk.data.clone()).unwrap() && completed_at.is_none() {
                completed_at = Some(i);
            }
        }
        prop_assert!(completed_at.is_some());
        prop_assert!(reassembly.missing().is_empty());
        prop_assert_eq!(reassembly.finish().unwrap(), audio);
    }

    #[test]
    fn any_missing_chunk_is_named_and_blocks_the_result(
        (audio, chunk_size) in audio_and_chunk_size(),
        skip in any::<prop::sample::Index>(),
    ) {
        let (payload, chunks) = split_audio(Uuid::nil(), VIN, &audio, chunk_size);
        let skipped = skip.index(chunks.len()) as u32;
        let mut reassembly = AudioReassembly::new(&payload, 1 << 20).unwrap();
        for chunk in chunks.iter().filter(|c| c.index != skipped) {
            prop_assert!(!reassembly.insert(chunk.index, chunk.data.clone()).unwrap());
        }
        prop_assert_eq!(reassembly.missing(), vec![skipped]);
        prop_assert!(reassembly.finish().is_err());
    }
}

/// Fisher–Yates with a small xorshift generator, so the order is reproducible.
fn shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed | 1;
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        items.swap(i, (state % (i as u64 + 1)) as usize);
    }
}

#[test]
fn empty_audio_splits_into_one_empty_chunk_that_reassembles() {
    let (payload, chunks) = split_audio(Uuid::nil(), VIN, &[], CHUNK_DATA_BYTES);
    assert_eq!(
        payload,
        AudioPayload::Chunked {
            chunks: 1,
            total_bytes: 0,
            crc32: 0
        }
    );
    assert_eq!(chunks.len(), 1);
    let mut reassembly = AudioReassembly::new(&payload, 1 << 20).unwrap();
    assert!(reassembly.insert(0, Vec::new()).unwrap());
    assert_eq!(reassembly.finish().unwrap(), Vec::<u8>::new());
}

#[test]
fn full_size_chunks_fit_the_broker_limit() {
    let audio = vec![0xa5; CHUNK_DATA_BYTES * 2 + 1];
    let (_, chunks) = split_audio(Uuid::now_v7(), VIN, &audio, CHUNK_DATA_BYTES);
    for chunk in chunks {
        let bytes = encode(&Message::AudioChunk(chunk.clone()));
        assert!(bytes.len() <= MAX_MESSAGE_BYTES, "{} bytes", bytes.len());
        assert_eq!(decode(&bytes), Ok(Message::AudioChunk(chunk)));
    }
}

#[test]
fn a_chunk_larger_than_announced_is_refused() {
    let (payload, _) = split_audio(Uuid::nil(), VIN, &[1, 2, 3, 4], 2);
    let mut reassembly = AudioReassembly::new(&payload, 1 << 20).unwrap();
    assert!(matches!(
        reassembly.insert(0, vec![0; 5]),
        Err(ValidationError::Inconsistent(_))
    ));
}

#[test]
fn a_chunk_index_past_the_count_is_refused() {
    let (payload, _) = split_audio(Uuid::nil(), VIN, &[1, 2, 3, 4], 2);
    let mut reassembly = AudioReassembly::new(&payload, 1 << 20).unwrap();
    assert_eq!(
        reassembly.insert(2, vec![1]),
        Err(ValidationError::Inconsistent("chunk 2 of 2".into()))
    );
}

#[test]
fn audio_over_the_memory_bound_is_refused_at_the_start() {
    let (payload, _) = split_audio(Uuid::nil(), VIN, &[0; 100], 10);
    assert!(matches!(
        AudioReassembly::new(&payload, 99),
        Err(ValidationError::TooLong { .. })
    ));
    assert!(AudioReassembly::new(&payload, 100).is_ok());
}

#[test]
fn inline_audio_cannot_start_a_reassembly() {
    assert!(AudioReassembly::new(&AudioPayload::Inline(vec![1]), 1 << 20).is_err());
}
