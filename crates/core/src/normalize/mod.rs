//! The relational normalizer: nested JSON items in, typed columnar batches per table out.
//!
//! It follows dlt 1.31's `relational` normalizer (`dlt/common/normalizers/json/relational.py`)
//! and its row coercion (`dlt/normalize/items_normalizers/jsonl.py`):
//!
//! ```text
//!  item ──flatten──▶ row of (column, value) ──coerce──▶ staged values ──commit──▶ TableBuffer
//!   │   (dicts → a__b columns,            (infer type / coerce /          (Arrow builders,
//!   │    lists → child tables)              variant column, schema grows)   one per table)
//!   └─ lists ─▶ child rows with _dlt_parent_id, _dlt_list_idx, _dlt_id (and _dlt_root_id)
//! ```
//!
//! It is sans-IO: [`RelationalNormalizer::push`] takes items, [`RelationalNormalizer::flush`]
//! returns Arrow batches plus the schema changes made since the last flush. An item is
//! all-or-nothing: if any of its rows fails, none of them is kept.

mod buffer;
mod paths;
pub mod row_id;

use std::borrow::Cow;
use std::collections::HashSet;

use rustc_hash::FxHashMap;
use std::rc::Rc;
use std::sync::Arc;

use arrow_array::RecordBatch;
use rand::SeedableRng;
use rand::rngs::StdRng;

pub use buffer::{DLT_TYPE_METADATA, arrow_field, arrow_type};
pub use paths::EMPTY_KEY;

use crate::error::NormalizeError;
use crate::json::{Item, item_to_string, parse, write_item_sorted};
use crate::naming::{NamingConvention, SnakeCase};
use crate::schema::{
    Column, ContractEntity, ContractMode, MergeStrategy, Schema, SchemaChange, SchemaContract,
    Table, TableHints, WriteDisposition,
};
use crate::types::{DataType, Scalar, coerce, infer_type, value_type};
use buffer::TableBuffer;
use paths::{Interner, Paths, ROOT_PATH, TableCtx};

/// What the normalizer does with a NUL character (`\0`; `\u0000` in JSON) in a text or JSON
/// value. PostgreSQL stores none in `text` or `jsonb`, so its loads would fail on one: for
/// such a destination the pipeline refuses the item at normalize (naming it), or removes the
/// characters when asked and counts them ([`NormalizeWarning::NulRemoved`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NulPolicy {
    /// Keep them (the destination stores them).
    #[default]
    Keep,
    /// Fail the item.
    Refuse,
    /// Remove them from the value.
    Remove,
}

/// dlt's default `max_table_nesting`.
pub const DEFAULT_MAX_NESTING: u32 = 1000;

const C_DLT_ID: &str = "_dlt_id";
const C_DLT_LOAD_ID: &str = "_dlt_load_id";
const C_DLT_ROOT_ID: &str = "_dlt_root_id";
const C_DLT_PARENT_ID: &str = "_dlt_parent_id";
const C_DLT_LIST_IDX: &str = "_dlt_list_idx";
const C_VALUE: &str = "value";
const C_LIST: &str = "list";

/// Something the normalizer did that the user may want to know, but that is not an error.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "warning", rename_all = "snake_case")]
pub enum NormalizeWarning {
    /// Two source keys normalized to the same column; the later value was kept (as in dlt).
    KeyCollision {
        /// Table of the row.
        table: String,
        /// The column both keys map to.
        column: String,
        /// 1-based position of the item in its resource.
        item: u64,
    },
    /// NUL characters were removed from values of a column ([`NulPolicy::Remove`]).
    NulRemoved {
        /// Table of the values.
        table: String,
        /// Their column.
        column: String,
        /// Values that held one or more.
        values: u64,
    },
    /// A column received only nulls, so it was not created yet (it will be when a value comes).
    NullOnlyColumn {
        /// Table name.
        table: String,
        /// Column name.
        column: String,
    },
    /// The schema contract discarded items or values instead of changing the schema.
    ContractDiscarded {
        /// The resource whose items were discarded.
        #[serde(default)]
        resource: String,
        /// Table the schema change was for.
        table: String,
        /// The new column, or the variant column's base column (none for a new table).
        column: Option<String>,
        /// `tables`, `columns` or `data_type`.
        entity: ContractEntity,
        /// `discard_row` or `discard_value`.
        mode: ContractMode,
        /// Items (rows) left out.
        rows: u64,
        /// Values left out.
        values: u64,
        /// 1-based position of the first such item in its resource.
        first_item: u64,
        /// Its value, truncated.
        example: Option<String>,
    },
}

impl NormalizeWarning {
    /// Adds `other` into `self` when both count discards of the same kind.
    pub fn absorb(&mut self, other: &NormalizeWarning) -> bool {
        match (self, other) {
            (
                NormalizeWarning::ContractDiscarded {
                    table,
                    column,
                    entity,
                    mode,
                    rows,
                    values,
                    ..
                },
                NormalizeWarning::ContractDiscarded {
                    table: t,
                    column: c,
                    entity: e,
                    mode: m,
                    rows: r,
                    values: v,
                    ..
                },
            ) if table == t && column == c && entity == e && mode == m => {
                *rows += r;
                *values += v;
                true
            }
            (
                NormalizeWarning::NulRemoved {
                    table,
                    column,
                    values,
                },
                NormalizeWarning::NulRemoved {
                    table: t,
                    column: c,
                    values: v,
                },
            ) if table == t && column == c => {
                *values += v;
                true
            }
            _ => false,
        }
    }
}

/// The batches of one table produced by a flush.
#[derive(Debug, Clone)]
pub struct TableBatch {
    /// Table name.
    pub table: String,
    /// Its rows, columns in schema order.
    pub batch: RecordBatch,
}

/// What a flush returns: batches per table (parents before children) and what changed.
#[derive(Debug, Clone, Default)]
pub struct NormalizedChunk {
    /// One batch per table that received rows.
    pub batches: Vec<TableBatch>,
    /// Schema changes made since the previous flush.
    pub changes: Vec<SchemaChange>,
    /// Warnings since the previous flush.
    pub warnings: Vec<NormalizeWarning>,
}

/// Turns nested JSON items into relational rows, the dlt way. See the module docs.
pub struct RelationalNormalizer {
    schema: Schema,
    naming: Arc<dyn NamingConvention>,
    load_id: String,
    names: Interner,
    paths: Paths,
    tables: Vec<TableCtx>,
    roots: FxHashMap<String, usize>,
    buffers: Vec<TableBuffer>,
    changes: Vec<SchemaChange>,
    warnings: Vec<NormalizeWarning>,
    null_only: HashSet<(usize, u32)>,
    null_only_reported: HashSet<(usize, u32)>,
    rng: StdRng,
    items: u64,
    /// What NUL characters in text and JSON values become.
    nul: NulPolicy,
    /// The first path of each shortened column, per table.
    shortened_origins: FxHashMap<(usize, u32), u32>,
    /// Two paths of a table shortened to one column name (table, column, paths): every
    /// later item fails, the data would mix.
    collision: Option<(usize, u32, String, String)>,
    seen: Vec<u64>,
    row_gen: u64,
    sys: SystemNames,
    /// The run's contract, under each table's own.
    default_contract: SchemaContract,
    /// Effective contract per table context, computed on first use.
    contracts: Vec<Option<SchemaContract>>,
    /// Discards since the last flush, by (table, column, entity, mode).
    discards: Vec<NormalizeWarning>,
    /// Discards of the item being normalized, for the quarantine table.
    rejects: Vec<NormalizeWarning>,
    /// Quarantine tables: no contract applies to them.
    quarantine_tables: HashSet<String>,
    /// The resource being normalized and the item count when it started (for positions).
    resource: (String, u64),
}

/// What the contract says about one schema change.
enum Verdict {
    Allow,
    SkipValue,
}

/// Interned ids of the `_dlt_*` column names.
struct SystemNames {
    dlt_id: u32,
    load_id: u32,
    root_id: u32,
    parent_id: u32,
    list_idx: u32,
}

/// A value staged for a table column until its item is complete.
struct Staged<'a> {
    table: usize,
    column: usize,
    value: Scalar<'a>,
}

/// A staged row: its table and the range of its values.
struct StagedRow {
    table: usize,
    start: usize,
    end: usize,
}

#[derive(Default)]
struct Stage<'a> {
    values: Vec<Staged<'a>>,
    rows: Vec<StagedRow>,
}

/// Where a row's fields come from.
#[derive(Clone, Copy)]
enum Fields<'i, 'a> {
    /// A JSON object.
    Dict(&'i [(Cow<'a, str>, Item<'a>)]),
    /// One synthetic key: `{"value": x}` for scalars, `{"list": [...]}` for lists of lists.
    Single(&'static str, &'i Item<'a>),
}

/// A row still to normalize: a dict (or synthetic single-key) row, or a scalar list element.
enum Work<'i, 'a> {
    Row {
        table: usize,
        fields: Fields<'i, 'a>,
        root_id: Option<Rc<str>>,
        parent: Option<(Rc<str>, usize)>,
        r_lvl: i64,
    },
    Scalar {
        table: usize,
        value: &'i Item<'a>,
        root_id: Option<Rc<str>>,
        parent_id: Rc<str>,
        idx: usize,
    },
}

/// Lists of a row to unpack into child tables: (interned list path, elements).
type Lists<'i, 'a> = Vec<(u32, &'i [Item<'a>])>;

/// A row after flattening.
struct FlatRow<'i, 'a> {
    fields: Vec<(u32, &'i Item<'a>)>,
    lists: Lists<'i, 'a>,
}

impl RelationalNormalizer {
    /// A normalizer that extends `schema` and stamps root rows with `load_id`, using dlt's
    /// default `snake_case` naming without a length limit.
    pub fn new(schema: Schema, load_id: impl Into<String>) -> Self {
        Self::with_naming(schema, load_id, Box::new(SnakeCase::new()))
    }

    /// Like [`Self::new`] with another naming convention (e.g. `SnakeCase::with_max_length(63)`).
    pub fn with_naming(
        schema: Schema,
        load_id: impl Into<String>,
        naming: Box<dyn NamingConvention>,
    ) -> Self {
        Self::with_shared_naming(schema, load_id.into(), Arc::from(naming))
    }

    fn with_shared_naming(
        schema: Schema,
        load_id: String,
        naming: Arc<dyn NamingConvention>,
    ) -> Self {
        let mut names = Interner::default();
        let sys = SystemNames {
            dlt_id: names.intern(C_DLT_ID),
            load_id: names.intern(C_DLT_LOAD_ID),
            root_id: names.intern(C_DLT_ROOT_ID),
            parent_id: names.intern(C_DLT_PARENT_ID),
            list_idx: names.intern(C_DLT_LIST_IDX),
        };
        RelationalNormalizer {
            schema,
            naming,
            load_id,
            names,
            paths: Paths::new(),
            tables: Vec::new(),
            roots: FxHashMap::default(),
            buffers: Vec::new(),
            changes: Vec::new(),
            warnings: Vec::new(),
            null_only: HashSet::new(),
            null_only_reported: HashSet::new(),
            rng: StdRng::from_os_rng(),
            items: 0,
            nul: NulPolicy::Keep,
            shortened_origins: FxHashMap::default(),
            collision: None,
            seen: Vec::new(),
            row_gen: 0,
            sys,
            default_contract: SchemaContract::default(),
            contracts: Vec::new(),
            discards: Vec::new(),
            rejects: Vec::new(),
            quarantine_tables: HashSet::new(),
            resource: (String::new(), 0),
        }
    }

    /// A normalizer for the items that follow the next `ahead` items, to run beside this one:
    /// it starts from this one's schema, contracts and positions. Its output is what this
    /// normalizer would produce only if it left the schema unchanged (see
    /// `package::normalize`, which checks that and redoes the items here otherwise).
    pub fn fork(&self, ahead: u64) -> RelationalNormalizer {
        let mut fork = Self::with_shared_naming(
            self.schema.clone(),
            self.load_id.clone(),
            Arc::clone(&self.naming),
        );
        fork.default_contract = self.default_contract;
        fork.quarantine_tables = self.quarantine_tables.clone();
        fork.nul = self.nul;
        fork.resource = self.resource.clone();
        fork.items = self.items + ahead;
        fork
    }

    /// Takes over the item count of a fork whose output was used, so later positions follow
    /// on from its items.
    pub fn follow(&mut self, fork: &RelationalNormalizer) {
        self.items = fork.items;
    }

    /// Starts the items of resource `name`: positions in messages count from its first item.
    pub fn begin_resource(&mut self, name: &str) {
        self.resource = (name.to_owned(), self.items);
    }

    /// The 1-based position of the item being normalized among its resource's items (among
    /// all items pushed when no resource was begun): the one way errors and warnings count.
    fn position(&self) -> u64 {
        self.items - self.resource.1 + 1
    }

    /// The contract of the run: it applies where a table's own contract leaves an entity
    /// unset.
    pub fn set_default_contract(&mut self, contract: SchemaContract) {
        self.default_contract = contract;
        self.contracts.clear();
    }

    /// The schema as extended so far.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// Gives the schema back (after a final [`Self::flush`]).
    pub fn into_schema(self) -> Schema {
        self.schema
    }

    /// The load id stamped on root rows.
    pub fn load_id(&self) -> &str {
        &self.load_id
    }

    /// Applies a resource's hints to its root table (a source name) and returns the
    /// normalized table name to push items to.
    pub fn apply_hints(&mut self, table: &str, hints: &TableHints) -> String {
        for ctx in &mut self.tables {
            ctx.needs_root_key = None;
            ctx.keys = None;
        }
        self.contracts.clear();
        self.schema
            .apply_hints(self.naming.as_ref(), table, hints, &mut self.changes)
    }

    /// Rows buffered and not yet flushed, over all tables.
    pub fn buffered_rows(&self) -> usize {
        self.buffers.iter().map(|b| b.rows).sum()
    }

    /// Parses one JSON document and pushes it (see [`Self::push`]).
    pub fn push_json(&mut self, table: &str, json: &[u8]) -> Result<(), NormalizeError> {
        let item = parse(json).map_err(|source| NormalizeError::InvalidJson {
            table: table.to_string(),
            item: self.position(),
            source,
        })?;
        self.push(table, &item)
    }

    /// Normalizes one item into `table` (a source name, normalized here) and its child tables.
    /// A non-object item becomes `{"value": item}`.
    pub fn push(&mut self, table: &str, item: &Item<'_>) -> Result<(), NormalizeError> {
        let root = self.root_ctx(table);
        let max_nesting = self
            .schema
            .table(&self.tables[root].name)
            .and_then(|t| t.normalizer.max_nesting)
            .unwrap_or(DEFAULT_MAX_NESTING);
        let fields = match item {
            Item::Object(fields) => Fields::Dict(fields),
            other => Fields::Single(C_VALUE, other),
        };
        let mut stage = Stage::default();
        let mut result = self.normalize_item(&mut stage, root, fields, i64::from(max_nesting));
        if result.is_ok() && self.nul != NulPolicy::Keep {
            result = self.check_nul(&mut stage);
        }
        self.items += 1;
        let rejects = std::mem::take(&mut self.rejects);
        match result {
            Ok(()) => self.commit(&stage),
            // the contract left the item out: nothing of it is committed
            Err(NormalizeError::Discarded(discard)) => {
                self.record_discard(*discard);
            }
            Err(e) => return Err(e),
        }
        drop(stage);
        let root_name = self.tables[root].name.clone();
        let quarantine = self
            .schema
            .table(&root_name)
            .is_some_and(|t| t.normalizer.quarantine == Some(true));
        if quarantine {
            for reject in rejects {
                self.quarantine(&root_name, item, &reject)?;
            }
        }
        Ok(())
    }

    /// Keeps an item (or the item of a value) the contract discarded in `<table>__rejected`:
    /// the item as JSON, what was refused and why.
    fn quarantine(
        &mut self,
        root: &str,
        item: &Item<'_>,
        reject: &NormalizeWarning,
    ) -> Result<(), NormalizeError> {
        let NormalizeWarning::ContractDiscarded {
            table,
            column,
            entity,
            mode,
            ..
        } = reject
        else {
            return Ok(());
        };
        let name = format!("{root}__rejected");
        self.quarantine_tables.insert(name.clone());
        let text = |s: &str| Item::Str(Cow::Owned(s.to_owned()));
        let reason = match column {
            Some(c) => format!(
                "{}: {} refused a change of {table}.{c}",
                entity.as_str(),
                mode.as_str()
            ),
            None => format!(
                "{}: {} refused new table {table}",
                entity.as_str(),
                mode.as_str()
            ),
        };
        let row = Item::Object(vec![
            (Cow::Borrowed("item"), text(&item_to_string(item))),
            (Cow::Borrowed("table"), text(table)),
            (
                Cow::Borrowed("column"),
                column.as_deref().map_or(Item::Null, text),
            ),
            (Cow::Borrowed("entity"), text(entity.as_str())),
            (Cow::Borrowed("mode"), text(mode.as_str())),
            (Cow::Borrowed("reason"), text(&reason)),
        ]);
        let items = self.items;
        let result = self.push(&name, &row);
        // the quarantine row is not an item of the source
        self.items = items;
        result
    }

    /// The contract governing table context `table`: its root table's own, over the run's.
    fn contract_of(&mut self, table: usize) -> SchemaContract {
        if let Some(Some(contract)) = self.contracts.get(table) {
            return *contract;
        }
        let mut root = table;
        while let Some(parent) = self.tables[root].parent {
            root = parent;
        }
        let root_name = &self.tables[root].name;
        let contract = if self.quarantine_tables.contains(root_name) {
            SchemaContract::all(ContractMode::Evolve)
        } else {
            let own = self
                .schema
                .table(root_name)
                .and_then(|t| t.schema_contract)
                .unwrap_or_default();
            own.or(self.default_contract)
        };
        if self.contracts.len() < self.tables.len() {
            self.contracts.resize(self.tables.len(), None);
        }
        self.contracts[table] = Some(contract);
        contract
    }

    /// dlt's "new table": not in the schema, or no data loaded into it yet.
    fn is_new_table(&self, table: usize) -> bool {
        self.schema
            .table(&self.tables[table].name)
            .is_none_or(|t| t.normalizer.seen_data != Some(true))
    }

    /// A schema change the contract restricts: fails the run (`freeze`), leaves the item out
    /// (`discard_row`, and `discard_value` of a table) or the value (`discard_value`).
    fn refuse(
        &mut self,
        table: usize,
        column: Option<&str>,
        entity: ContractEntity,
        mode: ContractMode,
        value: Option<&Item<'_>>,
    ) -> Result<Verdict, NormalizeError> {
        let table_name = self.tables[table].name.clone();
        let example = value.map(truncated);
        let resource = self.resource.0.clone();
        let position = self.position();
        match mode {
            ContractMode::Evolve => Ok(Verdict::Allow),
            ContractMode::Freeze => Err(NormalizeError::ContractViolation {
                table: table_name,
                column: column.map(str::to_owned),
                entity,
                value: example,
                item: self.position(),
            }),
            ContractMode::DiscardValue if entity != ContractEntity::Tables => {
                let discard = NormalizeWarning::ContractDiscarded {
                    resource,
                    table: table_name,
                    column: column.map(str::to_owned),
                    entity,
                    mode,
                    rows: 0,
                    values: 1,
                    first_item: position,
                    example,
                };
                self.rejects.push(discard.clone());
                self.record_discard(discard);
                Ok(Verdict::SkipValue)
            }
            _ => {
                let discard = NormalizeWarning::ContractDiscarded {
                    resource,
                    table: table_name,
                    column: column.map(str::to_owned),
                    entity,
                    mode,
                    rows: 1,
                    values: 0,
                    first_item: position,
                    example,
                };
                self.rejects.push(discard.clone());
                Err(NormalizeError::Discarded(Box::new(discard)))
            }
        }
    }

    /// What the run does with NUL characters in text and JSON values (kept by default).
    pub fn set_nul_policy(&mut self, policy: NulPolicy) {
        self.nul = policy;
    }

    /// Applies the NUL policy to an item's staged values: fails the item, or removes the
    /// characters and counts the values.
    fn check_nul(&mut self, stage: &mut Stage<'_>) -> Result<(), NormalizeError> {
        for staged in &mut stage.values {
            // the value without its NULs, computed once: `None` when it holds none
            let cleaned = match &staged.value {
                Scalar::Text(text) if text.contains('\0') => {
                    Scalar::Text(Cow::Owned(text.replace('\0', "")))
                }
                Scalar::Json(json) => match json_without_nul(json) {
                    Some(json) => Scalar::Json(json),
                    None => continue,
                },
                _ => continue,
            };
            let table = self.tables[staged.table].name.clone();
            let column = self.buffers[staged.table].columns[staged.column]
                .name
                .clone();
            if self.nul == NulPolicy::Refuse {
                return Err(NormalizeError::NulCharacter {
                    table,
                    column,
                    item: self.position(),
                });
            }
            staged.value = cleaned;
            self.record_discard(NormalizeWarning::NulRemoved {
                table,
                column,
                values: 1,
            });
        }
        Ok(())
    }

    fn record_discard(&mut self, discard: NormalizeWarning) {
        if !self.discards.iter_mut().any(|d| d.absorb(&discard)) {
            self.discards.push(discard);
        }
    }

    /// The `tables` contract for a row about to go into `table`.
    fn check_table(&mut self, table: usize) -> Result<(), NormalizeError> {
        let mode = self.contract_of(table).mode(ContractEntity::Tables);
        if mode != ContractMode::Evolve && self.is_new_table(table) {
            let mut root = table;
            while let Some(parent) = self.tables[root].parent {
                root = parent;
            }
            let first_run = self.is_new_table(root)
                && self
                    .schema
                    .table(&self.tables[root].name)
                    .is_some_and(|t| t.normalizer.create_tables_on_first_run == Some(true));
            if !first_run {
                self.refuse(table, None, ContractEntity::Tables, mode, None)?;
            }
        }
        Ok(())
    }

    /// Returns the buffered rows as Arrow batches, with the schema changes and warnings since
    /// the last flush. Buffers are reused for the next rows.
    pub fn flush(&mut self) -> Result<NormalizedChunk, NormalizeError> {
        let mut batches = Vec::new();
        for (ctx, buffer) in self.tables.iter().zip(self.buffers.iter_mut()) {
            if buffer.rows == 0 {
                continue;
            }
            let Some(table) = self.schema.table(&ctx.name) else {
                continue;
            };
            let order: Vec<&str> = table.complete_columns().map(|c| c.name.as_str()).collect();
            let batch = buffer
                .finish(&order)
                .map_err(|source| NormalizeError::Batch {
                    table: ctx.name.clone(),
                    source,
                })?;
            batches.push(TableBatch {
                table: ctx.name.clone(),
                batch,
            });
        }
        let mut warnings = std::mem::take(&mut self.warnings);
        warnings.append(&mut self.discards);
        let mut null_only: Vec<(usize, u32)> = self.null_only.drain().collect();
        null_only.sort_unstable();
        for (table_id, name) in null_only {
            let table = &self.tables[table_id].name;
            let column = self.names.name(name);
            let exists = self
                .schema
                .table(table)
                .and_then(|t| t.columns.get(column))
                .is_some_and(Column::is_complete);
            if !exists && self.null_only_reported.insert((table_id, name)) {
                warnings.push(NormalizeWarning::NullOnlyColumn {
                    table: table.clone(),
                    column: column.to_string(),
                });
            }
        }
        Ok(NormalizedChunk {
            batches,
            changes: std::mem::take(&mut self.changes),
            warnings,
        })
    }

    /// The context of a root table by source name; the name is normalized once per name.
    fn root_ctx(&mut self, table: &str) -> usize {
        if let Some(&i) = self.roots.get(table) {
            return i;
        }
        let name = self.naming.normalize_tables_path(table);
        let index = match self
            .tables
            .iter()
            .position(|t| t.parent.is_none() && t.name == name)
        {
            Some(i) => i,
            None => self.new_ctx(name.clone(), name, None),
        };
        self.roots.insert(table.to_string(), index);
        index
    }

    fn new_ctx(&mut self, name: String, path: String, parent: Option<usize>) -> usize {
        let index = self.tables.len();
        let root = parent.map_or(index, |p| self.tables[p].root);
        self.tables.push(TableCtx {
            name,
            path,
            parent,
            root,
            children: Default::default(),
            needs_root_key: None,
            keys: None,
        });
        self.buffers.push(TableBuffer::new());
        index
    }

    fn child_ctx(&mut self, parent: usize, list_path: u32) -> usize {
        if let Some(&i) = self.tables[parent].children.get(&list_path) {
            return i;
        }
        let path = format!(
            "{}__{}",
            self.tables[parent].path,
            self.names.name(list_path)
        );
        let name = self.naming.shorten_fragments(&[&path]);
        let index = self.new_ctx(name, path, Some(parent));
        self.tables[parent].children.insert(list_path, index);
        index
    }

    /// dlt's `_flatten`: scalars of a dict in order, nested dicts flattened after them (LIFO,
    /// as dlt's stack does), lists collected for child tables. Beyond the nesting limit, or
    /// where the column is declared `json`, dicts and lists stay whole.
    fn flatten<'i, 'a>(
        &mut self,
        table: usize,
        fields: Fields<'i, 'a>,
        r_lvl: i64,
        item_no: u64,
    ) -> FlatRow<'i, 'a> {
        let mut row = FlatRow {
            fields: Vec::new(),
            lists: Vec::new(),
        };
        self.row_gen += 1;
        let mut stack: Vec<(Fields<'i, 'a>, i64, u32)> = vec![(fields, r_lvl, ROOT_PATH)];
        while let Some((fields, lvl, node)) = stack.pop() {
            let mut visit = |this: &mut Self, key: &str, value: &'i Item<'a>| {
                let child = this
                    .paths
                    .child(node, key, this.naming.as_ref(), &mut this.names);
                let column = this.paths.node(child).column;
                match value {
                    Item::Object(inner) if !this.keeps_json(table, column, lvl) => {
                        stack.push((Fields::Dict(inner), lvl - 1, child));
                    }
                    Item::Array(items) if !this.keeps_json(table, column, lvl) => {
                        let list_id = this.paths.node(child).list_path;
                        if let Some(existing) = row.lists.iter_mut().find(|(id, _)| *id == list_id)
                        {
                            existing.1 = items;
                        } else {
                            row.lists.push((list_id, items));
                        }
                    }
                    _ => {
                        if this.paths.node(child).shortened {
                            this.check_shortened(table, column, child);
                        }
                        if this.mark_seen(column) {
                            if let Some(existing) =
                                row.fields.iter_mut().find(|(c, _)| *c == column)
                            {
                                existing.1 = value;
                            }
                            this.warnings.push(NormalizeWarning::KeyCollision {
                                table: this.tables[table].name.clone(),
                                column: this.names.name(column).to_string(),
                                item: item_no,
                            });
                        } else {
                            row.fields.push((column, value));
                        }
                    }
                }
            };
            match fields {
                Fields::Dict(pairs) => {
                    for (key, value) in pairs {
                        visit(self, key, value);
                    }
                }
                Fields::Single(key, value) => visit(self, key, value),
            }
        }
        row
    }

    /// Records the first path that made shortened column `column` of `table`, and a second,
    /// different path that shortens to the same name: their values would merge into one
    /// column unseen (dlt's tag makes that a hash collision, rare but possible with many
    /// long names sharing a head and tail).
    fn check_shortened(&mut self, table: usize, column: u32, node: u32) {
        let first = *self
            .shortened_origins
            .entry((table, column))
            .or_insert(node);
        if first != node && self.paths.full(first) != self.paths.full(node) {
            self.collision.get_or_insert_with(|| {
                (
                    table,
                    column,
                    self.paths.full(first).to_string(),
                    self.paths.full(node).to_string(),
                )
            });
        }
    }

    /// Marks a column as present in the current row; true if it already was.
    fn mark_seen(&mut self, column: u32) -> bool {
        let i = column as usize;
        if self.seen.len() <= i {
            self.seen.resize(self.names.len().max(i + 1), 0);
        }
        let already = self.seen[i] == self.row_gen;
        self.seen[i] = self.row_gen;
        already
    }

    /// dlt's `is_nested_type`: keep a dict or list whole as `json`.
    fn keeps_json(&self, table: usize, column: u32, r_lvl: i64) -> bool {
        if r_lvl <= 0 {
            return true;
        }
        self.schema
            .table(&self.tables[table].name)
            .and_then(|t| t.columns.get(self.names.name(column)))
            .is_some_and(|c| c.data_type == Some(DataType::Json))
    }

    /// Normalizes one item depth first, parents before children, with an explicit work stack
    /// (no recursion, so nesting depth cannot exhaust the thread's stack).
    fn normalize_item<'i, 'a>(
        &mut self,
        stage: &mut Stage<'i>,
        root: usize,
        fields: Fields<'i, 'a>,
        r_lvl: i64,
    ) -> Result<(), NormalizeError>
    where
        'a: 'i,
    {
        let mut work: Vec<Work<'i, 'a>> = vec![Work::Row {
            table: root,
            fields,
            root_id: None,
            parent: None,
            r_lvl,
        }];
        let mut children: Vec<Work<'i, 'a>> = Vec::new();
        while let Some(next) = work.pop() {
            match next {
                Work::Row {
                    table,
                    fields,
                    root_id,
                    parent,
                    r_lvl,
                } => {
                    let parent_ref = parent.as_ref().map(|(id, idx)| (id.as_ref(), *idx));
                    let (row_id, lists) = self.stage_row(
                        stage,
                        table,
                        fields,
                        root_id.as_deref(),
                        parent_ref,
                        r_lvl,
                    )?;
                    if lists.is_empty() {
                        continue;
                    }
                    // the root's `_dlt_id` travels down as `_dlt_root_id` when the root needs it
                    let propagated: Option<Rc<str>> = match root_id {
                        Some(id) => Some(id),
                        None if parent.is_none() && self.root_needs_root_key(table) => {
                            Some(Rc::from(row_id.as_str()))
                        }
                        None => None,
                    };
                    let row_id: Rc<str> = Rc::from(row_id);
                    for (list_id, items) in lists {
                        let child = self.child_ctx(table, list_id);
                        for (idx, value) in items.iter().enumerate() {
                            let parent = Some((row_id.clone(), idx));
                            let root_id = propagated.clone();
                            children.push(match value {
                                Item::Object(fields) => Work::Row {
                                    table: child,
                                    fields: Fields::Dict(fields),
                                    root_id,
                                    parent,
                                    r_lvl: r_lvl - 1,
                                },
                                Item::Array(_) => Work::Row {
                                    table: child,
                                    fields: Fields::Single(C_LIST, value),
                                    root_id,
                                    parent,
                                    r_lvl: r_lvl - 2,
                                },
                                scalar => Work::Scalar {
                                    table: child,
                                    value: scalar,
                                    root_id,
                                    parent_id: row_id.clone(),
                                    idx,
                                },
                            });
                        }
                    }
                    work.extend(children.drain(..).rev());
                }
                Work::Scalar {
                    table,
                    value,
                    root_id,
                    parent_id,
                    idx,
                } => self.scalar_row(stage, table, value, root_id.as_deref(), &parent_id, idx)?,
            }
        }
        Ok(())
    }

    /// dlt's `_normalize_row` for one row: flatten it and stage it with its identity columns.
    /// Returns the row id and the lists to unpack into child tables.
    fn stage_row<'i, 'a>(
        &mut self,
        stage: &mut Stage<'i>,
        table: usize,
        fields: Fields<'i, 'a>,
        root_id: Option<&str>,
        parent: Option<(&str, usize)>,
        r_lvl: i64,
    ) -> Result<(String, Lists<'i, 'a>), NormalizeError>
    where
        'a: 'i,
    {
        self.check_table(table)?;
        let item_no = self.position();
        let row = self.flatten(table, fields, r_lvl, item_no);
        if let Some((table, column, first, second)) = &self.collision {
            return Err(NormalizeError::IdentifierCollision {
                table: self.tables[*table].name.clone(),
                column: self.names.name(*column).to_string(),
                first: first.clone(),
                second: second.clone(),
                item: self.position(),
            });
        }
        if parent.is_none() {
            self.check_keys(table, &row)?;
        }

        // a `_dlt_id` in the data is kept as the row id
        let given_id = row
            .fields
            .iter()
            .find(|(c, _)| *c == self.sys.dlt_id)
            .and_then(|(_, v)| match v {
                Item::Str(s) if !s.is_empty() => Some(s.to_string()),
                _ => None,
            });
        let row_id = match (given_id, parent) {
            (Some(id), _) => id,
            (None, Some((parent_id, idx))) => {
                row_id::child_row_id(parent_id, &self.tables[table].name, idx)
            }
            (None, None) => self.root_row_id(table, &row, fields),
        };

        let start = stage.values.len();
        for &(column, value) in &row.fields {
            if column == self.sys.dlt_id {
                continue;
            }
            self.stage_value(stage, table, column, value)?;
        }
        self.stage_identity(stage, table, root_id, parent, &row_id)?;
        stage.rows.push(StagedRow {
            table,
            start,
            end: stage.values.len(),
        });
        Ok((row_id, row.lists))
    }

    /// Stages a row's identity columns in dlt's order: `_dlt_root_id` (when propagated), then
    /// `_dlt_load_id` for a root row or `_dlt_parent_id`, `_dlt_list_idx` for a child, then
    /// `_dlt_id`.
    fn stage_identity(
        &mut self,
        stage: &mut Stage<'_>,
        table: usize,
        root_id: Option<&str>,
        parent: Option<(&str, usize)>,
        row_id: &str,
    ) -> Result<(), NormalizeError> {
        let text = |s: &str| Scalar::Text(Cow::Owned(s.to_string()));
        if let Some(root_id) = root_id {
            self.stage_system(stage, table, self.sys.root_id, text(root_id))?;
        }
        match parent {
            None => {
                let load_id = text(&self.load_id);
                self.stage_system(stage, table, self.sys.load_id, load_id)?;
            }
            Some((parent_id, idx)) => {
                self.stage_system(stage, table, self.sys.parent_id, text(parent_id))?;
                let idx = Scalar::Bigint(i64::try_from(idx).unwrap_or(i64::MAX));
                self.stage_system(stage, table, self.sys.list_idx, idx)?;
            }
        }
        self.stage_system(stage, table, self.sys.dlt_id, text(row_id))
    }

    /// A list element that is not a dict or list: a row `{value, _dlt_parent_id, ...}`.
    fn scalar_row<'i>(
        &mut self,
        stage: &mut Stage<'i>,
        table: usize,
        value: &'i Item<'_>,
        root_id: Option<&str>,
        parent_id: &str,
        idx: usize,
    ) -> Result<(), NormalizeError> {
        self.check_table(table)?;
        let start = stage.values.len();
        let column = self
            .paths
            .child(ROOT_PATH, C_VALUE, self.naming.as_ref(), &mut self.names);
        let column = self.paths.node(column).column;
        self.stage_value(stage, table, column, value)?;
        let row_id = row_id::child_row_id(parent_id, &self.tables[table].name, idx);
        self.stage_identity(stage, table, root_id, Some((parent_id, idx)), &row_id)?;
        stage.rows.push(StagedRow {
            table,
            start,
            end: stage.values.len(),
        });
        Ok(())
    }

    /// Refuses a root row of a merge table without a value for each of its primary and merge
    /// key columns: the destination's merge cannot apply it (a column that was never created,
    /// rows that match nothing), and failing here names the item instead of the load failing.
    fn check_keys(&mut self, table: usize, row: &FlatRow<'_, '_>) -> Result<(), NormalizeError> {
        if self.tables[table].keys.is_none() {
            let keys = self.merge_keys(table);
            self.tables[table].keys = Some(keys);
        }
        let Some(keys) = &self.tables[table].keys else {
            return Ok(());
        };
        for &(column, kind) in keys {
            let value = row
                .fields
                .iter()
                .find(|(c, _)| *c == column)
                .map(|(_, v)| v);
            if matches!(value, None | Some(Item::Null)) {
                return Err(NormalizeError::MissingKey {
                    table: self.tables[table].name.clone(),
                    column: self.names.name(column).to_string(),
                    key: kind,
                    null: value.is_some(),
                    item: self.position(),
                });
            }
        }
        Ok(())
    }

    /// The primary and merge key columns of a merge root table (none for other dispositions,
    /// whose loads do not need them).
    fn merge_keys(&mut self, table: usize) -> Vec<(u32, &'static str)> {
        let Some(schema_table) = self.schema.table(&self.tables[table].name) else {
            return Vec::new();
        };
        if schema_table.write_disposition != Some(WriteDisposition::Merge) {
            return Vec::new();
        }
        let names: Vec<(String, &'static str)> = schema_table
            .columns
            .values()
            .filter_map(|c| match (c.primary_key, c.merge_key) {
                (Some(true), _) => Some((c.name.clone(), "primary key")),
                (_, Some(true)) => Some((c.name.clone(), "merge key")),
                _ => None,
            })
            .collect();
        names
            .into_iter()
            .map(|(name, kind)| (self.names.intern(&name), kind))
            .collect()
    }

    fn root_needs_root_key(&mut self, table: usize) -> bool {
        if let Some(cached) = self.tables[table].needs_root_key {
            return cached;
        }
        let needs = self
            .schema
            .table(&self.tables[table].name)
            .is_some_and(|t| self.schema.requires_root_key(t));
        self.tables[table].needs_root_key = Some(needs);
        needs
    }

    /// Root `_dlt_id`: random, or a content hash for tables whose merge strategy needs stable
    /// ids (`upsert`, `insert-only`, `cdc`: primary key; `scd2`: the whole item).
    fn root_row_id(
        &mut self,
        table: usize,
        row: &FlatRow<'_, '_>,
        fields: Fields<'_, '_>,
    ) -> String {
        let strategy = self
            .schema
            .table(&self.tables[table].name)
            .and_then(|t| self.schema.merge_strategy(t));
        match strategy {
            Some(MergeStrategy::Upsert | MergeStrategy::InsertOnly | MergeStrategy::Cdc) => {
                let key: Vec<String> = self
                    .schema
                    .table(&self.tables[table].name)
                    .map(|t| {
                        t.columns_with(|c| c.primary_key)
                            .into_iter()
                            .map(String::from)
                            .collect()
                    })
                    .unwrap_or_default();
                let mut pairs: Vec<(Cow<'_, str>, Item<'_>)> = Vec::new();
                for name in &key {
                    let value = row
                        .fields
                        .iter()
                        .find(|(c, _)| self.names.name(*c) == name)
                        .map_or(Item::Null, |(_, v)| (*v).clone());
                    pairs.push((Cow::Borrowed(name.as_str()), value));
                }
                let mut json = String::new();
                write_item_sorted(&mut json, &Item::Object(pairs));
                row_id::content_row_id(&json)
            }
            Some(MergeStrategy::Scd2) => {
                let item = match fields {
                    Fields::Dict(pairs) => Item::Object(
                        pairs
                            .iter()
                            .filter(|(k, _)| !k.starts_with("_dlt"))
                            .cloned()
                            .collect(),
                    ),
                    Fields::Single(key, value) => {
                        Item::Object(vec![(Cow::Borrowed(key), value.clone())])
                    }
                };
                let mut json = String::new();
                write_item_sorted(&mut json, &item);
                row_id::content_row_id(&json)
            }
            _ => row_id::random_row_id(&mut self.rng),
        }
    }

    /// Stages a `_dlt_*` value (they have fixed types, so they never need a variant).
    fn stage_system<'i>(
        &mut self,
        stage: &mut Stage<'i>,
        table: usize,
        name: u32,
        value: Scalar<'i>,
    ) -> Result<(), NormalizeError> {
        let column = match self.buffers[table].column(name) {
            Some(c) => c,
            None => {
                let data_type = if name == self.sys.list_idx {
                    DataType::Bigint
                } else {
                    DataType::Text
                };
                self.add_column(table, name, data_type, false)?
            }
        };
        stage.values.push(Staged {
            table,
            column,
            value,
        });
        Ok(())
    }

    /// dlt's `_coerce_row` for one value: fast path into an existing column, else infer a new
    /// column or fall back to a variant column `<col>__v_<type>`.
    fn stage_value<'i>(
        &mut self,
        stage: &mut Stage<'i>,
        table: usize,
        name: u32,
        value: &'i Item<'_>,
    ) -> Result<(), NormalizeError> {
        if value.is_null() {
            return self.null_value(table, name);
        }
        if let Some(column) = self.buffers[table].column(name) {
            let col = &self.buffers[table].columns[column];
            if let Some(scalar) = coerce(col.data_type, col.scale, value) {
                stage.values.push(Staged {
                    table,
                    column,
                    value: scalar,
                });
                return Ok(());
            }
            return self.stage_variant(stage, table, name, value);
        }
        // a column of the schema not yet in this buffer (created earlier, or an incomplete
        // hint column getting its first value)
        let table_name = self.tables[table].name.clone();
        let existing = self
            .schema
            .table(&table_name)
            .and_then(|t| t.columns.get(self.names.name(name)))
            .cloned();
        let complete = existing.as_ref().is_some_and(Column::is_complete);
        if !complete && !self.names.name(name).starts_with("_dlt") {
            let mode = self.contract_of(table).mode(ContractEntity::Columns);
            // a table receiving its first data takes any column (dlt's rule)
            if mode != ContractMode::Evolve && !self.is_new_table(table) {
                let column = self.names.name(name).to_string();
                if let Verdict::SkipValue = self.refuse(
                    table,
                    Some(&column),
                    ContractEntity::Columns,
                    mode,
                    Some(value),
                )? {
                    return Ok(());
                }
            }
        }
        let data_type = match existing.as_ref().and_then(|c| c.data_type) {
            Some(t) => t,
            None => infer_type(value).unwrap_or(DataType::Text),
        };
        let scale = existing.as_ref().map_or(9, Column::decimal_scale);
        match coerce(data_type, scale, value) {
            Some(scalar) => {
                let column = self.add_column(table, name, data_type, false)?;
                stage.values.push(Staged {
                    table,
                    column,
                    value: scalar,
                });
                Ok(())
            }
            None => self.stage_variant(stage, table, name, value),
        }
    }

    fn stage_variant<'i>(
        &mut self,
        stage: &mut Stage<'i>,
        table: usize,
        name: u32,
        value: &'i Item<'_>,
    ) -> Result<(), NormalizeError> {
        let value_type = value_type(value).unwrap_or(DataType::Text);
        let base = self.names.name(name).to_string();
        let variant_name = self
            .naming
            .shorten_fragments(&[&base, &format!("v_{}", value_type.as_str())]);
        let variant = self.names.intern(&variant_name);
        let (column, data_type, scale) = match self.buffers[table].column(variant) {
            Some(c) => {
                let col = &self.buffers[table].columns[c];
                (Some(c), col.data_type, col.scale)
            }
            None => {
                let existing = self
                    .schema
                    .table(&self.tables[table].name)
                    .and_then(|t| t.columns.get(&variant_name))
                    .and_then(|c| c.data_type.map(|t| (t, c.decimal_scale())));
                match existing {
                    Some((t, s)) => (None, t, s),
                    None => {
                        let mode = self.contract_of(table).mode(ContractEntity::DataType);
                        if let Verdict::SkipValue = self.refuse(
                            table,
                            Some(&base),
                            ContractEntity::DataType,
                            mode,
                            Some(value),
                        )? {
                            return Ok(());
                        }
                        // a variant's type is inferred again (a timestamp string stays a
                        // timestamp)
                        (None, infer_type(value).unwrap_or(value_type), 9)
                    }
                }
            }
        };
        let Some(scalar) = coerce(data_type, scale, value) else {
            return Err(NormalizeError::CannotCoerce {
                table: self.tables[table].name.clone(),
                column: variant_name,
                data_type,
                value: truncated(value),
                item: self.position(),
            });
        };
        let column = match column {
            Some(c) => c,
            None => self.add_column(table, variant, data_type, true)?,
        };
        stage.values.push(Staged {
            table,
            column,
            value: scalar,
        });
        Ok(())
    }

    fn null_value(&mut self, table: usize, name: u32) -> Result<(), NormalizeError> {
        let nullable = match self.buffers[table].column(name) {
            Some(c) => self.buffers[table].columns[c].nullable,
            None => {
                let column_name = self.names.name(name);
                let declared = self
                    .schema
                    .table(&self.tables[table].name)
                    .and_then(|t| t.columns.get(column_name));
                // a declared key column is not nullable even before its type is known (dlt lets
                // the null through and the load fails later)
                match declared {
                    Some(c) => c.is_nullable(),
                    None => !self.not_null_hint(column_name),
                }
            }
        };
        if !nullable {
            return Err(NormalizeError::NullInNotNullColumn {
                table: self.tables[table].name.clone(),
                column: self.names.name(name).to_string(),
                item: self.position(),
            });
        }
        if self.buffers[table].column(name).is_none() {
            self.null_only.insert((table, name));
        }
        Ok(())
    }

    fn default_hint(&self, hint: &str, column: &str) -> bool {
        self.schema
            .settings
            .default_hints
            .get(hint)
            .is_some_and(|names| names.iter().any(|n| n == column))
    }

    fn not_null_hint(&self, column: &str) -> bool {
        self.default_hint("not_null", column)
    }

    /// Adds a complete column to the schema (or completes a hint column) and to the buffer.
    fn add_column(
        &mut self,
        table: usize,
        name: u32,
        data_type: DataType,
        variant: bool,
    ) -> Result<usize, NormalizeError> {
        let table_name = self.tables[table].name.clone();
        let column_name = self.names.name(name).to_string();
        self.ensure_schema_table(table);
        let mut column = Column::new(column_name.clone(), data_type);
        column.nullable = Some(!self.not_null_hint(&column_name));
        for (hint, set) in [
            ("unique", &mut column.unique),
            ("row_key", &mut column.row_key),
            ("parent_key", &mut column.parent_key),
            ("root_key", &mut column.root_key),
        ] {
            if self.default_hint(hint, &column_name) {
                *set = Some(true);
            }
        }
        if variant {
            column.variant = Some(true);
            column.description = Some(format!("Variant of column {column_name} generated by dlt"));
        }
        let Some(schema_table) = self.schema.tables.get_mut(&table_name) else {
            return Err(NormalizeError::Batch {
                table: table_name,
                source: arrow_schema::ArrowError::SchemaError("table vanished".into()),
            });
        };
        let column = match schema_table.columns.get(&column_name) {
            Some(existing) if existing.is_complete() => existing.clone(),
            Some(_) => {
                // a hint column gets its type now and moves to where its data first arrived
                let hints = schema_table
                    .columns
                    .shift_remove(&column_name)
                    .unwrap_or_default();
                column.merge_hints(&hints);
                column.data_type = Some(data_type);
                self.changes.push(SchemaChange::NewColumn {
                    table: table_name.clone(),
                    column: column_name.clone(),
                    data_type,
                    variant,
                });
                schema_table
                    .columns
                    .insert(column_name.clone(), column.clone());
                column
            }
            None => {
                self.changes.push(SchemaChange::NewColumn {
                    table: table_name.clone(),
                    column: column_name.clone(),
                    data_type,
                    variant,
                });
                schema_table
                    .columns
                    .insert(column_name.clone(), column.clone());
                column
            }
        };
        Ok(self.buffers[table].add_column(name, &column))
    }

    /// Creates the schema table of a context on its first row.
    fn ensure_schema_table(&mut self, table: usize) {
        let name = self.tables[table].name.clone();
        if self.schema.tables.contains_key(&name) {
            return;
        }
        let new_table = match self.tables[table].parent {
            None => Table::new_root(name.clone(), Default::default()),
            Some(parent) => Table::new_child(name.clone(), self.tables[parent].name.clone()),
        };
        self.changes.push(SchemaChange::NewTable {
            table: name.clone(),
            parent: new_table.parent.clone(),
        });
        let is_root = new_table.parent.is_none();
        self.schema.tables.insert(name.clone(), new_table);
        if is_root && self.root_needs_root_key(table) {
            self.schema.record_root_key_propagation(&name);
        }
    }

    fn commit(&mut self, stage: &Stage<'_>) {
        for row in &stage.rows {
            let values = stage.values[row.start..row.end]
                .iter()
                .filter(|v| v.table == row.table)
                .map(|v| (v.column, &v.value));
            self.buffers[row.table].append_row(values);
        }
    }
}

/// Compact JSON text without its `\u0000` escapes, or `None` when it has none (an escaped
/// backslash followed by `u0000` is text, not a NUL).
fn json_without_nul(json: &str) -> Option<String> {
    let bytes = json.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' {
            if bytes[i + 1..].starts_with(b"u0000") {
                let kept = out.get_or_insert_with(String::new);
                kept.push_str(&json[copied..i]);
                i += 6;
                copied = i;
                continue;
            }
            // any other escape is two characters (`\uXXXX` has no backslash after them)
            i += 2;
            continue;
        }
        i += 1;
    }
    out.map(|mut kept| {
        kept.push_str(&json[copied.min(json.len())..]);
        kept
    })
}

/// A value for an error message: compact JSON, cut at 200 characters.
fn truncated(value: &Item<'_>) -> String {
    let text = item_to_string(value);
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text,
    }
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod refusal_tests {
    use super::*;

    #[test]
    fn two_keys_shortened_to_one_column_are_refused() {
        // two names whose dlt tags collide at 10 characters (found by search): `ab` + tag + `yz`
        let limit = || Box::new(SnakeCase::with_max_length(10));
        let mut n = RelationalNormalizer::with_naming(Schema::new("s"), "1", limit());
        n.push_json("t", br#"{"ab_00006383_yz": 1, "other": 1}"#)
            .unwrap();
        let err = n.push_json("t", br#"{"ab_00021309_yz": 2}"#).unwrap_err();
        assert!(
            err.to_string().starts_with(
                "table `t`, item 2: `ab_00006383_yz` and `ab_00021309_yz` both shorten to column `abbvqsmwyz`"
            ),
            "{err}"
        );
        // the same key again is one column, not a collision
        let mut n = RelationalNormalizer::with_naming(Schema::new("s"), "1", limit());
        n.push_json("t", br#"{"ab_00006383_yz": 1}"#).unwrap();
        n.push_json("t", br#"{"ab_00006383_yz": 2}"#).unwrap();
        // and in another table it is harmless
        n.push_json("u", br#"{"ab_00021309_yz": 2}"#).unwrap();
    }

    #[test]
    fn json_nul_escapes_are_found_and_removed_but_escaped_backslashes_are_text() {
        assert_eq!(
            json_without_nul(r#"{"a":"x\u0000y"}"#).as_deref(),
            Some(r#"{"a":"xy"}"#)
        );
        assert_eq!(json_without_nul(r#"{"a":"x\\u0000y"}"#), None);
        assert_eq!(
            json_without_nul(r#"["\u0000","\u0001"]"#).as_deref(),
            Some(r#"["","\u0001"]"#)
        );
        assert_eq!(json_without_nul(r#"[1]"#), None);
    }

    #[test]
    fn nul_characters_are_kept_refused_or_removed_and_counted() {
        let item = br#"{"id": 1, "s": "a\u0000b", "j": {"k": "\u0000"}, "t": ["x\u0000"]}"#;
        let mut keep = RelationalNormalizer::new(Schema::new("s"), "1");
        keep.push_json("t", item).unwrap();

        let mut refuse = RelationalNormalizer::new(Schema::new("s"), "1");
        refuse.set_nul_policy(NulPolicy::Refuse);
        refuse.push_json("t", br#"{"id": 1}"#).unwrap();
        let err = refuse.push_json("t", item).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("table `t`, item 2: column `s` holds a NUL character"),
            "{err}"
        );

        let mut remove = RelationalNormalizer::new(Schema::new("s"), "1");
        remove.set_nul_policy(NulPolicy::Remove);
        remove.push_json("t", item).unwrap();
        remove.push_json("t", item).unwrap();
        let chunk = remove.flush().unwrap();
        let removed: Vec<(String, String, u64)> = chunk
            .warnings
            .iter()
            .filter_map(|w| match w {
                NormalizeWarning::NulRemoved {
                    table,
                    column,
                    values,
                } => Some((table.clone(), column.clone(), *values)),
                _ => None,
            })
            .collect();
        assert_eq!(
            removed,
            [
                ("t".to_string(), "s".to_string(), 2),
                ("t".to_string(), "j__k".to_string(), 2),
                ("t__t".to_string(), "value".to_string(), 2),
            ]
        );
    }
}
