//! Decoding one frame's payload with a [`MessageLayout`], with cantools'
//! semantics: a payload shorter than the message is an error ("Wrong data
//! size"), a longer one is decoded from its first bytes; a multiplexor whose
//! value selects none of its signals is an error ("expected multiplexer id");
//! physical value = raw × factor + offset, computed in `f64` as Python does.

use super::layout::{MessageLayout, RawKind, SignalLayout};

/// Decodes `data` into `(signal name, physical value)` pairs in DBC order.
pub fn decode_message(layout: &MessageLayout, data: &[u8]) -> Result<Vec<(String, f64)>, String> {
    if data.len() < layout.length {
        return Err(format!(
            "Wrong data size: {} instead of {} bytes",
            data.len(),
            layout.length
        ));
    }
    let signals = &layout.signals;
    let mut raws: Vec<Option<u64>> = vec![None; signals.len()];
    for &index in &layout.decode_order {
        let signal = &signals[index];
        let present = match &signal.mux {
            None => true,
            Some(condition) => {
                raws[condition.multiplexor].is_some_and(|value| in_ranges(&condition.ranges, value))
            }
        };
        if present {
            raws[index] = Some(raw_bits(&signal.bits, data));
        }
    }
    check_multiplexors(signals, &raws)?;
    Ok(signals
        .iter()
        .zip(&raws)
        .filter_map(|(signal, raw)| raw.map(|raw| (signal.name.clone(), physical(signal, raw))))
        .collect())
}

fn in_ranges(ranges: &[(u64, u64)], value: u64) -> bool {
    ranges
        .iter()
        .any(|(low, high)| (*low..=*high).contains(&value))
}

/// Reads the bits at `positions` (most significant first) as an integer.
pub fn raw_bits(positions: &[u16], data: &[u8]) -> u64 {
    positions.iter().fold(0u64, |value, &position| {
        let byte = data.get(usize::from(position / 8)).copied().unwrap_or(0);
        (value << 1) | u64::from((byte >> (position % 8)) & 1)
    })
}

/// The physical value of a raw bit pattern.
pub fn physical(signal: &SignalLayout, raw: u64) -> f64 {
    let size = signal.bits.len() as u32;
    let value = match signal.kind {
        RawKind::Unsigned => raw as f64,
        RawKind::Signed => sign_extend(raw, size) as f64,
        RawKind::Float32 => f64::from(f32::from_bits(raw as u32)),
        RawKind::Float64 => f64::from_bits(raw),
    };
    value * signal.factor + signal.offset
}

/// Interprets the low `size` bits of `raw` as two's complement.
pub fn sign_extend(raw: u64, size: u32) -> i64 {
    if size >= 64 {
        return raw as i64;
    }
    let shift = 64 - size;
    ((raw << shift) as i64) >> shift
}

/// Errs when a present multiplexor with signals selects none of them.
fn check_multiplexors(signals: &[SignalLayout], raws: &[Option<u64>]) -> Result<(), String> {
    let mut selected = vec![(false, false); signals.len()];
    for (signal, raw) in signals.iter().zip(raws) {
        if let Some(condition) = &signal.mux {
            let slot = &mut selected[condition.multiplexor];
            slot.0 = true;
            slot.1 |= raw.is_some();
        }
    }
    for (index, (has_signals, any_selected)) in selected.into_iter().enumerate() {
        let Some(value) = raws[index] else { continue };
        if has_signals && !any_selected {
            return Err(format!(
                "expected multiplexer id {}, but got {value}",
                expected_ids(signals, index)
            ));
        }
    }
    Ok(())
}

/// cantools-style list of the values a multiplexor may take: `1, 2 or 3`.
fn expected_ids(signals: &[SignalLayout], multiplexor: usize) -> String {
    let mut ranges: Vec<(u64, u64)> = signals
        .iter()
        .filter_map(|s| s.mux.as_ref())
        .filter(|c| c.multiplexor == multiplexor)
        .flat_map(|c| c.ranges.iter().copied())
        .collect();
    ranges.sort_unstable();
    ranges.dedup();
    let mut words: Vec<String> = ranges
        .iter()
        .map(|(low, high)| {
            if low == high {
                low.to_string()
            } else {
                format!("{low}-{high}")
            }
        })
        .collect();
    match words.len() {
        0 => String::new(),
        1 => words.remove(0),
        _ => {
            let last = words.pop().unwrap_or_default();
            format!("{} or {last}", words.join(", "))
        }
    }
}
