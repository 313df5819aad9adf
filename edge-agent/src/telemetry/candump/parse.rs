//! One candump line to a [`CanFrame`]: the column grammar of `parse_canframe`.

use super::{
    CanFrame, CandumpError, ERROR_FRAME_FLAG, MAX_CLASSIC_BYTES, MAX_FD_BYTES, MAX_IFACE_BYTES,
    MAX_LINE_BYTES,
};

/// Parses one candump log line (without its line break).
pub fn parse_line(line: &str) -> Result<CanFrame, CandumpError> {
    if line.len() > MAX_LINE_BYTES {
        return Err(CandumpError::LineTooLong {
            len: line.len(),
            max: MAX_LINE_BYTES,
        });
    }
    let mut columns = line.split_ascii_whitespace();
    let t = parse_timestamp(
        columns
            .next()
            .ok_or(CandumpError::MissingColumn("timestamp"))?,
    )?;
    let iface = parse_iface(
        columns
            .next()
            .ok_or(CandumpError::MissingColumn("interface"))?,
    )?;
    let frame = columns.next().ok_or(CandumpError::MissingColumn("frame"))?;
    match columns.next() {
        None | Some("T") | Some("R") => {}
        Some(other) => return Err(CandumpError::TrailingColumn(clip(other))),
    }
    if let Some(other) = columns.next() {
        return Err(CandumpError::TrailingColumn(clip(other)));
    }
    let (id, extended, body) = parse_id(frame)?;
    let mut frame = CanFrame {
        t,
        iface,
        id,
        extended,
        fd: false,
        rtr: false,
        data: Vec::new(),
    };
    if body.starts_with("##") {
        return Err(CandumpError::CanXl);
    } else if let Some(fd_body) = body.strip_prefix('#') {
        let mut chars = fd_body.chars();
        let flags = chars
            .next()
            .ok_or_else(|| data_error("CAN FD flags digit missing"))?;
        if !flags.is_ascii_hexdigit() {
            return Err(data_error("CAN FD flags must be one hex digit"));
        }
        frame.fd = true;
        frame.data = parse_hex_bytes(chars.as_str(), MAX_FD_BYTES)?;
    } else if let Some(rtr_len) = body.strip_prefix(['R', 'r']) {
        frame.rtr = true;
        match rtr_len.as_bytes() {
            [] => {}
            [d] if (b'0'..=b'8').contains(d) => {}
            _ => return Err(data_error("remote frame length must be one digit 0-8")),
        }
    } else {
        let (bytes, raw_dlc) = match body.split_once('_') {
            Some((bytes, dlc)) => (bytes, Some(dlc)),
            None => (body, None),
        };
        frame.data = parse_hex_bytes(bytes, MAX_CLASSIC_BYTES)?;
        if let Some(dlc) = raw_dlc {
            let valid = dlc.len() == 1 && u8::from_str_radix(dlc, 16).is_ok_and(|d| d > 8);
            if !valid || frame.data.len() != MAX_CLASSIC_BYTES {
                return Err(data_error(
                    "raw DLC after '_' must be 9-F on an 8-byte frame",
                ));
            }
        }
    }
    Ok(frame)
}

fn clip(text: &str) -> String {
    text.chars().take(16).collect()
}

fn data_error(reason: &str) -> CandumpError {
    CandumpError::Data(reason.to_string())
}

fn parse_timestamp(column: &str) -> Result<f64, CandumpError> {
    let err = |reason: &str| CandumpError::Timestamp(format!("{reason}, found {:?}", clip(column)));
    let inner = column
        .strip_prefix('(')
        .and_then(|c| c.strip_suffix(')'))
        .ok_or_else(|| err("expected (seconds.fraction)"))?;
    let (secs, frac) = inner
        .split_once('.')
        .ok_or_else(|| err("expected a decimal point"))?;
    let digits = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(secs) || !digits(frac) {
        return Err(err("expected decimal digits on both sides of the point"));
    }
    inner.parse::<f64>().map_err(|_| err("not a number"))
}

fn parse_iface(column: &str) -> Result<String, CandumpError> {
    if column.len() > MAX_IFACE_BYTES {
        return Err(CandumpError::Interface(format!(
            "{:?} is longer than {MAX_IFACE_BYTES} bytes",
            clip(column)
        )));
    }
    if !column
        .bytes()
        .all(|b| b.is_ascii_graphic() && b != b'#' && b != b'(')
    {
        return Err(CandumpError::Interface(format!(
            "{column:?} holds characters an interface name cannot"
        )));
    }
    Ok(column.to_string())
}

/// Splits `id#body` into the id, whether it is extended, and what follows `#`.
fn parse_id(frame: &str) -> Result<(u32, bool, &str), CandumpError> {
    let (id_text, body) = frame.split_once('#').ok_or_else(|| CandumpError::Id {
        text: clip(frame),
        reason: "no '#' between id and data",
    })?;
    let id_err = |reason| CandumpError::Id {
        text: clip(id_text),
        reason,
    };
    if !id_text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(id_err("must be hex digits"));
    }
    match id_text.len() {
        3 => {
            let id = u32::from_str_radix(id_text, 16).map_err(|_| id_err("must be hex digits"))?;
            if id > 0x7FF {
                return Err(id_err("a 3-digit standard id must be at most 7FF"));
            }
            Ok((id, false, body))
        }
        8 => {
            let id = u32::from_str_radix(id_text, 16).map_err(|_| id_err("must be hex digits"))?;
            if id & ERROR_FRAME_FLAG != 0 {
                return Err(CandumpError::ErrorFrame(id));
            }
            if id > 0x1FFF_FFFF {
                return Err(id_err("an 8-digit extended id must be at most 1FFFFFFF"));
            }
            Ok((id, true, body))
        }
        _ => Err(id_err("must be 3 (standard) or 8 (extended) hex digits")),
    }
}

/// Parses hex byte pairs, optionally separated by single dots between bytes.
fn parse_hex_bytes(text: &str, max: usize) -> Result<Vec<u8>, CandumpError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(max.min(bytes.len() / 2));
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'.' && i > 0 && bytes[i - 1] != b'.' && i + 1 < bytes.len() {
            i += 1;
            continue;
        }
        let pair = bytes
            .get(i..i + 2)
            .ok_or_else(|| data_error("odd number of hex digits (each byte takes two)"))?;
        let hex = |b: u8| (b as char).to_digit(16);
        match (hex(pair[0]), hex(pair[1])) {
            (Some(hi), Some(lo)) => out.push((hi * 16 + lo) as u8),
            _ => {
                return Err(CandumpError::Data(format!(
                    "{:?} is not a hex byte",
                    String::from_utf8_lossy(pair)
                )))
            }
        }
        if out.len() > max {
            return Err(CandumpError::DataTooLong {
                len: text.bytes().filter(|b| *b != b'.').count() / 2,
                max,
            });
        }
        i += 2;
    }
    Ok(out)
}
