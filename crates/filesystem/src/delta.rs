//! Delta Lake tables: every data table of the dataset (child tables too) a Delta table in its
//! folder, written by our own commit writer of the protocol's JSON log (reader 1, writer 2).
//!
//! ```text
//! <table>/<load_id>.<file_id>.parquet          data files (Parquet; time columns as text)
//! <table>/_delta_log/00000000000000000000.json protocol + metaData + add ... + commitInfo
//! <table>/_delta_log/00000000000000000001.json add / remove ... + commitInfo
//! ```
//!
//! A commit is the log entry of the next version, put only if absent (`PutMode::Create`, an
//! S3 conditional write): of two loaders committing at once one wins and the other reads the
//! log again and commits on top, so no commit is lost. Each commit names the package in
//! `commitInfo.dltrsLoadId`, which makes a table's step of a package idempotent: a resumed load
//! skips the tables that have it. `replace` is one commit per table (every file removed, the
//! new ones added); `merge` (`delete-insert`, `upsert`) is copy-on-write: files holding rows
//! whose key arrives are rewritten without them, child tables first (rows of replaced roots
//! removed by `_dlt_root_id`), the root last, so a kill between two commits leaves a state
//! the resumed load finishes.

use std::collections::HashSet;
use std::io::Write;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, BooleanArray, RecordBatch};
use arrow_schema::{DataType as ArrowType, Field, Schema as ArrowSchema, TimeUnit};
use dltrs_core::destination::BoxError;
use dltrs_core::json::{Item, write_item};
use dltrs_core::package::{BatchFile, NormalizedPackage};
use dltrs_core::schema::{MergeStrategy, Table, WriteDisposition};
use dltrs_core::sql::MergeKeys;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value, json};
use sha3::Digest;

use crate::store::Store;

const LOG: &str = "_delta_log/";

/// Attempts at a commit before giving up on a busy table.
const ATTEMPTS: usize = 50;

/// What the log says a table is.
struct Snapshot {
    /// The last version (`None`: no table yet).
    version: Option<u64>,
    /// Active data files, relative to the table's folder, in the order they were added.
    files: Vec<String>,
    /// The `metaData` action.
    metadata: Option<Value>,
    /// Names of the fields of the table's schema.
    fields: Vec<Value>,
    /// Packages committed (`commitInfo.dltrsLoadId`).
    loads: HashSet<String>,
}

fn decode_path(path: &str) -> String {
    // add/remove paths are URIs: %XX escapes
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = path.get(i + 1..i + 3)
            && let Ok(b) = u8::from_str_radix(hex, 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn snapshot(store: &Store, dir: &str) -> Result<Snapshot, BoxError> {
    let mut versions: Vec<(u64, String)> = Vec::new();
    for path in store.list(&format!("{dir}{LOG}"))? {
        let name = path.rsplit('/').next().unwrap_or_default();
        if name.contains("checkpoint") {
            return Err(format!(
                "the Delta table {dir} has a checkpoint ({name}); dltrs reads JSON logs only so far: load it with the writer that checkpointed it"
            )
            .into());
        }
        if let Some(number) = name.strip_suffix(".json")
            && number.len() == 20
            && let Ok(version) = number.parse::<u64>()
        {
            versions.push((version, path));
        }
    }
    versions.sort();
    let mut snapshot = Snapshot {
        version: None,
        files: Vec::new(),
        metadata: None,
        fields: Vec::new(),
        loads: HashSet::new(),
    };
    for (version, path) in versions {
        if snapshot.version.is_some_and(|v| v + 1 != version)
            || (snapshot.version.is_none() && version != 0)
        {
            return Err(
                format!("the Delta log of {dir} misses the version before {version}").into(),
            );
        }
        let bytes = store
            .get(&path)?
            .ok_or_else(|| format!("{path} was listed but is gone"))?;
        for line in String::from_utf8_lossy(&bytes)
            .lines()
            .filter(|l| !l.trim().is_empty())
        {
            let action: Value = serde_json::from_str(line)
                .map_err(|e| format!("{path} is not a Delta log: {e}"))?;
            if let Some(add) = action.get("add") {
                let file = decode_path(add["path"].as_str().unwrap_or_default());
                if !snapshot.files.contains(&file) {
                    snapshot.files.push(file);
                }
            } else if let Some(remove) = action.get("remove") {
                let file = decode_path(remove["path"].as_str().unwrap_or_default());
                snapshot.files.retain(|f| *f != file);
            } else if let Some(metadata) = action.get("metaData") {
                let schema: Value =
                    serde_json::from_str(metadata["schemaString"].as_str().unwrap_or("{}"))?;
                snapshot.fields = schema["fields"].as_array().cloned().unwrap_or_default();
                snapshot.metadata = Some(metadata.clone());
            } else if let Some(info) = action.get("commitInfo")
                && let Some(load_id) = info["dltrsLoadId"].as_str()
            {
                snapshot.loads.insert(load_id.to_string());
            }
        }
        snapshot.version = Some(version);
    }
    Ok(snapshot)
}

/// The Delta type of an Arrow type, and the Arrow type data is written as (Delta has no time
/// of day: time columns are written as their ISO text).
fn delta_type(arrow: &ArrowType) -> (String, ArrowType) {
    match arrow {
        ArrowType::Int64 => ("long".into(), arrow.clone()),
        ArrowType::Float64 => ("double".into(), arrow.clone()),
        ArrowType::Boolean => ("boolean".into(), arrow.clone()),
        ArrowType::Timestamp(_, _) => (
            "timestamp".into(),
            ArrowType::Timestamp(TimeUnit::Microsecond, Some(Arc::from("UTC"))),
        ),
        ArrowType::Date32 => ("date".into(), arrow.clone()),
        ArrowType::Decimal128(p, s) => (format!("decimal({p},{s})"), arrow.clone()),
        ArrowType::Binary => ("binary".into(), arrow.clone()),
        _ => ("string".into(), ArrowType::Utf8),
    }
}

/// The table's fields as the log's schema wants them: the fields the log has, then the
/// columns of `table` it lacks.
fn merged_fields(existing: &[Value], table: &Table) -> Vec<Value> {
    let mut fields = existing.to_vec();
    for column in table.complete_columns() {
        if fields.iter().any(|f| f["name"] == column.name) {
            continue;
        }
        let (name, _) = delta_type(&dltrs_core::normalize::arrow_type(column));
        fields.push(json!({"name": column.name, "type": name, "nullable": true, "metadata": {}}));
    }
    fields
}

/// A batch as a Delta data file holds it: time of day as text, timestamps in UTC.
fn for_delta(batch: &RecordBatch) -> Result<RecordBatch, BoxError> {
    let mut fields = Vec::with_capacity(batch.num_columns());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        let (_, target) = delta_type(field.data_type());
        let column = match &target == column.data_type() {
            true => column.clone(),
            false => arrow_cast::cast(column, &target)?,
        };
        fields.push(Field::new(field.name(), target, true));
        columns.push(column);
    }
    Ok(RecordBatch::try_new(
        Arc::new(ArrowSchema::new(fields)),
        columns,
    )?)
}

/// A key or id as 128 bits: a merge holds a set of them per million rows in a few tens of
/// megabytes (the texts would take hundreds); two SipHashes with different prefixes make a
/// collision, which would remove a row it should not, as unlikely as 2^-64 per pair.
fn digest(text: &str) -> u128 {
    use std::hash::{Hash, Hasher};
    let half = |salt: u8| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        salt.hash(&mut hasher);
        text.hash(&mut hasher);
        hasher.finish()
    };
    (u128::from(half(0)) << 64) | u128::from(half(1))
}

/// The digest of a row's values of `columns` (null for a column the batch lacks), one key per
/// row; `None` for every row when there are no such columns.
fn keys_of(batch: &RecordBatch, columns: &[String]) -> Result<Vec<Option<u128>>, BoxError> {
    if columns.is_empty() {
        return Ok(vec![None; batch.num_rows()]);
    }
    let indices: Vec<Option<usize>> = columns
        .iter()
        .map(|c| batch.schema().index_of(c).ok())
        .collect();
    let present: Vec<usize> = indices.iter().flatten().copied().collect();
    let projected = batch.project(&present)?;
    let mut out = Vec::with_capacity(batch.num_rows());
    for row in 0..batch.num_rows() {
        let Item::Object(values) = dltrs_core::arrow_rows::row_item(&projected, row)? else {
            return Err("a row is not an object".into());
        };
        let mut key = String::new();
        let mut values = values.into_iter();
        for index in &indices {
            key.push('\u{1f}');
            match index.and_then(|_| values.next()) {
                Some((_, value)) if !matches!(value, Item::Null) => write_item(&mut key, &value),
                _ => key.push_str("null"),
            }
        }
        out.push(Some(digest(&key)));
    }
    Ok(out)
}

fn string_column<'a>(batch: &'a RecordBatch, name: &str) -> Option<&'a arrow_array::StringArray> {
    let index = batch.schema().index_of(name).ok()?;
    batch.column(index).as_string_opt::<i32>()
}

/// Writes `batches` as a Parquet data file at `path`; its size in bytes and rows.
fn write_data<I>(
    store: &Store,
    path: &str,
    schema: Arc<ArrowSchema>,
    batches: I,
) -> Result<(u64, u64), BoxError>
where
    I: IntoIterator<Item = Result<RecordBatch, BoxError>>,
{
    let properties = crate::format::parquet_properties();
    let mut out = std::io::BufWriter::with_capacity(1 << 20, store.writer(path));
    let mut writer = ArrowWriter::try_new(&mut out, schema, Some(properties))?;
    let mut rows = 0;
    for batch in batches {
        let batch = batch?;
        rows += batch.num_rows() as u64;
        writer.write(&batch)?;
    }
    writer.close()?;
    out.flush()?;
    let size = out.into_inner().map_err(|e| e.into_error())?.finish()?;
    Ok((size, rows))
}

/// The batches of a data file of the table, one at a time, from a local temporary copy (a
/// file of any size in bounded memory).
fn read_data(
    store: &Store,
    path: &str,
) -> Result<impl Iterator<Item = Result<RecordBatch, BoxError>> + use<>, BoxError> {
    let file = store
        .download(path)?
        .ok_or_else(|| format!("the Delta log names {path}, which is gone"))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)?
        .with_batch_size(8192)
        .build()?;
    Ok(reader.map(|b| b.map_err(BoxError::from)))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}

fn add(path: &str, size: u64, rows: u64) -> Value {
    json!({"add": {
        "path": path,
        "partitionValues": {},
        "size": size,
        "modificationTime": now_ms(),
        "dataChange": true,
        "stats": json!({"numRecords": rows}).to_string(),
    }})
}

fn remove(path: &str) -> Value {
    json!({"remove": {"path": path, "deletionTimestamp": now_ms(), "dataChange": true}})
}

/// What a merge did to one data file.
enum Rewrite {
    /// No row of it was removed: it stays.
    Unchanged,
    /// Every row was removed: it goes.
    Emptied,
    /// Rewritten without the removed rows.
    Written { size: u64, rows: u64 },
}

/// What a merge removes: destination roots whose key arrives, and the package's own
/// duplicates of a primary key (the first staged row wins).
/// Keys and ids are held as their [`digest`]s.
struct MergePlan {
    strategy: MergeStrategy,
    keys: MergeKeys,
    primary: HashSet<u128>,
    merge: HashSet<u128>,
    /// `_dlt_id`s of destination roots the merge replaces: their child rows go.
    replaced_roots: HashSet<u128>,
    /// `_dlt_id`s of the package's duplicate roots: neither they nor their children go in.
    skipped_roots: HashSet<u128>,
    /// Per child table, the `_dlt_id`s of its rows under a replaced root that have no
    /// `_dlt_root_id` (loaded before the table merged), found through the parent chain; the
    /// others go by their `_dlt_root_id`.
    removed: std::collections::HashMap<String, HashSet<u128>>,
}

impl MergePlan {
    fn matches(&self, primary: &Option<u128>, merge: &Option<u128>) -> bool {
        primary
            .as_ref()
            .is_some_and(|k| !self.keys.primary.is_empty() && self.primary.contains(k))
            || merge
                .as_ref()
                .is_some_and(|k| !self.keys.merge.is_empty() && self.merge.contains(k))
    }
}

/// One package's chain of tables (a root and its child tables) into Delta tables.
pub(crate) struct Chain<'a> {
    pub store: &'a Store,
    pub dataset: &'a str,
    pub package: &'a NormalizedPackage,
    pub root: &'a str,
}

impl Chain<'_> {
    fn dir(&self, table: &str) -> String {
        format!("{}{table}/", self.dataset)
    }

    /// Applies the chain; rows written are returned for the progress counters.
    pub(crate) fn apply(&self) -> Result<u64, (String, BoxError)> {
        let package = self.package;
        let schema = &package.schema;
        let Some(root) = schema.table(self.root) else {
            return Ok(0);
        };
        let disposition = package
            .manifest
            .roots
            .iter()
            .find(|r| r.name == self.root)
            .map(|r| package.disposition(r))
            .unwrap_or(WriteDisposition::Append);
        let keys = MergeKeys::of(root);
        let merging = disposition == WriteDisposition::Merge && !keys.is_empty();
        // children first, deepest first, the root last: the root's commit ends the chain
        let mut tables: Vec<&Table> = schema.descendants(self.root);
        tables.reverse();
        tables.push(root);
        let root_dir = self.dir(self.root);
        let root_done = snapshot(self.store, &root_dir)
            .map_err(|e| (self.root.to_string(), e))?
            .loads
            .contains(package.load_id());
        if root_done {
            return Ok(0);
        }
        let plan = match merging {
            true => Some(
                self.merge_plan(root, keys)
                    .map_err(|e| (self.root.to_string(), e))?,
            ),
            false => None,
        };
        let mut rows = 0;
        for table in tables {
            let has_rows = package.manifest.tables.iter().any(|t| t.name == table.name);
            // an append without rows for this table has nothing to commit
            if !has_rows && disposition != WriteDisposition::Replace && !merging {
                continue;
            }
            rows += self
                .apply_table(table, disposition, plan.as_ref())
                .map_err(|e| (table.name.clone(), e))?;
        }
        Ok(rows)
    }

    /// The keys arriving in the package and the destination roots they replace.
    fn merge_plan(&self, root: &Table, keys: MergeKeys) -> Result<MergePlan, BoxError> {
        let strategy = root.merge_strategy.unwrap_or(MergeStrategy::DeleteInsert);
        let mut plan = MergePlan {
            strategy,
            keys,
            primary: HashSet::new(),
            merge: HashSet::new(),
            replaced_roots: HashSet::new(),
            skipped_roots: HashSet::new(),
            removed: std::collections::HashMap::new(),
        };
        if let Some(data) = self
            .package
            .manifest
            .tables
            .iter()
            .find(|t| t.name == root.name)
        {
            for batch in self.package.batches(data) {
                let batch = batch?;
                let primary = keys_of(&batch, &plan.keys.primary)?;
                let merge = keys_of(&batch, &plan.keys.merge)?;
                let ids = string_column(&batch, "_dlt_id");
                for row in 0..batch.num_rows() {
                    if let Some(key) = primary[row]
                        && !plan.keys.primary.is_empty()
                        && !plan.primary.insert(key)
                        && strategy == MergeStrategy::DeleteInsert
                        && let Some(ids) = ids
                    {
                        plan.skipped_roots.insert(digest(ids.value(row)));
                    }
                    if let Some(key) = merge[row] {
                        plan.merge.insert(key);
                    }
                }
            }
        }
        let snap = snapshot(self.store, &self.dir(&root.name))?;
        for file in &snap.files {
            for batch in read_data(self.store, &format!("{}{file}", self.dir(&root.name)))? {
                let batch = batch?;
                let primary = keys_of(&batch, &plan.keys.primary)?;
                let merge = keys_of(&batch, &plan.keys.merge)?;
                let Some(ids) = string_column(&batch, "_dlt_id") else {
                    continue;
                };
                for row in 0..batch.num_rows() {
                    if plan.matches(&primary[row], &merge[row]) {
                        plan.replaced_roots.insert(digest(ids.value(row)));
                    }
                }
            }
        }
        // parents before children: a row goes when its root or its parent row goes
        for table in self.package.schema.descendants(&root.name) {
            let Some(parent) = table.parent.as_deref() else {
                continue;
            };
            let empty = HashSet::new();
            let parent_removed = match parent == root.name {
                true => &plan.replaced_roots,
                false => plan.removed.get(parent).unwrap_or(&empty),
            };
            let mut removed = HashSet::new();
            let dir = self.dir(&table.name);
            for file in &snapshot(self.store, &dir)?.files {
                for batch in read_data(self.store, &format!("{dir}{file}"))? {
                    let batch = batch?;
                    let Some(ids) = string_column(&batch, "_dlt_id") else {
                        continue;
                    };
                    let roots = string_column(&batch, "_dlt_root_id");
                    let parents = string_column(&batch, "_dlt_parent_id");
                    for row in 0..batch.num_rows() {
                        let under = |column: Option<&arrow_array::StringArray>,
                                     set: &HashSet<u128>| {
                            column.is_some_and(|c| {
                                !c.is_null(row) && set.contains(&digest(c.value(row)))
                            })
                        };
                        // rows with a root id are decided by it; only older rows need the chain
                        let legacy = roots.is_none_or(|c| c.is_null(row));
                        if legacy && under(parents, parent_removed) {
                            removed.insert(digest(ids.value(row)));
                        }
                    }
                }
            }
            plan.removed.insert(table.name.clone(), removed);
        }
        // from here on the roots found are what counts: free the keys
        plan.primary = HashSet::new();
        plan.merge = HashSet::new();
        Ok(plan)
    }

    /// Which rows of a batch stay: for the root, rows whose key does not arrive (existing
    /// rows) or that are not a skipped duplicate (new rows); for child tables, rows whose root
    /// is not replaced (existing) or not skipped (new).
    fn keep(
        &self,
        table: &Table,
        batch: &RecordBatch,
        plan: &MergePlan,
        existing: bool,
    ) -> Result<BooleanArray, BoxError> {
        let root = table.name == self.root;
        let rows = batch.num_rows();
        let ids = string_column(batch, "_dlt_id");
        let digests = |column: Option<&arrow_array::StringArray>, row: usize| {
            column
                .filter(|c| !c.is_null(row))
                .map(|c| digest(c.value(row)))
        };
        let keep: BooleanArray = match (root, existing) {
            // a destination root goes when the plan found its key arriving
            (true, true) => (0..rows)
                .map(|row| {
                    Some(digests(ids, row).is_none_or(|id| !plan.replaced_roots.contains(&id)))
                })
                .collect(),
            // a package root goes when it duplicates an earlier one's primary key
            (true, false) => (0..rows)
                .map(|row| {
                    Some(digests(ids, row).is_none_or(|id| !plan.skipped_roots.contains(&id)))
                })
                .collect(),
            // a destination child row goes with its root; rows loaded before the table merged
            // have no root id, the plan found them through their parents
            (false, true) => {
                let roots = string_column(batch, "_dlt_root_id");
                let empty = HashSet::new();
                let legacy = plan.removed.get(&table.name).unwrap_or(&empty);
                (0..rows)
                    .map(|row| {
                        Some(match digests(roots, row) {
                            Some(root) => !plan.replaced_roots.contains(&root),
                            None => digests(ids, row).is_none_or(|id| !legacy.contains(&id)),
                        })
                    })
                    .collect()
            }
            // a package child row stays unless its root was a skipped duplicate
            (false, false) => {
                let roots = string_column(batch, "_dlt_root_id");
                (0..rows)
                    .map(|row| {
                        Some(
                            digests(roots, row)
                                .is_none_or(|root| !plan.skipped_roots.contains(&root)),
                        )
                    })
                    .collect()
            }
        };
        Ok(keep)
    }

    /// Streams data file `file` of `table` through the merge's filter into `rewritten`; the
    /// rewrite is kept only when a row was removed (an unfinished upload leaves nothing).
    fn rewrite(
        &self,
        table: &Table,
        plan: &MergePlan,
        dir: &str,
        file: &str,
        rewritten: &str,
    ) -> Result<Rewrite, BoxError> {
        let mut batches = read_data(self.store, &format!("{dir}{file}"))?.peekable();
        let schema = match batches.peek() {
            Some(Ok(first)) => first.schema(),
            Some(Err(_)) => {
                return Err(batches
                    .next()
                    .and_then(Result::err)
                    .unwrap_or_else(|| "a data file could not be read".into()));
            }
            None => return Ok(Rewrite::Unchanged),
        };
        let properties = crate::format::parquet_properties();
        let target = self.store.writer(&format!("{dir}{rewritten}"));
        let mut out = std::io::BufWriter::with_capacity(1 << 20, target);
        let mut writer = ArrowWriter::try_new(&mut out, schema, Some(properties))?;
        let (mut removed, mut rows) = (false, 0u64);
        for batch in batches {
            let batch = batch?;
            let keep = self.keep(table, &batch, plan, true)?;
            removed |= keep.true_count() != batch.num_rows();
            let kept = arrow_select::filter::filter_record_batch(&batch, &keep)?;
            rows += kept.num_rows() as u64;
            writer.write(&kept)?;
        }
        if !removed {
            // dropped unfinished: the upload is aborted
            return Ok(Rewrite::Unchanged);
        }
        if rows == 0 {
            return Ok(Rewrite::Emptied);
        }
        writer.close()?;
        out.flush()?;
        let size = out.into_inner().map_err(|e| e.into_error())?.finish()?;
        Ok(Rewrite::Written { size, rows })
    }

    fn apply_table(
        &self,
        table: &Table,
        disposition: WriteDisposition,
        plan: Option<&MergePlan>,
    ) -> Result<u64, BoxError> {
        let package = self.package;
        let load_id = package.load_id();
        let dir = self.dir(&table.name);
        let data = package
            .manifest
            .tables
            .iter()
            .find(|t| t.name == table.name);
        // the package's rows as data files, written once at paths of their own
        let mut added: Vec<Value> = Vec::new();
        let mut rows = 0;
        if let Some(data) = data {
            for (index, name) in data.files.iter().enumerate() {
                let file = BatchFile::open(package.dir.join(name))?;
                let first = file.schema();
                let schema = for_delta(&RecordBatch::new_empty(first))?.schema();
                let path = format!(
                    "{load_id}.{}.parquet",
                    crate::short_hash(&format!("{load_id}/{}/{index}", table.name))
                );
                let batches = file.map(|batch| -> Result<RecordBatch, BoxError> {
                    let batch = batch?;
                    let batch = match plan {
                        Some(plan) => {
                            let keep = self.keep(table, &batch, plan, false)?;
                            arrow_select::filter::filter_record_batch(&batch, &keep)?
                        }
                        None => batch,
                    };
                    for_delta(&batch)
                });
                let (size, written) =
                    write_data(self.store, &format!("{dir}{path}"), schema, batches)?;
                rows += written;
                added.push(add(&path, size, written));
            }
        }
        for _ in 0..ATTEMPTS {
            let snap = snapshot(self.store, &dir)?;
            if snap.loads.contains(load_id) {
                return Ok(0);
            }
            let mut actions = Vec::new();
            let fields = merged_fields(&snap.fields, table);
            let schema_string = json!({"type": "struct", "fields": fields}).to_string();
            match &snap.metadata {
                None => {
                    actions
                        .push(json!({"protocol": {"minReaderVersion": 1, "minWriterVersion": 2}}));
                    actions.push(json!({"metaData": {
                        "id": uuid_like(&format!("{}/{}", self.dataset, table.name)),
                        "format": {"provider": "parquet", "options": {}},
                        "schemaString": schema_string,
                        "partitionColumns": [],
                        "configuration": {},
                        "createdTime": now_ms(),
                    }}));
                }
                Some(metadata) if fields.len() != snap.fields.len() => {
                    let mut metadata = metadata.clone();
                    metadata["schemaString"] = Value::String(schema_string);
                    actions.push(json!({"metaData": metadata}));
                }
                Some(_) => {}
            }
            let operation = match (disposition, plan) {
                (WriteDisposition::Replace, _) => {
                    actions.extend(snap.files.iter().map(|f| remove(f)));
                    "WRITE"
                }
                (_, Some(plan)) => {
                    for file in &snap.files {
                        let rewritten = format!(
                            "{load_id}.r{}.parquet",
                            crate::short_hash(&format!("{load_id}/{file}"))
                        );
                        match self.rewrite(table, plan, &dir, file, &rewritten)? {
                            Rewrite::Unchanged => {}
                            Rewrite::Emptied => actions.push(remove(file)),
                            Rewrite::Written { size, rows } => {
                                actions.push(remove(file));
                                actions.push(add(&rewritten, size, rows));
                            }
                        }
                    }
                    "MERGE"
                }
                _ => "WRITE",
            };
            actions.extend(added.iter().cloned());
            let strategy = plan.map(|p| p.strategy.as_str());
            actions.push(json!({"commitInfo": {
                "timestamp": now_ms(),
                "operation": operation,
                "operationParameters": {"mode": disposition.as_str(), "mergeStrategy": strategy},
                "engineInfo": concat!("dltrs/", env!("CARGO_PKG_VERSION")),
                "dltrsLoadId": load_id,
            }}));
            let version = snap.version.map_or(0, |v| v + 1);
            let mut text = String::new();
            for action in &actions {
                text.push_str(&action.to_string());
                text.push('\n');
            }
            if self
                .store
                .put_if_absent(&format!("{dir}{LOG}{version:020}.json"), text.into_bytes())?
            {
                return Ok(rows);
            }
            // another writer took this version: read the log again and commit on top
        }
        Err(format!(
            "the Delta table {dir} stayed busy: {ATTEMPTS} commits of other writers came first"
        )
        .into())
    }
}

/// A stable UUID-shaped table id (a table written again from scratch keeps its id).
fn uuid_like(seed: &str) -> String {
    let hex = crate::hex(&sha3::Sha3_256::digest(seed.as_bytes())[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}
