//! Hostile length prefixes must not make `decode` allocate without bound.
//!
//! This binary installs a global allocator that records the largest single
//! allocation, then decodes tiny messages whose lengths claim 2^31 or 2^60
//! items or bytes. Its own binary, with one test, so no other test's
//! allocations mix into the measurement.

#![deny(clippy::undocumented_unsafe_blocks)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use qloop_protocol::{
    codec::MAX_DECODE_ALLOCATION_BYTES, decode, DecodeError, FORMAT_VERSION, MAGIC,
};

/// The system allocator, remembering the largest request it has seen.
struct LargestAllocation;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator.
unsafe impl GlobalAlloc for LargestAllocation {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller's guarantees for `layout` are passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System` through this allocator, with
        // `layout`; the caller's guarantees for `new_size` are passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: LargestAllocation = LargestAllocation;

/// bincode's variable-length integer, as its standard config writes lengths.
fn bincode_varint(n: u64) -> Vec<u8> {
    match n {
        0..=250 => vec![n as u8],
        251..=0xffff => [&[251u8][..], &(n as u16).to_le_bytes()].concat(),
        0x1_0000..=0xffff_ffff => [&[252u8][..], &(n as u32).to_le_bytes()].concat(),
        _ => [&[253u8][..], &n.to_le_bytes()].concat(),
    }
}

/// Header of `kind`, a 16-byte UUID, then `rest`: every body starts with an id
/// except the receipt's (which starts with a VIN string).
fn message(kind: u8, rest: &[u8]) -> Vec<u8> {
    [&MAGIC[..], &[FORMAT_VERSION, kind, 16], &[0xab; 16], rest].concat()
}

#[test]
fn lying_lengths_allocate_at_most_the_decode_limit() {
    let vin = [&[17u8][..], b"5YJ3E1EA7KF317000"].concat();
    let mut hostile = Vec::new();
    for claimed in [
        1u64 << 31,
        1 << 60,
        u64::MAX,
        MAX_DECODE_ALLOCATION_BYTES as u64 - 1,
    ] {
        let len = bincode_varint(claimed);
        // Feedback: the VIN string's length.
        hostile.push(message(1, &len));
        // Feedback: vehicle.software's entry count (after VIN, model "", year 0).
        hostile.push(message(1, &[&vin[..], &[0, 0], &len].concat()));
        // Audio chunk: the data's byte count (after VIN, index 0, total 1).
        hostile.push(message(2, &[&vin[..], &[0, 1], &len].concat()));
        // Event: the message text's length (after no feedback id, no case, kind 0).
        hostile.push(message(3, &[&[0u8, 0, 0][..], &len].concat()));
    }

    LARGEST.store(0, Ordering::Relaxed);
    for bytes in &hostile {
        let result = decode(bytes);
        assert!(
            matches!(result, Err(DecodeError::Body { .. })),
            "{result:?}"
        );
    }
    let largest = LARGEST.load(Ordering::Relaxed);
    assert!(largest > 0, "the probe saw no allocation at all");
    assert!(
        largest <= MAX_DECODE_ALLOCATION_BYTES,
        "one allocation of {largest} bytes while decoding messages of at most {} bytes",
        hostile.iter().map(Vec::len).max().unwrap()
    );
}
