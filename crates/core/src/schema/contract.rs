//! [`SchemaContract`]: what a load may change in the schema, per entity (`tables`, `columns`,
//! `data_type`), with dlt's modes and semantics (`dlt/common/schema/schema.py`,
//! `apply_schema_contract`).

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

/// What happens to data that would change the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractMode {
    /// The schema changes (the default).
    Evolve,
    /// The run fails before anything of it is loaded.
    Freeze,
    /// The item is left out; the rest is loaded.
    DiscardRow,
    /// Only the value is left out (for `tables`, the item).
    DiscardValue,
}

impl ContractMode {
    /// dlt's name of the mode.
    pub fn as_str(self) -> &'static str {
        match self {
            ContractMode::Evolve => "evolve",
            ContractMode::Freeze => "freeze",
            ContractMode::DiscardRow => "discard_row",
            ContractMode::DiscardValue => "discard_value",
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "evolve" => Ok(ContractMode::Evolve),
            "freeze" => Ok(ContractMode::Freeze),
            "discard_row" => Ok(ContractMode::DiscardRow),
            "discard_value" => Ok(ContractMode::DiscardValue),
            other => Err(format!(
                "unknown schema contract mode `{other}`: use evolve, freeze, discard_row or discard_value"
            )),
        }
    }
}

/// The three entities a contract governs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContractEntity {
    /// New tables (a table is new until it received data).
    Tables,
    /// New columns of tables that have data.
    Columns,
    /// New variant columns (a value whose type the column cannot take).
    DataType,
}

impl ContractEntity {
    /// dlt's name of the entity.
    pub fn as_str(self) -> &'static str {
        match self {
            ContractEntity::Tables => "tables",
            ContractEntity::Columns => "columns",
            ContractEntity::DataType => "data_type",
        }
    }
}

/// A schema contract; an entity left unset takes the setting of a wider scope (resource, then
/// source, then the run), and `evolve` when none sets it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchemaContract {
    /// New tables.
    pub tables: Option<ContractMode>,
    /// New columns.
    pub columns: Option<ContractMode>,
    /// New variant columns.
    pub data_type: Option<ContractMode>,
}

impl SchemaContract {
    /// One mode for all three entities.
    pub fn all(mode: ContractMode) -> Self {
        SchemaContract {
            tables: Some(mode),
            columns: Some(mode),
            data_type: Some(mode),
        }
    }

    /// Parses `freeze` (all three) or `tables=evolve,columns=freeze,data_type=discard_row`.
    pub fn parse(text: &str) -> Result<Self, String> {
        if !text.contains('=') {
            return ContractMode::parse(text).map(SchemaContract::all);
        }
        let mut contract = SchemaContract::default();
        for part in text.split(',').filter(|p| !p.trim().is_empty()) {
            let Some((entity, mode)) = part.split_once('=') else {
                return Err(format!("`{part}` is not `entity=mode`"));
            };
            let mode = ContractMode::parse(mode)?;
            match entity.trim() {
                "tables" => contract.tables = Some(mode),
                "columns" => contract.columns = Some(mode),
                "data_type" => contract.data_type = Some(mode),
                other => {
                    return Err(format!(
                        "unknown schema contract entity `{other}`: use tables, columns or data_type"
                    ));
                }
            }
        }
        Ok(contract)
    }

    /// `self`, with entities it leaves unset taken from `wider`.
    pub fn or(self, wider: SchemaContract) -> SchemaContract {
        SchemaContract {
            tables: self.tables.or(wider.tables),
            columns: self.columns.or(wider.columns),
            data_type: self.data_type.or(wider.data_type),
        }
    }

    /// The mode for `entity` (`evolve` when unset).
    pub fn mode(&self, entity: ContractEntity) -> ContractMode {
        match entity {
            ContractEntity::Tables => self.tables,
            ContractEntity::Columns => self.columns,
            ContractEntity::DataType => self.data_type,
        }
        .unwrap_or(ContractMode::Evolve)
    }

    /// True when nothing is restricted.
    pub fn is_evolve(&self) -> bool {
        [
            ContractEntity::Tables,
            ContractEntity::Columns,
            ContractEntity::DataType,
        ]
        .iter()
        .all(|e| self.mode(*e) == ContractMode::Evolve)
    }

    /// True when no entity is set.
    pub fn is_empty(&self) -> bool {
        self.tables.is_none() && self.columns.is_none() && self.data_type.is_none()
    }
}

impl std::fmt::Display for SchemaContract {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = [
            ContractEntity::Tables,
            ContractEntity::Columns,
            ContractEntity::DataType,
        ]
        .iter()
        .map(|e| format!("{}={}", e.as_str(), self.mode(*e).as_str()))
        .collect();
        f.write_str(&parts.join(","))
    }
}

impl Serialize for SchemaContract {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        for (key, mode) in [
            ("tables", self.tables),
            ("columns", self.columns),
            ("data_type", self.data_type),
        ] {
            if let Some(mode) = mode {
                map.serialize_entry(key, &mode)?;
            }
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for SchemaContract {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ModeOrTable;
        impl<'de> Visitor<'de> for ModeOrTable {
            type Value = SchemaContract;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a mode (evolve, freeze, discard_row, discard_value) or a table of tables/columns/data_type")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                SchemaContract::parse(v).map_err(E::custom)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut contract = SchemaContract::default();
                while let Some(key) = map.next_key::<String>()? {
                    let mode: ContractMode = map.next_value()?;
                    match key.as_str() {
                        "tables" => contract.tables = Some(mode),
                        "columns" => contract.columns = Some(mode),
                        "data_type" => contract.data_type = Some(mode),
                        other => {
                            return Err(de::Error::unknown_field(
                                other,
                                &["tables", "columns", "data_type"],
                            ));
                        }
                    }
                }
                Ok(contract)
            }
        }
        deserializer.deserialize_any(ModeOrTable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_modes_and_entities() {
        assert_eq!(
            SchemaContract::parse("freeze"),
            Ok(SchemaContract::all(ContractMode::Freeze))
        );
        let c = SchemaContract::parse("tables=evolve,columns=freeze,data_type=discard_row")
            .unwrap_or_default();
        assert_eq!(c.mode(ContractEntity::Columns), ContractMode::Freeze);
        assert_eq!(c.mode(ContractEntity::DataType), ContractMode::DiscardRow);
        assert!(SchemaContract::parse("colums=freeze").is_err());
        assert!(SchemaContract::parse("frozen").is_err());
        let narrow = SchemaContract::parse("columns=discard_value").unwrap_or_default();
        let merged = narrow.or(SchemaContract::all(ContractMode::Freeze));
        assert_eq!(
            merged.to_string(),
            "tables=freeze,columns=discard_value,data_type=freeze"
        );
        let json = serde_json::to_string(&narrow).unwrap_or_default();
        assert_eq!(json, r#"{"columns":"discard_value"}"#);
        let back: SchemaContract = serde_json::from_str(r#""discard_row""#).unwrap_or_default();
        assert_eq!(back, SchemaContract::all(ContractMode::DiscardRow));
    }
}
