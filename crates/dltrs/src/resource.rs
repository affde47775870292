//! [`Resource`]: a named stream of items and the hints for the table it loads into.

use std::io::BufRead;

use arrow_array::RecordBatch;
use dltrs_core::json::stream::JsonItems;
use dltrs_core::schema::{Column, MergeStrategy, SchemaContract, TableHints, WriteDisposition};
use serde::Serialize;

use crate::incremental::Incremental;
use crate::resource_state::ResourceState;
use crate::run_error::BoxError;
use crate::secret::Secrets;

/// What one pull of a [`Resource::from_pulls`] stream gave.
#[derive(Debug)]
pub enum Pulled {
    /// No more items.
    End,
    /// An item for the resource's table, written into the buffer.
    Item,
    /// An item for the named table (a dynamic table name), written into the buffer.
    ItemTo(String),
    /// A batch of rows that stays Arrow until normalized (a binding's `pyarrow` table); the
    /// buffer is not read.
    Batch(RecordBatch),
}

/// Writes the next item's JSON into the buffer, or gives a batch of Arrow rows. `Send`: a
/// pipeline with its resources may move to another thread.
pub(crate) type NextItem = Box<dyn FnMut(&mut Vec<u8>) -> Result<Pulled, BoxError> + Send>;

/// One item as JSON text, and the table it goes to when not the resource's (dlt's
/// `table_name` per item): what a binding hands over from a serializer of its own (Python's
/// `orjson`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonItem {
    /// One JSON document (UTF-8; line breaks between tokens are dropped).
    pub json: Vec<u8>,
    /// The root table (a source name, normalized like the resource's); `None`: the resource's.
    pub table: Option<String>,
}

impl JsonItem {
    /// An item for the resource's table.
    pub fn new(json: impl Into<Vec<u8>>) -> Self {
        JsonItem {
            json: json.into(),
            table: None,
        }
    }

    /// An item for `table`.
    pub fn to_table(table: impl Into<String>, json: impl Into<Vec<u8>>) -> Self {
        JsonItem {
            json: json.into(),
            table: Some(table.into()),
        }
    }
}

/// Checks JSON text handed in by the caller and appends it to `buf` as one package line.
fn push_checked(json: &[u8], buf: &mut Vec<u8>) -> Result<(), BoxError> {
    dltrs_core::json::validate(json).map_err(|e| format!("the item is not JSON: {e}"))?;
    push_line(json, buf);
    Ok(())
}

/// Appends a JSON document as one package line: a line holds one item, so line breaks
/// between tokens (pretty-printed JSON; JSON strings cannot hold raw ones) go.
fn push_line(json: &[u8], buf: &mut Vec<u8>) {
    let trimmed = json.trim_ascii();
    if memchr::memchr2(b'\n', b'\r', trimmed).is_none() {
        buf.extend_from_slice(trimmed);
    } else {
        buf.extend(trimmed.iter().filter(|&&b| b != b'\n' && b != b'\r'));
    }
}

/// A named, pull-based stream of items, plus hints for its root table.
///
/// ```
/// use dltrs::{Resource, WriteDisposition};
/// let rides = Resource::new("rides", vec![serde_json::json!({"id": 1})])
///     .write_disposition(WriteDisposition::Merge)
///     .primary_key(["id"]);
/// assert_eq!(rides.name(), "rides");
/// ```
pub struct Resource {
    name: String,
    table: String,
    hints: TableHints,
    items: NextItem,
    state: ResourceState,
    incremental: Option<Incremental>,
    secrets: Secrets,
}

impl Resource {
    /// A resource from any iterable of serializable items (`serde_json::Value`, or your own
    /// `#[derive(Serialize)]` structs). Items are pulled one at a time while extracting.
    pub fn new<I>(name: impl Into<String>, items: I) -> Self
    where
        I: IntoIterator + 'static,
        I::IntoIter: Send,
        I::Item: Serialize,
    {
        let mut items = items.into_iter();
        Self::from_fn(name, move |buf| match items.next() {
            Some(item) => {
                serde_json::to_writer(buf, &item)?;
                Ok(true)
            }
            None => Ok(false),
        })
    }

    /// A resource from fallible items: the first `Err` stops the extract and nothing of the
    /// run is loaded.
    pub fn try_new<I, T, E>(name: impl Into<String>, items: I) -> Self
    where
        I: IntoIterator<Item = Result<T, E>> + 'static,
        I::IntoIter: Send,
        T: Serialize,
        E: Into<BoxError>,
    {
        let mut items = items.into_iter();
        Self::from_fn(name, move |buf| match items.next() {
            Some(Ok(item)) => {
                serde_json::to_writer(buf, &item)?;
                Ok(true)
            }
            Some(Err(e)) => Err(e.into()),
            None => Ok(false),
        })
    }

    /// A resource whose items name their table: each `(table, item)` goes to root table
    /// `table` (dlt's `table_name` per item), with the resource's hints.
    pub fn with_tables<I, S, T>(name: impl Into<String>, items: I) -> Self
    where
        I: IntoIterator<Item = (S, T)> + 'static,
        I::IntoIter: Send,
        S: Into<String>,
        T: Serialize,
    {
        let mut items = items.into_iter();
        Self::from_pull(name, move |buf| match items.next() {
            Some((table, item)) => {
                serde_json::to_writer(buf, &item)?;
                Ok(Pulled::ItemTo(table.into()))
            }
            None => Ok(Pulled::End),
        })
    }

    /// A resource from JSON text made elsewhere (one document per item, e.g. `orjson` output),
    /// pulled one at a time and checked: text that is not JSON stops the extract naming the
    /// item, and nothing of the run is loaded.
    pub fn from_json_bytes<I, B>(name: impl Into<String>, items: I) -> Self
    where
        I: IntoIterator<Item = B> + 'static,
        I::IntoIter: Send,
        B: AsRef<[u8]>,
    {
        let mut items = items.into_iter();
        Self::from_pull(name, move |buf| match items.next() {
            Some(json) => push_checked(json.as_ref(), buf).map(|()| Pulled::Item),
            None => Ok(Pulled::End),
        })
    }

    /// A resource from fallible [`JsonItem`]s, each JSON text with an optional table of its
    /// own (dynamic table names); the first `Err` stops the extract.
    pub fn from_json_items<I, E>(name: impl Into<String>, items: I) -> Self
    where
        I: IntoIterator<Item = Result<JsonItem, E>> + 'static,
        I::IntoIter: Send,
        E: Into<BoxError>,
    {
        let mut items = items.into_iter();
        Self::from_pull(name, move |buf| match items.next() {
            Some(Ok(item)) => {
                push_checked(&item.json, buf)?;
                Ok(item.table.map_or(Pulled::Item, Pulled::ItemTo))
            }
            Some(Err(e)) => Err(e.into()),
            None => Ok(Pulled::End),
        })
    }

    /// A resource from a closure that writes the next item's JSON text into the buffer it is
    /// given (empty on each call) and returns `Ok(true)`, or returns `Ok(false)` at the end:
    /// the path without a copy per item. The text is checked as in
    /// [`Resource::from_json_bytes`].
    pub fn from_json_fn<F>(name: impl Into<String>, mut next: F) -> Self
    where
        F: FnMut(&mut Vec<u8>) -> Result<bool, BoxError> + Send + 'static,
    {
        Self::from_pulls(name, move |buf| {
            Ok(if next(buf)? {
                Pulled::Item
            } else {
                Pulled::End
            })
        })
    }

    /// A resource reading JSON Lines, one JSON array (streamed element by element) or one JSON
    /// object from `reader`. `source` names the input in error messages (a file name).
    pub fn from_json_reader<R: BufRead + Send + 'static>(
        name: impl Into<String>,
        source: impl Into<String>,
        reader: R,
    ) -> Self {
        let source = source.into();
        let mut items = JsonItems::new(reader);
        Self::from_fn(name, move |buf| match items.next_item() {
            Ok(Some((item, _))) => {
                push_line(item, buf);
                Ok(true)
            }
            Ok(None) => Ok(false),
            Err(e) => Err(input_error(&source, &e)),
        })
    }

    /// A resource from a puller that mixes JSON items and Arrow batches, what a binding
    /// hands over from a host language whose generators yield both (dicts, and `pyarrow`
    /// tables). Each call writes one item's JSON text into the buffer it is given (empty on
    /// each call) and says what it wrote; the text is checked as in
    /// [`Resource::from_json_bytes`].
    pub fn from_pulls<F>(name: impl Into<String>, mut next: F) -> Self
    where
        F: FnMut(&mut Vec<u8>) -> Result<Pulled, BoxError> + Send + 'static,
    {
        let mut item = Vec::new();
        Self::from_pull(name, move |buf| {
            item.clear();
            let pulled = next(&mut item)?;
            if matches!(pulled, Pulled::Item | Pulled::ItemTo(_)) {
                push_checked(&item, buf)?;
            }
            Ok(pulled)
        })
    }

    /// A resource over items the crate's own sources write (valid JSON already: not checked
    /// again).
    pub(crate) fn from_fn(
        name: impl Into<String>,
        mut next: impl FnMut(&mut Vec<u8>) -> Result<bool, BoxError> + Send + 'static,
    ) -> Self {
        Self::from_pull(name, move |buf| {
            Ok(if next(buf)? {
                Pulled::Item
            } else {
                Pulled::End
            })
        })
    }

    fn from_pull(
        name: impl Into<String>,
        next: impl FnMut(&mut Vec<u8>) -> Result<Pulled, BoxError> + Send + 'static,
    ) -> Self {
        let name = name.into();
        Resource {
            table: name.clone(),
            name,
            hints: TableHints::default(),
            items: Box::new(next),
            state: ResourceState::default(),
            incremental: None,
            secrets: Secrets::new(),
        }
    }

    /// A resource whose items are made from its state when extraction starts: `make` reads
    /// what earlier runs stored and writes what the next run needs (see [`ResourceState`]).
    pub fn with_state<F, I>(name: impl Into<String>, make: F) -> Self
    where
        F: FnOnce(&ResourceState) -> I + Send + 'static,
        I: IntoIterator + 'static,
        I::IntoIter: Send,
        I::Item: Serialize,
    {
        let state = ResourceState::default();
        let handle = state.clone();
        let mut make = Some(make);
        let mut items: Option<I::IntoIter> = None;
        Self::from_fn(name, move |buf| {
            if let Some(make) = make.take() {
                items = Some(make(&handle).into_iter());
            }
            match items.as_mut().and_then(Iterator::next) {
                Some(item) => {
                    serde_json::to_writer(buf, &item)?;
                    Ok(true)
                }
                None => Ok(false),
            }
        })
        .with_state_handle(state)
    }

    /// Loads only items whose cursor moved past what earlier runs loaded (see
    /// [`Incremental`]); boundary items are recognized by the primary key.
    pub fn incremental(mut self, incremental: Incremental) -> Self {
        self.incremental = Some(incremental);
        self
    }

    /// The incremental cursor, if any.
    pub fn incremental_cursor(&self) -> Option<&Incremental> {
        self.incremental.as_ref()
    }

    /// The resource's state handle: sources read it when their extraction starts.
    pub fn state(&self) -> &ResourceState {
        &self.state
    }

    /// Uses `state` as the resource's state: for sources and bindings whose item stream
    /// captured the handle before the resource was made.
    pub fn with_state_handle(mut self, state: ResourceState) -> Self {
        self.state = state;
        self
    }

    /// A resource from Arrow record batches (Parquet files give them): rows stay columnar
    /// through extraction and are normalized like JSON items with the same values, types
    /// (timestamps, dates, decimals, bytes) kept.
    pub fn from_batches<I, E>(name: impl Into<String>, batches: I) -> Self
    where
        I: IntoIterator<Item = Result<RecordBatch, E>> + 'static,
        I::IntoIter: Send,
        E: Into<BoxError>,
    {
        let mut batches = batches.into_iter();
        Self::from_pull(name, move |_| match batches.next() {
            Some(Ok(batch)) => Ok(Pulled::Batch(batch)),
            Some(Err(e)) => Err(e.into()),
            None => Ok(Pulled::End),
        })
    }

    /// Masks `secrets` (the source's credentials) in whatever the run that loads this resource
    /// shows: errors, load info, traces.
    pub fn with_secrets(self, secrets: &Secrets) -> Self {
        self.secrets.extend(secrets);
        self
    }

    /// Masks one secret value, as [`Resource::with_secrets`].
    pub fn with_secret(self, value: &str) -> Self {
        self.secrets.register(value);
        self
    }

    /// The secrets this resource's source brought.
    pub fn secrets(&self) -> &Secrets {
        &self.secrets
    }

    /// The resource name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The root table (before normalization); the resource name unless set.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The hints for the root table.
    pub fn hints(&self) -> &TableHints {
        &self.hints
    }

    /// Loads into `table` instead of a table named after the resource.
    pub fn table_name(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }

    /// How new rows combine with the table's rows (`append` by default).
    pub fn write_disposition(mut self, write_disposition: WriteDisposition) -> Self {
        self.hints.write_disposition = Some(write_disposition);
        self
    }

    /// The merge strategy of a `merge` table (`delete-insert` by default).
    pub fn merge_strategy(mut self, strategy: MergeStrategy) -> Self {
        self.hints.merge_strategy = Some(strategy);
        self
    }

    /// Primary key columns (source names).
    pub fn primary_key<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.hints.primary_key = columns.into_iter().map(Into::into).collect();
        self
    }

    /// Merge key columns (source names).
    pub fn merge_key<S: Into<String>>(mut self, columns: impl IntoIterator<Item = S>) -> Self {
        self.hints.merge_key = columns.into_iter().map(Into::into).collect();
        self
    }

    /// Levels of nesting unpacked into child tables; deeper values are stored as JSON.
    pub fn max_table_nesting(mut self, levels: u32) -> Self {
        self.hints.max_nesting = Some(levels);
        self
    }

    /// dlt's `table_format`: `"delta"` keeps this resource's tables (child tables too) as Delta
    /// Lake tables on the filesystem destination, which then merges them; other destinations
    /// keep their own tables.
    pub fn table_format(mut self, format: impl Into<String>) -> Self {
        self.hints.table_format = Some(format.into());
        self
    }

    /// What loads may change in this resource's tables (see [`SchemaContract`]); entities it
    /// leaves unset follow the source's and the pipeline's contract.
    pub fn schema_contract(mut self, contract: SchemaContract) -> Self {
        self.hints.schema_contract = Some(contract);
        self
    }

    /// Keeps the items and values the schema contract discards in `<table>__rejected` (the
    /// item as JSON, the refused change and why), so nothing is silently lost.
    pub fn quarantine(mut self, on: bool) -> Self {
        self.hints.quarantine = Some(on);
        self
    }

    /// Lets the first load create the resource's tables although the `tables` contract freezes
    /// them (dlt's `tables: freeze` refuses even the first run); later runs are frozen.
    pub fn create_tables_on_first_run(mut self, on: bool) -> Self {
        self.hints.create_tables_on_first_run = Some(on);
        self
    }

    /// Fills the entities the resource's contract leaves unset from `wider` (a source's or a
    /// run's contract: the narrower setting wins).
    pub fn schema_contract_under(mut self, wider: SchemaContract) -> Self {
        if !wider.is_empty() {
            let own = self.hints.schema_contract.unwrap_or_default();
            self.hints.schema_contract = Some(own.or(wider));
        }
        self
    }

    /// Declares the columns of items of type `T` (see [`crate::columns_of`]): field types,
    /// and `Option` fields as the only nullable ones.
    pub fn columns_from<T: serde::de::DeserializeOwned>(mut self) -> Result<Self, crate::Error> {
        for column in crate::columns_of::<T>()? {
            self = self.column(column);
        }
        Ok(self)
    }

    /// Declares a column (type, nullability, keys); declared types win over inference.
    pub fn column(mut self, column: Column) -> Self {
        self.hints.columns.push(column);
        self
    }

    /// The items as JSON values, pulled one by one: to look at what a resource yields (a
    /// pipeline streams items without this).
    pub fn into_values(self) -> impl Iterator<Item = Result<serde_json::Value, BoxError>> {
        let mut items = self.items;
        let mut buf = Vec::new();
        let mut batch: Option<(RecordBatch, usize)> = None;
        let mut failed = false;
        std::iter::from_fn(move || {
            if failed {
                return None;
            }
            let next = loop {
                // rows of the batch being read come first
                if let Some((b, row)) = &mut batch
                    && *row < b.num_rows()
                {
                    let item = dltrs_core::arrow_rows::row_item(b, *row);
                    *row += 1;
                    break item.map_err(BoxError::from).and_then(|item| {
                        serde_json::from_str(&dltrs_core::json::item_to_string(&item))
                            .map_err(BoxError::from)
                    });
                }
                buf.clear();
                match items(&mut buf) {
                    Ok(Pulled::Item | Pulled::ItemTo(_)) => {
                        break serde_json::from_slice(&buf).map_err(BoxError::from);
                    }
                    Ok(Pulled::Batch(b)) => batch = Some((b, 0)),
                    Ok(Pulled::End) => return None,
                    Err(e) => break Err(e),
                }
            };
            failed = next.is_err();
            Some(next)
        })
    }

    /// The item stream, for extraction.
    pub(crate) fn items_mut(&mut self) -> &mut NextItem {
        &mut self.items
    }
}

impl std::fmt::Debug for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resource")
            .field("name", &self.name)
            .field("table", &self.table)
            .field("hints", &self.hints)
            .finish_non_exhaustive()
    }
}

/// A JSON input that could not be read, named as every source names it: `<input>, line L,
/// item N: <why>`.
pub(crate) fn input_error(input: &str, error: &dltrs_core::json::stream::ItemsError) -> BoxError {
    format!("{input}, {}", crate::report(error)).into()
}
