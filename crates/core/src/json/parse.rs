//! A small, strict JSON parser that produces borrowed [`Item`]s.
//!
//! Why our own: serde_json stops at 128 levels and rounds or rejects integers beyond 64 bits,
//! and its `Value` sorts keys unless a feature is on. dlt's data needs input key order, exact
//! big integers, and a depth limit we choose, with errors that say where the input broke.

use std::borrow::Cow;

use super::Item;

/// The deepest nesting of arrays and objects accepted (Python dlt's JSON library stops at 1024).
pub const MAX_DEPTH: usize = 1000;

/// Why a JSON text could not be parsed; `offset` is the byte position in the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at byte {offset}")]
pub struct JsonError {
    /// What is wrong.
    pub kind: JsonErrorKind,
    /// Byte offset into the parsed text.
    pub offset: usize,
}

/// The kinds of JSON syntax errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonErrorKind {
    /// The text is not valid UTF-8.
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// The text ended in the middle of a value.
    #[error("unexpected end of input")]
    UnexpectedEnd,
    /// A character that cannot start or continue a value here.
    #[error("unexpected character {0:?}")]
    UnexpectedChar(char),
    /// Something other than whitespace follows the value.
    #[error("trailing characters after the value")]
    TrailingCharacters,
    /// `NaN`, `Infinity` or `-Infinity`: what Python's `json.dumps` writes for such floats,
    /// which JSON has no literal for.
    #[error(
        "`{0}` is not JSON (Python's json writes it for float('{0}')): write null, or the value \
         as a string"
    )]
    NonFiniteLiteral(&'static str),
    /// Arrays and objects nested deeper than [`MAX_DEPTH`].
    #[error("nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// A malformed number.
    #[error("invalid number")]
    InvalidNumber,
    /// A number too large for a 64-bit float (e.g. `1e400`).
    #[error("number out of range")]
    NumberOutOfRange,
    /// A malformed escape sequence or a lone surrogate.
    #[error("invalid escape sequence")]
    InvalidEscape,
    /// A raw control character inside a string.
    #[error("control character in string")]
    ControlCharacter,
}

/// Parses one JSON value from `text`, which must hold nothing else but whitespace.
pub fn parse(text: &[u8]) -> Result<Item<'_>, JsonError> {
    let text = std::str::from_utf8(text).map_err(|e| JsonError {
        kind: JsonErrorKind::InvalidUtf8,
        offset: e.valid_up_to(),
    })?;
    parse_str(text)
}

/// Parses one JSON value from a string slice.
pub fn parse_str(text: &str) -> Result<Item<'_>, JsonError> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    parser.skip_ws();
    let item = parser.value(0)?;
    parser.skip_ws();
    if parser.pos != parser.bytes.len() {
        return Err(parser.err(JsonErrorKind::TrailingCharacters));
    }
    Ok(item)
}

/// Checks that `text` is one JSON value that [`parse`] accepts, without building it: the
/// same grammar, escapes, numbers and depth limit, with no allocation for objects and arrays.
pub fn validate(text: &[u8]) -> Result<(), JsonError> {
    let text = std::str::from_utf8(text).map_err(|e| JsonError {
        kind: JsonErrorKind::InvalidUtf8,
        offset: e.valid_up_to(),
    })?;
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    parser.skip_ws();
    parser.skip_value(0)?;
    parser.skip_ws();
    if parser.pos != parser.bytes.len() {
        return Err(parser.err(JsonErrorKind::TrailingCharacters));
    }
    Ok(())
}

/// What a number literal holds, as far as its value depends on it.
#[derive(Default)]
struct NumberShape {
    float: bool,
    exponent: bool,
    int_digits: usize,
}

/// A float literal's value, refused when it does not fit an `f64`.
fn finite(literal: &str, offset: usize) -> Result<f64, JsonError> {
    let value: f64 = literal.parse().map_err(|_| JsonError {
        kind: JsonErrorKind::InvalidNumber,
        offset,
    })?;
    if !value.is_finite() {
        return Err(JsonError {
            kind: JsonErrorKind::NumberOutOfRange,
            offset,
        });
    }
    Ok(value)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn err(&self, kind: JsonErrorKind) -> JsonError {
        JsonError {
            kind,
            offset: self.pos,
        }
    }

    fn unexpected(&self) -> JsonError {
        let rest = self.text.get(self.pos..).unwrap_or_default();
        if let Some(literal) = ["NaN", "Infinity"]
            .into_iter()
            .find(|l| rest.starts_with(l))
        {
            return self.err(JsonErrorKind::NonFiniteLiteral(literal));
        }
        match rest.chars().next() {
            Some(c) => self.err(JsonErrorKind::UnexpectedChar(c)),
            None => self.err(JsonErrorKind::UnexpectedEnd),
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn value(&mut self, depth: usize) -> Result<Item<'a>, JsonError> {
        match self.peek() {
            None => Err(self.err(JsonErrorKind::UnexpectedEnd)),
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => {
                let s = self.string()?;
                // a typed value of a binding (a dlt marker), else the string
                Ok(match super::typed::is_typed(&s) {
                    true => super::typed::decode(&s).unwrap_or(Item::Str(s)),
                    false => Item::Str(s),
                })
            }
            Some(b't') => self.literal("true", Item::Bool(true)),
            Some(b'f') => self.literal("false", Item::Bool(false)),
            Some(b'n') => self.literal("null", Item::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.unexpected()),
        }
    }

    /// [`Self::value`] without the item: containers are walked, scalars go through the same
    /// checks and are dropped.
    fn skip_value(&mut self, depth: usize) -> Result<(), JsonError> {
        let (open, close) = match self.peek() {
            Some(b'{') => (b'{', b'}'),
            Some(b'[') => (b'[', b']'),
            Some(b'-' | b'0'..=b'9') => return self.skip_number(),
            _ => return self.value(depth).map(drop),
        };
        let depth = depth + 1;
        if depth > MAX_DEPTH {
            return Err(self.err(JsonErrorKind::TooDeep));
        }
        debug_assert_eq!(self.peek(), Some(open));
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(close) {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            if close == b'}' {
                if self.peek() != Some(b'"') {
                    return Err(self.unexpected());
                }
                self.string()?;
                self.skip_ws();
                if self.peek() != Some(b':') {
                    return Err(self.unexpected());
                }
                self.pos += 1;
                self.skip_ws();
            }
            self.skip_value(depth)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.unexpected()),
            }
        }
    }

    fn literal(&mut self, word: &str, item: Item<'a>) -> Result<Item<'a>, JsonError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(item)
        } else {
            Err(self.unexpected())
        }
    }

    fn object(&mut self, depth: usize) -> Result<Item<'a>, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err(JsonErrorKind::TooDeep));
        }
        self.pos += 1;
        let mut fields = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Item::Object(fields));
        }
        loop {
            self.skip_ws();
            if self.peek() != Some(b'"') {
                return Err(self.unexpected());
            }
            let key = self.string()?;
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.unexpected());
            }
            self.pos += 1;
            self.skip_ws();
            let value = self.value(depth)?;
            fields.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Item::Object(fields));
                }
                _ => return Err(self.unexpected()),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Item<'a>, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err(JsonErrorKind::TooDeep));
        }
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Item::Array(items));
        }
        loop {
            self.skip_ws();
            items.push(self.value(depth)?);
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Item::Array(items));
                }
                _ => return Err(self.unexpected()),
            }
        }
    }

    fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        // at the opening quote
        self.pos += 1;
        let start = self.pos;
        let rest = &self.bytes[start..];
        match memchr::memchr2(b'"', b'\\', rest) {
            None => {
                self.pos = self.bytes.len();
                Err(self.err(JsonErrorKind::UnexpectedEnd))
            }
            Some(i) if rest[i] == b'"' => {
                if let Some(c) = rest[..i].iter().position(|&b| b < 0x20) {
                    self.pos = start + c;
                    return Err(self.err(JsonErrorKind::ControlCharacter));
                }
                self.pos = start + i + 1;
                Ok(Cow::Borrowed(&self.text[start..start + i]))
            }
            Some(i) => {
                let mut out = String::with_capacity(i + 16);
                self.pos = start;
                self.escaped_string(&mut out)?;
                Ok(Cow::Owned(out))
            }
        }
    }

    fn escaped_string(&mut self, out: &mut String) -> Result<(), JsonError> {
        loop {
            let rest = &self.bytes[self.pos..];
            let Some(i) = memchr::memchr2(b'"', b'\\', rest) else {
                self.pos = self.bytes.len();
                return Err(self.err(JsonErrorKind::UnexpectedEnd));
            };
            if let Some(c) = rest[..i].iter().position(|&b| b < 0x20) {
                self.pos += c;
                return Err(self.err(JsonErrorKind::ControlCharacter));
            }
            out.push_str(&self.text[self.pos..self.pos + i]);
            self.pos += i;
            if rest[i] == b'"' {
                self.pos += 1;
                return Ok(());
            }
            // backslash
            self.pos += 1;
            let Some(esc) = self.peek() else {
                return Err(self.err(JsonErrorKind::UnexpectedEnd));
            };
            self.pos += 1;
            match esc {
                b'"' => out.push('"'),
                b'\\' => out.push('\\'),
                b'/' => out.push('/'),
                b'b' => out.push('\u{8}'),
                b'f' => out.push('\u{c}'),
                b'n' => out.push('\n'),
                b'r' => out.push('\r'),
                b't' => out.push('\t'),
                b'u' => {
                    let c = self.unicode_escape()?;
                    out.push(c);
                }
                _ => {
                    self.pos -= 1;
                    return Err(self.err(JsonErrorKind::InvalidEscape));
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let Some(digits) = self.bytes.get(self.pos..self.pos + 4) else {
            return Err(self.err(JsonErrorKind::UnexpectedEnd));
        };
        let mut v = 0u32;
        for &d in digits {
            let n = (d as char)
                .to_digit(16)
                .ok_or_else(|| self.err(JsonErrorKind::InvalidEscape))?;
            v = v * 16 + n;
        }
        self.pos += 4;
        Ok(v)
    }

    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let first = self.hex4()?;
        let cp = if (0xD800..0xDC00).contains(&first) {
            // a high surrogate must be followed by an escaped low surrogate
            if self.bytes.get(self.pos..self.pos + 2) != Some(b"\\u") {
                return Err(self.err(JsonErrorKind::InvalidEscape));
            }
            self.pos += 2;
            let second = self.hex4()?;
            if !(0xDC00..0xE000).contains(&second) {
                return Err(self.err(JsonErrorKind::InvalidEscape));
            }
            0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
        } else {
            first
        };
        char::from_u32(cp).ok_or_else(|| self.err(JsonErrorKind::InvalidEscape))
    }

    fn number(&mut self) -> Result<Item<'a>, JsonError> {
        let start = self.pos;
        let shape = self.number_literal()?;
        let literal = &self.text[start..self.pos];
        if shape.float {
            Ok(Item::Float(finite(literal, start)?))
        } else {
            match literal.parse::<i64>() {
                Ok(i) => Ok(Item::Int(i)),
                Err(_) => Ok(Item::BigInt(Cow::Borrowed(literal))),
            }
        }
    }

    /// [`Self::number`] without the value: a float is converted only when it could be out of
    /// range (an exponent, or more integer digits than the largest `f64` has).
    fn skip_number(&mut self) -> Result<(), JsonError> {
        let start = self.pos;
        let shape = self.number_literal()?;
        if shape.exponent || (shape.float && shape.int_digits > 308) {
            finite(&self.text[start..self.pos], start)?;
        }
        Ok(())
    }

    /// Moves over a number's grammar.
    fn number_literal(&mut self) -> Result<NumberShape, JsonError> {
        let mut shape = NumberShape::default();
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ if self
                .text
                .get(self.pos..)
                .is_some_and(|r| r.starts_with("Infinity")) =>
            {
                return Err(self.err(JsonErrorKind::NonFiniteLiteral("-Infinity")));
            }
            _ => return Err(self.err(JsonErrorKind::InvalidNumber)),
        }
        shape.int_digits = self.pos - int_start;
        if self.peek() == Some(b'.') {
            shape.float = true;
            self.pos += 1;
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Err(self.err(JsonErrorKind::InvalidNumber));
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.peek() {
            shape.float = true;
            shape.exponent = true;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if !self.peek().is_some_and(|b| b.is_ascii_digit()) {
                return Err(self.err(JsonErrorKind::InvalidNumber));
            }
            self.digits();
        }
        Ok(shape)
    }

    fn digits(&mut self) {
        while self.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_borrows_plain_strings() {
        let item = parse(br#"{"b": "x", "a": [1, 2.5, true, null]}"#).unwrap();
        let Item::Object(fields) = item else {
            panic!("not an object")
        };
        assert_eq!(fields[0].0, "b");
        assert!(matches!(fields[0].1, Item::Str(Cow::Borrowed("x"))));
        assert_eq!(fields[1].0, "a");
    }

    #[test]
    fn integers_beyond_64_bits_keep_their_digits() {
        assert_eq!(
            parse(b"-36893488147419103233").unwrap(),
            Item::BigInt(Cow::Borrowed("-36893488147419103233"))
        );
        assert_eq!(parse(b"9223372036854775807").unwrap(), Item::Int(i64::MAX));
    }

    #[test]
    fn escapes_and_surrogate_pairs_decode() {
        assert_eq!(
            parse(br#""a\n\"\u00e9\ud83d\ude95""#).unwrap(),
            Item::Str(Cow::Owned("a\n\"é🚕".into()))
        );
    }

    #[test]
    fn errors_say_what_and_where() {
        let cases: &[(&[u8], JsonErrorKind, usize)] = &[
            (b"{\"a\": 1,}", JsonErrorKind::UnexpectedChar('}'), 8),
            (b"{\"a\": NaN}", JsonErrorKind::NonFiniteLiteral("NaN"), 6),
            (
                b"[Infinity]",
                JsonErrorKind::NonFiniteLiteral("Infinity"),
                1,
            ),
            (
                b"[1, -Infinity]",
                JsonErrorKind::NonFiniteLiteral("-Infinity"),
                5,
            ),
            (b"[1, 2", JsonErrorKind::UnexpectedEnd, 5),
            (b"\"\xff\"", JsonErrorKind::InvalidUtf8, 1),
            (b"1e400", JsonErrorKind::NumberOutOfRange, 0),
            (b"\"\\ud800\"", JsonErrorKind::InvalidEscape, 7),
            (b"\"a\tb\"", JsonErrorKind::ControlCharacter, 2),
            (b"{} x", JsonErrorKind::TrailingCharacters, 3),
            (b"01", JsonErrorKind::TrailingCharacters, 1),
        ];
        for (text, kind, offset) in cases {
            let err = parse(text).unwrap_err();
            assert_eq!(
                (&err.kind, err.offset),
                (kind, *offset),
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn nesting_is_limited_without_overflowing_the_stack() {
        let ok = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        assert!(parse(ok.as_bytes()).is_ok());
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        assert_eq!(
            parse(deep.as_bytes()).unwrap_err().kind,
            JsonErrorKind::TooDeep
        );
    }

    #[test]
    fn validate_accepts_and_rejects_what_parse_does() {
        let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
        let ok_deep = "[".repeat(MAX_DEPTH) + &"]".repeat(MAX_DEPTH);
        // the longest float literals without an exponent that fit an f64, and one that does not
        let wide = format!("{}.5", "9".repeat(308));
        let too_wide = format!("-{}.5", "9".repeat(309));
        let cases: &[&[u8]] = &[
            wide.as_bytes(),
            too_wide.as_bytes(),
            b"[1.5, -0.25e-3, 12, -7E+2]",
            br#"{"a": [1, 2.5e3, -0, true, false, null, {"b": "\u00e9\n"}], "c": {}}"#,
            b"[]",
            b"  {}  ",
            b"{\"a\": 1,}",
            b"[1 2]",
            b"{\"a\" 1}",
            b"{1: 2}",
            b"\"\\ud800\"",
            b"\"tab\there\"",
            b"1e400",
            b"01",
            b"-",
            b"[1, 2",
            b"{} x",
            b"nul",
            b"\xff",
            deep.as_bytes(),
            ok_deep.as_bytes(),
        ];
        for case in cases {
            assert_eq!(
                validate(case).err(),
                parse(case).err(),
                "{}",
                String::from_utf8_lossy(case)
            );
        }
    }

    proptest::proptest! {
        #[test]
        fn validate_agrees_with_parse(text in r#"[\[\]{}:, "a0-9.eE+\-\\utrfnl]{0,40}"#) {
            proptest::prop_assert_eq!(validate(text.as_bytes()).err(), parse(text.as_bytes()).err());
        }
    }
}
