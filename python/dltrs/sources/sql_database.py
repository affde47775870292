"""`sql_database(credentials, ...)` and `sql_table(...)`: tables of PostgreSQL and
MySQL/MariaDB read by the engine (columns typed from the database, primary keys from the
table, incremental cursors as bound WHERE conditions)."""

from typing import Any, Dict, List, Optional, Sequence

from ..extract import NativeSource, hint_config
from ..incremental import Incremental


def _table(name: str, incremental: Optional[Incremental] = None, **hints: Any) -> Dict[str, Any]:
    table: Dict[str, Any] = {"name": name}
    if incremental is not None:
        import json

        table["incremental"] = json.loads(incremental._config())
    table.update(hint_config(**hints))
    return table


def sql_database(
    credentials: Any,
    schema: Optional[str] = None,
    table_names: Optional[Sequence[str]] = None,
    chunk_size: Optional[int] = None,
    parallelism: Optional[int] = None,
    name: str = "sql_database",
    **_: Any,
) -> NativeSource:
    """The tables `table_names` (all tables of `schema` when None) as resources."""
    config: Dict[str, Any] = {"credentials": str(credentials)}
    if schema is not None:
        config["schema"] = schema
    if table_names is not None:
        config["tables"] = [_table(t) for t in table_names]
    if chunk_size is not None:
        config["chunk_size"] = chunk_size
    if parallelism is not None:
        config["parallelism"] = parallelism
    return NativeSource("sql_database", name, config)


def sql_table(
    credentials: Any,
    table: str,
    schema: Optional[str] = None,
    incremental: Optional[Incremental] = None,
    chunk_size: Optional[int] = None,
    write_disposition: Any = None,
    primary_key: Any = None,
    name: str = "sql_database",
    **_: Any,
) -> NativeSource:
    """One table as a resource."""
    config: Dict[str, Any] = {
        "credentials": str(credentials),
        "tables": [_table(table, incremental, write_disposition=write_disposition, primary_key=primary_key)],
    }
    if schema is not None:
        config["schema"] = schema
    if chunk_size is not None:
        config["chunk_size"] = chunk_size
    return NativeSource("sql_database", name, config)
