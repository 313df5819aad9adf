//! DBC file text before parsing: character encoding, and the raw message ids
//! that the `can-dbc` parser does not keep.
//!
//! - Encoding: DBC files in the field are UTF-8 or Windows-1252 (Vector's
//!   editor writes cp1252, e.g. `"°C"` as byte 0xB0). Valid UTF-8 is read as
//!   is; anything else is decoded as cp1252, as cantools does with its
//!   `encoding='cp1252'` fallback.
//! - Raw ids: `can-dbc` 10 truncates a standard id to 16 bits and masks an
//!   extended one to 29 bits, so an id that does not fit (cantools: "Standard
//!   frame id 0x10630000 is more than 11 bits") would pass unnoticed.
//!   [`raw_message_ids`] reads the `BO_` ids from the text itself so the
//!   layout check can name such messages.

use std::borrow::Cow;

/// Largest DBC file accepted, bytes (the biggest production DBCs are ~1 MB).
pub const MAX_DBC_BYTES: usize = 16 * 1024 * 1024;

/// Decodes DBC bytes: UTF-8 when valid, otherwise Windows-1252.
pub fn decode_text(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => {
            // Every byte has a cp1252 meaning in encoding_rs (undefined bytes map
            // to C1 controls), so this decoding cannot fail.
            let (text, _, _) = can_dbc::encodings::WINDOWS_1252.decode(bytes);
            text
        }
    }
}

/// Normalises what `can-dbc`'s grammar does not accept but DBC tools do.
///
/// - Line endings: a lone `\r` (old Mac) becomes `\n`.
/// - A file that does not end in a line break gets one (the grammar ends
///   several statements with `NEWLINE`).
pub fn normalise(text: &str) -> Cow<'_, str> {
    let lone_cr = text
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b'\r' && w[1] != b'\n')
        || text.ends_with('\r');
    if !lone_cr && text.ends_with('\n') {
        return Cow::Borrowed(text);
    }
    let mut out = if lone_cr {
        text.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        text.to_string()
    };
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Cow::Owned(out)
}

/// The ids written after `BO_` at the start of a line, in file order, as the
/// full unsigned value in the text (`None` when it does not fit `u64`).
pub fn raw_message_ids(text: &str) -> Vec<Option<u64>> {
    text.lines()
        .filter_map(|line| line.trim_start().strip_prefix("BO_ "))
        .filter_map(|rest| {
            let digits: &str = rest.trim_start();
            let end = digits
                .find(|c: char| !c.is_ascii_digit())
                .unwrap_or(digits.len());
            (end > 0).then(|| digits[..end].parse::<u64>().ok())
        })
        .collect()
}
