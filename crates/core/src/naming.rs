//! Naming conventions: how source keys become table and column identifiers.
//!
//! [`SnakeCase`] reproduces dlt 1.31's default `snake_case` convention character for character
//! (`dlt/common/normalizers/naming/snake_case.py` and `naming.py`), including its quirks: Python's
//! `\d` matches every Unicode decimal digit, so those survive while all other non-ASCII letters
//! are lost, and identifiers longer than a destination's limit are shortened with a `shake_128`
//! tag computed on the *original* identifier.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha3::Shake128;
use sha3::digest::{ExtendableOutput, Update, XofReader};

/// Separator between nesting levels in table and column names (`parent__child`).
pub const PATH_SEPARATOR: &str = "__";

/// Turns source identifiers into destination identifiers.
///
/// Implementations must be pure: the same input gives the same output, so names can be cached.
pub trait NamingConvention: Send + Sync {
    /// Normalizes one identifier (no path semantics). Returns `None` when the identifier is
    /// empty or whitespace only, which has no valid normal form.
    fn normalize_identifier(&self, identifier: &str) -> Option<String>;

    /// The longest identifier the destination accepts, if it has a limit.
    fn max_length(&self) -> Option<usize>;

    /// Normalizes a table identifier. Same as [`Self::normalize_identifier`] unless overridden.
    fn normalize_table_identifier(&self, identifier: &str) -> Option<String> {
        self.normalize_identifier(identifier)
    }

    /// Breaks `path` on `__`, normalizes each part, joins them again and shortens the result.
    /// Parts that are empty or whitespace are dropped; the result may be empty.
    fn normalize_path(&self, path: &str) -> String {
        let parts: Vec<String> = break_path(path)
            .filter_map(|part| self.normalize_identifier(part))
            .collect();
        shorten_identifier(&make_path(&parts), path, self.max_length())
    }

    /// [`Self::normalize_path`] for table names.
    fn normalize_tables_path(&self, path: &str) -> String {
        let parts: Vec<String> = break_path(path)
            .filter_map(|part| self.normalize_table_identifier(part))
            .collect();
        shorten_identifier(&make_path(&parts), path, self.max_length())
    }

    /// [`Self::normalize_path`] without the length limit: what the path is before it is
    /// shortened, to tell two paths that only shorten alike from two that are alike.
    fn normalize_path_unshortened(&self, path: &str) -> String {
        let parts: Vec<String> = break_path(path)
            .filter_map(|part| self.normalize_identifier_unshortened(part))
            .collect();
        make_path(&parts)
    }

    /// [`Self::normalize_identifier`] without the length limit. By default the same (a
    /// convention that shortens overrides it).
    fn normalize_identifier_unshortened(&self, identifier: &str) -> Option<String> {
        self.normalize_identifier(identifier)
    }

    /// Joins already normalized identifiers with `__` and shortens the result.
    fn shorten_fragments(&self, fragments: &[&str]) -> String {
        let path = make_path(fragments);
        shorten_identifier(&path, &path, self.max_length())
    }
}

/// dlt's default convention: lower-case `snake_case` over a reduced ASCII alphabet.
#[derive(Debug, Clone, Default)]
pub struct SnakeCase {
    max_length: Option<usize>,
}

impl SnakeCase {
    /// A convention without a length limit (DuckDB's limit is large enough to never matter).
    pub fn new() -> Self {
        Self::default()
    }

    /// A convention that shortens identifiers longer than `max_length` (PostgreSQL: 63).
    pub fn with_max_length(max_length: usize) -> Self {
        Self {
            max_length: Some(max_length),
        }
    }
}

impl NamingConvention for SnakeCase {
    fn normalize_identifier(&self, identifier: &str) -> Option<String> {
        let stripped = py_strip(identifier);
        if stripped.is_empty() {
            return None;
        }
        let normalized = to_snake_case(&reduce_alphabet(stripped));
        Some(shorten_identifier(&normalized, stripped, self.max_length))
    }

    fn normalize_identifier_unshortened(&self, identifier: &str) -> Option<String> {
        let stripped = py_strip(identifier);
        if stripped.is_empty() {
            return None;
        }
        Some(to_snake_case(&reduce_alphabet(stripped)))
    }

    fn max_length(&self) -> Option<usize> {
        self.max_length
    }
}

/// Python's `str.strip()`: Rust's whitespace plus the ASCII separators U+001C..U+001F.
pub(crate) fn py_strip(s: &str) -> &str {
    s.trim_matches(is_py_space)
}

/// Python's `str.isspace()` for one character.
pub(crate) fn is_py_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

fn break_path(path: &str) -> impl Iterator<Item = &str> {
    path.split(PATH_SEPARATOR)
        .filter(|part| !py_strip(part).is_empty())
}

fn make_path<S: AsRef<str>>(parts: &[S]) -> String {
    let mut out = String::new();
    for part in parts {
        let part = part.as_ref();
        if py_strip(part).is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push_str(PATH_SEPARATOR);
        }
        out.push_str(part);
    }
    out
}

/// Translates `+-*@|` and replaces each run of characters outside `[a-zA-Z\d_]` with `_`.
fn reduce_alphabet(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_run = false;
    for c in s.chars() {
        let c = match c {
            '+' | '*' => 'x',
            '-' => '_',
            '@' => 'a',
            '|' => 'l',
            c => c,
        };
        if c.is_ascii_alphanumeric() || c == '_' || is_unicode_decimal_digit(c) {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('_');
            in_run = true;
        }
    }
    out
}

fn to_snake_case(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    // `([^_])([A-Z][a-z]+)` -> `\1_\2`, non-overlapping, left to right
    let mut pass1: Vec<char> = Vec::with_capacity(chars.len() + 4);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '_'
            && chars.get(i + 1).is_some_and(char::is_ascii_uppercase)
            && chars.get(i + 2).is_some_and(char::is_ascii_lowercase)
        {
            let mut end = i + 3;
            while chars.get(end).is_some_and(char::is_ascii_lowercase) {
                end += 1;
            }
            pass1.push(c);
            pass1.push('_');
            pass1.extend_from_slice(&chars[i + 1..end]);
            i = end;
        } else {
            pass1.push(c);
            i += 1;
        }
    }
    // `([a-z0-9])([A-Z])` -> `\1_\2`, then lower-case
    let mut pass2 = String::with_capacity(pass1.len() + 4);
    let mut i = 0;
    while i < pass1.len() {
        let c = pass1[i];
        if (c.is_ascii_lowercase() || c.is_ascii_digit())
            && pass1.get(i + 1).is_some_and(char::is_ascii_uppercase)
        {
            pass2.push(c);
            pass2.push('_');
            pass2.push(pass1[i + 1].to_ascii_lowercase());
            i += 2;
        } else {
            pass2.push(c.to_ascii_lowercase());
            i += 1;
        }
    }
    // a leading (Unicode) digit gets a `_` prefix
    let mut ident = String::with_capacity(pass2.len() + 2);
    if pass2.chars().next().is_some_and(is_unicode_decimal_digit) {
        ident.push('_');
    }
    // each trailing `_` becomes `x`
    let stripped = pass2.trim_end_matches('_');
    let trailing = pass2.len() - stripped.len();
    ident.push_str(stripped);
    ident.extend(std::iter::repeat_n('x', trailing));
    collapse_underscores(&ident)
}

/// Replaces runs of two or more `_` with one, so `__` stays free to separate path levels.
fn collapse_underscores(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_underscore = false;
    for c in s.chars() {
        if c == '_' {
            if !prev_underscore {
                out.push(c);
            }
            prev_underscore = true;
        } else {
            out.push(c);
            prev_underscore = false;
        }
    }
    out
}

/// Shortens `normalized` to `max_length` characters with a tag computed from `original`.
pub fn shorten_identifier(normalized: &str, original: &str, max_length: Option<usize>) -> String {
    let Some(max_length) = max_length else {
        return normalized.to_string();
    };
    let len = normalized.chars().count();
    if len <= max_length {
        return normalized.to_string();
    }
    let tag = identifier_tag(original);
    let remaining = max_length.saturating_sub(tag.len());
    let head = remaining / 2 + remaining % 2;
    let tail = remaining / 2;
    let mut out = String::with_capacity(max_length);
    out.extend(normalized.chars().take(head));
    out.push_str(&tag);
    out.extend(normalized.chars().skip(len - tail));
    out
}

/// dlt's collision tag: 4 bytes of `shake_128`, base64 without padding, `/`->`a`, `+`->`b`,
/// lower-cased. 4 bytes follow from dlt's default collision probability of 0.001.
fn identifier_tag(original: &str) -> String {
    let mut hasher = Shake128::default();
    hasher.update(original.as_bytes());
    let mut digest = [0u8; 4];
    hasher.finalize_xof().read(&mut digest);
    STANDARD
        .encode(digest)
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '/' => 'a',
            '+' => 'b',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// Python's `\d`: a character of Unicode category `Nd` (Unicode 14, as in CPython 3.11).
fn is_unicode_decimal_digit(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_digit();
    }
    let cp = c as u32;
    UNICODE_ND_RANGES
        .binary_search_by(|&(lo, hi)| {
            if hi < cp {
                std::cmp::Ordering::Less
            } else if lo > cp {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

const UNICODE_ND_RANGES: &[(u32, u32)] = &[
    (0x30, 0x39),
    (0x660, 0x669),
    (0x6F0, 0x6F9),
    (0x7C0, 0x7C9),
    (0x966, 0x96F),
    (0x9E6, 0x9EF),
    (0xA66, 0xA6F),
    (0xAE6, 0xAEF),
    (0xB66, 0xB6F),
    (0xBE6, 0xBEF),
    (0xC66, 0xC6F),
    (0xCE6, 0xCEF),
    (0xD66, 0xD6F),
    (0xDE6, 0xDEF),
    (0xE50, 0xE59),
    (0xED0, 0xED9),
    (0xF20, 0xF29),
    (0x1040, 0x1049),
    (0x1090, 0x1099),
    (0x17E0, 0x17E9),
    (0x1810, 0x1819),
    (0x1946, 0x194F),
    (0x19D0, 0x19D9),
    (0x1A80, 0x1A89),
    (0x1A90, 0x1A99),
    (0x1B50, 0x1B59),
    (0x1BB0, 0x1BB9),
    (0x1C40, 0x1C49),
    (0x1C50, 0x1C59),
    (0xA620, 0xA629),
    (0xA8D0, 0xA8D9),
    (0xA900, 0xA909),
    (0xA9D0, 0xA9D9),
    (0xA9F0, 0xA9F9),
    (0xAA50, 0xAA59),
    (0xABF0, 0xABF9),
    (0xFF10, 0xFF19),
    (0x104A0, 0x104A9),
    (0x10D30, 0x10D39),
    (0x11066, 0x1106F),
    (0x110F0, 0x110F9),
    (0x11136, 0x1113F),
    (0x111D0, 0x111D9),
    (0x112F0, 0x112F9),
    (0x11450, 0x11459),
    (0x114D0, 0x114D9),
    (0x11650, 0x11659),
    (0x116C0, 0x116C9),
    (0x11730, 0x11739),
    (0x118E0, 0x118E9),
    (0x11950, 0x11959),
    (0x11C50, 0x11C59),
    (0x11D50, 0x11D59),
    (0x11DA0, 0x11DA9),
    (0x16A60, 0x16A69),
    (0x16AC0, 0x16AC9),
    (0x16B50, 0x16B59),
    (0x1D7CE, 0x1D7FF),
    (0x1E140, 0x1E149),
    (0x1E2F0, 0x1E2F9),
    (0x1E950, 0x1E959),
    (0x1FBF0, 0x1FBF9),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Table {
        cases: Vec<Case>,
        fragments: Vec<Fragments>,
    }

    #[derive(serde::Deserialize)]
    struct Case {
        input: String,
        identifier: Option<String>,
        path: Option<String>,
        path_63: Option<String>,
        identifier_20: Option<String>,
    }

    #[derive(serde::Deserialize)]
    struct Fragments {
        fragments: Vec<String>,
        shortened_63: String,
    }

    fn table() -> Table {
        let text = include_str!("../../../testdata/dlt/naming.json");
        serde_json::from_str(text).unwrap_or_else(|e| panic!("testdata/dlt/naming.json: {e}"))
    }

    #[test]
    fn snake_case_matches_dlt_on_the_naming_table() {
        let table = table();
        assert!(
            table.cases.len() >= 40,
            "the naming table must keep 40+ pairs"
        );
        let plain = SnakeCase::new();
        let pg = SnakeCase::with_max_length(63);
        let short = SnakeCase::with_max_length(20);
        let mut failures = Vec::new();
        for case in &table.cases {
            let got = (
                plain.normalize_identifier(&case.input),
                Some(plain.normalize_path(&case.input)),
                Some(pg.normalize_path(&case.input)),
                short.normalize_identifier(&case.input),
            );
            let want = (
                case.identifier.clone(),
                case.path.clone(),
                case.path_63.clone(),
                case.identifier_20.clone(),
            );
            if got != want {
                failures.push(format!("{:?}: got {got:?}, dlt {want:?}", case.input));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn shorten_fragments_matches_dlt() {
        let pg = SnakeCase::with_max_length(63);
        for case in table().fragments {
            let parts: Vec<&str> = case.fragments.iter().map(String::as_str).collect();
            assert_eq!(pg.shorten_fragments(&parts), case.shortened_63);
        }
    }

    #[test]
    fn empty_and_whitespace_identifiers_have_no_normal_form() {
        assert_eq!(SnakeCase::new().normalize_identifier(""), None);
        assert_eq!(SnakeCase::new().normalize_identifier(" \t\u{1f}"), None);
    }

    #[test]
    fn shortened_identifiers_have_exactly_the_limit() {
        let name = "x".repeat(300);
        for limit in [7, 10, 20, 63, 64] {
            let got = SnakeCase::with_max_length(limit).normalize_path(&name);
            assert_eq!(got.chars().count(), limit);
        }
    }
}
