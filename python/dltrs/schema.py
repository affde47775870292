"""`Schema`: the stored schema (dlt's document) of a pipeline's data."""

from typing import Any, Dict, List


class Schema:
    """dlt's stored schema: tables with their columns and hints."""

    def __init__(self, document: Dict[str, Any]) -> None:
        self._document = document
        self.name: str = document.get("name", "")
        self.version: int = document.get("version", 0)
        self.version_hash: str = document.get("version_hash", "")

    @property
    def tables(self) -> Dict[str, Dict[str, Any]]:
        return self._document.get("tables", {})

    def data_tables(self, include_incomplete: bool = False) -> List[Dict[str, Any]]:
        """The tables with data (not dlt's system tables)."""
        return [
            t
            for name, t in self.tables.items()
            if not name.startswith("_dlt") and (include_incomplete or t.get("columns"))
        ]

    def get_table_columns(self, table_name: str) -> Dict[str, Dict[str, Any]]:
        return self.tables[table_name].get("columns", {})

    def to_dict(self) -> Dict[str, Any]:
        return dict(self._document)

    def __repr__(self) -> str:
        return f"<Schema {self.name} version {self.version}: {len(self.tables)} tables>"
