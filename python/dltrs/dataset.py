"""`pipeline.dataset()` and `pipeline.sql_client()`: read what was loaded, as pyarrow tables,
pandas frames or tuples. Queries run in the engine (DuckDB, PostgreSQL) with the dataset as
the default schema."""

from typing import Any, Iterator, List, Optional, Tuple

from .exceptions import DestinationUndefinedEntity


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table(native: Any, sql: str) -> Any:
    import pyarrow

    batches = native.query(sql)
    if not batches:
        return pyarrow.table({})
    return pyarrow.Table.from_batches(batches)


class Relation:
    """A table or query of the dataset."""

    def __init__(self, native: Any, sql: str) -> None:
        self._native = native
        self._sql = sql

    def arrow(self) -> Any:
        """The rows as a `pyarrow.Table`."""
        return _table(self._native, self._sql)

    def df(self) -> Any:
        """The rows as a pandas DataFrame."""
        return self.arrow().to_pandas()

    def fetchall(self) -> List[Tuple[Any, ...]]:
        """The rows as tuples."""
        table = self.arrow()
        columns = [table.column(i).to_pylist() for i in range(table.num_columns)]
        return list(zip(*columns)) if columns else []

    def fetchone(self) -> Optional[Tuple[Any, ...]]:
        rows = self.limit(1).fetchall()
        return rows[0] if rows else None

    def limit(self, n: int) -> "Relation":
        return Relation(self._native, f"SELECT * FROM ({self._sql}) AS q LIMIT {int(n)}")

    def __iter__(self) -> Iterator[Tuple[Any, ...]]:
        return iter(self.fetchall())


class Dataset:
    """The dataset's tables by name: `ds.rides`, `ds["rides"]`, `ds.query(sql)`."""

    def __init__(self, native: Any, pipeline: Any) -> None:
        self._native = native
        self._pipeline = pipeline

    @property
    def dataset_name(self) -> str:
        return self._native.dataset_name

    def table(self, name: str) -> Relation:
        tables = self._pipeline.default_schema.tables
        if tables and name not in tables:
            raise DestinationUndefinedEntity(f"dataset `{self.dataset_name}` has no table `{name}`; it has {sorted(tables)}")
        return Relation(self._native, f"SELECT * FROM {_quote(name)}")

    def query(self, sql: str) -> Relation:
        return Relation(self._native, sql)

    def __call__(self, sql: str) -> Relation:
        return self.query(sql)

    def __getitem__(self, name: str) -> Relation:
        return self.table(name)

    def __getattr__(self, name: str) -> Relation:
        if name.startswith("__"):
            raise AttributeError(name)
        return self.table(name)

    def row_counts(self) -> Any:
        """Rows per data table, as a pyarrow table (`table_name`, `row_count`)."""
        import pyarrow

        names = [t["name"] for t in self._pipeline.default_schema.data_tables()]
        counts = [Relation(self._native, f"SELECT count(*) FROM {_quote(n)}").fetchall()[0][0] for n in names]
        return pyarrow.table({"table_name": names, "row_count": pyarrow.array(counts, pyarrow.int64())})


class _Cursor:
    def __init__(self, relation: Relation) -> None:
        self._relation = relation

    def df(self) -> Any:
        return self._relation.df()

    def arrow(self) -> Any:
        return self._relation.arrow()

    def fetchall(self) -> List[Tuple[Any, ...]]:
        return self._relation.fetchall()

    def fetchone(self) -> Optional[Tuple[Any, ...]]:
        rows = self._relation.fetchall()
        return rows[0] if rows else None

    def __enter__(self) -> "_Cursor":
        return self

    def __exit__(self, *_: Any) -> None:
        pass


class SqlClient:
    """dlt's `sql_client()`: `execute_sql` gives rows, `execute_query` a cursor."""

    def __init__(self, native: Any) -> None:
        self._native = native

    @property
    def dataset_name(self) -> str:
        return self._native.dataset_name

    def execute_sql(self, sql: str, *args: Any) -> List[Tuple[Any, ...]]:
        if args:
            raise NotImplementedError("query parameters are not supported yet: the engine binds none")
        return Relation(self._native, sql).fetchall()

    def execute_query(self, sql: str, *args: Any) -> _Cursor:
        if args:
            raise NotImplementedError("query parameters are not supported yet: the engine binds none")
        return _Cursor(Relation(self._native, sql))

    def __enter__(self) -> "SqlClient":
        return self

    def __exit__(self, *_: Any) -> None:
        pass
