//! The CSV reader of the filesystem source (`dltrs::filesystem::CsvItems`).

use std::collections::HashSet;
use std::io::Cursor;

use dltrs::filesystem::{CsvItems, CsvOptions};
use dltrs_core::json::{Item, parse};

use crate::shown;

/// The dialects tried: the first byte of the input picks one.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];
const QUOTES: [u8; 2] = [b'"', b'\''];

/// The reader never panics; every row it writes is a valid JSON object with one distinct key
/// per column; and when it reads the whole input, it writes as many rows as the `csv` crate
/// finds records (less the header).
pub fn csv(data: &[u8]) {
    let Some((&dialect, text)) = data.split_first() else {
        return;
    };
    let options = CsvOptions {
        delimiter: DELIMITERS[usize::from(dialect & 3)],
        quote: QUOTES[usize::from((dialect >> 2) & 1)],
        has_header: dialect & 8 == 0,
    };
    let mut items = match CsvItems::new(
        Box::new(Cursor::new(text.to_vec())),
        "fuzz.csv".into(),
        &options,
    ) {
        Ok(items) => items,
        Err(_) => return,
    };
    let mut rows = 0usize;
    let mut columns = None;
    let mut buf = Vec::new();
    let complete = loop {
        buf.clear();
        match items.next_item(&mut buf) {
            Ok(true) => {}
            Ok(false) => break true,
            Err(_) => break false,
        }
        rows += 1;
        assert!(rows <= text.len(), "more rows than input bytes");
        let fields = match parse(&buf) {
            Ok(Item::Object(fields)) => fields,
            Ok(other) => panic!("row {rows} of {} is not an object: {other:?}", shown(text)),
            Err(e) => panic!(
                "row {rows} of {} is not valid JSON ({e}): {}",
                shown(text),
                shown(&buf)
            ),
        };
        let keys: HashSet<&str> = fields.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys.len(), fields.len(), "repeated keys in {}", shown(&buf));
        // every row has every column (missing trailing fields are nulls)
        let count = *columns.get_or_insert(fields.len());
        assert_eq!(
            count,
            fields.len(),
            "rows of {} differ in columns",
            shown(text)
        );
    };
    if complete {
        let records = csv_records(text, &options);
        let expected = records.saturating_sub(usize::from(options.has_header));
        assert_eq!(rows, expected, "rows of {}", shown(text));
    }
}

/// Records the `csv` crate reads from `text`, the header among them.
fn csv_records(text: &[u8], options: &CsvOptions) -> usize {
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(options.delimiter)
        .quote(options.quote)
        .has_headers(false)
        .flexible(true)
        .from_reader(text);
    reader.byte_records().take_while(Result::is_ok).count()
}
