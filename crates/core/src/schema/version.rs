//! Content hash and version number, computed exactly as dlt does
//! (`dlt/common/schema/utils.py:generate_version_hash`, `bump_version_if_modified`).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha3::{Digest, Sha3_256};

use super::Schema;
use crate::json::write_value_sorted;

/// How many earlier hashes a schema remembers.
const MAX_PREVIOUS_HASHES: usize = 10;

impl Schema {
    /// base64 SHA3-256 over the schema's content as sorted compact JSON (without the version
    /// and hashes), then each table name in sorted order followed by its column names in
    /// column order, so reordering columns changes the hash.
    pub fn content_hash(&self) -> String {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let serde_json::Value::Object(map) = &mut value {
            for key in [
                "version",
                "version_hash",
                "imported_version_hash",
                "previous_hashes",
            ] {
                map.shift_remove(key);
            }
        }
        let mut content = String::new();
        write_value_sorted(&mut content, &value);
        let mut hasher = Sha3_256::new();
        hasher.update(content.as_bytes());
        let mut names: Vec<&String> = self.tables.keys().collect();
        names.sort();
        for name in names {
            hasher.update(name.as_bytes());
            if let Some(table) = self.tables.get(name) {
                for column in table.columns.keys() {
                    hasher.update(column.as_bytes());
                }
            }
        }
        STANDARD.encode(hasher.finalize())
    }

    /// Recomputes the hash; if the content changed, increments the version and remembers the
    /// previous hash. Returns true when the version changed (or was set for the first time).
    pub fn bump_version(&mut self) -> bool {
        let hash = self.content_hash();
        if self.version_hash.is_empty() {
            self.version = self.version.max(1);
            self.version_hash = hash;
            return true;
        }
        if hash == self.version_hash {
            return false;
        }
        self.version += 1;
        let previous = std::mem::replace(&mut self.version_hash, hash);
        if !self.previous_hashes.contains(&previous) {
            self.previous_hashes.insert(0, previous);
            self.previous_hashes.truncate(MAX_PREVIOUS_HASHES);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORED: &[(&str, &str)] = &[
        (
            "workshop_merge",
            include_str!("../../../../testdata/dlt/schemas/workshop_merge.schema.json"),
        ),
        (
            "evolution_type_change",
            include_str!("../../../../testdata/dlt/schemas/evolution_type_change.schema.json"),
        ),
        (
            "max_nesting_1",
            include_str!("../../../../testdata/dlt/schemas/max_nesting_1.schema.json"),
        ),
        (
            "list_of_lists",
            include_str!("../../../../testdata/dlt/schemas/list_of_lists.schema.json"),
        ),
        (
            "types_timestamps",
            include_str!("../../../../testdata/dlt/schemas/types_timestamps.schema.json"),
        ),
        (
            "naming",
            include_str!("../../../../testdata/dlt/schemas/naming.schema.json"),
        ),
    ];

    #[test]
    fn content_hash_of_dlt_schemas_matches_dlt() {
        for (name, text) in STORED {
            let schema = Schema::from_json(text).unwrap();
            assert_eq!(schema.content_hash(), schema.version_hash, "{name}");
        }
    }

    #[test]
    fn dlt_schemas_survive_a_round_trip_through_json_and_yaml() {
        for (name, text) in STORED {
            let schema = Schema::from_json(text).unwrap();
            let original: serde_json::Value = serde_json::from_str(text).unwrap();
            let again: serde_json::Value = serde_json::from_str(&schema.to_json()).unwrap();
            assert_eq!(again, original, "{name} json");
            let from_yaml = Schema::from_yaml(&schema.to_yaml().unwrap()).unwrap();
            assert_eq!(from_yaml, schema, "{name} yaml");
        }
    }

    #[test]
    fn version_changes_only_with_content() {
        let mut schema = Schema::new("s");
        assert!(schema.bump_version());
        assert_eq!(schema.version, 1);
        assert!(!schema.bump_version());
        schema.tables.insert(
            "t".into(),
            super::super::Table::new_root("t", Default::default()),
        );
        assert!(schema.bump_version());
        assert_eq!(schema.version, 2);
        assert_eq!(schema.previous_hashes.len(), 1);
        assert!(!schema.bump_version());
    }
}
