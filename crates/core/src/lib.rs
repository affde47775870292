//! dltrs core: the parts of a dlt-compatible data load tool that need no database and no
//! network — naming convention, schema, type rules, the relational normalizer, load packages on
//! disk, the pipeline state and the [`destination::Destination`] contract.
//!
//! ```
//! use dltrs_core::{RelationalNormalizer, Schema};
//!
//! let mut normalizer = RelationalNormalizer::new(Schema::new("rides"), "1700000000.1");
//! normalizer
//!     .push_json("Rides", br#"{"Trip_Distance": 1.5, "passengers": [{"name": "Ann"}]}"#)
//!     .unwrap();
//! let chunk = normalizer.flush().unwrap();
//! let tables: Vec<&str> = chunk.batches.iter().map(|b| b.table.as_str()).collect();
//! assert_eq!(tables, ["rides", "rides__passengers"]);
//! assert_eq!(chunk.batches[0].batch.schema().field(0).name(), "trip_distance");
//! ```

pub mod arrow_rows;
pub mod destination;
pub mod error;
pub mod json;
pub mod naming;
pub mod normalize;
pub mod package;
pub mod progress;
pub mod schema;
pub mod sql;
pub mod state;
pub mod types;

pub use error::{NormalizeError, PackageError, SchemaError, report};
pub use json::Item;
pub use naming::{NamingConvention, SnakeCase};
pub use normalize::{
    NormalizeWarning, NormalizedChunk, NulPolicy, RelationalNormalizer, TableBatch,
};
pub use schema::{
    Column, ContractEntity, ContractMode, Schema, SchemaChange, SchemaContract, Table, TableHints,
    WriteDisposition,
};
pub use types::DataType;
