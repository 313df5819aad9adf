//! Turns `can-dbc`'s syntax tree into checked [`MessageLayout`]s: joins the
//! `SG_` lines with their `SIG_VALTYPE_`, `VAL_` and `SG_MUL_VAL_` lines.

use std::collections::{HashMap, HashSet};

use can_dbc::{
    Dbc, Message, MessageId, MultiplexIndicator, SignalExtendedValueType, ValueDescription,
};

use super::layout::{
    decode_order, default_multiplexor, frame_id, overlapping_signals, raw_kind, signal_bits,
    LayoutIssue, MessageLayout, MuxCondition, SignalLayout, INDEPENDENT_SIGNALS_MESSAGE,
    MAX_MESSAGE_BYTES,
};

type SignalKey<'a> = (MessageId, &'a str);
/// The multiplexor a signal depends on and the value ranges that select it.
type MuxRanges<'a> = (&'a str, Vec<(u64, u64)>);

/// The per-signal side tables of a DBC, indexed by message and signal.
struct SideTables<'a> {
    value_types: HashMap<SignalKey<'a>, SignalExtendedValueType>,
    choices: HashMap<SignalKey<'a>, Vec<(i64, String)>>,
    extended_mux: HashMap<SignalKey<'a>, MuxRanges<'a>>,
}

impl<'a> SideTables<'a> {
    fn new(dbc: &'a Dbc) -> Self {
        let value_types = dbc
            .signal_extended_value_type_list
            .iter()
            .map(|v| {
                let key = (v.message_id, v.signal_name.as_str());
                (key, v.signal_extended_value_type)
            })
            .collect();
        let mut choices: HashMap<SignalKey<'a>, Vec<(i64, String)>> = HashMap::new();
        for description in &dbc.value_descriptions {
            if let ValueDescription::Signal {
                message_id,
                name,
                value_descriptions,
            } = description
            {
                let entry = choices.entry((*message_id, name.as_str())).or_default();
                entry.extend(
                    value_descriptions
                        .iter()
                        .map(|v| (v.id, v.description.clone())),
                );
                entry.sort_by_key(|(value, _)| *value);
            }
        }
        let mut extended_mux: HashMap<SignalKey<'a>, MuxRanges<'a>> = HashMap::new();
        for mux in &dbc.extended_multiplex {
            let entry = extended_mux
                .entry((mux.message_id, mux.signal_name.as_str()))
                .or_insert((mux.multiplexor_signal_name.as_str(), Vec::new()));
            if entry.0 == mux.multiplexor_signal_name {
                entry
                    .1
                    .extend(mux.mappings.iter().map(|m| (m.min_value, m.max_value)));
            }
        }
        Self {
            value_types,
            choices,
            extended_mux,
        }
    }
}

/// Builds every message's layout; returns the usable ones and the issues.
pub fn build_messages(
    dbc: &Dbc,
    raw_ids: &[Option<u64>],
) -> (Vec<MessageLayout>, Vec<LayoutIssue>) {
    let tables = SideTables::new(dbc);
    let use_raw_ids = raw_ids.len() == dbc.messages.len();
    let mut layouts = Vec::with_capacity(dbc.messages.len());
    let mut issues = Vec::new();
    let mut known_signals: HashSet<SignalKey<'_>> = HashSet::new();
    for (index, message) in dbc.messages.iter().enumerate() {
        known_signals.extend(
            message
                .signals
                .iter()
                .map(|s| (message.id, s.name.as_str())),
        );
        let raw_id = if use_raw_ids {
            raw_ids[index]
        } else {
            Some(u64::from(message.id.raw()))
        };
        if message.name == INDEPENDENT_SIGNALS_MESSAGE {
            issues.push(LayoutIssue {
                message: message.name.clone(),
                problem: "is Vector's placeholder for signals outside any frame, not a frame"
                    .into(),
                message_dropped: true,
            });
            continue;
        }
        match build_message(message, raw_id, &tables) {
            Ok((layout, missing_flag, left_out)) => {
                for problem in left_out {
                    issues.push(LayoutIssue {
                        message: message.name.clone(),
                        problem: format!("{problem}; signal left out"),
                        message_dropped: false,
                    });
                }
                if missing_flag {
                    issues.push(LayoutIssue {
                        message: message.name.clone(),
                        problem: format!(
                            "frame id {:#x} needs 29 bits but lacks the extended flag; read as extended",
                            layout.id
                        ),
                        message_dropped: false,
                    });
                }
                for (first, second) in overlapping_signals(&layout.signals) {
                    issues.push(LayoutIssue {
                        message: message.name.clone(),
                        problem: format!("signals {first} and {second} overlap"),
                        message_dropped: false,
                    });
                }
                layouts.push(layout);
            }
            Err(problem) => issues.push(LayoutIssue {
                message: message.name.clone(),
                problem,
                message_dropped: true,
            }),
        }
    }
    for (message_id, signal) in tables.choices.keys() {
        if !known_signals.contains(&(*message_id, *signal)) {
            issues.push(LayoutIssue {
                message: "VAL_".into(),
                problem: format!(
                    "value table for unknown signal {signal} of message {}",
                    message_id.raw()
                ),
                message_dropped: false,
            });
        }
    }
    issues.sort_by(|a, b| (&a.message, &a.problem).cmp(&(&b.message, &b.problem)));
    (layouts, issues)
}

/// A message's layout, whether its id lacked the extended flag, and the
/// signals left out (with why).
type BuiltMessage = (MessageLayout, bool, Vec<String>);

fn build_message(
    message: &Message,
    raw_id: Option<u64>,
    tables: &SideTables<'_>,
) -> Result<BuiltMessage, String> {
    let frame = frame_id(raw_id.ok_or("frame id does not fit 64 bits")?)?;
    if message.size > MAX_MESSAGE_BYTES {
        return Err(format!(
            "is {} bytes long, more than {MAX_MESSAGE_BYTES}",
            message.size
        ));
    }
    let length = message.size as usize;
    let indicators: Vec<MultiplexIndicator> = message
        .signals
        .iter()
        .map(|s| s.multiplexer_indicator)
        .collect();
    let mut built: Vec<Result<SignalLayout, String>> = Vec::with_capacity(indicators.len());
    for (index, signal) in message.signals.iter().enumerate() {
        let key = (message.id, signal.name.as_str());
        let layout = signal_bits(signal.start_bit, signal.size, signal.byte_order, length)
            .and_then(|bits| {
                let kind = raw_kind(
                    signal.value_type,
                    tables.value_types.get(&key).copied(),
                    signal.size,
                )?;
                let mux = mux_condition(message, index, &indicators, tables)?;
                Ok(SignalLayout {
                    name: signal.name.clone(),
                    bits,
                    kind,
                    factor: signal.factor,
                    offset: signal.offset,
                    unit: signal.unit.clone(),
                    mux,
                    choices: tables.choices.get(&key).cloned().unwrap_or_default(),
                })
            })
            .map_err(|problem| format!("signal {} {problem}", signal.name));
        built.push(layout);
    }
    let (signals, left_out) = keep_built(built)?;
    let decode_order = decode_order(&signals)?;
    let layout = MessageLayout {
        name: message.name.clone(),
        id: frame.id,
        extended: frame.extended,
        length,
        signals,
        decode_order,
    };
    Ok((layout, frame.missing_flag, left_out))
}

/// The signals that were built, their multiplexor indices renumbered, and
/// the problems of those left out. Left-out signals shift indices; a
/// left-out multiplexor takes its multiplexed signals with it, so the whole
/// message goes (the error).
fn keep_built(
    built: Vec<Result<SignalLayout, String>>,
) -> Result<(Vec<SignalLayout>, Vec<String>), String> {
    let mut new_index = vec![None; built.len()];
    let mut kept = 0;
    for (old, signal) in built.iter().enumerate() {
        if signal.is_ok() {
            new_index[old] = Some(kept);
            kept += 1;
        }
    }
    let mut signals = Vec::with_capacity(kept);
    let mut left_out = Vec::new();
    for signal in built {
        match signal {
            Ok(mut signal) => {
                if let Some(condition) = &mut signal.mux {
                    condition.multiplexor = new_index[condition.multiplexor].ok_or_else(|| {
                        format!(
                            "signal {} loses its multiplexor, which is broken",
                            signal.name
                        )
                    })?;
                }
                signals.push(signal);
            }
            Err(problem) => left_out.push(problem),
        }
    }
    Ok((signals, left_out))
}

fn mux_condition(
    message: &Message,
    index: usize,
    indicators: &[MultiplexIndicator],
    tables: &SideTables<'_>,
) -> Result<Option<MuxCondition>, String> {
    let signal = &message.signals[index];
    if let Some((multiplexor, ranges)) =
        tables.extended_mux.get(&(message.id, signal.name.as_str()))
    {
        let position = message
            .signals
            .iter()
            .position(|s| s.name == *multiplexor)
            .ok_or_else(|| format!("is multiplexed by {multiplexor}, which the message lacks"))?;
        return Ok(Some(MuxCondition {
            multiplexor: position,
            ranges: ranges.clone(),
        }));
    }
    let selector = match signal.multiplexer_indicator {
        MultiplexIndicator::MultiplexedSignal(value)
        | MultiplexIndicator::MultiplexorAndMultiplexedSignal(value) => value,
        MultiplexIndicator::Multiplexor | MultiplexIndicator::Plain => return Ok(None),
    };
    match default_multiplexor(indicators) {
        Some(position) if position != index => Ok(Some(MuxCondition {
            multiplexor: position,
            ranges: vec![(selector, selector)],
        })),
        _ => Err(format!(
            "is multiplexed (m{selector}) but the message has no multiplexor for it"
        )),
    }
}
