//! Columns declared from a Rust type: serde's view of the type (through `serde-reflection`)
//! gives the columns, their dlt types and whether they take nulls (`Option` fields do).

use dltrs_core::{Column, DataType};
use serde::de::DeserializeOwned;
use serde_reflection::{ContainerFormat, Format, Registry, Tracer, TracerConfig};

use crate::Error;

/// The columns of items of type `T`: fields become columns (nested structs flattened into
/// `parent__child`, as the normalizer flattens dicts), integers `bigint`, floats `double`,
/// booleans `bool`, bytes `binary`; `Option` fields are nullable, the others not. Text fields
/// are declared without a type, so their values type them (ISO timestamps become
/// timestamps); lists and maps become child tables and `json` as usual.
pub fn columns_of<T: DeserializeOwned>() -> Result<Vec<Column>, Error> {
    let mut tracer = Tracer::new(TracerConfig::default());
    let (format, _) = tracer
        .trace_simple_type::<T>()
        .map_err(|e| Error::Config(format!("cannot read the columns of the type: {e}")))?;
    let registry = tracer
        .registry()
        .map_err(|e| Error::Config(format!("cannot read the columns of the type: {e}")))?;
    let mut columns = Vec::new();
    walk(&format, &registry, "", false, &mut columns);
    Ok(columns)
}

fn walk(format: &Format, registry: &Registry, path: &str, nullable: bool, out: &mut Vec<Column>) {
    let data_type = match format {
        Format::TypeName(name) => {
            match registry.get(name) {
                Some(ContainerFormat::Struct(fields)) => {
                    for field in fields {
                        let child = if path.is_empty() {
                            field.name.clone()
                        } else {
                            format!("{path}__{}", field.name)
                        };
                        walk(&field.value, registry, &child, nullable, out);
                    }
                }
                Some(ContainerFormat::NewTypeStruct(inner)) => {
                    walk(inner, registry, path, nullable, out);
                }
                // enums of unit variants are text; others are left to the values
                Some(ContainerFormat::Enum(_)) => declare(out, path, None, nullable),
                _ => {}
            }
            return;
        }
        Format::Option(inner) => return walk(inner, registry, path, true, out),
        Format::Bool => Some(DataType::Bool),
        Format::I8
        | Format::I16
        | Format::I32
        | Format::I64
        | Format::U8
        | Format::U16
        | Format::U32
        | Format::U64 => Some(DataType::Bigint),
        Format::I128 | Format::U128 => Some(DataType::Wei),
        Format::F32 | Format::F64 => Some(DataType::Double),
        Format::Bytes => Some(DataType::Binary),
        Format::Str | Format::Char => None,
        // lists, maps and tuples are child tables or json: no column of their own
        _ => return,
    };
    declare(out, path, data_type, nullable);
}

fn declare(out: &mut Vec<Column>, path: &str, data_type: Option<DataType>, nullable: bool) {
    if path.is_empty() {
        return;
    }
    out.push(Column {
        name: path.to_owned(),
        data_type,
        nullable: Some(nullable),
        ..Column::default()
    });
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[allow(dead_code)]
    #[derive(Deserialize)]
    struct Address {
        city: String,
        zip: Option<u32>,
    }

    #[allow(dead_code)]
    #[derive(Deserialize)]
    struct Ride {
        id: i64,
        fare: f64,
        paid: Option<bool>,
        pickup_at: String,
        address: Address,
        tags: Vec<String>,
        raw: serde_bytes_like::Bytes,
    }

    mod serde_bytes_like {
        /// Bytes as serde sees `serde_bytes::ByteBuf`.
        #[allow(dead_code)]
        pub struct Bytes(pub Vec<u8>);
        impl<'de> serde::Deserialize<'de> for Bytes {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = Bytes;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("bytes")
                    }
                    fn visit_bytes<E>(self, v: &[u8]) -> Result<Bytes, E> {
                        Ok(Bytes(v.to_vec()))
                    }
                    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Bytes, E> {
                        Ok(Bytes(v))
                    }
                }
                d.deserialize_byte_buf(V)
            }
        }
    }

    #[test]
    fn columns_from_a_struct() {
        let columns = columns_of::<Ride>().unwrap_or_default();
        let got: Vec<(String, Option<DataType>, Option<bool>)> = columns
            .into_iter()
            .map(|c| (c.name, c.data_type, c.nullable))
            .collect();
        assert_eq!(
            got,
            [
                ("id".into(), Some(DataType::Bigint), Some(false)),
                ("fare".into(), Some(DataType::Double), Some(false)),
                ("paid".into(), Some(DataType::Bool), Some(true)),
                ("pickup_at".into(), None, Some(false)),
                ("address__city".into(), None, Some(false)),
                ("address__zip".into(), Some(DataType::Bigint), Some(true)),
                ("raw".into(), Some(DataType::Binary), Some(false)),
            ]
        );
    }
}
