//! dlt's `layout`: where a table's files go inside the dataset's folder
//! (`{table_name}/{load_id}.{file_id}.{ext}` by default), with dlt's placeholders.
//!
//! The time placeholders take the package's time (its load id), as dlt takes the load
//! package's timestamp: a resumed load renders every path as the first attempt did, so it
//! overwrites its own files instead of adding copies.

use dltrs_core::types::datetime::format_timestamp;

/// dlt's default layout.
pub const DEFAULT_LAYOUT: &str = "{table_name}/{load_id}.{file_id}.{ext}";

/// The placeholders dlt's `path_utils` knows besides the time tokens.
const NAMED: [&str; 10] = [
    "schema_name",
    "table_name",
    "load_id",
    "file_id",
    "ext",
    "curr_date",
    "timestamp",
    "timestamp_ms",
    "load_package_timestamp",
    "load_package_timestamp_ms",
];

/// pendulum's format tokens dlt accepts as placeholders.
const TIME_TOKENS: [&str; 26] = [
    "YYYY", "YY", "Y", "MMMM", "MMM", "MM", "M", "DD", "D", "HH", "H", "mm", "m", "dddd", "ddd",
    "dd", "d", "ss", "s", "SSSS", "SSS", "SS", "S", "Q", "A", "a",
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

/// A checked layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    text: String,
    /// The part of the layout that names a table's files: up to and including the character
    /// after `{table_name}` (`{table_name}/`).
    prefix: String,
}

/// One file's values for the placeholders.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FileName<'a> {
    pub schema_name: &'a str,
    pub table_name: &'a str,
    pub load_id: &'a str,
    pub file_id: &'a str,
    pub ext: &'a str,
}

impl Layout {
    /// Checks `text` as dlt does: every placeholder known, `{table_name}` present with only
    /// `{schema_name}` before it and a separator after it; `.{ext}` added when absent.
    pub fn parse(text: &str) -> Result<Layout, String> {
        let mut text = text.to_string();
        let names = placeholders(&text)?;
        let unknown: Vec<&str> = names
            .iter()
            .map(|(name, _)| name.as_str())
            .filter(|name| !NAMED.contains(name) && !TIME_TOKENS.contains(name))
            .collect();
        if !unknown.is_empty() {
            return Err(format!(
                "layout `{text}` has unknown placeholders {}: it may use {}, and the time tokens {}",
                unknown.join(", "),
                NAMED.map(|n| format!("{{{n}}}")).join(", "),
                TIME_TOKENS.join(" ")
            ));
        }
        if !names.iter().any(|(name, _)| name == "ext") {
            text.push_str(".{ext}");
        }
        let example = format!("a valid layout is `{DEFAULT_LAYOUT}`");
        let Some(at) = text.find("{table_name}") else {
            return Err(format!(
                "layout `{text}` has no {{table_name}}: a table's files must be found by their path; {example}"
            ));
        };
        let before: Vec<&str> = names
            .iter()
            .filter(|(_, start)| *start < at)
            .map(|(name, _)| name.as_str())
            .filter(|name| *name != "schema_name")
            .collect();
        if !before.is_empty() {
            return Err(format!(
                "layout `{text}` has {} before {{table_name}}: only {{schema_name}} may come before it, so a table's files share a prefix; {example}",
                before.join(", ")
            ));
        }
        let end = at + "{table_name}".len();
        let Some(separator) = text[end..].chars().next().filter(|c| *c != '{') else {
            return Err(format!(
                "layout `{text}` needs a separator after {{table_name}} (`/` or `.`), so one table's files are not another's; {example}"
            ));
        };
        let prefix = text[..end + separator.len_utf8()].to_string();
        Ok(Layout { text, prefix })
    }

    /// The layout's text.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The path of a file inside the dataset's folder.
    pub(crate) fn render(&self, file: &FileName<'_>) -> String {
        let micros = dltrs_core::package::load_id_micros(file.load_id);
        render(&self.text, |name| match name {
            "schema_name" => Some(file.schema_name.to_string()),
            "table_name" => Some(file.table_name.to_string()),
            "load_id" => Some(file.load_id.to_string()),
            "file_id" => Some(file.file_id.to_string()),
            "ext" => Some(file.ext.to_string()),
            other => time_value(other, micros),
        })
    }

    /// The prefix every file of `table` has inside the dataset's folder (`items/`).
    pub(crate) fn table_prefix(&self, schema_name: &str, table: &str) -> String {
        render(&self.prefix, |name| match name {
            "schema_name" => Some(schema_name.to_string()),
            "table_name" => Some(table.to_string()),
            _ => None,
        })
    }
}

impl Default for Layout {
    fn default() -> Self {
        Layout {
            text: DEFAULT_LAYOUT.to_string(),
            prefix: "{table_name}/".to_string(),
        }
    }
}

/// The placeholders of `text` with their byte offsets.
fn placeholders(text: &str) -> Result<Vec<(String, usize)>, String> {
    let mut out = Vec::new();
    let mut rest = text;
    let mut offset = 0;
    while let Some(open) = rest.find('{') {
        let Some(close) = rest[open..].find('}') else {
            return Err(format!("layout `{text}` has a `{{` without its `}}`"));
        };
        out.push((rest[open + 1..open + close].to_string(), offset + open));
        offset += open + close + 1;
        rest = &rest[open + close + 1..];
    }
    Ok(out)
}

fn render(text: &str, value: impl Fn(&str) -> Option<String>) -> String {
    let mut out = String::with_capacity(text.len() + 32);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let name = &rest[open + 1..open + close];
        match value(name) {
            Some(v) => out.push_str(&v),
            None => out.push_str(&rest[open..=open + close]),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// A time placeholder's value at `micros` (UTC), as pendulum formats it, lower case.
fn time_value(token: &str, micros: i64) -> Option<String> {
    // 2024-01-02T03:04:05.678901+00:00
    let iso = format_timestamp(micros);
    let num = |range: std::ops::Range<usize>| iso.get(range).unwrap_or("0").to_string();
    let int = |range: std::ops::Range<usize>| num(range).parse::<u32>().unwrap_or(0);
    let fraction = iso
        .get(20..26)
        .filter(|_| iso.as_bytes().get(19) == Some(&b'.'))
        .unwrap_or("000000")
        .to_string();
    let month = int(5..7).clamp(1, 12);
    let days = micros.div_euclid(86_400_000_000);
    // 1970-01-01 was a Thursday
    let weekday = (days + 4).rem_euclid(7) as usize;
    let hour = int(11..13);
    Some(match token {
        "curr_date" => num(0..10),
        "timestamp" | "load_package_timestamp" => micros.div_euclid(1_000_000).to_string(),
        "timestamp_ms" | "load_package_timestamp_ms" => micros.div_euclid(1_000).to_string(),
        "YYYY" | "Y" => num(0..4),
        "YY" => num(2..4),
        "MMMM" => MONTHS[month as usize - 1].to_string(),
        "MMM" => MONTHS[month as usize - 1][..3].to_string(),
        "MM" => num(5..7),
        "M" => month.to_string(),
        "DD" => num(8..10),
        "D" => int(8..10).to_string(),
        "HH" => num(11..13),
        "H" => hour.to_string(),
        "mm" => num(14..16),
        "m" => int(14..16).to_string(),
        "ss" => num(17..19),
        "s" => int(17..19).to_string(),
        "dddd" => WEEKDAYS[weekday].to_string(),
        "ddd" => WEEKDAYS[weekday][..3].to_string(),
        "dd" => WEEKDAYS[weekday][..2].to_string(),
        "d" => weekday.to_string(),
        "SSSS" => fraction[..4].to_string(),
        "SSS" => fraction[..3].to_string(),
        "SS" => fraction[..2].to_string(),
        "S" => fraction[..1].to_string(),
        "Q" => ((month - 1) / 3 + 1).to_string(),
        "A" | "a" => (if hour < 12 { "am" } else { "pm" }).to_string(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file<'a>(table: &'a str) -> FileName<'a> {
        FileName {
            schema_name: "pl",
            table_name: table,
            // 2024-01-02T03:04:05.678Z, a Tuesday
            load_id: "1704164645.678",
            file_id: "0a1b2c3d4e",
            ext: "jsonl.gz",
        }
    }

    #[test]
    fn the_default_layout_puts_files_in_a_folder_per_table() {
        let layout = Layout::default();
        assert_eq!(
            layout.render(&file("items")),
            "items/1704164645.678.0a1b2c3d4e.jsonl.gz"
        );
        assert_eq!(layout.table_prefix("pl", "items"), "items/");
        assert_eq!(Layout::parse(DEFAULT_LAYOUT), Ok(layout));
    }

    #[test]
    fn time_tokens_render_as_dlt_renders_them() {
        // dlt's own example of path_utils with the same time
        let layout = Layout::parse(
            "{table_name}/{YYYY}-{MM}-{DD}/{timestamp}/{timestamp_ms}/{MMM}/{dddd}/{Q}/{HH}{mm}{ss}/{SSS}/{schema_name}/{load_id}.{file_id}",
        )
        .unwrap();
        assert_eq!(
            layout.render(&file("items")),
            "items/2024-01-02/1704164645/1704164645678/jan/tuesday/1/030405/678/pl/1704164645.678.0a1b2c3d4e.jsonl.gz"
        );
        let layout =
            Layout::parse("{schema_name}/{table_name}.{curr_date}.{d}.{M}.{D}.{ext}").unwrap();
        assert_eq!(layout.render(&file("t")), "pl/t.2024-01-02.2.1.2.jsonl.gz");
        assert_eq!(layout.table_prefix("pl", "t"), "pl/t.");
    }

    #[test]
    fn bad_layouts_are_refused_with_what_to_change() {
        let unknown = Layout::parse("{table_name}/{nope}.{ext}").unwrap_err();
        assert!(unknown.contains("unknown placeholders nope"), "{unknown}");
        let missing = Layout::parse("{load_id}.{ext}").unwrap_err();
        assert!(missing.contains("no {table_name}"), "{missing}");
        let before = Layout::parse("{curr_date}/{table_name}/{load_id}").unwrap_err();
        assert!(before.contains("curr_date before {table_name}"), "{before}");
        let glued = Layout::parse("{table_name}{load_id}").unwrap_err();
        assert!(glued.contains("separator"), "{glued}");
        let open = Layout::parse("{table_name/x").unwrap_err();
        assert!(open.contains("without its"), "{open}");
    }
}
