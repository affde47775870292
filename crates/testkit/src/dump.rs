//! The canonical dump of a dataset, the Rust twin of `dump_dataset.py`.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal32Type, Decimal64Type, Decimal128Type, Decimal256Type, DurationMicrosecondType,
    DurationMillisecondType, DurationNanosecondType, DurationSecondType, Float16Type, Float32Type,
    Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, IntervalDayTimeType,
    IntervalMonthDayNanoType, IntervalYearMonthType, Time32MillisecondType, Time32SecondType,
    Time64MicrosecondType, Time64NanosecondType, TimestampMicrosecondType,
    TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::{DataType, IntervalUnit, TimeUnit};
use dltrs_core::sql::ident as quote;
use duckdb::types::Type;
use duckdb::{Connection, Error};
use serde_json::{Map, Value, json};

use crate::pyfmt;

/// Columns dlt generates; they are dropped from documents so that random ids do not matter.
const GENERATED: [&str; 5] = [
    "_dlt_id",
    "_dlt_parent_id",
    "_dlt_root_id",
    "_dlt_list_idx",
    "_dlt_load_id",
];

/// scd2's validity columns (dlt's default names).
const VALIDITY: [&str; 2] = ["_dlt_valid_from", "_dlt_valid_to"];

/// Days DuckDB's Python client counts in an interval's month.
const DAYS_PER_MONTH: i128 = 30;

/// One column of a table as `information_schema.columns` reports it.
struct Column {
    name: String,
    data_type: String,
    nullable: bool,
}

/// The rows of one table, each a map from column name to the dump's value (null included).
type Rows = Vec<Map<String, Value>>;

/// Dumps the dataset (DuckDB schema) `dataset` in the canonical form of `dump_dataset.py`.
///
/// The result is `{"dataset", "tables", "system", "documents"}` plus `"orphan_child_tables"`
/// when a table has a `_dlt_parent_id` column but no parent table:
///
/// - `tables` and `system` (the `_dlt_*` tables) map each table to
///   `{"columns": [[name, DuckDB type, nullable], ...], "row_count"}`, columns in table order;
///   `system._dlt_loads` also has the sorted `"statuses"`;
/// - `documents` maps each root table (a data table without `_dlt_parent_id`) to its rows as
///   documents: nulls and the generated `_dlt_*` columns dropped, each child table
///   (`parent__key`) folded into its parent rows as a list under `key` ordered by
///   `_dlt_list_idx`, the documents sorted by their `json.dumps(sort_keys=True)` text.
///
/// Values read as Python's DuckDB client and the script's `plain()` would give them: timestamps
/// as ISO text (`+00:00` when the column has a time zone), dates and times as ISO text, decimals
/// as `str(Decimal)` (integral values normalised: `5`, `1E+2`), blobs as lowercase hex, `JSON`
/// columns as their text, `HUGEINT` as an integer when it fits 64 bits (else as text), and
/// non-finite doubles as the strings `NaN`, `Infinity`, `-Infinity` (JSON cannot hold them).
/// Every object in the result has its keys sorted, as the script prints it.
///
/// # Errors
///
/// Any DuckDB error, and [`Error::FromSqlConversionFailure`] for a column of an Arrow type the
/// dump does not know.
pub fn dump_dataset(conn: &Connection, dataset: &str) -> Result<Value, Error> {
    // qualified with the database: a schema may share the database file's name
    let catalog: String = conn.query_row("select current_database()", [], |row| row.get(0))?;
    let schema = format!("{}.{}", quote(&catalog), quote(dataset));
    let names = table_names(conn, dataset)?;
    let mut tables = Map::new();
    let mut system = Map::new();
    let mut columns: HashMap<&str, Vec<Column>> = HashMap::new();
    for table in &names {
        let cols = table_columns(conn, dataset, table)?;
        let row_count: i64 = conn.query_row(
            &format!("select count(*) from {}", qualified(&schema, table)),
            [],
            |row| row.get(0),
        )?;
        let entry = json!({
            "columns": cols
                .iter()
                .map(|c| json!([c.name, c.data_type, c.nullable]))
                .collect::<Vec<_>>(),
            "row_count": row_count,
        });
        if table.starts_with("_dlt_") {
            system.insert(table.clone(), entry);
        } else {
            tables.insert(table.clone(), entry);
        }
        columns.insert(table.as_str(), cols);
    }
    if let Some(Value::Object(loads)) = system.get_mut("_dlt_loads") {
        let sql = format!("select status from {}", qualified(&schema, "_dlt_loads"));
        let mut statuses: Vec<Value> = read_rows(conn, &sql, &[])?
            .into_iter()
            .map(|mut row| row.remove("status").unwrap_or(Value::Null))
            .collect();
        statuses.sort_by(pyfmt::compare_values);
        loads.insert("statuses".to_owned(), Value::Array(statuses));
    }

    let data: Vec<&str> = names
        .iter()
        .map(String::as_str)
        .filter(|t| !t.starts_with("_dlt_"))
        .collect();
    let mut rows: HashMap<&str, Rows> = HashMap::new();
    for &table in &data {
        let cols = columns.get(table).map(Vec::as_slice).unwrap_or_default();
        let sql = format!("select * from {}", qualified(&schema, table));
        let mut read = read_rows(conn, &sql, cols)?;
        // scd2's validity columns hold load times: the dump keeps whether each is set
        for row in &mut read {
            for name in VALIDITY {
                if let Some(value) = row.get_mut(name).filter(|v| !v.is_null()) {
                    *value = Value::String("<timestamp>".into());
                }
            }
        }
        rows.insert(table, read);
    }
    let has_column = |table: &str, name: &str| {
        columns
            .get(table)
            .is_some_and(|cols| cols.iter().any(|c| c.name == name))
    };
    // Child tables: those with `_dlt_parent_id`; the parent is the longest data table `p` such
    // that the child's name starts with `p__`.
    let parent_of: BTreeMap<&str, Option<&str>> = data
        .iter()
        .filter(|t| has_column(t, "_dlt_parent_id"))
        .map(|&t| {
            let parent = data
                .iter()
                .copied()
                .filter(|p| {
                    t.strip_prefix(*p)
                        .is_some_and(|rest| rest.starts_with("__"))
                })
                .max_by_key(|p| p.len());
            (t, parent)
        })
        .collect();

    let mut docs = Documents {
        rows: &rows,
        children: HashMap::new(),
    };
    for (&child, parent) in &parent_of {
        let Some(parent) = *parent else { continue };
        let key = &child[parent.len() + 2..];
        for (index, row) in rows.get(child).into_iter().flatten().enumerate() {
            docs.children
                .entry((parent, id_key(row.get("_dlt_parent_id"))))
                .or_default()
                .entry(key)
                .or_default()
                .push(index);
        }
    }

    let mut documents = Map::new();
    for &table in &data {
        if parent_of.contains_key(table) {
            continue;
        }
        let mut built: Vec<(String, Value)> = rows
            .get(table)
            .into_iter()
            .flatten()
            .map(|row| {
                let doc = Value::Object(docs.build(table, row));
                (pyfmt::json_text(&doc), doc)
            })
            .collect();
        built.sort_by(|a, b| a.0.cmp(&b.0));
        documents.insert(
            table.to_owned(),
            Value::Array(built.into_iter().map(|(_, doc)| doc).collect()),
        );
    }

    let mut out = Map::new();
    out.insert("dataset".to_owned(), Value::from(dataset));
    out.insert("tables".to_owned(), Value::Object(tables));
    out.insert("system".to_owned(), Value::Object(system));
    out.insert("documents".to_owned(), Value::Object(documents));
    let orphans: Vec<Value> = parent_of
        .iter()
        .filter(|(_, parent)| parent.is_none())
        .map(|(&child, _)| Value::from(child))
        .collect();
    if !orphans.is_empty() {
        out.insert("orphan_child_tables".to_owned(), Value::Array(orphans));
    }
    Ok(pyfmt::sort_keys(Value::Object(out)))
}

/// Rebuilds documents from the rows of a root table and its child tables.
struct Documents<'a> {
    rows: &'a HashMap<&'a str, Rows>,
    /// `(parent table, parent row's _dlt_id key)` → child key → the child rows' indices.
    children: HashMap<(&'a str, String), BTreeMap<&'a str, Vec<usize>>>,
}

impl Documents<'_> {
    /// The document of `row` of `table`: its non-null, non-generated values, plus each child
    /// table's rows whose `_dlt_parent_id` is this row's `_dlt_id`, ordered by `_dlt_list_idx`.
    fn build(&self, table: &str, row: &Map<String, Value>) -> Map<String, Value> {
        let mut doc: Map<String, Value> = row
            .iter()
            .filter(|(k, v)| !GENERATED.contains(&k.as_str()) && !v.is_null())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let Some(kids) = self.children.get(&(table, id_key(row.get("_dlt_id")))) else {
            return doc;
        };
        for (&key, indices) in kids {
            let child = format!("{table}__{key}");
            let Some(child_rows) = self.rows.get(child.as_str()) else {
                continue;
            };
            let mut kid_rows: Vec<&Map<String, Value>> =
                indices.iter().filter_map(|&i| child_rows.get(i)).collect();
            kid_rows.sort_by(|a, b| list_index(a, b));
            let built = kid_rows
                .into_iter()
                .map(|kid| Value::Object(self.build(&child, kid)))
                .collect();
            doc.insert(key.to_owned(), Value::Array(built));
        }
        doc
    }
}

fn list_index(a: &Map<String, Value>, b: &Map<String, Value>) -> Ordering {
    let null = Value::Null;
    let a = a.get("_dlt_list_idx").unwrap_or(&null);
    let b = b.get("_dlt_list_idx").unwrap_or(&null);
    pyfmt::compare_values(a, b)
}

/// The key that links a child row's `_dlt_parent_id` to its parent row's `_dlt_id`; a missing
/// column counts as null, as in the script.
fn id_key(value: Option<&Value>) -> String {
    value.map_or_else(|| "null".to_owned(), pyfmt::json_text)
}

/// `schema."table"`, where `schema` is already quoted (`"catalog"."schema"`).
fn qualified(schema: &str, table: &str) -> String {
    format!("{schema}.{}", quote(table))
}

fn table_names(conn: &Connection, dataset: &str) -> Result<Vec<String>, Error> {
    let mut stmt = conn.prepare(
        "select table_name from information_schema.tables \
         where table_schema = ? order by table_name",
    )?;
    stmt.query_map([dataset], |row| row.get(0))?.collect()
}

fn table_columns(conn: &Connection, dataset: &str, table: &str) -> Result<Vec<Column>, Error> {
    let mut stmt = conn.prepare(
        "select column_name, data_type, is_nullable from information_schema.columns \
         where table_schema = ? and table_name = ? order by ordinal_position",
    )?;
    stmt.query_map([dataset, table], |row| {
        Ok(Column {
            name: row.get(0)?,
            data_type: row.get(1)?,
            nullable: row.get::<_, String>(2)? == "YES",
        })
    })?
    .collect()
}

/// Runs `sql` and returns its rows as maps in column order, with values converted as the dump
/// converts them. `columns` gives the DuckDB types of the columns where known: Arrow alone
/// cannot tell `HUGEINT` from `DECIMAL(38,0)`.
fn read_rows(conn: &Connection, sql: &str, columns: &[Column]) -> Result<Rows, Error> {
    let mut stmt = conn.prepare(sql)?;
    let batches: Vec<RecordBatch> = stmt.query_arrow([])?.collect();
    let mut rows = Rows::new();
    for batch in &batches {
        let schema = batch.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let mut converters = Vec::with_capacity(names.len());
        for (index, name) in names.iter().enumerate() {
            let duckdb_type = columns
                .iter()
                .find(|c| c.name == *name)
                .map(|c| c.data_type.as_str());
            converters.push(Cell {
                array: batch.column(index).as_ref(),
                integer: matches!(duckdb_type, Some("HUGEINT" | "UHUGEINT")),
            });
        }
        for row in 0..batch.num_rows() {
            let mut map = Map::new();
            for (index, (name, cell)) in names.iter().zip(&converters).enumerate() {
                let value = cell.value(row).map_err(|message| {
                    Error::FromSqlConversionFailure(
                        index,
                        Type::Any,
                        format!("column {name} of `{sql}`: {message}").into(),
                    )
                })?;
                map.insert((*name).to_owned(), value);
            }
            rows.push(map);
        }
    }
    Ok(rows)
}

/// A column of a batch and how to read it.
struct Cell<'a> {
    array: &'a dyn Array,
    /// A `HUGEINT`/`UHUGEINT` column, which DuckDB exports to Arrow as `Decimal128(38, 0)`.
    integer: bool,
}

impl Cell<'_> {
    fn value(&self, row: usize) -> Result<Value, String> {
        if self.integer
            && let DataType::Decimal128(_, 0) = self.array.data_type()
        {
            if self.array.is_null(row) {
                return Ok(Value::Null);
            }
            let v = self.array.as_primitive::<Decimal128Type>().value(row);
            return Ok(big_integer(v));
        }
        value(self.array, row)
    }
}

/// An integer as a JSON number when it fits 64 bits, else as its decimal text.
fn big_integer(v: i128) -> Value {
    if let Ok(v) = i64::try_from(v) {
        Value::from(v)
    } else if let Ok(v) = u64::try_from(v) {
        Value::from(v)
    } else {
        Value::from(v.to_string())
    }
}

fn float(v: f64) -> Value {
    if v.is_finite() {
        Value::from(v)
    } else {
        Value::from(pyfmt::float_repr(v))
    }
}

fn micros(v: i64, unit: &TimeUnit) -> i64 {
    match unit {
        TimeUnit::Second => v.saturating_mul(1_000_000),
        TimeUnit::Millisecond => v.saturating_mul(1_000),
        TimeUnit::Microsecond => v,
        // Python's datetime and time stop at microseconds; DuckDB truncates toward zero.
        TimeUnit::Nanosecond => v / 1_000,
    }
}

/// The value at `row` of `array` as the dump gives it (null as `Value::Null`).
fn value(array: &dyn Array, row: usize) -> Result<Value, String> {
    if array.data_type() == &DataType::Null || array.is_null(row) {
        return Ok(Value::Null);
    }
    Ok(match array.data_type() {
        DataType::Boolean => Value::from(array.as_boolean().value(row)),
        DataType::Int8 => Value::from(array.as_primitive::<Int8Type>().value(row)),
        DataType::Int16 => Value::from(array.as_primitive::<Int16Type>().value(row)),
        DataType::Int32 => Value::from(array.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => Value::from(array.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => Value::from(array.as_primitive::<UInt8Type>().value(row)),
        DataType::UInt16 => Value::from(array.as_primitive::<UInt16Type>().value(row)),
        DataType::UInt32 => Value::from(array.as_primitive::<UInt32Type>().value(row)),
        DataType::UInt64 => Value::from(array.as_primitive::<UInt64Type>().value(row)),
        DataType::Float16 => float(array.as_primitive::<Float16Type>().value(row).to_f64()),
        DataType::Float32 => float(f64::from(array.as_primitive::<Float32Type>().value(row))),
        DataType::Float64 => float(array.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => Value::from(array.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => Value::from(array.as_string::<i64>().value(row)),
        DataType::Utf8View => Value::from(array.as_string_view().value(row)),
        DataType::Binary => Value::from(pyfmt::hex_text(array.as_binary::<i32>().value(row))),
        DataType::LargeBinary => Value::from(pyfmt::hex_text(array.as_binary::<i64>().value(row))),
        DataType::BinaryView => Value::from(pyfmt::hex_text(array.as_binary_view().value(row))),
        DataType::FixedSizeBinary(_) => {
            Value::from(pyfmt::hex_text(array.as_fixed_size_binary().value(row)))
        }
        DataType::Decimal32(_, scale) => {
            let v = array.as_primitive::<Decimal32Type>().value(row);
            Value::from(pyfmt::decimal_text(&v.to_string(), i64::from(*scale)))
        }
        DataType::Decimal64(_, scale) => {
            let v = array.as_primitive::<Decimal64Type>().value(row);
            Value::from(pyfmt::decimal_text(&v.to_string(), i64::from(*scale)))
        }
        DataType::Decimal128(_, scale) => {
            let v = array.as_primitive::<Decimal128Type>().value(row);
            Value::from(pyfmt::decimal_text(&v.to_string(), i64::from(*scale)))
        }
        DataType::Decimal256(_, scale) => {
            let v = array.as_primitive::<Decimal256Type>().value(row);
            Value::from(pyfmt::decimal_text(&v.to_string(), i64::from(*scale)))
        }
        DataType::Date32 => {
            let days = array
                .as_primitive::<arrow_array::types::Date32Type>()
                .value(row);
            Value::from(pyfmt::date_text(i64::from(days)))
        }
        DataType::Date64 => {
            let millis = array
                .as_primitive::<arrow_array::types::Date64Type>()
                .value(row);
            Value::from(pyfmt::date_text(millis.div_euclid(86_400_000)))
        }
        DataType::Time32(unit) => {
            let v = match unit {
                TimeUnit::Second => array.as_primitive::<Time32SecondType>().value(row),
                _ => array.as_primitive::<Time32MillisecondType>().value(row),
            };
            Value::from(pyfmt::time_text(micros(i64::from(v), unit)))
        }
        DataType::Time64(unit) => {
            let v = match unit {
                TimeUnit::Nanosecond => array.as_primitive::<Time64NanosecondType>().value(row),
                _ => array.as_primitive::<Time64MicrosecondType>().value(row),
            };
            Value::from(pyfmt::time_text(micros(v, unit)))
        }
        DataType::Timestamp(unit, zone) => {
            let v = match unit {
                TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row),
                TimeUnit::Millisecond => {
                    array.as_primitive::<TimestampMillisecondType>().value(row)
                }
                TimeUnit::Microsecond => {
                    array.as_primitive::<TimestampMicrosecondType>().value(row)
                }
                TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(row),
            };
            Value::from(pyfmt::timestamp_text(micros(v, unit), zone.is_some()))
        }
        DataType::Duration(unit) => {
            let v = match unit {
                TimeUnit::Second => array.as_primitive::<DurationSecondType>().value(row),
                TimeUnit::Millisecond => array.as_primitive::<DurationMillisecondType>().value(row),
                TimeUnit::Microsecond => array.as_primitive::<DurationMicrosecondType>().value(row),
                TimeUnit::Nanosecond => array.as_primitive::<DurationNanosecondType>().value(row),
            };
            Value::from(pyfmt::timedelta_text(i128::from(micros(v, unit))))
        }
        DataType::Interval(unit) => {
            // DuckDB's Python client gives a timedelta of months * 30 days + days + micros;
            // the script leaves it to json.dumps(default=str).
            let (months, days, micros) = match unit {
                IntervalUnit::YearMonth => {
                    let months = array.as_primitive::<IntervalYearMonthType>().value(row);
                    (months, 0, 0)
                }
                IntervalUnit::DayTime => {
                    let v = array.as_primitive::<IntervalDayTimeType>().value(row);
                    (0, v.days, i64::from(v.milliseconds) * 1_000)
                }
                IntervalUnit::MonthDayNano => {
                    let v = array.as_primitive::<IntervalMonthDayNanoType>().value(row);
                    (v.months, v.days, v.nanoseconds.div_euclid(1_000))
                }
            };
            let days = i128::from(months) * DAYS_PER_MONTH + i128::from(days);
            Value::from(pyfmt::timedelta_text(
                days * 86_400_000_000 + i128::from(micros),
            ))
        }
        DataType::List(_) => list(array.as_list::<i32>().value(row).as_ref())?,
        DataType::LargeList(_) => list(array.as_list::<i64>().value(row).as_ref())?,
        DataType::FixedSizeList(..) => list(array.as_fixed_size_list().value(row).as_ref())?,
        DataType::Struct(fields) => {
            let columns = array.as_struct().columns();
            let mut map = Map::new();
            for (field, column) in fields.iter().zip(columns) {
                map.insert(field.name().clone(), value(column.as_ref(), row)?);
            }
            Value::Object(map)
        }
        DataType::Map(..) => {
            // A Python dict; json.dumps writes non-string keys as their JSON text.
            let entries = array.as_map().value(row);
            let (keys, values) = (entries.column(0), entries.column(1));
            let mut map = Map::new();
            for i in 0..entries.len() {
                let key = match value(keys.as_ref(), i)? {
                    Value::String(s) => s,
                    other => pyfmt::json_text(&other),
                };
                map.insert(key, value(values.as_ref(), i)?);
            }
            Value::Object(map)
        }
        DataType::Dictionary(..) => {
            // DuckDB's ENUM.
            let dictionary = array.as_any_dictionary();
            let keys = dictionary.normalized_keys();
            let key = keys.get(row).copied().unwrap_or_default();
            value(dictionary.values().as_ref(), key)?
        }
        other => return Err(format!("unsupported Arrow type {other}")),
    })
}

fn list(items: &dyn Array) -> Result<Value, String> {
    (0..items.len())
        .map(|i| value(items, i))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}
