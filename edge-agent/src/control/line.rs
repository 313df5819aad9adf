//! Reading newline-terminated lines with a hard length bound: an over-long
//! line is skipped up to its newline and reported, never buffered whole.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// One read from a bounded line reader.
#[derive(Debug, PartialEq, Eq)]
pub enum LineRead {
    /// A complete line, without its newline.
    Line(String),
    /// A line longer than the bound (skipped); its length so far.
    TooLong(usize),
    /// A line that is not UTF-8.
    NotUtf8,
    /// The peer closed the connection.
    Eof,
}

/// Reads the next line of at most `max` bytes.
pub async fn read_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    max: usize,
) -> std::io::Result<LineRead> {
    let mut line = Vec::new();
    let mut skipped = 0usize;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            // EOF: a final unterminated line still counts.
            return Ok(match (skipped, line.is_empty()) {
                (0, true) => LineRead::Eof,
                (0, false) => finish(line),
                (n, _) => LineRead::TooLong(n),
            });
        }
        let (chunk, found_newline) = match available.iter().position(|b| *b == b'\n') {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        if skipped > 0 || line.len() + chunk.len() > max {
            skipped += line.len() + chunk.len();
            line.clear();
        } else {
            line.extend_from_slice(chunk);
        }
        let consumed = found_newline.unwrap_or(available.len());
        reader.consume(consumed);
        if found_newline.is_some() {
            return Ok(if skipped > 0 {
                LineRead::TooLong(skipped)
            } else {
                finish(line)
            });
        }
    }
}

fn finish(line: Vec<u8>) -> LineRead {
    match String::from_utf8(line) {
        Ok(s) => LineRead::Line(s.trim_end_matches('\r').to_string()),
        Err(_) => LineRead::NotUtf8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn long_lines_are_skipped_and_the_next_line_still_reads() {
        let input = format!("{}\nshort\n\u{00e9}\nlast", "x".repeat(100));
        let mut reader = tokio::io::BufReader::with_capacity(16, input.as_bytes());
        assert_eq!(
            read_line(&mut reader, 10).await.unwrap(),
            LineRead::TooLong(100)
        );
        assert_eq!(
            read_line(&mut reader, 10).await.unwrap(),
            LineRead::Line("short".into())
        );
        assert_eq!(
            read_line(&mut reader, 10).await.unwrap(),
            LineRead::Line("é".into())
        );
        assert_eq!(
            read_line(&mut reader, 10).await.unwrap(),
            LineRead::Line("last".into())
        );
        assert_eq!(read_line(&mut reader, 10).await.unwrap(), LineRead::Eof);
    }

    #[tokio::test]
    async fn invalid_utf8_is_reported_not_panicked_on() {
        let mut reader = tokio::io::BufReader::new(&[0xff, 0xfe, b'\n'][..]);
        assert_eq!(read_line(&mut reader, 10).await.unwrap(), LineRead::NotUtf8);
    }
}
