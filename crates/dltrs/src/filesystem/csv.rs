//! CSV files as items: a header row, then rows typed per column the way dlt's pandas-based
//! `read_csv` types them — per chunk of rows, a column is integer, float or boolean when all
//! its values are, text otherwise; an integer column with an empty value becomes float.

use std::collections::VecDeque;
use std::io::BufRead;

use crate::run_error::BoxError;

/// Rows typed together (dlt reads CSV in pandas chunks of 10 000 rows).
const CHUNK: usize = 10_000;

/// How a CSV file is written.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// Field separator (`,`).
    pub delimiter: u8,
    /// Quote character (`"`).
    pub quote: u8,
    /// Whether the first row names the columns (true); otherwise they are `0`, `1`, ...
    pub has_header: bool,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            quote: b'"',
            has_header: true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Float,
    Bool,
    Text,
}

/// Reads rows of a CSV input and writes each as a JSON object.
pub struct CsvItems {
    reader: csv::Reader<Box<dyn BufRead + Send>>,
    name: String,
    headers: Vec<String>,
    /// Each header as a JSON key with its colon (`"name":`), encoded once.
    keys: Vec<Vec<u8>>,
    chunk: VecDeque<(csv::StringRecord, u64)>,
    kinds: Vec<Kind>,
    done: bool,
}

impl CsvItems {
    /// Reads the header row (when `options` say there is one) of `reader`, a file named
    /// `name` in errors.
    pub fn new(
        reader: Box<dyn BufRead + Send>,
        name: String,
        options: &CsvOptions,
    ) -> Result<Self, BoxError> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(options.delimiter)
            .quote(options.quote)
            .has_headers(options.has_header)
            .flexible(true)
            .from_reader(reader);
        let mut headers = Vec::new();
        if options.has_header {
            let row = reader
                .headers()
                .map_err(|e| format!("{name}: cannot read the header row: {e}"))?;
            for field in row {
                // pandas' mangling of repeated names: `a`, `a.1`, `a.2`
                let mut unique = field.to_owned();
                let mut n = 0;
                while headers.contains(&unique) {
                    n += 1;
                    unique = format!("{field}.{n}");
                }
                headers.push(unique);
            }
        }
        Ok(CsvItems {
            reader,
            name,
            keys: Vec::new(),
            headers,
            chunk: VecDeque::new(),
            kinds: Vec::new(),
            done: false,
        })
    }

    fn fill(&mut self) -> Result<(), BoxError> {
        while self.chunk.len() < CHUNK {
            let mut record = csv::StringRecord::new();
            let line = self.reader.position().line();
            match self.reader.read_record(&mut record) {
                Ok(true) => {}
                Ok(false) => {
                    self.done = true;
                    break;
                }
                Err(e) => return Err(format!("{}, line {line}: {e}", self.name).into()),
            }
            if self.headers.is_empty() {
                self.headers = (0..record.len()).map(|i| i.to_string()).collect();
            }
            if record.len() > self.headers.len() {
                return Err(format!(
                    "{}, line {line}: {} fields where the header has {}; check the delimiter and quoting",
                    self.name,
                    record.len(),
                    self.headers.len()
                )
                .into());
            }
            self.chunk.push_back((record, line));
        }
        if self.keys.len() != self.headers.len() {
            self.keys = self
                .headers
                .iter()
                .map(|h| {
                    let mut key = serde_json::to_vec(h).unwrap_or_default();
                    key.push(b':');
                    key
                })
                .collect();
        }
        self.kinds = (0..self.headers.len())
            .map(|column| {
                kind_of(
                    self.chunk
                        .iter()
                        .map(|(row, _)| row.get(column).unwrap_or("")),
                )
            })
            .collect();
        Ok(())
    }

    /// Writes the next row as a JSON object into `buf`; `false` at the end.
    pub fn next_item(&mut self, buf: &mut Vec<u8>) -> Result<bool, BoxError> {
        if self.chunk.is_empty() && !self.done {
            self.fill()?;
        }
        let Some((row, _)) = self.chunk.pop_front() else {
            return Ok(false);
        };
        buf.push(b'{');
        for (column, key) in self.keys.iter().enumerate() {
            if column > 0 {
                buf.push(b',');
            }
            buf.extend_from_slice(key);
            let value = row.get(column).unwrap_or("");
            if value.is_empty() {
                buf.extend_from_slice(b"null");
                continue;
            }
            match self.kinds.get(column).copied().unwrap_or(Kind::Text) {
                // `+5` and `007` are integers to pandas but not JSON: write the number
                Kind::Int => match value.trim().parse::<i64>() {
                    Ok(i) => buf.extend_from_slice(itoa::Buffer::new().format(i).as_bytes()),
                    Err(_) => buf.extend_from_slice(b"null"),
                },
                Kind::Float => match value.trim().parse::<f64>() {
                    Ok(f) if f.is_finite() => serde_json::to_writer(&mut *buf, &f)?,
                    _ => buf.extend_from_slice(b"null"),
                },
                Kind::Bool => {
                    buf.extend_from_slice(if is_true(value) { b"true" } else { b"false" })
                }
                Kind::Text => serde_json::to_writer(&mut *buf, value)?,
            }
        }
        buf.push(b'}');
        Ok(true)
    }
}

fn is_int(v: &str) -> bool {
    let v = v.trim();
    let digits = v.strip_prefix(['-', '+']).unwrap_or(v);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && v.parse::<i64>().is_ok()
}

fn is_float(v: &str) -> bool {
    let v = v.trim();
    v.parse::<f64>().is_ok_and(f64::is_finite) && v.bytes().any(|b| b.is_ascii_digit())
}

fn is_true(v: &str) -> bool {
    matches!(v, "True" | "TRUE" | "true")
}

fn is_bool(v: &str) -> bool {
    is_true(v) || matches!(v, "False" | "FALSE" | "false")
}

fn kind_of<'a>(values: impl Iterator<Item = &'a str> + Clone) -> Kind {
    let present = values.clone().filter(|v| !v.is_empty());
    let has_empty = values.clone().any(str::is_empty);
    if present.clone().next().is_none() {
        return Kind::Text;
    }
    if present.clone().all(is_int) {
        return if has_empty { Kind::Float } else { Kind::Int };
    }
    if present.clone().all(is_float) {
        return Kind::Float;
    }
    if present.clone().all(is_bool) {
        return Kind::Bool;
    }
    Kind::Text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str, options: &CsvOptions) -> Result<Vec<String>, BoxError> {
        let reader: Box<dyn BufRead + Send> =
            Box::new(std::io::Cursor::new(text.as_bytes().to_vec()));
        let mut items = CsvItems::new(reader, "t.csv".into(), options)?;
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while items.next_item(&mut buf)? {
            out.push(String::from_utf8_lossy(&buf).into_owned());
            buf.clear();
        }
        Ok(out)
    }

    #[test]
    fn types_columns_like_pandas() {
        let text =
            "id,price,ok,name,missing_int,a,a\n1,1.5,True,\"x, y\",7,p,q\n2,2,false,z,,r,s\n";
        let got = rows(text, &CsvOptions::default()).unwrap_or_default();
        assert_eq!(
            got,
            [
                r#"{"id":1,"price":1.5,"ok":true,"name":"x, y","missing_int":7.0,"a":"p","a.1":"q"}"#,
                r#"{"id":2,"price":2.0,"ok":false,"name":"z","missing_int":null,"a":"r","a.1":"s"}"#,
            ]
        );
    }

    #[test]
    fn a_byte_order_mark_is_no_part_of_the_first_header() {
        // spreadsheet tools save CSV with one; csv-core strips it, this keeps it so
        let got = rows("\u{feff}id,name\n1,a\n", &CsvOptions::default()).unwrap_or_default();
        assert_eq!(got, [r#"{"id":1,"name":"a"}"#]);
    }

    #[test]
    fn no_header_delimiter_and_errors() {
        let options = CsvOptions {
            delimiter: b';',
            has_header: false,
            ..CsvOptions::default()
        };
        let got = rows("1;a\n2;b\n+3;c\n007;d\n", &options).unwrap_or_default();
        assert_eq!(
            got,
            [
                r#"{"0":1,"1":"a"}"#,
                r#"{"0":2,"1":"b"}"#,
                r#"{"0":3,"1":"c"}"#,
                r#"{"0":7,"1":"d"}"#
            ]
        );
        let err = rows("a,b\n1,2\n3,4,5\n", &CsvOptions::default())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("t.csv, line 3: 3 fields"), "{err}");
    }
}
