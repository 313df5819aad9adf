//! The decoding layout of one message, built from `can-dbc`'s syntax tree and
//! checked: every signal's bits are resolved to byte positions once, so
//! decoding is a walk over precomputed positions.
//!
//! What cannot decode is left out and reported as a [`LayoutIssue`], at the
//! smallest scope that keeps the rest correct:
//! - a signal (bits outside the message, a float of the wrong width, a
//!   multiplexed signal without a multiplexor): that signal;
//! - a message (id beyond 29 bits, over 64 bytes, a broken multiplexor, a
//!   multiplexing cycle, Vector's `VECTOR__INDEPENDENT_SIG_MSG`): that message.
//!
//! Kept but reported: overlapping signals (opendbc's `hyundai_i30_2014.dbc`),
//! value tables for unknown signals, an id over 11 bits without the extended
//! flag (opendbc's GMLAN files; read as extended), a message overridden by a
//! later one with the same id. cantools refuses some of these files outright;
//! qloop must load every production DBC of the corpus, so it narrows instead.

use can_dbc::{ByteOrder, MultiplexIndicator, SignalExtendedValueType, ValueType};

/// Longest message payload, bytes (CAN FD).
pub const MAX_MESSAGE_BYTES: u64 = 64;

/// How a signal's raw bits become a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RawKind {
    /// Unsigned integer.
    Unsigned,
    /// Two's complement integer.
    Signed,
    /// IEEE 754 single precision (32 bits).
    Float32,
    /// IEEE 754 double precision (64 bits).
    Float64,
}

/// When a multiplexed signal is present.
#[derive(Debug, Clone, PartialEq)]
pub struct MuxCondition {
    /// Index of the multiplexor signal in the message.
    pub multiplexor: usize,
    /// Inclusive ranges of multiplexor raw values that select this signal.
    pub ranges: Vec<(u64, u64)>,
}

/// One signal, ready to decode.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalLayout {
    /// Signal name as in the DBC.
    pub name: String,
    /// Bit positions (`byte * 8 + bit`, bit 0 = least significant), most
    /// significant first.
    pub bits: Vec<u16>,
    /// Integer or float interpretation.
    pub kind: RawKind,
    /// Physical = raw * factor + offset.
    pub factor: f64,
    /// Physical = raw * factor + offset.
    pub offset: f64,
    /// Unit text from the DBC (may be empty).
    pub unit: String,
    /// Present only when this multiplexor condition holds.
    pub mux: Option<MuxCondition>,
    /// Named raw values (`VAL_`), sorted by value.
    pub choices: Vec<(i64, String)>,
}

/// One message, ready to decode.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageLayout {
    /// Message name.
    pub name: String,
    /// Frame id without the DBC extended flag (bit 31).
    pub id: u32,
    /// Whether the DBC declares a 29-bit extended id.
    pub extended: bool,
    /// Payload length in bytes.
    pub length: usize,
    /// Signals in DBC order.
    pub signals: Vec<SignalLayout>,
    /// Signal indices in an order where every multiplexor precedes its signals.
    pub decode_order: Vec<usize>,
}

/// Something in a DBC file that qloop had to leave out or wants to flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutIssue {
    /// Message name (or `VAL_`/`SG_MUL_VAL_` for dangling references).
    pub message: String,
    /// What is wrong, in words that name the signal.
    pub problem: String,
    /// Whether the message was left out of the database because of it.
    pub message_dropped: bool,
}

/// Bit positions of a DBC signal, most significant first, or why it has none.
pub fn signal_bits(
    start: u64,
    size: u64,
    order: ByteOrder,
    length: usize,
) -> Result<Vec<u16>, String> {
    if size == 0 || size > 64 {
        return Err(format!("is {size} bits long, must be 1 to 64"));
    }
    let limit = length as u64 * 8;
    let mut bits = Vec::with_capacity(size as usize);
    match order {
        ByteOrder::LittleEndian => {
            for i in (0..size).rev() {
                bits.push(start.saturating_add(i));
            }
        }
        ByteOrder::BigEndian => {
            let mut pos = start;
            for i in 0..size {
                bits.push(pos);
                if i + 1 < size {
                    pos = if pos.is_multiple_of(8) {
                        pos.saturating_add(15)
                    } else {
                        pos - 1
                    };
                }
            }
        }
    }
    if let Some(outside) = bits.iter().find(|b| **b >= limit) {
        return Err(format!(
            "does not fit in the message: bit {outside} is outside its {length} bytes"
        ));
    }
    Ok(bits.into_iter().map(|b| b as u16).collect())
}

/// A DBC message id, read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameId {
    /// The id without the extended flag.
    pub id: u32,
    /// Whether it is a 29-bit id.
    pub extended: bool,
    /// Whether it needs 29 bits but lacks the extended flag (bit 31), as in
    /// opendbc's GMLAN files; it is then read as extended.
    pub missing_flag: bool,
}

/// Vector's placeholder message for signals outside any frame.
pub const INDEPENDENT_SIGNALS_MESSAGE: &str = "VECTOR__INDEPENDENT_SIG_MSG";

/// Reads a DBC id (bit 31 = extended), or says why it is out of range.
pub fn frame_id(raw: u64) -> Result<FrameId, String> {
    const EXTENDED_FLAG: u64 = 1 << 31;
    if raw > u64::from(u32::MAX) {
        return Err(format!("frame id {raw} does not fit 32 bits"));
    }
    let flagged = raw & EXTENDED_FLAG != 0;
    let id = raw & !EXTENDED_FLAG;
    if id > 0x1FFF_FFFF {
        return Err(format!("frame id {id:#x} is more than 29 bits"));
    }
    Ok(FrameId {
        id: id as u32,
        extended: flagged || id > 0x7FF,
        missing_flag: !flagged && id > 0x7FF,
    })
}

/// The raw interpretation from the sign flag and an optional `SIG_VALTYPE_`.
pub fn raw_kind(
    value_type: ValueType,
    extended: Option<SignalExtendedValueType>,
    size: u64,
) -> Result<RawKind, String> {
    match (extended, size) {
        (Some(SignalExtendedValueType::IEEEfloat32Bit), 32) => Ok(RawKind::Float32),
        (Some(SignalExtendedValueType::IEEEdouble64bit), 64) => Ok(RawKind::Float64),
        (Some(SignalExtendedValueType::IEEEfloat32Bit), n) => {
            Err(format!("is a 32-bit float but {n} bits long"))
        }
        (Some(SignalExtendedValueType::IEEEdouble64bit), n) => {
            Err(format!("is a 64-bit float but {n} bits long"))
        }
        _ => Ok(match value_type {
            ValueType::Signed => RawKind::Signed,
            ValueType::Unsigned => RawKind::Unsigned,
        }),
    }
}

/// The multiplexor a `mN` signal refers to when no `SG_MUL_VAL_` says: the
/// message's plain multiplexor (`M`), else its first `mNM` one.
pub fn default_multiplexor(indicators: &[MultiplexIndicator]) -> Option<usize> {
    indicators
        .iter()
        .position(|m| *m == MultiplexIndicator::Multiplexor)
        .or_else(|| {
            indicators
                .iter()
                .position(|m| matches!(m, MultiplexIndicator::MultiplexorAndMultiplexedSignal(_)))
        })
}

/// Orders signals so each multiplexor comes before the signals it selects;
/// `Err` names a signal caught in a multiplexing cycle.
pub fn decode_order(signals: &[SignalLayout]) -> Result<Vec<usize>, String> {
    let mut depth = vec![0usize; signals.len()];
    for (index, depth_slot) in depth.iter_mut().enumerate() {
        let mut current = index;
        let mut steps = 0;
        while let Some(condition) = &signals[current].mux {
            current = condition.multiplexor;
            steps += 1;
            if steps > signals.len() {
                return Err(format!(
                    "signal {} is in a multiplexing cycle",
                    signals[index].name
                ));
            }
        }
        *depth_slot = steps;
    }
    let mut order: Vec<usize> = (0..signals.len()).collect();
    order.sort_by_key(|i| depth[*i]);
    Ok(order)
}

/// Pairs of unconditional signals that share a bit, by name.
pub fn overlapping_signals(signals: &[SignalLayout]) -> Vec<(String, String)> {
    let mut owner: [Option<usize>; 512] = [None; 512];
    let mut overlaps = Vec::new();
    for (index, signal) in signals.iter().enumerate().filter(|(_, s)| s.mux.is_none()) {
        for bit in &signal.bits {
            let slot = &mut owner[usize::from(*bit).min(511)];
            match slot {
                Some(other) if *other != index => {
                    overlaps.push((signals[*other].name.clone(), signal.name.clone()));
                    break;
                }
                _ => *slot = Some(index),
            }
        }
    }
    overlaps
}
