//! Interned key paths and table names, so each distinct source key is normalized once.
//!
//! dlt caches its naming calls with `lru_cache`; here every key path seen in the data is a node
//! in a tree keyed by the raw source key, holding the normalized column name (and the name of
//! the child table a list under that key goes to) as interned ids.

use rustc_hash::FxHashMap;

use crate::naming::{NamingConvention, PATH_SEPARATOR};

/// Column name used for a key that is empty or whitespace (dlt's `EMPTY_KEY_IDENTIFIER`).
pub const EMPTY_KEY: &str = "_empty";

/// Strings interned to dense ids.
#[derive(Default)]
pub(crate) struct Interner {
    ids: FxHashMap<String, u32>,
    names: Vec<String>,
}

impl Interner {
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }

    pub(crate) fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }

    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }
}

/// One key path inside a row.
pub(crate) struct PathNode {
    children: FxHashMap<Box<str>, u32>,
    /// Normalized, unshortened path (`a__b`), the prefix of deeper paths.
    joined: String,
    /// Column name for a value at this path (shortened).
    pub(crate) column: u32,
    /// Interned unshortened path of the child table a list at this path goes to, relative to
    /// the row's table.
    pub(crate) list_path: u32,
    /// The column name is shortened (the destination's identifier length): two different
    /// paths may then meet in one name, which the normalizer checks.
    pub(crate) shortened: bool,
    /// The normalized path before any shortening (`a__b`).
    full: String,
}

/// The key-path tree of all rows.
pub(crate) struct Paths {
    nodes: Vec<PathNode>,
}

pub(crate) const ROOT_PATH: u32 = 0;

impl Paths {
    pub(crate) fn new() -> Self {
        Paths {
            nodes: vec![PathNode {
                children: FxHashMap::default(),
                joined: String::new(),
                column: u32::MAX,
                list_path: u32::MAX,
                shortened: false,
                full: String::new(),
            }],
        }
    }

    /// The normalized path of node `id` before any shortening (`a__b`).
    pub(crate) fn full(&self, id: u32) -> &str {
        &self.nodes[id as usize].full
    }

    pub(crate) fn node(&self, id: u32) -> &PathNode {
        &self.nodes[id as usize]
    }

    /// The node of `key` under `parent`, created on first sight.
    pub(crate) fn child(
        &mut self,
        parent: u32,
        key: &str,
        naming: &dyn NamingConvention,
        names: &mut Interner,
    ) -> u32 {
        if let Some(&id) = self.nodes[parent as usize].children.get(key) {
            return id;
        }
        let normalized = normalize_key(naming, key, false);
        let table_part = normalize_key(naming, key, true);
        let parent_joined = &self.nodes[parent as usize].joined;
        let joined = join(parent_joined, &normalized);
        let list_path = names.intern(&join(parent_joined, &table_part));
        let column_name = naming.shorten_fragments(&[&joined]);
        let full = join(
            &self.nodes[parent as usize].full,
            &unshortened_key(naming, key),
        );
        let shortened = column_name != full;
        let column = names.intern(&column_name);
        let id = self.nodes.len() as u32;
        self.nodes.push(PathNode {
            children: FxHashMap::default(),
            joined,
            column,
            list_path,
            shortened,
            full,
        });
        self.nodes[parent as usize].children.insert(key.into(), id);
        id
    }
}

fn normalize_key(naming: &dyn NamingConvention, key: &str, as_table: bool) -> String {
    if crate::naming::py_strip(key).is_empty() {
        return EMPTY_KEY.to_string();
    }
    let normalized = if as_table {
        naming.normalize_tables_path(key)
    } else {
        naming.normalize_path(key)
    };
    // a key made only of separators (`__`) normalizes to nothing; dlt would create a column
    // without a name, we use the empty-key name instead
    if normalized.is_empty() {
        EMPTY_KEY.to_string()
    } else {
        normalized
    }
}

/// [`normalize_key`] (a column's) before shortening.
fn unshortened_key(naming: &dyn NamingConvention, key: &str) -> String {
    if crate::naming::py_strip(key).is_empty() {
        return EMPTY_KEY.to_string();
    }
    let normalized = naming.normalize_path_unshortened(key);
    if normalized.is_empty() {
        EMPTY_KEY.to_string()
    } else {
        normalized
    }
}

fn join(prefix: &str, part: &str) -> String {
    if prefix.is_empty() {
        part.to_string()
    } else {
        format!("{prefix}{PATH_SEPARATOR}{part}")
    }
}

/// A table rows are written to, with the unshortened path child table names derive from.
pub(crate) struct TableCtx {
    /// Shortened table name (as in the schema).
    pub(crate) name: String,
    /// Unshortened normalized path (`root__list__inner`).
    pub(crate) path: String,
    /// Context of the parent table, `None` for a root.
    pub(crate) parent: Option<usize>,
    /// Context of the root table.
    pub(crate) root: usize,
    /// Child tables by interned relative list path.
    pub(crate) children: FxHashMap<u32, usize>,
    /// Cached `Schema::requires_root_key` of a root table; reset when hints change.
    pub(crate) needs_root_key: Option<bool>,
    /// Cached primary and merge key columns (interned) a root row of a merge table must hold,
    /// with which key each is; reset when hints change.
    pub(crate) keys: Option<Vec<(u32, &'static str)>>,
}
