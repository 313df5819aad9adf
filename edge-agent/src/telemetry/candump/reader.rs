//! Streaming a candump log with bounded memory per line.

use std::io::{BufRead, Read};

use super::{parse_line, CanFrame, CandumpError, MAX_LINE_BYTES};

/// Streams a candump log line by line, never stopping at a bad line.
///
/// Yields `(line_number, result)` with 1-based line numbers; blank lines are
/// skipped. Memory stays within [`MAX_LINE_BYTES`] per line however long the
/// input line is.
pub struct CandumpReader<R> {
    reader: R,
    line_number: u64,
    buffer: Vec<u8>,
    failed: bool,
}

impl<R: BufRead> CandumpReader<R> {
    /// Wraps a buffered reader.
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            line_number: 0,
            buffer: Vec::with_capacity(MAX_LINE_BYTES + 1),
            failed: false,
        }
    }

    /// Reads the next physical line into `buffer`; `Ok(None)` at end of input,
    /// `Ok(Some(len))` with the full length (which may exceed the buffer).
    fn next_raw_line(&mut self) -> std::io::Result<Option<usize>> {
        self.buffer.clear();
        let limit = (MAX_LINE_BYTES + 2) as u64;
        let read = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut self.buffer)?;
        if read == 0 {
            return Ok(None);
        }
        if self.buffer.last() == Some(&b'\n') {
            self.buffer.pop();
            if self.buffer.last() == Some(&b'\r') {
                self.buffer.pop();
            }
            return Ok(Some(self.buffer.len()));
        }
        if read as u64 == limit {
            return self.skip_rest_of_line(read).map(Some);
        }
        Ok(Some(self.buffer.len()))
    }

    /// Consumes the rest of an over-long line without storing it.
    fn skip_rest_of_line(&mut self, mut len: usize) -> std::io::Result<usize> {
        loop {
            let available = self.reader.fill_buf()?;
            if available.is_empty() {
                return Ok(len);
            }
            match available.iter().position(|b| *b == b'\n') {
                Some(pos) => {
                    self.reader.consume(pos + 1);
                    return Ok(len + pos);
                }
                None => {
                    let n = available.len();
                    self.reader.consume(n);
                    len = len.saturating_add(n);
                }
            }
        }
    }
}

impl<R: BufRead> Iterator for CandumpReader<R> {
    type Item = (u64, Result<CanFrame, CandumpError>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        loop {
            self.line_number += 1;
            let len = match self.next_raw_line() {
                Ok(None) => return None,
                Ok(Some(len)) => len,
                Err(e) => {
                    self.failed = true;
                    return Some((self.line_number, Err(CandumpError::Io(e))));
                }
            };
            if len > MAX_LINE_BYTES {
                let err = CandumpError::LineTooLong {
                    len,
                    max: MAX_LINE_BYTES,
                };
                return Some((self.line_number, Err(err)));
            }
            let Ok(text) = std::str::from_utf8(&self.buffer) else {
                return Some((self.line_number, Err(CandumpError::NotUtf8)));
            };
            if text.trim().is_empty() {
                continue;
            }
            return Some((self.line_number, parse_line(text)));
        }
    }
}
