//! Items of a JSON input read as a stream: JSON Lines, one top-level array (split element by
//! element, never parsed whole), or one object. Memory holds one item at a time, or for JSON
//! Lines a few megabytes of lines, validated on two cores while the caller takes them.

use std::io::BufRead;

use super::{JsonError, validate};

/// Where an item sits in its input, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// 1-based line the item starts on.
    pub line: u64,
    /// 1-based item number.
    pub item: u64,
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}, item {}", self.line, self.item)
    }
}

/// Why the input could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ItemsError {
    /// Reading failed.
    #[error("cannot read the input")]
    Io(#[from] std::io::Error),
    /// An item is not valid JSON.
    #[error("{position}: invalid JSON")]
    Json {
        /// Where.
        position: Position,
        /// What.
        #[source]
        source: JsonError,
    },
    /// The top-level array is not well formed.
    #[error("line {line}: {what}")]
    Array {
        /// 1-based line.
        line: u64,
        /// What is wrong.
        what: &'static str,
    },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Lines,
    Array,
    Done,
}

/// The UTF-8 byte order mark.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Bytes of JSON lines read and validated at once.
const AHEAD_BYTES: usize = 4 << 20;

/// Reads items one by one; see the module docs.
pub struct JsonItems<R> {
    reader: R,
    format: Option<Format>,
    buf: Vec<u8>,
    line: u64,
    item: u64,
    ahead: Ahead,
}

/// JSON lines read ahead (after the first, which decides whether the input is JSON Lines at
/// all) and validated together, split over two threads when there are two cores.
#[derive(Default)]
struct Ahead {
    bytes: Vec<u8>,
    /// Non-blank lines: start, end and line number.
    lines: Vec<(usize, usize, u64)>,
    next: usize,
    /// The first line that is not valid JSON, and why.
    error: Option<(usize, JsonError)>,
}

impl Ahead {
    /// Validates every line; keeps the first failure.
    fn validate(&mut self) {
        let check = |lines: &[(usize, usize, u64)], offset: usize| {
            lines.iter().enumerate().find_map(|(i, &(start, end, _))| {
                validate(&self.bytes[start..end])
                    .err()
                    .map(|e| (offset + i, e))
            })
        };
        let parallel = std::thread::available_parallelism().map_or(1, |n| n.get()) > 1;
        let half = self.lines.len() / 2;
        self.error = if parallel && half > 0 {
            let (first, second) = self.lines.split_at(half);
            std::thread::scope(|scope| {
                let later = scope.spawn(|| check(second, half));
                let early = check(first, 0);
                // joined either way; a panic in the helper cannot hide a bad line: its half is
                // checked here again
                let later = later.join().unwrap_or_else(|_| check(second, half));
                early.or(later)
            })
        } else {
            check(&self.lines, 0)
        };
    }
}

impl<R: BufRead> JsonItems<R> {
    /// Items of `reader`; the format is detected from the first byte that is not whitespace.
    pub fn new(reader: R) -> Self {
        JsonItems {
            reader,
            format: None,
            buf: Vec::new(),
            line: 1,
            item: 0,
            ahead: Ahead::default(),
        }
    }

    /// The next item as validated JSON text, or `None` at the end.
    pub fn next_item(&mut self) -> Result<Option<(&[u8], Position)>, ItemsError> {
        let format = match self.format {
            Some(format) => format,
            None => self.detect()?,
        };
        if format == Format::Lines && self.item > 0 {
            return self.next_ahead();
        }
        let found = match format {
            Format::Done => return Ok(None),
            Format::Lines => self.next_line()?,
            Format::Array => self.next_element()?,
        };
        let Some(line) = found else {
            self.format = Some(Format::Done);
            return Ok(None);
        };
        self.item += 1;
        let position = Position {
            line,
            item: self.item,
        };
        if format == Format::Lines && self.item == 1 && validate(&self.buf).is_err() {
            // not one object per line: maybe a single (pretty-printed) document
            self.reader.read_to_end(&mut self.buf)?;
            self.format = Some(Format::Done);
        }
        validate(&self.buf).map_err(|source| ItemsError::Json { position, source })?;
        Ok(Some((&self.buf, position)))
    }

    fn detect(&mut self) -> Result<Format, ItemsError> {
        // files saved by spreadsheet tools and Windows editors start with a UTF-8 byte order
        // mark, which is no part of the JSON
        let chunk = self.reader.fill_buf()?;
        if chunk.starts_with(UTF8_BOM) {
            self.reader.consume(UTF8_BOM.len());
        }
        loop {
            let chunk = self.reader.fill_buf()?;
            let Some(&first) = chunk.first() else {
                self.format = Some(Format::Done);
                return Ok(Format::Done);
            };
            if first.is_ascii_whitespace() {
                if first == b'\n' {
                    self.line += 1;
                }
                self.reader.consume(1);
                continue;
            }
            let format = if first == b'[' {
                self.reader.consume(1);
                Format::Array
            } else {
                Format::Lines
            };
            self.format = Some(format);
            return Ok(format);
        }
    }

    /// The next line read ahead, reading and validating the next few megabytes when none is
    /// left.
    fn next_ahead(&mut self) -> Result<Option<(&[u8], Position)>, ItemsError> {
        if self.ahead.next == self.ahead.lines.len() {
            self.fill_ahead()?;
            if self.ahead.lines.is_empty() {
                self.format = Some(Format::Done);
                return Ok(None);
            }
        }
        let index = self.ahead.next;
        self.ahead.next += 1;
        self.item += 1;
        let (start, end, line) = self.ahead.lines[index];
        let position = Position {
            line,
            item: self.item,
        };
        if let Some((bad, source)) = &self.ahead.error
            && *bad == index
        {
            // lines after the bad one were not all validated: the input ends here
            let source = source.clone();
            self.ahead.lines.clear();
            self.ahead.next = 0;
            self.format = Some(Format::Done);
            return Err(ItemsError::Json { position, source });
        }
        Ok(Some((&self.ahead.bytes[start..end], position)))
    }

    fn fill_ahead(&mut self) -> Result<(), ItemsError> {
        let ahead = &mut self.ahead;
        ahead.bytes.clear();
        ahead.lines.clear();
        ahead.next = 0;
        ahead.error = None;
        while ahead.bytes.len() < AHEAD_BYTES {
            let start = ahead.bytes.len();
            match self.reader.read_until(b'\n', &mut ahead.bytes) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    // nothing half read is handed out unvalidated
                    ahead.lines.clear();
                    return Err(e.into());
                }
            }
            let line = self.line;
            self.line += 1;
            if !ahead.bytes[start..].iter().all(u8::is_ascii_whitespace) {
                ahead.lines.push((start, ahead.bytes.len(), line));
            }
        }
        ahead.validate();
        Ok(())
    }

    /// The next non-blank line into `buf`; returns its line number.
    fn next_line(&mut self) -> Result<Option<u64>, ItemsError> {
        loop {
            self.buf.clear();
            if self.reader.read_until(b'\n', &mut self.buf)? == 0 {
                return Ok(None);
            }
            let line = self.line;
            self.line += 1;
            if !self.buf.iter().all(u8::is_ascii_whitespace) {
                return Ok(Some(line));
            }
        }
    }

    /// The next element of the top-level array into `buf`.
    fn next_element(&mut self) -> Result<Option<u64>, ItemsError> {
        self.buf.clear();
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let mut start_line = None;
        loop {
            let chunk = self.reader.fill_buf()?;
            if chunk.is_empty() {
                return Err(ItemsError::Array {
                    line: self.line,
                    what: "the input ends inside the top-level array (missing `]`)",
                });
            }
            let mut used = 0;
            let mut end = None;
            for &b in chunk {
                used += 1;
                if b == b'\n' {
                    self.line += 1;
                }
                if in_string {
                    self.buf.push(b);
                    if escaped {
                        escaped = false;
                    } else if b == b'\\' {
                        escaped = true;
                    } else if b == b'"' {
                        in_string = false;
                    }
                    continue;
                }
                match b {
                    b',' | b']' if depth == 0 => {
                        end = Some(b);
                        break;
                    }
                    b'"' => in_string = true,
                    b'[' | b'{' => depth += 1,
                    b']' | b'}' => depth = depth.saturating_sub(1),
                    _ => {}
                }
                if start_line.is_none() && !b.is_ascii_whitespace() {
                    start_line = Some(self.line);
                }
                self.buf.push(b);
            }
            self.reader.consume(used);
            match end {
                None => continue,
                Some(b']') if start_line.is_none() => {
                    if self.item > 0 {
                        return Err(ItemsError::Array {
                            line: self.line,
                            what: "trailing comma before `]`",
                        });
                    }
                    self.expect_end()?;
                    return Ok(None);
                }
                Some(b']') => {
                    self.format = Some(Format::Done);
                    self.expect_end()?;
                    return Ok(start_line);
                }
                Some(_) => {
                    return match start_line {
                        Some(line) => Ok(Some(line)),
                        None => Err(ItemsError::Array {
                            line: self.line,
                            what: "empty element in the top-level array",
                        }),
                    };
                }
            }
        }
    }

    /// Only whitespace may follow the top-level array.
    fn expect_end(&mut self) -> Result<(), ItemsError> {
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest)?;
        if rest.iter().all(u8::is_ascii_whitespace) {
            Ok(())
        } else {
            Err(ItemsError::Array {
                line: self.line,
                what: "data after the top-level array",
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items(text: &str) -> Result<Vec<(String, u64)>, ItemsError> {
        let mut reader = JsonItems::new(text.as_bytes());
        let mut out = Vec::new();
        while let Some((item, pos)) = reader.next_item()? {
            out.push((String::from_utf8_lossy(item).trim().to_string(), pos.line));
        }
        Ok(out)
    }

    #[test]
    fn json_lines_skip_blank_lines_and_count_lines() {
        let got = items("{\"a\":1}\n\n{\"a\":2}\n").unwrap();
        assert_eq!(got, [("{\"a\":1}".into(), 1), ("{\"a\":2}".into(), 3)]);
    }

    #[test]
    fn a_top_level_array_is_split_into_elements() {
        let got = items("[\n {\"a\": \"x,]\"},\n [1, 2],\n 3\n]\n").unwrap();
        let texts: Vec<&str> = got.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(texts, ["{\"a\": \"x,]\"}", "[1, 2]", "3"]);
        assert_eq!(got[1].1, 3);
        assert!(items("[]").unwrap().is_empty());
    }

    #[test]
    fn a_pretty_printed_object_is_one_item() {
        let got = items("{\n  \"a\": 1,\n  \"b\": [1]\n}\n").unwrap();
        assert_eq!(got.len(), 1);
    }

    #[test]
    fn lines_read_ahead_keep_order_positions_and_the_first_error() {
        // ~14 MB: several blocks read ahead, each validated on two threads
        let mut text = String::new();
        for i in 0..200_000u32 {
            text.push_str(&format!(
                "{{\"id\": {i}, \"pad\": \"{}\"}}\n",
                "x".repeat(40)
            ));
            if i % 1000 == 0 {
                text.push('\n');
            }
        }
        let got = items(&text).unwrap();
        assert_eq!(got.len(), 200_000);
        assert!(got.windows(2).all(|w| w[0].1 < w[1].1));
        let last = &got[199_999];
        assert!(last.0.starts_with("{\"id\": 199999,"), "{}", last.0);
        // lines are numbered with the blank ones counted
        assert_eq!(last.1, 200_000 + 200);
        // two bad lines far apart, in the second half of a block: the first is reported
        let mut bad = text.clone();
        bad.push_str("{\"id\": oops}\n{\"fine\": 1}\n{broken\n");
        let err = items(&bad).unwrap_err().to_string();
        assert!(
            err.starts_with("line 200201, item 200001: invalid JSON"),
            "{err}"
        );
    }

    #[test]
    fn a_byte_order_mark_at_the_start_is_skipped() {
        let got = items("\u{feff}{\"a\": 1}\n{\"a\": 2}\n").unwrap();
        assert_eq!(
            got,
            [("{\"a\": 1}".to_string(), 1), ("{\"a\": 2}".to_string(), 2)]
        );
        let got = items("\u{feff}[{\"a\": 1}]").unwrap();
        assert_eq!(got.len(), 1);
        // anywhere else it is not JSON
        assert!(items("{\"a\": 1}\n\u{feff}{\"a\": 2}\n").is_err());
    }

    #[test]
    fn malformed_input_names_the_line() {
        let err = items("{\"a\":1}\n{\"a\":\n").unwrap_err().to_string();
        assert!(err.starts_with("line 2, item 2: invalid JSON"), "{err}");
        let err = items("[1, 2").unwrap_err().to_string();
        assert!(err.contains("missing `]`"), "{err}");
        let err = items("[1,]").unwrap_err().to_string();
        assert!(err.contains("trailing comma"), "{err}");
        let err = items("[1] x").unwrap_err().to_string();
        assert!(err.contains("after the top-level array"), "{err}");
    }
}
