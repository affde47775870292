//! dltrs: load data from anywhere into well-structured, typed, relational datasets, the way
//! Python's dlt does, in one Rust library.
//!
//! This facade re-exports the pieces users need; destinations will join it as features.
//!
//! ```
//! use dltrs::{RelationalNormalizer, Schema};
//!
//! let mut normalizer = RelationalNormalizer::new(Schema::new("shop"), "1700000000.0");
//! let order = serde_json::json!({"id": 1, "items": [{"sku": "a"}, {"sku": "b"}]});
//! normalizer.push("orders", &dltrs::Item::from_value(&order)).unwrap();
//! let chunk = normalizer.flush().unwrap();
//! assert_eq!(chunk.batches[1].table, "orders__items");
//! assert_eq!(chunk.batches[1].batch.num_rows(), 2);
//! ```

pub use dltrs_core::*;

/// The README's quickstart, compiled and run as a doc test.
#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeQuickstart;
