//! JSON as the normalizer sees it: a borrowed [`Item`] tree, a strict parser and an
//! orjson-compatible writer.

mod item;
mod parse;
pub mod stream;
pub mod typed;
mod write;

pub use item::Item;
pub use parse::{JsonError, JsonErrorKind, MAX_DEPTH, parse, parse_str, validate};
pub use write::{
    item_to_string, python_float_repr, write_float, write_item, write_item_sorted, write_str,
    write_value_sorted,
};
