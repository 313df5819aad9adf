//! Reading `model.bin`'s integers and strings without passing its end.

use crate::error::FormatError;

/// A cursor over the file that never reads past its end.
pub(super) struct Cursor<'a> {
    /// The whole file.
    pub(super) data: &'a [u8],
    /// Where the next read starts.
    pub(super) pos: usize,
}

impl<'a> Cursor<'a> {
    /// The next `n` bytes (`what` names them in the error).
    pub(super) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FormatError> {
        let left = self.data.len() - self.pos;
        if n > left {
            return Err(FormatError::Truncated {
                offset: self.pos,
                what,
                needed: n,
                left,
            });
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// One byte.
    pub(super) fn u8(&mut self, what: &'static str) -> Result<u8, FormatError> {
        Ok(self.take(1, what)?[0])
    }

    /// A little-endian u16.
    pub(super) fn u16(&mut self, what: &'static str) -> Result<u16, FormatError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    /// A little-endian u32.
    pub(super) fn u32(&mut self, what: &'static str) -> Result<u32, FormatError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A u16-length-prefixed, NUL-terminated UTF-8 string.
    pub(super) fn string(&mut self, what: &'static str) -> Result<String, FormatError> {
        let start = self.pos;
        let len = self.u16(what)? as usize;
        let raw = self.take(len, what)?;
        match raw.split_last() {
            Some((0, text)) => std::str::from_utf8(text)
                .map(str::to_owned)
                .map_err(|_| FormatError::BadString(start)),
            _ => Err(FormatError::BadString(start)),
        }
    }
}
