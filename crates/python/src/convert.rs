//! Python values as JSON text, the way dlt's extract writes them: `datetime`, `date`, `time`,
//! `Decimal`, `UUID` and `bytes` as dlt's typed markers ([`dltrs_core::json::typed`]), which
//! the normalizer turns back into typed values.
//!
//! The walk runs with the GIL held, on exact types first (a dict, a str, an int), so a page of
//! plain records costs one type check per value.

use base64::Engine;
use dltrs_core::json::typed;
use dltrs_core::json::write_str;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};

/// The classes of the standard library the walk recognizes, imported once.
struct Classes {
    datetime: Py<PyAny>,
    date: Py<PyAny>,
    time: Py<PyAny>,
    decimal: Py<PyAny>,
    uuid: Py<PyAny>,
    enumeration: Py<PyAny>,
}

static CLASSES: PyOnceLock<Classes> = PyOnceLock::new();

fn classes(py: Python<'_>) -> PyResult<&Classes> {
    CLASSES.get_or_try_init(py, || {
        let datetime = py.import("datetime")?;
        Ok(Classes {
            datetime: datetime.getattr("datetime")?.unbind(),
            date: datetime.getattr("date")?.unbind(),
            time: datetime.getattr("time")?.unbind(),
            decimal: py.import("decimal")?.getattr("Decimal")?.unbind(),
            uuid: py.import("uuid")?.getattr("UUID")?.unbind(),
            enumeration: py.import("enum")?.getattr("Enum")?.unbind(),
        })
    })
}

/// The deepest nesting written (dlt's JSON library stops at about the same depth).
const MAX_DEPTH: usize = 1000;

/// Appends `value` as one JSON document to `out`.
pub(crate) fn write_json(value: &Bound<'_, PyAny>, out: &mut String) -> PyResult<()> {
    write_value(value, classes(value.py())?, out, 0)
}

fn write_value(
    value: &Bound<'_, PyAny>,
    classes: &Classes,
    out: &mut String,
    depth: usize,
) -> PyResult<()> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(format!(
            "the item is nested deeper than {MAX_DEPTH} levels"
        )));
    }
    if let Ok(dict) = value.cast_exact::<PyDict>() {
        return write_dict(dict, classes, out, depth);
    }
    if let Ok(s) = value.cast_exact::<PyString>() {
        write_str(out, &s.to_cow()?);
        return Ok(());
    }
    if value.is_none() {
        out.push_str("null");
        return Ok(());
    }
    if let Ok(b) = value.cast_exact::<PyBool>() {
        out.push_str(if b.is_true() { "true" } else { "false" });
        return Ok(());
    }
    if let Ok(i) = value.cast_exact::<PyInt>() {
        return write_int(i, out);
    }
    if let Ok(f) = value.cast_exact::<PyFloat>() {
        write_float(f.value(), out);
        return Ok(());
    }
    if let Ok(list) = value.cast_exact::<PyList>() {
        out.push('[');
        for (i, item) in list.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_value(&item, classes, out, depth + 1)?;
        }
        out.push(']');
        return Ok(());
    }
    write_other(value, classes, out, depth)
}

fn write_dict(
    dict: &Bound<'_, PyDict>,
    classes: &Classes,
    out: &mut String,
    depth: usize,
) -> PyResult<()> {
    out.push('{');
    for (i, (key, item)) in dict.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match key.cast_exact::<PyString>() {
            Ok(key) => write_str(out, &key.to_cow()?),
            // dlt's orjson takes str keys only; ints and enums are common enough to name
            Err(_) => write_str(out, &key.str()?.to_cow()?),
        }
        out.push(':');
        write_value(&item, classes, out, depth + 1)?;
    }
    out.push('}');
    Ok(())
}

fn write_int(i: &Bound<'_, PyAny>, out: &mut String) -> PyResult<()> {
    match i.extract::<i64>() {
        Ok(v) => out.push_str(itoa::Buffer::new().format(v)),
        // beyond 64 bits: the exact digits (the parser keeps them)
        Err(_) => out.push_str(&i.str()?.to_cow()?),
    }
    Ok(())
}

fn write_float(f: f64, out: &mut String) {
    if f.is_finite() {
        out.push_str(ryu::Buffer::new().format_finite(f));
    } else {
        // JSON has no NaN or infinity; dlt's orjson writes null
        out.push_str("null");
    }
}

/// `text` as a JSON string starting with `marker` (dlt's typed markers need no escape), without
/// a copy of the text per value.
fn write_marked(out: &mut String, marker: char, text: &str) {
    let quote = out.len();
    write_str(out, text);
    out.insert(quote + 1, marker);
}

/// A value of the typed classes, a subclass of a plain one, or an object with a conversion.
fn write_other(
    value: &Bound<'_, PyAny>,
    classes: &Classes,
    out: &mut String,
    depth: usize,
) -> PyResult<()> {
    let py = value.py();

    // datetime before date: a datetime is a date
    if value.is_instance(classes.datetime.bind(py))? {
        let iso = value.call_method0("isoformat")?;
        write_marked(out, typed::DATETIME, &iso.cast::<PyString>()?.to_cow()?);
        return Ok(());
    }
    if value.is_instance(classes.date.bind(py))? {
        let iso = value.call_method0("isoformat")?;
        write_marked(out, typed::DATE, &iso.cast::<PyString>()?.to_cow()?);
        return Ok(());
    }
    if value.is_instance(classes.time.bind(py))? {
        let iso = value.call_method0("isoformat")?;
        write_marked(out, typed::TIME, &iso.cast::<PyString>()?.to_cow()?);
        return Ok(());
    }
    if value.is_instance(classes.decimal.bind(py))? {
        let text = value.str()?;
        let text = text.to_cow()?;
        if text
            .bytes()
            .any(|b| b.is_ascii_alphabetic() && b != b'E' && b != b'e')
        {
            // NaN and infinities: no decimal column holds them
            out.push_str("null");
        } else {
            write_marked(out, typed::DECIMAL, &text);
        }
        return Ok(());
    }
    if value.is_instance(classes.uuid.bind(py))? {
        write_str(out, &value.str()?.to_cow()?);
        return Ok(());
    }
    if let Ok(bytes) = value.cast::<PyBytes>() {
        let text = base64::engine::general_purpose::STANDARD.encode(bytes.as_bytes());
        write_marked(out, typed::B64_BYTES, &text);
        return Ok(());
    }
    if let Ok(bytes) = value.cast::<PyByteArray>() {
        let text = base64::engine::general_purpose::STANDARD.encode(bytes.to_vec());
        write_marked(out, typed::B64_BYTES, &text);
        return Ok(());
    }
    if value.is_instance(classes.enumeration.bind(py))? {
        return write_value(&value.getattr("value")?, classes, out, depth + 1);
    }
    // subclasses of the plain types (an OrderedDict, a str enum, an IntEnum caught above)
    if let Ok(dict) = value.cast::<PyDict>() {
        return write_dict(dict, classes, out, depth);
    }
    if let Ok(s) = value.cast::<PyString>() {
        write_str(out, &s.to_cow()?);
        return Ok(());
    }
    if let Ok(b) = value.cast::<PyBool>() {
        out.push_str(if b.is_true() { "true" } else { "false" });
        return Ok(());
    }
    if let Ok(i) = value.cast::<PyInt>() {
        return write_int(i, out);
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        write_float(f.value(), out);
        return Ok(());
    }
    if value.cast::<PyList>().is_ok() || value.cast::<PyTuple>().is_ok() {
        out.push('[');
        for (i, item) in value.try_iter()?.enumerate() {
            if i > 0 {
                out.push(',');
            }
            write_value(&item?, classes, out, depth + 1)?;
        }
        out.push(']');
        return Ok(());
    }
    // what orjson and dlt also take: pydantic models, dataclasses, numpy scalars and arrays
    if value.hasattr("model_dump")? {
        return write_value(&value.call_method0("model_dump")?, classes, out, depth + 1);
    }
    if value.hasattr("__dataclass_fields__")? {
        let asdict = py.import("dataclasses")?.getattr("asdict")?;
        return write_value(&asdict.call1((value,))?, classes, out, depth + 1);
    }
    if value.hasattr("dtype")? && value.hasattr("tolist")? {
        return write_value(&value.call_method0("tolist")?, classes, out, depth + 1);
    }
    Err(PyTypeError::new_err(format!(
        "values of type {} cannot be loaded: give a dict, list, str, int, float, bool, None, \
         datetime, date, time, Decimal, UUID or bytes",
        value.get_type().name()?
    )))
}
